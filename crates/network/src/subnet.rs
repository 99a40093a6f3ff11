//! A private subnet: no public IPs, one per availability zone.

use paysec_core::Attr;
use paysec_core::Property;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType};
use paysec_aws::AwsResultExt;
use paysec_core::resource::{
    adopt_after_conflict, Checks, Comparison, Context, DeleteOutcome, Dependency, Observed,
    Present, QuickCheck, Resource,
};
use paysec_core::retry::rules;
use paysec_core::{LogicalId, ResourceError};

use crate::ec2;

paysec_core::properties! {
    /// What a subnet's read compares (NET-3, INV-1).
    pub enum SubnetProperty {
        MapPublicIpOnLaunch = "map_public_ip_on_launch",
        /// The configured zone (`network.availability_zones`), when one is.
        AvailabilityZone = "availability_zone",
        Tags = "tags",
    }
}

pub struct Subnet {
    id: LogicalId,
    aws: paysec_aws::Aws,
    vpc: LogicalId,
    index: usize,
    /// Zone names from the config; else the region's available zones in
    /// name order, this subnet taking the `index`-th.
    zones: Vec<String>,
    /// The zone the configuration names for this subnet, if it names them.
    configured_zone: Option<String>,
    drain: Duration,
}

impl Subnet {
    pub fn new(
        id: LogicalId,
        aws: paysec_aws::Aws,
        vpc: LogicalId,
        index: usize,
        zones: Vec<String>,
    ) -> Self {
        Self {
            id,
            aws,
            vpc,
            index,
            zones,
            configured_zone: None,
            drain: rules::EC2_DEPENDENCY_VIOLATION.budget,
        }
    }

    /// The configuration names the zones: a built subnet elsewhere is
    /// drift (refused: a subnet cannot move), not silently kept.
    pub fn in_configured_zone(mut self, zone: Option<String>) -> Self {
        self.configured_zone = zone;
        self
    }

    /// How long `down` waits for Lambda's network interfaces to release
    /// this resource (`network.eni_drain_minutes`).
    pub fn draining_up_to(mut self, budget: Duration) -> Self {
        self.drain = budget;
        self
    }

    async fn zone(&self) -> Result<String, ResourceError> {
        if let Some(z) = self.zones.get(self.index) {
            return Ok(z.clone());
        }
        let names = self
            .aws
            .available_zones()
            .await
            .or_resource(&self.id, "DescribeAvailabilityZones")?;
        names.get(self.index).cloned().ok_or_else(|| {
            ResourceError::unexpected(
                &self.id,
                format!(
                    "the region has {} available zones; the stack needs 3 for Multi-AZ",
                    names.len()
                ),
            )
        })
    }

    fn present(subnet_id: &str, zone: &str, cidr: &str) -> Present {
        Present::new(subnet_id)
            .with(Attr::AvailabilityZone, zone)
            .with(Attr::Cidr, cidr)
    }
}

#[async_trait]
impl Resource for Subnet {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "subnet"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Identity(self.vpc.clone())]
    }

    /// One DescribeSubnets of the environment answers every subnet's
    /// check: there and handing out no public IPs (tags: full read only).
    async fn quick_check(
        &self,
        cx: &Context,
        known: &Present,
    ) -> Result<QuickCheck, ResourceError> {
        cx.census()
            .check("subnets", &known.physical_id, || async {
                let out = self
                    .aws
                    .ec2
                    .describe_subnets()
                    .set_filters(Some(ec2::in_environment(cx)))
                    .send()
                    .await
                    .or_resource(&self.id, "DescribeSubnets")?;
                Ok(out
                    .subnets()
                    .iter()
                    .filter(|s| s.map_public_ip_on_launch() == Some(false))
                    .filter_map(|s| s.subnet_id().map(str::to_owned))
                    .collect())
            })
            .await
    }

    async fn read(&self, cx: &Context, known: Option<&Present>) -> Result<Observed, ResourceError> {
        let Some(s) = ec2::find!(
            self,
            cx,
            known,
            describe_subnets,
            subnet_ids,
            set_filters,
            subnets,
            "DescribeSubnets"
        ) else {
            return Ok(Observed::Missing);
        };
        let mut checks = Checks::default();
        checks.equal(
            SubnetProperty::MapPublicIpOnLaunch,
            false,
            s.map_public_ip_on_launch().unwrap_or(false),
        );
        match &self.configured_zone {
            Some(zone) => checks.equal(
                SubnetProperty::AvailabilityZone,
                zone,
                s.availability_zone().unwrap_or("unknown"),
            ),
            None => checks.not_applicable(
                SubnetProperty::AvailabilityZone,
                format!(
                    "network.availability_zones is not set: {} was chosen by the first `up` (the region's first zones offering the stack's services)",
                    s.availability_zone().unwrap_or("its zone")
                ),
            ),
        }
        ec2::check_tags(&mut checks, cx, s.tags());
        Ok(checks.observed(Self::present(
            s.subnet_id().unwrap_or_default(),
            s.availability_zone().unwrap_or_default(),
            s.cidr_block().unwrap_or_default(),
        )))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let vpc_id = cx.physical_id(&self.vpc)?;
        let cidr = crate::subnet_cidr(cx.attr(&self.vpc, Attr::Cidr)?, self.index);
        let zone = self.zone().await?;
        let req = self
            .aws
            .ec2
            .create_subnet()
            .vpc_id(vpc_id)
            .cidr_block(&cidr)
            .availability_zone(&zone)
            .tag_specifications(ec2::tag_spec(cx, ResourceType::Subnet));
        let out = ec2::send_after_create!(req, &self.id, "CreateSubnet").await;
        let out = match out {
            // The CIDR is taken: by this subnet when an earlier attempt's
            // answer was lost (then it carries our tags and is adopted),
            // else by something else and the error stands.
            Err(e) if e.code() == Some("InvalidSubnet.Conflict") => {
                return adopt_after_conflict(self, cx, e).await;
            }
            other => other?,
        };
        let subnet_id = out
            .subnet()
            .and_then(|s| s.subnet_id())
            .ok_or_else(|| ResourceError::unexpected(&self.id, "CreateSubnet returned no id"))?;
        Ok(Self::present(subnet_id, &zone, &cidr))
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        for (p, _) in SubnetProperty::drifted(&self.id, drift)? {
            match p {
                SubnetProperty::MapPublicIpOnLaunch => {
                    self.aws
                        .ec2
                        .modify_subnet_attribute()
                        .subnet_id(&present.physical_id)
                        .map_public_ip_on_launch(
                            AttributeBooleanValue::builder().value(false).build(),
                        )
                        .send()
                        .await
                        .or_resource(&self.id, "ModifySubnetAttribute")?;
                }
                SubnetProperty::Tags => {
                    ec2::retag(&self.aws, cx, &self.id, &present.physical_id).await?
                }
                SubnetProperty::AvailabilityZone => {
                    return Err(ResourceError::unexpected(
                        &self.id,
                        format!(
                            "subnet {} is in another zone than network.availability_zones names ({}), and a subnet cannot move: restore the setting to the zones the environment was built in, or run `paysec down` and `up` again",
                            present.physical_id,
                            self.configured_zone.as_deref().unwrap_or("?")
                        ),
                    ))
                }
            }
        }
        Ok(present.clone())
    }

    async fn delete(&self, cx: &Context, known: &Present) -> Result<DeleteOutcome, ResourceError> {
        let vpc = cx.physical_id(&self.vpc).ok().map(str::to_owned);
        ec2::delete_draining(
            &self.aws,
            cx,
            &self.id,
            (vpc.as_deref(), self.drain),
            || async {
                self.aws
                    .ec2
                    .delete_subnet()
                    .subnet_id(&known.physical_id)
                    .send()
                    .await
                    .or_resource(&self.id, "DeleteSubnet")
                    .map(|_| ())
            },
        )
        .await?;
        Ok(DeleteOutcome::default())
    }
}

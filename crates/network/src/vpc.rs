//! The VPC: DNS support and hostnames on (the RDS endpoint's private DNS
//! needs both), no gateway of any kind, its whole boundary read on every
//! full read (`boundary`).

use paysec_core::Attr;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, VpcAttributeName};
use paysec_aws::AwsResultExt;
use paysec_core::resource::{
    Checks, Comparison, Context, DeleteOutcome, Dependency, Observed, Present, QuickCheck, Resource,
};
use paysec_core::retry::rules;
use paysec_core::{LogicalId, Property, ResourceError};

use crate::ec2;

paysec_core::properties! {
    /// What the VPC's read compares: its DNS attributes (NET-1, NET-2), its
    /// whole boundary (NET-21..24, read by `crate::boundary`) and its tags.
    pub enum VpcProperty {
        EnableDnsSupport = "enable_dns_support",
        EnableDnsHostnames = "enable_dns_hostnames",
        Gateways = "gateways",
        Connections = "connections",
        RouteTables = "route_tables",
        PublicInterfaces = "public_interfaces",
        Tags = "tags",
    }
}

pub struct Vpc {
    id: LogicalId,
    aws: paysec_aws::Aws,
    cidr: String,
    drain: Duration,
}

impl Vpc {
    pub fn new(id: LogicalId, aws: paysec_aws::Aws, cidr: String) -> Self {
        Self {
            id,
            aws,
            cidr,
            drain: rules::EC2_DEPENDENCY_VIOLATION.budget,
        }
    }

    /// How long `down` waits for Lambda's network interfaces to release
    /// this resource (`network.eni_drain_minutes`).
    pub fn draining_up_to(mut self, budget: Duration) -> Self {
        self.drain = budget;
        self
    }

    fn present(&self, vpc_id: &str) -> Present {
        Present::new(vpc_id).with(Attr::Cidr, &self.cidr)
    }

    async fn attribute(&self, vpc_id: &str, name: VpcAttributeName) -> Result<bool, ResourceError> {
        // The VPC was just listed (by tag, possibly moments after its
        // create): a NotFound here means "not yet visible", not "gone".
        let req = self
            .aws
            .ec2
            .describe_vpc_attribute()
            .vpc_id(vpc_id)
            .attribute(name.clone());
        let out = ec2::send_after_create!(req, &self.id, "DescribeVpcAttribute").await?;
        let value = match name {
            VpcAttributeName::EnableDnsHostnames => out.enable_dns_hostnames(),
            _ => out.enable_dns_support(),
        };
        Ok(value.and_then(|v| v.value()).unwrap_or(false))
    }

    /// ModifyVpcAttribute takes one attribute per call.
    async fn enable_dns(&self, vpc_id: &str) -> Result<(), ResourceError> {
        let on = || AttributeBooleanValue::builder().value(true).build();
        let modify = || self.aws.ec2.modify_vpc_attribute().vpc_id(vpc_id);
        for req in [
            modify().enable_dns_support(on()),
            modify().enable_dns_hostnames(on()),
        ] {
            ec2::send_after_create!(req, &self.id, "ModifyVpcAttribute").await?;
        }
        Ok(())
    }
}

#[async_trait]
impl Resource for Vpc {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "vpc"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }

    async fn remove_strays(
        &self,
        cx: &Context,
        keep: &Present,
    ) -> Result<Vec<String>, ResourceError> {
        ec2::remove_strays(
            &self.aws,
            &self.id,
            cx,
            ec2::Copyable::Vpc,
            &keep.physical_id,
        )
        .await
    }

    /// DescribeVpcs: there with its CIDR (DNS attributes and tags, two
    /// more calls, are read only by a full read).
    async fn quick_check(
        &self,
        _cx: &Context,
        known: &Present,
    ) -> Result<QuickCheck, ResourceError> {
        let req = self.aws.ec2.describe_vpcs().vpc_ids(&known.physical_id);
        let found = req.send().await.or_resource(&self.id, "DescribeVpcs");
        QuickCheck::from_lookup(found, |out| {
            out.vpcs()
                .first()
                .is_some_and(|v| v.cidr_block() == Some(self.cidr.as_str()))
        })
    }

    async fn read(&self, cx: &Context, known: Option<&Present>) -> Result<Observed, ResourceError> {
        let Some(vpc) = ec2::find!(
            self,
            cx,
            known,
            describe_vpcs,
            vpc_ids,
            set_filters,
            vpcs,
            "DescribeVpcs"
        ) else {
            return Ok(Observed::Missing);
        };
        let vpc_id = vpc.vpc_id().unwrap_or_default().to_owned();
        let mut checks = Checks::default();
        if vpc.cidr_block() != Some(self.cidr.as_str()) {
            return Err(ResourceError::unexpected(
                &self.id,
                format!(
                    "VPC {vpc_id} has CIDR {} but the config asks {}; a VPC's CIDR cannot change: run `paysec down` first or restore network.vpc_cidr",
                    vpc.cidr_block().unwrap_or("?"),
                    self.cidr
                ),
            ));
        }
        for (attr, prop) in [
            (
                VpcAttributeName::EnableDnsSupport,
                VpcProperty::EnableDnsSupport,
            ),
            (
                VpcAttributeName::EnableDnsHostnames,
                VpcProperty::EnableDnsHostnames,
            ),
        ] {
            checks.equal(prop, true, self.attribute(&vpc_id, attr).await?);
        }
        let sides = crate::boundary::Sides {
            gateways: VpcProperty::Gateways,
            connections: VpcProperty::Connections,
            route_tables: VpcProperty::RouteTables,
            public_interfaces: VpcProperty::PublicInterfaces,
        };
        crate::boundary::check(&self.aws, &self.id, &vpc_id, &mut checks, sides).await?;
        ec2::check_tags(&mut checks, cx, vpc.tags());
        Ok(checks.observed(self.present(&vpc_id)))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let out = self
            .aws
            .ec2
            .create_vpc()
            .cidr_block(&self.cidr)
            .tag_specifications(ec2::tag_spec(cx, ResourceType::Vpc))
            .send()
            .await
            .or_resource(&self.id, "CreateVpc")?;
        let vpc_id = out
            .vpc()
            .and_then(|v| v.vpc_id())
            .ok_or_else(|| ResourceError::unexpected(&self.id, "CreateVpc returned no VPC id"))?
            .to_owned();
        self.enable_dns(&vpc_id).await?;
        Ok(self.present(&vpc_id))
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        use crate::boundary::refusal;
        for (p, d) in VpcProperty::drifted(&self.id, drift)? {
            let found = &d.actual;
            match p {
                VpcProperty::EnableDnsSupport | VpcProperty::EnableDnsHostnames => {
                    self.enable_dns(&present.physical_id).await?
                }
                VpcProperty::Tags => {
                    ec2::retag(&self.aws, cx, &self.id, &present.physical_id).await?
                }
                VpcProperty::Gateways => {
                    return Err(refusal(&self.id, "a gateway is attached to the VPC", found))
                }
                VpcProperty::Connections => {
                    return Err(refusal(
                        &self.id,
                        "another network is connected to the VPC",
                        found,
                    ))
                }
                VpcProperty::RouteTables => {
                    return Err(refusal(
                        &self.id,
                        "a route table in the VPC leads out of it",
                        found,
                    ))
                }
                VpcProperty::PublicInterfaces => {
                    return Err(refusal(
                        &self.id,
                        "a network interface in the VPC has a public IP",
                        found,
                    ))
                }
            }
        }
        Ok(present.clone())
    }

    async fn delete(&self, cx: &Context, known: &Present) -> Result<DeleteOutcome, ResourceError> {
        let vpc_id = known.physical_id.as_str();
        ec2::delete_draining(
            &self.aws,
            cx,
            &self.id,
            (Some(vpc_id), self.drain),
            || async {
                self.aws
                    .ec2
                    .delete_vpc()
                    .vpc_id(vpc_id)
                    .send()
                    .await
                    .or_resource(&self.id, "DeleteVpc")
                    .map(|_| ())
            },
        )
        .await?;
        Ok(DeleteOutcome::default())
    }
}

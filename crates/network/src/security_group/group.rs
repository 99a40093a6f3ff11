//! A security group itself: created bare, AWS's default allow-all egress
//! revoked at once, tagged, and deleted once Lambda's ENIs release it.

use paysec_core::Property;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType};
use paysec_aws::AwsResultExt;
use paysec_core::resource::{
    adopt_after_conflict, Checks, Comparison, Context, DeleteOutcome, Dependency, Observed,
    Present, QuickCheck, Resource,
};
use paysec_core::retry::rules;
use paysec_core::{LogicalId, ResourceError};

use crate::ec2;

paysec_core::properties! {
    /// What a security group's read compares: its tags (INV-1; its rules
    /// are `SecurityGroupRules`'s).
    pub enum GroupProperty {
        Tags = "tags",
    }
}

/// A security group with no rule at all, not even AWS's default egress.
pub struct SecurityGroup {
    id: LogicalId,
    aws: paysec_aws::Aws,
    vpc: LogicalId,
    purpose: &'static str,
    description: &'static str,
    outlived_by: Vec<LogicalId>,
    drain: Duration,
}

fn allow_all_egress() -> IpPermission {
    IpPermission::builder()
        .ip_protocol("-1")
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build()
}

impl SecurityGroup {
    pub fn new(
        id: LogicalId,
        aws: paysec_aws::Aws,
        vpc: LogicalId,
        purpose: &'static str,
        description: &'static str,
    ) -> Self {
        Self {
            id,
            aws,
            vpc,
            purpose,
            description,
            outlived_by: Vec::new(),
            drain: rules::EC2_DEPENDENCY_VIOLATION.budget,
        }
    }

    /// Resources that must outlive this group on `down`: the Lambda
    /// execution role and the policy granting it ec2:DeleteNetworkInterface
    /// have to exist until the function's ENIs, which hold this group, are
    /// released (Lambda deletes them with that role's permissions).
    /// How long `down` waits for Lambda's network interfaces to release
    /// this group (`network.eni_drain_minutes`).
    pub fn draining_up_to(mut self, budget: Duration) -> Self {
        self.drain = budget;
        self
    }

    pub fn outlived_by(mut self, ids: Vec<LogicalId>) -> Self {
        self.outlived_by = ids;
        self
    }
}

#[async_trait]
impl Resource for SecurityGroup {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "security_group"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        std::iter::once(&self.vpc)
            .chain(&self.outlived_by)
            .cloned()
            .map(Dependency::Identity)
            .collect()
    }

    /// One DescribeSecurityGroups of the environment answers every group's
    /// check (their rules are one resource of their own).
    async fn quick_check(
        &self,
        cx: &Context,
        known: &Present,
    ) -> Result<QuickCheck, ResourceError> {
        cx.census()
            .check("security_groups", &known.physical_id, || async {
                let out = self
                    .aws
                    .ec2
                    .describe_security_groups()
                    .set_filters(Some(ec2::in_environment(cx)))
                    .send()
                    .await
                    .or_resource(&self.id, "DescribeSecurityGroups")?;
                Ok(out
                    .security_groups()
                    .iter()
                    .filter_map(|g| g.group_id().map(str::to_owned))
                    .collect())
            })
            .await
    }

    async fn read(&self, cx: &Context, known: Option<&Present>) -> Result<Observed, ResourceError> {
        let Some(sg) = ec2::find!(
            self,
            cx,
            known,
            describe_security_groups,
            group_ids,
            set_filters,
            security_groups,
            "DescribeSecurityGroups"
        ) else {
            return Ok(Observed::Missing);
        };
        let mut checks = Checks::default();
        ec2::check_tags(&mut checks, cx, sg.tags());
        Ok(checks.observed(Present::new(sg.group_id().unwrap_or_default())))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let req = self
            .aws
            .ec2
            .create_security_group()
            .group_name(format!("{}-{}", cx.env.names.prefix(), self.purpose))
            .description(self.description)
            .vpc_id(cx.physical_id(&self.vpc)?)
            .tag_specifications(ec2::tag_spec(cx, ResourceType::SecurityGroup));
        let out = ec2::send_after_create!(req, &self.id, "CreateSecurityGroup").await;
        let out = match out {
            // Names are unique per VPC: ours when an earlier attempt's
            // answer was lost (adopted by its tags), else the error stands.
            Err(e) if e.code() == Some("InvalidGroup.Duplicate") => {
                return adopt_after_conflict(self, cx, e).await;
            }
            other => other?,
        };
        let group = out
            .group_id()
            .ok_or_else(|| {
                ResourceError::unexpected(&self.id, "CreateSecurityGroup returned no id")
            })?
            .to_owned();
        // A new group allows all egress; paysec's groups allow nothing
        // until SecurityGroupRules says otherwise.
        let req = self
            .aws
            .ec2
            .revoke_security_group_egress()
            .group_id(&group)
            .ip_permissions(allow_all_egress());
        let revoked = ec2::send_after_create!(req, &self.id, "RevokeSecurityGroupEgress").await;
        if let Err(e) = revoked {
            if e.code() != Some("InvalidPermission.NotFound") {
                return Err(e);
            }
        }
        Ok(Present::new(group))
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        for (p, _) in GroupProperty::drifted(&self.id, drift)? {
            match p {
                GroupProperty::Tags => {
                    ec2::retag(&self.aws, cx, &self.id, &present.physical_id).await?
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
                    .delete_security_group()
                    .group_id(&known.physical_id)
                    .send()
                    .await
                    .or_resource(&self.id, "DeleteSecurityGroup")
                    .map(|_| ())
            },
        )
        .await?;
        Ok(DeleteOutcome::default())
    }
}

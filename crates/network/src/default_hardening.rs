//! The VPC's own defaults, which AWS creates permissive: the default
//! security group loses every rule, and the default network ACL loses its
//! allow-all entries, so anything not placed deliberately gets nothing.

use paysec_core::Attr;
use paysec_core::Property;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::RuleAction;
use paysec_aws::AwsResultExt;
use paysec_core::resource::{
    Checks, Comparison, Context, DeleteOutcome, Dependency, Observed, Present, Resource,
};
use paysec_core::retry::rules;
use paysec_core::{LogicalId, ResourceError};
use tokio::time::Instant;

use crate::ec2;

paysec_core::properties! {
    /// What the VPC defaults' read compares (NET-8, NET-9).
    pub enum DefaultsProperty {
        DefaultSecurityGroupRules = "default_security_group_rules",
        DefaultNetworkAclOpenEntries = "default_network_acl_open_entries",
    }
}

pub struct DefaultHardening {
    id: LogicalId,
    aws: paysec_aws::Aws,
    vpc: LogicalId,
}

struct Defaults {
    sg: aws_sdk_ec2::types::SecurityGroup,
    acl: aws_sdk_ec2::types::NetworkAcl,
}

fn open_to_world(e: &aws_sdk_ec2::types::NetworkAclEntry) -> bool {
    e.rule_action() == Some(&RuleAction::Allow)
        && (e.cidr_block() == Some("0.0.0.0/0") || e.ipv6_cidr_block() == Some("::/0"))
}

impl DefaultHardening {
    pub fn new(id: LogicalId, aws: paysec_aws::Aws, vpc: LogicalId) -> Self {
        Self { id, aws, vpc }
    }

    async fn defaults(&self, vpc: &str) -> Result<Option<Defaults>, ResourceError> {
        let sgs = self
            .aws
            .ec2
            .describe_security_groups()
            .filters(ec2::filter("vpc-id", vpc))
            .filters(ec2::filter("group-name", "default"))
            .send()
            .await
            .or_resource(&self.id, "DescribeSecurityGroups")?;
        let acls = self
            .aws
            .ec2
            .describe_network_acls()
            .filters(ec2::filter("vpc-id", vpc))
            .filters(ec2::filter("default", "true"))
            .send()
            .await
            .or_resource(&self.id, "DescribeNetworkAcls")?;
        Ok(
            match (sgs.security_groups().first(), acls.network_acls().first()) {
                (Some(sg), Some(acl)) => Some(Defaults {
                    sg: sg.clone(),
                    acl: acl.clone(),
                }),
                _ => None,
            },
        )
    }

    async fn harden(&self, d: &Defaults) -> Result<(), ResourceError> {
        let sg = d.sg.group_id().unwrap_or_default();
        // The defaults came with a VPC made moments ago.
        if !d.sg.ip_permissions().is_empty() {
            let req = self
                .aws
                .ec2
                .revoke_security_group_ingress()
                .group_id(sg)
                .set_ip_permissions(Some(d.sg.ip_permissions().to_vec()));
            ec2::send_after_create!(req, &self.id, "RevokeSecurityGroupIngress").await?;
        }
        if !d.sg.ip_permissions_egress().is_empty() {
            let req = self
                .aws
                .ec2
                .revoke_security_group_egress()
                .group_id(sg)
                .set_ip_permissions(Some(d.sg.ip_permissions_egress().to_vec()));
            ec2::send_after_create!(req, &self.id, "RevokeSecurityGroupEgress").await?;
        }
        let acl = d.acl.network_acl_id().unwrap_or_default();
        for e in d.acl.entries().iter().filter(|e| open_to_world(e)) {
            let n = e.rule_number().unwrap_or(32767);
            if n < 32767 {
                self.aws
                    .ec2
                    .delete_network_acl_entry()
                    .network_acl_id(acl)
                    .rule_number(n)
                    .egress(e.egress().unwrap_or(false))
                    .send()
                    .await
                    .or_resource(&self.id, "DeleteNetworkAclEntry")?;
            }
        }
        Ok(())
    }

    fn present(d: &Defaults) -> Present {
        Present::new(d.sg.group_id().unwrap_or_default())
            .with(
                Attr::DefaultSecurityGroupId,
                d.sg.group_id().unwrap_or_default(),
            )
            .with(
                Attr::DefaultNetworkAclId,
                d.acl.network_acl_id().unwrap_or_default(),
            )
    }
}

#[async_trait]
impl Resource for DefaultHardening {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "vpc_defaults"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Identity(self.vpc.clone())]
    }

    async fn read(&self, cx: &Context, known: Option<&Present>) -> Result<Observed, ResourceError> {
        let Some(d) = self.defaults(cx.physical_id(&self.vpc)?).await? else {
            return Ok(Observed::Missing);
        };
        let mut checks = Checks::default();
        let rules = d.sg.ip_permissions().len() + d.sg.ip_permissions_egress().len();
        checks.equal(DefaultsProperty::DefaultSecurityGroupRules, 0, rules);
        let open = d.acl.entries().iter().filter(|e| open_to_world(e)).count();
        checks.equal(DefaultsProperty::DefaultNetworkAclOpenEntries, 0, open);
        // Never hardened by paysec yet: that is a create, not drift.
        if known.is_none() && !checks.drift().is_empty() {
            return Ok(Observed::Missing);
        }
        Ok(checks.observed(Self::present(&d)))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let vpc = cx.physical_id(&self.vpc)?;
        // A VPC made moments ago may not list its defaults yet (EC2 is
        // eventually consistent): look again within EC2's propagation
        // budget before calling them missing.
        let started = Instant::now();
        let mut delay = Duration::from_millis(250);
        let d = loop {
            if let Some(d) = self.defaults(vpc).await? {
                break d;
            }
            if started.elapsed() + delay > rules::EC2_NOT_YET_VISIBLE[0].budget {
                return Err(ResourceError::unexpected(
                    &self.id,
                    "the VPC has no default security group or ACL",
                ));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(10));
        };
        self.harden(&d).await?;
        Ok(Self::present(&d))
    }

    async fn repair(
        &self,
        cx: &Context,
        _present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        // Both properties are put right by hardening the defaults again.
        DefaultsProperty::drifted(&self.id, drift)?;
        self.create(cx).await
    }

    /// The defaults go with the VPC.
    /// Settings on the VPC paysec made, not a resource of their own.
    fn adoption_needs_proof(&self) -> bool {
        false
    }

    /// `delete` deletes nothing (the defaults go with the VPC).
    async fn ownership(
        &self,
        _cx: &Context,
        _known: &Present,
    ) -> Result<paysec_core::Ownership, ResourceError> {
        Ok(paysec_core::Ownership::Proven)
    }

    async fn delete(
        &self,
        _cx: &Context,
        _known: &Present,
    ) -> Result<DeleteOutcome, ResourceError> {
        Ok(DeleteOutcome::default())
    }
}

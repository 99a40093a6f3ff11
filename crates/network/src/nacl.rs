//! The subnets' network ACL: admits only traffic from and to the VPC's own
//! CIDR (everything else meets the implicit deny).

use async_trait::async_trait;
use aws_sdk_ec2::types::{ResourceType, RuleAction};
use paysec_aws::AwsResultExt;
use paysec_core::resource::{
    Checks, Comparison, Context, DeleteOutcome, Dependency, Observed, Present, Resource,
};
use paysec_core::Attr;
use paysec_core::Property;
use paysec_core::{LogicalId, ResourceError};

use crate::ec2;

paysec_core::properties! {
    /// What the network ACL's read compares (NET-6, NET-7, INV-1).
    pub enum AclProperty {
        Entries = "entries",
        Associations = "associations",
        Tags = "tags",
    }
}

pub struct NetworkAcl {
    id: LogicalId,
    aws: paysec_aws::Aws,
    vpc: LogicalId,
    subnets: Vec<LogicalId>,
}

/// (rule number, egress) of the two entries paysec writes.
const ENTRIES: [(i32, bool); 2] = [(100, false), (100, true)];

impl NetworkAcl {
    pub fn new(
        id: LogicalId,
        aws: paysec_aws::Aws,
        vpc: LogicalId,
        subnets: Vec<LogicalId>,
    ) -> Self {
        Self {
            id,
            aws,
            vpc,
            subnets,
        }
    }

    async fn write_entries(&self, acl: &str, cidr: &str) -> Result<(), ResourceError> {
        for (rule, egress) in ENTRIES {
            let req = self
                .aws
                .ec2
                .create_network_acl_entry()
                .network_acl_id(acl)
                .rule_number(rule)
                .protocol("-1")
                .rule_action(RuleAction::Allow)
                .egress(egress)
                .cidr_block(cidr);
            let r = ec2::send_after_create!(req, &self.id, "CreateNetworkAclEntry").await;
            if let Err(e) = r {
                if e.code() != Some("NetworkAclEntryAlreadyExists") {
                    return Err(e);
                }
                self.aws
                    .ec2
                    .replace_network_acl_entry()
                    .network_acl_id(acl)
                    .rule_number(rule)
                    .protocol("-1")
                    .rule_action(RuleAction::Allow)
                    .egress(egress)
                    .cidr_block(cidr)
                    .send()
                    .await
                    .or_resource(&self.id, "ReplaceNetworkAclEntry")?;
            }
        }
        Ok(())
    }

    /// Moves each subnet's ACL association to `target`.
    async fn move_subnets(
        &self,
        cx: &Context,
        vpc: &str,
        target: &str,
    ) -> Result<(), ResourceError> {
        let subnets: Vec<String> = self
            .subnets
            .iter()
            .filter_map(|s| cx.physical_id(s).ok().map(str::to_owned))
            .collect();
        let out = self
            .aws
            .ec2
            .describe_network_acls()
            .filters(ec2::filter("vpc-id", vpc))
            .send()
            .await
            .or_resource(&self.id, "DescribeNetworkAcls")?;
        for acl in out.network_acls() {
            for a in acl.associations() {
                let (Some(subnet), Some(assoc)) = (a.subnet_id(), a.network_acl_association_id())
                else {
                    continue;
                };
                if subnets.iter().any(|s| s == subnet) && acl.network_acl_id() != Some(target) {
                    let req = self
                        .aws
                        .ec2
                        .replace_network_acl_association()
                        .association_id(assoc)
                        .network_acl_id(target);
                    ec2::send_after_create!(req, &self.id, "ReplaceNetworkAclAssociation").await?;
                }
            }
        }
        Ok(())
    }

    async fn default_acl(&self, vpc: &str) -> Result<Option<String>, ResourceError> {
        let out = self
            .aws
            .ec2
            .describe_network_acls()
            .filters(ec2::filter("vpc-id", vpc))
            .filters(ec2::filter("default", "true"))
            .send()
            .await
            .or_resource(&self.id, "DescribeNetworkAcls")?;
        Ok(out
            .network_acls()
            .first()
            .and_then(|a| a.network_acl_id())
            .map(str::to_owned))
    }
}

#[async_trait]
impl Resource for NetworkAcl {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "network_acl"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        std::iter::once(&self.vpc)
            .chain(&self.subnets)
            .cloned()
            .map(Dependency::Identity)
            .collect()
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
            ec2::Copyable::NetworkAcl,
            &keep.physical_id,
        )
        .await
    }

    async fn read(&self, cx: &Context, known: Option<&Present>) -> Result<Observed, ResourceError> {
        let Some(acl) = ec2::find!(
            self,
            cx,
            known,
            describe_network_acls,
            network_acl_ids,
            set_filters,
            network_acls,
            "DescribeNetworkAcls"
        ) else {
            return Ok(Observed::Missing);
        };
        let cidr = cx.attr(&self.vpc, Attr::Cidr)?;
        let mut checks = Checks::default();
        let allows: Vec<String> = acl
            .entries()
            .iter()
            .filter(|e| e.rule_action() == Some(&RuleAction::Allow))
            .map(|e| {
                format!(
                    "{}{}:{}",
                    if e.egress().unwrap_or(false) {
                        "out"
                    } else {
                        "in"
                    },
                    e.rule_number().unwrap_or(0),
                    e.cidr_block().unwrap_or("?")
                )
            })
            .collect();
        let want = [format!("in100:{cidr}"), format!("out100:{cidr}")];
        checks.check(
            AclProperty::Entries,
            allows.len() == 2 && want.iter().all(|w| allows.contains(w)),
            want.join(","),
            allows.join(","),
        );
        let have: Vec<&str> = acl
            .associations()
            .iter()
            .filter_map(|a| a.subnet_id())
            .collect();
        for s in &self.subnets {
            let subnet = cx.physical_id(s)?;
            let ok = have.contains(&subnet);
            checks.check(
                AclProperty::Associations,
                ok,
                subnet,
                if ok { subnet } else { "not associated" },
            );
        }
        ec2::check_tags(&mut checks, cx, acl.tags());
        Ok(checks.observed(Present::new(acl.network_acl_id().unwrap_or_default())))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let vpc = cx.physical_id(&self.vpc)?;
        let req = self
            .aws
            .ec2
            .create_network_acl()
            .vpc_id(vpc)
            .tag_specifications(ec2::tag_spec(cx, ResourceType::NetworkAcl));
        let out = ec2::send_after_create!(req, &self.id, "CreateNetworkAcl").await?;
        let acl = out
            .network_acl()
            .and_then(|a| a.network_acl_id())
            .ok_or_else(|| ResourceError::unexpected(&self.id, "CreateNetworkAcl returned no id"))?
            .to_owned();
        self.write_entries(&acl, cx.attr(&self.vpc, Attr::Cidr)?)
            .await?;
        self.move_subnets(cx, vpc, &acl).await?;
        Ok(Present::new(acl))
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        let acl = present.physical_id.as_str();
        for (p, _) in AclProperty::drifted(&self.id, drift)? {
            match p {
                AclProperty::Entries => {
                    // Remove every allow entry, then write paysec's two.
                    let out = self
                        .aws
                        .ec2
                        .describe_network_acls()
                        .network_acl_ids(acl)
                        .send()
                        .await
                        .or_resource(&self.id, "DescribeNetworkAcls")?;
                    for e in out.network_acls().iter().flat_map(|a| a.entries()) {
                        let n = e.rule_number().unwrap_or(32767);
                        if n < 32767 && e.rule_action() == Some(&RuleAction::Allow) {
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
                    self.write_entries(acl, cx.attr(&self.vpc, Attr::Cidr)?)
                        .await?;
                }
                AclProperty::Associations => {
                    self.move_subnets(cx, cx.physical_id(&self.vpc)?, acl)
                        .await?
                }
                AclProperty::Tags => ec2::retag(&self.aws, cx, &self.id, acl).await?,
            }
        }
        Ok(present.clone())
    }

    async fn delete(&self, cx: &Context, known: &Present) -> Result<DeleteOutcome, ResourceError> {
        // An ACL in use cannot be deleted: hand the subnets back to the
        // VPC's default ACL first (they are deleted right after anyway).
        if let Ok(vpc) = cx.physical_id(&self.vpc) {
            if let Some(default) = ec2::not_found_is_none(self.default_acl(vpc).await)?.flatten() {
                ec2::not_found_is_none(self.move_subnets(cx, vpc, &default).await)?;
            }
        }
        ec2::not_found_is_none(
            self.aws
                .ec2
                .delete_network_acl()
                .network_acl_id(&known.physical_id)
                .send()
                .await
                .or_resource(&self.id, "DeleteNetworkAcl"),
        )?;
        Ok(DeleteOutcome::default())
    }
}

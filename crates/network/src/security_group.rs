//! Security groups and their rules. The groups reference each other (the
//! Lambda group's egress names the DB group, whose ingress names the Lambda
//! group), so the groups are created bare and one resource owns every rule.

use paysec_core::Attr;
use paysec_core::Property;
use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType, UserIdGroupPair};
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

/// Where a rule's traffic comes from or goes to.
#[derive(Clone, Debug)]
pub enum Peer {
    Group(LogicalId),
    /// The VPC's own CIDR.
    VpcCidr,
    /// A configured IPv4 block (`[api] allowed_cidrs`).
    Cidr(String),
    /// A configured security group of the account, not the stack's
    /// (`[api] allowed_security_groups`).
    ForeignGroup(String),
}

/// One allowed flow: on `group`, inbound or outbound, TCP on `port`.
#[derive(Clone, Debug)]
pub struct Rule {
    pub group: LogicalId,
    pub egress: bool,
    pub port: i32,
    pub peer: Peer,
}

paysec_core::properties! {
    /// What the rules' read compares (NET-10).
    pub enum RulesProperty {
        Rules = "rules",
    }
}

/// Every rule of the stack's security groups, and nothing else.
pub struct SecurityGroupRules {
    id: LogicalId,
    aws: paysec_aws::Aws,
    vpc: LogicalId,
    groups: Vec<LogicalId>,
    rules: Vec<Rule>,
}

/// A rule as text, comparable between desired and live:
/// `<group-id> in|out <proto> <from>-<to> <peer>`.
type Flat = BTreeSet<String>;

impl SecurityGroupRules {
    pub fn new(
        id: LogicalId,
        aws: paysec_aws::Aws,
        vpc: LogicalId,
        groups: Vec<LogicalId>,
        rules: Vec<Rule>,
    ) -> Self {
        Self {
            id,
            aws,
            vpc,
            groups,
            rules,
        }
    }

    fn peer(&self, cx: &Context, p: &Peer) -> Result<String, ResourceError> {
        Ok(match p {
            Peer::Group(g) => cx.physical_id(g)?.to_owned(),
            Peer::VpcCidr => cx.attr(&self.vpc, Attr::Cidr)?.to_owned(),
            Peer::Cidr(c) | Peer::ForeignGroup(c) => c.clone(),
        })
    }

    fn desired(&self, cx: &Context) -> Result<Flat, ResourceError> {
        self.rules
            .iter()
            .map(|r| {
                Ok(format!(
                    "{} {} tcp {}-{} {}",
                    cx.physical_id(&r.group)?,
                    if r.egress { "out" } else { "in" },
                    r.port,
                    r.port,
                    self.peer(cx, &r.peer)?
                ))
            })
            .collect()
    }

    /// Every group's physical id (all must be recorded).
    fn group_ids(&self, cx: &Context) -> Result<Vec<String>, ResourceError> {
        self.groups
            .iter()
            .map(|g| cx.physical_id(g).map(str::to_owned))
            .collect()
    }

    /// The rules live on `ids`.
    async fn actual(&self, ids: Vec<String>) -> Result<Flat, ResourceError> {
        // The groups may have been created moments ago, by this run or a
        // run just before: a NotFound is "not yet visible".
        let req = self
            .aws
            .ec2
            .describe_security_groups()
            .set_group_ids(Some(ids));
        let out = ec2::send_after_create!(req, &self.id, "DescribeSecurityGroups").await?;
        let mut flat = Flat::new();
        for sg in out.security_groups() {
            let gid = sg.group_id().unwrap_or_default();
            for (dir, perms) in [
                ("in", sg.ip_permissions()),
                ("out", sg.ip_permissions_egress()),
            ] {
                for p in perms {
                    let proto = match p.ip_protocol().unwrap_or("-1") {
                        "6" => "tcp",
                        other => other,
                    };
                    let ports = format!(
                        "{}-{}",
                        p.from_port().unwrap_or(-1),
                        p.to_port().unwrap_or(-1)
                    );
                    let peers = p
                        .user_id_group_pairs()
                        .iter()
                        .filter_map(|u| u.group_id().map(str::to_owned))
                        .chain(
                            p.ip_ranges()
                                .iter()
                                .filter_map(|r| r.cidr_ip().map(str::to_owned)),
                        )
                        .chain(
                            p.ipv6_ranges()
                                .iter()
                                .filter_map(|r| r.cidr_ipv6().map(str::to_owned)),
                        )
                        .chain(
                            p.prefix_list_ids()
                                .iter()
                                .filter_map(|r| r.prefix_list_id().map(str::to_owned)),
                        );
                    for peer in peers {
                        flat.insert(format!("{gid} {dir} {proto} {ports} {peer}"));
                    }
                }
            }
        }
        Ok(flat)
    }

    /// Authorizes or revokes one flattened rule.
    async fn apply(&self, rule: &str, grant: bool) -> Result<(), ResourceError> {
        let parts: Vec<&str> = rule.split(' ').collect();
        let [group, dir, proto, ports, peer] = parts[..] else {
            return Err(ResourceError::unexpected(
                &self.id,
                format!("malformed rule {rule}"),
            ));
        };
        let (from, to) = ports.split_once('-').unwrap_or(("-1", "-1"));
        let mut perm = IpPermission::builder().ip_protocol(proto);
        if proto != "-1" {
            perm = perm
                .from_port(from.parse().unwrap_or(-1))
                .to_port(to.parse().unwrap_or(-1));
        }
        let perm = if peer.starts_with("sg-") {
            perm.user_id_group_pairs(UserIdGroupPair::builder().group_id(peer).build())
        } else if peer.contains(':') {
            perm.ipv6_ranges(
                aws_sdk_ec2::types::Ipv6Range::builder()
                    .cidr_ipv6(peer)
                    .build(),
            )
        } else if peer.starts_with("pl-") {
            perm.prefix_list_ids(
                aws_sdk_ec2::types::PrefixListId::builder()
                    .prefix_list_id(peer)
                    .build(),
            )
        } else {
            perm.ip_ranges(IpRange::builder().cidr_ip(peer).build())
        }
        .build();
        let ec2 = &self.aws.ec2;
        // The groups may be moments old: a grant naming one EC2 does not
        // show yet is retried (a NotFound there is not "done").
        let result = crate::ec2::after_create(|| async {
            self.send_rule(ec2, dir, grant, group, perm.clone()).await
        })
        .await;
        match result {
            // Revoking from a group that is gone, or a rule already there
            // or already gone: nothing to do.
            Err(e)
                if matches!(
                    e.code(),
                    Some("InvalidPermission.Duplicate" | "InvalidPermission.NotFound")
                ) || (!grant && e.code() == Some("InvalidGroup.NotFound")) =>
            {
                Ok(())
            }
            other => other,
        }
    }

    async fn send_rule(
        &self,
        ec2: &aws_sdk_ec2::Client,
        dir: &str,
        grant: bool,
        group: &str,
        perm: IpPermission,
    ) -> Result<(), ResourceError> {
        match (dir, grant) {
            ("in", true) => ec2
                .authorize_security_group_ingress()
                .group_id(group)
                .ip_permissions(perm)
                .send()
                .await
                .or_resource(&self.id, "AuthorizeSecurityGroupIngress")
                .map(|_| ()),
            ("out", true) => ec2
                .authorize_security_group_egress()
                .group_id(group)
                .ip_permissions(perm)
                .send()
                .await
                .or_resource(&self.id, "AuthorizeSecurityGroupEgress")
                .map(|_| ()),
            ("in", false) => ec2
                .revoke_security_group_ingress()
                .group_id(group)
                .ip_permissions(perm)
                .send()
                .await
                .or_resource(&self.id, "RevokeSecurityGroupIngress")
                .map(|_| ()),
            _ => ec2
                .revoke_security_group_egress()
                .group_id(group)
                .ip_permissions(perm)
                .send()
                .await
                .or_resource(&self.id, "RevokeSecurityGroupEgress")
                .map(|_| ()),
        }
    }

    async fn converge(&self, cx: &Context) -> Result<Present, ResourceError> {
        let desired = self.desired(cx)?;
        let actual = self.actual(self.group_ids(cx)?).await?;
        for extra in actual.difference(&desired) {
            self.apply(extra, false).await?;
        }
        for missing in desired.difference(&actual) {
            self.apply(missing, true).await?;
        }
        Ok(self.present(cx, &desired))
    }

    fn present(&self, cx: &Context, desired: &Flat) -> Present {
        let first = self
            .groups
            .first()
            .and_then(|g| cx.physical_id(g).ok())
            .unwrap_or("none");
        Present::new(format!("rules-{first}")).with(Attr::Rules, desired.len().to_string())
    }
}

#[async_trait]
impl Resource for SecurityGroupRules {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "security_group_rules"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        std::iter::once(&self.vpc)
            .chain(&self.groups)
            .cloned()
            .map(Dependency::Identity)
            .collect()
    }

    async fn read(&self, cx: &Context, known: Option<&Present>) -> Result<Observed, ResourceError> {
        let desired = self.desired(cx)?;
        let actual = self.actual(self.group_ids(cx)?).await?;
        if known.is_none() && actual.is_empty() {
            return Ok(Observed::Missing);
        }
        let mut checks = Checks::default();
        let extra: Vec<&String> = actual.difference(&desired).collect();
        let missing: Vec<&String> = desired.difference(&actual).collect();
        if extra.is_empty() && missing.is_empty() {
            let rules: Vec<&str> = actual.iter().map(String::as_str).collect();
            checks.equal(RulesProperty::Rules, rules.join(", "), rules.join(", "));
        } else {
            checks.check(
                RulesProperty::Rules,
                false,
                format!("missing: {missing:?}"),
                format!("unexpected: {extra:?}"),
            );
        }
        Ok(checks.observed(self.present(cx, &desired)))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        self.converge(cx).await
    }

    async fn repair(
        &self,
        cx: &Context,
        _present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        // The one property: the rule set, converged as a whole.
        RulesProperty::drifted(&self.id, drift)?;
        self.converge(cx).await
    }

    /// Settings on groups paysec made, not a resource of their own.
    fn adoption_needs_proof(&self) -> bool {
        false
    }

    /// The rules are revoked on the groups the ledger records: each must
    /// carry this environment's tag (an edited ledger must not make `down`
    /// strip another stack's groups).
    async fn ownership(
        &self,
        cx: &Context,
        _known: &Present,
    ) -> Result<paysec_core::Ownership, ResourceError> {
        let recorded: Vec<String> = self
            .groups
            .iter()
            .filter_map(|g| cx.physical_id(g).ok().map(str::to_owned))
            .collect();
        if recorded.is_empty() {
            return Ok(paysec_core::Ownership::Gone);
        }
        let out = match self
            .aws
            .ec2
            .describe_security_groups()
            .set_group_ids(Some(recorded.clone()))
            .send()
            .await
            .or_resource(&self.id, "DescribeSecurityGroups")
        {
            Ok(out) => out,
            Err(e) if e.class() == paysec_core::ErrorClass::NotFound => {
                return Ok(paysec_core::Ownership::Gone)
            }
            Err(e) => return Err(e),
        };
        let env = cx.env.name.as_str();
        let foreign: Vec<&str> = out
            .security_groups()
            .iter()
            .filter(|sg| {
                !sg.tags().iter().any(|t| {
                    t.key() == Some(paysec_core::tags::ENVIRONMENT) && t.value() == Some(env)
                })
            })
            .filter_map(|sg| sg.group_id())
            .collect();
        Ok(if foreign.is_empty() {
            paysec_core::Ownership::Proven
        } else {
            paysec_core::Ownership::Unproven(format!(
                "security group(s) {} do not carry {}={env}",
                foreign.join(", "),
                paysec_core::tags::ENVIRONMENT
            ))
        })
    }

    /// Revokes every rule, so the groups, which reference each other, can
    /// be deleted.
    ///
    /// Only the groups the ledger records: a group of a component that
    /// was never built (switched off when the stack was made) has no rule.
    async fn delete(&self, cx: &Context, _known: &Present) -> Result<DeleteOutcome, ResourceError> {
        let recorded: Vec<String> = self
            .groups
            .iter()
            .filter_map(|g| cx.physical_id(g).ok().map(str::to_owned))
            .collect();
        if recorded.is_empty() {
            return Ok(DeleteOutcome::default());
        }
        let actual = match self.actual(recorded).await {
            Ok(a) => a,
            Err(e) if e.class() == paysec_core::ErrorClass::NotFound => {
                return Ok(DeleteOutcome::default())
            }
            Err(e) => return Err(e),
        };
        for rule in &actual {
            self.apply(rule, false).await?;
        }
        Ok(DeleteOutcome::default())
    }
}

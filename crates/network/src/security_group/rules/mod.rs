//! Every rule of the stack's groups as one resource: the rules wanted
//! (`Peer`, `Rule`), their read and convergence. The wanted rules as text
//! are in desired.rs, the live ones in live.rs, authorize/revoke in apply.rs.

mod apply;
mod desired;
mod live;

use paysec_core::Attr;
use paysec_core::Property;
use std::collections::BTreeSet;

use async_trait::async_trait;
use paysec_aws::AwsResultExt;
use paysec_core::resource::{
    Checks, Comparison, Context, DeleteOutcome, Dependency, Observed, Present, Resource,
};
use paysec_core::{LogicalId, ResourceError};

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

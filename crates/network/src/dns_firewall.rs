//! The Route 53 Resolver DNS Firewall on the VPC: a walled garden against
//! DNS tunnelling (a tampered function carrying data out in the names it
//! looks up). Two domain lists (the names the stack needs; `*`), a rule
//! group that allows the first and blocks the rest with NODATA, and its
//! association with the VPC (mutation protection on; the VPC's firewall
//! fails closed, AWS's default, read back).
//!
//! Resolver ids are random and names not unique, so each create passes
//! the create's token as its `CreatorRequestId` (AWS answers a repeat with
//! the same token with what it made then) and tags what it makes; a lost
//! one is found by its name and tags.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_route53resolver::types::{
    Action, BlockResponse, FirewallDomainRedirectionAction, FirewallDomainUpdateOperation,
    FirewallFailOpenStatus, FirewallRuleGroupAssociationStatus, MutationProtectionStatus, Tag,
};
use paysec_aws::emulator::Gap;
use paysec_aws::AwsResultExt;
use paysec_core::context::WaitBudget;
use paysec_core::error::not_found_is_none;
use paysec_core::resource::{
    Checks, Comparison, Context, DeleteOutcome, Dependency, Observed, Present, Resource,
};
use paysec_core::retry::{retrying, rules};
use paysec_core::Attr;
use paysec_core::Property;
use paysec_core::{ErrorClass, LogicalId, ResourceError};

/// The association's place among the VPC's rule groups (AWS: 100-9900,
/// lowest first).
pub const ASSOCIATION_PRIORITY: i32 = 101;
const ALLOW_PRIORITY: i32 = 100;
const BLOCK_PRIORITY: i32 = 200;
const SETTING: &str = "network.endpoint_wait_minutes";

/// The names a workload in the stack's VPC resolves, for `region`: the
/// AWS APIs it reaches through its endpoints (private DNS answers the
/// services' own names), S3 through the gateway endpoint, the database's
/// endpoint, the payment API's name (callers in the VPC reach it through
/// the `execute-api` endpoint's private DNS), the endpoints' own names,
/// and the VPC's internal host names. Everything else is blocked.
pub fn allowed_domains(region: &str) -> Vec<String> {
    let mut d: Vec<String> = [
        format!("xray.{region}.amazonaws.com"),
        format!("*.execute-api.{region}.amazonaws.com"),
        format!("rds.{region}.amazonaws.com"),
        format!("*.{region}.rds.amazonaws.com"),
        format!("s3.{region}.amazonaws.com"),
        format!("*.s3.{region}.amazonaws.com"),
        "s3.amazonaws.com".to_owned(),
        "*.s3.amazonaws.com".to_owned(),
        "*.vpce.amazonaws.com".to_owned(),
        "*.compute.internal".to_owned(),
        "*.ec2.internal".to_owned(),
    ]
    .into();
    d.sort();
    d
}

/// Which domain list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Domains {
    /// [`allowed_domains`] of the stack's region, and what the
    /// configuration adds: the AWS services the code reaches through
    /// interface endpoints (`services`: their regional API names) and the
    /// names a partner's PrivateLink service answers to (`names`).
    Allowed {
        services: Vec<String>,
        names: Vec<String>,
    },
    /// `*`: every name.
    Everything,
}

impl Domains {
    fn wanted(&self, region: &str) -> Vec<String> {
        match self {
            Self::Allowed { services, names } => {
                let mut d = allowed_domains(region);
                d.extend(
                    services
                        .iter()
                        .map(|s| format!("{s}.{region}.amazonaws.com")),
                );
                d.extend(names.iter().cloned());
                d.sort();
                d.dedup();
                d
            }
            Self::Everything => vec!["*".to_owned()],
        }
    }

    fn purpose(&self) -> &'static str {
        match self {
            Self::Allowed { .. } => "dns-allowed",
            Self::Everything => "dns-everything",
        }
    }
}

/// A domain as a DNS name: without its root dot, in lower case.
fn dns_name(domain: &str) -> String {
    domain.trim_end_matches('.').to_ascii_lowercase()
}

/// Whether two domain lists name the same DNS names (in any order).
fn same_names(a: &[String], b: &[String]) -> bool {
    let set = |l: &[String]| {
        l.iter()
            .map(|d| dns_name(d))
            .collect::<std::collections::BTreeSet<_>>()
    };
    set(a) == set(b)
}

fn tags(cx: &Context) -> Vec<Tag> {
    cx.tags()
        .into_iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect()
}

/// The live tags of a resolver resource, as pairs.
async fn live_tags(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    arn: &str,
) -> Result<Vec<(String, String)>, ResourceError> {
    let mut all = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let out = aws
            .resolver
            .list_tags_for_resource()
            .resource_arn(arn)
            .set_next_token(next.take())
            .send()
            .await
            .or_resource(id, "ListTagsForResource")?;
        all.extend(
            out.tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned())),
        );
        match out.next_token() {
            Some(t) if !t.is_empty() => next = Some(t.to_owned()),
            _ => return Ok(all),
        }
    }
}

/// Of the resources named `name` (id, arn), the one whose tags name this
/// environment and logical id (and the recorded create token, if any).
async fn find_ours(
    aws: &paysec_aws::Aws,
    cx: &Context,
    id: &LogicalId,
    candidates: Vec<(String, String)>,
) -> Result<Option<(String, String)>, ResourceError> {
    for (rid, arn) in candidates {
        let live = live_tags(aws, id, &arn).await?;
        let wanted: Vec<(String, String)> = cx
            .tags()
            .into_iter()
            .filter(|(k, _)| k.starts_with("paysec:"))
            .collect();
        if paysec_core::tags::missing(&wanted, &live).is_empty() {
            return Ok(Some((rid, arn)));
        }
    }
    Ok(None)
}

async fn retag(
    aws: &paysec_aws::Aws,
    cx: &Context,
    id: &LogicalId,
    arn: &str,
) -> Result<(), ResourceError> {
    aws.resolver
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(tags(cx)))
        .send()
        .await
        .or_resource(id, "TagResource")?;
    Ok(())
}

fn present(id: &str, arn: &str) -> Present {
    Present::new(id).with(Attr::Arn, arn)
}

paysec_core::properties! {
    /// What a DNS firewall domain list's read compares (NET-16, INV-1).
    pub enum DomainListProperty {
        Domains = "domains",
        Tags = "tags",
    }
}

/// A firewall domain list.
pub struct DomainList {
    id: LogicalId,
    aws: paysec_aws::Aws,
    domains: Domains,
    wait: Duration,
}

impl DomainList {
    pub fn new(id: LogicalId, aws: paysec_aws::Aws, domains: Domains, wait: Duration) -> Self {
        Self {
            id,
            aws,
            domains,
            wait,
        }
    }

    fn name(&self, cx: &Context) -> String {
        format!("{}-{}", cx.env.names.prefix(), self.domains.purpose())
    }

    async fn domains_of(&self, list_id: &str) -> Result<Vec<String>, ResourceError> {
        let mut all = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let out = self
                .aws
                .resolver
                .list_firewall_domains()
                .firewall_domain_list_id(list_id)
                .set_next_token(next.take())
                .send()
                .await
                .or_resource(&self.id, "ListFirewallDomains")?;
            all.extend(out.domains().iter().cloned());
            match out.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_owned()),
                _ => break,
            }
        }
        all.sort();
        Ok(all)
    }

    /// Replaces the list's domains (at most 1000 per call; the lists here
    /// are far shorter) and waits until the update is complete.
    async fn put_domains(&self, cx: &Context, list_id: &str) -> Result<(), ResourceError> {
        self.aws
            .resolver
            .update_firewall_domains()
            .firewall_domain_list_id(list_id)
            .operation(FirewallDomainUpdateOperation::Replace)
            .set_domains(Some(self.domains.wanted(&cx.env.region)))
            .send()
            .await
            .or_resource(&self.id, "UpdateFirewallDomains")?;
        cx.poll_until(
            "the domain list's update",
            "COMPLETE",
            WaitBudget {
                limit: self.wait,
                setting: SETTING,
            },
            || async {
                let out = self
                    .aws
                    .resolver
                    .get_firewall_domain_list()
                    .firewall_domain_list_id(list_id)
                    .send()
                    .await
                    .or_resource(&self.id, "GetFirewallDomainList")?;
                let list = out.firewall_domain_list();
                let status = list
                    .and_then(|l| l.status())
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default();
                // Final, with AWS's reason: waiting longer changes nothing.
                if status == "COMPLETE_IMPORT_FAILED" {
                    return Err(ResourceError::unexpected(
                        &self.id,
                        format!(
                            "the domain list's update failed (COMPLETE_IMPORT_FAILED): {}",
                            list.and_then(|l| l.status_message())
                                .unwrap_or("no reason given")
                        ),
                    ));
                }
                Ok((status == "COMPLETE").then_some(()))
            },
        )
        .await
    }

    async fn locate(
        &self,
        cx: &Context,
        known: Option<&Present>,
    ) -> Result<Option<(String, String)>, ResourceError> {
        if let Some(p) = known {
            return match self
                .aws
                .resolver
                .get_firewall_domain_list()
                .firewall_domain_list_id(&p.physical_id)
                .send()
                .await
                .or_resource(&self.id, "GetFirewallDomainList")
            {
                Ok(out) => Ok(out.firewall_domain_list().map(|l| {
                    (
                        l.id().unwrap_or_default().to_owned(),
                        l.arn().unwrap_or_default().to_owned(),
                    )
                })),
                Err(e) if e.class() == ErrorClass::NotFound => Ok(None),
                Err(e) => Err(e),
            };
        }
        let name = self.name(cx);
        let mut named = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let out = self
                .aws
                .resolver
                .list_firewall_domain_lists()
                .set_next_token(next.take())
                .send()
                .await
                .or_resource(&self.id, "ListFirewallDomainLists")?;
            named.extend(
                out.firewall_domain_lists()
                    .iter()
                    .filter(|l| l.name() == Some(name.as_str()))
                    .map(|l| {
                        (
                            l.id().unwrap_or_default().to_owned(),
                            l.arn().unwrap_or_default().to_owned(),
                        )
                    }),
            );
            match out.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_owned()),
                _ => break,
            }
        }
        find_ours(&self.aws, cx, &self.id, named).await
    }
}

#[async_trait]
impl Resource for DomainList {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "dns_domain_list"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }

    async fn read(&self, cx: &Context, known: Option<&Present>) -> Result<Observed, ResourceError> {
        if self.aws.tolerates(Gap::NoDnsFirewall) {
            return Ok(Observed::Missing);
        }
        let Some((list_id, arn)) = self.locate(cx, known).await? else {
            return Ok(Observed::Missing);
        };
        let mut checks = Checks::default();
        let live = self.domains_of(&list_id).await?;
        // Compared as DNS names: Route 53 Resolver stores each with a
        // trailing dot (`*` comes back `*.`, terraform-provider-aws#23543)
        // and names are case-insensitive. The live list is quoted as AWS
        // answered it.
        let wanted = self.domains.wanted(&cx.env.region);
        checks.check(
            DomainListProperty::Domains,
            same_names(&wanted, &live),
            wanted.join(","),
            live.join(","),
        );
        checks.tags(&cx.tags(), &live_tags(&self.aws, &self.id, &arn).await?);
        Ok(checks.observed(present(&list_id, &arn)))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let out = self
            .aws
            .resolver
            .create_firewall_domain_list()
            .creator_request_id(cx.create_token())
            .name(self.name(cx))
            .set_tags(Some(tags(cx)))
            .send()
            .await
            .or_resource(&self.id, "CreateFirewallDomainList")?;
        let list = out.firewall_domain_list().ok_or_else(|| {
            ResourceError::unexpected(&self.id, "CreateFirewallDomainList returned no list")
        })?;
        let (list_id, arn) = (
            list.id().unwrap_or_default().to_owned(),
            list.arn().unwrap_or_default().to_owned(),
        );
        self.put_domains(cx, &list_id).await?;
        Ok(present(&list_id, &arn))
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        for (p, _) in DomainListProperty::drifted(&self.id, drift)? {
            match p {
                DomainListProperty::Domains => self.put_domains(cx, &present.physical_id).await?,
                DomainListProperty::Tags => {
                    let arn = present.attrs.get(Attr::Arn.as_str()).cloned();
                    retag(&self.aws, cx, &self.id, arn.as_deref().unwrap_or_default()).await?
                }
            }
        }
        Ok(present.clone())
    }

    async fn delete(&self, _cx: &Context, known: &Present) -> Result<DeleteOutcome, ResourceError> {
        not_found_is_none(
            self.aws
                .resolver
                .delete_firewall_domain_list()
                .firewall_domain_list_id(&known.physical_id)
                .send()
                .await
                .or_resource(&self.id, "DeleteFirewallDomainList"),
        )?;
        Ok(DeleteOutcome::default())
    }
}

paysec_core::properties! {
    /// What the DNS firewall rule group's read compares (NET-17, INV-1).
    pub enum RuleGroupProperty {
        Rules = "rules",
        Tags = "tags",
    }
}

/// The rule group: ALLOW the allowed list (priority 100), BLOCK every
/// other name with NODATA (priority 200).
pub struct RuleGroup {
    id: LogicalId,
    aws: paysec_aws::Aws,
    allowed: LogicalId,
    everything: LogicalId,
}

/// One rule as compared: (priority, domain list id, action, and the
/// block response of a BLOCK rule or the redirection action of an ALLOW
/// one).
type RuleShape = (i32, String, String, String);

impl RuleGroup {
    pub fn new(
        id: LogicalId,
        aws: paysec_aws::Aws,
        allowed: LogicalId,
        everything: LogicalId,
    ) -> Self {
        Self {
            id,
            aws,
            allowed,
            everything,
        }
    }

    fn name(cx: &Context) -> String {
        format!("{}-dns-firewall", cx.env.names.prefix())
    }

    fn wanted(&self, cx: &Context) -> Result<Vec<RuleShape>, ResourceError> {
        Ok(vec![
            // The stack's names are CNAMEs into AWS's own domains (S3's
            // bucket names among them): with Resolver's default
            // INSPECT_REDIRECTION_DOMAIN every name of the chain would
            // have to be allowed too, and only the block rule matches
            // them. The chain of an allowed name is trusted instead.
            (
                ALLOW_PRIORITY,
                cx.physical_id(&self.allowed)?.to_owned(),
                Action::Allow.as_str().to_owned(),
                FirewallDomainRedirectionAction::TrustRedirectionDomain
                    .as_str()
                    .to_owned(),
            ),
            (
                BLOCK_PRIORITY,
                cx.physical_id(&self.everything)?.to_owned(),
                Action::Block.as_str().to_owned(),
                BlockResponse::Nodata.as_str().to_owned(),
            ),
        ])
    }

    fn describe(rules: &[RuleShape]) -> String {
        rules
            .iter()
            .map(|(p, list, action, response)| format!("{p}:{action}:{list}:{response}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    async fn live_rules(&self, group_id: &str) -> Result<Vec<RuleShape>, ResourceError> {
        let mut all = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let out = self
                .aws
                .resolver
                .list_firewall_rules()
                .firewall_rule_group_id(group_id)
                .set_next_token(next.take())
                .send()
                .await
                .or_resource(&self.id, "ListFirewallRules")?;
            all.extend(out.firewall_rules().iter().map(|r| {
                let allow = r.action() == Some(&Action::Allow);
                (
                    r.priority().unwrap_or_default(),
                    r.firewall_domain_list_id().unwrap_or_default().to_owned(),
                    r.action().map_or("?", |a| a.as_str()).to_owned(),
                    if allow {
                        // Unset is Resolver's default.
                        r.firewall_domain_redirection_action()
                            .map_or("INSPECT_REDIRECTION_DOMAIN", |a| a.as_str())
                            .to_owned()
                    } else {
                        r.block_response().map_or("-", |b| b.as_str()).to_owned()
                    },
                )
            }));
            match out.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_owned()),
                _ => break,
            }
        }
        all.sort();
        Ok(all)
    }

    /// Makes the group's rules exactly the wanted ones: creates or updates
    /// each (the block rule is never missing longer than it must be), then
    /// deletes any other.
    async fn put_rules(&self, cx: &Context, group_id: &str) -> Result<(), ResourceError> {
        let wanted = self.wanted(cx)?;
        let live = self.live_rules(group_id).await?;
        for (i, (priority, list, action, _)) in wanted.iter().enumerate() {
            let name = format!(
                "{}-{}",
                Self::name(cx),
                if i == 0 { "allow" } else { "block" }
            );
            let block = *action == Action::Block.as_str();
            if live.iter().any(|(_, l, _, _)| l == list) {
                let mut req = self
                    .aws
                    .resolver
                    .update_firewall_rule()
                    .firewall_rule_group_id(group_id)
                    .firewall_domain_list_id(list)
                    .priority(*priority)
                    .action(Action::from(action.as_str()))
                    .name(name);
                if block {
                    req = req.block_response(BlockResponse::Nodata);
                } else {
                    req = req.firewall_domain_redirection_action(
                        FirewallDomainRedirectionAction::TrustRedirectionDomain,
                    );
                }
                req.send()
                    .await
                    .or_resource(&self.id, "UpdateFirewallRule")?;
            } else {
                let mut req = self
                    .aws
                    .resolver
                    .create_firewall_rule()
                    .creator_request_id(format!("{}-{i}", cx.create_token()))
                    .firewall_rule_group_id(group_id)
                    .firewall_domain_list_id(list)
                    .priority(*priority)
                    .action(Action::from(action.as_str()))
                    .name(name);
                if block {
                    req = req.block_response(BlockResponse::Nodata);
                } else {
                    req = req.firewall_domain_redirection_action(
                        FirewallDomainRedirectionAction::TrustRedirectionDomain,
                    );
                }
                req.send()
                    .await
                    .or_resource(&self.id, "CreateFirewallRule")?;
            }
        }
        for (_, list, _, _) in live
            .iter()
            .filter(|(_, l, _, _)| !wanted.iter().any(|(_, w, _, _)| w == l))
        {
            self.delete_rule(group_id, list).await?;
        }
        Ok(())
    }

    async fn delete_rule(&self, group_id: &str, list: &str) -> Result<(), ResourceError> {
        not_found_is_none(
            self.aws
                .resolver
                .delete_firewall_rule()
                .firewall_rule_group_id(group_id)
                .firewall_domain_list_id(list)
                .send()
                .await
                .or_resource(&self.id, "DeleteFirewallRule"),
        )?;
        Ok(())
    }

    async fn locate(
        &self,
        cx: &Context,
        known: Option<&Present>,
    ) -> Result<Option<(String, String)>, ResourceError> {
        if let Some(p) = known {
            return match self
                .aws
                .resolver
                .get_firewall_rule_group()
                .firewall_rule_group_id(&p.physical_id)
                .send()
                .await
                .or_resource(&self.id, "GetFirewallRuleGroup")
            {
                Ok(out) => Ok(out.firewall_rule_group().map(|g| {
                    (
                        g.id().unwrap_or_default().to_owned(),
                        g.arn().unwrap_or_default().to_owned(),
                    )
                })),
                Err(e) if e.class() == ErrorClass::NotFound => Ok(None),
                Err(e) => Err(e),
            };
        }
        let name = Self::name(cx);
        let mut named = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let out = self
                .aws
                .resolver
                .list_firewall_rule_groups()
                .set_next_token(next.take())
                .send()
                .await
                .or_resource(&self.id, "ListFirewallRuleGroups")?;
            named.extend(
                out.firewall_rule_groups()
                    .iter()
                    .filter(|g| g.name() == Some(name.as_str()))
                    .map(|g| {
                        (
                            g.id().unwrap_or_default().to_owned(),
                            g.arn().unwrap_or_default().to_owned(),
                        )
                    }),
            );
            match out.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_owned()),
                _ => break,
            }
        }
        find_ours(&self.aws, cx, &self.id, named).await
    }
}

#[async_trait]
impl Resource for RuleGroup {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "dns_rule_group"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        vec![
            Dependency::Identity(self.allowed.clone()),
            Dependency::Identity(self.everything.clone()),
        ]
    }

    async fn read(&self, cx: &Context, known: Option<&Present>) -> Result<Observed, ResourceError> {
        if self.aws.tolerates(Gap::NoDnsFirewall) {
            return Ok(Observed::Missing);
        }
        let Some((group_id, arn)) = self.locate(cx, known).await? else {
            return Ok(Observed::Missing);
        };
        let mut checks = Checks::default();
        let live = self.live_rules(&group_id).await?;
        let mut wanted = self.wanted(cx)?;
        wanted.sort();
        checks.equal(
            RuleGroupProperty::Rules,
            Self::describe(&wanted),
            Self::describe(&live),
        );
        checks.tags(&cx.tags(), &live_tags(&self.aws, &self.id, &arn).await?);
        Ok(checks.observed(present(&group_id, &arn)))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let out = self
            .aws
            .resolver
            .create_firewall_rule_group()
            .creator_request_id(cx.create_token())
            .name(Self::name(cx))
            .set_tags(Some(tags(cx)))
            .send()
            .await
            .or_resource(&self.id, "CreateFirewallRuleGroup")?;
        let group = out.firewall_rule_group().ok_or_else(|| {
            ResourceError::unexpected(&self.id, "CreateFirewallRuleGroup returned no group")
        })?;
        let (group_id, arn) = (
            group.id().unwrap_or_default().to_owned(),
            group.arn().unwrap_or_default().to_owned(),
        );
        self.put_rules(cx, &group_id).await?;
        Ok(present(&group_id, &arn))
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        for (p, _) in RuleGroupProperty::drifted(&self.id, drift)? {
            match p {
                // Request ids of the repair's own: a rule re-made under the
                // group's first token would be answered with the one
                // deleted before.
                RuleGroupProperty::Rules => {
                    self.put_rules(&cx.for_another_create(), &present.physical_id)
                        .await?
                }
                RuleGroupProperty::Tags => {
                    let arn = present.attrs.get(Attr::Arn.as_str()).cloned();
                    retag(&self.aws, cx, &self.id, arn.as_deref().unwrap_or_default()).await?
                }
            }
        }
        Ok(present.clone())
    }

    /// Its rules first (they hold the domain lists), then the group.
    async fn delete(&self, _cx: &Context, known: &Present) -> Result<DeleteOutcome, ResourceError> {
        let live = match self.live_rules(&known.physical_id).await {
            Ok(rules) => rules,
            Err(e) if e.class() == ErrorClass::NotFound => return Ok(DeleteOutcome::default()),
            Err(e) => return Err(e),
        };
        for (_, list, _, _) in &live {
            self.delete_rule(&known.physical_id, list).await?;
        }
        not_found_is_none(
            self.aws
                .resolver
                .delete_firewall_rule_group()
                .firewall_rule_group_id(&known.physical_id)
                .send()
                .await
                .or_resource(&self.id, "DeleteFirewallRuleGroup"),
        )?;
        Ok(DeleteOutcome::default())
    }
}

paysec_core::properties! {
    /// What the rule group association's read compares (NET-18..20, INV-1).
    pub enum AssociationProperty {
        Association = "association",
        MutationProtection = "mutation_protection",
        FailOpen = "fail_open",
        Tags = "tags",
    }
}

/// The rule group's association with the VPC, mutation protection on,
/// and the VPC's firewall failing closed.
pub struct Association {
    id: LogicalId,
    aws: paysec_aws::Aws,
    rule_group: LogicalId,
    vpc: LogicalId,
    wait: Duration,
}

impl Association {
    pub fn new(
        id: LogicalId,
        aws: paysec_aws::Aws,
        rule_group: LogicalId,
        vpc: LogicalId,
        wait: Duration,
    ) -> Self {
        Self {
            id,
            aws,
            rule_group,
            vpc,
            wait,
        }
    }

    fn name(cx: &Context) -> String {
        format!("{}-dns-firewall", cx.env.names.prefix())
    }

    fn budget(&self) -> WaitBudget {
        WaitBudget {
            limit: self.wait,
            setting: SETTING,
        }
    }

    async fn get(
        &self,
        association_id: &str,
    ) -> Result<Option<aws_sdk_route53resolver::types::FirewallRuleGroupAssociation>, ResourceError>
    {
        match self
            .aws
            .resolver
            .get_firewall_rule_group_association()
            .firewall_rule_group_association_id(association_id)
            .send()
            .await
            .or_resource(&self.id, "GetFirewallRuleGroupAssociation")
        {
            Ok(out) => Ok(out.firewall_rule_group_association().cloned()),
            Err(e) if e.class() == ErrorClass::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sets the association's mutation protection and waits until the
    /// update is done: UpdateFirewallRuleGroupAssociation is asynchronous
    /// (the association reads UPDATING with its old protection for a while,
    /// and a disassociation meanwhile is refused), so Terraform waits for
    /// COMPLETE after every update; so does paysec, with the protection
    /// read back.
    async fn set_protection(
        &self,
        cx: &Context,
        association_id: &str,
        status: MutationProtectionStatus,
    ) -> Result<(), ResourceError> {
        retrying(&[rules::RESOLVER_ASSOCIATION_BUSY], || async {
            self.aws
                .resolver
                .update_firewall_rule_group_association()
                .firewall_rule_group_association_id(association_id)
                .priority(ASSOCIATION_PRIORITY)
                .mutation_protection(status.clone())
                .send()
                .await
                .or_resource(&self.id, "UpdateFirewallRuleGroupAssociation")
        })
        .await?;
        self.settled(cx, association_id, &status).await
    }

    /// Waits until the association is COMPLETE with `protection`.
    async fn settled(
        &self,
        cx: &Context,
        association_id: &str,
        protection: &MutationProtectionStatus,
    ) -> Result<(), ResourceError> {
        cx.poll_until(
            "the DNS firewall's association update",
            "COMPLETE",
            self.budget(),
            || async {
                Ok(self
                    .get(association_id)
                    .await?
                    .filter(|a| {
                        a.status() == Some(&FirewallRuleGroupAssociationStatus::Complete)
                            && a.mutation_protection() == Some(protection)
                    })
                    .map(|_| ()))
            },
        )
        .await
    }

    async fn fail_closed(&self, cx: &Context) -> Result<(), ResourceError> {
        self.aws
            .resolver
            .update_firewall_config()
            .resource_id(cx.physical_id(&self.vpc)?)
            .firewall_fail_open(FirewallFailOpenStatus::Disabled)
            .send()
            .await
            .or_resource(&self.id, "UpdateFirewallConfig")?;
        Ok(())
    }
}

#[async_trait]
impl Resource for Association {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "dns_rule_group_assoc"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        vec![
            Dependency::Identity(self.rule_group.clone()),
            Dependency::Identity(self.vpc.clone()),
        ]
    }

    fn typical_wait(&self) -> Duration {
        Duration::from_secs(30)
    }

    async fn read(&self, cx: &Context, known: Option<&Present>) -> Result<Observed, ResourceError> {
        if self.aws.tolerates(Gap::NoDnsFirewall) {
            return Ok(Observed::Missing);
        }
        let vpc = cx.physical_id(&self.vpc)?.to_owned();
        let group = cx.physical_id(&self.rule_group)?.to_owned();
        let found = match known {
            Some(p) => self.get(&p.physical_id).await?,
            None if self.aws.tolerates(Gap::ResolverAssociationsUnlisted) => None,
            None => {
                let out = self
                    .aws
                    .resolver
                    .list_firewall_rule_group_associations()
                    .vpc_id(&vpc)
                    .firewall_rule_group_id(&group)
                    .send()
                    .await
                    .or_resource(&self.id, "ListFirewallRuleGroupAssociations")?;
                let named: Vec<(String, String)> = out
                    .firewall_rule_group_associations()
                    .iter()
                    .filter(|a| a.name() == Some(Self::name(cx).as_str()))
                    .map(|a| {
                        (
                            a.id().unwrap_or_default().to_owned(),
                            a.arn().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect();
                match find_ours(&self.aws, cx, &self.id, named).await? {
                    Some((aid, _)) => self.get(&aid).await?,
                    None => None,
                }
            }
        };
        let Some(a) =
            found.filter(|a| a.status() != Some(&FirewallRuleGroupAssociationStatus::Deleting))
        else {
            return Ok(Observed::Missing);
        };
        let (aid, arn) = (
            a.id().unwrap_or_default().to_owned(),
            a.arn().unwrap_or_default().to_owned(),
        );
        let mut checks = Checks::default();
        checks.equal(
            AssociationProperty::Association,
            format!("{group} on {vpc} at priority {ASSOCIATION_PRIORITY}"),
            format!(
                "{} on {} at priority {}",
                a.firewall_rule_group_id().unwrap_or("?"),
                a.vpc_id().unwrap_or("?"),
                a.priority().unwrap_or_default()
            ),
        );
        checks.equal(
            AssociationProperty::MutationProtection,
            MutationProtectionStatus::Enabled.as_str(),
            a.mutation_protection().map_or("?", |m| m.as_str()),
        );
        let config = self
            .aws
            .resolver
            .get_firewall_config()
            .resource_id(&vpc)
            .send()
            .await
            .or_resource(&self.id, "GetFirewallConfig")?;
        checks.equal(
            AssociationProperty::FailOpen,
            FirewallFailOpenStatus::Disabled.as_str(),
            config
                .firewall_config()
                .and_then(|c| c.firewall_fail_open())
                .map_or("?", |f| f.as_str()),
        );
        checks.tags(&cx.tags(), &live_tags(&self.aws, &self.id, &arn).await?);
        Ok(checks.observed(present(&aid, &arn)))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let out = self
            .aws
            .resolver
            .associate_firewall_rule_group()
            .creator_request_id(cx.create_token())
            .firewall_rule_group_id(cx.physical_id(&self.rule_group)?)
            .vpc_id(cx.physical_id(&self.vpc)?)
            .priority(ASSOCIATION_PRIORITY)
            .name(Self::name(cx))
            .mutation_protection(MutationProtectionStatus::Enabled)
            .set_tags(Some(tags(cx)))
            .send()
            .await
            .or_resource(&self.id, "AssociateFirewallRuleGroup")?;
        let a = out.firewall_rule_group_association().ok_or_else(|| {
            ResourceError::unexpected(&self.id, "AssociateFirewallRuleGroup returned nothing")
        })?;
        self.fail_closed(cx).await?;
        Ok(present(
            a.id().unwrap_or_default(),
            a.arn().unwrap_or_default(),
        ))
    }

    /// Associating is asynchronous (UPDATING, then COMPLETE, its
    /// protection then read back on).
    async fn wait_ready(&self, cx: &Context, present: Present) -> Result<Present, ResourceError> {
        self.settled(cx, &present.physical_id, &MutationProtectionStatus::Enabled)
            .await?;
        Ok(present)
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        for (p, _) in AssociationProperty::drifted(&self.id, drift)? {
            match p {
                // Another group or VPC cannot be changed in place.
                AssociationProperty::Association => {
                    self.delete(cx, present).await?;
                    // A create of its own: the first create's request id
                    // would answer with the association just removed.
                    let created = self.create(&cx.for_another_create()).await?;
                    self.settled(cx, &created.physical_id, &MutationProtectionStatus::Enabled)
                        .await?;
                    return Ok(created);
                }
                AssociationProperty::MutationProtection => {
                    self.set_protection(cx, &present.physical_id, MutationProtectionStatus::Enabled)
                        .await?
                }
                AssociationProperty::FailOpen => self.fail_closed(cx).await?,
                AssociationProperty::Tags => {
                    let arn = present.attrs.get(Attr::Arn.as_str()).cloned();
                    retag(&self.aws, cx, &self.id, arn.as_deref().unwrap_or_default()).await?
                }
            }
        }
        Ok(present.clone())
    }

    /// Mutation protection off (it forbids removal), then disassociate and
    /// wait until it is gone: the rule group cannot go while associated.
    async fn delete(&self, cx: &Context, known: &Present) -> Result<DeleteOutcome, ResourceError> {
        let Some(a) = self.get(&known.physical_id).await? else {
            return Ok(DeleteOutcome::default());
        };
        if a.mutation_protection() == Some(&MutationProtectionStatus::Enabled) {
            self.set_protection(cx, &known.physical_id, MutationProtectionStatus::Disabled)
                .await?;
        } else if a.status() != Some(&FirewallRuleGroupAssociationStatus::Complete) {
            self.settled(cx, &known.physical_id, &MutationProtectionStatus::Disabled)
                .await?;
        }
        // Still protected or updating after all (another writer): AWS's
        // ValidationException [RSLVR-02307] or ConflictException, retried.
        match retrying(
            &[
                rules::RESOLVER_ASSOCIATION_BUSY,
                rules::RESOLVER_ASSOCIATION_PROTECTED,
            ],
            || async {
                self.aws
                    .resolver
                    .disassociate_firewall_rule_group()
                    .firewall_rule_group_association_id(&known.physical_id)
                    .send()
                    .await
                    .or_resource(&self.id, "DisassociateFirewallRuleGroup")
            },
        )
        .await
        {
            Ok(_) => {}
            Err(e) if e.class() == ErrorClass::NotFound => return Ok(DeleteOutcome::default()),
            Err(e) => return Err(e),
        }
        cx.poll_until(
            "the DNS firewall's association to go",
            "gone",
            self.budget(),
            || async { Ok(self.get(&known.physical_id).await?.is_none().then_some(())) },
        )
        .await?;
        Ok(DeleteOutcome::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allowed_list_adds_the_code_s_services_and_partner_names() {
        let d = Domains::Allowed {
            services: vec!["secretsmanager".into(), "kms".into()],
            names: vec!["api.processor.example".into()],
        }
        .wanted("eu-west-3");
        for name in [
            "secretsmanager.eu-west-3.amazonaws.com",
            "kms.eu-west-3.amazonaws.com",
            "api.processor.example",
            "*.execute-api.eu-west-3.amazonaws.com",
            "xray.eu-west-3.amazonaws.com",
        ] {
            assert!(d.contains(&name.to_owned()), "{name} in {d:?}");
        }
        let plain = Domains::Allowed {
            services: vec![],
            names: vec![],
        }
        .wanted("eu-west-3");
        assert_eq!(plain, allowed_domains("eu-west-3"));
    }

    #[test]
    fn the_allowed_names_are_the_stacks_services_in_its_region_only() {
        let d = allowed_domains("eu-west-3");
        assert!(d.contains(&"xray.eu-west-3.amazonaws.com".to_owned()));
        assert!(d.contains(&"*.eu-west-3.rds.amazonaws.com".to_owned()));
        assert!(!d
            .iter()
            .any(|n| n == "*" || n == "*.amazonaws.com" || n == "*.com"));
        let mut sorted = d.clone();
        sorted.sort();
        assert_eq!(d, sorted, "compared as a sorted list");
        // AWS's syntax: an optional leading `*.`, then letters, digits,
        // hyphens and dots, 1-255 characters.
        for n in &d {
            let rest = n.strip_prefix("*.").unwrap_or(n);
            assert!(n.len() <= 255 && !rest.is_empty(), "{n}");
            assert!(
                rest.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'),
                "{n}"
            );
        }
    }
}

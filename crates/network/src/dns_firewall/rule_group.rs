//! The DNS Firewall's rule group: allow the stack's names, block the rest
//! with NODATA, each rule at its priority.

use super::*;

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
        // Every page: the SDK's paginator follows NextToken.
        let mut pages = self
            .aws
            .resolver
            .list_firewall_rule_groups()
            .into_paginator()
            .send();
        let mut named = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.or_resource(&self.id, "ListFirewallRuleGroups")?;
            named.extend(super::named(
                page.firewall_rule_groups()
                    .iter()
                    .map(|g| (g.name(), g.id(), g.arn())),
                &name,
            ));
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

//! A domain list of the DNS Firewall: the names the stack needs (allowed)
//! or every name (blocked), its domains compared with trailing dots as
//! Route 53 Resolver keeps them.

use super::*;

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
        // Every page: the SDK's paginator follows NextToken.
        let mut pages = self
            .aws
            .resolver
            .list_firewall_domain_lists()
            .into_paginator()
            .send();
        let mut named = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.or_resource(&self.id, "ListFirewallDomainLists")?;
            named.extend(super::named(
                page.firewall_domain_lists()
                    .iter()
                    .map(|l| (l.name(), l.id(), l.arn())),
                &name,
            ));
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

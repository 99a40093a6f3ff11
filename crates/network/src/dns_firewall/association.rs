//! The rule group's association with the VPC: mutation protection on,
//! its asynchronous updates waited out, and the VPC's firewall failing
//! closed (AWS's default, read back).

use super::*;

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

//! CloudWatch log groups (PCI DSS 10.2, 10.5.1): encrypted with the Logs
//! key, with retention of at least 90 days (365 by default), created by
//! paysec before the service that writes to them would create an
//! unencrypted one without expiry.

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::LogGroup as LiveGroup;
use paysec_aws::AwsResultExt;
use paysec_core::resource::{
    adopt_after_conflict, Checks, Context, DeleteOutcome, Dependency, Drift, Observed, Present,
    QuickCheck, Resource,
};
use paysec_core::retry::{retrying, rules};
use paysec_core::Attr;
use paysec_core::{ErrorClass, LogicalId, ResourceError};

pub struct LogGroup {
    id: LogicalId,
    aws: paysec_aws::Aws,
    name: String,
    kms_key: LogicalId,
    retention_days: i32,
    /// An account-wide group other stacks write to as well (RDS enhanced
    /// monitoring's `RDSOSMetrics`): see [`LogGroup::account_shared`].
    shared: bool,
}

impl LogGroup {
    /// The group's tags (ListTagsForResource on its ARN), as pairs.
    async fn live_tags(&self, cx: &Context) -> Result<Vec<(String, String)>, ResourceError> {
        let out = self
            .aws
            .logs
            .list_tags_for_resource()
            .resource_arn(cx.env.log_group_arn(&self.name))
            .send()
            .await
            .or_resource(&self.id, "ListTagsForResource")?;
        Ok(out
            .tags()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    /// A group the account shares (RDS writes every instance's enhanced
    /// monitoring into `RDSOSMetrics`, creating it unencrypted with 30
    /// days' retention unless it exists). paysec creates it encrypted with
    /// the configured retention, or brings an existing one up to that: any
    /// KMS key will do (another stack's included), retention no shorter
    /// than configured. `down` never deletes it (others' metrics are in
    /// it): it is kept, and when this stack's key encrypts it, that key is
    /// kept too, so what it holds stays readable.
    pub fn account_shared(mut self) -> Self {
        self.shared = true;
        self
    }
    pub fn new(
        id: LogicalId,
        aws: paysec_aws::Aws,
        name: String,
        kms_key: LogicalId,
        retention_days: i32,
    ) -> Self {
        Self {
            id,
            aws,
            name,
            kms_key,
            retention_days,
            shared: false,
        }
    }

    fn present(&self, cx: &Context) -> Present {
        Present::new(&self.name)
            .with(Attr::Name, &self.name)
            .with(Attr::Arn, cx.env.log_group_arn(&self.name))
    }

    async fn set_retention(&self) -> Result<(), ResourceError> {
        self.aws
            .logs
            .put_retention_policy()
            .log_group_name(&self.name)
            .retention_in_days(self.retention_days)
            .send()
            .await
            .or_resource(&self.id, "PutRetentionPolicy")?;
        Ok(())
    }

    /// `down` of a shared group: kept, with this environment's tags taken
    /// off. It stays encrypted as it is: its events are encrypted with the
    /// key that was associated when they were ingested (taking the key off
    /// only stops new ones being encrypted), so when that is this stack's
    /// key, the outcome says so and `down` keeps the key as well.
    async fn keep_shared(&self, cx: &Context) -> Result<DeleteOutcome, ResourceError> {
        let ours = cx.attr(&self.kms_key, Attr::Arn).ok();
        let Some(group) = self.describe().await? else {
            return Ok(DeleteOutcome::default());
        };
        // Handed back to the account: no longer this environment's (its
        // tags come off only if they are this environment's).
        let arn = cx.env.log_group_arn(&self.name);
        let wanted = cx.tags();
        let tagged_ours =
            paysec_core::tags::missing(&wanted, &self.live_tags(cx).await?).is_empty();
        if tagged_ours {
            self.aws
                .logs
                .untag_resource()
                .resource_arn(&arn)
                .set_tag_keys(Some(wanted.into_iter().map(|(k, _)| k).collect()))
                .send()
                .await
                .or_resource(&self.id, "UntagResource")?;
        }
        let encrypted_with = group
            .kms_key_id()
            .filter(|live| Some(*live) == ours)
            .map(str::to_owned);
        let key_note = if encrypted_with.is_some() {
            " It stays encrypted with this environment's Logs key, which is kept with it."
        } else {
            ""
        };
        Ok(DeleteOutcome {
            kept: Some(format!(
                "log group {} kept: RDS enhanced monitoring of every database in the account writes to it (delete it by hand once none does).{key_note}",
                self.name
            )),
            encrypted_with,
        })
    }

    /// The group by its exact name (DescribeLogGroups matches a prefix).
    async fn describe(&self) -> Result<Option<LiveGroup>, ResourceError> {
        let out = self
            .aws
            .logs
            .describe_log_groups()
            .log_group_name_prefix(&self.name)
            .send()
            .await
            .or_resource(&self.id, "DescribeLogGroups")?;
        Ok(out
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(self.name.as_str()))
            .cloned())
    }
}

#[async_trait]
impl Resource for LogGroup {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "log_group"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Identity(self.kms_key.clone())]
    }

    /// DescribeLogGroups: it exists with its key and retention, which the
    /// same answer carries (tags are read only by a full read).
    async fn quick_check(
        &self,
        cx: &Context,
        _known: &Present,
    ) -> Result<QuickCheck, ResourceError> {
        let key = cx.attr(&self.kms_key, Attr::Arn)?;
        Ok(self
            .describe()
            .await?
            .is_some_and(|g| {
                g.kms_key_id() == Some(key) && g.retention_in_days() == Some(self.retention_days)
            })
            .into())
    }

    async fn read(
        &self,
        cx: &Context,
        _known: Option<&Present>,
    ) -> Result<Observed, ResourceError> {
        let Some(group) = self.describe().await? else {
            return Ok(Observed::Missing);
        };
        let mut checks = Checks::default();
        let key = cx.attr(&self.kms_key, Attr::Arn)?;
        let live_key = group.kms_key_id().unwrap_or("none");
        if self.shared {
            checks.check(
                "kms_key",
                group.kms_key_id().is_some(),
                format!("a KMS key (this stack's: {key})"),
                live_key,
            );
        } else {
            checks.equal("kms_key", key, live_key);
        }
        let retention = group.retention_in_days().unwrap_or(0);
        // Shared: no shorter than configured (0: never expires).
        let retained = retention == self.retention_days
            || (self.shared && (retention == 0 || retention >= self.retention_days));
        checks.check(
            "retention_days",
            retained,
            self.retention_days.to_string(),
            if retention == 0 {
                "never expire".to_owned()
            } else {
                retention.to_string()
            },
        );
        let actual = self.live_tags(cx).await?;
        // A shared group carries whichever stack's tags made it.
        if !self.shared {
            checks.tags(&cx.tags(), &actual);
        }
        Ok(checks.observed(self.present(cx)))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let key = cx.attr(&self.kms_key, Attr::Arn)?;
        let created = retrying(&[rules::LOGS_KMS_KEY_NOT_YET_USABLE], || async {
            self.aws
                .logs
                .create_log_group()
                .log_group_name(&self.name)
                .kms_key_id(key)
                .set_tags(Some(cx.tags().into_iter().collect()))
                .send()
                .await
                .or_resource(&self.id, "CreateLogGroup")
        })
        .await;
        match created {
            Ok(_) => {}
            Err(e) if e.class() == ErrorClass::AlreadyExists => {
                return adopt_after_conflict(self, cx, e).await;
            }
            Err(e) => return Err(e),
        }
        self.set_retention().await?;
        Ok(self.present(cx))
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Drift],
    ) -> Result<Present, ResourceError> {
        for d in drift {
            match d.property.as_str() {
                "kms_key" => {
                    let key = cx.attr(&self.kms_key, Attr::Arn)?;
                    retrying(&[rules::LOGS_KMS_KEY_NOT_YET_USABLE], || async {
                        self.aws
                            .logs
                            .associate_kms_key()
                            .log_group_name(&self.name)
                            .kms_key_id(key)
                            .send()
                            .await
                            .or_resource(&self.id, "AssociateKmsKey")
                    })
                    .await?;
                }
                "retention_days" => self.set_retention().await?,
                "tags" => {
                    self.aws
                        .logs
                        .tag_resource()
                        .resource_arn(cx.env.log_group_arn(&self.name))
                        .set_tags(Some(cx.tags().into_iter().collect()))
                        .send()
                        .await
                        .or_resource(&self.id, "TagResource")?;
                }
                other => {
                    return Err(ResourceError::unexpected(
                        &self.id,
                        format!("cannot repair `{other}`"),
                    ))
                }
            }
        }
        Ok(present.clone())
    }

    fn adoption_needs_proof(&self) -> bool {
        !self.shared
    }

    /// A shared group is never deleted (`delete` keeps it and removes this
    /// environment's tags), so nothing needs proving.
    async fn ownership(
        &self,
        cx: &Context,
        known: &Present,
    ) -> Result<paysec_core::Ownership, ResourceError> {
        if self.shared {
            return Ok(paysec_core::Ownership::Proven);
        }
        // Its tags alone: a group `down` kept and a later `down
        // --purge-audit-logs` deletes has no key recorded to read it with.
        let tags = match self.live_tags(cx).await {
            Ok(tags) => tags,
            Err(e) if e.class() == ErrorClass::NotFound => return Ok(paysec_core::Ownership::Gone),
            Err(e) => return Err(e),
        };
        Ok(paysec_core::Ownership::from_tags(
            cx,
            &known.physical_id,
            &tags,
        ))
    }

    async fn delete(&self, cx: &Context, _known: &Present) -> Result<DeleteOutcome, ResourceError> {
        if self.shared {
            return self.keep_shared(cx).await;
        }
        // The audit trail outlives the stack: kept, for its retention (PCI
        // DSS 10.5.1), with the key it is encrypted with.
        if !cx.purges_audit_logs() {
            return Ok(DeleteOutcome {
                kept: Some(format!(
                    "log group {} kept with its events ({} days' retention, PCI DSS 10.5.1); a re-`up` of this environment adopts it; `paysec down --purge-audit-logs` deletes it",
                    self.name, self.retention_days
                )),
                encrypted_with: cx.attr(&self.kms_key, Attr::Arn).ok().map(str::to_owned),
            });
        }
        let result = retrying(&[rules::LOGS_OPERATION_ABORTED], || async {
            self.aws
                .logs
                .delete_log_group()
                .log_group_name(&self.name)
                .send()
                .await
                .or_resource(&self.id, "DeleteLogGroup")
        })
        .await;
        match result {
            Ok(_) => Ok(DeleteOutcome::default()),
            Err(e) if e.class() == ErrorClass::NotFound => Ok(DeleteOutcome::default()),
            Err(e) => Err(e),
        }
    }
}

//! One customer-managed symmetric key with its alias, rotation, tags and
//! policy. CreateKey has no idempotency token, so a key whose create was not
//! recorded is found again by its alias, then by its tags, never recreated.

use async_trait::async_trait;
use aws_sdk_kms::operation::schedule_key_deletion::ScheduleKeyDeletionError;
use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType, Tag};
use paysec_aws::{tagged_arns, Aws, AwsResultExt, ServiceErrorExt};
use paysec_core::resource::{
    Checks, Comparison, Context, DeleteOutcome, Dependency, Observed, Present, QuickCheck, Resource,
};
use paysec_core::retry::{retrying, rules};
use paysec_core::Attr;
use paysec_core::{ErrorClass, LogicalId, Property, ResourceError};
use serde_json::Value;

use crate::policy::{self, KeyUser};

paysec_core::properties! {
    /// What a key's read compares (KMS-1..5, INV-1).
    pub enum KeyProperty {
        KeyState = "key_state",
        Rotation = "rotation",
        Policy = "policy",
        Alias = "alias",
        Grants = "grants",
        Tags = "tags",
    }
}

/// A customer-managed key for one purpose (`rds`, `s3`, `logs`, `lambda`).
pub struct KmsKey {
    id: LogicalId,
    aws: Aws,
    purpose: &'static str,
    description: String,
    admins: Vec<String>,
    users: Vec<KeyUser>,
    deletion_window_days: i32,
}

impl KmsKey {
    pub fn new(
        id: LogicalId,
        aws: Aws,
        purpose: &'static str,
        description: impl Into<String>,
        admins: Vec<String>,
        users: Vec<KeyUser>,
        deletion_window_days: i32,
    ) -> Self {
        Self {
            id,
            aws,
            purpose,
            description: description.into(),
            admins,
            users,
            deletion_window_days,
        }
    }

    fn alias(&self, cx: &Context) -> String {
        cx.env.names.kms_alias(self.purpose)
    }

    fn desired_policy(&self, cx: &Context) -> Result<Value, ResourceError> {
        let mut users = Vec::with_capacity(self.users.len());
        for u in &self.users {
            let arn = match u {
                KeyUser::Role(role) => Some(cx.attr(role, Attr::Arn)?.to_owned()),
                _ => None,
            };
            users.push((u.clone(), arn));
        }
        Ok(policy::document(&cx.env, &self.admins, &users))
    }

    fn present(&self, cx: &Context, key_id: &str, arn: &str) -> Present {
        Present::new(key_id)
            .with(Attr::Arn, arn)
            .with(Attr::KeyId, key_id)
            .with(Attr::Alias, self.alias(cx))
            .with(Attr::KeyAdministrators, self.admins.join(","))
    }

    /// DescribeKey; `None` when the key does not exist.
    async fn describe(
        &self,
        key: &str,
    ) -> Result<Option<aws_sdk_kms::types::KeyMetadata>, ResourceError> {
        match self
            .aws
            .kms
            .describe_key()
            .key_id(key)
            .send()
            .await
            .or_resource(&self.id, "DescribeKey")
        {
            Ok(out) => Ok(out.key_metadata().cloned()),
            Err(e) if e.class() == ErrorClass::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The usable keys carrying this key's tags. A key pending deletion
    /// belongs to a destroyed incarnation of this environment: left out.
    async fn tagged_keys(
        &self,
        cx: &Context,
    ) -> Result<Vec<aws_sdk_kms::types::KeyMetadata>, ResourceError> {
        let arns = tagged_arns(
            &self.aws.tagging,
            cx.env.name.as_str(),
            Some(&self.id),
            Some("kms:key"),
            &self.id,
        )
        .await?;
        let mut found = Vec::new();
        for arn in arns {
            if let Some(meta) = self.describe(&arn).await? {
                if usable(&meta) {
                    found.push(meta);
                }
            }
        }
        Ok(found)
    }

    /// A key of ours the ledger lost: by alias first (one call), then by
    /// tag. When the ledger recorded the create's token (a create in
    /// flight), only a key carrying that token is ours: anyone who can tag
    /// a key can copy the other tags, or point the alias elsewhere. The
    /// key found must also be one paysec would have made (`adoptable`).
    async fn find(
        &self,
        cx: &Context,
    ) -> Result<Option<aws_sdk_kms::types::KeyMetadata>, ResourceError> {
        let mut candidates = Vec::new();
        // The key an earlier `down` kept (enabled, for the audit logs
        // encrypted with it), which the ledger names: taken back, so what
        // it encrypts stays with one key.
        if let Some(kept) = cx.kept_physical_id() {
            if let Some(meta) = self.describe(kept).await? {
                if usable(&meta) {
                    self.adoptable(cx, &meta).await?;
                    return Ok(Some(meta));
                }
            }
        }
        if let Some(meta) = self.describe(&self.alias(cx)).await? {
            if usable(&meta) {
                candidates.push(meta);
            }
        }
        if candidates.is_empty() {
            candidates = self.tagged_keys(cx).await?;
            candidates.sort_by_key(|m| m.creation_date().map(|d| d.secs()));
        }
        if let Some(token) = cx.recorded_create_token() {
            let mut ours = Vec::new();
            for meta in candidates {
                if self.token_of(meta.key_id()).await?.as_deref() == Some(token) {
                    ours.push(meta);
                }
            }
            candidates = ours;
        }
        if candidates.len() > 1 {
            tracing::warn!(resource = %self.id, count = candidates.len(), "several keys carry this key's tags; adopting the oldest");
        }
        match candidates.into_iter().next() {
            Some(meta) => {
                self.adoptable(cx, &meta).await?;
                Ok(Some(meta))
            }
            None => Ok(None),
        }
    }

    /// A key's tags (ListResourceTags), as (key, value) pairs.
    async fn live_tags(&self, key_id: &str) -> Result<Vec<(String, String)>, ResourceError> {
        let out = self
            .aws
            .kms
            .list_resource_tags()
            .key_id(key_id)
            .send()
            .await
            .or_resource(&self.id, "ListResourceTags")?;
        Ok(out
            .tags()
            .iter()
            .map(|t| (t.tag_key().to_owned(), t.tag_value().to_owned()))
            .collect())
    }

    /// The create token a key carries (`paysec:create-token`).
    async fn token_of(&self, key_id: &str) -> Result<Option<String>, ResourceError> {
        Ok(self
            .live_tags(key_id)
            .await?
            .into_iter()
            .find(|(k, _)| k == paysec_core::tags::CREATE_TOKEN)
            .map(|(_, v)| v))
    }

    /// Refuses to adopt a key paysec would not have made: key material
    /// from elsewhere (origin other than AWS_KMS), a multi-Region key, or
    /// grants to principals of another account (whoever holds them could
    /// use the key).
    async fn adoptable(
        &self,
        cx: &Context,
        meta: &aws_sdk_kms::types::KeyMetadata,
    ) -> Result<(), ResourceError> {
        let refuse = |why: String| {
            Err(ResourceError::unexpected(
                &self.id,
                format!(
                    "found key {} tagged or aliased as this environment's {}, but {why}: paysec did not make it and will not adopt it; remove its paysec:* tags and alias",
                    meta.key_id(),
                    self.id
                ),
            ))
        };
        if meta.origin() != Some(&aws_sdk_kms::types::OriginType::AwsKms) {
            return refuse(format!(
                "its key material comes from {}",
                meta.origin().map_or("an unknown origin", |o| o.as_str())
            ));
        }
        if meta.multi_region() == Some(true) {
            return refuse("it is a multi-Region key".into());
        }
        let grants = self
            .aws
            .kms
            .list_grants()
            .key_id(meta.key_id())
            .send()
            .await
            .or_resource(&self.id, "ListGrants")?;
        let account = format!(":{}:", cx.env.account);
        let foreign: Vec<&str> = grants
            .grants()
            .iter()
            .filter_map(|g| g.grantee_principal())
            .filter(|p| p.starts_with("arn:") && !p.contains(&account))
            .collect();
        if !foreign.is_empty() {
            return refuse(format!(
                "it has grants to another account's principals ({})",
                foreign.join(", ")
            ));
        }
        Ok(())
    }

    async fn checks(
        &self,
        cx: &Context,
        meta: &aws_sdk_kms::types::KeyMetadata,
    ) -> Result<Checks, ResourceError> {
        let key_id = meta.key_id();
        let mut checks = Checks::default();
        let state = meta
            .key_state()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        checks.equal(KeyProperty::KeyState, "Enabled", state);
        let rotation = self
            .aws
            .kms
            .get_key_rotation_status()
            .key_id(key_id)
            .send()
            .await
            .or_resource(&self.id, "GetKeyRotationStatus")?;
        // The cryptoperiod as KMS reports it (3.7.4): the rotation period
        // and the next rotation date, where the answer carries them.
        let enabled = rotation.key_rotation_enabled();
        let mut live = if enabled { "enabled" } else { "disabled" }.to_owned();
        if enabled {
            if let Some(days) = rotation.rotation_period_in_days() {
                live.push_str(&format!(", every {days} days"));
            }
            if let Some(next) = rotation.next_rotation_date() {
                live.push_str(&format!(", next {next}"));
            }
        }
        checks.check(KeyProperty::Rotation, enabled, "enabled", live);
        let got = self
            .aws
            .kms
            .get_key_policy()
            .key_id(key_id)
            .policy_name("default")
            .send()
            .await
            .or_resource(&self.id, "GetKeyPolicy")?;
        let actual: Value = got
            .policy()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or(Value::Null);
        let desired = self.desired_policy(cx)?;
        checks.policy(KeyProperty::Policy, &desired, &actual);
        let alias = self.alias(cx);
        let aliases = self
            .aws
            .kms
            .list_aliases()
            .key_id(key_id)
            .send()
            .await
            .or_resource(&self.id, "ListAliases")?;
        let found = aliases
            .aliases()
            .iter()
            .any(|a| a.alias_name() == Some(alias.as_str()));
        checks.check(
            KeyProperty::Alias,
            found,
            alias.clone(),
            if found { alias.as_str() } else { "absent" },
        );
        let grants = self.grants(key_id).await?;
        let unexpected: Vec<&(String, String)> = grants
            .iter()
            .filter(|(_, grantee)| !Self::expected_grantee(cx, grantee))
            .collect();
        let live = if grants.is_empty() {
            "no grants".to_owned()
        } else {
            let grantees: Vec<&str> = grants.iter().map(|(_, g)| g.as_str()).collect();
            format!("grants to {}", grantees.join(", "))
        };
        checks.check(
            KeyProperty::Grants,
            unexpected.is_empty(),
            "grants only to AWS services and this environment's roles",
            live,
        );
        let actual = self.live_tags(key_id).await?;
        checks.tags(&self.wanted_tags(cx), &actual);
        Ok(checks)
    }

    /// The key's grants, as (grant id, grantee principal), every page.
    async fn grants(&self, key_id: &str) -> Result<Vec<(String, String)>, ResourceError> {
        let mut all = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .aws
                .kms
                .list_grants()
                .key_id(key_id)
                .set_marker(marker.take())
                .send()
                .await
                .or_resource(&self.id, "ListGrants")?;
            all.extend(out.grants().iter().map(|g| {
                (
                    g.grant_id().unwrap_or_default().to_owned(),
                    g.grantee_principal().unwrap_or_default().to_owned(),
                )
            }));
            match (out.truncated(), out.next_marker()) {
                (true, Some(m)) => marker = Some(m.to_owned()),
                _ => return Ok(all),
            }
        }
    }

    /// Who may hold a grant on the key (PCI DSS 3.6.1, fewest custodians):
    /// an AWS service principal (RDS grants itself `rds.<region>.amazonaws.com`
    /// for the resources it runs), a service-linked role of this account,
    /// or a role of this environment. Anything else, another account's
    /// principal above all, is not.
    fn expected_grantee(cx: &Context, grantee: &str) -> bool {
        if !grantee.starts_with("arn:") {
            return grantee.ends_with(".amazonaws.com");
        }
        let own = format!("arn:{}:iam::{}:role/", cx.env.partition, cx.env.account);
        grantee.strip_prefix(&own).is_some_and(|role| {
            role.starts_with("aws-service-role/")
                || role.starts_with(&format!("{}-", cx.env.names.prefix()))
        })
    }

    /// The key's tags: the environment's, and its administrators (where a
    /// tag can hold them), which `verify` reads as KMS-3's expectation.
    fn wanted_tags(&self, cx: &Context) -> Vec<(String, String)> {
        let mut tags = cx.tags();
        if let Some(admins) = paysec_core::tags::key_admins_value(&self.admins) {
            tags.push((paysec_core::tags::KEY_ADMINS.to_owned(), admins));
        }
        tags
    }

    fn kms_tags(&self, cx: &Context) -> Vec<Tag> {
        self.wanted_tags(cx)
            .into_iter()
            .filter_map(|(k, v)| Tag::builder().tag_key(k).tag_value(v).build().ok())
            .collect()
    }

    /// Points our alias at the key, creating it or moving a stale one.
    async fn ensure_alias(&self, cx: &Context, key_id: &str) -> Result<(), ResourceError> {
        let alias = self.alias(cx);
        let young = [rules::KMS_KEY_NOT_YET_VISIBLE];
        let created = retrying(&young, || async {
            self.aws
                .kms
                .create_alias()
                .alias_name(&alias)
                .target_key_id(key_id)
                .send()
                .await
                .or_resource(&self.id, "CreateAlias")
        })
        .await;
        match created {
            Ok(_) => Ok(()),
            Err(e) if e.class() == ErrorClass::AlreadyExists => {
                retrying(&young, || async {
                    self.aws
                        .kms
                        .update_alias()
                        .alias_name(&alias)
                        .target_key_id(key_id)
                        .send()
                        .await
                        .or_resource(&self.id, "UpdateAlias")
                })
                .await?;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn enable_rotation(&self, key_id: &str) -> Result<(), ResourceError> {
        retrying(&[rules::KMS_KEY_NOT_YET_VISIBLE], || async {
            self.aws
                .kms
                .enable_key_rotation()
                .key_id(key_id)
                .send()
                .await
                .or_resource(&self.id, "EnableKeyRotation")
        })
        .await?;
        Ok(())
    }
}

fn usable(meta: &aws_sdk_kms::types::KeyMetadata) -> bool {
    matches!(
        meta.key_state(),
        Some(KeyState::Enabled | KeyState::Disabled)
    )
}

impl KmsKey {
    /// `down` of a key that data kept after `down` is encrypted with (a
    /// final snapshot, a kept log group): deleting it would make that data
    /// unreadable when the window ends, so it stays enabled, with its
    /// policy. Its logical-id tag gives way to `paysec:kept`, so no later
    /// `up` of this environment adopts it or deletes it as a second copy
    /// (both find keys by environment and logical id); the alias is
    /// already gone, free for the next key.
    async fn keep(&self, cx: &Context, key_id: &str) -> Result<DeleteOutcome, ResourceError> {
        self.aws
            .kms
            .tag_resource()
            .key_id(key_id)
            .set_tags(
                Tag::builder()
                    .tag_key(paysec_core::tags::KEPT)
                    .tag_value(self.id.as_str())
                    .build()
                    .ok()
                    .map(|t| vec![t]),
            )
            .send()
            .await
            .or_resource(&self.id, "TagResource")?;
        self.aws
            .kms
            .untag_resource()
            .key_id(key_id)
            .tag_keys(paysec_core::tags::LOGICAL_ID)
            .send()
            .await
            .or_resource(&self.id, "UntagResource")?;
        // One line per kept thing, then what deletes the key: a reader sees
        // at a glance what it still protects.
        Ok(DeleteOutcome {
            kept: Some(format!(
                "KMS key {key_id} kept (enabled, tagged {}): it encrypts what was kept:\n{}\nIt goes when that does: `paysec down --purge-audit-logs` deletes the kept audit logs and then schedules the deletion of a key that protects nothing else; otherwise, once that data is deleted, `aws kms schedule-key-deletion --key-id {key_id} --pending-window-in-days 30`",
                paysec_core::tags::KEPT,
                cx.kept_data()
                    .iter()
                    .map(|note| format!("- {note}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            )),
            encrypted_with: None,
        })
    }
}

#[async_trait]
impl Resource for KmsKey {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "kms_key"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        self.users
            .iter()
            .filter_map(|u| match u {
                KeyUser::Role(role) => Some(Dependency::Identity(role.clone())),
                _ => None,
            })
            .collect()
    }

    /// Keys carrying this key's tags and this create's token besides
    /// `keep` (CreateKey has no idempotency at all) are scheduled for
    /// deletion; the alias stays on `keep`.
    async fn remove_strays(
        &self,
        cx: &Context,
        keep: &Present,
    ) -> Result<Vec<String>, ResourceError> {
        // Only copies of this create carry its token; without one recorded,
        // nothing proves a tagged key ours, and none is deleted.
        let Some(token) = cx.recorded_create_token() else {
            return Ok(Vec::new());
        };
        let mut removed = Vec::new();
        for meta in self.tagged_keys(cx).await? {
            if meta.key_id() == keep.physical_id
                || self.token_of(meta.key_id()).await?.as_deref() != Some(token)
            {
                continue;
            }
            self.aws
                .kms
                .schedule_key_deletion()
                .key_id(meta.key_id())
                .pending_window_in_days(self.deletion_window_days)
                .send()
                .await
                .or_resource(&self.id, "ScheduleKeyDeletion (second copy)")?;
            removed.push(meta.key_id().to_owned());
        }
        Ok(removed)
    }

    /// Its tags: this environment's and this logical id's, or the mark a
    /// `down` that kept it (and was interrupted before recording so) gave
    /// it in place of the logical id.
    async fn ownership(
        &self,
        cx: &Context,
        known: &Present,
    ) -> Result<paysec_core::Ownership, ResourceError> {
        let tags = match self.live_tags(&known.physical_id).await {
            // The keep mark stands for the logical id.
            Ok(tags) => tags
                .into_iter()
                .map(|(k, v)| match k.as_str() {
                    paysec_core::tags::KEPT => (paysec_core::tags::LOGICAL_ID.to_owned(), v),
                    _ => (k, v),
                })
                .collect::<Vec<_>>(),
            Err(e) if e.class() == paysec_core::ErrorClass::NotFound => {
                return Ok(paysec_core::Ownership::Gone)
            }
            Err(e) => return Err(e),
        };
        Ok(paysec_core::Ownership::from_tags(
            cx,
            &known.physical_id,
            &tags,
        ))
    }

    async fn read(&self, cx: &Context, known: Option<&Present>) -> Result<Observed, ResourceError> {
        let meta = match known {
            Some(p) => self.describe(&p.physical_id).await?,
            None => self.find(cx).await?,
        };
        let Some(meta) = meta else {
            return Ok(Observed::Missing);
        };
        // A key of another account (a ledger edited to name one, a key
        // policy that lets this caller read it) is never this environment's
        // to adopt, manage or delete.
        if let Some(other) = meta.aws_account_id().filter(|a| *a != cx.env.account) {
            return Err(ResourceError::unexpected(
                &self.id,
                format!(
                    "KMS key {} is in account {other}, not this environment's account {}: paysec manages only keys of the environment's own account; remove it from the ledger's record (or let `up` create this environment's key)",
                    meta.arn().unwrap_or(meta.key_id()),
                    cx.env.account
                ),
            ));
        }
        let arn = meta.arn().unwrap_or_default().to_owned();
        let checks = self.checks(cx, &meta).await?;
        Ok(checks.observed(self.present(cx, meta.key_id(), &arn)))
    }

    /// DescribeKey: still enabled (rotation, policy, alias and tags are
    /// read only by a full read).
    async fn quick_check(
        &self,
        _cx: &Context,
        known: &Present,
    ) -> Result<QuickCheck, ResourceError> {
        let meta = self.describe(&known.physical_id).await?;
        Ok(meta
            .is_some_and(|m| m.key_state() == Some(&KeyState::Enabled))
            .into())
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let policy = self.desired_policy(cx)?.to_string();
        let tags = self.kms_tags(cx);
        let out = retrying(&[rules::KMS_POLICY_NEW_PRINCIPAL], || async {
            self.aws
                .kms
                .create_key()
                .description(&self.description)
                .key_usage(KeyUsageType::EncryptDecrypt)
                .key_spec(KeySpec::SymmetricDefault)
                .policy(&policy)
                .set_tags(Some(tags.clone()))
                .send()
                .await
                .or_resource(&self.id, "CreateKey")
        })
        .await?;
        let meta = out.key_metadata().ok_or_else(|| {
            ResourceError::unexpected(&self.id, "CreateKey returned no key metadata")
        })?;
        let key_id = meta.key_id().to_owned();
        let arn = meta.arn().unwrap_or_default().to_owned();
        tracing::info!(resource = %self.id, %key_id, "created KMS key");
        self.enable_rotation(&key_id).await?;
        self.ensure_alias(cx, &key_id).await?;
        Ok(self.present(cx, &key_id, &arn))
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        let key_id = present.physical_id.as_str();
        for (p, d) in KeyProperty::drifted(&self.id, drift)? {
            match p {
                KeyProperty::KeyState => {
                    if d.actual == KeyState::PendingDeletion.as_str() {
                        self.aws
                            .kms
                            .cancel_key_deletion()
                            .key_id(key_id)
                            .send()
                            .await
                            .or_resource(&self.id, "CancelKeyDeletion")?;
                    }
                    self.aws
                        .kms
                        .enable_key()
                        .key_id(key_id)
                        .send()
                        .await
                        .or_resource(&self.id, "EnableKey")?;
                }
                KeyProperty::Rotation => self.enable_rotation(key_id).await?,
                KeyProperty::Policy => {
                    let policy = self.desired_policy(cx)?.to_string();
                    retrying(&[rules::KMS_POLICY_NEW_PRINCIPAL], || async {
                        self.aws
                            .kms
                            .put_key_policy()
                            .key_id(key_id)
                            .policy_name("default")
                            .policy(&policy)
                            .send()
                            .await
                            .or_resource(&self.id, "PutKeyPolicy")
                    })
                    .await?;
                }
                KeyProperty::Alias => self.ensure_alias(cx, key_id).await?,
                // The key is this environment's: a grant nobody expected on
                // it is revoked (the grantee loses the use of the key).
                KeyProperty::Grants => {
                    for (grant_id, grantee) in self.grants(key_id).await? {
                        if !Self::expected_grantee(cx, &grantee) {
                            tracing::warn!(key = key_id, grantee, "revoking an unexpected grant");
                            self.aws
                                .kms
                                .revoke_grant()
                                .key_id(key_id)
                                .grant_id(grant_id)
                                .send()
                                .await
                                .or_resource(&self.id, "RevokeGrant")?;
                        }
                    }
                }
                KeyProperty::Tags => {
                    self.aws
                        .kms
                        .tag_resource()
                        .key_id(key_id)
                        .set_tags(Some(self.kms_tags(cx)))
                        .send()
                        .await
                        .or_resource(&self.id, "TagResource")?;
                    // A key taken back from what `down` kept is no longer
                    // merely kept.
                    if cx.kept_physical_id() == Some(key_id) {
                        self.aws
                            .kms
                            .untag_resource()
                            .key_id(key_id)
                            .tag_keys(paysec_core::tags::KEPT)
                            .send()
                            .await
                            .or_resource(&self.id, "UntagResource")?;
                    }
                }
            }
        }
        Ok(present.clone())
    }

    async fn delete(&self, cx: &Context, known: &Present) -> Result<DeleteOutcome, ResourceError> {
        // The alias first: left behind, it would make the next `up` point a
        // fresh alias at a key pending deletion.
        match self
            .aws
            .kms
            .delete_alias()
            .alias_name(self.alias(cx))
            .send()
            .await
            .or_resource(&self.id, "DeleteAlias")
        {
            Ok(_) => {}
            Err(e) if e.class() == ErrorClass::NotFound => {}
            Err(e) => return Err(e),
        }
        // moto answers HTTP 500 to ScheduleKeyDeletion given an ARN; the key
        // id works everywhere.
        let key_id = known
            .attrs
            .get(Attr::KeyId.as_str())
            .unwrap_or(&known.physical_id)
            .clone();
        if !cx.kept_data().is_empty() {
            return self.keep(cx, &key_id).await;
        }
        let scheduled = self
            .aws
            .kms
            .schedule_key_deletion()
            .key_id(&key_id)
            .pending_window_in_days(self.deletion_window_days)
            .send()
            .await
            .or_resource(&self.id, "ScheduleKeyDeletion");
        let until = match scheduled {
            Ok(out) => out.deletion_date().map(|d| d.to_string()),
            Err(e) if e.class() == ErrorClass::NotFound => return Ok(DeleteOutcome::default()),
            // Already pending deletion: the earlier run got that far.
            Err(e)
                if e.service_error::<ScheduleKeyDeletionError>()
                    .is_some_and(ScheduleKeyDeletionError::is_kms_invalid_state_exception) =>
            {
                self.describe(&key_id)
                    .await?
                    .and_then(|m| m.deletion_date().map(|d| d.to_string()))
            }
            Err(e) => return Err(e),
        };
        Ok(DeleteOutcome {
            kept: Some(format!(
                "KMS key {key_id} is pending deletion until {}; `aws kms cancel-key-deletion --key-id {key_id}` recovers it and the data it protects",
                until.unwrap_or_else(|| format!("{} days from now", self.deletion_window_days))
            )),
            encrypted_with: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_kms::operation::delete_alias::DeleteAliasOutput;
    use aws_sdk_kms::operation::describe_key::DescribeKeyOutput;
    use aws_sdk_kms::types::error::KmsInvalidStateException;
    use aws_sdk_kms::types::KeyMetadata;
    use aws_sdk_kms::Client;
    use paysec_aws::mocked_client;
    use paysec_aws::testing::{mock, offline};
    use paysec_core::testing::context;

    use super::*;

    const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

    async fn key(kms: Client) -> KmsKey {
        let mut aws = offline(paysec_core::testing::REGION).await;
        aws.kms = kms;
        KmsKey::new(
            LogicalId::new("kms.rds"),
            aws,
            "rds",
            "test key",
            Vec::new(),
            Vec::new(),
            7,
        )
    }

    /// A `down` that died after ScheduleKeyDeletion: KMS refuses the
    /// second one (KMSInvalidStateException, matched by its type), and
    /// the key's deletion date is read instead.
    #[tokio::test]
    async fn a_key_of_another_account_is_never_taken_for_the_environment_s() {
        let described = mock!(Client::describe_key).then_output(|| {
            DescribeKeyOutput::builder()
                .key_metadata(
                    KeyMetadata::builder()
                        .key_id(KEY_ID)
                        .aws_account_id("999999999999")
                        .arn(format!("arn:aws:kms:eu-west-1:999999999999:key/{KEY_ID}"))
                        .key_state(KeyState::Enabled)
                        .build()
                        .unwrap(),
                )
                .build()
        });
        let key = key(mocked_client!(aws_sdk_kms, [&described])).await;
        let cx = context("kms.rds", &[]);
        let known = Present::new(KEY_ID).with(Attr::KeyId, KEY_ID);
        let refused = key.read(&cx, Some(&known)).await.unwrap_err().to_string();
        assert!(
            refused.contains(
                "is in account 999999999999, not this environment's account 123456789012"
            ),
            "{refused}"
        );
    }

    #[tokio::test]
    async fn a_key_already_pending_deletion_is_reported_with_its_date() {
        let alias =
            mock!(Client::delete_alias).then_output(|| DeleteAliasOutput::builder().build());
        let scheduled = mock!(Client::schedule_key_deletion)
            .match_requests(|r| r.key_id() == Some(KEY_ID) && r.pending_window_in_days() == Some(7))
            .then_error(|| {
                ScheduleKeyDeletionError::KmsInvalidStateException(
                    KmsInvalidStateException::builder()
                        .message(format!("{KEY_ID} is pending deletion."))
                        .build(),
                )
            });
        let described = mock!(Client::describe_key).then_output(|| {
            DescribeKeyOutput::builder()
                .key_metadata(
                    KeyMetadata::builder()
                        .key_id(KEY_ID)
                        .key_state(KeyState::PendingDeletion)
                        .deletion_date(aws_sdk_kms::primitives::DateTime::from_secs(1_798_761_600))
                        .build()
                        .unwrap(),
                )
                .build()
        });
        let key = key(mocked_client!(
            aws_sdk_kms,
            [&alias, &scheduled, &described]
        ))
        .await;
        let cx = context("kms.rds", &[]);
        let known = Present::new(KEY_ID).with(Attr::KeyId, KEY_ID);
        let outcome = key
            .delete(&cx, &known)
            .await
            .expect("already pending: not an error");
        assert_eq!(
            outcome.kept.as_deref(),
            Some("KMS key 1234abcd-12ab-34cd-56ef-1234567890ab is pending deletion until 2027-01-01T00:00:00Z; `aws kms cancel-key-deletion --key-id 1234abcd-12ab-34cd-56ef-1234567890ab` recovers it and the data it protects")
        );
        assert_eq!((scheduled.num_calls(), described.num_calls()), (1, 1));
    }
}

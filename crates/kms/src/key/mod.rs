//! One customer-managed symmetric key with its alias, rotation, tags and
//! policy. CreateKey has no idempotency token, so a key whose create was not
//! recorded is found again by its alias, then by its tags, never recreated.
//!
//! Here: the key's properties, its policy and the `Resource` calls; finding
//! it in `find`, its tags in `tags`, the read's checks in `checks`, alias
//! and rotation in `settings`, and a key kept for kept data in `keep`.

mod checks;
mod find;
mod keep;
mod settings;
mod tags;

use async_trait::async_trait;
use aws_sdk_kms::operation::schedule_key_deletion::ScheduleKeyDeletionError;
use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType};
use paysec_aws::{Aws, AwsResultExt, ServiceErrorExt};
use paysec_core::resource::{
    Comparison, Context, DeleteOutcome, Dependency, Observed, Present, QuickCheck, Resource,
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

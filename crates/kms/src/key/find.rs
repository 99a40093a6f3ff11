//! Looking a key up: DescribeKey, and a key the ledger lost found again
//! (the one `down` kept, by alias, by tags, by create token), adopted only
//! if paysec could have made it.

use aws_sdk_kms::types::KeyState;
use paysec_aws::{tagged_arns, AwsResultExt};
use paysec_core::resource::Context;
use paysec_core::{ErrorClass, ResourceError};

use super::KmsKey;

impl KmsKey {
    /// DescribeKey; `None` when the key does not exist.
    pub(super) async fn describe(
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
    pub(super) async fn tagged_keys(
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
    pub(super) async fn find(
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
}

fn usable(meta: &aws_sdk_kms::types::KeyMetadata) -> bool {
    matches!(
        meta.key_state(),
        Some(KeyState::Enabled | KeyState::Disabled)
    )
}

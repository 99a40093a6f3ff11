//! The key's tags: the live ones (ListResourceTags) with the create token
//! they carry, and the wanted ones (the environment's, its administrators).

use aws_sdk_kms::types::Tag;
use paysec_aws::AwsResultExt;
use paysec_core::resource::Context;
use paysec_core::ResourceError;

use super::KmsKey;

impl KmsKey {
    /// A key's tags (ListResourceTags), as (key, value) pairs.
    pub(super) async fn live_tags(
        &self,
        key_id: &str,
    ) -> Result<Vec<(String, String)>, ResourceError> {
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
    pub(super) async fn token_of(&self, key_id: &str) -> Result<Option<String>, ResourceError> {
        Ok(self
            .live_tags(key_id)
            .await?
            .into_iter()
            .find(|(k, _)| k == paysec_core::tags::CREATE_TOKEN)
            .map(|(_, v)| v))
    }

    /// The key's tags: the environment's, and its administrators (where a
    /// tag can hold them), which `verify` reads as KMS-3's expectation.
    pub(super) fn wanted_tags(&self, cx: &Context) -> Vec<(String, String)> {
        let mut tags = cx.tags();
        if let Some(admins) = paysec_core::tags::key_admins_value(&self.admins) {
            tags.push((paysec_core::tags::KEY_ADMINS.to_owned(), admins));
        }
        tags
    }

    pub(super) fn kms_tags(&self, cx: &Context) -> Vec<Tag> {
        self.wanted_tags(cx)
            .into_iter()
            .filter_map(|(k, v)| Tag::builder().tag_key(k).tag_value(v).build().ok())
            .collect()
    }
}

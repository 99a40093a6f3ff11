//! `down` of a key that kept data is encrypted with: left enabled,
//! retagged `paysec:kept`, and said.

use aws_sdk_kms::types::Tag;
use paysec_aws::AwsResultExt;
use paysec_core::resource::{Context, DeleteOutcome};
use paysec_core::ResourceError;

use super::KmsKey;

impl KmsKey {
    /// `down` of a key that data kept after `down` is encrypted with (a
    /// final snapshot, a kept log group): deleting it would make that data
    /// unreadable when the window ends, so it stays enabled, with its
    /// policy. Its logical-id tag gives way to `paysec:kept`, so no later
    /// `up` of this environment adopts it or deletes it as a second copy
    /// (both find keys by environment and logical id); the alias is
    /// already gone, free for the next key.
    pub(super) async fn keep(
        &self,
        cx: &Context,
        key_id: &str,
    ) -> Result<DeleteOutcome, ResourceError> {
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

//! Emptying the bucket before its delete: every object version and
//! delete marker removed.

use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use paysec_aws::AwsResultExt;
use paysec_core::ResourceError;

use super::Bucket;

impl Bucket {
    /// Deletes every object version and delete marker, 1000 at a time.
    pub(super) async fn empty(&self, name: &str, owner: &str) -> Result<usize, ResourceError> {
        let mut removed = 0;
        loop {
            let out = self
                .aws
                .s3
                .list_object_versions()
                .bucket(name)
                .expected_bucket_owner(owner)
                .max_keys(1000)
                .send()
                .await
                .or_resource(&self.id, "ListObjectVersions")?;
            let ids: Vec<ObjectIdentifier> = out
                .versions()
                .iter()
                .map(|v| (v.key(), v.version_id()))
                .chain(
                    out.delete_markers()
                        .iter()
                        .map(|m| (m.key(), m.version_id())),
                )
                .filter_map(|(k, v)| {
                    ObjectIdentifier::builder()
                        .key(k?)
                        .set_version_id(v.map(str::to_owned))
                        .build()
                        .ok()
                })
                .collect();
            if ids.is_empty() {
                return Ok(removed);
            }
            removed += ids.len();
            let del = Delete::builder()
                .set_objects(Some(ids))
                .quiet(true)
                .build()
                .map_err(|e| ResourceError::unexpected(&self.id, e.to_string()))?;
            let res = self
                .aws
                .s3
                .delete_objects()
                .bucket(name)
                .expected_bucket_owner(owner)
                .delete(del)
                // `down --purge-audit-logs` removes locked log versions: a
                // governance lock gives way to a caller allowed
                // s3:BypassGovernanceRetention, as the deployer is.
                .set_bypass_governance_retention(self.object_lock_days().is_some().then_some(true))
                .send()
                .await
                .or_resource(&self.id, "DeleteObjects")?;
            if let Some(err) = res.errors().first() {
                return Err(ResourceError::unexpected(
                    &self.id,
                    format!(
                        "DeleteObjects failed for {}: {} {}",
                        err.key().unwrap_or("?"),
                        err.code().unwrap_or(""),
                        err.message().unwrap_or("")
                    ),
                ));
            }
        }
    }
}

//! The `RemoteStore` the ledgers are kept with: the ledger object
//! (`ENV.json`), its lock (`ENV.lock`) and its version history.

use paysec_core::ledger::Holder;
use paysec_core::ledger_store::{RemoteStore, Revision, StoreError, Stored, StoredLock};
use paysec_core::naming::EnvName;

use super::errors::other;
use super::objects::Condition;
use super::S3Ledgers;

impl RemoteStore for S3Ledgers {
    fn base_url(&self) -> String {
        self.url.base()
    }

    fn url(&self, env: &EnvName) -> String {
        format!("s3://{}/{}", self.url.bucket, self.key(env, "json"))
    }

    fn who(&self) -> String {
        self.who.clone()
    }

    fn read(&self, env: &EnvName) -> Result<Option<Stored>, StoreError> {
        self.get(self.key(env, "json"))
    }

    fn write(
        &self,
        env: &EnvName,
        text: &str,
        expected: Option<&str>,
        writer: &str,
    ) -> Result<String, StoreError> {
        let condition = match expected {
            Some(etag) => Condition::At(etag.to_owned()),
            None => Condition::Absent,
        };
        self.put(
            self.key(env, "json"),
            text.to_owned(),
            condition,
            Some(writer.to_owned()),
        )
    }

    fn remove(&self, env: &EnvName, expected: &str) -> Result<(), StoreError> {
        self.delete(self.key(env, "json"), expected.to_owned())
    }

    fn lock(&self, env: &EnvName, holder: &Holder) -> Result<String, StoreError> {
        let text =
            serde_json::to_string_pretty(holder).map_err(|e| StoreError::Other(e.to_string()))?;
        self.put(self.key(env, "lock"), text, Condition::Absent, None)
    }

    fn current_lock(&self, env: &EnvName) -> Result<Option<StoredLock>, StoreError> {
        Ok(self.get(self.key(env, "lock"))?.map(|s| StoredLock {
            holder: serde_json::from_str(&s.text).unwrap_or_default(),
            version: s.version,
        }))
    }

    fn unlock(&self, env: &EnvName, version: &str) -> Result<(), StoreError> {
        self.delete(self.key(env, "lock"), version.to_owned())
    }

    fn history(&self, env: &EnvName) -> Result<Vec<Revision>, StoreError> {
        let client = self.client.clone();
        let bucket = self.url.bucket.clone();
        let owner = self.owner.clone();
        let key = self.key(env, "json");
        self.block(async move {
            let mut revisions = Vec::new();
            // Not paginated by the SDK: its markers, until not truncated.
            let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
            loop {
                let page = client
                    .list_object_versions()
                    .bucket(&bucket)
                    .expected_bucket_owner(&owner)
                    .prefix(&key)
                    .set_key_marker(key_marker.clone())
                    .set_version_id_marker(version_marker.clone())
                    .send()
                    .await
                    .map_err(|e| other(&e, &bucket, &owner))?;
                for v in page
                    .versions()
                    .iter()
                    .filter(|v| v.key() == Some(key.as_str()))
                {
                    let version_id = v.version_id().unwrap_or("null").to_owned();
                    let writer = client
                        .head_object()
                        .bucket(&bucket)
                        .expected_bucket_owner(&owner)
                        .key(&key)
                        .version_id(&version_id)
                        .send()
                        .await
                        .ok()
                        .and_then(|h| h.metadata().and_then(|m| m.get("paysec-writer").cloned()))
                        .unwrap_or_else(|| "-".to_owned());
                    revisions.push(Revision {
                        written_at: v
                            .last_modified()
                            .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
                            .unwrap_or_default(),
                        version_id,
                        writer,
                        size: v.size().unwrap_or_default(),
                        latest: v.is_latest().unwrap_or(false),
                    });
                }
                if page.is_truncated() != Some(true) {
                    break;
                }
                key_marker = page.next_key_marker().map(str::to_owned);
                version_marker = page.next_version_id_marker().map(str::to_owned);
            }
            revisions.sort_by(|a, b| b.written_at.cmp(&a.written_at));
            Ok(revisions)
        })
    }
}

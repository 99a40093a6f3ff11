//! The conditional object calls under the store: put (`If-Match` or
//! `If-None-Match: *`, noting the writer), get and delete, each retrying
//! S3's `409 ConditionalRequestConflict`.

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use paysec_core::ledger_store::{StoreError, Stored};

use super::errors::{other, status};
use super::S3Ledgers;

/// Attempts for a write S3 answers `409 ConditionalRequestConflict`
/// (another conditional write to the key in flight).
const CONFLICT_ATTEMPTS: u32 = 5;

impl S3Ledgers {
    /// Puts `text` at `key` on a condition, retrying 409s.
    pub(super) fn put(
        &self,
        key: String,
        text: String,
        condition: Condition,
        writer: Option<String>,
    ) -> Result<String, StoreError> {
        let client = self.client.clone();
        let bucket = self.url.bucket.clone();
        let owner = self.owner.clone();
        self.block(async move {
            let mut attempt = 0;
            loop {
                attempt += 1;
                let mut put = client
                    .put_object()
                    .bucket(&bucket)
                    .expected_bucket_owner(&owner)
                    .key(&key)
                    .content_type("application/json")
                    .body(ByteStream::from(text.clone().into_bytes()));
                put = match &condition {
                    Condition::Absent => put.if_none_match("*"),
                    Condition::At(etag) => put.if_match(etag),
                };
                if let Some(w) = &writer {
                    put = put.metadata("paysec-writer", w);
                }
                match put.send().await {
                    Ok(out) => return Ok(out.e_tag().unwrap_or_default().to_owned()),
                    Err(e) if status(&e) == Some(412) => return Err(StoreError::Conflict),
                    // `If-Match` on an object that is gone: S3 answers 404.
                    Err(e) if status(&e) == Some(404) && matches!(condition, Condition::At(_)) => {
                        return Err(StoreError::Other(format!(
                            "s3://{bucket}/{key} was removed since this run read it (deleted by hand, or by a lifecycle rule); this run stopped without writing it. Restore its last version (`paysec ledger history` lists them; the bucket is versioned), then run again"
                        )))
                    }
                    Err(e) if status(&e) == Some(409) && attempt < CONFLICT_ATTEMPTS => {
                        tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                    }
                    Err(e) if status(&e) == Some(409) => return Err(StoreError::Conflict),
                    Err(e) => return Err(other(&e, &bucket, &owner)),
                }
            }
        })
    }

    /// Reads `key`: its text and ETag, or `None`.
    pub(super) fn get(&self, key: String) -> Result<Option<Stored>, StoreError> {
        let client = self.client.clone();
        let bucket = self.url.bucket.clone();
        let owner = self.owner.clone();
        self.block(async move {
            let out = match client
                .get_object()
                .bucket(&bucket)
                .expected_bucket_owner(&owner)
                .key(&key)
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                    return Ok(None)
                }
                Err(e) => return Err(other(&e, &bucket, &owner)),
            };
            let version = out.e_tag().unwrap_or_default().to_owned();
            let bytes = out
                .body
                .collect()
                .await
                .map_err(|e| StoreError::Other(e.to_string()))?
                .into_bytes();
            Ok(Some(Stored {
                text: String::from_utf8_lossy(&bytes).into_owned(),
                version,
            }))
        })
    }

    /// Deletes `key` if its ETag is still `etag`.
    pub(super) fn delete(&self, key: String, etag: String) -> Result<(), StoreError> {
        let client = self.client.clone();
        let bucket = self.url.bucket.clone();
        let owner = self.owner.clone();
        self.block(async move {
            let mut attempt = 0;
            loop {
                attempt += 1;
                match client
                    .delete_object()
                    .bucket(&bucket)
                    .expected_bucket_owner(&owner)
                    .key(&key)
                    .if_match(&etag)
                    .send()
                    .await
                {
                    Ok(_) => return Ok(()),
                    Err(e) if status(&e) == Some(412) => return Err(StoreError::Conflict),
                    Err(e) if status(&e) == Some(409) && attempt < CONFLICT_ATTEMPTS => {
                        tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                    }
                    Err(e) => return Err(other(&e, &bucket, &owner)),
                }
            }
        })
    }
}

pub(super) enum Condition {
    /// Only if there is no such object (`If-None-Match: *`).
    Absent,
    /// Only if the object's ETag is this one (`If-Match`).
    At(String),
}

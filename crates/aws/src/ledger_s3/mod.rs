//! Ledgers shared on S3 (`--ledger s3://BUCKET/PREFIX`): one object per
//! environment (`PREFIX/ENV.json`, the local file's schema) and one lock
//! object beside it (`PREFIX/ENV.lock`). S3's conditional writes make it
//! safe for several machines: a ledger is written only if it is still the
//! version this run read (`If-Match` with its ETag) or, new, only if there
//! is none (`If-None-Match: *`), so a writer that lost a race fails instead
//! of overwriting; a lock is created only if there is none, and removed
//! only if it is still the one this run made. A `409
//! ConditionalRequestConflict` (two conditional writes at once) is retried,
//! as S3 asks. Every write notes its writer in the object's metadata
//! (`paysec-writer`), which `paysec ledger history` lists per version.
//!
//! The ledger's calls block (its writes must be durable before the
//! resource call they record goes out); they run on a runtime of the
//! store's own, so a caller on any thread, async or not, can wait for them.

use std::future::Future;

use paysec_core::naming::EnvName;

mod errors;
mod init;
mod objects;
mod policy;
mod store;

pub use init::{init_bucket, is_kms_key_arn, Init, InitOptions};
pub use policy::refuse_outside_grants;

/// `s3://BUCKET[/PREFIX]`, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    /// Empty, or ending in `/`.
    pub prefix: String,
}

impl S3Url {
    /// `None` when `url` is not an `s3://` URL; `Some(Err)` when it is one
    /// that names no valid bucket.
    pub fn parse(url: &str) -> Option<Result<Self, String>> {
        let rest = url.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
            && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
            && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !valid {
            return Some(Err(format!(
                "{url}: `{bucket}` is not an S3 bucket name (3-63 lowercase letters, digits, hyphens and dots); use s3://BUCKET or s3://BUCKET/PREFIX"
            )));
        }
        let prefix = prefix.trim_matches('/');
        Some(Ok(Self {
            bucket: bucket.to_owned(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
        }))
    }

    pub fn base(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix.trim_end_matches('/'))
            .trim_end_matches('/')
            .to_owned()
    }
}

/// The shared ledgers under one `s3://` URL.
pub struct S3Ledgers {
    url: S3Url,
    client: aws_sdk_s3::Client,
    who: String,
    /// The account that must own the bucket, sent as `ExpectedBucketOwner`
    /// on every call: S3 refuses the call when another account owns it.
    owner: String,
    rt: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for S3Ledgers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "S3Ledgers({})", self.url.base())
    }
}

impl Drop for S3Ledgers {
    fn drop(&mut self) {
        // Dropped inside the command's own runtime: shut down without
        // blocking it.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl S3Ledgers {
    /// The store for `url`, writing as `who` (the caller's ARN) with
    /// `client`, in a bucket `owner` (an account id) owns.
    pub fn new(
        url: S3Url,
        client: aws_sdk_s3::Client,
        who: String,
        owner: String,
    ) -> Result<Self, String> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("paysec-ledger")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the ledger's I/O: {e}"))?;
        Ok(Self {
            url,
            client,
            who,
            owner,
            rt: Some(rt),
        })
    }

    /// Runs `f` on the store's runtime and waits for it.
    fn block<F>(&self, f: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::channel();
        self.rt
            .as_ref()
            .expect("runtime until dropped")
            .spawn(async move {
                let _ = tx.send(f.await);
            });
        rx.recv().expect("the ledger's runtime answers")
    }

    fn key(&self, env: &EnvName, suffix: &str) -> String {
        format!("{}{env}.{suffix}", self.url.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_s3_url_names_a_bucket_and_an_optional_prefix() {
        assert_eq!(S3Url::parse("./.paysec"), None);
        let u = S3Url::parse("s3://team-state/paysec/prod/")
            .unwrap()
            .unwrap();
        assert_eq!(u.bucket, "team-state");
        assert_eq!(u.prefix, "paysec/prod/");
        assert_eq!(u.base(), "s3://team-state/paysec/prod");
        let bare = S3Url::parse("s3://team-state").unwrap().unwrap();
        assert_eq!(
            (bare.prefix.as_str(), bare.base()),
            ("", "s3://team-state".to_owned())
        );
        assert!(S3Url::parse("s3://Team_State/x").unwrap().is_err());
        assert!(S3Url::parse("s3://").unwrap().is_err());
    }
}

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
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use paysec_core::ledger::Holder;
use paysec_core::ledger_store::{RemoteStore, Revision, StoreError, Stored, StoredLock};
use paysec_core::naming::EnvName;

use crate::classify::one_line;

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

/// The HTTP status of an S3 error answer.
fn status<E>(e: &SdkError<E, HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

/// A failed call's error; a 403 says the bucket may be another account's
/// (S3's answer to a wrong `ExpectedBucketOwner`) as well as a missing
/// permission.
fn other<
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
>(
    e: &SdkError<E, HttpResponse>,
    bucket: &str,
    owner: &str,
) -> StoreError {
    if status(e) == Some(403) {
        return StoreError::Other(format!(
            "s3://{bucket}: access denied ({}): either the bucket is not owned by account {owner} (the expected owner: `ledger_owner`, else the caller's account), or this identity lacks the S3 permission (`paysec iam-policy` lists it). Set `ledger_owner` to the state bucket's account if it is another one of yours; never use a bucket another party owns",
            one_line(e)
        ));
    }
    StoreError::Other(one_line(e))
}

/// Attempts for a write S3 answers `409 ConditionalRequestConflict`
/// (another conditional write to the key in flight).
const CONFLICT_ATTEMPTS: u32 = 5;

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

    /// Puts `text` at `key` on a condition, retrying 409s.
    fn put(
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
    fn get(&self, key: String) -> Result<Option<Stored>, StoreError> {
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
    fn delete(&self, key: String, etag: String) -> Result<(), StoreError> {
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

enum Condition {
    /// Only if there is no such object (`If-None-Match: *`).
    Absent,
    /// Only if the object's ETag is this one (`If-Match`).
    At(String),
}

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

/// How `ledger init` makes a new state bucket.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// A customer managed key for the default encryption (else `aws/s3`,
    /// which only the bucket's own account can use).
    pub kms_key: Option<String>,
    /// Days earlier ledger versions are kept before they expire.
    pub noncurrent_days: i32,
}

impl Default for InitOptions {
    fn default() -> Self {
        Self {
            kms_key: None,
            noncurrent_days: 365,
        }
    }
}

/// `arn:PARTITION:kms:REGION:ACCOUNT:key/ID` or `...:alias/NAME`.
pub fn is_kms_key_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", p, "kms", region, account, resource]
        if !p.is_empty() && !region.is_empty() && account.len() == 12
            && (resource.strip_prefix("key/").is_some_and(|k| !k.is_empty())
                || resource.strip_prefix("alias/").is_some_and(|k| !k.is_empty())))
}

/// What `paysec ledger init` did.
#[derive(Debug, PartialEq, Eq)]
pub struct Init {
    /// Made now (else found hardened and left as it was).
    pub created: bool,
    /// Whether the bucket carries the TLS-only policy: not over a plain
    /// HTTP endpoint (a local emulator), which that policy refuses.
    pub tls_only_policy: bool,
}

/// Whether requests go over plain HTTP (a local emulator's endpoint: paysec
/// refuses plain HTTP to any other host unless told it is an emulator).
fn plain_http(aws: &crate::Aws) -> bool {
    aws.endpoints()
        .of("S3")
        .is_some_and(|u| u.starts_with("http://"))
}

/// The state bucket's policy: TLS only, 1.2 or later.
fn tls_only_policy(partition: &str, bucket: &str) -> String {
    let statements =
        crate::s3_hardening::tls_only_statements(&format!("arn:{partition}:s3:::{bucket}"));
    serde_json::json!({ "Version": "2012-10-17", "Statement": statements }).to_string()
}

/// Creates the state bucket for shared ledgers, hardened like the stack's
/// own buckets: bucket owner enforced (ACLs off), every public access
/// block on, versioning (the ledger's history), default SSE-KMS with a
/// bucket key (the account's `aws/s3` key), a TLS-only policy, and a
/// `paysec:purpose = ledger` tag. An existing bucket is checked instead,
/// and refused, naming what is missing, unless it is all of these: paysec
/// does not change a bucket it did not make. Over a plain-HTTP endpoint
/// (an emulator) the TLS-only policy is left out, since it would refuse
/// every request made there; the outcome says so.
pub async fn init_bucket(
    aws: &crate::Aws,
    bucket: &str,
    partition: &str,
    owner: &str,
    options: &InitOptions,
) -> Result<Init, String> {
    use aws_sdk_s3::types::BucketLifecycleConfiguration;
    use aws_sdk_s3::types::{
        BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
        ObjectOwnership, ServerSideEncryption, ServerSideEncryptionByDefault,
        ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging,
        VersioningConfiguration,
    };
    let s3 = &aws.s3;
    let fail = |what: &str, e: String| format!("{what} of s3://{bucket}: {e}");
    match s3.head_bucket().bucket(bucket)
        .expected_bucket_owner(owner).send().await {
        Ok(_) => {
            let missing = hardening_missing(aws, bucket, owner).await?;
            if missing.is_empty() {
                return Ok(Init {
                    created: false,
                    tls_only_policy: !plain_http(aws),
                });
            }
            return Err(format!(
                "s3://{bucket} exists and is not hardened for ledgers: {}; paysec does not change a bucket it did not make. Fix these, or choose another bucket name",
                missing.join("; ")
            ));
        }
        Err(e) if status(&e) == Some(404) => {
            // A bucket made now is the caller's account's: another
            // expected owner could never use it.
            let caller = aws.identity().await.map_err(|e| e.to_string())?.account;
            if caller != owner {
                return Err(format!(
                    "s3://{bucket} does not exist, and `ledger init` would make it in account {caller}, not {owner} (`ledger_owner`): run it with credentials of account {owner}, or unset `ledger_owner`"
                ));
            }
        }
        Err(e) if status(&e) == Some(403) => {
            return Err(format!(
                "s3://{bucket} exists and is not account {owner}'s to use (HTTP 403): another account owns it, or this identity lacks s3:ListBucket; a state bucket must be owned by the expected account (`ledger_owner`, else the caller's). Choose another bucket name, or ask for access"
            ))
        }
        Err(e) => return Err(fail("HeadBucket", one_line(&e))),
    }
    let mut create = s3
        .create_bucket()
        .bucket(bucket)
        .object_ownership(ObjectOwnership::BucketOwnerEnforced);
    // us-east-1 takes no location constraint (and refuses its own name).
    if aws.region() != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(aws.region()))
                .build(),
        );
    }
    create
        .send()
        .await
        .map_err(|e| fail("CreateBucket", one_line(&e)))?;
    s3.put_public_access_block()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .public_access_block_configuration(crate::s3_hardening::all_public_access_blocked())
        .send()
        .await
        .map_err(|e| fail("PutPublicAccessBlock", one_line(&e)))?;
    s3.put_bucket_versioning()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| fail("PutBucketVersioning", one_line(&e)))?;
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(
            ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::AwsKms)
                .set_kms_master_key_id(options.kms_key.clone())
                .build()
                .map_err(|e| e.to_string())?,
        )
        .bucket_key_enabled(true)
        .build();
    s3.put_bucket_encryption()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(rule)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .send()
        .await
        .map_err(|e| fail("PutBucketEncryption", one_line(&e)))?;
    // The ledger's history (every version, who wrote it) kept as long as
    // asked, then expired: a bucket versioned for ever grows for ever.
    // IAM: s3:PutLifecycleConfiguration.
    s3.put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(crate::s3_hardening::noncurrent_versions_expire(
                    "paysec-ledger-history",
                    options.noncurrent_days,
                ))
                .build()
                .map_err(|e| e.to_string())?,
        )
        .send()
        .await
        .map_err(|e| fail("PutBucketLifecycleConfiguration", one_line(&e)))?;
    if !plain_http(aws) {
        s3.put_bucket_policy()
            .bucket(bucket)
            .expected_bucket_owner(owner)
            .policy(tls_only_policy(partition, bucket))
            .send()
            .await
            .map_err(|e| fail("PutBucketPolicy", one_line(&e)))?;
    }
    s3.put_bucket_tagging()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .tagging(
            Tagging::builder()
                .tag_set(
                    Tag::builder()
                        .key("paysec:purpose")
                        .value("ledger")
                        .build()
                        .map_err(|e| e.to_string())?,
                )
                .build()
                .map_err(|e| e.to_string())?,
        )
        .send()
        .await
        .map_err(|e| fail("PutBucketTagging", one_line(&e)))?;
    Ok(Init {
        created: true,
        tls_only_policy: !plain_http(aws),
    })
}

/// What an existing bucket lacks of the state bucket's hardening.
async fn hardening_missing(
    aws: &crate::Aws,
    bucket: &str,
    owner: &str,
) -> Result<Vec<String>, String> {
    use aws_sdk_s3::types::{ObjectOwnership, ServerSideEncryption};
    let s3 = &aws.s3;
    let mut missing = Vec::new();
    let versioning = match s3
        .get_bucket_versioning()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .send()
        .await
    {
        Ok(v) => v.status().map(|s| s.as_str().to_owned()),
        Err(e) => match aws
            .tolerates(crate::emulator::Gap::VersioningAnswerWrapped)
            .then(|| crate::emulator::versioning_status_of_wrapped_answer(&e))
            .flatten()
        {
            Some(status) => status,
            None => {
                return Err(format!(
                    "GetBucketVersioning of s3://{bucket}: {}",
                    one_line(&e)
                ))
            }
        },
    };
    if versioning.as_deref() != Some("Enabled") {
        missing.push(format!(
            "versioning is {} (wanted Enabled: the ledger's history)",
            versioning.as_deref().unwrap_or("off")
        ));
    }
    let encrypted = s3
        .get_bucket_encryption()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .send()
        .await
        .ok()
        .and_then(|e| e.server_side_encryption_configuration().cloned())
        .is_some_and(|c| {
            c.rules().iter().any(|r| {
                r.apply_server_side_encryption_by_default()
                    .is_some_and(|d| {
                        matches!(
                            d.sse_algorithm(),
                            ServerSideEncryption::AwsKms | ServerSideEncryption::AwsKmsDsse
                        )
                    })
            })
        });
    if !encrypted {
        missing.push("default encryption is not SSE-KMS".into());
    }
    let blocked = s3
        .get_public_access_block()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .send()
        .await
        .ok()
        .and_then(|p| p.public_access_block_configuration().cloned())
        .is_some_and(|c| {
            c.block_public_acls() == Some(true)
                && c.ignore_public_acls() == Some(true)
                && c.block_public_policy() == Some(true)
                && c.restrict_public_buckets() == Some(true)
        });
    if !blocked {
        missing.push("not all four public access blocks are on".into());
    }
    let enforced = s3
        .get_bucket_ownership_controls()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .send()
        .await
        .ok()
        .and_then(|o| o.ownership_controls().cloned())
        .is_some_and(|c| {
            c.rules()
                .iter()
                .any(|r| r.object_ownership() == &ObjectOwnership::BucketOwnerEnforced)
        });
    if !enforced {
        missing.push("object ownership is not BucketOwnerEnforced (ACLs on)".into());
    }
    let policy = bucket_policy(s3, bucket, owner).await.ok().flatten();
    let tls_only = policy.as_ref().is_some_and(denies_plain_http);
    if !tls_only && !plain_http(aws) {
        missing.push("no policy statement denies aws:SecureTransport = false".into());
    }
    if let Some(doc) = &policy {
        for outsider in outside_grants(doc, owner) {
            missing.push(outside_grant_text(&outsider, owner));
        }
    }
    Ok(missing)
}

/// The state bucket's policy, if it has one. A policy that is not JSON
/// is an error: its grants cannot be read.
async fn bucket_policy(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    owner: &str,
) -> Result<Option<serde_json::Value>, String> {
    // IAM: s3:GetBucketPolicy
    match s3
        .get_bucket_policy()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .send()
        .await
    {
        Ok(answer) => answer
            .policy()
            .map(|text| {
                serde_json::from_str(text)
                    .map_err(|e| format!("s3://{bucket}: its policy is not JSON ({e})"))
            })
            .transpose(),
        // NoSuchBucketPolicy: no policy, so no grant.
        Err(e) if status(&e) == Some(404) => Ok(None),
        Err(e) if status(&e) == Some(403) => Err(other(&e, bucket, owner).to_string()),
        Err(e) => Err(format!(
            "GetBucketPolicy of s3://{bucket}: {}",
            one_line(&e)
        )),
    }
}

/// Refuses a state bucket whose policy grants anyone outside account
/// `owner`, on every run and not only at `ledger init`: a grant added
/// later would hand the ledgers' create tokens and external ids to that
/// party. Each grant is named, as `ledger init` names it.
pub async fn refuse_outside_grants(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    owner: &str,
) -> Result<(), String> {
    let Some(doc) = bucket_policy(s3, bucket, owner).await? else {
        return Ok(());
    };
    let outsiders: Vec<String> = outside_grants(&doc, owner)
        .into_iter()
        .map(|outsider| outside_grant_text(&outsider, owner))
        .collect();
    if outsiders.is_empty() {
        return Ok(());
    }
    Err(format!(
        "s3://{bucket}: {}. Not reading or writing a ledger there: remove those grants from the bucket policy, or move the ledgers to a bucket only account {owner} reaches",
        outsiders.join("; ")
    ))
}

/// One outside grant, in the words both checks use.
fn outside_grant_text(outsider: &str, owner: &str) -> String {
    format!(
        "its policy allows {outsider}, outside account {owner} (the ledgers hold create tokens and external ids: only the owner's account may reach them)"
    )
}

/// The principals an `Allow` statement of a bucket policy names outside
/// account `owner`: `*` (anyone), another account's root or ARN, a
/// service. Conditions are not read: a grant to anyone is refused even if
/// a condition narrows it, since only the owner's account may reach the
/// ledgers.
fn outside_grants(doc: &serde_json::Value, owner: &str) -> Vec<String> {
    let mut outside = Vec::new();
    for s in statements(doc).iter().filter(|s| s["Effect"] == "Allow") {
        let principals: Vec<String> = match &s["Principal"] {
            serde_json::Value::Object(kinds) => kinds
                .iter()
                .flat_map(|(kind, v)| {
                    paysec_core::policy_doc::strings(v)
                        .into_iter()
                        .map(move |p| {
                            if kind == "AWS" {
                                p
                            } else {
                                format!("{kind} {p}")
                            }
                        })
                })
                .collect(),
            one => paysec_core::policy_doc::strings(one),
        };
        for p in principals {
            let in_account =
                p == owner || p.split(':').nth(4).is_some_and(|account| account == owner);
            if !in_account && !outside.contains(&p) {
                outside.push(p);
            }
        }
    }
    outside
}

/// A policy's statements, whether it holds a list or one.
fn statements(doc: &serde_json::Value) -> Vec<serde_json::Value> {
    match &doc["Statement"] {
        serde_json::Value::Array(a) => a.clone(),
        one => vec![one.clone()],
    }
}

/// Whether a bucket policy has a Deny on `aws:SecureTransport` false.
fn denies_plain_http(doc: &serde_json::Value) -> bool {
    statements(doc).iter().any(|s| {
        s["Effect"] == "Deny"
            && s["Condition"]["Bool"]["aws:SecureTransport"]
                .as_str()
                .is_some_and(|v| v.eq_ignore_ascii_case("false"))
    })
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

    #[test]
    fn a_grant_outside_the_owner_s_account_is_named() {
        let doc = serde_json::json!({"Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:*"},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/deployer"}, "Action": "s3:GetObject"},
            {"Effect": "Allow", "Principal": {"AWS": ["111122223333", "arn:aws:iam::444455556666:root"]}, "Action": "s3:*"},
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"},
            {"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject"}
        ]});
        assert_eq!(
            outside_grants(&doc, "111122223333"),
            [
                "arn:aws:iam::444455556666:root",
                "*",
                "Service logging.s3.amazonaws.com"
            ]
        );
        assert!(outside_grants(&serde_json::json!({"Statement": []}), "111122223333").is_empty());
    }

    #[test]
    fn the_state_bucket_policy_denies_plain_http() {
        let doc: serde_json::Value =
            serde_json::from_str(&tls_only_policy("aws", "team-state")).unwrap();
        assert!(denies_plain_http(&doc));
        let allow: serde_json::Value = serde_json::json!({"Statement": {"Effect": "Allow"}});
        assert!(!denies_plain_http(&allow));
    }
}

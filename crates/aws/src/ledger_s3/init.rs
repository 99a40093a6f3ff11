//! `paysec ledger init`: the state bucket made hardened (versioned,
//! SSE-KMS, TLS only, in the expected owner's account), or an existing
//! one's hardening checked.

use crate::classify::one_line;

use super::errors::status;
use super::policy::{
    bucket_policy, denies_plain_http, outside_grant_text, outside_grants, tls_only_policy,
};

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

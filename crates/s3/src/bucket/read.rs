//! The reads: every property's GET, compared with what the bucket must
//! hold (a configuration never set reads as none).

use aws_sdk_s3::types::{
    BucketVersioningStatus, ExpirationStatus, LifecycleRule, ObjectLockEnabled,
    ObjectLockRetentionMode, ObjectOwnership, PublicAccessBlockConfiguration, ServerSideEncryption,
};
use paysec_aws::emulator::Gap;
use paysec_aws::AwsResultExt;
use paysec_core::policy_doc;
use paysec_core::resource::{Checks, Context};
use paysec_core::Attr;
use paysec_core::{ErrorClass, ResourceError};
use serde_json::Value;

use super::{Bucket, BucketProperty};
use crate::policy::Delivery;

/// `None` for a configuration that was never set (each GET has its own
/// "no such configuration" code).
fn absent_is_none<T>(r: Result<T, ResourceError>) -> Result<Option<T>, ResourceError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e)
            if e.class() == ErrorClass::NotFound
                || e.code()
                    .is_some_and(|c| c.starts_with("NoSuch") || c.ends_with("NotFoundError")) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

impl Bucket {
    fn describe_lock(mode: &str, days: Option<i32>) -> String {
        match days {
            Some(d) => format!("{mode} {d} days"),
            None => mode.to_owned(),
        }
    }

    /// Reads every property and compares it with the desired state.
    pub(super) async fn checks(&self, cx: &Context) -> Result<Checks, ResourceError> {
        let name = self.name(cx);
        let s3 = &self.aws.s3;
        let id = &self.id;
        let mut checks = Checks::default();

        let own = absent_is_none(
            s3.get_bucket_ownership_controls()
                .bucket(&name)
                .expected_bucket_owner(&cx.env.account)
                .send()
                .await
                .or_resource(id, "GetBucketOwnershipControls"),
        )?;
        let enforced = own
            .as_ref()
            .and_then(|o| o.ownership_controls())
            .is_some_and(|c| {
                c.rules()
                    .iter()
                    .any(|r| r.object_ownership() == &ObjectOwnership::BucketOwnerEnforced)
            });
        checks.check(
            BucketProperty::Ownership,
            enforced,
            "BucketOwnerEnforced",
            if enforced {
                "BucketOwnerEnforced"
            } else {
                "ACLs enabled"
            },
        );

        let pab = absent_is_none(
            s3.get_public_access_block()
                .bucket(&name)
                .expected_bucket_owner(&cx.env.account)
                .send()
                .await
                .or_resource(id, "GetPublicAccessBlock"),
        )?;
        // The four flags as S3 reports them.
        let flags = |c: Option<&aws_sdk_s3::types::PublicAccessBlockConfiguration>| {
            let flag = |v: Option<bool>| match v {
                Some(true) => "true",
                Some(false) => "false",
                None => "unset",
            };
            format!(
                "BlockPublicAcls={}, IgnorePublicAcls={}, BlockPublicPolicy={}, RestrictPublicBuckets={}",
                flag(c.and_then(|c| c.block_public_acls())),
                flag(c.and_then(|c| c.ignore_public_acls())),
                flag(c.and_then(|c| c.block_public_policy())),
                flag(c.and_then(|c| c.restrict_public_buckets())),
            )
        };
        let live = pab
            .as_ref()
            .and_then(|p| p.public_access_block_configuration());
        let wanted = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        checks.equal(
            BucketProperty::PublicAccessBlock,
            flags(Some(&wanted)),
            flags(live),
        );

        let key = cx.attr(&self.kms_key, Attr::Arn)?;
        let enc = absent_is_none(
            s3.get_bucket_encryption()
                .bucket(&name)
                .expected_bucket_owner(&cx.env.account)
                .send()
                .await
                .or_resource(id, "GetBucketEncryption"),
        )?;
        let rule = enc
            .as_ref()
            .and_then(|e| e.server_side_encryption_configuration())
            .and_then(|c| c.rules().first());
        let default = rule.and_then(|r| r.apply_server_side_encryption_by_default());
        let ok = if self.sse_s3() {
            default.is_some_and(|d| d.sse_algorithm() == &ServerSideEncryption::Aes256)
        } else {
            default.is_some_and(|d| {
                d.sse_algorithm() == &ServerSideEncryption::AwsKms
                    && d.kms_master_key_id() == Some(key)
            }) && rule.and_then(|r| r.bucket_key_enabled()) == Some(true)
        };
        let bucket_key = if rule.and_then(|r| r.bucket_key_enabled()) == Some(true) {
            ", bucket key"
        } else {
            ""
        };
        checks.check(
            BucketProperty::Encryption,
            ok,
            if self.sse_s3() {
                "AES256 (SSE-S3: the only default encryption S3 server access logging delivers to)"
                    .to_owned()
            } else {
                format!("aws:kms {key}, bucket key")
            },
            default
                .map(|d| {
                    format!(
                        "{} {}{bucket_key}",
                        d.sse_algorithm().as_str(),
                        d.kms_master_key_id().unwrap_or("")
                    )
                })
                .unwrap_or_else(|| "none".into()),
        );

        let status = match s3
            .get_bucket_versioning()
            .bucket(&name)
            .expected_bucket_owner(&cx.env.account)
            .send()
            .await
        {
            Ok(v) => v.status().map(|s| s.as_str().to_owned()),
            Err(e) => match paysec_aws::emulator::versioning_status_of_wrapped_answer(&e)
                .filter(|_| self.aws.tolerates(Gap::VersioningAnswerWrapped))
            {
                Some(status) => status,
                None => {
                    return Err(Err::<(), _>(e)
                        .or_resource(id, "GetBucketVersioning")
                        .unwrap_err())
                }
            },
        };
        checks.equal(
            BucketProperty::Versioning,
            BucketVersioningStatus::Enabled.as_str(),
            status.unwrap_or_else(|| "never enabled".into()),
        );

        if let Some(days) = self.object_lock_days() {
            let lock = absent_is_none(
                s3.get_object_lock_configuration()
                    .bucket(&name)
                    .expected_bucket_owner(&cx.env.account)
                    .send()
                    .await
                    .or_resource(id, "GetObjectLockConfiguration"),
            )?;
            let live = lock
                .as_ref()
                .and_then(|l| l.object_lock_configuration())
                .filter(|c| c.object_lock_enabled() == Some(&ObjectLockEnabled::Enabled))
                .map(|c| match c.rule().and_then(|r| r.default_retention()) {
                    Some(d) => match (d.mode(), d.days(), d.years()) {
                        (Some(m), Some(days), _) => Self::describe_lock(m.as_str(), Some(days)),
                        (Some(m), None, Some(y)) => format!("{} {y} years", m.as_str()),
                        _ => "enabled, no default retention".to_owned(),
                    },
                    None => "enabled, no default retention".to_owned(),
                })
                .unwrap_or_else(|| "not enabled".to_owned());
            checks.equal(
                BucketProperty::ObjectLock,
                Self::describe_lock(ObjectLockRetentionMode::Governance.as_str(), Some(days)),
                live,
            );
        } else {
            checks.not_applicable(
                BucketProperty::ObjectLock,
                match self.delivery {
                    Delivery::AccessLogs => "S3 delivers no server access logs to a bucket with Object Lock; this bucket's logs are kept by versioning, its policy and its lifecycle",
                    _ => "not a log bucket: its objects change by design (versioning keeps the old ones)",
                },
            );
        }

        let lc = absent_is_none(
            s3.get_bucket_lifecycle_configuration()
                .bucket(&name)
                .expected_bucket_owner(&cx.env.account)
                .send()
                .await
                .or_resource(id, "GetBucketLifecycleConfiguration"),
        )?;
        let want = self.lifecycle_rules();
        let have = lc.as_ref().map(|l| l.rules().to_vec()).unwrap_or_default();
        let same = want.len() == have.len()
            && want.iter().zip(&have).all(|(w, h)| {
                w.id() == h.id()
                    && h.status() == &ExpirationStatus::Enabled
                    && w.expiration().and_then(|e| e.days())
                        == h.expiration().and_then(|e| e.days())
                    && w.transitions().first().and_then(|t| t.days())
                        == h.transitions().first().and_then(|t| t.days())
                    && w.noncurrent_version_expiration()
                        .and_then(|n| n.noncurrent_days())
                        == h.noncurrent_version_expiration()
                            .and_then(|n| n.noncurrent_days())
            });
        let describe = |rules: &[LifecycleRule]| {
            rules
                .iter()
                .map(|r| {
                    format!(
                        "{}: {}d hot, expire {}d, old versions {}d",
                        r.id().unwrap_or("?"),
                        r.transitions().first().and_then(|t| t.days()).unwrap_or(0),
                        r.expiration().and_then(|e| e.days()).unwrap_or(0),
                        r.noncurrent_version_expiration()
                            .and_then(|n| n.noncurrent_days())
                            .unwrap_or(0)
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        checks.check(
            BucketProperty::Lifecycle,
            same,
            describe(&want),
            describe(&have),
        );

        let tags = absent_is_none(
            s3.get_bucket_tagging()
                .bucket(&name)
                .expected_bucket_owner(&cx.env.account)
                .send()
                .await
                .or_resource(id, "GetBucketTagging"),
        )?;
        let actual: Vec<(String, String)> = tags
            .as_ref()
            .map(|t| {
                t.tag_set()
                    .iter()
                    .map(|t| (t.key().to_owned(), t.value().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        checks.tags(&cx.tags(), &actual);

        let pol = absent_is_none(
            s3.get_bucket_policy()
                .bucket(&name)
                .expected_bucket_owner(&cx.env.account)
                .send()
                .await
                .or_resource(id, "GetBucketPolicy"),
        )?;
        let actual = pol
            .as_ref()
            .and_then(|p| p.policy())
            .map(policy_doc::parse)
            .unwrap_or(Value::Null);
        let wanted = self.policy(cx, &name)?;
        if actual.is_null() {
            checks.check(
                BucketProperty::Policy,
                false,
                policy_doc::quote(&wanted),
                "none",
            );
        } else {
            checks.policy(BucketProperty::Policy, &wanted, &actual);
        }

        if let Some(target) = &self.access_logs_to {
            let log = s3
                .get_bucket_logging()
                .bucket(&name)
                .expected_bucket_owner(&cx.env.account)
                .send()
                .await
                .or_resource(id, "GetBucketLogging")?;
            let t = cx.attr(target, Attr::Name)?;
            checks.equal(
                BucketProperty::Logging,
                t,
                log.logging_enabled().map_or("off", |l| l.target_bucket()),
            );
        } else {
            checks.not_applicable(
                BucketProperty::Logging,
                "this is the access-log bucket: its own accesses are not logged into itself (S3 would log its own log writes)",
            );
        }
        Ok(checks)
    }
}

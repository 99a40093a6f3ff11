//! One hardened bucket. Bucket names are global and unique, so a bucket the
//! ledger lost is adopted by name; every setting is read back and repaired
//! individually.

use async_trait::async_trait;
use aws_sdk_s3::operation::create_bucket::CreateBucketError;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    BucketLoggingStatus, BucketVersioningStatus, CreateBucketConfiguration, DefaultRetention,
    Delete, ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
    LoggingEnabled, NoncurrentVersionExpiration, ObjectIdentifier, ObjectLockConfiguration,
    ObjectLockEnabled, ObjectLockRetentionMode, ObjectLockRule, ObjectOwnership, OwnershipControls,
    OwnershipControlsRule, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging, Transition, TransitionStorageClass, VersioningConfiguration,
};
use paysec_aws::emulator::Gap;
use paysec_aws::{AwsResultExt, ServiceErrorExt};
use paysec_core::error::not_found_is_none;
use paysec_core::policy_doc;
use paysec_core::resource::{
    Checks, Comparison, Context, DeleteOutcome, Dependency, Observed, Present, QuickCheck, Resource,
};
use paysec_core::retry::{retrying, rules};
use paysec_core::Attr;
use paysec_core::{ErrorClass, LogicalId, Property, ResourceError};
use serde_json::Value;

use crate::policy::{self, Delivery};

/// How long objects live.
#[derive(Clone, Copy, Debug)]
pub enum Lifecycle {
    /// Audit logs (req. 10.5.1): `hot_days` immediately available, then a
    /// colder class, expired after `keep_days`.
    Logs { hot_days: i32, keep_days: i32 },
    /// Application data: only old versions expire.
    Data { noncurrent_days: i32 },
}

pub struct Bucket {
    id: LogicalId,
    aws: paysec_aws::Aws,
    purpose: &'static str,
    kms_key: LogicalId,
    delivery: Delivery,
    lifecycle: Lifecycle,
    /// The bucket receiving this one's server access logs.
    access_logs_to: Option<LogicalId>,
}

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

paysec_core::properties! {
    /// What a bucket's read compares (S3-1..8, INV-1), in the order they
    /// are applied: Object Lock needs versioning on.
    pub enum BucketProperty {
        Ownership = "ownership",
        PublicAccessBlock = "public_access_block",
        Encryption = "encryption",
        Versioning = "versioning",
        ObjectLock = "object_lock",
        Lifecycle = "lifecycle",
        Tags = "tags",
        Policy = "policy",
        Logging = "logging",
    }
}

impl Bucket {
    pub fn new(
        id: LogicalId,
        aws: paysec_aws::Aws,
        purpose: &'static str,
        kms_key: LogicalId,
        delivery: Delivery,
        lifecycle: Lifecycle,
        access_logs_to: Option<LogicalId>,
    ) -> Self {
        Self {
            id,
            aws,
            purpose,
            kms_key,
            delivery,
            lifecycle,
            access_logs_to,
        }
    }

    fn name(&self, cx: &Context) -> String {
        cx.env.names.bucket(self.purpose, &cx.env.account)
    }

    /// The access-log bucket is encrypted with SSE-S3: S3 server access
    /// logging delivers only to buckets whose default encryption is SSE-S3
    /// (S3 user guide, "Enabling Amazon S3 server access logging"); with
    /// SSE-KMS the logs are silently not delivered. Every other bucket
    /// uses the stack's S3 key.
    fn sse_s3(&self) -> bool {
        self.delivery == Delivery::AccessLogs
    }

    /// The days of governance-mode Object Lock every new log object gets
    /// (the lifecycle's retention): none for a data bucket, and none for
    /// the access-log bucket, since S3 refuses server access logs into a
    /// bucket with Object Lock (S3 user guide, "Object Lock
    /// considerations").
    fn object_lock_days(&self) -> Option<i32> {
        match (self.delivery, self.lifecycle) {
            (Delivery::FlowLogs, Lifecycle::Logs { keep_days, .. }) => Some(keep_days),
            _ => None,
        }
    }

    fn describe_lock(mode: &str, days: Option<i32>) -> String {
        match days {
            Some(d) => format!("{mode} {d} days"),
            None => mode.to_owned(),
        }
    }

    fn present(&self, cx: &Context) -> Present {
        let name = self.name(cx);
        Present::new(&name)
            .with(Attr::Name, &name)
            .with(Attr::Arn, format!("arn:{}:s3:::{name}", cx.env.partition))
    }

    fn lifecycle_rules(&self) -> Vec<LifecycleRule> {
        let all = || LifecycleRuleFilter::builder().prefix("").build();
        let abort = AbortIncompleteMultipartUpload::builder()
            .days_after_initiation(7)
            .build();
        let rule = match self.lifecycle {
            Lifecycle::Logs {
                hot_days,
                keep_days,
            } => LifecycleRule::builder()
                .id("paysec-audit-log-retention")
                .status(ExpirationStatus::Enabled)
                .filter(all())
                .transitions(
                    Transition::builder()
                        .days(hot_days)
                        .storage_class(TransitionStorageClass::Glacier)
                        .build(),
                )
                .expiration(LifecycleExpiration::builder().days(keep_days).build())
                // An overwritten or deleted log object is audit evidence
                // too: its old version is kept as long as a current one.
                .noncurrent_version_expiration(
                    NoncurrentVersionExpiration::builder()
                        .noncurrent_days(keep_days)
                        .build(),
                )
                .abort_incomplete_multipart_upload(abort),
            Lifecycle::Data { noncurrent_days } => {
                return vec![paysec_aws::s3_hardening::noncurrent_versions_expire(
                    "paysec-noncurrent-versions",
                    noncurrent_days,
                )];
            }
        };
        rule.build().into_iter().collect()
    }

    /// Applies one property (idempotent PUTs). Right after CreateBucket
    /// AWS may still answer NoSuchBucket; that is retried.
    /// The bucket's policy; an SSE-KMS bucket's names the stack's key.
    fn policy(&self, cx: &Context, name: &str) -> Result<Value, ResourceError> {
        let key = match self.delivery {
            Delivery::AccessLogs => None,
            _ => Some(cx.attr(&self.kms_key, Attr::Arn)?),
        };
        Ok(policy::document(&cx.env, name, self.delivery, key))
    }

    async fn apply(&self, cx: &Context, property: BucketProperty) -> Result<(), ResourceError> {
        let name = self.name(cx);
        let s3 = &self.aws.s3;
        let id = &self.id;
        retrying(&[rules::S3_NEW_BUCKET_NOT_VISIBLE], || async {
            match property {
                BucketProperty::Ownership => s3
                    .put_bucket_ownership_controls()
                    .bucket(&name)
                    .expected_bucket_owner(&cx.env.account)
                    .ownership_controls(
                        OwnershipControls::builder()
                            .rules(
                                OwnershipControlsRule::builder()
                                    .object_ownership(ObjectOwnership::BucketOwnerEnforced)
                                    .build()
                                    .map_err(|e| ResourceError::unexpected(id, e.to_string()))?,
                            )
                            .build()
                            .map_err(|e| ResourceError::unexpected(id, e.to_string()))?,
                    )
                    .send()
                    .await
                    .or_resource(id, "PutBucketOwnershipControls")
                    .map(|_| ()),
                BucketProperty::PublicAccessBlock => s3
                    .put_public_access_block()
                    .bucket(&name)
                    .expected_bucket_owner(&cx.env.account)
                    .public_access_block_configuration(
                        paysec_aws::s3_hardening::all_public_access_blocked(),
                    )
                    .send()
                    .await
                    .or_resource(id, "PutPublicAccessBlock")
                    .map(|_| ()),
                BucketProperty::Encryption => {
                    let by_default = if self.sse_s3() {
                        ServerSideEncryptionByDefault::builder()
                            .sse_algorithm(ServerSideEncryption::Aes256)
                            .build()
                    } else {
                        ServerSideEncryptionByDefault::builder()
                            .sse_algorithm(ServerSideEncryption::AwsKms)
                            .kms_master_key_id(cx.attr(&self.kms_key, Attr::Arn)?)
                            .build()
                    }
                    .map_err(|e| ResourceError::unexpected(id, e.to_string()))?;
                    s3.put_bucket_encryption()
                        .bucket(&name)
                        .expected_bucket_owner(&cx.env.account)
                        .server_side_encryption_configuration(
                            ServerSideEncryptionConfiguration::builder()
                                .rules(
                                    ServerSideEncryptionRule::builder()
                                        .apply_server_side_encryption_by_default(by_default)
                                        .bucket_key_enabled(!self.sse_s3())
                                        .build(),
                                )
                                .build()
                                .map_err(|e| ResourceError::unexpected(id, e.to_string()))?,
                        )
                        .send()
                        .await
                        .or_resource(id, "PutBucketEncryption")
                        .map(|_| ())
                }
                BucketProperty::Versioning => s3
                    .put_bucket_versioning()
                    .bucket(&name)
                    .expected_bucket_owner(&cx.env.account)
                    .versioning_configuration(
                        VersioningConfiguration::builder()
                            .status(BucketVersioningStatus::Enabled)
                            .build(),
                    )
                    .send()
                    .await
                    .or_resource(id, "PutBucketVersioning")
                    .map(|_| ()),
                BucketProperty::ObjectLock => {
                    let Some(days) = self.object_lock_days() else {
                        return Ok(());
                    };
                    let retention = DefaultRetention::builder()
                        .mode(ObjectLockRetentionMode::Governance)
                        .days(days)
                        .build();
                    s3.put_object_lock_configuration()
                        .bucket(&name)
                        .expected_bucket_owner(&cx.env.account)
                        .object_lock_configuration(
                            ObjectLockConfiguration::builder()
                                .object_lock_enabled(ObjectLockEnabled::Enabled)
                                .rule(
                                    ObjectLockRule::builder()
                                        .default_retention(retention)
                                        .build(),
                                )
                                .build(),
                        )
                        .send()
                        .await
                        .or_resource(id, "PutObjectLockConfiguration")
                        .map(|_| ())
                }
                BucketProperty::Lifecycle => s3
                    .put_bucket_lifecycle_configuration()
                    .bucket(&name)
                    .expected_bucket_owner(&cx.env.account)
                    .lifecycle_configuration(
                        BucketLifecycleConfiguration::builder()
                            .set_rules(Some(self.lifecycle_rules()))
                            .build()
                            .map_err(|e| ResourceError::unexpected(id, e.to_string()))?,
                    )
                    .send()
                    .await
                    .or_resource(id, "PutBucketLifecycleConfiguration")
                    .map(|_| ()),
                BucketProperty::Tags => {
                    let tags: Vec<Tag> = cx
                        .tags()
                        .into_iter()
                        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
                        .collect();
                    s3.put_bucket_tagging()
                        .bucket(&name)
                        .expected_bucket_owner(&cx.env.account)
                        .tagging(
                            Tagging::builder()
                                .set_tag_set(Some(tags))
                                .build()
                                .map_err(|e| ResourceError::unexpected(id, e.to_string()))?,
                        )
                        .send()
                        .await
                        .or_resource(id, "PutBucketTagging")
                        .map(|_| ())
                }
                BucketProperty::Policy => s3
                    .put_bucket_policy()
                    .bucket(&name)
                    .expected_bucket_owner(&cx.env.account)
                    .policy(self.policy(cx, &name)?.to_string())
                    .send()
                    .await
                    .or_resource(id, "PutBucketPolicy")
                    .map(|_| ()),
                BucketProperty::Logging => {
                    let Some(target) = &self.access_logs_to else {
                        return Ok(());
                    };
                    let enabled = LoggingEnabled::builder()
                        .target_bucket(cx.attr(target, Attr::Name)?)
                        .target_prefix(format!("{name}/"))
                        .build()
                        .map_err(|e| ResourceError::unexpected(id, e.to_string()))?;
                    s3.put_bucket_logging()
                        .bucket(&name)
                        .expected_bucket_owner(&cx.env.account)
                        .bucket_logging_status(
                            BucketLoggingStatus::builder()
                                .logging_enabled(enabled)
                                .build(),
                        )
                        .send()
                        .await
                        .or_resource(id, "PutBucketLogging")
                        .map(|_| ())
                }
            }
        })
        .await
    }

    /// Reads every property and compares it with the desired state.
    async fn checks(&self, cx: &Context) -> Result<Checks, ResourceError> {
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

    /// Deletes every object version and delete marker, 1000 at a time.
    async fn empty(&self, name: &str, owner: &str) -> Result<usize, ResourceError> {
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

#[async_trait]
impl Resource for Bucket {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "s3_bucket"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        std::iter::once(&self.kms_key)
            .chain(&self.access_logs_to)
            .cloned()
            .map(Dependency::Identity)
            .collect()
    }

    /// HeadBucket: it exists and is ours to read (encryption, public
    /// access block, policy, versioning, lifecycle, logging and tags are
    /// read only by a full read).
    async fn quick_check(
        &self,
        cx: &Context,
        _known: &Present,
    ) -> Result<QuickCheck, ResourceError> {
        let found = self
            .aws
            .s3
            .head_bucket()
            .bucket(self.name(cx))
            .expected_bucket_owner(&cx.env.account)
            .send()
            .await
            .or_resource(&self.id, "HeadBucket");
        QuickCheck::from_lookup(found, |_| true)
    }

    async fn read(
        &self,
        cx: &Context,
        _known: Option<&Present>,
    ) -> Result<Observed, ResourceError> {
        let name = self.name(cx);
        match self
            .aws
            .s3
            .head_bucket()
            .bucket(&name)
            .expected_bucket_owner(&cx.env.account)
            .send()
            .await
            .or_resource(&self.id, "HeadBucket")
        {
            Ok(_) => {}
            Err(e) if e.class() == ErrorClass::NotFound => return Ok(Observed::Missing),
            Err(e) => return Err(e),
        }
        Ok(self.checks(cx).await?.observed(self.present(cx)))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let name = self.name(cx);
        let mut req = self
            .aws
            .s3
            .create_bucket()
            .bucket(&name)
            .object_ownership(ObjectOwnership::BucketOwnerEnforced)
            // Object Lock from the start (it also turns versioning on);
            // the default retention is set with the other properties.
            .object_lock_enabled_for_bucket(self.object_lock_days().is_some());
        if cx.env.region != "us-east-1" {
            req = req.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(cx.env.region.as_str()))
                    .build(),
            );
        }
        let created = retrying(&[rules::S3_OPERATION_ABORTED], || async {
            req.clone()
                .send()
                .await
                .or_resource(&self.id, "CreateBucket")
        })
        .await;
        match created {
            Ok(_) => {}
            Err(e) if e.class() == ErrorClass::AlreadyExists => {}
            Err(e)
                if e.service_error::<CreateBucketError>()
                    .is_some_and(CreateBucketError::is_bucket_already_exists) =>
            {
                return Err(ResourceError::unexpected(
                    &self.id,
                    format!("the bucket name {name} belongs to another AWS account; choose another environment name"),
                ));
            }
            Err(e) => return Err(e),
        }
        for p in BucketProperty::ALL {
            self.apply(cx, *p).await?;
        }
        Ok(self.present(cx))
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        for (p, _) in BucketProperty::drifted(&self.id, drift)? {
            self.apply(cx, p).await?;
        }
        Ok(present.clone())
    }

    /// Its tags alone: a log bucket `down` kept and a later `down
    /// --purge-audit-logs` deletes has no key recorded to read it with.
    async fn ownership(
        &self,
        cx: &Context,
        known: &Present,
    ) -> Result<paysec_core::Ownership, ResourceError> {
        let tags = match self
            .aws
            .s3
            .get_bucket_tagging()
            .bucket(self.name(cx))
            .expected_bucket_owner(&cx.env.account)
            .send()
            .await
            .or_resource(&self.id, "GetBucketTagging")
        {
            Ok(out) => out
                .tag_set()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect::<Vec<_>>(),
            // GetBucketTagging models neither code: matched as strings.
            Err(e) if e.code() == Some("NoSuchBucket") => return Ok(paysec_core::Ownership::Gone),
            Err(e) if e.code() == Some("NoSuchTagSet") => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(paysec_core::Ownership::from_tags(
            cx,
            &known.physical_id,
            &tags,
        ))
    }

    async fn delete(&self, cx: &Context, _known: &Present) -> Result<DeleteOutcome, ResourceError> {
        let name = self.name(cx);
        // A log bucket outlives the stack: kept with its logs for their
        // retention (PCI DSS 10.5.1), and with the key they are encrypted
        // with; its lifecycle still expires them.
        if !matches!(self.delivery, Delivery::None) && !cx.purges_audit_logs() {
            let (hot, keep) = match self.lifecycle {
                Lifecycle::Logs {
                    hot_days,
                    keep_days,
                } => (hot_days, keep_days),
                Lifecycle::Data { .. } => (0, 0),
            };
            return Ok(DeleteOutcome {
                kept: Some(format!(
                    "S3 bucket {name} kept with its logs (lifecycle: {hot} days hot, expired after {keep}; PCI DSS 10.5.1); a re-`up` of this environment adopts it; `paysec down --purge-audit-logs` deletes it"
                )),
                encrypted_with: match self.delivery {
                    // Server access logs are delivered only with SSE-S3.
                    Delivery::AccessLogs => None,
                    _ => cx.attr(&self.kms_key, Attr::Arn).ok().map(str::to_owned),
                },
            });
        }
        // The policy goes first: it is about to be meaningless, and moto
        // applies its deny statements to object deletes unconditionally.
        match self
            .aws
            .s3
            .delete_bucket_policy()
            .bucket(&name)
            .expected_bucket_owner(&cx.env.account)
            .send()
            .await
            .or_resource(&self.id, "DeleteBucketPolicy")
        {
            Ok(_) => {}
            Err(e) if e.class() == ErrorClass::NotFound => return Ok(DeleteOutcome::default()),
            Err(e) => return Err(e),
        }
        // S3 delivers logs late (best effort, sometimes hours): an object
        // can land between emptying and deleting. Empty again and retry.
        let deleted = retrying(&[rules::S3_BUCKET_NOT_EMPTY], || async {
            let removed = self.empty(&name, &cx.env.account).await?;
            tracing::info!(bucket = %name, removed, "emptied bucket");
            self.aws
                .s3
                .delete_bucket()
                .bucket(&name)
                .expected_bucket_owner(&cx.env.account)
                .send()
                .await
                .or_resource(&self.id, "DeleteBucket")
        })
        .await;
        not_found_is_none(deleted)?;
        Ok(DeleteOutcome::default())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::types::error::BucketAlreadyExists;
    use aws_sdk_s3::Client;
    use paysec_aws::mocked_client;
    use paysec_aws::testing::{mock, offline};
    use paysec_core::testing::{context, ACCOUNT, REGION};

    use super::*;

    /// S3 bucket names are global: a name another account holds is
    /// refused (BucketAlreadyExists, matched by its type), and `up` says
    /// what to do rather than retrying or adopting it.
    #[tokio::test]
    async fn a_name_another_account_holds_is_refused_with_what_to_do() {
        let name = format!("paysec-test-001-data-{ACCOUNT}");
        let expected = name.clone();
        let create = mock!(Client::create_bucket)
            .match_requests(move |r| {
                r.bucket() == Some(expected.as_str())
                    && r.object_ownership() == Some(&ObjectOwnership::BucketOwnerEnforced)
                    && r.create_bucket_configuration()
                        .and_then(|c| c.location_constraint())
                        == Some(&BucketLocationConstraint::from(REGION))
            })
            .then_error(|| {
                CreateBucketError::BucketAlreadyExists(BucketAlreadyExists::builder().build())
            });
        let mut aws = offline(REGION).await;
        aws.s3 = mocked_client!(aws_sdk_s3, [&create]);
        let bucket = Bucket::new(
            LogicalId::new("s3.data"),
            aws,
            "data",
            LogicalId::new("kms.s3"),
            Delivery::None,
            Lifecycle::Data {
                noncurrent_days: 90,
            },
            None,
        );
        let err = bucket
            .create(&context("s3.data", &[]))
            .await
            .expect_err("not adopted");
        assert_eq!(
            err.to_string(),
            format!("s3.data: the bucket name {name} belongs to another AWS account; choose another environment name")
        );
        assert_eq!(create.num_calls(), 1);
    }
}

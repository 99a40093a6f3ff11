//! What the bucket must hold: its default encryption, Object Lock
//! retention, lifecycle rules and policy.

use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, NoncurrentVersionExpiration, Transition, TransitionStorageClass,
};
use paysec_core::resource::Context;
use paysec_core::Attr;
use paysec_core::ResourceError;
use serde_json::Value;

use super::{Bucket, Lifecycle};
use crate::policy::{self, Delivery};

impl Bucket {
    /// The access-log bucket is encrypted with SSE-S3: S3 server access
    /// logging delivers only to buckets whose default encryption is SSE-S3
    /// (S3 user guide, "Enabling Amazon S3 server access logging"); with
    /// SSE-KMS the logs are silently not delivered. Every other bucket
    /// uses the stack's S3 key.
    pub(super) fn sse_s3(&self) -> bool {
        self.delivery == Delivery::AccessLogs
    }

    /// The days of governance-mode Object Lock every new log object gets
    /// (the lifecycle's retention): none for a data bucket, and none for
    /// the access-log bucket, since S3 refuses server access logs into a
    /// bucket with Object Lock (S3 user guide, "Object Lock
    /// considerations").
    pub(super) fn object_lock_days(&self) -> Option<i32> {
        match (self.delivery, self.lifecycle) {
            (Delivery::FlowLogs, Lifecycle::Logs { keep_days, .. }) => Some(keep_days),
            _ => None,
        }
    }

    pub(super) fn lifecycle_rules(&self) -> Vec<LifecycleRule> {
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

    /// The bucket's policy; an SSE-KMS bucket's names the stack's key.
    pub(super) fn policy(&self, cx: &Context, name: &str) -> Result<Value, ResourceError> {
        let key = match self.delivery {
            Delivery::AccessLogs => None,
            _ => Some(cx.attr(&self.kms_key, Attr::Arn)?),
        };
        Ok(policy::document(&cx.env, name, self.delivery, key))
    }
}

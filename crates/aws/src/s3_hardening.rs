//! What every bucket paysec makes shares, the stack's and the ledgers'
//! state bucket alike: all four public access blocks on, a policy that
//! refuses plain HTTP and TLS below 1.2 (PCI DSS 4.2.1), and, for a
//! versioned bucket of current data, the lifecycle rule that expires its
//! old versions.

use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, ExpirationStatus, LifecycleRule, LifecycleRuleFilter,
    NoncurrentVersionExpiration, PublicAccessBlockConfiguration,
};
use serde_json::{json, Value};

/// All four public access blocks on.
pub fn all_public_access_blocked() -> PublicAccessBlockConfiguration {
    PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build()
}

/// A versioned bucket's rule `id`: every object's earlier versions expire
/// `days` after they were replaced, and uploads left unfinished go after
/// 7 days (the data bucket's, and the state bucket's ledger history).
pub fn noncurrent_versions_expire(id: &str, days: i32) -> LifecycleRule {
    LifecycleRule::builder()
        .id(id)
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .noncurrent_version_expiration(
            NoncurrentVersionExpiration::builder()
                .noncurrent_days(days)
                .build(),
        )
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(7)
                .build(),
        )
        .build()
        // Only a missing status fails the build, and it is set above.
        .expect("a lifecycle rule with its status")
}

/// The two Deny statements of a TLS-only bucket (`bucket` is its ARN):
/// plain HTTP (`aws:SecureTransport` false), and TLS below 1.2
/// (`s3:TlsVersion`; AWS's services and log delivery use 1.2 or later).
/// A plain-HTTP request carries no `s3:TlsVersion`, hence both.
pub fn tls_only_statements(bucket: &str) -> [Value; 2] {
    let resources = [bucket.to_owned(), format!("{bucket}/*")];
    [
        json!({
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": { "AWS": "*" },
            "Action": "s3:*",
            "Resource": resources,
            "Condition": { "Bool": { "aws:SecureTransport": "false" } }
        }),
        json!({
            "Sid": "DenyTlsBelow12",
            "Effect": "Deny",
            "Principal": { "AWS": "*" },
            "Action": "s3:*",
            "Resource": resources,
            "Condition": { "NumericLessThan": { "s3:TlsVersion": "1.2" } }
        }),
    ]
}

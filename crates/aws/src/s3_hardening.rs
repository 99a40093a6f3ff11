//! What every bucket paysec makes shares, the stack's and the ledgers'
//! state bucket alike: all four public access blocks on, and a policy that
//! refuses plain HTTP and TLS below 1.2 (PCI DSS 4.2.1).

use aws_sdk_s3::types::PublicAccessBlockConfiguration;
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

//! Bucket policy documents.

use paysec_core::Environment;
use serde_json::{json, Value};

/// Which AWS log service may write into the bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    None,
    /// VPC flow logs (`delivery.logs.amazonaws.com`).
    FlowLogs,
    /// S3 server access logs (`logging.s3.amazonaws.com`) from this
    /// stack's buckets.
    AccessLogs,
}

/// The policy of bucket `name`. The log-delivery statements come first:
/// moto 5.2.5 answers HTTP 500 to PutBucketLogging when a statement with a
/// bare `"*"` principal precedes the logging service's, so the deny
/// statements also use `{"AWS": "*"}`.
/// `kms_key_arn`: the stack's S3 key, for the SSE-KMS buckets (`None` for
/// the access-log bucket, SSE-S3).
pub fn document(
    env: &Environment,
    name: &str,
    delivery: Delivery,
    kms_key_arn: Option<&str>,
) -> Value {
    let bucket = format!("arn:{}:s3:::{name}", env.partition);
    let objects = format!("{bucket}/*");
    let mut statements = Vec::new();
    match delivery {
        Delivery::None => {}
        Delivery::FlowLogs => {
            statements.push(json!({
                "Sid": "AWSLogDeliveryWrite",
                "Effect": "Allow",
                "Principal": { "Service": "delivery.logs.amazonaws.com" },
                "Action": "s3:PutObject",
                "Resource": format!("{bucket}/AWSLogs/{}/*", env.account),
                "Condition": {
                    "StringEquals": { "s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceAccount": env.account },
                    "ArnLike": { "aws:SourceArn": format!("arn:{}:logs:{}:{}:*", env.partition, env.region, env.account) }
                }
            }));
            statements.push(json!({
                "Sid": "AWSLogDeliveryAclCheck",
                "Effect": "Allow",
                "Principal": { "Service": "delivery.logs.amazonaws.com" },
                "Action": "s3:GetBucketAcl",
                "Resource": bucket,
                "Condition": {
                    "StringEquals": { "aws:SourceAccount": env.account },
                    "ArnLike": { "aws:SourceArn": format!("arn:{}:logs:{}:{}:*", env.partition, env.region, env.account) }
                }
            }));
        }
        Delivery::AccessLogs => statements.push(json!({
            "Sid": "S3ServerAccessLogsPolicy",
            "Effect": "Allow",
            "Principal": { "Service": "logging.s3.amazonaws.com" },
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": {
                "StringEquals": { "aws:SourceAccount": env.account },
                "ArnLike": { "aws:SourceArn": format!("arn:{}:s3:::{}-*", env.partition, env.names.prefix()) }
            }
        })),
    }
    // PCI DSS 4.2.1: strong cryptography only; TLS 1.0 and 1.1 are not.
    statements.extend(paysec_aws::s3_hardening::tls_only_statements(&bucket));
    // Deny only a *present* header other than the bucket's own encryption
    // (aws:kms; AES256 on the access-log bucket, which S3 server access
    // logging requires): log delivery sends none and relies on the default.
    let sse = if delivery == Delivery::AccessLogs {
        "AES256"
    } else {
        "aws:kms"
    };
    statements.push(json!({
        "Sid": "DenyWrongEncryptionHeader",
        "Effect": "Deny",
        "Principal": { "AWS": "*" },
        "Action": "s3:PutObject",
        "Resource": objects,
        "Condition": {
            "StringNotEquals": { "s3:x-amz-server-side-encryption": sse },
            "Null": { "s3:x-amz-server-side-encryption": "false" }
        }
    }));
    // A present key-id header must name the stack's key: nobody writes an
    // object encrypted with a key of theirs (which the stack's key policy
    // and rotation would not govern).
    if let Some(key) = kms_key_arn {
        statements.push(json!({
            "Sid": "DenyOtherKmsKey",
            "Effect": "Deny",
            "Principal": { "AWS": "*" },
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": {
                "StringNotEquals": { "s3:x-amz-server-side-encryption-aws-kms-key-id": key },
                "Null": { "s3:x-amz-server-side-encryption-aws-kms-key-id": "false" }
            }
        }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

#[cfg(test)]
mod tests {
    use paysec_core::naming::EnvName;

    use super::*;

    fn env() -> Environment {
        Environment::new(
            EnvName::parse("dev-001").unwrap(),
            "123456789012",
            "us-east-1",
            "aws",
        )
    }

    #[test]
    fn deny_statements_do_not_block_headerless_log_delivery() {
        let doc = document(
            &env(),
            "b",
            Delivery::FlowLogs,
            Some("arn:aws:kms:us-east-1:123456789012:key/k"),
        );
        let sts = doc["Statement"].as_array().unwrap();
        assert_eq!(
            sts[0]["Sid"], "AWSLogDeliveryWrite",
            "delivery first (moto quirk)"
        );
        let deny = sts
            .iter()
            .find(|s| s["Sid"] == "DenyWrongEncryptionHeader")
            .unwrap();
        assert_eq!(
            deny["Condition"]["Null"]["s3:x-amz-server-side-encryption"],
            "false"
        );
        assert!(!doc
            .to_string()
            .contains(r#""Null":{"s3:x-amz-server-side-encryption":"true"}"#));
        let tls = sts
            .iter()
            .find(|s| s["Sid"] == "DenyInsecureTransport")
            .unwrap();
        assert_eq!(tls["Condition"]["Bool"]["aws:SecureTransport"], "false");
        let floor = sts.iter().find(|s| s["Sid"] == "DenyTlsBelow12").unwrap();
        assert_eq!(
            floor["Condition"]["NumericLessThan"]["s3:TlsVersion"],
            "1.2"
        );
        let key = sts.iter().find(|s| s["Sid"] == "DenyOtherKmsKey").unwrap();
        assert_eq!(
            key["Condition"]["StringNotEquals"]["s3:x-amz-server-side-encryption-aws-kms-key-id"],
            "arn:aws:kms:us-east-1:123456789012:key/k"
        );
        assert_eq!(
            key["Condition"]["Null"]["s3:x-amz-server-side-encryption-aws-kms-key-id"], "false",
            "headerless log delivery not blocked"
        );
        let access_logs = document(&env(), "b", Delivery::AccessLogs, None);
        assert!(!access_logs.to_string().contains("DenyOtherKmsKey"));
    }
}

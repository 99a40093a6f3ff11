//! Bucket-policy conditions on object calls, evaluated as AWS does. moto
//! applies a bucket policy's Deny statements to object calls without
//! evaluating their conditions (`Bucket::get_permission` passes none), so
//! a hardened bucket (deny without TLS, deny TLS below 1.2, deny a wrong
//! encryption header) refuses every PutObject and GetObject, which AWS
//! serves. The proxy keeps each policy put through it, gives moto the
//! policy without its conditional Deny statements for every principal
//! (those naming a narrower principal, `NotAction` or `NotResource` stay
//! with moto), answers GetBucketPolicy with the policy as put, and judges
//! those statements itself on each object call: `403 AccessDenied` when
//! one applies.
//!
//! The request context is AWS's for the same SDK call on its HTTPS
//! endpoint (the emulator is reached over plain HTTP only because it is
//! on this machine): `aws:SecureTransport` true, `s3:TlsVersion` 1.3, and
//! the encryption headers as sent. Operators: `Bool`, `StringEquals`,
//! `StringNotEquals`, `StringLike`, `Null`, `NumericLessThan`,
//! `NumericGreaterThan`; a key the request lacks matches only a negated
//! operator and `Null` true (IAM user guide, "Condition operators"); any
//! other operator applies the Deny (as moto does now).
//! `docs/real-aws.md`, "S3 bucket-policy conditions".

use std::net::SocketAddr;

use serde_json::Value;

use crate::exchange::{strings, Call, Verdict};
use crate::memory::Memory;
use crate::ruleset::Rules;
use crate::wire::{credential_scope, header};

/// The bucket and key of a path-style object request.
fn object_of<'a>(call: &Call<'a>) -> Option<(&'a str, &'a str)> {
    let (_, target) = call.signature.split_once(' ')?;
    let path = target.split('?').next()?.trim_start_matches('/');
    let (bucket, key) = path.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then_some((bucket, key))
}

/// The bucket of a `?policy` request.
fn policy_bucket<'a>(call: &Call<'a>) -> Option<&'a str> {
    let (_, target) = call.signature.split_once(' ')?;
    let (path, query) = target.split_once('?')?;
    // The SDK writes the bucket's path with a trailing slash.
    let bucket = path.trim_matches('/');
    (query.split('&').any(|q| q == "policy" || q == "policy=")
        && !bucket.is_empty()
        && !bucket.contains('/'))
    .then_some(bucket)
}

/// `*` and `?` wildcards, as IAM matches actions, resources and
/// `StringLike`.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi].eq_ignore_ascii_case(&t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether one condition block holds for `context` (every operator and
/// key in it must).
fn holds(condition: &Value, context: &dyn Fn(&str) -> Option<String>) -> bool {
    let Some(ops) = condition.as_object() else {
        return true;
    };
    ops.iter().all(|(op, keys)| {
        keys.as_object().is_none_or(|keys| {
            keys.iter().all(|(key, wanted)| {
                let wanted = strings(wanted);
                let have = context(key);
                let any = |f: &dyn Fn(&str, &str) -> bool| {
                    have.as_deref()
                        .is_some_and(|h| wanted.iter().any(|w| f(h, w)))
                };
                let number = |s: &str| s.parse::<f64>().ok();
                match op.as_str() {
                    "Null" => wanted.iter().any(|w| (w == "true") == have.is_none()),
                    "Bool" => any(&|h, w| h.eq_ignore_ascii_case(w)),
                    "StringEquals" => any(&|h, w| h == w),
                    "StringLike" => any(&|h, w| glob(w, h)),
                    "StringNotEquals" => !any(&|h, w| h == w),
                    "NumericLessThan" => {
                        any(&|h, w| number(h).zip(number(w)).is_some_and(|(h, w)| h < w))
                    }
                    "NumericGreaterThan" => {
                        any(&|h, w| number(h).zip(number(w)).is_some_and(|(h, w)| h > w))
                    }
                    // Not modelled: the Deny applies, as moto applies it.
                    _ => true,
                }
            })
        })
    })
}

/// Whether the proxy judges statement `s` in moto's place: a Deny with a
/// condition, for every principal, naming its actions and resources (a
/// `NotAction`, `NotResource` or narrower principal stays with moto).
fn judged_here(s: &Value) -> bool {
    let everyone = s["Principal"] == "*" || s["Principal"]["AWS"] == "*";
    s["Effect"] == "Deny"
        && s.get("Condition").is_some()
        && everyone
        && s.get("Action").is_some()
        && s.get("Resource").is_some()
}

/// The policy moto is given: without the statements judged here.
fn for_moto(policy: &Value) -> Value {
    let mut out = policy.clone();
    if let Some(statements) = out["Statement"].as_array_mut() {
        statements.retain(|s| !judged_here(s));
    }
    out
}

/// An S3 ARN without its partition (`bucket/key`), so a policy written
/// for any partition matches.
fn s3_part(arn: &str) -> &str {
    arn.split_once(":s3:::").map_or(arn, |(_, rest)| rest)
}

/// Why AWS would deny `action` on `resource` under `policy`, if it would:
/// the Sid of the first conditional Deny that applies.
fn denied_by(
    policy: &Value,
    action: &str,
    resource: &str,
    context: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    policy["Statement"]
        .as_array()?
        .iter()
        .filter(|s| judged_here(s))
        .find(|s| {
            strings(&s["Action"]).iter().any(|a| glob(a, action))
                && strings(&s["Resource"])
                    .iter()
                    .any(|r| glob(s3_part(r), s3_part(resource)))
                && holds(&s["Condition"], context)
        })
        .map(|s| s["Sid"].as_str().unwrap_or("a Deny statement").to_owned())
}

fn remembered(memory: &std::sync::Mutex<Memory>, bucket: &str) -> Option<Value> {
    memory
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .bucket_policies
        .get(bucket)
        .cloned()
}

/// Keeps, answers or judges a call as the module's doc says.
pub(crate) async fn before(
    rules: &Rules,
    memory: &std::sync::Mutex<Memory>,
    upstream: SocketAddr,
    call: &Call<'_>,
) -> Option<Verdict> {
    if !rules.s3_policy_conditions || call.ec2 || credential_scope(call.head)?.service != "s3" {
        return None;
    }
    let method = call.signature.split(' ').next()?;
    if let Some(bucket) = policy_bucket(call) {
        return match method {
            "PUT" => {
                let policy: Value = serde_json::from_str(call.body).ok()?;
                let path = format!("/{bucket}?policy");
                let stripped = for_moto(&policy).to_string();
                let (ok, body) =
                    crate::exchange::send_rest(upstream, call.head, "s3", "PUT", &path, &stripped)
                        .await?;
                if !ok {
                    return Some(Verdict::Refuse(400, "MalformedPolicy", body));
                }
                memory
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .bucket_policies
                    .insert(bucket.to_owned(), policy);
                Some(Verdict::Answer(crate::with_body(
                    "HTTP/1.1 204 No Content\r\nx-amz-request-id: rules\r\n",
                    "",
                )))
            }
            "GET" => remembered(memory, bucket).map(|policy| {
                Verdict::Answer(crate::with_body(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-amz-request-id: rules\r\n",
                    &policy.to_string(),
                ))
            }),
            "DELETE" => {
                memory
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .bucket_policies
                    .remove(bucket);
                None
            }
            _ => None,
        };
    }
    let (bucket, key) = object_of(call)?;
    let policy = remembered(memory, bucket)?;
    let versioned = call
        .signature
        .split_once('?')
        .is_some_and(|(_, q)| q.split('&').any(|p| p.starts_with("versionId=")));
    let action = match (method, versioned) {
        ("PUT" | "POST", _) => "s3:PutObject",
        ("GET" | "HEAD", false) => "s3:GetObject",
        ("GET" | "HEAD", true) => "s3:GetObjectVersion",
        ("DELETE", false) => "s3:DeleteObject",
        ("DELETE", true) => "s3:DeleteObjectVersion",
        _ => return None,
    };
    let resource = format!("arn:aws:s3:::{bucket}/{key}");
    let context = |k: &str| -> Option<String> {
        match k {
            "aws:SecureTransport" => Some("true".into()),
            "s3:TlsVersion" => Some("1.3".into()),
            "s3:x-amz-server-side-encryption" => {
                header(call.head, "x-amz-server-side-encryption").map(str::to_owned)
            }
            "s3:x-amz-server-side-encryption-aws-kms-key-id" => {
                header(call.head, "x-amz-server-side-encryption-aws-kms-key-id").map(str::to_owned)
            }
            _ => None,
        }
    };
    denied_by(&policy, action, &resource, &context).map(|sid| {
        Verdict::Refuse(
            403,
            "AccessDenied",
            format!("Access Denied (explicit deny in the bucket policy: {sid})"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hardened() -> Value {
        json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
             "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            {"Sid": "DenyTlsBelow12", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
             "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}}},
            {"Sid": "DenyWrongEncryptionHeader", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:PutObject",
             "Resource": "arn:aws:s3:::b/*", "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
             "Null": {"s3:x-amz-server-side-encryption": "false"}}},
            {"Sid": "Unconditional", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:DeleteBucket", "Resource": "arn:aws:s3:::b"},
            {"Sid": "OneRole", "Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::1:role/r"}, "Action": "s3:*", "Resource": "arn:aws:s3:::b/*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
        ]})
    }

    #[test]
    fn a_hardened_bucket_serves_tls_callers_and_refuses_a_wrong_header() {
        let policy = hardened();
        let none = |_: &str| -> Option<String> { None };
        let tls = |k: &str| match k {
            "aws:SecureTransport" => Some("true".to_owned()),
            "s3:TlsVersion" => Some("1.3".to_owned()),
            _ => None,
        };
        assert_eq!(
            denied_by(&policy, "s3:PutObject", "arn:aws:s3:::b/k", &tls),
            None
        );
        assert_eq!(
            denied_by(&policy, "s3:GetObject", "arn:aws:s3:::b/k", &tls),
            None
        );
        let aes = |k: &str| match k {
            "s3:x-amz-server-side-encryption" => Some("AES256".to_owned()),
            other => tls(other),
        };
        assert_eq!(
            denied_by(&policy, "s3:PutObject", "arn:aws:s3:::b/k", &aes).as_deref(),
            Some("DenyWrongEncryptionHeader")
        );
        // A key the request lacks: only a negated operator matches.
        assert_eq!(
            denied_by(&policy, "s3:GetObject", "arn:aws:s3:::b/k", &none),
            None
        );
        let plain = |k: &str| match k {
            "aws:SecureTransport" => Some("false".to_owned()),
            _ => None,
        };
        assert_eq!(
            denied_by(&policy, "s3:GetObject", "arn:aws:s3:::b/k", &plain).as_deref(),
            Some("DenyInsecureTransport")
        );
        // moto keeps what is not judged here: the unconditional Deny, and
        // one for a narrower principal (the proxy knows no caller's ARN).
        let kept = for_moto(&policy);
        let sids: Vec<&Value> = kept["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| &s["Sid"])
            .collect();
        assert_eq!(sids, ["Unconditional", "OneRole"]);
        // Another partition's ARN matches the same bucket.
        assert_eq!(
            denied_by(&policy, "s3:GetObject", "arn:aws-cn:s3:::b/k", &plain).as_deref(),
            Some("DenyInsecureTransport")
        );
    }

    #[test]
    fn globs_match_as_iam_does() {
        assert!(glob("s3:*", "s3:PutObject"));
        assert!(glob("arn:aws:s3:::b/*", "arn:aws:s3:::b/unsigned/x.zip"));
        assert!(!glob("arn:aws:s3:::b/*", "arn:aws:s3:::bb/x"));
        assert!(glob("s3:Get?bject", "s3:GetObject"));
    }
}

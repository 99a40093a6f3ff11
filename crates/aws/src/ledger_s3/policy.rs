//! The state bucket's policy: read back to refuse grants outside the
//! owner's account (on every run), and the TLS-only statements `ledger
//! init` writes and checks.

use crate::classify::one_line;

use super::errors::{other, status};

/// The state bucket's policy: TLS only, 1.2 or later.
pub(super) fn tls_only_policy(partition: &str, bucket: &str) -> String {
    let statements =
        crate::s3_hardening::tls_only_statements(&format!("arn:{partition}:s3:::{bucket}"));
    serde_json::json!({ "Version": "2012-10-17", "Statement": statements }).to_string()
}

/// The state bucket's policy, if it has one. A policy that is not JSON
/// is an error: its grants cannot be read.
pub(super) async fn bucket_policy(
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
pub(super) fn outside_grant_text(outsider: &str, owner: &str) -> String {
    format!(
        "its policy allows {outsider}, outside account {owner} (the ledgers hold create tokens and external ids: only the owner's account may reach them)"
    )
}

/// The principals an `Allow` statement of a bucket policy names outside
/// account `owner`: `*` (anyone), another account's root or ARN, a
/// service. Conditions are not read: a grant to anyone is refused even if
/// a condition narrows it, since only the owner's account may reach the
/// ledgers.
pub(super) fn outside_grants(doc: &serde_json::Value, owner: &str) -> Vec<String> {
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
pub(super) fn denies_plain_http(doc: &serde_json::Value) -> bool {
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

//! KMS tag values: CreateKey and TagResource with a value KMS does not
//! take are refused `TagException`.

use crate::exchange::{Call, Verdict};
use crate::wire::credential_scope;
use serde_json::Value;

/// KMS's refusal of a CreateKey or TagResource whose tag value KMS does not
/// take: over 256 characters, or a character outside letters, digits,
/// spaces and `_.:/=+-@` (KMS API reference, `Tag`: `TagValue`).
pub(super) fn kms_tag_refusal(call: &Call<'_>) -> Option<Verdict> {
    if !matches!(call.signature, "CreateKey" | "TagResource")
        || credential_scope(call.head).is_some_and(|s| s.service != "kms")
    {
        return None;
    }
    let body: Value = serde_json::from_str(call.body).ok()?;
    let tags = body["Tags"].as_array()?;
    for (n, tag) in tags.iter().enumerate() {
        let value = tag["TagValue"].as_str().unwrap_or_default();
        let takes = |c: char| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c);
        if value.chars().count() > 256 || !value.chars().all(takes) {
            return Some(Verdict::Refuse(
                400,
                "TagException",
                format!(
                    "1 validation error detected: Value at 'tags.{}.member.tagValue' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([\\p{{L}}\\p{{Z}}\\p{{N}}_.:/=+\\-@]*)$ and length at most 256",
                    n + 1
                ),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kms_refuses_a_tag_value_it_cannot_hold() {
        let body = |v: &str| {
            serde_json::json!({"Tags": [{"TagKey": "k", "TagValue": "ok"}, {"TagKey": "paysec:key-admins", "TagValue": v}]}).to_string()
        };
        let refused = |v: &str| {
            let b = body(v);
            matches!(
                kms_tag_refusal(&Call::of("TagResource", &b)),
                Some(Verdict::Refuse(400, "TagException", m)) if m.contains("tags.2.member.tagValue")
            )
        };
        assert!(refused("arn:aws:iam::1:role/a,arn:aws:iam::1:role/b"));
        assert!(refused(&"a".repeat(257)));
        assert!(!refused("arn:aws:iam::1:role/a arn:aws:iam::1:role/b"));
        let b = body("x,y");
        assert!(kms_tag_refusal(&Call::of("CreateRole", &b)).is_none());
    }
}

//! STS AssumeRole as AWS decides it, for the rules layer: moto hands out a
//! session of any role ARN, one that does not exist or whose trust policy
//! does not name the caller included. AWS refuses both with the same
//! `AccessDenied` (HTTP 403, "User: CALLER is not authorized to perform:
//! sts:AssumeRole on resource: ROLE"), whether or not the role exists.
//!
//! Its parameters first: a `RoleSessionName` of 2 to 64 characters of
//! `[\w+=,.@-]` and an `ExternalId` of 2 to 1224 of `[\w+=,.@:/-]`, else
//! `ValidationError` (moto checks only the session name's length).
//!
//! What is evaluated: the role must exist in the account its ARN names
//! (looked up there: moto answers as the account an `x-moto-account-id`
//! header names); an `Allow` statement of its trust policy must grant
//! `sts:AssumeRole` (or `sts:*`, `*`) to the caller (`*`, the caller's
//! account as its id or `:root` ARN, the caller's role, or its exact user
//! or session ARN), and no `Deny` statement may. Of conditions only
//! `StringEquals` on `sts:ExternalId` is understood; a statement with any
//! other condition is treated as not matching, so a trust policy the
//! layer cannot judge fails a test instead of passing unread. Not modelled:
//! the caller's own identity policy, which a cross-account AssumeRole also
//! needs (moto's callers are allowed everything), and session duration.

use std::net::SocketAddr;

use serde_json::Value;

use crate::exchange::{ask, form, form_get, iam_identity, percent_decode, statements, strings};
use crate::exchange::{Call, Verdict};
use crate::wire::between;

/// AWS's refusal of this AssumeRole, or `None` where AWS would allow it
/// (or the layer cannot read what it needs: the emulator decides then).
pub(crate) async fn refusal(upstream: SocketAddr, call: &Call<'_>) -> Option<Verdict> {
    let pairs = form(call.body);
    let role_arn = form_get(&pairs, "RoleArn")?;
    let external_id = form_get(&pairs, "ExternalId");
    let session = form_get(&pairs, "RoleSessionName").unwrap_or_default();
    let invalid = [
        ("roleSessionName", Some(session), 2..=64, "[\\w+=,.@-]*", "_+=,.@-"),
        ("externalId", external_id.clone(), 2..=1224, "[\\w+=,.@:/-]*", "_+=,.@:/-"),
    ]
    .into_iter()
    .find_map(|(field, value, lengths, pattern, punctuation)| {
        let value = value?;
        let allowed = |c: char| c.is_ascii_alphanumeric() || punctuation.contains(c);
        if !lengths.contains(&value.len()) {
            Some(format!("1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must have length between {} and {}", lengths.start(), lengths.end()))
        } else if !value.chars().all(allowed) {
            Some(format!("1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern}"))
        } else {
            None
        }
    });
    if let Some(message) = invalid {
        return Some(Verdict::Refuse(400, "ValidationError", message));
    }
    let (account, kind, name) = iam_identity(&role_arn)?;
    if kind != "role" {
        return None;
    }
    let (ok, body) = ask(
        upstream,
        call.head,
        "sts",
        "Action=GetCallerIdentity&Version=2011-06-15",
        None,
    )
    .await?;
    let caller = between(&body, "<Arn>", "</Arn>").filter(|_| ok)?.to_owned();
    let caller_account = between(&body, "<Account>", "</Account>")?.to_owned();
    let refused = Verdict::Refuse(
        403,
        "AccessDenied",
        format!(
            "User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
        ),
    );
    let (found, role) = ask(
        upstream,
        call.head,
        "iam",
        &format!("Action=GetRole&RoleName={name}&Version=2010-05-08"),
        Some(&account),
    )
    .await?;
    if !found {
        return Some(refused);
    }
    let document = between(
        &role,
        "<AssumeRolePolicyDocument>",
        "</AssumeRolePolicyDocument>",
    )?;
    // The XML's escapes first, then the URL encoding IAM gives policy
    // documents in its answers.
    let trust: Value = serde_json::from_str(&percent_decode(&xml_unescape(document))).ok()?;
    let caller = Caller {
        arn: &caller,
        account: &caller_account,
    };
    (!allows(&trust, &caller, external_id.as_deref())).then_some(refused)
}

/// Who asks, as GetCallerIdentity names them.
pub(crate) struct Caller<'a> {
    pub arn: &'a str,
    pub account: &'a str,
}

/// Whether `trust` lets `caller` assume the role, given the request's
/// external id.
pub(crate) fn allows(trust: &Value, caller: &Caller<'_>, external_id: Option<&str>) -> bool {
    let applies = |s: &Value| {
        strings(&s["Action"]).iter().any(|a| {
            let a = a.to_ascii_lowercase();
            a == "sts:assumerole" || a == "sts:*" || a == "*"
        }) && names(&s["Principal"], caller)
            && conditions_met(&s["Condition"], external_id)
    };
    let effect = |s: &Value, e: &str| s["Effect"].as_str() == Some(e);
    let statements = statements(trust);
    let denied = statements.iter().any(|s| effect(s, "Deny") && applies(s));
    let allowed = statements.iter().any(|s| effect(s, "Allow") && applies(s));
    allowed && !denied
}

/// Whether a statement's `Principal` names the caller.
fn names(principal: &Value, caller: &Caller<'_>) -> bool {
    if principal.as_str() == Some("*") {
        return true;
    }
    strings(&principal["AWS"]).iter().any(|p| {
        if p == "*" || p == caller.account || p == caller.arn {
            return true;
        }
        let parts: Vec<&str> = p.splitn(6, ':').collect();
        let [_, _, "iam", _, account, resource] = parts.as_slice() else {
            return false;
        };
        if *account != caller.account {
            return false;
        }
        if *resource == "root" {
            return true;
        }
        // A role names every session of it; a session ARN shows the role's
        // name but not its path.
        let session_role = caller
            .arn
            .split_once(":assumed-role/")
            .and_then(|(_, rest)| rest.split('/').next());
        match resource.strip_prefix("role/") {
            Some(role) => session_role == role.rsplit('/').next(),
            None => false,
        }
    })
}

/// Whether a statement's conditions hold: none, or `StringEquals` on
/// `sts:ExternalId` that the request's external id meets.
fn conditions_met(condition: &Value, external_id: Option<&str>) -> bool {
    let Some(operators) = condition.as_object() else {
        return condition.is_null();
    };
    operators.iter().all(|(operator, keys)| {
        operator == "StringEquals"
            && keys.as_object().is_some_and(|keys| {
                keys.iter().all(|(key, values)| {
                    key.eq_ignore_ascii_case("sts:ExternalId")
                        && external_id.is_some_and(|id| strings(values).iter().any(|v| v == id))
                })
            })
    })
}

fn xml_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SESSION: Caller<'static> = Caller {
        arn: "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Dev_0123/dev@example.com",
        account: "123456789012",
    };

    fn trust(principal: Value, condition: Option<Value>) -> Value {
        let mut statement = json!({
            "Effect": "Allow",
            "Principal": principal,
            "Action": "sts:AssumeRole"
        });
        if let Some(c) = condition {
            statement["Condition"] = c;
        }
        json!({ "Version": "2012-10-17", "Statement": [statement] })
    }

    #[test]
    fn the_callers_account_its_role_or_anyone_is_trusted_and_another_account_is_not() {
        for principal in [
            json!({ "AWS": "arn:aws:iam::123456789012:root" }),
            json!({ "AWS": "123456789012" }),
            json!({ "AWS": ["arn:aws:iam::999999999999:root", "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Dev_0123"] }),
            json!("*"),
        ] {
            assert!(
                allows(&trust(principal.clone(), None), &SESSION, None),
                "{principal}"
            );
        }
        for principal in [
            json!({ "AWS": "arn:aws:iam::999999999999:root" }),
            json!({ "AWS": "arn:aws:iam::123456789012:role/SomeoneElse" }),
            json!({ "Service": "lambda.amazonaws.com" }),
        ] {
            assert!(
                !allows(&trust(principal.clone(), None), &SESSION, None),
                "{principal}"
            );
        }
    }

    #[test]
    fn an_external_id_the_trust_requires_must_be_given_and_match() {
        let t = trust(
            json!({ "AWS": "arn:aws:iam::123456789012:root" }),
            Some(json!({ "StringEquals": { "sts:ExternalId": "s3cr3t-id-0001" } })),
        );
        assert!(allows(&t, &SESSION, Some("s3cr3t-id-0001")));
        assert!(!allows(&t, &SESSION, None));
        assert!(!allows(&t, &SESSION, Some("another-id")));
    }

    #[test]
    fn a_deny_wins_and_a_condition_the_layer_cannot_judge_does_not_match() {
        let mut t = trust(json!({ "AWS": "123456789012" }), None);
        t["Statement"].as_array_mut().unwrap().push(json!({
            "Effect": "Deny",
            "Principal": { "AWS": "*" },
            "Action": "sts:*"
        }));
        assert!(!allows(&t, &SESSION, None));
        let unjudged = trust(
            json!({ "AWS": "123456789012" }),
            Some(json!({ "Bool": { "aws:MultiFactorAuthPresent": "true" } })),
        );
        assert!(!allows(&unjudged, &SESSION, None));
    }
}

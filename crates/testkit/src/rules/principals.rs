//! Principals must exist: the policy documents a request sets, and the
//! first IAM role or user of the caller's account in them that does not.

use std::net::SocketAddr;

use crate::exchange::{ask, aws_principals, caller_account, form, form_get, iam_identity, Call};
use crate::memory::Memory;
use crate::wire::between;
use serde_json::Value;

/// The policy documents a request sets, with the words its service refuses
/// an invalid principal in.
pub(super) fn policies_of(
    call: &Call<'_>,
) -> Option<(Vec<Value>, u16, &'static str, &'static str)> {
    let json = |s: &str| serde_json::from_str::<Value>(s).ok();
    match call.signature {
        "CreateKey" | "PutKeyPolicy" => {
            let body = json(call.body)?;
            let policy = json(body["Policy"].as_str()?)?;
            Some((
                vec![policy],
                400,
                "MalformedPolicyDocumentException",
                "Policy contains a statement with one or more invalid principals.",
            ))
        }
        "CreateRole" | "UpdateAssumeRolePolicy" if !call.ec2 => {
            let pairs = form(call.body);
            let doc = form_get(&pairs, "AssumeRolePolicyDocument")
                .or_else(|| form_get(&pairs, "PolicyDocument"))?;
            Some((
                vec![json(&doc)?],
                400,
                "MalformedPolicyDocument",
                "Invalid principal in policy",
            ))
        }
        "CreateQueue" | "SetQueueAttributes" => {
            let body = json(call.body)?;
            let policy = json(body["Attributes"]["Policy"].as_str()?)?;
            Some((
                vec![policy],
                400,
                "InvalidAttributeValue",
                "Invalid value for the parameter Policy.",
            ))
        }
        "SetTopicAttributes" => {
            let pairs = form(call.body);
            if form_get(&pairs, "AttributeName").as_deref() != Some("Policy") {
                return None;
            }
            let doc = form_get(&pairs, "AttributeValue")?;
            Some((
                vec![json(&doc)?],
                400,
                "InvalidParameter",
                "Invalid parameter: Policy Error: PrincipalNotFound",
            ))
        }
        s if s.starts_with("PUT /") && s.contains("?policy") => Some((
            vec![json(call.body)?],
            400,
            "MalformedPolicy",
            "Invalid principal in policy",
        )),
        _ => None,
    }
}

/// The first principal of `policies` that AWS would refuse: an IAM role or
/// user of the caller's own account that does not exist with exactly that
/// ARN. Principals of other accounts cannot be seen from here and pass.
pub(super) async fn invalid_principal(
    memory: &std::sync::Mutex<Memory>,
    upstream: SocketAddr,
    head: &str,
    policies: &[Value],
) -> Option<String> {
    let account = caller_account(memory, upstream, head).await?;
    for principal in policies.iter().flat_map(aws_principals) {
        let Some((owner, kind, name)) = iam_identity(&principal) else {
            continue;
        };
        if owner != account {
            continue;
        }
        let action = if kind == "role" {
            "GetRole&RoleName"
        } else {
            "GetUser&UserName"
        };
        let (ok, body) = ask(
            upstream,
            head,
            "iam",
            &format!("Action={action}={name}&Version=2010-05-08"),
            None,
        )
        .await?;
        let arn = ok.then(|| between(&body, "<Arn>", "</Arn>")).flatten();
        if arn != Some(principal.as_str()) {
            return Some(principal);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_are_found_in_every_form() {
        let doc: Value = serde_json::from_str(
            r#"{"Statement":[{"Principal":{"AWS":"arn:aws:iam::1:role/a"}},{"Principal":{"AWS":["arn:aws:iam::1:root","2"]}},{"Principal":"*"},{"NotPrincipal":{"AWS":"arn:aws:iam::1:user/u"}},{"Principal":{"Service":"logs.amazonaws.com"}}]}"#,
        )
        .unwrap();
        assert_eq!(
            aws_principals(&doc),
            [
                "arn:aws:iam::1:role/a",
                "arn:aws:iam::1:root",
                "2",
                "arn:aws:iam::1:user/u"
            ]
        );
        let single: Value = serde_json::from_str(
            r#"{"Statement":{"Principal":{"AWS":"arn:aws:iam::1:role/p/a"}}}"#,
        )
        .unwrap();
        assert_eq!(aws_principals(&single), ["arn:aws:iam::1:role/p/a"]);
    }

    #[test]
    fn only_roles_and_users_are_looked_up() {
        assert_eq!(
            iam_identity("arn:aws:iam::123:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_A_1"),
            Some(("123".into(), "role", "AWSReservedSSO_A_1".into()))
        );
        assert_eq!(iam_identity("arn:aws:iam::123:root"), None);
        assert_eq!(iam_identity("arn:aws:sts::123:assumed-role/R/s"), None);
        assert_eq!(iam_identity("*"), None);
    }
}

//! API Gateway's REST API rules where moto 5.2.5 is lenient (each in
//! `docs/real-aws.md`):
//!
//! | rule | what the proxy does |
//! |---|---|
//! | the TLS security policy is kept | CreateRestApi's `securityPolicy` and `endpointAccessMode`, and UpdateRestApi's patches of them, are remembered and shown in GetRestApi and GetRestApis; moto drops both |
//! | an enhanced policy needs an access mode | a `SecurityPolicy_*` without `endpointAccessMode` is refused with `BadRequestException` |
//! | the policy comes back escaped | GetRestApi's `policy` is the document with its quotes and slashes backslash-escaped, as API Gateway returns it; moto returns it as stored |
//! | a private API needs a policy to deploy | CreateDeployment of a PRIVATE API without a resource policy is refused with `BadRequestException`; moto deploys it |
//! | access logs need the account's role | a stage update or create with `accessLogSettings` while the account has no `cloudwatchRoleArn` is refused with `BadRequestException`; moto accepts it |
//!
//! Sources: API Gateway API reference (CreateRestApi, UpdateStage,
//! CreateDeployment, GetAccount); developer guide, "Security policies for
//! REST APIs" (endpoint access mode); terraform-provider-aws
//! `aws_api_gateway_rest_api` (`flattenAPIPolicy`: "The API returns
//! policy as an escaped JSON string") and its issues on private API
//! deployments without a policy.

use std::net::SocketAddr;

use serde_json::Value;

use crate::rules::{ask_rest, Call, Memory, Rules, Verdict};
use crate::wire::credential_scope;

/// An API Gateway call's method and path segments, query left out.
fn route<'a>(call: &'a Call<'_>) -> Option<(&'a str, Vec<&'a str>)> {
    let scope = credential_scope(call.head)?;
    if scope.service != "apigateway" {
        return None;
    }
    let (method, target) = call.signature.split_once(' ')?;
    let path = target.split('?').next()?;
    Some((
        method,
        path.trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .collect(),
    ))
}

fn bad_request(message: &str) -> Verdict {
    Verdict::Refuse(400, "BadRequestException", message.to_owned())
}

/// Decides an API Gateway call before it reaches the emulator.
pub(crate) async fn before(
    rules: &Rules,
    upstream: SocketAddr,
    call: &Call<'_>,
) -> Option<Verdict> {
    if !rules.apigateway_rules {
        return None;
    }
    let (method, path) = route(call)?;
    let body: Value = serde_json::from_str(call.body).unwrap_or(Value::Null);
    match (method, path.as_slice()) {
        ("POST", ["restapis"]) => {
            let enhanced = body["securityPolicy"]
                .as_str()
                .is_some_and(|p| p.starts_with("SecurityPolicy_"));
            (enhanced && body["endpointAccessMode"].is_null()).then(|| {
                bad_request("Endpoint access mode is required for the specified security policy")
            })
        }
        ("POST", ["restapis", api, "deployments"]) => {
            let (ok, answer) = ask_rest(
                upstream,
                call.head,
                "apigateway",
                "GET",
                &format!("/restapis/{api}"),
            )
            .await?;
            let api: Value = serde_json::from_str(&answer).ok()?;
            let private = api["endpointConfiguration"]["types"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == "PRIVATE"));
            let policy = api["policy"].as_str().unwrap_or_default();
            (ok && private && policy.is_empty()).then(|| {
                bad_request("Private REST API doesn't have a resource policy attached to it")
            })
        }
        ("POST", ["restapis", _, "stages"]) | ("PATCH", ["restapis", _, "stages", _])
            if call.body.contains("accessLogSettings") =>
        {
            let (ok, answer) =
                ask_rest(upstream, call.head, "apigateway", "GET", "/account").await?;
            let account: Value = serde_json::from_str(&answer).ok()?;
            let role = account["cloudwatchRoleArn"].as_str().unwrap_or_default();
            (ok && role.is_empty()).then(|| {
                bad_request(
                    "CloudWatch Logs role ARN must be set in account settings to enable logging",
                )
            })
        }
        _ => None,
    }
}

/// Remembers the security policies and shows them, and escapes the
/// policy in GetRestApi's answer: returns the answer rewritten, if it is
/// one to rewrite.
pub(crate) fn after(
    rules: &Rules,
    m: &mut Memory,
    call: &Call<'_>,
    head: &str,
    body: &str,
) -> Option<Vec<u8>> {
    if !rules.apigateway_rules {
        return None;
    }
    let (method, path) = route(call)?;
    let mut answer: Value = serde_json::from_str(body).ok()?;
    match (method, path.as_slice()) {
        ("POST", ["restapis"]) => {
            let sent: Value = serde_json::from_str(call.body).ok()?;
            let id = answer["id"].as_str()?.to_owned();
            let tls = (
                sent["securityPolicy"].as_str().map(str::to_owned),
                sent["endpointAccessMode"].as_str().map(str::to_owned),
            );
            m.api_tls.insert(id, tls);
            show(m, &mut answer);
        }
        ("PATCH", ["restapis", api]) => {
            let sent: Value = serde_json::from_str(call.body).ok()?;
            let tls = m.api_tls.entry((*api).to_owned()).or_default();
            for op in sent["patchOperations"].as_array().into_iter().flatten() {
                let value = op["value"].as_str().map(str::to_owned);
                match op["path"].as_str() {
                    Some("/securityPolicy") => tls.0 = value,
                    Some("/endpointAccessMode") => tls.1 = value,
                    _ => {}
                }
            }
            show(m, &mut answer);
            escape_policy(&mut answer);
        }
        ("GET", ["restapis", _]) => {
            show(m, &mut answer);
            escape_policy(&mut answer);
        }
        ("GET", ["restapis"]) => {
            for item in answer["item"].as_array_mut().into_iter().flatten() {
                show(m, item);
                escape_policy(item);
            }
        }
        _ => return None,
    }
    Some(crate::with_new_body(head, &answer.to_string()))
}

/// Puts the remembered security policy and access mode into an API.
fn show(m: &Memory, api: &mut Value) {
    let Some(id) = api["id"].as_str() else {
        return;
    };
    let Some((policy, mode)) = m.api_tls.get(id).cloned() else {
        return;
    };
    let Some(api) = api.as_object_mut() else {
        return;
    };
    for (key, value) in [("securityPolicy", policy), ("endpointAccessMode", mode)] {
        match value {
            Some(v) => api.insert(key.into(), Value::from(v)),
            None => api.remove(key),
        };
    }
}

/// The policy with its quotes and slashes escaped, as API Gateway
/// answers it.
fn escape_policy(api: &mut Value) {
    if let Some(policy) = api["policy"].as_str().filter(|p| !p.is_empty()) {
        let escaped = policy.replace('"', "\\\"").replace('/', "\\/");
        api["policy"] = Value::from(escaped);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_is_escaped_as_api_gateway_returns_it() {
        let mut api = serde_json::json!({"id": "a1", "policy": "{\"Resource\":\"arn:aws:execute-api:r:1:a1/*\"}"});
        escape_policy(&mut api);
        assert_eq!(
            api["policy"],
            r#"{\"Resource\":\"arn:aws:execute-api:r:1:a1\/*\"}"#
        );
    }

    #[test]
    fn the_remembered_security_policy_is_shown() {
        let mut m = Memory::default();
        m.api_tls.insert(
            "a1".into(),
            (
                Some("SecurityPolicy_TLS13_1_3_2025_09".into()),
                Some("STRICT".into()),
            ),
        );
        let mut api = serde_json::json!({"id": "a1"});
        show(&m, &mut api);
        assert_eq!(api["securityPolicy"], "SecurityPolicy_TLS13_1_3_2025_09");
        assert_eq!(api["endpointAccessMode"], "STRICT");
    }
}

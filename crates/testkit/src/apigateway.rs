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
//! | a new logging role is not usable at once | UpdateAccount naming a `cloudwatchRoleArn` whose role was created or given policies less than `iam_permission_propagation` ago is refused with `BadRequestException` "The role ARN does not have required permissions set to API Gateway"; moto accepts it |
//! | control-plane rates | per account, CreateRestApi once per 3 s, CreateDeployment once per 5 s, DeleteRestApi once per 30 s, UpdateAccount once per 20 s (AWS's figures; the suite divides them by ten); a call sooner is refused with HTTP 429 `TooManyRequestsException`; moto has no rates |
//!
//! Sources: API Gateway API reference (CreateRestApi, UpdateStage,
//! CreateDeployment, GetAccount); developer guide, "Security policies for
//! REST APIs" (endpoint access mode); terraform-provider-aws
//! `aws_api_gateway_rest_api` (`flattenAPIPolicy`: "The API returns
//! policy as an escaped JSON string") and its issues on private API
//! deployments without a policy; `aws_api_gateway_account` (UpdateAccount
//! retried while "The role ARN does not have required permissions");
//! API Gateway developer guide, "Amazon API Gateway quotas" (the
//! management operations' per-account rates).

use std::net::SocketAddr;

use serde_json::Value;
use tokio::time::Instant;

use crate::exchange::{ask_rest, caller_account, Call, Verdict};
use crate::memory::Memory;
use crate::ruleset::Rules;
use crate::wire::credential_scope;

/// The rated operation a call is, if it is one.
fn rated(method: &str, path: &[&str]) -> Option<&'static str> {
    match (method, path) {
        ("POST", ["restapis"]) => Some("CreateRestApi"),
        ("POST", ["restapis", _, "deployments"]) => Some("CreateDeployment"),
        ("DELETE", ["restapis", _]) => Some("DeleteRestApi"),
        ("PATCH", ["account"]) => Some("UpdateAccount"),
        _ => None,
    }
}

/// A rated operation called sooner than its rate allows in the caller's
/// account is refused; one let through starts the next interval.
async fn over_rate(
    rules: &Rules,
    memory: &std::sync::Mutex<Memory>,
    upstream: SocketAddr,
    call: &Call<'_>,
    operation: &'static str,
) -> Option<Verdict> {
    let every = rules
        .apigateway_rate_limits
        .iter()
        .find(|(op, _)| *op == operation)?
        .1;
    let account = caller_account(memory, upstream, call.head).await?;
    let mut m = memory.lock().unwrap_or_else(|p| p.into_inner());
    let now = Instant::now();
    let key = (account, operation);
    if m.api_rates
        .get(&key)
        .is_some_and(|last| now.duration_since(*last) < every)
    {
        return Some(Verdict::Refuse(
            429,
            "TooManyRequestsException",
            "Too Many Requests".into(),
        ));
    }
    m.api_rates.insert(key, now);
    None
}

/// UpdateAccount naming a role whose permissions have not propagated.
fn young_logging_role(
    rules: &Rules,
    memory: &std::sync::Mutex<Memory>,
    body: &Value,
) -> Option<Verdict> {
    let role = body["patchOperations"]
        .as_array()?
        .iter()
        .find(|op| op["path"] == "/cloudwatchRoleArn")?["value"]
        .as_str()?
        .rsplit('/')
        .next()?
        .to_owned();
    let young = memory
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .permissions
        .get(&role)
        .is_some_and(|t| t.elapsed() < rules.iam_permission_propagation);
    young.then(|| bad_request("The role ARN does not have required permissions set to API Gateway"))
}

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
    memory: &std::sync::Mutex<Memory>,
    upstream: SocketAddr,
    call: &Call<'_>,
) -> Option<Verdict> {
    let (method, path) = route(call)?;
    if let Some(operation) = rated(method, &path) {
        if let Some(refusal) = over_rate(rules, memory, upstream, call, operation).await {
            return Some(refusal);
        }
    }
    if !rules.apigateway_rules {
        return None;
    }
    let body: Value = serde_json::from_str(call.body).unwrap_or(Value::Null);
    match (method, path.as_slice()) {
        ("PATCH", ["account"]) => young_logging_role(rules, memory, &body),
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

    #[test]
    fn only_the_rated_operations_are_rated() {
        assert_eq!(rated("POST", &["restapis"]), Some("CreateRestApi"));
        assert_eq!(
            rated("POST", &["restapis", "a1", "deployments"]),
            Some("CreateDeployment")
        );
        assert_eq!(rated("DELETE", &["restapis", "a1"]), Some("DeleteRestApi"));
        assert_eq!(rated("PATCH", &["account"]), Some("UpdateAccount"));
        assert_eq!(rated("PATCH", &["restapis", "a1"]), None);
        assert_eq!(rated("GET", &["account"]), None);
    }

    #[test]
    fn a_logging_role_is_refused_until_its_permissions_propagate() {
        let rules = Rules::aws();
        let memory = std::sync::Mutex::new(Memory::default());
        let body = serde_json::json!({"patchOperations": [
            {"op": "replace", "path": "/cloudwatchRoleArn", "value": "arn:aws:iam::1:role/logs"}
        ]});
        assert!(
            young_logging_role(&rules, &memory, &body).is_none(),
            "a role the layer never saw made is taken as old"
        );
        memory
            .lock()
            .unwrap()
            .permissions
            .insert("logs".into(), Instant::now());
        let Some(Verdict::Refuse(400, code, message)) = young_logging_role(&rules, &memory, &body)
        else {
            panic!("a role given policies just now is refused");
        };
        assert_eq!(code, "BadRequestException");
        assert!(message.contains("does not have required permissions"));
        memory.lock().unwrap().permissions.insert(
            "logs".into(),
            Instant::now() - rules.iam_permission_propagation,
        );
        assert!(
            young_logging_role(&rules, &memory, &body).is_none(),
            "propagated"
        );
    }
}

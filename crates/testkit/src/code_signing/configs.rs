//! Lambda's code signing configurations as AWS keeps them: Create, Get,
//! Update, List, tags and Delete, and a function's configuration (Put, Get,
//! Delete).

use std::net::SocketAddr;

use serde_json::{json, Value};

use super::{answer, invalid, not_found, signing, where_called, FUNCTIONS};
use crate::exchange::{ask_rest, percent_decode, Call, Verdict};
use crate::memory::Memory;

pub(super) async fn configs(
    memory: &std::sync::Mutex<Memory>,
    upstream: SocketAddr,
    call: &Call<'_>,
    method: &str,
    arn: &str,
) -> Verdict {
    let body: Value = serde_json::from_str(call.body).unwrap_or_default();
    let gone = || {
        not_found(format!(
            "The Lambda code signing configuration {arn} can not be found."
        ))
    };
    match (method, arn.is_empty()) {
        ("POST", true) => {
            let arns = &body["AllowedPublishers"]["SigningProfileVersionArns"];
            let count = arns.as_array().map_or(0, Vec::len);
            if !(1..=20).contains(&count) {
                return invalid(
                    "AllowedPublishers.SigningProfileVersionArns must hold 1 to 20 ARNs",
                );
            }
            let policy = body["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"]
                .as_str()
                .unwrap_or("Warn");
            if !matches!(policy, "Warn" | "Enforce") {
                return invalid("UntrustedArtifactOnDeployment must be Warn or Enforce");
            }
            let description = body["Description"].as_str().unwrap_or_default();
            if description.chars().count() > 256 {
                return invalid("Description must be at most 256 characters");
            }
            let Some((region, account)) = where_called(memory, upstream, call.head).await else {
                return Verdict::Refuse(403, "AccessDeniedException", "no caller".into());
            };
            signing(memory, |s| {
                s.made += 1;
                let id = format!("csc-{:017x}", s.made);
                let arn = format!("arn:aws:lambda:{region}:{account}:code-signing-config:{id}");
                let config = json!({
                    "CodeSigningConfigId": id,
                    "CodeSigningConfigArn": arn,
                    "Description": description,
                    "AllowedPublishers": { "SigningProfileVersionArns": arns },
                    "CodeSigningPolicies": { "UntrustedArtifactOnDeployment": policy },
                    "LastModified": "2026-12-07T00:00:00.000+0000",
                });
                s.configs.insert(arn.clone(), config.clone());
                s.tags
                    .insert(arn, body["Tags"].as_object().cloned().unwrap_or_default());
                answer(201, &json!({ "CodeSigningConfig": config }))
            })
        }
        ("GET", true) => signing(memory, |s| {
            let mut all: Vec<&Value> = s.configs.values().collect();
            all.sort_by_key(|c| c["CodeSigningConfigArn"].as_str().map(str::to_owned));
            answer(200, &json!({ "CodeSigningConfigs": all }))
        }),
        ("GET", false) => signing(memory, |s| match s.configs.get(arn) {
            Some(config) => answer(200, &json!({ "CodeSigningConfig": config })),
            None => gone(),
        }),
        ("PUT", false) => signing(memory, |s| {
            let Some(config) = s.configs.get_mut(arn) else {
                return gone();
            };
            if let Some(arns) = body["AllowedPublishers"]["SigningProfileVersionArns"].as_array() {
                if !(1..=20).contains(&arns.len()) {
                    return invalid(
                        "AllowedPublishers.SigningProfileVersionArns must hold 1 to 20 ARNs",
                    );
                }
                config["AllowedPublishers"]["SigningProfileVersionArns"] = json!(arns);
            }
            if let Some(policy) =
                body["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"].as_str()
            {
                if !matches!(policy, "Warn" | "Enforce") {
                    return invalid("UntrustedArtifactOnDeployment must be Warn or Enforce");
                }
                config["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"] = json!(policy);
            }
            if let Some(description) = body["Description"].as_str() {
                config["Description"] = json!(description);
            }
            answer(200, &json!({ "CodeSigningConfig": config }))
        }),
        ("DELETE", false) => {
            let users: Vec<String> = signing(memory, |s| {
                s.functions
                    .iter()
                    .filter(|(_, used)| used.as_str() == arn)
                    .map(|(f, _)| f.clone())
                    .collect()
            });
            // A function deleted out of sight of the proxy uses nothing.
            for f in users {
                let path = format!("{FUNCTIONS}/{f}");
                if let Some((true, _)) = ask_rest(upstream, call.head, "lambda", "GET", &path).await
                {
                    return Verdict::Refuse(
                        409,
                        "ResourceConflictException",
                        format!("The code signing configuration {arn} is used by function {f}; detach it first"),
                    );
                }
                signing(memory, |s| s.functions.remove(&f));
            }
            signing(memory, |s| {
                if s.configs.remove(arn).is_none() {
                    return gone();
                }
                s.tags.remove(arn);
                answer(204, &Value::Null)
            })
        }
        _ => invalid("unsupported code signing configuration call"),
    }
}

pub(super) fn config_tags(
    memory: &std::sync::Mutex<Memory>,
    call: &Call<'_>,
    method: &str,
    arn: &str,
    query: &str,
) -> Verdict {
    signing(memory, |s| {
        let Some(tags) = s.tags.get_mut(arn) else {
            return not_found(format!(
                "The Lambda code signing configuration {arn} can not be found."
            ));
        };
        match method {
            "GET" => answer(200, &json!({ "Tags": tags })),
            "POST" => {
                let body: Value = serde_json::from_str(call.body).unwrap_or_default();
                for (k, v) in body["Tags"].as_object().into_iter().flatten() {
                    tags.insert(k.clone(), v.clone());
                }
                answer(204, &Value::Null)
            }
            "DELETE" => {
                for key in query
                    .split('&')
                    .filter_map(|kv| kv.strip_prefix("tagKeys="))
                {
                    tags.remove(&percent_decode(key));
                }
                answer(204, &Value::Null)
            }
            _ => invalid("unsupported tagging call"),
        }
    })
}

pub(super) async fn function_config(
    memory: &std::sync::Mutex<Memory>,
    upstream: SocketAddr,
    call: &Call<'_>,
    method: &str,
    name: &str,
) -> Verdict {
    match method {
        "PUT" => {
            let body: Value = serde_json::from_str(call.body).unwrap_or_default();
            let arn = body["CodeSigningConfigArn"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if !signing(memory, |s| s.configs.contains_key(&arn)) {
                return Verdict::Refuse(
                    404,
                    "CodeSigningConfigNotFoundException",
                    format!("The code signing configuration cannot be found. Check that the provided configuration is not deleted: {arn}."),
                );
            }
            let path = format!("{FUNCTIONS}/{name}");
            if !matches!(
                ask_rest(upstream, call.head, "lambda", "GET", &path).await,
                Some((true, _))
            ) {
                let (region, account) = where_called(memory, upstream, call.head)
                    .await
                    .unwrap_or_default();
                return not_found(format!(
                    "Function not found: arn:aws:lambda:{region}:{account}:function:{name}"
                ));
            }
            signing(memory, |s| s.functions.insert(name.to_owned(), arn.clone()));
            answer(
                200,
                &json!({ "CodeSigningConfigArn": arn, "FunctionName": name }),
            )
        }
        "GET" => match signing(memory, |s| s.functions.get(name).cloned()) {
            Some(arn) => answer(
                200,
                &json!({ "CodeSigningConfigArn": arn, "FunctionName": name }),
            ),
            None => answer(200, &json!({})),
        },
        "DELETE" => {
            signing(memory, |s| s.functions.remove(name));
            answer(204, &Value::Null)
        }
        _ => invalid("unsupported function code signing call"),
    }
}

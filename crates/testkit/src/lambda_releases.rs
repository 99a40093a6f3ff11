//! Lambda's release rules where moto 5.2.5 is lenient (each in
//! `docs/real-aws.md`):
//!
//! | rule | what the proxy does |
//! |---|---|
//! | an update takes time | after UpdateFunctionCode or UpdateFunctionConfiguration, for `lambda_update_time`, `$LATEST` reads `LastUpdateStatus: InProgress` and another update or PublishVersion is refused with `ResourceConflictException` ("An update is in progress"); moto answers `Successful` at once |
//! | PublishVersion's `CodeSha256` | a PublishVersion whose `CodeSha256` is not `$LATEST`'s is refused with `PreconditionFailedException`; moto ignores the parameter |
//! | an alias holds its version | DeleteFunction of a version an alias points to is refused with `ResourceConflictException`; moto deletes it |
//!
//! Sources: Lambda API reference (UpdateFunctionCode, PublishVersion,
//! DeleteFunction); Lambda developer guide, "Lambda function states"
//! (`LastUpdateStatus`); terraform-provider-aws `aws_lambda_function`
//! (`waitFunctionUpdated` after every code or configuration update).

use std::net::SocketAddr;

use serde_json::Value;
use tokio::time::Instant;

use crate::rules::{ask_rest, percent_decode, Call, Memory, Rules, Verdict};

const FUNCTIONS: &str = "/2015-03-31/functions/";

/// The function a Lambda REST call names, and what follows its name
/// (`""`, `"/code"`, `"/configuration"`, `"/versions"`...), with its
/// query string, for `method`.
fn target<'a>(signature: &'a str, method: &str) -> Option<(String, &'a str, &'a str)> {
    let rest = signature.strip_prefix(method)?.strip_prefix(' ')?;
    let rest = rest.strip_prefix(FUNCTIONS)?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (name, tail) = match path.find('/') {
        Some(i) => (&path[..i], &path[i..]),
        None => (path, ""),
    };
    let name = percent_decode(name)
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    (!name.is_empty()).then_some((name, tail, query))
}

fn qualifier(query: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("Qualifier="))
        .map(percent_decode)
}

/// A call that changes `$LATEST` or publishes it.
fn changes_function(call: &Call<'_>) -> Option<String> {
    if let Some((name, tail, _)) = target(call.signature, "PUT") {
        if tail == "/code" || tail == "/configuration" {
            return Some(name);
        }
    }
    match target(call.signature, "POST") {
        Some((name, "/versions", _)) => Some(name),
        _ => None,
    }
}

/// Decides a Lambda call before it reaches the emulator.
pub(crate) async fn before(
    rules: &Rules,
    memory: &std::sync::Mutex<Memory>,
    upstream: SocketAddr,
    call: &Call<'_>,
) -> Option<Verdict> {
    if !rules.lambda_update_time.is_zero() {
        if let Some(name) = changes_function(call) {
            let busy = memory
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .lambda_updates
                .get(&name)
                .is_some_and(|until| Instant::now() < *until);
            if busy {
                return Some(Verdict::Refuse(
                    409,
                    "ResourceConflictException",
                    format!("The operation cannot be performed at this time. An update is in progress for resource: arn:aws:lambda:us-east-1:123456789012:function:{name}"),
                ));
            }
        }
    }
    if rules.lambda_release_rules {
        if let Some((name, "/versions", _)) = target(call.signature, "POST") {
            let wanted = serde_json::from_str::<Value>(call.body)
                .ok()
                .and_then(|b| b["CodeSha256"].as_str().map(str::to_owned));
            if let Some(wanted) = wanted {
                let (ok, body) = ask_rest(
                    upstream,
                    call.head,
                    "lambda",
                    "GET",
                    &format!("{FUNCTIONS}{name}/configuration"),
                )
                .await?;
                let latest = serde_json::from_str::<Value>(&body).ok()?;
                let latest = latest["CodeSha256"].as_str().unwrap_or_default();
                if ok && latest != wanted {
                    return Some(Verdict::Refuse(
                        412,
                        "PreconditionFailedException",
                        format!("CodeSHA256 ({wanted}) is different from current CodeSHA256 in $LATEST ({latest}). Please try again with the current CodeSHA256."),
                    ));
                }
            }
        }
        if let Some((name, "", query)) = target(call.signature, "DELETE") {
            if let Some(version) = qualifier(query) {
                let (ok, body) = ask_rest(
                    upstream,
                    call.head,
                    "lambda",
                    "GET",
                    &format!("{FUNCTIONS}{name}/aliases"),
                )
                .await?;
                let aliases = serde_json::from_str::<Value>(&body).ok()?;
                let holding: Vec<String> = aliases["Aliases"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|a| a["FunctionVersion"].as_str() == Some(version.as_str()))
                    .filter_map(|a| a["Name"].as_str().map(str::to_owned))
                    .collect();
                if ok && !holding.is_empty() {
                    return Some(Verdict::Refuse(
                        409,
                        "ResourceConflictException",
                        format!(
                            "Unable to delete version because the following aliases reference it: [{}]",
                            holding.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    None
}

/// Notes an update that succeeded, and shows `$LATEST` updating while it
/// lasts: returns the answer rewritten, if it is one to rewrite.
pub(crate) fn after(
    rules: &Rules,
    m: &mut Memory,
    call: &Call<'_>,
    head: &str,
    body: &str,
) -> Option<Vec<u8>> {
    if rules.lambda_update_time.is_zero() {
        return None;
    }
    let now = Instant::now();
    if let Some((name, tail, _)) = target(call.signature, "PUT") {
        if tail == "/code" || tail == "/configuration" {
            m.lambda_updates
                .insert(name, now + rules.lambda_update_time);
            return in_progress(head, body, false);
        }
        return None;
    }
    let (name, tail, query) = target(call.signature, "GET")?;
    let of_latest = qualifier(query).is_none_or(|q| q == "$LATEST");
    let updating = m
        .lambda_updates
        .get(&name)
        .is_some_and(|until| now < *until);
    if !(of_latest && updating) {
        return None;
    }
    match tail {
        "/configuration" => in_progress(head, body, false),
        "" => in_progress(head, body, true),
        _ => None,
    }
}

/// The answer with `LastUpdateStatus: InProgress` (in `Configuration` for
/// GetFunction's).
fn in_progress(head: &str, body: &str, nested: bool) -> Option<Vec<u8>> {
    let mut v: Value = serde_json::from_str(body).ok()?;
    let cfg = if nested {
        &mut v["Configuration"]
    } else {
        &mut v
    };
    let cfg = cfg.as_object_mut()?;
    cfg.insert("LastUpdateStatus".into(), Value::from("InProgress"));
    Some(crate::with_new_body(head, &v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_paths_name_their_function_and_part() {
        assert_eq!(
            target("PUT /2015-03-31/functions/pay-dev-1/code", "PUT"),
            Some(("pay-dev-1".into(), "/code", ""))
        );
        assert_eq!(
            target("DELETE /2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Apay?Qualifier=3", "DELETE"),
            Some(("pay".into(), "", "Qualifier=3"))
        );
        assert_eq!(qualifier("Qualifier=%24LATEST"), Some("$LATEST".into()));
        assert_eq!(target("GET /2015-03-31/functions/pay/code", "PUT"), None);
    }

    #[test]
    fn an_answer_is_shown_in_progress() {
        let out = in_progress(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 30\r\n",
            r#"{"Configuration":{"State":"Active"}}"#,
            true,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(r#""LastUpdateStatus":"InProgress""#),
            "{text}"
        );
        assert!(text.contains("Content-Length: "), "{text}");
    }
}

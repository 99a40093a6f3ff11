//! Lambda's release rules where moto 5.2.5 is lenient (each in
//! `docs/real-aws.md`):
//!
//! | rule | what the proxy does |
//! |---|---|
//! | an update takes time | after UpdateFunctionCode or UpdateFunctionConfiguration, for `lambda_update_time`, `$LATEST` reads `LastUpdateStatus: InProgress` and another update or PublishVersion is refused with `ResourceConflictException` ("An update is in progress"); moto answers `Successful` at once |
//! | PublishVersion's `CodeSha256` | a PublishVersion whose `CodeSha256` is not `$LATEST`'s is refused with `PreconditionFailedException`; moto ignores the parameter |
//! | an alias holds its version | DeleteFunction of a version an alias points to is refused with `ResourceConflictException`; moto deletes it |
//! | permissions wait for an update | AddPermission and RemovePermission during an update in progress are refused with `ResourceConflictException` ("The operation cannot be performed at this time"); moto accepts them |
//! | a statement id is unique | AddPermission with a `StatementId` the function's (or qualifier's) policy already holds is refused with `ResourceConflictException` ("The statement id (...) provided already exists"); moto appends a second statement of that id |
//!
//! Sources: Lambda API reference (UpdateFunctionCode, PublishVersion,
//! DeleteFunction, AddPermission, RemovePermission); Lambda developer
//! guide, "Lambda function states" (`LastUpdateStatus`);
//! terraform-provider-aws `aws_lambda_function` (`waitFunctionUpdated`
//! after every code or configuration update) and `aws_lambda_permission`
//! (AddPermission retried on `ResourceConflictException` while the
//! function updates).

use std::net::SocketAddr;

use serde_json::Value;
use tokio::time::Instant;

use crate::exchange::{ask_rest, percent_decode, Call, Verdict};
use crate::memory::Memory;
use crate::ruleset::Rules;

const FUNCTIONS: &str = "/2015-03-31/functions/";

/// The function a Lambda REST call names, and what follows its name
/// (`""`, `"/code"`, `"/configuration"`, `"/versions"`...), with its
/// query string, for `method`.
pub(crate) fn target<'a>(signature: &'a str, method: &str) -> Option<(String, &'a str, &'a str)> {
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

pub(crate) fn qualifier(query: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("Qualifier="))
        .map(percent_decode)
}

/// A call that changes `$LATEST`, publishes it, or changes a policy of
/// the function: each refused while an update is in progress.
fn changes_function(call: &Call<'_>) -> Option<String> {
    if let Some((name, tail, _)) = target(call.signature, "PUT") {
        if tail == "/code" || tail == "/configuration" {
            return Some(name);
        }
    }
    if let Some((name, tail, _)) = target(call.signature, "DELETE") {
        if tail.starts_with("/policy/") {
            return Some(name);
        }
    }
    match target(call.signature, "POST") {
        Some((name, "/versions" | "/policy", _)) => Some(name),
        _ => None,
    }
}

/// AddPermission naming a statement id the policy already holds: AWS's
/// refusal (moto appends a second statement of that id).
async fn duplicate_statement(upstream: SocketAddr, call: &Call<'_>) -> Option<Verdict> {
    let (name, "/policy", query) = target(call.signature, "POST")? else {
        return None;
    };
    let sid = serde_json::from_str::<Value>(call.body).ok()?["StatementId"]
        .as_str()?
        .to_owned();
    let path = match qualifier(query) {
        Some(q) => format!("{FUNCTIONS}{name}/policy?Qualifier={q}"),
        None => format!("{FUNCTIONS}{name}/policy"),
    };
    let (ok, body) = ask_rest(upstream, call.head, "lambda", "GET", &path).await?;
    let answer: Value = serde_json::from_str(&body).ok()?;
    let policy: Value = serde_json::from_str(answer["Policy"].as_str()?).ok()?;
    let held = policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|s| s["Sid"].as_str() == Some(sid.as_str()));
    (ok && held).then(|| {
        Verdict::Refuse(
            409,
            "ResourceConflictException",
            format!("The statement id ({sid}) provided already exists. Please specify a new statement id, or remove the existing statement."),
        )
    })
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
        if let Some(refusal) = duplicate_statement(upstream, call).await {
            return Some(refusal);
        }
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
    fn permission_changes_wait_for_an_update_but_reads_do_not() {
        let changes = |sig| changes_function(&Call::of(sig, ""));
        for sig in [
            "POST /2015-03-31/functions/pay/policy?Qualifier=live",
            "DELETE /2015-03-31/functions/pay/policy/paysec-api?Qualifier=live",
            "PUT /2015-03-31/functions/pay/code",
            "POST /2015-03-31/functions/pay/versions",
        ] {
            assert_eq!(changes(sig), Some("pay".into()), "{sig}");
        }
        assert_eq!(
            changes("GET /2015-03-31/functions/pay/policy?Qualifier=live"),
            None
        );
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

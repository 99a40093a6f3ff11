//! What every rule works with: the call as the rules see it ([`Call`]),
//! their verdict ([`Verdict`]), the request's form and policy documents
//! read, and questions put to the emulator behind the proxy (`ask`,
//! `ask_rest`, the caller's account).

use std::net::SocketAddr;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::memory::Memory;
use crate::wire::{between, credential_scope, header, Scope};

pub(crate) const XML_OK: &str =
    "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nx-amzn-RequestId: rules\r\n";

/// The request as the rules see it.
pub(crate) struct Call<'a> {
    pub head: &'a str,
    pub body: &'a str,
    pub signature: &'a str,
    pub ec2: bool,
}

#[cfg(test)]
impl<'a> Call<'a> {
    /// A call of the given signature and body, for unit tests.
    pub(crate) fn of(signature: &'a str, body: &'a str) -> Self {
        Self {
            head: "",
            body,
            signature,
            ec2: false,
        }
    }
}

/// A refusal or an answer of the rules' own: (status, code, message) or a
/// whole HTTP answer.
pub(crate) enum Verdict {
    Refuse(u16, &'static str, String),
    Answer(Vec<u8>),
}

/// Decodes `%XX` escapes (and `+` as a space) of a form-encoded value.
pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            // Read as bytes: a body that is not text (an S3 object) may
            // hold `%` before a character of several bytes.
            b'%' if i + 2 < b.len() => match std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            {
                Some(v) => {
                    out.push(v);
                    i += 3;
                }
                None => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The pairs of a form-encoded body, decoded.
pub(crate) fn form(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

pub(crate) fn form_get(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// A policy document's statements (one, or a list).
pub(crate) fn statements(policy: &Value) -> Vec<Value> {
    match &policy["Statement"] {
        Value::Array(a) => a.clone(),
        s @ Value::Object(_) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// A policy element that is one string or a list of them.
pub(crate) fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// Every AWS principal (`"AWS": ...`, in `Principal` or `NotPrincipal`) of
/// a policy document.
pub(crate) fn aws_principals(policy: &Value) -> Vec<String> {
    statements(policy)
        .iter()
        .flat_map(|s| ["Principal", "NotPrincipal"].map(|key| strings(&s[key]["AWS"])))
        .flatten()
        .collect()
}

/// An IAM role or user principal that must exist: (account, "role"|"user",
/// name, the whole ARN).
pub(crate) fn iam_identity(principal: &str) -> Option<(String, &'static str, String)> {
    let parts: Vec<&str> = principal.splitn(6, ':').collect();
    if parts.len() != 6 || parts[2] != "iam" {
        return None;
    }
    let kind = if parts[5].starts_with("role/") {
        "role"
    } else if parts[5].starts_with("user/") {
        "user"
    } else {
        return None;
    };
    let name = parts[5].rsplit('/').next()?.to_owned();
    Some((parts[4].to_owned(), kind, name))
}

/// One query-protocol call to the emulator as the request's own caller
/// (the emulator does not check signatures; it maps the access key to an
/// account), or, with `account`, as that account (moto's
/// `x-moto-account-id`). Returns whether it succeeded, and the answer's
/// body.
pub(crate) async fn ask(
    upstream: SocketAddr,
    head: &str,
    service: &str,
    body: &str,
    account: Option<&str>,
) -> Option<(bool, String)> {
    let as_account = account
        .map(|a| format!("x-moto-account-id: {a}\r\n"))
        .unwrap_or_default();
    let headers =
        format!("Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n{as_account}");
    send_as_caller(upstream, head, service, "POST", "/", &headers, body).await
}

/// One REST call (Lambda's, S3's) to the emulator as the request's own
/// caller, signed for `service`; whether it succeeded, and the answer's
/// body.
pub(crate) async fn ask_rest(
    upstream: SocketAddr,
    head: &str,
    service: &str,
    method: &str,
    path: &str,
) -> Option<(bool, String)> {
    send_as_caller(upstream, head, service, method, path, "", "").await
}

/// [`ask_rest`] as `account` (moto's `x-moto-account-id`).
pub(crate) async fn ask_rest_as(
    upstream: SocketAddr,
    head: &str,
    service: &str,
    method: &str,
    path: &str,
    account: &str,
) -> Option<(bool, String)> {
    let headers = format!("x-moto-account-id: {account}\r\n");
    send_as_caller(upstream, head, service, method, path, &headers, "").await
}

/// A REST request with a body to the emulator, as the caller.
pub(crate) async fn send_rest(
    upstream: SocketAddr,
    head: &str,
    service: &str,
    method: &str,
    path: &str,
    body: &str,
) -> Option<(bool, String)> {
    send_as_caller(upstream, head, service, method, path, "", body).await
}

/// One request to the emulator signed with the caller's access key (the
/// emulator checks no signature; it maps the key to an account); whether
/// it succeeded, and the answer's body.
async fn send_as_caller(
    upstream: SocketAddr,
    head: &str,
    service: &str,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> Option<(bool, String)> {
    let Scope { key, region, .. } = credential_scope(head)?;
    let token = header(head, "x-amz-security-token")
        .map(|t| format!("X-Amz-Security-Token: {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {upstream}\r\n{headers}Authorization: AWS4-HMAC-SHA256 Credential={key}/20260101/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0\r\n{token}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut conn = TcpStream::connect(upstream).await.ok()?;
    conn.write_all(request.as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.ok()?;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let ok = crate::wire::succeeded(&answer);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((ok, body))
}

/// The account of the caller whose request `head` is (asked of the
/// emulator once per access key).
pub(crate) async fn caller_account(
    memory: &std::sync::Mutex<Memory>,
    upstream: SocketAddr,
    head: &str,
) -> Option<String> {
    let key = credential_scope(head)?.key.to_owned();
    let known = memory
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .accounts
        .get(&key)
        .cloned();
    let account = match known {
        Some(a) => a,
        None => {
            let (ok, body) = ask(
                upstream,
                head,
                "sts",
                "Action=GetCallerIdentity&Version=2011-06-15",
                None,
            )
            .await?;
            let account = between(&body, "<Account>", "</Account>")
                .filter(|_| ok)?
                .to_owned();
            memory
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .accounts
                .insert(key, account.clone());
            account
        }
    };
    Some(account)
}

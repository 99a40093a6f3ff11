//! Code signing, where both emulators fall short: moto 5.2.5 has no
//! StartSigningJob or DescribeSigningJob and no Lambda code signing
//! configurations; LocalStack keeps configurations but has no Signer and
//! checks no signature. The proxy answers these calls itself, as AWS
//! does, and holds Lambda to a configuration's policy (each rule in
//! `docs/real-aws.md`):
//!
//! | rule | what the proxy does |
//! |---|---|
//! | StartSigningJob | a profile name outside `[a-zA-Z0-9_]{2,64}` is `ValidationException`, an unknown profile `ResourceNotFoundException` ("profile with name X does not exist"); the same `clientRequestToken` answers the first job again; the job reads `InProgress` for `signing_time`, then `Failed` (a source bucket without versioning, a missing object version, a profile not `Active`, a package already signed or not a zip) or `Succeeded`, the signed package at the destination's `prefix + jobId + ".zip"` |
//! | DescribeSigningJob | the job as it stands; an unknown id is `ResourceNotFoundException` |
//! | GetSigningProfile | an unknown profile is `ResourceNotFoundException` (moto: HTTP 500) |
//! | code signing configurations | Create (1 to 20 profile version ARNs, `Warn` or `Enforce`, `Warn` by default; 201), Get, Update, List, tags, Delete (`ResourceConflictException` while a function uses it); a function's Put (the configuration checked first, `CodeSigningConfigNotFoundException`, then the function), Get (an empty answer without one), Delete |
//! | Enforce | CreateFunction or UpdateFunctionCode of a function whose configuration enforces, with a package not signed by one of its profile versions, is refused `CodeVerificationFailedException` and nothing changes; a signed package altered after signing is refused `InvalidCodeSignatureException` under either policy |
//! | what runs is signed | a function's configuration whose `CodeSha256` is a package Lambda verified names its `SigningProfileVersionArn` and `SigningJobArn` (GetFunction, GetFunctionConfiguration, ListVersionsByFunction, and the configuration CreateFunction and UpdateFunctionCode answer) |
//!
//! A signature here is a claim in the package's zip comment (the profile
//! version, the job and the SHA-256 of the package before signing), so a
//! signed package is still a zip Lambda takes, and any change to its
//! contents breaks the digest.
//!
//! Sources: Signer API reference (StartSigningJob, DescribeSigningJob,
//! GetSigningProfile) and developer guide ("Signing jobs for Lambda"); the
//! Lambda API reference (CreateCodeSigningConfig and the calls beside it,
//! CreateFunction and UpdateFunctionCode's `CodeVerificationFailedException`
//! and `InvalidCodeSignatureException`, `FunctionConfiguration`) and
//! developer guide ("Configuring code signing"); terraform-provider-aws
//! `aws_signer_signing_job` (the SuccessfulSigningJob waiter, the signed
//! object read back from the job) and `aws_lambda_code_signing_config`.
//! The message of DeleteCodeSigningConfig's refusal is not documented:
//! its code is the one the API names for a resource in use.

mod configs;
mod deploy;
mod package;
mod signer;

pub(crate) use deploy::after;

use configs::{config_tags, configs, function_config};
use deploy::functions;
use signer::signer;

use std::net::SocketAddr;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::exchange::{caller_account, percent_decode, Call, Verdict};
use crate::memory::{Memory, Signing};
use crate::ruleset::Rules;
use crate::wire::{credential_scope, header};

/// The Signer platform that signs Lambda packages.
pub const LAMBDA_PLATFORM: &str = "AWSLambda-SHA384-ECDSA";

const CONFIGS: &str = "/2020-04-22/code-signing-configs";
const FUNCTIONS_2020: &str = "/2020-06-30/functions/";
const FUNCTIONS: &str = "/2015-03-31/functions";
const TAGS: &str = "/2017-03-31/tags/";

/// One S3 request to the emulator with a body of bytes, signed with the
/// caller's key; whether it succeeded, and the answer's body as bytes.
async fn s3_bytes(
    upstream: SocketAddr,
    head: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> Option<(bool, Vec<u8>)> {
    let scope = credential_scope(head)?;
    let token = header(head, "x-amz-security-token")
        .map(|t| format!("X-Amz-Security-Token: {t}\r\n"))
        .unwrap_or_default();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {upstream}\r\nAuthorization: AWS4-HMAC-SHA256 Credential={}/20260101/{}/s3/aws4_request, SignedHeaders=host, Signature=0\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD\r\n{token}Content-Length: {}\r\nConnection: close\r\n\r\n",
        scope.key,
        scope.region,
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    let mut conn = TcpStream::connect(upstream).await.ok()?;
    conn.write_all(&request).await.ok()?;
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.ok()?;
    let at = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    Some((crate::wire::succeeded(&answer), answer[at + 4..].to_vec()))
}

/// A JSON answer of the proxy's own.
fn answer(status: u16, body: &Value) -> Verdict {
    let text = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    Verdict::Answer(crate::with_body(
        &format!(
            "HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nx-amzn-RequestId: rules\r\n"
        ),
        &text,
    ))
}

fn not_found(message: String) -> Verdict {
    Verdict::Refuse(404, "ResourceNotFoundException", message)
}

fn invalid(message: &str) -> Verdict {
    Verdict::Refuse(400, "InvalidParameterValueException", message.to_owned())
}

/// The caller's region and account, as ARNs name them.
async fn where_called(
    memory: &std::sync::Mutex<Memory>,
    upstream: SocketAddr,
    head: &str,
) -> Option<(String, String)> {
    let region = credential_scope(head)?.region.to_owned();
    let account = caller_account(memory, upstream, head).await?;
    Some((region, account))
}

fn signing<T>(memory: &std::sync::Mutex<Memory>, f: impl FnOnce(&mut Signing) -> T) -> T {
    let mut m = memory.lock().unwrap_or_else(|p| p.into_inner());
    f(&mut m.signing)
}

/// Decides a Signer or Lambda call about code signing before it reaches
/// the emulator.
pub(crate) async fn before(
    rules: &Rules,
    memory: &std::sync::Mutex<Memory>,
    upstream: SocketAddr,
    call: &Call<'_>,
) -> Option<Verdict> {
    if !rules.code_signing {
        return None;
    }
    let service = credential_scope(call.head)?.service.to_owned();
    let (method, target) = call.signature.split_once(' ')?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    match service.as_str() {
        "signer" => signer(rules, memory, upstream, call, method, path).await,
        "lambda" => lambda(memory, upstream, call, method, path, query).await,
        _ => None,
    }
}

async fn lambda(
    memory: &std::sync::Mutex<Memory>,
    upstream: SocketAddr,
    call: &Call<'_>,
    method: &str,
    path: &str,
    query: &str,
) -> Option<Verdict> {
    if let Some(rest) = path.strip_prefix(CONFIGS) {
        let arn = percent_decode(rest.trim_start_matches('/'));
        return Some(configs(memory, upstream, call, method, &arn).await);
    }
    if let Some(rest) = path.strip_prefix(FUNCTIONS_2020) {
        let name = percent_decode(rest.strip_suffix("/code-signing-config")?);
        let name = name.rsplit(':').next().unwrap_or_default().to_owned();
        return Some(function_config(memory, upstream, call, method, &name).await);
    }
    if let Some(arn) = path.strip_prefix(TAGS) {
        let arn = percent_decode(arn);
        if arn.contains(":code-signing-config:") {
            return Some(config_tags(memory, call, method, &arn, query));
        }
        return None;
    }
    if path.starts_with(FUNCTIONS) {
        return functions(memory, upstream, call).await;
    }
    None
}

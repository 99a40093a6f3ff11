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

use std::net::SocketAddr;

use serde_json::{json, Value};
use sha2::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::exchange::{ask_rest, caller_account, percent_decode, Call, Verdict};
use crate::lambda_releases::{qualifier, target};
use crate::memory::{Job, Memory, Signing};
use crate::ruleset::Rules;
use crate::wire::{credential_scope, header};

/// The start of a signature in a package's zip comment.
const SIGNATURE: &[u8] = b"paysec-testkit-signature:";
/// The Signer platform that signs Lambda packages.
pub const LAMBDA_PLATFORM: &str = "AWSLambda-SHA384-ECDSA";

const CONFIGS: &str = "/2020-04-22/code-signing-configs";
const FUNCTIONS_2020: &str = "/2020-06-30/functions/";
const FUNCTIONS: &str = "/2015-03-31/functions";
const TAGS: &str = "/2017-03-31/tags/";

/// The position of a zip's end-of-central-directory record.
fn end_record(zip: &[u8]) -> Option<usize> {
    let earliest = zip.len().saturating_sub(22 + usize::from(u16::MAX));
    (earliest..=zip.len().checked_sub(22)?)
        .rev()
        .find(|&i| zip[i..].starts_with(b"PK\x05\x06"))
}

/// The package as it was before signing (its comment removed), and the
/// comment.
fn split_comment(zip: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let at = end_record(zip)?;
    let len = usize::from(u16::from_le_bytes([zip[at + 20], zip[at + 21]]));
    let comment = zip.get(at + 22..at + 22 + len)?;
    let mut unsigned = zip[..at + 20].to_vec();
    unsigned.extend_from_slice(&[0, 0]);
    Some((unsigned, comment))
}

fn sha256_hex(data: &[u8]) -> String {
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Lambda's `CodeSha256` of a package: base64 SHA-256.
fn code_sha256(data: &[u8]) -> String {
    aws_smithy_types::base64::encode(sha2::Sha256::digest(data))
}

/// `package` signed for `profile_version_arn` by `job_arn`; `Err` says why
/// Signer refuses it.
pub(crate) fn sign(
    package: &[u8],
    profile_version_arn: &str,
    job_arn: &str,
) -> Result<Vec<u8>, String> {
    let Some((unsigned, comment)) = split_comment(package) else {
        return Err("The package is not a valid zip file".into());
    };
    if comment.starts_with(SIGNATURE) {
        return Err("The package already has a signature".into());
    }
    let claim = json!({
        "profile_version_arn": profile_version_arn,
        "job_arn": job_arn,
        "sha256": sha256_hex(&unsigned),
    })
    .to_string();
    let mut comment = SIGNATURE.to_vec();
    comment.extend_from_slice(claim.as_bytes());
    let len = u16::try_from(comment.len()).map_err(|_| "signature too long".to_owned())?;
    let mut signed = unsigned[..unsigned.len() - 2].to_vec();
    signed.extend_from_slice(&len.to_le_bytes());
    signed.extend_from_slice(&comment);
    Ok(signed)
}

/// A package's signature: `None` unsigned, `Some(Err)` altered after
/// signing, `Some(Ok((profile version ARN, job ARN)))`.
pub(crate) fn signature(package: &[u8]) -> Option<Result<(String, String), ()>> {
    let (unsigned, comment) = split_comment(package)?;
    let claim = comment.strip_prefix(SIGNATURE)?;
    let Ok(claim) = serde_json::from_slice::<Value>(claim) else {
        return Some(Err(()));
    };
    if claim["sha256"].as_str() != Some(sha256_hex(&unsigned).as_str()) {
        return Some(Err(()));
    }
    Some(Ok((
        claim["profile_version_arn"].as_str()?.to_owned(),
        claim["job_arn"].as_str()?.to_owned(),
    )))
}

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

async fn signer(
    rules: &Rules,
    memory: &std::sync::Mutex<Memory>,
    upstream: SocketAddr,
    call: &Call<'_>,
    method: &str,
    path: &str,
) -> Option<Verdict> {
    match (method, path) {
        ("POST", "/signing-jobs") => Some(start_job(rules, memory, upstream, call).await),
        ("GET", p) if p.starts_with("/signing-jobs/") => {
            let id = percent_decode(&p["/signing-jobs/".len()..]);
            Some(signing(memory, |s| match s.jobs.get(&id) {
                None => not_found(format!("The signing job {id} does not exist")),
                Some(job) => {
                    let mut described = job.described.clone();
                    if Instant::now() < job.done_at {
                        described["status"] = json!("InProgress");
                    } else {
                        match &job.outcome {
                            Ok((bucket, key)) => {
                                described["status"] = json!("Succeeded");
                                described["statusReason"] = json!("Signing Succeeded");
                                described["signedObject"] =
                                    json!({ "s3": { "bucketName": bucket, "key": key } });
                            }
                            Err(why) => {
                                described["status"] = json!("Failed");
                                described["statusReason"] = json!(why);
                            }
                        }
                    }
                    answer(200, &described)
                }
            }))
        }
        // moto answers an unknown profile with HTTP 500; AWS with
        // ResourceNotFoundException (Signer API reference,
        // GetSigningProfile: Errors), which a caller must be able to tell
        // from a failure.
        ("GET", p)
            if p.starts_with("/signing-profiles/")
                && !p["/signing-profiles/".len()..].contains('/') =>
        {
            let name = percent_decode(&p["/signing-profiles/".len()..]);
            match ask_rest(upstream, call.head, "signer", "GET", p).await {
                Some((true, _)) => None,
                _ => Some(not_found(format!(
                    "profile with name {name} does not exist"
                ))),
            }
        }
        _ => None,
    }
}

async fn start_job(
    rules: &Rules,
    memory: &std::sync::Mutex<Memory>,
    upstream: SocketAddr,
    call: &Call<'_>,
) -> Verdict {
    let body: Value = serde_json::from_str(call.body).unwrap_or_default();
    let profile = body["profileName"].as_str().unwrap_or_default().to_owned();
    let source = &body["source"]["s3"];
    let (Some(bucket), Some(key), Some(version)) = (
        source["bucketName"].as_str(),
        source["key"].as_str(),
        source["version"].as_str(),
    ) else {
        return Verdict::Refuse(
            400,
            "ValidationException",
            "source.s3 needs bucketName, key and version".into(),
        );
    };
    let Some(destination) = body["destination"]["s3"]["bucketName"].as_str() else {
        return Verdict::Refuse(
            400,
            "ValidationException",
            "destination.s3.bucketName is required".into(),
        );
    };
    let prefix = body["destination"]["s3"]["prefix"]
        .as_str()
        .unwrap_or_default();
    let named_well = (2..=64).contains(&profile.len())
        && profile
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !named_well {
        return Verdict::Refuse(
            400,
            "ValidationException",
            format!("1 validation error detected: Value '{profile}' at 'profileName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9_]{{2,}}"),
        );
    }
    let token = body["clientRequestToken"].as_str().map(str::to_owned);
    let Some((region, account)) = where_called(memory, upstream, call.head).await else {
        return Verdict::Refuse(403, "AccessDeniedException", "no caller".into());
    };
    if let Some(token) = &token {
        if let Some(id) = signing(memory, |s| s.tokens.get(token).cloned()) {
            return answer(200, &json!({ "jobId": id, "jobOwner": account }));
        }
    }
    let Some((true, text)) = ask_rest(
        upstream,
        call.head,
        "signer",
        "GET",
        &format!("/signing-profiles/{profile}"),
    )
    .await
    else {
        return not_found(format!("profile with name {profile} does not exist"));
    };
    let found: Value = serde_json::from_str(&text).unwrap_or_default();
    let profile_version = found["profileVersion"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let version_arn = found["profileVersionArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let id = signing(memory, |s| {
        s.made += 1;
        format!("{:08x}-0000-4000-8000-{:012x}", s.made, s.made)
    });
    let job_arn = format!("arn:aws:signer:{region}:{account}:/signing-jobs/{id}");
    let outcome = if found["status"].as_str() != Some("Active") {
        Err(format!(
            "Signing profile {profile} is {}, not Active",
            found["status"].as_str().unwrap_or("unknown")
        ))
    } else if found["platformId"].as_str() != Some(LAMBDA_PLATFORM) {
        Err(format!(
            "the rules layer signs for the {LAMBDA_PLATFORM} platform only"
        ))
    } else {
        signed_object(
            upstream,
            call.head,
            bucket,
            key,
            version,
            destination,
            prefix,
            &id,
            &version_arn,
            &job_arn,
        )
        .await
    };
    let described = json!({
        "jobId": id,
        "jobOwner": account,
        "jobInvoker": account,
        "profileName": profile,
        "profileVersion": profile_version,
        "platformId": found["platformId"],
        "source": body["source"],
    });
    signing(memory, |s| {
        if let Some(token) = token {
            s.tokens.insert(token, id.clone());
        }
        s.jobs.insert(
            id.clone(),
            Job {
                described,
                outcome,
                done_at: Instant::now() + rules.signing_time,
            },
        );
    });
    answer(200, &json!({ "jobId": id, "jobOwner": account }))
}

/// Signs the source object into the destination; `Err` is the job's
/// `statusReason`.
#[allow(clippy::too_many_arguments)]
async fn signed_object(
    upstream: SocketAddr,
    head: &str,
    bucket: &str,
    key: &str,
    version: &str,
    destination: &str,
    prefix: &str,
    id: &str,
    version_arn: &str,
    job_arn: &str,
) -> Result<(String, String), String> {
    let versioning = s3_bytes(upstream, head, "GET", &format!("/{bucket}?versioning"), b"")
        .await
        .map(|(_, b)| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    if !versioning.contains("<Status>Enabled</Status>") {
        return Err(format!(
            "Source bucket {bucket} does not have versioning enabled"
        ));
    }
    let Some((true, package)) = s3_bytes(
        upstream,
        head,
        "GET",
        &format!("/{bucket}/{key}?versionId={version}"),
        b"",
    )
    .await
    else {
        return Err(format!(
            "Source object s3://{bucket}/{key} version {version} was not found"
        ));
    };
    let signed = sign(&package, version_arn, job_arn)?;
    let signed_key = format!("{prefix}{id}.zip");
    match s3_bytes(
        upstream,
        head,
        "PUT",
        &format!("/{destination}/{signed_key}"),
        &signed,
    )
    .await
    {
        Some((true, _)) => Ok((destination.to_owned(), signed_key)),
        _ => Err(format!(
            "Signer could not write to destination bucket {destination}"
        )),
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

async fn configs(
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

fn config_tags(
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

async fn function_config(
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

/// CreateFunction and UpdateFunctionCode under a configuration, and
/// DeleteFunction, which ends a function's use of one.
async fn functions(
    memory: &std::sync::Mutex<Memory>,
    upstream: SocketAddr,
    call: &Call<'_>,
) -> Option<Verdict> {
    if call.signature == format!("POST {FUNCTIONS}") {
        let body: Value = serde_json::from_str(call.body).ok()?;
        let name = body["FunctionName"].as_str()?.to_owned();
        let arn = body["CodeSigningConfigArn"].as_str()?.to_owned();
        if !signing(memory, |s| s.configs.contains_key(&arn)) {
            return Some(Verdict::Refuse(
                404,
                "CodeSigningConfigNotFoundException",
                format!("The code signing configuration cannot be found. Check that the provided configuration is not deleted: {arn}."),
            ));
        }
        let refused = verify(memory, upstream, call, &body["Code"], &arn, &name).await;
        if refused.is_none() {
            signing(memory, |s| s.functions.insert(name, arn));
        }
        return refused;
    }
    if let Some((name, "/code", _)) = target(call.signature, "PUT") {
        let arn = signing(memory, |s| s.functions.get(&name).cloned())?;
        let body: Value = serde_json::from_str(call.body).ok()?;
        return verify(memory, upstream, call, &body, &arn, &name).await;
    }
    if let Some((name, "", query)) = target(call.signature, "DELETE") {
        if qualifier(query).is_none() {
            signing(memory, |s| s.functions.remove(&name));
        }
    }
    None
}

/// A successful read of a function (GetFunction, GetFunctionConfiguration,
/// ListVersionsByFunction), or the configuration CreateFunction and
/// UpdateFunctionCode answer, with what Lambda verified of each version's
/// package: the answer's new body, if it changed.
pub(crate) fn after(rules: &Rules, m: &mut Memory, call: &Call<'_>, body: &str) -> Option<String> {
    if !rules.code_signing || m.signing.verified.is_empty() {
        return None;
    }
    let (method, target) = call.signature.split_once(' ')?;
    let path = target.split_once('?').map_or(target, |(p, _)| p);
    let rest = path.strip_prefix(FUNCTIONS)?.trim_start_matches('/');
    let tail = rest.find('/').map_or("", |i| &rest[i..]);
    let tail = match (method, rest, tail) {
        ("GET", _, t) => t,
        // CreateFunction and UpdateFunctionCode answer the configuration.
        ("POST", "", _) | ("PUT", _, "/code") => "/configuration",
        _ => return None,
    };
    let mut read: Value = serde_json::from_str(body).ok()?;
    let verified = &m.signing.verified;
    let mut changed = false;
    let mut mark = |c: &mut Value| {
        let found = c["CodeSha256"].as_str().and_then(|sha| verified.get(sha));
        if let Some((profile, job)) = found {
            c["SigningProfileVersionArn"] = json!(profile);
            c["SigningJobArn"] = json!(job);
            changed = true;
        }
    };
    match tail {
        "" => mark(&mut read["Configuration"]),
        "/configuration" => mark(&mut read),
        "/versions" => read["Versions"]
            .as_array_mut()
            .into_iter()
            .flatten()
            .for_each(&mut mark),
        _ => return None,
    }
    changed.then(|| read.to_string())
}

/// Lambda's check of a package under configuration `arn`: `None` lets the
/// call through (and remembers a verified package's signer).
async fn verify(
    memory: &std::sync::Mutex<Memory>,
    upstream: SocketAddr,
    call: &Call<'_>,
    code: &Value,
    arn: &str,
    name: &str,
) -> Option<Verdict> {
    let package = if let Some(zip) = code["ZipFile"].as_str() {
        aws_smithy_types::base64::decode(zip).ok()?
    } else {
        let bucket = code["S3Bucket"].as_str()?;
        let key = code["S3Key"].as_str()?;
        let path = match code["S3ObjectVersion"].as_str() {
            Some(v) => format!("/{bucket}/{key}?versionId={v}"),
            None => format!("/{bucket}/{key}"),
        };
        match s3_bytes(upstream, call.head, "GET", &path, b"").await {
            Some((true, bytes)) => bytes,
            // Lambda's own refusal of a missing object comes from the
            // emulator.
            _ => return None,
        }
    };
    let (allowed, enforce) = signing(memory, |s| {
        let config = s.configs.get(arn).cloned().unwrap_or_default();
        (
            config["AllowedPublishers"]["SigningProfileVersionArns"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default(),
            config["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"] == "Enforce",
        )
    });
    match signature(&package) {
        Some(Err(())) => Some(Verdict::Refuse(
            400,
            "InvalidCodeSignatureException",
            "The code signature failed the integrity check. Lambda always blocks deployment if the integrity check fails, even if code signing policy is set to WARN.".into(),
        )),
        Some(Ok((profile, job))) if allowed.contains(&profile) => {
            signing(memory, |s| {
                s.verified
                    .insert(code_sha256(&package), (profile, job))
            });
            None
        }
        _ if enforce => {
            let (region, account) = where_called(memory, upstream, call.head)
                .await
                .unwrap_or_default();
            Some(Verdict::Refuse(
                400,
                "CodeVerificationFailedException",
                format!("Lambda cannot deploy the function. The function or layer might be signed using a signature that the client is not configured to accept. Check the provided signature for arn:aws:lambda:{region}:{account}:function:{name}."),
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A zip of one empty file, as `zip` writes it.
    fn a_zip() -> Vec<u8> {
        let mut z = Vec::new();
        // Local file header, name "a".
        z.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00a");
        let central = z.len();
        z.extend_from_slice(b"PK\x01\x02\x14\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00a");
        let size = (z.len() - central) as u32;
        z.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00");
        z.extend_from_slice(&size.to_le_bytes());
        z.extend_from_slice(&(central as u32).to_le_bytes());
        z.extend_from_slice(&[0, 0]);
        z
    }

    #[test]
    fn a_signed_package_names_its_signer_and_breaks_when_altered() {
        let zip = a_zip();
        assert_eq!(signature(&zip), None, "unsigned");
        let signed = sign(&zip, "arn:profile/v1", "arn:job/1").unwrap();
        assert_eq!(
            signature(&signed),
            Some(Ok(("arn:profile/v1".into(), "arn:job/1".into())))
        );
        assert!(sign(&signed, "p", "j").unwrap_err().contains("already"));
        let mut altered = signed.clone();
        altered[29] = b'b';
        assert_eq!(signature(&altered), Some(Err(())));
        assert!(sign(b"not a zip at all, far too short", "p", "j").is_err());
    }

    #[test]
    fn the_code_digest_is_lambdas_base64_sha256() {
        // SHA-256 of the empty input, base64: a known vector.
        assert_eq!(
            code_sha256(b""),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }
}

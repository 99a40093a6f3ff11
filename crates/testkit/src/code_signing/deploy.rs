//! Lambda holding deployments to a configuration's policy: CreateFunction and
//! UpdateFunctionCode verified, and reads of a function naming the signer of
//! the package it runs.

use std::net::SocketAddr;

use serde_json::{json, Value};

use super::package::{code_sha256, signature};
use super::{s3_bytes, signing, where_called, FUNCTIONS};
use crate::exchange::{Call, Verdict};
use crate::lambda_releases::{qualifier, target};
use crate::memory::Memory;
use crate::ruleset::Rules;

/// CreateFunction and UpdateFunctionCode under a configuration, and
/// DeleteFunction, which ends a function's use of one.
pub(super) async fn functions(
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

//! Signer's calls the emulators lack: StartSigningJob (the job signing the
//! source object into the destination), DescribeSigningJob and
//! GetSigningProfile's refusal of an unknown profile.

use std::net::SocketAddr;

use serde_json::{json, Value};
use tokio::time::Instant;

use super::package::sign;
use super::{answer, not_found, s3_bytes, signing, where_called, LAMBDA_PLATFORM};
use crate::exchange::{ask_rest, percent_decode, Call, Verdict};
use crate::memory::{Job, Memory};
use crate::ruleset::Rules;

pub(super) async fn signer(
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

//! Signing a release with AWS Signer (`lambda.signing_profile`): the
//! package uploaded to the versioned release bucket, signed by a Signer
//! job, and the signed copy's place in the bucket, from which Lambda is
//! given the code (CreateFunction, UpdateFunctionCode) so that the
//! function's code signing configuration (`crate::code_signing`) can
//! verify it.
//!
//! AWS's rules this follows (Signer API reference: StartSigningJob,
//! DescribeSigningJob, GetSigningProfile; the Terraform provider's
//! `aws_signer_signing_job`): Signer signs only an object version of a
//! versioned bucket in the profile's region; a job is asynchronous
//! (`InProgress`, then `Succeeded` or `Failed` with a `statusReason`); the
//! signed object's place is read back from the job (`signedObject.s3`),
//! never built; the same `clientRequestToken` answers the first job, so a
//! retried start signs once. Signer reads and writes the objects with the
//! caller's own permissions.

use std::time::Duration;

use paysec_aws::sdk::s3::primitives::ByteStream;
use paysec_aws::sdk::signer::types::{Destination, S3Destination, S3Source, SigningStatus, Source};
use paysec_aws::AwsResultExt;
use paysec_core::resource::{Context, WaitBudget};
use paysec_core::{LogicalId, ResourceError};
use sha2::{Digest, Sha256};

use crate::package::Code;

/// Lambda's Signer platform (the only one a code signing configuration
/// accepts).
pub const LAMBDA_PLATFORM: &str = "AWSLambda-SHA384-ECDSA";

/// Where packages wait for signing, and where Signer puts signed copies.
const UNSIGNED: &str = "unsigned/";
const SIGNED: &str = "signed/";

/// Code signing for the function, when configured.
#[derive(Clone, Debug)]
pub struct Signing {
    /// The Signer signing profile's name.
    pub profile: String,
    /// The release bucket (versioned).
    pub bucket: LogicalId,
    /// The code signing configuration the function uses.
    pub config: LogicalId,
}

/// A signed copy of a package, ready for Lambda.
#[derive(Clone, Debug)]
pub struct Signed {
    pub bucket: String,
    pub key: String,
    /// The Signer job's ARN (Lambda reports it as the version's
    /// `SigningJobArn`).
    pub job_arn: String,
}

/// The profile as Signer describes it: what a code signing configuration
/// allows and what signs.
#[derive(Clone, Debug)]
pub struct Profile {
    pub version_arn: String,
    pub status: String,
    pub platform: String,
}

/// Reads the signing profile `name`.
///
/// IAM: signer:GetSigningProfile.
pub async fn profile(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    name: &str,
) -> Result<Profile, ResourceError> {
    let out = aws
        .signer
        .get_signing_profile()
        .profile_name(name)
        .send()
        .await
        .or_resource(id, "GetSigningProfile")?;
    Ok(Profile {
        version_arn: out.profile_version_arn().unwrap_or_default().to_owned(),
        status: out
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        platform: out.platform_id().unwrap_or_default().to_owned(),
    })
}

/// Why `profile` cannot sign Lambda code, if it cannot.
pub fn profile_problem(name: &str, profile: &Profile) -> Option<String> {
    if profile.status != "Active" {
        return Some(format!(
            "the Signer signing profile {name} is {}, not Active: it signs nothing; name an Active profile in lambda.signing_profile",
            if profile.status.is_empty() { "of no status" } else { &profile.status }
        ));
    }
    if profile.platform != LAMBDA_PLATFORM {
        return Some(format!(
            "the Signer signing profile {name} signs for {}, not Lambda's {LAMBDA_PLATFORM}; create one with `aws signer put-signing-profile --platform-id {LAMBDA_PLATFORM} --profile-name NAME` and name it in lambda.signing_profile",
            profile.platform
        ));
    }
    None
}

/// Uploads `code` to the release bucket, has Signer sign it with
/// `profile`, and waits for the job; the signed copy's place is the
/// job's answer.
///
/// IAM: s3:PutObject (the package), signer:StartSigningJob (Signer then
/// reads the version with s3:GetObjectVersion and writes the copy with
/// s3:PutObject, as the caller), signer:DescribeSigningJob.
pub async fn sign(
    aws: &paysec_aws::Aws,
    cx: &Context,
    id: &LogicalId,
    profile: &str,
    bucket: &str,
    code: &Code,
    wait: Duration,
) -> Result<Signed, ResourceError> {
    let key = package_key(code);
    let put = aws
        .s3
        .put_object()
        .bucket(bucket)
        .key(&key)
        .expected_bucket_owner(&cx.env.account)
        .body(ByteStream::from(code.zip.clone()))
        .send()
        .await
        .or_resource(id, "PutObject")?;
    let version = put.version_id().filter(|v| *v != "null").ok_or_else(|| {
        ResourceError::unexpected(
            id,
            format!("S3 gave the package s3://{bucket}/{key} no version: the release bucket's versioning is off, and Signer signs only an object version; run `paysec up` to turn it back on"),
        )
    })?;
    // One token per object version: a start retried after a lost answer
    // gets the same job back instead of a second signature.
    let token = hex_of(&format!("{bucket}/{key}?versionId={version}"));
    let started = aws
        .signer
        .start_signing_job()
        .source(
            Source::builder()
                .s3(S3Source::builder()
                    .bucket_name(bucket)
                    .key(&key)
                    .version(version)
                    .build()
                    .map_err(|e| ResourceError::unexpected(id, e.to_string()))?)
                .build(),
        )
        .destination(
            Destination::builder()
                .s3(S3Destination::builder()
                    .bucket_name(bucket)
                    .prefix(SIGNED)
                    .build())
                .build(),
        )
        .profile_name(profile)
        .client_request_token(token)
        .send()
        .await
        .or_resource(id, "StartSigningJob")?;
    let job = started.job_id().unwrap_or_default().to_owned();
    let (signed_bucket, signed_key) = cx
        .poll_until(
            "Signer to sign the release",
            "Succeeded",
            WaitBudget {
                limit: wait,
                setting: "lambda.wait_minutes",
            },
            || async {
                let out = aws
                    .signer
                    .describe_signing_job()
                    .job_id(&job)
                    .send()
                    .await
                    .or_resource(id, "DescribeSigningJob")?;
                match out.status() {
                    Some(SigningStatus::Succeeded) => {
                        let s3 = out.signed_object().and_then(|o| o.s3());
                        match (s3.and_then(|s| s.bucket_name()), s3.and_then(|s| s.key())) {
                            (Some(b), Some(k)) => Ok(Some((b.to_owned(), k.to_owned()))),
                            _ => Err(ResourceError::unexpected(
                                id,
                                format!("Signer's job {job} succeeded without naming the signed object"),
                            )),
                        }
                    }
                    Some(SigningStatus::Failed) => Err(ResourceError::unexpected(
                        id,
                        format!(
                            "Signer's job {job} failed to sign {} (s3://{bucket}/{key}): {}; fix the cause (the profile, the package, the release bucket), then run the command again",
                            code.source,
                            out.status_reason().unwrap_or("no reason given")
                        ),
                    )),
                    _ => Ok(None),
                }
            },
        )
        .await?;
    let env = &cx.env;
    Ok(Signed {
        bucket: signed_bucket,
        key: signed_key,
        job_arn: format!(
            "arn:{}:signer:{}:{}:/signing-jobs/{job}",
            env.partition, env.region, env.account
        ),
    })
}

/// Where a package waits for signing in the release bucket: named by its
/// own SHA-256, so a signing job's source names the package it signed.
pub fn package_key(code: &Code) -> String {
    format!("{UNSIGNED}{}.zip", hex(&Sha256::digest(&code.zip)))
}

/// The key of the object Signer job `job_arn` signed (`None`: the job is
/// not found, or not one of this account's).
///
/// IAM: signer:DescribeSigningJob.
pub async fn job_source_key(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    job_arn: &str,
) -> Result<Option<String>, ResourceError> {
    let Some((_, job)) = job_arn.split_once(":/signing-jobs/") else {
        return Ok(None);
    };
    match aws
        .signer
        .describe_signing_job()
        .job_id(job)
        .send()
        .await
        .or_resource(id, "DescribeSigningJob")
    {
        Ok(out) => Ok(out
            .source()
            .and_then(|s| s.s3())
            .map(|s| s.key().to_owned())),
        Err(e) if e.class() == paysec_core::ErrorClass::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether a version's signature is the profile's: Lambda names the
/// profile version that signed what it verified
/// (`SigningProfileVersionArn`, the profile's ARN and its version).
pub fn signed_by_profile(version_arn: Option<&str>, profile_arn_prefix: &str) -> bool {
    version_arn.is_some_and(|v| {
        v.strip_prefix(profile_arn_prefix)
            .is_some_and(|rest| rest.starts_with('/') && rest.len() > 1)
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_of(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_active_lambda_profile_signs() {
        let p = |status: &str, platform: &str| Profile {
            version_arn: "arn".into(),
            status: status.into(),
            platform: platform.into(),
        };
        assert!(profile_problem("rel", &p("Active", LAMBDA_PLATFORM)).is_none());
        let canceled = profile_problem("rel", &p("Canceled", LAMBDA_PLATFORM)).unwrap();
        assert!(
            canceled.contains("rel is Canceled, not Active"),
            "{canceled}"
        );
        let other =
            profile_problem("rel", &p("Active", "AWSIoTDeviceManagement-SHA256-ECDSA")).unwrap();
        assert!(
            other.contains("not Lambda's AWSLambda-SHA384-ECDSA"),
            "{other}"
        );
    }

    #[test]
    fn a_signature_is_the_profile_s_when_it_names_one_of_its_versions() {
        let profile = "arn:aws:signer:us-east-1:111122223333:/signing-profiles/rel";
        assert!(signed_by_profile(
            Some(&format!("{profile}/a1b2c3d4e5")),
            profile
        ));
        assert!(!signed_by_profile(
            Some(&format!("{profile}_other/a1")),
            profile
        ));
        assert!(!signed_by_profile(Some(profile), profile));
        assert!(!signed_by_profile(None, profile));
    }
}

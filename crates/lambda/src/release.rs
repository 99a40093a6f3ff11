//! Releases of the payment function: immutable versions and the alias
//! `live` that everything calling the function goes through. What `up`'s
//! repair, `paysec deploy` (new code only), `paysec rollback` (the alias
//! back, one call) and the pruning of old versions send to Lambda, and how
//! `live` is compared with the release that must be in service.
//!
//! Lambda's rules this follows (Lambda API reference: PublishVersion,
//! UpdateFunctionCode, UpdateAlias; the Terraform provider's
//! `aws_lambda_function` waits for `LastUpdateStatus` after every update):
//! an update is asynchronous (`LastUpdateStatus` InProgress, then
//! Successful or Failed) and a second update meanwhile is refused with
//! `ResourceConflictException`; PublishVersion with `CodeSha256` publishes
//! only if `$LATEST` holds exactly that code (else
//! `PreconditionFailedException`), and publishes nothing new when neither
//! code nor settings changed since the last version; an alias points to a
//! published version.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionConfiguration, LastUpdateStatus, State};
use paysec_aws::AwsResultExt;
use paysec_core::releases::Target;
use paysec_core::resource::{Checks, Context, WaitBudget};
use paysec_core::retry::{retrying, rules};
use paysec_core::{ErrorClass, LogicalId, ResourceError};

use crate::function::FunctionProperty;

/// The alias every caller invokes: the API's integration, `paysec
/// invoke`, the alarms.
pub const ALIAS: &str = "live";

/// What `live` points to.
#[derive(Clone, Debug)]
pub struct Live {
    pub version: String,
    pub code_sha256: String,
    pub alias_arn: String,
    /// The version's settings, as GetFunctionConfiguration answers them.
    pub configuration: FunctionConfiguration,
}

/// Reads `live` (GetAlias, then the version's configuration); `None` when
/// the alias does not exist (a function made before releases, or one
/// whose alias was deleted).
///
/// IAM: lambda:GetAlias, lambda:GetFunction.
pub async fn live(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    function: &str,
) -> Result<Option<Live>, ResourceError> {
    let alias = match aws
        .lambda
        .get_alias()
        .function_name(function)
        .name(ALIAS)
        .send()
        .await
        .or_resource(id, "GetAlias")
    {
        Ok(a) => a,
        Err(e) if e.class() == ErrorClass::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let version = alias.function_version().unwrap_or_default().to_owned();
    // GetFunction of the version: the same shape as `$LATEST`'s answer.
    let configuration = aws
        .lambda
        .get_function()
        .function_name(function)
        .qualifier(&version)
        .send()
        .await
        .or_resource(id, "GetFunction")?
        .configuration()
        .cloned()
        .unwrap_or_else(|| FunctionConfiguration::builder().build());
    Ok(Some(Live {
        code_sha256: configuration.code_sha256().unwrap_or_default().to_owned(),
        version,
        alias_arn: alias.alias_arn().unwrap_or_default().to_owned(),
        configuration,
    }))
}

/// Records the `Release` property: the code `live` runs against the code
/// that must run, quoting both (version and CodeSha256).
pub fn check(checks: &mut Checks, target: &Target, live: Option<&Live>) {
    let expected = match target {
        Target::Configured { sha256 } => format!("live -> a version of CodeSha256 {sha256}"),
        Target::Held { version, sha256 } => {
            format!("live -> version {version} (CodeSha256 {sha256}, held by a rollback)")
        }
    };
    let (ok, actual) = match live {
        None => (false, format!("no alias {ALIAS}")),
        Some(l) => {
            let ok = l.code_sha256 == target.sha256()
                && match target {
                    Target::Held { version, .. } => &l.version == version,
                    Target::Configured { .. } => true,
                };
            (
                ok,
                format!(
                    "live -> version {} (CodeSha256 {})",
                    l.version, l.code_sha256
                ),
            )
        }
    };
    checks.check(FunctionProperty::Release, ok, expected, actual);
}

/// The variables as compared and quoted: their names, and a digest of
/// names and values (a value is shown nowhere: none is a secret, but a
/// report is read by many).
pub fn describe_variables(vars: &BTreeMap<String, String>) -> String {
    let names: Vec<&str> = vars.keys().map(String::as_str).collect();
    let digest = paysec_core::desired::hash(
        vars.iter()
            .flat_map(|(k, v)| [k.as_str(), v.as_str()])
            .collect::<Vec<_>>(),
    );
    format!("{} (digest {digest})", names.join(", "))
}

/// Publishes `$LATEST` as a version, only if its code is `sha256` (so code
/// changed in between is never published); returns the version.
///
/// IAM: lambda:PublishVersion.
pub async fn publish(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    function: &str,
    sha256: &str,
) -> Result<String, ResourceError> {
    let out = retrying(&[rules::LAMBDA_FUNCTION_BUSY], || async {
        aws.lambda
            .publish_version()
            .function_name(function)
            .code_sha256(sha256)
            .description(format!("paysec release of CodeSha256 {sha256}"))
            .send()
            .await
            .or_resource(id, "PublishVersion")
    })
    .await?;
    out.version().map(str::to_owned).ok_or_else(|| {
        ResourceError::unexpected(id, "PublishVersion answered without a version number")
    })
}

/// Points `live` at `version` (UpdateAlias; CreateAlias when there is
/// none yet); returns the alias's ARN.
///
/// IAM: lambda:UpdateAlias, lambda:CreateAlias.
pub async fn point_live(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    function: &str,
    version: &str,
) -> Result<String, ResourceError> {
    let updated = retrying(&[rules::LAMBDA_FUNCTION_BUSY], || async {
        aws.lambda
            .update_alias()
            .function_name(function)
            .name(ALIAS)
            .function_version(version)
            .send()
            .await
            .or_resource(id, "UpdateAlias")
    })
    .await;
    match updated {
        Ok(out) => Ok(out.alias_arn().unwrap_or_default().to_owned()),
        Err(e) if e.class() == ErrorClass::NotFound => {
            let out = retrying(&[rules::LAMBDA_FUNCTION_BUSY], || async {
                aws.lambda
                    .create_alias()
                    .function_name(function)
                    .name(ALIAS)
                    .function_version(version)
                    .description("the release in service (paysec)")
                    .send()
                    .await
                    .or_resource(id, "CreateAlias")
            })
            .await?;
            Ok(out.alias_arn().unwrap_or_default().to_owned())
        }
        Err(e) => Err(e),
    }
}

/// Waits until the function's last update has ended (`LastUpdateStatus`
/// Successful); Failed is the error, with Lambda's reason.
///
/// IAM: lambda:GetFunctionConfiguration.
pub async fn wait_updated(
    aws: &paysec_aws::Aws,
    cx: &Context,
    id: &LogicalId,
    function: &str,
    budget: Duration,
) -> Result<(), ResourceError> {
    cx.poll_until(
        "the function's update to finish",
        "Successful",
        WaitBudget {
            limit: budget,
            setting: "lambda.wait_minutes",
        },
        || async {
            let cfg = aws
                .lambda
                .get_function_configuration()
                .function_name(function)
                .send()
                .await
                .or_resource(id, "GetFunctionConfiguration")?;
            update_ended(id, function, &cfg)
        },
    )
    .await
}

/// Whether an update has ended: `Some` when it succeeded (or no update
/// is known), an error when it failed.
fn update_ended(
    id: &LogicalId,
    function: &str,
    cfg: &aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput,
) -> Result<Option<()>, ResourceError> {
    match cfg.last_update_status() {
        Some(LastUpdateStatus::InProgress) => Ok(None),
        Some(LastUpdateStatus::Failed) => Err(ResourceError::unexpected(
            id,
            format!(
                "the update of function {function} failed: {}: {}; fix the cause, then run the command again",
                cfg.last_update_status_reason_code()
                    .map(|c| c.as_str())
                    .unwrap_or("Unknown"),
                cfg.last_update_status_reason().unwrap_or("no reason given")
            ),
        )),
        _ if cfg.state() == Some(&State::Failed) => Err(crate::function::failed(
            id,
            function,
            cfg.state_reason_code(),
            cfg.state_reason(),
        )),
        _ => Ok(Some(())),
    }
}

/// What a deploy shipped.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Shipped {
    pub version: String,
    pub code_sha256: String,
    pub alias_arn: String,
    /// The Signer job that signed it, when signing is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_job: Option<String>,
}

/// Where `deploy` signs: the Signer profile and the release bucket.
#[derive(Clone, Copy, Debug)]
pub struct SignWith<'a> {
    pub profile: &'a str,
    pub bucket: &'a str,
}

/// `paysec deploy`: the package into `$LATEST` and published in the same
/// call, the new version waited for until Active, `live` moved to it:
/// UpdateFunctionCode (Publish), GetFunctionConfiguration until ready
/// (only when the publish's answer does not already say Active and
/// Successful), UpdateAlias. Nothing else is read or written. With
/// signing, the package is first signed (`crate::signing::sign`: one
/// upload, one job started, its status polled) and shipped from the
/// signed copy.
///
/// IAM: lambda:UpdateFunctionCode, lambda:GetFunctionConfiguration,
/// lambda:UpdateAlias (lambda:CreateAlias when there is no alias yet).
pub async fn deploy(
    aws: &paysec_aws::Aws,
    cx: &Context,
    id: &LogicalId,
    function: &str,
    code: &crate::package::Code,
    sign_with: Option<SignWith<'_>>,
    wait: Duration,
) -> Result<Shipped, ResourceError> {
    let signed = match sign_with {
        Some(s) => Some(crate::signing::sign(aws, cx, id, s.profile, s.bucket, code, wait).await?),
        None => None,
    };
    let out = retrying(&[rules::LAMBDA_FUNCTION_BUSY], || async {
        let req = aws
            .lambda
            .update_function_code()
            .function_name(function)
            .publish(true);
        match &signed {
            Some(s) => req.s3_bucket(&s.bucket).s3_key(&s.key),
            None => req.zip_file(Blob::new(code.zip.clone())),
        }
        .send()
        .await
        .or_resource(id, "UpdateFunctionCode")
    })
    .await
    .map_err(|e| match (&signed, e.code()) {
        // The configuration allows the profile version it named when `up`
        // last ran; a profile re-versioned since signs what it refuses.
        (Some(_), Some("CodeVerificationFailedException")) => ResourceError::unexpected(
            id,
            format!(
                "Lambda refused the signed package ({}): the function's code signing configuration does not allow the signing profile's current version (re-versioned since the last `paysec up`?); run `paysec up` to update the configuration, then deploy again",
                e.message()
            ),
        ),
        _ => e,
    })?;
    let version = out
        .version()
        .filter(|v| *v != "$LATEST")
        .ok_or_else(|| {
            ResourceError::unexpected(
                id,
                "UpdateFunctionCode (Publish) answered without a version",
            )
        })?
        .to_owned();
    let shipped = out.code_sha256().unwrap_or_default().to_owned();
    // Signed: Lambda must name the job that signed this package (its
    // digest is the signed copy's, new with each signature). Unsigned:
    // the digest must be the package's.
    if let Some(s) = &signed {
        if out.signing_job_arn() != Some(s.job_arn.as_str()) {
            // The version was published: taken back out, so no version
            // the ledger does not record is left behind.
            prune(aws, id, function, std::slice::from_ref(&version)).await?;
            return Err(ResourceError::unexpected(
                id,
                format!(
                    "Lambda reports version {version} signed by job {}, not {} that signed {}; `live` was not moved",
                    out.signing_job_arn().unwrap_or("none"),
                    s.job_arn,
                    code.source
                ),
            ));
        }
    } else if shipped != code.sha256 {
        return Err(ResourceError::unexpected(
            id,
            format!(
                "Lambda reports CodeSha256 {shipped} for version {version}, not the package's {}; `live` was not moved",
                code.sha256
            ),
        ));
    }
    // The answer is the new version's configuration: already Active with
    // its update ended, it needs no poll (an update still in progress, or
    // a version still Pending, is polled as Terraform's wait does).
    let settled = out.state() == Some(&State::Active)
        && out.last_update_status() == Some(&LastUpdateStatus::Successful);
    if !settled {
        wait_version_active(aws, cx, id, function, &version, wait).await?;
    }
    let alias_arn = point_live(aws, id, function, &version).await?;
    Ok(Shipped {
        version,
        code_sha256: shipped,
        alias_arn,
        signing_job: signed.map(|s| s.job_arn),
    })
}

/// Polls version `version` until it is Active with its update ended.
///
/// IAM: lambda:GetFunctionConfiguration.
async fn wait_version_active(
    aws: &paysec_aws::Aws,
    cx: &Context,
    id: &LogicalId,
    function: &str,
    version: &str,
    wait: Duration,
) -> Result<(), ResourceError> {
    cx.poll_until(
        "the new version to become Active",
        "Active",
        WaitBudget {
            limit: wait,
            setting: "lambda.wait_minutes",
        },
        || async {
            let cfg = aws
                .lambda
                .get_function_configuration()
                .function_name(function)
                .qualifier(version)
                .send()
                .await
                .or_resource(id, "GetFunctionConfiguration")?;
            match cfg.state() {
                Some(State::Active) => update_ended(id, function, &cfg),
                Some(State::Failed) => Err(crate::function::failed(
                    id,
                    function,
                    cfg.state_reason_code(),
                    cfg.state_reason(),
                )),
                _ => Ok(None),
            }
        },
    )
    .await
}

/// Deletes old versions (never `$LATEST`, never one an alias points to:
/// Lambda refuses that with ResourceConflictException). A version
/// already gone counts as deleted.
///
/// IAM: lambda:DeleteFunction (on the qualified version ARN).
pub async fn prune(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    function: &str,
    versions: &[String],
) -> Result<Vec<String>, ResourceError> {
    let mut done = Vec::new();
    for v in versions {
        match aws
            .lambda
            .delete_function()
            .function_name(function)
            .qualifier(v)
            .send()
            .await
            .or_resource(id, "DeleteFunction")
        {
            Ok(_) => done.push(v.clone()),
            Err(e) if e.class() == ErrorClass::NotFound => done.push(v.clone()),
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_quoted_by_name_and_digest_never_by_value() {
        let vars = BTreeMap::from([
            ("A".to_owned(), "one".to_owned()),
            ("B".to_owned(), "two".to_owned()),
        ]);
        let shown = describe_variables(&vars);
        assert!(shown.starts_with("A, B (digest "), "{shown}");
        assert!(!shown.contains("one") && !shown.contains("two"));
        let mut other = vars.clone();
        other.insert("B".into(), "three".into());
        assert_ne!(describe_variables(&other), shown);
    }

    #[test]
    fn live_is_compared_with_the_target_by_digest_and_held_version() {
        let live = |version: &str, sha: &str| Live {
            version: version.into(),
            code_sha256: sha.into(),
            alias_arn: "arn".into(),
            configuration: FunctionConfiguration::builder().build(),
        };
        let drift = |target: &Target, l: Option<&Live>| {
            let mut c = Checks::default();
            check(&mut c, target, l);
            c.drift().to_vec()
        };
        let configured = Target::Configured {
            sha256: "aaa".into(),
        };
        assert!(drift(&configured, Some(&live("3", "aaa"))).is_empty());
        let wrong = drift(&configured, Some(&live("3", "bbb")));
        assert_eq!(wrong.len(), 1);
        assert!(
            wrong[0].actual.contains("version 3 (CodeSha256 bbb)"),
            "{wrong:?}"
        );
        assert_eq!(drift(&configured, None)[0].actual, "no alias live");
        let held = Target::Held {
            version: "2".into(),
            sha256: "aaa".into(),
        };
        assert!(drift(&held, Some(&live("2", "aaa"))).is_empty());
        // The same code in another version is not the held release.
        assert_eq!(drift(&held, Some(&live("3", "aaa"))).len(), 1);
    }
}

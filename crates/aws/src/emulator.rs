//! What paysec tolerates from a local emulator, and only from one, in one
//! place. Each [`Gap`] names an emulator behaviour that differs from AWS;
//! a resource asks [`crate::Aws::tolerates`] before it bends, so against
//! AWS (no `PAYSEC_EMULATOR`) none of this applies. The user-facing list
//! is `docs/emulator-gaps.md`. Workarounds that are right on AWS too (a key
//! id instead of an ARN, policy statement order) are not gaps: they live
//! with their resource and say why there.

use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

/// An emulator behaviour paysec tolerates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gap {
    /// GetFunction accepts `DeadLetterConfig` but never returns it (moto
    /// 5.2.5): a missing DLQ in the answer is not drift.
    DeadLetterConfigNotReturned,
    /// GetBucketVersioning answers with a `GetBucketVersioningResponse`
    /// root the SDK rejects (moto 5.2.5): the status is read from the raw
    /// body of that 200 answer ([`versioning_status_of_wrapped_answer`]).
    VersioningAnswerWrapped,
    /// Catalog and account reads it lacks (DescribeDBEngineVersions: HTTP
    /// 500; DescribeOrderableDBInstanceOptions: empty; Lambda
    /// GetAccountSettings: HTTP 404; most Service Quotas): the preflight
    /// says "not checked" instead of failing, and gives such reads one
    /// retry, not the run's backoff.
    CatalogReadsMissing,
    /// ListFirewallRuleGroupAssociations is not implemented (LocalStack
    /// 4.9.2: InternalFailure, "has not been implemented"): an association
    /// paysec has no id for is not looked for (it is never there: the
    /// create's answer carries the id).
    ResolverAssociationsUnlisted,
    /// No Route 53 Resolver DNS Firewall at all (moto 5.2.5: HTTP 500):
    /// its parts are read as missing, so a `down` that looks for every
    /// resource the stack can have (a lost ledger) finds none there. The
    /// harness never builds them on moto (`network.dns_firewall = false`).
    NoDnsFirewall,
    /// ListFunctionUrlConfigs is not routed (moto 5.2.5: HTTP 404):
    /// GetFunctionUrlConfig reads the unqualified function's URL instead
    /// (an alias's URL goes unseen there).
    FunctionUrlsUnlisted,
    /// DescribeSecret of the secret RDS manages for a master password
    /// carries no `RotationEnabled` (moto 5.2.5, which does not rotate):
    /// the rotation is not judged there (verify: UNKNOWN, with why).
    SecretRotationUnreported,
    /// No service delivers logs (moto 5.2.5, LocalStack 4.9.2): flow logs
    /// and RDS log exports never reach their log groups, so an empty group
    /// of a continuous source is not judged there (verify: UNKNOWN, with
    /// why); events a test writes are judged as on AWS.
    ServiceLogsNotDelivered,
}

/// The gaps of each emulator paysec is tested on.
fn gaps_of(emulator: &str) -> &'static [Gap] {
    match emulator {
        "moto" => &[
            Gap::DeadLetterConfigNotReturned,
            Gap::VersioningAnswerWrapped,
            Gap::CatalogReadsMissing,
            Gap::NoDnsFirewall,
            Gap::FunctionUrlsUnlisted,
            Gap::SecretRotationUnreported,
            Gap::ServiceLogsNotDelivered,
        ],
        "localstack" => &[
            Gap::CatalogReadsMissing,
            Gap::ResolverAssociationsUnlisted,
            Gap::ServiceLogsNotDelivered,
        ],
        // Any other declared emulator: only what every emulator lacks.
        _ => &[Gap::CatalogReadsMissing],
    }
}

/// Whether `emulator` (the declared `PAYSEC_EMULATOR`) has `gap`.
pub fn has(emulator: Option<&str>, gap: Gap) -> bool {
    emulator.is_some_and(|e| gaps_of(e).contains(&gap))
}

/// S3 Control's endpoint on a local emulator. Its endpoint rules put the
/// account id in front of a custom endpoint's host
/// (`123456789012.127.0.0.1:4566`), a name no resolver knows for a loopback
/// address; emulators route S3 Control by its `/v20180820/` path instead
/// (moto 5.2.5, LocalStack), so the request goes to the endpoint as given.
/// Used only for a declared emulator: AWS and any other custom endpoint
/// keep the SDK's rules.
#[derive(Debug)]
pub struct S3ControlOnEmulator {
    pub url: String,
}

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for S3ControlOnEmulator {
    fn resolve_endpoint<'a>(
        &'a self,
        _params: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> aws_sdk_s3control::config::endpoint::EndpointFuture<'a> {
        aws_sdk_s3control::config::endpoint::EndpointFuture::ready(Ok(
            aws_sdk_s3control::config::endpoint::Endpoint::builder()
                .url(self.url.clone())
                .build(),
        ))
    }
}

/// The versioning status in the raw body of a successful GetBucketVersioning
/// answer the SDK could not parse ([`Gap::VersioningAnswerWrapped`]); `None`
/// when the error is anything else.
pub fn versioning_status_of_wrapped_answer(
    err: &SdkError<GetBucketVersioningError, HttpResponse>,
) -> Option<Option<String>> {
    let body = err
        .raw_response()
        .filter(|r| r.status().is_success())
        .and_then(|r| r.body().bytes())?;
    let text = String::from_utf8_lossy(body);
    Some(
        text.split("<Status>")
            .nth(1)
            .and_then(|t| t.split("</Status>").next())
            .map(str::to_owned),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_gap_is_tolerated_without_a_declared_emulator() {
        for gap in [
            Gap::DeadLetterConfigNotReturned,
            Gap::VersioningAnswerWrapped,
            Gap::CatalogReadsMissing,
        ] {
            assert!(!has(None, gap), "{gap:?} against AWS");
            assert!(has(Some("moto"), gap), "{gap:?} on moto");
        }
        assert!(!has(Some("localstack"), Gap::DeadLetterConfigNotReturned));
        assert!(!has(None, Gap::ResolverAssociationsUnlisted));
        assert!(!has(Some("moto"), Gap::ResolverAssociationsUnlisted));
        assert!(has(Some("localstack"), Gap::ResolverAssociationsUnlisted));
        assert!(has(Some("moto"), Gap::NoDnsFirewall));
        assert!(!has(Some("localstack"), Gap::NoDnsFirewall));
        assert!(!has(None, Gap::NoDnsFirewall));
    }
}

//! Builds the one `SdkConfig` and the service clients from it.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_types::error::display::DisplayErrorContext;
use paysec_core::ErrorClass;

use crate::classify::classify;
use crate::limit::{self, PerService};
pub use crate::setup::SetupError;
use crate::setup::{is_loopback, parse_endpoint};

/// Where and how to reach AWS; every field falls back to the SDK's own
/// resolution (profile files, `AWS_REGION`, `AWS_ENDPOINT_URL`...).
#[derive(Clone, Debug, Default)]
pub struct AwsSettings {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    /// Accept a plain `http://` endpoint that is not on this machine.
    pub allow_http_endpoint: bool,
    /// SDK attempts per call (the SDK's default is 3; real AWS under load
    /// needs more).
    pub max_attempts: u32,
    /// Requests in flight to one service at once (0: 10).
    pub calls_per_service: usize,
    /// A role to assume for every call (an environment in another
    /// account), on top of the credentials the chain resolves.
    pub role: Option<AssumeRole>,
}

/// A role paysec assumes: the SDK's assume-role provider, whose
/// credentials the clients' identity cache renews before they expire, so a
/// run longer than one session goes on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AssumeRole {
    pub arn: String,
    pub external_id: Option<String>,
    pub session_name: String,
}

/// The caller, from STS GetCallerIdentity.
#[derive(Clone, Debug)]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
    pub partition: String,
}

/// The shared SDK configuration and one client per service.
#[derive(Clone, Debug)]
pub struct Aws {
    sdk: SdkConfig,
    emulator: Option<String>,
    /// Each client's endpoint, as vetted.
    endpoints: crate::endpoints::Endpoints,
    /// The role every call runs as, when one is assumed.
    assumed_role: Option<String>,
    pub kms: aws_sdk_kms::Client,
    pub sts: aws_sdk_sts::Client,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub s3: aws_sdk_s3::Client,
    pub iam: aws_sdk_iam::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub rds: aws_sdk_rds::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub apigateway: aws_sdk_apigateway::Client,
    pub quotas: aws_sdk_servicequotas::Client,
    pub resolver: aws_sdk_route53resolver::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    /// AWS Signer: signs the function's releases (`lambda.signing_profile`).
    pub signer: aws_sdk_signer::Client,
    /// The account-wide services `verify` reads as owner prerequisites.
    pub cloudtrail: aws_sdk_cloudtrail::Client,
    pub guardduty: aws_sdk_guardduty::Client,
    pub config: aws_sdk_config::Client,
    pub s3control: aws_sdk_s3control::Client,
}

impl Aws {
    /// The same clients, each recording its calls into `log` (verify's
    /// raw evidence).
    pub fn recording(&self, log: &crate::calls::CallLog) -> Self {
        macro_rules! with_log {
            ($client:expr, $krate:ident) => {
                $krate::Client::from_conf(
                    $client
                        .config()
                        .to_builder()
                        .interceptor(log.clone())
                        .build(),
                )
            };
        }
        Self {
            sdk: self.sdk.clone(),
            emulator: self.emulator.clone(),
            endpoints: self.endpoints.clone(),
            assumed_role: self.assumed_role.clone(),
            kms: with_log!(self.kms, aws_sdk_kms),
            sts: with_log!(self.sts, aws_sdk_sts),
            tagging: with_log!(self.tagging, aws_sdk_resourcegroupstagging),
            ec2: with_log!(self.ec2, aws_sdk_ec2),
            s3: with_log!(self.s3, aws_sdk_s3),
            iam: with_log!(self.iam, aws_sdk_iam),
            logs: with_log!(self.logs, aws_sdk_cloudwatchlogs),
            cloudwatch: with_log!(self.cloudwatch, aws_sdk_cloudwatch),
            sns: with_log!(self.sns, aws_sdk_sns),
            sqs: with_log!(self.sqs, aws_sdk_sqs),
            rds: with_log!(self.rds, aws_sdk_rds),
            lambda: with_log!(self.lambda, aws_sdk_lambda),
            apigateway: with_log!(self.apigateway, aws_sdk_apigateway),
            quotas: with_log!(self.quotas, aws_sdk_servicequotas),
            resolver: with_log!(self.resolver, aws_sdk_route53resolver),
            secrets: with_log!(self.secrets, aws_sdk_secretsmanager),
            signer: with_log!(self.signer, aws_sdk_signer),
            cloudtrail: with_log!(self.cloudtrail, aws_sdk_cloudtrail),
            guardduty: with_log!(self.guardduty, aws_sdk_guardduty),
            config: with_log!(self.config, aws_sdk_config),
            s3control: with_log!(self.s3control, aws_sdk_s3control),
        }
    }

    /// Loads the configuration and builds the clients. Makes no AWS call.
    pub async fn connect(settings: &AwsSettings) -> Result<Self, SetupError> {
        let attempts = settings.max_attempts.max(1);
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(attempts))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(60))
                    .build(),
            );
        if let Some(p) = &settings.profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = &settings.region {
            loader = loader.region(Region::new(r.clone()));
        }
        if let Some(e) = &settings.endpoint_url {
            loader = loader.endpoint_url(e);
        }
        let sdk = loader.load().await;
        // Every client's endpoint, decided and vetted here (a service's own
        // setting would otherwise win unchecked), then pinned: the clients
        // use exactly these.
        let endpoints = crate::endpoints::Endpoints::decide(
            settings.endpoint_url.as_deref(),
            sdk.service_config(),
        );
        endpoints.vet(settings.allow_http_endpoint)?;
        let mut pinned = sdk.to_builder();
        pinned.set_endpoint_url(endpoints.common().map(str::to_owned));
        let sdk = pinned
            .service_config(crate::endpoints::Pinned(endpoints.clone()))
            .build();
        // Emulator allowances only for an emulator: every client on this
        // machine, or on a host the user declared with --allow-http-endpoint.
        let emulator_endpoint = endpoints.all(|e| {
            parse_endpoint(e).is_ok_and(|u| is_loopback(&u) || settings.allow_http_endpoint)
        });
        let Some(region) = sdk.region() else {
            return Err(SetupError::NoRegion);
        };
        if !region_name_is_valid(region.as_ref()) {
            return Err(SetupError::BadRegion {
                region: region.as_ref().to_owned(),
            });
        }
        let sdk = match &settings.role {
            None => sdk,
            Some(role) => {
                let mut provider = aws_config::sts::AssumeRoleProvider::builder(&role.arn)
                    .session_name(&role.session_name)
                    .configure(&sdk);
                if let Some(id) = &role.external_id {
                    provider = provider.external_id(id);
                }
                let provider = provider.build().await;
                sdk.to_builder()
                    .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
                        provider,
                    ))
                    .build()
            }
        };
        let https = limit::default_https();
        let limit = match settings.calls_per_service {
            0 => 10,
            n => n,
        };
        // Each service's client gets its own ceiling over the shared pool.
        macro_rules! client {
            ($krate:ident, $name:literal) => {
                $krate::Client::from_conf(
                    $krate::config::Builder::from(&sdk)
                        .http_client(PerService::new($name, https.clone(), limit))
                        .interceptor(crate::permissions::Guard)
                        .build(),
                )
            };
        }
        let emulator = std::env::var("PAYSEC_EMULATOR")
            .ok()
            .filter(|e| !e.is_empty() && emulator_endpoint);
        let mut s3control = aws_sdk_s3control::config::Builder::from(&sdk)
            .http_client(PerService::new("s3control", https.clone(), limit))
            .interceptor(crate::permissions::Guard);
        if let (Some(_), Some(url)) = (&emulator, endpoints.of("S3 Control")) {
            s3control = s3control.endpoint_resolver(crate::emulator::S3ControlOnEmulator {
                url: url.to_owned(),
            });
        }
        let path_style = endpoints.of("S3").is_some();
        Ok(Self {
            emulator,
            endpoints,
            assumed_role: settings.role.as_ref().map(|r| r.arn.clone()),
            kms: client!(aws_sdk_kms, "kms"),
            sts: client!(aws_sdk_sts, "sts"),
            tagging: client!(aws_sdk_resourcegroupstagging, "tagging"),
            ec2: client!(aws_sdk_ec2, "ec2"),
            // Emulators serve buckets by path, not by virtual host.
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&sdk)
                    .http_client(PerService::new("s3", https.clone(), limit))
                    .interceptor(crate::permissions::Guard)
                    .force_path_style(path_style)
                    .build(),
            ),
            iam: client!(aws_sdk_iam, "iam"),
            logs: client!(aws_sdk_cloudwatchlogs, "logs"),
            cloudwatch: client!(aws_sdk_cloudwatch, "cloudwatch"),
            sns: client!(aws_sdk_sns, "sns"),
            sqs: client!(aws_sdk_sqs, "sqs"),
            rds: client!(aws_sdk_rds, "rds"),
            lambda: client!(aws_sdk_lambda, "lambda"),
            apigateway: client!(aws_sdk_apigateway, "apigateway"),
            quotas: client!(aws_sdk_servicequotas, "servicequotas"),
            resolver: client!(aws_sdk_route53resolver, "route53resolver"),
            secrets: client!(aws_sdk_secretsmanager, "secretsmanager"),
            signer: client!(aws_sdk_signer, "signer"),
            cloudtrail: client!(aws_sdk_cloudtrail, "cloudtrail"),
            guardduty: client!(aws_sdk_guardduty, "guardduty"),
            config: client!(aws_sdk_config, "config"),
            s3control: aws_sdk_s3control::Client::from_conf(s3control.build()),
            sdk,
        })
    }

    /// The retry setting for the preflight's reads, whose failure is
    /// reported rather than fatal: the run's own against AWS; against an
    /// emulator one retry, since it answers HTTP 500 every time for what it
    /// lacks (moto: DescribeDBEngineVersions) and the run's setting would
    /// spend most of a minute in backoff on each such read.
    pub fn retry_for_checks(&self) -> RetryConfig {
        match self.sdk.retry_config() {
            Some(own) if !self.tolerates(crate::emulator::Gap::CatalogReadsMissing) => own.clone(),
            _ => RetryConfig::standard().with_max_attempts(2),
        }
    }

    pub fn sdk_config(&self) -> &SdkConfig {
        &self.sdk
    }

    /// The run's credentials, as the clients sign with: for the one
    /// request paysec signs itself (`paysec invoke --api`).
    pub async fn credentials(&self) -> Result<aws_credential_types::Credentials, SetupError> {
        use aws_credential_types::provider::ProvideCredentials;
        let provider = self
            .sdk
            .credentials_provider()
            .ok_or_else(|| SetupError::Credentials {
                detail: "no credentials provider is configured".into(),
            })?;
        provider
            .provide_credentials()
            .await
            .map_err(|e| SetupError::Credentials {
                detail: DisplayErrorContext(&e).to_string(),
            })
    }

    /// These clients with S3's in the region `bucket` lives in: a request
    /// for a bucket sent to another region's endpoint is answered `301
    /// PermanentRedirect`, which the SDK does not follow, so a shared
    /// ledger made by `ledger init` in one region would be unusable from a
    /// run in another. HeadBucket names the bucket's region
    /// (`x-amz-bucket-region`) on its 200 and on that 301 alike; asked
    /// once. A bucket that does not answer (missing, another account's)
    /// is left to the calls that follow, which say so.
    ///
    /// IAM: s3:ListBucket (HeadBucket).
    pub async fn in_bucket_region(&self, bucket: &str) -> Self {
        let found = match self.s3.head_bucket().bucket(bucket).send().await {
            Ok(out) => out.bucket_region().map(str::to_owned),
            Err(e) => e
                .raw_response()
                .and_then(|r| r.headers().get("x-amz-bucket-region"))
                .map(str::to_owned),
        };
        match found {
            Some(region) if region != self.region() => {
                tracing::info!(
                    bucket,
                    region,
                    "the bucket is in another region; S3 calls for it go there"
                );
                let mut aws = self.clone();
                aws.s3 = aws_sdk_s3::Client::from_conf(
                    self.s3
                        .config()
                        .to_builder()
                        .region(Region::new(region))
                        .build(),
                );
                aws
            }
            _ => self.clone(),
        }
    }

    pub fn region(&self) -> &str {
        self.sdk.region().map(Region::as_ref).unwrap_or("")
    }

    /// Whether the emulator declared by `PAYSEC_EMULATOR` (set by
    /// `scripts/emulator.sh` and the test harness) has `gap`: the one way
    /// resources ask to bend (docs/emulator-gaps.md); never against AWS.
    pub fn tolerates(&self, gap: crate::emulator::Gap) -> bool {
        crate::emulator::has(self.emulator.as_deref(), gap)
    }

    /// The local emulator declared for this endpoint (`PAYSEC_EMULATOR`
    /// on a loopback or declared host), if any.
    pub fn emulator(&self) -> Option<&str> {
        self.emulator.as_deref()
    }

    /// The endpoint every client uses, when they share one (an emulator).
    pub fn endpoint_url(&self) -> Option<&str> {
        self.endpoints.common()
    }

    /// Each client's endpoint, as vetted.
    pub fn endpoints(&self) -> &crate::endpoints::Endpoints {
        &self.endpoints
    }

    /// Who we are. Fails in seconds, not minutes, when the endpoint is
    /// unreachable or credentials are missing: this is the first call of
    /// every run, so it gets few attempts (three: a dropped connection is
    /// still retried twice; a refused one fails at once, a silent one after
    /// three 5-second connect timeouts).
    pub async fn identity(&self) -> Result<CallerIdentity, SetupError> {
        let quick = aws_sdk_sts::config::Builder::default()
            .retry_config(RetryConfig::standard().with_max_attempts(3));
        let out = self
            .sts
            .get_caller_identity()
            .customize()
            .config_override(quick)
            .send()
            .await
            .map_err(|err| {
                // The SDK's whole chain (every provider it tried, each
                // connector error) is for `-v`; the message gets its gist.
                let chain = format!("{}", DisplayErrorContext(&err))
                    .lines()
                    .map(str::trim)
                    .collect::<Vec<_>>()
                    .join("; ");
                tracing::info!(error = %chain, "GetCallerIdentity failed");
                if let (Some(role), Some(detail)) = (&self.assumed_role, assume_role_refusal(&err))
                {
                    return SetupError::RoleRefused {
                        role: role.clone(),
                        detail,
                    };
                }
                match classify(&err) {
                    ErrorClass::Credentials => SetupError::Credentials {
                        detail: credentials_gist(&chain),
                    },
                    ErrorClass::Unreachable => SetupError::Unreachable {
                        endpoint: self.endpoint_url().map_or_else(
                            || format!("sts.{}.amazonaws.com", self.region()),
                            str::to_owned,
                        ),
                        detail: connection_gist(&chain),
                    },
                    _ => SetupError::Other {
                        detail: crate::classify::one_line(&err),
                    },
                }
            })?;
        let arn = out.arn().unwrap_or_default().to_owned();
        let partition = arn.split(':').nth(1).unwrap_or("aws").to_owned();
        Ok(CallerIdentity {
            account: out.account().unwrap_or_default().to_owned(),
            arn,
            partition,
        })
    }
}

/// What a caller's ARN says about the IAM principal behind it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallerKind {
    /// The account's root user: the key policy's root statement covers it.
    Root,
    /// A session of this role (`assumed-role/NAME/SESSION`). The session
    /// ARN does not show the role's path (IAM Identity Center roles live
    /// under `/aws-reserved/sso.amazonaws.com/`), and a key policy naming
    /// a role by a wrong path is refused, so only IAM can tell the ARN.
    AssumedRole { name: String },
    /// A principal whose ARN is its own (IAM users, whose
    /// GetCallerIdentity ARN includes the path; federated users).
    Principal { arn: String },
}

/// Reads a GetCallerIdentity ARN.
pub fn caller_kind(caller_arn: &str) -> Option<CallerKind> {
    let parts: Vec<&str> = caller_arn.splitn(6, ':').collect();
    if parts.len() != 6 {
        return None;
    }
    let (partition, service, account, resource) = (parts[1], parts[2], parts[4], parts[5]);
    if resource == "root" {
        return Some(CallerKind::Root);
    }
    if let Some(rest) = resource.strip_prefix("assumed-role/") {
        let name = rest.split('/').next().filter(|n| !n.is_empty())?;
        return Some(CallerKind::AssumedRole {
            name: name.to_owned(),
        });
    }
    // Emulators report `sts` user ARNs for their default user.
    let service = if resource.starts_with("user/") {
        "iam"
    } else {
        service
    };
    Some(CallerKind::Principal {
        arn: format!("arn:{partition}:{service}::{account}:{resource}"),
    })
}

/// DescribeAvailabilityZones' error.
pub type ZonesError = aws_sdk_ec2::error::SdkError<
    aws_sdk_ec2::operation::describe_availability_zones::DescribeAvailabilityZonesError,
>;

impl Aws {
    /// The region's available zones (not Local or Wavelength zones), by
    /// name: where the preflight chooses the stack's zones, and a subnet
    /// picks its own when the preflight could not.
    pub async fn available_zones(&self) -> Result<Vec<String>, ZonesError> {
        let filter = |name: &str, value: &str| {
            aws_sdk_ec2::types::Filter::builder()
                .name(name)
                .values(value)
                .build()
        };
        let out = self
            .ec2
            .describe_availability_zones()
            .filters(filter("state", "available"))
            .filters(filter("zone-type", "availability-zone"))
            .send()
            .await?;
        let mut names: Vec<String> = out
            .availability_zones()
            .iter()
            .filter_map(|z| z.zone_name().map(str::to_owned))
            .collect();
        names.sort();
        Ok(names)
    }

    /// The IAM principal behind the caller, as a key policy must name it:
    /// an assumed role's real ARN (iam:GetRole), a user's ARN, nothing for
    /// the root user.
    pub async fn caller_principal(
        &self,
        caller: &CallerIdentity,
    ) -> Result<Option<String>, SetupError> {
        match caller_kind(&caller.arn) {
            None | Some(CallerKind::Root) => Ok(None),
            Some(CallerKind::Principal { arn }) => Ok(Some(arn)),
            Some(CallerKind::AssumedRole { name }) => {
                let out = self
                    .iam
                    .get_role()
                    .role_name(&name)
                    .send()
                    .await
                    .map_err(|err| SetupError::KeyAdministrator {
                        caller: caller.arn.clone(),
                        role: name.clone(),
                        detail: crate::classify::one_line(&err),
                    })?;
                Ok(out.role().map(|r| r.arn().to_owned()))
            }
        }
    }
}

/// What went wrong loading credentials, in a few words: an expired or
/// missing SSO session, or nothing in any source. The whole chain is
/// logged at `-v`.
fn credentials_gist(chain: &str) -> String {
    let lower = chain.to_ascii_lowercase();
    if lower.contains("sso") && (lower.contains("expired") || lower.contains("token")) {
        "the SSO session is missing or expired: run `aws sso login`".into()
    } else if lower.contains("expired") {
        "the credentials have expired: renew them (`aws sso login` for an SSO profile, or fresh keys)".into()
    } else {
        "none found in the environment, the AWS config/credentials files (profiles, SSO), web identity, the container or instance metadata".into()
    }
}

/// STS's own refusal of the assume-role provider's AssumeRole, found by
/// type in the chain of a call's error (the provider's failure reaches the
/// call as a credentials error): its code and message.
fn assume_role_refusal(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    use aws_sdk_sts::error::ProvideErrorMetadata;
    type Refusal = aws_sdk_sts::error::SdkError<
        aws_sdk_sts::operation::assume_role::AssumeRoleError,
        aws_smithy_runtime_api::http::Response,
    >;
    let mut cause = Some(err);
    while let Some(e) = cause {
        if let Some(refusal) = e.downcast_ref::<Refusal>() {
            let code = refusal.code()?;
            return Some(match refusal.message() {
                Some(message) => format!("{code}: {message}"),
                None => code.to_owned(),
            });
        }
        cause = e.source();
    }
    None
}

/// Why a connection failed, in a few words (the whole chain is logged at
/// `-v`).
fn connection_gist(chain: &str) -> String {
    let lower = chain.to_ascii_lowercase();
    let known = [
        ("connection refused", "connection refused"),
        ("dns error", "the host name does not resolve"),
        ("failed to lookup address", "the host name does not resolve"),
        ("timed out", "timed out"),
        ("timeout", "timed out"),
        ("certificate", "TLS certificate not accepted"),
        ("tls", "TLS handshake failed"),
        ("connection reset", "connection reset"),
    ];
    known
        .iter()
        .find(|(needle, _)| lower.contains(needle))
        .map_or_else(|| "no connection".into(), |(_, gist)| (*gist).into())
}

/// Whether `name` has the shape of an AWS region (`us-east-1`,
/// `us-gov-west-1`, `ap-southeast-5`): a typo is caught here with its own
/// message instead of as an unreachable endpoint after a DNS failure.
pub fn region_name_is_valid(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts[0].len() == 2
        && parts[0].chars().all(|c| c.is_ascii_lowercase())
        && parts
            .last()
            .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::{caller_kind, is_loopback, parse_endpoint, region_name_is_valid, CallerKind};

    #[test]
    fn loopback_endpoints_are_this_machine_only() {
        let loopback = |u: &str| is_loopback(&parse_endpoint(u).unwrap());
        for url in [
            "http://127.0.0.1:5000",
            "http://localhost:4566/",
            "http://LOCALHOST:4566/",
            "http://[::1]:4566",
            "http://127.1.2.3",
        ] {
            assert!(loopback(url), "{url}");
        }
        for url in [
            "http://10.1.2.3:4566",
            "http://localstack:4566",
            "http://127.0.0.1.evil.example",
            "https://kms.us-east-1.amazonaws.com",
        ] {
            assert!(!loopback(url), "{url}");
        }
    }

    #[test]
    fn an_endpoint_with_a_user_part_or_another_scheme_is_refused() {
        for (url, why) in [
            ("http://localhost:1@evil.example/", "user name or password"),
            ("http://user:pw@127.0.0.1:5000", "user name or password"),
            ("ftp://127.0.0.1", "only http:// and https://"),
            ("127.0.0.1:5000", "not a URL"),
            ("not a url", "not a URL"),
        ] {
            let err = parse_endpoint(url).unwrap_err().to_string();
            assert!(err.contains(why), "{url}: {err}");
        }
        assert_eq!(
            parse_endpoint("http://localhost:1@evil.example/")
                .err()
                .map(|e| e.to_string().contains("evil.example")),
            Some(true),
            "the message quotes the endpoint as given"
        );
    }

    #[test]
    fn callers_name_their_principal() {
        assert_eq!(
            caller_kind("arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0a1b/alice@example.com"),
            Some(CallerKind::AssumedRole { name: "AWSReservedSSO_Admin_0a1b".into() })
        );
        assert_eq!(
            caller_kind("arn:aws:iam::123456789012:user/ops/bob"),
            Some(CallerKind::Principal {
                arn: "arn:aws:iam::123456789012:user/ops/bob".into()
            })
        );
        assert_eq!(
            caller_kind("arn:aws:sts::123456789012:user/moto"),
            Some(CallerKind::Principal {
                arn: "arn:aws:iam::123456789012:user/moto".into()
            })
        );
        assert_eq!(
            caller_kind("arn:aws-cn:iam::123456789012:root"),
            Some(CallerKind::Root)
        );
        assert_eq!(caller_kind("nonsense"), None);
    }

    #[test]
    fn region_names() {
        for ok in [
            "us-east-1",
            "eu-west-3",
            "us-gov-west-1",
            "ap-southeast-5",
            "il-central-1",
        ] {
            assert!(region_name_is_valid(ok), "{ok}");
        }
        for bad in [
            "useast1",
            "US-EAST-1",
            "us-east",
            "us_east_1",
            "us-east-1a",
            "",
            "east-1",
        ] {
            assert!(!region_name_is_valid(bad), "{bad}");
        }
    }
}

//! Checks before the first write: what would otherwise fail minutes into
//! `up` on a real account (a retired engine version, an instance class not
//! offered, too few zones, no room for the function's reserved
//! concurrency) is found by reads alone, each with what to change. `plan`
//! shows them; `up` refuses to start on a failed one. They also resolve
//! what the blueprint needs from the account: the engine version RDS
//! offers and three zones that offer the database.

use paysec_aws::emulator::Gap;
use paysec_aws::sdk::{lambda, rds, servicequotas};
use paysec_aws::sdk::{HttpResponse, ProvideErrorMetadata, SdkError};
use paysec_aws::Aws;
use paysec_config::Config;
use paysec_core::ErrorClass;

use crate::Component;
use serde::Serialize;

/// One check's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    /// `up` goes on, without what this check is about (said in `detail`).
    Warning,
    /// `up` would fail: it does not start.
    Fail,
    /// The endpoint did not answer this question (an emulator's gap).
    NotChecked,
}

impl Verdict {
    /// A question the endpoint could not answer: not checked where that is
    /// an emulator's gap, else `otherwise`.
    fn unanswered(emulator: bool, otherwise: Self) -> Self {
        if emulator {
            Self::NotChecked
        } else {
            otherwise
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warning => "warning",
            Self::Fail => "FAIL",
            Self::NotChecked => "not checked",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub verdict: Verdict,
    pub detail: String,
}

/// A check's call AWS refused for want of a permission: kept so the
/// command stops naming the policy statement that grants it, as a refused
/// call of the run does, rather than as a failed check.
#[derive(Clone, Debug, Serialize)]
pub struct Refused {
    /// The operation (`DescribeDBEngineVersions`), as the permission
    /// table names it.
    pub operation: &'static str,
    pub code: Option<String>,
    pub message: String,
}

/// The checks, and what they resolved for the blueprint.
#[derive(Clone, Debug, Serialize)]
pub struct Preflight {
    pub checks: Vec<Check>,
    /// The calls AWS refused for want of a permission, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<Refused>,
    /// The engine version to create the database with.
    pub engine_version: String,
    /// The three zones for the subnets (and so the database).
    pub zones: Vec<String>,
}

impl Preflight {
    /// What the configuration says, unresolved (commands that create
    /// nothing: `down`, `verify`, `graph`).
    pub fn unresolved(config: &Config) -> Self {
        Self {
            checks: Vec::new(),
            refused: Vec::new(),
            engine_version: config.stack.rds.engine_version.clone(),
            zones: config.stack.network.availability_zones.clone(),
        }
    }

    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.verdict == Verdict::Fail)
    }

    /// Keeps `e` if it is a refusal for want of a permission.
    fn note_refusal<E>(&mut self, operation: &'static str, e: &SdkError<E, HttpResponse>)
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        if let Some(refused) = refusal(operation, e) {
            self.refused.push(refused);
        }
    }

    fn push(&mut self, name: &'static str, verdict: Verdict, detail: impl Into<String>) {
        self.checks.push(Check {
            name,
            verdict,
            detail: detail.into(),
        });
    }
}

/// `e` as a [`Refused`], if AWS refused the call for want of a permission.
fn refusal<E>(operation: &'static str, e: &SdkError<E, HttpResponse>) -> Option<Refused>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    (paysec_aws::classify::classify(e) == ErrorClass::AccessDenied).then(|| Refused {
        operation,
        code: e.code().map(str::to_owned),
        message: e
            .message()
            .map(str::to_owned)
            .unwrap_or_else(|| paysec_aws::classify::one_line(e)),
    })
}

/// A PostgreSQL version's parts, for ordering minors numerically.
fn version_key(v: &str) -> Vec<u32> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

/// The version to create: the newest minor of a configured major, or the
/// configured minor if RDS offers it. `Err` says what to set instead.
pub fn choose_engine_version(configured: &str, offered: &[String]) -> Result<String, String> {
    let major = configured.split('.').next().unwrap_or(configured);
    let mut minors: Vec<&String> = offered
        .iter()
        .filter(|v| v.split('.').next() == Some(major))
        .collect();
    minors.sort_by_key(|v| version_key(v));
    let Some(newest) = minors.last() else {
        return Err(format!(
            "RDS offers no PostgreSQL {major} here; set rds.engine_version (and rds.parameter_group_family) to a major it offers"
        ));
    };
    if !configured.contains('.') {
        return Ok((*newest).clone());
    }
    if minors.iter().any(|v| *v == configured) {
        return Ok(configured.to_owned());
    }
    let listed: Vec<&str> = minors.iter().map(|v| v.as_str()).collect();
    Err(format!(
        "RDS no longer offers PostgreSQL {configured} (retired); set rds.engine_version = \"{major}\" (the newest {major}.x, now {newest}) or one of {}",
        listed.join(", ")
    ))
}

/// Three zones for the stack: those the instance class is offered in, and
/// the RDS endpoint service too, first by name. `Err` says why not.
pub fn choose_zones(
    region_zones: &[String],
    class_zones: Option<&[String]>,
    endpoint_zones: Option<&[String]>,
    configured: &[String],
) -> Result<Vec<String>, String> {
    let usable: Vec<String> = region_zones
        .iter()
        .filter(|z| class_zones.is_none_or(|c| c.contains(z)))
        .filter(|z| endpoint_zones.is_none_or(|e| e.contains(z)))
        .cloned()
        .collect();
    if !configured.is_empty() {
        return match configured.iter().find(|z| !usable.contains(z)) {
            Some(z) => Err(format!(
                "network.availability_zones names {z}, which does not offer the database (instance class and RDS endpoint); usable: {}",
                usable.join(", ")
            )),
            None => Ok(configured.to_vec()),
        };
    }
    if usable.len() < 3 {
        return Err(format!(
            "only {} zone(s) offer the instance class and the RDS endpoint ({}); the stack needs 3: choose another rds.instance_class or region",
            usable.len(),
            usable.join(", ")
        ));
    }
    Ok(usable[..3].to_vec())
}

/// What a run creates that the account's quotas count: its
/// environments' resources their ledgers do not record yet. An existing
/// environment's no-op `up` creates nothing and needs no room.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Creates {
    /// New VPCs (one per environment without one).
    pub vpcs: usize,
    /// New customer managed KMS keys.
    pub keys: usize,
    /// Interface endpoints already in the fullest environment's VPC, and
    /// the ones the run adds there (each environment has its own VPC, so
    /// the quota per VPC is checked against the fullest).
    pub endpoints_existing: usize,
    pub endpoints_new: usize,
}

impl Creates {
    /// One environment's, given whether its ledger records an id.
    pub fn of(config: &Config, recorded: impl Fn(&str) -> bool) -> Self {
        use crate::ids;
        let keys = [
            (ids::KMS_S3, true),
            (ids::KMS_LOGS, true),
            (ids::KMS_RDS, Component::Rds.enabled_in(config)),
            (ids::KMS_LAMBDA, Component::Lambda.enabled_in(config)),
        ];
        let endpoints: Vec<String> = interface_endpoint_ids(config);
        Self {
            vpcs: usize::from(!recorded(ids::VPC)),
            keys: keys
                .iter()
                .filter(|(id, built)| *built && !recorded(id))
                .count(),
            endpoints_existing: endpoints.iter().filter(|id| recorded(id)).count(),
            endpoints_new: endpoints.iter().filter(|id| !recorded(id)).count(),
        }
    }

    /// Two environments' together (in one account and region).
    pub fn and(self, other: Self) -> Self {
        let fullest = if other.endpoints_existing + other.endpoints_new
            > self.endpoints_existing + self.endpoints_new
        {
            other
        } else {
            self
        };
        Self {
            vpcs: self.vpcs + other.vpcs,
            keys: self.keys + other.keys,
            endpoints_existing: fullest.endpoints_existing,
            endpoints_new: fullest.endpoints_new,
        }
    }
}

/// Runs every check. Reads only. `creates`: what the run makes that the
/// quotas count ([`Creates`]).
pub async fn run(
    aws: &Aws,
    config: &Config,
    caller_arn: &str,
    key_admins: &[String],
    creates: Creates,
) -> Preflight {
    let mut p = Preflight::unresolved(config);
    let emulator = aws.tolerates(Gap::CatalogReadsMissing);
    p.push(
        "identity",
        Verdict::Ok,
        format!(
            "caller {caller_arn}; key administrators: {}",
            if key_admins.is_empty() {
                "the account root only".to_owned()
            } else {
                key_admins.join(", ")
            }
        ),
    );
    let (verdict, detail) = trust_outside(config, caller_arn, key_admins);
    p.push("trust", verdict, detail);

    // The independent reads go out at once: the preflight costs two round
    // trips (the class depends on the version), not one per question.
    let configured = &config.stack.rds.engine_version;
    // The caller's ARN names the partition: arn:<partition>:sts::...
    let partition = caller_arn.split(':').nth(1).unwrap_or("aws");
    let rds_on = Component::Rds.enabled_in(config);
    let lambda_on = Component::Lambda.enabled_in(config);
    let endpoint_services: Vec<String> = interface_endpoints(config)
        .iter()
        .map(|service| match service {
            paysec_network::EndpointService::Aws(s) => {
                paysec_core::environment::endpoint_service_name(partition, aws.region(), s)
            }
            paysec_network::EndpointService::Partner(name) => name.clone(),
        })
        .collect();
    // A disabled component's questions are not asked.
    let (versions, region_zones, endpoint_zones, account) = tokio::join!(
        async {
            if !rds_on {
                return None;
            }
            Some(
                aws.rds
                    .describe_db_engine_versions()
                    .engine("postgres")
                    .engine_version(configured.split('.').next().unwrap_or(configured))
                    .customize()
                    .config_override(
                        rds::config::Builder::default().retry_config(aws.retry_for_checks()),
                    )
                    .send()
                    .await,
            )
        },
        aws.available_zones(),
        async {
            if endpoint_services.is_empty() {
                return None;
            }
            Some(
                aws.ec2
                    .describe_vpc_endpoint_services()
                    .set_service_names(Some(endpoint_services.clone()))
                    .send()
                    .await,
            )
        },
        async {
            if !lambda_on {
                return None;
            }
            Some(
                aws.lambda
                    .get_account_settings()
                    .customize()
                    .config_override(
                        lambda::config::Builder::default().retry_config(aws.retry_for_checks()),
                    )
                    .send()
                    .await,
            )
        },
    );
    // Zones every interface endpoint service of the stack is offered in
    // (unknown when a service is not listed).
    if let Some(Err(e)) = &endpoint_zones {
        p.note_refusal("DescribeVpcEndpointServices", e);
    }
    let endpoint_zones = endpoint_zones.and_then(Result::ok).and_then(|out| {
        let per_service: Vec<Vec<String>> = endpoint_services
            .iter()
            .map(|name| {
                out.service_details()
                    .iter()
                    .find(|d| d.service_name() == Some(name.as_str()))
                    .map(|d| d.availability_zones().to_vec())
            })
            .collect::<Option<_>>()?;
        let (first, rest) = per_service.split_first()?;
        Some(
            first
                .iter()
                .filter(|z| rest.iter().all(|zones| zones.contains(z)))
                .cloned()
                .collect::<Vec<_>>(),
        )
    });

    // The engine version RDS offers.
    match versions {
        None => p.push(
            "rds",
            Verdict::NotChecked,
            Component::Rds.left_out_because(),
        ),
        Some(Ok(out)) => {
            let offered: Vec<String> = out
                .db_engine_versions()
                .iter()
                .filter_map(|v| v.engine_version().map(str::to_owned))
                .collect();
            match choose_engine_version(configured, &offered) {
                Ok(v) => {
                    p.push("rds engine version", Verdict::Ok, format!("PostgreSQL {v} (configured {configured})"));
                    p.engine_version = v;
                }
                Err(why) => p.push("rds engine version", Verdict::Fail, why),
            }
        }
        Some(Err(e))
            if emulator
                && paysec_aws::classify::classify(&e) != ErrorClass::AccessDenied =>
        {
            p.push(
            "rds engine version",
            Verdict::NotChecked,
            format!("the emulator does not answer DescribeDBEngineVersions ({}); using {configured} as configured", paysec_aws::classify::one_line(&e)),
        )
        }
        Some(Err(e)) => {
            p.note_refusal("DescribeDBEngineVersions", &e);
            p.push(
                "rds engine version",
                Verdict::Fail,
                format!("DescribeDBEngineVersions: {}", paysec_aws::classify::one_line(&e)),
            )
        }
    }

    // The instance class, in which zones, Multi-AZ.
    let class = &config.stack.rds.instance_class;
    let mut class_zones: Option<Vec<String>> = None;
    if rds_on && p.failures().next().is_none() {
        let options = aws
            .rds
            .describe_orderable_db_instance_options()
            .engine("postgres")
            .engine_version(&p.engine_version)
            .db_instance_class(class)
            .customize()
            .config_override(rds::config::Builder::default().retry_config(aws.retry_for_checks()))
            .send()
            .await;
        match options {
            Ok(out) if out.orderable_db_instance_options().is_empty() && emulator => p.push(
                "rds instance class",
                Verdict::NotChecked,
                format!("the emulator lists no orderable options; using {class} as configured"),
            ),
            Ok(out) => {
                let opts = out.orderable_db_instance_options();
                let multi_az_ok = !config.stack.rds.multi_az
                    || opts.iter().any(|o| o.multi_az_capable() == Some(true));
                let zones: Vec<String> = opts
                    .iter()
                    .flat_map(|o| o.availability_zones())
                    .filter_map(|z| z.name().map(str::to_owned))
                    .collect();
                if opts.is_empty() {
                    p.push(
                        "rds instance class",
                        Verdict::Fail,
                        format!("{class} is not offered for PostgreSQL {} in {}; choose another rds.instance_class", p.engine_version, aws.region()),
                    );
                } else if !multi_az_ok {
                    p.push(
                        "rds instance class",
                        Verdict::Fail,
                        format!("{class} cannot run Multi-AZ for PostgreSQL {}; choose another rds.instance_class", p.engine_version),
                    );
                } else {
                    p.push(
                        "rds instance class",
                        Verdict::Ok,
                        format!("{class} offered in {}", zones.join(", ")),
                    );
                    class_zones = Some(zones);
                }
            }
            Err(e) => {
                p.note_refusal("DescribeOrderableDBInstanceOptions", &e);
                p.push(
                    "rds instance class",
                    Verdict::unanswered(emulator, Verdict::Fail),
                    format!(
                        "DescribeOrderableDBInstanceOptions: {}",
                        paysec_aws::classify::one_line(&e)
                    ),
                )
            }
        }
    }

    // Three zones offering the database and its endpoint.
    match region_zones {
        Ok(names) => {
            match choose_zones(
                &names,
                class_zones.as_deref(),
                endpoint_zones.as_deref(),
                &config.stack.network.availability_zones,
            ) {
                Ok(zones) => {
                    p.push("zones", Verdict::Ok, zones.join(", "));
                    p.zones = zones;
                }
                Err(why) => p.push("zones", Verdict::Fail, why),
            }
        }
        Err(e) => {
            p.note_refusal("DescribeAvailabilityZones", &e);
            p.push(
                "zones",
                Verdict::Fail,
                format!(
                    "DescribeAvailabilityZones: {}",
                    paysec_aws::classify::one_line(&e)
                ),
            )
        }
    }

    // Room for the function's reserved concurrency.
    if !lambda_on {
        p.push(
            "lambda",
            Verdict::NotChecked,
            Component::Lambda.left_out_because(),
        );
    } else if let (Some(wanted), Some(account)) = (
        config.stack.lambda.reserved_concurrency.executions(),
        account,
    ) {
        match account {
            Ok(out) => match out.account_limit() {
                Some(limit) => {
                    let total = limit.concurrent_executions();
                    let unreserved = limit.unreserved_concurrent_executions().unwrap_or(total);
                    match paysec_lambda::function::concurrency_fits(total, unreserved, wanted, None)
                    {
                        Ok(()) => p.push(
                            "lambda concurrency",
                            Verdict::Ok,
                            format!("{wanted} of {unreserved} unreserved (account limit {total})"),
                        ),
                        Err(why) => p.push(
                            "lambda concurrency",
                            Verdict::Warning,
                            format!("reserved concurrency will be skipped: {why}"),
                        ),
                    }
                }
                None => p.push(
                    "lambda concurrency",
                    Verdict::NotChecked,
                    "GetAccountSettings gave no account limit",
                ),
            },
            Err(e) => {
                p.note_refusal("GetAccountSettings", &e);
                p.push(
                    "lambda concurrency",
                    Verdict::unanswered(emulator, Verdict::Warning),
                    format!("GetAccountSettings: {}", paysec_aws::classify::one_line(&e)),
                )
            }
        }
    }

    if let (true, Some(name)) = (lambda_on, &config.stack.lambda.signing_profile) {
        signing_profile(aws, &mut p, name, emulator).await;
    }

    quotas(aws, &mut p, creates).await;
    p
}

/// The configured Signer profile exists here, is Active and signs for
/// Lambda: otherwise the first release would fail after the bucket and
/// the configuration were made.
///
/// IAM: signer:GetSigningProfile.
async fn signing_profile(aws: &Aws, p: &mut Preflight, name: &str, emulator: bool) {
    match aws
        .signer
        .get_signing_profile()
        .profile_name(name)
        .send()
        .await
    {
        Ok(out) => {
            let profile = paysec_lambda::signing::Profile {
                version_arn: out.profile_version_arn().unwrap_or_default().to_owned(),
                status: out
                    .status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                platform: out.platform_id().unwrap_or_default().to_owned(),
            };
            match paysec_lambda::signing::profile_problem(name, &profile) {
                Some(why) => p.push("signing profile", Verdict::Fail, why),
                None => p.push(
                    "signing profile",
                    Verdict::Ok,
                    format!(
                        "{name}: Active, {}, version {}",
                        profile.platform, profile.version_arn
                    ),
                ),
            }
        }
        Err(e) if paysec_aws::classify::classify(&e) == ErrorClass::NotFound => p.push(
            "signing profile",
            Verdict::Fail,
            format!(
                "no Signer signing profile {name} in this account and region ({}); create it with `aws signer put-signing-profile --platform-id {} --profile-name {name}`, or fix lambda.signing_profile",
                paysec_aws::classify::one_line(&e),
                paysec_lambda::signing::LAMBDA_PLATFORM
            ),
        ),
        Err(e) => {
            p.note_refusal("GetSigningProfile", &e);
            p.push(
                "signing profile",
                Verdict::unanswered(emulator, Verdict::Fail),
                format!("GetSigningProfile: {}", paysec_aws::classify::one_line(&e)),
            )
        }
    }
}

/// Whether `needed` more fit `used` of `quota`; `Err` says what to do.
pub fn quota_room(
    what: &str,
    code: &str,
    used: usize,
    needed: usize,
    quota: f64,
) -> Result<String, String> {
    if ((used + needed) as f64) <= quota {
        Ok(format!("{used} of {quota} {what}, {needed} more needed"))
    } else {
        Err(format!(
            "{used} of {quota} {what} are used and this run needs {needed} more (Service Quotas {code}); request an increase or remove unused ones"
        ))
    }
}

/// Who outside the caller's account the stack would trust: key
/// administrators of another account (they could change the keys'
/// policies) and the audit role's auditor (who can read the account's
/// security configuration). Each is legitimate when meant, so a warning
/// naming them, never a refusal.
fn trust_outside(config: &Config, caller_arn: &str, key_admins: &[String]) -> (Verdict, String) {
    let account_of = |arn: &str| arn.split(':').nth(4).map(str::to_owned);
    let Some(own) = account_of(caller_arn) else {
        return (
            Verdict::NotChecked,
            format!("no account in the caller's ARN {caller_arn}"),
        );
    };
    let mut outside: Vec<String> = key_admins
        .iter()
        .filter(|a| account_of(a).is_some_and(|acct| acct != own))
        .map(|a| format!("key administrator {a}"))
        .collect();
    let auditor = config.stack.iam.audit_trusted_account.clone().or_else(|| {
        config
            .stack
            .iam
            .audit_trusted_role_arn
            .as_deref()
            .and_then(account_of)
    });
    if let Some(acct) = auditor.filter(|a| *a != own) {
        outside.push(format!("the audit role's auditor (account {acct})"));
    }
    if outside.is_empty() {
        (
            Verdict::Ok,
            format!("nothing trusted outside account {own}"),
        )
    } else {
        (
            Verdict::Warning,
            format!(
                "trusted outside account {own}: {}; check this is meant",
                outside.join(", ")
            ),
        )
    }
}

/// The interface endpoints the stack puts in its VPC: the RDS API's with
/// the database, X-Ray's with the function, execute-api's with the API,
/// and those of what the code calls (`crate::egress`).
fn interface_endpoints(config: &Config) -> Vec<paysec_network::EndpointService> {
    use paysec_network::EndpointService::Aws;
    [
        ("rds", Component::Rds),
        ("xray", Component::Lambda),
        ("execute-api", Component::Api),
    ]
    .into_iter()
    .filter(|(_, c)| c.enabled_in(config))
    .map(|(service, _)| Aws(service.to_owned()))
    .chain(
        code_endpoints(config)
            .into_iter()
            .map(|(_, service)| service),
    )
    .collect()
}

/// The endpoints of what the code calls, while there is code.
fn code_endpoints(
    config: &Config,
) -> Vec<(paysec_core::LogicalId, paysec_network::EndpointService)> {
    if Component::Lambda.enabled_in(config) {
        crate::egress::configured(config)
    } else {
        Vec::new()
    }
}

/// Their logical ids, in the same order.
fn interface_endpoint_ids(config: &Config) -> Vec<String> {
    use crate::ids;
    [
        (ids::ENDPOINT_RDS, Component::Rds),
        (ids::ENDPOINT_XRAY, Component::Lambda),
        (ids::ENDPOINT_API, Component::Api),
    ]
    .into_iter()
    .filter(|(_, c)| c.enabled_in(config))
    .map(|(id, _)| id.to_owned())
    .chain(
        code_endpoints(config)
            .into_iter()
            .map(|(id, _)| id.to_string()),
    )
    .collect()
}

#[cfg(test)]
mod trust_tests {
    use super::*;

    #[test]
    fn principals_of_other_accounts_are_named() {
        let caller = "arn:aws:sts::123456789012:assumed-role/Deployer/me";
        let mut config = Config::default();
        let own = ["arn:aws:iam::123456789012:role/KeyAdmin".to_owned()];
        assert_eq!(trust_outside(&config, caller, &own).0, Verdict::Ok);
        let foreign = ["arn:aws:iam::999999999999:role/KeyAdmin".to_owned()];
        let (verdict, detail) = trust_outside(&config, caller, &foreign);
        assert_eq!(verdict, Verdict::Warning);
        assert!(
            detail.contains("key administrator arn:aws:iam::999999999999:role/KeyAdmin"),
            "{detail}"
        );
        config.stack.iam.audit_trusted_role_arn =
            Some("arn:aws:iam::210987654321:role/Auditor".into());
        let (verdict, detail) = trust_outside(&config, caller, &own);
        assert_eq!(verdict, Verdict::Warning);
        assert!(
            detail.contains("auditor (account 210987654321)"),
            "{detail}"
        );
    }
}

/// The account's quotas the stack draws on, where Service Quotas answers:
/// VPCs per region, customer managed KMS keys, interface endpoints per
/// VPC; each counted against what the run creates (`creates`), and not
/// asked when it creates none.
async fn quotas(aws: &Aws, p: &mut Preflight, creates: Creates) {
    let Creates {
        vpcs: environments,
        keys,
        endpoints_existing,
        endpoints_new: endpoints,
    } = creates;
    let emulator = aws.tolerates(Gap::CatalogReadsMissing);
    let (vpc_quota, vpcs, key_quota, endpoint_quota) = tokio::join!(
        quota_value(aws, "vpc", "L-F678F1CE"),
        aws.ec2.describe_vpcs().send(),
        quota_value(aws, "kms", "L-C2F1777E"),
        async {
            if endpoints == 0 {
                return None;
            }
            Some(quota_value(aws, "vpc", "L-29B6F2EB").await)
        },
    );
    match endpoint_quota {
        None => {}
        Some(Ok(value)) => match value {
            Some(value) => match quota_room(
                "interface endpoints per VPC",
                "vpc/L-29B6F2EB",
                endpoints_existing,
                endpoints,
                value,
            ) {
                Ok(detail) => p.push("quota: endpoints", Verdict::Ok, detail),
                Err(why) => p.push("quota: endpoints", Verdict::Fail, why),
            },
            None => p.push(
                "quota: endpoints",
                Verdict::NotChecked,
                "Service Quotas gave no value",
            ),
        },
        Some(Err(e)) => {
            p.refused.extend(e.refused);
            p.push(
                "quota: endpoints",
                Verdict::unanswered(emulator, Verdict::Warning),
                e.text,
            )
        }
    }
    match (vpc_quota, vpcs) {
        (Ok(value), Ok(v)) => match value {
            Some(value) => match quota_room(
                "VPCs in the region",
                "vpc/L-F678F1CE",
                v.vpcs().len(),
                environments,
                value,
            ) {
                Ok(detail) => p.push("quota: VPCs", Verdict::Ok, detail),
                Err(why) => p.push("quota: VPCs", Verdict::Fail, why),
            },
            None => p.push(
                "quota: VPCs",
                Verdict::NotChecked,
                "Service Quotas gave no value",
            ),
        },
        (Err(e), _) => {
            p.refused.extend(e.refused);
            p.push(
                "quota: VPCs",
                Verdict::unanswered(emulator, Verdict::Warning),
                e.text,
            )
        }
        (_, Err(e)) => {
            p.note_refusal("DescribeVpcs", &e);
            p.push(
                "quota: VPCs",
                Verdict::Warning,
                format!("DescribeVpcs: {}", paysec_aws::classify::one_line(&e)),
            )
        }
    }
    match key_quota {
        Ok(value) => match value {
            // Keys are counted only when the quota is near reach: listing
            // every key of a large account costs more than it tells.
            Some(value) if keys == 0 => p.push(
                "quota: KMS keys",
                Verdict::Ok,
                format!("quota {value} customer managed keys; this run makes none"),
            ),
            Some(value) if value < 1000.0 => {
                let mut used = 0;
                let mut pages = aws.kms.list_keys().into_paginator().send();
                while let Some(page) = pages.next().await {
                    match page {
                        Ok(page) => used += page.keys().len(),
                        Err(e) => {
                            p.note_refusal("ListKeys", &e);
                            break;
                        }
                    }
                }
                match quota_room("KMS keys", "kms/L-C2F1777E", used, keys, value) {
                    Ok(detail) => p.push("quota: KMS keys", Verdict::Ok, detail),
                    Err(why) => p.push("quota: KMS keys", Verdict::Fail, why),
                }
            }
            Some(value) => p.push(
                "quota: KMS keys",
                Verdict::Ok,
                format!("quota {value} customer managed keys"),
            ),
            None => p.push(
                "quota: KMS keys",
                Verdict::NotChecked,
                "Service Quotas gave no value",
            ),
        },
        Err(e) => {
            p.refused.extend(e.refused);
            p.push(
                "quota: KMS keys",
                Verdict::unanswered(emulator, Verdict::Warning),
                e.text,
            )
        }
    }
}

/// A quota's value in this account: GetServiceQuota, or, for a quota
/// never adjusted, which it answers `NoSuchResourceException`,
/// GetAWSDefaultServiceQuota (as Terraform's `aws_servicequotas_service_quota`
/// data source falls back). `Err` is the failed call, one line.
///
/// IAM: servicequotas:GetServiceQuota, servicequotas:GetAWSDefaultServiceQuota.
async fn quota_value(aws: &Aws, service: &str, code: &str) -> Result<Option<f64>, Unread> {
    let checks = || servicequotas::config::Builder::default().retry_config(aws.retry_for_checks());
    let adjusted = aws
        .quotas
        .get_service_quota()
        .service_code(service)
        .quota_code(code)
        .customize()
        .config_override(checks())
        .send()
        .await;
    match adjusted {
        Ok(q) => Ok(q.quota().and_then(|q| q.value())),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_resource_exception()) =>
        {
            aws.quotas
                .get_aws_default_service_quota()
                .service_code(service)
                .quota_code(code)
                .customize()
                .config_override(checks())
                .send()
                .await
                .map(|q| q.quota().and_then(|q| q.value()))
                .map_err(|e| Unread {
                    text: format!(
                        "GetAWSDefaultServiceQuota {service}/{code}: {}",
                        paysec_aws::classify::one_line(&e)
                    ),
                    refused: refusal("GetAWSDefaultServiceQuota", &e),
                })
        }
        Err(e) => Err(Unread {
            text: format!(
                "GetServiceQuota {service}/{code}: {}",
                paysec_aws::classify::one_line(&e)
            ),
            refused: refusal("GetServiceQuota", &e),
        }),
    }
}

/// A quota that could not be read: the failed call in one line, and the
/// refusal if AWS refused it for want of a permission.
struct Unread {
    text: String,
    refused: Option<Refused>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn a_major_takes_its_newest_minor_and_a_retired_minor_is_refused() {
        let offered = s(&["16.9", "16.10", "16.8", "17.5"]);
        assert_eq!(choose_engine_version("16", &offered).unwrap(), "16.10");
        assert_eq!(choose_engine_version("16.9", &offered).unwrap(), "16.9");
        let why = choose_engine_version("16.6", &offered).unwrap_err();
        assert!(why.contains("no longer offers PostgreSQL 16.6"), "{why}");
        assert!(why.contains("rds.engine_version = \"16\""), "{why}");
        assert!(choose_engine_version("15", &offered).is_err());
    }

    #[test]
    fn a_quota_has_room_for_one_more_or_says_what_to_do() {
        assert!(quota_room("VPCs", "vpc/L-F678F1CE", 4, 1, 5.0).is_ok());
        let why = quota_room("VPCs", "vpc/L-F678F1CE", 5, 1, 5.0).unwrap_err();
        assert!(why.contains("request an increase"), "{why}");
        assert!(
            quota_room("VPCs", "vpc/L-F678F1CE", 1, 10, 5.0).is_err(),
            "a fleet of ten needs ten"
        );
    }

    #[test]
    fn zones_offer_the_class_and_the_endpoint() {
        let region = s(&["r-1a", "r-1b", "r-1c", "r-1d", "r-1e"]);
        let class = s(&["r-1a", "r-1c", "r-1d", "r-1e"]);
        let endpoint = s(&["r-1a", "r-1b", "r-1c", "r-1e"]);
        assert_eq!(
            choose_zones(&region, Some(&class), Some(&endpoint), &[]).unwrap(),
            s(&["r-1a", "r-1c", "r-1e"])
        );
        assert_eq!(
            choose_zones(&region, None, None, &[]).unwrap(),
            s(&["r-1a", "r-1b", "r-1c"])
        );
        let few = s(&["r-1a", "r-1b"]);
        assert!(choose_zones(&region, Some(&few), None, &[]).is_err());
        let configured = s(&["r-1a", "r-1b", "r-1c"]);
        let why = choose_zones(&region, Some(&class), None, &configured).unwrap_err();
        assert!(why.contains("r-1b"), "{why}");
    }
}

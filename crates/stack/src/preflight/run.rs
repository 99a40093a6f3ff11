//! [`run`]: every check in order, its independent reads sent at once. The
//! RDS engine version and instance class, the zones and the function's
//! concurrency are judged here; trust, signing and quotas in their modules.

use paysec_aws::emulator::Gap;
use paysec_aws::sdk::{lambda, rds};
use paysec_aws::Aws;
use paysec_config::Config;
use paysec_core::ErrorClass;

use crate::Component;

use super::endpoints::interface_endpoints;
use super::quotas::{quotas, Creates};
use super::resolve::{choose_engine_version, choose_zones};
use super::signing::signing_profile;
use super::trust::trust_outside;
use super::{Preflight, Verdict};

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

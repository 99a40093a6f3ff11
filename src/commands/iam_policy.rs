//! `paysec iam-policy`: the IAM policy documents a principal needs to run
//! paysec, built from every crate's permission rows
//! ([`paysec_aws::permissions`]) for the configured environments and
//! components: `--for deploy` (plan, up, down, deploy, the ledger) or
//! `--for verify` (plan and verify: reads only).

use std::path::Path;

use paysec_aws::permissions::{
    documents, policy_size, statements, Permission, Target, MANAGED_POLICY_LIMIT,
};
use paysec_core::naming::EnvName;
use paysec_core::{ErrorClass, ResourceError};
use serde_json::{json, Value};

use crate::cli::PolicyFor;
use crate::exit::{self, Failure};
use crate::printer::Printer;
use crate::settings::Settings;

/// Every crate's rows: paysec's whole permission table.
pub fn all() -> Vec<Permission> {
    [
        paysec_aws::permissions::PERMISSIONS,
        paysec_account::permissions::PERMISSIONS,
        paysec_api::permissions::PERMISSIONS,
        paysec_iam::permissions::PERMISSIONS,
        paysec_kms::permissions::PERMISSIONS,
        paysec_lambda::permissions::PERMISSIONS,
        paysec_logs::permissions::PERMISSIONS,
        paysec_monitoring::permissions::PERMISSIONS,
        paysec_network::permissions::PERMISSIONS,
        paysec_rds::permissions::PERMISSIONS,
        paysec_s3::permissions::PERMISSIONS,
        paysec_stack::permissions::PERMISSIONS,
    ]
    .concat()
}

fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

pub async fn run(
    settings: &Settings,
    printer: &Printer,
    principal: PolicyFor,
    account: Option<&str>,
    out_dir: Option<&Path>,
) -> Result<u8, Failure> {
    let envs: Vec<EnvName> = if settings.fleet.is_empty() {
        vec![settings.env.clone()]
    } else {
        settings.fleet.clone()
    };
    let mut targets = Vec::new();
    for env in &envs {
        let own = settings.for_environment(env)?;
        let aws_settings = own.aws_for(env);
        let aws = paysec_aws::Aws::connect(&aws_settings).await?;
        let region = aws.region().to_owned();
        let account = match account {
            Some(a) => a.to_owned(),
            None => aws.identity().await?.account,
        };
        let stack = &own.config.stack;
        targets.push(Target {
            partition: partition_of(&region).to_owned(),
            region,
            account,
            env: env.clone(),
            ledger: own
                .ledger_url
                .as_ref()
                .map(|u| (u.bucket.clone(), u.prefix.clone())),
            database: stack.rds.enabled,
            function: stack.lambda.enabled,
            api: stack.api.enabled,
            dns_firewall: stack.network.dns_firewall,
            code_signing: stack.lambda.signing_profile.is_some(),
        });
    }
    let rows = all();
    let which = match principal {
        PolicyFor::Deploy => "deploy",
        PolicyFor::Verify => "verify",
    };
    let stem = format!(
        "paysec-{}-{which}",
        envs.iter()
            .map(EnvName::as_str)
            .collect::<Vec<_>>()
            .join("-")
    );
    let docs = documents(
        statements(&rows, principal == PolicyFor::Deploy, &targets),
        &stem,
    );
    if let Some(dir) = out_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::Usage(format!("cannot create {}: {e}", dir.display())))?;
        for d in &docs {
            let path = dir.join(format!("{}.json", d.name));
            let text = serde_json::to_string_pretty(&d.policy).unwrap_or_default();
            std::fs::write(&path, text + "\n")
                .map_err(|e| Failure::Usage(format!("cannot write {}: {e}", path.display())))?;
            printer.note(format!("wrote {}", path.display()));
        }
    }
    if printer.is_json() {
        let list: Vec<Value> = docs
            .iter()
            .map(|d| json!({ "name": d.name, "document": d.policy, "calls": d.calls }))
            .collect();
        printer.json(&json!({ "for": which, "policies": list }));
    } else if out_dir.is_none() {
        for d in &docs {
            let size = policy_size(&d.policy);
            printer.line(format!(
                "# {} ({size} of {MANAGED_POLICY_LIMIT} characters): aws iam create-policy --policy-name {} --policy-document file://{}.json",
                d.name, d.name, d.name
            ));
            printer.line(serde_json::to_string_pretty(&d.policy).unwrap_or_default());
        }
    }
    Ok(exit::OK)
}

/// The run's first refusal for want of a permission, as one line naming
/// what was refused (AWS's message names the action and the resource) and
/// the statement that grants it; `None` when nothing was refused so.
pub fn denied<'a>(
    errors: impl IntoIterator<Item = &'a ResourceError>,
    principal: PolicyFor,
) -> Option<Failure> {
    let (resource, operation, code, message) = errors.into_iter().find_map(|e| match e {
        ResourceError::Aws {
            resource,
            operation,
            class: ErrorClass::AccessDenied,
            code,
            message,
            ..
        } => Some((resource, *operation, code, message)),
        _ => None,
    })?;
    Some(refused(
        &resource.to_string(),
        operation,
        code.as_deref(),
        message,
        principal,
        "Nothing else was changed after it; the ledger records what was done",
    ))
}

/// The lines a run's failures are shown as before its closing error: a
/// refusal for want of a permission names its statement, as [`denied`]
/// does; when `closing` (the run ends with [`denied`]'s line), the refusal
/// that line names is left to it, so each refusal is said once.
pub fn failure_lines(
    failures: &[(paysec_core::LogicalId, paysec_core::scheduler::RunError)],
    principal: PolicyFor,
    closing: bool,
) -> Vec<String> {
    let mut closing_left_out = !closing;
    failures
        .iter()
        .filter_map(|(_, e)| {
            let paysec_core::scheduler::RunError::Resource(refusal) = e else {
                return Some(e.to_string());
            };
            if refusal.class() != ErrorClass::AccessDenied {
                return Some(e.to_string());
            }
            if !closing_left_out {
                closing_left_out = true;
                return None;
            }
            denied(std::iter::once(refusal), principal)
                .map(|f| f.to_string())
                .or_else(|| Some(e.to_string()))
        })
        .collect()
}

/// A preflight read AWS refused for want of a permission, as [`denied`]
/// words a refused call of the run; `None` when none was refused.
pub fn preflight_denied(
    preflight: &paysec_stack::preflight::Preflight,
    principal: PolicyFor,
) -> Option<Failure> {
    let first = preflight.refused.first()?;
    Some(refused(
        "preflight",
        first.operation,
        first.code.as_deref(),
        &first.message,
        principal,
        "Nothing was changed",
    ))
}

/// The first call of `calls` AWS refused for want of a permission (HTTP
/// 403 naming an action, or an `AccessDenied` code), as [`denied`] words a
/// refused call: `verify` keeps reading past a refusal (what it could not
/// read is UNKNOWN in its report), then stops with this line.
pub fn refused_call(calls: &[paysec_aws::calls::Call], principal: PolicyFor) -> Option<Failure> {
    let call = calls.iter().find(|c| {
        c.status == 403
            && (c.body.contains("not authorized to perform") || c.body.contains("AccessDenied"))
    })?;
    let message = call
        .body
        .split_once("User: ")
        .map(|(_, rest)| {
            let end = rest.find(['<', '"']).unwrap_or(rest.len());
            format!("User: {}", &rest[..end])
        })
        .unwrap_or_else(|| format!("HTTP {}", call.status));
    Some(refused(
        call.resource.as_deref().unwrap_or("verify"),
        &call.operation,
        None,
        &message,
        principal,
        "The report marks what could not be read UNKNOWN",
    ))
}

/// One line: what AWS refused, the actions missing and the statement of
/// `paysec iam-policy` that grants them, then what became of the run.
fn refused(
    what: &str,
    operation: &str,
    code: Option<&str>,
    message: &str,
    principal: PolicyFor,
    after: &str,
) -> Failure {
    let which = match principal {
        PolicyFor::Deploy => "deploy",
        PolicyFor::Verify => "verify",
    };
    let grant = match paysec_aws::permissions::statement_for(operation, message) {
        Some((sids, row)) => format!(
            "the caller lacks {} ({}): statement {} of `paysec iam-policy --for {which}` grants it",
            row.actions.join(", "),
            row.service,
            sids.join(" or ")
        ),
        None => format!("the caller lacks the permission for {operation}: see `paysec iam-policy --for {which}`"),
    };
    Failure::AccessDenied(format!(
        "{what}: AWS refused {operation} ({}: {message}); {grant}. {after}",
        code.unwrap_or("AccessDenied")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use paysec_core::naming::Names;

    /// Two services' `ListAliases`: the refusal's action picks the row.
    #[test]
    fn a_refusal_is_matched_to_the_statement_granting_the_action_it_names() {
        let kms = "User: arn:aws:sts::123456789012:assumed-role/D/d is not authorized to perform: kms:ListAliases on resource: *";
        let rows = all();
        let (sids, row) =
            paysec_aws::permissions::statement_in(&rows, "ListAliases", kms).expect("a row");
        assert_eq!(row.actions[0], "kms:ListAliases");
        assert!(sids.iter().all(|s| s.starts_with("Keys")), "{sids:?}");
        assert_eq!(
            paysec_aws::permissions::refused_action("Access Denied"),
            None
        );
        // Named otherwise than IAM names it: the service's own row, not
        // the pass-role one beside it.
        let moto = "User: x is not authorized to perform: apigateway:UpdateAccount";
        let (sids, _) =
            paysec_aws::permissions::statement_in(&rows, "UpdateAccount", moto).expect("a row");
        assert_eq!(sids, ["ApiWriteApigatewayAccount"]);
    }

    /// IAM's wildcard match (`*` any run of characters, `?` one).
    fn matches(pattern: &str, arn: &str) -> bool {
        fn go(p: &[u8], s: &[u8]) -> bool {
            match (p.first(), s.first()) {
                (None, None) => true,
                (Some(b'*'), _) => go(&p[1..], s) || (!s.is_empty() && go(p, &s[1..])),
                (Some(b'?'), Some(_)) => go(&p[1..], &s[1..]),
                (Some(a), Some(b)) if a == b => go(&p[1..], &s[1..]),
                _ => false,
            }
        }
        go(pattern.as_bytes(), arn.as_bytes())
    }

    /// Every resource paysec names is inside the deploy policy's named
    /// statements, and no statement that changes reaches another
    /// environment's:
    /// the scoping matches the names `paysec_core::naming` gives.
    #[test]
    fn the_named_statements_cover_what_paysec_names_and_change_nothing_of_another_environment() {
        let env = EnvName::parse("prod-001").unwrap();
        let target = Target {
            partition: "aws".into(),
            region: "eu-west-1".into(),
            account: "111122223333".into(),
            env: env.clone(),
            ledger: Some(("team-state".into(), "paysec/".into())),
            database: true,
            function: true,
            api: true,
            dns_firewall: true,
            code_signing: true,
        };
        let docs = documents(statements(&all(), true, &[target]), "t");
        let resources: Vec<String> = docs
            .iter()
            .flat_map(|d| d.policy["Statement"].as_array().unwrap().clone())
            .flat_map(|s| s["Resource"].as_array().unwrap().clone())
            .filter_map(|r| r.as_str().map(str::to_owned))
            .filter(|r| r != "*")
            .collect();
        let covered = |arn: &str| resources.iter().any(|r| matches(r, arn));
        // What may change: reads may reach wider (the caller's own role,
        // whatever its name, is read for the key policies).
        let written: Vec<String> = docs
            .iter()
            .flat_map(|d| d.policy["Statement"].as_array().unwrap().clone())
            .filter(|s| s["Sid"].as_str().unwrap().contains("Write"))
            .flat_map(|s| s["Resource"].as_array().unwrap().clone())
            .filter_map(|r| r.as_str().map(str::to_owned))
            .filter(|r| r != "*")
            .collect();
        let writable = |arn: &str| written.iter().any(|r| matches(r, arn));
        let n = Names::new(&env);
        let a = "arn:aws";
        let own = [
            format!("{a}:iam::111122223333:role/{}", n.role("lambda-exec")),
            format!("{a}:iam::111122223333:policy/{}", n.policy("lambda-exec")),
            format!(
                "{a}:lambda:eu-west-1:111122223333:function:{}",
                n.lambda_function()
            ),
            format!(
                "{a}:lambda:eu-west-1:111122223333:function:{}:live",
                n.lambda_function()
            ),
            format!("{a}:sqs:eu-west-1:111122223333:{}", n.queue("payment-dlq")),
            format!("{a}:sns:eu-west-1:111122223333:{}", n.topic("alarms")),
            format!("{a}:rds:eu-west-1:111122223333:db:{}", n.db_instance()),
            format!("{a}:s3:::{}", n.bucket("flowlogs", "111122223333")),
            format!(
                "{a}:s3:::{}/AWSLogs/x",
                n.bucket("flowlogs", "111122223333")
            ),
            format!(
                "{a}:logs:eu-west-1:111122223333:log-group:{}",
                n.lambda_log_group()
            ),
            format!(
                "{a}:logs:eu-west-1:111122223333:log-group:{}:*",
                n.flow_log_group()
            ),
            format!(
                "{a}:logs:eu-west-1:111122223333:log-group:{}",
                n.rds_log_group("postgresql")
            ),
            format!(
                "{a}:logs:eu-west-1:111122223333:log-group:{}",
                n.api_access_log_group()
            ),
            format!("{a}:kms:eu-west-1:111122223333:{}", n.kms_alias("rds")),
            format!(
                "{a}:cloudwatch:eu-west-1:111122223333:alarm:{}-lambda-errors",
                n.prefix()
            ),
            format!("{a}:s3:::team-state/paysec/prod-001.json"),
        ];
        for arn in &own {
            assert!(covered(arn), "{arn} is not covered by {resources:#?}");
        }
        let other = Names::new(&EnvName::parse("test-001").unwrap());
        let theirs = [
            format!("{a}:iam::111122223333:role/{}", other.role("lambda-exec")),
            format!(
                "{a}:lambda:eu-west-1:111122223333:function:{}",
                other.lambda_function()
            ),
            format!("{a}:rds:eu-west-1:111122223333:db:{}", other.db_instance()),
            format!("{a}:s3:::{}", other.bucket("data", "111122223333")),
            format!("{a}:s3:::team-state/other/test-001.json"),
            format!(
                "{a}:logs:eu-west-1:111122223333:log-group:{}",
                other.lambda_log_group()
            ),
        ];
        for arn in &theirs {
            assert!(
                !writable(arn),
                "{arn} of another environment may be changed"
            );
        }
    }

    /// Every document fits IAM's managed-policy limit, every statement
    /// has a unique Sid of letters and digits, and verify's hold no write.
    #[test]
    fn documents_are_valid_managed_policies() {
        let target = Target {
            partition: "aws-us-gov".into(),
            region: "us-gov-west-1".into(),
            account: "111122223333".into(),
            env: EnvName::parse("a-rather-long-environment-name").unwrap(),
            ledger: Some((
                "a-shared-state-bucket-name".into(),
                "teams/payments/".into(),
            )),
            database: true,
            function: true,
            api: true,
            dns_firewall: true,
            code_signing: true,
        };
        for writes in [true, false] {
            let docs = documents(
                statements(&all(), writes, std::slice::from_ref(&target)),
                "t",
            );
            let mut sids = std::collections::BTreeSet::new();
            for d in &docs {
                let size = policy_size(&d.policy);
                assert!(size <= MANAGED_POLICY_LIMIT, "{}: {size}", d.name);
                for s in d.policy["Statement"].as_array().unwrap() {
                    let sid = s["Sid"].as_str().unwrap();
                    assert!(sid.chars().all(|c| c.is_ascii_alphanumeric()), "{sid}");
                    assert!(sids.insert(sid.to_owned()), "{sid} twice");
                    if !writes {
                        assert!(sid.contains("Read"), "verify's {sid} writes");
                    }
                }
            }
        }
    }
}

//! `paysec iam-policy`: the IAM policy documents a principal needs to run
//! paysec, built from every crate's permission rows
//! ([`paysec_aws::permissions`]) for the configured environments and
//! components: `--for deploy` (plan, up, down, deploy, the ledger) or
//! `--for verify` (plan and verify: reads only).

use std::path::Path;

use paysec_aws::permissions::{documents, statements, Permission, Target, MANAGED_POLICY_LIMIT};
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
            let size = d
                .policy
                .to_string()
                .chars()
                .filter(|c| !c.is_whitespace())
                .count();
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
    let which = match principal {
        PolicyFor::Deploy => "deploy",
        PolicyFor::Verify => "verify",
    };
    let grant = match paysec_aws::permissions::statement_for(operation) {
        Some((sid, row)) => format!(
            "the caller lacks {} ({}): statement {sid} of `paysec iam-policy --for {which}` grants it",
            row.actions.join(", "),
            row.service
        ),
        None => format!("the caller lacks the permission for {operation}: see `paysec iam-policy --for {which}`"),
    };
    Some(Failure::AccessDenied(format!(
        "{resource}: AWS refused {operation} ({}: {message}); {grant}. Nothing else was changed after it; the ledger records what was done",
        code.as_deref().unwrap_or("AccessDenied")
    )))
}

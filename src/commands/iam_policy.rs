//! `paysec iam-policy`: the IAM policy documents a principal needs to run
//! paysec, built from every crate's permission rows
//! ([`paysec_aws::permissions`]) for the configured environments and
//! components: `--for deploy` (plan, up, down, deploy, the ledger) or
//! `--for verify` (plan and verify: reads only).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use paysec_aws::permissions::{sid, Need, Permission, Scope};
use paysec_core::naming::{EnvName, Names};
use paysec_core::{ErrorClass, ResourceError};
use serde_json::{json, Value};

use crate::cli::PolicyFor;
use crate::exit::{self, Failure};
use crate::printer::Printer;
use crate::settings::Settings;

/// IAM's ceiling for a customer managed policy: 6,144 characters, white
/// space not counted (IAM user guide, "IAM and AWS STS quotas").
pub const MANAGED_POLICY_LIMIT: usize = 6_144;

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

/// What fills the rows' ARN templates for one environment.
#[derive(Clone, Debug)]
pub struct Target {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub env: EnvName,
    /// The shared ledger's bucket and key prefix, when the ledger is one.
    pub ledger: Option<(String, String)>,
    /// Which components are built: rows that only serve one left out are
    /// dropped.
    pub database: bool,
    pub function: bool,
    pub api: bool,
}

impl Target {
    fn fill(&self, template: &str) -> String {
        let names = Names::new(&self.env);
        let (bucket, key_prefix) = self.ledger.clone().unwrap_or_default();
        template
            .replace("{partition}", &self.partition)
            .replace("{region}", &self.region)
            .replace("{account}", &self.account)
            .replace("{prefix}", names.prefix())
            .replace("{bucket}", &bucket)
            .replace("{key_prefix}", &key_prefix)
    }

    fn wants(&self, p: &Permission) -> bool {
        match p.serves {
            "Database" => self.database,
            "Function" => self.function,
            "Api" => self.api && self.function,
            "Ledger" => self.ledger.is_some(),
            _ => true,
        }
    }
}

/// One policy document, named for `aws iam create-policy`, and the calls
/// each of its statements serves (by `Sid`).
#[derive(Clone, Debug)]
pub struct Document {
    pub name: String,
    pub policy: Value,
    pub calls: BTreeMap<String, BTreeSet<String>>,
}

/// One statement, and the SDK operations whose own action it grants
/// (`EC2 CreateVpc`): what it serves, call by call.
#[derive(Clone, Debug)]
pub struct Statement {
    pub json: Value,
    pub calls: BTreeSet<String>,
}

/// The statements `principal` needs for `targets`: one per (what it
/// serves, read or write, scope), actions and resources sorted, so the
/// same configuration always gives the same documents.
pub fn statements(rows: &[Permission], principal: PolicyFor, targets: &[Target]) -> Vec<Statement> {
    #[derive(Default)]
    struct Acc {
        actions: BTreeSet<String>,
        resources: BTreeSet<String>,
        envs: BTreeSet<String>,
        calls: BTreeSet<String>,
    }
    let mut groups: BTreeMap<(String, Need, Scope), Acc> = BTreeMap::new();
    for t in targets {
        for p in rows.iter().filter(|p| !p.actions.is_empty() && t.wants(p)) {
            if principal == PolicyFor::Verify && p.need == Need::Write {
                continue;
            }
            let acc = groups
                .entry((p.serves.to_owned(), p.need, p.scope))
                .or_default();
            acc.actions
                .extend(p.actions.iter().map(|a| (*a).to_owned()));
            acc.envs.insert(t.env.as_str().to_owned());
            if p.is_own() {
                acc.calls.insert(format!("{} {}", p.service, p.operation));
            }
            match p.scope {
                Scope::Any | Scope::Tagged | Scope::Requested => {
                    acc.resources.insert("*".into());
                }
                Scope::Arns(arns) | Scope::Ledger(arns) => {
                    acc.resources.extend(arns.iter().map(|a| t.fill(a)));
                }
                Scope::PassRole { role, .. } => {
                    acc.resources.insert(t.fill(role));
                }
                Scope::ServiceLinkedRole(service) => {
                    acc.resources.insert(t.fill(&format!(
                        "arn:{{partition}}:iam::{{account}}:role/aws-service-role/{service}/*"
                    )));
                }
            }
        }
    }
    // Ids stay unique where one group of rows has several scopes of a kind.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    groups
        .into_iter()
        .map(|((serves, need, scope), acc)| {
            let base = sid(&serves, need, &scope);
            let n = seen.entry(base.clone()).or_default();
            *n += 1;
            let id = if *n == 1 { base } else { format!("{base}{n}") };
            let envs: Vec<&String> = acc.envs.iter().collect();
            let mut statement = json!({
                "Sid": id,
                "Effect": "Allow",
                "Action": acc.actions,
                "Resource": acc.resources,
            });
            let condition = match scope {
                Scope::Tagged => Some(json!({
                    "StringEquals": { "aws:ResourceTag/paysec:environment": envs }
                })),
                Scope::Requested => Some(json!({
                    "StringEquals": { "aws:RequestTag/paysec:environment": envs }
                })),
                Scope::PassRole { to, .. } => Some(json!({
                    "StringEquals": { "iam:PassedToService": to }
                })),
                Scope::ServiceLinkedRole(service) => Some(json!({
                    "StringEquals": { "iam:AWSServiceName": service }
                })),
                _ => None,
            };
            if let Some(c) = condition {
                statement["Condition"] = c;
            }
            Statement {
                json: statement,
                calls: acc.calls,
            }
        })
        .collect()
}

/// Packs statements into as few documents as IAM's size limit allows,
/// named `paysec-<envs>-<for>[-N]`.
pub fn documents(statements: Vec<Statement>, stem: &str) -> Vec<Document> {
    let size = |s: &Value| s.to_string().chars().filter(|c| !c.is_whitespace()).count();
    // `{"Version":"2012-10-17","Statement":[` ... `]}` and the commas.
    let frame = 40;
    let mut packs: Vec<Vec<Statement>> = Vec::new();
    let mut used = frame;
    for s in statements {
        let n = size(&s.json) + 1;
        match packs.last_mut() {
            Some(pack) if used + n <= MANAGED_POLICY_LIMIT => {
                pack.push(s);
                used += n;
            }
            _ => {
                packs.push(vec![s]);
                used = frame + n;
            }
        }
    }
    let several = packs.len() > 1;
    packs
        .into_iter()
        .enumerate()
        .map(|(i, pack)| Document {
            name: if several {
                format!("{stem}-{}", i + 1)
            } else {
                stem.to_owned()
            },
            calls: pack
                .iter()
                .map(|s| {
                    (
                        s.json["Sid"].as_str().unwrap_or_default().to_owned(),
                        s.calls.clone(),
                    )
                })
                .collect(),
            policy: json!({
                "Version": "2012-10-17",
                "Statement": pack.into_iter().map(|s| s.json).collect::<Vec<_>>(),
            }),
        })
        .collect()
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
    let docs = documents(statements(&rows, principal, &targets), &stem);
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

//! The documents: rows filled in for environments and grouped into
//! statements, statements packed into policies.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::names::sid;
use super::{Need, Permission, Scope};

/// IAM's ceiling for a customer managed policy: 6,144 characters, white
/// space not counted (IAM user guide, "IAM and AWS STS quotas").
pub const MANAGED_POLICY_LIMIT: usize = 6_144;

/// What fills the rows' ARN templates for one environment.
#[derive(Clone, Debug)]
pub struct Target {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub env: paysec_core::naming::EnvName,
    /// The shared ledger's bucket and key prefix, when the ledger is one.
    pub ledger: Option<(String, String)>,
    /// Which components are built: rows that only serve one left out are
    /// dropped.
    pub database: bool,
    pub function: bool,
    pub api: bool,
    pub dns_firewall: bool,
    /// The function's releases are signed (`lambda.signing_profile`).
    pub code_signing: bool,
}

impl Target {
    fn fill(&self, template: &str) -> String {
        let names = paysec_core::naming::Names::new(&self.env);
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
            "DnsFirewall" => self.dns_firewall,
            "CodeSigning" => self.code_signing && self.function,
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

/// The statements a principal needs for `targets` (with `writes`, one
/// that changes; without, one that only reads): one per (what it
/// serves, read or write, scope), actions and resources sorted, so the
/// same configuration always gives the same documents.
pub fn statements(rows: &[Permission], writes: bool, targets: &[Target]) -> Vec<Statement> {
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
            if !writes && p.need == Need::Write {
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

/// A policy's (or statement's) size as IAM counts it against
/// [`MANAGED_POLICY_LIMIT`]: its characters but white space.
pub fn policy_size(policy: &Value) -> usize {
    policy
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count()
}

/// Packs statements into as few documents as IAM's size limit allows,
/// named `paysec-<envs>-<for>[-N]`.
pub fn documents(statements: Vec<Statement>, stem: &str) -> Vec<Document> {
    let size = policy_size;
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

//! The IAM permissions behind every AWS call paysec makes: one row per
//! SDK operation (and per resource scope it needs), kept by the crate that
//! makes the call in its own `permissions.rs`, and gathered by the binary
//! into `paysec iam-policy`'s documents.
//!
//! The rows are also the check that none is missing: the binary installs
//! them ([`install`]) and every client carries [`Guard`], which, in a debug
//! build (every test), refuses a call whose operation has no row, naming
//! it. So a new call without a policy entry fails the suite, not a user.
//! A release build only logs it.
//!
//! An `AccessDenied` from AWS is matched to its row ([`statement_for`]) so
//! the error names the action, and the statement of `paysec iam-policy`
//! that grants it.

use std::sync::OnceLock;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Who needs a permission: every principal that reads (`plan`,
/// `verify`), or only the one that changes (`up`, `down`, `deploy`,
/// `ledger init`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    Read,
    Write,
}

/// The resources a permission is granted on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// `*`: the action has no resource-level permission (IAM's service
    /// authorization reference lists none for it), or reads an
    /// account-wide setting.
    Any,
    /// ARN templates: `{partition}`, `{region}`, `{account}` and
    /// `{prefix}` (`paysec-<env>`) are filled in for the environment.
    Arns(&'static [&'static str]),
    /// `*` with `aws:ResourceTag/paysec:environment` equal to the
    /// environment: resources with generated ids (EC2, KMS keys), which
    /// paysec tags at creation.
    Tagged,
    /// `*` with `aws:RequestTag/paysec:environment` equal to the
    /// environment: creates that carry their tags (tag on create).
    Requested,
    /// The shared ledger's bucket (`{bucket}`) and its objects under the
    /// ledger's prefix; dropped when the ledger is a local file.
    Ledger(&'static [&'static str]),
    /// `iam:PassRole` of the roles `role` names (an ARN template) to the
    /// service `to` (`iam:PassedToService`).
    PassRole {
        role: &'static str,
        to: &'static str,
    },
    /// `iam:CreateServiceLinkedRole` for one service (`iam:AWSServiceName`).
    ServiceLinkedRole(&'static str),
}

/// One SDK operation's permissions on one scope.
#[derive(Clone, Copy, Debug)]
pub struct Permission {
    /// The service as the SDK names it in the operation's metadata
    /// (`EC2`, `CloudWatch Logs`, `API Gateway`).
    pub service: &'static str,
    /// The operation (`CreateVpc`).
    pub operation: &'static str,
    /// The IAM actions: the operation's own (which differs from its name
    /// in places: S3, API Gateway) and those it needs beside (tag on
    /// create, `iam:PassRole`). Empty: the call needs no permission
    /// (`sts:GetCallerIdentity`).
    pub actions: &'static [&'static str],
    pub need: Need,
    pub scope: Scope,
    /// What the statement serves: the start of its `Sid` (`Network`,
    /// `Database`, `Ledger`).
    pub serves: &'static str,
}

/// A row that reads (`Describe*`, `Get*`, `List*`, `Head*` and the like).
pub const fn read(
    serves: &'static str,
    service: &'static str,
    operation: &'static str,
    actions: &'static [&'static str],
    scope: Scope,
) -> Permission {
    row(Need::Read, serves, service, operation, actions, scope)
}

/// A row that changes something.
pub const fn write(
    serves: &'static str,
    service: &'static str,
    operation: &'static str,
    actions: &'static [&'static str],
    scope: Scope,
) -> Permission {
    row(Need::Write, serves, service, operation, actions, scope)
}

const fn row(
    need: Need,
    serves: &'static str,
    service: &'static str,
    operation: &'static str,
    actions: &'static [&'static str],
    scope: Scope,
) -> Permission {
    Permission {
        service,
        operation,
        actions,
        need,
        scope,
        serves,
    }
}

/// The stack's own roles, as [`Scope::PassRole`] names them.
pub const STACK_ROLES: &str = "arn:{partition}:iam::{account}:role/{prefix}-*";

static INSTALLED: OnceLock<Vec<Permission>> = OnceLock::new();

/// Installs every crate's rows, once per process; later calls are
/// ignored. Until then [`Guard`] checks nothing (the library crates'
/// own tests make calls without the binary's tables).
pub fn install(rows: Vec<Permission>) {
    let _ = INSTALLED.set(rows);
}

/// The installed rows.
pub fn installed() -> &'static [Permission] {
    INSTALLED.get().map(Vec::as_slice).unwrap_or(&[])
}

/// The rows of one operation.
pub fn rows_for<'a>(
    rows: &'a [Permission],
    service: &str,
    operation: &str,
) -> impl Iterator<Item = &'a Permission> {
    let service = service.to_owned();
    let operation = operation.to_owned();
    rows.iter()
        .filter(move |p| p.service == service && p.operation == operation)
}

/// The statements that grant `operation` (by the installed rows), as
/// `paysec iam-policy` names them, with the first row's actions; `None`
/// when no row has it. Operations of two services can share a name
/// (KMS's and Lambda's `ListAliases`): AWS's refusal names the action it
/// refused ("not authorized to perform: kms:ListAliases"), and `refusal`,
/// AWS's message, picks the rows granting that action when it does.
pub fn statement_for(operation: &str, refusal: &str) -> Option<(Vec<String>, &'static Permission)> {
    statement_in(installed(), operation, refusal)
}

/// [`statement_for`] among `rows`.
pub fn statement_in<'a>(
    rows: &'a [Permission],
    operation: &str,
    refusal: &str,
) -> Option<(Vec<String>, &'a Permission)> {
    let mut rows: Vec<&'a Permission> = rows
        .iter()
        .filter(|p| p.operation == operation && !p.actions.is_empty())
        .collect();
    if let Some(action) = refused_action(refusal) {
        if rows.iter().any(|p| p.actions.contains(&action)) {
            rows.retain(|p| p.actions.contains(&action));
        } else {
            // An action named otherwise than IAM names it (an emulator's
            // `apigateway:UpdateAccount` for IAM's `apigateway:PATCH`):
            // the rows of its service, not those of actions needed beside
            // (`iam:PassRole`).
            let service = action.split(':').next().unwrap_or_default();
            let of_service = |p: &&Permission| {
                p.actions
                    .first()
                    .is_some_and(|a| a.split(':').next() == Some(service))
            };
            if rows.iter().any(of_service) {
                rows.retain(of_service);
            }
        }
    }
    let first = *rows.first()?;
    let mut sids: Vec<String> = rows
        .iter()
        .map(|p| sid(p.serves, p.need, &p.scope))
        .collect();
    sids.dedup();
    Some((sids, first))
}

/// The action an AWS refusal names: "... is not authorized to perform:
/// kms:ListAliases on resource: ..." gives `kms:ListAliases`.
pub fn refused_action(message: &str) -> Option<&str> {
    let (_, rest) = message.split_once("to perform: ")?;
    let action = rest
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .next()?;
    action.contains(':').then_some(action)
}

/// A statement's id: what it serves, whether it reads or writes, and how
/// its resources are scoped, down to the kind of resource its ARNs name
/// (`ApiReadApigatewayAccount`, `RolesWriteIamRolePolicy`); IAM allows
/// only letters and digits.
pub fn sid(serves: &str, need: Need, scope: &Scope) -> String {
    let need = match need {
        Need::Read => "Read",
        Need::Write => "Write",
    };
    let scope = match scope {
        Scope::Any => "AnyResource".to_owned(),
        Scope::Arns(arns) | Scope::Ledger(arns) => arn_kinds(arns),
        Scope::Tagged => "Tagged".to_owned(),
        Scope::Requested => "TaggedOnCreate".to_owned(),
        Scope::PassRole { to, .. } => {
            format!("PassRoleTo{}", camel(to.split('.').next().unwrap_or(to)))
        }
        Scope::ServiceLinkedRole(service) => {
            format!(
                "ServiceLinkedRole{}",
                camel(service.split('.').next().unwrap_or(service))
            )
        }
    };
    format!("{serves}{need}{scope}")
}

/// `log-group` as `LogGroup`.
fn camel(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The services and kinds of resource ARN templates name, each once, in
/// order: `IamRolePolicy` for a role's and a policy's ARNs.
fn arn_kinds(arns: &[&str]) -> String {
    let mut out = String::new();
    let mut last_service = "";
    let mut kinds: Vec<String> = Vec::new();
    for arn in arns {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let service = parts.get(2).copied().unwrap_or_default();
        let resource = parts.get(5).copied().unwrap_or_default();
        let kind = match service {
            "s3" if resource.contains('/') => "object".to_owned(),
            "s3" => "bucket".to_owned(),
            "sqs" => "queue".to_owned(),
            "sns" => "topic".to_owned(),
            _ => resource
                .trim_start_matches('/')
                .split(['/', ':'])
                .next()
                .unwrap_or_default()
                .to_owned(),
        };
        if service != last_service {
            out.push_str(&camel(service));
            last_service = service;
            kinds.clear();
        }
        if !kinds.contains(&kind) {
            out.push_str(&camel(&kind));
            kinds.push(kind);
        }
    }
    out
}

/// The IAM prefix of a service as the SDK names it (`CloudWatch Logs` is
/// `logs`); `None` for a service paysec does not call.
pub fn iam_prefix(service: &str) -> Option<&'static str> {
    Some(match service {
        "API Gateway" => "apigateway",
        "CloudTrail" => "cloudtrail",
        "CloudWatch" => "cloudwatch",
        "CloudWatch Logs" => "logs",
        "Config Service" => "config",
        "EC2" => "ec2",
        "GuardDuty" => "guardduty",
        "IAM" => "iam",
        "KMS" => "kms",
        "Lambda" => "lambda",
        "RDS" => "rds",
        "Resource Groups Tagging API" => "tag",
        "Route53Resolver" => "route53resolver",
        "S3" | "S3 Control" => "s3",
        "Secrets Manager" => "secretsmanager",
        "Service Quotas" => "servicequotas",
        "SNS" => "sns",
        "SQS" => "sqs",
        "STS" => "sts",
        _ => return None,
    })
}

impl Permission {
    /// Whether this row grants the operation's own action (its first),
    /// rather than one the operation needs beside (`iam:PassRole`, a key's
    /// grant, the log delivery of flow logs).
    pub fn is_own(&self) -> bool {
        let prefix = self.actions.first().and_then(|a| a.split(':').next());
        prefix.is_some() && prefix == iam_prefix(self.service)
    }
}

/// Checks each call against the installed rows: in a debug build a call
/// with no row is refused before it is sent; in a release build it is
/// logged.
#[derive(Clone, Debug, Default)]
pub struct Guard;

impl Intercept for Guard {
    fn name(&self) -> &'static str {
        "paysec permission table"
    }

    // Not `read_before_execution`: a client's interceptors see the bag
    // there before the operation's metadata is in it.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let rows = installed();
        if rows.is_empty() {
            return Ok(());
        }
        let Some(meta) = cfg.load::<Metadata>() else {
            return Ok(());
        };
        if rows_for(rows, meta.service(), meta.name()).next().is_some() {
            return Ok(());
        }
        let what = format!(
            "paysec calls {} {} but no permission row names it: add one to the permissions.rs of the crate making the call, so `paysec iam-policy` grants it",
            meta.service(),
            meta.name()
        );
        if cfg!(debug_assertions) {
            Err(what.into())
        } else {
            tracing::warn!("{what}");
            Ok(())
        }
    }
}

const LEDGER: &str = "Ledger";
const IDENTITY: &str = "Identity";

/// The shared ledger's bucket and its objects under the ledger's prefix.
const LEDGER_BUCKET: Scope = Scope::Ledger(&["arn:{partition}:s3:::{bucket}"]);
const LEDGER_OBJECTS: Scope = Scope::Ledger(&["arn:{partition}:s3:::{bucket}/{key_prefix}*"]);

/// This crate's calls: the shared ledger (`ledger_s3`) and the caller's
/// identity (`clients`).
pub const PERMISSIONS: &[Permission] = &[
    // Who is calling: STS answers everyone; no permission applies.
    read(IDENTITY, "STS", "GetCallerIdentity", &[], Scope::Any),
    // The caller's own role, named in the key policies as its real ARN
    // (an SSO role's path is not in the session's ARN).
    read(
        IDENTITY,
        "IAM",
        "GetRole",
        &["iam:GetRole"],
        Scope::Arns(&["arn:{partition}:iam::{account}:role/*"]),
    ),
    read(
        IDENTITY,
        "EC2",
        "DescribeAvailabilityZones",
        &["ec2:DescribeAvailabilityZones"],
        Scope::Any,
    ),
    // What carries the environment's tags, where a ledger lost a record
    // (`tagged`): the Resource Groups Tagging API's action prefix is `tag`.
    read(
        IDENTITY,
        "Resource Groups Tagging API",
        "GetResources",
        &["tag:GetResources"],
        Scope::Any,
    ),
    // The ledger: read by every command, written by those that change.
    read(
        LEDGER,
        "S3",
        "HeadBucket",
        &["s3:ListBucket"],
        LEDGER_BUCKET,
    ),
    read(
        LEDGER,
        "S3",
        "ListObjectVersions",
        &["s3:ListBucketVersions"],
        LEDGER_BUCKET,
    ),
    read(LEDGER, "S3", "GetObject", &["s3:GetObject"], LEDGER_OBJECTS),
    // Every run checks that the state bucket's policy grants no one
    // outside its owner's account (and `ledger init` reads it too).
    read(
        LEDGER,
        "S3",
        "GetBucketPolicy",
        &["s3:GetBucketPolicy"],
        LEDGER_BUCKET,
    ),
    read(
        LEDGER,
        "S3",
        "HeadObject",
        &["s3:GetObject"],
        LEDGER_OBJECTS,
    ),
    write(LEDGER, "S3", "PutObject", &["s3:PutObject"], LEDGER_OBJECTS),
    write(
        LEDGER,
        "S3",
        "DeleteObject",
        &["s3:DeleteObject", "s3:DeleteObjectVersion"],
        LEDGER_OBJECTS,
    ),
    // `paysec ledger init`: the bucket, hardened, and the checks of one
    // that exists.
    write(
        LEDGER,
        "S3",
        "CreateBucket",
        &["s3:CreateBucket"],
        LEDGER_BUCKET,
    ),
    write(
        LEDGER,
        "S3",
        "PutBucketEncryption",
        &["s3:PutEncryptionConfiguration"],
        LEDGER_BUCKET,
    ),
    write(
        LEDGER,
        "S3",
        "PutPublicAccessBlock",
        &["s3:PutBucketPublicAccessBlock"],
        LEDGER_BUCKET,
    ),
    write(
        LEDGER,
        "S3",
        "PutBucketVersioning",
        &["s3:PutBucketVersioning"],
        LEDGER_BUCKET,
    ),
    write(
        LEDGER,
        "S3",
        "PutBucketLifecycleConfiguration",
        &["s3:PutLifecycleConfiguration"],
        LEDGER_BUCKET,
    ),
    write(
        LEDGER,
        "S3",
        "PutBucketPolicy",
        &["s3:PutBucketPolicy"],
        LEDGER_BUCKET,
    ),
    write(
        LEDGER,
        "S3",
        "PutBucketTagging",
        &["s3:PutBucketTagging"],
        LEDGER_BUCKET,
    ),
    write(
        LEDGER,
        "S3",
        "GetBucketVersioning",
        &["s3:GetBucketVersioning"],
        LEDGER_BUCKET,
    ),
    write(
        LEDGER,
        "S3",
        "GetBucketEncryption",
        &["s3:GetEncryptionConfiguration"],
        LEDGER_BUCKET,
    ),
    write(
        LEDGER,
        "S3",
        "GetPublicAccessBlock",
        &["s3:GetBucketPublicAccessBlock"],
        LEDGER_BUCKET,
    ),
    write(
        LEDGER,
        "S3",
        "GetBucketOwnershipControls",
        &["s3:GetBucketOwnershipControls"],
        LEDGER_BUCKET,
    ),
];

// The documents: rows filled in for environments and grouped into
// statements, statements packed into policies.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

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

#[cfg(test)]
mod tests {
    use super::*;

    /// A call whose operation has no row is refused before it is sent, in
    /// a debug build, naming it; one with a row goes out.
    #[tokio::test]
    async fn a_call_without_a_row_is_refused_naming_it() {
        install(vec![read(
            "Test",
            "STS",
            "GetCallerIdentity",
            &[],
            Scope::Any,
        )]);
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        let aws = crate::Aws::connect(&crate::AwsSettings {
            // Nothing listens here: a call that goes out fails to connect.
            endpoint_url: Some("http://127.0.0.1:9".into()),
            region: Some("us-east-1".into()),
            max_attempts: 1,
            ..crate::AwsSettings::default()
        })
        .await
        .expect("SDK config");
        let err = aws.kms.list_aliases().send().await.expect_err("refused");
        let text = format!("{:?}", err);
        assert!(
            text.contains("KMS ListAliases but no permission row names it"),
            "{text}"
        );
        let err = aws
            .sts
            .get_caller_identity()
            .send()
            .await
            .expect_err("no server");
        let text = format!("{:?}", err);
        assert!(!text.contains("no permission row"), "{text}");
    }
}

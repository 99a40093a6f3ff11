//! How rows are named in IAM's terms: statement ids (`Sid`), the IAM
//! prefix of each service, and whether a row grants its operation's own
//! action.

use super::{Need, Permission, Scope};

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

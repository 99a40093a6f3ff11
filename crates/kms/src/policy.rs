//! Key policy documents. Administration (manage, not use) goes to the
//! account root and the named administrators; use goes only to the
//! principals that need it, each with the narrowest condition AWS supports.

use paysec_core::{Environment, LogicalId};
use serde_json::{json, Value};

/// Actions that manage a key without using it. Deliberately no
/// `kms:CreateGrant` (a grant could hand out use) and no crypto operation.
const ADMIN_ACTIONS: &[&str] = &[
    "kms:CreateAlias",
    "kms:UpdateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:EnableKey",
    "kms:DisableKey",
    "kms:EnableKeyRotation",
    "kms:DisableKeyRotation",
    "kms:GetKeyRotationStatus",
    "kms:RotateKeyOnDemand",
    "kms:GetKeyPolicy",
    "kms:PutKeyPolicy",
    "kms:ListKeyPolicies",
    "kms:ListResourceTags",
    "kms:ListGrants",
    "kms:RevokeGrant",
    "kms:UpdateKeyDescription",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
];

/// Who uses a key, and so gets a usage statement in its policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyUser {
    /// CloudWatch Logs encrypting these log groups (names); scoped by the
    /// `aws:logs:arn` encryption context. A trailing `*` is allowed.
    LogsService { log_groups: Vec<String> },
    /// Log delivery (VPC flow logs) writing into an SSE-KMS bucket.
    LogDelivery,
    /// S3 server access logging writing into an SSE-KMS bucket.
    S3AccessLogging,
    /// CloudWatch alarms publishing to an SNS topic encrypted with the key.
    CloudWatchAlarms,
    /// Principals of this account, only through these services
    /// (`rds`, `secretsmanager`, `sqs`, `lambda`, `sns`).
    ViaServices(Vec<&'static str>),
    /// A role of this stack; its ARN comes from the ledger record of the
    /// role resource, which the key therefore depends on.
    Role(LogicalId),
}

fn source_account(env: &Environment) -> Value {
    json!({ "StringEquals": { "aws:SourceAccount": env.account } })
}

/// The whole key policy.
pub fn document(
    env: &Environment,
    admins: &[String],
    users: &[(KeyUser, Option<String>)],
) -> Value {
    let mut statements = vec![json!({
        "Sid": "AccountRootFullAccess",
        "Effect": "Allow",
        "Principal": { "AWS": env.account_root() },
        "Action": "kms:*",
        "Resource": "*"
    })];
    if !admins.is_empty() {
        statements.push(json!({
            "Sid": "KeyAdministrationOnly",
            "Effect": "Allow",
            "Principal": { "AWS": admins },
            "Action": ADMIN_ACTIONS,
            "Resource": "*"
        }));
    }
    for (user, role_arn) in users {
        let next = match user {
            KeyUser::LogsService { log_groups } => json!({
                "Sid": "CloudWatchLogsUse",
                "Effect": "Allow",
                "Principal": { "Service": format!("logs.{}.{}", env.region, env.dns_suffix()) },
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                "Resource": "*",
                "Condition": { "ArnLike": { "kms:EncryptionContext:aws:logs:arn":
                    log_groups.iter().map(|g| env.log_group_arn(g)).collect::<Vec<_>>() } }
            }),
            // Only deliveries of this account's log sources (the flow
            // logs): AWS's documented condition for SSE-KMS destinations.
            KeyUser::LogDelivery => json!({
                "Sid": "LogDeliveryUse",
                "Effect": "Allow",
                "Principal": { "Service": "delivery.logs.amazonaws.com" },
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": { "aws:SourceAccount": env.account },
                    "ArnLike": { "aws:SourceArn": format!("arn:{}:logs:{}:{}:*", env.partition, env.region, env.account) }
                }
            }),
            KeyUser::S3AccessLogging => json!({
                "Sid": "S3ServerAccessLoggingUse",
                "Effect": "Allow",
                "Principal": { "Service": "logging.s3.amazonaws.com" },
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": source_account(env)
            }),
            KeyUser::CloudWatchAlarms => json!({
                "Sid": "CloudWatchAlarmsUse",
                "Effect": "Allow",
                "Principal": { "Service": "cloudwatch.amazonaws.com" },
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": source_account(env)
            }),
            KeyUser::ViaServices(services) => {
                let via: Vec<String> = services
                    .iter()
                    .map(|s| format!("{s}.{}.{}", env.region, env.dns_suffix()))
                    .collect();
                statements.push(json!({
                    "Sid": "AccountUseThroughServices",
                    "Effect": "Allow",
                    "Principal": { "AWS": env.account_root() },
                    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                    "Resource": "*",
                    "Condition": { "StringEquals": {
                        "kms:CallerAccount": env.account,
                        "kms:ViaService": via.clone()
                    } }
                }));
                // Grants only for the AWS resources those services make
                // (the database's storage, the function's environment), as
                // AWS's default key policies allow them: never a grant a
                // principal could hand on.
                json!({
                    "Sid": "AccountGrantsForAwsResources",
                    "Effect": "Allow",
                    "Principal": { "AWS": env.account_root() },
                    "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": { "kms:CallerAccount": env.account, "kms:ViaService": via },
                        "Bool": { "kms:GrantIsForAWSResource": "true" }
                    }
                })
            }
            KeyUser::Role(id) => json!({
                "Sid": format!("RoleUse{}", id.as_str().split('.').next_back().unwrap_or("").replace(['-', '_'], "")),
                "Effect": "Allow",
                // Decrypt (its environment) and data keys (messages to its
                // encrypted dead-letter queue); no kms:Encrypt: nothing it
                // does encrypts directly with the key.
                "Principal": { "AWS": role_arn.clone().unwrap_or_default() },
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"],
                "Resource": "*"
            }),
        };
        statements.push(next);
    }
    json!({ "Version": "2012-10-17", "Id": "paysec-key-policy", "Statement": statements })
}

/// Whether any statement grants `kms:*` (or `*`) to someone other than the
/// account root. Used by tests and by `verify`.
pub fn wildcard_grantees(policy: &Value, account_root: &str) -> Vec<String> {
    let mut out = Vec::new();
    for st in policy["Statement"].as_array().into_iter().flatten() {
        let actions: Vec<&str> = match &st["Action"] {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !actions.iter().any(|a| *a == "kms:*" || *a == "*") {
            continue;
        }
        let principals: Vec<String> = match &st["Principal"] {
            Value::String(s) => vec![s.clone()],
            Value::Object(m) => m
                .values()
                .flat_map(|v| match v {
                    Value::String(s) => vec![s.clone()],
                    Value::Array(a) => a
                        .iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect(),
                    _ => vec![],
                })
                .collect(),
            _ => vec![],
        };
        out.extend(principals.into_iter().filter(|p| p != account_root));
    }
    out
}

#[cfg(test)]
mod tests {
    use paysec_core::naming::EnvName;

    use super::*;

    fn env() -> Environment {
        Environment::new(
            EnvName::parse("dev-001").unwrap(),
            "123456789012",
            "eu-west-1",
            "aws",
        )
    }

    #[test]
    fn only_the_root_statement_grants_kms_star() {
        let admins = vec!["arn:aws:iam::123456789012:role/Admin".to_owned()];
        let users = vec![
            (KeyUser::LogDelivery, None),
            (
                KeyUser::Role(LogicalId::new("iam.lambda-exec")),
                Some("arn:aws:iam::123456789012:role/x".into()),
            ),
        ];
        let doc = document(&env(), &admins, &users);
        assert!(wildcard_grantees(&doc, &env().account_root()).is_empty());
        let admin = &doc["Statement"][1];
        let actions: Vec<&str> = admin["Action"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        for forbidden in [
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:GenerateDataKey",
            "kms:CreateGrant",
            "kms:*",
        ] {
            assert!(!actions.contains(&forbidden), "admin may not {forbidden}");
        }
        assert!(actions.contains(&"kms:ScheduleKeyDeletion"));
        assert!(actions.contains(&"kms:PutKeyPolicy"));
    }

    #[test]
    fn logs_use_is_scoped_to_the_stack_log_groups() {
        let users = vec![(
            KeyUser::LogsService {
                log_groups: vec!["/aws/lambda/paysec-dev-001-payment".into()],
            },
            None,
        )];
        let doc = document(&env(), &[], &users);
        let st = &doc["Statement"][1];
        assert_eq!(st["Principal"]["Service"], "logs.eu-west-1.amazonaws.com");
        assert_eq!(
            st["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"][0],
            "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/paysec-dev-001-payment"
        );
    }
}

//! The stack's IAM: one role per duty, each policy scoped to the stack's
//! ARNs. Actions that AWS only authorizes on `*` (EC2 network interfaces for
//! a VPC Lambda, X-Ray) are the only wildcards, and say so.

use paysec_core::Attr;
use std::sync::Arc;

use paysec_aws::permissions::{installed, statements, Permission, Target};
use paysec_core::{LogicalId, Resource};
use paysec_iam::{Auditor, ManagedPolicy, Role, Trust};
use serde_json::json;

use crate::{ids, Inputs};

pub(crate) fn add(nodes: &mut Vec<Arc<dyn Resource>>, inputs: &Inputs<'_>) {
    let aws = || inputs.aws.clone();
    let id = LogicalId::new;
    nodes.push(Arc::new(Role::new(
        id(ids::ROLE_LAMBDA),
        aws(),
        "lambda-exec",
        "paysec: execution role of the payment function",
        Trust::Service {
            service: "lambda.amazonaws.com",
            source_arn: None,
        },
        vec![],
    )));
    nodes.push(Arc::new(Role::new(
        id(ids::ROLE_RDS_MONITORING),
        aws(),
        "rds-monitoring",
        "paysec: RDS enhanced monitoring",
        Trust::Service {
            service: "monitoring.rds.amazonaws.com",
            source_arn: Some("arn:{partition}:rds:{region}:{account}:db:*".into()),
        },
        vec!["service-role/AmazonRDSEnhancedMonitoringRole"],
    )));
    nodes.push(Arc::new(Role::new(
        id(ids::ROLE_FLOW_LOGS),
        aws(),
        "flow-logs",
        "paysec: VPC flow-log delivery to CloudWatch Logs",
        Trust::Service {
            service: "vpc-flow-logs.amazonaws.com",
            source_arn: Some("arn:{partition}:ec2:{region}:{account}:vpc-flow-log/*".into()),
        },
        vec![],
    )));
    nodes.push(Arc::new(Role::new(
        id(ids::ROLE_AUDIT),
        aws(),
        "audit-crossaccount",
        "paysec: read-only security audit from another account (external id required)",
        Trust::CrossAccount {
            auditor: match (
                &inputs.config.stack.iam.audit_trusted_account,
                &inputs.config.stack.iam.audit_trusted_role_arn,
            ) {
                (Some(account), _) => Some(Auditor::Account(account.clone())),
                (None, Some(role)) => Some(Auditor::Role(role.clone())),
                (None, None) => None,
            },
            external_id: inputs.config.stack.iam.audit_external_id.clone(),
        },
        vec![],
    )));
    // What the auditor's role may do is what `paysec verify` reads, from
    // the same permission rows as `paysec iam-policy --for verify` (the
    // shared ledger's aside: an auditor brings the ledger they were
    // handed), in two managed policies so long names stay under IAM's
    // size limit.
    let database = inputs.config.stack.rds.enabled;
    let function = inputs.config.stack.lambda.enabled;
    let api = inputs.config.stack.api.enabled;
    let dns_firewall = inputs.config.stack.network.dns_firewall;
    let code_signing = inputs.config.stack.lambda.signing_profile.is_some();
    for (n, (policy_id, purpose)) in ids::AUDIT_POLICIES.iter().enumerate() {
        nodes.push(Arc::new(ManagedPolicy::new(
            id(policy_id),
            aws(),
            purpose,
            "paysec: what verify reads, for the auditor's role",
            vec![id(ids::ROLE_AUDIT)],
            vec![],
            Box::new(move |cx| {
                let rows: Vec<Permission> = installed()
                    .iter()
                    .filter(|p| p.serves != "Ledger" && audit_part(p.serves) == n)
                    .copied()
                    .collect();
                if rows.is_empty() {
                    return Err(paysec_core::ResourceError::unexpected(
                        &LogicalId::new(*policy_id),
                        "no permission rows are installed (paysec_aws::permissions::install)",
                    ));
                }
                let target = Target {
                    partition: cx.env.partition.clone(),
                    region: cx.env.region.clone(),
                    account: cx.env.account.clone(),
                    env: cx.env.name.clone(),
                    ledger: None,
                    database,
                    function,
                    api,
                    dns_firewall,
                    code_signing,
                };
                let statements: Vec<serde_json::Value> = statements(&rows, false, &[target])
                    .into_iter()
                    .map(|s| s.json)
                    .collect();
                Ok(json!({ "Version": "2012-10-17", "Statement": statements }))
            }),
        )));
    }

    // What the team's code may read besides its own resources: the
    // secrets the configuration lists and its one database user.
    let secrets = inputs.config.stack.lambda.secrets.clone();
    let database = inputs
        .config
        .stack
        .rds
        .enabled
        .then(|| (id(ids::DB), inputs.config.stack.lambda.db_user.clone()));
    let mut reads = vec![id(ids::KMS_LAMBDA), id(ids::LOG_LAMBDA), id(ids::DLQ)];
    reads.extend(database.iter().map(|(db, _)| db.clone()));
    nodes.push(Arc::new(ManagedPolicy::new(
        id(ids::POLICY_LAMBDA),
        aws(),
        "lambda-exec",
        "paysec: least privilege for the payment function",
        vec![id(ids::ROLE_LAMBDA)],
        reads,
        Box::new(move |cx| {
            let log_group = cx.attr(&LogicalId::new(ids::LOG_LAMBDA), Attr::Arn)?;
            let key = cx.attr(&LogicalId::new(ids::KMS_LAMBDA), Attr::Arn)?;
            let dlq = cx.attr(&LogicalId::new(ids::DLQ), Attr::Arn)?;
            // Calls made from the function's own code (and Lambda's log and
            // trace delivery for it) carry lambda:SourceFunctionArn only for
            // CloudWatch Logs' CreateLogGroup/CreateLogStream/PutLogEvents
            // and X-Ray's PutTraceSegments (Lambda developer guide, "Using
            // the lambda:SourceFunctionArn condition key"); the role's
            // credentials used anywhere else do not, so those statements
            // are pinned to this function. Everything else (network
            // interfaces, the environment's key, the dead-letter queue,
            // X-Ray's PutTelemetryRecords) never carries it and stays
            // unconditioned.
            let env = &cx.env;
            let from_the_function = json!({ "ArnEquals": { "lambda:SourceFunctionArn": format!(
                "arn:{}:lambda:{}:{}:function:{}",
                env.partition,
                env.region,
                env.account,
                env.names.lambda_function()
            ) } });
            let mut statements = vec![
                json!({
                    "Sid": "WriteOwnLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": format!("{log_group}:*"),
                    "Condition": from_the_function
                }),
                json!({
                    "Sid": "SendToDeadLetterQueue",
                    "Effect": "Allow",
                    "Action": "sqs:SendMessage",
                    "Resource": dlq
                }),
                json!({
                    "Sid": "UseLambdaKey",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": key
                }),
                json!({
                    // EC2 authorizes these network-interface calls only on "*".
                    "Sid": "VpcNetworkInterfaces",
                    "Effect": "Allow",
                    "Action": [
                        "ec2:CreateNetworkInterface",
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:DeleteNetworkInterface",
                        "ec2:AssignPrivateIpAddresses",
                        "ec2:UnassignPrivateIpAddresses",
                        // As in AWSLambdaVPCAccessExecutionRole: Lambda
                        // reads the subnets it places interfaces in.
                        "ec2:DescribeSubnets"
                    ],
                    "Resource": "*",
                    "Condition": { "StringEquals": { "aws:RequestedRegion": cx.env.region } }
                }),
                json!({
                    // X-Ray accepts trace segments only on "*".
                    "Sid": "XRayTracing",
                    "Effect": "Allow",
                    "Action": "xray:PutTraceSegments",
                    "Resource": "*",
                    "Condition": from_the_function
                }),
                json!({
                    // Sent without lambda:SourceFunctionArn: a condition on
                    // it would deny every call.
                    "Sid": "XRayTelemetry",
                    "Effect": "Allow",
                    "Action": "xray:PutTelemetryRecords",
                    "Resource": "*"
                }),
            ];
            if !secrets.is_empty() {
                statements.push(json!({
                    "Sid": "ReadListedSecrets",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": secrets
                }));
            }
            // IAM database authentication: a token for this one user of
            // this one instance (its resource id, not its name), once the
            // instance exists (`down` may read the policy of a stack that
            // never had one).
            let connect = database
                .as_ref()
                .and_then(|(db, user)| Some((cx.attr(db, Attr::DbiResourceId).ok()?, user)));
            if let Some((resource_id, user)) = connect {
                statements.push(json!({
                    "Sid": "ConnectAsDatabaseUser",
                    "Effect": "Allow",
                    "Action": "rds-db:connect",
                    "Resource": format!(
                        "arn:{}:rds-db:{}:{}:dbuser:{resource_id}/{user}",
                        env.partition, env.region, env.account
                    )
                }));
            }
            Ok(json!({
                "Version": "2012-10-17",
                "Statement": statements
            }))
        }),
    )));
    nodes.push(Arc::new(ManagedPolicy::new(
        id(ids::POLICY_FLOW_LOGS),
        aws(),
        "flow-logs",
        "paysec: flow-log delivery into its own log group (no CreateLogGroup)",
        vec![id(ids::ROLE_FLOW_LOGS)],
        vec![id(ids::LOG_FLOW_LOGS)],
        Box::new(|cx| {
            let log_group = cx.attr(&LogicalId::new(ids::LOG_FLOW_LOGS), Attr::Arn)?;
            // No logs:CreateLogGroup: late deliveries must not recreate the
            // group after `down`.
            // The delivery service lists log groups to find its own, as
            // in AWS's documented flow-log role; a list call, so on the
            // account's log groups rather than one.
            let all_groups = match log_group.find(":log-group:") {
                Some(at) => format!("{}:log-group:*", &log_group[..at]),
                None => log_group.to_owned(),
            };
            Ok(json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "DeliverFlowLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    "Resource": [log_group.to_owned(), format!("{log_group}:*")]
                }, {
                    "Sid": "FindLogGroup",
                    "Effect": "Allow",
                    "Action": "logs:DescribeLogGroups",
                    "Resource": all_groups
                }]
            }))
        }),
    )));
}

/// Which of the audit role's two policies holds the reads of what a row
/// serves: about half the statements each.
fn audit_part(serves: &str) -> usize {
    match serves {
        "AccountChecks" | "Api" | "Buckets" | "Database" | "DnsFirewall" | "Function" => 0,
        _ => 1,
    }
}

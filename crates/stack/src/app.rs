//! The database, the payment function, and the alarms watching them.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_cloudwatch::types::Statistic;
use paysec_core::{LogicalId, Resource};
use paysec_lambda::{Function, FunctionSpec, Queue};
use paysec_monitoring::{Alarm, AlarmSpec, Dimension, MetricFilter, Topic};
use paysec_rds::{Instance, InstanceSpec, ParameterGroup, Password, SubnetGroup};

use crate::{ids, Inputs};

/// Deletion protection unless asked otherwise: on, except for environments
/// whose name says they are disposable.
fn deletion_protection(inputs: &Inputs<'_>, env: &str) -> bool {
    inputs
        .config
        .rds
        .deletion_protection
        .unwrap_or_else(|| !["dev", "test", "ci"].iter().any(|p| env.starts_with(p)))
}

pub(crate) fn add(nodes: &mut Vec<Arc<dyn Resource>>, inputs: &Inputs<'_>, env: &str) {
    let aws = || inputs.aws.clone();
    let id = |s: &str| LogicalId::new(s);
    let cfg = inputs.config;
    let subnets: Vec<LogicalId> = ids::SUBNETS.iter().map(|s| id(s)).collect();

    nodes.push(Arc::new(ParameterGroup::new(
        id(ids::DB_PARAMETERS),
        aws(),
        cfg.rds.parameter_group_family.clone(),
        vec![
            ("rds.force_ssl", "1"),
            ("log_connections", "1"),
            ("log_disconnections", "1"),
        ],
    )));
    nodes.push(Arc::new(SubnetGroup::new(
        id(ids::DB_SUBNETS),
        aws(),
        subnets.clone(),
    )));
    let password = match (&cfg.rds.master_password_env, &cfg.rds.master_password_file) {
        (Some(var), _) => Password::Env(var.clone()),
        (None, Some(file)) => Password::File(file.clone()),
        (None, None) => Password::Managed,
    };
    nodes.push(Arc::new(Instance {
        id: id(ids::DB),
        aws: aws(),
        spec: InstanceSpec {
            engine_version: inputs.resolved.engine_version.clone(),
            instance_class: cfg.rds.instance_class.clone(),
            allocated_storage_gb: cfg.rds.allocated_storage_gb,
            backup_retention_days: cfg.rds.backup_retention_days,
            multi_az: cfg.rds.multi_az,
            deletion_protection: deletion_protection(inputs, env),
            final_snapshot: cfg.rds.final_snapshot,
            master_username: cfg.rds.master_username.clone(),
            password,
            port: cfg.rds.port,
            monitoring_interval_seconds: cfg.rds.monitoring_interval_seconds,
            wait: Duration::from_secs(cfg.rds.wait_minutes * 60),
        },
        parameter_group: id(ids::DB_PARAMETERS),
        subnet_group: id(ids::DB_SUBNETS),
        security_group: id(ids::SG_DB),
        kms_key: id(ids::KMS_RDS),
        monitoring_role: id(ids::ROLE_RDS_MONITORING),
        log_groups: vec![id(ids::LOG_RDS_POSTGRESQL), id(ids::LOG_RDS_UPGRADE)],
    }));

    nodes.push(Arc::new(Queue::new(
        id(ids::DLQ),
        aws(),
        "payment-dlq",
        id(ids::KMS_LAMBDA),
    )));
    nodes.push(Arc::new(Function {
        id: id(ids::FUNCTION),
        aws: aws(),
        spec: FunctionSpec {
            runtime: cfg.lambda.runtime.clone(),
            memory_mb: cfg.lambda.memory_mb,
            timeout_seconds: cfg.lambda.timeout_seconds,
            reserved_concurrency: cfg.lambda.reserved_concurrency.executions(),
            wait: Duration::from_secs(cfg.lambda.wait_minutes * 60),
        },
        role: id(ids::ROLE_LAMBDA),
        role_policy: id(ids::POLICY_LAMBDA),
        kms_key: id(ids::KMS_LAMBDA),
        dlq: id(ids::DLQ),
        subnets,
        security_group: id(ids::SG_LAMBDA),
        log_group: id(ids::LOG_LAMBDA),
    }));

    nodes.push(Arc::new(Topic::new(
        id(ids::TOPIC),
        aws(),
        "alarms",
        id(ids::KMS_LOGS),
    )));
    // PostgreSQL's own log lines (log_connections/log_disconnections on).
    for (fid, log, purpose, pattern, metric) in [
        (ids::FILTER_DB_CONNECTION_FAILURES, ids::LOG_RDS_POSTGRESQL, "db-connection-failures", "?\"could not receive data from client\" ?\"connection to client lost\" ?\"too many connections\" ?\"could not accept SSL connection\"", "DbConnectionFailures"),
        (ids::FILTER_DB_AUTH_FAILURES, ids::LOG_RDS_POSTGRESQL, "db-auth-failures", "?\"password authentication failed\" ?\"PAM authentication failed\" ?\"no pg_hba.conf entry\"", "AuthenticationFailures"),
        (ids::FILTER_DB_ENCRYPTION, ids::LOG_RDS_POSTGRESQL, "db-unencrypted-connections", "?\"SSL off\" ?\"no encryption\"", "EncryptionViolations"),
        (ids::FILTER_LAMBDA_KMS, ids::LOG_LAMBDA, "lambda-kms-errors", "?KMSAccessDeniedException ?KMSDisabledException ?InvalidCiphertextException ?KMSInvalidStateException", "EncryptionViolations"),
    ] {
        nodes.push(Arc::new(MetricFilter::new(id(fid), aws(), id(log), purpose, pattern, metric)));
    }
    let custom = |aid: &str, purpose, description, metric, source: &str| -> Arc<dyn Resource> {
        Arc::new(Alarm {
            id: id(aid),
            aws: aws(),
            spec: AlarmSpec {
                purpose,
                description,
                namespace: None,
                metric,
                dimensions: vec![],
                statistic: Statistic::Sum,
                threshold: 1.0,
                period_seconds: 300,
                evaluation_periods: 1,
            },
            topic: id(ids::TOPIC),
            source: id(source),
        })
    };
    nodes.push(custom(
        ids::ALARM_DB_CONNECTIONS,
        "db-connection-failures",
        "PostgreSQL connection failures (req. 10.2)",
        "DbConnectionFailures",
        ids::FILTER_DB_CONNECTION_FAILURES,
    ));
    nodes.push(custom(
        ids::ALARM_AUTH,
        "auth-failures",
        "Failed authentication attempts on the database (req. 10.2.1.4)",
        "AuthenticationFailures",
        ids::FILTER_DB_AUTH_FAILURES,
    ));
    nodes.push(custom(
        ids::ALARM_ENCRYPTION,
        "encryption-violations",
        "Unencrypted DB connections or KMS failures (req. 3.5, 4.2)",
        "EncryptionViolations",
        ids::FILTER_DB_ENCRYPTION,
    ));
    nodes.push(Arc::new(Alarm {
        id: id(ids::ALARM_LAMBDA_ERRORS),
        aws: aws(),
        spec: AlarmSpec {
            purpose: "lambda-errors",
            description: "Payment function errors",
            namespace: Some("AWS/Lambda"),
            metric: "Errors",
            dimensions: vec![Dimension {
                name: "FunctionName",
                resource: id(ids::FUNCTION),
                attribute: "name",
            }],
            statistic: Statistic::Sum,
            threshold: 1.0,
            period_seconds: 300,
            evaluation_periods: 1,
        },
        topic: id(ids::TOPIC),
        source: id(ids::FUNCTION),
    }));
    nodes.push(Arc::new(Alarm {
        id: id(ids::ALARM_DLQ),
        aws: aws(),
        spec: AlarmSpec {
            purpose: "dlq-not-empty",
            description: "Failed payment invocations waiting in the dead-letter queue",
            namespace: Some("AWS/SQS"),
            metric: "ApproximateNumberOfMessagesVisible",
            dimensions: vec![Dimension {
                name: "QueueName",
                resource: id(ids::DLQ),
                attribute: "name",
            }],
            statistic: Statistic::Maximum,
            threshold: 1.0,
            period_seconds: 300,
            evaluation_periods: 1,
        },
        topic: id(ids::TOPIC),
        source: id(ids::DLQ),
    }));
}

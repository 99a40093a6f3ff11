//! The database, the payment function, and the alarms watching them.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_cloudwatch::types::Statistic;
use paysec_core::{Attr, LogicalId, Resource};
use paysec_lambda::{CodeSigningConfig, Database, Function, FunctionSpec, Queue, Signing};
use paysec_monitoring::{Alarm, AlarmSpec, Dimension, MetricFilter, Topic};
use paysec_rds::{DbParameter, Instance, InstanceSpec, ParameterGroup, Password, SubnetGroup};
use paysec_s3::{Bucket, Delivery, Lifecycle};

use crate::{ids, Inputs};

pub(crate) fn add(nodes: &mut Vec<Arc<dyn Resource>>, inputs: &Inputs<'_>) {
    let aws = || inputs.aws.clone();
    let id = |s: &str| LogicalId::new(s);
    let cfg = inputs.config;
    let subnets: Vec<LogicalId> = ids::SUBNETS.iter().map(|s| id(s)).collect();

    nodes.push(Arc::new(ParameterGroup::new(
        id(ids::DB_PARAMETERS),
        aws(),
        cfg.stack.rds.parameter_group_family.clone(),
        vec![
            (DbParameter::ForceSsl, "1"),
            (DbParameter::SslMinProtocolVersion, "TLSv1.2"),
            (DbParameter::LogConnections, "1"),
            (DbParameter::LogDisconnections, "1"),
            // pgaudit (PCI DSS 10.2.1.1-10.2.1.5): loaded at start, logging
            // reads, writes, schema and role changes. `CREATE EXTENSION
            // pgaudit` in the database is its owner's step (docs/pci-mapping.md).
            (
                DbParameter::SharedPreloadLibraries,
                "pg_stat_statements,pgaudit",
            ),
            (DbParameter::PgauditLog, "ddl,read,role,write"),
        ],
    )));
    nodes.push(Arc::new(SubnetGroup::new(
        id(ids::DB_SUBNETS),
        aws(),
        subnets.clone(),
    )));
    let password = match (
        &cfg.stack.rds.master_password_env,
        &cfg.stack.rds.master_password_file,
    ) {
        (Some(var), _) => Password::Env(var.clone()),
        (None, Some(file)) => Password::File(file.clone()),
        (None, None) => Password::Managed,
    };
    nodes.push(Arc::new(Instance {
        id: id(ids::DB),
        aws: aws(),
        spec: InstanceSpec {
            engine_version: inputs.resolved.engine_version.clone(),
            instance_class: cfg.stack.rds.instance_class.clone(),
            allocated_storage_gb: cfg.stack.rds.allocated_storage_gb,
            backup_retention_days: cfg.stack.rds.backup_retention_days,
            multi_az: cfg.stack.rds.multi_az,
            deletion_protection: cfg.stack.rds.deletion_protection,
            final_snapshot: cfg.stack.rds.final_snapshot,
            master_username: cfg.stack.rds.master_username.clone(),
            password,
            port: cfg.stack.rds.port,
            monitoring_interval_seconds: cfg.stack.rds.monitoring_interval_seconds,
            apply_immediately: cfg.stack.rds.apply_immediately,
            snapshot_restorers: cfg.stack.rds.snapshot_restorers.clone(),
            wait: Duration::from_secs(cfg.stack.rds.wait_minutes * 60),
        },
        parameter_group: id(ids::DB_PARAMETERS),
        subnet_group: id(ids::DB_SUBNETS),
        security_group: id(ids::SG_DB),
        kms_key: id(ids::KMS_RDS),
        monitoring_role: id(ids::ROLE_RDS_MONITORING),
        log_groups: vec![
            id(ids::LOG_RDS_POSTGRESQL),
            id(ids::LOG_RDS_UPGRADE),
            id(ids::LOG_RDS_OS_METRICS),
        ],
    }));

    nodes.push(Arc::new(Queue::new(
        id(ids::DLQ),
        aws(),
        "payment-dlq",
        id(ids::KMS_LAMBDA),
    )));
    // Code signing: the packages' versioned bucket, and the configuration
    // that refuses code the release profile did not sign. Always in the
    // whole stack (what `down` removes); the blueprint keeps them only
    // with `lambda.signing_profile` set (`components`), and only then
    // does the function depend on them: `down` without a ledger finds the
    // function whether or not they exist.
    nodes.push(Arc::new(Bucket::new(
        id(ids::BUCKET_RELEASES),
        aws(),
        "releases",
        id(ids::KMS_S3),
        Delivery::None,
        Lifecycle::Data {
            noncurrent_days: cfg.stack.s3.data_noncurrent_days,
        },
        Some(id(ids::BUCKET_ACCESS_LOGS)),
    )));
    nodes.push(Arc::new(CodeSigningConfig {
        id: id(ids::CODE_SIGNING),
        aws: aws(),
        profile: cfg.stack.lambda.signing_profile.clone(),
    }));
    nodes.push(Arc::new(Function {
        id: id(ids::FUNCTION),
        aws: aws(),
        spec: FunctionSpec {
            runtime: cfg.stack.lambda.runtime.clone(),
            handler: cfg.stack.lambda.handler.clone(),
            architecture: cfg.stack.lambda.architecture.clone(),
            code: inputs.code.clone(),
            configured_sha256: inputs
                .releases
                .shipped_digest(&inputs.code.sha256)
                .to_owned(),
            signing: cfg
                .stack
                .lambda
                .signing_profile
                .as_ref()
                .map(|profile| Signing {
                    profile: profile.clone(),
                    bucket: id(ids::BUCKET_RELEASES),
                    config: id(ids::CODE_SIGNING),
                }),
            target: inputs.releases.target(&inputs.code.sha256),
            variables: cfg.stack.lambda.environment.clone(),
            database: cfg.stack.rds.enabled.then(|| Database {
                instance: id(ids::DB),
                // The database RDS makes in every PostgreSQL instance;
                // the owner's own is created with the SQL in
                // docs/operations.md.
                name: "postgres".into(),
                user: cfg.stack.lambda.db_user.clone(),
                port: cfg.stack.rds.port,
            }),
            memory_mb: cfg.stack.lambda.memory_mb,
            timeout_seconds: cfg.stack.lambda.timeout_seconds,
            reserved_concurrency: cfg.stack.lambda.reserved_concurrency.executions(),
            wait: Duration::from_secs(cfg.stack.lambda.wait_minutes * 60),
        },
        role: id(ids::ROLE_LAMBDA),
        role_policy: id(ids::POLICY_LAMBDA),
        kms_key: id(ids::KMS_LAMBDA),
        dlq: id(ids::DLQ),
        subnets,
        security_group: id(ids::SG_LAMBDA),
        log_group: id(ids::LOG_LAMBDA),
    }));

    nodes.push(Arc::new(
        Topic::new(id(ids::TOPIC), aws(), "alarms", id(ids::KMS_LOGS))
            .notifying(cfg.stack.monitoring.alarm_emails.clone()),
    ));
    // PostgreSQL's own log lines (log_connections/log_disconnections on).
    for (fid, log, purpose, pattern, metric) in [
        (
            ids::FILTER_DB_CONNECTION_FAILURES,
            ids::LOG_RDS_POSTGRESQL,
            "db-connection-failures",
            DB_CONNECTION_FAILURES,
            "DbConnectionFailures",
        ),
        (
            ids::FILTER_DB_AUTH_FAILURES,
            ids::LOG_RDS_POSTGRESQL,
            "db-auth-failures",
            DB_AUTH_FAILURES,
            "AuthenticationFailures",
        ),
        (
            ids::FILTER_DB_ENCRYPTION,
            ids::LOG_RDS_POSTGRESQL,
            "db-unencrypted-connections",
            DB_UNENCRYPTED,
            "EncryptionViolations",
        ),
        (
            ids::FILTER_LAMBDA_KMS,
            ids::LOG_LAMBDA,
            "lambda-kms-errors",
            LAMBDA_KMS_ERRORS,
            "EncryptionViolations",
        ),
    ] {
        nodes.push(Arc::new(MetricFilter::new(
            id(fid),
            aws(),
            id(log),
            purpose,
            pattern,
            metric,
        )));
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
    // Both the database's and the function's filters feed its metric; it
    // comes after whichever of them is built.
    let encryption_source = [ids::FILTER_DB_ENCRYPTION, ids::FILTER_LAMBDA_KMS]
        .into_iter()
        .find(|f| crate::components::builds(cfg, f));
    if let Some(source) = encryption_source {
        nodes.push(custom(
            ids::ALARM_ENCRYPTION,
            "encryption-violations",
            "Unencrypted DB connections or KMS failures (req. 3.5, 4.2)",
            "EncryptionViolations",
            source,
        ));
    }
    nodes.push(Arc::new(Alarm {
        id: id(ids::ALARM_LAMBDA_ERRORS),
        aws: aws(),
        spec: AlarmSpec {
            purpose: "lambda-errors",
            description: "Payment function errors",
            namespace: Some("AWS/Lambda"),
            metric: "Errors",
            // The errors of what callers invoke: the alias `live`.
            dimensions: vec![
                Dimension {
                    name: "FunctionName",
                    resource: id(ids::FUNCTION),
                    attribute: Attr::Name,
                },
                Dimension {
                    name: "Resource",
                    resource: id(ids::FUNCTION),
                    attribute: Attr::AliasResource,
                },
            ],
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
                attribute: Attr::Name,
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

/// CloudWatch Logs filter patterns (`?term` terms: any of them, each a
/// case-sensitive substring) over PostgreSQL 16's messages, as RDS logs
/// them. Connection failures: the server full (`sorry, too many clients
/// already`, reserved slots), per-role/database limits, lost clients, TLS
/// handshakes that fail.
pub(crate) const DB_CONNECTION_FAILURES: &str = "?\"could not receive data from client\" ?\"connection to client lost\" ?\"too many connections\" ?\"could not accept SSL connection\" ?\"sorry, too many clients already\" ?\"remaining connection slots are reserved\"";
/// Authentication failures (password, PAM, no matching pg_hba.conf rule).
pub(crate) const DB_AUTH_FAILURES: &str =
    "?\"password authentication failed\" ?\"PAM authentication failed\" ?\"no pg_hba.conf entry\"";
/// Connections refused or made without TLS (PostgreSQL 12+ says "no
/// encryption"; older ones "SSL off").
pub(crate) const DB_UNENCRYPTED: &str = "?\"SSL off\" ?\"no encryption\"";
/// The function's KMS failures, as the SDK names them.
pub(crate) const LAMBDA_KMS_ERRORS: &str =
    "?KMSAccessDeniedException ?KMSDisabledException ?InvalidCiphertextException ?KMSInvalidStateException";

#[cfg(test)]
mod tests {
    use super::*;

    /// CloudWatch's unstructured pattern of `?` terms: a line matches when
    /// it contains any term (quoted terms taken whole).
    fn matches(pattern: &str, line: &str) -> bool {
        let mut terms = Vec::new();
        let mut rest = pattern.trim();
        while let Some(r) = rest.strip_prefix('?') {
            let (term, after) = match r.strip_prefix('"') {
                Some(q) => {
                    let end = q.find('"').expect("closing quote");
                    (&q[..end], &q[end + 1..])
                }
                None => r.split_once(' ').unwrap_or((r, "")),
            };
            terms.push(term);
            rest = after.trim_start();
        }
        assert!(rest.is_empty(), "only ? terms are used: {pattern}");
        terms.iter().any(|t| line.contains(t))
    }

    /// PostgreSQL 16 server messages with RDS's log_line_prefix
    /// (`%t:%r:%u@%d:[%p]:`).
    const PREFIX: &str = "2026-11-30 10:00:00 UTC:10.0.1.5(51234):app@payments:[4242]:";

    #[test]
    fn each_filter_catches_its_postgresql_16_lines_and_nothing_else() {
        let line = |m: &str| format!("{PREFIX}{m}");
        let connection = [
            "FATAL:  sorry, too many clients already",
            "FATAL:  remaining connection slots are reserved for roles with the SUPERUSER attribute",
            "FATAL:  remaining connection slots are reserved for roles with privileges of the \"rds_reserved\" role",
            "FATAL:  too many connections for role \"app\"",
            "FATAL:  too many connections for database \"payments\"",
            "LOG:  could not receive data from client: Connection reset by peer",
            "LOG:  could not accept SSL connection: unsupported protocol",
        ];
        let auth = [
            "FATAL:  password authentication failed for user \"app\"",
            "FATAL:  no pg_hba.conf entry for host \"10.0.1.5\", user \"app\", database \"payments\", no encryption",
        ];
        let unencrypted = [
            "FATAL:  no pg_hba.conf entry for host \"10.0.1.5\", user \"app\", database \"payments\", no encryption",
        ];
        let ordinary = [
            "LOG:  connection received: host=10.0.1.5 port=51234",
            "LOG:  connection authorized: user=app database=payments application_name=psql SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)",
            "LOG:  disconnection: session time: 0:00:01.234 user=app database=payments host=10.0.1.5 port=51234",
            "LOG:  checkpoint complete: wrote 3 buffers (0.0%)",
        ];
        for m in connection {
            assert!(matches(DB_CONNECTION_FAILURES, &line(m)), "connection: {m}");
        }
        for m in auth {
            assert!(matches(DB_AUTH_FAILURES, &line(m)), "auth: {m}");
        }
        for m in unencrypted {
            assert!(matches(DB_UNENCRYPTED, &line(m)), "unencrypted: {m}");
        }
        for m in ordinary {
            for p in [DB_CONNECTION_FAILURES, DB_AUTH_FAILURES, DB_UNENCRYPTED] {
                assert!(!matches(p, &line(m)), "{p} must not match: {m}");
            }
        }
        assert!(matches(
            LAMBDA_KMS_ERRORS,
            "[ERROR] ClientError: An error occurred (KMSAccessDeniedException) when calling the Decrypt operation"
        ));
    }
}

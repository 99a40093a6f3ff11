//! The payment stack blueprint: which resources exist, with which settings,
//! depending on which others, built from the config. Also the stack's
//! outputs (a Terraform setup's `terraform output`), read from the ledger.

use paysec_core::Attr;
use std::sync::Arc;

use paysec_aws::Aws;
use paysec_config::Config;
use paysec_core::{Graph, GraphError, Ledger, LogicalId, Resource};
use paysec_kms::{KeyUser, KmsKey};

mod api;
mod app;
pub mod components;
mod egress;
mod iam;
mod logs;
mod network;
pub use network::security_group_rules;
pub mod permissions;
pub mod preflight;

pub use components::Component;
pub use preflight::Preflight;

/// Logical ids of the stack's resources, shared by the blueprint, the
/// outputs and the tests.
pub mod ids {
    pub const KMS_RDS: &str = "kms.rds";
    pub const KMS_S3: &str = "kms.s3";
    pub const KMS_LOGS: &str = "kms.logs";
    pub const KMS_LAMBDA: &str = "kms.lambda";
    pub const ROLE_LAMBDA: &str = "iam.lambda-exec";
    pub const ROLE_RDS_MONITORING: &str = "iam.rds-monitoring";
    pub const ROLE_FLOW_LOGS: &str = "iam.flow-logs";
    pub const ROLE_AUDIT: &str = "iam.audit";
    /// The audit role's policies (logical id, purpose): what verify reads.
    pub const AUDIT_POLICIES: [(&str, &str); 2] = [
        ("iam.audit-policy-1", "audit-1"),
        ("iam.audit-policy-2", "audit-2"),
    ];
    pub const POLICY_LAMBDA: &str = "iam.lambda-exec-policy";
    pub const POLICY_FLOW_LOGS: &str = "iam.flow-logs-policy";
    pub const LOG_FLOW_LOGS: &str = "logs.flow-logs";
    pub const LOG_LAMBDA: &str = "logs.lambda";
    pub const LOG_RDS_POSTGRESQL: &str = "logs.rds-postgresql";
    pub const LOG_RDS_UPGRADE: &str = "logs.rds-upgrade";
    pub const LOG_RDS_OS_METRICS: &str = "logs.rds-os-metrics";
    pub const VPC: &str = "network.vpc";
    pub const SUBNETS: [&str; 3] = ["network.subnet-a", "network.subnet-b", "network.subnet-c"];
    pub const ROUTE_TABLE: &str = "network.route-table";
    pub const NACL: &str = "network.acl";
    pub const VPC_DEFAULTS: &str = "network.vpc-defaults";
    pub const SG_LAMBDA: &str = "network.sg-lambda";
    pub const SG_DB: &str = "network.sg-db";
    pub const SG_ENDPOINTS: &str = "network.sg-endpoints";
    pub const SG_XRAY: &str = "network.sg-xray";
    pub const SG_RULES: &str = "network.sg-rules";
    pub const ENDPOINT_S3: &str = "network.endpoint-s3";
    pub const ENDPOINT_RDS: &str = "network.endpoint-rds";
    pub const ENDPOINT_XRAY: &str = "network.endpoint-xray";
    pub const DNS_ALLOWED: &str = "network.dns-allowed";
    pub const DNS_EVERYTHING: &str = "network.dns-everything";
    pub const DNS_FIREWALL: &str = "network.dns-firewall";
    pub const DNS_FIREWALL_VPC: &str = "network.dns-firewall-vpc";
    pub const FLOW_LOG_S3: &str = "network.flow-log-s3";
    pub const FLOW_LOG_CW: &str = "network.flow-log-cloudwatch";
    pub const BUCKET_ACCESS_LOGS: &str = "s3.access-logs";
    pub const BUCKET_FLOW_LOGS: &str = "s3.flow-logs";
    pub const BUCKET_DATA: &str = "s3.data";
    /// The team's packages and their signed copies (code signing).
    pub const BUCKET_RELEASES: &str = "s3.releases";
    pub const CODE_SIGNING: &str = "lambda.code-signing";
    pub const DB_PARAMETERS: &str = "rds.parameters";
    pub const DB_SUBNETS: &str = "rds.subnet-group";
    pub const DB: &str = "rds.instance";
    pub const DLQ: &str = "lambda.dlq";
    pub const FUNCTION: &str = "lambda.function";
    pub const TOPIC: &str = "monitoring.topic";
    pub const FILTER_DB_CONNECTION_FAILURES: &str = "monitoring.filter-db-connection-failures";
    pub const FILTER_DB_AUTH_FAILURES: &str = "monitoring.filter-db-auth-failures";
    pub const FILTER_DB_ENCRYPTION: &str = "monitoring.filter-db-encryption";
    pub const FILTER_LAMBDA_KMS: &str = "monitoring.filter-lambda-kms";
    pub const ALARM_DB_CONNECTIONS: &str = "monitoring.alarm-db-connection-failures";
    pub const ALARM_AUTH: &str = "monitoring.alarm-auth-failures";
    pub const ALARM_ENCRYPTION: &str = "monitoring.alarm-encryption-violations";
    pub const ALARM_LAMBDA_ERRORS: &str = "monitoring.alarm-lambda-errors";
    pub const ALARM_DLQ: &str = "monitoring.alarm-dlq-not-empty";
    pub const API_ACCOUNT: &str = "api.account-logging";
    pub const API: &str = "api.rest-api";
    pub const API_POLICY: &str = "api.resource-policy";
    pub const API_STAGE: &str = "api.stage";
    pub const API_PERMISSION: &str = "api.invoke-permission";
    pub const LOG_API_ACCESS: &str = "logs.api-access";
    pub const SG_API: &str = "network.sg-api";
    pub const SG_SERVICES: &str = "network.sg-services";
    /// `network.endpoint-svc-<service>`: the AWS services the code calls.
    pub const ENDPOINT_SERVICE_PREFIX: &str = "network.endpoint-svc-";
    /// `network.endpoint-partner-<8 hex>`: a partner's PrivateLink service.
    pub const ENDPOINT_PARTNER_PREFIX: &str = "network.endpoint-partner-";
    pub const ENDPOINT_API: &str = "network.endpoint-execute-api";
    pub const FILTER_API_THROTTLED: &str = "monitoring.filter-api-throttled";
    pub const ALARM_API_5XX: &str = "monitoring.alarm-api-5xx";
    pub const ALARM_API_THROTTLED: &str = "monitoring.alarm-api-throttled";
}

/// Columns wide enough for every logical id and kind of the whole stack
/// (plan, progress and status lines align on them; a test keeps them so).
pub const ID_WIDTH: usize = 40;
pub const KIND_WIDTH: usize = 22;

/// What the blueprint needs besides the config.
pub struct Inputs<'a> {
    pub aws: &'a Aws,
    pub config: &'a Config,
    /// The keys' administrators (see [`key_admins`]).
    pub key_admins: &'a [String],
    /// The engine version and zones, resolved by the preflight (or as
    /// configured, for commands that create nothing).
    pub resolved: &'a Preflight,
    /// The function's package, built (the example handler when none is
    /// configured, or for commands that deploy nothing).
    pub code: &'a Arc<paysec_lambda::Code>,
    /// The function's releases as the ledger records them (a rollback
    /// that holds decides where `live` must point).
    pub releases: &'a paysec_core::releases::Releases,
    /// The ids the ledger records (for `down`'s whole stack: an endpoint
    /// to a service the configuration no longer names is still removed).
    pub recorded: &'a [LogicalId],
}

/// The keys' administrators: the config's, else the IAM principal behind
/// the caller (`caller_principal`: its role's real ARN, path included, or
/// its user; none for the root user, whom the root statement covers).
pub fn key_admins(config: &Config, caller_principal: Option<&str>) -> Vec<String> {
    if config.stack.kms.admin_principals.is_empty() {
        caller_principal.map(str::to_owned).into_iter().collect()
    } else {
        config.stack.kms.admin_principals.clone()
    }
}

/// Fingerprint of everything the blueprint builds the desired state from
/// (`paysec_core::desired`): the stack settings, the key administrators
/// they resolve to (the caller's role by default, not its session), the
/// function's code (its digest: the same path may hold new code), and
/// paysec's version, since another paysec may read or repair differently.
pub fn desired_state(config: &Config, key_admins: &[String], code_sha256: &str) -> String {
    let admins = key_admins.join(",");
    paysec_core::desired::hash([
        env!("CARGO_PKG_VERSION"),
        config.desired_state().as_str(),
        admins.as_str(),
        code_sha256,
    ])
}

/// The stack the configuration builds, as a validated graph.
pub fn blueprint(
    inputs: &Inputs<'_>,
    names: &paysec_core::naming::Names,
) -> Result<Graph, GraphError> {
    let mut nodes = nodes(inputs, names);
    nodes.retain(|n| components::builds(inputs.config, n.id().as_str()));
    Graph::new(nodes)
}

/// The whole stack, every component in, whatever the switches: what
/// `down` removes and what `left_out` compares with.
pub fn whole_blueprint(
    inputs: &Inputs<'_>,
    names: &paysec_core::naming::Names,
) -> Result<Graph, GraphError> {
    let all = components::everything(inputs.config);
    Graph::new(nodes(
        &Inputs {
            config: &all,
            ..*inputs
        },
        names,
    ))
}

fn nodes(inputs: &Inputs<'_>, names: &paysec_core::naming::Names) -> Vec<Arc<dyn Resource>> {
    let mut nodes: Vec<Arc<dyn Resource>> = Vec::new();
    let key_admins = inputs.key_admins.to_vec();
    let key =
        |id: &str, purpose: &'static str, what: &str, users: Vec<KeyUser>| -> Arc<dyn Resource> {
            Arc::new(KmsKey::new(
                LogicalId::new(id),
                inputs.aws.clone(),
                purpose,
                format!("paysec {}: {what}", names.prefix()),
                key_admins.clone(),
                users,
                inputs.config.stack.kms.deletion_window_days,
            ))
        };
    nodes.push(key(
        ids::KMS_RDS,
        "rds",
        "RDS storage, Performance Insights and the managed master password",
        vec![KeyUser::ViaServices(vec!["rds", "secretsmanager"])],
    ));
    nodes.push(key(
        ids::KMS_S3,
        "s3",
        "S3 buckets (flow logs, data, access logs)",
        vec![KeyUser::LogDelivery, KeyUser::ViaServices(vec!["s3"])],
    ));
    nodes.push(key(
        ids::KMS_LOGS,
        "logs",
        "CloudWatch Logs and the alarm topic",
        vec![
            KeyUser::LogsService {
                log_groups: [
                    (ids::LOG_FLOW_LOGS, names.flow_log_group()),
                    (ids::LOG_LAMBDA, names.lambda_log_group()),
                    (ids::LOG_RDS_POSTGRESQL, names.rds_log_group("*")),
                    (ids::LOG_RDS_OS_METRICS, logs::RDS_OS_METRICS.to_owned()),
                    (ids::LOG_API_ACCESS, names.api_access_log_group()),
                ]
                .into_iter()
                .filter(|(id, _)| components::builds(inputs.config, id))
                .map(|(_, group)| group)
                .collect(),
            },
            KeyUser::CloudWatchAlarms,
            KeyUser::ViaServices(vec!["sns"]),
        ],
    ));
    nodes.push(key(
        ids::KMS_LAMBDA,
        "lambda",
        "Lambda environment variables and the dead-letter queue",
        vec![
            KeyUser::ViaServices(vec!["lambda", "sqs"]),
            KeyUser::Role(LogicalId::new(ids::ROLE_LAMBDA)),
        ],
    ));
    iam::add(&mut nodes, inputs);
    logs::add(&mut nodes, inputs, names);
    network::add(&mut nodes, inputs);
    egress::add(&mut nodes, inputs);
    app::add(&mut nodes, inputs);
    api::add(&mut nodes, inputs);
    nodes
}

/// A resource of the whole stack the configuration does not build.
#[derive(Clone, Debug)]
pub struct LeftOut {
    pub id: LogicalId,
    pub kind: &'static str,
    /// Which switch leaves it out.
    pub why: String,
    /// The switch lowers protection (the resource guards the rest):
    /// leaving it out is a deviation, not "nothing to protect".
    pub deviation: bool,
}

/// The resources of the whole stack that `inputs.config` does not build,
/// in the blueprint's order.
pub fn left_out(
    inputs: &Inputs<'_>,
    names: &paysec_core::naming::Names,
) -> Result<Vec<LeftOut>, GraphError> {
    let whole = whole_blueprint(inputs, names)?;
    let built = blueprint(inputs, names)?;
    Ok((0..whole.len())
        .map(|i| whole.node(i))
        .filter(|n| built.position(n.id()).is_none())
        .map(|n| LeftOut {
            id: n.id().clone(),
            kind: n.kind(),
            // What serves several components goes when all of them are off.
            why: components::serving(n.id().as_str())
                .into_iter()
                .map(Component::left_out_because)
                .collect::<Vec<_>>()
                .join("; "),
            deviation: components::serving(n.id().as_str())
                .iter()
                .any(|c| c.protects_the_rest()),
        })
        .collect())
}

/// One stack output.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Output {
    pub name: &'static str,
    pub value: Option<String>,
    pub description: &'static str,
}

/// What of a resource an output shows.
#[derive(Clone, Copy)]
enum Field {
    /// Its physical id (the ledger record's own field).
    Id,
    Attr(Attr),
}

/// (output name, resource, what of it, description): a Terraform setup's
/// `terraform output` and what a user of the stack needs besides.
#[rustfmt::skip]
const OUTPUTS: &[(&str, &str, Field, &str)] = &[
    ("rds_endpoint", ids::DB, Field::Attr(Attr::Endpoint), "PostgreSQL endpoint (host:port), TLS required"),
    ("rds_address", ids::DB, Field::Attr(Attr::Address), "PostgreSQL host name (the function gets it as PAYSEC_DB_HOST)"),
    ("rds_instance_id", ids::DB, Field::Id, "RDS instance identifier"),
    ("rds_dbi_resource_id", ids::DB, Field::Attr(Attr::DbiResourceId), "RDS resource id, which IAM database authentication's rds-db:connect ARN names"),
    ("rds_master_user_secret_arn", ids::DB, Field::Attr(Attr::MasterUserSecretArn), "Secrets Manager secret of the master password (managed by RDS)"),
    ("lambda_function_name", ids::FUNCTION, Field::Attr(Attr::Name), "Payment processing function"),
    ("lambda_function_arn", ids::FUNCTION, Field::Attr(Attr::Arn), "Payment processing function ARN"),
    ("lambda_live_alias_arn", ids::FUNCTION, Field::Attr(Attr::AliasArn), "The alias `live`: what callers invoke"),
    ("lambda_live_version", ids::FUNCTION, Field::Attr(Attr::Version), "The version `live` points to (see `paysec releases`)"),
    ("lambda_live_code_sha256", ids::FUNCTION, Field::Attr(Attr::CodeSha256), "CodeSha256 of the code `live` runs"),
    ("api_id", ids::API, Field::Id, "The payment API (REST, PRIVATE): reachable only through PrivateLink"),
    ("api_invoke_url", ids::API_STAGE, Field::Attr(Attr::Url), "Invoke URL of stage v1, resolved by the execute-api endpoint's private DNS inside the VPC (and by allowed consumer endpoints)"),
    ("api_endpoint_id", ids::ENDPOINT_API, Field::Id, "The execute-api interface endpoint callers in this VPC reach the API through"),
    ("api_access_log_group_name", ids::LOG_API_ACCESS, Field::Attr(Attr::Name), "CloudWatch log group of the API's access logs"),
    ("dlq_url", ids::DLQ, Field::Attr(Attr::Url), "Dead-letter queue of the function"),
    ("alarm_topic_arn", ids::TOPIC, Field::Attr(Attr::Arn), "SNS topic every alarm notifies (subscribe to it)"),
    ("vpc_id", ids::VPC, Field::Id, "VPC (private subnets only, no internet gateway)"),
    ("private_subnet_a_id", ids::SUBNETS[0], Field::Id, "Private subnet, first zone"),
    ("private_subnet_b_id", ids::SUBNETS[1], Field::Id, "Private subnet, second zone"),
    ("private_subnet_c_id", ids::SUBNETS[2], Field::Id, "Private subnet, third zone"),
    ("lambda_security_group_id", ids::SG_LAMBDA, Field::Id, "Security group of the payment function"),
    ("db_security_group_id", ids::SG_DB, Field::Id, "Security group of the database"),
    ("s3_endpoint_id", ids::ENDPOINT_S3, Field::Id, "S3 gateway endpoint"),
    ("rds_endpoint_id", ids::ENDPOINT_RDS, Field::Id, "RDS interface endpoint"),
    ("xray_endpoint_id", ids::ENDPOINT_XRAY, Field::Id, "X-Ray interface endpoint (the function's traces)"),
    ("flow_logs_bucket", ids::BUCKET_FLOW_LOGS, Field::Attr(Attr::Name), "S3 bucket of the VPC flow logs"),
    ("data_bucket", ids::BUCKET_DATA, Field::Attr(Attr::Name), "S3 bucket for application data"),
    ("release_bucket", ids::BUCKET_RELEASES, Field::Attr(Attr::Name), "S3 bucket of the function's packages and their signed copies (code signing)"),
    ("code_signing_config_arn", ids::CODE_SIGNING, Field::Attr(Attr::Arn), "Lambda code signing configuration (only the release profile's code runs)"),
    ("access_logs_bucket", ids::BUCKET_ACCESS_LOGS, Field::Attr(Attr::Name), "S3 bucket of the server access logs"),
    ("flow_log_group_name", ids::LOG_FLOW_LOGS, Field::Attr(Attr::Name), "CloudWatch log group of the VPC flow logs"),
    ("lambda_log_group_name", ids::LOG_LAMBDA, Field::Attr(Attr::Name), "CloudWatch log group of the payment function"),
    ("lambda_role_arn", ids::ROLE_LAMBDA, Field::Attr(Attr::Arn), "Lambda execution role"),
    ("rds_monitoring_role_arn", ids::ROLE_RDS_MONITORING, Field::Attr(Attr::Arn), "RDS enhanced monitoring role"),
    ("flow_logs_role_arn", ids::ROLE_FLOW_LOGS, Field::Attr(Attr::Arn), "VPC flow-log delivery role"),
    ("audit_role_arn", ids::ROLE_AUDIT, Field::Attr(Attr::Arn), "Cross-account audit role (requires the external id)"),
    ("audit_role_external_id", ids::ROLE_AUDIT, Field::Attr(Attr::ExternalId), "External id the auditor must present"),
    ("kms_rds_key_arn", ids::KMS_RDS, Field::Attr(Attr::Arn), "KMS key for RDS storage and secrets"),
    ("kms_s3_key_arn", ids::KMS_S3, Field::Attr(Attr::Arn), "KMS key for S3 buckets"),
    ("kms_logs_key_arn", ids::KMS_LOGS, Field::Attr(Attr::Arn), "KMS key for CloudWatch Logs and the alarm topic"),
    ("kms_lambda_key_arn", ids::KMS_LAMBDA, Field::Attr(Attr::Arn), "KMS key for Lambda and its DLQ"),
];

/// The outputs as the ledger records them (no network).
pub fn outputs(ledger: &Ledger) -> Vec<Output> {
    OUTPUTS
        .iter()
        .map(|&(name, id, field, description)| Output {
            name,
            value: ledger
                .record(&LogicalId::new(id))
                .and_then(|r| match field {
                    Field::Id => r.physical_id.clone(),
                    Field::Attr(attr) => r.attrs.get(attr.as_str()).cloned(),
                }),
            description,
        })
        .collect()
}

/// The names `paysec output NAME` accepts.
pub fn output_names() -> impl Iterator<Item = &'static str> {
    OUTPUTS.iter().map(|o| o.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_desired_state_follows_the_administrators_and_settings() {
        let config = Config::default();
        let role = |r: &str| {
            key_admins(
                &config,
                Some(&format!("arn:aws:iam::123456789012:role/{r}")),
            )
        };
        let base = desired_state(&config, &role("Deployer"), "code-a");
        assert_eq!(desired_state(&config, &role("Deployer"), "code-a"), base);
        assert_ne!(desired_state(&config, &role("Other"), "code-a"), base);
        assert_ne!(desired_state(&config, &role("Deployer"), "code-b"), base);
        let mut retained = config.clone();
        retained.stack.logs.retention_days = 400;
        assert_ne!(desired_state(&retained, &role("Deployer"), "code-a"), base);
    }

    /// `f` given the blueprint's inputs for `config` (the example handler,
    /// no releases, nothing resolved) and environment `t-1`'s names.
    async fn with_inputs<R>(
        config: &Config,
        f: impl FnOnce(&Inputs<'_>, &paysec_core::naming::Names) -> R,
    ) -> R {
        let aws = Aws::connect(&paysec_aws::AwsSettings {
            region: Some("us-east-1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
        let resolved = Preflight::unresolved(config);
        let inputs = Inputs {
            aws: &aws,
            config,
            key_admins: &[],
            resolved: &resolved,
            code: &Arc::new(paysec_lambda::Code::example()),
            releases: &Default::default(),
            recorded: &[],
        };
        let env = paysec_core::naming::EnvName::parse("t-1").unwrap();
        f(&inputs, &paysec_core::naming::Names::new(&env))
    }

    /// The blueprint's ids with `config`, and what it leaves out.
    async fn built_and_left_out(config: &Config) -> (Vec<String>, Vec<LeftOut>) {
        with_inputs(config, |inputs, names| {
            let graph = blueprint(inputs, names).expect("a valid graph");
            let ids = (0..graph.len())
                .map(|i| graph.node(i).id().to_string())
                .collect();
            (ids, left_out(inputs, names).unwrap())
        })
        .await
    }

    #[tokio::test]
    async fn a_disabled_component_leaves_out_exactly_what_serves_it() {
        let mut all = Config::default();
        all.stack.iam.audit_trusted_account = Some("210987654321".into());
        all.stack.lambda.signing_profile = Some("release".into());
        let (whole, none) = built_and_left_out(&all).await;
        assert!(none.is_empty(), "{none:?}");
        for mask in 1..64u8 {
            let mut config = all.clone();
            config.stack.rds.enabled = mask & 1 == 0;
            config.stack.lambda.enabled = mask & 2 == 0;
            if mask & 4 != 0 {
                config.stack.iam.audit_trusted_account = None;
            }
            config.stack.network.dns_firewall = mask & 8 == 0;
            config.stack.api.enabled = mask & 16 == 0;
            if mask & 32 != 0 {
                config.stack.lambda.signing_profile = None;
            }
            let (built, left) = built_and_left_out(&config).await;
            let left_ids: Vec<String> = left.iter().map(|l| l.id.to_string()).collect();
            assert_eq!(built.len() + left.len(), whole.len(), "switches {mask:06b}");
            for id in &whole {
                assert_ne!(built.contains(id), left_ids.contains(id), "{id} once");
                let serving = components::serving(id);
                let wanted = serving.is_empty() || serving.iter().any(|c| c.enabled_in(&config));
                assert_eq!(built.contains(id), wanted, "{id} with switches {mask:06b}");
            }
            for l in &left {
                for c in components::serving(l.id.as_str()) {
                    assert!(l.why.contains(c.switched_off()), "{}: {}", l.id, l.why);
                }
            }
        }
        assert_eq!(
            components::of(ids::ROLE_AUDIT),
            Some(Component::AuditRole),
            "no auditor trusted by default"
        );
        assert!(!Component::AuditRole.enabled_in(&Config::default()));
        let mut core = all.clone();
        core.stack.rds.enabled = false;
        core.stack.lambda.enabled = false;
        let (built, _) = built_and_left_out(&core).await;
        assert!(built.contains(&ids::VPC.to_owned()) && built.contains(&ids::TOPIC.to_owned()));
        assert!(!built.contains(&ids::SG_RULES.to_owned()));
        assert!(!built.contains(&ids::ALARM_ENCRYPTION.to_owned()));
    }

    /// `down` deletes a resource once everything depending on it is gone:
    /// the Lambda role and the policy that lets Lambda delete the
    /// function's network interfaces go only after the group those
    /// interfaces hold.
    #[tokio::test]
    async fn the_lambda_role_and_its_policy_outlive_the_functions_group() {
        let graph = with_inputs(&Config::default(), |inputs, names| {
            whole_blueprint(inputs, names).unwrap()
        })
        .await;
        let sg = (0..graph.len())
            .find(|&i| graph.node(i).id().as_str() == ids::SG_LAMBDA)
            .unwrap();
        let deps: Vec<String> = graph
            .node(sg)
            .dependencies()
            .iter()
            .map(|d| d.target().to_string())
            .collect();
        for id in [ids::ROLE_LAMBDA, ids::POLICY_LAMBDA] {
            assert!(deps.contains(&id.to_owned()), "{id} in {deps:?}");
        }
    }

    #[tokio::test]
    async fn every_id_and_kind_fits_its_column() {
        let (ids, _) = built_and_left_out(&Config::default()).await;
        let longest = ids.iter().map(String::len).max().unwrap();
        assert!(longest <= ID_WIDTH, "an id of {longest} characters");
        assert_eq!(longest, ID_WIDTH, "no wider than needed");
        let graph = with_inputs(&Config::default(), |inputs, names| {
            blueprint(inputs, names).unwrap()
        })
        .await;
        let widest = (0..graph.len())
            .map(|i| graph.node(i).kind().len())
            .max()
            .unwrap();
        assert_eq!(widest, KIND_WIDTH);
    }

    #[test]
    fn configured_administrators_win_over_the_caller() {
        let mut config = Config::default();
        let role =
            "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_A_1";
        let caller = Some(role);
        assert_eq!(key_admins(&config, caller), [role]);
        assert!(
            key_admins(&config, None).is_empty(),
            "root: the root statement covers it"
        );
        config.stack.kms.admin_principals = vec!["arn:aws:iam::123456789012:role/KeyAdmins".into()];
        assert_eq!(
            key_admins(&config, caller),
            ["arn:aws:iam::123456789012:role/KeyAdmins"]
        );
    }

    #[test]
    fn outputs_read_physical_ids_and_attributes_from_the_ledger() {
        let dir = tempfile::tempdir().unwrap();
        let env = paysec_core::naming::EnvName::parse("t-1").unwrap();
        let mut ledger = Ledger::open_for_write(dir.path(), &env, "test").unwrap();
        let present = paysec_core::Present::new("vpc-123");
        ledger
            .set_present(
                &LogicalId::new(ids::VPC),
                "vpc",
                &present,
                paysec_core::Status::Ready,
                None,
            )
            .unwrap();
        let key = paysec_core::Present::new("k-1").with(Attr::Arn, "arn:aws:kms:k-1");
        ledger
            .set_present(
                &LogicalId::new(ids::KMS_RDS),
                "kms_key",
                &key,
                paysec_core::Status::Ready,
                None,
            )
            .unwrap();
        let outputs = outputs(&ledger);
        let value = |name: &str| {
            outputs
                .iter()
                .find(|o| o.name == name)
                .and_then(|o| o.value.clone())
        };
        assert_eq!(value("vpc_id").as_deref(), Some("vpc-123"));
        assert_eq!(value("kms_rds_key_arn").as_deref(), Some("arn:aws:kms:k-1"));
        assert_eq!(value("rds_endpoint"), None);
    }

    #[test]
    fn every_output_names_a_resource_of_the_stack() {
        let known: Vec<&str> = [
            ids::DB,
            ids::FUNCTION,
            ids::DLQ,
            ids::API,
            ids::API_STAGE,
            ids::ENDPOINT_API,
            ids::LOG_API_ACCESS,
            ids::TOPIC,
            ids::VPC,
            ids::SG_LAMBDA,
            ids::SG_DB,
            ids::ENDPOINT_S3,
            ids::ENDPOINT_RDS,
            ids::ENDPOINT_XRAY,
            ids::BUCKET_FLOW_LOGS,
            ids::BUCKET_DATA,
            ids::BUCKET_RELEASES,
            ids::CODE_SIGNING,
            ids::BUCKET_ACCESS_LOGS,
            ids::LOG_FLOW_LOGS,
            ids::LOG_LAMBDA,
            ids::ROLE_LAMBDA,
            ids::ROLE_RDS_MONITORING,
            ids::ROLE_FLOW_LOGS,
            ids::ROLE_AUDIT,
            ids::KMS_RDS,
            ids::KMS_S3,
            ids::KMS_LOGS,
            ids::KMS_LAMBDA,
        ]
        .into_iter()
        .chain(ids::SUBNETS)
        .collect();
        for (name, id, _, _) in OUTPUTS {
            assert!(known.contains(id), "{name} -> {id}");
        }
        let mut names: Vec<_> = output_names().collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), OUTPUTS.len(), "output names are unique");
    }
}

//! `paysec verify`: every property of the controls list, checked against
//! the *live* resources (each resource's read compares what AWS reports
//! with the desired state, property by property), mapped to the
//! PCI DSS v4.0.1 requirements it supports, as a verdict per control and an
//! evidence report for an assessment (configuration evidence: paysec
//! supports the requirements; only an assessment attests compliance).

pub mod figures;
mod html;
pub mod prerequisites;
mod sarif;

pub use figures::{Figure, Figures};
pub use html::{html, Picture};
pub use prerequisites::{PrerequisiteFinding, PrerequisiteSummary, Status};
pub use sarif::sarif;

// The service crates' property enums, which the catalog names.
use paysec_api as api;
use paysec_iam as iam;
use paysec_kms as kms;
use paysec_lambda as lambda;
use paysec_logs as logs;
use paysec_monitoring as monitoring;
use paysec_network as network;
use paysec_rds as rds;
use paysec_s3 as s3;

use paysec_core::reading::Call;
use paysec_core::scheduler::{Planned, PlannedChange};
use paysec_core::Comparison;
use serde::Serialize;

/// One checkable property of one kind of resource.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Control {
    pub id: &'static str,
    pub kind: &'static str,
    /// The drift property the resource's read reports when this fails.
    pub property: &'static str,
    pub requirements: &'static [&'static str],
    pub title: &'static str,
}

macro_rules! controls {
    ($( $id:literal $kind:literal $prop:path [$($req:literal),*] $title:literal ;)*) => {
        /// The catalog, one line per property (`docs/controls.md` is
        /// generated from it: [`catalog_markdown`]).
        pub const CONTROLS: &[Control] = &[
            $( Control { id: $id, kind: $kind, property: $prop.as_str(), requirements: &[$($req),*], title: $title }, )*
        ];
    };
}

controls! {
    "KMS-1" "kms_key" kms::KeyProperty::KeyState ["3.5.1"] "customer-managed key enabled";
    "KMS-2" "kms_key" kms::KeyProperty::Rotation ["3.7.4"] "automatic key rotation enabled (key material changed yearly: the cryptoperiod)";
    "KMS-3" "kms_key" kms::KeyProperty::Policy ["3.6.1", "7.2.1"] "key policy separates administration from use; no kms:* but the root";
    "KMS-5" "kms_key" kms::KeyProperty::Grants ["3.6.1"] "grants only to AWS services and this environment's roles (the grantees quoted)";
    "KMS-4" "kms_key" kms::KeyProperty::Alias ["3.6.1"] "key reachable by its alias";
    "NET-1" "vpc" network::vpc::VpcProperty::EnableDnsSupport [] "VPC DNS support on (private endpoint DNS)";
    "NET-2" "vpc" network::vpc::VpcProperty::EnableDnsHostnames [] "VPC DNS hostnames on";
    "NET-3" "subnet" network::subnet::SubnetProperty::MapPublicIpOnLaunch ["1.3.1", "1.4.1"] "no public IP auto-assignment";
    "NET-25" "subnet" network::subnet::SubnetProperty::AvailabilityZone [] "subnet in the zone network.availability_zones names (checked when it names them)";
    "NET-4" "route_table" network::route_table::RouteTableProperty::Routes ["1.3.1", "1.3.2", "1.4.1"] "no route to the internet (no IGW, no NAT)";
    "NET-5" "route_table" network::route_table::RouteTableProperty::Associations ["1.3.1"] "private subnets use the private route table";
    "NET-6" "network_acl" network::nacl::AclProperty::Entries ["1.3.1", "1.3.2"] "network ACL admits only VPC-internal traffic";
    "NET-7" "network_acl" network::nacl::AclProperty::Associations ["1.3.1"] "subnets use the VPC-internal network ACL";
    "NET-8" "vpc_defaults" network::default_hardening::DefaultsProperty::DefaultSecurityGroupRules ["1.2.1", "1.3.1", "1.3.2"] "default security group has no rules";
    "NET-9" "vpc_defaults" network::default_hardening::DefaultsProperty::DefaultNetworkAclOpenEntries ["1.3.1", "1.4.1"] "default network ACL admits nothing from 0.0.0.0/0";
    "NET-10" "security_group_rules" network::security_group::RulesProperty::Rules ["1.2.1", "1.3.1", "1.3.2"] "security groups allow only the stack's flows; no 0.0.0.0/0";
    "NET-11" "vpc_endpoint_gateway" network::endpoint::GatewayEndpointProperty::Policy ["1.3.2"] "S3 endpoint policy scoped to the stack's buckets";
    "NET-12" "vpc_endpoint_gateway" network::endpoint::GatewayEndpointProperty::RouteTables ["1.3.2"] "S3 gateway endpoint on the private route table";
    "NET-13" "vpc_endpoint_interface" network::endpoint::InterfaceEndpointProperty::PrivateDnsEnabled ["1.3.2"] "interface endpoint private DNS as wanted: on for AWS services (RDS, X-Ray, execute-api, the services the code calls), off for a partner's PrivateLink service (its names are in the DNS Firewall's list)";
    "NET-14" "vpc_endpoint_interface" network::endpoint::InterfaceEndpointProperty::Subnets ["1.3.2"] "interface endpoint in the three private subnets";
    "NET-15" "vpc_endpoint_interface" network::endpoint::InterfaceEndpointProperty::Policy ["1.3.2", "7.2.1"] "interface endpoint policy: AWS services' limited to this account's principals and resources (through the RDS one, changes only to this stack's database); execute-api's to invoking this stack's API";
    "NET-26" "vpc_endpoint_interface" network::endpoint::InterfaceEndpointProperty::State [] "interface endpoint in service (`available`): a partner's PrivateLink service has accepted the connection (it stays `pendingAcceptance` until its provider does)";
    "NET-21" "vpc" network::vpc::VpcProperty::Gateways ["1.3.1", "1.3.2", "1.4.1"] "no internet, egress-only internet, NAT or virtual private gateway attached to the VPC (whoever made it)";
    "NET-22" "vpc" network::vpc::VpcProperty::Connections ["1.3.1", "1.3.2", "12.5.2"] "no VPC peering connection (either side) or transit gateway attachment on the VPC";
    "NET-23" "vpc" network::vpc::VpcProperty::RouteTables ["1.3.1", "1.3.2", "1.4.1"] "every route table in the VPC, not only paysec's, routes only inside it or to a gateway endpoint (each quoted)";
    "NET-24" "vpc" network::vpc::VpcProperty::PublicInterfaces ["1.4.1", "1.4.4"] "no network interface in the VPC has a public IP";
    "NET-16" "dns_domain_list" network::dns_firewall::DomainListProperty::Domains ["1.3.2"] "DNS firewall lists: the stack's service names only (allowed); every name (blocked)";
    "NET-17" "dns_rule_group" network::dns_firewall::RuleGroupProperty::Rules ["1.3.2"] "DNS firewall allows the stack's names, trusting their CNAME chains into AWS's domains (TRUST_REDIRECTION_DOMAIN), and blocks every other (NODATA)";
    "NET-18" "dns_rule_group_assoc" network::dns_firewall::AssociationProperty::Association ["1.3.2"] "DNS firewall rule group associated with the stack's VPC";
    "NET-19" "dns_rule_group_assoc" network::dns_firewall::AssociationProperty::MutationProtection ["1.3.2"] "DNS firewall association protected against change (mutation protection on)";
    "NET-20" "dns_rule_group_assoc" network::dns_firewall::AssociationProperty::FailOpen ["1.3.2"] "the VPC's DNS firewall fails closed (fail-open disabled)";
    "LOG-1" "flow_log" network::flow_log::FlowLogProperty::TrafficType ["10.2.1"] "VPC flow logs capture ALL traffic";
    "LOG-2" "flow_log" network::flow_log::FlowLogProperty::Destination ["10.3.3"] "flow logs configured to the stack's S3 bucket / log group (their delivery: LOG-6; the group still receiving: LOG-7)";
    "LOG-6" "flow_log" network::flow_log::FlowLogProperty::DeliveryStatus ["10.7.2"] "AWS reports the flow log delivering (DeliverLogsStatus SUCCESS; a failure quoted with its reason)";
    "LOG-3" "flow_log" network::flow_log::FlowLogProperty::Resource ["10.2.1"] "flow logs are on the stack's VPC";
    "LOG-4" "log_group" logs::GroupProperty::KmsKey ["3.5.1", "10.3.1"] "log group encrypted with the Logs key";
    "LOG-5" "log_group" logs::GroupProperty::RetentionDays ["10.5.1"] "log retention at least 12 months";
    "LOG-7" "log_group" logs::GroupProperty::Ingestion ["10.7.2"] "a group whose source writes continuously (flow logs, PostgreSQL) ingested an event within the last 24 hours (the newest stream quoted)";
    "S3-1" "s3_bucket" s3::BucketProperty::Encryption ["3.5.1"] "default encryption: SSE-KMS with the S3 key and bucket key (SSE-S3 on the access-log bucket, the only kind S3 server access logging delivers to)";
    "S3-2" "s3_bucket" s3::BucketProperty::Versioning ["10.3.2", "10.5.1"] "versioning enabled";
    "S3-3" "s3_bucket" s3::BucketProperty::PublicAccessBlock ["1.4.1", "7.2.1"] "all four public access blocks on";
    "S3-4" "s3_bucket" s3::BucketProperty::Ownership ["7.2.1"] "ACLs disabled (bucket owner enforced)";
    "S3-5" "s3_bucket" s3::BucketProperty::Policy ["4.2.1", "3.5.1"] "policy denies plain HTTP, TLS below 1.2 (s3:TlsVersion) and wrong SSE headers; log delivery scoped";
    "S3-6" "s3_bucket" s3::BucketProperty::Lifecycle ["10.5.1"] "logs 90 days hot, kept 12 months; old versions expire";
    "S3-7" "s3_bucket" s3::BucketProperty::Logging ["10.2.1", "10.3.3"] "server access logs to the access-log bucket";
    "S3-8" "s3_bucket" s3::BucketProperty::ObjectLock ["10.3.2", "10.5.1"] "log objects locked on write (Object Lock, governance mode, the retention period)";
    "IAM-1" "iam_role" iam::RoleProperty::MaxSessionDuration ["7.2.5"] "role sessions last at most one hour";
    "IAM-2" "iam_role" iam::RoleProperty::TrustPolicy ["7.2.5"] "trust requires the external id / source account";
    "IAM-3" "iam_role" iam::RoleProperty::InlinePolicies ["7.2.5"] "no inline policies";
    "IAM-4" "iam_role" iam::RoleProperty::ManagedPolicies ["7.2.5"] "exactly the required managed policies attached (anything else fails)";
    "IAM-5" "iam_policy" iam::PolicyProperty::Document ["7.2.5"] "least privilege scoped to the stack's ARNs";
    "IAM-6" "iam_policy" iam::PolicyProperty::Attachments ["7.2.5"] "policy attached to its role and nothing else";
    "RDS-1" "db_parameter_group" rds::DbParameter::ForceSsl ["4.2.1", "2.2.7"] "TLS forced on every connection";
    "RDS-22" "db_parameter_group" rds::DbParameter::SslMinProtocolVersion ["4.2.1", "2.2.7"] "connections need TLS 1.2 or later (ssl_min_protocol_version)";
    "RDS-23" "db_parameter_group" rds::DbParameter::SharedPreloadLibraries ["10.2.1", "10.2.2"] "pgaudit loaded at start (shared_preload_libraries; `CREATE EXTENSION pgaudit` in the database is not read)";
    "RDS-24" "db_parameter_group" rds::DbParameter::PgauditLog ["10.2.1.1", "10.2.1.2", "10.2.1.5", "10.2.1.7", "10.2.2"] "pgaudit logs reads, writes, schema (DDL) and role changes (pgaudit.log)";
    "RDS-25" "db_parameter_group" rds::DbParameter::LogLinePrefix ["10.2.2"] "every database log line names time, user, database and client (log_line_prefix, fixed by RDS, read)";
    "RDS-2" "db_parameter_group" rds::DbParameter::LogConnections ["10.2.1"] "connections logged";
    "RDS-3" "db_parameter_group" rds::DbParameter::LogDisconnections ["10.2.1"] "disconnections logged";
    "RDS-4" "db_subnet_group" rds::groups::SubnetGroupProperty::Subnets ["1.3.1"] "database only in the private subnets";
    "RDS-5" "db_instance" rds::instance::InstanceProperty::MultiAz [] "Multi-AZ deployment";
    "RDS-6" "db_instance" rds::instance::InstanceProperty::StorageEncrypted ["3.5.1"] "storage encrypted";
    "RDS-7" "db_instance" rds::instance::InstanceProperty::KmsKey ["3.5.1", "3.6.1"] "encrypted with the RDS key";
    "RDS-8" "db_instance" rds::instance::InstanceProperty::PubliclyAccessible ["1.3.1", "1.4.1", "1.4.4"] "not publicly accessible";
    "RDS-27" "db_instance" rds::instance::InstanceProperty::InstanceClass [] "instance class as configured (a change is applied as rds.apply_immediately says; one pending for the maintenance window is quoted as such)";
    "RDS-28" "db_instance" rds::instance::InstanceProperty::AllocatedStorage [] "allocated storage as configured (RDS grows storage in place and never shrinks it)";
    "RDS-29" "db_instance" rds::instance::InstanceProperty::EngineVersion ["6.3.3"] "engine version as configured, or a later minor of the same major (RDS applies minor upgrades itself)";
    "RDS-30" "db_instance" rds::instance::InstanceProperty::Port [] "port as configured (the database's security group admits it)";
    "RDS-9" "db_instance" rds::instance::InstanceProperty::BackupRetentionDays ["12.10.1"] "automated backups kept as configured (7 to 35 days)";
    "RDS-10" "db_instance" rds::instance::InstanceProperty::CopyTagsToSnapshot ["12.5.1"] "snapshots carry the inventory tags";
    "RDS-11" "db_instance" rds::instance::InstanceProperty::AutoMinorVersionUpgrade ["6.3.3"] "automatic minor version upgrades on (pending maintenance not read)";
    "RDS-12" "db_instance" rds::instance::InstanceProperty::DeletionProtection [] "deletion protection as configured";
    "RDS-13" "db_instance" rds::instance::InstanceProperty::IamDatabaseAuthentication ["8.3.1"] "IAM database authentication on";
    "RDS-14" "db_instance" rds::instance::InstanceProperty::MonitoringInterval [] "enhanced monitoring on";
    "RDS-15" "db_instance" rds::instance::InstanceProperty::LogExports ["10.2.1", "10.3.3"] "postgresql and upgrade logs exported to CloudWatch";
    "RDS-16" "db_instance" rds::instance::InstanceProperty::SecurityGroups ["1.3.1"] "only the DB security group";
    "RDS-17" "db_instance" rds::instance::InstanceProperty::ParameterGroup ["4.2.1", "2.2.7"] "uses the TLS-only parameter group, its parameters applied (in-sync, not pending-reboot)";
    "RDS-19" "db_instance" rds::instance::InstanceProperty::MasterUsername ["2.2.2"] "master user is not an engine default name (postgres, admin, root, rdsadmin, master, administrator, sa)";
    "RDS-20" "db_instance" rds::instance::InstanceProperty::MasterUserSecret ["8.3.2"] "master password managed by RDS in Secrets Manager, encrypted with the RDS key (rotation: RDS-26)";
    "RDS-21" "db_instance" rds::instance::InstanceProperty::Snapshots ["1.4.4", "3.5.1"] "every DB snapshot of the instance encrypted with the RDS key, none public, none restorable by an account `rds.snapshot_restorers` does not name (a share with a named one: a deviation; each listed)";
    "RDS-26" "db_instance" rds::instance::InstanceProperty::MasterSecretRotation ["8.6.3"] "master password rotated by Secrets Manager (rotation on; its period, last and next rotation quoted)";
    "RDS-18" "db_instance" rds::instance::InstanceProperty::PerformanceInsights ["3.5.1"] "Performance Insights data encrypted with the RDS key (the key is read)";
    "LAM-1" "lambda_function" lambda::function::FunctionProperty::KmsKey ["3.5.1"] "environment encrypted with the Lambda key";
    "LAM-2" "lambda_function" lambda::function::FunctionProperty::DeadLetterQueue [] "failed invocations kept in the DLQ";
    "LAM-3" "lambda_function" lambda::function::FunctionProperty::Tracing [] "X-Ray tracing active";
    "LAM-4" "lambda_function" lambda::function::FunctionProperty::Subnets ["1.3.1"] "runs in the private subnets";
    "LAM-5" "lambda_function" lambda::function::FunctionProperty::SecurityGroups ["1.3.1", "1.3.2"] "runs with the Lambda security group";
    "LAM-6" "lambda_function" lambda::function::FunctionProperty::Role ["7.2.5"] "runs as its own least-privilege role";
    "LAM-7" "lambda_function" lambda::function::FunctionProperty::Runtime ["6.3.3", "12.3.4"] "the configured runtime, one paysec accepts (Lambda's supported .zip runtimes not deprecated by the day of the check: paysec's table of Lambda's published dates, since Lambda's API states none)";
    "LAM-8" "lambda_function" lambda::function::FunctionProperty::ReservedConcurrency [] "reserved concurrency set";
    "LAM-9" "lambda_function" lambda::function::FunctionProperty::Release ["6.5.1", "6.5.2"] "the version the alias live points to runs the release that must be in service: the configured package, or the release a rollback holds (both CodeSha256 quoted)";
    "LAM-11" "lambda_function" lambda::function::FunctionProperty::Code ["6.5.1"] "$LATEST holds the configured package (CodeSha256 equal to its SHA-256): no code changed out of band waits to be published";
    "LAM-12" "lambda_function" lambda::function::FunctionProperty::Environment ["3.5.1", "8.3.2"] "the function's variables are the configured ones and paysec's (names quoted, values by digest; none looks like a secret, checked before deploy)";
    "LAM-13" "lambda_function" lambda::function::FunctionProperty::CodeSigning ["6.5.1"] "the function uses the stack's code signing configuration, so Lambda checks every new deployment's signature (with lambda.signing_profile)";
    "LAM-14" "lambda_function" lambda::function::FunctionProperty::Signature ["6.5.1"] "the code of the version the alias live points to was verified by Lambda as signed by the configured Signer profile (profile version and signing job quoted)";
    "LAM-15" "lambda_code_signing" lambda::code_signing::CodeSigningProperty::UntrustedArtifactPolicy ["6.5.1"] "Lambda refuses code no allowed profile signed (UntrustedArtifactOnDeployment Enforce, not Warn)";
    "LAM-16" "lambda_code_signing" lambda::code_signing::CodeSigningProperty::AllowedPublishers ["6.5.1"] "only the configured Signer profile's current version may sign the function's code";
    "LAM-10" "lambda_function" lambda::function::FunctionProperty::PublicEntry ["1.3.1", "1.4.1"] "no public entry: no resource-policy statement open to every principal (the function's, each version's and alias's), no function URL without authentication (each quoted)";
    "SQS-1" "sqs_queue" lambda::queue::QueueProperty::KmsMasterKeyId ["3.5.1"] "DLQ encrypted with KMS";
    "SQS-2" "sqs_queue" lambda::queue::QueueProperty::Policy ["4.2.1"] "DLQ policy denies requests without TLS";
    "SQS-3" "sqs_queue" lambda::queue::QueueProperty::MessageRetentionPeriod ["3.2.1"] "DLQ keeps a failed event 14 days (1209600 seconds, SQS's maximum), then deletes it";
    "MON-1" "sns_topic" monitoring::topic::TopicProperty::KmsMasterKeyId [] "alarm topic encrypted with KMS";
    "MON-2" "sns_topic" monitoring::topic::TopicProperty::Policy ["7.2.1"] "only CloudWatch alarms of this account publish; TLS only";
    "MON-8" "sns_topic" monitoring::topic::TopicProperty::Subscribers ["10.7.2", "12.10.5"] "someone hears the alarms: the topic has a confirmed subscriber (each subscription quoted)";
    "MON-3" "metric_filter" monitoring::metric_filter::FilterProperty::Pattern ["10.4.1", "10.4.1.1"] "security events extracted from the logs";
    "MON-4" "metric_filter" monitoring::metric_filter::FilterProperty::Metric ["10.4.1", "10.4.1.1"] "metric filter feeds the alarm's metric";
    "MON-5" "cloudwatch_alarm" monitoring::alarm::AlarmProperty::AlarmActions ["10.4.1.1", "10.4.3"] "alarm notifies the encrypted topic";
    "MON-6" "cloudwatch_alarm" monitoring::alarm::AlarmProperty::Threshold ["10.4.1", "10.4.1.1"] "alarm fires on the first event";
    "MON-7" "cloudwatch_alarm" monitoring::alarm::AlarmProperty::Metric ["10.4.1", "10.4.1.1"] "alarm watches the right metric";
    "API-1" "api_gateway_rest_api" api::rest_api::RestApiProperty::EndpointType ["1.3.1", "1.4.1"] "the payment API's endpoint type is PRIVATE: reachable only through interface endpoints, never from the internet";
    "API-2" "api_gateway_rest_api" api::rest_api::RestApiProperty::SecurityPolicy ["4.2.1"] "the API's TLS security policy is the configured one (TLS 1.2 or later; STRICT endpoint access with an enhanced policy)";
    "API-3" "api_gateway_rest_api" api::rest_api::RestApiProperty::Authorization ["7.2.1", "7.2.2", "8.2.1"] "every method is authorized with AWS IAM (SigV4): no anonymous call";
    "API-4" "api_gateway_rest_api" api::rest_api::RestApiProperty::Integration ["6.5.1"] "every method is a Lambda proxy integration with the function's alias live (the release paysec records as in service)";
    "API-12" "api_gateway_rest_api" api::rest_api::RestApiProperty::RequestValidation ["6.2.4"] "the request body is validated against the API's JSON model before the function runs";
    "API-5" "api_gateway_policy" api::policy::ApiPolicyProperty::Policy ["1.3.1", "1.3.2", "7.2.1"] "the resource policy denies every call not arriving through this stack's execute-api endpoint or a configured consumer endpoint, and allows only the configured principals";
    "API-6" "api_gateway_stage" api::stage::StageProperty::Deployment ["6.5.1"] "the stage serves a deployment of the current definition and policy (its description carries their digest)";
    "API-7" "api_gateway_stage" api::stage::StageProperty::AccessLogs ["10.2.1", "10.2.2"] "access logs of every request (request id, caller, source endpoint, status, latency; never the body) to the KMS-encrypted log group";
    "API-8" "api_gateway_stage" api::stage::StageProperty::Tracing ["10.2.1"] "X-Ray tracing of the stage";
    "API-9" "api_gateway_stage" api::stage::StageProperty::Throttling ["6.4.2"] "stage-wide throttling at the configured rate and burst";
    "API-10" "lambda_permission" api::permission::PermissionProperty::Statement ["7.2.1"] "API Gateway may invoke the alias live only for this API's stage (AWS:SourceArn)";
    "API-11" "api_gateway_account" api::account::AccountProperty::CloudWatchRole ["10.2.1"] "API Gateway's account setting names an existing CloudWatch role, so access logs are written";
    "INV-1" "*" paysec_core::property::Common::Tags ["12.5.1"] "tagged with its environment and logical id (inventory)";
}

/// Where a control supports other requirements on one resource because of
/// that resource's role: (control, resource, requirements, why). A
/// bucket's versioning protects audit logs on a log bucket (10.3.2) but
/// only data on the data bucket.
pub const BY_ROLE: &[(&str, &str, &[&str], &str)] = &[
    (
        "S3-2",
        "s3.data",
        &[],
        "the data bucket holds no audit logs: its versioning keeps the data recoverable, which no requirement asks of it",
    ),
    (
        "IAM-2",
        "iam.audit",
        &["7.2.5", "8.2.7"],
        "the audit role is the one a third party (the assessor's account) assumes: 8.2.7's remote access by third parties, enabled only through its trust",
    ),
    (
        "S3-6",
        "s3.data",
        &["3.2.1"],
        "on the data bucket the lifecycle is a retention limit on stored data (old versions expire)",
    ),
];

/// The requirements `control` supports on `resource` (its role's, where
/// [`BY_ROLE`] names one).
pub fn requirements_for(control: &Control, resource: &str) -> &'static [&'static str] {
    BY_ROLE
        .iter()
        .find(|(c, r, _, _)| *c == control.id && *r == resource)
        .map_or(control.requirements, |(_, _, reqs, _)| reqs)
}

/// The controls whose expected value is taken from the configuration,
/// with the settings it comes from (dotted paths in the stack settings,
/// the report's Appendix B). A control not listed expects a value fixed by
/// paysec. A finding names these, so an assessor sees which expectations
/// the owner chose.
pub const CONFIGURED_BY: &[(&str, &[&str])] = &[
    ("KMS-3", &["kms.admin_principals"]),
    ("NET-6", &["network.vpc_cidr"]),
    ("NET-16", &["network.dns_firewall"]),
    ("NET-17", &["network.dns_firewall"]),
    ("NET-18", &["network.dns_firewall"]),
    ("NET-19", &["network.dns_firewall"]),
    ("NET-20", &["network.dns_firewall"]),
    ("LOG-5", &["logs.retention_days"]),
    (
        "S3-6",
        &[
            "s3.log_hot_days",
            "s3.log_retention_days",
            "s3.data_noncurrent_days",
        ],
    ),
    ("S3-8", &["s3.log_retention_days"]),
    (
        "IAM-2",
        &[
            "iam.audit_trusted_account",
            "iam.audit_trusted_role_arn",
            "iam.audit_external_id",
        ],
    ),
    ("RDS-5", &["rds.multi_az"]),
    ("RDS-9", &["rds.backup_retention_days"]),
    ("NET-25", &["network.availability_zones"]),
    ("RDS-27", &["rds.instance_class", "rds.apply_immediately"]),
    (
        "RDS-28",
        &["rds.allocated_storage_gb", "rds.apply_immediately"],
    ),
    ("RDS-29", &["rds.engine_version", "rds.apply_immediately"]),
    ("RDS-30", &["rds.port", "rds.apply_immediately"]),
    ("RDS-12", &["rds.deletion_protection"]),
    ("RDS-14", &["rds.monitoring_interval_seconds"]),
    ("RDS-19", &["rds.master_username"]),
    (
        "RDS-20",
        &["rds.master_password_env", "rds.master_password_file"],
    ),
    ("RDS-21", &["rds.snapshot_restorers"]),
    (
        "RDS-26",
        &["rds.master_password_env", "rds.master_password_file"],
    ),
    ("LAM-7", &["lambda.runtime"]),
    ("LAM-9", &["lambda.package"]),
    ("LAM-11", &["lambda.package"]),
    ("LAM-12", &["lambda.environment"]),
    ("LAM-13", &["lambda.signing_profile"]),
    ("LAM-14", &["lambda.signing_profile"]),
    ("LAM-15", &["lambda.signing_profile"]),
    ("LAM-16", &["lambda.signing_profile"]),
    ("LAM-8", &["lambda.reserved_concurrency"]),
    ("MON-8", &["monitoring.alarm_emails"]),
    ("API-2", &["api.security_policy"]),
    (
        "API-5",
        &["api.allowed_principals", "api.allowed_vpc_endpoints"],
    ),
    ("API-9", &["api.rate_limit", "api.burst_limit"]),
    ("INV-1", &["tags"]),
];

/// The settings `control`'s expected value comes from ([`CONFIGURED_BY`]);
/// empty: fixed by paysec.
pub fn configured_by(control: &str) -> &'static [&'static str] {
    CONFIGURED_BY
        .iter()
        .find(|(c, _)| *c == control)
        .map_or(&[], |(_, keys)| keys)
}

/// Kinds whose read checks paysec's tags (INV-1).
const TAG_CHECKED: &[&str] = &[
    "kms_key",
    "vpc",
    "subnet",
    "route_table",
    "network_acl",
    "security_group",
    "vpc_endpoint_gateway",
    "vpc_endpoint_interface",
    "flow_log",
    "s3_bucket",
    "iam_role",
    "log_group",
    "dns_domain_list",
    "dns_rule_group",
    "dns_rule_group_assoc",
    "api_gateway_rest_api",
    "api_gateway_stage",
    "lambda_code_signing",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    Pass,
    Fail,
    /// The property deliberately does not apply to this resource (the
    /// observed field says why).
    NotApplicable,
    /// The API cannot tell (an emulator gap, a property not readable).
    Unknown,
    /// The control applies, and the configuration (or an account limit)
    /// departs from its baseline on purpose; the observed field names the
    /// setting or the limit. Neither a pass nor a failure: a decision the
    /// report shows for someone to accept.
    Deviation,
}

impl Verdict {
    /// How reports print it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::NotApplicable => "N/A",
            Self::Unknown => "UNKNOWN",
            Self::Deviation => "DEVIATION",
        }
    }
}

/// One control evaluated on one resource.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub control: &'static str,
    pub requirements: &'static [&'static str],
    pub title: &'static str,
    pub resource: String,
    pub kind: String,
    pub physical_id: Option<String>,
    pub verdict: Verdict,
    pub expected: String,
    /// The settings `expected` comes from, where the configuration sets it
    /// ([`CONFIGURED_BY`]); a fixed baseline the configuration cannot
    /// lower ([`below_floor`]) still applies.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub expected_from_configuration: &'static [&'static str],
    pub observed: String,
    /// The calls (their `seq` in [`Report::calls`]) whose answers this
    /// finding was read from: every call its resource's read made.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reads: Vec<usize>,
    /// The shared listings its resource's read took (their calls are
    /// among `reads`).
    #[serde(skip)]
    pub shared_listings: Vec<String>,
}

impl Finding {
    /// `expected` as the reports print it: where the configuration set it,
    /// the settings named (their values: the report's configuration).
    pub fn expected_shown(&self) -> String {
        if self.expected_from_configuration.is_empty() {
            self.expected.clone()
        } else {
            format!(
                "{} (from the configuration: {})",
                self.expected,
                self.expected_from_configuration.join(", ")
            )
        }
    }
}

/// Properties the API cannot report in this setting: (kind, property, why).
pub type Unknowable = (&'static str, &'static str, &'static str);

#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Distinct controls evaluated (a control applies to several
    /// resources: one finding each).
    pub controls: usize,
    /// Findings: one per control and resource.
    pub total: usize,
    pub pass: usize,
    pub fail: usize,
    pub not_applicable: usize,
    pub unknown: usize,
    /// Departures from a baseline by configuration, each with its reason.
    pub deviation: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub summary: Summary,
    /// The AWS calls behind the findings, when they were recorded.
    #[serde(skip)]
    pub calls: Vec<Call>,
    /// The owner prerequisites as read: apart from the findings and
    /// their summary, never changing [`Report::ok`].
    pub prerequisites: Vec<PrerequisiteFinding>,
    /// The network and data-flow diagrams, for the Markdown and HTML
    /// reports.
    #[serde(skip)]
    pub figures: figures::Figures,
}

impl Report {
    /// Keeps the calls the reads made and points each finding at those
    /// of its resource.
    pub fn with_calls(mut self, calls: Vec<Call>) -> Self {
        for p in &mut self.prerequisites {
            p.reads = calls
                .iter()
                .filter(|c| c.resource.as_deref() == Some(p.source.as_str()))
                .map(|c| c.seq)
                .collect();
        }
        for f in &mut self.findings {
            let listings: Vec<String> = f
                .shared_listings
                .iter()
                .map(|l| paysec_core::reading::shared_name(l))
                .collect();
            f.reads = calls
                .iter()
                .filter(|c| {
                    c.resource
                        .as_ref()
                        .is_some_and(|r| *r == f.resource || listings.contains(r))
                })
                .map(|c| c.seq)
                .collect();
        }
        self.calls = calls;
        self
    }

    /// Adds the owner prerequisites as read (before [`Report::with_calls`],
    /// which points them at their calls).
    pub fn with_prerequisites(mut self, prerequisites: Vec<PrerequisiteFinding>) -> Self {
        self.prerequisites = prerequisites;
        self
    }

    /// Adds the diagrams drawn from the same read.
    pub fn with_figures(mut self, figures: figures::Figures) -> Self {
        self.figures = figures;
        self
    }

    pub fn ok(&self) -> bool {
        self.summary.fail == 0
    }

    /// No control fails, and none could not be checked: an UNKNOWN is
    /// not a pass.
    pub fn all_checked_and_passing(&self) -> bool {
        self.ok() && self.summary.unknown == 0
    }

    /// The failing findings.
    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.verdict == Verdict::Fail)
    }
}

/// Joins what a read saw of one property (some are checked per item, such
/// as one association per subnet).
fn joined<'a>(items: impl Iterator<Item = &'a Comparison>) -> Option<(String, String)> {
    let (mut expected, mut actual): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    for d in items {
        expected.push(&d.expected);
        actual.push(&d.actual);
    }
    (!expected.is_empty()).then(|| (expected.join("; "), actual.join("; ")))
}

/// A resource of the whole stack the configuration does not build (a
/// disabled component's): its controls are NOT_APPLICABLE, saying why.
#[derive(Clone, Debug)]
pub struct NotBuilt {
    pub resource: String,
    pub kind: &'static str,
    pub why: String,
    /// Left out by a choice that lowers protection (the DNS firewall):
    /// its controls are deviations, not "not applicable".
    pub deviation: bool,
}

/// Evaluates every control on every resource from a live read of the stack
/// (`Scheduler::plan_up`): a missing resource fails all its controls; a
/// present one fails the controls whose property drifted, quotes the live
/// value of those that matched, and says why a property does not apply or
/// cannot be read. A property the read neither compared nor excused is
/// UNKNOWN, never a silent pass. The controls of what the configuration
/// does not build (`not_built`) are NOT_APPLICABLE with the reason.
pub fn evaluate(
    changes: &[PlannedChange],
    unknowable: &[Unknowable],
    not_built: &[NotBuilt],
) -> Report {
    let mut findings = Vec::new();
    for c in changes {
        let (physical_id, drift) = match &c.planned {
            Planned::Create => (None, None),
            Planned::Adopt { physical_id } | Planned::NoChange { physical_id, .. } => {
                (Some(physical_id.clone()), Some(&[][..]))
            }
            Planned::Repair { physical_id, drift } => {
                (Some(physical_id.clone()), Some(drift.as_slice()))
            }
            Planned::Delete { .. } => continue,
        };
        let applies = |k: &&Control| {
            k.kind == c.kind || (k.kind == "*" && TAG_CHECKED.contains(&c.kind.as_str()))
        };
        for control in CONTROLS.iter().filter(applies) {
            let of_control = |d: &&Comparison| d.property == control.property;
            let (verdict, expected, observed) = match drift {
                None => (Verdict::Fail, "present".to_owned(), "missing".to_owned()),
                Some(d) => {
                    if let Some((e, a)) = joined(d.iter().filter(of_control)) {
                        (Verdict::Fail, e, a)
                    } else if let Some(na) = c
                        .not_applicable
                        .iter()
                        .find(|n| n.property == control.property)
                    {
                        if na.deviation {
                            (
                                Verdict::Deviation,
                                "the control's baseline".to_owned(),
                                na.why.clone(),
                            )
                        } else {
                            (
                                Verdict::NotApplicable,
                                "not applicable".to_owned(),
                                na.why.clone(),
                            )
                        }
                    } else if let Some((e, a)) = joined(c.evidence.iter().filter(of_control)) {
                        // As configured, but maybe below the control's
                        // fixed baseline: then a FAIL saying so.
                        match below_floor(control.id, &a) {
                            Some(floor) => (Verdict::Fail, format!("{floor} (configured: {e})"), a),
                            None => (Verdict::Pass, e, a),
                        }
                    } else {
                        let why = unknowable
                            .iter()
                            .find(|(k, p, _)| *k == c.kind && *p == control.property)
                            .map_or("the read did not report this property", |u| u.2);
                        (Verdict::Unknown, "-".to_owned(), why.to_owned())
                    }
                }
            };
            findings.push(Finding {
                control: control.id,
                requirements: requirements_for(control, c.id.as_str()),
                title: control.title,
                resource: c.id.to_string(),
                kind: c.kind.clone(),
                physical_id: physical_id.clone(),
                verdict,
                expected,
                expected_from_configuration: configured_by(control.id),
                observed,
                reads: Vec::new(),
                shared_listings: c.shared_listings.clone(),
            });
        }
    }
    for n in not_built {
        let applies =
            |k: &&Control| k.kind == n.kind || (k.kind == "*" && TAG_CHECKED.contains(&n.kind));
        for control in CONTROLS.iter().filter(applies) {
            findings.push(Finding {
                control: control.id,
                requirements: requirements_for(control, &n.resource),
                title: control.title,
                resource: n.resource.clone(),
                kind: n.kind.to_owned(),
                physical_id: None,
                verdict: if n.deviation {
                    Verdict::Deviation
                } else {
                    Verdict::NotApplicable
                },
                expected: if n.deviation {
                    "the control's baseline".to_owned()
                } else {
                    "not applicable".to_owned()
                },
                expected_from_configuration: configured_by(control.id),
                observed: n.why.clone(),
                reads: Vec::new(),
                shared_listings: Vec::new(),
            });
        }
    }
    let count = |v| {
        findings
            .iter()
            .filter(|f: &&Finding| f.verdict == v)
            .count()
    };
    let controls: std::collections::BTreeSet<&str> = findings.iter().map(|f| f.control).collect();
    let summary = Summary {
        controls: controls.len(),
        total: findings.len(),
        pass: count(Verdict::Pass),
        fail: count(Verdict::Fail),
        not_applicable: count(Verdict::NotApplicable),
        unknown: count(Verdict::Unknown),
        deviation: count(Verdict::Deviation),
    };
    Report {
        findings,
        summary,
        calls: Vec::new(),
        prerequisites: Vec::new(),
        figures: figures::Figures::default(),
    }
}

/// The controls whose baseline does not move with the configuration: the
/// read compares the live value with the configured one, and a configured
/// value below the baseline is still a FAIL of the control, with the
/// baseline as its expected value. `None`: `observed` meets it (or the
/// control has none).
pub fn below_floor(control: &str, observed: &str) -> Option<&'static str> {
    match control {
        // Multi-AZ: `rds.multi_az = false` is a choice the report must show
        // as the control not met, not as a pass.
        "RDS-5" if observed != "true" => Some("true"),
        // PCI DSS 10.5.1: audit logs kept at least 12 months, whatever
        // `logs.retention_days` allows (90 and up).
        "LOG-5" if observed.parse::<i64>().map_or(true, |d| d < 365) => Some("at least 365 days"),
        // A continuous source's group that stopped receiving (or never
        // did): its read's evidence begins with `paysec_logs::INGESTING`
        // only when an event arrived within the window.
        "LOG-7" if !observed.starts_with("ingesting: ") => Some(
            "an event ingested within the last 24 hours: the source must deliver (see the finding)",
        ),
        // Static parameters (pgaudit's library) apply only at a reboot.
        "RDS-17" if observed.contains("pending-reboot") => Some(
            "the group's parameters applied (in-sync): reboot the instance in a maintenance window (aws rds reboot-db-instance)",
        ),
        // An alarm nobody receives alerts nobody: at least one subscriber
        // must have confirmed (the topic's read begins its evidence with
        // `paysec_monitoring::topic::CONFIRMED` then).
        "MON-8" if !observed.starts_with("confirmed: ") => Some(
            "a confirmed subscriber: set monitoring.alarm_emails and run `paysec up`, then follow the link SNS emails (or `aws sns subscribe --topic-arn ARN --protocol email --notification-endpoint ADDRESS`)",
        ),
        _ => None,
    }
}

/// Where and when the evidence was taken.
pub struct Header<'a> {
    pub environment: &'a str,
    pub account: &'a str,
    pub region: &'a str,
    /// When the reads ended.
    pub at: &'a str,
    pub version: &'a str,
    pub scope: Scope,
}

impl Header<'_> {
    /// The report's scope as (label, value) rows, in the order every
    /// human-readable format prints them (Markdown, HTML, JUnit's
    /// properties); JSON and SARIF carry [`Scope`] itself.
    pub fn scope_rows(&self) -> Vec<(&'static str, String)> {
        let sc = &self.scope;
        vec![
            ("environment", self.environment.to_owned()),
            ("account", self.account.to_owned()),
            ("region", self.region.to_owned()),
            (
                "answered by",
                match &sc.emulator {
                    Some(e) => format!("a local emulator ({e}), not AWS"),
                    // AWS's own endpoints only: any other (a per-service
                    // setting, a proxy) is not AWS answering for itself.
                    None if sc.endpoint.starts_with("AWS's endpoints") => "AWS".to_owned(),
                    None => "the endpoints below, which are not AWS's own".to_owned(),
                },
            ),
            ("endpoint", sc.endpoint.clone()),
            ("caller", sc.caller_arn.clone()),
            ("population", format!("{} resources read live: every resource of environment {} that this configuration builds (found through the ledger's ids or paysec's tags), and nothing else; {} of the whole stack not built (their controls: N/A or deviation, with why)", sc.resources_read, self.environment, sc.not_built)),
            ("started", sc.started.clone()),
            ("ended", self.at.to_owned()),
            ("paysec", format!("{} (commit {})", self.version, sc.commit)),
            ("command line", sc.command_line.clone()),
            ("configuration digest", sc.config_digest.clone()),
            ("key administrators (KMS-3 expects)", sc.key_administrators.clone()),
        ]
    }
}

/// What the report covers and how it was made: enough for someone else to
/// re-perform the examination.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Scope {
    /// Where the calls went: an endpoint URL, or AWS's own endpoints.
    pub endpoint: String,
    /// The key administrators KMS-3 compares the key policies with, and
    /// where they came from (the configuration, or the ledger's record).
    pub key_administrators: String,
    /// The local emulator that answered, if one did (not AWS).
    pub emulator: Option<String>,
    pub caller_arn: String,
    /// When the reads began.
    pub started: String,
    /// The git commit paysec was built from.
    pub commit: String,
    pub command_line: String,
    /// SHA-256 of the stack settings (as canonical JSON: the fingerprint
    /// `up` records).
    pub config_digest: String,
    /// The stack settings themselves, where the expected values of the
    /// configurable controls come from (an audit external id not shown).
    pub configuration: serde_json::Value,
    /// Resources read live.
    pub resources_read: usize,
    /// Resources of the whole stack this configuration does not build.
    pub not_built: usize,
}

/// What no configuration read can show: said in every report.
pub const NOT_COVERED: &str = "This report does not cover: the documentation and interview test steps; what the owner must do and show (docs/pci-mapping.md, owner duties: field-level protection of PAN in the database, what happens to data after authorization, change control, people and access reviews, segmentation testing, incident response, and the rest listed there); the account-wide services outside the stack as controls (CloudTrail, GuardDuty, AWS Config, the account's S3 public access block and the root user are read as owner prerequisites, in their own section, met or not, never counted with the controls); and AWS's own share, which its Attestation of Compliance and responsibility summary (AWS Artifact) cover.";

/// A table cell of text from outside (AWS's answers, names, request ids):
/// nothing in it can end the cell or the row, start a link, code or HTML,
/// or escape the escaping. Line breaks become spaces; `|`, `` ` ``, `[`,
/// `]` and `\` are backslash-escaped (CommonMark shows them as they are);
/// `<`, `>` and `&` become entities.
fn escape_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\r' | '\n' => out.push(' '),
            '\\' | '|' | '`' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

/// A cell holding paysec's own command text in a code span: only `|`
/// needs escaping there (GitHub's tables read it even inside code).
fn code_cell(text: &str) -> String {
    format!("`{}`", text.replace('|', "\\|"))
}

/// The evidence report, Markdown: scope, summary, a section per
/// requirement (each finding with the calls it was read from), and an
/// appendix of those calls with their request ids and the SHA-256 of each
/// answer (the answers themselves: [`responses`]).
/// The evidence as Markdown; `report_name` is the report's file name, beside
/// which its diagrams are written.
pub fn markdown(report: &Report, h: &Header<'_>, report_name: &str) -> String {
    let s = &report.summary;
    let sc = &h.scope;
    let mut rows = h.scope_rows();
    rows.push((
        "API calls",
        format!(
            "{} (Appendix A; answers in the side file)",
            report.calls.len()
        ),
    ));
    rows.push(("result", format!("{} controls, {} findings: {} pass, {} fail, {} not applicable, {} unknown, {} deviation", s.controls, s.total, s.pass, s.fail, s.not_applicable, s.unknown, s.deviation)));
    let mut out = "# paysec configuration evidence\n\n| | |\n|---|---|\n".to_owned();
    for (k, v) in rows {
        out.push_str(&format!("| {k} | {} |\n", escape_cell(&v)));
    }
    out.push_str(&format!("\nEach control was checked against the live resource through the AWS API between the times above; PASS and FAIL quote what AWS returned, and each finding names the calls (Appendix A) it was read from (PCI DSS v4.0.1 requirement numbers). This is configuration evidence for the *examine configuration* test steps: paysec supports these requirements; only an assessment attests compliance. A DEVIATION is a departure from the control's baseline that the configuration chose (or an account limit imposed), with its reason; it is neither a pass nor a failure.\n\n{NOT_COVERED}\n"));
    for req in requirements(report) {
        out.push_str(&format!("\n## {}\n\n| control | resource | physical id | check | verdict | expected | observed | read by calls |\n|---|---|---|---|---|---|---|---|\n", heading(&req)));
        for f in report.findings.iter().filter(|f| under(f, &req)) {
            let reads: Vec<String> = f.reads.iter().map(|n| format!("#{n}")).collect();
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                f.control,
                f.resource,
                escape_cell(f.physical_id.as_deref().unwrap_or("-")),
                f.title,
                f.verdict.label(),
                escape_cell(&f.expected_shown()),
                escape_cell(&f.observed),
                if reads.is_empty() {
                    "-".to_owned()
                } else {
                    reads.join(" ")
                }
            ));
        }
    }
    if !report.prerequisites.is_empty() {
        out.push_str(&format!("\n## Owner prerequisites ({})\n\nAccount-wide services and settings the stack relies on and the account's owner runs: read live, not built or changed by paysec, not counted with the controls above.\n\n| prerequisite | requirement(s) | check | status | observed | when not met | read by calls |\n|---|---|---|---|---|---|---|\n", PrerequisiteSummary::of(&report.prerequisites).line()));
        for p in &report.prerequisites {
            let reads: Vec<String> = p.reads.iter().map(|n| format!("#{n}")).collect();
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                p.id,
                p.requirements.join(", "),
                p.title,
                p.status.label(),
                escape_cell(&p.observed),
                p.fix.map_or_else(|| "-".to_owned(), code_cell),
                if reads.is_empty() {
                    "-".to_owned()
                } else {
                    reads.join(" ")
                }
            ));
        }
    }
    out.push_str(&report.figures.markdown(report_name));
    if !report.calls.is_empty() {
        out.push_str("\n## Appendix A: the API calls read\n\n| # | resource | service | operation | request id | HTTP | answered at | answer SHA-256 |\n|---|---|---|---|---|---|---|---|\n");
        for c in &report.calls {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                c.seq,
                c.resource.as_deref().unwrap_or("-"),
                c.service,
                c.operation,
                escape_cell(c.request_id.as_deref().unwrap_or("-")),
                c.status,
                c.at,
                paysec_core::digest::sha256_hex(c.body.as_bytes())
            ));
        }
    }
    if !sc.configuration.is_null() {
        out.push_str(&format!("\n## Appendix B: the configuration\n\nThe stack settings this run compared the live resources with (their SHA-256 is the configuration digest above); a control whose expected value is configurable takes it from here; where a control also has a fixed baseline (Multi-AZ, 365 days of log retention), a configured value below it fails all the same.\n\n```json\n{}\n```\n", serde_json::to_string_pretty(&sc.configuration).unwrap_or_default()));
    }
    out
}

/// The raw answers behind a report, as one JSON document (the side file
/// `REPORT.responses.json`): every call with its body as AWS sent it
/// (presigned URLs removed), whose SHA-256 the report quotes.
pub fn responses(report: &Report) -> serde_json::Value {
    serde_json::json!({ "calls": report.calls })
}

/// A manifest of report files in `sha256sum` format (`sha256sum -c`
/// checks it): one line per (file name, contents).
pub fn manifest(files: &[(&str, &str)]) -> String {
    files
        .iter()
        .map(|(name, text)| {
            format!(
                "{}  {name}\n",
                paysec_core::digest::sha256_hex(text.as_bytes())
            )
        })
        .collect()
}

/// The evidence as one JSON document: where and when, the summary, every
/// finding (`verify --report FILE.json`; `--output json` prints the same).
pub fn json(report: &Report, h: &Header<'_>) -> serde_json::Value {
    serde_json::json!({
        "environment": h.environment,
        "account": h.account,
        "region": h.region,
        "checked_at": h.at,
        "paysec_version": h.version,
        "scope": h.scope,
        "not_covered": NOT_COVERED,
        "ok": report.ok(),
        "summary": report.summary,
        "findings": report.findings,
        "prerequisites": report.prerequisites,
        "prerequisites_summary": PrerequisiteSummary::of(&report.prerequisites),
        "calls": report.calls.iter().map(|c| serde_json::json!({
            "seq": c.seq,
            "resource": c.resource,
            "service": c.service,
            "operation": c.operation,
            "request_id": c.request_id,
            "status": c.status,
            "at": c.at,
            "body_sha256": paysec_core::digest::sha256_hex(c.body.as_bytes()),
        })).collect::<Vec<_>>(),
    })
}

/// Text for XML character data and attributes.
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters XML 1.0 does not allow.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The evidence as JUnit XML (`verify --report FILE.xml`), which CI test
/// reports (GitLab, Jenkins, GitHub actions' reporters) display: one test
/// suite per control, one test case per resource it applies to; a FAIL is
/// a `<failure>` with the expected and the observed value, NOT_APPLICABLE
/// a `<skipped>` with why, UNKNOWN an `<error>` (not a pass).
pub fn junit(report: &Report, h: &Header<'_>) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"paysec verify {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" timestamp=\"{}\">\n",
        xml_escape(h.environment),
        report.summary.total,
        report.summary.fail,
        report.summary.unknown,
        report.summary.not_applicable,
        xml_escape(h.at)
    );
    // The scope, on every suite (JUnit has no properties above them).
    let mut rows = h.scope_rows();
    rows.push(("not covered", NOT_COVERED.to_owned()));
    let scope: String = rows
        .iter()
        .map(|(name, value)| {
            format!(
                "      <property name=\"{name}\" value=\"{}\"/>\n",
                xml_escape(value)
            )
        })
        .collect();
    for control in CONTROLS {
        let findings: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.control == control.id)
            .collect();
        if findings.is_empty() {
            continue;
        }
        let count = |v: Verdict| findings.iter().filter(|f| f.verdict == v).count();
        out.push_str(&format!(
            "  <testsuite name=\"{} {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n    <properties>\n      <property name=\"pci_dss_v4_0_1\" value=\"{}\"/>\n      <property name=\"account\" value=\"{}\"/>\n      <property name=\"region\" value=\"{}\"/>\n{scope}    </properties>\n",
            control.id,
            xml_escape(control.title),
            findings.len(),
            count(Verdict::Fail),
            count(Verdict::Unknown),
            count(Verdict::NotApplicable) + count(Verdict::Deviation),
            control.requirements.join(", "),
            xml_escape(h.account),
            xml_escape(h.region)
        ));
        for f in findings {
            let name = format!(
                "{} {}",
                f.resource,
                f.physical_id.as_deref().unwrap_or("(not found)")
            );
            out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\">",
                control.id,
                xml_escape(&name)
            ));
            // The finding's own requirements: a resource's role can change
            // them from the suite's (BY_ROLE: versioning on the data bucket).
            let detail = format!(
                "requirements: {}\nexpected: {}\nobserved: {}",
                listed(f.requirements),
                f.expected_shown(),
                f.observed
            );
            match f.verdict {
                Verdict::Pass => {
                    out.push_str(&format!("<system-out>{}</system-out>", xml_escape(&detail)));
                }
                Verdict::Fail => out.push_str(&format!(
                    "<failure message=\"expected {}, observed {}\" type=\"FAIL\">{}</failure>",
                    xml_escape(&f.expected_shown()),
                    xml_escape(&f.observed),
                    xml_escape(&detail)
                )),
                Verdict::NotApplicable => out.push_str(&format!(
                    "<skipped message=\"not applicable: {}\"/>",
                    xml_escape(&f.observed)
                )),
                Verdict::Deviation => out.push_str(&format!(
                    "<skipped message=\"deviation: {}\"/>",
                    xml_escape(&f.observed)
                )),
                Verdict::Unknown => out.push_str(&format!(
                    "<error message=\"unknown: {}\" type=\"UNKNOWN\">{}</error>",
                    xml_escape(&f.observed),
                    xml_escape(&detail)
                )),
            }
            out.push_str("</testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// PCI DSS v4.0.1's twelve principal requirements, by number.
const PRINCIPAL: [(&str, &str); 12] = [
    ("1", "Network security controls"),
    ("2", "Secure configurations"),
    ("3", "Protect stored account data"),
    ("4", "Protect data in transmission"),
    ("5", "Protect from malicious software"),
    ("6", "Secure systems and software"),
    ("7", "Restrict access by need to know"),
    ("8", "Identify users and authenticate access"),
    ("9", "Restrict physical access"),
    ("10", "Log and monitor all access"),
    ("11", "Test security regularly"),
    (
        "12",
        "Support information security with policies and programs",
    ),
];

/// The section of `docs/pci-mapping.md` that lists, per requirement, the
/// controls supporting it: generated from the catalog, the same table
/// `verify --list` prints and the reports group by.
pub fn mapping_markdown() -> String {
    let mut reqs: Vec<&str> = CONTROLS
        .iter()
        .flat_map(|c| c.requirements.iter().copied())
        .collect();
    let key = |r: &&str| {
        r.split('.')
            .map(|p| p.parse::<u32>().unwrap_or(0))
            .collect::<Vec<_>>()
    };
    reqs.sort_by_key(key);
    reqs.dedup();
    let describe = |c: &Control| format!("{} ({}: {})", c.id, c.kind, c.title);
    let mut out = String::from("## Requirements the stack addresses\n");
    let mut principal = "";
    for r in reqs {
        let p = r.split('.').next().unwrap_or(r);
        if p != principal {
            principal = p;
            let title = PRINCIPAL
                .iter()
                .find(|(n, _)| *n == p)
                .map_or("", |(_, t)| t);
            out.push_str(&format!("\n### Requirement {p}: {title}\n\n"));
        }
        let controls: Vec<String> = CONTROLS
            .iter()
            .filter(|c| c.requirements.contains(&r))
            .map(describe)
            .collect();
        out.push_str(&format!("- **{r}**: {}\n", controls.join("; ")));
    }
    let none: Vec<String> = CONTROLS
        .iter()
        .filter(|c| c.requirements.is_empty())
        .map(describe)
        .collect();
    if !none.is_empty() {
        out.push_str(&format!(
            "\n### No PCI DSS requirement\n\nKept for the environment's own sake (availability, operations), reported under their own heading, never counted toward a requirement: {}\n",
            none.join("; ")
        ));
    }
    out.push_str("\n### By resource role\n\nOn these resources a control supports other requirements than above:\n\n");
    for (control, resource, reqs, why) in BY_ROLE {
        out.push_str(&format!(
            "- **{control}** on `{resource}`: {} ({why})\n",
            listed(reqs)
        ));
    }
    out
}

/// The group of the controls that support no PCI DSS requirement (kept
/// for the environment's own sake: availability, operations).
pub const NO_REQUIREMENT: &str = "none";

/// Requirements as a list reads them (`10.3.2, 10.5.1`), or
/// [`NO_REQUIREMENT`] for none.
fn listed<S: AsRef<str>>(requirements: &[S]) -> String {
    if requirements.is_empty() {
        return NO_REQUIREMENT.to_owned();
    }
    requirements
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The requirements covered, in numeric order, then [`NO_REQUIREMENT`]
/// when a control supports none.
pub fn requirements(report: &Report) -> Vec<String> {
    let mut reqs: Vec<String> = report
        .findings
        .iter()
        .flat_map(|f| f.requirements.iter().map(|r| (*r).to_owned()))
        .collect();
    let key = |r: &String| {
        r.split('.')
            .map(|p| p.parse::<u32>().unwrap_or(0))
            .collect::<Vec<_>>()
    };
    reqs.sort_by_key(key);
    reqs.dedup();
    if report.findings.iter().any(|f| f.requirements.is_empty()) {
        reqs.push(NO_REQUIREMENT.to_owned());
    }
    reqs
}

/// Whether `f` belongs under the heading of `req` (one of [`requirements`]).
pub fn under(f: &Finding, req: &str) -> bool {
    if req == NO_REQUIREMENT {
        f.requirements.is_empty()
    } else {
        f.requirements.contains(&req)
    }
}

/// The heading of a requirement's group.
pub fn heading(req: &str) -> String {
    if req == NO_REQUIREMENT {
        "No PCI DSS requirement (operational controls)".to_owned()
    } else {
        format!("Requirement {req}")
    }
}

/// The kinds a control applies to, as `paysec verify --list` and
/// `docs/controls.md` name them.
fn applies_to(c: &Control) -> String {
    if c.kind == "*" {
        TAG_CHECKED.join(", ")
    } else {
        c.kind.to_owned()
    }
}

/// The catalog as text lines, one per control: id, requirement(s), the
/// resources it applies to, what it checks.
/// The catalog as people read it: by service in the catalog's order,
/// then by number (KMS-4 before KMS-5, NET-16 before NET-21), whatever
/// order the lines were added in.
pub fn in_order() -> Vec<&'static Control> {
    let prefix = |id: &str| id.rsplit_once('-').map_or(id, |(p, _)| p).to_owned();
    let number = |id: &str| {
        id.rsplit_once('-')
            .and_then(|(_, n)| n.parse::<u32>().ok())
            .unwrap_or(0)
    };
    let mut services: Vec<String> = Vec::new();
    for c in CONTROLS {
        let p = prefix(c.id);
        if !services.contains(&p) {
            services.push(p);
        }
    }
    let mut all: Vec<&'static Control> = CONTROLS.iter().collect();
    all.sort_by_key(|c| {
        (
            services.iter().position(|s| *s == prefix(c.id)),
            number(c.id),
        )
    });
    all
}

pub fn catalog_lines() -> Vec<String> {
    in_order()
        .into_iter()
        .map(|c| {
            format!(
                "{:<7} {:<22} {:<24} {}",
                c.id,
                c.requirements.join(", "),
                if c.kind == "*" {
                    "(tagged kinds)"
                } else {
                    c.kind
                },
                c.title
            )
        })
        .chain(BY_ROLE.iter().map(|(control, resource, reqs, why)| {
            format!("{control:<7} {:<22} on {resource}: {why}", listed(reqs))
        }))
        .chain(prerequisites::PREREQUISITES.iter().map(|p| {
            format!(
                "{:<7} {:<22} {:<24} {}",
                p.id,
                p.requirements.join(", "),
                "(owner prerequisite)",
                p.title
            )
        }))
        .collect()
}

/// The catalog as JSON: each control with the kinds it applies to.
pub fn catalog_json() -> serde_json::Value {
    serde_json::Value::Array(
        in_order()
            .into_iter()
            .map(|c| {
                serde_json::json!({
                    "id": c.id,
                    "requirements": c.requirements,
                    "applies_to": applies_to(c),
                    "property": c.property,
                    "checks": c.title,
                    "expected_from_configuration": configured_by(c.id),
                    "by_resource": BY_ROLE
                        .iter()
                        .filter(|(id, _, _, _)| *id == c.id)
                        .map(|(_, resource, reqs, why)| serde_json::json!({
                            "resource": resource,
                            "requirements": reqs,
                            "why": why,
                        }))
                        .collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

/// `docs/controls.md`, generated from the catalog (a test keeps the file
/// and the catalog the same).
pub fn catalog_markdown() -> String {
    let mut out = String::from(
        "# Controls\n\n\
         Every property `paysec verify` checks on the live resources, with the PCI DSS\n\
         v4.0.1 requirement(s) it supports. Generated from the catalog in\n\
         `crates/verify` (`paysec verify --list` prints the same); a test fails when\n\
         this file and the catalog differ (`PAYSEC_UPDATE_SNAPSHOTS=1 cargo test -p\n\
         paysec-verify` rewrites it). `docs/pci-mapping.md` groups them by requirement\n\
         and says what stays the account owner's duty. A control supports a\n\
         requirement; only an assessment attests compliance. Where the last column\n\
         names settings, the expected value comes from them (the report carries\n\
         the configuration); elsewhere paysec fixes it.\n\n\
         | control | requirement(s) | applies to | property read | checks | expected value set by |\n\
         |---|---|---|---|---|---|\n",
    );
    for c in in_order() {
        let keys = configured_by(c.id);
        out.push_str(&format!(
            "| {} | {} | {} | `{}` | {} | {} |\n",
            c.id,
            c.requirements.join(", "),
            applies_to(c),
            c.property,
            c.title.replace('|', "\\|"),
            if keys.is_empty() {
                "paysec".to_owned()
            } else {
                keys.iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ));
    }
    out.push_str(&prerequisites::catalog_markdown());
    out
}

#[cfg(test)]
mod tests {
    use paysec_core::{LogicalId, NotApplicable};

    use super::*;

    fn header() -> Header<'static> {
        Header {
            environment: "e",
            account: "a",
            region: "r",
            at: "t",
            version: "v",
            scope: Scope::default(),
        }
    }

    fn change(id: &str, kind: &str, planned: Planned) -> PlannedChange {
        // Every property of the kind read and found as wanted.
        let evidence = CONTROLS
            .iter()
            .filter(|c| c.kind == kind || c.kind == "*")
            .map(|c| Comparison::new(c.property, "wanted", "wanted"))
            .collect();
        PlannedChange {
            id: LogicalId::new(id),
            kind: kind.into(),
            planned,
            evidence,
            not_applicable: Vec::new(),
            shared_listings: Vec::new(),
        }
    }

    #[test]
    fn a_configured_departure_is_a_deviation_and_calls_follow_their_resource() {
        let mut c = change(
            "rds.instance",
            "db_instance",
            Planned::NoChange {
                physical_id: "db".into(),
                properties_read: true,
            },
        );
        c.not_applicable = vec![NotApplicable {
            property: "deletion_protection".into(),
            why: "off by configuration (rds.deletion_protection = false)".into(),
            deviation: true,
        }];
        c.shared_listings = vec!["alarms".into()];
        let call = |seq, resource: &str| Call {
            seq,
            resource: Some(resource.into()),
            service: "rds".into(),
            operation: "DescribeDBInstances".into(),
            request_id: Some(format!("r-{seq}")),
            status: 200,
            at: "t".into(),
            body: "<x/>".into(),
        };
        let report = evaluate(&[c], &[], &[]).with_calls(vec![
            call(1, "rds.instance"),
            call(2, "kms.rds"),
            call(3, "shared:alarms"),
        ]);
        let f = finding(&report, "RDS-12");
        assert_eq!(f.verdict, Verdict::Deviation);
        assert!(f.observed.contains("rds.deletion_protection = false"));
        assert_eq!(f.reads, [1, 3], "its own calls and the listing it took");
        assert_eq!(report.summary.deviation, 1);
        assert!(!report.ok() || report.summary.fail == 0);
        let built = evaluate(
            &[],
            &[],
            &[NotBuilt {
                resource: "network.dns-firewall".into(),
                kind: "dns_rule_group",
                why: "network.dns_firewall = false".into(),
                deviation: true,
            }],
        );
        assert!(built
            .findings
            .iter()
            .all(|f| f.verdict == Verdict::Deviation));
        let md = markdown(&report, &header(), "evidence.md");
        assert!(
            md.contains("| DEVIATION |") && md.contains("| #1 #3 |"),
            "{md}"
        );
        assert!(md.contains("| 3 | shared:alarms | rds | DescribeDBInstances | r-3 | 200 |"));
        assert_eq!(
            manifest(&[("r.md", "abc")]),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  r.md\n"
        );
    }

    #[test]
    fn a_control_maps_by_the_resource_role() {
        let present = |id: &str| {
            change(
                id,
                "s3_bucket",
                Planned::NoChange {
                    physical_id: "b".into(),
                    properties_read: true,
                },
            )
        };
        let report = evaluate(&[present("s3.data"), present("s3.flow-logs")], &[], &[]);
        let versioning = |resource: &str| {
            report
                .findings
                .iter()
                .find(|f| f.control == "S3-2" && f.resource == resource)
                .unwrap()
                .requirements
        };
        assert!(versioning("s3.data").is_empty(), "data, not audit logs");
        assert!(versioning("s3.flow-logs").contains(&"10.3.2"));
        assert!(mapping_markdown().contains("- **S3-2** on `s3.data`: none"));
        assert!(catalog_lines().iter().any(|l| l.contains("on s3.data")));
    }

    #[test]
    fn an_alarm_nobody_confirmed_fails_its_baseline() {
        assert!(below_floor(
            "MON-8",
            "none confirmed (pending confirmation: email:a@b.example)"
        )
        .is_some());
        assert!(below_floor("MON-8", "no subscription").is_some());
        assert_eq!(below_floor("MON-8", "confirmed: email:a@b.example"), None);
        assert!(below_floor("RDS-17", "g (pending-reboot)").is_some());
        assert_eq!(below_floor("RDS-17", "g (in-sync)"), None);
    }

    #[test]
    fn a_log_group_that_stopped_ingesting_fails_log_7() {
        let group = |observed: &str| {
            let mut c = change(
                "logs.flow-logs",
                "log_group",
                Planned::NoChange {
                    physical_id: "g".into(),
                    properties_read: true,
                },
            );
            c.evidence = vec![Comparison::new(
                "ingestion",
                "an event within 24 hours",
                observed,
            )];
            let report = evaluate(&[c], &[], &[]);
            let f = report
                .findings
                .into_iter()
                .find(|f| f.control == "LOG-7")
                .unwrap();
            (f.verdict, f.expected)
        };
        assert_eq!(
            group("ingesting: last event ingested 2026-12-01T05:50:00Z (10 min ago) in stream s").0,
            Verdict::Pass
        );
        for quiet in [
            "stopped: last event ingested 2026-11-29T05:50:00Z (48 h ago) in stream s",
            "nothing ingested yet: the group was created 3 min ago",
        ] {
            let (verdict, expected) = group(quiet);
            assert_eq!(verdict, Verdict::Fail, "{quiet}");
            assert!(expected.contains("within the last 24 hours"), "{expected}");
        }
    }

    #[test]
    fn drift_fails_exactly_the_affected_control() {
        let report = evaluate(
            &[change(
                "kms.rds",
                "kms_key",
                Planned::Repair {
                    physical_id: "k".into(),
                    drift: vec![Comparison::new("rotation", "enabled", "disabled")],
                },
            )],
            &[],
            &[],
        );
        let failed: Vec<_> = report.failures().map(|f| f.control).collect();
        assert_eq!(failed, ["KMS-2"]);
        assert_eq!(report.summary.pass, report.summary.total - 1);
    }

    #[test]
    fn what_a_disabled_component_leaves_out_is_not_applicable_with_the_reason() {
        let why = "not built: the rds component is disabled (rds.enabled = false)";
        let report = evaluate(
            &[],
            &[],
            &[NotBuilt {
                resource: "rds.instance".into(),
                kind: "db_instance",
                why: why.into(),
                deviation: false,
            }],
        );
        let rds: Vec<_> = CONTROLS
            .iter()
            .filter(|c| c.kind == "db_instance")
            .collect();
        assert_eq!(report.summary.total, rds.len());
        assert_eq!(report.summary.not_applicable, rds.len());
        assert!(report.findings.iter().all(|f| f.observed == why));
        assert!(report.ok());
    }

    #[test]
    fn a_missing_resource_fails_all_its_controls() {
        let report = evaluate(&[change("s3.data", "s3_bucket", Planned::Create)], &[], &[]);
        assert!(report.summary.total >= 7);
        assert_eq!(report.summary.fail, report.summary.total);
    }

    #[test]
    fn prerequisites_are_reported_apart_and_never_change_the_verdict() {
        use crate::prerequisites::{PrerequisiteFinding, Status, ROOT_MFA, TRAIL};
        let source = paysec_core::reading::shared_name("account-cloudtrail");
        let report = evaluate(
            &[change(
                "kms.s3",
                "kms_key",
                Planned::NoChange {
                    physical_id: "k".into(),
                    properties_read: true,
                },
            )],
            &[],
            &[],
        )
        .with_prerequisites(vec![
            PrerequisiteFinding::new(
                TRAIL,
                Status::NotMet,
                "DescribeTrails: no trail".into(),
                &source,
            ),
            PrerequisiteFinding::new(
                ROOT_MFA,
                Status::Met,
                "AccountMFAEnabled = 1".into(),
                "shared:account-iam",
            ),
        ])
        .with_calls(vec![Call {
            seq: 1,
            resource: Some(source.clone()),
            service: "cloudtrail".into(),
            operation: "DescribeTrails".into(),
            request_id: Some("r".into()),
            status: 200,
            at: "t".into(),
            body: "{\"trailList\":[]}".into(),
        }]);
        assert!(
            report.all_checked_and_passing(),
            "a prerequisite not met is not a failing control"
        );
        assert_eq!(report.prerequisites[0].reads, vec![1]);
        assert!(report.prerequisites[1].reads.is_empty());
        let md = markdown(&report, &header(), "evidence.md");
        assert!(
            md.contains("## Owner prerequisites (1 met, 1 NOT MET)"),
            "{md}"
        );
        assert!(md.contains("| ACC-1 | 10.2.1, 10.2.2, 10.3.4 |"), "{md}");
        assert!(md.contains("DescribeTrails: no trail"));
        let json = json(&report, &header());
        assert_eq!(json["prerequisites"][0]["status"], "NOT_MET");
        assert_eq!(json["prerequisites_summary"]["not_met"], 1);
        assert_eq!(json["summary"]["fail"], 0);
    }

    #[test]
    fn a_cell_from_outside_cannot_end_the_table_or_start_markup() {
        let hostile =
            "stream|x\r\n| FAKE | row |\n<script>alert(1)</script> [link](http://evil) `code` \\|";
        let cell = escape_cell(hostile);
        assert!(!cell.contains('\n') && !cell.contains('\r'), "{cell}");
        assert!(!cell.contains("<script>"), "{cell}");
        // Every `|` is escaped: none can end the cell.
        let unescaped = cell
            .char_indices()
            .filter(|(i, c)| *c == '|' && !cell[..*i].ends_with('\\'))
            .count();
        assert_eq!(unescaped, 0, "{cell}");
        assert!(cell.contains("\\[link\\]"), "{cell}");
        assert!(cell.contains("\\`code\\`"), "{cell}");
        // A backslash of its own is escaped too, so it cannot undo an escape.
        assert!(cell.contains("\\\\\\|"), "{cell}");
        assert_eq!(code_cell("aws x | y"), "`aws x \\| y`");
    }

    fn finding<'a>(report: &'a Report, control: &str) -> &'a Finding {
        report
            .findings
            .iter()
            .find(|f| f.control == control)
            .unwrap()
    }

    #[test]
    fn unread_properties_are_unknown_not_pass() {
        let mut c = change(
            "lambda.function",
            "lambda_function",
            Planned::NoChange {
                physical_id: "f".into(),
                properties_read: true,
            },
        );
        c.evidence
            .retain(|d| d.property != "dead_letter_queue" && d.property != "tracing");
        let report = evaluate(
            &[c],
            &[("lambda_function", "dead_letter_queue", "emulator gap")],
            &[],
        );
        let dlq = finding(&report, "LAM-2");
        assert_eq!(
            (dlq.verdict, dlq.observed.as_str()),
            (Verdict::Unknown, "emulator gap")
        );
        // Neither compared nor excused: unknown, never a silent pass.
        assert_eq!(finding(&report, "LAM-3").verdict, Verdict::Unknown);
        assert_eq!(finding(&report, "LAM-1").verdict, Verdict::Pass);
        assert_eq!(report.summary.unknown, 2);
    }

    #[test]
    fn a_resource_only_checked_to_exist_proves_no_control() {
        let mut c = change(
            "kms.rds",
            "kms_key",
            Planned::NoChange {
                physical_id: "k".into(),
                properties_read: false,
            },
        );
        c.evidence.clear();
        let report = evaluate(&[c], &[], &[]);
        assert!(report.summary.total > 0);
        assert_eq!(report.summary.unknown, report.summary.total);
    }

    #[test]
    fn each_configured_expectation_names_a_control_and_a_setting_that_exist() {
        // Every optional setting set, so that each is serialised.
        let mut stack = paysec_config::StackSettings::default();
        stack.iam.audit_trusted_account = Some("111122223333".into());
        stack.iam.audit_trusted_role_arn = Some("arn:aws:iam::111122223333:role/a".into());
        stack.iam.audit_external_id = Some("x".repeat(16));
        stack.rds.master_password_env = Some("PW".into());
        stack.rds.master_password_file = Some("pw".into());
        stack.lambda.package = Some("api".into());
        stack.lambda.signing_profile = Some("release".into());
        let settings = serde_json::to_value(stack).unwrap();
        for (control, keys) in CONFIGURED_BY {
            assert!(
                CONTROLS.iter().any(|c| c.id == *control),
                "{control} is not in the catalog"
            );
            for key in *keys {
                let pointer = format!("/{}", key.replace('.', "/"));
                assert!(
                    settings.pointer(&pointer).is_some(),
                    "{control}: {key} is not a stack setting"
                );
            }
        }
        assert_eq!(configured_by("RDS-5"), ["rds.multi_az"]);
        assert!(
            configured_by("RDS-6").is_empty(),
            "encryption is not configurable"
        );
    }

    #[test]
    fn a_configured_value_below_the_baseline_fails_saying_so() {
        let mut c = change(
            "rds.instance",
            "db_instance",
            Planned::NoChange {
                physical_id: "db".into(),
                properties_read: true,
            },
        );
        c.evidence = vec![Comparison::new("multi_az", "false", "false")];
        let mut logs = change(
            "logs.lambda",
            "log_group",
            Planned::NoChange {
                physical_id: "g".into(),
                properties_read: true,
            },
        );
        logs.evidence = vec![Comparison::new("retention_days", "90", "90")];
        let report = evaluate(&[c, logs], &[], &[]);
        let multi_az = finding(&report, "RDS-5");
        assert_eq!(multi_az.verdict, Verdict::Fail);
        assert_eq!(multi_az.expected, "true (configured: false)");
        assert_eq!(multi_az.observed, "false");
        let retention = finding(&report, "LOG-5");
        assert_eq!(retention.verdict, Verdict::Fail);
        assert_eq!(retention.expected, "at least 365 days (configured: 90)");
        assert_eq!(
            multi_az.expected_shown(),
            "true (configured: false) (from the configuration: rds.multi_az)"
        );
        assert!(below_floor("LOG-5", "400").is_none() && below_floor("RDS-5", "true").is_none());
    }

    #[test]
    fn passes_quote_the_live_value_and_exclusions_say_why() {
        let mut c = change(
            "rds.instance",
            "db_instance",
            Planned::NoChange {
                physical_id: "db".into(),
                properties_read: true,
            },
        );
        c.evidence = vec![Comparison::new("multi_az", "true", "true")];
        c.not_applicable = vec![NotApplicable {
            property: "performance_insights".into(),
            why: "db.t3.micro does not support it".into(),
            deviation: false,
        }];
        let report = evaluate(&[c], &[], &[]);
        let multi_az = finding(&report, "RDS-5");
        assert_eq!(
            (
                multi_az.verdict,
                multi_az.expected.as_str(),
                multi_az.observed.as_str()
            ),
            (Verdict::Pass, "true", "true")
        );
        let pi = finding(&report, "RDS-18");
        assert_eq!(pi.verdict, Verdict::NotApplicable);
        assert!(pi.observed.contains("db.t3.micro"));
        assert_eq!(report.summary.not_applicable, 1);
        assert!(report.ok(), "not applicable is not a failure");
    }

    #[test]
    fn junit_escapes_what_xml_reserves_and_counts_each_verdict() {
        let mut c = change(
            "s3.data",
            "s3_bucket",
            Planned::NoChange {
                physical_id: "b".into(),
                properties_read: true,
            },
        );
        c.evidence.retain(|d| d.property != "policy");
        c.evidence
            .push(Comparison::new("policy", "a<b & \"c\"", "x'y\u{1}"));
        let report = evaluate(&[c], &[], &[]);
        let h = Header {
            environment: "e",
            account: "1",
            region: "r",
            at: "t",
            version: "v",
            scope: crate::Scope::default(),
        };
        let xml = junit(&report, &h);
        assert!(xml.contains("a&lt;b &amp; &quot;c&quot;"), "{xml}");
        assert!(!xml.contains('\u{1}'));
        assert_eq!(
            xml.matches("<testcase ").count(),
            report.summary.total,
            "one test case per finding"
        );
    }

    /// The report of one converged data bucket, all read.
    fn data_bucket_report() -> Report {
        evaluate(
            &[change(
                "s3.data",
                "s3_bucket",
                Planned::NoChange {
                    physical_id: "b".into(),
                    properties_read: true,
                },
            )],
            &[],
            &[],
        )
    }

    #[test]
    fn a_junit_case_names_its_own_resource_roles_requirements() {
        let data = data_bucket_report();
        let xml = junit(&data, &header());
        let suite = xml.find("<testsuite name=\"S3-2 ").unwrap();
        let case = &xml[suite..xml[suite..].find("</testsuite>").unwrap() + suite];
        assert!(case.contains("value=\"10.3.2, 10.5.1\""), "{case}");
        assert!(case.contains("requirements: none"), "{case}");
    }

    #[test]
    fn every_format_carries_the_scope_and_what_it_does_not_cover() {
        let report = data_bucket_report();
        let mut h = header();
        h.scope = Scope {
            caller_arn: "arn:aws:sts::111122223333:assumed-role/Auditor/alice".into(),
            command_line: "paysec verify --report r.md".into(),
            configuration: serde_json::json!({ "rds": { "multi_az": true } }),
            ..Scope::default()
        };
        let sarif = serde_json::to_string(&sarif(&report, &h)).unwrap();
        for (format, text) in [
            ("markdown", markdown(&report, &h, "evidence.md")),
            ("json", json(&report, &h).to_string()),
            ("junit", junit(&report, &h)),
            (
                "html",
                html(
                    &report,
                    &h,
                    &Picture {
                        nodes: Vec::new(),
                        edges: Vec::new(),
                    },
                ),
            ),
            ("sarif", sarif),
        ] {
            assert!(
                text.contains("assumed-role/Auditor/alice")
                    && text.contains("This report does not cover")
                    && text.contains("paysec verify --report r.md"),
                "{format}: {text}"
            );
        }
        assert!(markdown(&report, &h, "evidence.md").contains("\"multi_az\": true"));
    }

    #[test]
    fn docs_controls_md_is_the_catalog() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/controls.md");
        let generated = catalog_markdown();
        if std::env::var_os("PAYSEC_UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == generated,
            "docs/controls.md differs from the catalog; regenerate it with PAYSEC_UPDATE_SNAPSHOTS=1 cargo test -p paysec-verify"
        );
    }

    #[test]
    fn docs_pci_mapping_lists_the_catalog_by_requirement() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/pci-mapping.md");
        let on_disk = std::fs::read_to_string(&path).unwrap();
        let (start, end) = (
            on_disk.find("## Requirements the stack addresses").unwrap(),
            on_disk
                .find("## What remains the account owner's duty")
                .unwrap(),
        );
        let generated = format!("{}\n", mapping_markdown());
        if std::env::var_os("PAYSEC_UPDATE_SNAPSHOTS").is_some() {
            let updated = format!("{}{generated}{}", &on_disk[..start], &on_disk[end..]);
            std::fs::write(&path, updated).unwrap();
            return;
        }
        assert!(
            on_disk[start..end] == generated,
            "docs/pci-mapping.md's requirement list differs from the catalog; regenerate it with PAYSEC_UPDATE_SNAPSHOTS=1 cargo test -p paysec-verify"
        );
    }

    #[test]
    fn every_control_id_is_unique_and_requirements_sort_numerically() {
        let mut ids: Vec<_> = CONTROLS.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), CONTROLS.len());
        let report = evaluate(
            &[change(
                "kms.rds",
                "kms_key",
                Planned::NoChange {
                    physical_id: "k".into(),
                    properties_read: true,
                },
            )],
            &[],
            &[],
        );
        let reqs = requirements(&report);
        assert_eq!(reqs.first().map(String::as_str), Some("3.5.1"));
        assert!(markdown(&report, &header(), "evidence.md").contains("## Requirement 3.6.1"));
    }
}

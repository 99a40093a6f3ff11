//! The control catalog: each control a property of one kind of resource,
//! the PCI DSS v4.0.1 requirements it supports (by the resource's role
//! where that differs), the settings that set its expected value, and the
//! catalog's own listings (`verify --list`, `docs/controls.md`,
//! `docs/pci-mapping.md`). A new control is one line of `controls!`.

use serde::Serialize;

use crate::prerequisites;

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
pub(crate) const TAG_CHECKED: &[&str] = &[
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

/// PCI DSS v4.0.1's twelve principal requirements, by number.
pub(crate) const PRINCIPAL: [(&str, &str); 12] = [
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
pub(crate) fn listed<S: AsRef<str>>(requirements: &[S]) -> String {
    if requirements.is_empty() {
        return NO_REQUIREMENT.to_owned();
    }
    requirements
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ")
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
pub(crate) fn applies_to(c: &Control) -> String {
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

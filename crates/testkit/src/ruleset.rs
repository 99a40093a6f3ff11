//! Which of AWS's rules the proxy enforces, and their figures ([`Rules`]:
//! `Rules::aws()` for the suite, `Rules::off()` to see the emulator bare),
//! with the account defaults they model. Plain settings: the rules
//! themselves live in [`crate::rules`] and a module per service area.

use std::time::Duration;

/// Which rules are on, and their figures.
#[derive(Clone, Debug, PartialEq)]
pub struct Rules {
    pub principals_exist: bool,
    pub client_tokens: bool,
    /// How long a new EC2 resource is invisible to calls naming it.
    pub ec2_visibility: Duration,
    /// The account's Lambda concurrency limit (`None`: not modelled).
    pub lambda_concurrency_limit: Option<i32>,
    /// The engine versions RDS offers, the first of each major its default
    /// (`None`: not modelled).
    pub rds_engine_versions: Option<Vec<String>>,
    /// How long a role's new permissions are unseen by Lambda (IAM: "a few
    /// seconds").
    pub iam_permission_propagation: Duration,
    /// Service Quotas' answers: (service, quota code, value). moto knows
    /// only VPC quotas, at their defaults.
    pub service_quotas: Vec<(&'static str, &'static str, f64)>,
    /// AWS's defaults, GetAWSDefaultServiceQuota's answers; a quota among
    /// them but not in `service_quotas` was never adjusted, and
    /// GetServiceQuota answers it `NoSuchResourceException`, as AWS does.
    /// Empty: not modelled.
    pub default_quotas: Vec<(&'static str, &'static str, f64)>,
    /// RDS parameters' apply types, (name, `dynamic`|`static`); empty:
    /// not modelled.
    pub rds_parameter_types: Vec<(&'static str, &'static str)>,
    /// Interface endpoints with private DNS need the VPC's DNS support and
    /// DNS hostnames on.
    pub endpoint_private_dns: bool,
    /// An endpoint to a partner's PrivateLink service stays
    /// `pendingAcceptance` until its provider accepts
    /// ([`crate::endpoint_acceptance`]).
    pub endpoint_acceptance: bool,
    /// DescribeNetworkInterfaces lists the interfaces Lambda and RDS make
    /// for a VPC function and a DB instance ([`crate::managed_interfaces`]).
    pub managed_interfaces: bool,
    /// A DNS Firewall association with mutation protection on cannot be
    /// disassociated (LocalStack lets it go).
    pub dns_firewall_mutation_protection: bool,
    /// How long a DNS Firewall association's create or update stays
    /// `UPDATING` ([`crate::dns_firewall`]), with the names' trailing dots
    /// under the same switch (`dns_firewall_mutation_protection`).
    pub dns_association_update_time: Duration,
    /// How long after a DB parameter group's create or change an instance
    /// made with it comes up `pending-reboot` ([`crate::rds_reboot`]);
    /// zero: not modelled.
    pub rds_parameter_settle: Duration,
    /// A bucket is served from its own region only: another region's
    /// request is `301 PermanentRedirect` ([`crate::s3_regions`]).
    pub s3_bucket_regions: bool,
    /// A request naming another account as its bucket's expected owner is
    /// refused `403 AccessDenied` ([`crate::s3_owner`]).
    pub s3_expected_owner: bool,
    /// Bucket-policy Deny statements with conditions are judged as AWS
    /// judges them on object calls ([`crate::s3_policy`]).
    pub s3_policy_conditions: bool,
    /// KMS tag values: at most 256 characters of letters, digits, spaces
    /// and `_.:/=+-@` (moto takes any).
    pub kms_tag_values: bool,
    /// A capacity change without `ApplyImmediately` waits for the
    /// maintenance window, shown as pending; an immediate change takes the
    /// pending ones along ([`crate::rds_pending`]).
    pub rds_pending_modifications: bool,
    /// How long an instance optimizes its storage after a storage change
    /// (`storage-optimization`, refusing another), under
    /// `rds_pending_modifications`. AWS: 6 hours or more.
    pub rds_storage_optimization: Duration,
    /// An encrypted DB snapshot cannot be made public (moto lets it).
    pub encrypted_snapshots_private: bool,
    /// STS AssumeRole needs the role to exist and its trust policy to allow
    /// the caller, with the external id it requires (moto hands out a
    /// session of any role ARN): [`crate::trust`].
    pub assume_role_trust: bool,
    /// SNS subscriptions that need confirmation (email, email-json, http,
    /// https) stay pending until confirmed with their token (moto confirms
    /// them at once); the endpoints listed are recipients who follow the
    /// link at once. `None`: not modelled.
    pub confirming_recipients: Option<Vec<String>>,
    /// How long a Lambda code or configuration update stays in progress
    /// ([`crate::lambda_releases`]); zero: not modelled.
    pub lambda_update_time: Duration,
    /// PublishVersion checks `CodeSha256`, an alias holds its version
    /// against DeleteFunction ([`crate::lambda_releases`]).
    pub lambda_release_rules: bool,
    /// API Gateway's REST API rules ([`crate::apigateway`]).
    pub apigateway_rules: bool,
    /// Signer's jobs, Lambda's code signing configurations and their
    /// policy, answered by the proxy ([`crate::code_signing`]).
    pub code_signing: bool,
    /// How long a signing job reads `InProgress`.
    pub signing_time: Duration,
    /// API Gateway's per-account control-plane rates: (operation, one
    /// call per this long), refused with `TooManyRequestsException`
    /// beyond ([`crate::apigateway`]); empty: not modelled.
    pub apigateway_rate_limits: Vec<(&'static str, Duration)>,
}

/// AWS's default quotas for what the preflight reads (Service Quotas
/// console): VPCs per region, interface endpoints per VPC, customer
/// managed KMS keys.
pub const DEFAULT_QUOTAS: &[(&str, &str, f64)] = &[
    ("vpc", "L-F678F1CE", 5.0),
    ("vpc", "L-29B6F2EB", 50.0),
    ("kms", "L-C2F1777E", 100_000.0),
];

/// Apply types RDS states for PostgreSQL 16 and 17 (DescribeDBParameters
/// of a `postgres16` group): the ones paysec sets, and static ones a
/// change could add.
pub const POSTGRES_PARAMETER_TYPES: &[(&str, &str)] = &[
    ("rds.force_ssl", "dynamic"),
    ("log_connections", "dynamic"),
    ("log_disconnections", "dynamic"),
    ("log_min_duration_statement", "dynamic"),
    ("ssl_min_protocol_version", "dynamic"),
    ("pgaudit.log", "dynamic"),
    ("shared_preload_libraries", "static"),
    ("max_connections", "static"),
    ("rds.logical_replication", "static"),
];

impl Rules {
    /// Every rule on, with figures short enough for a test suite: a new
    /// account's Lambda limit, PostgreSQL minors offered in late 2026
    /// (16.6 and older retired), a second of EC2 lag, five of IAM.
    pub fn aws() -> Self {
        Self {
            principals_exist: true,
            client_tokens: true,
            ec2_visibility: Duration::from_millis(1000),
            lambda_concurrency_limit: Some(10),
            rds_engine_versions: Some(
                ["16.9", "16.8", "16.10", "16.11", "17.5", "17.4", "17.6"]
                    .map(str::to_owned)
                    .to_vec(),
            ),
            iam_permission_propagation: Duration::from_secs(5),
            // The suite runs many environments in one account at once: its
            // VPC quota is raised, as such an account's would be. The
            // others were never adjusted: GetServiceQuota has nothing for
            // them, and their defaults come from GetAWSDefaultServiceQuota.
            service_quotas: vec![("vpc", "L-F678F1CE", 1000.0)],
            default_quotas: DEFAULT_QUOTAS.to_vec(),
            rds_parameter_types: POSTGRES_PARAMETER_TYPES.to_vec(),
            endpoint_private_dns: true,
            endpoint_acceptance: true,
            managed_interfaces: true,
            dns_firewall_mutation_protection: true,
            dns_association_update_time: Duration::from_millis(1500),
            s3_bucket_regions: true,
            s3_expected_owner: true,
            s3_policy_conditions: true,
            kms_tag_values: true,
            // RDS's word: "wait 5 minutes".
            rds_parameter_settle: Duration::from_secs(300),
            encrypted_snapshots_private: true,
            rds_pending_modifications: true,
            // Longer than any test: the suite sees the state, not its end.
            rds_storage_optimization: Duration::from_secs(3600),
            assume_role_trust: true,
            confirming_recipients: Some(Vec::new()),
            lambda_update_time: Duration::from_millis(1500),
            lambda_release_rules: true,
            apigateway_rules: true,
            code_signing: true,
            signing_time: Duration::from_millis(300),
            apigateway_rate_limits: API_RATE_LIMITS
                .iter()
                .map(|(op, every)| (*op, *every / 10))
                .collect(),
        }
    }
}

impl Rules {
    /// Every rule off: the emulator as it is, but for `service_quotas`
    /// and what a caller turns on.
    pub fn off() -> Self {
        Self {
            principals_exist: false,
            client_tokens: false,
            ec2_visibility: Duration::ZERO,
            lambda_concurrency_limit: None,
            rds_engine_versions: None,
            iam_permission_propagation: Duration::ZERO,
            service_quotas: Vec::new(),
            default_quotas: Vec::new(),
            rds_parameter_types: Vec::new(),
            endpoint_private_dns: false,
            endpoint_acceptance: false,
            managed_interfaces: false,
            dns_firewall_mutation_protection: false,
            dns_association_update_time: Duration::ZERO,
            s3_bucket_regions: false,
            s3_expected_owner: false,
            s3_policy_conditions: false,
            kms_tag_values: false,
            rds_parameter_settle: Duration::ZERO,
            encrypted_snapshots_private: false,
            rds_pending_modifications: false,
            rds_storage_optimization: Duration::ZERO,
            assume_role_trust: false,
            confirming_recipients: None,
            lambda_update_time: Duration::ZERO,
            lambda_release_rules: false,
            apigateway_rules: false,
            code_signing: false,
            signing_time: Duration::ZERO,
            apigateway_rate_limits: Vec::new(),
        }
    }
}

/// The least unreserved concurrency Lambda keeps for an account with this
/// limit (PutFunctionConcurrency: 100, or the whole limit when it is
/// smaller, as on a new account).
pub fn lambda_minimum_unreserved(limit: i32) -> i32 {
    limit.min(100)
}

/// API Gateway's per-account rates for the management operations paysec
/// calls that have one of their own (the others share the account's
/// 10 requests per second, which the SDK's retries absorb).
pub const API_RATE_LIMITS: &[(&str, Duration)] = &[
    ("CreateRestApi", Duration::from_secs(3)),
    ("CreateDeployment", Duration::from_secs(5)),
    ("DeleteRestApi", Duration::from_secs(30)),
    ("UpdateAccount", Duration::from_secs(20)),
];

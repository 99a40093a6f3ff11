//! The stack's optional components and which resources go with each. The
//! database (`[rds] enabled`) and the payment function (`[lambda]
//! enabled`) can each be left out, with everything that only serves them;
//! the cross-account audit role is built only when an auditor is trusted
//! (`iam.audit_trusted_account` or `iam.audit_trusted_role_arn`), so no
//! role trusts anyone by default; the DNS firewall (`[network]
//! dns_firewall`) can be left out where the endpoint lacks it (moto); the
//! private API entry (`[api] enabled`) goes with the function. The rest (network, buckets, flow logs,
//! the Logs and S3 keys, the alarm topic) is the stack's core and always
//! built. The table is `docs/components.md`.

use paysec_config::Config;

use crate::ids;

/// A part of the stack that can be switched off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Component {
    Rds,
    Lambda,
    AuditRole,
    DnsFirewall,
    Api,
    /// The release bucket and the code signing configuration.
    CodeSigning,
}

impl Component {
    pub const ALL: [Component; 6] = [
        Component::Rds,
        Component::Lambda,
        Component::AuditRole,
        Component::DnsFirewall,
        Component::Api,
        Component::CodeSigning,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rds => "rds",
            Self::Lambda => "lambda",
            Self::AuditRole => "audit role",
            Self::DnsFirewall => "dns firewall",
            Self::Api => "api",
            Self::CodeSigning => "code signing",
        }
    }

    /// How the config file leaves it out, as the user would write it.
    pub fn switched_off(self) -> &'static str {
        match self {
            Self::Rds => "rds.enabled = false",
            Self::Lambda => "lambda.enabled = false",
            Self::AuditRole => {
                "neither iam.audit_trusted_account nor iam.audit_trusted_role_arn set"
            }
            Self::DnsFirewall => "network.dns_firewall = false",
            // The API calls the function: without it there is nothing to enter.
            Self::Api => "api.enabled = false, or lambda.enabled = false",
            Self::CodeSigning => "lambda.signing_profile unset, or lambda.enabled = false",
        }
    }

    /// Whether `config` builds it.
    pub fn enabled_in(self, config: &Config) -> bool {
        match self {
            Self::Rds => config.stack.rds.enabled,
            Self::Lambda => config.stack.lambda.enabled,
            Self::AuditRole => {
                config.stack.iam.audit_trusted_account.is_some()
                    || config.stack.iam.audit_trusted_role_arn.is_some()
            }
            Self::DnsFirewall => config.stack.network.dns_firewall,
            Self::Api => config.stack.api.enabled && config.stack.lambda.enabled,
            Self::CodeSigning => {
                config.stack.lambda.signing_profile.is_some() && config.stack.lambda.enabled
            }
        }
    }

    /// Whether the component guards the rest of the stack, so that
    /// switching it off lowers protection (a deviation in `verify`),
    /// rather than removing something with its own controls (no database:
    /// nothing of it to protect).
    pub fn protects_the_rest(self) -> bool {
        matches!(self, Self::DnsFirewall)
    }

    /// Why a resource of this component is not planned (verify's
    /// NOT_APPLICABLE reason).
    pub fn left_out_because(self) -> String {
        match self {
            Self::AuditRole => format!(
                "not built: no auditor is trusted ({}; set one to build the audit role)",
                self.switched_off()
            ),
            _ => format!(
                "not built: the {} component is disabled ({})",
                self.as_str(),
                self.switched_off()
            ),
        }
    }
}

/// The component a resource serves; `None` for the core. The encryption
/// alarm watches both the database's and the function's KMS errors, and
/// the security group rules connect both: they stay while either is built
/// (the blueprint builds them from what is enabled).
pub fn of(id: &str) -> Option<Component> {
    const RDS: &[&str] = &[
        ids::KMS_RDS,
        ids::ROLE_RDS_MONITORING,
        ids::LOG_RDS_POSTGRESQL,
        ids::LOG_RDS_UPGRADE,
        ids::LOG_RDS_OS_METRICS,
        ids::SG_DB,
        // The RDS API endpoint and its group serve only the database.
        ids::SG_ENDPOINTS,
        ids::ENDPOINT_RDS,
        ids::DB_PARAMETERS,
        ids::DB_SUBNETS,
        ids::DB,
        ids::FILTER_DB_CONNECTION_FAILURES,
        ids::FILTER_DB_AUTH_FAILURES,
        ids::FILTER_DB_ENCRYPTION,
        ids::ALARM_DB_CONNECTIONS,
        ids::ALARM_AUTH,
    ];
    const LAMBDA: &[&str] = &[
        ids::KMS_LAMBDA,
        ids::ROLE_LAMBDA,
        ids::POLICY_LAMBDA,
        ids::LOG_LAMBDA,
        ids::SG_LAMBDA,
        // Only the function sends traces.
        ids::SG_XRAY,
        ids::ENDPOINT_XRAY,
        ids::DLQ,
        ids::FUNCTION,
        ids::FILTER_LAMBDA_KMS,
        ids::ALARM_LAMBDA_ERRORS,
        ids::ALARM_DLQ,
    ];
    const API: &[&str] = &[
        ids::API_ACCOUNT,
        ids::API,
        ids::API_POLICY,
        ids::API_STAGE,
        ids::API_PERMISSION,
        ids::LOG_API_ACCESS,
        ids::SG_API,
        ids::ENDPOINT_API,
        ids::FILTER_API_THROTTLED,
        ids::ALARM_API_5XX,
        ids::ALARM_API_THROTTLED,
    ];
    if [ids::BUCKET_RELEASES, ids::CODE_SIGNING].contains(&id) {
        return Some(Component::CodeSigning);
    }
    if RDS.contains(&id) {
        Some(Component::Rds)
    } else if LAMBDA.contains(&id) {
        Some(Component::Lambda)
    } else if id == ids::SG_SERVICES
        || id.starts_with(ids::ENDPOINT_SERVICE_PREFIX)
        || id.starts_with(ids::ENDPOINT_PARTNER_PREFIX)
    {
        // The ways out of what the code calls serve only the function.
        Some(Component::Lambda)
    } else if API.contains(&id) {
        Some(Component::Api)
    } else if id == ids::ROLE_AUDIT || ids::AUDIT_POLICIES.iter().any(|(p, _)| *p == id) {
        Some(Component::AuditRole)
    } else if [
        ids::DNS_ALLOWED,
        ids::DNS_EVERYTHING,
        ids::DNS_FIREWALL,
        ids::DNS_FIREWALL_VPC,
    ]
    .contains(&id)
    {
        Some(Component::DnsFirewall)
    } else {
        None
    }
}

/// The components a resource serves: its own, or both for what connects
/// them (the security group rules, the encryption alarm), none for the
/// core.
pub fn serving(id: &str) -> Vec<Component> {
    match of(id) {
        Some(c) => vec![c],
        None if [ids::SG_RULES, ids::ALARM_ENCRYPTION].contains(&id) => {
            vec![Component::Rds, Component::Lambda]
        }
        None => Vec::new(),
    }
}

/// Whether `config` builds the resource `id`.
pub fn builds(config: &Config, id: &str) -> bool {
    of(id).is_none_or(|c| c.enabled_in(config))
}

/// `config` with the database, the function and the DNS firewall on: what the whole
/// stack's graph (`crate::whole_blueprint`) is built from, so a resource
/// the ledger records is known whatever the switches. The audit role has
/// no switch to turn on (its trusted principal is not paysec's to invent):
/// the whole blueprint keeps its node regardless.
pub fn everything(config: &Config) -> Config {
    let mut all = config.clone();
    all.stack.rds.enabled = true;
    all.stack.lambda.enabled = true;
    all.stack.network.dns_firewall = true;
    all.stack.api.enabled = true;
    all
}

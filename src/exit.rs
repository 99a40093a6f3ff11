//! Exit codes (documented in docs/exit-codes.md) and the failures that
//! map to them.

use paysec_aws::SetupError;
use paysec_config::ConfigError;
use paysec_core::naming::NameError;
use paysec_core::LedgerError;

pub const OK: u8 = 0;
pub const INTERNAL: u8 = 1;
pub const USAGE: u8 = 2;
pub const AWS_FAILED: u8 = 3;
pub const AWS_UNREACHABLE: u8 = 4;
pub const LEDGER: u8 = 5;
pub const CONTROLS_FAILING: u8 = 6;
pub const CONFIRMATION: u8 = 7;
/// `plan --detailed-exitcode`: the plan has changes (create, adopt, repair
/// or delete). Terraform uses 2, which paysec gives usage errors.
pub const PLAN_HAS_CHANGES: u8 = 8;
/// `up --plan FILE`: the saved plan no longer applies (the environment,
/// the ledger, the settings or paysec changed since it was made).
pub const PLAN_STALE: u8 = 9;
/// `verify`: no control fails, but some could not be checked (UNKNOWN)
/// and `--allow-unknown` was not given.
pub const CONTROLS_UNKNOWN: u8 = 10;
pub const INTERRUPTED: u8 = 130;

/// Why a command did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Name(#[from] NameError),
    #[error("{0}")]
    Usage(String),
    /// The function's package cannot be deployed.
    #[error(transparent)]
    Package(#[from] paysec_lambda::PackageError),
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("{0}")]
    Confirmation(String),
    /// A preflight check failed: `up` would fail minutes in.
    #[error("{0}")]
    Preflight(String),
    /// One or more resources failed; details were reported per resource.
    #[error("{0}")]
    Run(String),
    /// AWS refused a call for want of a permission: the line names the
    /// operation, AWS's words (the action and resource) and the statement
    /// of `paysec iam-policy` that grants it.
    #[error("{0}")]
    AccessDenied(String),
    /// `up --plan FILE` refused: the plan no longer applies.
    #[error("{0}")]
    PlanStale(String),
    #[error("interrupted; the ledger is saved. Run the same command again to resume")]
    Interrupted,
    #[error("internal error: {0}")]
    Internal(String),
}

impl Failure {
    pub fn code(&self) -> u8 {
        match self {
            Self::Config(_) | Self::Name(_) | Self::Usage(_) | Self::Package(_) => USAGE,
            Self::Setup(SetupError::Other { .. }) => AWS_FAILED,
            Self::Setup(SetupError::KeyAdministrator { .. }) => USAGE,
            Self::Setup(SetupError::PlainHttpEndpoint { .. }) => USAGE,
            Self::Setup(SetupError::BadEndpoint { .. }) => USAGE,
            Self::Setup(_) => AWS_UNREACHABLE,
            Self::Ledger(_) => LEDGER,
            Self::Confirmation(_) => CONFIRMATION,
            Self::Preflight(_) => USAGE,
            Self::Run(_) => AWS_FAILED,
            Self::AccessDenied(_) => AWS_UNREACHABLE,
            Self::PlanStale(_) => PLAN_STALE,
            Self::Interrupted => INTERRUPTED,
            Self::Internal(_) => INTERNAL,
        }
    }

    /// A stable machine-readable name for `--output json`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Config(ConfigError::Name(_)) | Self::Name(_) => "invalid_name",
            Self::Config(_) => "config",
            Self::Usage(_) => "usage",
            Self::Package(_) => "package",
            Self::Setup(SetupError::NoRegion) => "no_region",
            Self::Setup(SetupError::BadRegion { .. }) => "bad_region",
            Self::Setup(SetupError::Credentials { .. }) => "credentials",
            Self::Setup(SetupError::Unreachable { .. }) => "unreachable",
            Self::Setup(SetupError::Other { .. }) => "aws",
            Self::Setup(SetupError::RoleRefused { .. }) => "role_refused",
            Self::Setup(SetupError::KeyAdministrator { .. }) => "key_administrator",
            Self::Setup(SetupError::PlainHttpEndpoint { .. }) => "insecure_endpoint",
            Self::Setup(SetupError::BadEndpoint { .. }) => "bad_endpoint",
            Self::Ledger(LedgerError::Locked { .. } | LedgerError::RemoteLocked { .. }) => "locked",
            Self::Ledger(LedgerError::Conflict { .. }) => "ledger_conflict",
            Self::Ledger(_) => "ledger",
            Self::Confirmation(_) => "confirmation_required",
            Self::Preflight(_) => "preflight",
            Self::Run(_) => "run_failed",
            Self::AccessDenied(_) => "access_denied",
            Self::PlanStale(_) => "plan_stale",
            Self::Interrupted => "interrupted",
            Self::Internal(_) => "internal",
        }
    }
}

#[cfg(test)]
mod tests {
    /// Every `kind` the code can give is listed in `docs/json.md` (and
    /// the list names no other): scripts match on them.
    #[test]
    fn json_md_lists_every_error_kind() {
        let source = include_str!("exit.rs");
        let body = &source[source.find("pub fn kind").unwrap()..];
        let body = &body[..body.find("\n    }\n").unwrap()];
        let mut kinds: Vec<&str> = body
            .split("=> \"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap())
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        let doc = include_str!("../docs/json.md");
        let listed = &doc[doc.find("`kind`: ").unwrap()..];
        let listed = &listed[..listed.find("(see").unwrap()];
        let mut documented: Vec<&str> = listed
            .trim_start_matches("`kind`: ")
            .split('`')
            .skip(1)
            .step_by(2)
            .collect();
        documented.sort_unstable();
        assert_eq!(documented, kinds);
    }
}

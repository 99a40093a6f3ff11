//! Range checks the type system cannot express: the run settings' own, each
//! section's in turn, and the helpers the sections check their keys with.

use paysec_core::naming::EnvName;

use crate::{Config, ConfigError, RunSettings, StackSettings};

impl Config {
    /// Range checks the type system cannot express: each part checks its
    /// own keys.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.run.validate()?;
        self.stack.validate()
    }
}

/// A setting that cannot be: its key, its value and why.
pub(crate) fn invalid(
    key: &'static str,
    value: &dyn std::fmt::Display,
    reason: &str,
) -> ConfigError {
    ConfigError::Invalid {
        key,
        value: value.to_string(),
        reason: reason.to_owned(),
    }
}

/// Readiness budgets: a zero budget would fail every wait at once, and
/// more than a day hides a stuck resource.
pub(crate) fn within_a_day(key: &'static str, minutes: u64) -> Result<(), ConfigError> {
    if !(1..=1440).contains(&minutes) {
        return Err(invalid(key, &minutes, "must be 1 to 1440 minutes"));
    }
    Ok(())
}

impl RunSettings {
    /// Range checks of the run settings the type system cannot express.
    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(env) = &self.environment_suffix {
            EnvName::parse(env)?;
        }
        if let Some(owner) = &self.ledger_owner {
            if owner.len() != 12 || !owner.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(
                    "ledger_owner",
                    owner,
                    "an AWS account id, 12 digits (the account that owns the shared ledger's bucket)",
                ));
            }
        }
        for (name, access) in &self.environments {
            EnvName::parse(name)?;
            if let Some(arn) = &access.role_arn {
                if !is_role_arn(arn) {
                    return Err(invalid(
                        "environments.*.role_arn",
                        arn,
                        "an IAM role's ARN, arn:aws:iam::ACCOUNT:role/NAME",
                    ));
                }
            }
            if let Some(why) = access
                .role_session_name
                .as_deref()
                .and_then(session_name_problem)
            {
                return Err(invalid(
                    "environments.*.role_session_name",
                    &format!(
                        "{name}: {}",
                        access.role_session_name.as_deref().unwrap_or_default()
                    ),
                    why,
                ));
            }
            if let Some(why) = access.external_id.as_deref().and_then(external_id_problem) {
                // The id itself is a shared secret of sorts: not repeated.
                return Err(invalid("environments.*.external_id", name, why));
            }
            if access.role_arn.is_none()
                && (access.external_id.is_some() || access.role_session_name.is_some())
            {
                return Err(invalid(
                    "environments.*.external_id",
                    name,
                    "external_id and role_session_name go with a role_arn",
                ));
            }
        }
        if !(1..=64).contains(&self.concurrency) {
            return Err(invalid(
                "concurrency",
                &self.concurrency,
                "must be between 1 and 64",
            ));
        }
        if !(1..=100).contains(&self.calls_per_service) {
            return Err(invalid(
                "calls_per_service",
                &self.calls_per_service,
                "must be between 1 and 100",
            ));
        }
        if !(1..=25).contains(&self.max_attempts) {
            return Err(invalid(
                "max_attempts",
                &self.max_attempts,
                "must be between 1 and 25",
            ));
        }
        Ok(())
    }
}

impl StackSettings {
    /// Range checks of what is built, section by section.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if let Some(k) = self.tags.keys().find(|k| k.starts_with("paysec:")) {
            return Err(invalid(
                "tags",
                k,
                "tag keys starting with `paysec:` are reserved",
            ));
        }
        self.kms.validate()?;
        self.logs.validate()?;
        self.iam.validate()?;
        self.monitoring.validate()?;
        self.network.validate()?;
        self.s3.validate()?;
        self.rds.validate()?;
        self.lambda.validate()?;
        self.api.validate()
    }
}

/// `arn:<partition>:iam::<12 digits>:role/<path/name>`.
pub fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", partition, "iam", "", account, resource]
        if !partition.is_empty()
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && resource.strip_prefix("role/").is_some_and(|n| !n.is_empty()))
}

/// Why STS would refuse `name` as an AssumeRole `RoleSessionName` (2 to
/// 64 characters of letters, digits and `_+=,.@-`), if it would.
pub fn session_name_problem(name: &str) -> Option<&'static str> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    (!(2..=64).contains(&name.len()) || !name.chars().all(allowed)).then_some(
        "must be 2 to 64 characters of letters, digits and _+=,.@- (STS RoleSessionName)",
    )
}

/// Why STS would refuse `id` as an AssumeRole `ExternalId` (2 to 1224
/// characters of letters, digits and `_+=,.@:/-`), if it would.
pub fn external_id_problem(id: &str) -> Option<&'static str> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c);
    (!(2..=1224).contains(&id.len()) || !id.chars().all(allowed))
        .then_some("must be 2 to 1224 characters of letters, digits and _+=,.@:/- (STS ExternalId)")
}

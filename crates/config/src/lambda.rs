//! `[lambda]`: the payment function, the team's code in it (package,
//! handler, runtime, architecture, environment), what it may read
//! (Secrets Manager secrets, its database user) and how many releases
//! stay in Lambda. Every key's default and check live here.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{invalid, within_a_day, ConfigError};

/// A runtime Lambda offers for .zip packages, with the day Lambda
/// deprecates it (Lambda runtimes page, "Supported runtimes"; after it,
/// no security patches and, a month or two later, no new functions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Runtime {
    pub id: &'static str,
    /// Deprecation date, `YYYY-MM-DD`.
    pub deprecated_on: &'static str,
}

/// The runtimes paysec accepts: Lambda's supported .zip runtimes that are
/// not deprecated at this release (Amazon Linux 2023 based; the Amazon
/// Linux 2 ones end in 2026). Checked against today's date too, so an
/// old paysec refuses a runtime deprecated since it was built.
pub const RUNTIMES: &[Runtime] = &[
    Runtime {
        id: "python3.12",
        deprecated_on: "2028-10-31",
    },
    Runtime {
        id: "python3.13",
        deprecated_on: "2029-06-30",
    },
    Runtime {
        id: "python3.14",
        deprecated_on: "2029-06-30",
    },
    Runtime {
        id: "nodejs22.x",
        deprecated_on: "2027-04-30",
    },
    Runtime {
        id: "nodejs24.x",
        deprecated_on: "2028-04-30",
    },
    Runtime {
        id: "java21",
        deprecated_on: "2029-06-30",
    },
    Runtime {
        id: "java25",
        deprecated_on: "2029-06-30",
    },
    Runtime {
        id: "dotnet10",
        deprecated_on: "2028-11-14",
    },
    Runtime {
        id: "ruby3.3",
        deprecated_on: "2027-03-31",
    },
    Runtime {
        id: "ruby3.4",
        deprecated_on: "2028-03-31",
    },
    Runtime {
        id: "provided.al2023",
        deprecated_on: "2029-06-30",
    },
];

/// Whether `runtime` is offered and not deprecated on `today`
/// (`YYYY-MM-DD`); `Err` says which to use instead.
/// The example handler's entry point (`lambda/payment/handler.py`).
pub const EXAMPLE_HANDLER: &str = "handler.handler";

pub fn runtime_problem(runtime: &str, today: &str) -> Option<String> {
    let offered = || {
        RUNTIMES
            .iter()
            .filter(|r| r.deprecated_on > today)
            .map(|r| r.id)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match RUNTIMES.iter().find(|r| r.id == runtime) {
        None => Some(format!(
            "not a runtime Lambda offers for .zip packages that paysec accepts (deprecated ones are refused); use one of {}",
            offered()
        )),
        Some(r) if r.deprecated_on <= today => Some(format!(
            "Lambda deprecated it on {}; use one of {}",
            r.deprecated_on,
            offered()
        )),
        Some(_) => None,
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Lambda {
    /// Build the payment function and what only serves it (its key, role,
    /// policy, log group, queue, security groups, X-Ray endpoint, filter
    /// and alarms): `false` leaves them out, as `rds.enabled` does.
    pub enabled: bool,
    /// The team's code: a directory (zipped reproducibly: sorted entries,
    /// fixed timestamps and modes) or a ready `.zip`, relative to the
    /// current directory. Unset: paysec's example handler.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<PathBuf>,
    /// The entry point (`module.function` for Python, `file.function` for
    /// Node.js and Ruby, `Class::method` for Java, anything for a custom
    /// runtime's `bootstrap`).
    pub handler: String,
    /// A runtime Lambda offers and does not deprecate ([`RUNTIMES`]).
    pub runtime: String,
    /// `x86_64` or `arm64`.
    pub architecture: String,
    /// Variables for the code, encrypted with the stack's Lambda key. A
    /// name or value that looks like a secret is refused: put the secret
    /// in Secrets Manager, list it in `secrets` and pass its ARN.
    pub environment: BTreeMap<String, String>,
    /// Secrets Manager secrets (ARNs) the function may read, and no other.
    pub secrets: Vec<String>,
    /// The database user the function connects as with IAM authentication
    /// (`rds-db:connect` for this user only).
    pub db_user: String,
    /// Releases kept in Lambda (older versions are deleted; never the one
    /// in service nor the rollback target).
    pub keep_versions: usize,
    /// An AWS Signer signing profile of the account (platform
    /// `AWSLambda-SHA384-ECDSA`, status Active): the function gets a code
    /// signing configuration that refuses unsigned code (Enforce), and
    /// every release is signed with the profile before it ships. Unset:
    /// no code signing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_profile: Option<String>,
    pub memory_mb: i32,
    pub timeout_seconds: i32,
    /// Concurrency reserved for the function (a ceiling on what it can
    /// use and a floor others cannot take), or `"none"`. A new account's
    /// limit (10) leaves no room: paysec then warns and skips it.
    pub reserved_concurrency: ReservedConcurrency,
    /// Minutes to wait for the function to become Active (VPC setup).
    pub wait_minutes: u64,
}

impl Default for Lambda {
    fn default() -> Self {
        Self {
            enabled: true,
            package: None,
            handler: EXAMPLE_HANDLER.into(),
            runtime: "python3.13".into(),
            architecture: "x86_64".into(),
            environment: BTreeMap::new(),
            secrets: Vec::new(),
            db_user: "app".into(),
            keep_versions: 10,
            signing_profile: None,
            memory_mb: 256,
            timeout_seconds: 30,
            reserved_concurrency: ReservedConcurrency::Executions(10),
            wait_minutes: 15,
        }
    }
}

/// Variables Lambda's runtimes set (Lambda's "Defined runtime environment
/// variables"), which a function cannot.
const RESERVED: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    "TZ",
];

/// Words in a variable's name that say it holds a secret.
const SECRET_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "PRIVATE_KEY",
    "PRIVATEKEY",
    "API_KEY",
    "APIKEY",
    "ACCESS_KEY",
    "CREDENTIAL",
    "SIGNING_KEY",
];

/// Why `name = value` looks like a secret, if it does. A secret-sounding
/// name may hold an ARN (of the secret, in Secrets Manager); a value is a
/// secret whatever its name when it is key material, an AWS access key,
/// a bearer token or a card number.
pub fn secret_problem(name: &str, value: &str) -> Option<String> {
    let upper = name.to_ascii_uppercase();
    let is_arn = value.starts_with("arn:");
    if let Some(word) = SECRET_WORDS.iter().find(|w| upper.contains(*w)) {
        if !is_arn {
            return Some(format!(
                "its name says it holds a secret ({word}) and its value is not an ARN"
            ));
        }
    }
    if value.contains("-----BEGIN") {
        return Some("its value holds key material (a PEM block)".into());
    }
    let bytes = value.as_bytes();
    let access_key = bytes.windows(20).any(|w| {
        (w.starts_with(b"AKIA") || w.starts_with(b"ASIA"))
            && w[4..]
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    });
    if access_key {
        return Some("its value holds an AWS access key id".into());
    }
    if value.starts_with("eyJ") && value.matches('.').count() == 2 {
        return Some("its value is a bearer token (a JWT)".into());
    }
    if let Some((_, rest)) = value.split_once("://") {
        let authority = rest.split('/').next().unwrap_or("");
        if authority.contains('@') && authority.split('@').next().is_some_and(|u| u.contains(':')) {
            return Some("its value is a URL with a password in it".into());
        }
    }
    if holds_card_number(value) {
        return Some("its value holds what looks like a card number (PAN)".into());
    }
    None
}

/// A run of 13 to 19 digits (spaces and dashes between them allowed)
/// passing the Luhn check: how a primary account number looks.
fn holds_card_number(value: &str) -> bool {
    let mut digits: Vec<u32> = Vec::new();
    let mut runs: Vec<Vec<u32>> = Vec::new();
    for c in value.chars() {
        match c {
            '0'..='9' => digits.push(c as u32 - '0' as u32),
            ' ' | '-' if !digits.is_empty() => {}
            _ => runs.push(std::mem::take(&mut digits)),
        }
    }
    runs.push(digits);
    runs.iter().any(|run| {
        (13..=19).contains(&run.len()) && {
            let sum: u32 = run
                .iter()
                .rev()
                .enumerate()
                .map(|(i, &d)| {
                    if i % 2 == 1 {
                        if d * 2 > 9 {
                            d * 2 - 9
                        } else {
                            d * 2
                        }
                    } else {
                        d
                    }
                })
                .sum();
            sum.is_multiple_of(10)
        }
    })
}

/// Why `name` cannot be a Signer signing profile's name, if it cannot
/// (Signer API reference, SigningProfile: 2 to 64 of `[a-zA-Z0-9_]`).
pub fn signing_profile_problem(name: &str) -> Option<&'static str> {
    let ok = (2..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    (!ok).then_some(
        "a Signer signing profile's name: 2 to 64 letters, digits and underscores (`aws signer list-signing-profiles` lists the account's)",
    )
}

/// `lambda.reserved_concurrency`: a number of executions, or `"none"`
/// (validated: any other word is refused).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ReservedConcurrency {
    Executions(i32),
    Word(String),
}

impl ReservedConcurrency {
    /// The executions to reserve; `None` for `"none"`.
    pub fn executions(&self) -> Option<i32> {
        match self {
            Self::Executions(n) => Some(*n),
            Self::Word(_) => None,
        }
    }
}

impl Lambda {
    /// Range checks of `[lambda]` the type system cannot express.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let today = time::OffsetDateTime::now_utc().date().to_string();
        if let Some(why) = runtime_problem(&self.runtime, &today) {
            return Err(invalid("lambda.runtime", &self.runtime, &why));
        }
        if self.package.is_none() && !self.runtime.starts_with("python") {
            return Err(invalid(
                "lambda.runtime",
                &self.runtime,
                "the example handler is Python: set lambda.package to your code for another runtime",
            ));
        }
        if self.handler.is_empty() || self.handler.len() > 128 {
            return Err(invalid(
                "lambda.handler",
                &self.handler,
                "must be 1 to 128 characters (Lambda's limit)",
            ));
        }
        if !matches!(self.architecture.as_str(), "x86_64" | "arm64") {
            return Err(invalid(
                "lambda.architecture",
                &self.architecture,
                "must be x86_64 or arm64",
            ));
        }
        self.validate_environment()?;
        for arn in &self.secrets {
            let parts: Vec<&str> = arn.splitn(7, ':').collect();
            let ok = matches!(parts.as_slice(), ["arn", p, "secretsmanager", region, account, "secret", name]
                if !p.is_empty() && !region.is_empty() && account.len() == 12
                    && account.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty() && !name.contains('*'));
            if !ok {
                return Err(invalid(
                    "lambda.secrets",
                    arn,
                    "must be Secrets Manager secret ARNs (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-xxxxxx), no wildcards",
                ));
            }
        }
        if !self
            .db_user
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase())
            || !self
                .db_user
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            || self.db_user.len() > 63
            || paysec_core::naming::is_default_db_user(&self.db_user)
        {
            return Err(invalid(
                "lambda.db_user",
                &self.db_user,
                "a PostgreSQL user name of lowercase letters, digits and _, starting with a letter, at most 63, not a default administrator's",
            ));
        }
        if !(2..=100).contains(&self.keep_versions) {
            return Err(invalid(
                "lambda.keep_versions",
                &self.keep_versions,
                "must be 2 to 100 (the release in service and one to roll back to, at least)",
            ));
        }
        if let Some(profile) = &self.signing_profile {
            if let Some(why) = signing_profile_problem(profile) {
                return Err(invalid("lambda.signing_profile", profile, why));
            }
        }
        if !(128..=10240).contains(&self.memory_mb) {
            return Err(invalid(
                "lambda.memory_mb",
                &self.memory_mb,
                "must be 128 to 10240",
            ));
        }
        if !(1..=900).contains(&self.timeout_seconds) {
            return Err(invalid(
                "lambda.timeout_seconds",
                &self.timeout_seconds,
                "must be 1 to 900",
            ));
        }
        match &self.reserved_concurrency {
            ReservedConcurrency::Executions(n) if !(1..=1000).contains(n) => {
                return Err(invalid(
                    "lambda.reserved_concurrency",
                    n,
                    "must be 1 to 1000, or \"none\"",
                ));
            }
            ReservedConcurrency::Word(w) if w != "none" => {
                return Err(invalid(
                    "lambda.reserved_concurrency",
                    w,
                    "must be 1 to 1000, or \"none\"",
                ));
            }
            _ => {}
        }
        within_a_day("lambda.wait_minutes", self.wait_minutes)?;
        Ok(())
    }

    /// `[lambda] environment`: names Lambda accepts, none of paysec's own
    /// (`PAYSEC_*`) or Lambda's reserved ones, at most 4 KB in all, and
    /// nothing that looks like a secret.
    fn validate_environment(&self) -> Result<(), ConfigError> {
        let mut size = 0;
        for (name, value) in &self.environment {
            size += name.len() + value.len();
            let well_formed = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && name.len() >= 2
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !well_formed {
                return Err(invalid(
                    "lambda.environment",
                    name,
                    "a variable name is a letter then letters, digits or _ (Lambda's rule)",
                ));
            }
            if name.starts_with("PAYSEC_")
                || name.starts_with("AWS_")
                || RESERVED.contains(&name.as_str())
            {
                return Err(invalid(
                    "lambda.environment",
                    name,
                    "reserved: Lambda sets AWS_* and its runtime variables, paysec sets PAYSEC_*",
                ));
            }
            if let Some(why) = secret_problem(name, value) {
                return Err(invalid(
                    "lambda.environment",
                    name,
                    &format!("{why}: a secret in a variable is readable by anyone who can read the function's configuration. Put it in Secrets Manager, list its ARN in lambda.secrets and pass the ARN (for example {name}_ARN)"),
                ));
            }
        }
        if size > 4096 {
            return Err(invalid(
                "lambda.environment",
                &format!("{size} bytes"),
                "Lambda takes at most 4 KB of variables in all",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes_are_refused_when_unknown_or_deprecated() {
        assert_eq!(runtime_problem("python3.13", "2026-12-07"), None);
        assert_eq!(runtime_problem("provided.al2023", "2026-12-07"), None);
        let old = runtime_problem("python3.9", "2026-12-07").unwrap();
        assert!(old.contains("python3.14"), "{old}");
        let past = runtime_problem("nodejs22.x", "2027-05-01").unwrap();
        assert!(past.contains("deprecated it on 2027-04-30"), "{past}");
    }

    #[test]
    fn secrets_in_variables_are_recognised() {
        // An access key id's shape, put together here so that no file
        // holds one.
        let key_id = format!("{}{}", "AKIA", "Z".repeat(16));
        assert!(secret_problem("KEY_ID", &key_id).is_some(), "{key_id}");
        for (name, value) in [
            ("DB_PASSWORD", "hunter2"),
            ("stripe_api_key", "sk_live_x"),
            ("CONFIG", "-----BEGIN PRIVATE KEY-----"),
            ("SESSION", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"),
            ("UPSTREAM", "https://user:pw@example.com/x"),
            ("TEST_CARD", "4111 1111 1111 1111"),
            ("ORDER_REF", "ref-4111111111111111"),
        ] {
            assert!(secret_problem(name, value).is_some(), "{name}={value}");
        }
        for (name, value) in [
            (
                "DB_PASSWORD_ARN",
                "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf",
            ),
            ("LOG_LEVEL", "DEBUG"),
            ("UPSTREAM", "https://api.example.com/v1"),
            ("ORDER_LIMIT", "1234567890123"),
            ("RETRIES", "3"),
        ] {
            assert_eq!(secret_problem(name, value), None, "{name}={value}");
        }
    }
}

//! Every AWS name paysec uses, derived from the environment suffix, and the
//! AWS naming rules they must satisfy. The suffix is validated up front
//! against every name it feeds, so a bad suffix fails before any AWS call.

use std::fmt;

/// A validated environment suffix, e.g. `dev-001`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnvName(String);

/// Why an environment suffix was refused. Each message names the AWS rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("environment name is empty; pass --env NAME, set environment_suffix in the config, or PAYSEC_ENV")]
    Empty,
    #[error(
        "environment name {name:?} must start with a lowercase letter (RDS identifiers require it)"
    )]
    BadStart { name: String },
    #[error("environment name {name:?} contains {ch:?}; use only lowercase letters, digits and single hyphens (S3 bucket names and RDS identifiers allow nothing else)")]
    BadChar { name: String, ch: char },
    #[error("environment name {name:?} must not end with a hyphen or contain two in a row (RDS identifiers forbid it)")]
    BadHyphen { name: String },
    #[error("environment name {name:?} is {len} characters, too long: the {what} `{example}` would exceed {limit} characters; use at most {max} characters")]
    TooLong {
        name: String,
        len: usize,
        what: &'static str,
        example: String,
        limit: usize,
        max: usize,
    },
}

/// A 12-digit stand-in for the account id when validating names before any
/// AWS call: account ids are always exactly 12 digits.
const ACCOUNT_PLACEHOLDER: &str = "000000000000";

impl EnvName {
    pub fn parse(name: &str) -> Result<Self, NameError> {
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        let owned = name.to_owned();
        if !name.as_bytes()[0].is_ascii_lowercase() {
            if let Some(ch) = name
                .chars()
                .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
            {
                return Err(NameError::BadChar { name: owned, ch });
            }
            return Err(NameError::BadStart { name: owned });
        }
        if let Some(ch) = name
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(NameError::BadChar { name: owned, ch });
        }
        if name.ends_with('-') || name.contains("--") {
            return Err(NameError::BadHyphen { name: owned });
        }
        let candidate = Self(owned);
        let names = Names::new(&candidate);
        for (what, value, limit) in names.length_checked(ACCOUNT_PLACEHOLDER) {
            if value.len() > limit {
                let overhead = value.len() - name.len();
                return Err(NameError::TooLong {
                    name: name.to_owned(),
                    len: name.len(),
                    what,
                    example: value,
                    limit,
                    max: limit - overhead,
                });
            }
        }
        Ok(candidate)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EnvName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The names of everything in one environment. One place, so the key
/// policies, IAM policies and resources agree on them.
#[derive(Clone, Debug)]
pub struct Names {
    prefix: String,
}

impl Names {
    pub fn new(env: &EnvName) -> Self {
        Self {
            prefix: format!("paysec-{}", env.as_str()),
        }
    }

    /// `paysec-<env>`: the stem of every name.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// KMS alias for the key of one purpose (`rds`, `s3`, `logs`, `lambda`).
    pub fn kms_alias(&self, purpose: &str) -> String {
        format!("alias/{}-{purpose}", self.prefix)
    }

    /// S3 bucket names are global, so they carry the account id.
    pub fn bucket(&self, purpose: &str, account: &str) -> String {
        format!("{}-{purpose}-{account}", self.prefix)
    }

    pub fn role(&self, purpose: &str) -> String {
        format!("{}-{purpose}", self.prefix)
    }

    pub fn policy(&self, purpose: &str) -> String {
        format!("{}-{purpose}", self.prefix)
    }

    pub fn db_instance(&self) -> String {
        format!("{}-db", self.prefix)
    }

    /// The DB parameter group of `family` (`postgres16`).
    pub fn db_parameter_group(&self, family: &str) -> String {
        format!("{}-{family}", self.prefix)
    }

    pub fn db_subnet_group(&self) -> String {
        format!("{}-db-subnets", self.prefix)
    }

    pub fn lambda_function(&self) -> String {
        format!("{}-payment", self.prefix)
    }

    pub fn lambda_log_group(&self) -> String {
        format!("/aws/lambda/{}", self.lambda_function())
    }

    pub fn flow_log_group(&self) -> String {
        format!("/aws/vpc-flow-logs/{}", self.prefix)
    }

    /// RDS names its export groups itself: `/aws/rds/instance/<id>/<log>`.
    pub fn rds_log_group(&self, log: &str) -> String {
        format!("/aws/rds/instance/{}/{log}", self.db_instance())
    }

    pub fn queue(&self, purpose: &str) -> String {
        format!("{}-{purpose}", self.prefix)
    }

    pub fn topic(&self, purpose: &str) -> String {
        format!("{}-{purpose}", self.prefix)
    }

    /// The private REST API's name.
    pub fn api(&self) -> String {
        format!("{}-api", self.prefix)
    }

    /// The REST API's access log group.
    pub fn api_access_log_group(&self) -> String {
        format!("/aws/apigateway/{}-api-access", self.prefix)
    }

    /// Every derived name whose length AWS caps, with the cap.
    fn length_checked(&self, account: &str) -> Vec<(&'static str, String, usize)> {
        vec![
            // S3: 3-63 characters; the longest bucket purpose is used here.
            ("S3 bucket name", self.bucket("accesslogs", account), 63),
            // IAM role names: 64 characters.
            ("IAM role name", self.role("rds-monitoring"), 64),
            ("IAM role name", self.role("audit-crossaccount"), 64),
            // RDS instance identifiers: 63 characters.
            ("RDS instance identifier", self.db_instance(), 63),
            // Lambda function names: 64 characters.
            ("Lambda function name", self.lambda_function(), 64),
            ("SQS queue name", self.queue("payment-dlq"), 80),
            ("KMS alias", self.kms_alias("lambda"), 256),
        ]
    }
}

/// Database engines' default administrator names (PCI DSS 2.2.2: vendor
/// default accounts are not used), compared without case. One list for
/// the configuration, which refuses them, and the live check (RDS-19),
/// which fails on them: a name the one lets through the other passes.
pub const DEFAULT_DB_USERS: &[&str] = &[
    "postgres",
    "admin",
    "root",
    "rdsadmin",
    "master",
    "administrator",
    "sa",
];

/// Whether `name` is one of [`DEFAULT_DB_USERS`], in any case.
pub fn is_default_db_user(name: &str) -> bool {
    DEFAULT_DB_USERS
        .iter()
        .any(|default| default.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_default_users_are_refused_whatever_the_case() {
        for name in [
            "postgres", "Postgres", "ADMIN", "root", "rdsadmin", "master", "Sa",
        ] {
            assert!(super::is_default_db_user(name), "{name}");
        }
        assert!(!super::is_default_db_user("payadmin"));
    }

    #[test]
    fn accepts_the_usual_examples() {
        for ok in ["dev-001", "prod-abc", "a", "team7-x9"] {
            assert!(EnvName::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_uppercase_naming_the_character() {
        assert_eq!(
            EnvName::parse("Dev").unwrap_err(),
            NameError::BadChar {
                name: "Dev".into(),
                ch: 'D'
            }
        );
        assert!(matches!(
            EnvName::parse("dev_001"),
            Err(NameError::BadChar { ch: '_', .. })
        ));
        assert!(matches!(
            EnvName::parse("dev.1"),
            Err(NameError::BadChar { ch: '.', .. })
        ));
    }

    #[test]
    fn rejects_digit_start_hyphen_rules_and_empty() {
        assert!(matches!(
            EnvName::parse("1dev"),
            Err(NameError::BadStart { .. })
        ));
        assert!(matches!(
            EnvName::parse("dev-"),
            Err(NameError::BadHyphen { .. })
        ));
        assert!(matches!(
            EnvName::parse("dev--1"),
            Err(NameError::BadHyphen { .. })
        ));
        assert_eq!(EnvName::parse(""), Err(NameError::Empty));
    }

    #[test]
    fn length_limit_comes_from_the_bucket_name() {
        // paysec-<env>-accesslogs-<12 digits> must fit in 63 characters.
        let max = 63 - "paysec--accesslogs-000000000000".len();
        assert!(EnvName::parse(&"a".repeat(max)).is_ok());
        let err = EnvName::parse(&"a".repeat(max + 1)).unwrap_err();
        match err {
            NameError::TooLong {
                what,
                limit,
                max: m,
                ..
            } => {
                assert_eq!(what, "S3 bucket name");
                assert_eq!(limit, 63);
                assert_eq!(m, max);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn names_follow_the_prefix() {
        let names = Names::new(&EnvName::parse("dev-001").unwrap());
        assert_eq!(names.kms_alias("rds"), "alias/paysec-dev-001-rds");
        assert_eq!(
            names.bucket("flowlogs", "123456789012"),
            "paysec-dev-001-flowlogs-123456789012"
        );
        assert_eq!(
            names.lambda_log_group(),
            "/aws/lambda/paysec-dev-001-payment"
        );
        assert_eq!(
            names.rds_log_group("postgresql"),
            "/aws/rds/instance/paysec-dev-001-db/postgresql"
        );
    }
}

//! paysec's settings: the TOML config file (the equivalent of the Terraform setup's
//! `terraform.tfvars`), then `PAYSEC_*` environment variables, then
//! command-line flags (applied by the binary). Unknown keys, wrong types and
//! out-of-range values are errors that name the key.

use std::collections::BTreeMap;
use std::path::PathBuf;

use paysec_core::naming::NameError;

mod api;
mod display;
pub mod egress;
mod env_vars;
mod file;
mod iam;
mod kms;
mod lambda;
mod load;
mod logs;
mod monitoring;
mod network;
mod rds;
mod s3;
mod validate;
pub use api::{Api, SECURITY_POLICIES};
pub use iam::Iam;
pub use kms::Kms;
pub use lambda::{
    runtime_problem, secret_problem, Lambda, ReservedConcurrency, Runtime, EXAMPLE_HANDLER,
    RUNTIMES,
};
pub use logs::Logs;
pub use monitoring::Monitoring;
pub use network::Network;
pub use rds::Rds;
pub use s3::S3;
use serde::{Deserialize, Serialize};

use file::File;
pub use validate::{external_id_problem, is_role_arn, session_name_problem};
use validate::{invalid, within_a_day};

/// The config file read when `--config` is not given, if it exists.
pub const DEFAULT_FILE: &str = "paysec.toml";

/// Retention periods CloudWatch Logs accepts, in days.
pub const LOG_RETENTION_DAYS: &[i32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// Everything paysec is told: how it runs and what it builds, kept apart so
/// that what is built can be fingerprinted whole ([`Config::desired_state`]).
/// The file keeps both at its top level, as a Terraform setup's `terraform.tfvars`
/// does ([`File`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "File", into = "File")]
pub struct Config {
    pub run: RunSettings,
    pub stack: StackSettings,
    /// What an environment with sections of its own builds
    /// (`[environments.NAME.rds]`...): the file's settings with its
    /// sections' keys over them, then the `PAYSEC_*` variables. Made and
    /// validated by [`Config::load`]; [`Config::stack_for`] reads it.
    environment_stacks: BTreeMap<String, StackSettings>,
}

/// How paysec runs: where, as whom, how fast, and where it keeps its
/// ledgers. None of it changes a resource.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSettings {
    /// Suffix of every name, e.g. `dev-001` (`--env`, `PAYSEC_ENV`).
    pub environment_suffix: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    /// Accept a plain `http://` endpoint on another host (an emulator in a
    /// CI service container); without it paysec refuses one, since every
    /// signed request would cross the network unencrypted.
    pub allow_http_endpoint: bool,
    /// Where ledgers live: a directory or `s3://BUCKET[/PREFIX]`
    /// (`--ledger`, `PAYSEC_LEDGER`); `ledger_dir` when unset.
    pub ledger: Option<String>,
    /// The ledgers' directory, when `ledger` is unset.
    pub ledger_dir: PathBuf,
    /// The account that must own a shared ledger's bucket
    /// (`PAYSEC_LEDGER_OWNER`); the caller's account when unset.
    pub ledger_owner: Option<String>,
    /// How many resource operations run at once.
    pub concurrency: usize,
    /// SDK attempts per AWS call.
    pub max_attempts: u32,
    /// Requests in flight to one AWS service at once, across everything the
    /// process runs (a fleet of environments included).
    pub calls_per_service: usize,
    /// Where each named environment runs, when not in the caller's own
    /// account and region (`[environments.NAME]`): one account per
    /// environment, as a landing zone gives them.
    pub environments: BTreeMap<String, EnvironmentAccess>,
}

/// What is built: every setting the stack's desired state comes from.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StackSettings {
    /// Extra tags on everything (`paysec:` keys are reserved).
    pub tags: BTreeMap<String, String>,
    pub kms: Kms,
    pub logs: Logs,
    pub iam: Iam,
    pub network: Network,
    pub s3: S3,
    pub rds: Rds,
    pub lambda: Lambda,
    pub api: Api,
    pub monitoring: Monitoring,
}

/// An environment's account and region: a role paysec assumes there (the
/// SDK's assume-role provider, refreshed for runs longer than a session),
/// and the region, each falling back to the run's own; and the sections
/// whose keys it sets for itself (`[environments.prod.rds]`), over the
/// file's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "toml::Table", into = "toml::Table")]
pub struct EnvironmentAccess {
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
    pub role_session_name: Option<String>,
    pub region: Option<String>,
    /// Section name -> the keys this environment sets in it.
    pub sections: BTreeMap<String, toml::Table>,
}

/// The sections an environment may set keys of (`[environments.NAME.SECTION]`).
pub const ENVIRONMENT_SECTIONS: &[&str] = &[
    "tags",
    "kms",
    "logs",
    "iam",
    "network",
    "s3",
    "rds",
    "lambda",
    "api",
    "monitoring",
];

impl Config {
    /// The settings the stack's desired state is built from, as canonical
    /// JSON (object keys sorted): what `up` fingerprints to know whether
    /// anything it wants changed since a resource last converged. The stack
    /// settings whole; how paysec runs changes no resource.
    pub fn desired_state(&self) -> String {
        serde_json::to_value(&self.stack)
            .map(|v| v.to_string())
            .unwrap_or_default()
    }
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            environment_suffix: None,
            region: None,
            profile: None,
            endpoint_url: None,
            allow_http_endpoint: false,
            ledger: None,
            ledger_dir: PathBuf::from(".paysec"),
            ledger_owner: None,
            concurrency: 16,
            max_attempts: 10,
            calls_per_service: 10,
            environments: BTreeMap::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "config file {path} does not exist; copy config/paysec.example.toml there or pass --config"
    )]
    Missing { path: PathBuf },
    #[error("cannot read config file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config {origin}: {detail}")]
    Parse { origin: String, detail: String },
    /// A `PAYSEC_*` variable whose value does not fit its setting's type.
    #[error("{var}={value}: expected {expected}; fix or unset the variable")]
    EnvValue {
        var: String,
        value: String,
        expected: &'static str,
    },
    /// A `PAYSEC_*` variable one typo away from a setting's: ignoring it
    /// would silently build with the default instead.
    #[error("{var} is not a paysec setting; did you mean {closest}? Fix its name or unset it")]
    UnknownVariable { var: String, closest: String },
    #[error("config key `{key}` = {value}: {reason}")]
    Invalid {
        key: &'static str,
        value: String,
        reason: String,
    },
    #[error(transparent)]
    Name(#[from] NameError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env_vars::{edit_distance, env_keys};
    use std::path::Path;

    /// The fingerprint is the stack settings whole, and byte for byte what
    /// the hand-kept list made before the split: ledgers written by an
    /// earlier paysec stay converged.
    #[test]
    fn the_desired_state_is_the_stack_settings_unchanged_by_the_split() {
        let mut c = Config::default();
        c.stack.tags.insert("team".into(), "payments".into());
        c.stack.rds.multi_az = false;
        let before = serde_json::json!({
            "tags": c.stack.tags,
            "kms": c.stack.kms,
            "logs": c.stack.logs,
            "iam": c.stack.iam,
            "network": c.stack.network,
            "s3": c.stack.s3,
            "rds": c.stack.rds,
            "lambda": c.stack.lambda,
            "api": c.stack.api,
            "monitoring": c.stack.monitoring,
        })
        .to_string();
        assert_eq!(c.desired_state(), before);
        let mut faster = c.clone();
        faster.run.concurrency = 2;
        faster.run.ledger = Some("s3://state".into());
        assert_eq!(
            faster.desired_state(),
            c.desired_state(),
            "how it runs is not what it builds"
        );
    }

    #[test]
    fn readiness_budgets_are_settings_within_a_day() {
        let c = load_str(
            "[lambda]\nwait_minutes = 30\n[network]\nendpoint_wait_minutes = 20\neni_drain_minutes = 60\n",
            &[("PAYSEC_RDS_WAIT_MINUTES", "90")],
        )
        .unwrap();
        assert_eq!(
            (
                c.stack.lambda.wait_minutes,
                c.stack.network.endpoint_wait_minutes,
                c.stack.network.eni_drain_minutes,
                c.stack.rds.wait_minutes
            ),
            (30, 20, 60, 90)
        );
        for (text, key) in [
            ("[lambda]\nwait_minutes = 0\n", "lambda.wait_minutes"),
            (
                "[network]\neni_drain_minutes = 2000\n",
                "network.eni_drain_minutes",
            ),
            ("[rds]\nwait_minutes = 0\n", "rds.wait_minutes"),
        ] {
            let err = load_str(text, &[]).unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
        }
    }

    #[test]
    fn the_desired_state_follows_the_stack_settings_not_how_paysec_runs() {
        let base = Config::default();
        let mut faster = base.clone();
        faster.run.concurrency = 4;
        faster.run.max_attempts = 3;
        faster.run.ledger_dir = PathBuf::from("elsewhere");
        assert_eq!(faster.desired_state(), base.desired_state());
        let mut bigger = base.clone();
        bigger.stack.rds.instance_class = "db.r6g.large".into();
        assert_ne!(bigger.desired_state(), base.desired_state());
        let mut tagged = base.clone();
        tagged.stack.tags.insert("team".into(), "payments".into());
        assert_ne!(tagged.desired_state(), base.desired_state());
    }

    fn load_str(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("paysec.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(
            Some(&path),
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn a_variable_one_typo_from_a_setting_is_refused_naming_it() {
        let err = load_str("", &[("PAYSEC_RDS_INSTANCE_CLAS", "db.t3.small")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "PAYSEC_RDS_INSTANCE_CLAS is not a paysec setting; did you mean PAYSEC_RDS_INSTANCE_CLASS? Fix its name or unset it"
        );
        // The user's own variables (a password's), paysec's others: left alone.
        load_str(
            "",
            &[
                ("PAYSEC_DB_PASSWORD", "x"),
                ("PAYSEC_CONFIG", "p.toml"),
                ("PAYSEC_UNRELATED", "x"),
            ],
        )
        .unwrap();
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn the_example_file_is_valid_and_complete() {
        let example = include_str!("../../../config/paysec.example.toml");
        let c = load_str(example, &[]).unwrap();
        assert_eq!(c.run.environment_suffix.as_deref(), Some("dev-001"));
        // Every key a user can set appears in the example, commented or not.
        for (key, _, _) in env_keys() {
            let leaf = key.rsplit('.').next().unwrap();
            assert!(example.contains(leaf), "example lacks {key}");
        }
    }

    #[test]
    fn an_environment_names_its_role_and_region() {
        let c = load_str(
            "[environments.prod-eu]\nrole_arn = \"arn:aws:iam::222222222222:role/PaysecDeployer\"\nregion = \"eu-west-1\"\n",
            &[],
        )
        .unwrap();
        let access = &c.run.environments["prod-eu"];
        assert_eq!(access.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            c.desired_state(),
            Config::default().desired_state(),
            "where, not what"
        );
        for (text, named) in [
            (
                "[environments.prod-eu]\nrole_arn = \"arn:aws:iam::2222:role/x\"\n",
                "role_arn",
            ),
            (
                "[environments.prod-eu]\nexternal_id = \"x\"\n",
                "external_id",
            ),
            (
                "[environments.Prod_EU]\nregion = \"eu-west-1\"\n",
                "Prod_EU",
            ),
            ("[environments.prod-eu]\nrole = \"x\"\n", "role"),
        ] {
            let err = load_str(text, &[]).unwrap_err().to_string();
            assert!(err.contains(named), "{text}: {err}");
        }
    }

    #[test]
    fn an_environment_sets_keys_of_its_own_over_the_file_s() {
        let text = "[rds]\ninstance_class = \"db.t3.micro\"\nallocated_storage_gb = 30\n\n[tags]\nteam = \"payments\"\n\n[environments.prod]\nrole_arn = \"arn:aws:iam::222222222222:role/PaysecDeployer\"\n\n[environments.prod.rds]\ninstance_class = \"db.r6g.large\"\n\n[environments.prod.network]\nvpc_cidr = \"10.42.0.0/16\"\n\n[environments.prod.tags]\ntier = \"production\"\n";
        let c = load_str(text, &[]).unwrap();
        let prod = c.stack_for("prod");
        assert_eq!(prod.rds.instance_class, "db.r6g.large");
        assert_eq!(
            prod.rds.allocated_storage_gb, 30,
            "the file's other keys stay"
        );
        assert_eq!(prod.network.vpc_cidr, "10.42.0.0/16");
        assert_eq!(prod.tags["team"], "payments");
        assert_eq!(prod.tags["tier"], "production");
        assert_eq!(c.stack_for("dev").rds.instance_class, "db.t3.micro");
        assert_eq!(c.stack, *c.stack_for("dev"), "others build the file's");
        assert_ne!(
            c.for_environment("prod").desired_state(),
            c.desired_state(),
            "what prod builds is its own"
        );
        // A variable wins over the environment's key, as over the file's.
        let c = load_str(text, &[("PAYSEC_RDS_INSTANCE_CLASS", "db.m7g.large")]).unwrap();
        assert_eq!(c.stack_for("prod").rds.instance_class, "db.m7g.large");
        // Errors name the environment and the key.
        for (bad, named) in [
            (
                "[environments.prod.rds]\ninstance_clas = \"x\"\n",
                "instance_clas",
            ),
            (
                "[environments.prod.logs]\nretention_days = 3\n",
                "environments.prod",
            ),
            ("[environments.prod]\nrds = 1\n", "[environments.NAME.rds]"),
            ("[environments.prod.colour]\nx = 1\n", "colour"),
        ] {
            let err = load_str(bad, &[]).unwrap_err().to_string();
            assert!(err.contains(named), "{bad}: {err}");
        }
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = load_str("[kms]\ndeletion_windw_days = 7\n", &[]).unwrap_err();
        assert!(err.to_string().contains("deletion_windw_days"), "{err}");
        let err = load_str("colour = 1\n", &[]).unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
    }

    #[test]
    fn wrong_types_are_named() {
        let err = load_str("[logs]\nretention_days = \"long\"\n", &[]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("retention_days"), "{msg}");
    }

    #[test]
    fn out_of_range_values_are_named() {
        for (text, key) in [
            (
                "[kms]\ndeletion_window_days = 3\n",
                "kms.deletion_window_days",
            ),
            (
                "[kms]\ndeletion_window_days = 31\n",
                "kms.deletion_window_days",
            ),
            ("[logs]\nretention_days = 30\n", "logs.retention_days"),
            ("[logs]\nretention_days = 100\n", "logs.retention_days"),
            ("concurrency = 0\n", "concurrency"),
            (
                "[rds]\nbackup_retention_days = 0\n",
                "rds.backup_retention_days",
            ),
            (
                "[rds]\nmaster_username = \"postgres\"\n",
                "rds.master_username",
            ),
            // What RDS-19 fails on, the configuration refuses (any case).
            (
                "[rds]\nmaster_username = \"Master\"\n",
                "rds.master_username",
            ),
            (
                "[rds]\nengine_version = \"15.4\"\n",
                "rds.parameter_group_family",
            ),
            ("[lambda]\nruntime = \"python3.9\"\n", "lambda.runtime"),
            ("[s3]\nlog_hot_days = 30\n", "s3.log_hot_days"),
            ("[network]\nvpc_cidr = \"10.0.0.0/8\"\n", "network.vpc_cidr"),
            ("[tags]\n\"paysec:x\" = \"y\"\n", "tags"),
        ] {
            let err = load_str(text, &[]).unwrap_err();
            assert!(err.to_string().contains(key), "{text}: {err}");
        }
    }

    #[test]
    fn bad_environment_names_are_refused() {
        let err = load_str("environment_suffix = \"Prod\"\n", &[]).unwrap_err();
        assert!(matches!(err, ConfigError::Name(NameError::BadChar { .. })));
    }

    #[test]
    fn environment_variables_override_the_file() {
        let c = load_str(
            "environment_suffix = \"dev-001\"\n[kms]\ndeletion_window_days = 30\n",
            &[
                ("PAYSEC_ENV", "ci-7"),
                ("PAYSEC_KMS_DELETION_WINDOW_DAYS", "7"),
                ("PAYSEC_LOGS_RETENTION_DAYS", "400"),
                ("PAYSEC_UNRELATED", "x"),
            ],
        )
        .unwrap();
        assert_eq!(c.run.environment_suffix.as_deref(), Some("ci-7"));
        assert_eq!(c.stack.kms.deletion_window_days, 7);
        assert_eq!(c.stack.logs.retention_days, 400);
    }

    #[test]
    fn the_audit_role_trusts_one_account_or_one_role_with_a_long_external_id() {
        let short = load_str("[iam]\naudit_external_id = \"abc123\"\n", &[]).unwrap_err();
        assert!(short.to_string().contains("16 to 1224"), "{short}");
        let odd = load_str("[iam]\naudit_external_id = \"0123456789abcdef!\"\n", &[]).unwrap_err();
        assert!(odd.to_string().contains("iam.audit_external_id"), "{odd}");
        let ok = load_str(
            "[iam]\naudit_trusted_role_arn = \"arn:aws:iam::210987654321:role/audit/Auditor\"\naudit_external_id = \"0123456789abcdef\"\n",
            &[],
        )
        .unwrap();
        assert!(ok.stack.iam.audit_trusted_role_arn.is_some());
        // A report shows the settings, never the external id itself.
        let shown = ok.stack.shown();
        assert_eq!(shown["iam"]["audit_external_id"], "(set; not shown)");
        assert!(!shown.to_string().contains("0123456789abcdef"));
        assert_eq!(
            shown["iam"]["audit_trusted_role_arn"],
            "arn:aws:iam::210987654321:role/audit/Auditor"
        );
        for bad in [
            "arn:aws:iam::21098765432:role/Auditor",
            "arn:aws:iam::210987654321:user/Auditor",
            "arn:aws:iam::210987654321:role/",
            "210987654321",
        ] {
            let e =
                load_str(&format!("[iam]\naudit_trusted_role_arn = \"{bad}\"\n"), &[]).unwrap_err();
            assert!(e.to_string().contains("IAM role ARN"), "{bad}: {e}");
        }
        let both = load_str(
            "[iam]\naudit_trusted_account = \"210987654321\"\naudit_trusted_role_arn = \"arn:aws:iam::210987654321:role/A\"\n",
            &[],
        )
        .unwrap_err();
        assert!(both.to_string().contains("not both"), "{both}");
    }

    #[test]
    fn a_bad_environment_variable_is_named() {
        let major = load_str("", &[("PAYSEC_RDS_ENGINE_VERSION", "16")]).unwrap();
        assert_eq!(
            major.stack.rds.engine_version, "16",
            "a string setting, though it looks like a number"
        );
        let account =
            load_str("", &[("PAYSEC_IAM_AUDIT_TRUSTED_ACCOUNT", "210987654321")]).unwrap();
        assert_eq!(
            account.stack.iam.audit_trusted_account.as_deref(),
            Some("210987654321")
        );
        let none = load_str("", &[("PAYSEC_LAMBDA_RESERVED_CONCURRENCY", "none")]).unwrap();
        assert_eq!(none.stack.lambda.reserved_concurrency.executions(), None);
        let five = load_str("[lambda]\nreserved_concurrency = 5\n", &[]).unwrap();
        assert_eq!(five.stack.lambda.reserved_concurrency.executions(), Some(5));
        let word = load_str("", &[("PAYSEC_LAMBDA_RESERVED_CONCURRENCY", "lots")]).unwrap_err();
        assert!(
            word.to_string().contains("lambda.reserved_concurrency"),
            "{word}"
        );
        let err = load_str("", &[("PAYSEC_CONCURRENCY", "many")]).unwrap_err();
        assert!(err.to_string().contains("PAYSEC_CONCURRENCY"), "{err}");
    }

    #[test]
    fn an_explicit_missing_file_is_an_error() {
        let err = Config::load(Some(Path::new("/nonexistent/p.toml")), Vec::new()).unwrap_err();
        assert!(matches!(err, ConfigError::Missing { .. }));
    }

    #[test]
    fn session_names_and_external_ids_are_held_to_sts_limits() {
        assert_eq!(session_name_problem("paysec-prod-eu"), None);
        assert_eq!(session_name_problem("ci@acme.example,run=42"), None);
        assert!(session_name_problem("x").is_some());
        assert!(session_name_problem(&"x".repeat(65)).is_some());
        assert_eq!(session_name_problem(&"x".repeat(64)), None);
        assert!(session_name_problem("has space").is_some());
        assert!(session_name_problem("with:colon").is_some());
        assert_eq!(external_id_problem("tenant:42/prod"), None);
        assert!(external_id_problem("a").is_some());
        assert!(external_id_problem(&"a".repeat(1225)).is_some());
        assert!(external_id_problem("semi;colon").is_some());
    }
}

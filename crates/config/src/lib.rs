//! paysec's settings: the TOML config file (the equivalent of the seed's
//! `terraform.tfvars`), then `PAYSEC_*` environment variables, then
//! command-line flags (applied by the binary). Unknown keys, wrong types and
//! out-of-range values are errors that name the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use paysec_core::naming::{EnvName, NameError};
use serde::{Deserialize, Serialize};

/// The config file read when `--config` is not given, if it exists.
pub const DEFAULT_FILE: &str = "paysec.toml";

/// Retention periods CloudWatch Logs accepts, in days.
pub const LOG_RETENTION_DAYS: &[i32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Suffix of every name, e.g. `dev-001` (`--env`, `PAYSEC_ENV`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_suffix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    /// Where ledgers live.
    pub ledger_dir: PathBuf,
    /// How many resource operations run at once.
    pub concurrency: usize,
    /// SDK attempts per AWS call.
    pub max_attempts: u32,
    /// Extra tags on everything (`paysec:` keys are reserved).
    pub tags: BTreeMap<String, String>,
    pub kms: Kms,
    pub logs: Logs,
    pub iam: Iam,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Kms {
    /// Days a key waits in `PendingDeletion` after `down` (AWS: 7-30).
    pub deletion_window_days: i32,
    /// Principals allowed to administer (not use) the keys, besides the
    /// account root. Empty: the caller running `up`.
    pub admin_principals: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Logs {
    /// Retention of every log group (PCI DSS 10.5.1: 12 months).
    pub retention_days: i32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Iam {
    /// Account whose principals may assume the audit role (default: this one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_trusted_account: Option<String>,
    /// External id the auditor must present; default: generated at creation
    /// and shown by `paysec output audit_role_external_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_external_id: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            environment_suffix: None,
            region: None,
            profile: None,
            endpoint_url: None,
            ledger_dir: PathBuf::from(".paysec"),
            concurrency: 16,
            max_attempts: 10,
            tags: BTreeMap::new(),
            kms: Kms::default(),
            logs: Logs::default(),
            iam: Iam::default(),
        }
    }
}

impl Default for Kms {
    fn default() -> Self {
        Self {
            deletion_window_days: 30,
            admin_principals: Vec::new(),
        }
    }
}

impl Default for Logs {
    fn default() -> Self {
        Self {
            retention_days: 365,
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
    #[error("config key `{key}` = {value}: {reason}")]
    Invalid {
        key: &'static str,
        value: String,
        reason: String,
    },
    #[error(transparent)]
    Name(#[from] NameError),
}

impl Config {
    /// Reads `path` (or `paysec.toml` if present), then applies `PAYSEC_*`
    /// variables from `vars`.
    pub fn load(
        path: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let (text, origin) = match path {
            Some(p) => match std::fs::read_to_string(p) {
                Ok(t) => (t, p.display().to_string()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(ConfigError::Missing { path: p.to_owned() })
                }
                Err(source) => {
                    return Err(ConfigError::Io {
                        path: p.to_owned(),
                        source,
                    })
                }
            },
            None => match std::fs::read_to_string(DEFAULT_FILE) {
                Ok(t) => (t, DEFAULT_FILE.to_owned()),
                Err(_) => (String::new(), "defaults".to_owned()),
            },
        };
        // Parse the file alone first, so its errors point at its own lines.
        let parse_err = |origin: String| {
            move |e: toml::de::Error| ConfigError::Parse {
                origin,
                detail: e.to_string().trim_end().to_owned(),
            }
        };
        toml::from_str::<Config>(&text).map_err(parse_err(origin.clone()))?;
        let mut table: toml::Table = toml::from_str(&text).map_err(parse_err(origin.clone()))?;
        let applied = apply_env(&mut table, vars);
        // Re-parsing the merged document as text keeps the key in the error.
        let merged = toml::to_string(&table).unwrap_or_default();
        let config: Config = toml::from_str(&merged)
            .map_err(parse_err(format!("{origin} with {}", applied.join(", "))))?;
        config.validate()?;
        Ok(config)
    }

    /// Range checks the type system cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, value: &dyn std::fmt::Display, reason: &str| ConfigError::Invalid {
            key,
            value: value.to_string(),
            reason: reason.to_owned(),
        };
        if let Some(env) = &self.environment_suffix {
            EnvName::parse(env)?;
        }
        if !(7..=30).contains(&self.kms.deletion_window_days) {
            return Err(invalid(
                "kms.deletion_window_days",
                &self.kms.deletion_window_days,
                "AWS KMS accepts a deletion window of 7 to 30 days",
            ));
        }
        if self.logs.retention_days < 90 {
            return Err(invalid(
                "logs.retention_days",
                &self.logs.retention_days,
                "PCI DSS 10.5.1 needs at least 90 days immediately available (365 recommended)",
            ));
        }
        if !LOG_RETENTION_DAYS.contains(&self.logs.retention_days) {
            return Err(invalid(
                "logs.retention_days",
                &self.logs.retention_days,
                "CloudWatch Logs accepts only 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653 (at 90 or more)",
            ));
        }
        if !(1..=64).contains(&self.concurrency) {
            return Err(invalid(
                "concurrency",
                &self.concurrency,
                "must be between 1 and 64",
            ));
        }
        if !(1..=25).contains(&self.max_attempts) {
            return Err(invalid(
                "max_attempts",
                &self.max_attempts,
                "must be between 1 and 25",
            ));
        }
        if let Some(k) = self.tags.keys().find(|k| k.starts_with("paysec:")) {
            return Err(invalid(
                "tags",
                k,
                "tag keys starting with `paysec:` are reserved",
            ));
        }
        if let Some(a) = &self.iam.audit_trusted_account {
            if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(
                    "iam.audit_trusted_account",
                    a,
                    "must be a 12-digit AWS account id",
                ));
            }
        }
        if let Some(x) = &self.iam.audit_external_id {
            if x.len() < 2 || x.len() > 1224 {
                return Err(invalid(
                    "iam.audit_external_id",
                    &x.len(),
                    "must be 2 to 1224 characters",
                ));
            }
        }
        for p in &self.kms.admin_principals {
            if !p.starts_with("arn:") {
                return Err(invalid(
                    "kms.admin_principals",
                    p,
                    "must be IAM ARNs (arn:aws:iam::<account>:role/<name>)",
                ));
            }
        }
        Ok(())
    }

    /// Every settable key with its environment variable, for the docs and
    /// for `apply_env`.
    pub fn env_vars() -> Vec<(String, String)> {
        env_keys()
    }
}

/// Maps a dotted key to its variable: `kms.deletion_window_days` →
/// `PAYSEC_KMS_DELETION_WINDOW_DAYS`; `environment_suffix` → `PAYSEC_ENV`.
fn env_name(dotted: &str) -> String {
    if dotted == "environment_suffix" {
        return "PAYSEC_ENV".to_owned();
    }
    format!("PAYSEC_{}", dotted.replace('.', "_").to_uppercase())
}

/// (dotted key, variable) for every leaf of a fully populated config.
fn env_keys() -> Vec<(String, String)> {
    let full = Config {
        environment_suffix: Some(String::new()),
        region: Some(String::new()),
        profile: Some(String::new()),
        endpoint_url: Some(String::new()),
        iam: Iam {
            audit_trusted_account: Some(String::new()),
            audit_external_id: Some(String::new()),
        },
        ..Config::default()
    };
    let value = toml::Value::try_from(&full).unwrap_or(toml::Value::Table(toml::Table::new()));
    let mut out = Vec::new();
    fn walk(prefix: &str, v: &toml::Value, out: &mut Vec<(String, String)>) {
        match v {
            toml::Value::Table(t) if prefix != "tags" => {
                for (k, v) in t {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            _ => out.push((prefix.to_owned(), env_name(prefix))),
        }
    }
    walk("", &value, &mut out);
    out
}

/// Applies `PAYSEC_*` variables onto the parsed file; returns the names of
/// those applied, for error messages. Values are read as TOML (numbers,
/// booleans, arrays) and fall back to plain strings.
fn apply_env(
    table: &mut toml::Table,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Vec<String> {
    let keys = env_keys();
    let mut applied = Vec::new();
    for (name, raw) in vars {
        let Some((dotted, _)) = keys.iter().find(|(_, v)| *v == name) else {
            continue;
        };
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.clone()));
        // Keys are at most one section deep (`kms.deletion_window_days`).
        match dotted.split_once('.') {
            None => {
                table.insert(dotted.clone(), value);
            }
            Some((section, leaf)) => {
                let entry = table
                    .entry(section.to_owned())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                if let toml::Value::Table(t) = entry {
                    t.insert(leaf.to_owned(), value);
                }
            }
        }
        applied.push(name);
    }
    applied
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_example_file_is_valid_and_complete() {
        let example = include_str!("../../../config/paysec.example.toml");
        let c = load_str(example, &[]).unwrap();
        assert_eq!(c.environment_suffix.as_deref(), Some("dev-001"));
        // Every key a user can set appears in the example, commented or not.
        for (key, _) in env_keys() {
            let leaf = key.rsplit('.').next().unwrap();
            assert!(example.contains(leaf), "example lacks {key}");
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
        assert_eq!(c.environment_suffix.as_deref(), Some("ci-7"));
        assert_eq!(c.kms.deletion_window_days, 7);
        assert_eq!(c.logs.retention_days, 400);
    }

    #[test]
    fn a_bad_environment_variable_is_named() {
        let err = load_str("", &[("PAYSEC_CONCURRENCY", "many")]).unwrap_err();
        assert!(err.to_string().contains("PAYSEC_CONCURRENCY"), "{err}");
    }

    #[test]
    fn an_explicit_missing_file_is_an_error() {
        let err = Config::load(Some(Path::new("/nonexistent/p.toml")), Vec::new()).unwrap_err();
        assert!(matches!(err, ConfigError::Missing { .. }));
    }
}

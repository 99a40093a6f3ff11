//! The `PAYSEC_*` environment variables: one per settable key, named from it,
//! each value read by its setting's type, and a near miss of a name refused.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::{Config, ConfigError, Iam, Lambda, Rds, RunSettings, StackSettings};

impl Config {
    /// Every settable key with its environment variable, for the docs and
    /// for `apply_env`.
    pub fn env_vars() -> Vec<(String, String)> {
        env_keys().into_iter().map(|(k, v, _)| (k, v)).collect()
    }
}

/// Maps a dotted key to its variable: `kms.deletion_window_days` →
/// `PAYSEC_KMS_DELETION_WINDOW_DAYS`; `environment_suffix` → `PAYSEC_ENV`.
pub(crate) fn env_name(dotted: &str) -> String {
    if dotted == "environment_suffix" {
        return "PAYSEC_ENV".to_owned();
    }
    format!("PAYSEC_{}", dotted.replace('.', "_").to_uppercase())
}

/// The type of a setting, which decides how its variable's value is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Taken as written (`PAYSEC_RDS_ENGINE_VERSION=16` is "16").
    Text,
    Whole,
    Flag,
    /// Comma-separated (`a,b,c`), or a TOML array.
    List,
    /// Comma-separated `key=value` pairs, or a TOML inline table.
    Map,
    /// Anything else: read as TOML.
    Other,
}

impl Kind {
    fn of(v: &toml::Value) -> Self {
        match v {
            toml::Value::String(_) => Self::Text,
            toml::Value::Integer(_) => Self::Whole,
            toml::Value::Boolean(_) => Self::Flag,
            toml::Value::Array(_) => Self::List,
            toml::Value::Table(_) => Self::Map,
            _ => Self::Other,
        }
    }
}

/// (dotted key, variable, kind) for every leaf of a fully populated config.
pub(crate) fn env_keys() -> Vec<(String, String, Kind)> {
    let full = Config {
        run: RunSettings {
            environment_suffix: Some(String::new()),
            region: Some(String::new()),
            profile: Some(String::new()),
            endpoint_url: Some(String::new()),
            ledger: Some(String::new()),
            ledger_owner: Some(String::new()),
            ..RunSettings::default()
        },
        stack: StackSettings {
            iam: Iam {
                audit_trusted_account: Some(String::new()),
                audit_trusted_role_arn: Some(String::new()),
                audit_external_id: Some(String::new()),
            },
            rds: Rds {
                deletion_protection: false,
                master_password_env: Some(String::new()),
                master_password_file: Some(PathBuf::new()),
                ..Rds::default()
            },
            lambda: Lambda {
                package: Some(PathBuf::new()),
                signing_profile: Some(String::new()),
                ..Lambda::default()
            },
            ..StackSettings::default()
        },
        environment_stacks: BTreeMap::new(),
    };
    let value = toml::Value::try_from(&full).unwrap_or(toml::Value::Table(toml::Table::new()));
    let mut out = Vec::new();
    fn walk(prefix: &str, v: &toml::Value, out: &mut Vec<(String, String, Kind)>) {
        match v {
            toml::Value::Table(t) if prefix != "tags" && prefix != "lambda.environment" => {
                for (k, v) in t {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            _ => out.push((prefix.to_owned(), env_name(prefix), Kind::of(v))),
        }
    }
    walk("", &value, &mut out);
    // A number, or "none": read as TOML, else as written.
    for (dotted, _, kind) in &mut out {
        if dotted == "lambda.reserved_concurrency" {
            *kind = Kind::Other;
        }
    }
    out
}

/// paysec's variables that are not settings (`docs/configuration.md`):
/// the config file's path, the emulator switch, and the ones the function
/// is given (a developer may export them to run the code locally).
const OTHER_VARIABLES: &[&str] = &[
    "PAYSEC_CONFIG",
    "PAYSEC_EXTERNAL_ID",
    "PAYSEC_EMULATOR",
    "PAYSEC_ENVIRONMENT",
    "PAYSEC_DB_HOST",
    "PAYSEC_DB_PORT",
    "PAYSEC_DB_NAME",
    "PAYSEC_DB_USER",
];

/// The setting's variable `name` is a typo of (two edits or fewer), when
/// `name` is a `PAYSEC_` variable that is neither a setting's nor one of
/// paysec's others. Further names are left alone: they may be the user's
/// own (a password variable `rds.master_password_env` names, the tests').
fn near_miss(name: &str, keys: &[(String, String, Kind)]) -> Option<String> {
    if !name.starts_with("PAYSEC_") || OTHER_VARIABLES.contains(&name) {
        return None;
    }
    keys.iter()
        .map(|(_, var, _)| (edit_distance(name, var), var))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, var)| var.clone())
}

/// Levenshtein distance, by characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Applies `PAYSEC_*` variables onto the parsed file; returns the names of
/// those applied, for error messages. Each value is read by its setting's
/// type, as a user types it in a shell: a string setting as written
/// (`PAYSEC_RDS_ENGINE_VERSION=16` is the string "16"), a number as a whole
/// number, a flag as true/false (yes/no, on/off, 1/0), a list as
/// comma-separated values (or a TOML array); a value that does not fit is
/// one error naming the variable.
pub(crate) fn apply_env(
    table: &mut toml::Table,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<String>, ConfigError> {
    let keys = env_keys();
    let mut applied = Vec::new();
    for (name, raw) in vars {
        let Some((dotted, _, kind)) = keys.iter().find(|(_, v, _)| *v == name) else {
            if let Some(closest) = near_miss(&name, &keys) {
                return Err(ConfigError::UnknownVariable { var: name, closest });
            }
            continue;
        };
        let bad = |expected: &'static str| ConfigError::EnvValue {
            var: name.clone(),
            value: raw.clone(),
            expected,
        };
        let value = match kind {
            Kind::Text => toml::Value::String(raw.clone()),
            Kind::Whole => toml::Value::Integer(
                raw.trim()
                    .parse::<i64>()
                    .map_err(|_| bad("a whole number"))?,
            ),
            Kind::Flag => toml::Value::Boolean(match raw.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => true,
                "false" | "no" | "off" | "0" => false,
                _ => return Err(bad("true or false")),
            }),
            Kind::List if raw.trim_start().starts_with('[') => {
                toml::from_str::<toml::Table>(&format!("v = {raw}"))
                    .ok()
                    .and_then(|mut t| t.remove("v"))
                    .ok_or_else(|| bad("comma-separated values, or a TOML array"))?
            }
            Kind::List => toml::Value::Array(
                raw.split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(|v| toml::Value::String(v.to_owned()))
                    .collect(),
            ),
            Kind::Map if raw.trim_start().starts_with('{') => {
                toml::from_str::<toml::Table>(&format!("v = {raw}"))
                    .ok()
                    .and_then(|mut t| t.remove("v"))
                    .ok_or_else(|| bad("comma-separated key=value pairs, or a TOML inline table"))?
            }
            Kind::Map => {
                let mut map = toml::Table::new();
                for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let (k, v) = pair
                        .split_once('=')
                        .ok_or_else(|| bad("comma-separated key=value pairs"))?;
                    map.insert(
                        k.trim().to_owned(),
                        toml::Value::String(v.trim().to_owned()),
                    );
                }
                toml::Value::Table(map)
            }
            Kind::Other => toml::from_str::<toml::Table>(&format!("v = {raw}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or_else(|| toml::Value::String(raw.clone())),
        };
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
    Ok(applied)
}

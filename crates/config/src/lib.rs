//! paysec's settings: the TOML config file (the equivalent of the Terraform setup's
//! `terraform.tfvars`), then `PAYSEC_*` environment variables, then
//! command-line flags (applied by the binary). Unknown keys, wrong types and
//! out-of-range values are errors that name the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use paysec_core::naming::{EnvName, NameError};

mod api;
pub mod egress;
mod iam;
mod kms;
mod lambda;
mod logs;
mod monitoring;
mod network;
mod rds;
mod s3;
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

/// The config file's shape: both kinds of setting side by side at the top
/// level. Converted to and from [`Config`] field by field, in both
/// directions exhaustively, so a setting cannot be added to one and
/// forgotten in the other.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct File {
    #[serde(skip_serializing_if = "Option::is_none")]
    environment_suffix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint_url: Option<String>,
    allow_http_endpoint: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    ledger: Option<String>,
    ledger_dir: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    ledger_owner: Option<String>,
    concurrency: usize,
    max_attempts: u32,
    calls_per_service: usize,
    tags: BTreeMap<String, String>,
    kms: Kms,
    logs: Logs,
    iam: Iam,
    network: Network,
    s3: S3,
    rds: Rds,
    lambda: Lambda,
    api: Api,
    monitoring: Monitoring,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    environments: BTreeMap<String, EnvironmentAccess>,
}

impl From<File> for Config {
    fn from(f: File) -> Self {
        Self {
            run: RunSettings {
                environment_suffix: f.environment_suffix,
                region: f.region,
                profile: f.profile,
                endpoint_url: f.endpoint_url,
                allow_http_endpoint: f.allow_http_endpoint,
                ledger: f.ledger,
                ledger_dir: f.ledger_dir,
                ledger_owner: f.ledger_owner,
                concurrency: f.concurrency,
                max_attempts: f.max_attempts,
                calls_per_service: f.calls_per_service,
                environments: f.environments,
            },
            environment_stacks: BTreeMap::new(),
            stack: StackSettings {
                tags: f.tags,
                kms: f.kms,
                logs: f.logs,
                iam: f.iam,
                network: f.network,
                s3: f.s3,
                rds: f.rds,
                lambda: f.lambda,
                api: f.api,
                monitoring: f.monitoring,
            },
        }
    }
}

impl From<Config> for File {
    fn from(c: Config) -> Self {
        // What environments build is in their own sections, kept in
        // `run.environments`.
        let Config {
            run,
            stack,
            environment_stacks: _,
        } = c;
        let RunSettings {
            environment_suffix,
            region,
            profile,
            endpoint_url,
            allow_http_endpoint,
            ledger,
            ledger_dir,
            ledger_owner,
            concurrency,
            max_attempts,
            calls_per_service,
            environments,
        } = run;
        let StackSettings {
            tags,
            kms,
            logs,
            iam,
            network,
            s3,
            rds,
            lambda,
            api,
            monitoring,
        } = stack;
        Self {
            environment_suffix,
            region,
            profile,
            endpoint_url,
            allow_http_endpoint,
            ledger,
            ledger_dir,
            ledger_owner,
            concurrency,
            max_attempts,
            calls_per_service,
            tags,
            kms,
            logs,
            iam,
            network,
            s3,
            rds,
            lambda,
            api,
            monitoring,
            environments,
        }
    }
}

impl Default for File {
    fn default() -> Self {
        Config::default().into()
    }
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

impl TryFrom<toml::Table> for EnvironmentAccess {
    type Error = String;

    fn try_from(table: toml::Table) -> Result<Self, String> {
        let mut access = Self::default();
        for (key, value) in table {
            let text = |value: toml::Value| match value {
                toml::Value::String(s) => Ok(Some(s)),
                other => Err(format!(
                    "`{key}` must be a string, not {}",
                    other.type_str()
                )),
            };
            match key.as_str() {
                "role_arn" => access.role_arn = text(value)?,
                "external_id" => access.external_id = text(value)?,
                "role_session_name" => access.role_session_name = text(value)?,
                "region" => access.region = text(value)?,
                section if ENVIRONMENT_SECTIONS.contains(&section) => match value {
                    toml::Value::Table(keys) => {
                        access.sections.insert(key, keys);
                    }
                    _ => {
                        return Err(format!(
                            "`{key}` is a section: write its keys under [environments.NAME.{key}]"
                        ))
                    }
                },
                _ => {
                    return Err(format!(
                        "unknown field `{key}`, expected `role_arn`, `external_id`, `role_session_name`, `region` or a section whose keys the environment sets for itself ({})",
                        ENVIRONMENT_SECTIONS.join(", ")
                    ))
                }
            }
        }
        Ok(access)
    }
}

impl From<EnvironmentAccess> for toml::Table {
    fn from(a: EnvironmentAccess) -> Self {
        let mut t = toml::Table::new();
        for (key, value) in [
            ("role_arn", a.role_arn),
            ("external_id", a.external_id),
            ("role_session_name", a.role_session_name),
            ("region", a.region),
        ] {
            if let Some(v) = value {
                t.insert(key.to_owned(), toml::Value::String(v));
            }
        }
        for (section, keys) in a.sections {
            t.insert(section, toml::Value::Table(keys));
        }
        t
    }
}

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
            // Only a missing file means the defaults: one that cannot be
            // read (its mode, not UTF-8) is an error, or a shared ledger it
            // names would silently become a local one.
            None => match std::fs::read_to_string(DEFAULT_FILE) {
                Ok(t) => (t, DEFAULT_FILE.to_owned()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    (String::new(), "defaults".to_owned())
                }
                Err(source) => {
                    return Err(ConfigError::Io {
                        path: PathBuf::from(DEFAULT_FILE),
                        source,
                    })
                }
            },
        };
        // Parse the file alone first, so its errors point at its own lines
        // (one line each: where, and what).
        let in_file = |e: toml::de::Error| {
            let message = e.message().trim_end().to_owned();
            match e.span() {
                Some(span) => {
                    let start = span.start.min(text.len());
                    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
                    let line_text = text[line_start..].lines().next().unwrap_or("").trim();
                    ConfigError::Parse {
                        origin: format!(
                            "{origin} line {}, column {}",
                            text[..start].matches('\n').count() + 1,
                            start - line_start + 1
                        ),
                        detail: format!("{message} (`{line_text}`)"),
                    }
                }
                None => ConfigError::Parse {
                    origin: origin.clone(),
                    detail: message,
                },
            }
        };
        hide_external_ids(&text);
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        for (name, value) in &vars {
            if name.ends_with("EXTERNAL_ID") {
                paysec_core::shown::hide(value);
            }
        }
        toml::from_str::<Config>(&text).map_err(in_file)?;
        let mut table: toml::Table = toml::from_str(&text).map_err(in_file)?;
        let file = table.clone();
        let applied = apply_env(&mut table, vars.iter().cloned())?;
        // Re-parsing the merged document as text keeps the key in the error.
        let merged = toml::to_string(&table).unwrap_or_default();
        let mut config: Config =
            toml::from_str(&merged).map_err(|e: toml::de::Error| ConfigError::Parse {
                origin: format!("{origin} with {}", applied.join(", ")),
                detail: e.message().trim_end().to_owned(),
            })?;
        // A value a variable set is named by that variable too.
        let named = |e: ConfigError| match e {
            ConfigError::Invalid { key, value, reason } if applied.contains(&env_name(key)) => {
                ConfigError::Invalid {
                    key,
                    value,
                    reason: format!("{reason} (set by {})", env_name(key)),
                }
            }
            other => other,
        };
        config.validate().map_err(named)?;
        config.environment_stacks = environment_stacks(&config, &file, &vars, &origin)?;
        Ok(config)
    }

    /// What `env` builds: its own sections' keys over the file's, when it
    /// has any (`[environments.NAME.SECTION]`), else the file's.
    pub fn stack_for(&self, env: &str) -> &StackSettings {
        self.environment_stacks.get(env).unwrap_or(&self.stack)
    }

    /// This configuration as `env` sees it: [`Config::stack_for`] as its
    /// stack.
    pub fn for_environment(&self, env: &str) -> Config {
        let mut c = self.clone();
        c.stack = self.stack_for(env).clone();
        c
    }

    /// Range checks the type system cannot express: each part checks its
    /// own keys.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.run.validate()?;
        self.stack.validate()
    }

    /// Every settable key with its environment variable, for the docs and
    /// for `apply_env`.
    pub fn env_vars() -> Vec<(String, String)> {
        env_keys().into_iter().map(|(k, v, _)| (k, v)).collect()
    }
}

/// The stack of each environment with sections of its own: the file
/// (without the variables), its sections' keys set over the file's
/// (tags added to), then the variables, which win as they do for the
/// file; each parsed and validated, an error naming the environment.
fn environment_stacks(
    config: &Config,
    file: &toml::Table,
    vars: &[(String, String)],
    origin: &str,
) -> Result<BTreeMap<String, StackSettings>, ConfigError> {
    let mut stacks = BTreeMap::new();
    for (name, access) in &config.run.environments {
        if access.sections.is_empty() {
            continue;
        }
        let mut table = file.clone();
        for (section, keys) in &access.sections {
            let entry = table
                .entry(section.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(t) = entry {
                for (k, v) in keys {
                    t.insert(k.clone(), v.clone());
                }
            }
        }
        apply_env(&mut table, vars.iter().cloned())?;
        let merged = toml::to_string(&table).unwrap_or_default();
        let in_environment = format!("{origin}, [environments.{name}]");
        let own: Config =
            toml::from_str(&merged).map_err(|e: toml::de::Error| ConfigError::Parse {
                origin: in_environment.clone(),
                detail: e.message().trim_end().to_owned(),
            })?;
        own.stack.validate().map_err(|e| match e {
            ConfigError::Invalid { key, value, reason } => ConfigError::Invalid {
                key,
                value,
                reason: format!("{reason} (in {in_environment})"),
            },
            other => other,
        })?;
        stacks.insert(name.clone(), own.stack);
    }
    Ok(stacks)
}

/// A setting that cannot be: its key, its value and why.
fn invalid(key: &'static str, value: &dyn std::fmt::Display, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        key,
        value: value.to_string(),
        reason: reason.to_owned(),
    }
}

/// Readiness budgets: a zero budget would fail every wait at once, and
/// more than a day hides a stuck resource.
fn within_a_day(key: &'static str, minutes: u64) -> Result<(), ConfigError> {
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
    /// The settings as a report may show them: everything but the audit
    /// role's external id, a shared secret of sorts, which is only said
    /// to be set.
    pub fn shown(&self) -> serde_json::Value {
        let mut shown = serde_json::to_value(self).unwrap_or_default();
        if let Some(id) = shown.pointer_mut("/iam/audit_external_id") {
            if !id.is_null() {
                *id = serde_json::Value::from("(set; not shown)");
            }
        }
        shown
    }

    /// Range checks of what is built, section by section.
    fn validate(&self) -> Result<(), ConfigError> {
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

/// Registers every `*external_id = "..."` value of the file's text, before
/// it is parsed: a parse error quotes its line, and an external id must
/// not show there (`paysec_core::shown`).
fn hide_external_ids(text: &str) {
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim().trim_matches('"').ends_with("external_id") {
            // The first string on the line (quoted, or up to a comment).
            let value = value.trim_start();
            let value = match value.chars().next() {
                Some(q @ ('"' | '\'')) => value[1..].split(q).next().unwrap_or_default(),
                _ => value.split('#').next().unwrap_or_default().trim(),
            };
            paysec_core::shown::hide(value);
        }
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

/// The type of a setting, which decides how its variable's value is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
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
fn env_keys() -> Vec<(String, String, Kind)> {
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
fn edit_distance(a: &str, b: &str) -> usize {
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
fn apply_env(
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

#[cfg(test)]
mod tests {
    use super::*;

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

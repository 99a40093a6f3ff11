//! The config file's shape: its top-level keys as one struct, converted to and
//! from [`Config`], and an environment's table read into [`EnvironmentAccess`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{
    Api, Config, EnvironmentAccess, Iam, Kms, Lambda, Logs, Monitoring, Network, Rds, RunSettings,
    StackSettings, ENVIRONMENT_SECTIONS, S3,
};

/// The config file's shape: both kinds of setting side by side at the top
/// level. Converted to and from [`Config`] field by field, in both
/// directions exhaustively, so a setting cannot be added to one and
/// forgotten in the other.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct File {
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

//! Loading: the file read (or the defaults), its parse errors pointing at its
//! lines, the variables applied over it, and each environment's own stack.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::env_vars::{apply_env, env_name};
use crate::{Config, ConfigError, StackSettings, DEFAULT_FILE};

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

//! Settings for one run: the config file, then `PAYSEC_*` variables, then
//! flags, validated before any AWS call.

use std::path::PathBuf;

use paysec_aws::AwsSettings;
use paysec_config::Config;
use paysec_core::naming::EnvName;

use crate::cli::Global;
use crate::exit::Failure;

pub struct Settings {
    pub config: Config,
    pub env: EnvName,
    /// Every environment named by a repeated `--env` (a fleet run); empty
    /// for one environment.
    pub fleet: Vec<EnvName>,
    pub ledger_dir: PathBuf,
    pub aws: AwsSettings,
}

pub fn resolve(global: &Global) -> Result<Settings, Failure> {
    let mut config = Config::load(global.config.as_deref(), std::env::vars())?;
    if let Some(e) = global.env.first() {
        config.environment_suffix = Some(e.clone());
    }
    if let Some(r) = &global.region {
        config.region = Some(r.clone());
    }
    if let Some(p) = &global.profile {
        config.profile = Some(p.clone());
    }
    if let Some(u) = &global.endpoint_url {
        config.endpoint_url = Some(u.clone());
    }
    if global.allow_http_endpoint {
        config.allow_http_endpoint = true;
    }
    if let Some(d) = &global.ledger_dir {
        config.ledger_dir = d.clone();
    }
    config.validate()?;
    let env = EnvName::parse(config.environment_suffix.as_deref().unwrap_or_default())?;
    let mut fleet = Vec::new();
    if global.env.len() > 1 {
        for e in &global.env {
            let name = EnvName::parse(e)?;
            if fleet.contains(&name) {
                return Err(Failure::Usage(format!(
                    "environment {name} is named twice; each --env of a fleet must differ"
                )));
            }
            fleet.push(name);
        }
    }
    let aws = AwsSettings {
        profile: config.profile.clone(),
        region: config.region.clone(),
        endpoint_url: config.endpoint_url.clone(),
        allow_http_endpoint: config.allow_http_endpoint,
        max_attempts: config.max_attempts,
        calls_per_service: config.calls_per_service,
    };
    Ok(Settings {
        ledger_dir: config.ledger_dir.clone(),
        env,
        fleet,
        aws,
        config,
    })
}

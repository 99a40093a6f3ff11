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
    pub ledger_dir: PathBuf,
    pub aws: AwsSettings,
}

pub fn resolve(global: &Global) -> Result<Settings, Failure> {
    let mut config = Config::load(global.config.as_deref(), std::env::vars())?;
    if let Some(e) = &global.env {
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
    if let Some(d) = &global.ledger_dir {
        config.ledger_dir = d.clone();
    }
    config.validate()?;
    let env = EnvName::parse(config.environment_suffix.as_deref().unwrap_or_default())?;
    let aws = AwsSettings {
        profile: config.profile.clone(),
        region: config.region.clone(),
        endpoint_url: config.endpoint_url.clone(),
        max_attempts: config.max_attempts,
    };
    Ok(Settings {
        ledger_dir: config.ledger_dir.clone(),
        env,
        aws,
        config,
    })
}

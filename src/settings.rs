//! Settings for one run: the config file, then `PAYSEC_*` variables, then
//! flags, validated before any AWS call.

use std::path::PathBuf;
use std::sync::Arc;

use paysec_aws::ledger_s3::{S3Ledgers, S3Url};
use paysec_aws::{AssumeRole, AwsSettings};
use paysec_config::Config;
use paysec_core::ledger_store::Location;
use paysec_core::naming::EnvName;
use paysec_lambda::Code;

use crate::cli::Global;
use crate::exit::Failure;

#[derive(Clone)]
pub struct Settings {
    pub config: Config,
    pub env: EnvName,
    /// Every environment named by a repeated `--env` (a fleet run); empty
    /// for one environment.
    pub fleet: Vec<EnvName>,
    /// Where the ledgers live: the directory until [`resolve_ledger`]
    /// connects a shared store for an `s3://` URL.
    pub ledger: Location,
    /// The `s3://` URL of a shared ledger, when one is set.
    pub ledger_url: Option<S3Url>,
    /// The run's own AWS settings (the shared ledger is reached with
    /// these); [`Settings::aws_for`] gives an environment's.
    pub aws: AwsSettings,
    /// `--region` was given: it wins over an environment's own region.
    region_flag: bool,
    /// `--role-arn` and its companions, for a single environment.
    role_flag: Option<AssumeRole>,
    /// The function's package: the example handler until [`Settings::load_code`]
    /// builds the configured one (only the commands that ship or compare
    /// code do, so `down` and `status` work without the team's tree).
    pub code: Arc<Code>,
    /// Whether [`Settings::load_code`] ran (an environment of a fleet
    /// with a package of its own then builds that one).
    code_loaded: bool,
}

impl Settings {
    /// Builds the configured package (`[lambda] package`), checked for
    /// the runtime and handler, before any AWS call; nothing to build for
    /// the example handler.
    pub fn load_code(&mut self) -> Result<(), Failure> {
        let lambda = &self.config.stack.lambda;
        if let Some(path) = &lambda.package {
            self.code = Arc::new(Code::load(path, &lambda.runtime, &lambda.handler)?);
        }
        self.code_loaded = true;
        Ok(())
    }

    /// The run as `name`, one environment of its fleet, sees it: what it
    /// builds is its own (`[environments.NAME.SECTION]` over the file's),
    /// and so is its package when its sections name another.
    pub fn for_environment(&self, name: &EnvName) -> Result<Settings, Failure> {
        let mut own = self.clone();
        own.config = self.config.for_environment(name.as_str());
        own.env = name.clone();
        let (file, mine) = (&self.config.stack.lambda, &own.config.stack.lambda);
        let other_package = (&file.package, &file.runtime, &file.handler)
            != (&mine.package, &mine.runtime, &mine.handler);
        if self.code_loaded && other_package {
            own.code = Arc::new(Code::example());
            own.load_code()?;
        }
        Ok(own)
    }

    /// The fleet's environments grouped by where they run (indices into
    /// `fleet`): one group per role (and external id) and region, whose
    /// environments share one connection, its per-service ceilings and
    /// one preflight against the account's quotas. A role session shared
    /// by several environments is named for none of them (`paysec-fleet`)
    /// unless the configuration names it.
    pub fn places(&self) -> Vec<(AwsSettings, Vec<usize>)> {
        let mut places: Vec<(AwsSettings, Vec<usize>)> = Vec::new();
        for (i, name) in self.fleet.iter().enumerate() {
            let aws = self.aws_for(name);
            match places.iter_mut().find(|(a, _)| same_place(a, &aws)) {
                Some((_, envs)) => envs.push(i),
                None => places.push((aws, vec![i])),
            }
        }
        for (aws, envs) in &mut places {
            let named = self
                .config
                .run
                .environments
                .get(self.fleet[envs[0]].as_str())
                .is_some_and(|a| a.role_session_name.is_some());
            if let Some(role) = aws.role.as_mut().filter(|_| envs.len() > 1 && !named) {
                role.session_name = "paysec-fleet".to_owned();
            }
        }
        places
    }

    /// Where `env` runs: the run's settings with the environment's own
    /// role and region (`[environments.NAME]`), the flags winning.
    pub fn aws_for(&self, env: &EnvName) -> AwsSettings {
        let mut aws = self.aws.clone();
        let access = self.config.run.environments.get(env.as_str());
        if let Some(region) = access.and_then(|a| a.region.clone()) {
            if !self.region_flag {
                aws.region = Some(region);
            }
        }
        aws.role = self.role_flag.clone().or_else(|| {
            access.and_then(|a| {
                a.role_arn.as_ref().map(|arn| AssumeRole {
                    arn: arn.clone(),
                    external_id: a.external_id.clone(),
                    session_name: a
                        .role_session_name
                        .clone()
                        .unwrap_or_else(|| format!("paysec-{env}")),
                })
            })
        });
        aws
    }
}

/// Whether two environments run in one place: the same role (and
/// external id), or none, in the same region. The session name does not
/// part them: it names who acts, not where.
fn same_place(a: &AwsSettings, b: &AwsSettings) -> bool {
    let role = |s: &AwsSettings| {
        s.role
            .as_ref()
            .map(|r| (r.arn.clone(), r.external_id.clone()))
    };
    a.region == b.region && role(a) == role(b)
}

/// `ledger` as given (flag, `PAYSEC_LEDGER`, config): a directory, or an
/// `s3://` URL checked here, before any AWS call.
pub fn ledger_spec(text: &str) -> Result<(Location, Option<S3Url>), Failure> {
    match S3Url::parse(text) {
        None => Ok((Location::Dir(PathBuf::from(text)), None)),
        Some(Ok(url)) => Ok((Location::Dir(PathBuf::new()), Some(url))),
        Some(Err(why)) => Err(Failure::Usage(format!("--ledger {why}"))),
    }
}

/// Connects the shared store when the ledger is on S3, with the run's
/// base credentials (the ledger's bucket may be in another account than
/// the environment): its writes are noted with the caller's ARN.
pub async fn resolve_ledger(settings: &mut Settings) -> Result<(), Failure> {
    let Some(url) = settings.ledger_url.clone() else {
        return Ok(());
    };
    settings.ledger = shared_store(
        &settings.aws,
        url,
        settings.config.run.ledger_owner.as_deref(),
    )
    .await?;
    Ok(())
}

/// The shared store at `url`.
pub async fn shared_store(
    aws: &AwsSettings,
    url: S3Url,
    owner: Option<&str>,
) -> Result<Location, Failure> {
    let aws = paysec_aws::Aws::connect(aws).await?;
    let caller = aws.identity().await?;
    // Every call names the bucket's expected owner: the configured one, else
    // the caller's own account. S3 refuses a call to a bucket of another
    // account, so a ledger is never read from, or written to, someone
    // else's bucket.
    let owner = owner.unwrap_or(&caller.account).to_owned();
    // The state bucket may live in another region than the run.
    let aws = aws.in_bucket_region(&url.bucket).await;
    paysec_aws::ledger_s3::refuse_outside_grants(&aws.s3, &url.bucket, &owner)
        .await
        .map_err(|detail| {
            Failure::Ledger(paysec_core::ledger::LedgerError::Remote {
                url: url.base(),
                detail,
            })
        })?;
    let store =
        S3Ledgers::new(url, aws.s3.clone(), caller.arn, owner).map_err(Failure::Internal)?;
    Ok(Location::Remote(std::sync::Arc::new(store)))
}

pub fn resolve(global: &Global) -> Result<Settings, Failure> {
    resolve_for(global, true)
}

/// [`resolve`] for a command about no environment (`ledger init`): an
/// environment name is not asked for.
pub fn resolve_without_env(global: &Global) -> Result<Settings, Failure> {
    resolve_for(global, false)
}

/// The process's variables that are text. A `PAYSEC_` one that is not is
/// refused by name (its value could be a setting); any other is none of
/// paysec's business (`std::env::vars` would panic on it).
fn utf8_vars() -> Result<Vec<(String, String)>, Failure> {
    let mut vars = Vec::new();
    for (name, value) in std::env::vars_os() {
        match (name.into_string(), value.into_string()) {
            (Ok(n), Ok(v)) => vars.push((n, v)),
            (Ok(n), Err(_)) if n.starts_with("PAYSEC_") => {
                return Err(Failure::Usage(format!(
                    "{n} is not valid UTF-8 text; fix or unset it"
                )))
            }
            _ => {}
        }
    }
    Ok(vars)
}

fn resolve_for(global: &Global, needs_env: bool) -> Result<Settings, Failure> {
    let mut config = Config::load(global.config.as_deref(), utf8_vars()?)?;
    if let Some(e) = global.env.first() {
        config.run.environment_suffix = Some(e.clone());
    }
    if let Some(r) = &global.region {
        config.run.region = Some(r.clone());
    }
    if let Some(p) = &global.profile {
        config.run.profile = Some(p.clone());
    }
    if let Some(u) = &global.endpoint_url {
        config.run.endpoint_url = Some(u.clone());
    }
    if global.allow_http_endpoint {
        config.run.allow_http_endpoint = true;
    }
    if let Some(l) = &global.ledger {
        config.run.ledger = Some(l.clone());
    }
    config.validate()?;
    let env = match config.run.environment_suffix.as_deref() {
        None if !needs_env => EnvName::parse("none")?,
        suffix => EnvName::parse(suffix.unwrap_or_default())?,
    };
    // One environment builds what its own sections say; a fleet's take
    // theirs one by one (`Settings::for_environment`).
    if global.env.len() <= 1 {
        config = config.for_environment(env.as_str());
    }
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
    // What STS would refuse, refused before any call and named by its flag.
    if let Some(name) = &global.role_session_name {
        if let Some(why) = paysec_config::session_name_problem(name) {
            return Err(Failure::Usage(format!(
                "--role-session-name {name:?}: {why}"
            )));
        }
    }
    // The flag, else the variable (which stays out of the process list);
    // either goes with --role-arn.
    let external_id = global
        .external_id
        .clone()
        .or_else(|| std::env::var("PAYSEC_EXTERNAL_ID").ok());
    if let Some(id) = &external_id {
        paysec_core::shown::hide(id);
    }
    if let Some(why) = external_id
        .as_deref()
        .and_then(paysec_config::external_id_problem)
    {
        // The id is a shared secret of sorts: not repeated.
        return Err(Failure::Usage(format!("--external-id: {why}")));
    }
    let role_flag = match &global.role_arn {
        Some(arn) if !paysec_config::is_role_arn(arn) => {
            return Err(Failure::Usage(format!(
                "--role-arn {arn}: not an IAM role's ARN (arn:aws:iam::ACCOUNT:role/NAME)"
            )))
        }
        Some(_) if global.env.len() > 1 => {
            return Err(Failure::Usage(
                "--role-arn is for one environment; give a fleet's roles per environment in the config ([environments.NAME] role_arn)".into(),
            ))
        }
        Some(arn) => Some(AssumeRole {
            arn: arn.clone(),
            external_id,
            session_name: global.role_session_name.clone().unwrap_or_else(|| {
                format!(
                    "paysec-{}",
                    config.run.environment_suffix.as_deref().unwrap_or("run")
                )
            }),
        }),
        None => None,
    };
    let aws = AwsSettings {
        profile: config.run.profile.clone(),
        region: config.run.region.clone(),
        endpoint_url: config.run.endpoint_url.clone(),
        allow_http_endpoint: config.run.allow_http_endpoint,
        max_attempts: config.run.max_attempts,
        calls_per_service: config.run.calls_per_service,
        role: None,
    };
    let (ledger, ledger_url) = match &config.run.ledger {
        Some(text) => ledger_spec(text).map_err(|e| {
            // Named where it came from, as every setting's error is.
            let from = if global.ledger.is_some() {
                "--ledger"
            } else if std::env::var_os("PAYSEC_LEDGER").is_some() {
                "PAYSEC_LEDGER"
            } else {
                "`ledger` in the config file"
            };
            Failure::Usage(e.to_string().replacen("--ledger", from, 1))
        })?,
        None => (Location::Dir(config.run.ledger_dir.clone()), None),
    };
    Ok(Settings {
        ledger,
        ledger_url,
        env,
        fleet,
        aws,
        region_flag: global.region.is_some(),
        role_flag,
        config,
        code: Arc::new(Code::example()),
        code_loaded: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use paysec_config::EnvironmentAccess;

    /// A fleet of `envs`, each placed by its `[environments.NAME]`.
    fn fleet(envs: &[(&str, EnvironmentAccess)]) -> Settings {
        let mut config = Config::default();
        for (name, access) in envs {
            config
                .run
                .environments
                .insert((*name).to_owned(), access.clone());
        }
        let fleet: Vec<EnvName> = envs.iter().map(|e| EnvName::parse(e.0).unwrap()).collect();
        Settings {
            config,
            env: fleet[0].clone(),
            fleet,
            ledger: Location::Dir(PathBuf::from(".paysec")),
            ledger_url: None,
            aws: AwsSettings {
                region: Some("us-east-1".into()),
                ..AwsSettings::default()
            },
            region_flag: false,
            role_flag: None,
            code: Arc::new(Code::example()),
            code_loaded: false,
        }
    }

    /// `[environments.NAME]` with this role, region and session name.
    fn at(role: Option<&str>, region: Option<&str>, session: Option<&str>) -> EnvironmentAccess {
        EnvironmentAccess {
            role_arn: role.map(str::to_owned),
            region: region.map(str::to_owned),
            role_session_name: session.map(str::to_owned),
            ..EnvironmentAccess::default()
        }
    }

    const A: Option<&str> = Some("arn:aws:iam::444444444444:role/Deployer");
    const B: Option<&str> = Some("arn:aws:iam::555555555555:role/Deployer");

    #[test]
    fn environments_of_one_role_and_region_share_one_place_and_a_fleet_session() {
        let s = fleet(&[
            ("a1", at(A, None, None)),
            ("b1", at(B, None, None)),
            ("a2", at(A, None, None)),
            ("a3", at(A, Some("eu-west-1"), None)),
            ("own", at(None, None, None)),
        ]);
        let places = s.places();
        let groups: Vec<&Vec<usize>> = places.iter().map(|(_, envs)| envs).collect();
        assert_eq!(groups, [&vec![0, 2], &vec![1], &vec![3], &vec![4]]);
        let (shared, _) = &places[0];
        assert_eq!(shared.role.as_ref().unwrap().session_name, "paysec-fleet");
        assert_eq!(shared.region.as_deref(), Some("us-east-1"));
        let (alone, _) = &places[1];
        assert_eq!(alone.role.as_ref().unwrap().session_name, "paysec-b1");
        assert_eq!(places[2].0.region.as_deref(), Some("eu-west-1"));
        assert!(places[3].0.role.is_none(), "the caller's own account");
    }

    #[test]
    fn a_configured_session_name_is_kept_for_a_shared_place() {
        let s = fleet(&[
            ("a1", at(A, None, Some("ci-deploy"))),
            ("a2", at(A, None, None)),
        ]);
        let places = s.places();
        assert_eq!(places.len(), 1);
        assert_eq!(places[0].0.role.as_ref().unwrap().session_name, "ci-deploy");
    }
}

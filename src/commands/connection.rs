//! Connecting a command to AWS: the clients on the vetted endpoints, who
//! the caller is, and the keys' administrators (configured, tagged on the
//! keys, recorded, or the caller's role), as one [`Connected`].

use std::sync::Arc;

use paysec_aws::{Aws, CallerIdentity};
use paysec_core::{Environment, Ledger};

use crate::exit::Failure;
use crate::settings::Settings;

/// A live connection: clients, who we are, and where the stack lives.
pub struct Connected {
    pub aws: Aws,
    pub caller: CallerIdentity,
    /// The keys' administrators, resolved (see `paysec_stack::key_admins`).
    pub key_admins: Vec<String>,
    /// The engine version and zones: as configured until [`preflight`]
    /// resolves them against the account.
    pub resolved: paysec_stack::Preflight,
    pub env: Arc<Environment>,
}

/// Connects for a command that creates (`up`, `plan`): the keys'
/// administrators must be resolved, or the run stops before any write.
pub async fn connect(settings: &Settings) -> Result<Connected, Failure> {
    connect_as(
        settings,
        &settings.aws_for(&settings.env),
        &settings.env,
        true,
    )
    .await
}

/// Connects `env` with `aws` (its account and region): for a command that
/// creates, the keys' administrators must resolve; for one that only
/// reads, the configured ones (or none) stand in, with a warning.
pub async fn connect_as(
    settings: &Settings,
    aws: &paysec_aws::AwsSettings,
    env: &paysec_core::naming::EnvName,
    creating: bool,
) -> Result<Connected, Failure> {
    let aws = Aws::connect(aws).await?;
    let caller = aws.identity().await?;
    let key_admins = match key_admins(settings, &aws, &caller).await {
        Ok(admins) => admins,
        Err(e) if !creating => {
            tracing::warn!(
                "{e}; the key policies are compared without the caller's role as administrator"
            );
            settings.config.stack.kms.admin_principals.clone()
        }
        Err(e) => return Err(e),
    };
    Ok(for_env(settings, aws, caller, key_admins, env))
}

/// Connects for a command that creates nothing (`down`, `verify`,
/// `invoke`): an auditor without iam:GetRole can still run them. If the
/// administrators cannot be resolved, the configured ones (or none) stand
/// in, and a warning says what that does to the key-policy check.
pub async fn connect_reading(settings: &Settings) -> Result<Connected, Failure> {
    connect_as(
        settings,
        &settings.aws_for(&settings.env),
        &settings.env,
        false,
    )
    .await
}

/// The key administrators the ledger recorded for the environment's keys
/// (the same for every key: one setting builds them all).
pub(crate) fn recorded_key_admins(ledger: &Ledger) -> Option<Vec<String>> {
    ledger
        .records()
        .values()
        .filter(|r| r.kind == "kms_key")
        .find_map(|r| r.attrs.get(paysec_core::Attr::KeyAdministrators.as_str()))
        .map(|joined| {
            joined
                .split(',')
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect()
        })
}

/// The administrators this environment's keys carry in their
/// `paysec:key-admins` tag (set with them by `up`), read from the first key
/// the ledger names that carries this environment's and its logical id's
/// tags; `None` when no key carries one (made before the tag, or admins a
/// tag cannot hold).
pub(crate) async fn admins_tagged_on_keys(
    aws: &paysec_aws::Aws,
    ledger: &Ledger,
    env: &paysec_core::naming::EnvName,
) -> Option<Vec<String>> {
    use paysec_core::tags::{key_admins_of, ENVIRONMENT, KEY_ADMINS, LOGICAL_ID};
    for (id, record) in ledger.records().iter().filter(|(_, r)| r.kind == "kms_key") {
        let Some(key) = record
            .attrs
            .get(paysec_core::Attr::KeyId.as_str())
            .or(record.physical_id.as_ref())
        else {
            continue;
        };
        // IAM: kms:ListResourceTags.
        let Ok(out) = aws.kms.list_resource_tags().key_id(key).send().await else {
            continue;
        };
        let tag = |name: &str| {
            out.tags()
                .iter()
                .find(|t| t.tag_key() == name)
                .map(|t| t.tag_value().to_owned())
        };
        if tag(ENVIRONMENT).as_deref() == Some(env.as_str())
            && tag(LOGICAL_ID).as_deref() == Some(id.as_str())
        {
            if let Some(admins) = tag(KEY_ADMINS) {
                return Some(key_admins_of(&admins));
            }
        }
    }
    None
}

/// The keys' administrators an environment keeps. With
/// `kms.admin_principals` unset they are fixed by the first `up` (its
/// caller's role) and recorded with the keys; every later run keeps them,
/// whoever runs it, so a colleague's or a CI role's `plan` of an
/// unchanged environment shows nothing to do and its `up` takes key
/// administration from nobody. Configured ones always win.
pub async fn keep_recorded_key_admins(settings: &Settings, ledger: &Ledger, c: &mut Connected) {
    if settings.config.stack.kms.admin_principals.is_empty() {
        // The keys' own tag first: the ledger's writers cannot change it,
        // so an edited ledger cannot hand a key to someone else.
        let name = c.env.name.clone();
        let recorded = match admins_tagged_on_keys(&c.aws, ledger, &name).await {
            Some(tagged) => Some(tagged),
            None => recorded_key_admins(ledger),
        };
        if let Some(recorded) = recorded {
            if recorded != c.key_admins {
                // What the desired state is fingerprinted from, too: the
                // same for every caller.
                let mut env = (*c.env).clone();
                env.desired_state =
                    paysec_stack::desired_state(&settings.config, &recorded, &settings.code.sha256);
                c.env = Arc::new(env);
                c.key_admins = recorded;
            }
        }
    }
}

/// The configured key administrators, else the caller's principal, asked
/// of IAM only when needed (an assumed role's ARN has a path the session
/// ARN does not show).
pub async fn key_admins(
    settings: &Settings,
    aws: &Aws,
    caller: &CallerIdentity,
) -> Result<Vec<String>, Failure> {
    let principal = if settings.config.stack.kms.admin_principals.is_empty() {
        aws.caller_principal(caller).await?
    } else {
        None
    };
    Ok(paysec_stack::key_admins(
        &settings.config,
        principal.as_deref(),
    ))
}

/// The connection of one environment, sharing the clients (and their
/// per-service ceilings) with every other environment of the process.
pub fn for_env(
    settings: &Settings,
    aws: Aws,
    caller: CallerIdentity,
    key_admins: Vec<String>,
    name: &paysec_core::naming::EnvName,
) -> Connected {
    let mut env = Environment::new(
        name.clone(),
        &caller.account,
        aws.region(),
        &caller.partition,
    );
    env.extra_tags = settings
        .config
        .stack
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    env.desired_state =
        paysec_stack::desired_state(&settings.config, &key_admins, &settings.code.sha256);
    tracing::info!(env = %name, account = %caller.account, region = %aws.region(), caller = %caller.arn, "connected");
    Connected {
        aws,
        caller,
        key_admins,
        resolved: paysec_stack::Preflight::unresolved(&settings.config),
        env: Arc::new(env),
    }
}

//! What the function must be: its spec (package, settings, database) and
//! the settings Lambda's calls get from it (network, variables, architecture).

use paysec_core::releases::Target;
use paysec_core::Attr;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_lambda::types::{Architecture, Environment, VpcConfig};
use paysec_core::resource::Context;
use paysec_core::{LogicalId, ResourceError};

use super::Function;
use crate::package::Code;
use crate::signing::Signing;

#[derive(Clone, Debug)]
pub struct FunctionSpec {
    pub runtime: String,
    /// The entry point in the package.
    pub handler: String,
    /// `x86_64` or `arm64`.
    pub architecture: String,
    /// The package to run: the configured one (or the example handler).
    pub code: Arc<Code>,
    /// The `CodeSha256` Lambda reports for `code`: its own digest, or,
    /// once a signed copy shipped, the copy's as the ledger records it
    /// (`Releases::shipped_digest`).
    pub configured_sha256: String,
    /// Code signing (`lambda.signing_profile`): every release signed, the
    /// function bound to the configuration that refuses unsigned code.
    pub signing: Option<Signing>,
    /// Where `live` must point: a version of `code`, or the version a
    /// rollback holds in service.
    pub target: Target,
    /// The team's variables (`[lambda] environment`), besides paysec's.
    pub variables: BTreeMap<String, String>,
    /// The database the code connects to with IAM authentication, when
    /// the stack has one.
    pub database: Option<Database>,
    pub memory_mb: i32,
    pub timeout_seconds: i32,
    /// Executions to reserve (`None`: none, by configuration).
    pub reserved_concurrency: Option<i32>,
    /// Budget for becoming Active (config `lambda.wait_minutes`).
    pub wait: Duration,
}

/// The database the function reaches: its endpoint comes from the
/// instance's record once it is available.
#[derive(Clone, Debug)]
pub struct Database {
    pub instance: LogicalId,
    /// The database name in the instance.
    pub name: String,
    /// The user it connects as (IAM authentication, `rds-db:connect`).
    pub user: String,
    pub port: i32,
}

impl Function {
    pub(super) fn vpc(&self, cx: &Context) -> Result<VpcConfig, ResourceError> {
        let subnets = self
            .subnets
            .iter()
            .map(|s| cx.physical_id(s).map(str::to_owned))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(VpcConfig::builder()
            .set_subnet_ids(Some(subnets))
            .security_group_ids(cx.physical_id(&self.security_group)?)
            .build())
    }

    /// Every variable the function gets: the team's, then paysec's own
    /// (`PAYSEC_*`: the environment's name and, with a database, how to
    /// reach it with IAM authentication; never a password).
    pub(super) fn variables(
        &self,
        cx: &Context,
    ) -> Result<BTreeMap<String, String>, ResourceError> {
        let mut vars = self.spec.variables.clone();
        vars.entry("LOG_LEVEL".into())
            .or_insert_with(|| "INFO".into());
        vars.insert("PAYSEC_ENVIRONMENT".into(), cx.env.name.to_string());
        // The database's address, once it has one: while `down` reads a
        // function whose stack never had a database, there is none.
        let database = self
            .spec
            .database
            .as_ref()
            .and_then(|db| Some((db, cx.attr(&db.instance, Attr::Address).ok()?)));
        if let Some((db, host)) = database {
            vars.insert("PAYSEC_DB_HOST".into(), host.to_owned());
            vars.insert("PAYSEC_DB_PORT".into(), db.port.to_string());
            vars.insert("PAYSEC_DB_NAME".into(), db.name.clone());
            vars.insert("PAYSEC_DB_USER".into(), db.user.clone());
        }
        Ok(vars)
    }

    pub(super) fn environment(&self, cx: &Context) -> Result<Environment, ResourceError> {
        Ok(Environment::builder()
            .set_variables(Some(self.variables(cx)?.into_iter().collect()))
            .build())
    }

    pub(super) fn architecture(&self) -> Architecture {
        Architecture::from(self.spec.architecture.as_str())
    }
}

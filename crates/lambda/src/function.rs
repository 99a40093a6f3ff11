//! The payment function: the team's package (or the example handler),
//! in the private subnets with its security group, environment encrypted
//! with the Lambda key, failed invocations to the DLQ, X-Ray tracing,
//! reserved concurrency, logs in the pre-created group. Every change of
//! code or settings is published as an immutable version and the alias
//! `live` moved to it (`crate::release`); a rollback's version is kept in
//! service while it holds.

use paysec_core::releases::Target;
use paysec_core::Attr;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_lambda::operation::create_function::CreateFunctionError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, DeadLetterConfig, Environment, FunctionCode, FunctionConfiguration, Runtime,
    State, TracingConfig, TracingMode, VpcConfig,
};
use paysec_aws::emulator::Gap;
use paysec_aws::{AwsResultExt, ServiceErrorExt};
use paysec_core::error::not_found_is_none;
use paysec_core::resource::{
    adopt_after_conflict, Checks, Comparison, Context, DeleteOutcome, Dependency, Observed,
    Present, QuickCheck, Resource, WaitBudget,
};
use paysec_core::retry::{retrying, rules};
use paysec_core::{ErrorClass, LogicalId, Property, ResourceError};

use crate::package::Code;
use crate::signing::{self, Signed, Signing};
use crate::{exposure, release};

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

paysec_core::properties! {
    /// What the function's read compares (LAM-1..12).
    pub enum FunctionProperty {
        Runtime = "runtime",
        Role = "role",
        KmsKey = "kms_key",
        DeadLetterQueue = "dead_letter_queue",
        Tracing = "tracing",
        MemoryMb = "memory_mb",
        TimeoutSeconds = "timeout_seconds",
        SecurityGroups = "security_groups",
        Subnets = "subnets",
        ReservedConcurrency = "reserved_concurrency",
        /// `$LATEST`'s code: the configured package, not code changed out
        /// of band.
        Code = "code",
        Handler = "handler",
        Architecture = "architecture",
        /// The variables (paysec's and the team's), by digest.
        Environment = "environment",
        /// The version `live` points to and its code.
        Release = "release",
        /// The code signing configuration the function uses (LAM-13).
        CodeSigning = "code_signing",
        /// Who signed the code of the version `live` points to (LAM-14).
        Signature = "signature",
        /// Who can reach it without AWS credentials (`crate::exposure`).
        PublicEntry = "public_entry",
    }
}

pub struct Function {
    pub id: LogicalId,
    pub aws: paysec_aws::Aws,
    pub spec: FunctionSpec,
    pub role: LogicalId,
    /// The role's permissions must exist before Lambda checks them.
    pub role_policy: LogicalId,
    pub kms_key: LogicalId,
    pub dlq: LogicalId,
    pub subnets: Vec<LogicalId>,
    pub security_group: LogicalId,
    pub log_group: LogicalId,
}

/// Errors from a role or key created moments ago, retried within budget.
const PROPAGATION: [paysec_core::retry::Rule; 4] = [
    rules::LAMBDA_ROLE_NOT_YET_ASSUMABLE,
    rules::LAMBDA_ROLE_NOT_YET_PERMITTED,
    rules::LAMBDA_KMS_NOT_YET_USABLE,
    rules::LAMBDA_THROTTLED_BY_EC2,
];

impl Function {
    fn name(cx: &Context) -> String {
        cx.env.names.lambda_function()
    }

    fn vpc(&self, cx: &Context) -> Result<VpcConfig, ResourceError> {
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
    fn variables(&self, cx: &Context) -> Result<BTreeMap<String, String>, ResourceError> {
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

    fn environment(&self, cx: &Context) -> Result<Environment, ResourceError> {
        Ok(Environment::builder()
            .set_variables(Some(self.variables(cx)?.into_iter().collect()))
            .build())
    }

    fn architecture(&self) -> Architecture {
        Architecture::from(self.spec.architecture.as_str())
    }

    /// Whether the account can reserve `wanted` executions for this
    /// function, which reserves `current` now. Lambda keeps 100 of the
    /// account's concurrency unreserved, or the whole limit when it is
    /// smaller (a new account's 10), and refuses PutFunctionConcurrency
    /// past that. `Err` says why not and what to do.
    async fn concurrency_room(
        &self,
        wanted: i32,
        current: Option<i32>,
    ) -> Result<Result<(), String>, ResourceError> {
        let out = match self
            .aws
            .lambda
            .get_account_settings()
            .send()
            .await
            .or_resource(&self.id, "GetAccountSettings")
        {
            Ok(out) => out,
            // Unreadable (denied to this caller; an emulator without the
            // call, moto among them): try the reservation, and let
            // PutFunctionConcurrency say whether it fits.
            Err(e) => {
                tracing::info!(resource = %self.id, error = %e, "cannot read the account's Lambda concurrency; trying the reservation");
                return Ok(Ok(()));
            }
        };
        let Some(limit) = out.account_limit() else {
            return Ok(Ok(()));
        };
        let total = limit.concurrent_executions();
        let unreserved = limit.unreserved_concurrent_executions().unwrap_or(total);
        Ok(concurrency_fits(total, unreserved, wanted, current))
    }

    /// Reserves the configured concurrency (or removes a reservation when
    /// the configuration says none); when the account has no room, warns
    /// and leaves it, so a new account's `up` still completes.
    async fn set_concurrency(&self, cx: &Context) -> Result<(), ResourceError> {
        let name = Self::name(cx);
        let current = retrying(&[rules::LAMBDA_FUNCTION_BUSY], || async {
            self.aws
                .lambda
                .get_function_concurrency()
                .function_name(&name)
                .send()
                .await
                .or_resource(&self.id, "GetFunctionConcurrency")
        })
        .await?
        .reserved_concurrent_executions();
        let Some(wanted) = self.spec.reserved_concurrency else {
            if current.is_some() {
                retrying(&[rules::LAMBDA_FUNCTION_BUSY], || async {
                    self.aws
                        .lambda
                        .delete_function_concurrency()
                        .function_name(&name)
                        .send()
                        .await
                        .or_resource(&self.id, "DeleteFunctionConcurrency")
                })
                .await?;
            }
            return Ok(());
        };
        if let Err(why) = self.concurrency_room(wanted, current).await? {
            tracing::warn!("{}: reserved concurrency not set: {why}", self.id);
            return Ok(());
        }
        let put = retrying(&[rules::LAMBDA_FUNCTION_BUSY], || async {
            self.aws
                .lambda
                .put_function_concurrency()
                .function_name(&name)
                .reserved_concurrent_executions(wanted)
                .send()
                .await
                .or_resource(&self.id, "PutFunctionConcurrency")
        })
        .await;
        match put {
            Ok(_) => Ok(()),
            // No room, found only now (the account's settings could not
            // be read first): the same warning as when they could.
            Err(e)
                if e.code() == Some("InvalidParameterValueException")
                    && e.message().contains("UnreservedConcurrentExecution") =>
            {
                tracing::warn!(
                    "{}: reserved concurrency not set: Lambda refused {wanted} ({}); request a higher \"Concurrent executions\" quota (Service Quotas), lower lambda.reserved_concurrency, or set it to \"none\"",
                    self.id,
                    e.message()
                );
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn present(cfg: &FunctionConfiguration, live: Option<&release::Live>) -> Present {
        let p = Self::present_of(
            cfg.function_name().unwrap_or_default(),
            cfg.function_arn().unwrap_or_default(),
            live,
        );
        // The job that signed `$LATEST`'s code: what a version published
        // from it runs (the release record names it).
        match cfg.signing_job_arn() {
            Some(job) => p.with(Attr::SigningJobArn, job),
            None => p,
        }
    }

    /// `present` naming the job that signed `$LATEST`'s code, or none when
    /// the code just put there is unsigned.
    fn with_job(mut present: Present, signed: Option<Signed>) -> Present {
        match signed {
            Some(s) => present.with(Attr::SigningJobArn, s.job_arn),
            None => {
                present.attrs.remove(Attr::SigningJobArn.as_str());
                present
            }
        }
    }

    fn present_of(name: &str, arn: &str, live: Option<&release::Live>) -> Present {
        let mut p = Present::new(name)
            .with(Attr::Name, name)
            .with(Attr::Arn, arn);
        if let Some(live) = live {
            p = p
                .with(Attr::Version, &live.version)
                .with(Attr::CodeSha256, &live.code_sha256)
                .with(Attr::AliasArn, &live.alias_arn)
                .with(Attr::AliasResource, format!("{name}:{}", release::ALIAS));
        }
        p
    }

    /// The settings UpdateFunctionConfiguration sets, all in one call,
    /// then waits for the update to finish.
    ///
    /// IAM: lambda:UpdateFunctionConfiguration, iam:PassRole (the
    /// execution role), lambda:GetFunctionConfiguration.
    async fn put_configuration(&self, cx: &Context) -> Result<(), ResourceError> {
        let name = Self::name(cx);
        let req = self
            .aws
            .lambda
            .update_function_configuration()
            .function_name(&name)
            .runtime(Runtime::from(self.spec.runtime.as_str()))
            .handler(&self.spec.handler)
            .role(cx.attr(&self.role, Attr::Arn)?)
            .memory_size(self.spec.memory_mb)
            .timeout(self.spec.timeout_seconds)
            .vpc_config(self.vpc(cx)?)
            .kms_key_arn(cx.attr(&self.kms_key, Attr::Arn)?)
            .dead_letter_config(
                DeadLetterConfig::builder()
                    .target_arn(cx.attr(&self.dlq, Attr::Arn)?)
                    .build(),
            )
            .tracing_config(TracingConfig::builder().mode(TracingMode::Active).build())
            .environment(self.environment(cx)?);
        let mut all = PROPAGATION.to_vec();
        all.push(rules::LAMBDA_FUNCTION_BUSY);
        retrying(&all, || async {
            req.clone()
                .send()
                .await
                .or_resource(&self.id, "UpdateFunctionConfiguration")
        })
        .await?;
        release::wait_updated(&self.aws, cx, &self.id, &name, self.spec.wait).await
    }

    /// The configured package into `$LATEST` (its signed copy when
    /// signing is on), built for the configured architecture, then waits
    /// for the update to finish; returns the `CodeSha256` Lambda reports
    /// and the signing.
    ///
    /// IAM: lambda:UpdateFunctionCode, lambda:GetFunctionConfiguration
    /// (with signing, also s3:GetObject on the signed copy and what
    /// `signing::sign` needs).
    async fn put_code(&self, cx: &Context) -> Result<(String, Option<Signed>), ResourceError> {
        let name = Self::name(cx);
        let signed = self.sign(cx).await?;
        let out = retrying(&[rules::LAMBDA_FUNCTION_BUSY], || async {
            let req = self
                .aws
                .lambda
                .update_function_code()
                .function_name(&name)
                .architectures(self.architecture());
            match &signed {
                Some(s) => req.s3_bucket(&s.bucket).s3_key(&s.key),
                None => req.zip_file(Blob::new(self.spec.code.zip.clone())),
            }
            .send()
            .await
            .or_resource(&self.id, "UpdateFunctionCode")
        })
        .await?;
        release::wait_updated(&self.aws, cx, &self.id, &name, self.spec.wait).await?;
        Ok((out.code_sha256().unwrap_or_default().to_owned(), signed))
    }

    /// The configured package signed (`None` without signing).
    async fn sign(&self, cx: &Context) -> Result<Option<Signed>, ResourceError> {
        let Some(signing) = &self.spec.signing else {
            return Ok(None);
        };
        let bucket = cx.physical_id(&signing.bucket)?.to_owned();
        signing::sign(
            &self.aws,
            cx,
            &self.id,
            &signing.profile,
            &bucket,
            &self.spec.code,
            self.spec.wait,
        )
        .await
        .map(Some)
    }

    /// The code signing configuration the function uses (`None`: none).
    ///
    /// IAM: lambda:GetFunctionCodeSigningConfig.
    async fn code_signing_config(&self, name: &str) -> Result<Option<String>, ResourceError> {
        let out = self
            .aws
            .lambda
            .get_function_code_signing_config()
            .function_name(name)
            .send()
            .await
            .or_resource(&self.id, "GetFunctionCodeSigningConfig")?;
        Ok(Some(out.code_signing_config_arn().to_owned()).filter(|a| !a.is_empty()))
    }

    /// Binds the function to the configuration, or unbinds it when signing
    /// is off.
    ///
    /// IAM: lambda:PutFunctionCodeSigningConfig,
    /// lambda:DeleteFunctionCodeSigningConfig.
    async fn put_code_signing(&self, cx: &Context) -> Result<(), ResourceError> {
        let name = Self::name(cx);
        match &self.spec.signing {
            Some(signing) => {
                let arn = cx.attr(&signing.config, Attr::Arn)?.to_owned();
                retrying(&[rules::LAMBDA_FUNCTION_BUSY], || async {
                    self.aws
                        .lambda
                        .put_function_code_signing_config()
                        .function_name(&name)
                        .code_signing_config_arn(&arn)
                        .send()
                        .await
                        .or_resource(&self.id, "PutFunctionCodeSigningConfig")
                })
                .await?;
            }
            None => {
                retrying(&[rules::LAMBDA_FUNCTION_BUSY], || async {
                    self.aws
                        .lambda
                        .delete_function_code_signing_config()
                        .function_name(&name)
                        .send()
                        .await
                        .or_resource(&self.id, "DeleteFunctionCodeSigningConfig")
                })
                .await?;
            }
        }
        Ok(())
    }

    /// Records `CodeSigning` and `Signature`: the function bound to the
    /// stack's configuration, and the code `live` runs signed by the
    /// configured profile's current version (the version ARN and job
    /// Lambda reports, quoted). Lambda checks a signature only when code
    /// is deployed, so code signed by an older profile version keeps
    /// running until a new release: that is drift, and `up` signs and
    /// ships again; while a rollback holds, a deviation (the rollback is
    /// the decision in force). Returns the configuration bound, for the
    /// record.
    ///
    /// IAM: lambda:GetFunctionCodeSigningConfig, signer:GetSigningProfile.
    async fn check_signing(
        &self,
        cx: &Context,
        checks: &mut Checks,
        name: &str,
        live: Option<&release::Live>,
    ) -> Result<Option<String>, ResourceError> {
        let Some(signing) = &self.spec.signing else {
            // Only a function the ledger records bound (signing switched
            // off since) is asked: the call is not offered where Signer is
            // not, and a deployer's older policy may not grant it.
            let bound = match cx.recorded_attr(Attr::CodeSigningConfigArn) {
                Some(_) => match self.code_signing_config(name).await {
                    Ok(bound) => bound,
                    Err(e) if e.class() == ErrorClass::AccessDenied => None,
                    Err(e) => return Err(e),
                },
                None => None,
            };
            match &bound {
                // Left from when signing was on: taken off.
                Some(arn) => checks.equal(
                    FunctionProperty::CodeSigning,
                    "none (lambda.signing_profile is unset)",
                    arn,
                ),
                None => checks.not_applicable(
                    FunctionProperty::CodeSigning,
                    "lambda.signing_profile is unset: no code signing",
                ),
            }
            checks.not_applicable(
                FunctionProperty::Signature,
                "lambda.signing_profile is unset: no code signing",
            );
            return Ok(bound);
        };
        let bound = self.code_signing_config(name).await?;
        // Not made yet (a plan before the first signed `up`), or not this
        // run's (`down` reads with the whole stack's settings).
        let wanted = cx
            .attr(&signing.config, Attr::Arn)
            .unwrap_or("the stack's code signing configuration, not made yet");
        checks.equal(
            FunctionProperty::CodeSigning,
            wanted,
            bound.as_deref().unwrap_or("none"),
        );
        let current = match signing::profile(&self.aws, &self.id, &signing.profile).await {
            Ok(p) => Some(p.version_arn),
            Err(e) if e.class() == ErrorClass::NotFound => None,
            Err(e) => return Err(e),
        };
        let cfg = live.map(|l| &l.configuration);
        let version_arn = cfg.and_then(|c| c.signing_profile_version_arn());
        let job = cfg.and_then(|c| c.signing_job_arn());
        let expected = match &current {
            Some(v) => format!(
                "live's code signed by {v}, profile {}'s current version",
                signing.profile
            ),
            None => format!(
                "live's code signed by profile {}, which Signer does not find",
                signing.profile
            ),
        };
        let actual = match (live, version_arn) {
            (None, _) => "no alias live".to_owned(),
            (Some(l), Some(v)) => format!(
                "version {} signed by {v} (job {})",
                l.version,
                job.unwrap_or("unreported")
            ),
            (Some(l), None) => format!("version {} is unsigned", l.version),
        };
        let ok = current.is_some() && version_arn == current.as_deref() && job.is_some();
        match &self.spec.target {
            Target::Held { version, .. } if !ok => checks.deviation(
                FunctionProperty::Signature,
                format!(
                    "a rollback holds version {version} in service ({actual}); the next `paysec deploy` ships a release signed by the profile's current version"
                ),
            ),
            _ => checks.check(FunctionProperty::Signature, ok, expected, actual),
        }
        Ok(bound)
    }
}

#[async_trait]
impl Resource for Function {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "lambda_function"
    }

    /// Pending while Lambda sets up its VPC network interfaces.
    fn typical_wait(&self) -> Duration {
        Duration::from_secs(90)
    }

    fn dependencies(&self) -> Vec<Dependency> {
        let mut deps: Vec<Dependency> = [
            &self.role,
            &self.role_policy,
            &self.kms_key,
            &self.dlq,
            &self.security_group,
            &self.log_group,
        ]
        .into_iter()
        .chain(&self.subnets)
        .cloned()
        .map(Dependency::Identity)
        .collect();
        // The release bucket holds the signed code; the configuration is
        // named on create.
        if let Some(signing) = &self.spec.signing {
            deps.push(Dependency::Identity(signing.bucket.clone()));
            deps.push(Dependency::Identity(signing.config.clone()));
        }
        // Its address exists once the instance is available.
        if let Some(db) = &self.spec.database {
            deps.push(Dependency::Ready(db.instance.clone()));
        }
        deps
    }

    /// GetFunctionConfiguration of `live`: Active, running the code it
    /// must (settings, network, key and concurrency are read only by a
    /// full read).
    async fn quick_check(
        &self,
        cx: &Context,
        _known: &Present,
    ) -> Result<QuickCheck, ResourceError> {
        let found = self
            .aws
            .lambda
            .get_function_configuration()
            .function_name(Self::name(cx))
            .qualifier(release::ALIAS)
            .send()
            .await
            .or_resource(&self.id, "GetFunctionConfiguration");
        QuickCheck::from_lookup(found, |cfg| {
            let version_ok = match &self.spec.target {
                Target::Held { version, .. } => cfg.version() == Some(version.as_str()),
                Target::Configured { .. } => true,
            };
            cfg.state() == Some(&State::Active)
                && version_ok
                && cfg.code_sha256() == Some(self.spec.target.sha256())
        })
    }

    async fn read(
        &self,
        cx: &Context,
        _known: Option<&Present>,
    ) -> Result<Observed, ResourceError> {
        let name = Self::name(cx);
        let out = match self
            .aws
            .lambda
            .get_function()
            .function_name(&name)
            .send()
            .await
            .or_resource(&self.id, "GetFunction")
        {
            Ok(o) => o,
            Err(e) if e.class() == ErrorClass::NotFound => return Ok(Observed::Missing),
            Err(e) => return Err(e),
        };
        let Some(latest) = out.configuration() else {
            return Ok(Observed::Missing);
        };
        // A Failed function's properties are not what is wrong with it.
        if latest.state() == Some(&State::Failed) {
            return Err(failed(
                &self.id,
                latest.function_name().unwrap_or_default(),
                latest.state_reason_code(),
                latest.state_reason(),
            ));
        }
        let live = release::live(&self.aws, &self.id, &name).await?;
        // The settings that run are the version's behind `live`; while a
        // rollback holds that version is an older release on purpose, and
        // the settings are compared on `$LATEST`, where the next release
        // is made.
        let held = matches!(self.spec.target, Target::Held { .. });
        let cfg = match &live {
            Some(l) if !held => &l.configuration,
            _ => latest,
        };
        let mut checks = Checks::default();
        checks.equal(
            FunctionProperty::Runtime,
            &self.spec.runtime,
            cfg.runtime().map(|r| r.as_str()).unwrap_or(""),
        );
        checks.equal(
            FunctionProperty::Handler,
            &self.spec.handler,
            cfg.handler().unwrap_or(""),
        );
        checks.equal(
            FunctionProperty::Architecture,
            &self.spec.architecture,
            cfg.architectures()
                .first()
                .map(|a| a.as_str())
                .unwrap_or("x86_64"),
        );
        let wanted_vars = self.variables(cx)?;
        let live_vars: BTreeMap<String, String> = cfg
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        checks.equal(
            FunctionProperty::Environment,
            release::describe_variables(&wanted_vars),
            release::describe_variables(&live_vars),
        );
        checks.equal(
            FunctionProperty::Role,
            cx.attr(&self.role, Attr::Arn)?,
            cfg.role().unwrap_or(""),
        );
        checks.equal(
            FunctionProperty::KmsKey,
            cx.attr(&self.kms_key, Attr::Arn)?,
            cfg.kms_key_arn().unwrap_or("none"),
        );
        match cfg.dead_letter_config().and_then(|d| d.target_arn()) {
            None if self.aws.tolerates(Gap::DeadLetterConfigNotReturned) => {}
            got => checks.equal(
                FunctionProperty::DeadLetterQueue,
                cx.attr(&self.dlq, Attr::Arn)?,
                got.unwrap_or("none"),
            ),
        }
        checks.equal(
            FunctionProperty::Tracing,
            "Active",
            cfg.tracing_config()
                .and_then(|t| t.mode())
                .map(|m| m.as_str())
                .unwrap_or("PassThrough"),
        );
        checks.equal(
            FunctionProperty::MemoryMb,
            self.spec.memory_mb.to_string(),
            cfg.memory_size().unwrap_or(0).to_string(),
        );
        checks.equal(
            FunctionProperty::TimeoutSeconds,
            self.spec.timeout_seconds.to_string(),
            cfg.timeout().unwrap_or(0).to_string(),
        );
        let sg = cx.physical_id(&self.security_group)?;
        let vpc = cfg.vpc_config();
        checks.equal(
            FunctionProperty::SecurityGroups,
            sg,
            vpc.map(|v| v.security_group_ids().join(","))
                .unwrap_or_default(),
        );
        let mut want_subnets = self
            .subnets
            .iter()
            .map(|s| cx.physical_id(s).map(str::to_owned))
            .collect::<Result<Vec<_>, _>>()?;
        want_subnets.sort();
        let mut have_subnets = vpc.map(|v| v.subnet_ids().to_vec()).unwrap_or_default();
        have_subnets.sort();
        checks.equal(
            FunctionProperty::Subnets,
            want_subnets.join(","),
            have_subnets.join(","),
        );
        let reserved = out
            .concurrency()
            .and_then(|c| c.reserved_concurrent_executions());
        let shown = reserved
            .map(|r| r.to_string())
            .unwrap_or_else(|| "unreserved".into());
        match (self.spec.reserved_concurrency, reserved) {
            (Some(wanted), Some(r)) if wanted == r => {
                checks.equal(FunctionProperty::ReservedConcurrency, wanted, r);
            }
            (Some(wanted), _) => match self.concurrency_room(wanted, reserved).await? {
                Ok(()) => checks.equal(FunctionProperty::ReservedConcurrency, wanted, shown),
                Err(why) => checks.deviation(FunctionProperty::ReservedConcurrency, why),
            },
            (None, None) => checks.deviation(
                FunctionProperty::ReservedConcurrency,
                "lambda.reserved_concurrency is \"none\" in the configuration",
            ),
            (None, Some(_)) => {
                checks.equal(FunctionProperty::ReservedConcurrency, "unreserved", shown)
            }
        }
        // `$LATEST`'s SHA-256 (Lambda's CodeSha256, base64) against the
        // configured package's: code changed out of band is drift, and
        // the reviewed code wins. The same size proves nothing, the same
        // digest the same bytes.
        // With signing, each signature gives other bytes: `$LATEST` holds
        // the configured code when Signer signed it from the configured
        // package (the job's source object is the package's own key), even
        // if no release recorded that copy (a rollback holds).
        let latest_sha = latest.code_sha256().unwrap_or("unreported");
        let signed_from_package = match (&self.spec.signing, latest.signing_job_arn()) {
            (Some(_), Some(job)) if latest_sha != self.spec.configured_sha256 => {
                signing::job_source_key(&self.aws, &self.id, job).await?
                    == Some(signing::package_key(&self.spec.code))
            }
            _ => false,
        };
        if signed_from_package {
            checks.check(
                FunctionProperty::Code,
                true,
                format!(
                    "$LATEST: the configured package (CodeSha256 {}), signed",
                    self.spec.code.sha256
                ),
                format!(
                    "$LATEST CodeSha256 {latest_sha}, signed by job {} from the configured package",
                    latest.signing_job_arn().unwrap_or_default()
                ),
            );
        } else {
            checks.equal(
                FunctionProperty::Code,
                format!("$LATEST CodeSha256 {}", self.spec.configured_sha256),
                format!("$LATEST CodeSha256 {latest_sha}"),
            );
        }
        release::check(&mut checks, &self.spec.target, live.as_ref());
        let bound = self
            .check_signing(cx, &mut checks, &name, live.as_ref())
            .await?;
        let exposure = exposure::read(&self.aws, &self.id, &name).await?;
        exposure::check(&mut checks, FunctionProperty::PublicEntry, &exposure);
        let present = Self::present(latest, live.as_ref());
        Ok(checks.observed(match bound {
            Some(arn) => present.with(Attr::CodeSigningConfigArn, arn),
            None => present,
        }))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let tags: HashMap<String, String> = cx.tags().into_iter().collect();
        // Signed code comes from the release bucket, and the function is
        // bound to the configuration from its first version.
        let signed = self.sign(cx).await?;
        let code = match &signed {
            Some(s) => FunctionCode::builder().s3_bucket(&s.bucket).s3_key(&s.key),
            None => FunctionCode::builder().zip_file(Blob::new(self.spec.code.zip.clone())),
        }
        .build();
        let config_arn = match &self.spec.signing {
            Some(signing) => Some(cx.attr(&signing.config, Attr::Arn)?.to_owned()),
            None => None,
        };
        let req = self
            .aws
            .lambda
            .create_function()
            .function_name(Self::name(cx))
            .description("paysec payment function")
            .runtime(Runtime::from(self.spec.runtime.as_str()))
            .architectures(self.architecture())
            .role(cx.attr(&self.role, Attr::Arn)?)
            .handler(&self.spec.handler)
            .code(code)
            .set_code_signing_config_arn(config_arn)
            .memory_size(self.spec.memory_mb)
            .timeout(self.spec.timeout_seconds)
            .vpc_config(self.vpc(cx)?)
            .kms_key_arn(cx.attr(&self.kms_key, Attr::Arn)?)
            .dead_letter_config(
                DeadLetterConfig::builder()
                    .target_arn(cx.attr(&self.dlq, Attr::Arn)?)
                    .build(),
            )
            .tracing_config(TracingConfig::builder().mode(TracingMode::Active).build())
            .environment(self.environment(cx)?)
            // Version 1, the first release: `live` points to it below.
            // IAM: lambda:CreateFunction, lambda:TagResource, iam:PassRole;
            // with signing, s3:GetObject and s3:GetObjectVersion on the
            // signed copy (Lambda reads it as the caller) and what
            // `signing::sign` needs before; then lambda:CreateAlias
            // (`release::point_live`).
            .publish(true)
            .set_tags(Some(tags));
        let created = retrying(&PROPAGATION, || async {
            req.clone()
                .send()
                .await
                .or_resource(&self.id, "CreateFunction")
        })
        .await;
        let cfg = match created {
            Ok(cfg) => cfg,
            // Created by a run whose result was lost: converge it instead.
            Err(e)
                if e.service_error::<CreateFunctionError>()
                    .is_some_and(CreateFunctionError::is_resource_conflict_exception)
                    && e.message().contains("exist") =>
            {
                return adopt_after_conflict(self, cx, e).await;
            }
            Err(e) => return Err(e),
        };
        let name = Self::name(cx);
        let version = cfg.version().unwrap_or("1").to_owned();
        let alias_arn = release::point_live(&self.aws, &self.id, &name, &version).await?;
        self.set_concurrency(cx).await?;
        let live = release::Live {
            version,
            code_sha256: cfg.code_sha256().unwrap_or_default().to_owned(),
            alias_arn,
            configuration: FunctionConfiguration::builder().build(),
        };
        let present = Self::present_of(
            cfg.function_name().unwrap_or_default(),
            cfg.function_arn().unwrap_or_default(),
            Some(&live),
        );
        let present = match self.spec.signing.as_ref() {
            Some(signing) => present.with(
                Attr::CodeSigningConfigArn,
                cx.attr(&signing.config, Attr::Arn)?,
            ),
            None => present,
        };
        Ok(Self::with_job(present, signed))
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        let name = Self::name(cx);
        let drifted = FunctionProperty::drifted(&self.id, drift)?;
        let has = |p: FunctionProperty| drifted.iter().any(|(q, _)| *q == p);
        if has(FunctionProperty::PublicEntry) {
            let found = exposure::read(&self.aws, &self.id, &name).await?;
            exposure::close(&self.aws, &self.id, &name, &found).await?;
        }
        let mut present = present.clone();
        // Bound before any code ships: the configuration then checks it.
        if has(FunctionProperty::CodeSigning) {
            self.put_code_signing(cx).await?;
            match &self.spec.signing {
                Some(signing) => {
                    present = present.with(
                        Attr::CodeSigningConfigArn,
                        cx.attr(&signing.config, Attr::Arn)?,
                    )
                }
                None => {
                    present.attrs.remove(Attr::CodeSigningConfigArn.as_str());
                }
            }
        }
        // What a new version is made of: code (built for an architecture;
        // signed again when `live`'s signature is not the profile's) and
        // the settings UpdateFunctionConfiguration sets.
        let code = has(FunctionProperty::Code)
            || has(FunctionProperty::Architecture)
            || has(FunctionProperty::Signature);
        let configuration = drifted.iter().any(|(p, _)| match p {
            FunctionProperty::Runtime
            | FunctionProperty::Handler
            | FunctionProperty::Environment
            | FunctionProperty::Role
            | FunctionProperty::KmsKey
            | FunctionProperty::DeadLetterQueue
            | FunctionProperty::Tracing
            | FunctionProperty::MemoryMb
            | FunctionProperty::TimeoutSeconds
            | FunctionProperty::SecurityGroups
            | FunctionProperty::Subnets => true,
            FunctionProperty::Code
            | FunctionProperty::Architecture
            | FunctionProperty::CodeSigning
            | FunctionProperty::Signature
            | FunctionProperty::Release
            | FunctionProperty::ReservedConcurrency
            | FunctionProperty::PublicEntry => false,
        });
        let release_drift = has(FunctionProperty::Release);
        match &self.spec.target {
            // A rollback holds: `$LATEST` is put right for the next
            // release, and `live` stays on (or goes back to) the held
            // version; nothing is published, so the release rolled back
            // from is never shipped again.
            Target::Held { version, sha256 } => {
                if code {
                    let (_, signed) = self.put_code(cx).await?;
                    present = Self::with_job(present, signed);
                }
                if configuration {
                    self.put_configuration(cx).await?;
                }
                if release_drift {
                    let alias_arn =
                        release::point_live(&self.aws, &self.id, &name, version).await?;
                    present = present
                        .with(Attr::Version, version)
                        .with(Attr::CodeSha256, sha256)
                        .with(Attr::AliasArn, alias_arn)
                        .with(Attr::AliasResource, format!("{name}:{}", release::ALIAS));
                }
            }
            // A new release: `$LATEST` gets the configured code (if it
            // differs) and every setting (always: someone may have changed
            // `$LATEST` without publishing, and the version must carry what
            // was configured), is published only if its code is the
            // configured package's, and `live` moves to it.
            Target::Configured { sha256 } => {
                if code || configuration || release_drift {
                    // A signed copy is new bytes each time: what `$LATEST`
                    // holds now is what Lambda says it took.
                    let mut sha256 = sha256.clone();
                    if code {
                        let (shipped, signed) = self.put_code(cx).await?;
                        if signed.is_some() {
                            sha256 = shipped;
                        }
                        present = Self::with_job(present, signed);
                    }
                    self.put_configuration(cx).await?;
                    let published = release::publish(&self.aws, &self.id, &name, &sha256).await?;
                    let alias_arn =
                        release::point_live(&self.aws, &self.id, &name, &published).await?;
                    present = present
                        .with(Attr::Version, published)
                        .with(Attr::CodeSha256, &sha256)
                        .with(Attr::AliasArn, alias_arn)
                        .with(Attr::AliasResource, format!("{name}:{}", release::ALIAS));
                }
            }
        }
        if has(FunctionProperty::ReservedConcurrency) {
            self.set_concurrency(cx).await?;
        }
        Ok(present)
    }

    /// Pending → Active (Lambda sets up VPC networking in between), for
    /// the version `live` points to; on Failed, AWS's reason is the error.
    async fn wait_ready(&self, cx: &Context, present: Present) -> Result<Present, ResourceError> {
        let qualifier = present
            .attrs
            .get(Attr::Version.as_str())
            .map(|_| release::ALIAS);
        cx.poll_until(
            "the function to become Active",
            "Active",
            WaitBudget {
                limit: self.spec.wait,
                setting: "lambda.wait_minutes",
            },
            || async {
                let out = self
                    .aws
                    .lambda
                    .get_function_configuration()
                    .function_name(Self::name(cx))
                    .set_qualifier(qualifier.map(str::to_owned))
                    .send()
                    .await
                    .or_resource(&self.id, "GetFunctionConfiguration")?;
                match out.state() {
                    Some(State::Active) => Ok(Some(())),
                    Some(State::Failed) => Err(failed(
                        &self.id,
                        &Self::name(cx),
                        out.state_reason_code(),
                        out.state_reason(),
                    )),
                    _ => Ok(None),
                }
            },
        )
        .await?;
        Ok(present)
    }

    async fn delete(&self, cx: &Context, _known: &Present) -> Result<DeleteOutcome, ResourceError> {
        // Every version and alias goes with it. Its VPC network interfaces
        // outlive it by up to 45 minutes; the subnet and security group
        // deletes wait for them.
        not_found_is_none(
            self.aws
                .lambda
                .delete_function()
                .function_name(Self::name(cx))
                .send()
                .await
                .or_resource(&self.id, "DeleteFunction"),
        )?;
        Ok(DeleteOutcome::default())
    }
}

/// The error for a function in state Failed: AWS's reason, and what to do.
pub fn failed(
    id: &LogicalId,
    function: &str,
    code: Option<&aws_sdk_lambda::types::StateReasonCode>,
    reason: Option<&str>,
) -> ResourceError {
    ResourceError::unexpected(
        id,
        format!(
            "function {function} is Failed: {}: {}; fix the cause (often its KMS key, role or subnets), then run `paysec up` again",
            code.map(|s| s.as_str()).unwrap_or("Unknown"),
            reason.unwrap_or("no reason given")
        ),
    )
}

/// Whether reserving `wanted` (the function reserving `current` now) fits
/// an account whose limit is `total` with `unreserved` left; `Err` says
/// why not and what to do.
pub fn concurrency_fits(
    total: i32,
    unreserved: i32,
    wanted: i32,
    current: Option<i32>,
) -> Result<(), String> {
    let keep = total.min(100);
    let free = unreserved + current.unwrap_or(0);
    if free - wanted >= keep {
        return Ok(());
    }
    Err(format!(
        "the account's Lambda concurrency limit is {total} with {unreserved} unreserved, and AWS keeps {keep} unreserved, so {wanted} cannot be reserved; request a higher \"Concurrent executions\" quota (Service Quotas), lower lambda.reserved_concurrency, or set it to \"none\""
    ))
}

#[cfg(test)]
mod concurrency_tests {
    use super::concurrency_fits;

    #[test]
    fn a_new_account_has_no_room_and_a_grown_one_has() {
        assert!(
            concurrency_fits(10, 10, 1, None).is_err(),
            "new account: limit 10"
        );
        let why = concurrency_fits(10, 10, 10, None).unwrap_err();
        assert!(
            why.contains("limit is 10") && why.contains("\"none\""),
            "{why}"
        );
        assert!(concurrency_fits(1000, 1000, 10, None).is_ok());
        assert!(
            concurrency_fits(1000, 105, 10, None).is_err(),
            "100 must stay unreserved"
        );
        assert!(
            concurrency_fits(1000, 100, 10, Some(10)).is_ok(),
            "its own reservation counts back"
        );
    }
}

//! The function as a resource: its dependencies, the quick check, the full
//! read comparing every property, create, repair, the wait for Active, delete.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_lambda::operation::create_function::CreateFunctionError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    DeadLetterConfig, FunctionCode, FunctionConfiguration, Runtime, State, TracingConfig,
    TracingMode,
};
use paysec_aws::emulator::Gap;
use paysec_aws::{AwsResultExt, ServiceErrorExt};
use paysec_core::error::not_found_is_none;
use paysec_core::releases::Target;
use paysec_core::resource::{
    adopt_after_conflict, Checks, Comparison, Context, DeleteOutcome, Dependency, Observed,
    Present, QuickCheck, Resource, WaitBudget,
};
use paysec_core::retry::retrying;
use paysec_core::{Attr, ErrorClass, LogicalId, Property, ResourceError};

use super::{failed, Function, FunctionProperty, PROPAGATION};
use crate::{exposure, release, signing};

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

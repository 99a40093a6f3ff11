//! The payment function: in the private subnets with its security group,
//! environment encrypted with the Lambda key, failed invocations to the
//! DLQ, X-Ray tracing, reserved concurrency, logs in the pre-created group.

use paysec_core::Attr;
use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_lambda::operation::create_function::CreateFunctionError;
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    DeadLetterConfig, Environment, FunctionCode, Runtime, State, TracingConfig, TracingMode,
    VpcConfig,
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

use crate::{exposure, package};

#[derive(Clone, Debug)]
pub struct FunctionSpec {
    pub runtime: String,
    pub memory_mb: i32,
    pub timeout_seconds: i32,
    /// Executions to reserve (`None`: none, by configuration).
    pub reserved_concurrency: Option<i32>,
    /// Budget for becoming Active (config `lambda.wait_minutes`).
    pub wait: Duration,
}

paysec_core::properties! {
    /// What the function's read compares (LAM-1..10).
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
        Code = "code",
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

const HANDLER: &str = "handler.handler";

/// Errors from a role or key created moments ago, retried within budget.
const PROPAGATION: [paysec_core::retry::Rule; 4] = [
    rules::LAMBDA_ROLE_NOT_YET_ASSUMABLE,
    rules::LAMBDA_ROLE_NOT_YET_PERMITTED,
    rules::LAMBDA_KMS_NOT_YET_USABLE,
    rules::LAMBDA_THROTTLED_BY_EC2,
];

impl Function {
    /// GetFunctionConfiguration: its state (Pending, Active, Failed) and
    /// settings, without the code location GetFunction adds.
    async fn configuration(
        &self,
        cx: &Context,
    ) -> Result<GetFunctionConfigurationOutput, ResourceError> {
        self.aws
            .lambda
            .get_function_configuration()
            .function_name(Self::name(cx))
            .send()
            .await
            .or_resource(&self.id, "GetFunctionConfiguration")
    }

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

    fn environment(cx: &Context) -> Environment {
        Environment::builder()
            .variables("PAYSEC_ENVIRONMENT", cx.env.name.as_str())
            .variables("LOG_LEVEL", "INFO")
            .build()
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
        retrying(&[rules::LAMBDA_FUNCTION_BUSY], || async {
            self.aws
                .lambda
                .put_function_concurrency()
                .function_name(&name)
                .reserved_concurrent_executions(wanted)
                .send()
                .await
                .or_resource(&self.id, "PutFunctionConcurrency")
        })
        .await?;
        Ok(())
    }

    fn present(cfg: &aws_sdk_lambda::types::FunctionConfiguration) -> Present {
        Present::new(cfg.function_name().unwrap_or_default())
            .with(Attr::Name, cfg.function_name().unwrap_or_default())
            .with(Attr::Arn, cfg.function_arn().unwrap_or_default())
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
        [
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
        .collect()
    }

    /// GetFunctionConfiguration: Active, with this paysec's handler
    /// (settings, network, key and concurrency are read only by a full read).
    async fn quick_check(
        &self,
        cx: &Context,
        _known: &Present,
    ) -> Result<QuickCheck, ResourceError> {
        let digest = package::zip().map(|z| package::code_sha256(&z)).ok();
        QuickCheck::from_lookup(self.configuration(cx).await, |cfg| {
            cfg.state() == Some(&State::Active) && cfg.code_sha256() == digest.as_deref()
        })
    }

    async fn read(
        &self,
        cx: &Context,
        _known: Option<&Present>,
    ) -> Result<Observed, ResourceError> {
        let out = match self
            .aws
            .lambda
            .get_function()
            .function_name(Self::name(cx))
            .send()
            .await
            .or_resource(&self.id, "GetFunction")
        {
            Ok(o) => o,
            Err(e) if e.class() == ErrorClass::NotFound => return Ok(Observed::Missing),
            Err(e) => return Err(e),
        };
        let Some(cfg) = out.configuration() else {
            return Ok(Observed::Missing);
        };
        // A Failed function's properties are not what is wrong with it.
        if cfg.state() == Some(&State::Failed) {
            return Err(failed(
                &self.id,
                cfg.function_name().unwrap_or_default(),
                cfg.state_reason_code(),
                cfg.state_reason(),
            ));
        }
        let mut checks = Checks::default();
        checks.equal(
            FunctionProperty::Runtime,
            &self.spec.runtime,
            cfg.runtime().map(|r| r.as_str()).unwrap_or(""),
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
        let live = reserved
            .map(|r| r.to_string())
            .unwrap_or_else(|| "unreserved".into());
        match (self.spec.reserved_concurrency, reserved) {
            (Some(wanted), Some(r)) if wanted == r => {
                checks.equal(FunctionProperty::ReservedConcurrency, wanted, r);
            }
            (Some(wanted), _) => match self.concurrency_room(wanted, reserved).await? {
                Ok(()) => checks.equal(FunctionProperty::ReservedConcurrency, wanted, live),
                Err(why) => checks.deviation(FunctionProperty::ReservedConcurrency, why),
            },
            (None, None) => checks.deviation(
                FunctionProperty::ReservedConcurrency,
                "lambda.reserved_concurrency is \"none\" in the configuration",
            ),
            (None, Some(_)) => {
                checks.equal(FunctionProperty::ReservedConcurrency, "unreserved", live)
            }
        }
        // The deployed package's SHA-256 (Lambda's CodeSha256, base64)
        // against the one paysec builds from its embedded handler: the
        // same size proves nothing, the same digest the same bytes.
        let wanted = package::zip()
            .map(|z| package::code_sha256(&z))
            .map_err(|e| {
                ResourceError::unexpected(&self.id, format!("cannot package the handler: {e}"))
            })?;
        checks.equal(
            FunctionProperty::Code,
            format!("CodeSha256 {wanted}"),
            format!("CodeSha256 {}", cfg.code_sha256().unwrap_or("unreported")),
        );
        let exposure = exposure::read(&self.aws, &self.id, &Self::name(cx)).await?;
        exposure::check(&mut checks, FunctionProperty::PublicEntry, &exposure);
        Ok(checks.observed(Self::present(cfg)))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let zip = package::zip().map_err(|e| {
            ResourceError::unexpected(&self.id, format!("cannot package the handler: {e}"))
        })?;
        let tags: HashMap<String, String> = cx.tags().into_iter().collect();
        let req = self
            .aws
            .lambda
            .create_function()
            .function_name(Self::name(cx))
            .description("paysec example payment processing function")
            .runtime(Runtime::from(self.spec.runtime.as_str()))
            .role(cx.attr(&self.role, Attr::Arn)?)
            .handler(HANDLER)
            .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
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
            .environment(Self::environment(cx))
            .set_tags(Some(tags));
        let created = retrying(&PROPAGATION, || async {
            req.clone()
                .send()
                .await
                .or_resource(&self.id, "CreateFunction")
        })
        .await;
        let present = match created {
            Ok(cfg) => Present::new(cfg.function_name().unwrap_or_default())
                .with(Attr::Name, cfg.function_name().unwrap_or_default())
                .with(Attr::Arn, cfg.function_arn().unwrap_or_default()),
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
        self.set_concurrency(cx).await?;
        Ok(present)
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
        if has(FunctionProperty::Code) {
            let zip =
                package::zip().map_err(|e| ResourceError::unexpected(&self.id, e.to_string()))?;
            retrying(&[rules::LAMBDA_FUNCTION_BUSY], || async {
                self.aws
                    .lambda
                    .update_function_code()
                    .function_name(&name)
                    .zip_file(Blob::new(zip.clone()))
                    .send()
                    .await
                    .or_resource(&self.id, "UpdateFunctionCode")
            })
            .await?;
        }
        // What UpdateFunctionConfiguration sets, all in one call.
        let configuration = drifted.iter().any(|(p, _)| match p {
            FunctionProperty::Runtime
            | FunctionProperty::Role
            | FunctionProperty::KmsKey
            | FunctionProperty::DeadLetterQueue
            | FunctionProperty::Tracing
            | FunctionProperty::MemoryMb
            | FunctionProperty::TimeoutSeconds
            | FunctionProperty::SecurityGroups
            | FunctionProperty::Subnets => true,
            FunctionProperty::Code
            | FunctionProperty::ReservedConcurrency
            | FunctionProperty::PublicEntry => false,
        });
        if configuration {
            let req = self
                .aws
                .lambda
                .update_function_configuration()
                .function_name(&name)
                .runtime(Runtime::from(self.spec.runtime.as_str()))
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
                .environment(Self::environment(cx));
            let mut all = PROPAGATION.to_vec();
            all.push(rules::LAMBDA_FUNCTION_BUSY);
            retrying(&all, || async {
                req.clone()
                    .send()
                    .await
                    .or_resource(&self.id, "UpdateFunctionConfiguration")
            })
            .await?;
        }
        if has(FunctionProperty::ReservedConcurrency) {
            self.set_concurrency(cx).await?;
        }
        Ok(present.clone())
    }

    /// Pending → Active (Lambda sets up VPC networking in between); on
    /// Failed, AWS's reason is the error.
    async fn wait_ready(&self, cx: &Context, present: Present) -> Result<Present, ResourceError> {
        cx.poll_until(
            "the function to become Active",
            "Active",
            WaitBudget {
                limit: self.spec.wait,
                setting: "lambda.wait_minutes",
            },
            || async {
                let out = self.configuration(cx).await?;
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
        // Its VPC network interfaces outlive it by up to 45 minutes; the
        // subnet and security group deletes wait for them.
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

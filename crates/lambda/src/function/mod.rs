//! The payment function: the team's package (or the example handler),
//! in the private subnets with its security group, environment encrypted
//! with the Lambda key, failed invocations to the DLQ, X-Ray tracing,
//! reserved concurrency, logs in the pre-created group. Every change of
//! code or settings is published as an immutable version and the alias
//! `live` moved to it (`crate::release`); a rollback's version is kept in
//! service while it holds.

mod concurrency;
mod present;
mod resource;
mod signature;
mod spec;
mod update;

use paysec_core::resource::Context;
use paysec_core::retry::rules;
use paysec_core::{LogicalId, ResourceError};

pub use concurrency::concurrency_fits;
pub use spec::{Database, FunctionSpec};

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

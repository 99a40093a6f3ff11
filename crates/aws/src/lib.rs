//! paysec's one door to AWS: a single `SdkConfig` from the standard
//! credential chain (profiles, `AWS_REGION`, `AWS_ENDPOINT_URL`...), one
//! client per service built once and shared, and the classification of AWS
//! errors into what the engine acts on (not found, exists, throttled...).

pub mod calls;
pub mod classify;
pub mod clients;
mod limit;
pub mod tagged;

pub mod emulator;
pub mod endpoints;
pub mod ledger_s3;
pub mod permissions;
pub mod s3_hardening;
mod setup;
#[cfg(feature = "testing")]
pub mod testing;

pub use classify::{classify, AwsResultExt, ServiceErrorExt};
pub use clients::{AssumeRole, Aws, AwsSettings, CallerIdentity};
pub use setup::SetupError;
pub use tagged::tagged_arns;

/// The SDK crates, re-exported so tests and callers use the same versions.
pub mod sdk {
    pub use aws_sdk_apigateway as apigateway;
    pub use aws_sdk_cloudtrail as cloudtrail;
    pub use aws_sdk_cloudwatchlogs as logs;
    pub use aws_sdk_config as config;
    pub use aws_sdk_ec2 as ec2;
    pub use aws_sdk_guardduty as guardduty;
    pub use aws_sdk_iam as iam;
    pub use aws_sdk_kms as kms;
    pub use aws_sdk_lambda as lambda;
    pub use aws_sdk_rds as rds;
    pub use aws_sdk_resourcegroupstagging as resourcegroupstagging;
    pub use aws_sdk_route53resolver as route53resolver;
    pub use aws_sdk_s3 as s3;
    pub use aws_sdk_s3control as s3control;
    pub use aws_sdk_secretsmanager as secretsmanager;
    pub use aws_sdk_servicequotas as servicequotas;
    pub use aws_sdk_signer as signer;
    pub use aws_sdk_sqs as sqs;
    /// Any SDK call's error, for code generic over operations.
    pub use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    pub use aws_smithy_runtime_api::client::result::SdkError;
    pub use aws_smithy_types::error::metadata::ProvideErrorMetadata;
}

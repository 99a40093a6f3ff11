//! The writes that change an existing function's `$LATEST`: its settings
//! (UpdateFunctionConfiguration) and its code (UpdateFunctionCode), each
//! waited out.

use paysec_core::Attr;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{DeadLetterConfig, Runtime, TracingConfig, TracingMode};
use paysec_aws::AwsResultExt;
use paysec_core::resource::Context;
use paysec_core::retry::{retrying, rules};
use paysec_core::ResourceError;

use super::{Function, PROPAGATION};
use crate::release;
use crate::signing::Signed;

impl Function {
    /// The settings UpdateFunctionConfiguration sets, all in one call,
    /// then waits for the update to finish.
    ///
    /// IAM: lambda:UpdateFunctionConfiguration, iam:PassRole (the
    /// execution role), lambda:GetFunctionConfiguration.
    pub(super) async fn put_configuration(&self, cx: &Context) -> Result<(), ResourceError> {
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
    pub(super) async fn put_code(
        &self,
        cx: &Context,
    ) -> Result<(String, Option<Signed>), ResourceError> {
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
}

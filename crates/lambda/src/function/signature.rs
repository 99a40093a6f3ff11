//! Code signing of the function: its package signed for a release, its
//! binding to the stack's code signing configuration, and the check of
//! both (LAM-13, LAM-14).

use paysec_core::releases::Target;
use paysec_core::Attr;

use paysec_aws::AwsResultExt;
use paysec_core::resource::{Checks, Context};
use paysec_core::retry::{retrying, rules};
use paysec_core::{ErrorClass, ResourceError};

use super::{Function, FunctionProperty};
use crate::release;
use crate::signing::{self, Signed};

impl Function {
    /// The configured package signed (`None` without signing).
    pub(super) async fn sign(&self, cx: &Context) -> Result<Option<Signed>, ResourceError> {
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
    pub(super) async fn put_code_signing(&self, cx: &Context) -> Result<(), ResourceError> {
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
    pub(super) async fn check_signing(
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

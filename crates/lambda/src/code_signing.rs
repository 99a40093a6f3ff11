//! The function's code signing configuration (`lambda.signing_profile`):
//! Lambda accepts only code the configured Signer profile signed, and
//! refuses anything else (`Enforce`) on CreateFunction and
//! UpdateFunctionCode. The function names it (`crate::function`); each
//! release is signed before it ships (`crate::signing`).
//!
//! Lambda's rules this follows (Lambda API reference:
//! CreateCodeSigningConfig and the calls beside it; the Terraform
//! provider's `aws_lambda_code_signing_config`): a configuration has no
//! name and no client token, only an ARN, so one the ledger lost is found
//! by its description and proven by its tags, and a second copy left by
//! a lost answer is removed; it holds 1 to 20 profile *version* ARNs (a
//! profile's new version is not allowed until the configuration names
//! it); `Warn` is the default and must be asked for as `Enforce`; tags go
//! with the create, later through TagResource; it cannot be deleted while
//! a function uses it (`ResourceConflictException`).

use async_trait::async_trait;
use aws_sdk_lambda::types::{AllowedPublishers, CodeSigningPolicies, CodeSigningPolicy};
use paysec_aws::AwsResultExt;
use paysec_core::error::not_found_is_none;
use paysec_core::resource::{
    Checks, Comparison, Context, DeleteOutcome, Dependency, Observed, Ownership, Present, Resource,
};
use paysec_core::retry::{retrying, rules};
use paysec_core::{Attr, ErrorClass, LogicalId, Property, ResourceError};

use crate::signing;

paysec_core::properties! {
    /// What the configuration's read compares (LAM-15, LAM-16).
    pub enum CodeSigningProperty {
        /// The profile version allowed to sign: the profile's current one.
        AllowedPublishers = "allowed_publishers",
        /// What Lambda does with code no allowed profile signed.
        UntrustedArtifactPolicy = "untrusted_artifact_policy",
        Tags = "tags",
    }
}

pub struct CodeSigningConfig {
    pub id: LogicalId,
    pub aws: paysec_aws::Aws,
    /// The Signer signing profile's name (`lambda.signing_profile`);
    /// `None` in the whole stack of a configuration without one, where
    /// the configuration is only found and deleted.
    pub profile: Option<String>,
}

/// What a configuration is, as compared.
struct Live {
    arn: String,
    publishers: Vec<String>,
    policy: String,
    description: String,
}

impl CodeSigningConfig {
    /// The description every environment's configuration carries: how a
    /// configuration the ledger lost is found (it has no name).
    fn description(cx: &Context) -> String {
        format!(
            "paysec {}: only code signed by the release profile runs in the payment function",
            cx.env.names.prefix()
        )
    }

    fn live(c: &aws_sdk_lambda::types::CodeSigningConfig) -> Live {
        let mut publishers: Vec<String> = c
            .allowed_publishers()
            .map(|p| p.signing_profile_version_arns().to_vec())
            .unwrap_or_default();
        publishers.sort();
        Live {
            arn: c.code_signing_config_arn().to_owned(),
            publishers,
            policy: c
                .code_signing_policies()
                .and_then(|p| p.untrusted_artifact_on_deployment())
                .map_or("unset", |p| p.as_str())
                .to_owned(),
            description: c.description().unwrap_or_default().to_owned(),
        }
    }

    /// IAM: lambda:GetCodeSigningConfig.
    async fn describe(&self, arn: &str) -> Result<Option<Live>, ResourceError> {
        let out = not_found_is_none(
            self.aws
                .lambda
                .get_code_signing_config()
                .code_signing_config_arn(arn)
                .send()
                .await
                .or_resource(&self.id, "GetCodeSigningConfig"),
        )?;
        Ok(out.and_then(|o| o.code_signing_config().map(Self::live)))
    }

    /// IAM: lambda:ListTags.
    async fn tags_of(&self, arn: &str) -> Result<Vec<(String, String)>, ResourceError> {
        let out = self
            .aws
            .lambda
            .list_tags()
            .resource(arn)
            .send()
            .await
            .or_resource(&self.id, "ListTags")?;
        Ok(out
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    /// The account's configurations carrying this environment's
    /// description and this resource's tags (and, when the ledger recorded
    /// a create in flight, its token), newest last.
    ///
    /// IAM: lambda:ListCodeSigningConfigs, lambda:ListTags.
    async fn tagged(&self, cx: &Context) -> Result<Vec<Live>, ResourceError> {
        let description = Self::description(cx);
        let mut found = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .aws
                .lambda
                .list_code_signing_configs()
                .set_marker(marker.clone())
                .send()
                .await
                .or_resource(&self.id, "ListCodeSigningConfigs")?;
            for c in out.code_signing_configs() {
                let live = Self::live(c);
                if live.description != description {
                    continue;
                }
                let tags = self.tags_of(&live.arn).await?;
                let token_ok = cx.recorded_create_token().is_none_or(|t| {
                    tags.iter()
                        .any(|(k, v)| k == paysec_core::tags::CREATE_TOKEN && v == t)
                });
                if token_ok && Ownership::from_tags(cx, &live.arn, &tags) == Ownership::Proven {
                    found.push(live);
                }
            }
            marker = out.next_marker().map(str::to_owned);
            if marker.is_none() {
                break;
            }
        }
        Ok(found)
    }

    /// The profile version Lambda must allow: the profile's current one.
    async fn wanted_publisher(&self) -> Result<String, ResourceError> {
        let Some(profile) = &self.profile else {
            return Err(ResourceError::unexpected(
                &self.id,
                "lambda.signing_profile is unset: there is no profile to allow; set it, or let `up` delete the configuration",
            ));
        };
        Ok(signing::profile(&self.aws, &self.id, profile)
            .await?
            .version_arn)
    }

    fn policies() -> CodeSigningPolicies {
        CodeSigningPolicies::builder()
            .untrusted_artifact_on_deployment(CodeSigningPolicy::Enforce)
            .build()
    }

    fn publishers(&self, arn: &str) -> Result<AllowedPublishers, ResourceError> {
        AllowedPublishers::builder()
            .signing_profile_version_arns(arn)
            .build()
            .map_err(|e| ResourceError::unexpected(&self.id, e.to_string()))
    }
}

#[async_trait]
impl Resource for CodeSigningConfig {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "lambda_code_signing"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }

    /// By the recorded ARN, else by description and tags; then the
    /// allowed profile version and the policy.
    ///
    /// IAM: lambda:GetCodeSigningConfig, lambda:ListTags,
    /// signer:GetSigningProfile.
    async fn read(&self, cx: &Context, known: Option<&Present>) -> Result<Observed, ResourceError> {
        let live = match known {
            Some(k) => self.describe(&k.physical_id).await?,
            None => self.tagged(cx).await?.pop(),
        };
        let Some(live) = live else {
            return Ok(Observed::Missing);
        };
        let mut checks = Checks::default();
        // A profile Signer no longer finds (canceled long ago, or the
        // placeholder of `down`'s whole stack) leaves nothing to allow:
        // the configuration is still found, and still deleted by `down`.
        let wanted = match &self.profile {
            None => "no profile (lambda.signing_profile is unset)".to_owned(),
            Some(profile) => match self.wanted_publisher().await {
                Ok(v) => v,
                Err(e) if e.class() == ErrorClass::NotFound => {
                    format!("a version of profile {profile}, which Signer does not find")
                }
                Err(e) => return Err(e),
            },
        };
        checks.equal(
            CodeSigningProperty::AllowedPublishers,
            &wanted,
            live.publishers.join(","),
        );
        checks.equal(
            CodeSigningProperty::UntrustedArtifactPolicy,
            CodeSigningPolicy::Enforce.as_str(),
            &live.policy,
        );
        checks.tags(&cx.tags(), &self.tags_of(&live.arn).await?);
        Ok(checks.observed(Present::new(&live.arn).with(Attr::Arn, &live.arn)))
    }

    /// IAM: lambda:CreateCodeSigningConfig, lambda:TagResource,
    /// signer:GetSigningProfile.
    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let wanted = self.wanted_publisher().await?;
        let out = self
            .aws
            .lambda
            .create_code_signing_config()
            .description(Self::description(cx))
            .allowed_publishers(self.publishers(&wanted)?)
            .code_signing_policies(Self::policies())
            .set_tags(Some(cx.tags().into_iter().collect()))
            .send()
            .await
            .or_resource(&self.id, "CreateCodeSigningConfig")?;
        let arn = out
            .code_signing_config()
            .map(|c| c.code_signing_config_arn().to_owned())
            .unwrap_or_default();
        Ok(Present::new(&arn).with(Attr::Arn, &arn))
    }

    /// IAM: lambda:UpdateCodeSigningConfig, lambda:TagResource,
    /// signer:GetSigningProfile.
    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        let drifted = CodeSigningProperty::drifted(&self.id, drift)?;
        let has = |p: CodeSigningProperty| drifted.iter().any(|(q, _)| *q == p);
        if has(CodeSigningProperty::AllowedPublishers)
            || has(CodeSigningProperty::UntrustedArtifactPolicy)
        {
            let wanted = self.wanted_publisher().await?;
            self.aws
                .lambda
                .update_code_signing_config()
                .code_signing_config_arn(&present.physical_id)
                .allowed_publishers(self.publishers(&wanted)?)
                .code_signing_policies(Self::policies())
                .send()
                .await
                .or_resource(&self.id, "UpdateCodeSigningConfig")?;
        }
        if has(CodeSigningProperty::Tags) {
            self.aws
                .lambda
                .tag_resource()
                .resource(&present.physical_id)
                .set_tags(Some(cx.tags().into_iter().collect()))
                .send()
                .await
                .or_resource(&self.id, "TagResource")?;
        }
        Ok(present.clone())
    }

    /// Copies of this create a lost answer left (same description, tags
    /// and create token): nothing uses them.
    ///
    /// IAM: lambda:ListCodeSigningConfigs, lambda:ListTags,
    /// lambda:DeleteCodeSigningConfig.
    async fn remove_strays(
        &self,
        cx: &Context,
        keep: &Present,
    ) -> Result<Vec<String>, ResourceError> {
        if cx.recorded_create_token().is_none() {
            return Ok(Vec::new());
        }
        let mut removed = Vec::new();
        for stray in self.tagged(cx).await? {
            if stray.arn == keep.physical_id {
                continue;
            }
            self.delete(cx, &Present::new(&stray.arn)).await?;
            removed.push(stray.arn);
        }
        Ok(removed)
    }

    /// Its tags, without the profile (`down` may run after the profile is
    /// gone).
    ///
    /// IAM: lambda:ListTags.
    async fn ownership(&self, cx: &Context, known: &Present) -> Result<Ownership, ResourceError> {
        match self.tags_of(&known.physical_id).await {
            Ok(tags) => Ok(Ownership::from_tags(cx, &known.physical_id, &tags)),
            Err(e) if e.class() == ErrorClass::NotFound => Ok(Ownership::Gone),
            Err(e) => Err(e),
        }
    }

    /// Waits while a function still uses it (a function detaching it in
    /// the same run, when signing is switched off).
    ///
    /// IAM: lambda:DeleteCodeSigningConfig.
    async fn delete(&self, _cx: &Context, known: &Present) -> Result<DeleteOutcome, ResourceError> {
        not_found_is_none(
            retrying(&[rules::LAMBDA_CODE_SIGNING_IN_USE], || async {
                self.aws
                    .lambda
                    .delete_code_signing_config()
                    .code_signing_config_arn(&known.physical_id)
                    .send()
                    .await
                    .or_resource(&self.id, "DeleteCodeSigningConfig")
            })
            .await,
        )?;
        Ok(DeleteOutcome::default())
    }
}

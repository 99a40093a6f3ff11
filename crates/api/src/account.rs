//! The region's API Gateway account setting: the IAM role API Gateway
//! writes CloudWatch Logs with. A stage's access logs are refused without
//! one ("CloudWatch Logs role ARN must be set in account settings to
//! enable logging"). It is one setting for every REST API of the account
//! in the region, so paysec never replaces a working role someone else
//! set; where none is set (or it names a role that is gone) it sets
//! `paysec-apigateway-cloudwatch`, made here once for the account. `down`
//! keeps both: other APIs may log through them.

use async_trait::async_trait;
use paysec_aws::AwsResultExt;
use paysec_core::error::not_found_is_none;
use paysec_core::resource::{
    Checks, Comparison, Context, DeleteOutcome, Dependency, Observed, Ownership, Present, Resource,
};
use paysec_core::retry::{retrying, rules};
use paysec_core::{Attr, LogicalId, Property, ResourceError};
use serde_json::json;

use crate::rest_api::patch;

paysec_core::properties! {
    /// What the setting's read compares (API-11).
    pub enum AccountProperty {
        CloudWatchRole = "cloudwatch_role",
    }
}

/// The role paysec makes when the account has none (IAM names are
/// account-wide; the setting is per region, and every region's may name
/// it).
pub const ROLE: &str = "paysec-apigateway-cloudwatch";

pub struct AccountLogging {
    id: LogicalId,
    aws: paysec_aws::Aws,
}

impl AccountLogging {
    pub fn new(id: LogicalId, aws: paysec_aws::Aws) -> Self {
        Self { id, aws }
    }

    /// Whether the role `arn` names exists (iam:GetRole).
    async fn role_exists(&self, arn: &str) -> Result<bool, ResourceError> {
        let name = arn.rsplit('/').next().unwrap_or(arn);
        Ok(not_found_is_none(
            self.aws
                .iam
                .get_role()
                .role_name(name)
                .send()
                .await
                .or_resource(&self.id, "GetRole"),
        )?
        .is_some())
    }

    /// paysec's role, made if missing: trusted by API Gateway, allowed to
    /// write this account's logs (the actions of AWS's
    /// AmazonAPIGatewayPushToCloudWatchLogs, written out).
    async fn ensure_role(&self, cx: &Context) -> Result<String, ResourceError> {
        let arn = cx.env.arn("iam", "", &format!("role/{ROLE}"));
        if self.role_exists(&arn).await? {
            return Ok(arn);
        }
        let trust = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "Service": "apigateway.amazonaws.com" },
                "Action": "sts:AssumeRole"
            }]
        });
        // iam:CreateRole (and iam:TagRole for its tags)
        let created = self
            .aws
            .iam
            .create_role()
            .role_name(ROLE)
            .description("API Gateway writes CloudWatch Logs (access logs) with it; made by paysec, shared by every REST API of the account")
            .assume_role_policy_document(trust.to_string())
            .set_tags(Some(
                cx.tags()
                    .into_iter()
                    .map(|(k, v)| {
                        aws_sdk_iam::types::Tag::builder()
                            .key(k)
                            .value(v)
                            .build()
                            .expect("key and value set")
                    })
                    .collect(),
            ))
            .send()
            .await
            .or_resource(&self.id, "CreateRole");
        match created {
            Ok(_) => {}
            // Made at the same moment by another environment's run.
            Err(e) if e.code() == Some("EntityAlreadyExists") => {}
            Err(e) => return Err(e),
        }
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:DescribeLogGroups",
                    "logs:DescribeLogStreams",
                    "logs:PutLogEvents",
                    "logs:GetLogEvents",
                    "logs:FilterLogEvents"
                ],
                "Resource": cx.env.arn("logs", "*", "*")
            }]
        });
        // iam:PutRolePolicy
        self.aws
            .iam
            .put_role_policy()
            .role_name(ROLE)
            .policy_name("push-to-cloudwatch-logs")
            .policy_document(policy.to_string())
            .send()
            .await
            .or_resource(&self.id, "PutRolePolicy")?;
        Ok(arn)
    }

    /// Sets the account's role (apigateway:PATCH on /account, with
    /// iam:PassRole on the role to apigateway.amazonaws.com), waiting
    /// out IAM's propagation of a role made moments ago.
    async fn set(&self, cx: &Context) -> Result<Present, ResourceError> {
        let arn = self.ensure_role(cx).await?;
        retrying(
            &[
                rules::APIGATEWAY_ROLE_NOT_YET_USABLE,
                rules::APIGATEWAY_CONCURRENT_MODIFICATION,
            ],
            || async {
                self.aws
                    .apigateway
                    .update_account()
                    .patch_operations(patch("replace", "/cloudwatchRoleArn", &arn))
                    .send()
                    .await
                    .or_resource(&self.id, "UpdateAccount")
            },
        )
        .await?;
        Ok(Present::new(&arn).with(Attr::Arn, &arn))
    }
}

#[async_trait]
impl Resource for AccountLogging {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "api_gateway_account"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }

    async fn read(
        &self,
        _cx: &Context,
        _known: Option<&Present>,
    ) -> Result<Observed, ResourceError> {
        // apigateway:GET on /account
        let account = self
            .aws
            .apigateway
            .get_account()
            .send()
            .await
            .or_resource(&self.id, "GetAccount")?;
        let Some(arn) = account.cloudwatch_role_arn().filter(|a| !a.is_empty()) else {
            return Ok(Observed::Missing);
        };
        let exists = self.role_exists(arn).await?;
        let mut checks = Checks::default();
        checks.check(
            AccountProperty::CloudWatchRole,
            exists,
            "cloudwatchRoleArn naming an existing role",
            format!(
                "cloudwatchRoleArn {arn} ({})",
                if exists {
                    "role exists"
                } else {
                    "no such role"
                }
            ),
        );
        Ok(checks.observed(Present::new(arn).with(Attr::Arn, arn)))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        self.set(cx).await
    }

    async fn repair(
        &self,
        cx: &Context,
        _present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        AccountProperty::drifted(&self.id, drift)?;
        self.set(cx).await
    }

    /// The account's setting, whoever made it: nobody's to prove.
    fn adoption_needs_proof(&self) -> bool {
        false
    }

    async fn ownership(&self, _cx: &Context, _known: &Present) -> Result<Ownership, ResourceError> {
        Ok(Ownership::Proven)
    }

    async fn delete(&self, _cx: &Context, known: &Present) -> Result<DeleteOutcome, ResourceError> {
        Ok(DeleteOutcome {
            kept: Some(format!(
                "API Gateway's account setting (CloudWatch role {}) kept: every REST API of the account in this region logs through it",
                known.physical_id
            )),
            encrypted_with: None,
        })
    }
}

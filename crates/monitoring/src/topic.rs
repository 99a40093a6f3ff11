//! The alarm topic.

use async_trait::async_trait;
use paysec_aws::AwsResultExt;
use paysec_core::error::not_found_is_none;
use paysec_core::policy_doc;
use paysec_core::resource::{
    Checks, Context, DeleteOutcome, Dependency, Drift, Observed, Present, Resource,
};
use paysec_core::Attr;
use paysec_core::{ErrorClass, LogicalId, ResourceError};
use serde_json::json;

pub struct Topic {
    id: LogicalId,
    aws: paysec_aws::Aws,
    purpose: &'static str,
    kms_key: LogicalId,
}

impl Topic {
    pub fn new(
        id: LogicalId,
        aws: paysec_aws::Aws,
        purpose: &'static str,
        kms_key: LogicalId,
    ) -> Self {
        Self {
            id,
            aws,
            purpose,
            kms_key,
        }
    }

    fn arn(&self, cx: &Context) -> String {
        cx.env
            .arn("sns", &cx.env.region, &cx.env.names.topic(self.purpose))
    }

    /// Only CloudWatch alarms of this account may publish.
    fn policy(&self, cx: &Context) -> serde_json::Value {
        let arn = self.arn(cx);
        json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "CloudWatchAlarmsPublish",
                    "Effect": "Allow",
                    "Principal": { "Service": "cloudwatch.amazonaws.com" },
                    "Action": "sns:Publish",
                    "Resource": arn,
                    "Condition": {
                        "StringEquals": { "aws:SourceAccount": cx.env.account },
                        "ArnLike": { "aws:SourceArn": cx.env.arn("cloudwatch", &cx.env.region, "alarm:*") }
                    }
                },
                {
                    "Sid": "OwnerManages",
                    "Effect": "Allow",
                    "Principal": { "AWS": cx.env.account_root() },
                    "Action": ["sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:DeleteTopic", "sns:Publish"],
                    "Resource": arn
                },
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": { "AWS": "*" },
                    "Action": "sns:Publish",
                    "Resource": arn,
                    "Condition": { "Bool": { "aws:SecureTransport": "false" } }
                }
            ]
        })
    }

    async fn set(&self, cx: &Context, name: &str, value: String) -> Result<(), ResourceError> {
        self.aws
            .sns
            .set_topic_attributes()
            .topic_arn(self.arn(cx))
            .attribute_name(name)
            .attribute_value(value)
            .send()
            .await
            .or_resource(&self.id, "SetTopicAttributes")?;
        Ok(())
    }
}

#[async_trait]
impl Resource for Topic {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "sns_topic"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Identity(self.kms_key.clone())]
    }

    async fn read(
        &self,
        cx: &Context,
        _known: Option<&Present>,
    ) -> Result<Observed, ResourceError> {
        let arn = self.arn(cx);
        let out = match self
            .aws
            .sns
            .get_topic_attributes()
            .topic_arn(&arn)
            .send()
            .await
            .or_resource(&self.id, "GetTopicAttributes")
        {
            Ok(o) => o,
            Err(e) if e.class() == ErrorClass::NotFound => return Ok(Observed::Missing),
            Err(e) => return Err(e),
        };
        let attrs = out.attributes().cloned().unwrap_or_default();
        let mut checks = Checks::default();
        let key = cx.attr(&self.kms_key, Attr::Arn)?;
        checks.equal(
            "KmsMasterKeyId",
            key,
            attrs.get("KmsMasterKeyId").map_or("none", String::as_str),
        );
        let policy = attrs
            .get("Policy")
            .map(|p| policy_doc::parse(p))
            .unwrap_or_default();
        checks.policy("Policy", &self.policy(cx), &policy);
        Ok(checks.observed(Present::new(&arn).with(Attr::Arn, &arn)))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let tags: Vec<aws_sdk_sns::types::Tag> = cx
            .tags()
            .into_iter()
            .filter_map(|(k, v)| {
                aws_sdk_sns::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .ok()
            })
            .collect();
        // CreateTopic is idempotent for the same name and attributes.
        let out = self
            .aws
            .sns
            .create_topic()
            .name(cx.env.names.topic(self.purpose))
            .attributes("KmsMasterKeyId", cx.attr(&self.kms_key, Attr::Arn)?)
            .attributes("Policy", self.policy(cx).to_string())
            .set_tags(Some(tags))
            .send()
            .await
            .or_resource(&self.id, "CreateTopic")?;
        let arn = out.topic_arn().unwrap_or_default().to_owned();
        Ok(Present::new(&arn).with(Attr::Arn, &arn))
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Drift],
    ) -> Result<Present, ResourceError> {
        for d in drift {
            match d.property.as_str() {
                "KmsMasterKeyId" => {
                    self.set(
                        cx,
                        "KmsMasterKeyId",
                        cx.attr(&self.kms_key, Attr::Arn)?.to_owned(),
                    )
                    .await?
                }
                "Policy" => self.set(cx, "Policy", self.policy(cx).to_string()).await?,
                other => {
                    return Err(ResourceError::unexpected(
                        &self.id,
                        format!("cannot repair `{other}`"),
                    ))
                }
            }
        }
        Ok(present.clone())
    }

    async fn delete(&self, cx: &Context, _known: &Present) -> Result<DeleteOutcome, ResourceError> {
        not_found_is_none(
            self.aws
                .sns
                .delete_topic()
                .topic_arn(self.arn(cx))
                .send()
                .await
                .or_resource(&self.id, "DeleteTopic"),
        )?;
        Ok(DeleteOutcome::default())
    }
}

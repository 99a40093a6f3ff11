//! The dead-letter queue, encrypted with KMS.

use paysec_core::Attr;
use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_sqs::types::QueueAttributeName;
use paysec_aws::AwsResultExt;
use paysec_core::error::not_found_is_none;
use paysec_core::resource::{
    Checks, Comparison, Context, DeleteOutcome, Dependency, Observed, Ownership, Present,
    QuickCheck, Resource,
};
use paysec_core::retry::{retrying, rules};
use paysec_core::{policy_doc, ErrorClass, LogicalId, Property, ResourceError};

paysec_core::properties! {
    /// What the queue's read compares, each by its SQS attribute name
    /// (SQS-1..3).
    pub enum QueueProperty {
        KmsMasterKeyId = "KmsMasterKeyId",
        KmsDataKeyReusePeriodSeconds = "KmsDataKeyReusePeriodSeconds",
        MessageRetentionPeriod = "MessageRetentionPeriod",
        Policy = "Policy",
    }
}

impl QueueProperty {
    /// The SQS attribute it is.
    fn attribute(self) -> QueueAttributeName {
        QueueAttributeName::from(self.as_str())
    }
}

pub struct Queue {
    id: LogicalId,
    aws: paysec_aws::Aws,
    purpose: &'static str,
    kms_key: LogicalId,
}

/// 14 days: the longest SQS keeps a message, to leave time to investigate.
const RETENTION_SECONDS: &str = "1209600";

impl Queue {
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

    /// Only TLS: any request over plain HTTP is denied (PCI DSS 4.2.1), as
    /// the buckets' and the topic's policies do.
    fn policy(&self, cx: &Context) -> serde_json::Value {
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": { "AWS": "*" },
                "Action": "sqs:*",
                "Resource": cx.env.arn("sqs", &cx.env.region, &cx.env.names.queue(self.purpose)),
                "Condition": { "Bool": { "aws:SecureTransport": "false" } }
            }]
        })
    }

    /// Every attribute paysec sets, the policy included.
    fn all_attributes(
        &self,
        cx: &Context,
    ) -> Result<HashMap<QueueAttributeName, String>, ResourceError> {
        let mut attrs: HashMap<QueueAttributeName, String> = self
            .attributes(cx)?
            .into_iter()
            .map(|(p, v)| (p.attribute(), v))
            .collect();
        attrs.insert(
            QueueProperty::Policy.attribute(),
            self.policy(cx).to_string(),
        );
        Ok(attrs)
    }

    /// The attributes compared as strings (the policy is compared as a
    /// document: SQS may reformat it).
    fn attributes(&self, cx: &Context) -> Result<Vec<(QueueProperty, String)>, ResourceError> {
        Ok(vec![
            (
                QueueProperty::KmsMasterKeyId,
                cx.attr(&self.kms_key, Attr::Arn)?.to_owned(),
            ),
            (
                QueueProperty::KmsDataKeyReusePeriodSeconds,
                "300".to_owned(),
            ),
            (
                QueueProperty::MessageRetentionPeriod,
                RETENTION_SECONDS.to_owned(),
            ),
        ])
    }

    async fn present(
        &self,
        url: &str,
    ) -> Result<(Present, HashMap<QueueAttributeName, String>), ResourceError> {
        let out = self
            .aws
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .or_resource(&self.id, "GetQueueAttributes")?;
        let attrs = out.attributes().cloned().unwrap_or_default();
        let arn = attrs
            .get(&QueueAttributeName::QueueArn)
            .cloned()
            .unwrap_or_default();
        let name = arn.rsplit(':').next().unwrap_or_default().to_owned();
        Ok((
            Present::new(url)
                .with(Attr::Url, url)
                .with(Attr::Arn, arn)
                .with(Attr::Name, name),
            attrs,
        ))
    }
}

#[async_trait]
impl Resource for Queue {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "sqs_queue"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Identity(self.kms_key.clone())]
    }

    /// GetQueueAttributes on the recorded URL answers every property in one
    /// call: there and as wanted, or a full read.
    async fn quick_check(
        &self,
        cx: &Context,
        known: &Present,
    ) -> Result<QuickCheck, ResourceError> {
        let wanted = self.attributes(cx)?;
        let found = self.present(&known.physical_id).await;
        let policy = self.policy(cx);
        QuickCheck::from_lookup(found, |(_, attrs)| {
            wanted
                .iter()
                .all(|(k, v)| attrs.get(&k.attribute()) == Some(v))
                && attrs
                    .get(&QueueAttributeName::Policy)
                    .is_some_and(|p| policy_doc::same(&policy_doc::parse(p), &policy))
        })
    }

    async fn read(
        &self,
        cx: &Context,
        _known: Option<&Present>,
    ) -> Result<Observed, ResourceError> {
        let url = match self
            .aws
            .sqs
            .get_queue_url()
            .queue_name(cx.env.names.queue(self.purpose))
            .send()
            .await
            .or_resource(&self.id, "GetQueueUrl")
        {
            Ok(o) => o.queue_url().unwrap_or_default().to_owned(),
            Err(e) if e.class() == ErrorClass::NotFound => return Ok(Observed::Missing),
            Err(e) => return Err(e),
        };
        let (present, attrs) = self.present(&url).await?;
        let mut checks = Checks::default();
        for (k, v) in self.attributes(cx)? {
            checks.equal(
                k,
                &v,
                attrs.get(&k.attribute()).map_or("unset", String::as_str),
            );
        }
        let policy = attrs
            .get(&QueueAttributeName::Policy)
            .map(|p| policy_doc::parse(p))
            .unwrap_or_default();
        checks.policy(QueueProperty::Policy, &self.policy(cx), &policy);
        Ok(checks.observed(present))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let attrs = self.all_attributes(cx)?;
        let out = retrying(&[rules::SQS_QUEUE_DELETED_RECENTLY], || async {
            self.aws
                .sqs
                .create_queue()
                .queue_name(cx.env.names.queue(self.purpose))
                .set_attributes(Some(attrs.clone()))
                .set_tags(Some(cx.tags().into_iter().collect()))
                .send()
                .await
                .or_resource(&self.id, "CreateQueue")
        })
        .await?;
        Ok(self.present(out.queue_url().unwrap_or_default()).await?.0)
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        // Every attribute in one call (moto drops a policy left out).
        QueueProperty::drifted(&self.id, drift)?;
        self.aws
            .sqs
            .set_queue_attributes()
            .queue_url(&present.physical_id)
            .set_attributes(Some(self.all_attributes(cx)?))
            .send()
            .await
            .or_resource(&self.id, "SetQueueAttributes")?;
        Ok(present.clone())
    }

    /// Exactly the queue `delete` acts on, the ledger's URL: its name must
    /// be this environment's queue's, whole (a prefix would let
    /// `paysec-dev-` match environment `dev-2`'s queue), and its tags must
    /// name this environment and logical id. The read by name would judge
    /// another queue than the one deleted.
    ///
    /// IAM: sqs:GetQueueAttributes, sqs:ListQueueTags.
    async fn ownership(&self, cx: &Context, known: &Present) -> Result<Ownership, ResourceError> {
        let present = match self.present(&known.physical_id).await {
            Ok((p, _)) => p,
            Err(e) if e.class() == ErrorClass::NotFound => return Ok(Ownership::Gone),
            Err(e) => return Err(e),
        };
        let name = present
            .attrs
            .get(Attr::Name.as_str())
            .cloned()
            .unwrap_or_default();
        let wanted = cx.env.names.queue(self.purpose);
        if name != wanted {
            return Ok(Ownership::Unproven(format!(
                "{} is queue {name:?}, not this environment's {wanted}",
                known.physical_id
            )));
        }
        let tags = self
            .aws
            .sqs
            .list_queue_tags()
            .queue_url(&known.physical_id)
            .send()
            .await
            .or_resource(&self.id, "ListQueueTags")?;
        let tags: Vec<(String, String)> = tags
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        Ok(Ownership::from_tags(cx, &known.physical_id, &tags))
    }

    async fn delete(&self, _cx: &Context, known: &Present) -> Result<DeleteOutcome, ResourceError> {
        not_found_is_none(
            self.aws
                .sqs
                .delete_queue()
                .queue_url(&known.physical_id)
                .send()
                .await
                .or_resource(&self.id, "DeleteQueue"),
        )?;
        Ok(DeleteOutcome::default())
    }
}

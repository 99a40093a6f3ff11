//! The alarm topic, and who receives its alarms: the configured email
//! addresses are subscribed (each confirms SNS's email itself), and the
//! read quotes every subscription, confirmed or not, so `verify` can say
//! whether anyone would actually hear an alarm (MON-8).

use async_trait::async_trait;
use paysec_aws::AwsResultExt;
use paysec_core::error::not_found_is_none;
use paysec_core::policy_doc;
use paysec_core::resource::{
    Checks, Comparison, Context, DeleteOutcome, Dependency, Observed, Present, Resource,
};
use paysec_core::Attr;
use paysec_core::{ErrorClass, LogicalId, Property, ResourceError};
use serde_json::json;

pub struct Topic {
    id: LogicalId,
    aws: paysec_aws::Aws,
    purpose: &'static str,
    kms_key: LogicalId,
    emails: Vec<String>,
}

paysec_core::properties! {
    /// What the topic's read compares, the attributes by their SNS names
    /// (MON-1, MON-2, MON-8).
    pub enum TopicProperty {
        KmsMasterKeyId = "KmsMasterKeyId",
        Policy = "Policy",
        /// Who hears the alarms: the configured addresses subscribed, and
        /// someone confirmed.
        Subscribers = "subscribers",
    }
}

/// How the subscribers' evidence begins when someone confirmed: what
/// `verify` looks for (anything else quotes why nobody would hear).
pub const CONFIRMED: &str = "confirmed: ";

/// The topic's subscriptions, as `protocol:endpoint`.
#[derive(Debug, Default)]
struct Subscriptions {
    confirmed: Vec<String>,
    /// Subscribed, the confirmation not yet answered (SNS names these
    /// `PendingConfirmation` instead of an ARN).
    pending: Vec<String>,
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
            emails: Vec::new(),
        }
    }

    /// Subscribes these addresses (`monitoring.alarm_emails`).
    pub fn notifying(mut self, emails: Vec<String>) -> Self {
        self.emails = emails;
        self
    }

    /// ListSubscriptionsByTopic, every page (100 a page).
    async fn subscriptions(&self, arn: &str) -> Result<Subscriptions, ResourceError> {
        let mut pages = self
            .aws
            .sns
            .list_subscriptions_by_topic()
            .topic_arn(arn)
            .into_paginator()
            .send();
        let mut found = Subscriptions::default();
        while let Some(page) = pages.next().await {
            let page = page.or_resource(&self.id, "ListSubscriptionsByTopic")?;
            for s in page.subscriptions() {
                found.note(s);
            }
        }
        Ok(found)
    }

    async fn subscribe(&self, arn: &str, found: &Subscriptions) -> Result<(), ResourceError> {
        for email in unsubscribed(&self.emails, found) {
            // Subscribe is idempotent for the same endpoint; SNS emails the
            // address a link the recipient must follow.
            self.aws
                .sns
                .subscribe()
                .topic_arn(arn)
                .protocol("email")
                .endpoint(email)
                .return_subscription_arn(true)
                .send()
                .await
                .or_resource(&self.id, "Subscribe")?;
        }
        Ok(())
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

impl Subscriptions {
    /// Sorts one subscription: confirmed when SNS gives it an ARN; its
    /// `SubscriptionArn` is `PendingConfirmation` until its recipient
    /// confirms (and `Deleted` can appear too).
    fn note(&mut self, s: &aws_sdk_sns::types::Subscription) {
        let who = format!(
            "{}:{}",
            s.protocol().unwrap_or("?"),
            s.endpoint().unwrap_or("?")
        );
        match s.subscription_arn() {
            Some(a) if a.starts_with("arn:") => self.confirmed.push(who),
            _ => self.pending.push(who),
        }
    }
}

/// The configured addresses with no subscription, confirmed or pending.
fn unsubscribed<'a>(emails: &'a [String], found: &Subscriptions) -> Vec<&'a str> {
    let has = |e: &str| {
        let who = format!("email:{e}");
        found.confirmed.contains(&who) || found.pending.contains(&who)
    };
    emails
        .iter()
        .map(String::as_str)
        .filter(|e| !has(e))
        .collect()
}

/// Records the subscribers: a configured address missing is drift (up
/// subscribes it); otherwise evidence quoting who is confirmed, or why
/// nobody would hear an alarm, which `verify` fails against its baseline.
/// Confirmation is the recipient's act: `up` cannot do it.
fn check_subscribers(checks: &mut Checks, emails: &[String], found: &Subscriptions) {
    let missing = unsubscribed(emails, found);
    let pending = if found.pending.is_empty() {
        String::new()
    } else {
        format!(" (pending confirmation: {})", found.pending.join(", "))
    };
    let actual = if !found.confirmed.is_empty() {
        format!("{CONFIRMED}{}{pending}", found.confirmed.join(", "))
    } else if found.pending.is_empty() {
        "no subscription".to_owned()
    } else {
        format!("none confirmed{pending}")
    };
    let expected = if emails.is_empty() {
        "a confirmed subscriber".to_owned()
    } else {
        format!("subscribed: {}", emails.join(", "))
    };
    checks.check(
        TopicProperty::Subscribers,
        missing.is_empty(),
        expected,
        actual,
    );
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
        let kms = TopicProperty::KmsMasterKeyId.as_str();
        checks.equal(
            TopicProperty::KmsMasterKeyId,
            key,
            attrs.get(kms).map_or("none", String::as_str),
        );
        let policy = attrs
            .get(TopicProperty::Policy.as_str())
            .map(|p| policy_doc::parse(p))
            .unwrap_or_default();
        checks.policy(TopicProperty::Policy, &self.policy(cx), &policy);
        check_subscribers(&mut checks, &self.emails, &self.subscriptions(&arn).await?);
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
        if !self.emails.is_empty() {
            self.subscribe(&arn, &self.subscriptions(&arn).await?)
                .await?;
        }
        Ok(Present::new(&arn).with(Attr::Arn, &arn))
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        for (p, _) in TopicProperty::drifted(&self.id, drift)? {
            match p {
                TopicProperty::KmsMasterKeyId => {
                    self.set(
                        cx,
                        p.as_str(),
                        cx.attr(&self.kms_key, Attr::Arn)?.to_owned(),
                    )
                    .await?
                }
                TopicProperty::Policy => {
                    self.set(cx, p.as_str(), self.policy(cx).to_string())
                        .await?
                }
                TopicProperty::Subscribers => {
                    let arn = self.arn(cx);
                    self.subscribe(&arn, &self.subscriptions(&arn).await?)
                        .await?
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sns::types::Subscription;

    fn subscription(arn: &str, endpoint: &str) -> Subscription {
        Subscription::builder()
            .subscription_arn(arn)
            .protocol("email")
            .endpoint(endpoint)
            .build()
    }

    #[test]
    fn a_pending_subscription_is_subscribed_but_hears_nothing() {
        let mut found = Subscriptions::default();
        found.note(&subscription("PendingConfirmation", "a@example.com"));
        let emails = vec!["a@example.com".to_owned()];
        let mut checks = Checks::default();
        check_subscribers(&mut checks, &emails, &found);
        let Observed::Present {
            drift, evidence, ..
        } = checks.observed(Present::new("t"))
        else {
            unreachable!()
        };
        assert!(drift.is_empty(), "subscribed: nothing for up to do");
        assert_eq!(
            evidence[0].actual,
            "none confirmed (pending confirmation: email:a@example.com)"
        );
    }

    #[test]
    fn a_confirmed_one_is_quoted_and_a_missing_address_is_drift() {
        let mut found = Subscriptions::default();
        found.note(&subscription(
            "arn:aws:sns:us-east-1:123456789012:t:1",
            "soc@example.com",
        ));
        let emails = vec!["oncall@example.com".to_owned()];
        let mut checks = Checks::default();
        check_subscribers(&mut checks, &emails, &found);
        assert_eq!(checks.drift()[0].actual, "confirmed: email:soc@example.com");
        assert_eq!(unsubscribed(&emails, &found), ["oncall@example.com"]);
    }
}

/// What the topic's calls send and what its read makes of AWS's answers,
/// with the SDK's own mock transport.
#[cfg(test)]
mod requests {
    use super::*;
    use aws_sdk_sns::operation::{
        create_topic::CreateTopicOutput, get_topic_attributes::GetTopicAttributesOutput,
        list_subscriptions_by_topic::ListSubscriptionsByTopicOutput, subscribe::SubscribeOutput,
    };
    use aws_sdk_sns::types::Subscription;
    use aws_sdk_sns::Client;
    use paysec_aws::mocked_client;
    use paysec_aws::testing::{mock, offline};
    use paysec_core::testing::context;

    const KEY: &str = "arn:aws:kms:eu-west-1:123456789012:key/2222";
    const ARN: &str = "arn:aws:sns:eu-west-1:123456789012:paysec-test-001-alarms";
    const ADDRESS: &str = "soc@example.com";

    async fn topic(sns: Client) -> (Topic, Context) {
        let mut aws = offline(paysec_core::testing::REGION).await;
        aws.sns = sns;
        let topic = Topic::new(
            LogicalId::new("monitoring.topic"),
            aws,
            "alarms",
            LogicalId::new("kms.logs"),
        )
        .notifying(vec![ADDRESS.to_owned()]);
        let key = Present::new("2222").with(Attr::Arn, KEY);
        (
            topic,
            context("monitoring.topic", &[("kms.logs", "kms_key", key)]),
        )
    }

    #[tokio::test]
    async fn create_sends_the_key_and_the_policy_then_subscribes_the_address() {
        let create = mock!(Client::create_topic)
            .match_requests(|r| {
                let attrs = r.attributes().cloned().unwrap_or_default();
                let policy: serde_json::Value =
                    serde_json::from_str(attrs.get("Policy").map_or("null", String::as_str))
                        .unwrap_or_default();
                r.name() == Some("paysec-test-001-alarms")
                    && attrs.get("KmsMasterKeyId").map(String::as_str) == Some(KEY)
                    && policy["Statement"][0]["Principal"]["Service"] == "cloudwatch.amazonaws.com"
                    && r.tags().iter().any(|t| t.key() == "paysec:environment")
            })
            .then_output(|| CreateTopicOutput::builder().topic_arn(ARN).build());
        let listed = mock!(Client::list_subscriptions_by_topic)
            .then_output(|| ListSubscriptionsByTopicOutput::builder().build());
        let subscribe = mock!(Client::subscribe)
            .match_requests(|r| {
                r.topic_arn() == Some(ARN)
                    && r.protocol() == Some("email")
                    && r.endpoint() == Some(ADDRESS)
                    && r.return_subscription_arn() == Some(true)
            })
            .then_output(|| SubscribeOutput::builder().build());
        let (topic, cx) = topic(mocked_client!(aws_sdk_sns, [&create, &listed, &subscribe])).await;
        let present = topic.create(&cx).await.expect("created");
        assert_eq!(present.physical_id, ARN);
        assert_eq!((create.num_calls(), subscribe.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn no_key_is_drift_and_a_pending_address_is_evidence_nobody_hears() {
        let attrs = mock!(Client::get_topic_attributes)
            .match_requests(|r| r.topic_arn() == Some(ARN))
            .then_output(|| {
                GetTopicAttributesOutput::builder()
                    .attributes("TopicArn", ARN)
                    .build()
            });
        let listed = mock!(Client::list_subscriptions_by_topic).then_output(|| {
            ListSubscriptionsByTopicOutput::builder()
                .subscriptions(
                    Subscription::builder()
                        .subscription_arn("PendingConfirmation")
                        .protocol("email")
                        .endpoint(ADDRESS)
                        .build(),
                )
                .build()
        });
        let (topic, cx) = topic(mocked_client!(aws_sdk_sns, [&attrs, &listed])).await;
        let Observed::Present {
            drift, evidence, ..
        } = topic.read(&cx, None).await.expect("read")
        else {
            panic!("present");
        };
        let key = drift
            .iter()
            .find(|d| d.property == TopicProperty::KmsMasterKeyId.as_str())
            .expect("the key drifted");
        assert_eq!((key.expected.as_str(), key.actual.as_str()), (KEY, "none"));
        assert!(drift
            .iter()
            .any(|d| d.property == TopicProperty::Policy.as_str()));
        // Subscribed and waiting for its recipient: nothing for `up` to do,
        // and `verify` fails MON-8 on what this says.
        let heard = evidence
            .iter()
            .find(|d| d.property == TopicProperty::Subscribers.as_str())
            .expect("subscribers quoted");
        assert_eq!(
            heard.actual,
            format!("none confirmed (pending confirmation: email:{ADDRESS})")
        );
    }
}

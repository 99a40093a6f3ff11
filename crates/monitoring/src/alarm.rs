//! A CloudWatch alarm that notifies the alarm topic.

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
use paysec_aws::AwsResultExt;
use paysec_core::resource::{
    Checks, Comparison, Context, DeleteOutcome, Dependency, Observed, Present, QuickCheck, Resource,
};
use paysec_core::Attr;
use paysec_core::{LogicalId, Property, ResourceError};

/// A metric dimension whose value is an attribute of a stack resource.
#[derive(Clone, Debug)]
pub struct Dimension {
    pub name: &'static str,
    pub resource: LogicalId,
    pub attribute: Attr,
}

#[derive(Clone, Debug)]
pub struct AlarmSpec {
    pub purpose: &'static str,
    pub description: &'static str,
    /// `None`: the stack's own namespace (`Paysec/<env>`).
    pub namespace: Option<&'static str>,
    pub metric: &'static str,
    pub dimensions: Vec<Dimension>,
    pub statistic: Statistic,
    pub threshold: f64,
    pub period_seconds: i32,
    pub evaluation_periods: i32,
}

paysec_core::properties! {
    /// What an alarm's read compares (MON-5..7).
    pub enum AlarmProperty {
        AlarmActions = "alarm_actions",
        Threshold = "threshold",
        Metric = "metric",
    }
}

pub struct Alarm {
    pub id: LogicalId,
    pub aws: paysec_aws::Aws,
    pub spec: AlarmSpec,
    pub topic: LogicalId,
    /// The metric's source (a metric filter, a function, a queue): alarms
    /// need only its identity, not its readiness.
    pub source: LogicalId,
}

/// The run's shared answer of every alarm under the environment's prefix.
const ALARMS: &str = "alarms-full";

impl Alarm {
    /// Every alarm under the environment's name prefix (DescribeAlarms,
    /// paged): one call for the stack's five.
    async fn all_of_environment(
        &self,
        cx: &Context,
    ) -> Result<Vec<aws_sdk_cloudwatch::types::MetricAlarm>, ResourceError> {
        let mut all = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let out = self
                .aws
                .cloudwatch
                .describe_alarms()
                .alarm_name_prefix(format!("{}-", cx.env.names.prefix()))
                .max_records(100)
                .set_next_token(next.take())
                .send()
                .await
                .or_resource(&self.id, "DescribeAlarms")?;
            all.extend(out.metric_alarms().iter().cloned());
            match out.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_owned()),
                _ => return Ok(all),
            }
        }
    }

    fn name(&self, cx: &Context) -> String {
        format!("{}-{}", cx.env.names.prefix(), self.spec.purpose)
    }

    fn namespace(&self, cx: &Context) -> String {
        self.spec
            .namespace
            .map(str::to_owned)
            .unwrap_or_else(|| format!("Paysec/{}", cx.env.name))
    }

    async fn put(&self, cx: &Context) -> Result<Present, ResourceError> {
        let topic = cx.attr(&self.topic, Attr::Arn)?.to_owned();
        let mut req = self
            .aws
            .cloudwatch
            .put_metric_alarm()
            .alarm_name(self.name(cx))
            .alarm_description(self.spec.description)
            .namespace(self.namespace(cx))
            .metric_name(self.spec.metric)
            .statistic(self.spec.statistic.clone())
            .threshold(self.spec.threshold)
            .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
            .period(self.spec.period_seconds)
            .evaluation_periods(self.spec.evaluation_periods)
            .treat_missing_data("notBreaching")
            .actions_enabled(true)
            .alarm_actions(&topic)
            .ok_actions(&topic);
        for d in &self.spec.dimensions {
            req = req.dimensions(
                aws_sdk_cloudwatch::types::Dimension::builder()
                    .name(d.name)
                    .value(cx.attr(&d.resource, d.attribute)?)
                    .build(),
            );
        }
        for (k, v) in cx.tags() {
            req = req.tags(
                aws_sdk_cloudwatch::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build(),
            );
        }
        req.send().await.or_resource(&self.id, "PutMetricAlarm")?;
        let arn = cx.env.arn(
            "cloudwatch",
            &cx.env.region,
            &format!("alarm:{}", self.name(cx)),
        );
        Ok(Present::new(self.name(cx)).with(Attr::Arn, arn))
    }
}

#[async_trait]
impl Resource for Alarm {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "cloudwatch_alarm"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        let mut d = vec![
            Dependency::Identity(self.topic.clone()),
            Dependency::Identity(self.source.clone()),
        ];
        for dim in &self.spec.dimensions {
            if dim.resource != self.source {
                d.push(Dependency::Identity(dim.resource.clone()));
            }
        }
        d
    }

    /// One DescribeAlarms of the environment's name prefix answers every
    /// alarm's check: there (threshold, metric and actions: full read only).
    async fn quick_check(
        &self,
        cx: &Context,
        _known: &Present,
    ) -> Result<QuickCheck, ResourceError> {
        let listing = || async {
            Ok(self
                .all_of_environment(cx)
                .await?
                .iter()
                .filter_map(|a| a.alarm_name().map(str::to_owned))
                .collect())
        };
        cx.census().check("alarms", &self.name(cx), listing).await
    }

    async fn read(
        &self,
        cx: &Context,
        _known: Option<&Present>,
    ) -> Result<Observed, ResourceError> {
        let name = self.name(cx);
        // The run's first read of each alarm shares one DescribeAlarms of
        // the environment's prefix (the early looks ask at once); a later
        // one asks for this alarm.
        let found = if cx.census().first_look(ALARMS, &name) {
            cx.census()
                .shared(ALARMS, || self.all_of_environment(cx))
                .await?
                .iter()
                .find(|a| a.alarm_name() == Some(name.as_str()))
                .cloned()
        } else {
            self.aws
                .cloudwatch
                .describe_alarms()
                .alarm_names(&name)
                .send()
                .await
                .or_resource(&self.id, "DescribeAlarms")?
                .metric_alarms()
                .first()
                .cloned()
        };
        let Some(a) = found else {
            return Ok(Observed::Missing);
        };
        let topic = cx.attr(&self.topic, Attr::Arn)?;
        let mut checks = Checks::default();
        let enabled = if a.actions_enabled() == Some(true) {
            ""
        } else {
            " (actions disabled)"
        };
        checks.check(
            AlarmProperty::AlarmActions,
            a.alarm_actions().iter().any(|x| x == topic) && enabled.is_empty(),
            topic,
            format!("{}{enabled}", a.alarm_actions().join(",")),
        );
        checks.equal(
            AlarmProperty::Threshold,
            self.spec.threshold,
            a.threshold().map(|t| t.to_string()).unwrap_or_default(),
        );
        let namespace = self.namespace(cx);
        checks.equal(
            AlarmProperty::Metric,
            format!("{namespace}/{}", self.spec.metric),
            format!(
                "{}/{}",
                a.namespace().unwrap_or(""),
                a.metric_name().unwrap_or("")
            ),
        );
        Ok(checks.observed(
            Present::new(self.name(cx)).with(Attr::Arn, a.alarm_arn().unwrap_or_default()),
        ))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        self.put(cx).await
    }

    async fn repair(
        &self,
        cx: &Context,
        _present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        // Put whole: every property in one call.
        AlarmProperty::drifted(&self.id, drift)?;
        self.put(cx).await
    }

    async fn delete(&self, cx: &Context, _known: &Present) -> Result<DeleteOutcome, ResourceError> {
        // DeleteAlarms ignores names that do not exist.
        self.aws
            .cloudwatch
            .delete_alarms()
            .alarm_names(self.name(cx))
            .send()
            .await
            .or_resource(&self.id, "DeleteAlarms")?;
        Ok(DeleteOutcome::default())
    }
}

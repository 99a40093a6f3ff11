//! A metric filter: log lines matching a pattern count into a metric.

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::MetricTransformation;
use paysec_aws::AwsResultExt;
use paysec_core::error::not_found_is_none;
use paysec_core::resource::{
    Checks, Comparison, Context, DeleteOutcome, Dependency, Observed, Present, QuickCheck, Resource,
};
use paysec_core::Attr;
use paysec_core::{ErrorClass, LogicalId, Property, ResourceError};

paysec_core::properties! {
    /// What a metric filter's read compares (MON-3, MON-4).
    pub enum FilterProperty {
        Pattern = "pattern",
        Metric = "metric",
    }
}

pub struct MetricFilter {
    id: LogicalId,
    aws: paysec_aws::Aws,
    log_group: LogicalId,
    purpose: &'static str,
    pattern: &'static str,
    metric: &'static str,
}

impl MetricFilter {
    pub fn new(
        id: LogicalId,
        aws: paysec_aws::Aws,
        log_group: LogicalId,
        purpose: &'static str,
        pattern: &'static str,
        metric: &'static str,
    ) -> Self {
        Self {
            id,
            aws,
            log_group,
            purpose,
            pattern,
            metric,
        }
    }

    fn name(&self, cx: &Context) -> String {
        format!("{}-{}", cx.env.names.prefix(), self.purpose)
    }

    /// The custom metrics' namespace, one per environment.
    pub fn namespace(cx: &Context) -> String {
        format!("Paysec/{}", cx.env.name)
    }

    async fn put(&self, cx: &Context) -> Result<Present, ResourceError> {
        self.aws
            .logs
            .put_metric_filter()
            .log_group_name(cx.attr(&self.log_group, Attr::Name)?)
            .filter_name(self.name(cx))
            .filter_pattern(self.pattern)
            .metric_transformations(
                MetricTransformation::builder()
                    .metric_name(self.metric)
                    .metric_namespace(Self::namespace(cx))
                    .metric_value("1")
                    .default_value(0.0)
                    .build()
                    .map_err(|e| ResourceError::unexpected(&self.id, e.to_string()))?,
            )
            .send()
            .await
            .or_resource(&self.id, "PutMetricFilter")?;
        Ok(Present::new(self.name(cx))
            .with(Attr::Metric, self.metric)
            .with(Attr::Namespace, Self::namespace(cx)))
    }
}

#[async_trait]
impl Resource for MetricFilter {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "metric_filter"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Identity(self.log_group.clone())]
    }

    /// One DescribeMetricFilters per log group answers the checks of all
    /// its filters: there (pattern and metric: full read only).
    async fn quick_check(
        &self,
        cx: &Context,
        _known: &Present,
    ) -> Result<QuickCheck, ResourceError> {
        let group = cx.attr(&self.log_group, Attr::Name)?.to_owned();
        let listing = || async {
            let found = self
                .aws
                .logs
                .describe_metric_filters()
                .log_group_name(&group)
                .send()
                .await
                .or_resource(&self.id, "DescribeMetricFilters");
            Ok(not_found_is_none(found)?
                .map(|o| {
                    o.metric_filters()
                        .iter()
                        .filter_map(|f| f.filter_name().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default())
        };
        let list = format!("metric_filters:{group}");
        cx.census().check(&list, &self.name(cx), listing).await
    }

    async fn read(
        &self,
        cx: &Context,
        _known: Option<&Present>,
    ) -> Result<Observed, ResourceError> {
        let out = match self
            .aws
            .logs
            .describe_metric_filters()
            .log_group_name(cx.attr(&self.log_group, Attr::Name)?)
            .filter_name_prefix(self.name(cx))
            .send()
            .await
            .or_resource(&self.id, "DescribeMetricFilters")
        {
            Ok(o) => o,
            Err(e) if e.class() == ErrorClass::NotFound => return Ok(Observed::Missing),
            Err(e) => return Err(e),
        };
        let Some(f) = out
            .metric_filters()
            .iter()
            .find(|f| f.filter_name() == Some(self.name(cx).as_str()))
        else {
            return Ok(Observed::Missing);
        };
        let mut checks = Checks::default();
        checks.equal(
            FilterProperty::Pattern,
            self.pattern,
            f.filter_pattern().unwrap_or(""),
        );
        let metric = f
            .metric_transformations()
            .first()
            .map(|t| t.metric_name())
            .unwrap_or("");
        checks.equal(FilterProperty::Metric, self.metric, metric);
        Ok(checks.observed(
            Present::new(self.name(cx))
                .with(Attr::Metric, self.metric)
                .with(Attr::Namespace, Self::namespace(cx)),
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
        FilterProperty::drifted(&self.id, drift)?;
        self.put(cx).await
    }

    async fn delete(&self, cx: &Context, _known: &Present) -> Result<DeleteOutcome, ResourceError> {
        let Ok(group) = cx.attr(&self.log_group, Attr::Name) else {
            return Ok(DeleteOutcome::default());
        };
        not_found_is_none(
            self.aws
                .logs
                .delete_metric_filter()
                .log_group_name(group)
                .filter_name(self.name(cx))
                .send()
                .await
                .or_resource(&self.id, "DeleteMetricFilter"),
        )?;
        Ok(DeleteOutcome::default())
    }
}

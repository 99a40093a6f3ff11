//! The payment API's private entry (`[api]`): the REST API, its resource
//! policy, its stage, the function's permission for it, the region's
//! API Gateway logging role, and the alarms on its errors and throttling.
//! Its security group and `execute-api` interface endpoint are with the
//! network (`network.rs`), its access log group with the others (`logs.rs`).

use std::sync::Arc;

use aws_sdk_cloudwatch::types::Statistic;
use paysec_api::{AccountLogging, ApiPolicy, Callers, InvokePermission, RestApi, Stage, StageSpec};
use paysec_core::{Attr, LogicalId, Resource};
use paysec_monitoring::{Alarm, AlarmSpec, Dimension, MetricFilter};

use crate::{ids, Inputs};

/// Requests API Gateway refused for the stage's throttling, from the
/// access log (REST APIs publish no throttling metric of their own).
pub(crate) const API_THROTTLED: &str = "{ $.status = 429 }";

pub(crate) fn add(nodes: &mut Vec<Arc<dyn Resource>>, inputs: &Inputs<'_>) {
    let aws = || inputs.aws.clone();
    let id = |s: &str| LogicalId::new(s);
    let api = &inputs.config.stack.api;

    nodes.push(Arc::new(AccountLogging::new(id(ids::API_ACCOUNT), aws())));
    nodes.push(Arc::new(RestApi::new(
        id(ids::API),
        aws(),
        id(ids::FUNCTION),
        api.security_policy.clone(),
    )));
    let callers = Callers {
        principals: api.allowed_principals.clone(),
        vpc_endpoints: api.allowed_vpc_endpoints.clone(),
    };
    nodes.push(Arc::new(ApiPolicy::new(
        id(ids::API_POLICY),
        aws(),
        id(ids::API),
        id(ids::ENDPOINT_API),
        callers.clone(),
    )));
    nodes.push(Arc::new(Stage::new(
        id(ids::API_STAGE),
        aws(),
        id(ids::API),
        id(ids::API_POLICY),
        id(ids::ENDPOINT_API),
        id(ids::FUNCTION),
        id(ids::LOG_API_ACCESS),
        id(ids::API_ACCOUNT),
        StageSpec {
            rate_limit: api.rate_limit,
            burst_limit: api.burst_limit,
            // What the deployed policy and definition follow besides the
            // live ids (the TLS policy and throttling are the API's and
            // the stage's own settings, not part of a deployment).
            definition: format!(
                "principals={};endpoints={}",
                callers.principals.join(","),
                callers.vpc_endpoints.join(",")
            ),
        },
    )));
    nodes.push(Arc::new(InvokePermission::new(
        id(ids::API_PERMISSION),
        aws(),
        id(ids::FUNCTION),
        id(ids::API),
    )));
    nodes.push(Arc::new(MetricFilter::new(
        id(ids::FILTER_API_THROTTLED),
        aws(),
        id(ids::LOG_API_ACCESS),
        "api-throttled",
        API_THROTTLED,
        "ApiThrottledRequests",
    )));
    let stage_dimensions = || {
        vec![
            Dimension {
                name: "ApiName",
                resource: id(ids::API),
                attribute: Attr::Name,
            },
            Dimension {
                name: "Stage",
                resource: id(ids::API_STAGE),
                attribute: Attr::Name,
            },
        ]
    };
    nodes.push(Arc::new(Alarm {
        id: id(ids::ALARM_API_5XX),
        aws: aws(),
        spec: AlarmSpec {
            purpose: "api-5xx",
            description: "Payment API server errors (5xx) on stage v1",
            namespace: Some("AWS/ApiGateway"),
            metric: "5XXError",
            dimensions: stage_dimensions(),
            statistic: Statistic::Sum,
            threshold: 1.0,
            period_seconds: 300,
            evaluation_periods: 1,
        },
        topic: id(ids::TOPIC),
        source: id(ids::API_STAGE),
    }));
    nodes.push(Arc::new(Alarm {
        id: id(ids::ALARM_API_THROTTLED),
        aws: aws(),
        spec: AlarmSpec {
            purpose: "api-throttled",
            description: "Payment API requests refused by the stage's throttling (429)",
            namespace: None,
            metric: "ApiThrottledRequests",
            dimensions: vec![],
            statistic: Statistic::Sum,
            threshold: 1.0,
            period_seconds: 300,
            evaluation_periods: 1,
        },
        topic: id(ids::TOPIC),
        source: id(ids::FILTER_API_THROTTLED),
    }));
}

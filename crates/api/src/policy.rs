//! The REST API's resource policy: invoking is allowed to the configured
//! principals (this account's by default) and denied to every call that
//! does not arrive through this stack's `execute-api` interface endpoint
//! or a consumer endpoint the configuration lists. A PRIVATE API cannot be
//! deployed without one, so the stage comes after it.
//!
//! Its own node, apart from the API: the policy names the interface
//! endpoint, whose own policy names the API.

use async_trait::async_trait;
use paysec_aws::AwsResultExt;
use paysec_core::resource::{
    Checks, Comparison, Context, DeleteOutcome, Dependency, Observed, Ownership, Present, Resource,
};
use paysec_core::retry::{retrying, rules};
use paysec_core::{Attr, LogicalId, Property, ResourceError};
use serde_json::{json, Value};

use crate::rest_api::patch;
use crate::{execute_api_arn, get_rest_api, parse_policy};

paysec_core::properties! {
    /// What the policy's read compares (API-5).
    pub enum ApiPolicyProperty {
        Policy = "policy",
    }
}

/// Who may call, as configured.
#[derive(Clone, Debug, Default)]
pub struct Callers {
    /// IAM principals (ARNs or account ids); empty: this account's.
    pub principals: Vec<String>,
    /// Consumer interface endpoints (`vpce-...`) besides the stack's own.
    pub vpc_endpoints: Vec<String>,
}

pub struct ApiPolicy {
    id: LogicalId,
    aws: paysec_aws::Aws,
    api: LogicalId,
    endpoint: LogicalId,
    callers: Callers,
}

impl ApiPolicy {
    pub fn new(
        id: LogicalId,
        aws: paysec_aws::Aws,
        api: LogicalId,
        endpoint: LogicalId,
        callers: Callers,
    ) -> Self {
        Self {
            id,
            aws,
            api,
            endpoint,
            callers,
        }
    }

    /// The document: principals as ARNs (an account id becomes its root,
    /// as IAM would store it), full ARNs rather than the `execute-api:/`
    /// shorthand AWS rewrites.
    pub fn document(&self, cx: &Context) -> Result<Value, ResourceError> {
        let api_id = cx.physical_id(&self.api)?;
        let resource = format!("{}/*", execute_api_arn(cx, api_id));
        let principals: Vec<String> = if self.callers.principals.is_empty() {
            vec![cx.env.account_root()]
        } else {
            self.callers
                .principals
                .iter()
                .map(|p| {
                    if p.chars().all(|c| c.is_ascii_digit()) {
                        format!("arn:{}:iam::{p}:root", cx.env.partition)
                    } else {
                        p.clone()
                    }
                })
                .collect()
        };
        let mut endpoints = vec![cx.physical_id(&self.endpoint)?.to_owned()];
        endpoints.extend(self.callers.vpc_endpoints.iter().cloned());
        Ok(json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AllowedCallers",
                    "Effect": "Allow",
                    "Principal": { "AWS": principals },
                    "Action": "execute-api:Invoke",
                    "Resource": resource
                },
                {
                    "Sid": "OnlyThroughAllowedEndpoints",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "execute-api:Invoke",
                    "Resource": resource,
                    "Condition": { "StringNotEquals": { "aws:SourceVpce": endpoints } }
                }
            ]
        }))
    }

    async fn put(&self, cx: &Context, api_id: &str) -> Result<(), ResourceError> {
        let doc = self.document(cx)?.to_string();
        // apigateway:PATCH on /restapis/<id>
        retrying(&[rules::APIGATEWAY_CONCURRENT_MODIFICATION], || async {
            self.aws
                .apigateway
                .update_rest_api()
                .rest_api_id(api_id)
                .patch_operations(patch("replace", "/policy", &doc))
                .send()
                .await
                .or_resource(&self.id, "UpdateRestApi")
        })
        .await?;
        Ok(())
    }
}

#[async_trait]
impl Resource for ApiPolicy {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "api_gateway_policy"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        vec![
            Dependency::Identity(self.api.clone()),
            Dependency::Identity(self.endpoint.clone()),
        ]
    }

    async fn read(
        &self,
        cx: &Context,
        _known: Option<&Present>,
    ) -> Result<Observed, ResourceError> {
        let api_id = cx.physical_id(&self.api)?;
        let Some(api) = get_rest_api(&self.aws, &self.id, api_id).await? else {
            return Ok(Observed::Missing);
        };
        let arn = execute_api_arn(cx, api_id);
        let live = parse_policy(api.policy().unwrap_or_default(), &arn);
        if live.is_null() {
            return Ok(Observed::Missing);
        }
        let mut checks = Checks::default();
        checks.policy(ApiPolicyProperty::Policy, &self.document(cx)?, &live);
        Ok(checks.observed(Present::new(api_id).with(Attr::Arn, arn)))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let api_id = cx.physical_id(&self.api)?;
        self.put(cx, api_id).await?;
        Ok(Present::new(api_id).with(Attr::Arn, execute_api_arn(cx, api_id)))
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        ApiPolicyProperty::drifted(&self.id, drift)?;
        self.put(cx, &present.physical_id).await?;
        Ok(present.clone())
    }

    /// A setting on the API, which the API's own ownership proof covers.
    fn adoption_needs_proof(&self) -> bool {
        false
    }

    async fn ownership(&self, _cx: &Context, _known: &Present) -> Result<Ownership, ResourceError> {
        Ok(Ownership::Proven)
    }

    /// Goes with the API, deleted right after.
    async fn delete(
        &self,
        _cx: &Context,
        _known: &Present,
    ) -> Result<DeleteOutcome, ResourceError> {
        Ok(DeleteOutcome::default())
    }
}

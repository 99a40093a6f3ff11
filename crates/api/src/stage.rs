//! The stage `v1` and the deployment it serves: access logs to the
//! KMS-encrypted log group (request id, caller, source endpoint, status,
//! latency, never the body), X-Ray tracing, and throttling of every
//! method.
//!
//! A deployment is a snapshot: a change to the API's definition or its
//! resource policy takes effect only once deployed again. The deployment's
//! description carries the digest of what it was made from (the
//! integration's alias, the policy's endpoints and principals, paysec's
//! definition); a stage serving any other deployment (one made by hand, or
//! from an older definition) is drift, and the repair deploys again.

use async_trait::async_trait;
use paysec_aws::AwsResultExt;
use paysec_core::resource::{
    Checks, Comparison, Context, DeleteOutcome, Dependency, Observed, Present, Resource,
};
use paysec_core::retry::{retrying, rules};
use paysec_core::{Attr, LogicalId, Property, ResourceError};

use crate::rest_api::patch;
use crate::STAGE;

paysec_core::properties! {
    /// What the stage's read compares (API-6..9, INV-1).
    pub enum StageProperty {
        Deployment = "deployment",
        AccessLogs = "access_logs",
        Tracing = "tracing",
        Throttling = "throttling",
        Tags = "tags",
    }
}

/// The access log line: one JSON object per request, without the body or
/// any header value.
pub const ACCESS_LOG_FORMAT: &str = concat!(
    r#"{"requestId":"$context.requestId","#,
    r#""extendedRequestId":"$context.extendedRequestId","#,
    r#""requestTime":"$context.requestTime","#,
    r#""caller":"$context.identity.caller","#,
    r#""userArn":"$context.identity.userArn","#,
    r#""sourceIp":"$context.identity.sourceIp","#,
    r#""vpceId":"$context.identity.vpceId","#,
    r#""httpMethod":"$context.httpMethod","#,
    r#""resourcePath":"$context.resourcePath","#,
    r#""status":$context.status,"#,
    r#""responseLatency":$context.responseLatency,"#,
    r#""integrationLatency":"$context.integration.latency","#,
    r#""tlsVersion":"$context.tlsVersion","#,
    r#""errorType":"$context.error.responseType"}"#,
);

/// The stage's configured settings.
#[derive(Clone, Debug)]
pub struct StageSpec {
    /// Steady-state requests per second, every method.
    pub rate_limit: f64,
    pub burst_limit: i32,
    /// What the deployment is made from besides the live ids (the
    /// configured callers, paysec's version): part of its digest.
    pub definition: String,
}

pub struct Stage {
    id: LogicalId,
    aws: paysec_aws::Aws,
    api: LogicalId,
    policy: LogicalId,
    endpoint: LogicalId,
    function: LogicalId,
    log_group: LogicalId,
    account: LogicalId,
    spec: StageSpec,
}

impl Stage {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: LogicalId,
        aws: paysec_aws::Aws,
        api: LogicalId,
        policy: LogicalId,
        endpoint: LogicalId,
        function: LogicalId,
        log_group: LogicalId,
        account: LogicalId,
        spec: StageSpec,
    ) -> Self {
        Self {
            id,
            aws,
            api,
            policy,
            endpoint,
            function,
            log_group,
            account,
            spec,
        }
    }

    /// `paysec <digest>`: the description of the deployment this stage
    /// must serve.
    fn wanted_deployment(&self, cx: &Context) -> Result<String, ResourceError> {
        let digest = paysec_core::digest::sha256_hex(
            [
                env!("CARGO_PKG_VERSION"),
                cx.physical_id(&self.api)?,
                cx.physical_id(&self.endpoint)?,
                cx.attr(&self.function, Attr::AliasArn)?,
                self.spec.definition.as_str(),
            ]
            .join("\n")
            .as_bytes(),
        );
        Ok(format!("paysec {}", &digest[..16]))
    }

    /// The log group's ARN as API Gateway takes it (without `:*`).
    fn destination(&self, cx: &Context) -> Result<String, ResourceError> {
        Ok(cx
            .attr(&self.log_group, Attr::Arn)?
            .trim_end_matches(":*")
            .to_owned())
    }

    fn settings(
        &self,
        cx: &Context,
    ) -> Result<Vec<aws_sdk_apigateway::types::PatchOperation>, ResourceError> {
        Ok(vec![
            patch(
                "replace",
                "/accessLogSettings/destinationArn",
                &self.destination(cx)?,
            ),
            patch("replace", "/accessLogSettings/format", ACCESS_LOG_FORMAT),
            patch("replace", "/tracingEnabled", "true"),
            patch(
                "replace",
                "/*/*/throttling/rateLimit",
                &format!("{:.1}", self.spec.rate_limit),
            ),
            patch(
                "replace",
                "/*/*/throttling/burstLimit",
                &self.spec.burst_limit.to_string(),
            ),
        ])
    }

    /// A new deployment of the API's current definition and policy
    /// (apigateway:POST on /restapis/<id>/deployments); its id.
    async fn deploy(&self, cx: &Context, api_id: &str) -> Result<String, ResourceError> {
        let description = self.wanted_deployment(cx)?;
        let out = retrying(&[rules::APIGATEWAY_CONCURRENT_MODIFICATION], || async {
            self.aws
                .apigateway
                .create_deployment()
                .rest_api_id(api_id)
                .description(&description)
                .send()
                .await
                .or_resource(&self.id, "CreateDeployment")
        })
        .await?;
        out.id()
            .map(str::to_owned)
            .ok_or_else(|| ResourceError::unexpected(&self.id, "CreateDeployment returned no id"))
    }

    async fn update(
        &self,
        api_id: &str,
        ops: Vec<aws_sdk_apigateway::types::PatchOperation>,
    ) -> Result<(), ResourceError> {
        // apigateway:PATCH on /restapis/<id>/stages/v1
        retrying(&[rules::APIGATEWAY_CONCURRENT_MODIFICATION], || async {
            self.aws
                .apigateway
                .update_stage()
                .rest_api_id(api_id)
                .stage_name(STAGE)
                .set_patch_operations(Some(ops.clone()))
                .send()
                .await
                .or_resource(&self.id, "UpdateStage")
        })
        .await?;
        Ok(())
    }

    fn present(&self, cx: &Context, api_id: &str) -> Present {
        Present::new(format!("{api_id}/{STAGE}"))
            .with(Attr::Name, STAGE)
            .with(
                Attr::Url,
                format!(
                    "https://{api_id}.execute-api.{}.amazonaws.com/{STAGE}",
                    cx.env.region
                ),
            )
    }
}

#[async_trait]
impl Resource for Stage {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "api_gateway_stage"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        [
            &self.api,
            &self.policy,
            &self.endpoint,
            &self.function,
            &self.log_group,
            &self.account,
        ]
        .into_iter()
        .cloned()
        .map(Dependency::Identity)
        .collect()
    }

    async fn read(
        &self,
        cx: &Context,
        _known: Option<&Present>,
    ) -> Result<Observed, ResourceError> {
        let api_id = cx.physical_id(&self.api)?;
        // apigateway:GET on /restapis/<id>/stages/v1
        let found = paysec_core::error::not_found_is_none(
            self.aws
                .apigateway
                .get_stage()
                .rest_api_id(api_id)
                .stage_name(STAGE)
                .send()
                .await
                .or_resource(&self.id, "GetStage"),
        )?;
        let Some(stage) = found else {
            return Ok(Observed::Missing);
        };
        let mut checks = Checks::default();
        let deployment = match stage.deployment_id() {
            // apigateway:GET on /restapis/<id>/deployments/<id>
            Some(d) => paysec_core::error::not_found_is_none(
                self.aws
                    .apigateway
                    .get_deployment()
                    .rest_api_id(api_id)
                    .deployment_id(d)
                    .send()
                    .await
                    .or_resource(&self.id, "GetDeployment"),
            )?
            .and_then(|d| d.description().map(str::to_owned))
            .map(|desc| format!("{d}: {desc}"))
            .unwrap_or_else(|| format!("{d}: no description")),
            None => "none".into(),
        };
        let wanted = self.wanted_deployment(cx)?;
        checks.check(
            StageProperty::Deployment,
            deployment.ends_with(&format!(": {wanted}")),
            format!("a deployment described \"{wanted}\""),
            deployment,
        );
        let logs = stage.access_log_settings();
        let destination = logs.and_then(|l| l.destination_arn()).unwrap_or("none");
        let format = logs.and_then(|l| l.format()).unwrap_or("none");
        let wanted_destination = self.destination(cx)?;
        checks.check(
            StageProperty::AccessLogs,
            destination == wanted_destination && format == ACCESS_LOG_FORMAT,
            format!("{wanted_destination}, format {ACCESS_LOG_FORMAT}"),
            format!("{destination}, format {format}"),
        );
        checks.equal(
            StageProperty::Tracing,
            "tracingEnabled true",
            format!("tracingEnabled {}", stage.tracing_enabled()),
        );
        let all = stage.method_settings().and_then(|m| m.get("*/*"));
        let live_throttle = all.map_or("no stage-wide method settings".to_owned(), |s| {
            format!(
                "rateLimit {:.1}, burstLimit {}",
                s.throttling_rate_limit(),
                s.throttling_burst_limit()
            )
        });
        checks.equal(
            StageProperty::Throttling,
            format!(
                "rateLimit {:.1}, burstLimit {}",
                self.spec.rate_limit, self.spec.burst_limit
            ),
            live_throttle,
        );
        let tags: Vec<(String, String)> = stage
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        checks.tags(&cx.tags(), &tags);
        Ok(checks.observed(self.present(cx, api_id)))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let api_id = cx.physical_id(&self.api)?;
        let deployment = self.deploy(cx, api_id).await?;
        // apigateway:POST on /restapis/<id>/stages (and apigateway:PUT on
        // /tags for its tags); access logs and throttling cannot be given
        // here, so an update follows.
        let created = retrying(&[rules::APIGATEWAY_CONCURRENT_MODIFICATION], || async {
            self.aws
                .apigateway
                .create_stage()
                .rest_api_id(api_id)
                .stage_name(STAGE)
                .deployment_id(&deployment)
                .tracing_enabled(true)
                .set_tags(Some(cx.tags().into_iter().collect()))
                .send()
                .await
                .or_resource(&self.id, "CreateStage")
        })
        .await;
        match created {
            Ok(_) => {}
            // Made by a run whose answer was lost: point it at this
            // deployment, and settle the rest below.
            Err(e) if e.code() == Some("ConflictException") => {
                self.update(api_id, vec![patch("replace", "/deploymentId", &deployment)])
                    .await?
            }
            Err(e) => return Err(e),
        }
        self.update(api_id, self.settings(cx)?).await?;
        Ok(self.present(cx, api_id))
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        let api_id = cx.physical_id(&self.api)?;
        let mut ops = Vec::new();
        let mut settings = false;
        for (p, _) in StageProperty::drifted(&self.id, drift)? {
            match p {
                StageProperty::Deployment => {
                    let d = self.deploy(cx, api_id).await?;
                    ops.push(patch("replace", "/deploymentId", &d));
                }
                StageProperty::AccessLogs | StageProperty::Tracing | StageProperty::Throttling => {
                    settings = true
                }
                StageProperty::Tags => {
                    crate::retag(
                        &self.aws,
                        &self.id,
                        cx,
                        &format!("/restapis/{api_id}/stages/{STAGE}"),
                    )
                    .await?
                }
            }
        }
        if settings {
            ops.extend(self.settings(cx)?);
        }
        if !ops.is_empty() {
            self.update(api_id, ops).await?;
        }
        Ok(present.clone())
    }

    async fn delete(&self, cx: &Context, _known: &Present) -> Result<DeleteOutcome, ResourceError> {
        let Ok(api_id) = cx.physical_id(&self.api) else {
            return Ok(DeleteOutcome::default());
        };
        if crate::get_rest_api(&self.aws, &self.id, api_id)
            .await?
            .is_none()
        {
            return Ok(DeleteOutcome::default());
        }
        // apigateway:DELETE on /restapis/<id>/stages/v1
        paysec_core::error::not_found_is_none(
            retrying(&[rules::APIGATEWAY_CONCURRENT_MODIFICATION], || async {
                self.aws
                    .apigateway
                    .delete_stage()
                    .rest_api_id(api_id)
                    .stage_name(STAGE)
                    .send()
                    .await
                    .or_resource(&self.id, "DeleteStage")
            })
            .await,
        )?;
        Ok(DeleteOutcome::default())
    }
}

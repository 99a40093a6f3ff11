//! The REST API itself: endpoint type PRIVATE, the TLS security policy
//! with strict endpoint access, and its definition: `/{proxy+}` with POST
//! (the body validated against a JSON model) and GET, each authorized
//! with AWS IAM (SigV4) and integrated as a Lambda proxy with the
//! function's alias `live`.
//!
//! A create that stopped half way (a crash between two calls) leaves an
//! API with part of its definition: the next read finds it by its name
//! and tags, sees what is missing as drift, and the repair completes it.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_apigateway::types::{
    EndpointAccessMode, EndpointConfiguration, EndpointType, IntegrationType, SecurityPolicy,
};
use paysec_aws::AwsResultExt;
use paysec_core::resource::{
    Checks, Comparison, Context, DeleteOutcome, Dependency, Observed, Present, Resource,
};
use paysec_core::retry::{retrying, rules};
use paysec_core::{Attr, LogicalId, Property, ResourceError};

use crate::get_rest_api;

paysec_core::properties! {
    /// What the API's read compares (API-1..4, INV-1).
    pub enum RestApiProperty {
        EndpointType = "endpoint_type",
        SecurityPolicy = "security_policy",
        Authorization = "authorization",
        Integration = "integration",
        RequestValidation = "request_validation",
        Tags = "tags",
    }
}

/// The path every call takes: the function routes by path itself.
const PROXY_PATH: &str = "/{proxy+}";
const PROXY_PART: &str = "{proxy+}";
/// The methods, and whether the body is validated against [`MODEL`].
const METHODS: [(&str, bool); 2] = [("POST", true), ("GET", false)];
const VALIDATOR: &str = "body";
const MODEL: &str = "PaymentRequest";
const JSON: &str = "application/json";
/// The body's shape: a JSON object (the function checks its fields).
const SCHEMA: &str = r#"{"$schema":"http://json-schema.org/draft-04/schema#","title":"PaymentRequest","type":"object"}"#;

pub struct RestApi {
    id: LogicalId,
    aws: paysec_aws::Aws,
    function: LogicalId,
    security_policy: String,
}

impl RestApi {
    pub fn new(
        id: LogicalId,
        aws: paysec_aws::Aws,
        function: LogicalId,
        security_policy: String,
    ) -> Self {
        Self {
            id,
            aws,
            function,
            security_policy,
        }
    }

    /// The Lambda proxy integration's URI for the alias `live`.
    fn integration_uri(&self, cx: &Context) -> Result<String, ResourceError> {
        let alias = cx.attr(&self.function, Attr::AliasArn)?;
        Ok(format!(
            "arn:{}:apigateway:{}:lambda:path/2015-03-31/functions/{alias}/invocations",
            cx.env.partition, cx.env.region
        ))
    }

    fn present(&self, cx: &Context, api_id: &str) -> Present {
        Present::new(api_id)
            .with(Attr::Name, cx.env.names.api())
            .with(Attr::Arn, crate::execute_api_arn(cx, api_id))
    }

    /// The API by name, carrying this environment's tags (GetRestApis,
    /// `apigateway:GET` on `/restapis`): names are not unique in API
    /// Gateway, the tags decide.
    async fn find(&self, cx: &Context) -> Result<Option<String>, ResourceError> {
        let name = cx.env.names.api();
        let wanted = cx.tags();
        let mut position: Option<String> = None;
        loop {
            let out = self
                .aws
                .apigateway
                .get_rest_apis()
                .limit(500)
                .set_position(position.clone())
                .send()
                .await
                .or_resource(&self.id, "GetRestApis")?;
            for api in out.items() {
                let tags: Vec<(String, String)> = api
                    .tags()
                    .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default();
                if api.name() == Some(name.as_str())
                    && paysec_core::tags::missing(&wanted, &tags).is_empty()
                {
                    return Ok(api.id().map(str::to_owned));
                }
            }
            match out.position() {
                Some(p) if !p.is_empty() => position = Some(p.to_owned()),
                _ => return Ok(None),
            }
        }
    }

    /// What the definition holds: the proxy resource's id, the validator's
    /// id and, per method, (authorization, integration type and URI,
    /// validator id, JSON model). IAM: apigateway:GET on
    /// /restapis/<id>/resources, .../requestvalidators, .../models and
    /// .../resources/<id>/methods/<verb>.
    async fn definition(&self, api_id: &str) -> Result<Definition, ResourceError> {
        let resources = self
            .aws
            .apigateway
            .get_resources()
            .rest_api_id(api_id)
            .limit(500)
            .send()
            .await
            .or_resource(&self.id, "GetResources")?;
        let root = resources
            .items()
            .iter()
            .find(|r| r.path() == Some("/"))
            .and_then(|r| r.id().map(str::to_owned));
        let proxy = resources
            .items()
            .iter()
            .find(|r| r.path() == Some(PROXY_PATH))
            .and_then(|r| r.id().map(str::to_owned));
        let validators = self
            .aws
            .apigateway
            .get_request_validators()
            .rest_api_id(api_id)
            .send()
            .await
            .or_resource(&self.id, "GetRequestValidators")?;
        let validator = validators
            .items()
            .iter()
            .find(|v| v.name() == Some(VALIDATOR) && v.validate_request_body())
            .and_then(|v| v.id().map(str::to_owned));
        let models = self
            .aws
            .apigateway
            .get_models()
            .rest_api_id(api_id)
            .send()
            .await
            .or_resource(&self.id, "GetModels")?;
        let model = models.items().iter().any(|m| m.name() == Some(MODEL));
        let mut methods = HashMap::new();
        if let Some(proxy) = &proxy {
            for (verb, _) in METHODS {
                let found = paysec_core::error::not_found_is_none(
                    self.aws
                        .apigateway
                        .get_method()
                        .rest_api_id(api_id)
                        .resource_id(proxy)
                        .http_method(verb)
                        .send()
                        .await
                        .or_resource(&self.id, "GetMethod"),
                )?;
                if let Some(m) = found {
                    let integration = m.method_integration();
                    methods.insert(
                        verb,
                        Method {
                            authorization: m.authorization_type().unwrap_or("NONE").to_owned(),
                            integration: integration
                                .map(|i| {
                                    format!(
                                        "{} {}",
                                        i.r#type().map(|t| t.as_str()).unwrap_or("none"),
                                        i.uri().unwrap_or("")
                                    )
                                })
                                .unwrap_or_else(|| "none".into()),
                            validator: m.request_validator_id().map(str::to_owned),
                            model: m.request_models().and_then(|r| r.get(JSON)).cloned(),
                        },
                    );
                }
            }
        }
        Ok(Definition {
            root,
            proxy,
            validator,
            model,
            methods,
        })
    }

    /// Completes the definition where it differs: the proxy resource, the
    /// validator, the model, then each method not as wanted, put again
    /// with its integration.
    async fn converge_definition(&self, cx: &Context, api_id: &str) -> Result<(), ResourceError> {
        let uri = self.integration_uri(cx)?;
        let now = self.definition(api_id).await?;
        let apigw = &self.aws.apigateway;
        let again = || [rules::APIGATEWAY_CONCURRENT_MODIFICATION];
        let proxy = match now.proxy.clone() {
            Some(p) => p,
            None => {
                let root = now.root.clone().ok_or_else(|| {
                    ResourceError::unexpected(&self.id, "the API has no root resource")
                })?;
                // apigateway:POST on /restapis/<id>/resources/<parent>
                retrying(&again(), || async {
                    apigw
                        .create_resource()
                        .rest_api_id(api_id)
                        .parent_id(&root)
                        .path_part(PROXY_PART)
                        .send()
                        .await
                        .or_resource(&self.id, "CreateResource")
                })
                .await?
                .id()
                .unwrap_or_default()
                .to_owned()
            }
        };
        let validator = match now.validator.clone() {
            Some(v) => v,
            // apigateway:POST on /restapis/<id>/requestvalidators
            None => retrying(&again(), || async {
                apigw
                    .create_request_validator()
                    .rest_api_id(api_id)
                    .name(VALIDATOR)
                    .validate_request_body(true)
                    .validate_request_parameters(false)
                    .send()
                    .await
                    .or_resource(&self.id, "CreateRequestValidator")
            })
            .await?
            .id()
            .unwrap_or_default()
            .to_owned(),
        };
        if !now.model {
            // apigateway:POST on /restapis/<id>/models
            retrying(&again(), || async {
                apigw
                    .create_model()
                    .rest_api_id(api_id)
                    .name(MODEL)
                    .content_type(JSON)
                    .schema(SCHEMA)
                    .send()
                    .await
                    .or_resource(&self.id, "CreateModel")
            })
            .await?;
        }
        for (verb, validated) in METHODS {
            let wanted = Method::wanted(&uri, validated.then_some(validator.as_str()));
            let live = now.methods.get(verb);
            if live == Some(&wanted) {
                continue;
            }
            if live.is_some() {
                // apigateway:DELETE on .../resources/<id>/methods/<verb>
                paysec_core::error::not_found_is_none(
                    retrying(&again(), || async {
                        apigw
                            .delete_method()
                            .rest_api_id(api_id)
                            .resource_id(&proxy)
                            .http_method(verb)
                            .send()
                            .await
                            .or_resource(&self.id, "DeleteMethod")
                    })
                    .await,
                )?;
            }
            // apigateway:PUT on .../resources/<id>/methods/<verb>
            retrying(&again(), || async {
                let mut req = apigw
                    .put_method()
                    .rest_api_id(api_id)
                    .resource_id(&proxy)
                    .http_method(verb)
                    .authorization_type("AWS_IAM");
                if validated {
                    req = req
                        .request_validator_id(&validator)
                        .request_models(JSON, MODEL);
                }
                req.send().await.or_resource(&self.id, "PutMethod")
            })
            .await?;
            // apigateway:PUT on .../methods/<verb>/integration
            retrying(&again(), || async {
                apigw
                    .put_integration()
                    .rest_api_id(api_id)
                    .resource_id(&proxy)
                    .http_method(verb)
                    .r#type(IntegrationType::AwsProxy)
                    .integration_http_method("POST")
                    .uri(&uri)
                    .send()
                    .await
                    .or_resource(&self.id, "PutIntegration")
            })
            .await?;
        }
        Ok(())
    }
}

/// One method as read, in the terms it is compared in.
#[derive(Debug, PartialEq, Eq)]
struct Method {
    authorization: String,
    /// `<type> <uri>`.
    integration: String,
    validator: Option<String>,
    model: Option<String>,
}

impl Method {
    fn wanted(uri: &str, validator: Option<&str>) -> Self {
        Self {
            authorization: "AWS_IAM".into(),
            integration: format!("AWS_PROXY {uri}"),
            validator: validator.map(str::to_owned),
            model: validator.map(|_| MODEL.to_owned()),
        }
    }
}

struct Definition {
    root: Option<String>,
    proxy: Option<String>,
    validator: Option<String>,
    model: bool,
    methods: HashMap<&'static str, Method>,
}

#[async_trait]
impl Resource for RestApi {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "api_gateway_rest_api"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        // The integration names the alias `live`, which exists once the
        // function does.
        vec![Dependency::Identity(self.function.clone())]
    }

    async fn read(&self, cx: &Context, known: Option<&Present>) -> Result<Observed, ResourceError> {
        let api_id = match known {
            Some(k) => Some(k.physical_id.clone()),
            None => self.find(cx).await?,
        };
        let Some(api_id) = api_id else {
            return Ok(Observed::Missing);
        };
        let Some(api) = get_rest_api(&self.aws, &self.id, &api_id).await? else {
            return Ok(Observed::Missing);
        };
        let mut checks = Checks::default();
        let types: Vec<&str> = api
            .endpoint_configuration()
            .map(|e| e.types().iter().map(|t| t.as_str()).collect())
            .unwrap_or_default();
        checks.equal(RestApiProperty::EndpointType, "PRIVATE", types.join(","));
        let policy = api.security_policy().map_or("unset", |p| p.as_str());
        let mode = api.endpoint_access_mode().map_or("unset", |m| m.as_str());
        let wanted_mode = if self.security_policy.starts_with("SecurityPolicy_") {
            "STRICT"
        } else {
            "unset"
        };
        checks.equal(
            RestApiProperty::SecurityPolicy,
            format!("{} ({wanted_mode})", self.security_policy),
            format!("{policy} ({mode})"),
        );
        let definition = self.definition(&api_id).await?;
        let uri = self.integration_uri(cx)?;
        for (verb, validated) in METHODS {
            let live = definition.methods.get(verb);
            let what = |f: fn(&Method) -> String| live.map_or("no method".to_owned(), f);
            checks.equal(
                RestApiProperty::Authorization,
                format!("{verb} {PROXY_PATH} AWS_IAM"),
                format!("{verb} {PROXY_PATH} {}", what(|m| m.authorization.clone())),
            );
            checks.equal(
                RestApiProperty::Integration,
                format!("{verb} AWS_PROXY {uri}"),
                format!("{verb} {}", what(|m| m.integration.clone())),
            );
            if validated {
                let ok = definition.validator.is_some()
                    && definition.model
                    && live.is_some_and(|m| {
                        m.validator == definition.validator && m.model.as_deref() == Some(MODEL)
                    });
                checks.check(
                    RestApiProperty::RequestValidation,
                    ok,
                    format!("{verb} body validated against {MODEL} ({JSON})"),
                    format!(
                        "{verb} validator {}, model {}",
                        what(|m| m.validator.clone().unwrap_or_else(|| "none".into())),
                        what(|m| m.model.clone().unwrap_or_else(|| "none".into()))
                    ),
                );
            }
        }
        let tags: Vec<(String, String)> = api
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        checks.tags(&cx.tags(), &tags);
        Ok(checks.observed(self.present(cx, &api_id)))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        // apigateway:POST on /restapis (and apigateway:PUT on /tags for
        // the tags given with it)
        let mut req = self
            .aws
            .apigateway
            .create_rest_api()
            .name(cx.env.names.api())
            .description(format!("paysec {}: the payment API", cx.env.names.prefix()))
            .endpoint_configuration(
                EndpointConfiguration::builder()
                    .types(EndpointType::Private)
                    .build(),
            )
            .security_policy(SecurityPolicy::from(self.security_policy.as_str()))
            .set_tags(Some(cx.tags().into_iter().collect()));
        // An enhanced policy needs the endpoint access mode (API Gateway
        // refuses it alone); STRICT also refuses requests whose SNI does
        // not name this API.
        if self.security_policy.starts_with("SecurityPolicy_") {
            req = req.endpoint_access_mode(EndpointAccessMode::Strict);
        }
        let out = retrying(&[rules::APIGATEWAY_CONCURRENT_MODIFICATION], || async {
            req.clone()
                .send()
                .await
                .or_resource(&self.id, "CreateRestApi")
        })
        .await?;
        let api_id = out
            .id()
            .ok_or_else(|| ResourceError::unexpected(&self.id, "CreateRestApi returned no id"))?
            .to_owned();
        self.converge_definition(cx, &api_id).await?;
        Ok(self.present(cx, &api_id))
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        let api_id = &present.physical_id;
        let mut definition = false;
        let mut ops = Vec::new();
        for (p, _) in RestApiProperty::drifted(&self.id, drift)? {
            match p {
                RestApiProperty::EndpointType => ops.push(patch(
                    "replace",
                    "/endpointConfiguration/types/0",
                    "PRIVATE",
                )),
                RestApiProperty::SecurityPolicy => {
                    ops.push(patch("replace", "/securityPolicy", &self.security_policy));
                    if self.security_policy.starts_with("SecurityPolicy_") {
                        ops.push(patch("replace", "/endpointAccessMode", "STRICT"));
                    }
                }
                RestApiProperty::Authorization
                | RestApiProperty::Integration
                | RestApiProperty::RequestValidation => definition = true,
                RestApiProperty::Tags => {
                    crate::retag(&self.aws, &self.id, cx, &format!("/restapis/{api_id}")).await?
                }
            }
        }
        if !ops.is_empty() {
            // apigateway:PATCH on /restapis/<id>
            retrying(&[rules::APIGATEWAY_CONCURRENT_MODIFICATION], || async {
                self.aws
                    .apigateway
                    .update_rest_api()
                    .rest_api_id(api_id)
                    .set_patch_operations(Some(ops.clone()))
                    .send()
                    .await
                    .or_resource(&self.id, "UpdateRestApi")
            })
            .await?;
        }
        if definition {
            self.converge_definition(cx, api_id).await?;
        }
        Ok(self.present(cx, api_id))
    }

    async fn delete(&self, _cx: &Context, known: &Present) -> Result<DeleteOutcome, ResourceError> {
        // Gone already: nothing to do (moto answers an unknown id with a
        // server error, so it is read first).
        if get_rest_api(&self.aws, &self.id, &known.physical_id)
            .await?
            .is_none()
        {
            return Ok(DeleteOutcome::default());
        }
        // apigateway:DELETE on /restapis/<id>; AWS allows one per 30 s per
        // account, so a throttle is waited out.
        paysec_core::error::not_found_is_none(
            retrying(&[rules::APIGATEWAY_CONCURRENT_MODIFICATION], || async {
                self.aws
                    .apigateway
                    .delete_rest_api()
                    .rest_api_id(&known.physical_id)
                    .send()
                    .await
                    .or_resource(&self.id, "DeleteRestApi")
            })
            .await,
        )?;
        Ok(DeleteOutcome::default())
    }
}

/// One JSON Patch operation of an API Gateway update.
pub(crate) fn patch(
    op: &str,
    path: &str,
    value: &str,
) -> aws_sdk_apigateway::types::PatchOperation {
    aws_sdk_apigateway::types::PatchOperation::builder()
        .op(aws_sdk_apigateway::types::Op::from(op))
        .path(path)
        .value(value)
        .build()
}

//! The payment API's private entry: an API Gateway REST API of endpoint
//! type PRIVATE (`rest_api`: the API, its methods authorized with IAM,
//! the Lambda proxy integration with the function's alias `live`, the
//! request body's validation), its resource policy (`policy`: only
//! through the allowed interface endpoints, only the allowed principals),
//! its stage `v1` (`stage`: the deployment, access logs, tracing,
//! throttling), the function's permission for exactly this API
//! (`permission`) and the region's API Gateway CloudWatch role
//! (`account`), which access logging needs.
//!
//! Every call names its IAM action where it is made.

pub mod account;
pub mod call;
pub mod permission;
pub mod permissions;
pub mod policy;
pub mod rest_api;
pub mod stage;

pub use account::AccountLogging;
pub use permission::InvokePermission;
pub use policy::{ApiPolicy, Callers};
pub use rest_api::RestApi;
pub use stage::{Stage, StageSpec};

use paysec_aws::AwsResultExt;
use paysec_core::resource::Context;
use paysec_core::retry::{retrying, rules};
use paysec_core::{LogicalId, ResourceError};

/// The one stage paysec deploys.
pub const STAGE: &str = "v1";

/// `arn:<partition>:execute-api:<region>:<account>:<api id>`: what
/// resource policies, endpoint policies and Lambda's `SourceArn` name.
pub fn execute_api_arn(cx: &Context, api_id: &str) -> String {
    cx.env.arn("execute-api", &cx.env.region, api_id)
}

/// The API as GetRestApi answers (`apigateway:GET` on
/// `/restapis/<id>`); `None` when it is gone.
pub(crate) async fn get_rest_api(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    api_id: &str,
) -> Result<Option<aws_sdk_apigateway::operation::get_rest_api::GetRestApiOutput>, ResourceError> {
    paysec_core::error::not_found_is_none(
        retrying(&[rules::APIGATEWAY_CONCURRENT_MODIFICATION], || async {
            aws.apigateway
                .get_rest_api()
                .rest_api_id(api_id)
                .send()
                .await
                .or_resource(id, "GetRestApi")
        })
        .await,
    )
}

/// Puts this environment's tags on the API Gateway resource at `path`
/// (`/restapis/<id>`, `.../stages/v1`): `apigateway:PUT` on `/tags/<arn>`.
pub(crate) async fn retag(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    cx: &Context,
    path: &str,
) -> Result<(), ResourceError> {
    let arn = format!(
        "arn:{}:apigateway:{}::{path}",
        cx.env.partition, cx.env.region
    );
    aws.apigateway
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(cx.tags().into_iter().collect()))
        .send()
        .await
        .or_resource(id, "TagResource")?;
    Ok(())
}

/// A resource policy as GetRestApi returns it: a JSON string whose quotes
/// (and slashes) are backslash-escaped, and whose `execute-api:/...`
/// shorthand is expanded to the API's ARN. Parsed into the document it
/// stands for; `Null` when none is attached.
pub fn parse_policy(raw: &str, api_arn: &str) -> serde_json::Value {
    if raw.trim().is_empty() {
        return serde_json::Value::Null;
    }
    let direct = paysec_core::policy_doc::parse(raw);
    let doc = if direct.is_object() {
        direct
    } else {
        paysec_core::policy_doc::parse(&raw.replace("\\\"", "\"").replace("\\/", "/"))
    };
    expand_shorthand(doc, api_arn)
}

/// `execute-api:/stage/method/path` becomes `<api arn>/stage/method/path`,
/// as API Gateway stores it.
fn expand_shorthand(doc: serde_json::Value, api_arn: &str) -> serde_json::Value {
    match doc {
        serde_json::Value::String(s) => match s.strip_prefix("execute-api:/") {
            Some(rest) => serde_json::Value::String(format!("{api_arn}/{rest}")),
            None => serde_json::Value::String(s),
        },
        serde_json::Value::Array(a) => a
            .into_iter()
            .map(|v| expand_shorthand(v, api_arn))
            .collect(),
        serde_json::Value::Object(o) => o
            .into_iter()
            .map(|(k, v)| (k, expand_shorthand(v, api_arn)))
            .collect(),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_escaped_policy_with_shorthand_reads_as_the_document_it_stands_for() {
        let arn = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3";
        let escaped = r#"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"execute-api:Invoke\",\"Resource\":\"execute-api:\/*\"}]}"#;
        let doc = parse_policy(escaped, arn);
        assert_eq!(doc["Statement"][0]["Resource"], format!("{arn}/*"));
        let plain =
            r#"{"Statement":[{"Resource":"arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/*"}]}"#;
        assert_eq!(
            parse_policy(plain, arn)["Statement"][0]["Resource"],
            format!("{arn}/*")
        );
        assert!(parse_policy("", arn).is_null());
    }
}

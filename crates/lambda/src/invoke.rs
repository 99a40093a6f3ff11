//! A test payment through the deployed function (the Terraform setup's "Testing the
//! Lambda Function").

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use paysec_aws::AwsResultExt;
use paysec_core::{LogicalId, ResourceError};

/// The example event of the Terraform setup's test.
pub const EXAMPLE_PAYLOAD: &str =
    r#"{"body": "{\"transaction_id\": \"test-001\", \"amount\": 99.99}"}"#;

/// What an invocation returned.
#[derive(Debug, serde::Serialize)]
pub struct Invocation {
    pub status_code: i32,
    /// `Unhandled` or `Handled` when the function failed.
    pub function_error: Option<String>,
    pub response: String,
}

/// Invokes the function synchronously with `payload`, through `qualifier`
/// (the alias `live`) when given.
///
/// IAM: lambda:GetFunctionConfiguration, lambda:InvokeFunction.
pub async fn invoke(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    function: &str,
    qualifier: Option<&str>,
    payload: &str,
) -> Result<Invocation, ResourceError> {
    // A function that cannot run says why, instead of Lambda's bare
    // "ResourceConflictException" at Invoke.
    let cfg = aws
        .lambda
        .get_function_configuration()
        .function_name(function)
        .set_qualifier(qualifier.map(str::to_owned))
        .send()
        .await
        .or_resource(id, "GetFunctionConfiguration")?;
    if cfg.state() == Some(&aws_sdk_lambda::types::State::Failed) {
        return Err(crate::function::failed(
            id,
            function,
            cfg.state_reason_code(),
            cfg.state_reason(),
        ));
    }
    let out = aws
        .lambda
        .invoke()
        .function_name(function)
        .set_qualifier(qualifier.map(str::to_owned))
        .invocation_type(InvocationType::RequestResponse)
        .payload(Blob::new(payload.as_bytes().to_vec()))
        .send()
        .await
        .or_resource(id, "Invoke")?;
    Ok(Invocation {
        status_code: out.status_code(),
        function_error: out.function_error().map(str::to_owned),
        response: out
            .payload()
            .map(|p| String::from_utf8_lossy(p.as_ref()).into_owned())
            .unwrap_or_default(),
    })
}

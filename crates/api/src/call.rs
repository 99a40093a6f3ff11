//! Calling the payment API as a caller does (`paysec invoke --api`): a
//! request to the stage's URL, signed with SigV4 for `execute-api` with
//! the run's credentials. A PRIVATE API answers only inside its VPC
//! (through the `execute-api` endpoint) or through an allowed consumer
//! endpoint; from anywhere else the name does not lead to it, and the
//! error says so.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// What the API answered.
#[derive(Debug, serde::Serialize)]
pub struct Answer {
    pub url: String,
    pub status: u16,
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("cannot reach the payment API at {url} ({detail}): a PRIVATE API answers only inside its VPC, through the stack's execute-api endpoint, or through a consumer endpoint listed in api.allowed_vpc_endpoints; run `paysec invoke --api` from a host in an allowed network (api.allowed_cidrs, api.allowed_security_groups), or `paysec invoke` to call the function directly")]
    Unreachable { url: String, detail: String },
    #[error("no credentials to sign the request with: {0}")]
    Credentials(String),
    #[error("cannot sign the request to {url}: {detail}")]
    Signing { url: String, detail: String },
}

/// The stage's URL for `path`: API Gateway's own name, or the emulator's
/// route to the same stage (`/restapis/<id>/<stage>/_user_request_`).
pub fn url(api_id: &str, region: &str, emulator: Option<&str>, path: &str) -> String {
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    match emulator {
        Some(endpoint) => format!(
            "{}/restapis/{api_id}/{}/_user_request_{path}",
            endpoint.trim_end_matches('/'),
            crate::STAGE
        ),
        None => format!(
            "https://{api_id}.execute-api.{region}.amazonaws.com/{}{path}",
            crate::STAGE
        ),
    }
}

/// POSTs `body` (JSON) to `url`, signed for `execute-api` in `region`
/// with the run's credentials. IAM: execute-api:Invoke on the API (the
/// caller's own policy, and the API's resource policy, must allow it).
pub async fn post(
    aws: &paysec_aws::Aws,
    url: &str,
    region: &str,
    body: &str,
) -> Result<Answer, CallError> {
    let credentials = aws
        .credentials()
        .await
        .map_err(|e| CallError::Credentials(e.to_string()))?;
    let identity = credentials.into();
    let signing = |detail: String| CallError::Signing {
        url: url.to_owned(),
        detail,
    };
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("execute-api")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| signing(e.to_string()))?
        .into();
    let mut request = http::Request::builder()
        .method("POST")
        .uri(url)
        .header("content-type", "application/json")
        .body(Full::new(bytes_of(body)))
        .map_err(|e| signing(e.to_string()))?;
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let signable = SignableRequest::new(
        "POST",
        url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body.as_bytes()),
    )
    .map_err(|e| signing(e.to_string()))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| signing(e.to_string()))?
        .into_parts();
    instructions.apply_to_request_http1x(&mut request);

    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| CallError::Unreachable {
            url: url.to_owned(),
            detail: format!("no trusted root certificates: {e}"),
        })?
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Full<hyper::body::Bytes>> =
        Client::builder(TokioExecutor::new()).build(https);
    let unreachable = |detail: String| CallError::Unreachable {
        url: url.to_owned(),
        detail,
    };
    let answer = tokio::time::timeout(Duration::from_secs(30), client.request(request))
        .await
        .map_err(|_| unreachable("no answer within 30 s".into()))?
        .map_err(|e| unreachable(error_chain(&e)))?;
    let status = answer.status().as_u16();
    let body = answer
        .into_body()
        .collect()
        .await
        .map_err(|e| unreachable(e.to_string()))?
        .to_bytes();
    Ok(Answer {
        url: url.to_owned(),
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn bytes_of(body: &str) -> hyper::body::Bytes {
    hyper::body::Bytes::copy_from_slice(body.as_bytes())
}

/// An error with its causes, which say what failed (DNS, TLS, refused).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_is_the_stage_s_on_aws_and_the_emulator_s_route_locally() {
        assert_eq!(
            url("a1b2c3", "eu-west-1", None, "payments"),
            "https://a1b2c3.execute-api.eu-west-1.amazonaws.com/v1/payments"
        );
        assert_eq!(
            url(
                "a1b2c3",
                "us-east-1",
                Some("http://127.0.0.1:5000/"),
                "/payments"
            ),
            "http://127.0.0.1:5000/restapis/a1b2c3/v1/_user_request_/payments"
        );
    }
}

//! A record of the AWS calls a command made: for each, the resource whose
//! read made it (`paysec_core::reading`), the service and operation, the
//! request id AWS gave it, the HTTP status, when, and the response body as
//! AWS sent it (`verify` writes external ids in it as their digest). `verify` keeps it as the raw evidence behind its findings,
//! so an assessor can match each finding to the calls that read it and
//! find those calls in AWS's own logs (CloudTrail) by request id.
//!
//! Presigned URLs in a body (GetFunction's code location) are credentials
//! for a while: they are cut out before anything is kept.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::date_time::{DateTime, Format};

pub use paysec_core::reading::Call;

/// The calls recorded so far; clones share one record.
#[derive(Clone, Debug, Default)]
pub struct CallLog {
    calls: Arc<Mutex<Vec<Call>>>,
}

impl CallLog {
    /// Every call recorded, in the order the answers came.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "paysec call log"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let body = response
            .body()
            .bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_else(|| "(streamed body, not kept)".to_owned());
        let header = |name: &str| response.headers().get(name).map(str::to_owned);
        let request_id = header("x-amzn-requestid")
            .or_else(|| header("x-amz-request-id"))
            .or_else(|| header("x-amzn-request-id"))
            .or_else(|| request_id_in(&body));
        let (service, operation) = cfg
            .load::<Metadata>()
            .map(|m| (m.service().to_owned(), m.name().to_owned()))
            .unwrap_or_default();
        let at = DateTime::from(SystemTime::now())
            .fmt(Format::DateTime)
            .unwrap_or_default();
        if let Ok(mut calls) = self.calls.lock() {
            let seq = calls.len() + 1;
            calls.push(Call {
                seq,
                resource: paysec_core::reading::current(),
                service,
                operation,
                request_id,
                status: response.status().as_u16(),
                at,
                body: without_presigned_urls(&body),
            });
        }
        Ok(())
    }
}

/// The request id of a query-protocol answer (EC2: `<requestId>`, the
/// others' errors: `<RequestId>`), for answers without the header.
fn request_id_in(body: &str) -> Option<String> {
    ["<requestId>", "<RequestId>"].iter().find_map(|open| {
        let start = body.find(open)? + open.len();
        let end = body[start..].find('<')? + start;
        Some(body[start..end].to_owned())
    })
}

/// `body` with every presigned URL (one carrying a signature in its query)
/// replaced by a note.
fn without_presigned_urls(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find("https://") {
        out.push_str(&rest[..at]);
        let url_len = rest[at..]
            .find(|c: char| c == '"' || c == '<' || c.is_whitespace())
            .unwrap_or(rest.len() - at);
        let url = &rest[at..at + url_len];
        if url.contains("Signature=") {
            out.push_str("[presigned URL removed]");
        } else {
            out.push_str(url);
        }
        rest = &rest[at + url_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presigned_urls_are_cut_and_plain_ones_kept() {
        let body = r#"{"Code":{"Location":"https://bucket.s3.amazonaws.com/code.zip?X-Amz-Algorithm=AWS4&X-Amz-Signature=abc"},"Url":"https://example.com/x"}"#;
        assert_eq!(
            without_presigned_urls(body),
            r#"{"Code":{"Location":"[presigned URL removed]"},"Url":"https://example.com/x"}"#
        );
    }

    #[test]
    fn query_answers_carry_their_request_id_in_the_body() {
        assert_eq!(
            request_id_in("<DescribeVpcsResponse><requestId>7a62c49f</requestId>").as_deref(),
            Some("7a62c49f")
        );
        assert_eq!(request_id_in("{}"), None);
    }
}

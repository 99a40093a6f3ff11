//! The proxy's own answers: an error in each service's own format (by how
//! the request's service speaks), its throttling error, and an answer with
//! a body of the proxy's.

/// How the request's service speaks, to answer in its own error format.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Protocol {
    /// `X-Amz-Target` + JSON (KMS, Logs, STS JSON, tagging...).
    AwsJson,
    /// Query with `<ErrorResponse>` (IAM, RDS, SNS, CloudWatch, STS).
    Query,
    /// EC2's query dialect with `<Response><Errors>`.
    Ec2,
    /// S3's REST XML.
    S3,
    /// REST-JSON (Lambda): code in `x-amzn-ErrorType`.
    RestJson,
}

pub(crate) fn error_response(
    protocol: Protocol,
    status: u16,
    code: &str,
    message: &str,
) -> Vec<u8> {
    let (content_type, extra, body) = match protocol {
        // Query-compatible JSON services (SQS) name the old query code in
        // a header; the SDK reports that code.
        Protocol::AwsJson if code.contains('.') => (
            "application/x-amz-json-1.0",
            format!("x-amzn-query-error: {code};Sender\r\n"),
            format!(
                r#"{{"__type":"com.amazonaws.sqs#{}","message":"{message}"}}"#,
                code.rsplit('.').next().unwrap_or(code)
            ),
        ),
        Protocol::AwsJson => ("application/x-amz-json-1.1", String::new(), format!(r#"{{"__type":"{code}","message":"{message}"}}"#)),
        Protocol::Query => (
            "text/xml",
            String::new(),
            format!("<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault</RequestId></ErrorResponse>"),
        ),
        Protocol::Ec2 => (
            "text/xml",
            String::new(),
            format!("<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>fault</RequestID></Response>"),
        ),
        Protocol::S3 => ("application/xml", String::new(), format!("<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault</RequestId></Error>")),
        Protocol::RestJson => ("application/json", format!("x-amzn-ErrorType: {code}\r\n"), format!(r#"{{"Type":"User","message":"{message}"}}"#)),
    };
    format!(
        "HTTP/1.1 {status} Fault\r\nContent-Type: {content_type}\r\n{extra}x-amzn-RequestId: fault\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The service's own throttling error.
pub(crate) fn throttle(protocol: Protocol) -> Vec<u8> {
    match protocol {
        Protocol::AwsJson => error_response(protocol, 400, "ThrottlingException", "Rate exceeded"),
        Protocol::Query => error_response(protocol, 400, "Throttling", "Rate exceeded"),
        Protocol::Ec2 => error_response(
            protocol,
            503,
            "RequestLimitExceeded",
            "Request limit exceeded.",
        ),
        Protocol::S3 => error_response(
            protocol,
            503,
            "SlowDown",
            "Please reduce your request rate.",
        ),
        Protocol::RestJson => {
            error_response(protocol, 429, "TooManyRequestsException", "Rate exceeded")
        }
    }
}

/// A whole answer: `head` (status line and headers, each ending in CRLF)
/// plus a body with its length.
/// An emulator's answer with another body: its head without the length and
/// connection headers `with_body` writes anew.
pub(crate) fn with_new_body(head: &str, body: &str) -> Vec<u8> {
    let head: String = head
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            !l.starts_with("content-length:") && !l.starts_with("connection:")
        })
        .map(|l| format!("{l}\r\n"))
        .collect();
    with_body(&head, body)
}

pub(crate) fn with_body(head: &str, body: &str) -> Vec<u8> {
    format!(
        "{head}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

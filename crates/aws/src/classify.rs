//! Turns SDK errors into [`ErrorClass`] and [`ResourceError`], keeping the
//! SDK error as the source. Classes are told apart by the AWS error code
//! (and HTTP status): a `ResourceError` must be classified and retried the
//! same way whichever service raised it, and EC2's errors are not modelled
//! as types at all. The codes each class covers are listed below; retry
//! rules (`paysec_core::retry::rules`) match codes and messages the same
//! way. Where one operation's error decides what a resource does next and
//! the SDK models it, the resource matches the typed variant instead
//! ([`ServiceErrorExt::service_error`]); codes stay strings where the SDK
//! leaves them unmodelled (EC2's; S3's `NoSuchTagSet`).

use std::error::Error;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use paysec_core::{ErrorClass, LogicalId, ResourceError};

/// Codes meaning "no such thing", across services.
const NOT_FOUND: &[&str] = &[
    "NotFoundException",
    "NoSuchEntity",
    "NoSuchBucket",
    "NoSuchKey",
    "NoSuchBucketPolicy",
    "ResourceNotFoundException",
    "ResourceNotFound",
    "NotFound",
    "DBInstanceNotFound",
    "DBInstanceNotFoundFault",
    "DBSubnetGroupNotFoundFault",
    "DBParameterGroupNotFound",
    "DBSnapshotNotFound",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
];

/// Codes meaning "it exists already" (create adopts).
const ALREADY_EXISTS: &[&str] = &[
    "AlreadyExistsException",
    "EntityAlreadyExists",
    "BucketAlreadyOwnedByYou",
    "ResourceAlreadyExistsException",
    "DBInstanceAlreadyExists",
    "DBInstanceAlreadyExistsFault",
    "DBSubnetGroupAlreadyExists",
    "DBSubnetGroupAlreadyExistsFault",
    "DBParameterGroupAlreadyExists",
    "InvalidGroup.Duplicate",
    "InvalidPermission.Duplicate",
    "QueueAlreadyExists",
];

const THROTTLED: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "SlowDown",
    "ProvisionedThroughputExceededException",
    "PriorRequestNotComplete",
];

const TRANSIENT: &[&str] = &[
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
    "OperationAborted",
    "KMSInternalException",
    "DependencyTimeoutException",
];

const CREDENTIALS: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "AuthFailure",
    "MissingAuthenticationToken",
];

const ACCESS_DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
];

/// Classifies an error code alone (used for service errors).
pub fn classify_code(code: &str, status: u16) -> ErrorClass {
    let is = |table: &[&str]| table.contains(&code);
    if is(NOT_FOUND) || (code.starts_with("Invalid") && code.ends_with(".NotFound")) {
        ErrorClass::NotFound
    } else if is(ALREADY_EXISTS) {
        ErrorClass::AlreadyExists
    } else if is(THROTTLED) || status == 429 {
        ErrorClass::Throttled
    } else if is(CREDENTIALS) {
        ErrorClass::Credentials
    } else if is(ACCESS_DENIED) {
        ErrorClass::AccessDenied
    } else if is(TRANSIENT) || (500..600).contains(&status) {
        ErrorClass::Transient
    } else {
        ErrorClass::Other
    }
}

/// Classifies any SDK error.
pub fn classify<E>(err: &SdkError<E, HttpResponse>) -> ErrorClass
where
    E: ProvideErrorMetadata + Error + 'static,
{
    match err {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            match se.err().code() {
                Some(code) => classify_code(code, status),
                None if status == 404 => ErrorClass::NotFound,
                // A refusal whose body the SDK could not read: S3's HEAD
                // answers carry none; an answer in another protocol's
                // shape (moto's IAM refusals) has no code the parser found.
                None if status == 403 => ErrorClass::AccessDenied,
                None => classify_code("", status),
            }
        }
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => ErrorClass::Unreachable,
        SdkError::DispatchFailure(_) => {
            // Identity resolution failures surface as "other" dispatch
            // failures with no typed variant; the chain's text is all there is.
            let text = format!("{}", DisplayErrorContext(err)).to_lowercase();
            if text.contains("credential") || text.contains("identity") {
                ErrorClass::Credentials
            } else {
                ErrorClass::Transient
            }
        }
        SdkError::TimeoutError(_) => ErrorClass::Unreachable,
        SdkError::ResponseError(_) => ErrorClass::Transient,
        _ => ErrorClass::Other,
    }
}

/// The message to show: AWS's own for service errors, else the whole chain.
fn message<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + Error + 'static,
{
    match err.as_service_error() {
        Some(e) => match (e.message(), e.code()) {
            (Some(m), _) => m.to_owned(),
            // Typed errors built without metadata carry the message in their
            // own Display, prefixed with the code we print separately.
            (None, Some(code)) => {
                let text = e.to_string();
                text.strip_prefix(code)
                    .map(|t| t.trim_start_matches(':').trim().to_owned())
                    .unwrap_or(text)
            }
            // Unmodelled and without metadata: an XML `<Message>` the
            // parser missed (an answer in another protocol's shape), else
            // the whole chain is the only useful text.
            (None, None) => match err {
                SdkError::ServiceError(se) => se
                    .raw()
                    .body()
                    .bytes()
                    .and_then(|b| std::str::from_utf8(b).ok())
                    .and_then(|t| {
                        let start = t.find("<Message>")? + "<Message>".len();
                        let end = t[start..].find("</Message>")? + start;
                        Some(t[start..end].to_owned())
                    })
                    .unwrap_or_else(|| format!("{}", DisplayErrorContext(err))),
                _ => format!("{}", DisplayErrorContext(err)),
            },
        },
        None => format!("{}", DisplayErrorContext(err)),
    }
}

/// An SDK error in one line: the code and AWS's message, or the chain.
pub fn one_line<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + Error + 'static,
{
    // An answer with no AWS error in it (an emulator's HTML page): its
    // status says all there is, the parser's chain nothing useful.
    if let SdkError::ServiceError(se) = err {
        if se.err().code().is_none() && se.err().message().is_none() {
            return format!(
                "HTTP {} with no AWS error in the answer",
                se.raw().status().as_u16()
            );
        }
    }
    let text = message(err)
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ");
    match err.code() {
        Some(code) => format!("{code}: {text}"),
        None => text,
    }
}

/// Converts SDK results into [`ResourceError`]s naming the resource and the
/// operation.
pub trait AwsResultExt<T> {
    fn or_resource(self, resource: &LogicalId, operation: &'static str)
        -> Result<T, ResourceError>;
}

impl<T, E> AwsResultExt<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + Error + Send + Sync + 'static,
{
    fn or_resource(
        self,
        resource: &LogicalId,
        operation: &'static str,
    ) -> Result<T, ResourceError> {
        self.map_err(|err| ResourceError::Aws {
            resource: resource.clone(),
            operation,
            class: classify(&err),
            code: err.code().map(str::to_owned),
            message: message(&err),
            source: Box::new(err),
        })
    }
}

/// The operation's own error type behind a [`ResourceError`] made by
/// [`AwsResultExt::or_resource`], to match the variants the SDK models
/// (`e.service_error::<CreateBucketError>().is_some_and(|e|
/// e.is_bucket_already_exists())`).
pub trait ServiceErrorExt {
    /// `None` when the error is not an AWS answer of type `E` (a
    /// connection failure, another operation's error, paysec's own).
    fn service_error<E: Error + 'static>(&self) -> Option<&E>;
}

impl ServiceErrorExt for ResourceError {
    fn service_error<E: Error + 'static>(&self) -> Option<&E> {
        match self {
            ResourceError::Aws { source, .. } => source
                .downcast_ref::<SdkError<E, HttpResponse>>()?
                .as_service_error(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_kms::operation::describe_key::DescribeKeyError;
    use aws_sdk_kms::types::error::NotFoundException;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    fn response(status: u16) -> HttpResponse {
        HttpResponse::new(status.try_into().unwrap(), SdkBody::empty())
    }

    fn generic(code: &str, status: u16) -> SdkError<DescribeKeyError, HttpResponse> {
        SdkError::service_error(
            DescribeKeyError::generic(ErrorMetadata::builder().code(code).message("m").build()),
            response(status),
        )
    }

    #[test]
    fn typed_not_found_is_not_found() {
        let e = NotFoundException::builder()
            .message("Key 'x' does not exist")
            .meta(ErrorMetadata::builder().code("NotFoundException").build())
            .build();
        let err = SdkError::service_error(DescribeKeyError::NotFoundException(e), response(400));
        assert_eq!(classify(&err), ErrorClass::NotFound);
        let re = Err::<(), _>(err)
            .or_resource(&LogicalId::new("kms.rds"), "DescribeKey")
            .unwrap_err();
        assert_eq!(re.code(), Some("NotFoundException"));
        assert_eq!(re.class(), ErrorClass::NotFound);
        assert_eq!(
            re.to_string(),
            "kms.rds: DescribeKey failed: NotFoundException: Key 'x' does not exist"
        );
        assert!(
            std::error::Error::source(&re).is_some(),
            "SDK error kept as source"
        );
        assert!(re
            .service_error::<DescribeKeyError>()
            .is_some_and(DescribeKeyError::is_not_found_exception));
        // Another operation's type, or no AWS answer at all: none.
        assert!(re
            .service_error::<aws_sdk_kms::operation::create_key::CreateKeyError>()
            .is_none());
        let mine = ResourceError::unexpected(&LogicalId::new("kms.rds"), "m");
        assert!(mine.service_error::<DescribeKeyError>().is_none());
    }

    #[test]
    fn codes_across_services() {
        for (code, status, class) in [
            ("NoSuchEntity", 404, ErrorClass::NotFound),
            ("InvalidVpcID.NotFound", 400, ErrorClass::NotFound),
            ("EntityAlreadyExists", 409, ErrorClass::AlreadyExists),
            ("BucketAlreadyOwnedByYou", 409, ErrorClass::AlreadyExists),
            (
                "ResourceAlreadyExistsException",
                400,
                ErrorClass::AlreadyExists,
            ),
            ("ThrottlingException", 400, ErrorClass::Throttled),
            ("RequestLimitExceeded", 503, ErrorClass::Throttled),
            ("SlowDown", 503, ErrorClass::Throttled),
            ("Anything", 429, ErrorClass::Throttled),
            ("InternalFailure", 500, ErrorClass::Transient),
            ("OperationAborted", 409, ErrorClass::Transient),
            ("Weird", 502, ErrorClass::Transient),
            ("ExpiredToken", 403, ErrorClass::Credentials),
            ("UnrecognizedClientException", 400, ErrorClass::Credentials),
            ("AccessDeniedException", 400, ErrorClass::AccessDenied),
            ("MalformedPolicyDocumentException", 400, ErrorClass::Other),
        ] {
            assert_eq!(classify(&generic(code, status)), class, "{code} {status}");
        }
    }

    #[test]
    fn connection_refused_is_unreachable() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let err: SdkError<DescribeKeyError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(io)));
        assert_eq!(classify(&err), ErrorClass::Unreachable);
    }

    #[test]
    fn missing_credentials_is_a_credentials_error() {
        let err: SdkError<DescribeKeyError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::other(
                "failed to load credentials: no providers in chain".into(),
                None,
            ));
        assert_eq!(classify(&err), ErrorClass::Credentials);
    }
}

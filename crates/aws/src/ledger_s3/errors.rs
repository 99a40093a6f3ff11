//! How S3's error answers read: the HTTP status, and a failed call as a
//! `StoreError` (a 403 may mean the bucket is another account's).

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use paysec_core::ledger_store::StoreError;

use crate::classify::one_line;

/// The HTTP status of an S3 error answer.
pub(super) fn status<E>(e: &SdkError<E, HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

/// A failed call's error; a 403 says the bucket may be another account's
/// (S3's answer to a wrong `ExpectedBucketOwner`) as well as a missing
/// permission.
pub(super) fn other<
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
>(
    e: &SdkError<E, HttpResponse>,
    bucket: &str,
    owner: &str,
) -> StoreError {
    if status(e) == Some(403) {
        return StoreError::Other(format!(
            "s3://{bucket}: access denied ({}): either the bucket is not owned by account {owner} (the expected owner: `ledger_owner`, else the caller's account), or this identity lacks the S3 permission (`paysec iam-policy` lists it). Set `ledger_owner` to the state bucket's account if it is another one of yours; never use a bucket another party owns",
            one_line(e)
        ));
    }
    StoreError::Other(one_line(e))
}

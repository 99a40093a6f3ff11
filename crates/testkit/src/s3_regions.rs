//! S3 serves a bucket from its own region only: a request for it signed
//! for, and sent to, another region's endpoint is answered `301
//! PermanentRedirect` with the bucket's region in `x-amz-bucket-region`
//! (on HeadBucket too, without a body), and the Rust SDK does not follow
//! it (S3 API reference, "Making requests", and HeadBucket's
//! `x-amz-bucket-region`). moto serves every bucket from every region.
//! GetBucketLocation, ListBuckets and CreateBucket are answered from any
//! region, as S3 does. `docs/real-aws.md`, "S3 buckets by region".

use std::net::SocketAddr;

use crate::exchange::{ask_rest, Call, Verdict};
use crate::memory::Memory;
use crate::ruleset::Rules;
use crate::wire::{between, credential_scope};

/// The bucket an S3 request names (path-style, as against an emulator),
/// unless it is one S3 answers from any region.
fn bucket_of(call: &Call<'_>) -> Option<String> {
    let (method, target) = call.signature.split_once(' ')?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let bucket = path.trim_start_matches('/').split('/').next()?;
    let whole_bucket = !path.trim_start_matches('/').contains('/');
    let any_region = bucket.is_empty()
        || query
            .split('&')
            .any(|q| q == "location" || q.starts_with("location="))
        || (method == "PUT" && whole_bucket && query.is_empty());
    (!any_region).then(|| bucket.to_owned())
}

/// Refuses a request for a bucket of another region, as S3 does.
pub(crate) async fn before(
    rules: &Rules,
    memory: &std::sync::Mutex<Memory>,
    upstream: SocketAddr,
    call: &Call<'_>,
) -> Option<Verdict> {
    if !rules.s3_bucket_regions || call.ec2 {
        return None;
    }
    let scope = credential_scope(call.head)?;
    if scope.service != "s3" {
        return None;
    }
    let bucket = bucket_of(call)?;
    let known = memory
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .bucket_regions
        .get(&bucket)
        .cloned();
    let region = match known {
        Some(r) => r,
        None => {
            let (ok, body) = ask_rest(
                upstream,
                call.head,
                "s3",
                "GET",
                &format!("/{bucket}?location"),
            )
            .await?;
            if !ok {
                return None;
            }
            // An empty constraint is us-east-1.
            let r = between(&body, "<LocationConstraint", "</LocationConstraint>")
                .and_then(|t| t.split('>').nth(1))
                .filter(|r| !r.is_empty())
                .unwrap_or("us-east-1")
                .to_owned();
            memory
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .bucket_regions
                .insert(bucket.clone(), r.clone());
            r
        }
    };
    if region == scope.region {
        return None;
    }
    let head = format!(
        "HTTP/1.1 301 Moved Permanently\r\nContent-Type: application/xml\r\nx-amz-bucket-region: {region}\r\nx-amz-request-id: rules\r\n"
    );
    let body = if call.signature.starts_with("HEAD ") {
        String::new()
    } else {
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.</Message><Endpoint>{bucket}.s3.{region}.amazonaws.com</Endpoint><Bucket>{bucket}</Bucket></Error>")
    };
    Some(Verdict::Answer(crate::with_body(&head, &body)))
}

/// Forgets a deleted bucket's region (its name may come back elsewhere).
pub(crate) fn after(m: &mut Memory, call: &Call<'_>) {
    if let Some(bucket) = deleted_bucket(call) {
        m.bucket_regions.remove(bucket);
    }
}

/// The bucket a DeleteBucket (`DELETE /BUCKET`) names.
pub(crate) fn deleted_bucket<'a>(call: &Call<'a>) -> Option<&'a str> {
    let ("DELETE", target) = call.signature.split_once(' ')? else {
        return None;
    };
    let bucket = target.split('?').next()?.trim_start_matches('/');
    (!bucket.is_empty() && !bucket.contains('/')).then_some(bucket)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(signature: &str) -> Call<'_> {
        Call::of(signature, "")
    }

    #[test]
    fn requests_are_tied_to_their_bucket_except_those_s3_answers_anywhere() {
        assert_eq!(bucket_of(&call("HEAD /state")), Some("state".into()));
        assert_eq!(
            bucket_of(&call("GET /state/paysec/dev.json")),
            Some("state".into())
        );
        assert_eq!(
            bucket_of(&call("PUT /state/paysec/dev.json")),
            Some("state".into())
        );
        assert_eq!(
            bucket_of(&call("PUT /state?versioning")),
            Some("state".into())
        );
        assert_eq!(bucket_of(&call("GET /state?location")), None);
        assert_eq!(bucket_of(&call("PUT /state")), None, "CreateBucket");
        assert_eq!(bucket_of(&call("GET /")), None, "ListBuckets");
    }
}

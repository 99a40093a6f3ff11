//! S3's expected bucket owner: a request carrying
//! `x-amz-expected-bucket-owner` (the SDK's `ExpectedBucketOwner`) for a
//! bucket another account owns is refused `403 AccessDenied`, even when
//! the bucket's policy lets the caller in (S3 user guide, "Verifying
//! bucket ownership with bucket owner condition"). moto ignores the header
//! on every operation but one, and serves any account's bucket to any
//! caller, so without this rule a state bucket of another account looks
//! like the team's. `docs/real-aws.md`, "S3 expected bucket owner".

use std::net::SocketAddr;

use crate::exchange::{Call, Verdict};
use crate::memory::Memory;
use crate::ruleset::Rules;
use crate::wire::{credential_scope, header};

/// The bucket a path-style S3 request names, if any (ListBuckets names
/// none).
fn bucket_of<'a>(call: &Call<'a>) -> Option<&'a str> {
    let (_, target) = call.signature.split_once(' ')?;
    let path = target.split('?').next()?;
    path.trim_start_matches('/')
        .split('/')
        .next()
        .filter(|b| !b.is_empty())
}

/// Whether `account` owns `bucket`: it is among the buckets the emulator
/// lists for that account (moto's `x-moto-account-id`).
async fn owns(upstream: SocketAddr, head: &str, account: &str, bucket: &str) -> Option<bool> {
    let (ok, body) =
        crate::exchange::ask_rest_as(upstream, head, "s3", "GET", "/", account).await?;
    ok.then(|| body.contains(&format!("<Name>{bucket}</Name>")))
}

/// Refuses a request whose expected owner does not own its bucket.
pub(crate) async fn before(
    rules: &Rules,
    memory: &std::sync::Mutex<Memory>,
    upstream: SocketAddr,
    call: &Call<'_>,
) -> Option<Verdict> {
    if !rules.s3_expected_owner || call.ec2 {
        return None;
    }
    if credential_scope(call.head)?.service != "s3" {
        return None;
    }
    let expected = header(call.head, "x-amz-expected-bucket-owner")?
        .trim()
        .to_owned();
    let bucket = bucket_of(call)?.to_owned();
    let key = (bucket.clone(), expected.clone());
    let known = memory
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .bucket_owners
        .contains(&key);
    if known {
        return None;
    }
    match owns(upstream, call.head, &expected, &bucket).await {
        Some(true) => {
            memory
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .bucket_owners
                .insert(key);
            None
        }
        // An unknown bucket is the emulator's to answer (NoSuchBucket).
        Some(false) if !bucket_exists(upstream, call.head, &bucket).await => None,
        Some(false) => Some(Verdict::Refuse(
            403,
            "AccessDenied",
            "Access Denied".to_owned(),
        )),
        None => None,
    }
}

/// Whether the bucket exists for anyone (HeadBucket as the caller: moto
/// serves any account's bucket).
async fn bucket_exists(upstream: SocketAddr, head: &str, bucket: &str) -> bool {
    crate::exchange::ask_rest(upstream, head, "s3", "HEAD", &format!("/{bucket}"))
        .await
        .is_some_and(|(ok, _)| ok)
}

/// Forgets a deleted bucket's owner (its name may come back elsewhere).
pub(crate) fn after(m: &mut Memory, call: &Call<'_>) {
    if let Some(bucket) = crate::s3_regions::deleted_bucket(call) {
        m.bucket_owners.retain(|(b, _)| b != bucket);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_names_its_bucket_and_list_buckets_none() {
        assert_eq!(
            bucket_of(&Call::of("GET /state/p/dev.json", "")),
            Some("state")
        );
        assert_eq!(bucket_of(&Call::of("HEAD /state", "")), Some("state"));
        assert_eq!(
            bucket_of(&Call::of("GET /state?versioning", "")),
            Some("state")
        );
        assert_eq!(bucket_of(&Call::of("GET /", "")), None);
        assert_eq!(bucket_of(&Call::of("GET /?x-id=ListBuckets", "")), None);
    }
}

//! Which resource an AWS call is made for. The scheduler runs each
//! resource's read inside [`scope`]; whatever records calls (the evidence
//! of `verify`: which request, with which request id, read which
//! resource) asks [`current`] from inside the call.

use std::future::Future;

use crate::id::LogicalId;

tokio::task_local! {
    static READING: String;
}

/// Runs `read` as the read of `id`.
pub async fn scope<F: Future>(id: LogicalId, read: F) -> F::Output {
    READING.scope(id.to_string(), read).await
}

/// What a shared listing's calls are attributed to (`shared:alarms`):
/// the listing one run fetches once for many resources
/// (`crate::census`), each of which names it among its reads.
pub fn shared_name(list: &str) -> String {
    format!("shared:{list}")
}

/// Runs `fetch` as the fetch of the shared listing `list`.
pub async fn shared_scope<F: Future>(list: &str, fetch: F) -> F::Output {
    READING.scope(shared_name(list), fetch).await
}

/// One AWS call as recorded for evidence (one attempt: a retried call
/// appears once per attempt).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Call {
    /// Order of the answers, from 1.
    pub seq: usize,
    /// The resource whose read made the call (none: the command's own
    /// calls, such as who the caller is).
    pub resource: Option<String>,
    pub service: String,
    pub operation: String,
    pub request_id: Option<String>,
    pub status: u16,
    /// When the answer arrived (RFC 3339, UTC).
    pub at: String,
    /// The response body, presigned URLs removed.
    pub body: String,
}

/// The resource (or shared listing) whose read is running here, if any.
pub fn current() -> Option<String> {
    READING.try_with(Clone::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_inside_a_read_knows_its_resource() {
        assert_eq!(current(), None);
        let id = LogicalId::new("kms.s3");
        let seen = scope(id.clone(), async { current() }).await;
        assert_eq!(seen.as_deref(), Some("kms.s3"));
        let listing = shared_scope("alarms", async { current() }).await;
        assert_eq!(listing.as_deref(), Some("shared:alarms"));
    }
}

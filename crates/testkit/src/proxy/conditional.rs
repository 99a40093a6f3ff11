//! S3 writes on condition taken one at a time per object, as S3 decides
//! them.

use std::sync::Arc;

use crate::wire;
use crate::State;

/// Whether a request is an S3 write on condition (`If-Match`,
/// `If-None-Match`). S3 checks the condition and writes as one step, so of
/// two such writes to one object at once only one can pass; moto 5.2.5
/// looks the object up, then writes, in separate steps, so both could (two
/// runs would both take a shared ledger's lock). The proxy hands those to
/// one object to the emulator one at a time, as AWS would decide them;
/// writes to other objects go on meanwhile, as on AWS.
pub(super) fn conditional_s3_write(head: &str) -> bool {
    let mut lines = head.lines();
    let method_is_write = lines
        .next()
        .is_some_and(|l| l.starts_with("PUT ") || l.starts_with("DELETE "));
    method_is_write
        && lines.any(|l| {
            let l = l.to_ascii_lowercase();
            l.starts_with("if-match:") || l.starts_with("if-none-match:")
        })
}

/// The lock of the object a request names: its `Host` (a bucket's
/// virtual host) and its path, without the query.
pub(super) fn object_lock(state: &State, head: &str) -> Arc<tokio::sync::Mutex<()>> {
    let path = head
        .lines()
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or_default();
    let path = path.split('?').next().unwrap_or_default();
    let host = wire::header(head, "host").unwrap_or_default();
    state
        .conditional_writes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(format!("{host}{path}"))
        .or_default()
        .clone()
}

#[cfg(test)]
mod conditional_tests {
    use super::{conditional_s3_write, object_lock};
    use crate::State;
    use std::sync::Arc;

    #[test]
    fn conditional_writes_wait_only_for_those_to_the_same_object() {
        let state = State::default();
        let put =
            |path: &str| format!("PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:9\r\nIf-Match: \"e\"\r\n");
        let a = object_lock(&state, &put("/state/fleet/a.json"));
        assert!(Arc::ptr_eq(
            &a,
            &object_lock(&state, &put("/state/fleet/a.json?x-id=PutObject"))
        ));
        assert!(!Arc::ptr_eq(
            &a,
            &object_lock(&state, &put("/state/fleet/b.json"))
        ));
    }

    #[test]
    fn only_conditional_writes_are_taken_one_at_a_time() {
        assert!(conditional_s3_write(
            "PUT /b/k.lock HTTP/1.1\r\nHost: x\r\nIf-None-Match: *\r\n"
        ));
        assert!(conditional_s3_write(
            "DELETE /b/k.lock HTTP/1.1\r\nif-match: \"e\"\r\n"
        ));
        assert!(!conditional_s3_write("PUT /b/k HTTP/1.1\r\nHost: x\r\n"));
        assert!(!conditional_s3_write(
            "GET /b/k HTTP/1.1\r\nIf-None-Match: \"e\"\r\n"
        ));
    }
}

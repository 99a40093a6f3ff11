//! Accounts with an emulator process of their own: the account of each role
//! session learnt from STS, and each request sent to its account's process.

use std::net::SocketAddr;

use crate::wire;
use crate::State;

/// The emulator process a request goes to: its account's own, when that
/// account has one ([`FaultProxy::serve_account`]) and the request is
/// signed with a session of it; else the first. STS always goes to the
/// first, which issued the sessions and knows them.
pub(super) fn route(state: &State, head: &str, first: SocketAddr) -> SocketAddr {
    let Some(scope) = wire::credential_scope(head) else {
        return first;
    };
    if scope.service == "sts" {
        return first;
    }
    let accounts = state
        .session_accounts
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let Some(account) = accounts.get(scope.key) else {
        return first;
    };
    state
        .shards
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(account)
        .copied()
        .unwrap_or(first)
}

/// Remembers the account of the session an `AssumeRole` answer hands out:
/// the account of the role asked for (`RoleArn` in the request), the key
/// in the answer's `<AccessKeyId>`.
pub(super) fn learn_session(state: &State, request: &str, answer: &[u8]) {
    if state
        .shards
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .is_empty()
    {
        return;
    }
    let role = request
        .split('&')
        .find_map(|kv| kv.strip_prefix("RoleArn="))
        .map(|arn| arn.replace("%3A", ":").replace("%3a", ":"));
    let account = role
        .as_deref()
        .and_then(|arn| arn.split(':').nth(4))
        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()));
    let answer = String::from_utf8_lossy(answer);
    let key = wire::between(&answer, "<AccessKeyId>", "</AccessKeyId>").map(str::trim);
    if let (Some(account), Some(key)) = (account, key) {
        state
            .session_accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_owned(), account.to_owned());
    }
}

#[cfg(test)]
mod routing_tests {
    use super::{learn_session, route};
    use crate::State;
    use std::net::SocketAddr;

    fn signed(key: &str, service: &str) -> String {
        format!("POST / HTTP/1.1\r\nAuthorization: AWS4-HMAC-SHA256 Credential={key}/20261201/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0\r\n")
    }

    #[test]
    fn a_role_session_goes_to_its_accounts_own_emulator() {
        let state = State::default();
        let first: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let own: SocketAddr = "127.0.0.1:2".parse().unwrap();
        state
            .shards
            .lock()
            .unwrap()
            .insert("222222222222".to_owned(), own);
        learn_session(
            &state,
            "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2FDeployer&RoleSessionName=run&Version=2011-06-15",
            b"HTTP/1.1 200 OK\r\n\r\n<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAEXAMPLE222</AccessKeyId>",
        );
        assert_eq!(route(&state, &signed("ASIAEXAMPLE222", "kms"), first), own);
        // STS knows the sessions it issued; keys it did not see stay put.
        assert_eq!(
            route(&state, &signed("ASIAEXAMPLE222", "sts"), first),
            first
        );
        assert_eq!(route(&state, &signed("test", "kms"), first), first);
        assert_eq!(route(&state, "GET / HTTP/1.1\r\n", first), first);
    }

    #[test]
    fn without_accounts_of_their_own_no_session_is_remembered() {
        let state = State::default();
        learn_session(
            &state,
            "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2FDeployer",
            b"<AccessKeyId>ASIAEXAMPLE222</AccessKeyId>",
        );
        assert!(state.session_accounts.lock().unwrap().is_empty());
    }
}

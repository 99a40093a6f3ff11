//! The model applied to a request: its own answers, its view of the
//! emulator's, and each service's in-flight ceiling.

use std::sync::atomic::Ordering;

use super::Request;
use crate::answers::{error_response, with_body};
use crate::wire;
use crate::{Model, State};

const OK_XML: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nx-amzn-RequestId: model\r\n";

/// The model's own answer, if it has one: a refusal (a role not yet
/// propagated) or a description the emulator no longer has.
pub(super) fn answer_early(
    state: &State,
    model: &Model,
    req: &Request,
    body: &str,
) -> Option<Vec<u8>> {
    let clock = state.clock.lock().unwrap_or_else(|p| p.into_inner());
    match clock.refusal(model, &req.signature, body) {
        Some((status, code, message)) => Some(error_response(req.protocol, status, code, &message)),
        None => clock
            .substitute(model, &req.signature, body)
            .map(|b| with_body(OK_XML, &b)),
    }
}

/// Lets the model see a successful answer and rewrite its status fields.
/// Only answers with a Content-Length (the emulator's) are rewritten.
pub(super) fn remodel(
    state: &State,
    model: &Model,
    signature: &str,
    request: &str,
    answer: Vec<u8>,
) -> Vec<u8> {
    let Some(split) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return answer;
    };
    let head = String::from_utf8_lossy(&answer[..split + 2]).into_owned();
    if !wire::succeeded(&answer) {
        return answer;
    }
    let body = String::from_utf8_lossy(&answer[split + 4..]).into_owned();
    let rewritten = state
        .clock
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .observe(model, signature, request, &body);
    match rewritten {
        Some(new_body) if head.to_ascii_lowercase().contains("content-length:") => {
            state.modelled.fetch_add(1, Ordering::SeqCst);
            let kept: String = head
                .split("\r\n")
                .filter(|l| {
                    let l = l.to_ascii_lowercase();
                    !l.is_empty()
                        && !l.starts_with("content-length:")
                        && !l.starts_with("connection:")
                })
                .map(|l| format!("{l}\r\n"))
                .collect();
            with_body(&kept, &new_body)
        }
        _ => answer,
    }
}

/// What the in-flight ceiling counts against: AWS's limits are per account
/// and service, so the signing identity's access key (one per account in
/// a fleet across accounts: a session of its role) and the service of the
/// credential scope (`Credential=AKID/DATE/REGION/SERVICE/aws4_request`).
pub(super) fn service_of(head: &str) -> String {
    wire::credential_scope(head).map_or_else(
        || "unknown".to_owned(),
        |s| format!("{}/{}", s.key, s.service),
    )
}

/// One request in flight to a service, counted until dropped.
pub(super) struct InFlight<'a> {
    state: &'a State,
    service: String,
}

impl<'a> InFlight<'a> {
    /// A slot, or `None` when the service already has `ceiling` requests.
    pub(super) fn enter(state: &'a State, service: String, ceiling: usize) -> Option<Self> {
        let mut map = state.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(service.clone()).or_default();
        if *n >= ceiling {
            return None;
        }
        *n += 1;
        Some(Self { state, service })
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut map = self
            .state
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.service) {
            *n = n.saturating_sub(1);
        }
    }
}

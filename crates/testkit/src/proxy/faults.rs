//! The faults a test asks for: scripted errors, random transient failures,
//! answers lost after the emulator acted, and answers rewritten.

use std::sync::atomic::Ordering;

use super::Request;
use crate::answers::{error_response, throttle};
use crate::State;

pub(super) enum Decision {
    Forward,
    Respond(Vec<u8>),
    Reset,
}

pub(super) fn decide(state: &State, req: &Request) -> Decision {
    {
        let mut scripted = state.scripted.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = scripted
            .iter_mut()
            .find(|s| s.times > 0 && req.signature.contains(&s.operation))
        {
            s.times -= 1;
            state.faults.fetch_add(1, Ordering::SeqCst);
            return Decision::Respond(error_response(req.protocol, s.status, &s.code, &s.message));
        }
    }
    let rate = state.rate_ppm.load(Ordering::SeqCst);
    if rate == 0 {
        return Decision::Forward;
    }
    // xorshift: deterministic and dependency-free.
    let mut x = state.rng.load(Ordering::SeqCst);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    state.rng.store(x, Ordering::SeqCst);
    if x % 1_000_000 >= rate {
        return Decision::Forward;
    }
    state.faults.fetch_add(1, Ordering::SeqCst);
    let bare = |status: &str| {
        format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").into_bytes()
    };
    match (x >> 32) % 4 {
        0 => Decision::Respond(bare("503 Service Unavailable")),
        1 => Decision::Respond(bare("500 Internal Server Error")),
        2 => Decision::Respond(throttle(req.protocol)),
        _ => Decision::Reset,
    }
}

/// Applies the rewrites of `signature` to an HTTP answer with a
/// Content-Length (a chunked answer is left as is).
pub(super) fn rewrite(state: &State, signature: &str, answer: Vec<u8>) -> Vec<u8> {
    let rewrites: Vec<(String, String)> = state
        .rewrites
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter(|(op, _, _)| signature.contains(op.as_str()))
        .map(|(_, from, to)| (from.clone(), to.clone()))
        .collect();
    if rewrites.is_empty() {
        return answer;
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return answer;
    };
    if !head.to_ascii_lowercase().contains("content-length:") {
        return answer;
    }
    let body = rewrites
        .iter()
        .fold(body.to_owned(), |b, (from, to)| b.replace(from, to));
    let head: String = head
        .lines()
        .map(|l| {
            if l.to_ascii_lowercase().starts_with("content-length:") {
                format!("Content-Length: {}", body.len())
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n");
    format!("{head}\r\n\r\n{body}").into_bytes()
}

/// Whether this request's answer is to be lost (see `lose_answers`).
pub(super) fn lose(state: &State, signature: &str) -> bool {
    let mut lost = state.lost.lock().unwrap_or_else(|p| p.into_inner());
    match lost
        .iter_mut()
        .find(|(op, n)| *n > 0 && signature.contains(op.as_str()))
    {
        Some((_, n)) => {
            *n -= 1;
            true
        }
        None => false,
    }
}

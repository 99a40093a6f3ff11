//! One connection through the proxy: the request read, the faults a test
//! asked for, the account's own emulator, the model and the rules, then the
//! emulator's answer relayed.

mod accounts;
mod conditional;
mod faults;
mod modelled;
mod request;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::answers::{error_response, throttle, Protocol};
use crate::exchange;
use crate::rules;
use crate::wire;
use crate::State;
use accounts::{learn_session, route};
use conditional::{conditional_s3_write, object_lock};
use faults::{decide, lose, rewrite, Decision};
use modelled::{answer_early, remodel, service_of, InFlight};
use request::read_request;

struct Request {
    head: String,
    body: Vec<u8>,
    signature: String,
    protocol: Protocol,
}

pub(super) async fn serve(
    mut conn: TcpStream,
    upstream: SocketAddr,
    state: Arc<State>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let Some(req) = read_request(&mut conn, &mut buf).await? else {
        return Ok(());
    };
    state.calls.fetch_add(1, Ordering::SeqCst);
    state
        .log
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(req.signature.clone());
    match decide(&state, &req) {
        Decision::Respond(bytes) => {
            conn.write_all(&bytes).await?;
            conn.shutdown().await?;
        }
        Decision::Reset => {
            // Closing without an answer: the client sees the connection drop.
            drop(conn);
        }
        Decision::Forward => {
            let upstream = route(&state, &req.head, upstream);
            let model = *state.model.lock().unwrap_or_else(|p| p.into_inner());
            let body_text = String::from_utf8_lossy(&req.body).into_owned();
            let _slot = match model.map(|m| m.service_in_flight).filter(|&n| n > 0) {
                Some(ceiling) => match InFlight::enter(&state, service_of(&req.head), ceiling) {
                    Some(slot) => Some(slot),
                    None => {
                        state.throttled.fetch_add(1, Ordering::SeqCst);
                        conn.write_all(&throttle(req.protocol)).await?;
                        conn.shutdown().await?;
                        return Ok(());
                    }
                },
                None => None,
            };
            // Inside the slot: the modelled latency is time in flight.
            let latency = state.latency_ms.load(Ordering::SeqCst);
            if latency > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
            }
            let rules = state
                .rules
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            let call = exchange::Call {
                head: &req.head,
                body: &body_text,
                signature: &req.signature,
                ec2: req.protocol == Protocol::Ec2,
            };
            if let Some(rules) = &rules {
                if let Some(verdict) = rules::before(rules, &state.memory, upstream, &call).await {
                    state.ruled.fetch_add(1, Ordering::SeqCst);
                    let bytes = match verdict {
                        exchange::Verdict::Refuse(status, code, message) => {
                            error_response(req.protocol, status, code, &message)
                        }
                        exchange::Verdict::Answer(bytes) => bytes,
                    };
                    conn.write_all(&bytes).await?;
                    conn.shutdown().await?;
                    return Ok(());
                }
            }
            if let Some(model) = &model {
                let early = answer_early(&state, model, &req, &body_text);
                if let Some(bytes) = early {
                    state.modelled.fetch_add(1, Ordering::SeqCst);
                    conn.write_all(&bytes).await?;
                    conn.shutdown().await?;
                    return Ok(());
                }
            }
            // One request per upstream connection, closed by the upstream
            // after its answer, so the answer can be relayed as is.
            let head: String = req
                .head
                .lines()
                .filter(|l| !l.to_ascii_lowercase().starts_with("connection:") && !l.is_empty())
                .map(|l| format!("{l}\r\n"))
                .collect();
            let _atomic = if conditional_s3_write(&req.head) {
                Some(object_lock(&state, &req.head).lock_owned().await)
            } else {
                None
            };
            let mut up = TcpStream::connect(upstream).await?;
            up.write_all(head.as_bytes()).await?;
            up.write_all(b"Connection: close\r\n\r\n").await?;
            up.write_all(&req.body).await?;
            let mut answer = Vec::new();
            up.read_to_end(&mut answer).await?;
            if req.signature == "AssumeRole" {
                learn_session(&state, &body_text, &answer);
            }
            if let Some(rules) = &rules {
                if let Some(ruled) = rules::after(rules, &state.memory, &call, &answer) {
                    answer = ruled;
                }
            }
            if let Some(model) = &model {
                answer = remodel(&state, model, &req.signature, &body_text, answer);
            }
            answer = rewrite(&state, &req.signature, answer);
            // Only an answer saying the emulator acted is lost: a refusal
            // lost and retried would test nothing.
            if wire::succeeded(&answer) && lose(&state, &req.signature) {
                state.faults.fetch_add(1, Ordering::SeqCst);
                answer = error_response(
                    req.protocol,
                    500,
                    "InternalError",
                    "We encountered an internal error. Please try again.",
                );
            }
            conn.write_all(&answer).await?;
            conn.shutdown().await?;
        }
    }
    Ok(())
}

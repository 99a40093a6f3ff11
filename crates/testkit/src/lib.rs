//! Test utilities. [`FaultProxy`] sits on loopback between paysec (or the
//! SDK) and the emulator and makes the emulator misbehave the way real AWS
//! does: random transient failures (HTTP 503, each service's own throttling
//! error, connection resets), scripted errors for the first N calls of one
//! operation (to replay eventual consistency), and a call counter (to crash
//! paysec after the k-th call).
//!
//! Faults are injected *before* a request reaches the emulator, so a failed
//! call never took effect: that is the case the SDK and paysec must retry.
//!
//! With a [`Model`] set, the proxy also behaves like real AWS in time (call
//! latency, slow RDS/Lambda/endpoints, IAM and KMS propagation); see [`model`].
//! With [`Rules`] set, it refuses what AWS refuses where the emulator is
//! lenient (principals that do not exist, reused client tokens, ids not yet
//! visible, account limits, retired engine versions); see [`rules`].
//! [`moto`] starts emulator processes: one for every account, or one per
//! account, the proxy sending each account's role sessions to its own
//! ([`FaultProxy::serve_account`]).

mod apigateway;
mod code_signing;
mod dns_firewall;
mod endpoint_acceptance;
mod exchange;
mod lambda_releases;
mod managed_interfaces;
mod memory;
pub mod model;
pub mod moto;
mod rds_pending;
mod rds_reboot;
pub mod rules;
mod ruleset;
mod s3_owner;
mod s3_policy;
mod s3_regions;
mod trust;
mod wire;

pub use memory::Confirmation;
pub use model::Model;
pub use ruleset::Rules;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An error returned for the first `times` calls whose signature contains
/// `operation` (an `X-Amz-Target` suffix such as `CreateKey`, a query
/// `Action` such as `CreateRole`, or `METHOD /path` for REST services).
#[derive(Clone, Debug)]
pub struct Scripted {
    pub operation: String,
    pub times: usize,
    pub status: u16,
    pub code: String,
    pub message: String,
}

#[derive(Default)]
struct State {
    calls: AtomicUsize,
    faults: AtomicUsize,
    /// Random faults per million requests.
    rate_ppm: AtomicU64,
    rng: AtomicU64,
    /// Added before every forwarded request, in milliseconds.
    latency_ms: AtomicU64,
    scripted: Mutex<Vec<Scripted>>,
    model: Mutex<Option<Model>>,
    clock: Mutex<model::Clock>,
    rules: Mutex<Option<Rules>>,
    memory: Mutex<memory::Memory>,
    /// Requests the model refused (IAM or KMS propagation) or answered itself.
    modelled: AtomicUsize,
    /// Requests the rules refused or answered themselves.
    ruled: AtomicUsize,
    /// (operation, times): requests forwarded and acted on by the emulator
    /// whose answer is then replaced by an HTTP 500, as when a connection
    /// drops after AWS acted.
    lost: Mutex<Vec<(String, usize)>>,
    /// (operation, from, to): answers rewritten (`rewrite_answers`).
    rewrites: Mutex<Vec<(String, String, String)>>,
    /// Requests refused for exceeding a service's in-flight ceiling.
    throttled: AtomicUsize,
    in_flight: Mutex<std::collections::HashMap<String, usize>>,
    /// Operation signatures seen, in order (for assertions and reports).
    log: Mutex<Vec<String>>,
    /// One lock per object (host and path), held while a conditional S3
    /// write to it is with the emulator ([`conditional_s3_write`]).
    conditional_writes: Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Accounts answered by an emulator process of their own
    /// ([`FaultProxy::serve_account`]): account -> that process.
    shards: Mutex<std::collections::HashMap<String, SocketAddr>>,
    /// The account of each role session's access key, read off the STS
    /// `AssumeRole` answers the proxy relayed (only while there are shards).
    session_accounts: Mutex<std::collections::HashMap<String, String>>,
}

/// Whether a request is an S3 write on condition (`If-Match`,
/// `If-None-Match`). S3 checks the condition and writes as one step, so of
/// two such writes to one object at once only one can pass; moto 5.2.5
/// looks the object up, then writes, in separate steps, so both could (two
/// runs would both take a shared ledger's lock). The proxy hands those to
/// one object to the emulator one at a time, as AWS would decide them;
/// writes to other objects go on meanwhile, as on AWS.
fn conditional_s3_write(head: &str) -> bool {
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
fn object_lock(state: &State, head: &str) -> Arc<tokio::sync::Mutex<()>> {
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

/// A running proxy. Dropping it does not stop it; it lives as long as the
/// runtime that started it.
#[derive(Clone)]
pub struct FaultProxy {
    pub addr: SocketAddr,
    state: Arc<State>,
}

/// How the request's service speaks, to answer in its own error format.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Protocol {
    /// `X-Amz-Target` + JSON (KMS, Logs, STS JSON, tagging...).
    AwsJson,
    /// Query with `<ErrorResponse>` (IAM, RDS, SNS, CloudWatch, STS).
    Query,
    /// EC2's query dialect with `<Response><Errors>`.
    Ec2,
    /// S3's REST XML.
    S3,
    /// REST-JSON (Lambda): code in `x-amzn-ErrorType`.
    RestJson,
}

struct Request {
    head: String,
    body: Vec<u8>,
    signature: String,
    protocol: Protocol,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`http://127.0.0.1:PORT`) on a free
    /// loopback port.
    pub async fn start(upstream: &str) -> std::io::Result<Self> {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .map_err(std::io::Error::other)?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            rng: AtomicU64::new(0x9E37_79B9_7F4A_7C15),
            ..State::default()
        });
        let s = state.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = serve(conn, upstream, s).await;
                });
            }
        });
        Ok(Self { addr, state })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Fails this fraction of requests (0.0-1.0) with a random transient fault.
    pub fn set_fault_rate(&self, rate: f64) {
        self.state
            .rate_ppm
            .store((rate * 1_000_000.0) as u64, Ordering::SeqCst);
    }

    /// Delays every forwarded request, like a distant region.
    pub fn set_latency(&self, latency: std::time::Duration) {
        self.state
            .latency_ms
            .store(latency.as_millis() as u64, Ordering::SeqCst);
    }

    /// Makes the emulator behave like real AWS in time (see [`model`]).
    pub fn set_model(&self, model: Model) {
        self.set_latency(model.call_latency);
        *self.state.model.lock().unwrap_or_else(|p| p.into_inner()) = Some(model);
    }

    /// Sends the requests of `account` (signed with a role session of it:
    /// one this proxy relayed the `AssumeRole` answer of) to `upstream`, an
    /// emulator process serving that account alone ([`moto::Moto::start`]
    /// with the account), as AWS answers each account on its own. STS
    /// stays with the first emulator: it issued the sessions. Without
    /// this, one emulator process answers every account, one request at a
    /// time (docs/performance.md).
    pub fn serve_account(&self, account: &str, upstream: &str) -> std::io::Result<()> {
        let addr: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .map_err(std::io::Error::other)?;
        self.state
            .shards
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account.to_owned(), addr);
        Ok(())
    }

    /// Makes the emulator refuse what AWS refuses (see [`rules`]).
    /// The subscription confirmations SNS would have sent and no one has
    /// acted on yet (the rules' `confirming_recipients`): each one's token
    /// confirms it through ConfirmSubscription, as the link in the email.
    pub fn mailbox(&self) -> Vec<memory::Confirmation> {
        self.state
            .memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pending
            .values()
            .cloned()
            .collect()
    }

    /// The provider of a partner's PrivateLink service accepting endpoint
    /// `id` (the rules' `endpoint_acceptance`): from now on it reads
    /// `available`, as after AcceptVpcEndpointConnections in their account.
    pub fn accept_endpoint_connection(&self, id: &str) {
        let mut m = self.state.memory.lock().unwrap_or_else(|p| p.into_inner());
        m.awaiting_acceptance.remove(id);
        m.accepted_endpoints.insert(id.to_owned());
    }

    pub fn set_rules(&self, rules: Rules) {
        *self.state.rules.lock().unwrap_or_else(|p| p.into_inner()) = Some(rules);
    }

    /// Requests the rules refused or answered instead of the emulator.
    pub fn ruled(&self) -> usize {
        self.state.ruled.load(Ordering::SeqCst)
    }

    /// Requests the model refused or answered instead of the emulator.
    pub fn modelled(&self) -> usize {
        self.state.modelled.load(Ordering::SeqCst)
    }

    /// Requests the model throttled (a service's in-flight ceiling).
    pub fn throttled(&self) -> usize {
        self.state.throttled.load(Ordering::SeqCst)
    }

    pub fn script(&self, fault: Scripted) {
        self.state
            .scripted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(fault);
    }

    /// Lets the emulator act on the next `times` requests whose signature
    /// contains `operation` and that it carries out (answers 2xx), then
    /// answers HTTP 500 instead of its answer: the caller cannot know the
    /// create happened (the SDK retries it).
    pub fn lose_answers(&self, operation: &str, times: usize) {
        self.state
            .lost
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((operation.to_owned(), times));
    }

    /// Rewrites the emulator's answers to requests whose signature contains
    /// `operation`: each `from` in the body becomes `to` (Content-Length
    /// adjusted), for a state the emulator cannot reach (a function
    /// AWS marked Failed, say), while the emulator still does the work.
    pub fn rewrite_answers(&self, operation: &str, from: &str, to: &str) {
        self.state
            .rewrites
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((operation.to_owned(), from.to_owned(), to.to_owned()));
    }

    /// Requests seen so far.
    pub fn calls(&self) -> usize {
        self.state.calls.load(Ordering::SeqCst)
    }

    /// Faults injected so far.
    pub fn faults(&self) -> usize {
        self.state.faults.load(Ordering::SeqCst)
    }

    /// Scripted faults not yet used up.
    pub fn scripted_left(&self) -> usize {
        self.state
            .scripted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|s| s.times)
            .sum()
    }

    pub fn log(&self) -> Vec<String> {
        self.state
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

async fn read_request(conn: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<Option<Request>> {
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let mut chunk = [0u8; 8192];
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let header = |name: &str| wire::header(&head, name).map(str::to_owned);
    let len: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let mut chunk = [0u8; 8192];
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body: Vec<u8> = buf[head_end..(head_end + len).min(buf.len())].to_vec();
    buf.drain(..(head_end + len).min(buf.len()));
    let request_line = head.lines().next().unwrap_or_default().to_owned();
    let body_text = String::from_utf8_lossy(&body);
    let action = body_text
        .split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .map(str::to_owned);
    let (signature, protocol) = if let Some(target) = header("x-amz-target") {
        (
            target.rsplit('.').next().unwrap_or_default().to_owned(),
            Protocol::AwsJson,
        )
    } else if let Some(action) = action {
        let ec2 = body_text.contains("Version=2016-11-15");
        (action, if ec2 { Protocol::Ec2 } else { Protocol::Query })
    } else {
        let mut parts = request_line.split(' ');
        let sig = format!(
            "{} {}",
            parts.next().unwrap_or(""),
            parts.next().unwrap_or("")
        );
        // REST-JSON services version their paths by date (Lambda:
        // /2015-03-31/...), or are API Gateway's, which does not.
        let path = sig.split(' ').nth(1).unwrap_or("");
        let b = path.as_bytes();
        let dated = b.len() > 12
            && b[0] == b'/'
            && b[5] == b'-'
            && b[8] == b'-'
            && b[11] == b'/'
            && b[1..5].iter().all(u8::is_ascii_digit);
        // API Gateway's paths and Signer's carry no date.
        let apigateway = wire::credential_scope(&head)
            .is_some_and(|s| s.service == "apigateway" || s.service == "signer");
        (
            sig,
            if dated || apigateway {
                Protocol::RestJson
            } else {
                Protocol::S3
            },
        )
    };
    Ok(Some(Request {
        head,
        body,
        signature,
        protocol,
    }))
}

fn error_response(protocol: Protocol, status: u16, code: &str, message: &str) -> Vec<u8> {
    let (content_type, extra, body) = match protocol {
        // Query-compatible JSON services (SQS) name the old query code in
        // a header; the SDK reports that code.
        Protocol::AwsJson if code.contains('.') => (
            "application/x-amz-json-1.0",
            format!("x-amzn-query-error: {code};Sender\r\n"),
            format!(
                r#"{{"__type":"com.amazonaws.sqs#{}","message":"{message}"}}"#,
                code.rsplit('.').next().unwrap_or(code)
            ),
        ),
        Protocol::AwsJson => ("application/x-amz-json-1.1", String::new(), format!(r#"{{"__type":"{code}","message":"{message}"}}"#)),
        Protocol::Query => (
            "text/xml",
            String::new(),
            format!("<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault</RequestId></ErrorResponse>"),
        ),
        Protocol::Ec2 => (
            "text/xml",
            String::new(),
            format!("<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>fault</RequestID></Response>"),
        ),
        Protocol::S3 => ("application/xml", String::new(), format!("<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault</RequestId></Error>")),
        Protocol::RestJson => ("application/json", format!("x-amzn-ErrorType: {code}\r\n"), format!(r#"{{"Type":"User","message":"{message}"}}"#)),
    };
    format!(
        "HTTP/1.1 {status} Fault\r\nContent-Type: {content_type}\r\n{extra}x-amzn-RequestId: fault\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The service's own throttling error.
fn throttle(protocol: Protocol) -> Vec<u8> {
    match protocol {
        Protocol::AwsJson => error_response(protocol, 400, "ThrottlingException", "Rate exceeded"),
        Protocol::Query => error_response(protocol, 400, "Throttling", "Rate exceeded"),
        Protocol::Ec2 => error_response(
            protocol,
            503,
            "RequestLimitExceeded",
            "Request limit exceeded.",
        ),
        Protocol::S3 => error_response(
            protocol,
            503,
            "SlowDown",
            "Please reduce your request rate.",
        ),
        Protocol::RestJson => {
            error_response(protocol, 429, "TooManyRequestsException", "Rate exceeded")
        }
    }
}

enum Decision {
    Forward,
    Respond(Vec<u8>),
    Reset,
}

fn decide(state: &State, req: &Request) -> Decision {
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
fn rewrite(state: &State, signature: &str, answer: Vec<u8>) -> Vec<u8> {
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

async fn serve(
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

const OK_XML: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nx-amzn-RequestId: model\r\n";

/// A whole answer: `head` (status line and headers, each ending in CRLF)
/// plus a body with its length.
/// An emulator's answer with another body: its head without the length and
/// connection headers `with_body` writes anew.
fn with_new_body(head: &str, body: &str) -> Vec<u8> {
    let head: String = head
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            !l.starts_with("content-length:") && !l.starts_with("connection:")
        })
        .map(|l| format!("{l}\r\n"))
        .collect();
    with_body(&head, body)
}

fn with_body(head: &str, body: &str) -> Vec<u8> {
    format!(
        "{head}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The model's own answer, if it has one: a refusal (a role not yet
/// propagated) or a description the emulator no longer has.
fn answer_early(state: &State, model: &Model, req: &Request, body: &str) -> Option<Vec<u8>> {
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
fn remodel(
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

/// The emulator process a request goes to: its account's own, when that
/// account has one ([`FaultProxy::serve_account`]) and the request is
/// signed with a session of it; else the first. STS always goes to the
/// first, which issued the sessions and knows them.
fn route(state: &State, head: &str, first: SocketAddr) -> SocketAddr {
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
fn learn_session(state: &State, request: &str, answer: &[u8]) {
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

/// What the in-flight ceiling counts against: AWS's limits are per account
/// and service, so the signing identity's access key (one per account in
/// a fleet across accounts: a session of its role) and the service of the
/// credential scope (`Credential=AKID/DATE/REGION/SERVICE/aws4_request`).
fn service_of(head: &str) -> String {
    wire::credential_scope(head).map_or_else(
        || "unknown".to_owned(),
        |s| format!("{}/{}", s.key, s.service),
    )
}

/// One request in flight to a service, counted until dropped.
struct InFlight<'a> {
    state: &'a State,
    service: String,
}

impl<'a> InFlight<'a> {
    /// A slot, or `None` when the service already has `ceiling` requests.
    fn enter(state: &'a State, service: String, ceiling: usize) -> Option<Self> {
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

/// Whether this request's answer is to be lost (see `lose_answers`).
fn lose(state: &State, signature: &str) -> bool {
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

#[cfg(test)]
mod conditional_tests {
    use super::{conditional_s3_write, object_lock, State};
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

#[cfg(test)]
mod routing_tests {
    use super::{learn_session, route, State};
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

//! Test utilities. [`FaultProxy`] sits on loopback between paysec (or the
//! SDK) and the emulator and makes the emulator misbehave the way real AWS
//! does: random transient failures (HTTP 503, each service's own throttling
//! error, connection resets), scripted errors for the first N calls of one
//! operation (to replay eventual consistency), and a call counter (to crash
//! paysec after the k-th call).
//!
//! Faults are injected *before* a request reaches the emulator, so a failed
//! call never took effect: that is the case the SDK and paysec must retry.

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
    /// Operation signatures seen, in order (for assertions and reports).
    log: Mutex<Vec<String>>,
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

    pub fn script(&self, fault: Scripted) {
        self.state
            .scripted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(fault);
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
    let header = |name: &str| {
        head.lines()
            .find(|l| {
                l.to_ascii_lowercase()
                    .starts_with(&format!("{}:", name.to_ascii_lowercase()))
            })
            .and_then(|l| l.split_once(':').map(|(_, v)| v.trim().to_owned()))
    };
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
        // REST-JSON services version their paths by date: /2015-03-31/...
        let path = sig.split(' ').nth(1).unwrap_or("");
        let b = path.as_bytes();
        let lambda = b.len() > 12
            && b[0] == b'/'
            && b[5] == b'-'
            && b[8] == b'-'
            && b[11] == b'/'
            && b[1..5].iter().all(u8::is_ascii_digit);
        (
            sig,
            if lambda {
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
            let latency = state.latency_ms.load(Ordering::SeqCst);
            if latency > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
            }
            // One request per upstream connection, closed by the upstream
            // after its answer, so the answer can be relayed as is.
            let head: String = req
                .head
                .lines()
                .filter(|l| !l.to_ascii_lowercase().starts_with("connection:") && !l.is_empty())
                .map(|l| format!("{l}\r\n"))
                .collect();
            let mut up = TcpStream::connect(upstream).await?;
            up.write_all(head.as_bytes()).await?;
            up.write_all(b"Connection: close\r\n\r\n").await?;
            up.write_all(&req.body).await?;
            let mut answer = Vec::new();
            up.read_to_end(&mut answer).await?;
            conn.write_all(&answer).await?;
            conn.shutdown().await?;
        }
    }
    Ok(())
}

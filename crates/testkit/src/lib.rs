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

mod answers;
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
mod proxy;
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

// The rules answer with these as `crate::with_body` and `crate::with_new_body`.
use answers::{with_body, with_new_body};
use proxy::serve;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;

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
    /// write to it is with the emulator ([`proxy::conditional`]).
    conditional_writes: Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Accounts answered by an emulator process of their own
    /// ([`FaultProxy::serve_account`]): account -> that process.
    shards: Mutex<std::collections::HashMap<String, SocketAddr>>,
    /// The account of each role session's access key, read off the STS
    /// `AssumeRole` answers the proxy relayed (only while there are shards).
    session_accounts: Mutex<std::collections::HashMap<String, String>>,
}

/// A running proxy. Dropping it does not stop it; it lives as long as the
/// runtime that started it.
#[derive(Clone)]
pub struct FaultProxy {
    pub addr: SocketAddr,
    state: Arc<State>,
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

//! Group commit for a shared ledger: changes are written by one thread,
//! always the latest state, so the changes made while a write is in flight
//! share the next one instead of each waiting for its own round trip (a
//! ledger on S3 takes tens of milliseconds a write, and a run makes a
//! hundred changes). A caller that must not go on before its change is
//! stored (an intent before the create it announces) waits for
//! [`Durable`]; the rest (a resource ready, a deletion done) are stored
//! with the next write or the final flush, and a crash that loses them
//! leaves the intent, from which the next run recovers. Every write is
//! still conditional on the version the previous one left.

use std::sync::{Arc, Condvar, Mutex};

use tokio::sync::watch;

use crate::ledger_store::{RemoteStore, StoreError};
use crate::naming::EnvName;

/// Why the writer stopped: every later change fails with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommitError {
    /// The stored ledger changed under this run (412).
    Conflict,
    Other(String),
}

/// What the writer has stored so far.
#[derive(Clone, Debug, Default)]
struct Stored {
    /// The last change stored (its sequence number).
    seq: u64,
    failed: Option<CommitError>,
}

#[derive(Default)]
struct Pending {
    /// The newest state not yet written: (sequence number, text).
    next: Option<(u64, String)>,
    /// The version the last write left (`None`: no ledger stored yet).
    version: Option<String>,
    stored: Stored,
    writing: bool,
    closing: bool,
}

/// The writer of one environment's shared ledger.
pub struct GroupCommit {
    pending: Mutex<Pending>,
    wake: Condvar,
    stored: watch::Sender<Stored>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GroupCommit")
    }
}

impl GroupCommit {
    /// Starts the writer of `env`'s ledger in `store`, whose stored
    /// version is `version` (`None`: none yet), noting `note` on each write.
    pub fn start(
        store: Arc<dyn RemoteStore>,
        env: EnvName,
        version: Option<String>,
        note: String,
    ) -> Arc<Self> {
        let (stored, _) = watch::channel(Stored::default());
        let this = Arc::new(Self {
            pending: Mutex::new(Pending {
                version,
                ..Pending::default()
            }),
            wake: Condvar::new(),
            stored,
            thread: Mutex::new(None),
        });
        let writer = this.clone();
        let handle = std::thread::Builder::new()
            .name(format!("ledger-{env}"))
            .spawn(move || writer.run(store.as_ref(), &env, &note))
            .expect("start the ledger's writer");
        *this.thread.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        this
    }

    fn run(&self, store: &dyn RemoteStore, env: &EnvName, note: &str) {
        loop {
            let (seq, text, expected) = {
                let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                while p.next.is_none() && !p.closing {
                    p = self.wake.wait(p).unwrap_or_else(|p| p.into_inner());
                }
                let Some((seq, text)) = p.next.take() else {
                    return;
                };
                p.writing = true;
                (seq, text, p.version.clone())
            };
            let result = store.write(env, &text, expected.as_deref(), note);
            let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            p.writing = false;
            match result {
                Ok(version) => {
                    p.version = Some(version);
                    p.stored.seq = seq;
                }
                Err(StoreError::Conflict) => p.stored.failed = Some(CommitError::Conflict),
                Err(StoreError::Other(e)) => p.stored.failed = Some(CommitError::Other(e)),
            }
            let stored = p.stored.clone();
            let stop = stored.failed.is_some();
            if stop {
                p.next = None;
            }
            drop(p);
            self.stored.send_replace(stored);
            self.wake.notify_all();
            if stop {
                return;
            }
        }
    }

    /// Hands the writer the state numbered `seq` (it replaces any state
    /// not yet written). Fails once the writer has failed.
    pub fn submit(&self, seq: u64, text: String) -> Result<(), CommitError> {
        let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = &p.stored.failed {
            return Err(e.clone());
        }
        p.next = Some((seq, text));
        drop(p);
        self.wake.notify_all();
        Ok(())
    }

    /// A wait for the state numbered `seq` (or a later one) to be stored.
    pub fn durable(&self, seq: u64) -> Durable {
        Durable {
            stored: Some(self.stored.subscribe()),
            seq,
        }
    }

    /// The version of the last write (for a migration's removal).
    pub fn version(&self) -> Option<String> {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .version
            .clone()
    }

    /// Blocks until everything submitted is stored (or the writer failed).
    pub fn flush(&self) -> Result<(), CommitError> {
        let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        while (p.next.is_some() || p.writing) && p.stored.failed.is_none() {
            p = self.wake.wait(p).unwrap_or_else(|p| p.into_inner());
        }
        match &p.stored.failed {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Flushes, then stops the writer.
    pub fn close(&self) -> Result<(), CommitError> {
        let flushed = self.flush();
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .closing = true;
        self.wake.notify_all();
        if let Some(handle) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = handle.join();
        }
        flushed
    }
}

/// A change's durability: `wait` returns once it is stored.
#[must_use = "a change that must be stored first is waited for"]
pub struct Durable {
    /// `None`: already stored (a local ledger writes before returning).
    stored: Option<watch::Receiver<Stored>>,
    seq: u64,
}

impl Durable {
    /// Already stored.
    pub fn now() -> Self {
        Self {
            stored: None,
            seq: 0,
        }
    }

    pub async fn wait(self) -> Result<(), CommitError> {
        let Some(mut rx) = self.stored else {
            return Ok(());
        };
        let seq = self.seq;
        let stored = rx
            .wait_for(|s| s.seq >= seq || s.failed.is_some())
            .await
            .map_err(|_| CommitError::Other("the ledger's writer stopped".into()))?
            .clone();
        match stored.failed {
            Some(e) if stored.seq < seq => Err(e),
            _ => Ok(()),
        }
    }
}

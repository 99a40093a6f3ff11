//! A ledger kept in a shared store: what this run holds of it (the version
//! read, its lock, its writer), the store's refusals named for it, and the
//! durability of the changes its writer stores in groups.

use std::sync::Arc;

use super::{Ledger, LedgerError};
use crate::ledger_commit::{CommitError, Durable, GroupCommit};
use crate::ledger_store::{RemoteStore, StoreError};
use crate::naming::EnvName;

/// A ledger kept in a shared store.
#[derive(Debug)]
pub(super) struct Remote {
    pub(super) store: std::sync::Arc<dyn RemoteStore>,
    pub(super) env: EnvName,
    /// The stored version this run read or last wrote.
    pub(super) version: Option<String>,
    /// The version of the lock object this run holds.
    pub(super) lock: Option<String>,
    /// Noted on every write: who, where, which command.
    pub(super) writer: String,
    /// The writer of a ledger opened for writing.
    pub(super) commit: Option<Arc<GroupCommit>>,
    /// The number of the last change handed to the writer.
    pub(super) seq: u64,
}

impl Remote {
    /// A store's refusal, named for this ledger.
    pub(super) fn store_error(&self, e: StoreError) -> LedgerError {
        self.error(match e {
            StoreError::Conflict => CommitError::Conflict,
            StoreError::Other(detail) => CommitError::Other(detail),
        })
    }

    pub(super) fn error(&self, e: CommitError) -> LedgerError {
        match e {
            CommitError::Conflict => LedgerError::Conflict {
                env: self.env.to_string(),
                url: self.store.url(&self.env),
            },
            CommitError::Other(detail) => LedgerError::Remote {
                url: self.store.url(&self.env),
                detail,
            },
        }
    }
}

/// A change's durability (see [`Ledger::durable`]).
#[must_use = "a change that must be stored first is waited for"]
pub struct DurableChange {
    durable: Durable,
    /// How a failure is named: (environment, URL).
    names: Option<(String, String)>,
}

impl DurableChange {
    /// Returns once the change is stored; fails if the store refused it.
    pub async fn wait(self) -> Result<(), LedgerError> {
        self.durable.wait().await.map_err(|e| {
            let (env, url) = self.names.unwrap_or_default();
            match e {
                CommitError::Conflict => LedgerError::Conflict { env, url },
                CommitError::Other(detail) => LedgerError::Remote { url, detail },
            }
        })
    }
}

impl Ledger {
    /// The durability of every change made so far: a local ledger's is
    /// stored already; a shared one's when its writer has stored it. Wait
    /// for it before a call the change announces (an intent before its
    /// create), after letting go of the ledger, so that the changes other
    /// tasks make meanwhile share the write.
    pub fn durable(&self) -> DurableChange {
        match &self.remote {
            Some(Remote {
                commit: Some(c),
                seq,
                store,
                env,
                ..
            }) => DurableChange {
                durable: c.durable(*seq),
                names: Some((env.to_string(), store.url(env))),
            },
            _ => DurableChange {
                durable: Durable::now(),
                names: None,
            },
        }
    }

    /// Blocks until every change is stored (a local ledger's already is).
    pub fn flush(&self) -> Result<(), LedgerError> {
        match &self.remote {
            Some(r) => match &r.commit {
                Some(c) => c.flush().map_err(|e| r.error(e)),
                None => Ok(()),
            },
            None => Ok(()),
        }
    }
}

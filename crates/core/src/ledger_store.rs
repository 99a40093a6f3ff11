//! Where ledgers live: a directory on this machine (one file per
//! environment, locked with the OS's file lock), or a remote store shared
//! by a team (S3: one object per environment, written only on condition,
//! and a lock object per environment). The remote store's implementation
//! lives with the AWS clients (`paysec_aws::ledger_s3`); this module is the
//! contract the ledger keeps with it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::naming::EnvName;

/// Where an environment's ledger is kept.
#[derive(Clone, Debug)]
pub enum Location {
    Dir(PathBuf),
    Remote(Arc<dyn RemoteStore>),
}

impl From<&Path> for Location {
    fn from(dir: &Path) -> Self {
        Self::Dir(dir.to_owned())
    }
}

impl From<&PathBuf> for Location {
    fn from(dir: &PathBuf) -> Self {
        Self::Dir(dir.clone())
    }
}

impl From<&Location> for Location {
    fn from(at: &Location) -> Self {
        at.clone()
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dir(d) => write!(f, "{}", d.display()),
            Self::Remote(r) => f.write_str(&r.base_url()),
        }
    }
}

/// A ledger's text as stored, with the version a conditional write must
/// name (S3: the object's ETag).
#[derive(Clone, Debug)]
pub struct Stored {
    pub text: String,
    pub version: String,
}

/// A lock as stored: who holds it, and the version a removal must name.
#[derive(Clone, Debug)]
pub struct StoredLock {
    pub holder: Holder,
    pub version: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The condition of a write failed: the object changed (or appeared)
    /// since it was read.
    #[error("changed by another writer since this run read it")]
    Conflict,
    #[error("{0}")]
    Other(String),
}

/// A store of ledgers elsewhere than this machine. Every write is
/// conditional: on the version read (an update), or on there being none
/// (a new ledger, a lock). Calls block; the store runs its own I/O.
pub trait RemoteStore: Send + Sync + fmt::Debug {
    /// `s3://BUCKET/PREFIX`, as the user wrote it.
    fn base_url(&self) -> String;
    /// Where `env`'s ledger is (`s3://BUCKET/PREFIX/ENV.json`).
    fn url(&self, env: &EnvName) -> String;
    /// The identity writing (the caller's ARN), for locks and history.
    fn who(&self) -> String;
    /// `env`'s ledger, or `None` when there is none.
    fn read(&self, env: &EnvName) -> Result<Option<Stored>, StoreError>;
    /// Writes `env`'s ledger if it is still at `expected` (`None`: if
    /// there is none), noting `writer`; returns the new version.
    fn write(
        &self,
        env: &EnvName,
        text: &str,
        expected: Option<&str>,
        writer: &str,
    ) -> Result<String, StoreError>;
    /// Removes `env`'s ledger if it is still at `expected` (a migration
    /// away; a versioned bucket keeps its history).
    fn remove(&self, env: &EnvName, expected: &str) -> Result<(), StoreError>;
    /// Creates `env`'s lock holding `holder` if there is none: `Ok(version)`;
    /// `Err(StoreError::Conflict)` when one exists.
    fn lock(&self, env: &EnvName, holder: &Holder) -> Result<String, StoreError>;
    /// `env`'s lock, if any.
    fn current_lock(&self, env: &EnvName) -> Result<Option<StoredLock>, StoreError>;
    /// Removes `env`'s lock if it is still at `version` (never one taken
    /// since by another run).
    fn unlock(&self, env: &EnvName, version: &str) -> Result<(), StoreError>;
    /// The ledger's stored versions, newest first: (version id, when,
    /// writer, latest).
    fn history(&self, env: &EnvName) -> Result<Vec<Revision>, StoreError>;
}

/// One stored version of a ledger.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Revision {
    pub version_id: String,
    pub written_at: String,
    /// Who wrote it, as the writing run noted (`-` when not noted).
    pub writer: String,
    pub size: i64,
    pub latest: bool,
}

/// Who holds an environment's lock, as written into the lock file (or
/// the lock object of a shared ledger, which adds its id and the
/// caller's identity).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    pub command: String,
    pub since: String,
    /// The lock's id, which `paysec force-unlock` names (shared ledgers).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The caller's ARN (shared ledgers).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub who: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.who.is_empty() {
            write!(f, "{}, ", self.who)?;
        }
        write!(
            f,
            "pid {} on {} (`paysec {}`, since {})",
            self.pid, self.host, self.command, self.since
        )
    }
}

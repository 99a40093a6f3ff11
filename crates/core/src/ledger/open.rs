//! Opening an environment's ledger: for a run that changes things (locked
//! first) or only reads, from a local directory or a shared store, empty
//! when there is none yet.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::files::{check_directory, io_err, io_err_at, now};
use super::schema::LedgerFile;
use super::shared::Remote;
use super::{Holder, Ledger, LedgerError, SCHEMA};
use crate::ledger_commit::GroupCommit;
use crate::ledger_store::{Location, StoreError};
use crate::naming::EnvName;
use crate::releases::Releases;

impl Ledger {
    pub fn path_for(dir: &Path, env: &EnvName) -> PathBuf {
        dir.join(format!("{env}.json"))
    }

    /// Opens the ledger for a run that changes things: takes the lock, then
    /// loads the ledger (or starts an empty one, written on first change).
    pub fn open_for_write(
        at: impl Into<Location>,
        env: &EnvName,
        command: &str,
    ) -> Result<Self, LedgerError> {
        match at.into() {
            Location::Dir(dir) => {
                check_directory(&dir)?;
                let lock = Self::lock(&dir, env, command)?;
                let mut ledger = Self::load(&dir, env)?;
                ledger._lock = Some(lock);
                Ok(ledger)
            }
            Location::Remote(store) => {
                let mut holder = Holder::this_process(command);
                holder.who = store.who();
                holder.id =
                    crate::id::random_token().map_err(io_err(Path::new(&store.url(env))))?;
                let url = store.url(env);
                let remote_err = |e: StoreError| LedgerError::Remote {
                    url: url.clone(),
                    detail: e.to_string(),
                };
                let lock = match store.lock(env, &holder) {
                    Ok(version) => version,
                    Err(StoreError::Conflict) => {
                        return Err(match store.current_lock(env).map_err(remote_err)? {
                            Some(held) => LedgerError::RemoteLocked {
                                env: env.to_string(),
                                url: url.clone(),
                                base: store.base_url(),
                                id: held.holder.id.clone(),
                                age: held.holder.age(),
                                holder: held.holder,
                            },
                            // Released between the two calls: a retry
                            // takes it.
                            None => LedgerError::Remote {
                                url,
                                detail: "its lock was released while this run tried to take it; run again".into(),
                            },
                        });
                    }
                    Err(e) => return Err(remote_err(e)),
                };
                let writer = format!(
                    "{} on {} pid {} (paysec {command})",
                    holder.who, holder.host, holder.pid
                );
                // The lock is ours from here: released on drop, even if
                // the load fails.
                let mut ledger = Self::empty(PathBuf::from(&url), env);
                ledger.remote = Some(Remote {
                    store: store.clone(),
                    env: env.clone(),
                    version: None,
                    lock: Some(lock),
                    writer: writer.clone(),
                    commit: None,
                    seq: 0,
                });
                ledger.load_remote()?;
                if let Some(r) = &mut ledger.remote {
                    r.commit = Some(GroupCommit::start(
                        store.clone(),
                        env.clone(),
                        r.version.clone(),
                        writer,
                    ));
                }
                Ok(ledger)
            }
        }
    }

    /// Loads without locking, for commands that only read (`status`, `plan`).
    pub fn open_read_only(at: impl Into<Location>, env: &EnvName) -> Result<Self, LedgerError> {
        match at.into() {
            Location::Dir(dir) => Self::load(&dir, env),
            Location::Remote(store) => {
                let mut ledger = Self::empty(PathBuf::from(store.url(env)), env);
                ledger.remote = Some(Remote {
                    store: store.clone(),
                    env: env.clone(),
                    version: None,
                    lock: None,
                    writer: String::new(),
                    commit: None,
                    seq: 0,
                });
                ledger.load_remote()?;
                Ok(ledger)
            }
        }
    }

    /// An environment's ledger before anything is recorded.
    fn empty(path: PathBuf, env: &EnvName) -> Self {
        Self {
            data: LedgerFile {
                schema: SCHEMA,
                environment: env.to_string(),
                account: None,
                region: None,
                paysec_version: env!("CARGO_PKG_VERSION").to_owned(),
                updated_at: now(),
                resources: BTreeMap::new(),
                kept: Vec::new(),
                unswept: BTreeSet::new(),
                releases: Releases::default(),
            },
            path,
            exists_on_disk: false,
            _lock: None,
            remote: None,
        }
    }

    /// Reads the shared ledger into this one (empty when there is none).
    fn load_remote(&mut self) -> Result<(), LedgerError> {
        let Some(r) = &mut self.remote else {
            return Ok(());
        };
        let stored = r.store.read(&r.env).map_err(|e| LedgerError::Remote {
            url: r.store.url(&r.env),
            detail: e.to_string(),
        })?;
        if let Some(stored) = stored {
            r.version = Some(stored.version);
            self.data = Self::parse(&self.path, &r.env, &stored.text)?;
            self.exists_on_disk = true;
        }
        Ok(())
    }

    fn load(dir: &Path, env: &EnvName) -> Result<Self, LedgerError> {
        let path = Self::path_for(dir, env);
        let read = || -> std::io::Result<String> {
            let mut text = String::new();
            OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)?
                .read_to_string(&mut text)?;
            Ok(text)
        };
        let text = match read() {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::empty(path, env));
            }
            Err(source) => return Err(io_err_at(&path)(source)),
        };
        let data = Self::parse(&path, env, &text)?;
        Ok(Self {
            path,
            data,
            exists_on_disk: true,
            _lock: None,
            remote: None,
        })
    }
}

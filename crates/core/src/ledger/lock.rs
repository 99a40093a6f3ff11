//! Locking an environment against a second concurrent run: the local lock
//! file and who holds it ([`Holder`]), and letting go of the ledger on drop
//! (a shared ledger's last changes stored, its lock object removed).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::files::{hostname, io_err, io_err_at, now};
use super::{Holder, Ledger, LedgerError};
use crate::naming::EnvName;

impl Holder {
    /// This process, running `command`.
    pub(super) fn this_process(command: &str) -> Self {
        Self {
            pid: std::process::id(),
            host: hostname(),
            command: command.to_owned(),
            since: now(),
            id: String::new(),
            who: String::new(),
        }
    }

    /// How long ago the lock was taken, in words ("3 min"), when its
    /// time reads.
    pub fn age(&self) -> String {
        let Ok(since) = time::OffsetDateTime::parse(
            &self.since,
            &time::format_description::well_known::Rfc3339,
        ) else {
            return "an unknown time".into();
        };
        let secs = (time::OffsetDateTime::now_utc() - since)
            .whole_seconds()
            .max(0);
        match secs {
            s if s < 120 => format!("{s} s"),
            s if s < 7200 => format!("{} min", s / 60),
            s if s < 172_800 => format!("{} h", s / 3600),
            s => format!("{} days", s / 86_400),
        }
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        if let Some(r) = &mut self.remote {
            if let Some(commit) = r.commit.take() {
                if let Err(e) = commit.close() {
                    tracing::warn!(
                        "the last changes of {} were not stored: {}",
                        r.store.url(&r.env),
                        r.error(e)
                    );
                }
            }
            if let Some(version) = r.lock.take() {
                if let Err(e) = r.store.unlock(&r.env, &version) {
                    tracing::warn!(
                        "could not remove the lock of {} ({e}); `paysec force-unlock` removes it",
                        r.store.url(&r.env)
                    );
                }
            }
        }
    }
}

impl Ledger {
    fn lock_path(dir: &Path, env: &EnvName) -> PathBuf {
        dir.join(format!("{env}.lock"))
    }

    pub(super) fn lock(dir: &Path, env: &EnvName, command: &str) -> Result<File, LedgerError> {
        let path = Self::lock_path(dir, env);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(io_err_at(&path))?;
        match file.try_lock() {
            Ok(()) => {
                let holder = Holder::this_process(command);
                let text = serde_json::to_string(&holder).unwrap_or_default();
                file.set_len(0).map_err(io_err(&path))?;
                file.rewind().map_err(io_err(&path))?;
                file.write_all(text.as_bytes()).map_err(io_err(&path))?;
                file.sync_all().map_err(io_err(&path))?;
                Ok(file)
            }
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let holder = serde_json::from_str(&text).unwrap_or_default();
                Err(LedgerError::Locked {
                    env: env.to_string(),
                    holder,
                    path,
                })
            }
            Err(TryLockError::Error(source)) => Err(LedgerError::Io { path, source }),
        }
    }
}

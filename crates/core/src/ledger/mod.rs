//! The ledger: a JSON document per environment recording what paysec
//! created, in a local directory or a shared store (S3,
//! [`crate::ledger_store`]). Written after every state change: a local
//! file atomically (temp file, fsync, rename, fsync of the directory), so
//! a crash at any moment leaves either the old or the new file, never a
//! torn one; an S3 object whole, on condition that it is still the version
//! this run read. Locked against a second concurrent run (a file lock, or
//! a lock object created only if there is none). Holds no secret. A
//! document it cannot understand is an error, never overwritten.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

mod files;
mod lock;
mod open;
mod records;
mod schema;
mod shared;
mod writes;

pub use files::write_private;
use files::{io_err, now, replace_privately};
pub use records::{Kept, Record, Status, SCHEMA};
use schema::LedgerFile;
pub use shared::DurableChange;
use shared::Remote;

use crate::id::LogicalId;
pub use crate::ledger_store::Holder;
use crate::releases::Releases;
use crate::state::Present;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("cannot access the ledger at {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the ledger {path} is not valid JSON ({detail}); paysec will not overwrite it. Restore it from a backup, or move it aside and run `paysec up --adopt` to adopt the existing resources by their tags (review `paysec plan` first)")]
    Corrupt { path: PathBuf, detail: String },
    #[error("{path} is not a paysec ledger (no `schema` field); paysec will not overwrite it. Point --ledger-dir elsewhere or move the file aside")]
    NotALedger { path: PathBuf },
    #[error("the ledger {path} has schema {found}, written by a newer paysec (this one reads schema {supported}); upgrade paysec")]
    FutureSchema {
        path: PathBuf,
        found: u64,
        supported: u32,
    },
    #[error("{path} {why}")]
    Unsafe { path: PathBuf, why: String },
    #[error("the ledger {path} names {what} {found}, but environment {env}'s is {expected}; not acting on it. Check the ledger: was it edited?")]
    ForeignName {
        path: PathBuf,
        env: String,
        what: &'static str,
        found: String,
        expected: String,
    },
    #[error("the ledger {path} belongs to environment {found:?}, not {expected:?}; was it renamed by hand?")]
    WrongEnvironment {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("the ledger {path} records environment {env} in account {ledger_account} region {ledger_region}, but the current credentials are for account {account} region {region}; select the right profile/region, or use another --env")]
    AccountMismatch {
        path: PathBuf,
        env: String,
        ledger_account: String,
        ledger_region: String,
        account: String,
        region: String,
    },
    #[error("environment {env} is locked by {holder}; wait for that run to finish. The lock is released when that process exits; if it is gone and the lock remains (a network filesystem), delete {path}")]
    Locked {
        env: String,
        holder: Holder,
        path: PathBuf,
    },
    #[error("environment {env} is locked in {url} by {holder}, lock {id} taken {age} ago; wait for that run to finish. If it is gone (killed, its machine lost), remove the lock: paysec force-unlock --env {env} --ledger {base} {id}")]
    RemoteLocked {
        env: String,
        url: String,
        base: String,
        id: String,
        age: String,
        holder: Holder,
    },
    #[error("the ledger {url} was changed by another writer since this run read it (its conditional write was refused); this run stopped without overwriting it. Someone removed this run's lock (force-unlock) or wrote the ledger by hand: see `paysec ledger history --env {env}`, then run again")]
    Conflict { env: String, url: String },
    #[error("cannot use the ledger {url}: {detail}")]
    Remote { url: String, detail: String },
}

/// An environment's ledger, loaded in memory. Opened for writing, it holds
/// the environment's lock until dropped.
#[derive(Debug)]
pub struct Ledger {
    /// The file, or the shared ledger's URL (what messages name).
    path: PathBuf,
    data: LedgerFile,
    exists_on_disk: bool,
    _lock: Option<File>,
    remote: Option<Remote>,
}

impl Ledger {
    /// The shared store, when the ledger is kept in one.
    pub fn is_shared(&self) -> bool {
        self.remote.is_some()
    }

    /// Takes over `from`'s records (a migration): this ledger must record
    /// nothing yet. Written at once.
    pub fn take_contents_of(&mut self, from: &Ledger) -> Result<(), LedgerError> {
        if self.exists_on_disk && !self.records_nothing() {
            return Err(LedgerError::Remote {
                url: self.path.display().to_string(),
                detail: "it already records resources; not overwriting it (migrate to another place, or remove it after checking it)".into(),
            });
        }
        self.data = from.data.clone();
        self.save()?;
        self.flush()
    }

    /// Retires this ledger after a migration moved its records: a file is
    /// renamed aside (`ENV.json.migrated-TIME`), an object removed (a
    /// versioned bucket keeps it as a noncurrent version). Returns where it
    /// went.
    pub fn retire(mut self) -> Result<String, LedgerError> {
        self.flush()?;
        if let Some(r) = &self.remote {
            let version = r
                .commit
                .as_ref()
                .and_then(|c| c.version())
                .or_else(|| r.version.clone());
            if let Some(version) = &version {
                r.store
                    .remove(&r.env, version)
                    .map_err(|e| r.store_error(e))?;
            }
            return Ok(format!(
                "{} removed (its versions stay in the bucket's history)",
                self.path.display()
            ));
        }
        if !self.exists_on_disk {
            return Ok(format!("{} did not exist", self.path.display()));
        }
        let stamp = now().replace(':', "");
        let aside = PathBuf::from(format!("{}.migrated-{stamp}", self.path.display()));
        fs::rename(&self.path, &aside).map_err(io_err(&self.path))?;
        self.exists_on_disk = false;
        Ok(format!(
            "{} renamed {}",
            self.path.display(),
            aside.display()
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn exists_on_disk(&self) -> bool {
        self.exists_on_disk
    }

    pub fn account(&self) -> Option<&str> {
        self.data.account.as_deref()
    }

    pub fn region(&self) -> Option<&str> {
        self.data.region.as_deref()
    }

    pub fn updated_at(&self) -> &str {
        &self.data.updated_at
    }

    pub fn record(&self, id: &LogicalId) -> Option<&Record> {
        self.data.resources.get(id)
    }

    pub fn records(&self) -> &BTreeMap<LogicalId, Record> {
        &self.data.resources
    }

    pub fn kept(&self) -> &[Kept] {
        &self.data.kept
    }

    /// Neither a resource nor anything kept: the ledger of an environment
    /// never made, or lost (`down` then looks for the stack by tag).
    pub fn records_nothing(&self) -> bool {
        self.is_empty() && self.data.kept.is_empty()
    }

    pub fn is_empty(&self) -> bool {
        self.data.resources.is_empty()
    }

    /// Writes the whole ledger: a file atomically with mode 0600; a shared
    /// one on condition that it is still the version this run read.
    pub fn save(&mut self) -> Result<(), LedgerError> {
        self.data.updated_at = now();
        // An older file is upgraded as it is rewritten (fields only added).
        self.data.schema = SCHEMA;
        if let Some(r) = &mut self.remote {
            let mut text =
                serde_json::to_string_pretty(&self.data).map_err(|e| LedgerError::Remote {
                    url: r.store.url(&r.env),
                    detail: e.to_string(),
                })?;
            text.push('\n');
            if let Some(commit) = &r.commit {
                r.seq += 1;
                commit.submit(r.seq, text).map_err(|e| r.error(e))?;
                self.exists_on_disk = true;
                return Ok(());
            }
            let version = r
                .store
                .write(&r.env, &text, r.version.as_deref(), &r.writer)
                .map_err(|e| r.store_error(e))?;
            r.version = Some(version);
            self.exists_on_disk = true;
            return Ok(());
        }
        let mut text = serde_json::to_string_pretty(&self.data).map_err(|e| LedgerError::Io {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        text.push('\n');
        // A fresh random name, created exclusively and never through a
        // link: nothing planted beside the ledger can receive its writes.
        replace_privately(&self.path, &text).map_err(io_err(&self.path))?;
        self.exists_on_disk = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::naming::EnvName;
    use crate::state::Attr;

    #[test]
    fn a_report_over_a_file_planted_beforehand_is_the_user_s_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("evidence.md");
        fs::write(&path, "planted").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).unwrap();
        write_private(&path, "the report").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "the report");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file left");
        let link = dir.path().join("link.md");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let refused = write_private(&link, "x").unwrap_err();
        assert!(refused.contains("symbolic link"), "{refused}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "the report");
    }

    fn env() -> EnvName {
        EnvName::parse("t-1").unwrap()
    }

    fn id(s: &str) -> LogicalId {
        LogicalId::new(s)
    }

    #[test]
    fn records_survive_a_reload_and_the_file_is_0600() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut l = Ledger::open_for_write(dir.path(), &env(), "up").unwrap();
            assert!(!l.exists_on_disk());
            l.set_creating(&id("kms.rds"), "kms_key").unwrap();
            l.set_present(
                &id("kms.rds"),
                "kms_key",
                &Present::new("k-1").with(Attr::Arn, "arn:k-1"),
                Status::Ready,
                Some("f-1"),
            )
            .unwrap();
        }
        let l = Ledger::open_read_only(dir.path(), &env()).unwrap();
        let r = l.record(&id("kms.rds")).unwrap();
        assert_eq!(r.status, Status::Ready);
        assert_eq!(r.physical_id.as_deref(), Some("k-1"));
        assert_eq!(r.attrs["arn"], "arn:k-1");
        assert_eq!(r.converged.as_deref(), Some("f-1"));
        let mode = fs::metadata(l.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let lock_mode = fs::metadata(dir.path().join("t-1.lock"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(lock_mode, 0o600);
    }

    #[test]
    fn a_create_token_is_new_per_create_and_repeated_by_a_resumed_one() {
        let dir = tempfile::tempdir().unwrap();
        let first = {
            let mut l = Ledger::open_for_write(dir.path(), &env(), "up").unwrap();
            l.set_creating(&id("network.endpoint-s3"), "vpc_endpoint")
                .unwrap()
        };
        assert_eq!(first.len(), 32);
        // The run died in flight: the next run resumes with the same token.
        let mut l = Ledger::open_for_write(dir.path(), &env(), "up").unwrap();
        let resumed = l
            .set_creating(&id("network.endpoint-s3"), "vpc_endpoint")
            .unwrap();
        assert_eq!(resumed, first);
        l.set_present(
            &id("network.endpoint-s3"),
            "vpc_endpoint",
            &Present::new("vpce-1"),
            Status::Ready,
            None,
        )
        .unwrap();
        // Kept once created: the proof of what this ledger made.
        assert_eq!(
            l.record(&id("network.endpoint-s3")).unwrap().create_token,
            Some(first.clone())
        );
        // Gone and created again (after `down`, or deleted out of band): a new token.
        let again = l
            .set_creating(&id("network.endpoint-s3"), "vpc_endpoint")
            .unwrap();
        assert_ne!(again, first);
    }

    #[test]
    fn intent_is_on_disk_before_the_create_returns() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::open_for_write(dir.path(), &env(), "up").unwrap();
        l.set_creating(&id("kms.s3"), "kms_key").unwrap();
        let on_disk = Ledger::open_read_only(dir.path(), &env()).unwrap();
        let r = on_disk.record(&id("kms.s3")).unwrap();
        assert_eq!(r.status, Status::Creating);
        assert_eq!(r.physical_id, None);
    }

    #[test]
    fn a_second_writer_is_refused_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Ledger::open_for_write(dir.path(), &env(), "up").unwrap();
        let err = Ledger::open_for_write(dir.path(), &env(), "down").unwrap_err();
        match &err {
            LedgerError::Locked { holder, .. } => {
                assert_eq!(holder.pid, std::process::id());
                assert_eq!(holder.command, "up");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains("locked by pid"));
        // Readers are not blocked.
        assert!(Ledger::open_read_only(dir.path(), &env()).is_ok());
    }

    #[test]
    fn the_lock_is_released_when_the_holder_goes() {
        let dir = tempfile::tempdir().unwrap();
        drop(Ledger::open_for_write(dir.path(), &env(), "up").unwrap());
        assert!(Ledger::open_for_write(dir.path(), &env(), "up").is_ok());
    }

    #[test]
    fn a_corrupt_file_is_an_error_and_is_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = Ledger::path_for(dir.path(), &env());
        fs::write(&path, "{ not json").unwrap();
        let err = Ledger::open_for_write(dir.path(), &env(), "up").unwrap_err();
        assert!(matches!(err, LedgerError::Corrupt { .. }), "{err:?}");
        assert!(err.to_string().contains("will not overwrite"));
        assert_eq!(fs::read_to_string(&path).unwrap(), "{ not json");
    }

    #[test]
    fn unknown_and_future_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = Ledger::path_for(dir.path(), &env());
        fs::write(&path, r#"{"hello": 1}"#).unwrap();
        assert!(matches!(
            Ledger::open_read_only(dir.path(), &env()),
            Err(LedgerError::NotALedger { .. })
        ));
        fs::write(&path, r#"{"schema": 99}"#).unwrap();
        assert!(matches!(
            Ledger::open_read_only(dir.path(), &env()),
            Err(LedgerError::FutureSchema { found: 99, .. })
        ));
        fs::write(
            &path,
            r#"{"schema":1,"environment":"t-1","paysec_version":"0","updated_at":"x","resources":{},"surprise":true}"#,
        )
        .unwrap();
        assert!(matches!(
            Ledger::open_read_only(dir.path(), &env()),
            Err(LedgerError::Corrupt { .. })
        ));
    }

    #[test]
    fn a_schema_1_ledger_is_read_and_rewritten_as_the_current_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = Ledger::path_for(dir.path(), &env());
        fs::write(
            &path,
            r#"{"schema":1,"environment":"t-1","paysec_version":"0","updated_at":"x","resources":{"kms.rds":{"kind":"kms_key","status":"ready","physical_id":"k","updated_at":"x"}}}"#,
        )
        .unwrap();
        let mut l = Ledger::open_for_write(dir.path(), &env(), "up").unwrap();
        assert_eq!(l.record(&id("kms.rds")).unwrap().converged, None);
        l.set_present(
            &id("kms.rds"),
            "kms_key",
            &Present::new("k"),
            Status::Ready,
            Some("f"),
        )
        .unwrap();
        let saved: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(saved["schema"], SCHEMA);
        assert_eq!(saved["resources"]["kms.rds"]["converged"], "f");
    }

    #[test]
    fn a_ledger_from_another_account_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::open_for_write(dir.path(), &env(), "up").unwrap();
        l.bind_account("111111111111", "us-east-1").unwrap();
        l.set_present(&id("a"), "k", &Present::new("p"), Status::Ready, None)
            .unwrap();
        let err = l.bind_account("222222222222", "us-east-1").unwrap_err();
        assert!(matches!(err, LedgerError::AccountMismatch { .. }));
        let err = l.bind_account("111111111111", "eu-west-1").unwrap_err();
        assert!(err.to_string().contains("eu-west-1"));
    }

    #[test]
    fn remove_keeps_a_note_for_what_was_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::open_for_write(dir.path(), &env(), "down").unwrap();
        l.set_present(
            &id("kms.rds"),
            "kms_key",
            &Present::new("k"),
            Status::Ready,
            None,
        )
        .unwrap();
        l.remove(&id("kms.rds"), Some("pending deletion until X"), None)
            .unwrap();
        assert!(l.is_empty());
        assert_eq!(l.kept()[0].note, "pending deletion until X");
    }

    #[test]
    fn a_key_learns_what_kept_data_it_encrypts_by_its_own_arn() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::open_for_write(dir.path(), &env(), "down").unwrap();
        for (logical, key) in [("kms.logs", "k1"), ("kms.rds", "k2")] {
            l.set_present(
                &id(logical),
                "kms_key",
                &Present::new(key).with(Attr::Arn, format!("arn:aws:kms:r:a:key/{key}")),
                Status::Ready,
                None,
            )
            .unwrap();
        }
        l.set_present(
            &id("logs.shared"),
            "log_group",
            &Present::new("g"),
            Status::Ready,
            None,
        )
        .unwrap();
        l.remove(
            &id("logs.shared"),
            Some("log group g kept"),
            Some("arn:aws:kms:r:a:key/k1"),
        )
        .unwrap();
        assert_eq!(l.kept_encrypted_with(&id("kms.logs")), ["log group g kept"]);
        assert!(
            l.kept_encrypted_with(&id("kms.rds")).is_empty(),
            "another key holds nothing kept"
        );
        // A later key under the same logical id is not held by the older
        // key's data.
        l.remove(&id("kms.logs"), Some("key k1 kept"), None)
            .unwrap();
        l.set_present(
            &id("kms.logs"),
            "kms_key",
            &Present::new("k3").with(Attr::Arn, "arn:aws:kms:r:a:key/k3"),
            Status::Ready,
            None,
        )
        .unwrap();
        assert!(l.kept_encrypted_with(&id("kms.logs")).is_empty());
    }

    #[test]
    fn no_temp_file_is_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::open_for_write(dir.path(), &env(), "up").unwrap();
        for i in 0..20 {
            l.set_creating(&id(&format!("r{i}")), "k").unwrap();
        }
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
    }
}

/// The shared-ledger contract against a store kept in memory with S3's
/// conditions: one run at a time, a write refused when the ledger changed
/// under it, the lock released when the run ends.
#[cfg(test)]
mod shared_tests {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::ledger_store::{Location, RemoteStore, Revision, StoreError, Stored, StoredLock};
    use crate::naming::EnvName;

    #[derive(Debug, Default)]
    struct Memory {
        objects: Mutex<HashMap<String, (String, u32)>>,
    }

    impl Memory {
        fn put(
            &self,
            key: String,
            text: &str,
            expected: Option<&str>,
        ) -> Result<String, StoreError> {
            let mut objects = self.objects.lock().unwrap();
            let current = objects.get(&key).map(|(_, v)| v.to_string());
            if current.as_deref() != expected {
                return Err(StoreError::Conflict);
            }
            let version = current.map_or(1, |v| v.parse::<u32>().unwrap() + 1);
            objects.insert(key, (text.to_owned(), version));
            Ok(version.to_string())
        }

        fn get(&self, key: &str) -> Option<Stored> {
            self.objects
                .lock()
                .unwrap()
                .get(key)
                .map(|(text, v)| Stored {
                    text: text.clone(),
                    version: v.to_string(),
                })
        }

        fn delete(&self, key: &str, expected: &str) -> Result<(), StoreError> {
            let mut objects = self.objects.lock().unwrap();
            match objects.get(key) {
                Some((_, v)) if v.to_string() == expected => {
                    objects.remove(key);
                    Ok(())
                }
                _ => Err(StoreError::Conflict),
            }
        }
    }

    impl RemoteStore for Memory {
        fn base_url(&self) -> String {
            "mem://team".into()
        }
        fn url(&self, env: &EnvName) -> String {
            format!("mem://team/{env}.json")
        }
        fn who(&self) -> String {
            "arn:aws:sts::123456789012:assumed-role/Dev/me".into()
        }
        fn read(&self, env: &EnvName) -> Result<Option<Stored>, StoreError> {
            Ok(self.get(&format!("{env}.json")))
        }
        fn write(
            &self,
            env: &EnvName,
            text: &str,
            expected: Option<&str>,
            _: &str,
        ) -> Result<String, StoreError> {
            // A write takes a round trip: changes made meanwhile wait for
            // the next one.
            std::thread::sleep(std::time::Duration::from_millis(20));
            self.put(format!("{env}.json"), text, expected)
        }
        fn remove(&self, env: &EnvName, expected: &str) -> Result<(), StoreError> {
            self.delete(&format!("{env}.json"), expected)
        }
        fn lock(&self, env: &EnvName, holder: &Holder) -> Result<String, StoreError> {
            self.put(
                format!("{env}.lock"),
                &serde_json::to_string(holder).unwrap(),
                None,
            )
        }
        fn current_lock(&self, env: &EnvName) -> Result<Option<StoredLock>, StoreError> {
            Ok(self.get(&format!("{env}.lock")).map(|s| StoredLock {
                holder: serde_json::from_str(&s.text).unwrap(),
                version: s.version,
            }))
        }
        fn unlock(&self, env: &EnvName, version: &str) -> Result<(), StoreError> {
            self.delete(&format!("{env}.lock"), version)
        }
        fn history(&self, _: &EnvName) -> Result<Vec<Revision>, StoreError> {
            Ok(Vec::new())
        }
    }

    fn env() -> EnvName {
        EnvName::parse("t-1").unwrap()
    }

    #[test]
    fn a_second_run_is_refused_naming_the_holder_and_the_unlock_command() {
        let store = Arc::new(Memory::default());
        let at = Location::Remote(store.clone());
        let first = Ledger::open_for_write(&at, &env(), "up").unwrap();
        let Err(LedgerError::RemoteLocked { id, holder, .. }) =
            Ledger::open_for_write(&at, &env(), "down")
        else {
            panic!("a second run while the first holds the lock");
        };
        assert_eq!(holder.command, "up");
        assert_eq!(holder.who, store.who());
        let message = Ledger::open_for_write(&at, &env(), "down")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains(&format!(
                "paysec force-unlock --env t-1 --ledger mem://team {id}"
            )),
            "{message}"
        );
        drop(first);
        assert!(
            store.current_lock(&env()).unwrap().is_none(),
            "released when the run ends"
        );
        Ledger::open_for_write(&at, &env(), "down").unwrap();
    }

    #[test]
    fn a_write_after_someone_else_changed_the_ledger_is_refused() {
        let store = Arc::new(Memory::default());
        let at = Location::Remote(store.clone());
        let mut ledger = Ledger::open_for_write(&at, &env(), "up").unwrap();
        ledger
            .set_creating(&LogicalId::new("kms.rds"), "kms_key")
            .unwrap();
        ledger.flush().unwrap();
        // Written behind this run's back (its lock removed, another run).
        let current = store.read(&env()).unwrap().unwrap();
        store
            .write(&env(), &current.text, Some(&current.version), "other")
            .unwrap();
        ledger
            .set_creating(&LogicalId::new("kms.s3"), "kms_key")
            .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let err = rt.block_on(ledger.durable().wait()).unwrap_err();
        assert!(matches!(err, LedgerError::Conflict { .. }), "{err}");
        assert!(matches!(ledger.flush(), Err(LedgerError::Conflict { .. })));
        let later = ledger.set_creating(&LogicalId::new("kms.logs"), "kms_key");
        assert!(
            matches!(later, Err(LedgerError::Conflict { .. })),
            "the run stops"
        );
        let kept = store.read(&env()).unwrap().unwrap();
        assert!(
            !kept.text.contains("kms.s3"),
            "the other writer's ledger stands"
        );
    }

    #[test]
    fn changes_made_while_a_write_is_in_flight_share_the_next_one() {
        let store = Arc::new(Memory::default());
        let at = Location::Remote(store.clone());
        let mut ledger = Ledger::open_for_write(&at, &env(), "up").unwrap();
        for i in 0..50 {
            ledger
                .set_creating(&LogicalId::new(format!("r.{i}")), "kms_key")
                .unwrap();
        }
        ledger.flush().unwrap();
        let stored = store.read(&env()).unwrap().unwrap();
        assert!(
            stored.text.contains("\"r.49\""),
            "the last change is stored"
        );
        let writes: u32 = stored.version.parse().unwrap();
        assert!(writes < 50, "{writes} writes for 50 changes");
        drop(ledger);
        assert!(store.current_lock(&env()).unwrap().is_none());
    }

    #[test]
    fn a_migration_never_overwrites_a_ledger_with_records() {
        let dir = tempfile::tempdir().unwrap();
        let mut local = Ledger::open_for_write(dir.path(), &env(), "up").unwrap();
        local
            .set_creating(&LogicalId::new("kms.rds"), "kms_key")
            .unwrap();
        let store = Arc::new(Memory::default());
        let at = Location::Remote(store.clone());
        let mut shared = Ledger::open_for_write(&at, &env(), "ledger migrate").unwrap();
        shared.take_contents_of(&local).unwrap();
        assert!(shared.record(&LogicalId::new("kms.rds")).is_some());
        let err = shared.take_contents_of(&local).unwrap_err();
        assert!(
            err.to_string().contains("already records resources"),
            "{err}"
        );
        let retired = local.retire().unwrap();
        assert!(retired.contains(".migrated-"), "{retired}");
        assert!(!dir.path().join("t-1.json").exists());
    }
}

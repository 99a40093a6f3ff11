//! The ledger's changes as a run makes them: binding it to an account,
//! a resource's intent (creating, with its create token), what it turned
//! out to be, deleting, removed (with what `down` kept), the releases and
//! what `up` still has to sweep. Each is saved before it returns.

use super::*;

impl Ledger {
    /// Ties the ledger to an account and region on first use and refuses a
    /// ledger from another one: its resources are not where the credentials
    /// point, and acting on them would create a second stack or lose track of
    /// the first.
    pub fn bind_account(&mut self, account: &str, region: &str) -> Result<(), LedgerError> {
        match (&self.data.account, &self.data.region) {
            (Some(a), Some(r)) if a == account && r == region => Ok(()),
            (Some(a), Some(r)) if !self.data.resources.is_empty() => {
                Err(LedgerError::AccountMismatch {
                    path: self.path.clone(),
                    env: self.data.environment.clone(),
                    ledger_account: a.clone(),
                    ledger_region: r.clone(),
                    account: account.to_owned(),
                    region: region.to_owned(),
                })
            }
            _ => {
                self.data.account = Some(account.to_owned());
                self.data.region = Some(region.to_owned());
                Ok(())
            }
        }
    }

    /// Records the intent to create, before the create call, and returns
    /// the create's idempotency token: the one of a create an earlier run
    /// left in flight (an intent without a result), else a new one.
    pub fn set_creating(&mut self, id: &LogicalId, kind: &str) -> Result<String, LedgerError> {
        let random = crate::id::random_token().map_err(|source| LedgerError::Io {
            path: self.path.clone(),
            source,
        })?;
        let record = self
            .data
            .resources
            .entry(id.clone())
            .or_insert_with(|| Record {
                kind: kind.to_owned(),
                status: Status::Creating,
                physical_id: None,
                attrs: BTreeMap::new(),
                updated_at: now(),
                last_error: None,
                converged: None,
                create_token: None,
            });
        let resumed = record.status == Status::Creating && record.physical_id.is_none();
        let token = match (&record.create_token, resumed) {
            (Some(t), true) => t.clone(),
            _ => random,
        };
        record.create_token = Some(token.clone());
        record.status = Status::Creating;
        record.converged = None;
        record.updated_at = now();
        self.save()?;
        Ok(token)
    }

    /// Records a live resource and its attributes. `converged` is the
    /// fingerprint of the desired state it now has (set once it is ready).
    pub fn set_present(
        &mut self,
        id: &LogicalId,
        kind: &str,
        present: &Present,
        status: Status,
        converged: Option<&str>,
    ) -> Result<(), LedgerError> {
        let mut record = Record::of(kind, present, status, converged);
        // Nothing but the time would change: no write.
        if let Some(old) = self.data.resources.get(id) {
            record.updated_at.clone_from(&old.updated_at);
            record.create_token.clone_from(&old.create_token);
            if *old == record {
                return Ok(());
            }
        }
        record.updated_at = now();
        // What an earlier `down` kept and this run manages again.
        self.data
            .kept
            .retain(|k| !(k.id == *id && k.physical_id == present.physical_id));
        self.data.resources.insert(id.clone(), record);
        self.save()
    }

    /// The physical id of what an earlier `down` kept for `id` (a log
    /// bucket, a log group): a re-`up` of the environment adopts it.
    pub fn kept_physical_id(&self, id: &LogicalId) -> Option<&str> {
        self.data
            .kept
            .iter()
            .rev()
            .find(|k| k.id == *id)
            .map(|k| k.physical_id.as_str())
    }

    /// Turns what an earlier `down` kept back into records, for `down
    /// --purge-audit-logs` to delete: the kept entries `which` selects
    /// whose logical id has no record. Returns their ids.
    pub fn reinstate_kept(
        &mut self,
        which: impl Fn(&Kept) -> bool,
    ) -> Result<Vec<LogicalId>, LedgerError> {
        let (back, stay): (Vec<Kept>, Vec<Kept>) = std::mem::take(&mut self.data.kept)
            .into_iter()
            .partition(|k| which(k) && !self.data.resources.contains_key(&k.id));
        self.data.kept = stay;
        let mut ids = Vec::new();
        for k in back {
            self.data.resources.insert(
                k.id.clone(),
                Record {
                    kind: k.kind,
                    status: Status::Ready,
                    physical_id: Some(k.physical_id),
                    attrs: BTreeMap::new(),
                    updated_at: now(),
                    last_error: None,
                    converged: None,
                    create_token: None,
                },
            );
            ids.push(k.id);
        }
        self.save()?;
        Ok(ids)
    }

    pub fn set_deleting(&mut self, id: &LogicalId) -> Result<(), LedgerError> {
        if let Some(r) = self.data.resources.get_mut(id) {
            r.status = Status::Deleting;
            r.updated_at = now();
        }
        self.save()
    }

    pub fn set_error(&mut self, id: &LogicalId, message: &str) -> Result<(), LedgerError> {
        if let Some(r) = self.data.resources.get_mut(id) {
            r.last_error = Some(message.to_owned());
            r.updated_at = now();
            return self.save();
        }
        Ok(())
    }

    /// The payment function's releases.
    pub fn releases(&self) -> &Releases {
        &self.data.releases
    }

    /// Changes the releases with `change` (given the time now), saving
    /// only when something changed.
    pub fn update_releases(
        &mut self,
        change: impl FnOnce(&mut Releases, &str),
    ) -> Result<(), LedgerError> {
        let before = self.data.releases.clone();
        change(&mut self.data.releases, &now());
        if self.data.releases == before {
            return Ok(());
        }
        self.save()
    }

    /// Resources awaiting a sweep for late second copies (see the field).
    pub fn unswept(&self) -> &BTreeSet<LogicalId> {
        &self.data.unswept
    }

    /// Records that these resources need a sweep for late copies.
    pub fn mark_unswept(&mut self, ids: &[LogicalId]) -> Result<(), LedgerError> {
        let before = self.data.unswept.len();
        self.data.unswept.extend(ids.iter().cloned());
        if self.data.unswept.len() == before {
            return Ok(());
        }
        self.save()
    }

    /// Records that `id` was swept.
    pub fn mark_swept(&mut self, id: &LogicalId) -> Result<(), LedgerError> {
        if self.data.unswept.remove(id) {
            return self.save();
        }
        Ok(())
    }

    /// Drops a deleted resource; a `kept` note stays behind in the ledger,
    /// with the key what was kept is encrypted with.
    pub fn remove(
        &mut self,
        id: &LogicalId,
        kept: Option<&str>,
        encrypted_with: Option<&str>,
    ) -> Result<(), LedgerError> {
        self.data.unswept.remove(id);
        if let Some(r) = self.data.resources.remove(id) {
            // Its versions went with the function.
            if r.kind == "lambda_function" {
                self.data.releases.function_deleted(&now());
            }
            if let (Some(note), Some(physical_id)) = (kept, r.physical_id) {
                // Kept again after a re-`up` adopted it: one entry.
                self.data
                    .kept
                    .retain(|k| !(k.id == *id && k.physical_id == physical_id));
                self.data.kept.push(Kept {
                    id: id.clone(),
                    kind: r.kind,
                    physical_id,
                    note: note.to_owned(),
                    at: now(),
                    encrypted_with: encrypted_with.map(str::to_owned),
                });
            }
        }
        self.save()
    }

    /// The notes of kept things encrypted with resource `id` as recorded
    /// (its physical id or ARN): what must stay readable after `down`.
    pub fn kept_encrypted_with(&self, id: &LogicalId) -> Vec<String> {
        let Some(r) = self.data.resources.get(id) else {
            return Vec::new();
        };
        let names: Vec<&str> = r
            .physical_id
            .iter()
            .chain(r.attrs.get(crate::Attr::Arn.as_str()))
            .map(String::as_str)
            .collect();
        self.data
            .kept
            .iter()
            .filter(|k| {
                k.encrypted_with
                    .as_deref()
                    .is_some_and(|key| names.contains(&key))
            })
            .map(|k| k.note.clone())
            .collect()
    }
}

//! What `up` and `down` refuse or repair before they start: resources a
//! ledger never recorded creating, protected resources, audit logs a purge
//! must first put back, and finding what a lost ledger left.

use std::sync::Mutex;

use paysec_core::scheduler::Planned;
use paysec_core::Ledger;

use crate::commands::plan;
use crate::commands::session::{self};
use crate::exit::Failure;
use crate::printer::Printer;
use crate::settings::Settings;

/// The planned adoptions the ledger has no create for (and did not keep):
/// `id (physical id)`.
pub(super) fn unrecorded_adoptions(
    ledger: &Mutex<Ledger>,
    changes: &[paysec_core::scheduler::PlannedChange],
) -> Vec<String> {
    let l = ledger.lock().unwrap_or_else(|p| p.into_inner());
    changes
        .iter()
        .filter_map(|c| match &c.planned {
            Planned::Adopt { physical_id }
                if l.record(&c.id)
                    .and_then(|r| r.create_token.as_ref())
                    .is_none()
                    && l.kept_physical_id(&c.id) != Some(physical_id.as_str()) =>
            {
                Some(format!("{} ({physical_id})", c.id))
            }
            _ => None,
        })
        .collect()
}

/// `down` of an environment whose database the settings protect
/// (`rds.deletion_protection`, on by default) is refused before anything
/// is deleted, unless `--disable-deletion-protection`. (The database's
/// delete also checks the live flag.)
pub(super) fn refuse_protected(
    settings: &Settings,
    ledger: &Ledger,
    unprotect: bool,
) -> Result<(), Failure> {
    let db = paysec_core::LogicalId::new(paysec_stack::ids::DB);
    if settings.config.stack.rds.deletion_protection && !unprotect && ledger.record(&db).is_some() {
        return Err(Failure::Usage(format!(
            "environment {} is protected: its database has deletion protection on (rds.deletion_protection = true); nothing was deleted. To destroy it, run `paysec down --disable-deletion-protection`",
            settings.env
        )));
    }
    Ok(())
}

/// `down --purge-audit-logs`: what an earlier `down` kept of the audit
/// logs (log buckets, log groups) goes back into the ledger, to be deleted
/// with the rest, and so do the keys kept only because those logs were
/// encrypted with them: a key is kept exactly while something kept is
/// encrypted with it (a final snapshot keeps the RDS key).
pub(super) fn reinstate_audit_logs(printer: &Printer, ledger: &mut Ledger) -> Result<(), Failure> {
    let mut back = ledger.reinstate_kept(|k| k.kind == "s3_bucket" || k.kind == "log_group")?;
    let still_encrypted: Vec<String> = ledger
        .kept()
        .iter()
        .filter_map(|k| k.encrypted_with.clone())
        .collect();
    back.extend(ledger.reinstate_kept(|k| {
        k.kind == "kms_key"
            && !still_encrypted
                .iter()
                .any(|key| is_key(key, &k.physical_id))
    })?);
    if !back.is_empty() {
        printer.note(format!(
            "Deleting the audit logs an earlier `down` kept, and the keys kept for them: {}",
            back.iter()
                .map(|id| id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(())
}

/// Whether `named` (a key's id or ARN, as a kept thing records the key it
/// is encrypted with) is the key whose id is `key_id`.
pub(super) fn is_key(named: &str, key_id: &str) -> bool {
    named == key_id || named.ends_with(&format!(":key/{key_id}"))
}

/// A `down` whose ledger lists nothing: looks for the stack by name and tag
/// (so a lost ledger does not mean leaked resources), records what it finds
/// for the scheduler to delete, and says so. `false`: nothing to destroy.
pub(super) async fn find_lost(
    printer: &Printer,
    s: &paysec_core::scheduler::Scheduler,
    env: &paysec_core::naming::EnvName,
) -> Result<bool, Failure> {
    let found = s.discover().await.map_err(session::read_failure)?;
    if found.is_empty() {
        printer.note(format!("Nothing to destroy: no ledger entry and no resource of environment {env} found by name or tag."));
        return Ok(false);
    }
    printer.note(format!(
        "The ledger lists nothing, but {} resource(s) of environment {env} were found by name or tag:",
        found.len()
    ));
    if !printer.is_json() {
        plan::print(printer, &found);
    }
    Ok(true)
}

//! Shared ledgers: `ledger init` (the state bucket), `ledger migrate`
//! (move an environment's ledger between a directory and S3, under both
//! locks), `ledger history` (the versions of a shared ledger) and
//! `force-unlock` (remove the lock of a run that died).

use paysec_aws::ledger_s3::{self, S3Url};
use paysec_core::ledger_store::Location;
use paysec_core::Ledger;

use crate::exit::{self, Failure};
use crate::printer::Printer;
use crate::settings::{self, Settings};

/// `paysec ledger init s3://BUCKET`.
pub async fn init(
    settings: &Settings,
    printer: &Printer,
    url: &str,
    options: &ledger_s3::InitOptions,
) -> Result<u8, Failure> {
    let url = match S3Url::parse(url) {
        Some(parsed) => parsed.map_err(Failure::Usage)?,
        None => {
            return Err(Failure::Usage(format!(
                "`{url}` is not an s3:// URL; `paysec ledger init s3://BUCKET` creates a bucket for shared ledgers (a directory needs no setup)"
            )))
        }
    };
    let aws = paysec_aws::Aws::connect(&settings.aws).await?;
    let caller = aws.identity().await?;
    // An existing bucket is checked where it lives.
    let aws = aws.in_bucket_region(&url.bucket).await;
    if let Some(key) = &options.kms_key {
        if !ledger_s3::is_kms_key_arn(key) {
            return Err(Failure::Usage(format!(
                "--kms-key {key}: not a KMS key's ARN (arn:aws:kms:REGION:ACCOUNT:key/ID, or an alias's ARN)"
            )));
        }
    }
    let owner = settings
        .config
        .run
        .ledger_owner
        .clone()
        .unwrap_or_else(|| caller.account.clone());
    let outcome = ledger_s3::init_bucket(&aws, &url.bucket, &caller.partition, &owner, options)
        .await
        .map_err(Failure::Usage)?;
    let what = if outcome.created {
        "created"
    } else {
        "already hardened; nothing changed"
    };
    let policy = if outcome.tls_only_policy {
        "TLS-only policy"
    } else {
        "no TLS-only policy: this endpoint is plain HTTP (an emulator), which that policy would refuse"
    };
    if printer.is_json() {
        printer.json(&serde_json::json!({
            "bucket": url.bucket,
            "outcome": what,
            "tls_only_policy": outcome.tls_only_policy,
        }));
    } else {
        printer.line(format!(
            "s3://{}: {what} (versioning, SSE-KMS with a bucket key, public access blocked, bucket owner enforced, {policy})",
            url.bucket
        ));
        printer.note(format!(
            "use it: ledger = \"s3://{}/paysec\" in paysec.toml (or --ledger, PAYSEC_LEDGER)",
            url.bucket
        ));
    }
    Ok(exit::OK)
}

/// `paysec ledger migrate --to URL`: takes both locks, writes the ledger
/// at the destination (refused if one with records is there), then
/// retires the source.
pub async fn migrate(settings: &Settings, printer: &Printer, to: &str) -> Result<u8, Failure> {
    let destination = match settings::ledger_spec(to)? {
        (_, Some(url)) => {
            settings::shared_store(
                &settings.aws,
                url,
                settings.config.run.ledger_owner.as_deref(),
            )
            .await?
        }
        (dir, None) => dir,
    };
    if same_place(&settings.ledger, &destination) {
        return Err(Failure::Usage(format!(
            "--to {to} is where the ledger already is"
        )));
    }
    let source = Ledger::open_for_write(&settings.ledger, &settings.env, "ledger migrate")?;
    if !source.exists_on_disk() {
        return Err(Failure::Usage(format!(
            "no ledger of environment {} at {}: nothing to migrate",
            settings.env,
            source.path().display()
        )));
    }
    let mut target = Ledger::open_for_write(&destination, &settings.env, "ledger migrate")?;
    target.take_contents_of(&source)?;
    let written = target.path().display().to_string();
    let records = source.records().len();
    let retired = source.retire()?;
    if printer.is_json() {
        printer.json(&serde_json::json!({
            "environment": settings.env.as_str(),
            "to": written,
            "records": records,
            "source": retired,
        }));
    } else {
        printer.line(format!(
            "environment {}: {records} record(s) moved to {written}; {retired}",
            settings.env
        ));
        printer.note(format!(
            "from now on run with --ledger {destination} (or set `ledger` in paysec.toml)"
        ));
    }
    Ok(exit::OK)
}

fn same_place(a: &Location, b: &Location) -> bool {
    match (a, b) {
        (Location::Dir(x), Location::Dir(y)) => x == y,
        (Location::Remote(x), Location::Remote(y)) => x.base_url() == y.base_url(),
        _ => false,
    }
}

fn shared(
    settings: &Settings,
    command: &str,
) -> Result<std::sync::Arc<dyn paysec_core::ledger_store::RemoteStore>, Failure> {
    match &settings.ledger {
        Location::Remote(store) => Ok(store.clone()),
        Location::Dir(dir) => Err(Failure::Usage(format!(
            "`paysec {command}` is for shared ledgers (--ledger s3://...); the ledger here is the directory {}, whose lock the OS releases when its process exits and which keeps no history",
            dir.display()
        ))),
    }
}

/// `paysec ledger history`: the shared ledger's versions, newest first.
pub fn history(settings: &Settings, printer: &Printer) -> Result<u8, Failure> {
    let store = shared(settings, "ledger history")?;
    let revisions = store.history(&settings.env).map_err(|e| {
        Failure::Ledger(paysec_core::LedgerError::Remote {
            url: store.url(&settings.env),
            detail: e.to_string(),
        })
    })?;
    if printer.is_json() {
        printer.json(&serde_json::json!({
            "ledger": store.url(&settings.env),
            "versions": revisions,
        }));
        return Ok(exit::OK);
    }
    if revisions.is_empty() {
        printer.line(format!(
            "{}: no versions (no ledger written yet)",
            store.url(&settings.env)
        ));
        return Ok(exit::OK);
    }
    printer.line(store.url(&settings.env));
    for r in &revisions {
        printer.line(format!(
            "  {} {:<7} {:>7} B  {}  (version {})",
            r.written_at,
            if r.latest { "current" } else { "" },
            r.size,
            r.writer,
            r.version_id
        ));
    }
    Ok(exit::OK)
}

/// `paysec force-unlock LOCK_ID`: removes the environment's lock if it is
/// the one named (never a lock another run has taken since).
pub fn force_unlock(
    settings: &Settings,
    printer: &Printer,
    lock_id: &str,
    yes: bool,
) -> Result<u8, Failure> {
    let store = shared(settings, "force-unlock")?;
    let env = &settings.env;
    let remote = |e: paysec_core::ledger_store::StoreError| {
        Failure::Ledger(paysec_core::LedgerError::Remote {
            url: store.url(env),
            detail: e.to_string(),
        })
    };
    let Some(held) = store.current_lock(env).map_err(remote)? else {
        printer.line(format!(
            "environment {env} is not locked in {}",
            store.base_url()
        ));
        return Ok(exit::OK);
    };
    if held.holder.id != lock_id {
        return Err(Failure::Usage(format!(
            "environment {env}'s lock is {} (held by {}), not {lock_id}; check the id in the message that refused your run",
            held.holder.id, held.holder
        )));
    }
    super::require_terminal_or_yes(printer, yes, "force-unlock")?;
    if !yes {
        super::confirm(
            printer,
            &format!(
                "Remove environment {env}'s lock {lock_id}, held by {} since {}? Only do this if that run is gone: two runs of one environment race for its resources.",
                held.holder, held.holder.since
            ),
        )?;
    }
    store.unlock(env, &held.version).map_err(|e| match e {
        paysec_core::ledger_store::StoreError::Conflict => Failure::Usage(format!(
            "environment {env}'s lock changed while this ran (released, or taken again); nothing removed: run `paysec force-unlock` again with the id of the lock now there"
        )),
        e => remote(e),
    })?;
    if printer.is_json() {
        printer.json(&serde_json::json!({
            "environment": env.as_str(),
            "removed_lock": lock_id,
            "holder": held.holder,
        }));
    } else {
        printer.line(format!(
            "removed environment {env}'s lock {lock_id} (held by {})",
            held.holder
        ));
    }
    Ok(exit::OK)
}

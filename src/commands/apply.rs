//! `paysec up` and `paysec down`.

use std::path::Path;
use std::sync::{Arc, Mutex};

use paysec_core::report::Outcome;
use paysec_core::scheduler::{Planned, RunSummary};
use paysec_core::Ledger;
use serde_json::json;

use super::saved_plan::SavedPlan;
use super::{
    confirm, connect, for_env, graph, plan, preflight, require_terminal_or_yes, scheduler,
    stop_on_signal, whole_graph,
};
use crate::cli::PolicyFor;
use crate::exit::{self, Failure};
use crate::printer::Printer;
use crate::settings::Settings;

/// `paysec up`: every property of every resource is read and drift
/// repaired; with `quick` (`--no-refresh`), what converged before is only
/// checked to exist.
pub async fn up(
    settings: &Settings,
    printer: &Printer,
    approve: &crate::cli::Approve,
    quick: bool,
    adopt: bool,
    saved: Option<&Path>,
) -> Result<u8, Failure> {
    let concurrency = approve.concurrency;
    let saved = saved
        .map(|path| SavedPlan::read(path).map(|p| (path, p)))
        .transpose()?;
    // A saved plan was reviewed when it was made: applying it asks nothing.
    let yes = approve.yes || saved.is_some();
    let quick = saved.as_ref().map_or(quick, |(_, p)| !p.properties_read);
    require_terminal_or_yes(printer, yes, "up")?;
    let mut ledger = Ledger::open_for_write(&settings.ledger, &settings.env, "up")?;
    let mut c = connect(settings).await?;
    // A ledger of another account or region stops `up` before the preflight.
    ledger.bind_account(&c.env.account, &c.env.region)?;
    super::keep_recorded_key_admins(settings, &ledger, &mut c).await;
    preflight(settings, printer, &mut c, &ledger, PolicyFor::Deploy).await?;
    let graph = graph(settings, &c, &ledger)?;
    let ledger = Arc::new(Mutex::new(ledger));
    let stop = stop_on_signal(printer.is_json());
    let removal = super::Removal::of(&graph, settings, &c, &ledger, |whole| {
        scheduler(
            settings,
            &c,
            whole,
            ledger.clone(),
            printer.reporter(),
            concurrency,
            stop.clone(),
        )
    })?;
    let s = scheduler(
        settings,
        &c,
        graph,
        ledger.clone(),
        printer.reporter(),
        concurrency,
        stop,
    )
    .quick_checks(quick)
    .adopting_unrecorded(adopt);
    if let Some(note) = removal.held_note() {
        tracing::warn!("{note}");
    }
    if let Some((path, plan)) = &saved {
        // Planned again now: applied only if it is the same plan.
        let mut changes = s.plan_up().await.map_err(plan::read_failure)?;
        changes.extend(removal.plan());
        let now = {
            let l = ledger.lock().unwrap_or_else(|p| p.into_inner());
            SavedPlan::new(&c.env, &l, &changes, !quick)
        };
        if let Some(why) = plan.stale_against(&now) {
            return Err(Failure::PlanStale(format!(
                "the saved plan {} no longer applies: {why}. Make a new one with `paysec plan --out {}` and review it",
                path.display(),
                path.display()
            )));
        }
        printer.note(format!(
            "Applying the saved plan {} (made {}).",
            path.display(),
            plan.created_at
        ));
    }
    let mut s = s;
    if !yes {
        let mut changes = s.plan_up().await.map_err(plan::read_failure)?;
        changes.extend(removal.plan());
        plan::print(printer, &changes);
        // Found by name or tag, never recorded as created: a lost ledger,
        // or someone else's resource made to look like ours. Said and
        // asked, once, before anything else (`--yes` runs refuse them
        // unless `--adopt`).
        let unrecorded = unrecorded_adoptions(&ledger, &changes);
        if !adopt && !unrecorded.is_empty() {
            printer.note(format!(
                "These {} resource(s) carry environment {}'s names or tags, but its ledger never recorded creating them (a lost ledger, or resources made to look like this environment's): {}",
                unrecorded.len(),
                settings.env,
                unrecorded.join(", ")
            ));
            confirm(
                printer,
                "Adopt them as this environment's (their tags and settings will be made paysec's)?",
            )?;
            s = s.adopting_unrecorded(true);
        }
        if changes
            .iter()
            .all(|c| matches!(c.planned, Planned::NoChange { .. }))
        {
            let unread = plan::only_checked_to_exist(&changes);
            if unread == 0 {
                printer.note("Nothing to do: every property read matches the desired state.");
            } else {
                printer.note(format!("Nothing to do that --no-refresh can see ({unread} resources only checked to exist)."));
            }
            return Ok(exit::OK);
        }
        confirm(
            printer,
            &format!("Apply these changes to environment {}?", settings.env),
        )?;
    }
    printer.note(format!(
        "paysec up: environment {} in account {} region {}",
        settings.env, c.env.account, c.env.region
    ));
    let total = s.resource_count();
    let s = s.reporting_to(printer.progress("up", total));
    let mut summary = s.up().await;
    printer.finish_progress();
    if summary.ok() && !removal.ids.is_empty() {
        summary.absorb(removal.scheduler.remove(&removal.ids).await);
    }
    super::release::after_up(
        &ledger,
        &c.aws,
        &settings.env,
        &c.caller.arn,
        &settings.code,
        settings.config.stack.lambda.keep_versions,
    )
    .await?;
    stored(&ledger).await?;
    finish(printer, "up", &summary, || {
        let l = ledger.lock().unwrap_or_else(|p| p.into_inner());
        paysec_stack::outputs(&l)
    })
}

/// Waits until every change of the run is stored: at once for a local
/// ledger; a shared one's writer may still hold the last changes (they
/// need not be stored before the calls that follow them, only before the
/// run ends).
async fn stored(ledger: &Arc<Mutex<Ledger>>) -> Result<(), Failure> {
    let ledger = ledger.clone();
    tokio::task::spawn_blocking(move || ledger.lock().unwrap_or_else(|p| p.into_inner()).flush())
        .await
        .map_err(|e| Failure::Internal(format!("the ledger's flush: {e}")))?
        .map_err(Failure::Ledger)
}

pub async fn down(
    settings: &Settings,
    printer: &Printer,
    args: &crate::cli::DownArgs,
) -> Result<u8, Failure> {
    let (yes, purge, concurrency) = (
        args.approve.yes,
        args.purge_audit_logs,
        args.approve.concurrency,
    );
    require_terminal_or_yes(printer, yes, "down")?;
    let mut ledger = Ledger::open_for_write(&settings.ledger, &settings.env, "down")?;
    refuse_protected(settings, &ledger, args.disable_deletion_protection)?;
    let c = super::connect_reading(settings).await?;
    ledger.bind_account(&c.env.account, &c.env.region)?;
    if purge {
        reinstate_audit_logs(printer, &mut ledger)?;
    }
    let lost = ledger.records_nothing();
    let graph = whole_graph(settings, &c, &ledger)?;
    let ledger = Arc::new(Mutex::new(ledger));
    let stop = stop_on_signal(printer.is_json());
    let s = scheduler(
        settings,
        &c,
        graph,
        ledger.clone(),
        printer.reporter(),
        concurrency,
        stop,
    )
    .purging_audit_logs(purge)
    .disabling_deletion_protection(args.disable_deletion_protection);
    if lost && !find_lost(printer, &s, &settings.env).await? {
        if printer.is_json() {
            printer.json(&json!({"command": "down", "ok": true, "outcomes": {}, "failures": []}));
        }
        return Ok(exit::OK);
    }
    if !yes {
        plan::print(printer, &s.plan_down());
        confirm(
            printer,
            &if purge {
                format!(
                    "Destroy environment {} and delete its audit logs (PCI DSS 10.5.1 asks for 12 months)? This cannot be undone.",
                    settings.env
                )
            } else {
                format!(
                    "Destroy environment {}? This cannot be undone (the audit logs are kept).",
                    settings.env
                )
            },
        )?;
    }
    let total = ledger
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .records()
        .len();
    let s = s.reporting_to(printer.progress("down", total));
    let summary = s.down().await;
    printer.finish_progress();
    stored(&ledger).await?;
    let kept = ledger
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .kept()
        .to_vec();
    if summary.ok() && !printer.is_json() {
        for k in &kept {
            printer.note(format!(
                "kept: {} ({}): {}",
                k.id,
                k.kind,
                k.note.replace('\n', "\n    ")
            ));
        }
    }
    finish(printer, "down", &summary, Vec::new)
}

/// The planned adoptions the ledger has no create for (and did not keep):
/// `id (physical id)`.
fn unrecorded_adoptions(
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
fn refuse_protected(settings: &Settings, ledger: &Ledger, unprotect: bool) -> Result<(), Failure> {
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
fn reinstate_audit_logs(printer: &Printer, ledger: &mut Ledger) -> Result<(), Failure> {
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
fn is_key(named: &str, key_id: &str) -> bool {
    named == key_id || named.ends_with(&format!(":key/{key_id}"))
}

/// A `down` whose ledger lists nothing: looks for the stack by name and tag
/// (so a lost ledger does not mean leaked resources), records what it finds
/// for the scheduler to delete, and says so. `false`: nothing to destroy.
async fn find_lost(
    printer: &Printer,
    s: &paysec_core::scheduler::Scheduler,
    env: &paysec_core::naming::EnvName,
) -> Result<bool, Failure> {
    let found = s.discover().await.map_err(plan::read_failure)?;
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

/// What a fleet run does to each environment.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// `quick`: only quick checks for what converged (`--no-refresh`);
    /// `adopt`: `--adopt`.
    Up { quick: bool, adopt: bool },
    /// `purge`: `--purge-audit-logs`; `unprotect`:
    /// `--disable-deletion-protection`.
    Down { purge: bool, unprotect: bool },
}

/// `up`/`down` of several environments at once in one process: one
/// connection, one set of clients whose per-service ceiling
/// (`calls_per_service`) holds across the whole fleet, each environment
/// with its own ledger (locked), graph and scheduler. Needs `--yes`: there
/// is no single plan to confirm. Each environment ends on its own; the exit
/// code is the worst of them.
pub async fn fleet(
    settings: &Settings,
    printer: &Printer,
    verb: Verb,
    yes: bool,
    concurrency: Option<usize>,
) -> Result<u8, Failure> {
    let command = if matches!(verb, Verb::Down { .. }) {
        "down"
    } else {
        "up"
    };
    if !yes {
        return Err(Failure::Confirmation(format!(
            "a fleet `paysec {command}` ({} environments) runs without a plan to confirm; pass --yes",
            settings.fleet.len()
        )));
    }
    // Every ledger is locked before any AWS call: a fleet never half-starts
    // because one environment is busy elsewhere. All at once: on a shared
    // ledger each lock is a round trip or two to S3. A refusal leaves the
    // others' locks removed (each ledger unlocks when dropped).
    let ledgers = std::thread::scope(|scope| {
        let opening: Vec<_> = settings
            .fleet
            .iter()
            .map(|name| scope.spawn(|| Ledger::open_for_write(&settings.ledger, name, command)))
            .collect();
        opening
            .into_iter()
            .map(|o| o.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect::<Result<Vec<_>, _>>()
    })?;
    // One connection per account role and region (an environment's role
    // and region, `[environments.NAME]`): its clients, and their
    // per-service ceilings, shared by the fleet's environments there, and
    // one preflight counting all of them against the account's quotas.
    let creating = matches!(verb, Verb::Up { .. });
    let places = settings.places();
    // Connected and preflighted all at once: each is a few round trips to
    // its account, which nothing else waits on.
    let mut connected =
        futures_util::future::try_join_all(places.iter().map(|(aws, envs)| {
            super::connect_as(settings, aws, &settings.fleet[envs[0]], creating)
        }))
        .await?;
    if creating {
        futures_util::future::try_join_all(connected.iter_mut().zip(&places).map(
            |(c, (_, envs))| {
                let creates = envs
                    .iter()
                    .map(|&i| super::creates(settings, &ledgers[i]))
                    .fold(Default::default(), paysec_stack::preflight::Creates::and);
                super::preflight_for(settings, printer, c, creates, PolicyFor::Deploy)
            },
        ))
        .await?;
    }
    let mut place_of = vec![0; settings.fleet.len()];
    for (p, (_, envs)) in places.iter().enumerate() {
        for &i in envs {
            place_of[i] = p;
        }
    }
    let places: Vec<(paysec_aws::AwsSettings, super::Connected)> = places
        .into_iter()
        .map(|(aws, _)| aws)
        .zip(connected)
        .collect();
    let stop = stop_on_signal(printer.is_json());
    let mut runs = tokio::task::JoinSet::new();
    let file = settings;
    for ((name, mut ledger), place) in file.fleet.iter().zip(ledgers).zip(&place_of) {
        // What this environment builds: its own sections over the file's.
        let settings = &file.for_environment(name)?;
        let own = settings.config.stack != file.config.stack;
        let first = &places[*place].1;
        let key_admins = if settings.config.stack.kms == file.config.stack.kms {
            first.key_admins.clone()
        } else {
            super::key_admins(settings, &first.aws, &first.caller).await?
        };
        let mut c = for_env(
            settings,
            first.aws.clone(),
            first.caller.clone(),
            key_admins,
            name,
        );
        c.resolved = first.resolved.clone();
        if creating && own {
            // Its engine version, zones and capacity are its own to check
            // and resolve (the place's preflight counted the file's).
            super::preflight_for(
                settings,
                printer,
                &mut c,
                super::creates(settings, &ledger),
                PolicyFor::Deploy,
            )
            .await?;
        }
        ledger.bind_account(&c.env.account, &c.env.region)?;
        super::keep_recorded_key_admins(settings, &ledger, &mut c).await;
        let purge = matches!(verb, Verb::Down { purge: true, .. });
        let unprotect = matches!(
            verb,
            Verb::Down {
                unprotect: true,
                ..
            }
        );
        if matches!(verb, Verb::Down { .. }) {
            refuse_protected(settings, &ledger, unprotect)?;
        }
        if purge {
            reinstate_audit_logs(printer, &mut ledger)?;
        }
        let lost = matches!(verb, Verb::Down { .. }) && ledger.records_nothing();
        let graph = match verb {
            Verb::Up { .. } => graph(settings, &c, &ledger)?,
            Verb::Down { .. } => whole_graph(settings, &c, &ledger)?,
        };
        let ledger = Arc::new(Mutex::new(ledger));
        // After `up`: what the configuration no longer builds goes.
        let removal = match verb {
            Verb::Up { .. } => {
                let removal = super::Removal::of(&graph, settings, &c, &ledger, |whole| {
                    scheduler(
                        settings,
                        &c,
                        whole,
                        ledger.clone(),
                        printer.reporter_for(name.as_str()),
                        concurrency,
                        stop.clone(),
                    )
                })?;
                if let Some(note) = removal.held_note() {
                    tracing::warn!("{name}: {note}");
                }
                Some(removal)
            }
            Verb::Down { .. } => None,
        };
        let s = scheduler(
            settings,
            &c,
            graph,
            ledger.clone(),
            printer.reporter_for(name.as_str()),
            concurrency,
            stop.clone(),
        )
        .quick_checks(matches!(verb, Verb::Up { quick: true, .. }))
        .adopting_unrecorded(matches!(verb, Verb::Up { adopt: true, .. }))
        .purging_audit_logs(purge)
        .disabling_deletion_protection(unprotect);
        if lost {
            // Nothing found leaves the ledger empty: `down` then does nothing.
            find_lost(printer, &s, name).await?;
        }
        let name = name.clone();
        let (aws, caller) = (c.aws.clone(), c.caller.arn.clone());
        let (code, keep) = (
            settings.code.clone(),
            settings.config.stack.lambda.keep_versions,
        );
        runs.spawn(async move {
            let mut summary = match verb {
                Verb::Up { .. } => s.up().await,
                Verb::Down { .. } => s.down().await,
            };
            if let Some(removal) = removal.filter(|r| summary.ok() && !r.ids.is_empty()) {
                summary.absorb(removal.scheduler.remove(&removal.ids).await);
            }
            let released = match verb {
                Verb::Up { .. } => {
                    super::release::after_up(&ledger, &aws, &name, &caller, &code, keep).await
                }
                Verb::Down { .. } => Ok(()),
            };
            let stored = match released {
                Ok(()) => stored(&ledger).await,
                Err(e) => Err(e),
            };
            (name, summary, stored)
        });
    }
    let accounts: std::collections::BTreeSet<String> = places
        .iter()
        .map(|(_, c)| format!("{} {}", c.env.account, c.env.region))
        .collect();
    printer.note(format!(
        "paysec {command}: {} environments in {} (account region)",
        settings.fleet.len(),
        accounts.into_iter().collect::<Vec<_>>().join(", ")
    ));
    let mut results = Vec::new();
    while let Some(joined) = runs.join_next().await {
        match joined {
            Ok(r) => results.push(r),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut worst: Result<u8, Failure> = Ok(exit::OK);
    let mut report = serde_json::Map::new();
    for (name, summary, stored) in results {
        let stored = match stored {
            Ok(()) => None,
            Err(e) => Some(e.to_string()),
        };
        let failures: Vec<_> = summary
            .failures
            .iter()
            .map(|(id, e)| json!({"id": id, "message": e.to_string()}))
            .chain(stored.iter().map(|e| json!({"id": "ledger", "message": e})))
            .collect();
        report.insert(
            name.to_string(),
            json!({
                "ok": summary.ok() && stored.is_none(),
                "interrupted": summary.interrupted,
                "elapsed_s": summary.elapsed.as_secs_f64(),
                "changed": summary.outcomes.iter().filter(|(_, o)| *o != Outcome::Unchanged).count(),
                "failures": failures,
                "skipped": summary.skipped,
            }),
        );
        if !printer.is_json() {
            printer.note(format!(
                "{name}: {command} {} in {:.1}s ({} resources, {} failed, {} not started)",
                if summary.ok() {
                    "complete"
                } else {
                    "incomplete"
                },
                summary.elapsed.as_secs_f64(),
                summary.outcomes.len(),
                summary.failures.len(),
                summary.skipped.len()
            ));
            // This environment's first refusal closes the run only if
            // nothing before it did.
            let closing = worst.is_ok() && !summary.interrupted;
            for line in
                super::iam_policy::failure_lines(&summary.failures, PolicyFor::Deploy, closing)
            {
                printer.problem(format!("{name}: error: {line}"));
            }
            if let Some(e) = &stored {
                printer.problem(format!("{name}: error: {e}"));
            }
        }
        let refused = super::iam_policy::denied(
            summary.failures.iter().filter_map(|(_, e)| match e {
                paysec_core::scheduler::RunError::Resource(e) => Some(e),
                _ => None,
            }),
            PolicyFor::Deploy,
        );
        if summary.interrupted {
            worst = Err(Failure::Interrupted);
        } else if let (Some(refused), true) = (refused, worst.is_ok()) {
            worst = Err(refused);
        } else if (!summary.ok() || stored.is_some()) && worst.is_ok() {
            worst = Err(Failure::Run(format!(
                "environment {name} did not finish; the ledgers record what was done. Fix the cause and run the same command again to resume"
            )));
        }
    }
    if printer.is_json() {
        printer.json(&json!({
            "command": command,
            "ok": worst.is_ok(),
            "environments": report,
        }));
    }
    worst
}

fn finish<F>(
    printer: &Printer,
    command: &str,
    summary: &RunSummary,
    outputs: F,
) -> Result<u8, Failure>
where
    F: FnOnce() -> Vec<paysec_stack::Output>,
{
    let counts = [
        Outcome::Created,
        Outcome::Adopted,
        Outcome::Repaired,
        Outcome::Unchanged,
        Outcome::Deleted,
        Outcome::Kept,
        Outcome::AlreadyGone,
    ]
    .map(|o| (o, summary.count(o)));
    for id in &summary.unknown {
        let serving = paysec_stack::components::serving(id.as_str());
        printer.note(if serving.is_empty() {
            format!(
                "warning: the ledger holds {id}, which this version of paysec does not manage; left as is"
            )
        } else {
            let settings: Vec<String> = serving
                .iter()
                .map(|c| c.switched_off().to_owned())
                .collect();
            format!(
                "warning: the ledger holds {id}, which {} leaves out; left as is (`paysec down` removes it, or switch the component on again)",
                settings.join(" and ")
            )
        });
    }
    if printer.is_json() {
        let outcomes: serde_json::Map<String, serde_json::Value> = summary
            .outcomes
            .iter()
            .map(|(id, o)| (id.to_string(), json!(o)))
            .collect();
        let failures: Vec<_> = summary
            .failures
            .iter()
            .map(|(id, e)| json!({"id": id, "message": e.to_string()}))
            .collect();
        let outputs: serde_json::Map<String, serde_json::Value> = outputs()
            .into_iter()
            .map(|o| (o.name.to_owned(), json!(o.value)))
            .collect();
        printer.json(&json!({
            "command": command,
            "ok": summary.ok(),
            "interrupted": summary.interrupted,
            "elapsed_s": summary.elapsed.as_secs_f64(),
            "outcomes": outcomes,
            "failures": failures,
            "skipped": summary.skipped,
            "quick_checked": summary.quick_checked,
            "outputs": if command == "up" { json!(outputs) } else { json!(null) },
        }));
    } else {
        let parts: Vec<String> = counts
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(o, n)| format!("{n} {}", json!(o).as_str().unwrap_or("").replace('_', " ")))
            .collect();
        printer.note(format!(
            "\n{} {}: {} in {:.1}s",
            command,
            if summary.ok() {
                "complete"
            } else {
                "incomplete"
            },
            if parts.is_empty() {
                "nothing to do".to_owned()
            } else {
                parts.join(", ")
            },
            summary.elapsed.as_secs_f64()
        ));
        if summary.quick_checked > 0 {
            printer.note(plan::quick_checked_note(summary.quick_checked));
        }
        // `-q` means only errors: the outputs stay in `paysec output`.
        if summary.ok() && command == "up" && !printer.is_quiet() {
            printer.line("\nOutputs:");
            for o in outputs() {
                printer.line(format!(
                    "  {} = {}",
                    o.name,
                    o.value.as_deref().unwrap_or("(none)")
                ));
            }
        }
    }
    if summary.interrupted {
        return Err(Failure::Interrupted);
    }
    if !summary.failures.is_empty() {
        if !printer.is_json() {
            for line in super::iam_policy::failure_lines(&summary.failures, PolicyFor::Deploy, true)
            {
                printer.problem(format!("error: {line}"));
            }
        }
        if let Some(refused) = super::iam_policy::denied(
            summary.failures.iter().filter_map(|(_, e)| match e {
                paysec_core::scheduler::RunError::Resource(e) => Some(e),
                _ => None,
            }),
            PolicyFor::Deploy,
        ) {
            return Err(refused);
        }
        return Err(Failure::Run(format!(
            "{} resource(s) failed, {} not started; the ledger records what was done. Fix the cause and run `paysec {command}` again to resume",
            summary.failures.len(),
            summary.skipped.len()
        )));
    }
    Ok(exit::OK)
}

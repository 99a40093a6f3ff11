//! `paysec up` and `paysec down` of one environment; `fleet` runs them on
//! every environment of the file, `guards` holds what both refuse or
//! repair first.

mod fleet;
mod guards;

pub use fleet::{fleet, Verb};
use guards::{find_lost, refuse_protected, reinstate_audit_logs, unrecorded_adoptions};

use std::path::Path;
use std::sync::{Arc, Mutex};

use paysec_core::report::Outcome;
use paysec_core::scheduler::{Planned, RunSummary};
use paysec_core::Ledger;
use serde_json::json;

use super::removal::Removal;
use super::saved_plan::SavedPlan;
use super::session::{self, Session};
use super::{confirm, plan, require_terminal_or_yes, stop_on_signal};
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
    let mut c = Session::open(settings).await?;
    // A ledger of another account or region stops `up` before the preflight.
    ledger.bind_account(&c.env.account, &c.env.region)?;
    c.keep_recorded_key_admins(&ledger).await;
    c.preflight(printer, &ledger, PolicyFor::Deploy).await?;
    let graph = c.graph(&ledger)?;
    let ledger = Arc::new(Mutex::new(ledger));
    let stop = stop_on_signal(printer.is_json());
    let removal = Removal::of(&graph, &c, &ledger, |whole| {
        c.scheduler(
            whole,
            ledger.clone(),
            printer.reporter(),
            concurrency,
            stop.clone(),
        )
    })?;
    let s = c
        .scheduler(graph, ledger.clone(), printer.reporter(), concurrency, stop)
        .quick_checks(quick)
        .adopting_unrecorded(adopt);
    if let Some(note) = removal.held_note() {
        tracing::warn!("{note}");
    }
    if let Some((path, plan)) = &saved {
        // Planned again now: applied only if it is the same plan.
        let mut changes = s.plan_up().await.map_err(session::read_failure)?;
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
        let mut changes = s.plan_up().await.map_err(session::read_failure)?;
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
pub(super) async fn stored(ledger: &Arc<Mutex<Ledger>>) -> Result<(), Failure> {
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
    let c = Session::open_reading(settings).await?;
    ledger.bind_account(&c.env.account, &c.env.region)?;
    if purge {
        reinstate_audit_logs(printer, &mut ledger)?;
    }
    let lost = ledger.records_nothing();
    let graph = c.whole_graph(&ledger)?;
    let ledger = Arc::new(Mutex::new(ledger));
    let stop = stop_on_signal(printer.is_json());
    let s = c
        .scheduler(graph, ledger.clone(), printer.reporter(), concurrency, stop)
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

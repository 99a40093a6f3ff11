//! `up` and `down` of every environment of the file at once (`--all`):
//! one session per account role and region, each environment with its own
//! ledger, graph and scheduler.

use std::sync::{Arc, Mutex};

use paysec_core::report::Outcome;
use paysec_core::Ledger;
use serde_json::json;

use crate::commands::removal::Removal;

use super::guards::{find_lost, refuse_protected, reinstate_audit_logs};
use super::stored;
use crate::cli::PolicyFor;
use crate::commands::session::{self, Session};
use crate::commands::stop_on_signal;
use crate::exit::{self, Failure};
use crate::printer::Printer;
use crate::settings::Settings;

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
    // Opened and preflighted all at once: each is a few round trips to
    // its account, which nothing else waits on.
    let mut connected =
        futures_util::future::try_join_all(places.iter().map(|(aws, envs)| {
            Session::open_as(settings, aws, &settings.fleet[envs[0]], creating)
        }))
        .await?;
    if creating {
        futures_util::future::try_join_all(connected.iter_mut().zip(&places).map(
            |(c, (_, envs))| {
                let creates = envs
                    .iter()
                    .map(|&i| session::creates(settings, &ledgers[i]))
                    .fold(Default::default(), paysec_stack::preflight::Creates::and);
                c.preflight_for(printer, creates, PolicyFor::Deploy)
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
    let places: Vec<(paysec_aws::AwsSettings, Session<'_>)> = places
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
            crate::commands::key_admins::key_admins(settings, &first.aws, &first.caller).await?
        };
        let mut c = Session::for_env(
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
            c.preflight_for(
                printer,
                session::creates(settings, &ledger),
                PolicyFor::Deploy,
            )
            .await?;
        }
        ledger.bind_account(&c.env.account, &c.env.region)?;
        c.keep_recorded_key_admins(&ledger).await;
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
            Verb::Up { .. } => c.graph(&ledger)?,
            Verb::Down { .. } => c.whole_graph(&ledger)?,
        };
        let ledger = Arc::new(Mutex::new(ledger));
        // After `up`: what the configuration no longer builds goes.
        let removal = match verb {
            Verb::Up { .. } => {
                let removal = Removal::of(&graph, &c, &ledger, |whole| {
                    c.scheduler(
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
        let s = c
            .scheduler(
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
                    crate::commands::release::after_up(&ledger, &aws, &name, &caller, &code, keep)
                        .await
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
            for line in crate::commands::iam_policy::failure_lines(
                &summary.failures,
                PolicyFor::Deploy,
                closing,
            ) {
                printer.problem(format!("{name}: error: {line}"));
            }
            if let Some(e) = &stored {
                printer.problem(format!("{name}: error: {e}"));
            }
        }
        let refused = crate::commands::iam_policy::denied(
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

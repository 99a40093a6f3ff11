//! The stack a command works on: its graph (as configured, or whole for
//! `down`), what `up` removes when a component is switched off, the
//! schedulers that walk it, the survey that reads it, and the preflight
//! before the first write.

use std::sync::{Arc, Mutex};

use paysec_core::scheduler::Scheduler;
use paysec_core::{Graph, Ledger};
use tokio::sync::watch;

use crate::exit::Failure;
use crate::printer::Printer;
use crate::settings::Settings;

use super::connection::Connected;
use super::{iam_policy, plan};

/// The stack the configuration builds (its components switched as set),
/// with the function's releases as `ledger` records them.
pub fn graph(settings: &Settings, c: &Connected, ledger: &Ledger) -> Result<Graph, Failure> {
    paysec_stack::blueprint(&inputs(settings, c, ledger.releases(), &[]), &c.env.names)
        .map_err(invalid_blueprint)
}

/// What `up` removes after converging: what the ledger records that the
/// configuration no longer builds (a component switched off, an endpoint
/// no longer named), dependents first, as Terraform destroys what left
/// its configuration. The database is never deleted by `up`: it stays,
/// with what it stands on, and the second list names them (said by the
/// caller; `paysec down` removes them).
pub struct Removal {
    pub scheduler: Scheduler,
    pub ids: Vec<paysec_core::LogicalId>,
    pub held: Vec<paysec_core::LogicalId>,
}

impl Removal {
    pub fn of(
        configured: &Graph,
        settings: &Settings,
        c: &Connected,
        ledger: &Arc<Mutex<Ledger>>,
        scheduler: impl FnOnce(Graph) -> Scheduler,
    ) -> Result<Removal, Failure> {
        let whole = {
            let l = ledger.lock().unwrap_or_else(|p| p.into_inner());
            whole_graph(settings, c, &l)?
        };
        let gone: Vec<paysec_core::LogicalId> = ledger
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .records()
            .keys()
            .filter(|id| configured.position(id).is_none() && whole.position(id).is_some())
            .filter(|id| !paysec_stack::components::serving(id.as_str()).is_empty())
            .cloned()
            .collect();
        // The database and, among what goes, everything it depends on.
        let mut held = Vec::new();
        let db = paysec_core::LogicalId::new(paysec_stack::ids::DB);
        let mut next = if gone.contains(&db) {
            vec![db]
        } else {
            Vec::new()
        };
        while let Some(id) = next.pop() {
            if held.contains(&id) {
                continue;
            }
            if let Some(i) = whole.position(&id) {
                next.extend(
                    whole
                        .dependencies(i)
                        .iter()
                        .map(|&(j, _)| whole.node(j).id().clone())
                        .filter(|d| gone.contains(d)),
                );
            }
            held.push(id);
        }
        let ids = gone.into_iter().filter(|id| !held.contains(id)).collect();
        Ok(Removal {
            scheduler: scheduler(whole),
            ids,
            held,
        })
    }

    /// What it deletes, as plan lines.
    pub fn plan(&self) -> Vec<paysec_core::scheduler::PlannedChange> {
        self.scheduler.plan_remove(&self.ids)
    }

    /// The warning for what stays, if anything does.
    pub fn held_note(&self) -> Option<String> {
        (!self.held.is_empty()).then(|| {
            let held: Vec<String> = self.held.iter().map(ToString::to_string).collect();
            format!(
                "rds.enabled = false leaves the database in place: `up` never deletes a database (its data), nor what it stands on ({}); `paysec down` removes them with the environment (a final snapshot first, as configured), or switch rds on again",
                held.join(", ")
            )
        })
    }
}

/// The whole stack, every component on: what `down` removes (what the
/// ledger records, whatever the switches say now).
pub fn whole_graph(settings: &Settings, c: &Connected, ledger: &Ledger) -> Result<Graph, Failure> {
    let recorded: Vec<paysec_core::LogicalId> = ledger.records().keys().cloned().collect();
    paysec_stack::whole_blueprint(
        &inputs(settings, c, ledger.releases(), &recorded),
        &c.env.names,
    )
    .map_err(invalid_blueprint)
}

fn invalid_blueprint(e: paysec_core::graph::GraphError) -> Failure {
    Failure::Internal(format!("the stack blueprint is invalid: {e}"))
}

fn inputs<'a>(
    settings: &'a Settings,
    c: &'a Connected,
    releases: &'a paysec_core::releases::Releases,
    recorded: &'a [paysec_core::LogicalId],
) -> paysec_stack::Inputs<'a> {
    paysec_stack::Inputs {
        aws: &c.aws,
        config: &settings.config,
        key_admins: &c.key_admins,
        resolved: &c.resolved,
        code: &settings.code,
        releases,
        recorded,
    }
}

/// The resources a disabled component leaves out.
pub fn left_out(settings: &Settings, c: &Connected) -> Result<Vec<paysec_stack::LeftOut>, Failure> {
    let none = paysec_core::releases::Releases::default();
    paysec_stack::left_out(&inputs(settings, c, &none, &[]), &c.env.names)
        .map_err(|e| Failure::Internal(format!("the stack blueprint is invalid: {e}")))
}

pub fn scheduler(
    settings: &Settings,
    c: &Connected,
    graph: Graph,
    ledger: Arc<Mutex<Ledger>>,
    reporter: Arc<dyn paysec_core::Reporter>,
    concurrency: Option<usize>,
    stop: watch::Receiver<bool>,
) -> Scheduler {
    Scheduler::new(
        Arc::new(graph),
        c.env.clone(),
        ledger,
        reporter,
        concurrency.unwrap_or(settings.config.run.concurrency),
        stop,
    )
}

/// The scheduler of a command that only reads (`plan`, `verify`).
pub fn reading_scheduler(
    settings: &Settings,
    c: &Connected,
    graph: Graph,
    ledger: Arc<Mutex<Ledger>>,
    reporter: Arc<dyn paysec_core::Reporter>,
) -> Scheduler {
    Scheduler::for_reading(
        Arc::new(graph),
        c.env.clone(),
        ledger,
        reporter,
        settings.config.run.concurrency,
    )
}

/// Every resource the configuration builds, read live and compared with
/// the desired state, nothing changed (`verify`, `diagram`): the survey
/// `plan` makes, its planned actions the evidence.
pub async fn survey(
    settings: &Settings,
    c: &Connected,
    ledger: Ledger,
    reporter: Arc<dyn paysec_core::Reporter>,
) -> Result<Vec<paysec_core::scheduler::PlannedChange>, Failure> {
    let graph = graph(settings, c, &ledger)?;
    reading_scheduler(settings, c, graph, Arc::new(Mutex::new(ledger)), reporter)
        .plan_up()
        .await
        .map_err(plan::read_failure)
}

/// Checks before the first write (`plan`, `up`): shown in text (JSON
/// callers print `c.resolved.checks` themselves), a failed one refuses the
/// run with its message (a read AWS refused for want of a permission, as
/// `principal`'s policy names it: exit 4); what it resolved (engine version, zones) is kept
/// for the blueprint.
pub async fn preflight(
    settings: &Settings,
    printer: &Printer,
    c: &mut Connected,
    ledger: &Ledger,
    principal: crate::cli::PolicyFor,
) -> Result<(), Failure> {
    preflight_for(settings, printer, c, creates(settings, ledger), principal).await
}

/// What an environment's run creates that the account's quotas count:
/// what its ledger does not record yet.
pub fn creates(settings: &Settings, ledger: &Ledger) -> paysec_stack::preflight::Creates {
    paysec_stack::preflight::Creates::of(&settings.config, |id| {
        ledger
            .record(&paysec_core::LogicalId::new(id))
            .is_some_and(|r| r.physical_id.is_some())
    })
}

/// [`preflight`] for environments going into `c`'s account and region at
/// once (a fleet's share there: the quotas must hold what they all
/// create).
pub async fn preflight_for(
    settings: &Settings,
    printer: &Printer,
    c: &mut Connected,
    creates: paysec_stack::preflight::Creates,
    principal: crate::cli::PolicyFor,
) -> Result<(), Failure> {
    let p = paysec_stack::preflight::run(
        &c.aws,
        &settings.config,
        &c.caller.arn,
        &c.key_admins,
        creates,
    )
    .await;
    if !printer.is_json() {
        printer.note("Preflight:");
        for check in &p.checks {
            printer.note(format!(
                "  {:<11} {:<20} {}",
                check.verdict.as_str(),
                check.name,
                check.detail
            ));
        }
    }
    // A read refused for want of a permission is named as a refused call
    // of the run is (exit 4), whatever the check made of it.
    if let Some(refused) = iam_policy::preflight_denied(&p, principal) {
        return Err(refused);
    }
    let failed: Vec<String> = p
        .failures()
        .map(|f| format!("{}: {}", f.name, f.detail))
        .collect();
    if !failed.is_empty() {
        return Err(Failure::Preflight(format!(
            "preflight failed before any change: {}",
            failed.join("; ")
        )));
    }
    c.resolved = p;
    Ok(())
}

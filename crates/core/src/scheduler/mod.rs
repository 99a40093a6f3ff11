//! Walks the graph. On `up` every resource starts as soon as its
//! dependencies allow (identity or readiness), many at once within a bound;
//! on `down`, dependents go before what they depend on. After a failure
//! nothing new starts, what is in flight finishes and is recorded, and every
//! failure is reported. The ledger is written after every state change.
//!
//! In parts: the walk both directions share (`walk`), `up`'s and `down`'s
//! step for one resource (`converge`, `destroy`), the looks before a
//! resource's turn (`looks`) and the plan model (`plan`).

mod converge;
mod destroy;
mod looks;
mod plan;
mod walk;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::census::Census;
use crate::context::Context;
use crate::environment::Environment;
use crate::error::ResourceError;
use crate::graph::Graph;
use crate::id::LogicalId;
use crate::ledger::{Ledger, LedgerError, Record, Status};
use crate::report::{Outcome, Reporter};
use converge::{remove_strays, Converge};
use destroy::Destroy;
pub use plan::{Planned, PlannedChange};
use walk::{Direction, State};

/// Why a resource's operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Resource(#[from] ResourceError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl RunError {
    /// The AWS error, when that is what it is.
    fn aws(&self) -> Option<&ResourceError> {
        match self {
            Self::Resource(e) => Some(e),
            Self::Ledger(_) => None,
        }
    }
}

/// What a run did.
#[derive(Debug, Default)]
pub struct RunSummary {
    pub outcomes: Vec<(LogicalId, Outcome)>,
    pub failures: Vec<(LogicalId, RunError)>,
    /// Never started because of a failure or an interrupt.
    pub skipped: Vec<LogicalId>,
    /// Ledger records no resource of this stack answers to.
    pub unknown: Vec<LogicalId>,
    pub interrupted: bool,
    pub elapsed: Duration,
    /// Of the unchanged, how many only got their quick check (see
    /// `Scheduler::quick_checks`): properties not re-read.
    pub quick_checked: usize,
}

impl RunSummary {
    pub fn ok(&self) -> bool {
        self.failures.is_empty() && !self.interrupted && self.skipped.is_empty()
    }

    pub fn count(&self, outcome: Outcome) -> usize {
        self.outcomes.iter().filter(|(_, o)| *o == outcome).count()
    }

    /// A second phase of the same run (the removal after `up`): its
    /// outcomes and failures added, its unknown records the ones left.
    pub fn absorb(&mut self, then: RunSummary) {
        self.outcomes.extend(then.outcomes);
        self.failures.extend(then.failures);
        self.skipped.extend(then.skipped);
        self.unknown.retain(|id| then.unknown.contains(id));
        self.interrupted |= then.interrupted;
        self.elapsed += then.elapsed;
    }
}

/// Runs a graph against one environment and its ledger.
pub struct Scheduler {
    graph: Arc<Graph>,
    env: Arc<Environment>,
    ledger: Arc<Mutex<Ledger>>,
    reporter: Arc<dyn Reporter>,
    concurrency: usize,
    stop: watch::Receiver<bool>,
    quick_checks: bool,
    /// `up --adopt`: resources found by name or tag without a create the
    /// ledger recorded may be adopted (a lost ledger, reviewed).
    adopt_unrecorded: bool,
    /// `down --purge-audit-logs`.
    purge_audit_logs: bool,
    /// `down --disable-deletion-protection`.
    disable_deletion_protection: bool,
    census: Arc<Census>,
}

fn lock(ledger: &Mutex<Ledger>) -> std::sync::MutexGuard<'_, Ledger> {
    // A panic while holding the lock cannot leave the file torn (writes are
    // atomic), so the in-memory state is still the best we have.
    ledger.lock().unwrap_or_else(|p| p.into_inner())
}

impl Scheduler {
    pub fn new(
        graph: Arc<Graph>,
        env: Arc<Environment>,
        ledger: Arc<Mutex<Ledger>>,
        reporter: Arc<dyn Reporter>,
        concurrency: usize,
        stop: watch::Receiver<bool>,
    ) -> Self {
        Self {
            graph,
            env,
            ledger,
            reporter,
            concurrency: concurrency.max(1),
            stop,
            quick_checks: false,
            adopt_unrecorded: false,
            purge_audit_logs: false,
            disable_deletion_protection: false,
            census: Arc::default(),
        }
    }

    /// A scheduler that only reads (`plan`, `verify`): nothing it does can
    /// be stopped half-way, so it needs no stop signal, and it runs at the
    /// configured concurrency like `up`.
    pub fn for_reading(
        graph: Arc<Graph>,
        env: Arc<Environment>,
        ledger: Arc<Mutex<Ledger>>,
        reporter: Arc<dyn Reporter>,
        concurrency: usize,
    ) -> Self {
        // A signal no one can send: reads are never stopped.
        let (_never, stop) = watch::channel(false);
        Self::new(graph, env, ledger, reporter, concurrency, stop)
    }

    /// With `true`, a resource the ledger records as ready and converged to
    /// the same desired state (`desired`) gets only a quick check that it
    /// is still there (`Resource::quick_check`) instead of a full read: what
    /// `up --no-refresh` and `plan --no-refresh` do. `verify` and the
    /// default read every property of everything.
    pub fn quick_checks(mut self, on: bool) -> Self {
        self.quick_checks = on;
        self
    }

    /// With `true` (`up --adopt`), `up` adopts a resource it finds by name
    /// or tag although the ledger never recorded creating it (a lost
    /// ledger). Without it, such a resource is refused: paysec adopts only
    /// what it can prove it made.
    pub fn adopting_unrecorded(mut self, on: bool) -> Self {
        self.adopt_unrecorded = on;
        self
    }

    /// With `true` (`down --purge-audit-logs`), `down` deletes the audit
    /// logs too instead of keeping them (see `Context::purges_audit_logs`).
    pub fn purging_audit_logs(mut self, on: bool) -> Self {
        self.purge_audit_logs = on;
        self
    }

    /// With `true` (`down --disable-deletion-protection`), `down` turns a
    /// database's deletion protection off to delete it.
    pub fn disabling_deletion_protection(mut self, on: bool) -> Self {
        self.disable_deletion_protection = on;
        self
    }

    /// How many resources the graph holds.
    pub fn resource_count(&self) -> usize {
        self.graph.len()
    }

    /// The same scheduler reporting to `reporter` (`up` shows its plan,
    /// asks, then runs with a progress view), with fresh batched listings:
    /// what the plan listed may have changed while the user read it.
    pub fn reporting_to(mut self, reporter: Arc<dyn Reporter>) -> Self {
        self.reporter = reporter;
        self.census = Arc::default();
        self
    }

    /// Resource `i`'s context, its dependencies as the ledger records them.
    fn context(&self, i: usize) -> Context {
        let ledger = lock(&self.ledger);
        let cx = self.context_from(i, ledger.records());
        match ledger.kept_physical_id(self.graph.node(i).id()) {
            Some(kept) => cx.with_kept_physical_id(kept.to_owned()),
            None => cx,
        }
    }

    /// Resource `i`'s context, its dependencies as `records` has them.
    fn context_from(&self, i: usize, records: &BTreeMap<LogicalId, Record>) -> Context {
        let deps: BTreeMap<LogicalId, Record> = self
            .graph
            .dependencies(i)
            .iter()
            .filter_map(|&(j, _)| {
                let id = self.graph.node(j).id();
                records.get(id).map(|r| (id.clone(), r.clone()))
            })
            .collect();
        let cx = Context::new(
            self.env.clone(),
            self.graph.node(i).id().clone(),
            deps,
            self.reporter.clone(),
        )
        .with_census(self.census.clone());
        match records.get(self.graph.node(i).id()) {
            Some(own) => {
                let cx = cx.with_recorded_attrs(own.attrs.clone());
                match own.create_token.clone() {
                    Some(token) => cx.with_create_token(token),
                    None => cx,
                }
            }
            None => cx,
        }
    }

    fn unknown_records(&self) -> Vec<LogicalId> {
        lock(&self.ledger)
            .records()
            .keys()
            .filter(|id| self.graph.position(id).is_none())
            .cloned()
            .collect()
    }

    /// Creates, adopts or repairs every resource.
    pub async fn up(&self) -> RunSummary {
        let started = Instant::now();
        let mut summary = RunSummary {
            unknown: self.unknown_records(),
            ..RunSummary::default()
        };
        // Intents without a result: an earlier run died with these creates
        // in flight, and AWS may still act on one after this run looked.
        // Recorded before anything else, so a run that dies too passes the
        // sweep on to the next one.
        {
            let mut ledger = lock(&self.ledger);
            let dangling: Vec<LogicalId> = ledger
                .records()
                .iter()
                .filter(|(_, r)| r.status == Status::Creating)
                .map(|(id, _)| id.clone())
                .collect();
            if let Err(e) = ledger.mark_unswept(&dangling) {
                tracing::warn!(error = %e, "could not record the creates left in flight");
            }
        }
        let mut early = self.early_looks().await;
        let state = vec![State::Waiting; self.graph.len()];
        let state = self
            .walk(Direction::Up, state, &mut summary, |start| {
                let i = start.i;
                // Nothing this run did can have changed the resource since
                // its early look if all it depends on was left as it was.
                let untouched = self
                    .graph
                    .dependencies(i)
                    .iter()
                    .all(|&(j, _)| start.outcomes[j] == Some(Outcome::Unchanged));
                Converge {
                    i,
                    node: self.graph.node(i).clone(),
                    cx: self.context(i),
                    ledger: self.ledger.clone(),
                    reporter: self.reporter.clone(),
                    permit: start.permit,
                    one_at_a_time: self.concurrency == 1,
                    quick: self.quick_checks,
                    adopt_unrecorded: self.adopt_unrecorded,
                    early: early.remove(&i).filter(|_| untouched),
                    identified: start.identified,
                }
                .run()
            })
            .await;
        if summary.failures.is_empty() && !summary.interrupted {
            self.sweep_late_copies().await;
        }
        self.report_unstarted(&state, &mut summary, "not started after a failure");
        summary.elapsed = started.elapsed();
        summary
    }

    /// Looks once more, at the end of a completed run, for second copies
    /// of the resources whose create a run that died left in flight (the
    /// ledger's `unswept`): a create AWS processed after the lookups and
    /// stray sweeps of the runs since would otherwise leave a copy nobody
    /// records. A resource stays listed until swept; a failure here is
    /// logged and retried by the next run, the run's outcome stands.
    async fn sweep_late_copies(&self) {
        let unswept: Vec<LogicalId> = lock(&self.ledger).unswept().iter().cloned().collect();
        for id in unswept {
            let Some(i) = self.graph.position(&id) else {
                continue;
            };
            let node = self.graph.node(i);
            let Some(keep) = lock(&self.ledger).record(&id).and_then(Record::present) else {
                continue;
            };
            let cx = self.context(i);
            match remove_strays(node.as_ref(), &cx, &keep).await {
                Ok(()) => {
                    if let Err(e) = lock(&self.ledger).mark_swept(&id) {
                        tracing::warn!(resource = %id, error = %e, "could not record the sweep");
                    }
                }
                Err(e) => {
                    tracing::warn!(resource = %id, error = %e, "could not look for late second copies; the next run will");
                }
            }
        }
    }

    /// Deletes everything the ledger holds, dependents first.
    pub async fn down(&self) -> RunSummary {
        self.delete_where(|_| true).await
    }

    /// Deletes the resources `ids` names that the ledger holds, their
    /// dependents among them first (a component switched off: what only
    /// served it). The rest of the graph is left as it is.
    pub async fn remove(&self, ids: &[LogicalId]) -> RunSummary {
        let mut summary = self.delete_where(|id| ids.contains(id)).await;
        summary.unknown.retain(|id| !ids.contains(id));
        summary
    }

    /// Deletes, dependents first, what the ledger holds and `chosen` takes.
    async fn delete_where(&self, chosen: impl Fn(&LogicalId) -> bool) -> RunSummary {
        let started = Instant::now();
        let mut summary = RunSummary {
            unknown: self.unknown_records(),
            ..RunSummary::default()
        };
        let state: Vec<State> = {
            let ledger = lock(&self.ledger);
            (0..self.graph.len())
                .map(|i| {
                    let id = self.graph.node(i).id();
                    match ledger.record(id) {
                        Some(_) if chosen(id) => State::Waiting,
                        _ => State::Done,
                    }
                })
                .collect()
        };
        let state = self
            .walk(Direction::Down, state, &mut summary, |start| {
                let i = start.i;
                // Its dependents are done: what they kept is in the ledger.
                let kept_data = lock(&self.ledger).kept_encrypted_with(self.graph.node(i).id());
                Destroy {
                    node: self.graph.node(i).clone(),
                    cx: self
                        .context(i)
                        .with_kept_data(kept_data)
                        .with_purge_audit_logs(self.purge_audit_logs)
                        .with_deletion_protection_disabled(self.disable_deletion_protection),
                    ledger: self.ledger.clone(),
                    reporter: self.reporter.clone(),
                    permit: start.permit,
                }
                .run()
            })
            .await;
        self.report_unstarted(
            &state,
            &mut summary,
            "kept because a dependent could not be deleted",
        );
        summary.elapsed = started.elapsed();
        summary
    }
}

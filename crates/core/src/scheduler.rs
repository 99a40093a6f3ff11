//! Walks the graph. On `up` every resource starts as soon as its
//! dependencies allow (identity or readiness), many at once within a bound;
//! on `down`, dependents go before what they depend on. After a failure
//! nothing new starts, what is in flight finishes and is recorded, and every
//! failure is reported. The ledger is written after every state change.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::census::Census;
use crate::environment::Environment;
use crate::error::ResourceError;
use crate::graph::{Graph, Need};
use crate::id::LogicalId;
use crate::ledger::{Ledger, LedgerError, Record, Status};
use crate::report::{Event, Outcome, Phase, Reporter};
use crate::resource::{Context, Drift, NotApplicable, Observed, Present, QuickCheck};
use crate::retry::retrying_on;

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
}

/// What `plan` expects a run to do to one resource.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Planned {
    Create,
    Adopt {
        physical_id: String,
    },
    Repair {
        physical_id: String,
        drift: Vec<Drift>,
    },
    NoChange {
        physical_id: String,
        /// False when only its presence was checked: the ledger records it
        /// converged to the same desired state (see `Scheduler::quick_checks`).
        properties_read: bool,
    },
    Delete {
        physical_id: Option<String>,
    },
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct PlannedChange {
    pub id: LogicalId,
    pub kind: String,
    #[serde(flatten)]
    pub planned: Planned,
    /// The properties the read compared and found as wanted, with their
    /// live values (evidence for `verify`; not part of the plan's JSON).
    #[serde(skip)]
    pub evidence: Vec<Drift>,
    /// Properties the read deliberately did not check here, with why.
    #[serde(skip)]
    pub not_applicable: Vec<NotApplicable>,
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
    census: Arc<Census>,
}

/// Sent by a task once its resource has an identity, so that dependents
/// needing only that can start before the readiness wait ends; with what
/// the run did to it.
struct Identified(usize, Outcome);

type TaskResult = (usize, Result<Outcome, RunError>);
/// An `up` task's result: the outcome, and whether a quick check was all
/// it took.
type ConvergeResult = (usize, Result<(Outcome, bool), RunError>);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Waiting,
    Running,
    Identified,
    Done,
    Failed,
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
            census: Arc::default(),
        }
    }

    /// With `true`, a resource the ledger records as ready and converged to
    /// the same desired state (`desired`) gets only a quick check that it
    /// is still there (`Resource::quick_check`) instead of a full read: what
    /// `up` and `plan` do unless asked to `--refresh`. `verify` and the
    /// default read every property of everything.
    pub fn quick_checks(mut self, on: bool) -> Self {
        self.quick_checks = on;
        self
    }

    /// Resource `i`'s context, its dependencies as the ledger records them.
    fn context(&self, i: usize) -> Context {
        self.context_from(i, lock(&self.ledger).records())
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
        Context::new(
            self.env.clone(),
            self.graph.node(i).id().clone(),
            deps,
            self.reporter.clone(),
        )
        .with_census(self.census.clone())
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
        let n = self.graph.len();
        let mut state = vec![State::Waiting; n];
        let permits = Arc::new(Semaphore::new(self.concurrency));
        let (tx, mut rx) = mpsc::unbounded_channel::<Identified>();
        let mut tasks: JoinSet<ConvergeResult> = JoinSet::new();
        let mut summary = RunSummary {
            unknown: self.unknown_records(),
            ..RunSummary::default()
        };
        let mut stop = self.stop.clone();
        let mut stopping = *stop.borrow();
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
        let mut outcomes: Vec<Option<Outcome>> = vec![None; n];

        loop {
            if !stopping {
                for &i in self.graph.priority() {
                    let startable = state[i] == State::Waiting
                        && self
                            .graph
                            .dependencies(i)
                            .iter()
                            .all(|&(j, need)| match need {
                                Need::Identity => {
                                    matches!(state[j], State::Identified | State::Done)
                                }
                                Need::Ready => state[j] == State::Done,
                            });
                    if startable {
                        // A permit is taken here, not in the task, so that
                        // the highest-priority startable node gets the next
                        // free one (a task queued on the semaphore would
                        // keep its place however urgent later work is).
                        let Ok(permit) = permits.clone().try_acquire_owned() else {
                            break;
                        };
                        state[i] = State::Running;
                        // Its dependents are done: what they kept is in
                        // the ledger.
                        let kept_data =
                            lock(&self.ledger).kept_encrypted_with(self.graph.node(i).id());
                        let cx = self.context(i).with_kept_data(kept_data);
                        let node = self.graph.node(i).clone();
                        let ledger = self.ledger.clone();
                        let reporter = self.reporter.clone();
                        let tx = tx.clone();
                        // Nothing this run did can have changed the resource
                        // since its early look if all it depends on was
                        // left as it was.
                        let untouched = self
                            .graph
                            .dependencies(i)
                            .iter()
                            .all(|&(j, _)| outcomes[j] == Some(Outcome::Unchanged));
                        let how = How {
                            permit,
                            one_at_a_time: self.concurrency == 1,
                            quick: self.quick_checks,
                            early: early.remove(&i).filter(|_| untouched),
                        };
                        let step = crate::retry::Step::new(Some(self.stop.clone()));
                        tasks.spawn(async move {
                            let result = step
                                .run(converge(i, node, cx, ledger, reporter, how, tx))
                                .await;
                            (i, result)
                        });
                    }
                }
            }
            if tasks.is_empty() {
                break;
            }
            tokio::select! {
                Some(Identified(i, outcome)) = rx.recv() => {
                    if state[i] == State::Running {
                        state[i] = State::Identified;
                        outcomes[i] = Some(outcome);
                    }
                }
                Some(joined) = tasks.join_next() => {
                    let (i, result) = match joined {
                        Ok(r) => r,
                        Err(e) => std::panic::resume_unwind(e.into_panic()),
                    };
                    let id = self.graph.node(i).id().clone();
                    match result {
                        Ok((outcome, quick)) => {
                            state[i] = State::Done;
                            outcomes[i] = Some(outcome);
                            summary.quick_checked += usize::from(quick);
                            summary.outcomes.push((id, outcome));
                        }
                        Err(err) => {
                            state[i] = State::Failed;
                            stopping = true;
                            let _ = lock(&self.ledger).set_error(&id, &err.to_string());
                            summary.failures.push((id, err));
                        }
                    }
                }
                Ok(()) = stop.changed(), if !stopping => {
                    if *stop.borrow() {
                        stopping = true;
                        summary.interrupted = true;
                    }
                }
            }
        }
        if *self.stop.borrow() {
            summary.interrupted = true;
        }
        if summary.failures.is_empty() && !summary.interrupted {
            self.sweep_late_copies().await;
        }
        for (i, s) in state.iter().enumerate() {
            if *s == State::Waiting {
                let id = self.graph.node(i).id();
                let reason = if summary.interrupted {
                    "run interrupted"
                } else {
                    "not started after a failure"
                };
                self.reporter.report(&Event::Skipped { id, reason });
                summary.skipped.push(id.clone());
            }
        }
        summary.elapsed = started.elapsed();
        summary
    }

    /// Looks at every resource the ledger records, all at once, before the
    /// run starts walking the graph: its quick check where allowed, else
    /// (or when that cannot say) a full read, with its dependencies as the
    /// ledger records them. On an unchanged environment the run then costs
    /// one round of calls instead of one per level of the graph. Returns,
    /// per resource, what was found and the desired-state fingerprint it
    /// was looked at under; [`converge`] uses it only if everything the
    /// resource depends on was left unchanged by this run and the
    /// fingerprint still holds, else looks again in the resource's turn (as
    /// it does after a failed look). With an empty ledger (a first `up`)
    /// there is nothing to look at.
    async fn early_looks(&self) -> BTreeMap<usize, (String, Early)> {
        let records = lock(&self.ledger).records().clone();
        let permits = Arc::new(Semaphore::new(self.concurrency));
        let mut looks = JoinSet::new();
        let mut fingerprints = BTreeMap::new();
        for i in 0..self.graph.len() {
            if records.contains_key(self.graph.node(i).id()) {
                let cx = self.context_from(i, &records);
                fingerprints.insert(i, cx.desired_fingerprint());
                self.spawn_look(&mut looks, i, cx, &records, &permits);
            }
        }
        let mut found = BTreeMap::new();
        while let Some(joined) = looks.join_next().await {
            let (i, _, looked) =
                joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            let early = match looked {
                Ok(None) => Early::StillThere,
                Ok(Some(observed)) => Early::Read(observed),
                Err(_) => continue,
            };
            if let Some(fingerprint) = fingerprints.remove(&i) {
                found.insert(i, (fingerprint, early));
            }
        }
        found
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
        let started = Instant::now();
        let n = self.graph.len();
        let in_ledger: HashSet<usize> = {
            let ledger = lock(&self.ledger);
            (0..n)
                .filter(|&i| ledger.record(self.graph.node(i).id()).is_some())
                .collect()
        };
        let mut state: Vec<State> = (0..n)
            .map(|i| {
                if in_ledger.contains(&i) {
                    State::Waiting
                } else {
                    State::Done
                }
            })
            .collect();
        let permits = Arc::new(Semaphore::new(self.concurrency));
        let mut tasks: JoinSet<TaskResult> = JoinSet::new();
        let mut summary = RunSummary {
            unknown: self.unknown_records(),
            ..RunSummary::default()
        };
        let mut stop = self.stop.clone();
        let mut stopping = *stop.borrow();
        loop {
            if !stopping {
                for &i in self.graph.order().iter().rev() {
                    let startable = state[i] == State::Waiting
                        && self
                            .graph
                            .dependents(i)
                            .iter()
                            .all(|&j| state[j] == State::Done);
                    if startable {
                        state[i] = State::Running;
                        // Its dependents are done: what they kept is in
                        // the ledger.
                        let kept_data =
                            lock(&self.ledger).kept_encrypted_with(self.graph.node(i).id());
                        let cx = self.context(i).with_kept_data(kept_data);
                        let node = self.graph.node(i).clone();
                        let ledger = self.ledger.clone();
                        let reporter = self.reporter.clone();
                        let permits = permits.clone();
                        let step = crate::retry::Step::new(Some(self.stop.clone()));
                        tasks.spawn(async move {
                            let result =
                                step.run(destroy(node, cx, ledger, reporter, permits)).await;
                            (i, result)
                        });
                    }
                }
            }
            if tasks.is_empty() {
                break;
            }
            tokio::select! {
                Some(joined) = tasks.join_next() => {
                    let (i, result) = match joined {
                        Ok(r) => r,
                        Err(e) => std::panic::resume_unwind(e.into_panic()),
                    };
                    let id = self.graph.node(i).id().clone();
                    match result {
                        Ok(outcome) => {
                            state[i] = State::Done;
                            summary.outcomes.push((id, outcome));
                        }
                        Err(err) => {
                            state[i] = State::Failed;
                            stopping = true;
                            let _ = lock(&self.ledger).set_error(&id, &err.to_string());
                            summary.failures.push((id, err));
                        }
                    }
                }
                Ok(()) = stop.changed(), if !stopping => {
                    if *stop.borrow() {
                        stopping = true;
                        summary.interrupted = true;
                    }
                }
            }
        }
        if *self.stop.borrow() {
            summary.interrupted = true;
        }
        for (i, s) in state.iter().enumerate() {
            if *s == State::Waiting {
                let id = self.graph.node(i).id();
                let reason = if summary.interrupted {
                    "run interrupted"
                } else {
                    "kept because a dependent could not be deleted"
                };
                self.reporter.report(&Event::Skipped { id, reason });
                summary.skipped.push(id.clone());
            }
        }
        summary.elapsed = started.elapsed();
        summary
    }

    /// What `up` would do, reading but changing nothing. Independent
    /// resources are read concurrently, one graph depth at a time.
    pub async fn plan_up(&self) -> Result<Vec<PlannedChange>, Vec<(LogicalId, ResourceError)>> {
        Ok(self.survey().await?.0)
    }

    /// Finds, by name or tag, the stack's resources that the ledger does not
    /// list (it was lost or deleted), and records them so `down` can remove
    /// them. Returns what was found.
    pub async fn discover(&self) -> Result<Vec<PlannedChange>, Vec<(LogicalId, ResourceError)>> {
        let (changes, records) = self.survey().await?;
        let found: Vec<PlannedChange> = changes
            .into_iter()
            .filter(|c| matches!(c.planned, Planned::Adopt { .. }))
            .collect();
        let mut ledger = lock(&self.ledger);
        for c in &found {
            if let Some(present) = records.get(&c.id).and_then(Record::present) {
                ledger
                    .set_present(&c.id, &c.kind, &present, Status::Ready, None)
                    .map_err(|e| {
                        vec![(
                            c.id.clone(),
                            ResourceError::unexpected(&c.id, e.to_string()),
                        )]
                    })?;
            }
        }
        Ok(found)
    }

    /// Reads every resource (through the ledger, or by name/tag) without
    /// changing anything: the planned action of each, and the records the
    /// live state implies.
    ///
    /// Level by level, a resource is read once its dependencies have been
    /// (it may need what they turned out to be). But with a full ledger the
    /// dependencies are usually what the ledger says, so every resource
    /// whose dependencies the ledger records is first read at once, from
    /// those records: a plan of a converged environment costs one round of
    /// calls rather than one per level of the graph. Such an early read is
    /// used only if each dependency then reads as the ledger had it;
    /// otherwise the resource is planned as a create (a dependency is
    /// missing) or read again, so the answer is the one reading in order
    /// gives.
    #[allow(clippy::type_complexity)]
    async fn survey(
        &self,
    ) -> Result<(Vec<PlannedChange>, BTreeMap<LogicalId, Record>), Vec<(LogicalId, ResourceError)>>
    {
        let depths = self.graph.depths();
        let max_depth = depths.iter().copied().max().unwrap_or(0);
        let mut planned: BTreeMap<usize, Planned> = BTreeMap::new();
        let mut evidence: BTreeMap<usize, (Vec<Drift>, Vec<NotApplicable>)> = BTreeMap::new();
        let mut errors = Vec::new();
        let recorded: BTreeMap<LogicalId, Record> = lock(&self.ledger).records().clone();
        // Records as they would be after the run: the ledger's, plus
        // resources found by adoption, so dependents can be read too.
        let mut records = recorded.clone();
        let permits = Arc::new(Semaphore::new(self.concurrency));

        let mut early_reads = JoinSet::new();
        for i in 0..self.graph.len() {
            let node_and_deps_recorded = std::iter::once(i)
                .chain(self.graph.dependencies(i).iter().map(|&(j, _)| j))
                .all(|j| recorded.contains_key(self.graph.node(j).id()));
            if node_and_deps_recorded {
                let cx = self.context_from(i, &records);
                self.spawn_look(&mut early_reads, i, cx, &records, &permits);
            }
        }
        let mut early = BTreeMap::new();
        while let Some(joined) = early_reads.join_next().await {
            let (i, known, result) =
                joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            early.insert(i, (known, result));
        }

        for depth in 0..=max_depth {
            let mut results = Vec::new();
            let mut reads = JoinSet::new();
            for i in (0..self.graph.len()).filter(|&i| depths[i] == depth) {
                let deps = self.graph.dependencies(i);
                let blocked = deps
                    .iter()
                    .any(|&(j, _)| matches!(planned.get(&j), Some(Planned::Create) | None));
                if blocked {
                    planned.insert(i, Planned::Create);
                    continue;
                }
                let as_recorded = deps.iter().all(|&(j, _)| {
                    let id = self.graph.node(j).id();
                    let identity =
                        |r: &BTreeMap<LogicalId, Record>| r.get(id).and_then(Record::present);
                    identity(&records) == identity(&recorded)
                });
                match early.remove(&i) {
                    Some((known, result)) if as_recorded => results.push((i, known, result)),
                    _ => {
                        let cx = self.context_from(i, &records);
                        self.spawn_look(&mut reads, i, cx, &records, &permits);
                    }
                }
            }
            while let Some(joined) = reads.join_next().await {
                results.push(joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())));
            }
            for (i, known, result) in results {
                let node = self.graph.node(i);
                let p = match result {
                    Err(e) => {
                        errors.push((node.id().clone(), e));
                        Planned::Create
                    }
                    // Quick-checked: still there, as the ledger records it.
                    Ok(None) => Planned::NoChange {
                        physical_id: known.map(|k| k.physical_id).unwrap_or_default(),
                        properties_read: false,
                    },
                    Ok(Some(Observed::Missing)) => Planned::Create,
                    Ok(Some(Observed::Present {
                        present,
                        drift,
                        evidence: seen,
                        not_applicable: skipped,
                    })) => {
                        evidence.insert(i, (seen, skipped));
                        records.insert(
                            node.id().clone(),
                            record_of(node.kind(), &present, Status::Ready),
                        );
                        let physical_id = present.physical_id.clone();
                        if !drift.is_empty() {
                            Planned::Repair { physical_id, drift }
                        } else if known.is_some() {
                            Planned::NoChange {
                                physical_id,
                                properties_read: true,
                            }
                        } else {
                            Planned::Adopt { physical_id }
                        }
                    }
                };
                planned.insert(i, p);
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let changes = self
            .graph
            .order()
            .iter()
            .map(|&i| {
                let (evidence, not_applicable) = evidence.remove(&i).unwrap_or_default();
                PlannedChange {
                    id: self.graph.node(i).id().clone(),
                    kind: self.graph.node(i).kind().to_owned(),
                    planned: planned.remove(&i).unwrap_or(Planned::Create),
                    evidence,
                    not_applicable,
                }
            })
            .collect();
        Ok((changes, records))
    }

    /// Starts a look at resource `i` (for [`Self::survey`] and
    /// [`Self::early_looks`]) in `cx`, with what `records` knows of it: a
    /// quick check where allowed and the record permits one (`Ok(None)`:
    /// still there), else a full read.
    fn spawn_look(
        &self,
        reads: &mut JoinSet<Look>,
        i: usize,
        cx: Context,
        records: &BTreeMap<LogicalId, Record>,
        permits: &Arc<Semaphore>,
    ) {
        let node = self.graph.node(i).clone();
        let record = records.get(node.id()).cloned();
        let known = record.as_ref().and_then(Record::present);
        let permits = permits.clone();
        let quick = self.quick_checks;
        reads.spawn(async move {
            let _permit = permits.acquire_owned().await;
            if quick {
                match still_there(node.as_ref(), &cx, record.as_ref()).await {
                    Ok(true) => return (i, known, Ok(None)),
                    Ok(false) => {}
                    Err(e) => return (i, known, Err(e)),
                }
            }
            let read = node.read(&cx, known.as_ref()).await.map(Some);
            (i, known, read)
        });
    }

    /// What `down` would delete: everything the ledger holds, in order.
    pub fn plan_down(&self) -> Vec<PlannedChange> {
        let ledger = lock(&self.ledger);
        self.graph
            .order()
            .iter()
            .rev()
            .filter_map(|&i| {
                let node = self.graph.node(i);
                ledger.record(node.id()).map(|r| PlannedChange {
                    id: node.id().clone(),
                    kind: node.kind().to_owned(),
                    planned: Planned::Delete {
                        physical_id: r.physical_id.clone(),
                    },
                    evidence: Vec::new(),
                    not_applicable: Vec::new(),
                })
            })
            .collect()
    }
}

/// One look at a resource: its index, what the ledger knew of it, and what
/// the look found (`None`: a quick check found it still there).
type Look = (
    usize,
    Option<Present>,
    Result<Option<Observed>, ResourceError>,
);

fn record_of(kind: &str, present: &Present, status: Status) -> Record {
    Record {
        kind: kind.to_owned(),
        status,
        physical_id: Some(present.physical_id.clone()),
        attrs: present.attrs.clone(),
        updated_at: String::new(),
        last_error: None,
        converged: None,
        create_token: None,
    }
}

/// For a resource the ledger records as ready and converged to the desired
/// state this run computes: whether its quick check finds it still there.
/// Anything else (no record, another fingerprint, a recorded failure) needs
/// a full read.
async fn still_there(
    node: &dyn crate::Resource,
    cx: &Context,
    record: Option<&Record>,
) -> Result<bool, ResourceError> {
    let Some(record) = record else {
        return Ok(false);
    };
    let converged = record.status == Status::Ready
        && record.last_error.is_none()
        && record.converged.as_deref() == Some(cx.desired_fingerprint().as_str());
    match record.present() {
        Some(known) if converged => {
            Ok(node.quick_check(cx, &known).await? == QuickCheck::StillThere)
        }
        _ => Ok(false),
    }
}

fn phase(reporter: &dyn Reporter, node: &dyn crate::Resource, phase: Phase) {
    reporter.report(&Event::Phase {
        id: node.id(),
        kind: node.kind(),
        phase,
    });
}

/// How one resource's part of `up` runs.
struct How {
    /// The concurrency permit taken for it.
    permit: OwnedSemaphorePermit,
    /// Concurrency 1: hold the permit through the readiness wait too.
    one_at_a_time: bool,
    /// Quick checks allowed (`up` without `--refresh`).
    quick: bool,
    /// The run's early look at it (see [`Scheduler::early_looks`]), when
    /// nothing it depends on changed since: the desired-state fingerprint
    /// it was made under, and what it found.
    early: Option<(String, Early)>,
}

/// What an early look at a resource found.
enum Early {
    /// Its quick check: still there, as recorded.
    StillThere,
    /// A full read.
    Read(Observed),
}

/// One resource's part of `up`: read, then create/repair/leave, record, and
/// wait for readiness without holding a concurrency permit, except at
/// concurrency 1, which means one resource at a time from start to ready
/// (what a sequential script does).
async fn converge(
    i: usize,
    node: Arc<dyn crate::Resource>,
    cx: Context,
    ledger: Arc<Mutex<Ledger>>,
    reporter: Arc<dyn Reporter>,
    how: How,
    identified: mpsc::UnboundedSender<Identified>,
) -> Result<(Outcome, bool), RunError> {
    let How {
        permit,
        one_at_a_time,
        quick,
        early,
    } = how;
    // The caller passes it only if every dependency was left Unchanged (not
    // repaired); the fingerprint also catches one that read back with
    // another id than the ledger had. Taken by the first attempt only: a
    // repeated step looks again.
    let early = Mutex::new(
        early
            .filter(|(fingerprint, _)| *fingerprint == cx.desired_fingerprint())
            .map(|(_, found)| found),
    );
    let started = Instant::now();
    let id = node.id().clone();
    let kind = node.kind();
    let result = async {
        // A step still throttled after the SDK's attempts (its retry quota
        // runs dry under sustained throttling) is repeated within the
        // transient budget; safe because every step reads first.
        let (present, outcome, quick_checked) = retrying_on(&[], RunError::aws, || async {
            let record = lock(&ledger).record(&id).cloned();
            let known = record.as_ref().and_then(Record::present);
            phase(reporter.as_ref(), node.as_ref(), Phase::Reading);
            let early = early.lock().unwrap_or_else(|p| p.into_inner()).take();
            let still = match &early {
                Some(Early::StillThere) => true,
                Some(Early::Read(_)) => false,
                None => quick && still_there(node.as_ref(), &cx, record.as_ref()).await?,
            };
            if still {
                if let Some(known) = known {
                    return Ok((known, Outcome::Unchanged, true));
                }
            }
            let observed = match early {
                Some(Early::Read(observed)) => observed,
                _ => node.read(&cx, known.as_ref()).await?,
            };
            Ok(match observed {
                Observed::Missing => {
                    let token = lock(&ledger).set_creating(&id, kind)?;
                    phase(reporter.as_ref(), node.as_ref(), Phase::Creating);
                    let created = node.create(&cx.clone().with_create_token(token)).await?;
                    remove_strays(node.as_ref(), &cx, &created).await?;
                    (created, Outcome::Created, false)
                }
                Observed::Present { present, drift, .. } if !drift.is_empty() => {
                    tracing::info!(resource = %id, ?drift, "repairing drift");
                    phase(reporter.as_ref(), node.as_ref(), Phase::Repairing);
                    (
                        node.repair(&cx, &present, &drift).await?,
                        Outcome::Repaired,
                        false,
                    )
                }
                Observed::Present { present, .. } => {
                    // An intent record only (no physical id) means an
                    // earlier run created it: adopted, not unchanged.
                    let outcome = if known.is_some() {
                        Outcome::Unchanged
                    } else {
                        // Found by tag: an earlier run lost track of it,
                        // and may have created more than one.
                        remove_strays(node.as_ref(), &cx, &present).await?;
                        Outcome::Adopted
                    };
                    (present, outcome, false)
                }
            })
        })
        .await?;
        if quick_checked {
            // Still there, ready and converged as recorded: nothing to
            // write, nothing to wait for.
            return Ok((present, outcome, true));
        }
        let fingerprint = cx.desired_fingerprint();
        let already_ready = outcome == Outcome::Unchanged
            && lock(&ledger).record(&id).map(|r| r.status) == Some(Status::Ready);
        if !already_ready {
            lock(&ledger).set_present(&id, kind, &present, Status::Created, None)?;
        }
        // Released now (dropped) unless one at a time: then after the wait.
        let held = one_at_a_time.then_some(permit);
        let _ = identified.send(Identified(i, outcome));
        phase(reporter.as_ref(), node.as_ref(), Phase::WaitingReady);
        let ready = node.wait_ready(&cx, present).await?;
        drop(held);
        lock(&ledger).set_present(&id, kind, &ready, Status::Ready, Some(&fingerprint))?;
        Ok::<_, RunError>((ready, outcome, false))
    }
    .await;
    match result {
        Ok((present, outcome, quick)) => {
            reporter.report(&Event::Done {
                id: &id,
                kind,
                outcome,
                physical_id: Some(&present.physical_id),
                elapsed: started.elapsed(),
            });
            Ok((outcome, quick))
        }
        Err(e) => {
            if let RunError::Resource(re) = &e {
                reporter.report(&Event::Failed {
                    id: &id,
                    kind,
                    error: re,
                });
            }
            Err(e)
        }
    }
}

/// Deletes the copies of a resource nobody will ever record (see
/// `Resource::remove_strays`), keeping `keep`.
async fn remove_strays(
    node: &dyn crate::Resource,
    cx: &Context,
    keep: &Present,
) -> Result<(), ResourceError> {
    for stray in node.remove_strays(cx, keep).await? {
        tracing::warn!(resource = %node.id(), %stray, kept = %keep.physical_id, "a lost answer or an interrupted run had created a second copy; deleted it");
    }
    Ok(())
}

/// One resource's part of `down`.
async fn destroy(
    node: Arc<dyn crate::Resource>,
    cx: Context,
    ledger: Arc<Mutex<Ledger>>,
    reporter: Arc<dyn Reporter>,
    permits: Arc<Semaphore>,
) -> Result<Outcome, RunError> {
    let started = Instant::now();
    let id = node.id().clone();
    let kind = node.kind();
    let _permit = permits.acquire_owned().await.ok();
    let result = retrying_on(&[], RunError::aws, || async {
        let known = lock(&ledger).record(&id).and_then(Record::present);
        // An intent without a physical id: the create may or may not have
        // happened; look the resource up by name or tag.
        let target = match known {
            Some(p) => Some(p),
            None => {
                phase(reporter.as_ref(), node.as_ref(), Phase::Reading);
                match node.read(&cx, None).await? {
                    Observed::Present { present, .. } => Some(present),
                    Observed::Missing => None,
                }
            }
        };
        let Some(target) = target else {
            lock(&ledger).remove(&id, None, None)?;
            return Ok::<_, RunError>((None, Outcome::AlreadyGone));
        };
        lock(&ledger).set_deleting(&id)?;
        phase(reporter.as_ref(), node.as_ref(), Phase::Deleting);
        let outcome = node.delete(&cx, &target).await?;
        lock(&ledger).remove(
            &id,
            outcome.kept.as_deref(),
            outcome.encrypted_with.as_deref(),
        )?;
        let o = if outcome.kept.is_some() {
            Outcome::Kept
        } else {
            Outcome::Deleted
        };
        Ok((Some(target.physical_id), o))
    })
    .await;
    match result {
        Ok((physical_id, outcome)) => {
            reporter.report(&Event::Done {
                id: &id,
                kind,
                outcome,
                physical_id: physical_id.as_deref(),
                elapsed: started.elapsed(),
            });
            Ok(outcome)
        }
        Err(e) => {
            if let RunError::Resource(re) = &e {
                reporter.report(&Event::Failed {
                    id: &id,
                    kind,
                    error: re,
                });
            }
            Err(e)
        }
    }
}

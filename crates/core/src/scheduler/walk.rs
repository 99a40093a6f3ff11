//! The one walk `up` and `down` both make over the graph: start every
//! resource whose turn has come, many at once within the concurrency
//! bound, highest priority first; after a failure or a stop start nothing
//! new, let what is in flight finish, and record every failure.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use super::{lock, RunError, RunSummary, Scheduler};
use crate::graph::Need;
use crate::report::{Event, Outcome, Reporter};
use crate::resource::Resource;

/// Which way the walk goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Direction {
    /// `up`: a resource starts once its dependencies allow (identity or
    /// readiness).
    Up,
    /// `down`: a resource starts once everything depending on it is done.
    Down,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum State {
    Waiting,
    Running,
    /// Has an identity (its create returned); may still be waiting to be
    /// ready. Dependents needing only the identity can start.
    Identified,
    Done,
    Failed,
}

/// Sent by a task once its resource has an identity, so that dependents
/// needing only that can start before the readiness wait ends; with what
/// the run did to it.
pub(super) struct Identified(pub usize, pub Outcome);

/// How a task ended.
pub(super) struct Finish {
    pub outcome: Outcome,
    /// Only a quick check was needed (see `Scheduler::quick_checks`).
    pub quick_checked: bool,
}

/// Reports how a task on `node` ended (done with its physical id, or
/// failed), for `up`'s and `down`'s steps alike.
pub(super) fn reported(
    reporter: &dyn Reporter,
    node: &dyn Resource,
    started: tokio::time::Instant,
    physical_id: Option<&str>,
    result: Result<Finish, RunError>,
) -> Result<Finish, RunError> {
    match &result {
        Ok(finish) => reporter.report(&Event::Done {
            id: node.id(),
            kind: node.kind(),
            outcome: finish.outcome,
            physical_id,
            elapsed: started.elapsed(),
        }),
        Err(RunError::Resource(error)) => reporter.report(&Event::Failed {
            id: node.id(),
            kind: node.kind(),
            error,
        }),
        Err(RunError::Ledger(_)) => {}
    }
    result
}

/// What a task is started with.
pub(super) struct Start<'a> {
    pub i: usize,
    /// What the run has done so far, per resource.
    pub outcomes: &'a [Option<Outcome>],
    /// Its share of the concurrency bound, taken before it starts so the
    /// highest-priority startable resource gets the next free one.
    pub permit: OwnedSemaphorePermit,
    pub identified: mpsc::UnboundedSender<Identified>,
}

impl Scheduler {
    /// Walks the graph from `state` (resources already `Done` are not
    /// started), starting each resource with `start`, and records outcomes
    /// and failures in `summary`. Returns each resource's final state.
    pub(super) async fn walk<F, Fut>(
        &self,
        direction: Direction,
        mut state: Vec<State>,
        summary: &mut RunSummary,
        mut start: F,
    ) -> Vec<State>
    where
        F: FnMut(Start<'_>) -> Fut,
        Fut: Future<Output = Result<Finish, RunError>> + Send + 'static,
    {
        let n = self.graph.len();
        let order: Vec<usize> = match direction {
            Direction::Up => self.graph.priority().to_vec(),
            Direction::Down => self.graph.order().iter().rev().copied().collect(),
        };
        let permits = Arc::new(Semaphore::new(self.concurrency));
        let (tx, mut rx) = mpsc::unbounded_channel::<Identified>();
        let mut tasks: JoinSet<(usize, Result<Finish, RunError>)> = JoinSet::new();
        let mut outcomes: Vec<Option<Outcome>> = vec![None; n];
        let mut stop = self.stop.clone();
        let mut stopping = *stop.borrow();
        loop {
            if !stopping {
                for &i in &order {
                    if state[i] != State::Waiting || !self.its_turn(direction, i, &state) {
                        continue;
                    }
                    let Ok(permit) = permits.clone().try_acquire_owned() else {
                        break;
                    };
                    state[i] = State::Running;
                    let task = start(Start {
                        i,
                        outcomes: &outcomes,
                        permit,
                        identified: tx.clone(),
                    });
                    let step = crate::retry::Step::new(Some(self.stop.clone()));
                    tasks.spawn(async move { (i, step.run(task).await) });
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
                        Ok(finish) => {
                            state[i] = State::Done;
                            outcomes[i] = Some(finish.outcome);
                            summary.quick_checked += usize::from(finish.quick_checked);
                            summary.outcomes.push((id, finish.outcome));
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
        state
    }

    /// Whether resource `i` may start now.
    fn its_turn(&self, direction: Direction, i: usize, state: &[State]) -> bool {
        match direction {
            Direction::Up => self
                .graph
                .dependencies(i)
                .iter()
                .all(|&(j, need)| match need {
                    Need::Identity => matches!(state[j], State::Identified | State::Done),
                    Need::Ready => state[j] == State::Done,
                }),
            Direction::Down => self
                .graph
                .dependents(i)
                .iter()
                .all(|&j| state[j] == State::Done),
        }
    }

    /// Reports the resources a walk never started, and why.
    pub(super) fn report_unstarted(
        &self,
        state: &[State],
        summary: &mut RunSummary,
        after_failure: &'static str,
    ) {
        for (i, s) in state.iter().enumerate() {
            if *s == State::Waiting {
                let id = self.graph.node(i).id();
                let reason = if summary.interrupted {
                    "run interrupted"
                } else {
                    after_failure
                };
                self.reporter.report(&Event::Skipped { id, reason });
                summary.skipped.push(id.clone());
            }
        }
    }
}

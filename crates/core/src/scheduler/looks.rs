//! Looks at resources before their turn: a quick check where the ledger
//! allows one, else a full read. `up` and `plan` look at everything the
//! ledger records at once, so an unchanged environment costs one round of
//! calls instead of one per level of the graph.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{lock, Scheduler};
use crate::context::Context;
use crate::error::ResourceError;
use crate::id::LogicalId;
use crate::ledger::{Record, Status};
use crate::state::{Observed, Present, QuickCheck};

/// One look at a resource: its index, what the ledger knew of it, and what
/// the look found (`None`: a quick check found it still there).
pub(super) struct Look {
    pub i: usize,
    pub known: Option<Present>,
    pub found: Result<Option<Observed>, ResourceError>,
}

/// An early look (see [`Scheduler::early_looks`]): the desired-state
/// fingerprint it was made under, and what it found.
pub(super) struct EarlyLook {
    pub fingerprint: String,
    pub found: Early,
}

/// What an early look at a resource found.
pub(super) enum Early {
    /// Its quick check: still there, as recorded.
    StillThere,
    /// A full read.
    Read(Observed),
}

impl Scheduler {
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
    pub(super) async fn early_looks(&self) -> BTreeMap<usize, EarlyLook> {
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
        let mut looks_found = BTreeMap::new();
        while let Some(joined) = looks.join_next().await {
            let Look { i, found, .. } =
                joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            let early = match found {
                Ok(None) => Early::StillThere,
                Ok(Some(observed)) => Early::Read(observed),
                Err(_) => continue,
            };
            if let Some(fingerprint) = fingerprints.remove(&i) {
                looks_found.insert(
                    i,
                    EarlyLook {
                        fingerprint,
                        found: early,
                    },
                );
            }
        }
        looks_found
    }

    /// Starts a look at resource `i` (for [`Self::survey`] and
    /// [`Self::early_looks`]) in `cx`, with what `records` knows of it: a
    /// quick check where allowed and the record permits one (`Ok(None)`:
    /// still there), else a full read.
    pub(super) fn spawn_look(
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
        let id = node.id().clone();
        reads.spawn(crate::reading::scope(id, async move {
            let _permit = permits.acquire_owned().await;
            if quick {
                match still_there(node.as_ref(), &cx, record.as_ref()).await {
                    Ok(true) => {
                        return Look {
                            i,
                            known,
                            found: Ok(None),
                        }
                    }
                    Ok(false) => {}
                    Err(e) => {
                        return Look {
                            i,
                            known,
                            found: Err(e),
                        }
                    }
                }
            }
            let read = node.read(&cx, known.as_ref()).await.map(Some);
            Look {
                i,
                known,
                found: read,
            }
        }));
    }
}

/// For a resource the ledger records as ready and converged to the desired
/// state this run computes: whether its quick check finds it still there.
/// Anything else (no record, another fingerprint, a recorded failure) needs
/// a full read.
pub(super) async fn still_there(
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

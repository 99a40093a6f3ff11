//! `plan`: what a run would do to each resource, read without changing
//! anything (`plan_up`, `plan_down`), and `discover`, which records what a
//! lost ledger no longer lists.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::looks::Look;
use super::{lock, Scheduler};
use crate::error::ResourceError;
use crate::id::LogicalId;
use crate::ledger::{Record, Status};
use crate::state::{Comparison, NotApplicable, Observed};

/// What `plan` expects a run to do to one resource.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Planned {
    Create,
    Adopt {
        physical_id: String,
    },
    Repair {
        physical_id: String,
        drift: Vec<Comparison>,
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

impl Planned {
    /// The live resource's id, when there is one.
    pub fn physical_id(&self) -> Option<&str> {
        match self {
            Self::Create => None,
            Self::Adopt { physical_id }
            | Self::Repair { physical_id, .. }
            | Self::NoChange { physical_id, .. } => Some(physical_id),
            Self::Delete { physical_id } => physical_id.as_deref(),
        }
    }
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
    pub evidence: Vec<Comparison>,
    /// Properties the read deliberately did not check here, with why.
    #[serde(skip)]
    pub not_applicable: Vec<NotApplicable>,
    /// The shared listings (`crate::census`) the read took its answer
    /// from, besides its own calls.
    #[serde(skip)]
    pub shared_listings: Vec<String>,
}

/// What a survey found: each resource's planned action, and the records
/// the live state implies (the ledger's, plus what was found by adoption).
struct Survey {
    changes: Vec<PlannedChange>,
    records: BTreeMap<LogicalId, Record>,
}

impl Scheduler {
    /// What `up` would do, reading but changing nothing: every resource the
    /// ledger knows is looked at once (see `survey`).
    pub async fn plan_up(&self) -> Result<Vec<PlannedChange>, Vec<(LogicalId, ResourceError)>> {
        Ok(self.survey().await?.changes)
    }

    /// Finds, by name or tag, the stack's resources that the ledger does not
    /// list (it was lost or deleted), and records them so `down` can remove
    /// them. Returns what was found.
    pub async fn discover(&self) -> Result<Vec<PlannedChange>, Vec<(LogicalId, ResourceError)>> {
        let Survey { changes, records } = self.survey().await?;
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
    async fn survey(&self) -> Result<Survey, Vec<(LogicalId, ResourceError)>> {
        let depths = self.graph.depths();
        let max_depth = depths.iter().copied().max().unwrap_or(0);
        let mut planned: BTreeMap<usize, Planned> = BTreeMap::new();
        let mut evidence: BTreeMap<usize, (Vec<Comparison>, Vec<NotApplicable>)> = BTreeMap::new();
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
            let look = joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            early.insert(look.i, look);
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
                    Some(look) if as_recorded => results.push(look),
                    _ => {
                        let cx = self.context_from(i, &records);
                        self.spawn_look(&mut reads, i, cx, &records, &permits);
                    }
                }
            }
            while let Some(joined) = reads.join_next().await {
                results.push(joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())));
            }
            for Look { i, known, found } in results {
                let node = self.graph.node(i);
                let p = match found {
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
                            Record::of(node.kind(), &present, Status::Ready, None),
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
                    shared_listings: self.census.listings_of(self.graph.node(i).id().as_str()),
                }
            })
            .collect();
        Ok(Survey { changes, records })
    }

    /// What `down` would delete: everything the ledger holds, in order.
    pub fn plan_down(&self) -> Vec<PlannedChange> {
        self.plan_delete_where(|_| true)
    }

    /// What [`Scheduler::remove`] would delete, dependents first.
    pub fn plan_remove(&self, ids: &[LogicalId]) -> Vec<PlannedChange> {
        self.plan_delete_where(|id| ids.contains(id))
    }

    fn plan_delete_where(&self, chosen: impl Fn(&LogicalId) -> bool) -> Vec<PlannedChange> {
        let ledger = lock(&self.ledger);
        self.graph
            .order()
            .iter()
            .rev()
            .filter(|&&i| chosen(self.graph.node(i).id()))
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
                    shared_listings: Vec::new(),
                })
            })
            .collect()
    }
}

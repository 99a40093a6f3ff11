//! What `up` removes when a component is switched off: the resources the
//! ledger records that the configuration no longer builds, and what stays.

use std::sync::{Arc, Mutex};

use paysec_core::scheduler::Scheduler;
use paysec_core::{Graph, Ledger};

use crate::exit::Failure;

use super::session::Session;

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
        session: &Session<'_>,
        ledger: &Arc<Mutex<Ledger>>,
        scheduler: impl FnOnce(Graph) -> Scheduler,
    ) -> Result<Removal, Failure> {
        let whole = {
            let l = ledger.lock().unwrap_or_else(|p| p.into_inner());
            session.whole_graph(&l)?
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

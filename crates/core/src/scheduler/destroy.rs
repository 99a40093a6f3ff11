//! `down`'s step for one resource ([`Destroy`]): delete it, or keep it on
//! purpose and say why.

use std::sync::{Arc, Mutex};

use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use super::converge::phase;
use super::walk::{reported, Finish};
use super::{lock, RunError};
use crate::context::Context;
use crate::error::ResourceError;
use crate::ledger::{Ledger, Record};
use crate::report::{Outcome, Phase, Reporter};
use crate::resource::Resource;
use crate::retry::retrying_on;
use crate::state::{Observed, Ownership};

/// One resource's part of `down`, as a task.
pub(super) struct Destroy {
    pub node: Arc<dyn Resource>,
    pub cx: Context,
    pub ledger: Arc<Mutex<Ledger>>,
    pub reporter: Arc<dyn Reporter>,
    /// The concurrency permit taken for it, held to the end.
    pub permit: OwnedSemaphorePermit,
}

impl Destroy {
    pub(super) async fn run(self) -> Result<Finish, RunError> {
        let Destroy {
            node,
            cx,
            ledger,
            reporter,
            permit,
        } = self;
        let _permit = permit;
        let started = Instant::now();
        let id = node.id().clone();
        let result = retrying_on(&[], RunError::aws, || async {
            let known = lock(&ledger).record(&id).and_then(Record::present);
            // An intent without a physical id: the create may or may not have
            // happened; look the resource up by name or tag. An id from the
            // ledger is deleted only once the resource proves to be this
            // environment's: the ledger may have been edited.
            let target = match known {
                Some(p) => {
                    phase(reporter.as_ref(), node.as_ref(), Phase::Reading);
                    match node.ownership(&cx, &p).await? {
                        Ownership::Gone => None,
                        Ownership::Proven => Some(p),
                        Ownership::Unproven(why) => {
                            return Err(RunError::from(ResourceError::unexpected(
                                &id,
                                format!("not deleting it: the ledger names {}, but {why}; paysec deletes only what proves to be this environment's. Check the ledger ({}); if the resource is this environment's, restore its paysec:environment and paysec:logical-id tags", p.physical_id, "paysec status"),
                            )));
                        }
                    }
                }
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
            let durable = lock(&ledger).durable();
            durable.wait().await?;
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
        let physical_id = result.as_ref().ok().and_then(|(p, _)| p.clone());
        reported(
            reporter.as_ref(),
            node.as_ref(),
            started,
            physical_id.as_deref(),
            result.map(|(_, outcome)| Finish {
                outcome,
                quick_checked: false,
            }),
        )
    }
}

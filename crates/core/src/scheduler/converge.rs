//! `up`'s step for one resource ([`Converge`]), and the sweep for second
//! copies a lost answer may have left.

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio::time::Instant;

use super::looks::{still_there, Early, EarlyLook};
use super::walk::{reported, Finish, Identified};
use super::{lock, RunError};
use crate::context::Context;
use crate::error::ResourceError;
use crate::ledger::{Ledger, Record, Status};
use crate::report::{Event, Outcome, Phase, Reporter};
use crate::resource::Resource;
use crate::retry::retrying_on;
use crate::state::{Observed, Present};

/// One resource's part of `up`, as a task: read, then create, repair or
/// leave it, record, and wait for readiness without holding a concurrency
/// permit, except at concurrency 1, which means one resource at a time from
/// start to ready (what a sequential script does).
pub(super) struct Converge {
    pub i: usize,
    pub node: Arc<dyn Resource>,
    pub cx: Context,
    pub ledger: Arc<Mutex<Ledger>>,
    pub reporter: Arc<dyn Reporter>,
    /// The concurrency permit taken for it.
    pub permit: OwnedSemaphorePermit,
    /// Concurrency 1: hold the permit through the readiness wait too.
    pub one_at_a_time: bool,
    /// Quick checks allowed (`up --no-refresh`).
    pub quick: bool,
    /// `up --adopt` (see `Scheduler::adopting_unrecorded`).
    pub adopt_unrecorded: bool,
    /// The run's early look at it (see [`Scheduler::early_looks`]), when
    /// nothing it depends on changed since.
    pub early: Option<EarlyLook>,
    /// Told once the resource has an identity.
    pub identified: mpsc::UnboundedSender<Identified>,
}

impl Converge {
    pub(super) async fn run(self) -> Result<Finish, RunError> {
        let Converge {
            i,
            node,
            cx,
            ledger,
            reporter,
            permit,
            one_at_a_time,
            quick,
            adopt_unrecorded,
            early,
            identified,
        } = self;
        // The caller passes it only if every dependency was left Unchanged
        // (not repaired); the fingerprint also catches one that read back
        // with another id than the ledger had. Taken by the first attempt
        // only: a repeated step looks again.
        let early = Mutex::new(
            early
                .filter(|look| look.fingerprint == cx.desired_fingerprint())
                .map(|look| look.found),
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
                // Found by name or tag although the ledger never recorded
                // creating it: anyone can name or tag a resource like ours.
                if let (None, Observed::Present { present, .. }) = (&known, &observed) {
                    let intent = record.as_ref().and_then(|r| r.create_token.as_ref());
                    // What an earlier `down` kept (the audit logs) is this
                    // ledger's: it names it.
                    let kept = cx.kept_physical_id() == Some(present.physical_id.as_str());
                    if intent.is_none() && !kept && !adopt_unrecorded && node.adoption_needs_proof() {
                        return Err(RunError::from(ResourceError::unexpected(
                            &id,
                            format!(
                                "found {} named or tagged as this environment's {id}, but the ledger never recorded creating it; paysec adopts only what it can prove it made: remove it (or its paysec:* tags), or, if this environment's ledger was lost, review `paysec plan` and run `paysec up --adopt`",
                                present.physical_id
                            ),
                        )));
                    }
                    // The ledger recorded a create: what was found must be
                    // that create's, carrying its token wherever it carries
                    // paysec's tags at all.
                    if let (Some(token), Observed::Present { drift, .. }) = (intent, &observed) {
                        let missing = crate::tags::missing_in(drift);
                        if !adopt_unrecorded
                            && node.adoption_needs_proof()
                            && crate::tags::tagged_by_another(
                                &missing,
                                cx.env.name.as_str(),
                                id.as_str(),
                                token,
                            )
                        {
                            return Err(RunError::from(ResourceError::unexpected(
                                &id,
                                format!(
                                    "found {} tagged as this environment's {id}, but without the token of the create the ledger recorded ({}); it is not the one paysec made, and paysec adopts only what it can prove it made: remove it (or its paysec:* tags) and run again",
                                    present.physical_id,
                                    crate::tags::CREATE_TOKEN
                                ),
                            )));
                        }
                    }
                }
                Ok(match observed {
                    Observed::Missing => {
                        let token = lock(&ledger).set_creating(&id, kind)?;
                        // The intent is stored before the create it
                        // announces (a shared ledger's writer may hold
                        // it a moment, batched with other changes).
                        let durable = lock(&ledger).durable();
                        durable.wait().await?;
                        phase(reporter.as_ref(), node.as_ref(), Phase::Creating);
                        // The create and its sweep know the token: the copy
                        // made carries it, and only copies carrying it are
                        // second copies of this create.
                        let creating = cx.clone().with_create_token(token);
                        let created = node.create(&creating).await?;
                        remove_strays(node.as_ref(), &creating, &created).await?;
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
        let physical_id = result.as_ref().ok().map(|(p, _, _)| p.physical_id.clone());
        reported(
            reporter.as_ref(),
            node.as_ref(),
            started,
            physical_id.as_deref(),
            result.map(|(_, outcome, quick_checked)| Finish {
                outcome,
                quick_checked,
            }),
        )
    }
}

/// Deletes the copies of a resource nobody will ever record (see
/// `Resource::remove_strays`), keeping `keep`.
pub(super) async fn remove_strays(
    node: &dyn Resource,
    cx: &Context,
    keep: &Present,
) -> Result<(), ResourceError> {
    for stray in node.remove_strays(cx, keep).await? {
        tracing::warn!(resource = %node.id(), %stray, kept = %keep.physical_id, "a lost answer or an interrupted run had created a second copy; deleted it");
    }
    Ok(())
}

pub(super) fn phase(reporter: &dyn Reporter, node: &dyn Resource, phase: Phase) {
    reporter.report(&Event::Phase {
        id: node.id(),
        kind: node.kind(),
        phase,
    });
}

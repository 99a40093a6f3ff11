//! The resource model: what every AWS resource paysec manages can do, and
//! what it tells the scheduler about its state.

use std::time::Duration;

use async_trait::async_trait;

pub use crate::context::{poll_interval, Context, WaitBudget};
use crate::error::ResourceError;
use crate::id::LogicalId;
use crate::property::TAGS;
pub use crate::state::{
    Attr, Checks, Comparison, DeleteOutcome, NotApplicable, Observed, Ownership, Present,
    QuickCheck,
};

/// Whether a resource is this environment's, from what its context says
/// this environment and resource are (here, not in `state`, which knows
/// no context).
impl Ownership {
    /// The tags that prove a resource this environment's, as `key=value`:
    /// its environment and its logical id.
    fn proving_tags(cx: &Context) -> [String; 2] {
        [
            format!("{}={}", crate::tags::ENVIRONMENT, cx.env.name.as_str()),
            format!("{}={}", crate::tags::LOGICAL_ID, cx.resource.as_str()),
        ]
    }

    /// The verdict of a resource's live tags: they must name this
    /// environment and this logical id.
    pub fn from_tags(cx: &Context, physical_id: &str, tags: &[(String, String)]) -> Self {
        let live: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let proving = Self::proving_tags(cx);
        let missing: Vec<&String> = proving.iter().filter(|t| !live.contains(t)).collect();
        Self::of_missing(physical_id, &missing)
    }

    /// The verdict of a full read of `known`: the read's tag comparison must
    /// find this environment's and this logical id's tags (a difference in
    /// the user's own tags or the create token does not matter); a kind
    /// whose read compares no tags must be exactly what the read examined
    /// (the read goes by the name this environment gives it, so the
    /// ledger's id must be that name, not merely share its prefix:
    /// `paysec-dev-` is also the start of environment `dev-2`'s names) and
    /// carry the environment's name prefix.
    pub fn from_read(observed: &Observed, cx: &Context, known: &Present) -> Self {
        let Observed::Present {
            present,
            drift,
            evidence,
            ..
        } = observed
        else {
            return Self::Gone;
        };
        if drift.iter().any(|d| d.property == TAGS) {
            let lacking = crate::tags::missing_in(drift);
            let proving = Self::proving_tags(cx);
            let missing: Vec<&String> = proving
                .iter()
                .filter(|t| lacking.contains(&t.as_str()))
                .collect();
            return Self::of_missing(&known.physical_id, &missing);
        }
        if evidence.iter().any(|d| d.property == TAGS) {
            return Self::Proven;
        }
        let prefix = format!("{}-", cx.env.names.prefix());
        if !known.physical_id.contains(&prefix) {
            Self::Unproven(format!(
                "{} is not named with this environment's prefix {prefix}",
                known.physical_id
            ))
        } else if present.physical_id != known.physical_id {
            Self::Unproven(format!(
                "{} is not {}, the name this environment gives it",
                known.physical_id, present.physical_id
            ))
        } else {
            Self::Proven
        }
    }
}

/// How one resource depends on another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dependency {
    /// Needs only the other's identity (its id/ARN exists): starts as soon
    /// as the other's create call has returned.
    Identity(LogicalId),
    /// Needs the other to be ready (RDS `available`, Lambda `Active`): waits
    /// for the other's readiness wait to end.
    Ready(LogicalId),
}

impl Dependency {
    pub fn target(&self) -> &LogicalId {
        match self {
            Self::Identity(id) | Self::Ready(id) => id,
        }
    }
}

/// An AWS resource paysec can converge and destroy.
///
/// Every method is safe to repeat: `create` adopts what already exists and
/// `delete` treats "not found" as done, so a re-run after a crash converges.
#[async_trait]
pub trait Resource: Send + Sync + 'static {
    fn id(&self) -> &LogicalId;

    /// Short kind for display and the ledger, e.g. `kms_key`.
    fn kind(&self) -> &'static str;

    fn dependencies(&self) -> Vec<Dependency>;

    /// Finds the live resource: through `known` (the ledger's record) when
    /// there is one, otherwise by name or tag (adoption), and compares it
    /// with the desired state.
    async fn read(&self, cx: &Context, known: Option<&Present>) -> Result<Observed, ResourceError>;

    /// Creates the resource with all its properties. When AWS says it
    /// exists already, adopts it.
    async fn create(&self, cx: &Context) -> Result<Present, ResourceError>;

    /// Brings an existing resource back to the desired state.
    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError>;

    /// One cheap look at a resource the ledger records as converged to
    /// the same desired state (`desired`): is it still there and usable?
    /// At most one read call, or a share of a batched one (`cx.census()`),
    /// so that an `up` where nothing changed costs under one call per
    /// resource. Properties are not compared: `up --refresh`, `plan
    /// --refresh` and `verify` read everything. The default reads fully,
    /// for kinds whose full read is a single call anyway.
    async fn quick_check(
        &self,
        _cx: &Context,
        _known: &Present,
    ) -> Result<QuickCheck, ResourceError> {
        Ok(QuickCheck::ReadFully)
    }

    /// How long readiness typically takes on AWS after the create returns
    /// (RDS Multi-AZ: 20 min). Only orders work: the longest chains start
    /// first.
    fn typical_wait(&self) -> Duration {
        Duration::ZERO
    }

    /// Waits until the resource is usable by dependents that need readiness.
    /// Most resources are usable as soon as they exist.
    async fn wait_ready(&self, _cx: &Context, present: Present) -> Result<Present, ResourceError> {
        Ok(present)
    }

    /// Live resources other than `keep` that carry this resource's tags:
    /// what a create left behind when its answer was lost after AWS acted
    /// (a dropped connection the SDK retried, a crash before the ledger
    /// write). Only kinds whose create is not idempotent (no client token,
    /// no unique name: EC2 networking, KMS keys) can have any.
    /// Deletes them (nothing references them: the ledger never recorded
    /// them) and returns their ids.
    async fn remove_strays(
        &self,
        _cx: &Context,
        _keep: &Present,
    ) -> Result<Vec<String>, ResourceError> {
        Ok(Vec::new())
    }

    /// Whether `up` may adopt it, found by name or tag, only with a create
    /// the ledger recorded (see `Scheduler::adopting_unrecorded`). `false`
    /// for what nobody else could have made: settings on resources paysec
    /// proved its own (the security group rules, the VPC's defaults), and
    /// what serves every environment of the account (RDS enhanced
    /// monitoring's log group, made by whichever environment came first).
    fn adoption_needs_proof(&self) -> bool {
        true
    }

    /// Before `down` deletes `known`, the resource the ledger names (and
    /// anyone who can write the ledger can name another): whether it is
    /// this environment's. Default: a full read, judged by
    /// [`Ownership::from_read`]. A kind whose `delete` deletes nothing (a
    /// shared log group, the VPC's defaults) says `Proven`.
    async fn ownership(&self, cx: &Context, known: &Present) -> Result<Ownership, ResourceError> {
        let observed = self.read(cx, Some(known)).await?;
        Ok(Ownership::from_read(&observed, cx, known))
    }

    /// Deletes the resource. Not found is success.
    async fn delete(&self, cx: &Context, known: &Present) -> Result<DeleteOutcome, ResourceError>;
}

/// For a create AWS refused because the resource exists already (an earlier
/// run created it and its result was lost): read it and converge it, so the
/// create still ends with the desired state. Still missing on the read: the
/// refusal stands.
pub async fn adopt_after_conflict<R: Resource + ?Sized>(
    resource: &R,
    cx: &Context,
    conflict: ResourceError,
) -> Result<Present, ResourceError> {
    match resource.read(cx, None).await? {
        Observed::Present { present, drift, .. } if drift.is_empty() => Ok(present),
        Observed::Present { present, drift, .. } => resource.repair(cx, &present, &drift).await,
        Observed::Missing => Err(conflict),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_grow_with_the_wait_within_bounds() {
        let s = Duration::from_secs;
        assert_eq!(poll_interval(s(0)), Duration::from_millis(500));
        assert_eq!(poll_interval(s(40)), s(2));
        assert_eq!(poll_interval(s(20 * 60)), s(30));
        // The number of polls of a 20-minute wait stays near a hundred.
        let (mut t, mut polls) = (Duration::ZERO, 0);
        while t < s(20 * 60) {
            t += poll_interval(t);
            polls += 1;
        }
        assert!((90..130).contains(&polls), "{polls}");
    }

    #[test]
    fn a_tagless_kind_is_this_environment_s_only_under_its_exact_name() {
        let cx = crate::testing::context("monitoring.filter", &[]);
        // The read goes by the name this environment gives the resource.
        let read = |name: &str| Checks::default().observed(Present::new(name));
        let own = Present::new("paysec-test-001-denied-calls");
        assert_eq!(
            Ownership::from_read(&read("paysec-test-001-denied-calls"), &cx, &own),
            Ownership::Proven
        );
        // Environment `test-001-2`'s filter shares the prefix, not the name.
        let neighbour = Present::new("paysec-test-001-2-denied-calls");
        let verdict = Ownership::from_read(&read("paysec-test-001-denied-calls"), &cx, &neighbour);
        assert!(
            matches!(&verdict, Ownership::Unproven(why) if why.contains("is not paysec-test-001-denied-calls")),
            "{verdict:?}"
        );
        let foreign = Present::new("someone-elses");
        assert!(matches!(
            Ownership::from_read(&read("someone-elses"), &cx, &foreign),
            Ownership::Unproven(_)
        ));
    }

    crate::properties! {
        enum Sample {
            Rotation = "rotation",
            RetentionDays = "retention_days",
            Policy = "policy",
            Logging = "logging",
        }
    }

    #[test]
    fn checks_split_into_drift_and_evidence_with_live_values() {
        let mut c = Checks::default();
        c.equal(Sample::Rotation, "enabled", "enabled");
        c.equal(Sample::RetentionDays, 365, 30);
        let doc = serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt"}]});
        c.policy(Sample::Policy, &doc, &doc);
        c.not_applicable(Sample::Logging, "the log bucket itself");
        let wanted = vec![("paysec:environment".to_owned(), "dev".to_owned())];
        c.tags(&wanted, &[]);
        let Observed::Present {
            drift,
            evidence,
            not_applicable,
            ..
        } = c.observed(Present::new("k"))
        else {
            panic!("present");
        };
        assert_eq!(
            drift,
            [
                Comparison::new("retention_days", "365", "30"),
                Comparison::new("tags", "paysec:environment=dev", "absent"),
            ]
        );
        assert_eq!(
            evidence,
            [
                Comparison::new("rotation", "enabled", "enabled"),
                Comparison::new(
                    "policy",
                    crate::policy_doc::quote(&doc),
                    crate::policy_doc::quote(&doc)
                ),
            ]
        );
        assert_eq!(not_applicable[0].property, "logging");
    }
}

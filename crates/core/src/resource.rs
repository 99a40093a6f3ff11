//! The resource model: what every AWS resource paysec manages can do, and
//! what it tells the scheduler about its state.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::census::Census;
use crate::environment::Environment;
use crate::error::{ErrorClass, ResourceError};
use crate::id::LogicalId;
use crate::ledger::Record;
use crate::report::{Event, Reporter};

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

/// A live resource as paysec knows it: its physical id and the attributes
/// later steps need (ARNs, endpoints). Never a secret.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Present {
    pub physical_id: String,
    #[serde(default)]
    pub attrs: BTreeMap<String, String>,
}

impl Present {
    pub fn new(physical_id: impl Into<String>) -> Self {
        Self {
            physical_id: physical_id.into(),
            attrs: BTreeMap::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.attrs.insert(key.to_owned(), value.into());
        self
    }
}

/// One property of a live resource compared with what paysec wants. In a
/// read's `drift` it differs; in its `evidence` it matched, and `actual` is
/// the live value that matched (what `verify` quotes to an auditor).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub property: String,
    pub expected: String,
    pub actual: String,
}

impl Drift {
    pub fn new(property: &str, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Self {
            property: property.to_owned(),
            expected: expected.into(),
            actual: actual.into(),
        }
    }
}

/// What a read found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observed {
    /// Nothing there (or only something being deleted): create it.
    Missing,
    /// It exists; `drift` lists what differs from the desired state,
    /// `evidence` what was compared and matched, with the live value, and
    /// `not_applicable` the properties that do not apply to this one,
    /// with why.
    Present {
        present: Present,
        drift: Vec<Drift>,
        evidence: Vec<Drift>,
        not_applicable: Vec<NotApplicable>,
    },
}

/// A read's comparisons, property by property: each check records the
/// wanted and the live value whether or not they match, so a failing check
/// becomes drift to repair and a passing one evidence for `verify`.
#[derive(Clone, Debug, Default)]
pub struct Checks {
    drift: Vec<Drift>,
    evidence: Vec<Drift>,
    not_applicable: Vec<NotApplicable>,
}

/// A property the desired state deliberately leaves out for this resource
/// (a bucket that is itself the log target, an instance class without
/// Performance Insights), with the reason an auditor reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotApplicable {
    pub property: String,
    pub why: String,
}

impl Checks {
    /// Records one property; `ok` says whether the live value is compliant.
    pub fn check(
        &mut self,
        property: &str,
        ok: bool,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) {
        let d = Drift::new(property, expected, actual);
        if ok {
            self.evidence.push(d);
        } else {
            self.drift.push(d);
        }
    }

    /// Records one property whose live value must equal the wanted one.
    pub fn equal(&mut self, property: &str, expected: impl ToString, actual: impl ToString) {
        let (e, a) = (expected.to_string(), actual.to_string());
        self.check(property, e == a, e, a);
    }

    /// Records a policy document compared as a whole (`same` from
    /// `policy_doc::same`); `what` names the wanted one in reports.
    pub fn policy(&mut self, property: &str, same: bool, what: &str) {
        let actual = if same { what } else { "a different policy" };
        self.check(property, same, what, actual);
    }

    /// Records the inventory tags: every one of `wanted` must be on the
    /// resource with its value (other tags are the user's business).
    pub fn tags(&mut self, wanted: &[(String, String)], actual: &[(String, String)]) {
        let missing = crate::tags::missing(wanted, actual);
        if missing.is_empty() {
            let seen: Vec<String> = wanted.iter().map(|(k, v)| format!("{k}={v}")).collect();
            self.evidence
                .push(Drift::new("tags", seen.join(","), seen.join(",")));
        } else {
            self.drift
                .push(Drift::new("tags", missing.join(","), "absent"));
        }
    }

    /// Records that `property` is deliberately not checked here, and why.
    pub fn not_applicable(&mut self, property: &str, why: impl Into<String>) {
        self.not_applicable.push(NotApplicable {
            property: property.to_owned(),
            why: why.into(),
        });
    }

    pub fn drift(&self) -> &[Drift] {
        &self.drift
    }

    /// The read's answer for a resource that exists.
    pub fn observed(self, present: Present) -> Observed {
        Observed::Present {
            present,
            drift: self.drift,
            evidence: self.evidence,
            not_applicable: self.not_applicable,
        }
    }
}

/// What `delete` did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteOutcome {
    /// Set when something was deliberately kept (a key in its deletion
    /// window, a final snapshot), saying what and until when. The ledger
    /// keeps this note after the record is gone.
    pub kept: Option<String>,
    /// What was kept holds data encrypted with this KMS key (its ARN): the
    /// key must outlive it, so `down` keeps that key too (see
    /// `Context::kept_data`).
    pub encrypted_with: Option<String>,
}

/// What a quick check (`Resource::quick_check`) concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuickCheck {
    /// It is there and usable, as the ledger records it.
    StillThere,
    /// Gone, not usable, or this kind has no quick check: read it fully
    /// (and create or repair it).
    ReadFully,
}

impl From<bool> for QuickCheck {
    fn from(still_there: bool) -> Self {
        if still_there {
            Self::StillThere
        } else {
            Self::ReadFully
        }
    }
}

impl QuickCheck {
    /// From one lookup call: still there when it found something `usable`;
    /// not found means read fully; any other error stands.
    pub fn from_lookup<T>(
        found: Result<T, ResourceError>,
        usable: impl FnOnce(&T) -> bool,
    ) -> Result<Self, ResourceError> {
        Ok(crate::error::not_found_is_none(found)?
            .is_some_and(|t| usable(&t))
            .into())
    }
}

/// What a resource operation can see: where it runs, the ledger records of
/// its dependencies, the run's batched listings, and a way to report long
/// waits.
#[derive(Clone)]
pub struct Context {
    pub env: Arc<Environment>,
    pub resource: LogicalId,
    deps: BTreeMap<LogicalId, Record>,
    reporter: Arc<dyn Reporter>,
    census: Arc<Census>,
    create_token: Option<String>,
    kept_data: Vec<String>,
}

impl Context {
    pub fn new(
        env: Arc<Environment>,
        resource: LogicalId,
        deps: BTreeMap<LogicalId, Record>,
        reporter: Arc<dyn Reporter>,
    ) -> Self {
        Self {
            env,
            resource,
            deps,
            reporter,
            census: Arc::default(),
            create_token: None,
            kept_data: Vec::new(),
        }
    }

    /// The notes of what `down` kept that holds data encrypted with this
    /// resource (a key): see [`Context::kept_data`].
    pub fn with_kept_data(mut self, notes: Vec<String>) -> Self {
        self.kept_data = notes;
        self
    }

    /// What `down` kept (a log group, a final snapshot) that is encrypted
    /// with this resource, a KMS key. Deleting the key would make that data
    /// unreadable once the deletion window ends, so a key with any is kept.
    pub fn kept_data(&self) -> &[String] {
        &self.kept_data
    }

    /// The create's idempotency token, recorded with its intent in the
    /// ledger (see `Ledger::set_creating`).
    pub fn with_create_token(mut self, token: String) -> Self {
        self.create_token = Some(token);
        self
    }

    /// The idempotency token of this create (EC2 `ClientToken`): new for
    /// every create, the same when a run resumes a create an earlier run
    /// left in flight, so AWS answers with what that create made instead
    /// of making a second one. AWS refuses a token reused with other
    /// parameters (`IdempotentParameterMismatch`), as after `down` and
    /// `up` with a new VPC.
    pub fn create_token(&self) -> String {
        self.create_token
            .clone()
            .unwrap_or_else(|| crate::id::random_token().unwrap_or_default())
    }

    /// Shares one run's batched listings between its resources.
    pub fn with_census(mut self, census: Arc<Census>) -> Self {
        self.census = census;
        self
    }

    /// The run's batched listings (see `census`).
    pub fn census(&self) -> &Census {
        &self.census
    }

    /// The fingerprint of this resource's desired state in this run (see
    /// `desired`).
    pub fn desired_fingerprint(&self) -> String {
        crate::desired::of_resource(&self.env, &self.resource, &self.deps)
    }

    /// An attribute of a dependency (`arn`, `id`...), or an error naming
    /// both resources.
    pub fn attr(&self, dependency: &LogicalId, attribute: &str) -> Result<&str, ResourceError> {
        let record = self.deps.get(dependency);
        let value = match (record, attribute) {
            (Some(r), "physical_id") => r.physical_id.as_deref(),
            (Some(r), _) => r.attrs.get(attribute).map(String::as_str),
            (None, _) => None,
        };
        value.ok_or_else(|| ResourceError::MissingAttribute {
            resource: self.resource.clone(),
            dependency: dependency.clone(),
            attribute: attribute.to_owned(),
        })
    }

    /// Tells the user what this resource is waiting for during a long wait.
    pub fn report_wait(&self, what: &str, elapsed: Duration) {
        self.reporter.report(&Event::Waiting {
            id: &self.resource,
            what,
            elapsed,
        });
    }

    /// Polls `check` until it answers `Some` (the state `state` reached),
    /// or fails with a timeout after `budget`. The interval grows with the
    /// time already waited (a twentieth of it, between half a second and 30
    /// seconds): a quick resource is seen ready within moments, a 20-minute
    /// database is not polled every second, and the wait overshoots the
    /// real readiness by at most about 5 %. Progress is reported every 10 s.
    pub async fn poll_until<T, F, Fut>(
        &self,
        what: &str,
        state: &str,
        budget: WaitBudget,
        mut check: F,
    ) -> Result<T, ResourceError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, ResourceError>>,
    {
        let started = tokio::time::Instant::now();
        let mut reported = Duration::ZERO;
        loop {
            match check().await {
                Ok(Some(v)) => return Ok(v),
                Ok(None) => {}
                // A throttled or failed poll says nothing about readiness:
                // poll again later, within the same budget.
                Err(e) if matches!(e.class(), ErrorClass::Throttled | ErrorClass::Transient) => {
                    tracing::debug!(resource = %self.resource, error = %e, "poll failed; polling again");
                }
                Err(e) => return Err(e),
            }
            let waited = started.elapsed();
            if waited >= budget.limit {
                return Err(ResourceError::WaitTimeout {
                    resource: self.resource.clone(),
                    state: state.to_owned(),
                    waited_secs: waited.as_secs(),
                    setting: budget.setting,
                });
            }
            if waited >= reported + Duration::from_secs(10) {
                self.report_wait(what, waited);
                reported = waited;
            }
            tokio::time::sleep(poll_interval(waited)).await;
        }
    }

    /// Tags for this resource (environment, logical id, user tags).
    pub fn tags(&self) -> Vec<(String, String)> {
        crate::tags::for_resource(&self.env, &self.resource)
    }
}

/// How long a wait may take, and the config key that sets it (named when
/// the wait times out, so the user knows what to raise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitBudget {
    pub limit: Duration,
    pub setting: &'static str,
}

/// The pause before the next readiness poll, after `waited` (see
/// `Context::poll_until`).
pub fn poll_interval(waited: Duration) -> Duration {
    (waited / 20).clamp(Duration::from_millis(500), Duration::from_secs(30))
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
        drift: &[Drift],
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
    fn checks_split_into_drift_and_evidence_with_live_values() {
        let mut c = Checks::default();
        c.equal("rotation", "enabled", "enabled");
        c.equal("retention_days", 365, 30);
        c.policy("policy", true, "paysec key policy");
        c.not_applicable("logging", "the log bucket itself");
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
                Drift::new("retention_days", "365", "30"),
                Drift::new("tags", "paysec:environment=dev", "absent"),
            ]
        );
        assert_eq!(
            evidence,
            [
                Drift::new("rotation", "enabled", "enabled"),
                Drift::new("policy", "paysec key policy", "paysec key policy"),
            ]
        );
        assert_eq!(not_applicable[0].property, "logging");
    }
}

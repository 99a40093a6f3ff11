//! The resource model: what every AWS resource paysec manages can do, and
//! what it tells the scheduler about its state.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::environment::Environment;
use crate::error::ResourceError;
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

/// One property of a live resource that differs from what paysec wants.
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
    /// It exists; `drift` lists what differs from the desired state.
    Present { present: Present, drift: Vec<Drift> },
}

/// What `delete` did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteOutcome {
    /// Set when something was deliberately kept (a key in its deletion
    /// window, a final snapshot), saying what and until when. The ledger
    /// keeps this note after the record is gone.
    pub kept: Option<String>,
}

/// What a resource operation can see: where it runs, the ledger records of
/// its dependencies, and a way to report long waits.
#[derive(Clone)]
pub struct Context {
    pub env: Arc<Environment>,
    pub resource: LogicalId,
    deps: BTreeMap<LogicalId, Record>,
    reporter: Arc<dyn Reporter>,
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
        }
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

    /// Awaits `fut` (typically an SDK waiter), telling the user every
    /// `every` what this resource is waiting for and for how long.
    pub async fn waiting<F: std::future::Future>(
        &self,
        what: &str,
        every: Duration,
        fut: F,
    ) -> F::Output {
        let started = tokio::time::Instant::now();
        tokio::pin!(fut);
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                out = &mut fut => return out,
                _ = tick.tick() => self.report_wait(what, started.elapsed()),
            }
        }
    }

    /// Tags for this resource (environment, logical id, user tags).
    pub fn tags(&self) -> Vec<(String, String)> {
        crate::tags::for_resource(&self.env, &self.resource)
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
        drift: &[Drift],
    ) -> Result<Present, ResourceError>;

    /// Waits until the resource is usable by dependents that need readiness.
    /// Most resources are usable as soon as they exist.
    async fn wait_ready(&self, _cx: &Context, present: Present) -> Result<Present, ResourceError> {
        Ok(present)
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
        Observed::Present { present, drift } if drift.is_empty() => Ok(present),
        Observed::Present { present, drift } => resource.repair(cx, &present, &drift).await,
        Observed::Missing => Err(conflict),
    }
}

//! What a resource operation sees while it runs (`Context`): the
//! environment, its dependencies' ledger records, the run's batched
//! listings, this create's token, what `down` kept, and how to report and
//! bound a long wait.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::census::Census;
use crate::environment::Environment;
use crate::error::{ErrorClass, ResourceError};
use crate::id::LogicalId;
use crate::ledger::Record;
use crate::report::{Event, Reporter};
use crate::state::Attr;

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
    recorded_attrs: BTreeMap<String, String>,
    kept_data: Vec<String>,
    purge_audit_logs: bool,
    kept_physical_id: Option<String>,
    disable_deletion_protection: bool,
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
            recorded_attrs: BTreeMap::new(),
            kept_data: Vec::new(),
            purge_audit_logs: false,
            kept_physical_id: None,
            disable_deletion_protection: false,
        }
    }

    /// `down --disable-deletion-protection`: see
    /// [`Context::disables_deletion_protection`].
    pub fn with_deletion_protection_disabled(mut self, on: bool) -> Self {
        self.disable_deletion_protection = on;
        self
    }

    /// Whether `down` may turn a database's deletion protection off to
    /// delete it (the user said so); otherwise a protected database is not
    /// deleted.
    pub fn disables_deletion_protection(&self) -> bool {
        self.disable_deletion_protection
    }

    /// What an earlier `down` kept of this resource: see
    /// [`Context::kept_physical_id`].
    pub fn with_kept_physical_id(mut self, id: String) -> Self {
        self.kept_physical_id = Some(id);
        self
    }

    /// The physical id of what an earlier `down` kept of this resource (a
    /// key kept for the audit logs encrypted with it, a log bucket), which
    /// the ledger names: `up` takes it back rather than making another.
    pub fn kept_physical_id(&self) -> Option<&str> {
        self.kept_physical_id.as_deref()
    }

    /// `down --purge-audit-logs`: see [`Context::purges_audit_logs`].
    pub fn with_purge_audit_logs(mut self, on: bool) -> Self {
        self.purge_audit_logs = on;
        self
    }

    /// Whether `down` deletes the audit logs (the log buckets and log
    /// groups) too. By default it keeps them, for their retention (PCI DSS
    /// 10.5.1), recorded as kept.
    pub fn purges_audit_logs(&self) -> bool {
        self.purge_audit_logs
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

    /// The same context for a create a repair makes after deleting what
    /// was there (a flow log, the firewall association): a token of its
    /// own, since the first create's would make AWS answer with what was
    /// just deleted and make nothing.
    pub fn for_another_create(&self) -> Self {
        let mut cx = self.clone();
        cx.create_token = crate::id::random_token().ok();
        cx
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
    pub fn attr(&self, dependency: &LogicalId, attribute: Attr) -> Result<&str, ResourceError> {
        self.field(dependency, attribute.as_str(), |r| {
            r.attrs.get(attribute.as_str()).map(String::as_str)
        })
    }

    /// A dependency's physical id (the ledger record's own field), or an
    /// error naming both resources.
    pub fn physical_id(&self, dependency: &LogicalId) -> Result<&str, ResourceError> {
        self.field(dependency, "physical_id", |r| r.physical_id.as_deref())
    }

    fn field<'a>(
        &'a self,
        dependency: &LogicalId,
        name: &str,
        get: impl Fn(&'a Record) -> Option<&'a str>,
    ) -> Result<&'a str, ResourceError> {
        self.deps
            .get(dependency)
            .and_then(get)
            .ok_or_else(|| ResourceError::MissingAttribute {
                resource: self.resource.clone(),
                dependency: dependency.clone(),
                attribute: name.to_owned(),
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

    /// Tags for this resource (environment, logical id, the create's
    /// token when the ledger holds one, user tags).
    pub fn tags(&self) -> Vec<(String, String)> {
        crate::tags::for_resource(&self.env, &self.resource, self.create_token.as_deref())
    }

    /// The same context knowing the attributes the ledger recorded for
    /// this resource itself (what `recorded_attr` answers).
    pub fn with_recorded_attrs(mut self, attrs: BTreeMap<String, String>) -> Self {
        self.recorded_attrs = attrs;
        self
    }

    /// An attribute the ledger recorded for this resource at its last
    /// converge: what a read compares a live secret-ish value with (the
    /// audit role's generated external id), so that a value changed in
    /// AWS is drift rather than the new truth.
    pub fn recorded_attr(&self, attribute: Attr) -> Option<&str> {
        self.recorded_attrs
            .get(attribute.as_str())
            .map(String::as_str)
    }

    /// The token the ledger recorded for this resource's create, if any
    /// (the proof that a resource carrying it is this ledger's).
    pub fn recorded_create_token(&self) -> Option<&str> {
        self.create_token.as_deref()
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

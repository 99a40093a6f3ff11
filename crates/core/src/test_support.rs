//! An in-memory fake cloud for unit-testing the graph and the scheduler.
//! (AWS behaviour itself is tested against the emulator, not here.)

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use crate::error::{ErrorClass, ResourceError};
use crate::id::LogicalId;
use crate::resource::{
    Checks, Comparison, Context, DeleteOutcome, Dependency, Observed, Present, QuickCheck, Resource,
};

#[derive(Default)]
pub struct Cloud {
    /// name → "value" of each live resource.
    pub live: Mutex<BTreeMap<String, String>>,
    /// "create a", "ready a", "delete a" in the order they finished.
    pub log: Mutex<Vec<String>>,
    pub active: AtomicUsize,
    pub max_active: AtomicUsize,
    pub creates: AtomicUsize,
    pub reads: AtomicUsize,
    /// How long each read and quick check takes, in milliseconds (0 by
    /// default).
    pub read_delay_ms: AtomicU64,
    /// How many times each resource was created: like AWS, a second create
    /// gives a new physical id (`phys-<id>`, then `phys-<id>-2`...).
    pub generations: Mutex<BTreeMap<String, usize>>,
    pub quick_checks: AtomicUsize,
    /// Batched listings made for quick checks (one answers them all).
    pub listings: AtomicUsize,
    /// A copy (`<id>~<n>`) that appears right after the next stray sweep:
    /// a create an interrupted run left in flight, landing late.
    pub lands_late: Mutex<Option<String>>,
}

impl Cloud {
    /// The physical id of `id`'s current copy.
    pub fn physical_id(&self, id: &str) -> String {
        match self.generations.lock().unwrap().get(id) {
            Some(&n) if n > 1 => format!("phys-{id}-{n}"),
            _ => format!("phys-{id}"),
        }
    }
    fn pause(&self) -> tokio::time::Sleep {
        tokio::time::sleep(Duration::from_millis(
            self.read_delay_ms.load(Ordering::SeqCst),
        ))
    }
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
    fn push(&self, s: String) {
        self.log.lock().unwrap().push(s);
    }
    pub fn position(&self, entry: &str) -> usize {
        self.log()
            .iter()
            .position(|e| e == entry)
            .unwrap_or_else(|| panic!("{entry} not in {:?}", self.log()))
    }
}

pub struct Fake {
    id: LogicalId,
    deps: Vec<Dependency>,
    cloud: Arc<Cloud>,
    pub create_delay: Duration,
    pub ready_delay: Duration,
    pub fail_create: bool,
    /// Creates answered "throttled" before one goes through (the SDK's
    /// retries exhausted).
    pub throttled_creates: std::sync::atomic::AtomicUsize,
    pub kept: Option<String>,
    /// What it keeps is encrypted with this dependency (a key).
    pub encrypted_with: Option<LogicalId>,
    /// Its live tags name another environment (what an edited ledger may
    /// point `down` at).
    pub foreign: bool,
    /// Tagged as this environment's by someone else: every tag of ours
    /// but a create's token.
    pub planted: bool,
}

impl Fake {
    pub fn node(id: &str, deps: &[&str]) -> Arc<dyn Resource> {
        Arc::new(Self::build(id, deps, &Arc::default()))
    }

    pub fn build(id: &str, deps: &[&str], cloud: &Arc<Cloud>) -> Self {
        Self {
            id: LogicalId::new(id),
            deps: deps
                .iter()
                .map(|d| match d.strip_prefix('!') {
                    Some(ready) => Dependency::Ready(LogicalId::new(ready)),
                    None => Dependency::Identity(LogicalId::new(*d)),
                })
                .collect(),
            cloud: cloud.clone(),
            create_delay: Duration::from_millis(10),
            ready_delay: Duration::ZERO,
            fail_create: false,
            throttled_creates: Default::default(),
            kept: None,
            encrypted_with: None,
            foreign: false,
            planted: false,
        }
    }
}

struct Active<'a>(&'a Cloud);
impl<'a> Active<'a> {
    fn enter(c: &'a Cloud) -> Self {
        let now = c.active.fetch_add(1, Ordering::SeqCst) + 1;
        c.max_active.fetch_max(now, Ordering::SeqCst);
        Self(c)
    }
}
impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl Resource for Fake {
    fn id(&self) -> &LogicalId {
        &self.id
    }
    fn kind(&self) -> &'static str {
        "fake"
    }
    fn typical_wait(&self) -> Duration {
        self.ready_delay
    }
    fn dependencies(&self) -> Vec<Dependency> {
        self.deps.clone()
    }
    async fn read(
        &self,
        cx: &Context,
        _known: Option<&Present>,
    ) -> Result<Observed, ResourceError> {
        self.cloud.reads.fetch_add(1, Ordering::SeqCst);
        self.cloud.pause().await;
        let live = self.cloud.live.lock().unwrap();
        Ok(match live.get(self.id.as_str()) {
            None => Observed::Missing,
            Some(v) => {
                let mut checks = Checks::default();
                checks.equal(FakeProperty::Value, "ok", v);
                let tags = if self.foreign {
                    vec![(crate::tags::ENVIRONMENT.to_owned(), "prod".to_owned())]
                } else if self.planted {
                    cx.tags()
                        .into_iter()
                        .filter(|(k, _)| k != crate::tags::CREATE_TOKEN)
                        .collect()
                } else {
                    cx.tags()
                };
                checks.tags(&cx.tags(), &tags);
                checks.observed(Present::new(self.cloud.physical_id(self.id.as_str())))
            }
        })
    }
    async fn quick_check(
        &self,
        cx: &Context,
        _known: &Present,
    ) -> Result<QuickCheck, ResourceError> {
        self.cloud.quick_checks.fetch_add(1, Ordering::SeqCst);
        self.cloud.pause().await;
        let listing = || async {
            self.cloud.listings.fetch_add(1, Ordering::SeqCst);
            Ok(self.cloud.live.lock().unwrap().keys().cloned().collect())
        };
        cx.census().check("fakes", self.id.as_str(), listing).await
    }
    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        for d in &self.deps {
            cx.physical_id(d.target())?;
        }
        let _active = Active::enter(&self.cloud);
        tokio::time::sleep(self.create_delay).await;
        let throttled = self
            .throttled_creates
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if throttled {
            return Err(ResourceError::Aws {
                resource: self.id.clone(),
                operation: "Create",
                class: ErrorClass::Throttled,
                code: Some("ThrottlingException".into()),
                message: "Rate exceeded".into(),
                source: "Rate exceeded".into(),
            });
        }
        if self.fail_create {
            return Err(ResourceError::Aws {
                resource: self.id.clone(),
                operation: "Create",
                class: ErrorClass::Other,
                code: Some("Boom".into()),
                message: "it broke".into(),
                source: "it broke".into(),
            });
        }
        self.cloud.creates.fetch_add(1, Ordering::SeqCst);
        self.cloud
            .live
            .lock()
            .unwrap()
            .insert(self.id.to_string(), "ok".into());
        *self
            .cloud
            .generations
            .lock()
            .unwrap()
            .entry(self.id.to_string())
            .or_default() += 1;
        self.cloud.push(format!("create {}", self.id));
        Ok(Present::new(self.cloud.physical_id(self.id.as_str())))
    }
    async fn repair(
        &self,
        _cx: &Context,
        p: &Present,
        _d: &[Comparison],
    ) -> Result<Present, ResourceError> {
        self.cloud
            .live
            .lock()
            .unwrap()
            .insert(self.id.to_string(), "ok".into());
        self.cloud.push(format!("repair {}", self.id));
        Ok(p.clone())
    }
    async fn wait_ready(&self, _cx: &Context, p: Present) -> Result<Present, ResourceError> {
        tokio::time::sleep(self.ready_delay).await;
        self.cloud.push(format!("ready {}", self.id));
        Ok(p)
    }
    async fn remove_strays(
        &self,
        _cx: &Context,
        _keep: &Present,
    ) -> Result<Vec<String>, ResourceError> {
        let mut live = self.cloud.live.lock().unwrap();
        let prefix = format!("{}~", self.id);
        let strays: Vec<String> = live
            .keys()
            .filter(|k| k.starts_with(&prefix))
            .cloned()
            .collect();
        for stray in &strays {
            live.remove(stray);
        }
        if let Some(late) = self.cloud.lands_late.lock().unwrap().take() {
            live.insert(late, "ok".into());
        }
        drop(live);
        self.cloud.push(format!("sweep {}", self.id));
        Ok(strays)
    }
    async fn delete(&self, cx: &Context, _p: &Present) -> Result<DeleteOutcome, ResourceError> {
        let _active = Active::enter(&self.cloud);
        tokio::time::sleep(self.create_delay).await;
        // Like a key: kept while kept data is encrypted with it.
        if !cx.kept_data().is_empty() {
            self.cloud.push(format!("keep {}", self.id));
            return Ok(DeleteOutcome {
                kept: Some(format!("kept for: {}", cx.kept_data().join("; "))),
                encrypted_with: None,
            });
        }
        self.cloud.live.lock().unwrap().remove(self.id.as_str());
        self.cloud.push(format!("delete {}", self.id));
        let encrypted_with = match &self.encrypted_with {
            Some(key) => Some(cx.physical_id(key)?.to_owned()),
            None => None,
        };
        Ok(DeleteOutcome {
            kept: self.kept.clone(),
            encrypted_with,
        })
    }
}

crate::properties! {
    /// The fake's one property (and its tags).
    pub(crate) enum FakeProperty {
        Value = "value",
        Tags = "tags",
    }
}

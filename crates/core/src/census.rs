//! Batched existence answers for one run's quick checks. Where one AWS call
//! can list every resource of a kind in the environment (the alarms under
//! its name prefix, the subnets of its VPC, the metric filters of a log
//! group), the first quick check of that kind makes the call and the others
//! look themselves up in its answer, so a no-op `up` costs less than one
//! read per resource.
//!
//! Quick checks use it: they run for resources the ledger records as
//! converged, and each asks once per run. Full reads of kinds whose API
//! answers for many at once (the alarms under the environment's prefix)
//! share one answer too ([`Census::first_look`]): each resource's *first*
//! read of the run takes it from the shared answer, which the run's early
//! looks fetch together; any later read of it (after a create or a
//! repair) asks AWS.

use std::any::Any;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::error::ResourceError;
use crate::state::QuickCheck;

type Shared = Arc<dyn Any + Send + Sync>;

/// One run's listings, by what was listed (`"alarms"`, `"subnets:vpc-1"`).
#[derive(Default)]
pub struct Census {
    lists: Mutex<HashMap<String, Arc<OnceCell<BTreeSet<String>>>>>,
    answers: Mutex<HashMap<String, Arc<OnceCell<Shared>>>>,
    looked: Mutex<HashSet<(String, String)>>,
    /// (resource, listing): which resource's read took which listing.
    uses: Mutex<BTreeSet<(String, String)>>,
}

impl Census {
    /// A quick check answered by the listing `list`: still there when `id`
    /// is among the ids `fetch` returns (those there and usable). The
    /// listing is fetched by the first caller; concurrent callers wait for
    /// its answer. A failed fetch is not kept: the next caller tries again.
    pub async fn check<F, Fut>(
        &self,
        list: &str,
        id: &str,
        fetch: F,
    ) -> Result<QuickCheck, ResourceError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<BTreeSet<String>, ResourceError>>,
    {
        let cell = self
            .lists
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(list.to_owned())
            .or_default()
            .clone();
        self.used(list);
        let ids = cell
            .get_or_try_init(|| crate::reading::shared_scope(list, fetch()))
            .await?;
        Ok(ids.contains(id).into())
    }

    /// Notes that the read running here took the listing `list`.
    fn used(&self, list: &str) {
        if let Some(resource) = crate::reading::current() {
            self.uses
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert((resource, list.to_owned()));
        }
    }

    /// The shared listings `resource`'s reads took this run.
    pub fn listings_of(&self, resource: &str) -> Vec<String> {
        self.uses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(r, _)| r == resource)
            .map(|(_, l)| l.clone())
            .collect()
    }

    /// Whether this is resource `id`'s first look at the shared answer
    /// `list` this run (see the module's docs); marks it taken.
    pub fn first_look(&self, list: &str, id: &str) -> bool {
        self.looked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((list.to_owned(), id.to_owned()))
    }

    /// The answer `fetch` gives for `list`, fetched once per run by the
    /// first caller (concurrent callers wait for it; a failed fetch is not
    /// kept).
    pub async fn shared<T, F, Fut>(&self, list: &str, fetch: F) -> Result<Arc<T>, ResourceError>
    where
        T: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, ResourceError>>,
    {
        let cell = self
            .answers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(list.to_owned())
            .or_default()
            .clone();
        self.used(list);
        let any = cell
            .get_or_try_init(|| {
                crate::reading::shared_scope(list, async {
                    fetch().await.map(|v| Arc::new(v) as Shared)
                })
            })
            .await?
            .clone();
        any.downcast::<T>().map_err(|_| {
            ResourceError::unexpected(
                &crate::id::LogicalId::new(list),
                "one run asked for the same shared answer as two types",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::id::LogicalId;

    #[tokio::test]
    async fn one_fetch_per_listing_shared_by_concurrent_callers() {
        let census = Arc::new(Census::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for id in ["a", "b", "c", "gone"] {
            let (census, fetches) = (census.clone(), fetches.clone());
            tasks.push(tokio::spawn(async move {
                census
                    .check("alarms", id, || async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                        Ok(BTreeSet::from(["a".to_owned(), "b".into(), "c".into()]))
                    })
                    .await
                    .unwrap()
            }));
        }
        let mut found = Vec::new();
        for t in tasks {
            found.push(t.await.unwrap());
        }
        use QuickCheck::{ReadFully, StillThere};
        assert_eq!(found, [StillThere, StillThere, StillThere, ReadFully]);
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_shared_answer_is_fetched_once_and_each_resource_looks_once() {
        let census = Arc::new(Census::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for id in ["a", "b", "c"] {
            let (census, fetches) = (census.clone(), fetches.clone());
            tasks.push(tokio::spawn(async move {
                assert!(census.first_look("alarms", id));
                let all = census
                    .shared("alarms", || async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                        Ok(vec!["a".to_owned(), "b".to_owned()])
                    })
                    .await
                    .unwrap();
                all.contains(&id.to_owned())
            }));
        }
        let mut found = Vec::new();
        for t in tasks {
            found.push(t.await.unwrap());
        }
        assert_eq!(found, [true, true, false]);
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        assert!(!census.first_look("alarms", "a"), "a second read asks AWS");
    }

    #[tokio::test]
    async fn a_failed_listing_is_fetched_again() {
        let census = Census::default();
        let failed = census
            .check("subnets:vpc-1", "s-1", || async {
                Err(ResourceError::unexpected(
                    &LogicalId::new("network.subnet-a"),
                    "boom",
                ))
            })
            .await;
        assert!(failed.is_err());
        let found = census
            .check("subnets:vpc-1", "s-1", || async {
                Ok(BTreeSet::from(["s-1".to_owned()]))
            })
            .await
            .unwrap();
        assert_eq!(found, QuickCheck::StillThere);
    }
}

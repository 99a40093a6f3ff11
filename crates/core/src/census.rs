//! Batched existence answers for one run's quick checks. Where one AWS call
//! can list every resource of a kind in the environment (the alarms under
//! its name prefix, the subnets of its VPC, the metric filters of a log
//! group), the first quick check of that kind makes the call and the others
//! look themselves up in its answer, so a no-op `up` costs less than one
//! read per resource.
//!
//! Only quick checks use it: they run for resources the ledger records as
//! converged, and each asks once per run. A full read always asks AWS.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::error::ResourceError;
use crate::state::QuickCheck;

/// One run's listings, by what was listed (`"alarms"`, `"subnets:vpc-1"`).
#[derive(Default)]
pub struct Census {
    lists: Mutex<HashMap<String, Arc<OnceCell<BTreeSet<String>>>>>,
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
        let ids = cell.get_or_try_init(fetch).await?;
        Ok(ids.contains(id).into())
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

//! Scheduler behaviour on the fake cloud: order, concurrency, identity vs
//! readiness, failure handling, re-runs and plans.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::environment::Environment;
use crate::graph::Graph;
use crate::ledger::{Ledger, Status};
use crate::naming::EnvName;
use crate::report::{Outcome, Silent};
use crate::resource::{Present, Resource};
use crate::scheduler::{Planned, Scheduler};
use crate::test_support::{Cloud, Fake};
use crate::LogicalId;

struct Rig {
    _dir: tempfile::TempDir,
    ledger: Arc<Mutex<Ledger>>,
    stop: watch::Sender<bool>,
}

impl Rig {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let env = EnvName::parse("t").unwrap();
        let ledger = Ledger::open_for_write(dir.path(), &env, "test").unwrap();
        Self {
            _dir: dir,
            ledger: Arc::new(Mutex::new(ledger)),
            stop: watch::channel(false).0,
        }
    }

    fn scheduler(&self, nodes: Vec<Arc<dyn Resource>>, concurrency: usize) -> Scheduler {
        self.scheduler_wanting(nodes, concurrency, "settings-1")
    }

    /// A scheduler whose desired state has the fingerprint `desired`.
    fn scheduler_wanting(
        &self,
        nodes: Vec<Arc<dyn Resource>>,
        concurrency: usize,
        desired: &str,
    ) -> Scheduler {
        let mut env = Environment::new(
            EnvName::parse("t").unwrap(),
            "123456789012",
            "us-east-1",
            "aws",
        );
        env.desired_state = desired.to_owned();
        Scheduler::new(
            Arc::new(Graph::new(nodes).unwrap()),
            Arc::new(env),
            self.ledger.clone(),
            Arc::new(Silent),
            concurrency,
            self.stop.subscribe(),
        )
    }

    fn status(&self, id: &str) -> Option<Status> {
        self.ledger
            .lock()
            .unwrap()
            .record(&LogicalId::new(id))
            .map(|r| r.status)
    }
}

fn chain(cloud: &Arc<Cloud>) -> Vec<Arc<dyn Resource>> {
    vec![
        Arc::new(Fake::build("c", &["b"], cloud)),
        Arc::new(Fake::build("b", &["a"], cloud)),
        Arc::new(Fake::build("a", &[], cloud)),
    ]
}

#[tokio::test(start_paused = true)]
async fn up_creates_in_dependency_order_and_records_everything() {
    let cloud = Arc::new(Cloud::default());
    let rig = Rig::new();
    let s = rig.scheduler(chain(&cloud), 8);
    let summary = s.up().await;
    assert!(summary.ok(), "{summary:?}");
    assert!(cloud.position("create a") < cloud.position("create b"));
    assert!(cloud.position("create b") < cloud.position("create c"));
    for id in ["a", "b", "c"] {
        assert_eq!(rig.status(id), Some(Status::Ready));
    }
}

#[tokio::test(start_paused = true)]
async fn second_up_creates_nothing() {
    let cloud = Arc::new(Cloud::default());
    let rig = Rig::new();
    rig.scheduler(chain(&cloud), 8).up().await;
    let creates = cloud.creates.load(Ordering::SeqCst);
    let summary = rig.scheduler(chain(&cloud), 8).up().await;
    assert_eq!(cloud.creates.load(Ordering::SeqCst), creates);
    assert_eq!(summary.count(Outcome::Unchanged), 3);
}

#[tokio::test(start_paused = true)]
async fn independent_resources_run_concurrently_within_the_bound() {
    let cloud = Arc::new(Cloud::default());
    let rig = Rig::new();
    let nodes: Vec<Arc<dyn Resource>> = (0..10)
        .map(|i| {
            let mut f = Fake::build(&format!("r{i}"), &[], &cloud);
            f.create_delay = Duration::from_secs(1);
            Arc::new(f) as Arc<dyn Resource>
        })
        .collect();
    let summary = rig.scheduler(nodes, 4).up().await;
    assert!(summary.ok());
    assert_eq!(cloud.max_active.load(Ordering::SeqCst), 4);
    // 10 one-second creates, 4 at a time: 3 rounds.
    assert!(
        summary.elapsed >= Duration::from_secs(3),
        "{:?}",
        summary.elapsed
    );
    assert!(
        summary.elapsed < Duration::from_secs(4),
        "{:?}",
        summary.elapsed
    );
}

#[tokio::test(start_paused = true)]
async fn identity_dependents_do_not_wait_for_readiness() {
    let cloud = Arc::new(Cloud::default());
    let rig = Rig::new();
    let mut db = Fake::build("db", &[], &cloud);
    db.ready_delay = Duration::from_secs(600);
    let nodes: Vec<Arc<dyn Resource>> = vec![
        Arc::new(db),
        Arc::new(Fake::build("alarm", &["db"], &cloud)),
        Arc::new(Fake::build("app", &["!db"], &cloud)),
    ];
    let summary = rig.scheduler(nodes, 8).up().await;
    assert!(summary.ok());
    assert!(cloud.position("create alarm") < cloud.position("ready db"));
    assert!(cloud.position("ready db") < cloud.position("create app"));
    // The whole run is the readiness wait plus one create, not more.
    assert!(
        summary.elapsed < Duration::from_secs(601),
        "{:?}",
        summary.elapsed
    );
}

#[tokio::test(start_paused = true)]
async fn the_slowest_chain_starts_first_when_permits_are_scarce() {
    let cloud = Arc::new(Cloud::default());
    let rig = Rig::new();
    let mut db = Fake::build("db", &["key"], &cloud);
    db.ready_delay = Duration::from_secs(600);
    let mut nodes: Vec<Arc<dyn Resource>> = (0..6)
        .map(|n| Arc::new(Fake::build(&format!("leaf{n}"), &[], &cloud)) as Arc<dyn Resource>)
        .collect();
    nodes.push(Arc::new(db));
    // Declared last, and the head of the database's chain.
    nodes.push(Arc::new(Fake::build("key", &[], &cloud)));
    let summary = rig.scheduler(nodes, 2).up().await;
    assert!(summary.ok());
    assert!(cloud.position("create key") < cloud.position("create leaf0"));
    assert!(cloud.position("create db") < cloud.position("create leaf5"));
    // The database's wait overlaps the leaves: about one wait in all.
    assert!(
        summary.elapsed < Duration::from_secs(601),
        "{:?}",
        summary.elapsed
    );
}

#[tokio::test(start_paused = true)]
async fn throttling_beyond_the_sdk_retries_repeats_the_step_not_the_resource() {
    let cloud = Arc::new(Cloud::default());
    let rig = Rig::new();
    let key = Fake::build("key", &[], &cloud);
    key.throttled_creates.store(3, Ordering::SeqCst);
    let nodes: Vec<Arc<dyn Resource>> = vec![Arc::new(key)];
    let summary = rig.scheduler(nodes, 4).up().await;
    assert!(summary.ok(), "{:?}", summary.failures);
    assert_eq!(cloud.creates.load(Ordering::SeqCst), 1, "created once");
}

#[tokio::test(start_paused = true)]
async fn concurrency_one_runs_each_resource_from_start_to_ready() {
    let cloud = Arc::new(Cloud::default());
    let rig = Rig::new();
    let mut db = Fake::build("db", &[], &cloud);
    db.ready_delay = Duration::from_secs(600);
    let nodes: Vec<Arc<dyn Resource>> =
        vec![Arc::new(db), Arc::new(Fake::build("leaf", &[], &cloud))];
    let summary = rig.scheduler(nodes, 1).up().await;
    assert!(summary.ok());
    assert!(cloud.position("ready db") < cloud.position("create leaf"));
}

#[tokio::test(start_paused = true)]
async fn a_failure_stops_new_work_lets_in_flight_finish_and_reports_all() {
    let cloud = Arc::new(Cloud::default());
    let rig = Rig::new();
    let mut bad1 = Fake::build("bad1", &[], &cloud);
    bad1.fail_create = true;
    let mut bad2 = Fake::build("bad2", &[], &cloud);
    bad2.fail_create = true;
    let mut slow = Fake::build("slow", &[], &cloud);
    slow.create_delay = Duration::from_secs(5);
    let nodes: Vec<Arc<dyn Resource>> = vec![
        Arc::new(bad1),
        Arc::new(bad2),
        Arc::new(slow),
        Arc::new(Fake::build("after", &["bad1"], &cloud)),
        Arc::new(Fake::build("after-slow", &["slow"], &cloud)),
    ];
    let summary = rig.scheduler(nodes, 8).up().await;
    let failed: Vec<_> = summary
        .failures
        .iter()
        .map(|(id, _)| id.to_string())
        .collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(failed.contains(&"bad1".to_string()) && failed.contains(&"bad2".to_string()));
    // In flight when the failures happened: finished and recorded.
    assert_eq!(rig.status("slow"), Some(Status::Ready));
    // Not started afterwards.
    let mut skipped: Vec<_> = summary.skipped.iter().map(|s| s.to_string()).collect();
    skipped.sort();
    assert_eq!(skipped, ["after", "after-slow"]);
    // The failed creates left their intent and their error in the ledger.
    let ledger = rig.ledger.lock().unwrap();
    let r = ledger.record(&LogicalId::new("bad1")).unwrap();
    assert_eq!(r.status, Status::Creating);
    assert!(r.last_error.as_deref().unwrap().contains("Boom"));
}

#[tokio::test(start_paused = true)]
async fn an_intent_without_result_is_adopted_not_duplicated() {
    let cloud = Arc::new(Cloud::default());
    let rig = Rig::new();
    // A crash after the create call reached AWS but before the ledger write.
    rig.ledger
        .lock()
        .unwrap()
        .set_creating(&LogicalId::new("a"), "fake")
        .unwrap();
    cloud.live.lock().unwrap().insert("a".into(), "ok".into());
    let summary = rig.scheduler(chain(&cloud), 8).up().await;
    assert!(summary.ok());
    assert_eq!(
        summary
            .outcomes
            .iter()
            .find(|(id, _)| id.as_str() == "a")
            .unwrap()
            .1,
        Outcome::Adopted
    );
    assert!(!cloud.log().contains(&"create a".to_string()));
}

/// Found by name or tag with no create the ledger recorded: anyone could
/// have made it look like ours. Refused, untouched; adopted only with
/// `up --adopt` (a lost ledger, reviewed).
#[tokio::test(start_paused = true)]
async fn what_the_ledger_never_created_is_adopted_only_when_asked() {
    let cloud = Arc::new(Cloud::default());
    let rig = Rig::new();
    cloud.live.lock().unwrap().insert("a".into(), "ok".into());
    let summary = rig.scheduler(chain(&cloud), 8).up().await;
    let (failed, why) = &summary.failures[0];
    assert_eq!(failed.as_str(), "a");
    assert!(why.to_string().contains("paysec up --adopt"), "{why}");
    assert!(
        !cloud.log().iter().any(|c| c.ends_with(" a")),
        "a untouched: {:?}",
        cloud.log()
    );
    let summary = rig
        .scheduler(chain(&cloud), 8)
        .adopting_unrecorded(true)
        .up()
        .await;
    assert!(summary.ok(), "{summary:?}");
    assert_eq!(
        summary
            .outcomes
            .iter()
            .find(|(id, _)| id.as_str() == "a")
            .unwrap()
            .1,
        Outcome::Adopted
    );
}

#[tokio::test(start_paused = true)]
async fn a_recorded_create_adopts_only_what_carries_its_token() {
    let cloud = Arc::new(Cloud::default());
    let rig = Rig::new();
    // The ledger recorded a create of `a` that never answered; what is
    // found carries our tags but not that create's token.
    rig.ledger
        .lock()
        .unwrap()
        .set_creating(&LogicalId::new("a"), "fake")
        .unwrap();
    cloud.live.lock().unwrap().insert("a".into(), "ok".into());
    let mut nodes = chain(&cloud);
    let mut a = Fake::build("a", &[], &cloud);
    a.planted = true;
    nodes[2] = Arc::new(a);
    let summary = rig.scheduler(nodes, 8).up().await;
    let (failed, why) = &summary.failures[0];
    assert_eq!(failed.as_str(), "a");
    assert!(
        why.to_string().contains("without the token of the create"),
        "{why}"
    );
    // Carrying the token (the create's own): adopted.
    let summary = rig.scheduler(chain(&cloud), 8).up().await;
    assert!(summary.ok(), "{summary:?}");
}

#[tokio::test(start_paused = true)]
async fn drift_is_repaired_not_recreated() {
    let cloud = Arc::new(Cloud::default());
    let rig = Rig::new();
    rig.scheduler(chain(&cloud), 8).up().await;
    cloud
        .live
        .lock()
        .unwrap()
        .insert("b".into(), "tampered".into());
    let plan = rig.scheduler(chain(&cloud), 8).plan_up().await.unwrap();
    let b = plan.iter().find(|p| p.id.as_str() == "b").unwrap();
    assert!(matches!(&b.planned, Planned::Repair { drift, .. } if drift[0].actual == "tampered"));
    let summary = rig.scheduler(chain(&cloud), 8).up().await;
    assert_eq!(summary.count(Outcome::Repaired), 1);
    assert_eq!(cloud.creates.load(Ordering::SeqCst), 3);
}

/// With a full ledger, `plan` reads every level of the graph at once, from
/// the ledger's records; an early read is redone when its dependency reads
/// differently from the ledger, and dropped when the dependency is gone.
#[tokio::test(start_paused = true)]
async fn plan_on_a_full_ledger_reads_every_level_at_once() {
    let cloud = Arc::new(Cloud::default());
    let rig = Rig::new();
    rig.scheduler(chain(&cloud), 8).up().await;
    cloud.read_delay_ms.store(100, Ordering::SeqCst);
    let reads_since = |before: usize| cloud.reads.load(Ordering::SeqCst) - before;

    let before = cloud.reads.load(Ordering::SeqCst);
    let started = tokio::time::Instant::now();
    let plan = rig.scheduler(chain(&cloud), 8).plan_up().await.unwrap();
    assert_eq!(
        started.elapsed(),
        Duration::from_millis(100),
        "three levels, one round of reads"
    );
    assert_eq!(reads_since(before), 3);
    assert!(plan
        .iter()
        .all(|p| matches!(p.planned, Planned::NoChange { .. })));

    // The ledger has another identity for `a` than AWS: `b`, read with the
    // ledger's, is read again with the live one; `c` is not.
    rig.ledger
        .lock()
        .unwrap()
        .set_present(
            &LogicalId::new("a"),
            "fake",
            &Present::new("phys-old"),
            Status::Ready,
            None,
        )
        .unwrap();
    let before = cloud.reads.load(Ordering::SeqCst);
    let plan = rig.scheduler(chain(&cloud), 8).plan_up().await.unwrap();
    assert_eq!(reads_since(before), 4, "b read twice");
    let a = plan.iter().find(|p| p.id.as_str() == "a").unwrap();
    assert!(matches!(&a.planned, Planned::NoChange { physical_id, .. } if physical_id == "phys-a"));

    // `a` is gone: its dependents are creates, whatever their reads found.
    cloud.live.lock().unwrap().remove("a");
    let plan = rig.scheduler(chain(&cloud), 8).plan_up().await.unwrap();
    assert!(
        plan.iter().all(|p| p.planned == Planned::Create),
        "{plan:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn plan_on_an_empty_ledger_creates_everything_and_changes_nothing() {
    let cloud = Arc::new(Cloud::default());
    let rig = Rig::new();
    let plan = rig.scheduler(chain(&cloud), 8).plan_up().await.unwrap();
    assert!(plan.iter().all(|p| p.planned == Planned::Create));
    assert!(rig.ledger.lock().unwrap().is_empty());
    assert_eq!(cloud.creates.load(Ordering::SeqCst), 0);
    // Only the root is read; its dependents are known to be creates.
    assert_eq!(cloud.reads.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn down_deletes_dependents_first_and_empties_the_ledger() {
    let cloud = Arc::new(Cloud::default());
    let rig = Rig::new();
    rig.scheduler(chain(&cloud), 8).up().await;
    let mut nodes = chain(&cloud);
    let mut kept_a = Fake::build("a", &[], &cloud);
    kept_a.kept = Some("pending deletion".into());
    nodes[2] = Arc::new(kept_a);
    let planned = rig.scheduler(nodes.clone(), 8).plan_down();
    let order: Vec<_> = planned.iter().map(|p| p.id.to_string()).collect();
    assert_eq!(order, ["c", "b", "a"]);
    let summary = rig.scheduler(nodes, 8).down().await;
    assert!(summary.ok(), "{summary:?}");
    assert!(cloud.position("delete c") < cloud.position("delete b"));
    assert!(cloud.position("delete b") < cloud.position("delete a"));
    let ledger = rig.ledger.lock().unwrap();
    assert!(ledger.is_empty());
    assert_eq!(ledger.kept().len(), 1);
    assert!(cloud.live.lock().unwrap().is_empty());
}

/// The ledger names what `down` deletes, and anyone who can write the
/// ledger can name another stack's resource: one whose live tags do not
/// name this environment and logical id is not deleted.
#[tokio::test(start_paused = true)]
async fn down_deletes_only_what_proves_to_be_this_environments() {
    let cloud = Arc::new(Cloud::default());
    let rig = Rig::new();
    rig.scheduler(chain(&cloud), 8).up().await;
    let mut nodes = chain(&cloud);
    let mut a = Fake::build("a", &[], &cloud);
    a.foreign = true;
    nodes[2] = Arc::new(a);
    let summary = rig.scheduler(nodes, 8).down().await;
    assert!(!summary.ok());
    let (failed, why) = &summary.failures[0];
    assert_eq!(failed.as_str(), "a");
    assert!(
        why.to_string().contains("not deleting it")
            && why
                .to_string()
                .contains("does not carry paysec:environment="),
        "{why}"
    );
    assert!(cloud.live.lock().unwrap().contains_key("a"), "a is left");
    assert!(
        !cloud.live.lock().unwrap().contains_key("b"),
        "b, proven, is deleted"
    );
}

#[tokio::test(start_paused = true)]
async fn down_keeps_a_key_while_something_kept_is_encrypted_with_it() {
    let cloud = Arc::new(Cloud::default());
    let rig = Rig::new();
    rig.scheduler(chain(&cloud), 8).up().await;
    // b keeps a snapshot encrypted with a; c keeps nothing.
    let mut nodes = chain(&cloud);
    let mut b = Fake::build("b", &["a"], &cloud);
    b.kept = Some("snapshot of b".into());
    b.encrypted_with = Some(LogicalId::new("a"));
    nodes[1] = Arc::new(b);
    let summary = rig.scheduler(nodes, 8).down().await;
    assert!(summary.ok(), "{summary:?}");
    assert!(cloud.position("keep a") > cloud.position("delete b"));
    assert!(
        cloud.live.lock().unwrap().contains_key("a"),
        "the key outlives the data it encrypts"
    );
    let ledger = rig.ledger.lock().unwrap();
    assert!(ledger.is_empty());
    let notes: Vec<_> = ledger.kept().iter().map(|k| k.note.as_str()).collect();
    assert_eq!(notes, ["snapshot of b", "kept for: snapshot of b"]);
}

#[tokio::test(start_paused = true)]
async fn a_stop_request_launches_nothing_new() {
    let cloud = Arc::new(Cloud::default());
    let rig = Rig::new();
    let s = rig.scheduler(chain(&cloud), 8);
    rig.stop.send(true).unwrap();
    let summary = s.up().await;
    assert!(summary.interrupted);
    assert_eq!(summary.skipped.len(), 3);
    assert_eq!(cloud.creates.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn a_converged_environment_gets_quick_checks_only_until_something_changes() {
    let cloud = Arc::new(Cloud::default());
    let rig = Rig::new();
    let count = |c: &AtomicUsize| c.load(Ordering::SeqCst);
    assert!(rig
        .scheduler(chain(&cloud), 8)
        .quick_checks(true)
        .up()
        .await
        .ok());
    let (reads, log) = (count(&cloud.reads), cloud.log().len());

    // Nothing changed: one shared listing answers the three quick checks;
    // no full read, no readiness wait, nothing written.
    let ledger_before = rig.ledger.lock().unwrap().records().clone();
    let summary = rig
        .scheduler(chain(&cloud), 8)
        .quick_checks(true)
        .up()
        .await;
    assert_eq!(summary.count(Outcome::Unchanged), 3, "{summary:?}");
    assert_eq!(summary.quick_checked, 3);
    assert_eq!(
        (count(&cloud.reads), count(&cloud.quick_checks)),
        (reads, 3)
    );
    assert_eq!(count(&cloud.listings), 1);
    assert_eq!(cloud.log().len(), log);
    assert_eq!(rig.ledger.lock().unwrap().records(), &ledger_before);
    let plan = rig
        .scheduler(chain(&cloud), 8)
        .quick_checks(true)
        .plan_up()
        .await
        .unwrap();
    assert!(plan.iter().all(|p| matches!(
        p.planned,
        Planned::NoChange {
            properties_read: false,
            ..
        }
    )));

    // Deleted behind paysec's back: its quick check sends it to a full read
    // and a create; its dependent, whose desired state names the new copy's
    // id, is read in full too; `a` stays quick.
    cloud.live.lock().unwrap().remove("b");
    let summary = rig
        .scheduler(chain(&cloud), 8)
        .quick_checks(true)
        .up()
        .await;
    assert_eq!(summary.count(Outcome::Created), 1, "{summary:?}");
    assert_eq!(summary.quick_checked, 1, "{summary:?}");
    assert_eq!(count(&cloud.reads), reads + 2);

    // Tampered: only a refresh (or a changed desired state) reads it.
    cloud
        .live
        .lock()
        .unwrap()
        .insert("c".into(), "tampered".into());
    let quick = rig
        .scheduler(chain(&cloud), 8)
        .quick_checks(true)
        .up()
        .await;
    assert_eq!(quick.count(Outcome::Repaired), 0);
    let refresh = rig.scheduler(chain(&cloud), 8).up().await;
    assert_eq!(refresh.count(Outcome::Repaired), 1, "{refresh:?}");
    assert_eq!(refresh.quick_checked, 0);
    let reads = count(&cloud.reads);
    let changed = rig
        .scheduler_wanting(chain(&cloud), 8, "settings-2")
        .quick_checks(true)
        .up()
        .await;
    assert_eq!(changed.count(Outcome::Unchanged), 3);
    assert_eq!(count(&cloud.reads), reads + 3);
}

/// A no-op `up` looks at every level of the graph at once (quick checks,
/// or full reads with --refresh); an early look is not used for a resource
/// whose dependency this run changed.
#[tokio::test(start_paused = true)]
async fn a_no_op_up_checks_every_level_at_once() {
    let cloud = Arc::new(Cloud::default());
    let rig = Rig::new();
    let count = |c: &AtomicUsize| c.load(Ordering::SeqCst);
    let scheduler = || rig.scheduler(chain(&cloud), 8).quick_checks(true);
    assert!(scheduler().up().await.ok());
    cloud.read_delay_ms.store(100, Ordering::SeqCst);

    let checks = count(&cloud.quick_checks);
    let summary = scheduler().up().await;
    assert_eq!(summary.quick_checked, 3, "{summary:?}");
    assert_eq!(
        summary.elapsed,
        Duration::from_millis(100),
        "three levels, one round of checks"
    );
    assert_eq!(count(&cloud.quick_checks), checks + 3, "one check each");

    // With --refresh (no quick checks) the full reads are early too.
    let reads = count(&cloud.reads);
    let summary = rig.scheduler(chain(&cloud), 8).up().await;
    assert_eq!(summary.count(Outcome::Unchanged), 3, "{summary:?}");
    assert_eq!(summary.elapsed, Duration::from_millis(100));
    assert_eq!(count(&cloud.reads), reads + 3);

    // `a` deleted: recreated with a new id, so the early answer for `b`,
    // made under the old one, is not trusted: `b` is read in full and
    // converges anew; `c`'s (its dependency `b` kept its id) stands.
    cloud.live.lock().unwrap().remove("a");
    let (checks, reads) = (count(&cloud.quick_checks), count(&cloud.reads));
    let summary = scheduler().up().await;
    assert_eq!(summary.count(Outcome::Created), 1, "{summary:?}");
    assert_eq!(cloud.physical_id("a"), "phys-a-2");
    assert_eq!(
        count(&cloud.quick_checks) - checks,
        3,
        "the early ones only"
    );
    assert_eq!(
        count(&cloud.reads) - reads,
        2,
        "a (missing), then b in full"
    );
    let b = rig
        .ledger
        .lock()
        .unwrap()
        .record(&LogicalId::new("b"))
        .cloned()
        .unwrap();
    assert_eq!(b.status, Status::Ready);
}

#[tokio::test(start_paused = true)]
async fn a_create_left_in_flight_by_a_dead_run_is_swept_again_at_the_end() {
    let cloud = Arc::new(Cloud::default());
    let rig = Rig::new();
    rig.ledger
        .lock()
        .unwrap()
        .set_creating(&LogicalId::new("b"), "fake")
        .unwrap();
    // The dead run's create of b lands just after this run's first look.
    *cloud.lands_late.lock().unwrap() = Some("b~late".into());
    let summary = rig.scheduler(chain(&cloud), 8).up().await;
    assert!(summary.ok(), "{summary:?}");
    let sweeps = cloud.log().iter().filter(|e| *e == "sweep b").count();
    assert_eq!(
        sweeps,
        2,
        "after the create, and at the end: {:?}",
        cloud.log()
    );
    assert!(!cloud.live.lock().unwrap().contains_key("b~late"));
    // Without a dangling intent, one sweep (after the create) is enough.
    let sweeps_of_a = cloud.log().iter().filter(|e| *e == "sweep a").count();
    assert_eq!(sweeps_of_a, 1);
    assert!(rig.ledger.lock().unwrap().unswept().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_run_that_dies_too_passes_the_late_sweep_on_to_the_next() {
    let cloud = Arc::new(Cloud::default());
    let rig = Rig::new();
    let b = LogicalId::new("b");
    rig.ledger.lock().unwrap().set_creating(&b, "fake").unwrap();
    // Interrupted before it finishes: nothing swept, the sweep still owed.
    rig.stop.send_replace(true);
    assert!(rig.scheduler(chain(&cloud), 8).up().await.interrupted);
    assert!(rig.ledger.lock().unwrap().unswept().contains(&b));
    // A later run adopted b and died too; then the first run's create
    // lands. The next run to complete finds b recorded, yet sweeps it.
    rig.stop.send_replace(false);
    cloud.live.lock().unwrap().insert("b".into(), "ok".into());
    rig.ledger
        .lock()
        .unwrap()
        .set_present(&b, "fake", &Present::new("phys-b"), Status::Created, None)
        .unwrap();
    cloud
        .live
        .lock()
        .unwrap()
        .insert("b~late".into(), "ok".into());
    let summary = rig.scheduler(chain(&cloud), 8).up().await;
    assert!(summary.ok(), "{summary:?}");
    assert!(
        !cloud.live.lock().unwrap().contains_key("b~late"),
        "{:?}",
        cloud.log()
    );
    assert!(rig.ledger.lock().unwrap().unswept().is_empty());
}

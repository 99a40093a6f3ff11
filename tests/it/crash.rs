//! Crash anywhere, converge: `paysec up` killed with SIGKILL at many points
//! of a run, then run again, leaves a valid ledger, exactly one of each
//! resource, and a `down` that removes everything. Ctrl-C stops cleanly.

use std::time::Duration;

use crate::support::{changed, tagged_by_logical_id, Paysec};

fn kill_after(p: &Paysec, args: &[&str], delay: Duration) {
    let mut child = p
        .command()
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
}

#[tokio::test]
async fn up_killed_at_any_point_converges_without_duplicates_or_leaks() {
    let p = Paysec::new("crash");
    // A sample of kill points across a run (a full run takes a few seconds
    // on the emulator); scripts/crash-sweep.sh covers more of them.
    for ms in [30, 120, 250, 400, 650, 900, 1300, 1800] {
        kill_after(&p, &["up", "--yes"], Duration::from_millis(ms));
        if p.ledger_path().exists() {
            // Valid JSON after every crash: writes are atomic.
            let _ = p.ledger();
        }
    }
    p.run(&["up", "--yes"]).success();
    let by_id = tagged_by_logical_id(&p.env).await;
    let dups: Vec<_> = by_id.iter().filter(|(_, arns)| arns.len() > 1).collect();
    assert!(dups.is_empty(), "duplicates after crashes: {dups:#?}");
    assert!(
        by_id.contains_key("kms.rds") && by_id.contains_key("network.vpc"),
        "resources found by tag: {:?}",
        by_id.keys()
    );
    let again = p.run(&["up", "--yes", "--output", "json"]).success().json();
    let changed = changed(&again);
    assert!(changed.is_empty(), "converged: {changed:?}");

    // down, interrupted too, then completed: nothing tagged is left but
    // keys pending deletion and the kept snapshot.
    kill_after(&p, &["down", "--yes"], Duration::from_millis(150));
    p.run(&["down", "--yes", "--purge-audit-logs"]).success();
    let left = tagged_by_logical_id(&p.env).await;
    assert!(left.is_empty(), "leaked after down: {left:?}");
}

/// Starts `up` and returns once it is under way: its ledger exists, so
/// its interrupt handler is set.
fn up_under_way(p: &Paysec) -> std::process::Child {
    let child = p
        .command()
        .args(["up", "--yes"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !p.ledger_path().exists() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

#[tokio::test]
async fn ctrl_c_stops_launching_saves_the_ledger_and_exits_130() {
    let p = Paysec::new("sigint");
    let child = up_under_way(&p);
    // SIGINT, as a terminal's Ctrl-C sends.
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let code = out.status.code();
    // Either it was stopped (130), or the run had already finished (0).
    assert!(
        matches!(code, Some(130) | Some(0)),
        "exit {code:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if code == Some(130) {
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("interrupted"),
            "says it was interrupted"
        );
    }
    let _ = p.ledger(); // valid
    p.run(&["up", "--yes"]).success();
    p.run(&["down", "--yes"]).success();
}

#[tokio::test]
async fn a_second_ctrl_c_exits_at_once_with_a_valid_ledger() {
    let p = Paysec::new("sigint2");
    let child = up_under_way(&p);
    let pid = child.id().to_string();
    for _ in 0..2 {
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        matches!(out.status.code(), Some(130) | Some(0)),
        "exit {:?}",
        out.status.code()
    );
    let _ = p.ledger(); // valid JSON
    p.run(&["up", "--yes"]).success();
    p.run(&["down", "--yes"]).success();
}

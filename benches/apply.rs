//! Benchmark of `paysec up`/`down` against the emulator behind the latency
//! proxy (every API call delayed as on a real network). Prints figures; it
//! asserts nothing, so a busy machine cannot make it flake. Run with
//! `scripts/bench.sh` (starts the emulator).
//!
//! Reports: makespan of `up` and `down` at the default concurrency and at
//! concurrency 1 (a sequential script's behaviour) and their ratio; API
//! calls of a first `up`, a no-op `up` and a `down`; paysec's CPU time and
//! peak RSS (from /usr/bin/time); cold `status`/`output` wall time and RSS.

use std::process::Command;
use std::time::{Duration, Instant};

use paysec_testkit::FaultProxy;

/// Per-call latency (`PAYSEC_BENCH_LATENCY_MS`, default 150 ms): high
/// enough that the network, not the emulator's own CPU (moto is one Python
/// process), dominates, as it does against AWS.
fn latency() -> Duration {
    Duration::from_millis(
        std::env::var("PAYSEC_BENCH_LATENCY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(150),
    )
}

struct Measured {
    wall: Duration,
    cpu_s: f64,
    rss_kib: u64,
}

fn paysec(dir: &std::path::Path, env: &str, endpoint: &str, args: &[&str]) -> Measured {
    let bin = env!("CARGO_BIN_EXE_paysec");
    let started = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "TIME %U %S %M"])
        .arg(bin)
        .args(["--env", env, "--endpoint-url", endpoint, "-q"])
        .args(args)
        .current_dir(dir)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("run paysec under /usr/bin/time");
    let wall = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "paysec {args:?} failed: {stderr}");
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("TIME "))
        .unwrap_or("TIME 0 0 0");
    let f: Vec<f64> = line[5..]
        .split(' ')
        .filter_map(|x| x.parse().ok())
        .collect();
    Measured {
        wall,
        cpu_s: f.first().copied().unwrap_or(0.0) + f.get(1).copied().unwrap_or(0.0),
        rss_kib: f.get(2).copied().unwrap_or(0.0) as u64,
    }
}

#[allow(clippy::print_stdout)] // a benchmark's output is its figures
fn main() {
    let upstream = std::env::var("PAYSEC_TEST_ENDPOINT")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .expect("no emulator: run scripts/bench.sh");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let proxy = rt.block_on(FaultProxy::start(&upstream)).expect("proxy");
    proxy.set_latency(latency());
    let url = proxy.url();
    let dir = tempfile::tempdir().expect("tempdir");
    let id = std::process::id() % 100_000;

    let run = |env: &str, conc: &str| {
        let c0 = proxy.calls();
        let up = paysec(
            dir.path(),
            env,
            &url,
            &["up", "--yes", "--concurrency", conc],
        );
        let c1 = proxy.calls();
        let noop = paysec(
            dir.path(),
            env,
            &url,
            &["up", "--yes", "--concurrency", conc],
        );
        let c2 = proxy.calls();
        let down = paysec(
            dir.path(),
            env,
            &url,
            &["down", "--yes", "--concurrency", conc],
        );
        let c3 = proxy.calls();
        (up, noop, down, c1 - c0, c2 - c1, c3 - c2)
    };
    let (up16, noop16, down16, calls_up, calls_noop, calls_down) =
        run(&format!("bench-{id}-a"), "16");
    let (up1, _, down1, _, _, _) = run(&format!("bench-{id}-b"), "1");

    // Cold read-only commands on a full ledger (no network for these).
    let env_c = format!("bench-{id}-c");
    paysec(dir.path(), &env_c, &url, &["up", "--yes"]);
    let mut status = Vec::new();
    let mut output = Vec::new();
    for _ in 0..10 {
        status.push(paysec(
            dir.path(),
            &env_c,
            "http://127.0.0.1:9",
            &["status"],
        ));
        output.push(paysec(
            dir.path(),
            &env_c,
            "http://127.0.0.1:9",
            &["output"],
        ));
    }
    paysec(dir.path(), &env_c, &url, &["down", "--yes"]);
    let median = |v: &mut Vec<Measured>| {
        v.sort_by_key(|m| m.wall);
        (
            v[v.len() / 2].wall,
            v.iter().map(|m| m.rss_kib).max().unwrap_or(0),
        )
    };
    let (status_wall, status_rss) = median(&mut status);
    let (output_wall, output_rss) = median(&mut output);

    let s = |d: Duration| d.as_secs_f64();
    println!(
        "paysec benchmark: emulator behind a proxy adding {} ms per API call",
        latency().as_millis()
    );
    println!("| run | makespan | CPU | peak RSS |");
    println!("|---|---|---|---|");
    println!(
        "| up, concurrency 16 | {:.2} s | {:.2} s | {} MiB |",
        s(up16.wall),
        up16.cpu_s,
        up16.rss_kib / 1024
    );
    println!(
        "| up, concurrency 1 | {:.2} s | {:.2} s | {} MiB |",
        s(up1.wall),
        up1.cpu_s,
        up1.rss_kib / 1024
    );
    println!(
        "| no-op up | {:.2} s | {:.2} s | {} MiB |",
        s(noop16.wall),
        noop16.cpu_s,
        noop16.rss_kib / 1024
    );
    println!(
        "| down, concurrency 16 | {:.2} s | {:.2} s | {} MiB |",
        s(down16.wall),
        down16.cpu_s,
        down16.rss_kib / 1024
    );
    println!(
        "| down, concurrency 1 | {:.2} s | {:.2} s | {} MiB |",
        s(down1.wall),
        down1.cpu_s,
        down1.rss_kib / 1024
    );
    println!(
        "speed-up over concurrency 1: up {:.1}x, down {:.1}x",
        s(up1.wall) / s(up16.wall),
        s(down1.wall) / s(down16.wall)
    );
    println!("API calls: first up {calls_up}, no-op up {calls_noop}, down {calls_down}");
    println!(
        "cold status: median {:.0} ms, RSS {} MiB; cold output: median {:.0} ms, RSS {} MiB",
        s(status_wall) * 1000.0,
        status_rss / 1024,
        s(output_wall) * 1000.0,
        output_rss / 1024
    );
}

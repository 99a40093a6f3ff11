//! Benchmark of `paysec up`/`down` against the emulator behind the latency
//! model of real AWS (crates/testkit `Model`: per-call latency, RDS/Lambda/
//! endpoint readiness, IAM and KMS propagation, scaled down so a run takes
//! about a minute). Prints figures; it asserts nothing, so a busy machine cannot
//! make it flake. Run with `scripts/bench.sh` (starts the emulator).
//!
//! Reports, in one run:
//! - makespan of `up` and `down` at the default concurrency, and at
//!   concurrency 1 (one resource at a time, start to ready: a sequential
//!   script), and their ratio;
//! - the critical-path lower bound of the same graph under the same model
//!   (each resource one call plus its modelled wait, IAM and KMS
//!   propagation on the edges from a role or key to what the model refuses
//!   while it is young) and the makespan's ratio to it;
//!   and a second bound from paysec's own per-resource work measured in the
//!   sequential run (what the schedule could reach with unlimited
//!   parallelism);
//! - API calls of a first `up`, a no-op `up` (full: every property read,
//!   the default) and a no-op `up --no-refresh`, a `down`, the readiness
//!   polls among them, and requests the model refused or rewrote;
//! - paysec's CPU time and peak RSS (from /usr/bin/time);
//! - a fleet run: N environments in one `paysec up --env ...` (N = 1, 5, 10):
//!   makespan, calls, throttles, peak RSS;
//! - a fleet across accounts: N environments in K accounts (default 50 in
//!   10: `PAYSEC_BENCH_ACCOUNTS=NxK`, empty to skip; alone with
//!   `PAYSEC_BENCH_ONLY=accounts`), each through its account's role, on a
//!   shared ledger on S3: makespan against one environment's, calls,
//!   throttles, peak RSS and the ledger's writes to S3. Each account is
//!   answered by a moto process of its own, as AWS answers each account
//!   on its own (`PAYSEC_BENCH_ONE_EMULATOR=1`: every account on the one
//!   emulator, one request at a time). Those processes are lean
//!   (`Moto::start_lean`: moto's answers without the RSA key pair it makes
//!   for every symmetric KMS key; `PAYSEC_BENCH_STOCK_MOTO=1` for stock);
//! - `deploy` (new code only) and `rollback` at the model's per-call
//!   latency, against the three calls a deploy needs in sequence and the
//!   one a rollback needs (goal: deploy within 1.2x; alone with
//!   `PAYSEC_BENCH_ONLY=deploy`); and a signed `deploy`
//!   (`lambda.signing_profile`, through the rules layer's Signer, a job
//!   taking `SIGNING_TIME`) against its six calls and the job's time;
//! - cold `status`/`output` wall time and RSS on a full ledger, and cold
//!   `plan` (full, and `--no-refresh`) at the model's call latency, with
//!   the full one's ratio to the quick one (goal: within 1.5x).
//!
//! `PAYSEC_BENCH_BIN=target/release/paysec` measures another build of
//! paysec (its own CPU time is part of a fleet's bound on two cores).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use paysec_testkit::moto::Moto;
use paysec_testkit::{FaultProxy, Model, Rules};

/// The readiness waits are divided by this (`PAYSEC_BENCH_SCALE`, default
/// 30: a 20-minute database becomes 40 s).
fn scale() -> f64 {
    std::env::var("PAYSEC_BENCH_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30.0)
}

/// Fleet sizes (`PAYSEC_BENCH_FLEET`, default "1,5,10"; empty to skip).
fn fleet_sizes() -> Vec<usize> {
    std::env::var("PAYSEC_BENCH_FLEET")
        .unwrap_or_else(|_| "1,5,10".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect()
}

struct Measured {
    wall: Duration,
    cpu_s: f64,
    rss_kib: u64,
    /// Whether paysec exited 0.
    ok: bool,
    stdout: String,
    /// Progress events (JSON lines with `--output json`).
    stderr: String,
}

/// Runs paysec; a failure stops the benchmark (its figures would lie).
fn paysec(dir: &Path, endpoint: &str, args: &[&str]) -> Measured {
    let m = paysec_with(dir, endpoint, args, &[]);
    assert!(m.ok, "paysec {args:?} failed: {}", m.stderr);
    m
}

fn paysec_with(dir: &Path, endpoint: &str, args: &[&str], vars: &[(&str, &str)]) -> Measured {
    // `PAYSEC_BENCH_BIN`: another build of paysec to measure (a release
    // one, `target/release/paysec`); by default the one cargo built here.
    let bin = std::env::var("PAYSEC_BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_paysec").to_owned());
    let started = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "TIME %U %S %M"])
        .arg(bin)
        .args(["--endpoint-url", endpoint])
        .args(args)
        .current_dir(dir)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        // Benchmark environments are disposable: their databases are not
        // protected (`down` of a protected one is refused).
        .env("PAYSEC_RDS_DELETION_PROTECTION", "false")
        // moto has no Route 53 Resolver DNS Firewall.
        .env("PAYSEC_NETWORK_DNS_FIREWALL", "false")
        .envs(vars.iter().copied())
        .output()
        .expect("run paysec under /usr/bin/time");
    let wall = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ok = out.status.success();
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
        ok,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: stderr.into_owned(),
    }
}

/// The stack's graph as `paysec graph` draws it: kinds and edges
/// (dependency → dependent, `true` when the dependent needs readiness).
struct Topology {
    kinds: HashMap<String, String>,
    edges: Vec<(String, String, bool)>,
}

fn topology(dir: &Path, endpoint: &str, env: &str) -> Topology {
    let dot = paysec(dir, endpoint, &["--env", env, "graph"]).stdout;
    let mut kinds = HashMap::new();
    let mut edges = Vec::new();
    for line in dot.lines().map(str::trim) {
        let quoted: Vec<&str> = line.split('"').collect();
        if line.contains(" -> ") && quoted.len() >= 4 {
            edges.push((
                quoted[1].to_owned(),
                quoted[3].to_owned(),
                line.contains("style=bold"),
            ));
        } else if line.contains("[label=") && quoted.len() >= 4 {
            let kind = quoted[3].rsplit("\\n").next().unwrap_or_default();
            kinds.insert(quoted[1].to_owned(), kind.to_owned());
        }
    }
    Topology { kinds, edges }
}

/// Per resource, from a run's JSON events: (started, identity available,
/// done), seconds since the run began; in a fleet, per `ENV/ID`.
fn timings(json_lines: &str) -> HashMap<String, (f64, f64, f64)> {
    let mut t: HashMap<String, (f64, f64, f64)> = HashMap::new();
    for line in json_lines.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(id), Some(at)) = (v["id"].as_str(), v["t"].as_f64()) else {
            continue;
        };
        // A fleet's events name their environment: `ENV/ID`.
        let key = match v["env"].as_str() {
            Some(env) => format!("{env}/{id}"),
            None => id.to_owned(),
        };
        let e = t.entry(key).or_insert((f64::NAN, f64::NAN, f64::NAN));
        match (v["event"].as_str(), v["phase"].as_str()) {
            (Some("phase"), Some("reading" | "deleting")) if e.0.is_nan() => e.0 = at,
            (Some("phase"), Some("waiting_ready")) => e.1 = at,
            (Some("done"), _) => {
                e.2 = at;
                if e.1.is_nan() {
                    e.1 = at;
                }
            }
            _ => {}
        }
    }
    t
}

/// The longest path: each node costs (until its identity exists, then
/// until ready); an identity edge lets the dependent start when the
/// dependency's identity exists, a ready edge when it is ready; `extra`
/// adds a delay on an edge. `reverse` walks the graph the way `down` does
/// (a node after all its dependents are done).
fn critical_path(
    topo: &Topology,
    cost: &dyn Fn(&str) -> (f64, f64),
    extra: &dyn Fn(&str, &str) -> f64,
    reverse: bool,
) -> f64 {
    let edges: Vec<(&str, &str, bool)> = topo
        .edges
        .iter()
        .map(|(a, b, r)| {
            if reverse {
                (b.as_str(), a.as_str(), true)
            } else {
                (a.as_str(), b.as_str(), *r)
            }
        })
        .collect();
    let mut pending: HashMap<&str, usize> = topo.kinds.keys().map(|k| (k.as_str(), 0)).collect();
    for (_, to, _) in &edges {
        *pending.entry(to).or_default() += 1;
    }
    let mut start: HashMap<&str, f64> = HashMap::new();
    let (mut identity, mut done): (HashMap<&str, f64>, HashMap<&str, f64>) =
        (HashMap::new(), HashMap::new());
    let mut queue: Vec<&str> = pending
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(k, _)| *k)
        .collect();
    while let Some(n) = queue.pop() {
        let s = *start.get(n).unwrap_or(&0.0);
        let (to_identity, to_ready) = cost(n);
        identity.insert(n, s + to_identity);
        done.insert(n, s + to_identity + to_ready);
        for (from, to, ready) in edges.iter().filter(|(f, _, _)| *f == n) {
            let at = if *ready { done[from] } else { identity[from] } + extra(from, to);
            let e = start.entry(to).or_insert(0.0);
            *e = e.max(at);
            let left = pending.get_mut(to).expect("node");
            *left -= 1;
            if *left == 0 {
                queue.push(to);
            }
        }
    }
    done.values().copied().fold(0.0, f64::max)
}

fn waits(model: &Model, kind: &str, down: bool) -> f64 {
    match (kind, down) {
        ("db_instance", false) => model.rds_create.as_secs_f64(),
        ("db_instance", true) => model.rds_delete.as_secs_f64(),
        ("lambda_function", false) => model.lambda_pending.as_secs_f64(),
        ("vpc_endpoint_interface", false) => model.endpoint_pending.as_secs_f64(),
        // A key's own rotation and alias are refused until it has
        // propagated (the services that encrypt with it: an edge delay).
        ("kms_key", false) => model.kms_propagation.as_secs_f64(),
        _ => 0.0,
    }
}

/// The model's bound: one call per resource plus its modelled wait, and
/// propagation between a role or key and the creates the model refuses
/// while it is young.
fn model_bound(topo: &Topology, model: &Model, down: bool) -> f64 {
    let call = model.call_latency.as_secs_f64();
    let kind = |id: &str| topo.kinds.get(id).map(String::as_str).unwrap_or("");
    critical_path(
        topo,
        &|id| (call, waits(model, kind(id), down)),
        &|from, to| {
            let names_role = matches!(kind(to), "kms_key" | "lambda_function" | "db_instance");
            let checks_key = matches!(kind(to), "log_group" | "lambda_function" | "db_instance");
            match kind(from) {
                "iam_role" if !down && names_role => model.iam_propagation.as_secs_f64(),
                "kms_key" if !down && checks_key => model.kms_propagation.as_secs_f64(),
                _ => 0.0,
            }
        },
        down,
    )
}

/// The bound from paysec's own per-resource work in the sequential run.
fn work_bound(topo: &Topology, sequential: &HashMap<String, (f64, f64, f64)>, down: bool) -> f64 {
    critical_path(
        topo,
        &|id| match sequential.get(id) {
            Some(&(s, i, d)) if !s.is_nan() => ((i - s).max(0.0), (d - i).max(0.0)),
            _ => (0.0, 0.0),
        },
        &|_, _| 0.0,
        down,
    )
}

fn polls(log: &[String]) -> usize {
    log.iter()
        .filter(|s| {
            s.as_str() == "DescribeDBInstances"
                || s.as_str() == "DescribeVpcEndpoints"
                || (s.starts_with("GET /2015-03-31/functions/") && s.contains("/configuration"))
        })
        .count()
}

struct Cycle {
    up: Measured,
    noop: Measured,
    noop_quick: Measured,
    down: Measured,
    /// Calls of the first up, the no-op up, the no-op `up --no-refresh`,
    /// the down.
    calls: (usize, usize, usize, usize),
    polls_up: usize,
    polls_down: usize,
}

fn cycle(proxy: &FaultProxy, dir: &Path, env: &str, conc: &str) -> Cycle {
    let url = proxy.url();
    let args = |cmd: &'static str| -> Vec<String> {
        [
            "--env",
            env,
            "--output",
            "json",
            cmd,
            "--yes",
            "--concurrency",
            conc,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let run = |cmd: &'static str| {
        let mut a = args(cmd);
        if cmd == "up --no-refresh" {
            a = args("up");
            a.push("--no-refresh".into());
        }
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let before = proxy.log().len();
        let m = paysec(dir, &url, &a);
        let log = proxy.log();
        (m, log.len() - before, polls(&log[before..]))
    };
    let (up, c_up, polls_up) = run("up");
    let (noop, c_noop, _) = run("up");
    let (noop_quick, c_quick, _) = run("up --no-refresh");
    let (down, c_down, polls_down) = run("down");
    Cycle {
        up,
        noop,
        noop_quick,
        down,
        calls: (c_up, c_noop, c_quick, c_down),
        polls_up,
        polls_down,
    }
}

fn mib(kib: u64) -> u64 {
    kib / 1024
}

/// `PAYSEC_BENCH_ACCOUNTS` (default `50x10`): environments and accounts.
fn accounts_fleet_size() -> Option<(usize, usize)> {
    let text = std::env::var("PAYSEC_BENCH_ACCOUNTS").unwrap_or_else(|_| "50x10".into());
    let (n, k) = text.split_once('x')?;
    Some((n.trim().parse().ok()?, k.trim().parse().ok()?)).filter(|(n, k)| *n > 0 && *k > 0)
}

/// The figures of a fleet across accounts.
struct AccountsFleet {
    environments: usize,
    accounts: usize,
    /// Emulator processes answering the accounts (1: the one emulator).
    emulator_processes: usize,
    one: Measured,
    up: Measured,
    down: Measured,
    calls_up: usize,
    throttled_up: usize,
    ledger_writes_up: usize,
    /// CPU seconds the emulator spent during the fleet's `up`: its first
    /// process and all of them (what tells an emulator-bound run from a
    /// paysec-bound one).
    emulator_cpu_up: Option<(f64, f64)>,
    /// CPU seconds this process (the test proxy runs in it) spent then.
    proxy_cpu_up: Option<f64>,
    /// The machine's CPU seconds then, busy and in all (every core).
    machine_cpu_up: Option<(f64, f64)>,
    /// Connections the kernel dropped then because a listening socket's
    /// queue was full (each costs its client a second or more).
    listen_overflows_up: Option<u64>,
}

/// The kernel's count of connections dropped for a full listen queue, all
/// sockets (`TcpExtListenOverflows`, /proc/net/netstat).
fn listen_overflows() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/netstat").ok()?;
    let mut lines = text.lines();
    while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        if let Some(i) = names
            .split_whitespace()
            .position(|n| n == "ListenOverflows")
        {
            return values.split_whitespace().nth(i)?.parse().ok();
        }
    }
    None
}

/// CPU seconds the emulator has used so far (user + system, from /proc):
/// its first process, when `scripts/emulator.sh` started it here (STS and
/// the shared ledger's bucket), and the accounts' own processes
/// (`shards`), in all.
fn emulator_cpu_s(shards: &[Moto]) -> Option<(f64, f64)> {
    let pid = std::fs::read_to_string("target/emulator/pid").ok()?;
    let first = process_cpu_s(pid.trim())?;
    let all = shards.iter().try_fold(first, |sum, shard| {
        Some(sum + process_cpu_s(&shard.pid()?)?)
    })?;
    Some((first, all))
}

/// One moto process per account, each answering as that account alone
/// (the proxy sends each account's role sessions to its own), started at
/// once: unless `PAYSEC_BENCH_ONE_EMULATOR=1`. Lean ([`Moto::start_lean`]:
/// no RSA key pair for a symmetric key until one is used) unless
/// `PAYSEC_BENCH_STOCK_MOTO=1`.
fn account_emulators(accounts: &[String], dir: &Path) -> Vec<Moto> {
    if std::env::var("PAYSEC_BENCH_ONE_EMULATOR").as_deref() == Ok("1") {
        return Vec::new();
    }
    let server = Moto::install(Path::new("."))
        .unwrap_or_else(|e| panic!("{e}"))
        .to_string_lossy()
        .into_owned();
    let stock = std::env::var("PAYSEC_BENCH_STOCK_MOTO").as_deref() == Ok("1");
    std::thread::scope(|scope| {
        let started: Vec<_> = accounts
            .iter()
            .map(|account| {
                let server = &server;
                scope.spawn(move || {
                    if stock {
                        Moto::start(server, dir, Some(account))
                    } else {
                        Moto::start_lean(server, dir, Some(account))
                    }
                    .expect("an account's own moto")
                })
            })
            .collect();
        started
            .into_iter()
            .map(|s| s.join().expect("starting moto"))
            .collect()
    })
}

/// CPU seconds the benchmark's own process has used so far: the test proxy
/// (latency model, rules) runs in it.
fn own_cpu_s() -> Option<f64> {
    process_cpu_s("self")
}

/// The machine's CPU seconds so far, busy and in all, summed over its cores
/// (the first line of /proc/stat, in clock ticks of 100 a second).
fn machine_cpu_s() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<f64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    let total: f64 = ticks.iter().sum();
    // idle and iowait are the 4th and 5th.
    let idle = ticks.get(3)? + ticks.get(4).copied().unwrap_or(0.0);
    Some(((total - idle) / 100.0, total / 100.0))
}

/// User + system CPU seconds of process `pid` (`self` for this one).
fn process_cpu_s(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command's closing parenthesis; utime and stime are
    // the 14th and 15th of the line, in clock ticks (100 a second on Linux).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    Some((ticks(11)? + ticks(12)?) / 100.0)
}

/// The deploy role in each of `accounts` accounts (as a landing zone has
/// them), made directly on the emulator as each account's owner: on the
/// account's own process where it has one (`shards`, in the same order).
async fn deploy_roles(upstream: &str, accounts: &[String], shards: &[Moto]) -> Vec<String> {
    let base = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .credentials_provider(paysec_aws::sdk::s3::config::Credentials::new(
            "test", "test", None, None, "bench",
        ))
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(upstream)
        .load()
        .await;
    let sts = aws_sdk_sts::Client::new(&base);
    let trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Principal": { "AWS": "arn:aws:iam::123456789012:root" }, "Action": "sts:AssumeRole" }]
    })
    .to_string();
    let mut roles = Vec::new();
    for (i, account) in accounts.iter().enumerate() {
        if let Some(shard) = shards.get(i) {
            // Any key is that account's there.
            let owner = base.to_builder().endpoint_url(&shard.url).build();
            create_deployer(&owner, &trust).await;
            roles.push(format!("arn:aws:iam::{account}:role/PaysecDeployer"));
            continue;
        }
        let creds = sts
            .assume_role()
            .role_arn(format!("arn:aws:iam::{account}:role/BenchOwner"))
            .role_session_name("bench")
            .send()
            .await
            .expect("assume the account's owner")
            .credentials()
            .cloned()
            .expect("credentials");
        let owner = base
            .to_builder()
            .credentials_provider(paysec_aws::sdk::s3::config::SharedCredentialsProvider::new(
                paysec_aws::sdk::s3::config::Credentials::new(
                    creds.access_key_id(),
                    creds.secret_access_key(),
                    Some(creds.session_token().to_owned()),
                    None,
                    "bench",
                ),
            ))
            .build();
        create_deployer(&owner, &trust).await;
        roles.push(format!("arn:aws:iam::{account}:role/PaysecDeployer"));
    }
    roles
}

/// The role paysec assumes in an account, made as that account's `owner`
/// (left as it is when it exists).
async fn create_deployer(owner: &aws_config::SdkConfig, trust: &str) {
    let _ = paysec_aws::sdk::iam::Client::new(owner)
        .create_role()
        .role_name("PaysecDeployer")
        .assume_role_policy_document(trust)
        .send()
        .await;
}

/// N environments in K accounts on a shared ledger: one environment alone
/// first (the baseline), then all of them in one fleet run, then `down`.
fn accounts_fleet(
    rt: &tokio::runtime::Runtime,
    proxy: &FaultProxy,
    upstream: &str,
    dir: &Path,
    id: u32,
    (n, k): (usize, usize),
    (quick, measured): (Model, Model),
) -> AccountsFleet {
    let accounts: Vec<String> = (0..k)
        .map(|a| format!("{:012}", 700_000_000_000u64 + a as u64))
        .collect();
    let shards = account_emulators(&accounts, dir);
    for (account, shard) in accounts.iter().zip(&shards) {
        proxy
            .serve_account(account, &shard.url)
            .expect("the account's own emulator");
    }
    let roles = rt.block_on(deploy_roles(upstream, &accounts, &shards));
    let url = proxy.url();
    let bucket = format!("bench-state-{id}");
    paysec(dir, &url, &["ledger", "init", &format!("s3://{bucket}")]);
    // `PAYSEC_BENCH_LEDGER=dir`: the same on local ledgers, to tell the
    // shared ledger's cost from the fleet's.
    let ledger = if std::env::var("PAYSEC_BENCH_LEDGER").as_deref() == Ok("dir") {
        dir.join("fleet-ledgers").to_string_lossy().into_owned()
    } else {
        format!("s3://{bucket}/fleet")
    };
    let names: Vec<String> = (0..n).map(|j| format!("acct-{id}-{j}")).collect();
    let one = format!("acct-{id}-one");
    // One environment per account for the warm-up of the accounts' own
    // emulators (the first one's was warmed before).
    let warm: Vec<String> = (0..shards.len())
        .map(|a| format!("acct-{id}-w{a}"))
        .collect();
    let config: String = names
        .iter()
        .enumerate()
        .map(|(j, name)| (name, &roles[j % k]))
        .chain(warm.iter().enumerate().map(|(a, name)| (name, &roles[a])))
        .chain(std::iter::once((&one, &roles[0])))
        .map(|(name, role)| format!("[environments.{name}]\nrole_arn = \"{role}\"\n\n"))
        .collect();
    let config_path = dir.join("accounts.toml");
    std::fs::write(&config_path, config).expect("fleet config");
    let config_arg = config_path.to_string_lossy().into_owned();
    // `-q`, or `--output json` for the runs whose timings are read.
    let run_as = |output: &[&'static str], envs: &[String], verb: &[&str]| {
        let mut args: Vec<&str> = output.to_vec();
        args.extend(["--config", config_arg.as_str(), "--ledger", ledger.as_str()]);
        for e in envs {
            args.extend(["--env", e.as_str()]);
        }
        args.extend(verb);
        paysec(dir, &url, &args)
    };
    let run = |envs: &[String], verb: &[&str]| run_as(&["-q"], envs, verb);
    let timed = |envs: &[String], verb: &[&str]| run_as(&["--output", "json"], envs, verb);
    if !warm.is_empty() {
        // Each emulator loads a service's backend on first use: charged
        // to no measured run.
        proxy.set_model(quick);
        run(&warm, &["up", "--yes"]);
        run(&warm, &["down", "--yes", "--purge-audit-logs"]);
        proxy.set_model(measured);
    }
    let one_env = [one.clone()];
    let alone = timed(&one_env, &["up", "--yes"]);
    run(&one_env, &["down", "--yes", "--purge-audit-logs"]);
    let (c0, t0, l0) = (proxy.calls(), proxy.throttled(), proxy.log().len());
    let cpu0 = emulator_cpu_s(&shards);
    let (own0, machine0, overflows0) = (own_cpu_s(), machine_cpu_s(), listen_overflows());
    let up = timed(&names, &["up", "--yes"]);
    // Every event of the fleet's up, for a closer look than the summary.
    let _ = std::fs::write("target/bench-fleet-events.jsonl", &up.stderr);
    let emulator_cpu_up = emulator_cpu_s(&shards)
        .zip(cpu0)
        .map(|(after, before)| (after.0 - before.0, after.1 - before.1));
    let proxy_cpu_up = own_cpu_s().zip(own0).map(|(after, before)| after - before);
    let listen_overflows_up = listen_overflows()
        .zip(overflows0)
        .map(|(after, before)| after - before);
    let machine_cpu_up = machine_cpu_s()
        .zip(machine0)
        .map(|((busy1, all1), (busy0, all0))| (busy1 - busy0, all1 - all0));
    let (c1, t1) = (proxy.calls(), proxy.throttled());
    let prefix = format!("PUT /{bucket}/fleet/");
    let ledger_writes_up = proxy.log()[l0..]
        .iter()
        .filter(|sig| sig.starts_with(&prefix) && sig.contains(".json"))
        .count();
    let down = run(&names, &["down", "--yes", "--purge-audit-logs"]);
    AccountsFleet {
        environments: n,
        accounts: k,
        emulator_processes: 1 + shards.len(),
        one: alone,
        up,
        down,
        calls_up: c1 - c0,
        throttled_up: t1 - t0,
        ledger_writes_up,
        emulator_cpu_up,
        proxy_cpu_up,
        machine_cpu_up,
        listen_overflows_up,
    }
}

#[allow(clippy::print_stdout)] // a benchmark's output is its figures
fn print_accounts_fleet(f: &AccountsFleet) {
    let s = |d: Duration| d.as_secs_f64();
    println!();
    println!(
        "fleet across accounts: {} environments in {} accounts (each through its account's role), shared ledger on S3, {}",
        f.environments,
        f.accounts,
        if f.emulator_processes > 1 {
            format!(
                "each account on its own moto process ({} in all, with the first: STS and the ledger)",
                f.emulator_processes
            )
        } else {
            "every account on one moto process".to_owned()
        }
    );
    println!("| run | makespan | calls | throttled | ledger writes to S3 | peak RSS |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| one environment, up | {:.1} s | - | - | - | {} MiB |",
        s(f.one.wall),
        mib(f.one.rss_kib)
    );
    println!(
        "| {} environments, up | {:.1} s ({:.2}x one) | {} | {} | {} | {} MiB |",
        f.environments,
        s(f.up.wall),
        s(f.up.wall) / s(f.one.wall),
        f.calls_up,
        f.throttled_up,
        f.ledger_writes_up,
        mib(f.up.rss_kib)
    );
    println!(
        "| {} environments, down | {:.1} s | - | - | - | {} MiB |",
        f.environments,
        s(f.down.wall),
        mib(f.down.rss_kib)
    );
    println!(
        "CPU during the fleet's up ({:.1} s): paysec {:.1} s, the emulator {}",
        s(f.up.wall),
        f.up.cpu_s,
        f.emulator_cpu_up.map_or_else(
            || "not read (not started by scripts/emulator.sh here)".to_owned(),
            |(first, all)| format!(
                "{all:.1} s ({:.0} % of the makespan; its first process, STS and the shared ledger's bucket, {first:.1} s)",
                100.0 * all / s(f.up.wall)
            )
        )
    );
    if let (Some(proxy), Some((busy, all))) = (f.proxy_cpu_up, f.machine_cpu_up) {
        println!(
            "  the benchmark's process (the test proxy in it) {proxy:.1} s; the machine's cores busy {:.0} % of the time ({busy:.1} of {all:.1} CPU seconds)",
            100.0 * busy / all
        );
    }
    if let Some(dropped) = f.listen_overflows_up {
        println!("  connections dropped for a full listen queue: {dropped}");
    }
    print_where_the_time_goes(&f.one.stderr, &f.up.stderr, f.environments);
}

/// Per resource, alone and in the fleet (the median over its
/// environments): when it started and how long it took, the ten that end
/// last in the fleet; and how the fleet's environments ended.
#[allow(clippy::print_stdout)] // a benchmark's output is its figures
fn print_where_the_time_goes(alone: &str, fleet: &str, environments: usize) {
    let alone = timings(alone);
    let fleet = timings(fleet);
    let median = |mut v: Vec<f64>| -> f64 {
        v.retain(|x| x.is_finite());
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let of = |id: &str| -> Vec<(f64, f64, f64)> {
        fleet
            .iter()
            .filter(|(k, _)| k.split_once('/').is_some_and(|(_, i)| i == id))
            .map(|(_, t)| *t)
            .collect()
    };
    // (resource, (starts, takes) alone, (starts, takes) in the fleet)
    type Row = (String, (f64, f64), (f64, f64));
    let mut rows: Vec<Row> = alone
        .iter()
        .map(|(id, (start, _, done))| {
            let f = of(id);
            let starts = median(f.iter().map(|t| t.0).collect());
            let takes = median(f.iter().map(|t| t.2 - t.0).collect());
            (id.clone(), (*start, done - start), (starts, takes))
        })
        .collect();
    rows.sort_by(|a, b| (b.2 .0 + b.2 .1).total_cmp(&(a.2 .0 + a.2 .1)));
    println!("where the time goes: per resource, alone and in the fleet (median of {environments}), the ten that end last");
    println!("| resource | alone: starts at | takes | fleet: starts at | takes |");
    println!("|---|---|---|---|---|");
    for (id, (s1, d1), (sf, df)) in rows.iter().take(10) {
        println!("| {id} | {s1:.1} s | {d1:.1} s | {sf:.1} s | {df:.1} s |");
    }
    let mut ends: Vec<f64> = Vec::new();
    let mut envs: HashMap<&str, f64> = HashMap::new();
    for (key, (_, _, done)) in &fleet {
        if let Some((env, _)) = key.split_once('/') {
            let e = envs.entry(env).or_insert(0.0);
            if done.is_finite() && *done > *e {
                *e = *done;
            }
        }
    }
    ends.extend(envs.values());
    ends.sort_by(f64::total_cmp);
    if let (Some(first), Some(last)) = (ends.first(), ends.last()) {
        println!(
            "the fleet's environments ended between {first:.1} s and {last:.1} s (median {:.1} s)",
            ends[ends.len() / 2]
        );
    }
}

/// `deploy` and `rollback` of one environment, measured.
struct DeployBench {
    deploys: Vec<Measured>,
    rollbacks: Vec<Measured>,
    calls: usize,
}

/// `deploy` (new code only) six times, two packages in turn so each ships
/// new code, and `rollback` after each of the last four, on `env`'s
/// function (already up), under the proxy's current model.
fn deploy_bench(proxy: &FaultProxy, dir: &Path, url: &str, env: &str) -> DeployBench {
    let mut deploys = Vec::new();
    let mut rollbacks = Vec::new();
    let deploy_calls_before = proxy.calls();
    for k in 0..6 {
        let package = dir.join(format!("deploy-{}", k % 2));
        std::fs::create_dir_all(&package).expect("package dir");
        std::fs::write(
            package.join("handler.py"),
            format!("def handler(event, context):\n    return {k}\n"),
        )
        .expect("package");
        let config = dir.join(format!("deploy-{k}.toml"));
        std::fs::write(
            &config,
            format!("[lambda]\npackage = \"{}\"\n", package.display()),
        )
        .expect("config");
        let config = config.display().to_string();
        deploys.push(paysec(
            dir,
            url,
            &["--env", env, "--config", &config, "-q", "deploy", "--yes"],
        ));
        if k < 2 {
            continue;
        }
        rollbacks.push(paysec(
            dir,
            url,
            &["--env", env, "--config", &config, "-q", "rollback", "--yes"],
        ));
    }
    DeployBench {
        deploys,
        rollbacks,
        calls: proxy.calls() - deploy_calls_before,
    }
}

/// The deploy figures: each median against the calls it needs in
/// sequence at the model's latency (a deploy three: UpdateFunctionCode
/// with publish, GetFunctionConfiguration of the version, UpdateAlias; who
/// is calling is asked during the upload; a rollback one: UpdateAlias).
#[allow(clippy::print_stdout)] // a benchmark's output is its figures
fn print_deploy_bench(b: &DeployBench, model: &Model) {
    let s = |d: Duration| d.as_secs_f64();
    let median = |v: &[Measured]| {
        let mut walls: Vec<Duration> = v.iter().map(|m| m.wall).collect();
        walls.sort();
        walls.get(walls.len() / 2).copied().unwrap_or_default()
    };
    let per_call = s(model.call_latency);
    let (deploy, rollback) = (s(median(&b.deploys)), s(median(&b.rollbacks)));
    let failed = b
        .deploys
        .iter()
        .chain(&b.rollbacks)
        .filter(|m| !m.ok)
        .count();
    println!(
        "deploy (new code only), at {:.0} ms per call: median {deploy:.2} s against its three calls' {:.2} s: {:.2}x (goal 1.2x); rollback: median {rollback:.2} s against one call's {per_call:.2} s: {:.2}x; {} calls for {} deploys and {} rollbacks (identity included); peak RSS {} MiB; {failed} failed",
        per_call * 1000.0,
        3.0 * per_call,
        deploy / (3.0 * per_call),
        rollback / per_call,
        b.calls,
        b.deploys.len(),
        b.rollbacks.len(),
        mib(b.deploys.iter().map(|m| m.rss_kib).max().unwrap_or(0)),
    );
}

/// How long the rules layer's Signer takes to sign one package in the
/// signed deploy figure (AWS documents no figure; its waiter polls every
/// 20 s, paysec every 500 ms at first).
const SIGNING_TIME: Duration = Duration::from_millis(1500);

/// A signed `deploy` (`lambda.signing_profile`) four times on environment
/// `env`, made for it with signing on: each uploads the package, starts a
/// Signer job, polls it, and ships the signed copy.
fn signed_deploy_bench(
    rt: &tokio::runtime::Runtime,
    proxy: &FaultProxy,
    dir: &Path,
    url: &str,
    env: &str,
    (quick, model): (Model, Model),
) -> (Vec<Measured>, usize) {
    proxy.set_rules(Rules {
        service_quotas: vec![("vpc", "L-F678F1CE", 1000.0)],
        code_signing: true,
        signing_time: SIGNING_TIME,
        // The release bucket's policy, as AWS judges it (moto applies its
        // conditional Deny statements to every object call).
        s3_policy_conditions: true,
        ..Rules::off()
    });
    let profile = env.replace('-', "_");
    rt.block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .credentials_provider(paysec_aws::sdk::s3::config::Credentials::new(
                "test", "test", None, None, "bench",
            ))
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(url)
            .load()
            .await;
        aws_sdk_signer::Client::new(&config)
            .put_signing_profile()
            .profile_name(&profile)
            .platform_id("AWSLambda-SHA384-ECDSA")
            .send()
            .await
            .expect("a signing profile");
    });
    let write = |k: usize| {
        let package = dir.join(format!("signed-{}", k % 2));
        std::fs::create_dir_all(&package).expect("package dir");
        std::fs::write(
            package.join("handler.py"),
            format!("def handler(event, context):\n    return {k}\n"),
        )
        .expect("package");
        let config = dir.join(format!("signed-{k}.toml"));
        std::fs::write(
            &config,
            format!(
                "[lambda]\npackage = \"{}\"\nsigning_profile = \"{profile}\"\n",
                package.display()
            ),
        )
        .expect("config");
        config.display().to_string()
    };
    proxy.set_model(quick);
    let first = write(0);
    paysec(
        dir,
        url,
        &["--env", env, "--config", &first, "-q", "up", "--yes"],
    );
    proxy.set_model(model);
    let before = proxy.calls();
    let deploys = (1..5)
        .map(|k| {
            let config = write(k);
            paysec(
                dir,
                url,
                &["--env", env, "--config", &config, "-q", "deploy", "--yes"],
            )
        })
        .collect();
    let calls = proxy.calls() - before;
    proxy.set_model(quick);
    paysec(
        dir,
        url,
        &["--env", env, "--config", &first, "-q", "down", "--yes"],
    );
    proxy.set_model(model);
    (deploys, calls)
}

/// The signed deploy figure: its median against its six calls in
/// sequence (PutObject, StartSigningJob, the last DescribeSigningJob,
/// UpdateFunctionCode, GetFunctionConfiguration, UpdateAlias) plus the
/// job's time.
#[allow(clippy::print_stdout)] // a benchmark's output is its figures
fn print_signed_deploy_bench(deploys: &[Measured], calls: usize, model: &Model) {
    let mut walls: Vec<f64> = deploys.iter().map(|m| m.wall.as_secs_f64()).collect();
    walls.sort_by(f64::total_cmp);
    let median = walls.get(walls.len() / 2).copied().unwrap_or_default();
    let per_call = model.call_latency.as_secs_f64();
    let bound = 6.0 * per_call + SIGNING_TIME.as_secs_f64();
    println!(
        "signed deploy (lambda.signing_profile), at {:.0} ms per call and {:.1} s per Signer job: median {median:.2} s against its six calls and the job's {bound:.2} s: {:.2}x; {calls} calls for {} deploys (the job's polls included); {} failed",
        per_call * 1000.0,
        SIGNING_TIME.as_secs_f64(),
        median / bound,
        deploys.len(),
        deploys.iter().filter(|m| !m.ok).count(),
    );
}

#[allow(clippy::print_stdout)] // a benchmark's output is its figures
fn main() {
    let upstream = std::env::var("PAYSEC_TEST_ENDPOINT")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .expect("no emulator: run scripts/bench.sh");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let proxy = rt.block_on(FaultProxy::start(&upstream)).expect("proxy");
    // The fleets put up to ten environments in one account: its VPC quota
    // is raised, as such an account's would be (moto answers the default 5,
    // which the preflight would rightly refuse).
    proxy.set_rules(Rules {
        service_quotas: vec![("vpc", "L-F678F1CE", 1000.0)],
        ..Rules::off()
    });
    let model = Model::aws().scaled(scale());
    proxy.set_model(model);
    let url = proxy.url();
    let dir = tempfile::tempdir().expect("tempdir");
    let id = std::process::id() % 100_000;

    // Warm-up: the emulator loads each service's backend on first use,
    // which would be charged to whichever run comes first.
    let quick = Model {
        rds_create: Duration::ZERO,
        rds_delete: Duration::ZERO,
        lambda_pending: Duration::ZERO,
        endpoint_pending: Duration::ZERO,
        iam_propagation: Duration::ZERO,
        kms_propagation: Duration::ZERO,
        ..model
    };
    proxy.set_model(quick);
    let warm = format!("bench-{id}-w");
    paysec(dir.path(), &url, &["--env", &warm, "-q", "up", "--yes"]);
    paysec(dir.path(), &url, &["--env", &warm, "-q", "down", "--yes"]);
    proxy.set_model(model);

    let across = accounts_fleet_size();
    if std::env::var("PAYSEC_BENCH_ONLY").as_deref() == Ok("deploy") {
        let env = format!("bench-{id}-deploy");
        proxy.set_model(quick);
        paysec(dir.path(), &url, &["--env", &env, "-q", "up", "--yes"]);
        proxy.set_model(model);
        let deploy = deploy_bench(&proxy, dir.path(), &url, &env);
        proxy.set_model(quick);
        paysec(dir.path(), &url, &["--env", &env, "-q", "down", "--yes"]);
        print_deploy_bench(&deploy, &model);
        let (signed, calls) = signed_deploy_bench(
            &rt,
            &proxy,
            dir.path(),
            &url,
            &format!("bench-{id}-signed"),
            (quick, model),
        );
        print_signed_deploy_bench(&signed, calls, &model);
        return;
    }
    if std::env::var("PAYSEC_BENCH_ONLY").as_deref() == Ok("accounts") {
        if let Some(size) = across {
            print_accounts_fleet(&accounts_fleet(
                &rt,
                &proxy,
                &upstream,
                dir.path(),
                id,
                size,
                (quick, model),
            ));
        }
        return;
    }

    // The model: paysec at its default concurrency, then one at a time.
    let env_a = format!("bench-{id}-a");
    let topo = topology(dir.path(), &url, &env_a);
    let modelled_before = proxy.modelled();
    let par = cycle(&proxy, dir.path(), &env_a, "16");
    let seq = cycle(&proxy, dir.path(), &format!("bench-{id}-b"), "1");
    let modelled = proxy.modelled() - modelled_before;

    let up_bound = model_bound(&topo, &model, false);
    let down_bound = model_bound(&topo, &model, true);
    let up_work = work_bound(&topo, &timings(&seq.up.stderr), false);
    let down_work = work_bound(&topo, &timings(&seq.down.stderr), true);

    // The same without readiness waits: what parallel calls alone gain.
    proxy.set_model(quick);
    let calls_par = cycle(&proxy, dir.path(), &format!("bench-{id}-c"), "16");
    let calls_seq = cycle(&proxy, dir.path(), &format!("bench-{id}-d"), "1");

    // Fleets under the full model.
    proxy.set_model(model);
    let mut fleets = Vec::new();
    let sizes = fleet_sizes();
    // The largest fleet once more without paysec's per-service ceiling
    // (100 in flight), to show what the ceiling prevents.
    let runs: Vec<(usize, usize)> = sizes
        .iter()
        .map(|&n| (n, 10))
        .chain(sizes.iter().copied().max().map(|n| (n, 100)))
        .collect();
    for (n, ceiling) in runs {
        let envs: Vec<String> = (0..n)
            .map(|k| format!("fleet-{id}-{n}-{ceiling}-{k}"))
            .collect();
        let vars = [("PAYSEC_CALLS_PER_SERVICE", ceiling.to_string())];
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut up_args = vec!["-q".to_owned()];
        for e in &envs {
            up_args.push("--env".into());
            up_args.push(e.clone());
        }
        let mut down_args = up_args.clone();
        up_args.extend(["up".into(), "--yes".into()]);
        down_args.extend(["down".into(), "--yes".into()]);
        let (c0, t0) = (proxy.calls(), proxy.throttled());
        let up = paysec_with(
            dir.path(),
            &url,
            &up_args.iter().map(String::as_str).collect::<Vec<_>>(),
            &vars,
        );
        let (c1, t1) = (proxy.calls(), proxy.throttled());
        let down_args: Vec<&str> = down_args.iter().map(String::as_str).collect();
        let down = paysec_with(dir.path(), &url, &down_args, &vars);
        if !down.ok {
            // Clean up whatever a failed run left, at the default ceiling.
            paysec(dir.path(), &url, &down_args);
        }
        fleets.push((
            n,
            ceiling,
            up,
            down,
            c1 - c0,
            proxy.calls() - c1,
            t1 - t0,
            proxy.throttled() - t1,
        ));
    }

    let across = across
        .map(|size| accounts_fleet(&rt, &proxy, &upstream, dir.path(), id, size, (quick, model)));

    // Cold read-only commands on a full ledger (no network for these).
    let env_s = format!("bench-{id}-s");
    proxy.set_model(quick);
    paysec(dir.path(), &url, &["--env", &env_s, "-q", "up", "--yes"]);
    let mut status = Vec::new();
    let mut output = Vec::new();
    for _ in 0..10 {
        status.push(paysec(
            dir.path(),
            "http://127.0.0.1:9",
            &["--env", &env_s, "status"],
        ));
        output.push(paysec(
            dir.path(),
            "http://127.0.0.1:9",
            &["--env", &env_s, "output"],
        ));
    }
    // `plan` reads AWS: every property (the default), then quick checks
    // only (--no-refresh), at the model's per-call latency.
    let mut plan = Vec::new();
    let mut plan_quick = Vec::new();
    for _ in 0..5 {
        plan.push(paysec(dir.path(), &url, &["--env", &env_s, "plan"]));
        plan_quick.push(paysec(
            dir.path(),
            &url,
            &["--env", &env_s, "plan", "--no-refresh"],
        ));
    }
    proxy.set_model(model);
    let deploy = deploy_bench(&proxy, dir.path(), &url, &env_s);
    proxy.set_model(quick);
    paysec(dir.path(), &url, &["--env", &env_s, "-q", "down", "--yes"]);
    let signed = signed_deploy_bench(
        &rt,
        &proxy,
        dir.path(),
        &url,
        &format!("bench-{id}-signed"),
        (quick, model),
    );
    let median = |v: &mut Vec<Measured>| {
        v.sort_by_key(|m| m.wall);
        (
            v[v.len() / 2].wall,
            v.iter().map(|m| m.rss_kib).max().unwrap_or(0),
        )
    };
    let (status_wall, status_rss) = median(&mut status);
    let (output_wall, output_rss) = median(&mut output);
    let (plan_wall, plan_rss) = median(&mut plan);
    let (quick_wall, quick_rss) = median(&mut plan_quick);

    let s = |d: Duration| d.as_secs_f64();
    println!(
        "paysec benchmark: latency model of AWS scaled 1/{} (per call {} ms; RDS create {:.0} s, RDS delete {:.0} s, Lambda Pending {:.1} s, interface endpoint {:.1} s, IAM propagation {:.2} s, KMS propagation {:.2} s)",
        scale(),
        model.call_latency.as_millis(),
        s(model.rds_create),
        s(model.rds_delete),
        s(model.lambda_pending),
        s(model.endpoint_pending),
        s(model.iam_propagation),
        s(model.kms_propagation)
    );
    println!();
    println!("| run | makespan | critical path (model) | ratio | critical path (paysec's work) | ratio | CPU | peak RSS |");
    println!("|---|---|---|---|---|---|---|---|");
    let row = |name: &str, m: &Measured, bound: f64, work: f64| {
        println!(
            "| {name} | {:.1} s | {bound:.1} s | {:.2} | {work:.1} s | {:.2} | {:.2} s | {} MiB |",
            s(m.wall),
            s(m.wall) / bound,
            s(m.wall) / work,
            m.cpu_s,
            mib(m.rss_kib)
        );
    };
    row("up, concurrency 16", &par.up, up_bound, up_work);
    row("up, concurrency 1 (sequential)", &seq.up, up_bound, up_work);
    row("down, concurrency 16", &par.down, down_bound, down_work);
    row(
        "down, concurrency 1 (sequential)",
        &seq.down,
        down_bound,
        down_work,
    );
    println!(
        "| no-op up (every property read) | {:.1} s | | | | | {:.2} s | {} MiB |",
        s(par.noop.wall),
        par.noop.cpu_s,
        mib(par.noop.rss_kib)
    );
    println!(
        "| no-op up --no-refresh | {:.1} s | | | | | {:.2} s | {} MiB |",
        s(par.noop_quick.wall),
        par.noop_quick.cpu_s,
        mib(par.noop_quick.rss_kib)
    );
    println!();
    println!(
        "speed-up over the sequential run under the model: up {:.2}x, down {:.2}x",
        s(seq.up.wall) / s(par.up.wall),
        s(seq.down.wall) / s(par.down.wall)
    );
    println!(
        "speed-up from parallel calls alone (no readiness waits): up {:.1}x ({:.1} s vs {:.1} s), down {:.1}x ({:.1} s vs {:.1} s)",
        s(calls_seq.up.wall) / s(calls_par.up.wall),
        s(calls_par.up.wall),
        s(calls_seq.up.wall),
        s(calls_seq.down.wall) / s(calls_par.down.wall),
        s(calls_par.down.wall),
        s(calls_seq.down.wall)
    );
    println!(
        "API calls: first up {} (readiness polls {}), no-op up {} and up --no-refresh {} (writes 0 expected; wall time full/quick {:.2}x, goal 1.5x), down {} (polls {}); requests refused or rewritten by the model: {modelled}",
        par.calls.0, par.polls_up, par.calls.1, par.calls.2,
        s(par.noop.wall) / s(par.noop_quick.wall),
        par.calls.3, par.polls_down
    );
    println!(
        "sequential run: up {} calls (polls {}), down {} (polls {})",
        seq.calls.0, seq.polls_up, seq.calls.3, seq.polls_down
    );
    // Where the time went on the critical chain of the parallel run.
    let par_t = timings(&par.up.stderr);
    let seq_t = timings(&seq.up.stderr);
    let mut last: Vec<(&String, &(f64, f64, f64))> = par_t.iter().collect();
    last.sort_by(|a, b| b.1 .2.total_cmp(&a.1 .2));
    for (id, (st, ident, done)) in last.iter().take(3) {
        let alone = seq_t.get(*id).map_or(f64::NAN, |(s0, _, d0)| d0 - s0);
        println!(
            "parallel up, {id}: started {st:.1} s, created {ident:.1} s, done {done:.1} s ({:.1} s of work; {alone:.1} s when run alone)",
            done - st
        );
    }
    if !fleets.is_empty() {
        println!();
        println!("| fleet | calls in flight per service | up makespan | down makespan | calls up/down | throttled | peak RSS up/down |");
        println!("|---|---|---|---|---|---|---|");
        let outcome = |m: &Measured| {
            if m.ok {
                format!("{:.1} s", s(m.wall))
            } else {
                let why = m
                    .stderr
                    .lines()
                    .find(|l| l.contains("error:"))
                    .unwrap_or("")
                    .chars()
                    .take(160)
                    .collect::<String>();
                format!("FAILED after {:.1} s ({why})", s(m.wall))
            }
        };
        for (n, ceiling, up, down, cu, cd, tu, td) in &fleets {
            println!(
                "| {n} environments | {ceiling} | {} | {} | {cu}/{cd} | {} | {}/{} MiB |",
                outcome(up),
                outcome(down),
                tu + td,
                mib(up.rss_kib),
                mib(down.rss_kib)
            );
        }
    }
    println!();
    println!(
        "cold status: median {:.0} ms, RSS {} MiB; cold output: median {:.0} ms, RSS {} MiB",
        s(status_wall) * 1000.0,
        mib(status_rss),
        s(output_wall) * 1000.0,
        mib(output_rss)
    );
    println!(
        "cold plan on the full ledger (100 ms per call): median {:.2} s, RSS {} MiB; plan --no-refresh: median {:.2} s, RSS {} MiB; full/quick {:.2}x",
        s(plan_wall),
        mib(plan_rss),
        s(quick_wall),
        mib(quick_rss),
        s(plan_wall) / s(quick_wall)
    );
    print_deploy_bench(&deploy, &model);
    print_signed_deploy_bench(&signed.0, signed.1, &model);
    if let Some(f) = &across {
        print_accounts_fleet(f);
    }
}

//! Snapshot tests of what users read: help, plan, status, graph and error
//! messages, with environment names, paths and times filtered out. Update
//! with `PAYSEC_UPDATE_SNAPSHOTS=1 cargo test --test it snapshots`, then
//! review the diff.

use std::path::PathBuf;

use crate::support::Paysec;

fn filter(p: &Paysec, text: &str) -> String {
    let dir = p.dir.path().display().to_string();
    text.replace(&dir, "<dir>")
        .replace(&p.env, "<env>")
        .lines()
        .map(account_wide)
        .collect::<Vec<_>>()
        .join("\n")
        + if text.ends_with('\n') { "\n" } else { "" }
}

/// API Gateway's logging role is one setting of the account: a plan
/// creates it, or adopts it when another environment of the suite's
/// account set it first, depending on the tests' order.
fn account_wide(line: &str) -> String {
    if line.contains("api.account-logging") {
        return "  ? api.account-logging                      api_gateway_account    create or adopt (account-wide)".to_owned();
    }
    if line.starts_with("Plan: ") {
        return "Plan: <counts: the account-wide line above decides one create or adopt>"
            .to_owned();
    }
    line.to_owned()
}

#[track_caller]
fn assert_snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.txt"));
    if std::env::var_os("PAYSEC_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no snapshot {}: run with PAYSEC_UPDATE_SNAPSHOTS=1 and review it",
            path.display()
        )
    });
    assert_eq!(
        actual, expected,
        "snapshot {name} differs; if intended, update with PAYSEC_UPDATE_SNAPSHOTS=1"
    );
}

#[test]
fn help_of_every_command() {
    let p = Paysec::offline("snap");
    for cmd in [
        "", "up", "down", "plan", "status", "output", "verify", "invoke", "graph", "diagram",
    ] {
        let mut args: Vec<&str> = cmd.split_whitespace().collect();
        args.push("--help");
        let run = p.run(&args).success();
        assert_snapshot(
            &format!("help-{}", if cmd.is_empty() { "paysec" } else { cmd }),
            &run.stdout(),
        );
    }
}

#[test]
fn plan_of_a_new_environment() {
    let p = Paysec::new("snap");
    let run = p.run(&["plan"]).success();
    assert_snapshot("plan-new", &filter(&p, &run.stdout()));
}

#[test]
fn status_without_a_ledger() {
    let p = Paysec::offline("snap");
    let run = p.run(&["status"]).success();
    assert_snapshot("status-empty", &filter(&p, &run.stdout()));
}

#[test]
fn graph_as_mermaid() {
    let p = Paysec::offline("snap");
    let run = p.run(&["graph", "--format", "mermaid"]).success();
    assert_snapshot("graph-mermaid", &run.stdout());
}

#[test]
fn error_messages() {
    let p = Paysec::new("snap");
    let mut out = String::new();
    for args in [
        &["--env", "Prod", "plan"][..],
        &["--env", "dev_1", "plan"][..],
        &["--env", "this-environment-name-is-far-too-long", "plan"][..],
        &["up"][..],
        &["output", "rds_endpoint"][..],
        &["output", "nope"][..],
    ] {
        let run = p.run(args);
        out.push_str(&format!(
            "$ paysec {}\nexit {}\n{}\n",
            args.join(" "),
            run.code(),
            filter(&p, &run.stderr())
        ));
    }
    std::fs::write(
        p.dir.path().join("paysec.toml"),
        "[kms]\ndeletion_window_days = 3\n",
    )
    .unwrap();
    let run = p.run(&["status"]);
    out.push_str(&format!(
        "$ paysec status   # kms.deletion_window_days = 3\nexit {}\n{}\n",
        run.code(),
        filter(&p, &run.stderr())
    ));
    assert_snapshot("errors", &out);
}

/// Replaces every id, ARN, name and time the ledger holds (longest first, so
/// an ARN is not half-replaced by the id inside it).
fn filter_ledger(p: &Paysec, text: &str) -> String {
    let l = p.ledger();
    let mut values: Vec<String> = vec![l["updated_at"].as_str().unwrap_or("").to_owned()];
    for r in l["resources"].as_object().unwrap().values() {
        values.extend(r["physical_id"].as_str().map(str::to_owned));
        values.extend(r["updated_at"].as_str().map(str::to_owned));
        for v in r["attrs"].as_object().into_iter().flat_map(|a| a.values()) {
            values.extend(v.as_str().map(str::to_owned));
        }
    }
    values.retain(|v| v.len() > 3);
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    values.dedup();
    let mut out = text.to_owned();
    for v in values {
        out = out.replace(&v, "<id>");
    }
    filter(p, &out)
}

#[test]
fn status_and_output_of_a_deployed_environment() {
    let p = Paysec::new("snapdep");
    p.run(&["up", "--yes"]).success();
    let status = p.run(&["status"]).success();
    let output = p.run(&["output"]).success();
    let plan = p.run(&["plan"]).success();
    let text = format!(
        "$ paysec status\n{}\n$ paysec output\n{}\n$ paysec plan\n{}",
        filter_ledger(&p, &status.stdout()),
        filter_ledger(&p, &output.stdout()),
        filter_ledger(&p, &plan.stdout())
    );
    p.run(&["down", "--yes"]).success();
    assert_snapshot("deployed", &text);
}

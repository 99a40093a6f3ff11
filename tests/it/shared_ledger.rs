//! Ledgers shared on S3 (`--ledger s3://...`), as a team uses them: the
//! state bucket `ledger init` makes, two working directories (two
//! machines) on one ledger, a run killed mid-`up` whose lock refuses the
//! next one until `force-unlock`, and a ledger moved from a directory to
//! S3 and back. On moto, which keeps S3's conditional writes (`If-Match`,
//! `If-None-Match`).

use std::time::Duration;

use crate::support::{aws, env_name, tagged_by_logical_id, Paysec};

/// A small environment (no database, no function) keeping its ledger at
/// `ledger`: what matters here is the ledger, not the stack.
fn on_ledger(prefix: &str, ledger: &str) -> Paysec {
    Paysec::new(prefix)
        .with_var("PAYSEC_LEDGER", ledger)
        .with_var("PAYSEC_RDS_ENABLED", "false")
        .with_var("PAYSEC_LAMBDA_ENABLED", "false")
}

/// A fresh state bucket, made by `paysec ledger init`.
fn state_bucket(p: &Paysec) -> String {
    let bucket = format!("state-{}", env_name("b"));
    let init = p.run(&["ledger", "init", &format!("s3://{bucket}")]);
    assert_eq!(init.code(), 0, "{}", init.stderr());
    assert!(init.stdout().contains("created"), "{}", init.stdout());
    assert!(init
        .stdout()
        .contains("no TLS-only policy: this endpoint is plain HTTP"));
    bucket
}

#[tokio::test]
async fn the_state_bucket_is_made_hardened_and_an_unhardened_one_is_refused() {
    let p = Paysec::new("init");
    let bucket = state_bucket(&p);
    let s3 = aws().await.s3;
    let pab = s3
        .get_public_access_block()
        .bucket(&bucket)
        .send()
        .await
        .unwrap()
        .public_access_block_configuration()
        .cloned()
        .unwrap();
    assert_eq!(
        (
            pab.block_public_acls(),
            pab.ignore_public_acls(),
            pab.block_public_policy(),
            pab.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
    let sse = s3
        .get_bucket_encryption()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let rule = &sse.server_side_encryption_configuration().unwrap().rules()[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default()
            .unwrap()
            .sse_algorithm()
            .as_str(),
        "aws:kms"
    );
    // The emulator's endpoint is plain HTTP, which the TLS-only policy
    // would refuse: left out, and said (its document is unit-tested).
    assert!(
        s3.get_bucket_policy().bucket(&bucket).send().await.is_err(),
        "no policy over plain HTTP"
    );
    let ownership = s3
        .get_bucket_ownership_controls()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ownership.ownership_controls().unwrap().rules()[0]
            .object_ownership()
            .as_str(),
        "BucketOwnerEnforced"
    );
    // Again: checked (versioning included), nothing changed.
    let again = p.run(&["ledger", "init", &format!("s3://{bucket}")]);
    assert_eq!(again.code(), 0, "{}", again.stderr());
    assert!(
        again.stdout().contains("already hardened"),
        "{}",
        again.stdout()
    );
    // A bucket someone made plainly is not taken over.
    let plain = format!("plain-{}", env_name("b"));
    s3.create_bucket().bucket(&plain).send().await.unwrap();
    let refused = p.run(&["ledger", "init", &format!("s3://{plain}")]);
    assert_eq!(refused.code(), 2, "{}", refused.stderr());
    for missing in ["versioning", "public access blocks", "BucketOwnerEnforced"] {
        assert!(refused.stderr().contains(missing), "{}", refused.stderr());
    }
}

/// `up` started, and killed with SIGKILL once its shared ledger holds a
/// record: it dies holding the lock.
fn up_killed_holding_the_lock(p: &Paysec, bucket: &str, key: &str) {
    let mut child = p
        .command()
        .args(["up", "--yes"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let rt = tokio::runtime::Handle::current();
    let started = std::time::Instant::now();
    let written = || {
        tokio::task::block_in_place(|| {
            rt.block_on(async {
                let s3 = aws().await.s3;
                s3.head_object()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await
                    .is_ok()
            })
        })
    };
    while !written() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread")]
async fn two_machines_share_an_s3_ledger_and_a_dead_runs_lock_waits_for_force_unlock() {
    let setup = Paysec::new("team-setup");
    let bucket = state_bucket(&setup);
    let ledger = format!("s3://{bucket}/team");
    let first = on_ledger("team", &ledger);
    // The second machine: another working directory, the same environment.
    let second = on_ledger("team", &ledger).with_var("PAYSEC_ENV", &first.env);
    let key = format!("team/{}.json", first.env);
    up_killed_holding_the_lock(&first, &bucket, &key);

    // The lock outlived its run: the next one is refused, naming the
    // holder and the command that removes it.
    let refused = second.run(&["up", "--yes"]);
    assert_eq!(refused.code(), 5, "{}", refused.stderr());
    let message = refused.stderr();
    assert!(
        message.contains(&format!("is locked in s3://{bucket}/{key}")),
        "{message}"
    );
    assert!(message.contains("(`paysec up`, since"), "{message}");
    assert!(
        message.contains(":assumed-role/"),
        "the holder's identity: {message}"
    );
    let command = format!("paysec force-unlock --env {} --ledger {ledger} ", first.env);
    let lock_id = message
        .split(&command)
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no force-unlock command in: {message}"))
        .to_owned();
    let wrong = second.run(&["force-unlock", "0000", "--yes"]);
    assert_eq!(
        wrong.code(),
        2,
        "another id removes nothing: {}",
        wrong.stderr()
    );
    // As `terraform force-unlock`: it asks, and only a yes removes the lock;
    // off a terminal without --yes it refuses at once.
    let declined = second.run_at_terminal("no\n", &["force-unlock", &lock_id]);
    assert_eq!(declined.code(), 7, "{}", declined.stdout());
    assert!(
        declined.stdout().contains(&format!(
            "Remove environment {}'s lock {lock_id}",
            first.env
        )),
        "{}",
        declined.stdout()
    );
    let unasked = second.run(&["force-unlock", &lock_id]);
    assert_eq!(unasked.code(), 7, "{}", unasked.stderr());
    let still = second.run(&["up", "--yes"]);
    assert_eq!(still.code(), 5, "still locked: {}", still.stderr());
    let unlocked = second.run(&["force-unlock", &lock_id, "--yes"]);
    assert_eq!(unlocked.code(), 0, "{}", unlocked.stderr());

    // The second machine converges what the first began: no duplicate.
    let up = second.run(&["up", "--yes"]);
    assert_eq!(up.code(), 0, "{}", up.stderr());
    let by_id = tagged_by_logical_id(&first.env).await;
    let dups: Vec<_> = by_id.iter().filter(|(_, arns)| arns.len() > 1).collect();
    assert!(dups.is_empty(), "duplicates: {dups:#?}");
    // The first machine reads the same ledger: nothing left to do.
    let plan = first.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code(), 0, "{}\n{}", plan.stdout(), plan.stderr());
    assert!(
        !first.ledger_path().exists(),
        "no local ledger on either machine"
    );
    // Every write is a version of the object, with its writer.
    let history = second
        .run(&["ledger", "history", "--output", "json"])
        .json();
    let versions = history["versions"].as_array().unwrap();
    assert!(versions.len() > 2, "{history}");
    assert!(
        versions
            .iter()
            .any(|v| v["writer"].as_str().unwrap().contains("(paysec up)")),
        "{history}"
    );
    // And when: S3's own time of each version.
    assert!(
        versions.iter().all(|v| v["written_at"]
            .as_str()
            .is_some_and(|t| t.starts_with("20"))),
        "{history}"
    );
    let down = first.run(&["down", "--yes", "--purge-audit-logs"]);
    assert_eq!(down.code(), 0, "{}", down.stderr());
    let left = tagged_by_logical_id(&first.env).await;
    assert!(left.is_empty(), "leaked: {left:?}");
}

#[tokio::test]
async fn a_ledger_moves_from_a_directory_to_s3_and_back() {
    let local = on_ledger("move", ".paysec");
    let bucket = state_bucket(&local);
    let shared = format!("s3://{bucket}/moved");
    let up = local.run(&["up", "--yes"]);
    assert_eq!(up.code(), 0, "{}", up.stderr());
    let before = local.run(&["status", "--output", "json"]).json();

    let to_s3 = local.run(&["ledger", "migrate", "--to", &shared]);
    assert_eq!(to_s3.code(), 0, "{}", to_s3.stderr());
    assert!(
        !local.ledger_path().exists(),
        "the local file is renamed aside"
    );
    let aside = std::fs::read_dir(local.dir.path().join(".paysec"))
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().contains(".json.migrated-"));
    assert!(aside);
    let on_s3 = local
        .run(&["--ledger", &shared, "status", "--output", "json"])
        .json();
    assert_eq!(on_s3["resources"], before["resources"]);
    let plan = local.run(&["--ledger", &shared, "plan", "--detailed-exitcode"]);
    assert_eq!(plan.code(), 0, "{}", plan.stderr());

    let back = local.run(&["--ledger", &shared, "ledger", "migrate", "--to", ".paysec"]);
    assert_eq!(back.code(), 0, "{}", back.stderr());
    assert!(local.ledger_path().exists());
    let after = local.run(&["status", "--output", "json"]).json();
    assert_eq!(after["resources"], before["resources"]);
    let gone = aws()
        .await
        .s3
        .head_object()
        .bucket(&bucket)
        .key(format!("moved/{}.json", local.env))
        .send()
        .await;
    assert!(gone.is_err(), "the S3 ledger is retired");
    let nowhere = local.run(&["ledger", "migrate", "--to", ".paysec"]);
    assert_eq!(nowhere.code(), 2, "{}", nowhere.stderr());
    let down = local.run(&["down", "--yes", "--purge-audit-logs"]);
    assert_eq!(down.code(), 0, "{}", down.stderr());
}

/// S3 answers `409 ConditionalRequestConflict` when two conditional
/// writes to one key cross (moto never does): the lock's and the ledger's
/// writes are retried, as S3 asks, and the run goes on.
#[tokio::test(flavor = "multi_thread")]
async fn a_conditional_write_conflict_is_retried() {
    let setup = Paysec::new("conflict-setup");
    let bucket = state_bucket(&setup);
    let p = on_ledger("conflict", &format!("s3://{bucket}/crossed"));
    let proxy = paysec_testkit::FaultProxy::start(&crate::support::endpoint())
        .await
        .unwrap();
    for (suffix, times) in [("lock", 1), ("json", 2)] {
        proxy.script(paysec_testkit::Scripted {
            operation: format!("PUT /{bucket}/crossed/{}.{suffix}", p.env),
            times,
            status: 409,
            code: "ConditionalRequestConflict".into(),
            message: "A conflicting conditional operation is currently in progress against this resource. Please try again.".into(),
        });
    }
    let url = proxy.url();
    let up = p.run(&["--endpoint-url", &url, "up", "--yes"]);
    assert_eq!(up.code(), 0, "{}", up.stderr());
    assert_eq!(proxy.scripted_left(), 0, "every conflict was answered");
    let down = p.run(&[
        "--endpoint-url",
        &url,
        "down",
        "--yes",
        "--purge-audit-logs",
    ]);
    assert_eq!(down.code(), 0, "{}", down.stderr());
}

/// `examples/github-actions-fleet.yml` run as its CI would: every job of
/// its matrix at once, each the file's own `paysec up` command on the
/// shared ledger, and one job run twice (a re-run while the first still
/// runs). The double run is safe: it converges or is refused (exit 5,
/// locked), and nothing exists twice.
#[tokio::test]
async fn the_ci_matrix_example_runs_its_jobs_at_once_and_a_double_run_is_safe() {
    let example = include_str!("../../examples/github-actions-fleet.yml");
    let matrix: Vec<String> = example
        .lines()
        .find_map(|l| l.trim().strip_prefix("env: ["))
        .and_then(|l| l.strip_suffix(']'))
        .expect("the matrix line")
        .split(',')
        .map(|e| e.trim().to_owned())
        .collect();
    let command = example
        .lines()
        .find_map(|l| l.trim().strip_prefix("- run: paysec "))
        .expect("the paysec step");
    let bucket = command
        .split("s3://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("the ledger's bucket");
    let setup = Paysec::new("matrix-setup");
    let init = setup.run(&["ledger", "init", &format!("s3://{bucket}")]);
    assert_eq!(init.code(), 0, "{}", init.stderr());
    // Each job: its own working directory (a runner), the file's command
    // with its matrix value; the stack small, as the repository's
    // paysec.toml would say.
    let jobs: Vec<(Paysec, String)> = matrix
        .iter()
        .chain(std::iter::once(&matrix[0]))
        .map(|env| {
            let p = Paysec::new("matrix")
                .with_var("PAYSEC_RDS_ENABLED", "false")
                .with_var("PAYSEC_LAMBDA_ENABLED", "false");
            (p, command.replace("\"${{ matrix.env }}\"", env))
        })
        .collect();
    let running: Vec<_> = jobs
        .iter()
        .map(|(p, line)| {
            p.command()
                .args(line.split_whitespace())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let results: Vec<_> = running
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    // Each environment: every job of it done, or refused because the
    // other job of it held the lock (either of the doubled pair may win
    // the race), and at least one done.
    for env in &matrix {
        let mine: Vec<_> = results
            .iter()
            .zip(&jobs)
            .filter(|(_, (_, line))| line.contains(&format!("--env {env} ")))
            .collect();
        for (out, (_, line)) in &mine {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let code = out.status.code();
            assert!(
                code == Some(0)
                    || (mine.len() > 1 && code == Some(5) && stderr.contains("is locked in s3://")),
                "{line}: {code:?} {stderr}"
            );
        }
        assert!(
            mine.iter().any(|(out, _)| out.status.success()),
            "{env}: no job of it finished"
        );
    }
    for env in &matrix {
        let by_id = tagged_by_logical_id(env).await;
        assert!(!by_id.is_empty(), "{env} was built");
        let dups: Vec<_> = by_id.iter().filter(|(_, arns)| arns.len() > 1).collect();
        assert!(dups.is_empty(), "{env}: duplicates {dups:#?}");
    }
    let ledger = format!("s3://{bucket}/paysec");
    for env in &matrix {
        let down = jobs[0].0.run(&[
            "--env",
            env,
            "--ledger",
            &ledger,
            "down",
            "--yes",
            "--purge-audit-logs",
        ]);
        assert_eq!(down.code(), 0, "{}", down.stderr());
    }
}

/// The team's state bucket in its own account, the environment in another
/// (its role): the ledger is read and written with the run's own
/// credentials, so it stays in the team's bucket, bound to the
/// environment's account, while every resource goes to that account.
#[tokio::test]
async fn the_ledger_stays_in_the_teams_account_while_the_environment_runs_in_its_own() {
    let account = "888888888888";
    let role = crate::accounts::deploy_role(account).await;
    let probe = Paysec::new("xacct");
    let bucket = state_bucket(&probe);
    let p = on_ledger("xacct", &format!("s3://{bucket}/team"));
    let up = p.run(&["--role-arn", &role, "up", "--yes"]);
    assert_eq!(up.code(), 0, "{}", up.stderr());
    // The object is in the team's bucket, read with the suite's own
    // credentials, and names the environment's account.
    let object = aws()
        .await
        .s3
        .get_object()
        .bucket(&bucket)
        .key(format!("team/{}.json", p.env))
        .send()
        .await
        .expect("the ledger in the team's bucket");
    let ledger: serde_json::Value =
        serde_json::from_slice(&object.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(ledger["account"], account, "{ledger}");
    assert!(
        tagged_by_logical_id(&p.env).await.is_empty(),
        "nothing of the environment in the team's account"
    );
    assert!(crate::accounts::environments_in(account)
        .await
        .contains(p.env.as_str()));
    let plan = p.run(&["--role-arn", &role, "plan", "--detailed-exitcode"]);
    assert_eq!(plan.code(), 0, "{}\n{}", plan.stdout(), plan.stderr());
    let down = p.run(&["--role-arn", &role, "down", "--yes", "--purge-audit-logs"]);
    assert_eq!(down.code(), 0, "{}", down.stderr());
    assert!(!crate::accounts::environments_in(account)
        .await
        .contains(p.env.as_str()));
}

/// A state bucket made by `ledger init` in one region serves runs in
/// another: S3 answers a request for it sent to the run's region with
/// `301 PermanentRedirect` (the rules layer, as moto serves every bucket
/// everywhere), so paysec finds the bucket's region once and talks to it
/// there. `ledger init` run again from the other region checks the
/// bucket where it lives.
#[tokio::test]
async fn a_ledger_made_in_one_region_is_used_from_a_run_in_another() {
    let maker = Paysec::new("region-init");
    let bucket = format!("state-{}", env_name("r"));
    let url = format!("s3://{bucket}");
    let init = maker.run(&["--region", "eu-west-1", "ledger", "init", &url]);
    assert_eq!(init.code(), 0, "{}", init.stderr());
    // The bucket lives in eu-west-1, and the run's region (us-east-1)
    // cannot reach it there.
    let s3 = aws().await.s3;
    let location = s3
        .get_bucket_location()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(
        location.location_constraint().map(|l| l.as_str()),
        Some("eu-west-1")
    );
    let redirected = s3.head_bucket().bucket(&bucket).send().await.unwrap_err();
    assert_eq!(
        redirected.raw_response().map(|r| r.status().as_u16()),
        Some(301),
        "{redirected:?}"
    );

    let again = maker.run(&["ledger", "init", &url]);
    assert_eq!(again.code(), 0, "{}", again.stderr());
    assert!(
        again.stdout().contains("already hardened"),
        "{}",
        again.stdout()
    );

    let p = on_ledger("region-run", &format!("{url}/paysec"));
    p.run(&["up", "--yes"]).success();
    let history = p.run(&["ledger", "history"]).success();
    assert!(!history.stdout().trim().is_empty(), "{}", history.stderr());
    let clean = p.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(clean.code(), 0, "{}", clean.stdout());
    p.run(&["down", "--yes"]).success();
}

/// A ledger object removed while a run holds it (by hand, by a lifecycle
/// rule): S3 answers the run's `If-Match` write 404. The run stops naming
/// the object and how to restore it, without writing a new ledger over
/// the gap.
#[tokio::test(flavor = "multi_thread")]
async fn a_ledger_removed_under_a_run_is_named_and_not_overwritten() {
    let setup = Paysec::new("removed-setup");
    let bucket = state_bucket(&setup);
    let p = on_ledger("removed", &format!("s3://{bucket}/gone"));
    p.run(&["up", "--yes"]).success();
    let proxy = paysec_testkit::FaultProxy::start(&crate::support::endpoint())
        .await
        .unwrap();
    proxy.script(paysec_testkit::Scripted {
        operation: format!("PUT /{bucket}/gone/{}.json", p.env),
        times: 1000,
        status: 404,
        code: "NoSuchKey".into(),
        message: "The specified key does not exist.".into(),
    });
    let url = proxy.url();
    // A full read repairs nothing here; a changed tag makes the run write.
    let run = p.run_with(
        &[("PAYSEC_TAGS", "team=payments")],
        &["--endpoint-url", &url, "up", "--yes"],
    );
    assert_ne!(run.code(), 0, "{}", run.stderr());
    assert!(
        run.stderr().contains("was removed since this run read it")
            && run.stderr().contains("ledger history"),
        "{}",
        run.stderr()
    );
    p.run(&["down", "--yes", "--purge-audit-logs"]).success();
}

/// `ledger init --kms-key ARN --noncurrent-days N`: the bucket's default
/// encryption uses that customer managed key (a CI role in another account
/// can be granted it; `aws/s3` cannot be), and the ledger's earlier
/// versions expire after N days (365 by default) instead of never.
#[tokio::test]
async fn the_state_bucket_takes_a_customer_managed_key_and_expires_old_versions() {
    let p = Paysec::new("init-cmk");
    let aws = aws().await;
    let key = aws
        .kms
        .create_key()
        .description("paysec test: the state bucket's key")
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    let bucket = format!("state-{}", env_name("k"));
    let url = format!("s3://{bucket}");
    let bad = p.run(&["ledger", "init", &url, "--kms-key", "my-key"]);
    assert_eq!(bad.code(), 2, "{}", bad.stderr());
    assert!(
        bad.stderr().contains("not a KMS key's ARN"),
        "{}",
        bad.stderr()
    );
    let init = p.run(&[
        "ledger",
        "init",
        &url,
        "--kms-key",
        &key,
        "--noncurrent-days",
        "90",
    ]);
    assert_eq!(init.code(), 0, "{}", init.stderr());
    let sse = aws
        .s3
        .get_bucket_encryption()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let default = sse
        .server_side_encryption_configuration()
        .and_then(|c| c.rules().first())
        .and_then(|r| r.apply_server_side_encryption_by_default())
        .cloned()
        .unwrap();
    assert_eq!(default.kms_master_key_id(), Some(key.as_str()));
    let lifecycle = aws
        .s3
        .get_bucket_lifecycle_configuration()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let rule = lifecycle
        .rules()
        .iter()
        .find(|r| r.id() == Some("paysec-ledger-history"))
        .unwrap();
    assert_eq!(
        rule.noncurrent_version_expiration()
            .and_then(|n| n.noncurrent_days()),
        Some(90)
    );
    // The default, on another bucket: a year.
    let other = format!("state-{}", env_name("d"));
    p.run(&["ledger", "init", &format!("s3://{other}")])
        .success();
    let lifecycle = aws
        .s3
        .get_bucket_lifecycle_configuration()
        .bucket(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(
        lifecycle.rules()[0]
            .noncurrent_version_expiration()
            .and_then(|n| n.noncurrent_days()),
        Some(365)
    );
}

/// The state bucket must be the team's: every ledger call names its
/// expected owner (the caller's account unless `ledger_owner` says
/// otherwise), so a bucket of that name held by another account, even
/// one letting everybody in, is refused by S3 (the rules layer models it:
/// moto serves any account's bucket to any caller) before a ledger is
/// read from or written to it; and `ledger init`, then every run, refuse
/// a bucket whose policy grants anyone outside the owner's account.
#[tokio::test]
async fn a_state_bucket_of_another_account_or_shared_outside_it_is_refused() {
    let stranger = crate::support::identity_in_account("777777777777", "bucket-maker").await;
    let p = on_ledger("owner", "unused");
    let bucket = format!("state-{}", env_name("o"));
    let as_stranger = [
        ("AWS_ACCESS_KEY_ID", stranger.access_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", stranger.secret_access_key.as_str()),
        ("AWS_SESSION_TOKEN", stranger.session_token.as_str()),
    ];
    // The stranger's bucket, hardened as paysec hardens one.
    let made = p.run_with(&as_stranger, &["ledger", "init", &format!("s3://{bucket}")]);
    assert_eq!(made.code(), 0, "{}", made.stderr());
    let refused = p.run(&["ledger", "init", &format!("s3://{bucket}")]);
    assert_eq!(
        refused.code(),
        2,
        "{}{}",
        refused.stdout(),
        refused.stderr()
    );
    assert!(
        refused
            .stderr()
            .contains("is not account 123456789012's to use"),
        "{}",
        refused.stderr()
    );
    let url = format!("s3://{bucket}/team");
    let plan = p.run_with(&[("PAYSEC_LEDGER", &url)], &["plan"]);
    assert_ne!(plan.code(), 0, "{}", plan.stdout());
    assert!(
        plan.stderr()
            .contains("is not owned by account 123456789012"),
        "{}",
        plan.stderr()
    );
    let stranger_s3 =
        paysec_aws::sdk::s3::Client::new(&crate::support::sdk_config_as(&stranger).await);
    let objects = stranger_s3
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(objects.key_count(), Some(0), "nothing written there");
    // The team's own bucket, then shared with another account by policy.
    let own = state_bucket(&p);
    let grant = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "PartnerReads",
            "Effect": "Allow",
            "Principal": { "AWS": "arn:aws:iam::444455556666:root" },
            "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::{own}/*")
        }]
    });
    aws()
        .await
        .s3
        .put_bucket_policy()
        .bucket(&own)
        .policy(grant.to_string())
        .send()
        .await
        .unwrap();
    let shared = p.run(&["ledger", "init", &format!("s3://{own}")]);
    assert_eq!(shared.code(), 2, "{}{}", shared.stdout(), shared.stderr());
    assert!(
        shared.stderr().contains(
            "its policy allows arn:aws:iam::444455556666:root, outside account 123456789012"
        ),
        "{}",
        shared.stderr()
    );
    // Not only at `ledger init`: every run reads the policy first, so a
    // grant added after the bucket was made stops the next run before it
    // reads or writes a ledger.
    let url = format!("s3://{own}/team");
    let plan = p.run_with(&[("PAYSEC_LEDGER", &url)], &["plan"]);
    assert_eq!(plan.code(), 5, "{}{}", plan.stdout(), plan.stderr());
    assert!(
        plan.stderr().contains(&format!(
            "cannot use the ledger s3://{own}/team: s3://{own}: its policy allows arn:aws:iam::444455556666:root, outside account 123456789012"
        )),
        "{}",
        plan.stderr()
    );
    let objects = aws()
        .await
        .s3
        .list_objects_v2()
        .bucket(&own)
        .prefix("team/")
        .send()
        .await
        .unwrap();
    assert_eq!(objects.key_count(), Some(0), "no ledger written there");
}

/// A lock object anyone with write access to the bucket can write: its
/// holder's text reaches the `force-unlock` question. Control characters
/// and bidirectional overrides in it are shown as `\uXXXX`, so it can
/// neither clear the screen nor reorder the words the reader answers.
#[tokio::test]
async fn a_crafted_lock_holder_cannot_drive_the_force_unlock_question() {
    let p = on_ledger("crafted", "unused");
    let bucket = state_bucket(&p);
    let p = p.with_var("PAYSEC_LEDGER", &format!("s3://{bucket}/team"));
    let holder = serde_json::json!({
        "pid": 7,
        "host": "ci\u{1b}[2J\u{1b}[Hrunner",
        "command": "up \u{202e}kcol",
        "since": "2026-12-07T00:00:00Z",
        "id": "crafted-lock-1",
        "who": "arn:aws:sts::123456789012:assumed-role/x/\u{7}y"
    });
    aws()
        .await
        .s3
        .put_object()
        .bucket(&bucket)
        .key(format!("team/{}.lock", p.env))
        .body(holder.to_string().into_bytes().into())
        .send()
        .await
        .unwrap();
    let asked = p.run_at_terminal("no\n", &["force-unlock", "crafted-lock-1"]);
    assert_eq!(asked.code(), 7, "{}", asked.stdout());
    let shown = asked.stdout();
    assert!(shown.contains("Remove environment"), "{shown}");
    assert!(shown.contains("ci\\u001b[2J\\u001b[Hrunner"), "{shown}");
    assert!(shown.contains("up \\u202ekcol"), "{shown}");
    assert!(shown.contains("x/\\u0007y"), "{shown}");
    for raw in ["\u{1b}[2J", "\u{202e}", "\u{7}"] {
        assert!(
            !shown.contains(raw),
            "{raw:?} reached the terminal: {shown:?}"
        );
    }
}

//! Day two in a team: runs by other people and roles keep what the first
//! `up` decided (issue 37).

use crate::support::{aws, changed, other_identity, Paysec};

const CORE_ONLY: &str = "[rds]\nenabled = false\n\n[lambda]\nenabled = false\n";

/// With `kms.admin_principals` unset, the first `up`'s caller administers
/// the keys; a colleague's `plan` of the unchanged environment shows
/// nothing to do and their `up` changes no key policy.
#[tokio::test(flavor = "multi_thread")]
async fn key_administrators_stay_with_whoever_ran_the_first_up() {
    let p = Paysec::new("admins");
    std::fs::write(p.dir.path().join("paysec.toml"), CORE_ONLY).unwrap();
    p.run(&["up", "--yes"]).success();
    let aws = aws().await;
    let key = p.ledger()["resources"]["kms.s3"]["physical_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let policy = |aws: paysec_aws::Aws, key: String| async move {
        aws.kms
            .get_key_policy()
            .key_id(&key)
            .policy_name("default")
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap()
            .to_owned()
    };
    let before = policy(aws.clone(), key.clone()).await;

    let colleague = other_identity("PaysecColleague").await;
    let vars = [
        ("AWS_ACCESS_KEY_ID", colleague.access_key_id.as_str()),
        (
            "AWS_SECRET_ACCESS_KEY",
            colleague.secret_access_key.as_str(),
        ),
        ("AWS_SESSION_TOKEN", colleague.session_token.as_str()),
    ];
    let plan = p.run_with(&vars, &["plan", "--detailed-exitcode"]);
    assert_eq!(
        plan.code(),
        0,
        "nothing to do for a colleague: {}{}",
        plan.stdout(),
        plan.stderr()
    );
    let up = p
        .run_with(&vars, &["up", "--yes", "--output", "json"])
        .success()
        .json();
    assert!(changed(&up).is_empty(), "{:?}", changed(&up));
    let after = policy(aws.clone(), key).await;
    assert_eq!(after, before, "the key policy names the first caller still");
    assert!(!after.contains("PaysecColleague"), "{after}");
    // Handed over in the configuration: the plan says which statement
    // changes, in lines a person reads (issue 37, item 4).
    std::fs::write(
        p.dir.path().join("paysec.toml"),
        format!(
            "{CORE_ONLY}\n[kms]\nadmin_principals = [\"{}\"]\n",
            colleague.role_arn
        ),
    )
    .unwrap();
    let plan = p.run(&["plan"]).success().stdout();
    assert!(
        plan.contains("~ KeyAdministrationOnly: Principal") && plan.contains("PaysecColleague"),
        "{plan}"
    );
    let longest = plan.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 400, "a line of {longest} characters: {plan}");
    p.run(&["down", "--yes"]).success();
}

/// In a region at its VPC quota, an environment that exists needs no new
/// VPC: its `plan` passes the preflight; a new one's is refused (issue
/// 37: "5 of 5 VPCs ... this run needs 1 more" for an existing one).
#[tokio::test(flavor = "multi_thread")]
async fn the_quota_preflight_counts_only_what_the_run_creates() {
    const ACCOUNT: &str = "888888888888";
    let role = crate::accounts::deploy_role(ACCOUNT).await;
    let p = Paysec::new("quota")
        .with_var("PAYSEC_RDS_ENABLED", "false")
        .with_var("PAYSEC_LAMBDA_ENABLED", "false");
    let existing = crate::support::env_name("quota");
    let fresh = crate::support::env_name("quota");
    std::fs::write(
        p.dir.path().join("paysec.toml"),
        format!(
            "[environments.{existing}]\nrole_arn = \"{role}\"\n\n[environments.{fresh}]\nrole_arn = \"{role}\"\n"
        ),
    )
    .unwrap();
    p.run(&["--env", &existing, "up", "--yes"]).success();
    // The account's VPCs now fill its quota.
    let owner = crate::support::identity_in_account(ACCOUNT, "AccountOwner").await;
    let ec2 = paysec_aws::sdk::ec2::Client::new(&crate::support::sdk_config_as(&owner).await);
    let vpcs = ec2.describe_vpcs().send().await.unwrap().vpcs().len();
    let proxy = paysec_testkit::FaultProxy::start(&crate::support::endpoint())
        .await
        .unwrap();
    proxy.set_rules(paysec_testkit::Rules {
        service_quotas: vec![("vpc", "L-F678F1CE", vpcs as f64)],
        ..paysec_testkit::Rules::off()
    });
    let url = proxy.url();
    let again = p.run(&[
        "--endpoint-url",
        &url,
        "--env",
        &existing,
        "plan",
        "--detailed-exitcode",
    ]);
    assert_eq!(
        again.code(),
        0,
        "an existing environment needs no new VPC: {}{}",
        again.stdout(),
        again.stderr()
    );
    let new = p.run(&["--endpoint-url", &url, "--env", &fresh, "plan"]);
    assert_eq!(new.code(), 2, "{}{}", new.stdout(), new.stderr());
    assert!(
        new.stderr()
            .contains("VPCs in the region are used and this run needs 1 more"),
        "{}",
        new.stderr()
    );
    p.run(&["--env", &existing, "down", "--yes", "--purge-audit-logs"])
        .success();
}

/// A changed setting applies: the plan names the change and when it
/// applies, `up` modifies the database (held by RDS for the maintenance
/// window, which `plan` and `verify` take as the change made), `verify`
/// quotes the new value; a security repair applies the pending values
/// with it and says so; a storage change while RDS optimizes the last,
/// and one RDS cannot make in place (shrinking storage), are refused with
/// what to do, the database untouched (issue 37, item 1; issue 32's
/// ModifyDBInstance rules).
#[tokio::test(flavor = "multi_thread")]
async fn a_changed_database_setting_is_planned_applied_or_refused() {
    let p = Paysec::new("change");
    let base = "[rds]\ndeletion_protection = false\nfinal_snapshot = false\nmulti_az = false\n\n[lambda]\nenabled = false\n";
    std::fs::write(p.dir.path().join("paysec.toml"), base).unwrap();
    p.run(&["up", "--yes"]).success();
    let aws = aws().await;
    let name = p.ledger()["resources"]["rds.instance"]["physical_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // (class, storage GB, status, the values pending for the maintenance
    // window).
    let live = |aws: paysec_aws::Aws, name: String| async move {
        let out = aws
            .rds
            .describe_db_instances()
            .db_instance_identifier(&name)
            .send()
            .await
            .unwrap();
        let db = out.db_instances()[0].clone();
        let pending = db.pending_modified_values().map(|p| {
            (
                p.db_instance_class().map(str::to_owned),
                p.allocated_storage(),
            )
        });
        (
            db.db_instance_class().unwrap_or_default().to_owned(),
            db.allocated_storage().unwrap_or_default(),
            db.db_instance_status().unwrap_or_default().to_owned(),
            pending,
        )
    };
    let (class, storage, _, pending) = live(aws.clone(), name.clone()).await;
    assert_eq!(
        (class.as_str(), storage, pending),
        ("db.t3.micro", 20, None)
    );

    // Less than 10% more: RDS would round it up, so refused before any
    // call, naming the least it takes.
    std::fs::write(
        p.dir.path().join("paysec.toml"),
        base.replace(
            "multi_az = false\n",
            "multi_az = false\nallocated_storage_gb = 21\n",
        ),
    )
    .unwrap();
    let small = p.run(&["up", "--yes"]);
    assert_eq!(small.code(), 3, "{}{}", small.stdout(), small.stderr());
    assert!(
        small
            .stderr()
            .contains("rds.allocated_storage_gb = 22 or more"),
        "{}",
        small.stderr()
    );
    assert_eq!(live(aws.clone(), name.clone()).await.1, 20);

    // Bigger, in the maintenance window (rds.apply_immediately = false):
    // RDS holds the values as pending; that is the change made, not drift.
    // 400 GiB of gp3 has provisioned IOPS, which the change must carry.
    let bigger = base.replace(
        "multi_az = false\n",
        "multi_az = false\ninstance_class = \"db.t3.small\"\nallocated_storage_gb = 400\n",
    );
    std::fs::write(p.dir.path().join("paysec.toml"), &bigger).unwrap();
    let plan = p.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code(), 8, "{}{}", plan.stdout(), plan.stderr());
    let text = plan.stdout();
    assert!(
        text.contains(
            "instance_class: db.t3.micro -> db.t3.small (applied in the next maintenance window"
        ),
        "{text}"
    );
    assert!(
        text.contains("allocated_storage: 20 GB -> 400 GB"),
        "{text}"
    );
    let up = p.run(&["up", "--yes", "--output", "json"]).success().json();
    assert_eq!(up["outcomes"]["rds.instance"], "repaired", "{up}");
    let (class, storage, _, pending) = live(aws.clone(), name.clone()).await;
    assert_eq!(
        (class.as_str(), storage, pending),
        (
            "db.t3.micro",
            20,
            Some((Some("db.t3.small".into()), Some(400)))
        ),
        "held for the maintenance window"
    );
    let again = p.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(
        again.code(),
        0,
        "pending is what was asked: {}{}",
        again.stdout(),
        again.stderr()
    );
    let report = p.run(&["verify", "--output", "json"]).json();
    let class = crate::support::finding(&report, "RDS-27", None);
    assert_eq!(class["verdict"], "PASS", "{class}");
    assert!(
        class["observed"]
            .as_str()
            .unwrap()
            .contains("db.t3.micro, db.t3.small pending in the next maintenance window"),
        "{class}"
    );

    // A security repair is made at once, and RDS applies what was pending
    // with it: said by `up`.
    aws.rds
        .modify_db_instance()
        .db_instance_identifier(&name)
        .backup_retention_period(1)
        .apply_immediately(false)
        .send()
        .await
        .unwrap();
    let repair = p.run(&["up", "--yes"]).success();
    assert!(
        repair.stderr().contains(
            "now also applies the changes waiting for the maintenance window (instance_class db.t3.small, allocated_storage 400 GB)"
        ),
        "{}",
        repair.stderr()
    );
    let (class, storage, status, _) = live(aws.clone(), name.clone()).await;
    assert_eq!(
        (class.as_str(), storage, status.as_str()),
        ("db.t3.small", 400, "storage-optimization"),
        "applied; `up` took the optimizing database as in service"
    );

    // Refused with `needles` said, nothing changed (exit 3).
    let refused = |config: String, needles: &[&str]| {
        std::fs::write(p.dir.path().join("paysec.toml"), config).unwrap();
        let run = p.run(&["up", "--yes"]);
        assert_eq!(run.code(), 3, "{}{}", run.stdout(), run.stderr());
        for needle in needles {
            assert!(run.stderr().contains(needle), "{needle}: {}", run.stderr());
        }
    };
    // Another storage change while RDS optimizes the last: refused by RDS,
    // said with what to do.
    refused(
        bigger.replace("allocated_storage_gb = 400", "allocated_storage_gb = 440"),
        &[
            "takes no other for 6 hours",
            "rds.allocated_storage_gb = 400",
        ],
    );
    assert_eq!(live(aws.clone(), name.clone()).await.1, 400);
    // Smaller storage: RDS cannot shrink it.
    refused(
        bigger.replace("allocated_storage_gb = 400", "allocated_storage_gb = 300"),
        &[
            "RDS cannot shrink storage",
            "rds.allocated_storage_gb = 400",
        ],
    );
    assert_eq!(live(aws.clone(), name.clone()).await.1, 400);
    std::fs::write(p.dir.path().join("paysec.toml"), &bigger).unwrap();
    p.run(&["down", "--yes"]).success();
}

/// `examples/ci-review.sh` (the steps of `examples/github-actions-review.yml`)
/// against the emulator: a change planned by a read-only role (exit 8 is
/// "there are changes", not a failure), applied with the deployer's role
/// from the saved plan (the caller does not change what is built, so the
/// plan holds), then verified into a JUnit report (exit 10 is a warning).
#[tokio::test(flavor = "multi_thread")]
async fn the_ci_review_example_plans_applies_and_verifies_across_roles() {
    let p = Paysec::new("review");
    std::fs::write(p.dir.path().join("paysec.toml"), CORE_ONLY).unwrap();
    p.run(&["up", "--yes"]).success();
    // The change to review.
    std::fs::write(
        p.dir.path().join("paysec.toml"),
        format!("tags = {{ team = \"payments\" }}\n{CORE_ONLY}"),
    )
    .unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci-review.sh");
    let step = |who: Option<&crate::support::Sso>, args: &[&str]| {
        let paysec = p.command();
        let mut c = std::process::Command::new("bash");
        c.env_clear().current_dir(p.dir.path());
        for (k, v) in paysec.get_envs() {
            if let Some(v) = v {
                c.env(k, v);
            }
        }
        if let Some(who) = who {
            c.env("AWS_ACCESS_KEY_ID", &who.access_key_id)
                .env("AWS_SECRET_ACCESS_KEY", &who.secret_access_key)
                .env("AWS_SESSION_TOKEN", &who.session_token);
        }
        c.env("PAYSEC_BIN", env!("CARGO_BIN_EXE_paysec"))
            .arg(&script)
            .args(args)
            .output()
            .unwrap()
    };
    let reviewer = other_identity("PaysecPlanner").await;
    let plan = step(Some(&reviewer), &["plan", &p.env]);
    let out = String::from_utf8_lossy(&plan.stdout).to_string();
    assert!(
        plan.status.success() && out.contains("changes=true"),
        "{out}{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    assert!(p.dir.path().join("plan.json").exists());
    let apply = step(None, &["apply", &p.env]);
    assert!(
        apply.status.success(),
        "the deployer applies the reviewer's plan: {}{}",
        String::from_utf8_lossy(&apply.stdout),
        String::from_utf8_lossy(&apply.stderr)
    );
    let verify = step(Some(&reviewer), &["verify", &p.env]);
    assert!(
        verify.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    let junit = std::fs::read_to_string(p.dir.path().join("report.junit.xml")).unwrap();
    assert!(junit.contains("<testsuite"), "{junit}");
    // Nothing left to do: the next plan says so with exit 0.
    let again = step(Some(&reviewer), &["plan", &p.env]);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("changes=false"),
        "{}{}",
        String::from_utf8_lossy(&again.stdout),
        String::from_utf8_lossy(&again.stderr)
    );
    p.run(&["down", "--yes"]).success();
}

/// One file, several environments: `[environments.NAME.SECTION]` sets
/// keys for one environment over the file's. A fleet `up` builds each
/// with its own (a VPC block and a tag of its own for the second); a
/// plan of either alone has nothing to do (issue 37, settings per
/// environment).
#[tokio::test(flavor = "multi_thread")]
async fn each_environment_of_one_file_builds_with_its_own_settings() {
    let p = Paysec::new("perenv");
    let other = crate::support::env_name("perenv");
    std::fs::write(
        p.dir.path().join("paysec.toml"),
        format!(
            "{CORE_ONLY}\n[environments.{other}.network]\nvpc_cidr = \"10.77.0.0/16\"\n\n[environments.{other}.tags]\ntier = \"production\"\n"
        ),
    )
    .unwrap();
    let fleet = ["--env", p.env.as_str(), "--env", other.as_str()];
    p.run(&[&fleet[..], &["up", "--yes"]].concat()).success();
    let aws = aws().await;
    let vpc_of = |env: String| {
        let aws = aws.clone();
        async move {
            let out = aws
                .ec2
                .describe_vpcs()
                .filters(
                    paysec_aws::sdk::ec2::types::Filter::builder()
                        .name("tag:paysec:environment")
                        .values(env)
                        .build(),
                )
                .send()
                .await
                .unwrap();
            let vpc = out.vpcs()[0].clone();
            let tier = vpc
                .tags()
                .iter()
                .find(|t| t.key() == Some("tier"))
                .and_then(|t| t.value().map(str::to_owned));
            (vpc.cidr_block().unwrap_or_default().to_owned(), tier)
        }
    };
    assert_eq!(
        vpc_of(p.env.clone()).await,
        ("10.20.0.0/16".to_owned(), None),
        "the file's settings"
    );
    assert_eq!(
        vpc_of(other.clone()).await,
        ("10.77.0.0/16".to_owned(), Some("production".to_owned())),
        "its own"
    );
    for env in [p.env.as_str(), other.as_str()] {
        let plan = p.run(&["--env", env, "plan", "--detailed-exitcode"]);
        assert_eq!(
            plan.code(),
            0,
            "{env} alone: nothing to do\n{}{}",
            plan.stdout(),
            plan.stderr()
        );
    }
    p.run(&[&fleet[..], &["down", "--yes"]].concat()).success();
}

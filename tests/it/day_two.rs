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

//! One environment per account, as a landing zone gives them: paysec
//! assumes each environment's role (`[environments.NAME] role_arn`, or
//! `--role-arn` for one), and a fleet runs each environment with its own
//! credentials in one process. On moto, which keeps accounts apart: a
//! session of a role in account 444444444444 sees only that account.

use std::collections::BTreeSet;

use paysec_aws::sdk::resourcegroupstagging;

use paysec_testkit::{FaultProxy, Rules};

use crate::support::{
    endpoint, env_name, identity_in_account, sdk_config_as, tagged_by_logical_id, Paysec,
};

const ACCOUNTS: [&str; 3] = ["444444444444", "555555555555", "666666666666"];
const ROLE: &str = "PaysecDeployer";

/// The deploy role in `account`, trusting the suite's account, made as
/// that account's owner would.
pub(crate) async fn deploy_role(account: &str) -> String {
    let owner = identity_in_account(account, "AccountOwner").await;
    let sdk = sdk_config_as(&owner).await;
    let trust = crate::support::trusting_the_suite_account();
    let iam = paysec_aws::sdk::iam::Client::new(&sdk);
    match iam
        .create_role()
        .role_name(ROLE)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
    {
        Ok(out) => out.role().unwrap().arn().to_owned(),
        // Made by an earlier test of the same run.
        Err(_) => format!("arn:aws:iam::{account}:role/{ROLE}"),
    }
}

/// The paysec environments whose resources `account` holds (by tag) in
/// us-east-1, leaving out KMS keys, which `down` schedules for deletion and
/// so stay listed for their window.
pub(crate) async fn environments_in(account: &str) -> BTreeSet<String> {
    environments_in_region(account, "us-east-1").await
}

/// As [`environments_in`], in `region`. A bucket counts where
/// GetBucketLocation places it: moto lists an account's buckets in every
/// region's answer, where AWS lists each in its own region's.
async fn environments_in_region(account: &str, region: &str) -> BTreeSet<String> {
    let owner = identity_in_account(account, "AccountOwner").await;
    let sdk = sdk_config_as(&owner).await;
    let s3 = paysec_aws::sdk::s3::Client::new(&sdk);
    let tagging = resourcegroupstagging::Client::from_conf(
        resourcegroupstagging::config::Builder::from(&sdk)
            .region(aws_config::Region::new(region.to_owned()))
            .build(),
    );
    let out = tagging
        .get_resources()
        .tag_filters(
            resourcegroupstagging::types::TagFilter::builder()
                .key("paysec:environment")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut found = BTreeSet::new();
    for m in out.resource_tag_mapping_list() {
        let arn = m.resource_arn().unwrap_or_default();
        if arn.contains(":kms:") {
            continue;
        }
        if let Some(bucket) = arn.strip_prefix("arn:aws:s3:::") {
            let location = s3
                .get_bucket_location()
                .bucket(bucket)
                .send()
                .await
                .unwrap();
            let placed = location
                .location_constraint()
                .map(|c| c.as_str())
                .filter(|c| !c.is_empty())
                .unwrap_or("us-east-1");
            if placed != region {
                continue;
            }
        }
        found.extend(
            m.tags()
                .iter()
                .filter(|t| t.key() == "paysec:environment")
                .map(|t| t.value().to_owned()),
        );
    }
    found
}

/// Writes the working directory's `paysec.toml`: each environment's role
/// (`[environments.NAME] role_arn`), and its region when given.
fn write_roles<'a>(
    p: &Paysec,
    roles: impl Iterator<Item = (&'a String, &'a String, Option<&'a str>)>,
) {
    let config: String = roles
        .map(|(name, role, region)| {
            let region = region.map_or_else(String::new, |r| format!("region = \"{r}\"\n"));
            format!("[environments.{name}]\nrole_arn = \"{role}\"\n{region}\n")
        })
        .collect();
    std::fs::write(p.dir.path().join("paysec.toml"), config).unwrap();
}

#[tokio::test]
async fn a_fleet_across_three_accounts_puts_each_environment_in_its_own() {
    let mut roles = Vec::new();
    for account in ACCOUNTS {
        roles.push(deploy_role(account).await);
    }
    let p = Paysec::new("acct")
        .with_var("PAYSEC_RDS_ENABLED", "false")
        .with_var("PAYSEC_LAMBDA_ENABLED", "false");
    let names: Vec<String> = (0..3).map(|_| env_name("acct")).collect();
    // Each environment in its own account, the third in another region.
    const REGIONS: [&str; 3] = ["us-east-1", "us-east-1", "eu-west-1"];
    let placed = || {
        names
            .iter()
            .zip(&roles)
            .zip(REGIONS)
            .map(|((n, r), region)| (n, r, Some(region)))
    };
    write_roles(&p, placed());
    let fleet: Vec<&str> = names.iter().flat_map(|n| ["--env", n.as_str()]).collect();

    let up = p.run(&[&fleet[..], &["up", "--yes"]].concat());
    assert_eq!(up.code(), 0, "{}\n{}", up.stdout(), up.stderr());
    for ((account, name), region) in ACCOUNTS.iter().zip(&names).zip(REGIONS) {
        assert_eq!(
            environments_in_region(account, region).await,
            BTreeSet::from([name.clone()]),
            "account {account} holds exactly its own environment, in {region}"
        );
        let ledger: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(p.dir.path().join(".paysec").join(format!("{name}.json")))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            (&ledger["account"], &ledger["region"]),
            (&serde_json::json!(account), &serde_json::json!(region)),
            "the ledger is bound to its account and region"
        );
        assert!(
            tagged_by_logical_id(name).await.is_empty(),
            "nothing of {name} in the suite's own account"
        );
    }
    // One environment with the flag: the same role, nothing to do.
    let plan = p.run(&[
        "--env",
        &names[0],
        "--role-arn",
        &roles[0],
        "plan",
        "--detailed-exitcode",
    ]);
    assert_eq!(plan.code(), 0, "{}\n{}", plan.stdout(), plan.stderr());
    // Without its role, the environment's ledger names another account:
    // refused, nothing touched.
    std::fs::remove_file(p.dir.path().join("paysec.toml")).unwrap();
    let elsewhere = p.run(&["--env", &names[1], "plan"]);
    assert_eq!(elsewhere.code(), 5, "{}", elsewhere.stderr());
    assert!(
        elsewhere.stderr().contains("555555555555"),
        "{}",
        elsewhere.stderr()
    );
    write_roles(&p, placed());
    let outside = environments_in(ACCOUNTS[2]).await;
    assert!(
        outside.is_empty(),
        "nothing of the third environment outside its region: {outside:?}"
    );

    let down = p.run(&[&fleet[..], &["down", "--yes", "--purge-audit-logs"]].concat());
    assert_eq!(down.code(), 0, "{}\n{}", down.stdout(), down.stderr());
    for (account, region) in ACCOUNTS.iter().zip(REGIONS) {
        assert!(
            environments_in_region(account, region).await.is_empty(),
            "account {account} is empty after down"
        );
    }
}

/// Environments going into one account are counted together against its
/// quotas, whatever their sessions are named: five more VPCs do not fit a
/// new account's five, whose default VPC takes one. Refused before any
/// write, nothing made.
#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_in_one_account_is_counted_against_its_quotas_together() {
    const ACCOUNT: &str = "777777777777";
    let role = deploy_role(ACCOUNT).await;
    let p = Paysec::new("acct")
        .with_var("PAYSEC_RDS_ENABLED", "false")
        .with_var("PAYSEC_LAMBDA_ENABLED", "false");
    let names: Vec<String> = (0..5).map(|_| env_name("acct")).collect();
    write_roles(&p, names.iter().map(|n| (n, &role, None)));
    // The account's VPC quota at AWS's default (the suite's is raised).
    let proxy = FaultProxy::start(&endpoint()).await.unwrap();
    proxy.set_rules(Rules {
        service_quotas: vec![("vpc", "L-F678F1CE", 5.0)],
        ..Rules::off()
    });
    let url = proxy.url();
    let fleet: Vec<&str> = names.iter().flat_map(|n| ["--env", n.as_str()]).collect();
    let up = p.run(
        &[
            &["--endpoint-url", url.as_str()],
            &fleet[..],
            &["up", "--yes"],
        ]
        .concat(),
    );
    assert_eq!(up.code(), 2, "{}\n{}", up.stdout(), up.stderr());
    assert!(
        up.stderr()
            .contains("VPCs in the region are used and this run needs 5 more"),
        "{}",
        up.stderr()
    );
    assert!(
        environments_in(ACCOUNT).await.is_empty(),
        "nothing made in {ACCOUNT}"
    );
}

/// A role paysec cannot assume: one that does not exist, one whose trust
/// policy names another account, one that requires an external id the run
/// does not give or gives wrong. AWS refuses each with the same
/// `AccessDenied` (the rules layer refuses as AWS does; moto would hand out
/// a session): paysec stops before any change, with exit 4 and one message
/// naming the role, AWS's words and what to check, and writes no ledger.
/// With the external id the role requires, it is assumed.
#[tokio::test]
async fn a_role_that_refuses_the_caller_stops_the_run_before_any_change() {
    let account = "777777777777";
    let owner = crate::support::identity_in_account(account, "AccountOwner").await;
    let iam = paysec_aws::sdk::iam::Client::new(&sdk_config_as(&owner).await);
    let external_id = "paysec-suite-external-id-0001";
    for (name, trusted, condition) in [
        (
            "TrustsAnotherAccount",
            "arn:aws:iam::999999999999:root",
            None,
        ),
        (
            "NeedsExternalId",
            "arn:aws:iam::123456789012:root",
            Some(serde_json::json!({ "StringEquals": { "sts:ExternalId": external_id } })),
        ),
    ] {
        let mut statement = serde_json::json!({
            "Effect": "Allow",
            "Principal": { "AWS": trusted },
            "Action": "sts:AssumeRole"
        });
        if let Some(c) = condition {
            statement["Condition"] = c;
        }
        let trust = serde_json::json!({ "Version": "2012-10-17", "Statement": [statement] });
        // An earlier run against the same emulator may have made it.
        let _ = iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await;
    }
    let role = |name: &str| format!("arn:aws:iam::{account}:role/{name}");
    let refused = [
        (role("DoesNotExist"), None),
        (role("TrustsAnotherAccount"), None),
        (role("NeedsExternalId"), None),
        (role("NeedsExternalId"), Some("another-external-id-0001")),
    ];
    for (arn, given) in &refused {
        let p = Paysec::new("assume");
        let mut args = vec!["--role-arn", arn.as_str()];
        if let Some(id) = given {
            args.extend(["--external-id", id]);
        }
        args.extend(["up", "--yes"]);
        let run = p.run(&args);
        let stderr = run.stderr();
        assert_eq!(run.code(), 4, "{arn} {given:?}: {stderr}");
        for words in [
            arn.as_str(),
            "AccessDenied",
            "trust policy",
            "--external-id",
        ] {
            assert!(stderr.contains(words), "{arn}: {words:?} in {stderr}");
        }
        assert_eq!(
            stderr.lines().filter(|l| l.starts_with("error:")).count(),
            1,
            "one message: {stderr}"
        );
        assert!(!p.ledger_path().exists(), "no ledger written: {stderr}");
    }
    let p = Paysec::new("assume");
    let plan = p.run(&[
        "--role-arn",
        &role("NeedsExternalId"),
        "--external-id",
        external_id,
        "plan",
    ]);
    assert_eq!(plan.code(), 0, "{}\n{}", plan.stdout(), plan.stderr());
    // From a variable, out of the process list; and shown nowhere, even
    // with every log line.
    let plan = p.run_with(
        &[("PAYSEC_EXTERNAL_ID", external_id)],
        &["-vv", "--role-arn", &role("NeedsExternalId"), "plan"],
    );
    assert_eq!(plan.code(), 0, "{}\n{}", plan.stdout(), plan.stderr());
    assert!(
        !(plan.stdout() + &plan.stderr()).contains(external_id),
        "{}",
        plan.stderr()
    );
}

/// A run outlasting its role session: here every session STS hands out has
/// already expired (the proxy dates each AssumeRole answer's `Expiration` a
/// century back), so each call finds its credentials stale. paysec's
/// credentials for the role (the SDK's assume-role provider behind its
/// identity cache) renew the session instead of failing, and the run
/// completes in the role's account.
#[tokio::test(flavor = "multi_thread")]
async fn an_expired_role_session_is_renewed_and_the_run_goes_on() {
    let account = "121212121212";
    let role = deploy_role(account).await;
    let proxy = FaultProxy::start(&endpoint()).await.unwrap();
    proxy.set_rules(Rules::aws());
    proxy.rewrite_answers("AssumeRole", "<Expiration>20", "<Expiration>19");
    let url = proxy.url();
    let p = Paysec::new("renew")
        .with_var("PAYSEC_RDS_ENABLED", "false")
        .with_var("PAYSEC_LAMBDA_ENABLED", "false");
    let up = p.run(&["--endpoint-url", &url, "--role-arn", &role, "up", "--yes"]);
    assert_eq!(up.code(), 0, "{}\n{}", up.stdout(), up.stderr());
    let sessions = proxy
        .log()
        .iter()
        .filter(|s| s.as_str() == "AssumeRole")
        .count();
    assert!(
        sessions > 2,
        "the session renewed: {sessions} AssumeRole calls"
    );
    assert!(environments_in(account).await.contains(p.env.as_str()));
    let down = p.run(&["--role-arn", &role, "down", "--yes", "--purge-audit-logs"]);
    assert_eq!(down.code(), 0, "{}", down.stderr());
    assert!(!environments_in(account).await.contains(p.env.as_str()));
}

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

//! Plans for pipelines: a plan saved with `plan --out` applies exactly with
//! `up --plan`, and one the world moved past is refused (exit 9) with why,
//! the ledger untouched.

use crate::support::{aws, Paysec};

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_applies_exactly_and_a_stale_one_is_refused() {
    let p = Paysec::new("saved");
    let aws = aws().await;
    let first = p.dir.path().join("first.json");
    let first_s = first.to_str().unwrap();
    p.run(&["plan", "--out", first_s]).success();
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&first).unwrap()).unwrap();
    assert_eq!(saved["format"], "paysec-plan/1");
    // (API Gateway's logging role is one setting of the whole account,
    // adopted when another environment of the suite's account set it.)
    assert!(saved["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] != "api.account-logging")
        .all(|c| c["action"] == "create"));
    // Applied without a question (it was reviewed), exactly: everything
    // created.
    let up = p
        .run(&["up", "--plan", first_s, "--output", "json"])
        .success()
        .json();
    assert_eq!(
        up["outcomes"].as_object().unwrap().len(),
        saved["changes"].as_array().unwrap().len()
    );
    // The same plan again: the ledger has changed since.
    let again = p.run(&["up", "--plan", first_s]);
    assert_eq!(again.code(), 9, "{}", again.stderr());
    assert!(
        again.stderr().contains("the ledger changed"),
        "{}",
        again.stderr()
    );

    // A repair, planned; then the live environment moves on before it is
    // applied: refused, naming what changed.
    let key = p.ledger()["resources"]["kms.logs"]["physical_id"]
        .as_str()
        .unwrap()
        .to_owned();
    aws.kms
        .disable_key_rotation()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    let second = p.dir.path().join("second.json");
    let second_s = second.to_str().unwrap();
    p.run(&["plan", "--out", second_s]).success();
    let s3_key = p.ledger()["resources"]["kms.s3"]["physical_id"]
        .as_str()
        .unwrap()
        .to_owned();
    aws.kms
        .disable_key_rotation()
        .key_id(&s3_key)
        .send()
        .await
        .unwrap();
    let ledger_before = std::fs::read_to_string(p.ledger_path()).unwrap();
    let stale = p.run(&["up", "--plan", second_s, "--output", "json"]);
    assert_eq!(stale.code(), 9, "{}", stale.stderr());
    let stderr = stale.stderr();
    let last = stderr.lines().rfind(|l| !l.trim().is_empty()).unwrap();
    let err: serde_json::Value = serde_json::from_str(last).unwrap();
    assert_eq!(err["error"]["kind"], "plan_stale");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("kms.s3 now needs repair (rotation)"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(p.ledger_path()).unwrap(),
        ledger_before,
        "a refused plan leaves the ledger as it was"
    );

    // Other settings than the plan was made with: refused too.
    let third = p.dir.path().join("third.json");
    let third_s = third.to_str().unwrap();
    p.run(&["plan", "--out", third_s]).success();
    let other = p.run_with(
        &[("PAYSEC_LOGS_RETENTION_DAYS", "400")],
        &["up", "--plan", third_s],
    );
    assert_eq!(other.code(), 9, "{}", other.stderr());
    assert!(
        other.stderr().contains("the settings"),
        "{}",
        other.stderr()
    );
    // The fresh plan, as made: both repairs.
    let applied = p
        .run(&["up", "--plan", third_s, "--output", "json"])
        .success()
        .json();
    assert_eq!(applied["outcomes"]["kms.logs"], "repaired");
    assert_eq!(applied["outcomes"]["kms.s3"], "repaired");
    p.run(&["down", "--yes"]).success();
}

//! The tests that run on either emulator: the moto suite runs them with
//! the rest, and the LocalStack lane (`PAYSEC_TEST_EMULATOR=localstack
//! cargo test --test it both_emulators::`, in `scripts/test.sh`) runs
//! only them (`support::BOTH_EMULATORS`). They build the stack's core,
//! with the database and the function switched off: LocalStack community
//! has no RDS, and its functions need Docker to become Active.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::{assert_core_resources_gone, aws, tagged_by_logical_id, Emulator, Paysec};

/// Both components off, as the LocalStack lane needs them.
const CORE_ONLY: &[(&str, &str)] = &[
    ("PAYSEC_RDS_ENABLED", "false"),
    ("PAYSEC_LAMBDA_ENABLED", "false"),
];

/// The ids of a plan's or up's JSON, by field.
fn ids(v: &Value, field: &str) -> BTreeSet<String> {
    match &v[field] {
        Value::Object(m) => m.keys().cloned().collect(),
        Value::Array(a) => a
            .iter()
            .filter_map(|c| c["id"].as_str().map(str::to_owned))
            .collect(),
        other => panic!("{field}: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_core_stack_converges_verifies_plans_clean_and_leaves_nothing() {
    let p = Paysec::new("core");
    let emulator = Emulator::current().as_str();
    let plan = p
        .run_with(CORE_ONLY, &["plan", "--output", "json"])
        .success()
        .json();
    let planned = ids(&plan, "changes");
    for id in &planned {
        assert!(
            !id.starts_with("rds.") && !id.starts_with("lambda."),
            "{id} is planned with both components off"
        );
    }
    for left_out in [
        "kms.rds",
        "kms.lambda",
        "network.endpoint-rds",
        "network.endpoint-xray",
        "network.sg-rules",
        "logs.rds-os-metrics",
        "monitoring.alarm-encryption-violations",
    ] {
        assert!(!planned.contains(left_out), "{left_out} is planned");
    }
    for core in [
        "kms.s3",
        "kms.logs",
        "network.vpc",
        "s3.data",
        "monitoring.topic",
    ] {
        assert!(planned.contains(core), "{core} is not planned");
    }
    // The DNS firewall: LocalStack has Route 53 Resolver's; moto has none,
    // so the moto suite leaves it out (`support::Paysec::new`).
    let dns = [
        "network.dns-allowed",
        "network.dns-everything",
        "network.dns-firewall",
        "network.dns-firewall-vpc",
    ];
    let with_dns = Emulator::current() == Emulator::LocalStack;
    for id in dns {
        assert_eq!(planned.contains(id), with_dns, "{id} on {emulator}");
    }

    // up creates exactly the plan; a second up changes nothing.
    let up = p
        .run_with(CORE_ONLY, &["up", "--yes", "--output", "json"])
        .success()
        .json();
    assert_eq!(ids(&up, "outcomes"), planned, "on {emulator}");
    assert!(
        up["outcomes"]
            .as_object()
            .unwrap()
            .values()
            .all(|o| o == "created"),
        "{}",
        up["outcomes"]
    );
    let again = p
        .run_with(CORE_ONLY, &["up", "--yes", "--output", "json"])
        .success()
        .json();
    let changed: Vec<_> = again["outcomes"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, o)| *o != "unchanged")
        .collect();
    assert!(
        changed.is_empty(),
        "a no-op up on {emulator} changed {changed:?}"
    );
    if with_dns {
        check_dns_firewall(&p).await;
    }
    let clean = p.run_with(CORE_ONLY, &["plan", "--detailed-exitcode"]);
    assert_eq!(
        clean.code(),
        0,
        "plan after up on {emulator}: {}",
        clean.stdout()
    );

    // verify: nothing fails; an UNKNOWN says why and is not a pass (exit
    // 10 unless --allow-unknown); what the switches leave out is
    // NOT_APPLICABLE (no database: nothing of it to protect) or a DEVIATION
    // (no DNS firewall: less protection), naming the switch.
    let verify = p.run_with(CORE_ONLY, &["verify", "--output", "json"]);
    let report = verify.json();
    let unknown = report["summary"]["unknown"].as_u64().unwrap();
    assert_eq!(
        verify.code(),
        if unknown > 0 { 10 } else { 0 },
        "verify on {emulator}: {}",
        report["summary"]
    );
    let allowed = p.run_with(
        CORE_ONLY,
        &["verify", "--allow-unknown", "--output", "json"],
    );
    assert_eq!(allowed.code(), 0, "{}", allowed.stderr());
    let (controls, total) = (
        report["summary"]["controls"].as_u64().unwrap(),
        report["summary"]["total"].as_u64().unwrap(),
    );
    assert!(
        controls > 50 && controls < total,
        "controls and findings counted apart: {}",
        report["summary"]
    );
    let findings = report["findings"].as_array().unwrap();
    for f in findings {
        match f["verdict"].as_str().unwrap() {
            "PASS" => assert_ne!(f["observed"], "", "{f}"),
            "UNKNOWN" => assert_ne!(
                f["observed"], "the read did not report this property",
                "an UNKNOWN without a reason on {emulator}: {f}"
            ),
            "NOT_APPLICABLE" | "DEVIATION" => {
                assert!(!f["observed"].as_str().unwrap().is_empty(), "{f}")
            }
            other => panic!("{other} on {emulator}: {f}"),
        }
    }
    for f in findings
        .iter()
        .filter(|f| dns.contains(&f["resource"].as_str().unwrap()))
    {
        if with_dns {
            assert_eq!(f["verdict"], "PASS", "{f}");
        } else {
            // Left out, it lowers protection: a deviation, not "does not
            // apply".
            assert_eq!(f["verdict"], "DEVIATION", "{f}");
            assert!(
                f["observed"]
                    .as_str()
                    .unwrap()
                    .contains("network.dns_firewall = false"),
                "{f}"
            );
        }
    }
    let left_out: Vec<&Value> = findings
        .iter()
        .filter(|f| f["resource"] == "rds.instance" || f["resource"] == "lambda.function")
        .collect();
    assert!(
        left_out.len() > 20,
        "the DB's and function's controls are reported"
    );
    for f in left_out {
        assert_eq!(f["verdict"], "NOT_APPLICABLE", "{f}");
        let why = f["observed"].as_str().unwrap();
        assert!(
            why.contains("rds.enabled = false") || why.contains("lambda.enabled = false"),
            "{f}"
        );
    }

    // down keeps the audit logs (and the keys they are encrypted with),
    // recorded; --purge-audit-logs removes them; then nothing is left but
    // the keys in their deletion window or kept for what stays encrypted.
    p.run_with(CORE_ONLY, &["down", "--yes"]).success();
    assert!(p.ledger()["resources"].as_object().unwrap().is_empty());
    let kept: BTreeSet<String> = p.ledger()["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .collect();
    for audit in [
        "s3.access-logs",
        "s3.flow-logs",
        "logs.flow-logs",
        "kms.s3",
        "kms.logs",
    ] {
        assert!(kept.contains(audit), "{audit} kept on {emulator}: {kept:?}");
    }
    let audit_logs = ["logs.flow-logs", "s3.access-logs", "s3.flow-logs"];
    let left = tagged_by_logical_id(&p.env).await;
    assert!(
        left.keys().all(|id| audit_logs.contains(&id.as_str())),
        "only the audit logs left on {emulator}: {left:?}"
    );
    let aws = aws().await;
    let prefix = format!("paysec-{}-", p.env);
    let kept_buckets: BTreeSet<String> = aws
        .s3
        .list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .iter()
        .filter_map(|b| b.name())
        .filter(|n| n.starts_with(&prefix))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        kept_buckets.len(),
        2,
        "the two log buckets are kept on {emulator}: {kept_buckets:?}"
    );
    assert!(
        kept_buckets.iter().all(|b| b.contains("logs-")),
        "{kept_buckets:?}"
    );
    // A kept key's note says, one line each, what it still protects.
    let kept_entries = p.ledger()["kept"].as_array().unwrap().clone();
    for key in kept_entries.iter().filter(|k| k["kind"] == "kms_key") {
        let key_id = key["physical_id"].as_str().unwrap();
        let protected = kept_entries
            .iter()
            .filter(|k| {
                k["encrypted_with"]
                    .as_str()
                    .is_some_and(|e| e == key_id || e.ends_with(&format!(":key/{key_id}")))
            })
            .count();
        let note = key["note"].as_str().unwrap();
        assert!(protected > 0, "{key} kept for nothing on {emulator}");
        assert_eq!(
            note.lines().filter(|l| l.starts_with("- ")).count(),
            protected,
            "{note}"
        );
    }
    let kept_keys: Vec<(String, String)> = p.ledger()["kept"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["kind"] == "kms_key")
        .map(|k| {
            (
                k["id"].as_str().unwrap().to_owned(),
                k["physical_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    p.run_with(CORE_ONLY, &["down", "--yes", "--purge-audit-logs"])
        .success();
    // The keys kept for the purged logs go with them: scheduled for
    // deletion, and no note says they still protect anything.
    for (id, key) in &kept_keys {
        let state = aws
            .kms
            .describe_key()
            .key_id(key)
            .send()
            .await
            .unwrap()
            .key_metadata()
            .and_then(|m| m.key_state().cloned());
        assert_eq!(
            state.as_ref().map(|s| s.as_str()),
            Some("PendingDeletion"),
            "{id} ({key}) after the purge on {emulator}"
        );
    }
    let notes = p.ledger()["kept"].to_string();
    assert!(
        !notes.contains("it encrypts what was kept"),
        "no key is said to protect purged logs on {emulator}: {notes}"
    );
    let left = tagged_by_logical_id(&p.env).await;
    assert!(
        left.is_empty(),
        "left after the purge on {emulator}: {left:?}"
    );
    assert_core_resources_gone(&aws, &p.env, &[]).await;
    if with_dns {
        let prefix = format!("paysec-{}-", p.env);
        let groups = aws
            .resolver
            .list_firewall_rule_groups()
            .send()
            .await
            .unwrap();
        let lists = aws
            .resolver
            .list_firewall_domain_lists()
            .send()
            .await
            .unwrap();
        let left: Vec<&str> = groups
            .firewall_rule_groups()
            .iter()
            .filter_map(|g| g.name())
            .chain(
                lists
                    .firewall_domain_lists()
                    .iter()
                    .filter_map(|l| l.name()),
            )
            .filter(|n| n.starts_with(&prefix))
            .collect();
        assert!(left.is_empty(), "DNS firewall parts left: {left:?}");
    }
}

/// The DNS firewall as AWS reports it: the rule group allows the stack's
/// names and blocks every other with NODATA, associated with the stack's
/// VPC under mutation protection, the VPC failing closed.
async fn check_dns_firewall(p: &Paysec) {
    let aws = aws().await;
    let l = p.ledger();
    let id_of = |id: &str| {
        l["resources"][id]["physical_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (allowed, everything) = (
        id_of("network.dns-allowed"),
        id_of("network.dns-everything"),
    );
    let domains = |list: String| {
        let aws = aws.clone();
        async move {
            let out = aws
                .resolver
                .list_firewall_domains()
                .firewall_domain_list_id(list)
                .send()
                .await
                .unwrap();
            out.domains().to_vec()
        }
    };
    // As Route 53 Resolver answers them: each name with its root dot (the
    // rules layer's, as LocalStack keeps names as given); paysec's plan
    // above was clean all the same.
    let allowed_names = domains(allowed.clone()).await;
    assert!(
        allowed_names.contains(&"xray.us-east-1.amazonaws.com.".to_owned()),
        "{allowed_names:?}"
    );
    assert!(!allowed_names.contains(&"*.".to_owned()));
    assert_eq!(domains(everything.clone()).await, vec!["*.".to_owned()]);
    let rules = aws
        .resolver
        .list_firewall_rules()
        .firewall_rule_group_id(id_of("network.dns-firewall"))
        .send()
        .await
        .unwrap();
    // The allowed names' CNAME chains (S3's bucket names among them) are
    // trusted: with Resolver's default, INSPECT_REDIRECTION_DOMAIN, only
    // the block rule would match the names they point to.
    let mut rules: Vec<(i32, String, String, String, String)> = rules
        .firewall_rules()
        .iter()
        .map(|r| {
            (
                r.priority().unwrap(),
                r.firewall_domain_list_id().unwrap().to_owned(),
                r.action().unwrap().as_str().to_owned(),
                r.block_response().map_or("-", |b| b.as_str()).to_owned(),
                r.firewall_domain_redirection_action()
                    .map_or("INSPECT_REDIRECTION_DOMAIN (default)", |a| a.as_str())
                    .to_owned(),
            )
        })
        .collect();
    rules.sort();
    assert_eq!(
        (
            &rules[0].0,
            &rules[0].1,
            rules[0].2.as_str(),
            rules[0].4.as_str()
        ),
        (&100, &allowed, "ALLOW", "TRUST_REDIRECTION_DOMAIN")
    );
    assert_eq!(
        (
            &rules[1].0,
            &rules[1].1,
            rules[1].2.as_str(),
            rules[1].3.as_str()
        ),
        (&200, &everything, "BLOCK", "NODATA")
    );
    assert_eq!(rules.len(), 2);
    let association = aws
        .resolver
        .get_firewall_rule_group_association()
        .firewall_rule_group_association_id(id_of("network.dns-firewall-vpc"))
        .send()
        .await
        .unwrap();
    let association = association.firewall_rule_group_association().unwrap();
    assert_eq!(association.vpc_id(), Some(id_of("network.vpc").as_str()));
    assert_eq!(
        association.mutation_protection().map(|m| m.as_str()),
        Some("ENABLED")
    );
    let config = aws
        .resolver
        .get_firewall_config()
        .resource_id(id_of("network.vpc"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        config
            .firewall_config()
            .and_then(|c| c.firewall_fail_open())
            .map(|f| f.as_str()),
        Some("DISABLED")
    );
}

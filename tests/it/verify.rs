//! `paysec verify` against the emulator: everything passes after `up`;
//! tampering made directly with the SDK, at least one per service area,
//! fails exactly the affected controls; `plan --no-refresh` sees what the
//! quick checks carry, a plain `plan` all of it; a plain `up` repairs it in
//! place and verify passes again.

use std::collections::BTreeSet;

use paysec_aws::sdk::ec2::types::{AttributeBooleanValue, IpPermission, IpRange};
use serde_json::Value;

use crate::support::{aws, emulator_python, once_visible, Paysec};

fn attr(l: &Value, id: &str, key: &str) -> String {
    let r = &l["resources"][id];
    let v = if key == "physical_id" {
        &r["physical_id"]
    } else {
        &r["attrs"][key]
    };
    v.as_str()
        .unwrap_or_else(|| panic!("ledger lacks {id}.{key}"))
        .to_owned()
}

/// One finding's verdict, expected and observed values.
fn found_in(report: &Value, control: &str, resource: &str) -> (String, String, String) {
    let f = crate::support::finding(report, control, Some(resource));
    let s = |k: &str| f[k].as_str().unwrap().to_owned();
    (s("verdict"), s("expected"), s("observed"))
}

fn ec2_filter(name: &str, value: &str) -> paysec_aws::sdk::ec2::types::Filter {
    paysec_aws::sdk::ec2::types::Filter::builder()
        .name(name)
        .values(value)
        .build()
}

fn failing(report: &Value) -> BTreeSet<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["verdict"] == "FAIL")
        .map(|f| {
            (
                f["control"].as_str().unwrap().to_owned(),
                f["resource"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn verify_detects_each_tampering_and_up_repairs_it() {
    // The reports carry the diagrams, which Graphviz lays out.
    crate::support::graphviz();
    // A protected environment (the suite's default is unprotected).
    let p = Paysec::new("verify")
        .with_var("PAYSEC_RDS_DELETION_PROTECTION", "true")
        .with_var("PAYSEC_IAM_AUDIT_TRUSTED_ACCOUNT", "210987654321");
    let aws = aws().await;
    p.run(&["up", "--yes"]).success();
    let report_path = p.dir.path().join("evidence.md");
    let run = p.run(&[
        "verify",
        "--output",
        "json",
        "--report",
        report_path.to_str().unwrap(),
    ]);
    let clean = run.json();
    // No FAIL; an UNKNOWN (moto's gaps, each with why) is not a pass:
    // exit 10, or 0 with --allow-unknown.
    let unknown = clean["summary"]["unknown"].as_u64().unwrap();
    assert_eq!(
        (clean["summary"]["fail"].as_u64(), run.code()),
        (Some(0), if unknown > 0 { 10 } else { 0 }),
        "verify after up: {} {:?}",
        clean["summary"],
        failing(&clean)
    );
    // The suite's account runs no trail: an owner prerequisite not met,
    // reported apart, leaves the exit code to the controls.
    assert!(
        clean["prerequisites"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == "ACC-1" && p["status"] == "NOT_MET"),
        "{}",
        clean["prerequisites"]
    );
    // A finding whose expected value the configuration set names the
    // setting, in the JSON and in the report; one paysec fixes names none.
    let of = |control: &str| crate::support::finding(&clean, control, None);
    assert_eq!(
        of("RDS-12")["expected_from_configuration"],
        serde_json::json!(["rds.deletion_protection"])
    );
    assert!(of("RDS-6").get("expected_from_configuration").is_none());
    // The new database came up `pending-reboot` (its group changed moments
    // before, as the rules layer has it): `up` rebooted it, so its static
    // parameters (pgaudit) are applied.
    let rds17 = of("RDS-17");
    assert_eq!(rds17["verdict"], "PASS", "{rds17}");
    assert!(
        rds17["observed"].as_str().unwrap().contains("(in-sync)"),
        "{rds17}"
    );
    let evidence = std::fs::read_to_string(&report_path).unwrap();
    assert!(
        evidence.contains("| true (from the configuration: rds.deletion_protection) |"),
        "the Markdown report names the setting"
    );
    assert_eq!(p.run(&["verify", "--allow-unknown"]).code(), 0);
    // Run by an auditor (another role of the account): the key policies are
    // compared with the administrators `up` gave them, not the auditor, and
    // taken from the keys' own tag: a ledger edited to name the auditor
    // changes nothing.
    let auditor = crate::support::other_identity("PaysecAuditor").await;
    let ledger_path = p.ledger_path();
    let original = std::fs::read_to_string(&ledger_path).unwrap();
    let mut edited: Value = serde_json::from_str(&original).unwrap();
    for (_, r) in edited["resources"].as_object_mut().unwrap() {
        if r["kind"] == "kms_key" {
            r["attrs"]["key_administrators"] = Value::from(auditor.role_arn.as_str());
        }
    }
    std::fs::write(&ledger_path, edited.to_string()).unwrap();
    let audited = p.run_with(
        &[
            ("AWS_ACCESS_KEY_ID", auditor.access_key_id.as_str()),
            ("AWS_SECRET_ACCESS_KEY", auditor.secret_access_key.as_str()),
            ("AWS_SESSION_TOKEN", auditor.session_token.as_str()),
        ],
        &["verify", "--allow-unknown", "--output", "json"],
    );
    assert_eq!(audited.code(), 0, "{}", audited.stderr());
    let audited = audited.json();
    let kms3 = crate::support::finding(&audited, "KMS-3", Some("kms.s3"));
    assert_eq!(kms3["verdict"], "PASS", "{kms3}");
    assert!(
        !kms3["observed"].as_str().unwrap().contains("PaysecAuditor"),
        "{kms3}"
    );
    // Where the expected administrators came from is said: the keys' tag.
    let from = audited["scope"]["key_administrators"].as_str().unwrap();
    assert!(
        from.contains("from the keys' own tag paysec:key-admins")
            && !from.contains("PaysecAuditor"),
        "{from}"
    );
    // Nor does the deployer's next `up` hand the keys to whom the edited
    // ledger names: it keeps the administrators of the keys' tag.
    p.run(&["up", "--yes"]).success();
    let after = p.run(&["verify", "--allow-unknown", "--output", "json"]);
    let kms3 = crate::support::finding(&after.json(), "KMS-3", Some("kms.s3"));
    assert_eq!(kms3["verdict"], "PASS", "{kms3}");
    assert!(
        !kms3["observed"].as_str().unwrap().contains("PaysecAuditor"),
        "{kms3}"
    );
    std::fs::write(&ledger_path, original).unwrap();
    assert!(
        clean["summary"]["total"].as_u64().unwrap() > 150,
        "every control checked: {}",
        clean["summary"]
    );
    // Each verdict quotes the value read live, not a restatement.
    let found = |control: &str, resource: &str| found_in(&clean, control, resource);
    let (verdict, expected, observed) = found("KMS-2", "kms.s3");
    assert_eq!((verdict.as_str(), expected.as_str()), ("PASS", "enabled"));
    assert!(observed.starts_with("enabled"), "{observed}");
    assert_eq!(
        found("SQS-3", "lambda.dlq"),
        ("PASS".into(), "1209600".into(), "1209600".into())
    );
    assert_eq!(
        found("LOG-5", "logs.lambda"),
        ("PASS".into(), "365".into(), "365".into())
    );
    assert_eq!(
        found("RDS-12", "rds.instance"),
        ("PASS".into(), "true".into(), "true".into()),
        "a non-dev environment wants deletion protection"
    );
    // Policies are quoted as AWS returned them: digest and document.
    for (control, resource) in [
        ("KMS-3", "kms.s3"),
        ("S3-5", "s3.data"),
        ("IAM-2", "iam.audit"),
        ("IAM-5", "iam.lambda-exec-policy"),
        ("NET-11", "network.endpoint-s3"),
        ("MON-2", "monitoring.topic"),
    ] {
        let (verdict, _, observed) = found(control, resource);
        assert_eq!(verdict, "PASS", "{control}");
        assert!(
            observed.starts_with("sha256:") && observed.contains("\"Statement\""),
            "{control} quotes the live document: {observed}"
        );
    }
    assert_eq!(
        found("S3-3", "s3.data").2,
        "BlockPublicAcls=true, IgnorePublicAcls=true, BlockPublicPolicy=true, RestrictPublicBuckets=true"
    );
    // What `live` runs, quoted: its version and digest, the configured
    // package's.
    let (verdict, expected, observed) = found("LAM-9", "lambda.function");
    assert_eq!(verdict, "PASS", "{observed}");
    let digest = expected.rsplit(' ').next().unwrap();
    assert!(
        observed.starts_with("live -> version ")
            && observed.ends_with(&format!("(CodeSha256 {digest})"))
            && digest.ends_with('='),
        "{expected} / {observed}"
    );
    let (verdict, expected, observed) = found("LAM-11", "lambda.function");
    assert_eq!((verdict.as_str(), &observed), ("PASS", &expected));
    let (verdict, _, why) = found("S3-7", "s3.access-logs");
    assert_eq!(
        verdict, "NOT_APPLICABLE",
        "the log bucket does not log into itself"
    );
    assert!(why.contains("access-log bucket"), "{why}");
    let (verdict, _, why) = found("RDS-18", "rds.instance");
    assert_eq!(
        verdict, "NOT_APPLICABLE",
        "db.t3.micro has no Performance Insights"
    );
    assert!(why.contains("db.t3.micro"), "{why}");
    // LOG-7: the emulator delivers no service logs, so an empty group of a
    // continuous source is UNKNOWN (with why), never a pass; a group whose
    // writer is event-driven does not apply. Once events arrive (written
    // here as the flow-log service and RDS would), each passes quoting its
    // newest stream.
    let (verdict, _, why) = found("LOG-7", "logs.flow-logs");
    assert_eq!(verdict, "UNKNOWN", "{why}");
    assert!(why.contains("delivers no service logs"), "{why}");
    let (verdict, _, why) = found("LOG-7", "logs.lambda");
    assert_eq!(verdict, "NOT_APPLICABLE", "{why}");
    assert!(
        why.contains("when invoked") && why.contains("no event yet"),
        "{why}"
    );
    let ledger = p.ledger();
    for (group, stream, line) in [
        (
            "logs.flow-logs",
            "eni-0a1b2c3d4e5f60718-all",
            "2 123456789012 eni-0a1b2c3d4e5f60718 - - - - - - - 1733030000 1733030060 - NODATA",
        ),
        (
            "logs.rds-postgresql",
            "paysec-verify.0",
            "2026-12-01 05:00:00 UTC:10.0.1.5(5432):rdsadmin@rdsadmin:[812]:LOG:  connection authorized",
        ),
    ] {
        crate::support::deliver_log_event(&attr(&ledger, group, "name"), stream, line).await;
    }
    let delivered = p
        .run(&["verify", "--allow-unknown", "--output", "json"])
        .json();
    for (group, stream) in [
        ("logs.flow-logs", "eni-0a1b2c3d4e5f60718-all"),
        ("logs.rds-postgresql", "paysec-verify.0"),
    ] {
        let (verdict, expected, observed) = found_in(&delivered, "LOG-7", group);
        assert_eq!(verdict, "PASS", "{group}: {observed}");
        assert!(expected.contains("within the last 24 hours"), "{expected}");
        assert!(
            observed.starts_with("ingesting: last event ingested ")
                && observed.ends_with(&format!("in stream {stream}")),
            "{observed}"
        );
    }
    // The suite's account is a new one (the rules layer: a Lambda limit of
    // 10, all of it kept unreserved): no room, and verify says why.
    let (verdict, _, why) = found("LAM-8", "lambda.function");
    assert_eq!(
        verdict, "DEVIATION",
        "no room to reserve concurrency: a departure from the baseline, with why"
    );
    assert!(clean["summary"]["deviation"].as_u64().unwrap() >= 1);
    assert!(
        why.contains("concurrency limit is 10") && why.contains("\"none\""),
        "{why}"
    );
    for f in clean["findings"].as_array().unwrap() {
        if f["verdict"] == "PASS" {
            assert!(
                !f["observed"].as_str().unwrap().is_empty(),
                "a pass quotes what it saw: {f}"
            );
        }
    }
    let evidence = std::fs::read_to_string(&report_path).unwrap();
    assert!(
        evidence.contains("## Requirement 3.5.1")
            && evidence.contains("| account | 123456789012 |"),
        "evidence report"
    );
    // Read by a CommonMark parser with GitHub's tables (markdown-it-py): a
    // section and a table per requirement, a row per finding under each of
    // its requirements, beside the header table (a row per field).
    let findings = clean["findings"].as_array().unwrap();
    let requirements: BTreeSet<&str> = findings
        .iter()
        .flat_map(|f| f["requirements"].as_array().unwrap())
        .filter_map(|r| r.as_str())
        .collect();
    // The findings of controls supporting no requirement: one section of
    // their own, a row each.
    let unmapped = findings
        .iter()
        .filter(|f| f["requirements"].as_array().unwrap().is_empty())
        .count();
    assert!(unmapped > 0 && evidence.contains("## No PCI DSS requirement (operational controls)"));
    let sections = requirements.len() + 1;
    let rows: usize = findings
        .iter()
        .map(|f| f["requirements"].as_array().unwrap().len().max(1))
        .sum();
    let parsed = std::process::Command::new(emulator_python())
        .args([
            "-c",
            "import sys\n\
             from markdown_it import MarkdownIt\n\
             tokens = MarkdownIt('commonmark').enable('table').parse(open(sys.argv[1]).read())\n\
             heads = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == 'heading_open' and t.tag == 'h2']\n\
             print(len(heads), sum(t.type == 'table_open' for t in tokens), sum(t.type == 'tr_open' for t in tokens))",
            report_path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        parsed.status.success(),
        "{}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    let counts: Vec<usize> = String::from_utf8_lossy(&parsed.stdout)
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    let header_rows = evidence
        .lines()
        .take_while(|l| !l.starts_with("## "))
        .filter(|l| l.starts_with('|') && !l.starts_with("|---"))
        .count();
    // ... the owner prerequisites, a section and a row each, an appendix:
    // a table of the API calls read, a row each, and the configuration the
    // expected values came from (a section, no table).
    let calls = clean["calls"].as_array().unwrap();
    let prerequisites = clean["prerequisites"].as_array().unwrap().len();
    assert!(evidence.contains("\n## Owner prerequisites ("));
    // ... and the diagrams: a section, no table (the pictures are files
    // beside the report).
    assert!(evidence.contains("\n## Diagrams (PCI DSS 1.2.3, 1.2.4)"));
    assert_eq!(
        counts,
        [
            sections + 4,
            sections + 3,
            header_rows + sections + rows + 1 + prerequisites + 1 + calls.len()
        ],
        "the Markdown report parses as a section and a table per requirement, the prerequisites', the diagrams', the calls' appendix and the configuration's"
    );
    assert!(
        evidence.contains("## Appendix B: the configuration")
            && evidence.contains("\"deletion_protection\": true"),
        "the report carries the settings it compared with"
    );
    assert_eq!(
        clean["scope"]["configuration"]["rds"]["deletion_protection"], true,
        "{}",
        clean["scope"]
    );
    // A report that stands alone: its scope, how it was made, the calls
    // behind each finding with their request ids, the raw answers beside
    // it and a manifest `sha256sum -c` checks.
    let scope = &clean["scope"];
    assert_eq!(scope["emulator"], "moto", "{scope}");
    assert!(
        scope["caller_arn"]
            .as_str()
            .unwrap()
            .contains(":assumed-role/"),
        "{scope}"
    );
    assert!(scope["command_line"]
        .as_str()
        .unwrap()
        .contains("verify --output json --report"));
    assert!(scope["config_digest"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert_eq!(scope["commit"].as_str().unwrap().len(), 40, "{scope}");
    assert!(scope["resources_read"].as_u64().unwrap() > 40, "{scope}");
    assert!(clean["not_covered"].as_str().unwrap().contains("interview"));
    for heading in [
        "| population |",
        "| started |",
        "| ended |",
        "| command line |",
        "| caller |",
        "## Appendix A: the API calls read",
    ] {
        assert!(evidence.contains(heading), "{heading}");
    }
    for f in findings
        .iter()
        .filter(|f| f["verdict"] == "PASS" || f["verdict"] == "FAIL")
    {
        let reads = f["reads"]
            .as_array()
            .unwrap_or_else(|| panic!("no calls for {f}"));
        for n in reads {
            let call = &calls[n.as_u64().unwrap() as usize - 1];
            // Its own calls, or a listing shared by the resources of its
            // kind (the alarms under the environment's prefix).
            let by = call["resource"].as_str().unwrap();
            assert!(by == f["resource"] || by.starts_with("shared:"), "{call}");
        }
    }
    assert!(
        calls
            .iter()
            .all(|c| c["request_id"].is_string() && c["body_sha256"].is_string()),
        "every call has its request id"
    );
    let responses: Value = serde_json::from_str(
        &std::fs::read_to_string(p.dir.path().join("evidence.md.responses.json")).unwrap(),
    )
    .unwrap();
    let answered = responses["calls"].as_array().unwrap();
    assert_eq!(answered.len(), calls.len());
    assert!(
        answered
            .iter()
            .any(|c| c["operation"] == "DescribeVpcs"
                && c["body"].as_str().unwrap().contains("<vpcId>")),
        "the raw answers are kept"
    );
    assert!(
        !std::fs::read_to_string(p.dir.path().join("evidence.md.responses.json"))
            .unwrap()
            .contains("X-Amz-Signature"),
        "no presigned URL kept"
    );
    let checked = std::process::Command::new("sha256sum")
        .args(["-c", "evidence.md.sha256"])
        .current_dir(p.dir.path())
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stdout)
    );

    let l = p.ledger();
    // 1. KMS: rotation off.
    aws.kms
        .disable_key_rotation()
        .key_id(attr(&l, "kms.s3", "key_id"))
        .send()
        .await
        .unwrap();
    // 1b. KMS: a grant to a stranger (another account's role).
    aws.kms
        .create_grant()
        .key_id(attr(&l, "kms.s3", "key_id"))
        .grantee_principal("arn:aws:iam::999999999999:role/stranger")
        .operations(paysec_aws::sdk::kms::types::GrantOperation::Decrypt)
        .send()
        .await
        .unwrap();
    // 1c. KMS: the auditor makes itself an administrator of the log key
    // (a statement added to the live policy): KMS-3 compares with the
    // administrators `up` recorded, so a new one fails, whoever runs verify.
    let logs_key = attr(&l, "kms.logs", "key_id");
    let mut policy: Value = serde_json::from_str(
        aws.kms
            .get_key_policy()
            .key_id(&logs_key)
            .policy_name("default")
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap(),
    )
    .unwrap();
    policy["Statement"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "Sid": "SelfMadeAdministrator",
            "Effect": "Allow",
            "Principal": { "AWS": auditor.role_arn },
            "Action": ["kms:Put*", "kms:Disable*", "kms:ScheduleKeyDeletion"],
            "Resource": "*"
        }));
    aws.kms
        .put_key_policy()
        .key_id(&logs_key)
        .policy_name("default")
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
    // 2. S3: public access block removed.
    aws.s3
        .delete_public_access_block()
        .bucket(attr(&l, "s3.data", "name"))
        .send()
        .await
        .unwrap();
    // 3. S3: bucket policy removed.
    aws.s3
        .delete_bucket_policy()
        .bucket(attr(&l, "s3.flow-logs", "name"))
        .send()
        .await
        .unwrap();
    // 4. CloudWatch Logs: retention shortened.
    aws.logs
        .put_retention_policy()
        .log_group_name(attr(&l, "logs.lambda", "name"))
        .retention_in_days(30)
        .send()
        .await
        .unwrap();
    // 5. Network: a world-open rule on the DB security group.
    aws.ec2
        .authorize_security_group_ingress()
        .group_id(attr(&l, "network.sg-db", "physical_id"))
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(5432)
                .to_port(5432)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    // 6. Network: a rule on the VPC's default security group.
    aws.ec2
        .authorize_security_group_ingress()
        .group_id(attr(
            &l,
            "network.vpc-defaults",
            "default_security_group_id",
        ))
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/8").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    // 7. Network: public IPs on a subnet.
    aws.ec2
        .modify_subnet_attribute()
        .subnet_id(attr(&l, "network.subnet-b", "physical_id"))
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .unwrap();
    // 8. IAM: twelve-hour sessions.
    aws.iam
        .update_role()
        .role_name(attr(&l, "iam.lambda-exec", "physical_id"))
        .max_session_duration(43200)
        .send()
        .await
        .unwrap();
    // 9. IAM: an inline policy.
    aws.iam
        .put_role_policy()
        .role_name(attr(&l, "iam.flow-logs", "physical_id"))
        .policy_name("sneaky")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    // 9b. IAM: the audit role's generated external id swapped for one the
    // tamperer knows (the ledger recorded the generated one).
    let recorded_external_id = attr(&l, "iam.audit", "external_id");
    let audit_role = attr(&l, "iam.audit", "physical_id");
    swap_in_trust_policy(
        &aws,
        &audit_role,
        &recorded_external_id,
        "known-to-the-tamperer",
    )
    .await;
    // 9c. IAM: AdministratorAccess on the function's role (least
    // privilege), and the function's policy given to a user.
    aws.iam
        .attach_role_policy()
        .role_name(attr(&l, "iam.lambda-exec", "physical_id"))
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .unwrap();
    let intruder = format!("intruder-{}", p.env);
    aws.iam
        .create_user()
        .user_name(&intruder)
        .send()
        .await
        .unwrap();
    aws.iam
        .attach_user_policy()
        .user_name(&intruder)
        .policy_arn(attr(&l, "iam.lambda-exec-policy", "arn"))
        .send()
        .await
        .unwrap();
    // 9d. Lambda: other code of the very same size (one byte of the zip's
    // header changed) in $LATEST, out of band: the size says nothing, the
    // digest does (LAM-11; `live` still runs the release, LAM-9).
    let mut other_code = paysec_lambda::Code::example().zip;
    other_code[10] ^= 0x01;
    aws.lambda
        .update_function_code()
        .function_name(attr(&l, "lambda.function", "name"))
        .zip_file(paysec_aws::sdk::lambda::primitives::Blob::new(other_code))
        .send()
        .await
        .unwrap();
    // 9e. SQS: the dead-letter queue keeps events 4 days instead of 14.
    // (Its policy goes along unchanged: moto 5.2.5 drops a queue's policy
    // on any SetQueueAttributes without one; AWS keeps it.)
    use paysec_aws::sdk::sqs::types::QueueAttributeName;
    let dlq = attr(&l, "lambda.dlq", "url");
    let policy = aws
        .sqs
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(QueueAttributeName::Policy)
        .send()
        .await
        .unwrap()
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::Policy).cloned())
        .unwrap();
    aws.sqs
        .set_queue_attributes()
        .queue_url(&dlq)
        .attributes(QueueAttributeName::MessageRetentionPeriod, "345600")
        .attributes(QueueAttributeName::Policy, policy)
        .send()
        .await
        .unwrap();
    // 9f. S3: the flow-log bucket's Object Lock shortened to one day.
    aws.s3
        .put_object_lock_configuration()
        .bucket(attr(&l, "s3.flow-logs", "name"))
        .object_lock_configuration(
            paysec_aws::sdk::s3::types::ObjectLockConfiguration::builder()
                .object_lock_enabled(paysec_aws::sdk::s3::types::ObjectLockEnabled::Enabled)
                .rule(
                    paysec_aws::sdk::s3::types::ObjectLockRule::builder()
                        .default_retention(
                            paysec_aws::sdk::s3::types::DefaultRetention::builder()
                                .mode(
                                    paysec_aws::sdk::s3::types::ObjectLockRetentionMode::Governance,
                                )
                                .days(1)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    // 9g. SNS: the alarm topic's only subscriber unsubscribed: nobody
    // would hear an alarm.
    let topic = attr(&l, "monitoring.topic", "arn");
    let subs = aws
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    assert_eq!(subs.subscriptions().len(), 1, "the configured subscriber");
    aws.sns
        .unsubscribe()
        .subscription_arn(subs.subscriptions()[0].subscription_arn().unwrap())
        .send()
        .await
        .unwrap();
    // 9h. Lambda: a public entry, three times: a resource policy statement
    // any principal may invoke, another on an alias someone published (a
    // qualified ARN has a policy of its own), and a function URL without
    // authentication.
    let function = attr(&l, "lambda.function", "name");
    // Published out of band (an alias of its own beside paysec's `live`),
    // once Lambda has finished the code update of 9d.
    let mut tries = 0;
    let version = loop {
        match aws
            .lambda
            .publish_version()
            .function_name(&function)
            .send()
            .await
        {
            Ok(v) => break v,
            Err(e) => {
                tries += 1;
                assert!(tries < 20, "{e:?}");
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        }
    };
    aws.lambda
        .create_alias()
        .function_name(&function)
        .name("published")
        .function_version(version.version().unwrap())
        .send()
        .await
        .unwrap();
    aws.lambda
        .add_permission()
        .function_name(&function)
        .qualifier("published")
        .statement_id("anyone-live")
        .action("lambda:InvokeFunction")
        .principal("*")
        .send()
        .await
        .unwrap();
    aws.lambda
        .add_permission()
        .function_name(&function)
        .statement_id("anyone")
        .action("lambda:InvokeFunction")
        .principal("*")
        .send()
        .await
        .unwrap();
    aws.lambda
        .create_function_url_config()
        .function_name(&function)
        .auth_type(paysec_aws::sdk::lambda::types::FunctionUrlAuthType::None)
        .send()
        .await
        .unwrap();
    // 10. RDS: backups shortened.
    aws.rds
        .modify_db_instance()
        .db_instance_identifier(attr(&l, "rds.instance", "physical_id"))
        .backup_retention_period(1)
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    // 11b. RDS: the master password taken out of RDS's management (a
    // supplied one instead).
    aws.rds
        .modify_db_instance()
        .db_instance_identifier(attr(&l, "rds.instance", "physical_id"))
        .manage_master_user_password(false)
        .master_user_password("supplied-by-someone-1")
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    // 13. RDS: deletion protection turned off.
    aws.rds
        .modify_db_instance()
        .db_instance_identifier(attr(&l, "rds.instance", "physical_id"))
        .deletion_protection(false)
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    // 13b. RDS: a manual snapshot of the database; AWS refuses to make an
    // encrypted one public (the rules layer, as moto allows it). An
    // unencrypted or public one failing RDS-21:
    // faults::an_unencrypted_snapshot_and_a_short_log_prefix_fail_and_up_says_how_to_fix_them
    // and faults::a_public_snapshot_fails_and_up_makes_it_private.
    let snapshot = format!("{}-copy", attr(&l, "rds.instance", "physical_id"));
    aws.rds
        .create_db_snapshot()
        .db_instance_identifier(attr(&l, "rds.instance", "physical_id"))
        .db_snapshot_identifier(&snapshot)
        .send()
        .await
        .unwrap();
    let public = aws
        .rds
        .modify_db_snapshot_attribute()
        .db_snapshot_identifier(&snapshot)
        .attribute_name("restore")
        .values_to_add("all")
        .send()
        .await;
    assert!(
        format!("{public:?}").contains("InvalidParameterValue"),
        "{public:?}"
    );
    // 13c. RDS: TLS 1.0 allowed, pgaudit told to log nothing and not loaded.
    aws.rds
        .modify_db_parameter_group()
        .db_parameter_group_name(attr(&l, "rds.parameters", "physical_id"))
        .parameters(
            paysec_aws::sdk::rds::types::Parameter::builder()
                .parameter_name("ssl_min_protocol_version")
                .parameter_value("TLSv1")
                .apply_method(paysec_aws::sdk::rds::types::ApplyMethod::Immediate)
                .build(),
        )
        .parameters(
            paysec_aws::sdk::rds::types::Parameter::builder()
                .parameter_name("pgaudit.log")
                .parameter_value("none")
                .apply_method(paysec_aws::sdk::rds::types::ApplyMethod::Immediate)
                .build(),
        )
        .parameters(
            paysec_aws::sdk::rds::types::Parameter::builder()
                .parameter_name("shared_preload_libraries")
                .parameter_value("pg_stat_statements")
                .apply_method(paysec_aws::sdk::rds::types::ApplyMethod::PendingReboot)
                .build(),
        )
        .send()
        .await
        .unwrap();
    // 12. Monitoring: an alarm deleted.
    let alarm = attr(&l, "monitoring.alarm-dlq-not-empty", "physical_id");
    aws.cloudwatch
        .delete_alarms()
        .alarm_names(&alarm)
        .send()
        .await
        .unwrap();

    let junit = p.dir.path().join("evidence.xml");
    let as_json = p.dir.path().join("evidence.json");
    let tampered = p.run(&[
        "verify",
        "--output",
        "json",
        "--report",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(tampered.code(), 6, "verify exits 6 on failing controls");
    p.run(&["verify", "--report", as_json.to_str().unwrap()]);
    let tampered = tampered.json();
    let got = failing(&tampered);
    let (_, _, exposed) = found_in(&tampered, "LAM-10", "lambda.function");
    assert!(
        exposed.contains("anyone (\"*\")") && exposed.contains("anyone-live (\"*\") on :live"),
        "the function's and the alias's policies quoted: {exposed}"
    );
    // The same findings in the JSON report and, read by a JUnit consumer
    // (junitparser), one test case per finding, each FAIL a failure.
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&as_json).unwrap()).unwrap();
    assert_eq!(failing(&saved), got, "the .json report holds the findings");
    let (cases, junit_fails) = read_by_consumer(
        "import sys, junitparser\n\
         x = junitparser.JUnitXml.fromfile(sys.argv[1])\n\
         cases = [c for s in x for c in s]\n\
         fails = sorted(c.classname + ' ' + c.name.split(' ')[0] for c in cases if any(isinstance(r, junitparser.Failure) for r in c.result))\n\
         print(len(cases)); print('\\n'.join(fails))",
        &junit,
    );
    assert_eq!(
        cases,
        tampered["summary"]["total"].as_u64().unwrap(),
        "one JUnit test case per finding"
    );
    assert_eq!(junit_fails, got, "each FAIL is a JUnit failure");
    // SARIF 2.1.0, read by a real consumer's parser (sarif-pydantic, which
    // validates the log against the specification's types): one result
    // per finding, each FAIL a `fail` result at level `error`.
    let sarif = p.dir.path().join("evidence.sarif");
    p.run(&["verify", "--report", sarif.to_str().unwrap()]);
    let (results, sarif_fails) = read_by_consumer(
        "import sys, sarif_pydantic\n\
         log = sarif_pydantic.load(sys.argv[1])\n\
         run = log.runs[0]\n\
         assert log.version == '2.1.0', log.version\n\
         print(len(run.results))\n\
         for r in run.results:\n\
         \x20   if r.kind == 'fail':\n\
         \x20       assert r.level.value == 'error', r\n\
         \x20       print(r.rule_id, r.locations[0].logical_locations[0].name)",
        &sarif,
    );
    assert_eq!(
        results,
        tampered["summary"]["total"].as_u64().unwrap(),
        "one SARIF result per finding"
    );
    assert_eq!(sarif_fails, got, "each FAIL is a SARIF fail result");
    // HTML, opened in a real headless browser: it renders, the picture of
    // the environment is there with the tampered resources in the failing
    // color, and the FAILs are shown.
    let page = p.dir.path().join("evidence.html");
    p.run(&["verify", "--report", page.to_str().unwrap()]);
    let (dom, screenshot) = headless_chromium(&page, p.dir.path());
    assert!(
        dom.contains("<svg id=\"environment\""),
        "the picture is there"
    );
    for (control, resource) in &got {
        assert!(
            dom.contains(&format!(
                "<g class=\"node fail\" data-resource=\"{resource}\">"
            )),
            "{resource} drawn as failing"
        );
        assert!(
            dom.contains(&format!("{control} {resource}")),
            "{control} {resource} listed as failing"
        );
    }
    assert!(
        dom.contains("<p id=\"failing\">"),
        "the FAILs are stated at the top"
    );
    assert!(dom.contains("class=\"verdict v-FAIL\">FAIL<"));
    assert!(
        screenshot > 20_000,
        "a rendered page, not a blank one: {screenshot} bytes"
    );
    let bad = p.run(&["verify", "--report", "evidence.sarif.txt"]);
    assert_eq!(
        bad.code(),
        2,
        "an unknown report format is a usage error: {}",
        bad.stderr()
    );
    let want: BTreeSet<(String, String)> = [
        ("KMS-2", "kms.s3"),
        ("KMS-5", "kms.s3"),
        ("KMS-3", "kms.logs"),
        ("S3-3", "s3.data"),
        ("S3-5", "s3.flow-logs"),
        ("S3-8", "s3.flow-logs"),
        ("SQS-3", "lambda.dlq"),
        ("LOG-5", "logs.lambda"),
        ("NET-10", "network.sg-rules"),
        ("NET-8", "network.vpc-defaults"),
        ("NET-3", "network.subnet-b"),
        ("IAM-1", "iam.lambda-exec"),
        ("IAM-3", "iam.flow-logs"),
        ("IAM-2", "iam.audit"),
        ("IAM-4", "iam.lambda-exec"),
        ("IAM-6", "iam.lambda-exec-policy"),
        ("LAM-11", "lambda.function"),
        ("LAM-10", "lambda.function"),
        ("MON-8", "monitoring.topic"),
        ("RDS-9", "rds.instance"),
        ("RDS-22", "rds.parameters"),
        ("RDS-23", "rds.parameters"),
        ("RDS-24", "rds.parameters"),
        ("RDS-12", "rds.instance"),
        ("RDS-20", "rds.instance"),
        // No secret managed by RDS any more: none rotating either.
        ("RDS-26", "rds.instance"),
        ("MON-5", "monitoring.alarm-dlq-not-empty"),
        ("MON-6", "monitoring.alarm-dlq-not-empty"),
        ("MON-7", "monitoring.alarm-dlq-not-empty"),
    ]
    .into_iter()
    .map(|(c, r)| (c.to_owned(), r.to_owned()))
    .collect();
    assert_eq!(got, want, "verify fails exactly the tampered controls");

    // With --no-refresh, what converged before gets its quick check only:
    // the deleted alarm and the drift those checks' single calls carry (log
    // retention, a subnet's public IPs, the RDS instance, which one
    // DescribeDBInstances describes whole, the rule sets, read in full by
    // design, the queue's attributes) are seen; the key's rotation is not,
    // nor code staged in the function's $LATEST out of band: its quick
    // check reads what `live` runs, which did not change.
    let quick = p
        .run(&["plan", "--no-refresh", "--output", "json"])
        .success()
        .json();
    assert_eq!(
        (&quick["summary"]["create"], &quick["summary"]["repair"]),
        (&Value::from(1), &Value::from(8)),
        "quick plan: {}",
        quick["summary"]
    );
    let key = quick["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "kms.s3")
        .unwrap();
    assert_eq!(
        (&key["action"], &key["properties_read"]),
        (&Value::from("no_change"), &Value::from(false))
    );
    // A plain plan reads every property.
    let plan = p.run(&["plan", "--output", "json"]).success().json();
    // Seventeen tampered resources (the function's concurrency is not among
    // them: a new account has no room to reserve any).
    assert_eq!(
        plan["summary"]["repair"], 17,
        "plan shows every repair: {}",
        plan["summary"]
    );
    assert_eq!(
        plan["summary"]["create"], 1,
        "and the deleted alarm's recreation"
    );

    // A plain up repairs it all (enforcing is the default).
    let up = p.run(&["up", "--yes", "--output", "json"]).success().json();
    assert_eq!(
        up["outcomes"]["monitoring.alarm-dlq-not-empty"], "created",
        "a deleted resource is recreated"
    );
    assert_eq!(
        up["outcomes"]["kms.s3"], "repaired",
        "drift repaired in place, not recreated"
    );
    assert_eq!(
        attr(&p.ledger(), "kms.s3", "key_id"),
        attr(&l, "kms.s3", "key_id"),
        "same key after repair"
    );
    let after = p.run(&["verify", "--allow-unknown", "--output", "json"]);
    assert_eq!(
        after.code(),
        0,
        "verify passes after up repaired everything: {:?}",
        failing(&after.json())
    );
    // The repair closed the public entries and subscribed the address
    // again; the snapshot is listed, encrypted and private.
    let (verdict, _, observed) = found_in(&after.json(), "RDS-21", "rds.instance");
    assert_eq!(verdict, "PASS");
    assert!(
        observed.contains(&format!("{snapshot} (manual)")),
        "{observed}"
    );
    let url = aws
        .lambda
        .get_function_url_config()
        .function_name(&function)
        .send()
        .await;
    assert!(
        url.is_err_and(|e| e.into_service_error().is_resource_not_found_exception()),
        "the unauthenticated URL is gone"
    );
    let live_policy = aws
        .lambda
        .get_policy()
        .function_name(&function)
        .qualifier("published")
        .send()
        .await;
    assert!(
        live_policy.map_or(true, |p| !p
            .policy()
            .unwrap_or_default()
            .contains("anyone-live")),
        "the alias's public statement is gone"
    );
    let (verdict, _, observed) = found_in(&after.json(), "MON-8", "monitoring.topic");
    assert_eq!(verdict, "PASS");
    assert!(
        observed.starts_with(&format!("confirmed: email:{}", crate::support::ALARM_EMAIL)),
        "{observed}"
    );
    // An internet gateway someone attached to the VPC: verify fails the
    // boundary, and up refuses to go on (paysec did not make it, so it
    // does not delete it) until it is gone.
    let vpc = attr(&l, "network.vpc", "physical_id");
    let igw = aws
        .ec2
        .create_internet_gateway()
        .send()
        .await
        .unwrap()
        .internet_gateway()
        .unwrap()
        .internet_gateway_id()
        .unwrap()
        .to_owned();
    once_visible(|| {
        aws.ec2
            .attach_internet_gateway()
            .internet_gateway_id(&igw)
            .vpc_id(&vpc)
            .send()
    })
    .await;
    // ... a default route to it in the VPC's main route table (not
    // paysec's), a peering with another VPC, and a public address on a
    // network interface in a private subnet.
    let main_table = aws
        .ec2
        .describe_route_tables()
        .filters(ec2_filter("vpc-id", &vpc))
        .filters(ec2_filter("association.main", "true"))
        .send()
        .await
        .unwrap()
        .route_tables()[0]
        .route_table_id()
        .unwrap()
        .to_owned();
    once_visible(|| {
        aws.ec2
            .create_route()
            .route_table_id(&main_table)
            .destination_cidr_block("0.0.0.0/0")
            .gateway_id(&igw)
            .send()
    })
    .await;
    let other_vpc = aws
        .ec2
        .create_vpc()
        .cidr_block("10.99.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_owned();
    let peering = once_visible(|| {
        aws.ec2
            .create_vpc_peering_connection()
            .vpc_id(&vpc)
            .peer_vpc_id(&other_vpc)
            .send()
    })
    .await
    .vpc_peering_connection()
    .unwrap()
    .vpc_peering_connection_id()
    .unwrap()
    .to_owned();
    let eni = aws
        .ec2
        .create_network_interface()
        .subnet_id(attr(&l, "network.subnet-a", "physical_id"))
        .send()
        .await
        .unwrap()
        .network_interface()
        .unwrap()
        .network_interface_id()
        .unwrap()
        .to_owned();
    let eip = aws
        .ec2
        .allocate_address()
        .domain(paysec_aws::sdk::ec2::types::DomainType::Vpc)
        .send()
        .await
        .unwrap();
    let association = once_visible(|| {
        aws.ec2
            .associate_address()
            .allocation_id(eip.allocation_id().unwrap())
            .network_interface_id(&eni)
            .send()
    })
    .await;
    let open = p.run(&["verify", "--allow-unknown", "--output", "json"]);
    assert_eq!(open.code(), 6);
    let (verdict, _, observed) = found_in(&open.json(), "NET-21", "network.vpc");
    assert_eq!(verdict, "FAIL");
    assert!(
        observed.contains(&format!("{igw} (internet gateway)")),
        "{observed}"
    );
    // Each side of the boundary fails on its own, naming what it found.
    for (control, found) in [
        ("NET-22", vec![peering.as_str()]),
        ("NET-23", vec![main_table.as_str(), igw.as_str()]),
        ("NET-24", vec![eni.as_str()]),
    ] {
        let (verdict, _, observed) = found_in(&open.json(), control, "network.vpc");
        assert_eq!(verdict, "FAIL", "{control}: {observed}");
        assert!(
            found.iter().all(|f| observed.contains(f)),
            "{control} names {found:?}: {observed}"
        );
    }
    let refused = p.run(&["up", "--yes"]);
    assert_ne!(refused.code(), 0);
    assert!(
        refused.stderr().contains(&igw)
            && refused
                .stderr()
                .contains("does not delete what it cannot prove it made"),
        "{}",
        refused.stderr()
    );
    aws.ec2
        .disassociate_address()
        .association_id(association.association_id().unwrap())
        .send()
        .await
        .unwrap();
    aws.ec2
        .release_address()
        .allocation_id(eip.allocation_id().unwrap())
        .send()
        .await
        .unwrap();
    aws.ec2
        .delete_network_interface()
        .network_interface_id(&eni)
        .send()
        .await
        .unwrap();
    aws.ec2
        .delete_vpc_peering_connection()
        .vpc_peering_connection_id(&peering)
        .send()
        .await
        .unwrap();
    aws.ec2
        .delete_vpc()
        .vpc_id(&other_vpc)
        .send()
        .await
        .unwrap();
    aws.ec2
        .delete_route()
        .route_table_id(&main_table)
        .destination_cidr_block("0.0.0.0/0")
        .send()
        .await
        .unwrap();
    aws.ec2
        .detach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    aws.ec2
        .delete_internet_gateway()
        .internet_gateway_id(&igw)
        .send()
        .await
        .unwrap();
    let closed = p.run(&["verify", "--allow-unknown", "--output", "json"]);
    assert_eq!(closed.code(), 0, "{:?}", failing(&closed.json()));
    let (_, _, observed) = found_in(&closed.json(), "NET-23", "network.vpc");
    assert!(
        observed.contains("every route local or to a VPC endpoint"),
        "{observed}"
    );
    // The repair detached what least privilege refused.
    let extra = aws
        .iam
        .list_attached_user_policies()
        .user_name(&intruder)
        .send()
        .await
        .unwrap();
    assert!(
        extra.attached_policies().is_empty(),
        "detached from the user"
    );
    aws.iam
        .delete_user()
        .user_name(&intruder)
        .send()
        .await
        .unwrap();
    // Protected: down is refused before anything is deleted, and goes
    // through only when told to turn the protection off.
    let ledger_before = std::fs::read_to_string(p.ledger_path()).unwrap();
    let refused = p.run(&["down", "--yes"]);
    assert_eq!(refused.code(), 2, "{}", refused.stderr());
    assert!(
        refused.stderr().contains("is protected")
            && refused
                .stderr()
                .contains("paysec down --disable-deletion-protection"),
        "{}",
        refused.stderr()
    );
    assert_eq!(
        std::fs::read_to_string(p.ledger_path()).unwrap(),
        ledger_before,
        "nothing was deleted"
    );
    p.run(&["down", "--yes", "--disable-deletion-protection"])
        .success();
}

/// Opens `page` in headless Chromium (Debian's `chromium`, installed by
/// `.ci/run`): the DOM after rendering, and the size of a screenshot.
/// Fails, saying how to install it, when there is no Chromium.
pub(crate) fn headless_chromium(
    page: &std::path::Path,
    scratch: &std::path::Path,
) -> (String, u64) {
    let browser = crate::support::chromium();
    let url = format!("file://{}", page.display());
    let profile = scratch.join("chromium-profile");
    // No background connections: a closed network refuses them, many at
    // a time, and the page needs none.
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--window-size=1600,1200",
    ];
    let run = |extra: &[String]| {
        let out = std::process::Command::new(browser)
            .args(flags)
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(&url)
            .output()
            .expect("run chromium");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let dom = run(&["--dump-dom".to_owned()]);
    let png = scratch.join("evidence.png");
    run(&[format!("--screenshot={}", png.display())]);
    let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
    (dom, size)
}

/// Runs `script` (Python, in the test venv that holds the reports' real
/// consumers) on `report`: it prints how many entries it read, then one
/// "CONTROL RESOURCE" line per failing one.
fn read_by_consumer(script: &str, report: &std::path::Path) -> (u64, BTreeSet<(String, String)>) {
    let out = std::process::Command::new(emulator_python())
        .args(["-c", script, report.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines();
    let count = lines.next().unwrap().parse::<u64>().unwrap();
    let fails = lines
        .map(|l| {
            let (c, r) = l.split_once(' ').unwrap();
            (c.to_owned(), r.to_owned())
        })
        .collect();
    (count, fails)
}

/// The prerequisites of a `verify --output json` run, by id:
/// (status, observed).
fn prerequisites(report: &Value) -> std::collections::BTreeMap<String, (String, String)> {
    report["prerequisites"]
        .as_array()
        .expect("prerequisites")
        .iter()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
            (s("id"), (s("status"), s("observed")))
        })
        .collect()
}

/// The account-wide services are read live in an account of their own
/// (their state is the whole account's): an empty account meets none but
/// the root's keys, each NOT_MET naming what AWS answered and the fix;
/// once a trail logs S3 data events, GuardDuty and a Config recorder run
/// and the account's public access block is on, each is MET quoting the
/// live values; a trail narrowed to another bucket does not cover the
/// stack's, one for every object does; a root user with MFA and keys
/// (IAM's answer rewritten: only the root can change either) meets ACC-6
/// and fails ACC-7. The controls' summary never counts them (and `verify_detects_each_tampering_and_up_repairs_it` exits 0
/// with the suite's account meeting few of them).
#[tokio::test(flavor = "multi_thread")]
async fn owner_prerequisites_are_read_live_apart_from_the_controls() {
    use paysec_aws::sdk::{cloudtrail, config, guardduty, s3, s3control};
    const ACCOUNT: &str = "333333333333";
    let owner = crate::support::identity_in_account(ACCOUNT, "AccountOwner").await;
    let sdk = crate::support::sdk_config_as(&owner).await;
    // The keys name the role behind the session, which
    // `identity_in_account` made, as administrator. No database: this
    // account's environment is only here to have buckets.
    let p = Paysec::new("prereq")
        .with_var("AWS_ACCESS_KEY_ID", &owner.access_key_id)
        .with_var("AWS_SECRET_ACCESS_KEY", &owner.secret_access_key)
        .with_var("AWS_SESSION_TOKEN", &owner.session_token)
        .with_var("PAYSEC_RDS_ENABLED", "false");
    let verify = || p.run(&["verify", "--output", "json"]);
    let before = verify();
    let report = before.json();
    assert_eq!(report["account"], ACCOUNT, "{}", before.stderr());
    let found = prerequisites(&report);
    let status = |f: &std::collections::BTreeMap<String, (String, String)>, id: &str| {
        f.get(id)
            .unwrap_or_else(|| panic!("no {id}: {f:?}"))
            .clone()
    };
    assert_eq!(
        status(&found, "ACC-1"),
        ("NOT_MET".into(), "DescribeTrails: no trail".into())
    );
    assert_eq!(
        status(&found, "ACC-2").0,
        "UNREAD",
        "no bucket built yet: {found:?}"
    );
    assert_eq!(status(&found, "ACC-3").0, "NOT_MET");
    assert!(
        status(&found, "ACC-3").1.contains("no detector"),
        "{found:?}"
    );
    assert_eq!(status(&found, "ACC-4").0, "NOT_MET");
    assert!(
        status(&found, "ACC-5")
            .1
            .contains("NoSuchPublicAccessBlockConfiguration"),
        "{found:?}"
    );
    assert_eq!(
        status(&found, "ACC-6"),
        (
            "NOT_MET".into(),
            "GetAccountSummary: AccountMFAEnabled = 0".into()
        )
    );
    assert_eq!(
        status(&found, "ACC-7"),
        (
            "MET".into(),
            "GetAccountSummary: AccountAccessKeysPresent = 0".into()
        )
    );
    let acc1 = report["prerequisites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "ACC-1")
        .unwrap();
    assert!(acc1["fix"]
        .as_str()
        .unwrap()
        .contains("--enable-log-file-validation"));
    assert!(
        !acc1["reads"].as_array().unwrap().is_empty(),
        "each prerequisite names the calls it was read from"
    );
    let counted: u64 = ["pass", "fail", "not_applicable", "unknown", "deviation"]
        .iter()
        .map(|k| report["summary"][k].as_u64().unwrap())
        .sum();
    assert_eq!(counted, report["summary"]["total"].as_u64().unwrap());
    assert_eq!(report["prerequisites_summary"]["met"], 1);

    // The owner turns the services on, as the fixes say.
    let bucket = "owner-trail-logs";
    let s3 = s3::Client::from_conf(
        s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("trail bucket");
    let trails = cloudtrail::Client::new(&sdk);
    trails
        .create_trail()
        .name("account-trail")
        .s3_bucket_name(bucket)
        .is_multi_region_trail(true)
        .enable_log_file_validation(true)
        .send()
        .await
        .expect("create trail");
    trails
        .start_logging()
        .name("account-trail")
        .send()
        .await
        .expect("start logging");
    let s3_objects = |starts_with: Option<&str>| {
        let mut fields = vec![
            cloudtrail::types::AdvancedFieldSelector::builder()
                .field("eventCategory")
                .equals("Data")
                .build()
                .unwrap(),
            cloudtrail::types::AdvancedFieldSelector::builder()
                .field("resources.type")
                .equals("AWS::S3::Object")
                .build()
                .unwrap(),
        ];
        if let Some(prefix) = starts_with {
            fields.push(
                cloudtrail::types::AdvancedFieldSelector::builder()
                    .field("resources.ARN")
                    .starts_with(prefix)
                    .build()
                    .unwrap(),
            );
        }
        cloudtrail::types::AdvancedEventSelector::builder()
            .name("S3 data events")
            .set_field_selectors(Some(fields))
            .build()
            .unwrap()
    };
    trails
        .put_event_selectors()
        .trail_name("account-trail")
        .advanced_event_selectors(s3_objects(Some("arn:aws:s3:::another-bucket/")))
        .send()
        .await
        .expect("event selectors");
    let detector = guardduty::Client::new(&sdk)
        .create_detector()
        .enable(true)
        .send()
        .await
        .expect("detector");
    let recorders = config::Client::new(&sdk);
    recorders
        .put_configuration_recorder()
        .configuration_recorder(
            config::types::ConfigurationRecorder::builder()
                .name("default")
                .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/config"))
                .recording_group(
                    config::types::RecordingGroup::builder()
                        .all_supported(true)
                        .include_global_resource_types(true)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("recorder");
    recorders
        .put_delivery_channel()
        .delivery_channel(
            config::types::DeliveryChannel::builder()
                .name("default")
                .s3_bucket_name(bucket)
                .build(),
        )
        .send()
        .await
        .expect("delivery channel");
    recorders
        .start_configuration_recorder()
        .configuration_recorder_name("default")
        .send()
        .await
        .expect("start recorder");
    let control = s3control::Client::from_conf(
        s3control::config::Builder::from(&sdk)
            .endpoint_resolver(paysec_aws::emulator::S3ControlOnEmulator {
                url: crate::support::endpoint(),
            })
            .build(),
    );
    control
        .put_public_access_block()
        .account_id(ACCOUNT)
        .public_access_block_configuration(
            s3control::types::PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .expect("account public access block");

    // The stack's buckets are not built in this account: verify reads the
    // data events for none, and the trail itself is judged.
    let after = prerequisites(&verify().json());
    let trail_arn = format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/account-trail");
    assert_eq!(
        status(&after, "ACC-1"),
        (
            "MET".into(),
            format!("{trail_arn}: IsMultiRegionTrail true, LogFileValidationEnabled true, IsLogging true")
        )
    );
    let detector_id = detector.detector_id().unwrap();
    assert_eq!(
        status(&after, "ACC-3"),
        (
            "MET".into(),
            format!("detector {detector_id}: Status ENABLED")
        )
    );
    assert_eq!(status(&after, "ACC-4").0, "MET", "{after:?}");
    assert!(status(&after, "ACC-4")
        .1
        .contains("recorder default: recording true"));
    assert_eq!(
        status(&after, "ACC-5"),
        (
            "MET".into(),
            format!("account {ACCOUNT}: BlockPublicAcls true, IgnorePublicAcls true, BlockPublicPolicy true, RestrictPublicBuckets true")
        )
    );

    // Data events on the stack's buckets: the data bucket of an
    // environment built here, which the trail narrowed to another bucket
    // does not cover; then a selector for every object does.
    let up = p.run(&["up", "--yes", "--output", "json"]);
    assert_eq!(up.code(), 0, "{}", up.stderr());
    let narrowed = prerequisites(&p.run(&["verify", "--output", "json"]).json());
    let (state, observed) = status(&narrowed, "ACC-2");
    assert_eq!(state, "NOT_MET", "{observed}");
    assert!(observed.contains(": none"), "{observed}");
    trails
        .put_event_selectors()
        .trail_name("account-trail")
        .advanced_event_selectors(s3_objects(None))
        .send()
        .await
        .expect("event selectors");
    let covered = prerequisites(&p.run(&["verify", "--output", "json"]).json());
    let (state, observed) = status(&covered, "ACC-2");
    assert_eq!(state, "MET", "{observed}");
    assert!(
        observed.contains(&format!("read and write (by {trail_arn})")),
        "{observed}"
    );

    // The root user: only the root user can add its MFA device or create
    // its access keys (no API call of an IAM principal does), and moto
    // answers both as 0 whatever happens. The opposite answers, as IAM
    // would give them for a root with MFA and keys, through a proxy:
    // ACC-6 met, ACC-7 not, with how to delete the keys.
    let proxy = paysec_testkit::FaultProxy::start(&crate::support::endpoint())
        .await
        .unwrap();
    let entry = |key: &str, v: u8| format!("<key>{key}</key><value>{v}</value>");
    for key in ["AccountMFAEnabled", "AccountAccessKeysPresent"] {
        proxy.rewrite_answers("GetAccountSummary", &entry(key, 0), &entry(key, 1));
    }
    let root = p.run(&["--endpoint-url", &proxy.url(), "verify", "--output", "json"]);
    let report = root.json();
    let found = prerequisites(&report);
    assert_eq!(
        status(&found, "ACC-6"),
        (
            "MET".into(),
            "GetAccountSummary: AccountMFAEnabled = 1".into()
        )
    );
    assert_eq!(
        status(&found, "ACC-7"),
        (
            "NOT_MET".into(),
            "GetAccountSummary: AccountAccessKeysPresent = 1".into()
        )
    );
    let acc7 = report["prerequisites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "ACC-7")
        .unwrap();
    assert!(!acc7["fix"].as_str().unwrap_or("").is_empty(), "{acc7}");
    let down = p.run(&["down", "--yes"]);
    assert_eq!(down.code(), 0, "{}", down.stderr());
}

/// An alarm address is a subscriber only once its recipient follows SNS's
/// link: until then AWS lists the subscription `PendingConfirmation` (the
/// rules layer keeps it so; moto would confirm it at once), MON-8 fails
/// naming the pending address and how to fix it, `up` does not subscribe it
/// twice, a wrong token is refused, and the emailed token confirms it.
#[tokio::test]
async fn an_alarm_address_counts_once_its_recipient_confirms() {
    let address = "payments-oncall@example.com";
    let p = Paysec::new("confirm")
        .with_var("PAYSEC_RDS_ENABLED", "false")
        .with_var("PAYSEC_LAMBDA_ENABLED", "false")
        .with_var(crate::support::ALARM_EMAILS, address);
    let aws = aws().await;
    p.run(&["up", "--yes"]).success();
    let topic = attr(&p.ledger(), "monitoring.topic", "arn");
    let pending = p.run(&["verify", "--allow-unknown", "--output", "json"]);
    assert_ne!(pending.code(), 0, "a FAIL: {}", pending.stderr());
    let (verdict, expected, observed) = found_in(&pending.json(), "MON-8", "monitoring.topic");
    assert_eq!(verdict, "FAIL");
    assert_eq!(
        observed,
        format!("none confirmed (pending confirmation: email:{address})")
    );
    assert!(expected.contains("follow the link"), "{expected}");
    // Pending is not missing: a second up subscribes nobody again.
    let again = p.run(&["up", "--yes", "--output", "json"]).success().json();
    assert_eq!(
        again["outcomes"]["monitoring.topic"], "unchanged",
        "{again}"
    );
    let mail: Vec<_> = crate::support::mailbox()
        .into_iter()
        .filter(|c| c.topic_arn == topic)
        .collect();
    assert_eq!(mail.len(), 1, "one confirmation sent: {mail:?}");
    assert_eq!(mail[0].endpoint, address);
    let wrong = aws
        .sns
        .confirm_subscription()
        .topic_arn(&topic)
        .token("0123456789abcdef")
        .send()
        .await;
    assert!(
        wrong.is_err_and(|e| e.into_service_error().is_invalid_parameter_exception()),
        "a token SNS did not send is refused"
    );
    aws.sns
        .confirm_subscription()
        .topic_arn(&topic)
        .token(&mail[0].token)
        .send()
        .await
        .expect("the emailed token confirms");
    let confirmed = p
        .run(&["verify", "--allow-unknown", "--output", "json"])
        .json();
    let (verdict, _, observed) = found_in(&confirmed, "MON-8", "monitoring.topic");
    assert_eq!(verdict, "PASS", "{observed}");
    assert_eq!(observed, format!("confirmed: email:{address}"));
}

/// External ids are shown only by the hand-over to the auditor (`paysec
/// output audit_role_external_id`); everywhere else (`up -v`, `plan`'s
/// drift lines and `--out` file, `verify`'s JSON and report files, its raw
/// answers, `output` of every output, `status`) they are replaced by a
/// digest, the same for the same id, so a changed id still shows as
/// changed.
#[tokio::test]
async fn external_ids_are_shown_only_by_the_hand_over() {
    let p = Paysec::new("xid")
        .with_var("PAYSEC_RDS_ENABLED", "false")
        .with_var("PAYSEC_LAMBDA_ENABLED", "false")
        .with_var("PAYSEC_IAM_AUDIT_TRUSTED_ACCOUNT", "210987654321");
    let up = p.run(&["-v", "up", "--yes"]);
    assert_eq!(up.code(), 0, "{}", up.stderr());
    let id = p
        .run(&["output", "audit_role_external_id", "--raw"])
        .success()
        .stdout()
        .trim()
        .to_owned();
    assert!(id.len() >= 16, "the hand-over shows the id: {id:?}");
    let digest = paysec_core::shown::digest_of(&id);
    // Someone swaps the id in AWS for one they know: drift, shown by
    // digests on both sides.
    let known = "tampered-external-id-0001";
    let role = attr(&p.ledger(), "iam.audit", "physical_id");
    swap_in_trust_policy(&aws().await, &role, &id, known).await;
    let dir = tempfile::tempdir().unwrap();
    let plan_file = dir.path().join("plan.json");
    let plan = p.run(&["-v", "plan", "--out", plan_file.to_str().unwrap()]);
    let report = dir.path().join("evidence.md");
    let verify = p.run(&["verify", "--report", report.to_str().unwrap()]);
    let verify_json = p.run(&["--output", "json", "verify"]);
    let mut shown = vec![
        ("up -v", up.stdout() + &up.stderr()),
        ("plan -v", plan.stdout() + &plan.stderr()),
        ("verify", verify.stdout() + &verify.stderr()),
        ("verify --output json", verify_json.stdout()),
        ("output", p.run(&["output"]).stdout()),
        (
            "output json",
            p.run(&["--output", "json", "output"]).stdout(),
        ),
        ("status", p.run(&["status"]).stdout()),
    ];
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        shown.push(("a file", std::fs::read_to_string(&path).unwrap()));
    }
    for (what, text) in &shown {
        assert!(!text.contains(&id), "{what} shows the external id: {text}");
        assert!(!text.contains(known), "{what} shows the swapped id: {text}");
    }
    let all: String = shown.iter().map(|(_, t)| t.as_str()).collect();
    assert!(
        all.contains(&digest),
        "the id's digest stands for it: {all}"
    );
    assert!(
        all.contains(&paysec_core::shown::digest_of(known)),
        "the swapped id shows as another digest"
    );
    p.run(&["up", "--yes"]).success();
    p.run(&["down", "--yes", "--purge-audit-logs"]).success();
}

/// `from` replaced by `to` in `role`'s trust policy, as someone allowed to
/// change it would (IAM answers the document URL-encoded).
async fn swap_in_trust_policy(aws: &paysec_aws::Aws, role: &str, from: &str, to: &str) {
    let trust = aws
        .iam
        .get_role()
        .role_name(role)
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .assume_role_policy_document()
        .unwrap()
        .to_owned();
    let trust = paysec_core::policy_doc::parse(&trust)
        .to_string()
        .replace(from, to);
    aws.iam
        .update_assume_role_policy()
        .role_name(role)
        .policy_document(trust)
        .send()
        .await
        .unwrap();
}

//! The four customer-managed keys: every KMS property of controls.md read
//! back from the emulator, a no-op second `up`, adoption after a lost
//! ledger, and `down` leaving only keys pending deletion.

use aws_sdk_kms::types::{KeyManagerType, KeySpec, KeyState, KeyUsageType};
use paysec_aws::tagged_arns;
use paysec_core::policy_doc::strings;
use paysec_core::LogicalId;
use serde_json::Value;

use crate::support::{aws, sso, Paysec};

const KEYS: [(&str, &str); 4] = [
    ("kms.rds", "rds"),
    ("kms.s3", "s3"),
    ("kms.logs", "logs"),
    ("kms.lambda", "lambda"),
];

fn statement<'a>(policy: &'a Value, sid: &str) -> &'a Value {
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == sid)
        .unwrap_or_else(|| panic!("no statement {sid} in {policy:#}"))
}

async fn tagged_keys(env: &str) -> Vec<String> {
    let aws = aws().await;
    tagged_arns(
        &aws.tagging,
        env,
        None,
        Some("kms:key"),
        &LogicalId::new("test"),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn up_creates_four_keys_to_their_controls_then_is_a_no_op_and_down_schedules_deletion() {
    let p = Paysec::new("kms");
    let aws = aws().await;
    p.run(&["up", "--yes"]).success();

    let ledger = p.ledger();
    assert_eq!(
        ledger["schema"],
        paysec_core::ledger::SCHEMA,
        "ledger schema"
    );
    for (id, purpose) in KEYS {
        let key_id = ledger["resources"][id]["physical_id"]
            .as_str()
            .unwrap_or_else(|| panic!("{id} in ledger"));
        let meta = aws.kms.describe_key().key_id(key_id).send().await.unwrap();
        let meta = meta.key_metadata().unwrap();
        assert_eq!(
            meta.key_manager(),
            Some(&KeyManagerType::Customer),
            "{id}: customer managed"
        );
        assert_eq!(
            meta.key_spec(),
            Some(&KeySpec::SymmetricDefault),
            "{id}: symmetric"
        );
        assert_eq!(
            meta.key_usage(),
            Some(&KeyUsageType::EncryptDecrypt),
            "{id}: encrypt/decrypt"
        );
        assert_eq!(meta.key_state(), Some(&KeyState::Enabled), "{id}: enabled");

        let rotation = aws
            .kms
            .get_key_rotation_status()
            .key_id(key_id)
            .send()
            .await
            .unwrap();
        assert!(
            rotation.key_rotation_enabled(),
            "{id}: automatic rotation enabled"
        );

        let alias = format!("alias/paysec-{}-{purpose}", p.env);
        let aliases = aws.kms.list_aliases().key_id(key_id).send().await.unwrap();
        assert!(
            aliases
                .aliases()
                .iter()
                .any(|a| a.alias_name() == Some(alias.as_str())),
            "{id}: alias {alias}"
        );

        let tags = aws
            .kms
            .list_resource_tags()
            .key_id(key_id)
            .send()
            .await
            .unwrap();
        let tag = |k: &str| {
            tags.tags()
                .iter()
                .find(|t| t.tag_key() == k)
                .map(|t| t.tag_value().to_owned())
        };
        assert_eq!(
            tag("paysec:environment").as_deref(),
            Some(p.env.as_str()),
            "{id}: environment tag"
        );
        assert_eq!(
            tag("paysec:logical-id").as_deref(),
            Some(id),
            "{id}: logical-id tag"
        );

        let policy = aws
            .kms
            .get_key_policy()
            .key_id(key_id)
            .policy_name("default")
            .send()
            .await
            .unwrap();
        let policy: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
        // No kms:* for anyone but the account root.
        for st in policy["Statement"].as_array().unwrap() {
            let actions = strings(&st["Action"]);
            if actions.iter().any(|a| a == "kms:*" || a == "*") {
                assert_eq!(
                    st["Principal"]["AWS"], "arn:aws:iam::123456789012:root",
                    "{id}: kms:* only for root"
                );
            }
        }
        // Separation of duties: the administrators cannot use the key.
        let admin = statement(&policy, "KeyAdministrationOnly");
        // The caller is an IAM Identity Center session: its administrator
        // is the role's real ARN, path included (KMS refuses any other).
        assert_eq!(
            strings(&admin["Principal"]["AWS"]),
            [sso().role_arn.clone()],
            "{id}: the SSO role administers the key"
        );
        let admin_actions = strings(&admin["Action"]);
        for crypto in [
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:GenerateDataKey",
            "kms:ReEncrypt*",
            "kms:CreateGrant",
        ] {
            assert!(
                !admin_actions.iter().any(|a| a == crypto),
                "{id}: admin may not {crypto}"
            );
        }
        assert!(
            admin_actions.iter().any(|a| a == "kms:ScheduleKeyDeletion"),
            "{id}: admin schedules deletion"
        );

        match purpose {
            "logs" => {
                let st = statement(&policy, "CloudWatchLogsUse");
                assert_eq!(
                    st["Principal"]["Service"], "logs.us-east-1.amazonaws.com",
                    "logs key: logs principal"
                );
                let arns =
                    strings(&st["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]);
                let lambda_group = format!(
                    "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/paysec-{}-payment",
                    p.env
                );
                assert!(
                    arns.contains(&lambda_group),
                    "logs key: scoped to the stack's log groups: {arns:?}"
                );
                // This stack's groups, and the account's RDSOSMetrics
                // (enhanced monitoring writes there, encrypted with this key).
                assert!(
                    arns.iter().all(|a| a.contains(&format!("paysec-{}", p.env))
                        || a.ends_with(":log-group:RDSOSMetrics")),
                    "logs key: only this stack's groups: {arns:?}"
                );
            }
            "s3" => {
                let st = statement(&policy, "LogDeliveryUse");
                assert_eq!(
                    st["Principal"]["Service"], "delivery.logs.amazonaws.com",
                    "s3 key: log delivery"
                );
                assert_eq!(
                    st["Condition"]["StringEquals"]["aws:SourceAccount"],
                    "123456789012"
                );
                assert_eq!(
                    st["Condition"]["ArnLike"]["aws:SourceArn"],
                    "arn:aws:logs:us-east-1:123456789012:*",
                    "s3 key: only this account's log deliveries"
                );
                // Access logs go to an SSE-S3 bucket (S3 requires it): the
                // logging service gets no use of the key.
                assert!(
                    !policy["Statement"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|s| s["Sid"] == "S3ServerAccessLoggingUse"),
                    "s3 key: no access-logging statement"
                );
            }
            "rds" => {
                let st = statement(&policy, "AccountUseThroughServices");
                let via = strings(&st["Condition"]["StringEquals"]["kms:ViaService"]);
                assert!(
                    via.contains(&"rds.us-east-1.amazonaws.com".to_owned()),
                    "rds key: via RDS only"
                );
                assert!(
                    !strings(&st["Action"])
                        .iter()
                        .any(|a| a == "kms:CreateGrant"),
                    "rds key: no grant but for AWS resources"
                );
                let grants = statement(&policy, "AccountGrantsForAwsResources");
                assert_eq!(
                    grants["Condition"]["Bool"]["kms:GrantIsForAWSResource"], "true",
                    "rds key: grants only for AWS resources"
                );
            }
            "lambda" => {
                let role = statement(&policy, "RoleUselambdaexec");
                assert!(
                    !strings(&role["Action"]).iter().any(|a| a == "kms:Encrypt"),
                    "lambda key: the function's role does not encrypt directly"
                );
            }
            _ => {}
        }
    }
    assert_eq!(
        tagged_keys(&p.env).await.len(),
        4,
        "exactly four keys tagged"
    );

    // A second run changes nothing and creates nothing.
    let again = p.run(&["up", "--yes", "--output", "json"]).success().json();
    for (id, _) in KEYS {
        assert_eq!(again["outcomes"][id], "unchanged", "{id} on second up");
    }
    assert_eq!(
        tagged_keys(&p.env).await.len(),
        4,
        "no key created by the second up"
    );

    // Down: no alias left, every key pending deletion, the ledger says so.
    p.run(&["down", "--yes"]).success();
    let aliases = aws.kms.list_aliases().send().await.unwrap();
    let prefix = format!("alias/paysec-{}-", p.env);
    let left: Vec<_> = aliases
        .aliases()
        .iter()
        .filter_map(|a| a.alias_name())
        .filter(|n| n.starts_with(&prefix))
        .collect();
    assert!(left.is_empty(), "aliases left after down: {left:?}");
    let after = p.ledger();
    for (id, _) in KEYS {
        let key_id = ledger["resources"][id]["physical_id"].as_str().unwrap();
        let meta = aws.kms.describe_key().key_id(key_id).send().await.unwrap();
        // The RDS key encrypts the final snapshot `down` keeps (and the
        // Logs key may encrypt the account's RDSOSMetrics group): kept.
        let kept_whole = after["kept"]
            .to_string()
            .contains(&format!("KMS key {key_id} kept (enabled"));
        let expected = if kept_whole || id == "kms.rds" {
            KeyState::Enabled
        } else {
            KeyState::PendingDeletion
        };
        assert_eq!(
            meta.key_metadata().unwrap().key_state(),
            Some(&expected),
            "{id} after down: {}",
            after["kept"]
        );
    }
    assert!(
        after["resources"].as_object().unwrap().is_empty(),
        "ledger emptied"
    );
    let kept_keys = after["kept"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["kind"] == "kms_key")
        .count();
    assert_eq!(kept_keys, 4, "ledger says the keys were kept, and why");
}

#[tokio::test]
async fn a_lost_ledger_is_adopted_only_when_asked_and_never_duplicated() {
    let p = Paysec::new("adopt");
    p.run(&["up", "--yes"]).success();
    std::fs::remove_file(p.ledger_path()).unwrap();
    // Found by alias and tag, but no create of this ledger made them.
    let refused = p.run(&["up", "--yes"]);
    assert_eq!(refused.code(), 3, "{}", refused.stderr());
    // The keys with no dependency are read first: refused, not adopted.
    for id in ["kms.rds", "kms.s3", "kms.logs"] {
        assert!(
            refused.stderr().contains(&format!(
                "named or tagged as this environment's {id}, but the ledger never recorded creating it"
            )),
            "{id}: {}",
            refused.stderr()
        );
    }
    assert!(refused.stderr().contains("paysec up --adopt"));
    // At a terminal, what was found is named and the user is asked:
    // anything but `yes` changes nothing.
    let declined = p.run_at_terminal("no\n", &["up"]);
    assert_eq!(declined.code(), 7, "{}", declined.stdout());
    let transcript = declined.stdout();
    assert!(
        transcript.contains("its ledger never recorded creating them")
            && transcript.contains("kms.s3 (")
            && transcript.contains("Adopt them as this environment's"),
        "{transcript}"
    );
    assert_eq!(
        tagged_keys(&p.env).await.len(),
        4,
        "nothing created meanwhile"
    );
    let run = p
        .run(&["up", "--yes", "--adopt", "--output", "json"])
        .success()
        .json();
    for (id, _) in KEYS {
        assert_eq!(run["outcomes"][id], "adopted", "{id} adopted by alias");
    }
    assert_eq!(tagged_keys(&p.env).await.len(), 4, "no duplicate key");
    // Lost again: answering yes twice (adopt them; apply) adopts them.
    std::fs::remove_file(p.ledger_path()).unwrap();
    let accepted = p.run_at_terminal("yes\nyes\n", &["up"]);
    assert_eq!(accepted.code(), 0, "{}", accepted.stdout());
    for (id, _) in KEYS {
        assert!(
            p.ledger()["resources"][id]["physical_id"].is_string(),
            "{id} recorded"
        );
    }
    assert_eq!(tagged_keys(&p.env).await.len(), 4, "no duplicate key");
    p.run(&["down", "--yes"]).success();
}

/// Tags anyone can copy: paysec's own tags on a key someone else made
/// (before the first `up`, or beside a key paysec recreates) neither get
/// it adopted nor scheduled for deletion as a second copy.
#[tokio::test(flavor = "multi_thread")]
async fn a_planted_tagged_key_is_neither_adopted_nor_deleted() {
    let p = Paysec::new("planted");
    let core = [
        ("PAYSEC_RDS_ENABLED", "false"),
        ("PAYSEC_LAMBDA_ENABLED", "false"),
    ];
    let aws = aws().await;
    let tag = |k: &str, v: &str| {
        aws_sdk_kms::types::Tag::builder()
            .tag_key(k)
            .tag_value(v)
            .build()
            .unwrap()
    };
    let plant = || async {
        aws.kms
            .create_key()
            .description("not paysec's")
            .tags(tag("paysec:environment", &p.env))
            .tags(tag("paysec:logical-id", "kms.s3"))
            .tags(tag("paysec:managed-by", "paysec"))
            .send()
            .await
            .unwrap()
            .key_metadata()
            .unwrap()
            .key_id()
            .to_owned()
    };
    let state = |key: String| {
        let aws = &aws;
        async move {
            aws.kms
                .describe_key()
                .key_id(key)
                .send()
                .await
                .unwrap()
                .key_metadata()
                .unwrap()
                .key_state()
                .cloned()
        }
    };
    // Before the first up: refused, not adopted.
    let before = plant().await;
    let run = p.run_with(&core, &["up", "--yes"]);
    assert_eq!(run.code(), 3, "{}", run.stderr());
    assert!(
        run.stderr().contains(&format!(
            "found {before} named or tagged as this environment's kms.s3"
        )),
        "{}",
        run.stderr()
    );
    assert!(p.ledger()["resources"]["kms.s3"]["physical_id"].is_null());
    assert_eq!(state(before.clone()).await, Some(KeyState::Enabled));
    aws.kms
        .untag_resource()
        .key_id(&before)
        .tag_keys("paysec:environment")
        .send()
        .await
        .unwrap();
    p.run_with(&core, &["up", "--yes"]).success();

    // Beside a create paysec resumes (a run died after recording its
    // intent): the sweep for second copies of that create leaves a key
    // without its token alone.
    let ours = p.ledger()["resources"]["kms.s3"]["physical_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let beside = plant().await;
    let mut ledger = p.ledger();
    ledger["resources"]["kms.s3"] = serde_json::json!({
        "kind": "kms_key",
        "status": "creating",
        "updated_at": "2026-11-30T00:00:00Z",
        "create_token": "0123456789abcdef0123456789abcdef"
    });
    std::fs::write(p.ledger_path(), ledger.to_string()).unwrap();
    let run = p
        .run_with(&core, &["up", "--yes", "--output", "json"])
        .success()
        .json();
    assert_eq!(run["outcomes"]["kms.s3"], "created", "{run}");
    assert_eq!(
        state(beside.clone()).await,
        Some(KeyState::Enabled),
        "the planted key is left alone"
    );

    // A ledger edited to name the planted key: down refuses that delete.
    let mut ledger = p.ledger();
    let recreated = ledger["resources"]["kms.s3"]["physical_id"].clone();
    ledger["resources"]["kms.s3"]["physical_id"] = serde_json::json!(before);
    std::fs::write(p.ledger_path(), ledger.to_string()).unwrap();
    let down = p.run_with(&core, &["down", "--yes"]);
    assert_eq!(down.code(), 3, "{}", down.stderr());
    assert!(
        down.stderr().contains(&format!(
            "kms.s3: not deleting it: the ledger names {before}"
        )),
        "{}",
        down.stderr()
    );
    assert_eq!(
        state(before.clone()).await,
        Some(KeyState::Enabled),
        "the named key is left alone"
    );
    // Put right, down completes.
    let mut ledger = p.ledger();
    ledger["resources"]["kms.s3"]["physical_id"] = recreated;
    std::fs::write(p.ledger_path(), ledger.to_string()).unwrap();
    p.run_with(&core, &["down", "--yes"]).success();
    for key in [before, beside, ours] {
        aws.kms
            .schedule_key_deletion()
            .key_id(key)
            .pending_window_in_days(7)
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_key_whose_create_was_not_recorded_is_found_by_tag() {
    // Replays a crash between CreateKey and the ledger write: the key
    // exists with its tags but no alias, and the ledger holds only an intent.
    let p = Paysec::new("crash");
    p.run(&["up", "--yes"]).success();
    let aws = aws().await;
    let ledger = p.ledger();
    let key_id = ledger["resources"]["kms.s3"]["physical_id"]
        .as_str()
        .unwrap()
        .to_owned();
    aws.kms
        .delete_alias()
        .alias_name(format!("alias/paysec-{}-s3", p.env))
        .send()
        .await
        .unwrap();
    let mut edited = ledger.clone();
    // The intent keeps the create's token, which the key carries.
    edited["resources"]["kms.s3"] = serde_json::json!({
        "kind": "kms_key", "status": "creating", "updated_at": "2026-01-01T00:00:00Z",
        "create_token": ledger["resources"]["kms.s3"]["create_token"]
    });
    std::fs::write(
        p.ledger_path(),
        serde_json::to_string_pretty(&edited).unwrap(),
    )
    .unwrap();

    let run = p.run(&["up", "--yes", "--output", "json"]).success().json();
    assert_eq!(
        run["outcomes"]["kms.s3"], "repaired",
        "adopted by tag and its alias restored"
    );
    assert_eq!(
        p.ledger()["resources"]["kms.s3"]["physical_id"],
        key_id.as_str(),
        "same key"
    );
    assert_eq!(tagged_keys(&p.env).await.len(), 4, "no duplicate key");
    let aliases = aws.kms.list_aliases().key_id(&key_id).send().await.unwrap();
    assert_eq!(aliases.aliases().len(), 1, "alias restored");
    p.run(&["down", "--yes"]).success();
}

#[tokio::test]
async fn up_repairs_rotation_turned_off_out_of_band() {
    let p = Paysec::new("drift");
    p.run(&["up", "--yes"]).success();
    let aws = aws().await;
    let key_id = p.ledger()["resources"]["kms.logs"]["physical_id"]
        .as_str()
        .unwrap()
        .to_owned();
    aws.kms
        .disable_key_rotation()
        .key_id(&key_id)
        .send()
        .await
        .unwrap();

    // The quick check (DescribeKey: still enabled) does not read rotation:
    // `--no-refresh` leaves the change and says so; a plain plan reads it.
    let change = |plan: &serde_json::Value| {
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "kms.logs")
            .unwrap()
            .clone()
    };
    let quick = p
        .run(&["plan", "--no-refresh", "--output", "json"])
        .success()
        .json();
    assert_eq!(change(&quick)["action"], "no_change");
    assert_eq!(change(&quick)["properties_read"], false);
    let fast = p.run(&["up", "--no-refresh", "--yes"]).success();
    assert!(
        fast.stderr().contains("--no-refresh:") && fast.stderr().contains("not re-read"),
        "up --no-refresh says what it did not read: {}",
        fast.stderr()
    );
    let plan = p.run(&["plan", "--output", "json"]).success().json();
    let text = p.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(text.code(), 8, "--detailed-exitcode: changes");
    assert!(
        text.stdout()
            .contains("1 resources drifted: kms.logs (rotation)"),
        "one line for CI logs: {}",
        text.stdout()
    );
    assert_eq!(
        plan["summary"]["drifted"],
        serde_json::json!(["kms.logs (rotation)"])
    );
    let change = change(&plan);
    assert_eq!(change["action"], "repair", "a plain plan shows the repair");
    assert_eq!(change["drift"][0]["property"], "rotation");
    assert!(
        !aws.kms
            .get_key_rotation_status()
            .key_id(&key_id)
            .send()
            .await
            .unwrap()
            .key_rotation_enabled(),
        "plan and up --no-refresh changed nothing"
    );

    let run = p.run(&["up", "--yes", "--output", "json"]).success().json();
    assert_eq!(
        run["outcomes"]["kms.logs"], "repaired",
        "a plain up repairs"
    );
    assert!(
        aws.kms
            .get_key_rotation_status()
            .key_id(&key_id)
            .send()
            .await
            .unwrap()
            .key_rotation_enabled(),
        "rotation back on"
    );
    p.run(&["down", "--yes"]).success();
}

/// The benchmark's lean emulator (`Moto::start_lean`: no RSA key pair for a
/// symmetric key until a call uses one) answers as moto does: a symmetric
/// key encrypts and decrypts, an RSA key signs, verifies and gives its
/// public key, an HMAC key makes and checks a MAC, and a symmetric key's
/// pair, asked for, is made then (moto, unlike KMS, hands one out).
#[tokio::test]
async fn a_lean_emulator_answers_key_calls_as_moto_does() {
    use aws_sdk_kms::primitives::Blob;
    use aws_sdk_kms::types::{MacAlgorithmSpec, SigningAlgorithmSpec};

    // The suite's emulator credentials are set along with its endpoint.
    crate::support::endpoint();
    let dir = tempfile::tempdir().unwrap();
    let lean = paysec_testkit::moto::Moto::start_lean(
        &crate::support::moto_server().to_string_lossy(),
        dir.path(),
        None,
    )
    .expect("a lean moto server");
    // The server runs with the module that defers the pairs.
    let pid = lean.pid().expect("its pid");
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let site = dir.path().join("moto-lean");
    assert!(
        String::from_utf8_lossy(&environ).contains(&format!("PYTHONPATH={}", site.display())),
        "the lean server's environment names {}",
        site.display()
    );
    assert!(site.join("sitecustomize.py").is_file());

    let kms = paysec_aws::Aws::connect(&paysec_aws::AwsSettings {
        endpoint_url: Some(lean.url.clone()),
        region: Some("us-east-1".into()),
        max_attempts: 3,
        calls_per_service: 10,
        ..paysec_aws::AwsSettings::default()
    })
    .await
    .expect("SDK config")
    .kms;
    let create = |spec: KeySpec, usage: KeyUsageType| {
        let kms = kms.clone();
        async move {
            kms.create_key()
                .key_spec(spec)
                .key_usage(usage)
                .send()
                .await
                .unwrap()
                .key_metadata()
                .unwrap()
                .key_id()
                .to_owned()
        }
    };

    let symmetric = create(KeySpec::SymmetricDefault, KeyUsageType::EncryptDecrypt).await;
    let sealed = kms
        .encrypt()
        .key_id(&symmetric)
        .plaintext(Blob::new("card data"))
        .send()
        .await
        .unwrap();
    let opened = kms
        .decrypt()
        .ciphertext_blob(sealed.ciphertext_blob().unwrap().clone())
        .send()
        .await
        .unwrap();
    assert_eq!(opened.plaintext().unwrap().as_ref(), b"card data");
    assert!(!kms
        .get_public_key()
        .key_id(&symmetric)
        .send()
        .await
        .unwrap()
        .public_key()
        .unwrap()
        .as_ref()
        .is_empty());

    let rsa = create(KeySpec::Rsa2048, KeyUsageType::SignVerify).await;
    let signed = kms
        .sign()
        .key_id(&rsa)
        .message(Blob::new("m"))
        .signing_algorithm(SigningAlgorithmSpec::RsassaPssSha256)
        .send()
        .await
        .unwrap();
    let verified = kms
        .verify()
        .key_id(&rsa)
        .message(Blob::new("m"))
        .signature(signed.signature().unwrap().clone())
        .signing_algorithm(SigningAlgorithmSpec::RsassaPssSha256)
        .send()
        .await
        .unwrap();
    assert!(verified.signature_valid());
    let public = kms.get_public_key().key_id(&rsa).send().await.unwrap();
    assert!(public.public_key().unwrap().as_ref().len() > 256);

    let hmac = create(KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac).await;
    let mac = kms
        .generate_mac()
        .key_id(&hmac)
        .message(Blob::new("m"))
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .unwrap();
    let checked = kms
        .verify_mac()
        .key_id(&hmac)
        .message(Blob::new("m"))
        .mac(mac.mac().unwrap().clone())
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .unwrap();
    assert!(checked.mac_valid());
}

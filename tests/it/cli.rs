//! Bad input gets one clear message, a documented exit code, and leaves the
//! ledger as it was.

use std::time::{Duration, Instant};

use crate::support::Paysec;

#[test]
fn an_invalid_environment_name_is_refused_before_any_aws_call() {
    let p = Paysec::offline("x");
    for (name, needle) in [
        ("Prod", "'P'"),
        ("dev_1", "'_'"),
        ("1dev", "must start with a lowercase letter"),
        ("dev--1", "two in a row"),
        ("dev-", "end with a hyphen"),
        ("this-environment-name-is-far-too-long", "S3 bucket name"),
    ] {
        let run = p.run(&["--env", name, "plan"]);
        assert_eq!(run.code(), 2, "{name}: exit code\n{}", run.stderr());
        assert!(run.stderr().contains(needle), "{name}: {}", run.stderr());
        assert_one_clean_line(&run.stderr());
    }
    assert!(!p.dir.path().join(".paysec").exists(), "no ledger written");
}

/// Each configuration error of `docs/exit-codes.md`: exit 2, the whole of
/// stderr one clean line naming the key (and the line, for the file's own
/// errors).
#[test]
fn config_errors_name_the_key() {
    let p = Paysec::offline("cfg");
    for (file, needle) in [
        (
            "[kms]\ndeletion_window_days = 3\n",
            "`kms.deletion_window_days` = 3: AWS KMS accepts a deletion window of 7 to 30 days",
        ),
        ("[logs]\nretention = 365\n", "unknown field `retention`"),
        (
            "[logs]\nretention_days = \"long\"\n",
            "line 2, column 18: invalid type: string \"long\"",
        ),
        ("[logs]\nretention_days = 30\n", "PCI DSS 10.5.1"),
        (
            "[rds]\nbackup_retention_days = 0\n",
            "`rds.backup_retention_days` = 0",
        ),
        (
            "[lambda]\nwait_minutes = 0\n",
            "`lambda.wait_minutes` = 0: must be 1 to 1440 minutes",
        ),
        // What STS would refuse (ValidationError), refused before any call.
        (
            "[environments.x]\nrole_arn = \"arn:aws:iam::222222222222:role/Deployer\"\nrole_session_name = \"deploy by ci\"\n",
            "`environments.*.role_session_name` = x: deploy by ci: must be 2 to 64 characters of letters, digits and _+=,.@- (STS RoleSessionName)",
        ),
        (
            "[environments.x]\nrole_arn = \"arn:aws:iam::222222222222:role/Deployer\"\nexternal_id = \"a\"\n",
            "`environments.*.external_id` = x: must be 2 to 1224 characters",
        ),
    ] {
        std::fs::write(p.dir.path().join("paysec.toml"), file).unwrap();
        let run = p.run(&["status"]);
        assert_eq!(run.code(), 2, "{file}: {}", run.stderr());
        assert!(run.stderr().contains(needle), "{file}: {}", run.stderr());
        assert_one_clean_line(&run.stderr());
    }
}

#[test]
fn up_and_down_without_a_terminal_or_yes_refuse_at_once() {
    let p = Paysec::offline("tty");
    for cmd in ["up", "down"] {
        let run = p.run(&[cmd]);
        assert_eq!(run.code(), 7, "{cmd}: {}", run.stderr());
        assert!(run.stderr().contains("--yes"), "{}", run.stderr());
        assert_one_clean_line(&run.stderr());
    }
    assert!(!p.ledger_path().exists());
}

#[test]
fn an_unreachable_endpoint_fails_in_seconds_with_exit_4() {
    let p = Paysec::new("unreach");
    let started = Instant::now();
    let run = p.run(&[
        "--endpoint-url",
        "http://127.0.0.1:9",
        "plan",
        "--detailed-exitcode",
    ]);
    assert_eq!(
        run.code(),
        4,
        "an error keeps its own code, also with --detailed-exitcode: {}",
        run.stderr()
    );
    assert!(
        run.stderr().contains("cannot reach AWS") && run.stderr().contains("connection refused"),
        "{}",
        run.stderr()
    );
    assert_one_clean_line(&run.stderr());
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_corrupt_ledger_is_an_error_and_stays_untouched() {
    let p = Paysec::offline("corrupt");
    let dir = p.dir.path().join(".paysec");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(p.ledger_path(), "{ truncated").unwrap();
    for args in [&["status"][..], &["up", "--yes"][..]] {
        let run = p.run(args);
        assert_eq!(run.code(), 5, "{args:?}: {}", run.stderr());
        assert!(
            run.stderr().contains("will not overwrite"),
            "{}",
            run.stderr()
        );
        assert_one_clean_line(&run.stderr());
    }
    assert_eq!(
        std::fs::read_to_string(p.ledger_path()).unwrap(),
        "{ truncated"
    );
}

#[test]
fn json_errors_are_json_on_stderr() {
    let p = Paysec::offline("json");
    let run = p.run(&["--env", "BAD", "--output", "json", "status"]);
    assert_eq!(run.code(), 2);
    let err: serde_json::Value = serde_json::from_str(run.stderr().trim()).unwrap();
    assert_eq!(err["error"]["kind"], "invalid_name");
    assert_eq!(err["error"]["exit_code"], 2);
}

#[test]
fn a_second_concurrent_run_gets_a_lock_error() {
    let p = Paysec::new("lock");
    // Hold the environment's lock the way a running paysec does.
    let dir = p.dir.path().join(".paysec");
    std::fs::create_dir_all(&dir).unwrap();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(format!("{}.lock", p.env)))
        .unwrap();
    lock.try_lock().unwrap();
    std::fs::write(
        dir.join(format!("{}.lock", p.env)),
        r#"{"pid":4242,"host":"ci","command":"up","since":"now"}"#,
    )
    .unwrap();
    let run = p.run(&["up", "--yes"]);
    assert_eq!(run.code(), 5, "{}", run.stderr());
    assert!(
        run.stderr().contains("locked by pid 4242 on ci"),
        "{}",
        run.stderr()
    );
    assert_one_clean_line(&run.stderr());
    drop(lock);
}

#[test]
fn status_and_output_need_no_network() {
    let p = Paysec::offline("offline");
    let run = p
        .run(&["--endpoint-url", "http://127.0.0.1:9", "status"])
        .success();
    assert!(run.stdout().contains("no ledger"), "{}", run.stdout());
    let run = p.run(&[
        "--endpoint-url",
        "http://127.0.0.1:9",
        "output",
        "kms_s3_key_arn",
    ]);
    assert_eq!(run.code(), 2);
    assert!(
        run.stderr().contains("run `paysec up` first"),
        "{}",
        run.stderr()
    );
}

#[test]
fn missing_credentials_are_a_clear_exit_4() {
    let p = Paysec::new("nocreds");
    let run = p
        .command()
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .args(["plan"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("no usable AWS credentials"), "{stderr}");
    assert_one_clean_line(&stderr);

    // As on a workstation, the SDK tries the instance metadata service
    // too: its warning and its error chain stay out of the message.
    let run = p
        .command()
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .args(["plan"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(4), "{stderr}");
    assert_one_clean_line(&stderr);
}

/// One line, no SDK debug text, no terminal escape codes (stderr is not a
/// terminal here).
fn assert_one_clean_line(stderr: &str) {
    assert_eq!(stderr.lines().count(), 1, "one message: {stderr}");
    for sdk in [
        "DispatchFailure",
        "ConnectorError",
        "ProviderError",
        "Some(",
    ] {
        assert!(!stderr.contains(sdk), "no SDK internals ({sdk}): {stderr}");
    }
    assert!(!stderr.contains('\x1b'), "no escape codes: {stderr:?}");
}

#[test]
fn a_missing_region_is_a_clear_exit_4() {
    let p = Paysec::new("noregion");
    let run = p
        .command()
        .env_remove("AWS_REGION")
        // As on a workstation: the SDK tries the instance metadata service.
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .args(["plan"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("no AWS region"), "{stderr}");
    // One message: not preceded by the SDK's warnings about the instance
    // metadata service it tried on the way.
    assert!(!stderr.contains("IMDS"), "{stderr}");
    assert_one_clean_line(&stderr);
}

#[test]
fn a_future_ledger_is_refused_and_kept() {
    let p = Paysec::offline("future");
    std::fs::create_dir_all(p.dir.path().join(".paysec")).unwrap();
    let text = format!(r#"{{"schema": 7, "environment": "{}"}}"#, p.env);
    std::fs::write(p.ledger_path(), &text).unwrap();
    let run = p.run(&["up", "--yes"]);
    assert_eq!(run.code(), 5, "{}", run.stderr());
    assert!(run.stderr().contains("newer paysec"), "{}", run.stderr());
    assert_one_clean_line(&run.stderr());
    assert_eq!(std::fs::read_to_string(p.ledger_path()).unwrap(), text);
}

/// A ledger that records resources in another region is never used nor
/// rewritten against this one (an empty ledger simply binds to it).
#[test]
fn a_ledger_of_another_region_is_refused_and_kept() {
    let p = Paysec::new("region");
    std::fs::create_dir_all(p.dir.path().join(".paysec")).unwrap();
    let text = format!(
        r#"{{"schema": 1, "environment": "{}", "account": "123456789012", "region": "eu-west-3", "paysec_version": "0.1.0", "updated_at": "2026-11-28T00:00:00Z", "resources": {{"kms.rds": {{"kind": "kms_key", "status": "ready", "physical_id": "k-1", "updated_at": "2026-11-28T00:00:00Z"}}}}}}"#,
        p.env
    );
    std::fs::write(p.ledger_path(), &text).unwrap();
    for args in [&["up", "--yes"][..], &["down", "--yes"][..], &["plan"][..]] {
        let run = p.run(args);
        assert_eq!(run.code(), 5, "{args:?}: {}", run.stderr());
        assert!(
            run.stderr().contains("region eu-west-3")
                && run.stderr().contains("select the right profile/region"),
            "{}",
            run.stderr()
        );
        assert_one_clean_line(&run.stderr());
    }
    assert_eq!(
        std::fs::read_to_string(p.ledger_path()).unwrap(),
        text,
        "the ledger is left as it was"
    );
}

#[test]
fn fleet_arguments_are_checked_before_any_aws_call() {
    let p = Paysec::offline("fleetargs");
    let offline = ["--endpoint-url", "http://127.0.0.1:9"];
    let run = p.run(&[&offline[..], &["--env", "a-1", "--env", "a-2", "status"]].concat());
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("`up` and `down`"), "{}", run.stderr());
    assert_one_clean_line(&run.stderr());
    let run = p.run(
        &[
            &offline[..],
            &["--env", "a-1", "--env", "a-1", "up", "--yes"],
        ]
        .concat(),
    );
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("named twice"), "{}", run.stderr());
    assert_one_clean_line(&run.stderr());
    let run = p.run(
        &[
            &offline[..],
            &["--env", "a-1", "up", "--env", "a-2", "--yes"],
        ]
        .concat(),
    );
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("same side"), "{}", run.stderr());
    assert_one_clean_line(&run.stderr());
    let run = p.run(&[&offline[..], &["--env", "a-1", "--env", "a-2", "down"]].concat());
    assert_eq!(run.code(), 7, "{}", run.stderr());
    assert!(run.stderr().contains("--yes"), "{}", run.stderr());
    let run = p.run(
        &[
            &offline[..],
            &["--env", "a-1", "--env", "a-2", "plan", "--out", "p.json"],
        ]
        .concat(),
    );
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(
        run.stderr().contains("--out saves one environment's plan"),
        "{}",
        run.stderr()
    );
    assert_one_clean_line(&run.stderr());
}

#[test]
fn a_fleet_comes_up_and_goes_down_in_one_command() {
    let p = Paysec::new("fleet");
    let (a, b) = (format!("{}-a", p.env), format!("{}-b", p.env));
    // Every resource of the stack, as a plan of a new environment counts
    // them (API Gateway's account-wide logging role adopted when another
    // test set it first).
    let plan = p
        .run(&["--env", &a, "plan", "--output", "json"])
        .success()
        .json();
    let made = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] != "api.account-logging")
        .filter(|c| c["action"] == "create" || c["action"] == "adopt")
        .count();
    // The account's logging role is recorded by every environment's `up`
    // (created, or adopted as it stands), whatever the plan saw first.
    let resources = serde_json::json!(made + 1);
    let up = p
        .run(&["--env", &a, "--env", &b, "up", "--yes", "--output", "json"])
        .success()
        .json();
    for e in [&a, &b] {
        assert_eq!(up["environments"][e]["ok"], true, "{up}");
        assert_eq!(up["environments"][e]["changed"], resources, "{up}");
    }
    // The fleet reviewed in one command: nothing to do for either.
    let plan = p.run(&["--env", &a, "--env", &b, "plan", "--detailed-exitcode"]);
    assert_eq!(plan.code(), 0, "{}{}", plan.stdout(), plan.stderr());
    for e in [&a, &b] {
        assert!(
            plan.stdout().contains(&format!("== environment {e}")),
            "{}",
            plan.stdout()
        );
    }
    let planned = p
        .run(&["--env", &a, "--env", &b, "plan", "--output", "json"])
        .success()
        .json();
    for e in [&a, &b] {
        assert_eq!(
            planned["environments"][e]["environment"],
            e.as_str(),
            "{planned}"
        );
        assert_eq!(
            planned["environments"][e]["summary"]["create"], 0,
            "{planned}"
        );
    }
    let down = p
        .run(&[
            "--env", &a, "--env", &b, "down", "--yes", "--output", "json",
        ])
        .success()
        .json();
    assert_eq!(down["ok"], true, "{down}");
    for e in [&a, &b] {
        let status = p
            .run(&["--env", e, "status", "--output", "json"])
            .success()
            .json();
        assert_eq!(
            status["resources"].as_array().map(Vec::len),
            Some(0),
            "{e} left: {status}"
        );
        assert!(
            status["kept"].as_array().is_some_and(|k| k.len() >= 4),
            "{e}: the keys are kept pending deletion: {status}"
        );
    }
}

#[test]
fn a_wrong_region_is_a_clear_exit_4_before_any_call() {
    let p = Paysec::new("badregion");
    for region in ["useast1", "US-EAST-1"] {
        let run = p.run(&["--region", region, "plan"]);
        assert_eq!(run.code(), 4, "{}", run.stderr());
        assert!(
            run.stderr().contains("is not an AWS region name"),
            "{}",
            run.stderr()
        );
        assert_one_clean_line(&run.stderr());
    }
    assert!(!p.ledger_path().exists(), "no ledger written");
}

/// Every `PAYSEC_*` variable, with a value as a user types it in a shell
/// (numbers for string settings included, lists comma-separated), and for
/// the typed ones a value that does not fit: accepted, or one clean line
/// naming the variable (exit 2). `status` reads no AWS, so this runs
/// before any connection.
#[test]
fn every_paysec_variable_takes_its_natural_form_and_names_itself_when_wrong() {
    // (variable, as a user writes it, a bad value if the type can refuse one)
    let table: &[(&str, &str, Option<&str>)] = &[
        ("PAYSEC_ENV", "dev-001", None),
        ("PAYSEC_REGION", "eu-west-1", None),
        ("PAYSEC_PROFILE", "payments", None),
        ("PAYSEC_ENDPOINT_URL", "http://127.0.0.1:5000", None),
        ("PAYSEC_ALLOW_HTTP_ENDPOINT", "true", Some("sometimes")),
        ("PAYSEC_LEDGER_DIR", "state", None),
        ("PAYSEC_LEDGER", "team-state", Some("s3://Not_A_Bucket")),
        ("PAYSEC_LEDGER_OWNER", "111122223333", Some("team-account")),
        ("PAYSEC_CONCURRENCY", "8", Some("eight")),
        ("PAYSEC_MAX_ATTEMPTS", "5", Some("5x")),
        ("PAYSEC_CALLS_PER_SERVICE", "20", Some("many")),
        ("PAYSEC_KMS_DELETION_WINDOW_DAYS", "7", Some("a week")),
        (
            "PAYSEC_KMS_ADMIN_PRINCIPALS",
            "arn:aws:iam::123456789012:role/a,arn:aws:iam::123456789012:role/b",
            Some("[unclosed"),
        ),
        ("PAYSEC_KMS_AUDIT_EXTERNAL_ID", "4711", None),
        ("PAYSEC_LOGS_RETENTION_DAYS", "400", Some("1y")),
        ("PAYSEC_IAM_AUDIT_TRUSTED_ACCOUNT", "210987654321", None),
        (
            "PAYSEC_IAM_AUDIT_TRUSTED_ROLE_ARN",
            "arn:aws:iam::210987654321:role/Auditor",
            None,
        ),
        ("PAYSEC_IAM_AUDIT_EXTERNAL_ID", "0123456789abcdef", None),
        ("PAYSEC_NETWORK_VPC_CIDR", "10.30.0.0/16", None),
        (
            "PAYSEC_NETWORK_AVAILABILITY_ZONES",
            "us-east-1a, us-east-1b, us-east-1c",
            None,
        ),
        ("PAYSEC_NETWORK_ENDPOINT_WAIT_MINUTES", "15", Some("soon")),
        ("PAYSEC_NETWORK_ENI_DRAIN_MINUTES", "50", Some("-")),
        ("PAYSEC_S3_LOG_HOT_DAYS", "120", Some("x")),
        ("PAYSEC_S3_LOG_RETENTION_DAYS", "400", Some("x")),
        ("PAYSEC_S3_DATA_NONCURRENT_DAYS", "30", Some("x")),
        ("PAYSEC_RDS_ENGINE_VERSION", "16", None),
        ("PAYSEC_RDS_PARAMETER_GROUP_FAMILY", "postgres16", None),
        ("PAYSEC_RDS_INSTANCE_CLASS", "db.t4g.micro", None),
        ("PAYSEC_RDS_ALLOCATED_STORAGE_GB", "50", Some("50GB")),
        ("PAYSEC_RDS_BACKUP_RETENTION_DAYS", "14", Some("two weeks")),
        ("PAYSEC_RDS_MULTI_AZ", "false", Some("maybe")),
        ("PAYSEC_RDS_DELETION_PROTECTION", "yes", Some("sometimes")),
        ("PAYSEC_RDS_FINAL_SNAPSHOT", "0", Some("2")),
        ("PAYSEC_RDS_MASTER_USERNAME", "payadmin", None),
        ("PAYSEC_RDS_MASTER_PASSWORD_ENV", "PAYSEC_DB_PASSWORD", None),
        ("PAYSEC_RDS_MASTER_PASSWORD_FILE", "/run/secrets/db", None),
        ("PAYSEC_RDS_PORT", "5433", Some("postgres")),
        ("PAYSEC_RDS_ENABLED", "false", Some("off-ish")),
        (
            "PAYSEC_RDS_SNAPSHOT_RESTORERS",
            "210987654321",
            Some("[unclosed"),
        ),
        ("PAYSEC_NETWORK_DNS_FIREWALL", "true", Some("mostly")),
        (
            "PAYSEC_NETWORK_SERVICE_ENDPOINTS",
            "secretsmanager,kms",
            Some("s3"),
        ),
        (
            "PAYSEC_NETWORK_PRIVATE_SERVICES",
            "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
            Some("vpce-svc-0123456789abcdef0"),
        ),
        ("PAYSEC_NETWORK_PRIVATE_SERVICE_PORT", "8443", Some("https")),
        (
            "PAYSEC_NETWORK_ALLOWED_DOMAINS",
            "api.processor.example",
            Some("*.com"),
        ),
        ("PAYSEC_RDS_WAIT_MINUTES", "90", Some("x")),
        ("PAYSEC_RDS_MONITORING_INTERVAL_SECONDS", "30", Some("x")),
        ("PAYSEC_RDS_APPLY_IMMEDIATELY", "true", Some("soon")),
        ("PAYSEC_LAMBDA_ENABLED", "no", Some("perhaps")),
        ("PAYSEC_LAMBDA_RUNTIME", "python3.13", None),
        ("PAYSEC_LAMBDA_MEMORY_MB", "512", Some("512MB")),
        ("PAYSEC_LAMBDA_TIMEOUT_SECONDS", "20", Some("x")),
        (
            "PAYSEC_LAMBDA_RESERVED_CONCURRENCY",
            "none",
            Some("several"),
        ),
        ("PAYSEC_LAMBDA_WAIT_MINUTES", "20", Some("x")),
        ("PAYSEC_LAMBDA_PACKAGE", "build/api", None),
        ("PAYSEC_LAMBDA_HANDLER", "main.handle", Some("")),
        ("PAYSEC_LAMBDA_ARCHITECTURE", "arm64", Some("sparc")),
        (
            "PAYSEC_LAMBDA_ENVIRONMENT",
            "CURRENCY=EUR, REGION_CODE=eu",
            Some("DB_PASSWORD=hunter2"),
        ),
        (
            "PAYSEC_LAMBDA_SECRETS",
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf",
            Some("not-an-arn"),
        ),
        ("PAYSEC_LAMBDA_DB_USER", "payments", Some("Postgres")),
        ("PAYSEC_LAMBDA_KEEP_VERSIONS", "5", Some("1")),
        (
            "PAYSEC_LAMBDA_SIGNING_PROFILE",
            "payments_release",
            Some("payments-release"),
        ),
        ("PAYSEC_API_ENABLED", "off", Some("sometimes")),
        (
            "PAYSEC_API_ALLOWED_CIDRS",
            "10.40.0.0/16,10.41.0.0/16",
            Some("everyone"),
        ),
        (
            "PAYSEC_API_ALLOWED_SECURITY_GROUPS",
            "sg-0123456789abcdef0",
            Some("sg-nope"),
        ),
        (
            "PAYSEC_API_ALLOWED_VPC_ENDPOINTS",
            "vpce-0a1b2c3d4e5f60718",
            Some("vpc-0a1b2c3d"),
        ),
        (
            "PAYSEC_API_ALLOWED_PRINCIPALS",
            "arn:aws:iam::210987654321:role/checkout",
            Some("*"),
        ),
        ("PAYSEC_API_RATE_LIMIT", "25.5", Some("fast")),
        ("PAYSEC_API_BURST_LIMIT", "50", Some("0")),
        ("PAYSEC_API_SECURITY_POLICY", "TLS_1_2", Some("TLS_1_0")),
        ("PAYSEC_TAGS", "team=payments, cost-center=42", Some("team")),
        (
            "PAYSEC_MONITORING_ALARM_EMAILS",
            "soc@example.com,oncall@example.com",
            Some("not-an-address"),
        ),
    ];
    let tested: std::collections::BTreeSet<&str> = table.iter().map(|(v, _, _)| *v).collect();
    let all: std::collections::BTreeSet<String> = paysec_config::Config::env_vars()
        .into_iter()
        .map(|(_, var)| var)
        .collect();
    let untested: Vec<&String> = all
        .iter()
        .filter(|v| !tested.contains(v.as_str()))
        .collect();
    assert!(
        untested.is_empty(),
        "variables without a test here: {untested:?}"
    );
    let p = Paysec::offline("vars");
    for (var, good, bad) in table {
        // PAYSEC_ENV names the environment; the others change settings.
        let run = p.run_with(&[(var, good)], &["status"]);
        assert_eq!(run.code(), 0, "{var}={good}: {}", run.stderr());
        if let Some(bad) = bad {
            let run = p.run_with(&[(var, bad)], &["status"]);
            let stderr = run.stderr();
            assert_eq!(run.code(), 2, "{var}={bad}: {stderr}");
            assert!(
                stderr.contains(var),
                "{var}={bad} names the variable: {stderr}"
            );
            assert_one_clean_line(&stderr);
        }
    }
}

/// A command line clap refuses: one line (the message, the accepted values,
/// a pointer to --help instead of the usage block), exit 2; JSON when asked.
#[test]
fn each_bad_flag_is_one_clean_line() {
    let p = Paysec::offline("flags");
    for (args, needle) in [
        (&["up", "--yse"][..], "unexpected argument '--yse' found"),
        (
            &["plan", "--output", "yaml"][..],
            "possible values: text, json",
        ),
        (&["frobnicate"][..], "unrecognized subcommand 'frobnicate'"),
        (
            &["up", "--concurrency", "x"][..],
            "invalid value 'x' for '--concurrency <N>'",
        ),
        (
            &["output", "--raw"][..],
            "required arguments were not provided: <NAME>",
        ),
        (&["--env"][..], "a value is required for '--env <NAME>'"),
    ] {
        let run = p.run(args);
        assert_eq!(run.code(), 2, "{args:?}: {}", run.stderr());
        assert!(run.stderr().contains(needle), "{args:?}: {}", run.stderr());
        assert!(
            run.stderr().contains("see `paysec --help`"),
            "{}",
            run.stderr()
        );
        assert_one_clean_line(&run.stderr());
    }
    let run = p.run(&["--output", "json", "up", "--yse"]);
    let err: serde_json::Value = serde_json::from_str(run.stderr().trim()).unwrap();
    assert_eq!(
        (err["error"]["kind"].as_str(), run.code()),
        (Some("usage"), 2)
    );
    assert!(!p.ledger_path().exists());
}

/// A plain http:// endpoint on another host would carry every signed
/// request unencrypted: refused before any call (exit 2), unless declared
/// with --allow-http-endpoint; loopback emulators need nothing.
#[test]
fn a_plain_http_endpoint_on_another_host_is_refused() {
    let p = Paysec::new("http");
    for url in ["http://10.1.2.3:4566", "http://localstack:4566"] {
        let run = p.run(&["--endpoint-url", url, "plan"]);
        assert_eq!(run.code(), 2, "{url}: {}", run.stderr());
        assert!(
            run.stderr().contains("plain HTTP to another host"),
            "{}",
            run.stderr()
        );
        assert!(
            run.stderr().contains("--allow-http-endpoint"),
            "{}",
            run.stderr()
        );
        assert_one_clean_line(&run.stderr());
    }
    // Declared: accepted; the run goes on to call it (and fails there:
    // nothing of AWS listens; not the refusal).
    let run = p.run(&[
        "--endpoint-url",
        "http://10.255.255.1:4566",
        "--allow-http-endpoint",
        "plan",
    ]);
    assert_ne!(run.code(), 2, "{}", run.stderr());
    assert!(!run.stderr().contains("plain HTTP"), "{}", run.stderr());
    assert!(!p.ledger_path().exists());
}

/// An endpoint that reads as this machine but is not: a user part before
/// `@` (`http://localhost:1@evil.example/` connects to `evil.example`),
/// another scheme: refused before any call (exit 2, `bad_endpoint`),
/// whatever --allow-http-endpoint says (issue 34, item 1b).
#[test]
fn an_endpoint_with_a_user_part_is_refused_before_any_call() {
    let p = Paysec::new("userinfo");
    for url in [
        "http://localhost:1@evil.example/",
        "https://user:secret@kms.us-east-1.amazonaws.com",
    ] {
        let run = p.run(&["--endpoint-url", url, "--output", "json", "plan"]);
        assert_eq!(run.code(), 2, "{url}: {}", run.stderr());
        let err: serde_json::Value = serde_json::from_str(run.stderr().trim()).unwrap();
        assert_eq!(err["error"]["kind"], "bad_endpoint", "{err}");
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap()
                .contains("user name or password"),
            "{err}"
        );
    }
    let run = p.run(&[
        "--endpoint-url",
        "http://localhost:1@evil.example/",
        "--allow-http-endpoint",
        "plan",
    ]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert_one_clean_line(&run.stderr());
    assert!(!p.ledger_path().exists());
}

/// Only a missing `./paysec.toml` means the defaults: one that is not
/// UTF-8 is an error naming it (a shared ledger it names would otherwise
/// silently become a local one). A variable that is not UTF-8 does not
/// crash paysec; a `PAYSEC_` one is refused by name (issue 34, config).
#[test]
fn an_unreadable_config_file_or_variable_is_an_error_not_the_defaults() {
    use std::os::unix::ffi::OsStrExt;
    let p = Paysec::offline("unreadable");
    std::fs::write(
        p.dir.path().join("paysec.toml"),
        b"ledger = \"s3://team-\xff\"\n",
    )
    .unwrap();
    let run = p.run(&["plan"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(
        run.stderr().contains("cannot read config file paysec.toml"),
        "{}",
        run.stderr()
    );
    assert_one_clean_line(&run.stderr());
    std::fs::remove_file(p.dir.path().join("paysec.toml")).unwrap();
    let not_text = std::ffi::OsStr::from_bytes(b"caf\xe9");
    let other = p
        .command()
        .env("LANG_NOTE", not_text)
        .args(["graph"])
        .output()
        .unwrap();
    assert_eq!(
        other.status.code(),
        Some(0),
        "another variable is not paysec's business: {}",
        String::from_utf8_lossy(&other.stderr)
    );
    let ours = p
        .command()
        .env("PAYSEC_RDS_INSTANCE_CLASS", not_text)
        .args(["plan"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&ours.stderr);
    assert_eq!(ours.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("PAYSEC_RDS_INSTANCE_CLASS is not valid UTF-8"),
        "{stderr}"
    );
}

/// A symbolic link where paysec writes (the ledger, its lock, a report)
/// is refused, not followed; a ledger directory others can write is
/// refused.
#[test]
fn links_and_shared_directories_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let p = Paysec::offline("links");
    let dir = p.dir.path().join(".paysec");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let elsewhere = p.dir.path().join("elsewhere.json");
    std::fs::write(&elsewhere, "{}").unwrap();
    std::os::unix::fs::symlink(&elsewhere, p.ledger_path()).unwrap();
    let run = p.run(&["status"]);
    assert_eq!(run.code(), 5, "{}", run.stderr());
    assert!(
        run.stderr().contains("is a symbolic link"),
        "{}",
        run.stderr()
    );
    assert_one_clean_line(&run.stderr());
    std::fs::remove_file(p.ledger_path()).unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join(format!("{}.lock", p.env))).unwrap();
    let run = p.run(&["up", "--yes"]);
    assert_eq!(run.code(), 5, "{}", run.stderr());
    assert!(
        run.stderr().contains("is a symbolic link"),
        "{}",
        run.stderr()
    );
    std::fs::remove_file(dir.join(format!("{}.lock", p.env))).unwrap();
    assert_eq!(
        std::fs::read_to_string(&elsewhere).unwrap(),
        "{}",
        "nothing written through a link"
    );

    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = p.run(&["up", "--yes"]);
    assert_eq!(run.code(), 5, "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("can be written by its group or others"),
        "{}",
        run.stderr()
    );
    assert_one_clean_line(&run.stderr());
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode, 0o777,
        "a directory paysec did not create is never chmod-ed"
    );
}

/// The assume-role flags STS would refuse are refused before any call,
/// named by their flag; an external id is not repeated back.
#[test]
fn assume_role_flags_sts_would_refuse_are_named() {
    let p = Paysec::offline("flags");
    let role = "arn:aws:iam::222222222222:role/Deployer";
    for (flag, value, needle) in [
        (
            "--role-session-name",
            "deploy by ci",
            "--role-session-name \"deploy by ci\": must be 2 to 64 characters",
        ),
        (
            "--external-id",
            "not a valid id!",
            "--external-id: must be 2 to 1224 characters",
        ),
    ] {
        let run = p.run(&["--role-arn", role, flag, value, "status"]);
        assert_eq!(run.code(), 2, "{flag}: {}", run.stderr());
        assert!(run.stderr().contains(needle), "{flag}: {}", run.stderr());
        assert_one_clean_line(&run.stderr());
        if flag == "--external-id" {
            assert!(!run.stderr().contains(value), "{}", run.stderr());
        }
    }
}

/// A config file's parse error quotes its line, but never an external id
/// on it: the id shows as its digest (`paysec_core::shown`), as it does
/// everywhere but the auditor's hand-over.
#[test]
fn a_parse_error_on_an_external_id_s_line_does_not_show_the_id() {
    let p = Paysec::offline("xidparse");
    let id = "partner-external-id-0001";
    std::fs::write(
        p.dir.path().join("paysec.toml"),
        format!(
            "[iam]\naudit_trusted_account = \"210987654321\"\naudit_external_id = \"{id}\" extra\n"
        ),
    )
    .unwrap();
    let run = p.run(&["plan"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("line 3"), "{}", run.stderr());
    assert!(!run.stderr().contains(id), "{}", run.stderr());
    assert!(
        run.stderr().contains(&paysec_core::shown::digest_of(id)),
        "{}",
        run.stderr()
    );
}

/// A service's own endpoint setting (`AWS_ENDPOINT_URL_S3`, a profile's
/// `services` section) wins over the global one in the SDK, even over an
/// endpoint the loader is given: each is vetted as the global one is (plain
/// HTTP to another host refused, naming the service and the setting), and
/// an explicit `--endpoint-url` is what every client uses.
#[test]
fn every_service_s_endpoint_is_vetted_and_an_explicit_one_wins() {
    let p = Paysec::new("svcendpoint");
    let run = p.run_with(
        &[("AWS_ENDPOINT_URL_S3", "http://10.1.2.3:4566")],
        &["plan"],
    );
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("http://10.1.2.3:4566 (the S3 endpoint, from AWS_ENDPOINT_URL_S3) is plain HTTP to another host"),
        "{}",
        run.stderr()
    );
    assert_one_clean_line(&run.stderr());
    // A profile's services section, with no variable above it.
    let aws_dir = p.dir.path().join(".aws");
    std::fs::create_dir_all(&aws_dir).unwrap();
    std::fs::write(
        aws_dir.join("config"),
        "[profile svc]\nregion = us-east-1\nservices = svc-endpoints\n\n[services svc-endpoints]\nsts =\n  endpoint_url = http://sts.evil.example:4566\n",
    )
    .unwrap();
    let from_profile = p
        .command()
        .env_remove("AWS_ENDPOINT_URL")
        .env("AWS_PROFILE", "svc")
        .env("AWS_CONFIG_FILE", aws_dir.join("config"))
        .args(["plan"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&from_profile.stderr);
    assert_eq!(from_profile.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("(the STS endpoint, from the AWS profile"),
        "{stderr}"
    );
    // Explicit wins: STS's own variable points at a closed port, yet every
    // call goes to --endpoint-url.
    let explicit = p.run_with(
        &[("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9")],
        &["--endpoint-url", &crate::support::endpoint(), "plan"],
    );
    assert_eq!(explicit.code(), 0, "{}", explicit.stderr());
}

/// `ledger history`'s writers and a lock's holder are what the writing run
/// said of itself; its help says so and where the authenticated writer is.
#[test]
fn ledger_history_says_its_writers_are_claims() {
    let help = Paysec::offline("historyhelp")
        .run(&["ledger", "history", "--help"])
        .success()
        .stdout();
    for words in ["claims the writing run made", "CloudTrail", "data events"] {
        assert!(help.contains(words), "{words:?} in {help}");
    }
}

/// What the emulators' venvs and the example workflows run is pinned to
/// the byte: no lock names a machine's own wheel directory or another
/// index; the LocalStack lock's source-only packages build with the locked
/// setuptools, installed first, without build isolation (which would fetch
/// unpinned build tools); every action of the example workflows is pinned
/// by commit.
#[test]
fn the_supply_chain_is_pinned_to_the_byte() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let locks = root.join("scripts/emulator-locks");
    for lock in ["moto.txt", "localstack.txt", "build-tools.txt"] {
        let text = std::fs::read_to_string(locks.join(lock)).unwrap();
        for line in text.lines().map(str::trim) {
            assert!(
                !(line.starts_with("--find-links")
                    || line.starts_with("-f ")
                    || line.starts_with("--extra-index-url")
                    || line.starts_with("--index-url")
                    || line.starts_with('/')),
                "{lock}: {line}"
            );
        }
    }
    let build_tools = std::fs::read_to_string(locks.join("build-tools.txt")).unwrap();
    assert!(build_tools.contains("setuptools==") && build_tools.contains("--hash=sha256:"));
    let script = std::fs::read_to_string(root.join("scripts/emulator.sh")).unwrap();
    let tools = script
        .find("-r \"$locks/build-tools.txt\"")
        .expect("build tools installed");
    let localstack = script
        .find("--no-build-isolation -r \"$locks/localstack.txt\"")
        .expect("LocalStack installed without build isolation");
    assert!(tools < localstack, "the build tools first");
    assert!(script.contains("--no-emit-find-links"));
    for example in ["github-actions-review.yml", "github-actions-fleet.yml"] {
        let text = std::fs::read_to_string(root.join("examples").join(example)).unwrap();
        for uses in text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- uses: "))
        {
            let pinned = uses
                .split_once('@')
                .map(|(_, r)| r.split_whitespace().next().unwrap_or(""));
            assert!(
                pinned.is_some_and(|r| r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit())),
                "{example}: {uses} is not pinned by commit"
            );
        }
    }
}

//! Real AWS misbehaves; the emulator does not. These tests put the
//! fault-injecting proxy (`paysec-testkit`) between paysec and the emulator:
//! random transient failures, replayed eventual-consistency errors, a
//! non-retryable error, and crashes after the k-th API call.

use std::time::{Duration, Instant};

use paysec_testkit::{FaultProxy, Model, Scripted};

use crate::support::{aws, changed, endpoint, finding, tagged_by_logical_id, Paysec};

fn duplicates(by_id: &std::collections::BTreeMap<String, Vec<String>>) -> Vec<(String, usize)> {
    by_id
        .iter()
        .filter(|(_, a)| a.len() > 1)
        .map(|(id, a)| (id.clone(), a.len()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stdout)] // the figures are what the run is for
async fn up_and_down_survive_ten_percent_transient_faults() {
    let proxy = FaultProxy::start(&endpoint()).await.unwrap();
    proxy.set_fault_rate(0.10);
    proxy.set_latency(Duration::from_millis(5));
    let p = Paysec::new("faults");
    let url = proxy.url();
    let up = p
        .run(&["--endpoint-url", &url, "up", "--yes", "--output", "json"])
        .success()
        .json();
    let resources = up["outcomes"].as_object().unwrap().len();
    let by_id = tagged_by_logical_id(&p.env).await;
    assert!(
        duplicates(&by_id).is_empty(),
        "exactly one of each: {:?}",
        duplicates(&by_id)
    );
    let (calls, faults) = (proxy.calls(), proxy.faults());
    p.run(&[
        "--endpoint-url",
        &url,
        "down",
        "--yes",
        "--purge-audit-logs",
    ])
    .success();
    let left = tagged_by_logical_id(&p.env).await;
    assert!(left.is_empty(), "leaks after down: {left:?}");
    assert!(faults > 0, "faults were injected");
    println!(
        "fault run: up {calls} calls, {faults} faults, {resources} resources created; whole run {} calls, {} faults; leaks 0",
        proxy.calls(),
        proxy.faults()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eventual_consistency_errors_are_retried_within_their_budget() {
    let proxy = FaultProxy::start(&endpoint()).await.unwrap();
    let p = Paysec::new("consist");
    let account = "123456789012";
    let bucket = format!("PUT /paysec-{}-data-{account}", p.env);
    let versioning = format!("PUT /paysec-{}-flowlogs-{account}/?versioning", p.env);
    let add_permission = format!("POST /2015-03-31/functions/paysec-{}-payment/policy", p.env);
    let busy_api =
        "Unable to complete operation due to concurrent modification. Please try again later.";
    for (op, times, status, code, message) in [
        ("CreateKey", 2, 400, "MalformedPolicyDocumentException", "Policy contains a statement with one or more invalid principals."),
        ("CreateRole", 2, 400, "MalformedPolicyDocument", "Invalid principal in policy: \\\"AWS\\\":\\\"arn:aws:iam::123456789012:role/x\\\""),
        ("EnableKeyRotation", 1, 400, "NotFoundException", "Key is not found."),
        ("CreateAlias", 1, 400, "NotFoundException", "Key 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' does not exist"),
        ("CreateLogGroup", 2, 400, "AccessDeniedException", "The specified KMS key does not exist or is not allowed to be used with Arn 'arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/x'"),
        ("POST /2015-03-31/functions", 2, 400, "InvalidParameterValueException", "The role defined for the function cannot be assumed by Lambda."),
        ("POST /2015-03-31/functions", 1, 400, "InvalidParameterValueException", "The provided execution role does not have permissions to call CreateNetworkInterface on EC2"),
        ("/concurrency", 2, 409, "ResourceConflictException", "The operation cannot be performed at this time. The function is currently in the following state: Pending"),
        ("CreateDBInstance", 1, 400, "InvalidParameterValue", "IAM role ARN value is invalid or does not include the required permissions for: ENHANCED_MONITORING"),
        ("CreateDBInstance", 1, 400, "KMSKeyNotAccessibleFault", "The specified KMS key [arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab] does not exist, is not enabled or you do not have permissions to access it."),
        (bucket.as_str(), 1, 409, "OperationAborted", "A conflicting conditional operation is currently in progress against this resource."),
        ("CreateQueue", 1, 400, "AWS.SimpleQueueService.QueueDeletedRecently", "You must wait 60 seconds after deleting a queue before you can create another with the same name."),
        ("POST /2015-03-31/functions", 1, 400, "InvalidParameterValueException", "Lambda was unable to configure access to your environment variables because the KMS key is invalid for CreateGrant."),
        (versioning.as_str(), 1, 404, "NoSuchBucket", "The specified bucket does not exist"),
        // API Gateway: another change to the API in flight (PutMethod,
        // PutIntegration; UpdateRestApi or UpdateStage); Lambda: the
        // function updating while the API's permission is added.
        ("PUT /restapis/", 2, 409, "ConflictException", busy_api),
        ("PATCH /restapis/", 1, 409, "ConflictException", busy_api),
        (add_permission.as_str(), 1, 409, "ResourceConflictException", "The operation cannot be performed at this time. An update is in progress for resource: arn:aws:lambda:us-east-1:123456789012:function:x"),
    ] {
        proxy.script(Scripted { operation: op.into(), times, status, code: code.into(), message: message.into() });
    }
    let url = proxy.url();
    p.run(&["--endpoint-url", &url, "up", "--yes"]).success();
    assert_eq!(
        proxy.scripted_left(),
        0,
        "every scripted error was replayed"
    );

    // On the way down: ENIs still draining, a log group busy.
    for (op, times, code, message) in [
        (
            "DeleteSubnet",
            2,
            "DependencyViolation",
            "The subnet has dependencies and cannot be deleted.",
        ),
        (
            "DeleteLogGroup",
            1,
            "OperationAbortedException",
            "A conflicting operation is currently in progress against this resource.",
        ),
        (
            "DeleteDBInstance",
            1,
            "InvalidDBInstanceState",
            "Instance is not in available state.",
        ),
        (
            "DeleteDBParameterGroup",
            1,
            "InvalidDBParameterGroupState",
            "One or more database instances are still members of this parameter group.",
        ),
        (
            "DELETE /restapis/",
            2,
            "ConflictException",
            "Unable to complete operation due to concurrent modification. Please try again later.",
        ),
        (
            "DeleteDBSubnetGroup",
            1,
            "InvalidDBSubnetGroupStateFault",
            "Cannot delete the subnet group because at least one database instance is still using it.",
        ),
    ] {
        proxy.script(Scripted {
            operation: op.into(),
            times,
            status: 400,
            code: code.into(),
            message: message.into(),
        });
    }
    p.run(&[
        "--endpoint-url",
        &url,
        "down",
        "--yes",
        "--purge-audit-logs",
    ])
    .success();
    assert_eq!(
        proxy.scripted_left(),
        0,
        "every scripted error on down was replayed"
    );
    assert!(
        tagged_by_logical_id(&p.env).await.is_empty(),
        "nothing left"
    );
}

/// A create AWS acted on but whose answer was lost (the SDK then retries
/// it): subnets and security groups get a conflict (CIDR, name) and adopt
/// the first copy, as the function does (Lambda's ResourceConflictException,
/// matched by its type), and so does the API's invoke permission (its
/// statement id exists: adopted at once, not waited on as a busy
/// function); VPCs, route tables, network ACLs and keys, which AWS would
/// duplicate, have the second copy found by its tags and deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_was_lost_leaves_no_second_copy() {
    let proxy = FaultProxy::start(&endpoint()).await.unwrap();
    let p = Paysec::new("lost");
    let add_permission = format!("POST /2015-03-31/functions/paysec-{}-payment/policy", p.env);
    proxy.lose_answers(&add_permission, 1);
    for op in [
        "CreateVpc",
        "CreateSubnet",
        "CreateSecurityGroup",
        "CreateRouteTable",
        "CreateNetworkAcl",
        "CreateKey",
        // CreateFunction: the first POST on the functions path that works.
        "POST /2015-03-31/functions",
    ] {
        proxy.lose_answers(op, 1);
    }
    let url = proxy.url();
    p.run(&["--endpoint-url", &url, "up", "--yes"]).success();
    let creates = |op: &str| proxy.log().iter().filter(|s| s.as_str() == op).count();
    assert!(
        creates("CreateVpc") >= 2
            && creates("CreateKey") >= 5
            && creates("POST /2015-03-31/functions") >= 2,
        "the lost creates were repeated by the SDK"
    );
    let adds = proxy
        .log()
        .iter()
        .filter(|s| s.starts_with(&add_permission))
        .count();
    assert_eq!(
        adds, 2,
        "the lost AddPermission, then its conflict (the statement exists), adopted"
    );
    let policy = aws()
        .await
        .lambda
        .get_policy()
        .function_name(format!("paysec-{}-payment", p.env))
        .qualifier("live")
        .send()
        .await
        .unwrap();
    let statements: serde_json::Value =
        serde_json::from_str(policy.policy().unwrap_or_default()).unwrap();
    assert_eq!(
        statements["Statement"].as_array().map(Vec::len),
        Some(1),
        "one invoke statement: {statements}"
    );
    let by_id = tagged_by_logical_id(&p.env).await;
    assert_eq!(duplicates(&by_id), vec![], "no second copy is left");
    p.run(&[
        "--endpoint-url",
        &url,
        "down",
        "--yes",
        "--purge-audit-logs",
    ])
    .success();
    assert!(
        tagged_by_logical_id(&p.env).await.is_empty(),
        "nothing left"
    );
}

/// Under the latency model's slow resources and IAM and KMS propagation
/// (every create naming a role or key younger than its propagation time
/// is refused in its service's words: KMS, Lambda, RDS, CloudWatch Logs,
/// and flow logs' unsuccessful item), `up` still converges, waits for real
/// readiness, and `down` removes everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_converges_under_slow_readiness_and_iam_and_kms_propagation() {
    let proxy = FaultProxy::start(&endpoint()).await.unwrap();
    proxy.set_model(Model {
        call_latency: Duration::ZERO,
        rds_create: Duration::from_secs(3),
        rds_delete: Duration::from_secs(2),
        lambda_pending: Duration::from_secs(1),
        endpoint_pending: Duration::from_secs(1),
        iam_propagation: Duration::from_millis(1500),
        kms_propagation: Duration::from_millis(1000),
        service_in_flight: 20,
    });
    let p = Paysec::new("model");
    let url = proxy.url();
    let started = Instant::now();
    p.run(&["--endpoint-url", &url, "up", "--yes"]).success();
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "up waited for the database to become available"
    );
    let log = proxy.log();
    let refused_then_created = |op: &str| log.iter().filter(|s| s.as_str() == op).count() >= 2;
    assert!(
        proxy.modelled() > 0 && refused_then_created("CreateFlowLogs"),
        "the flow log was refused while its role propagated, then created"
    );
    // The stack has four keys; CreateKey itself may be refused more often
    // (a key policy naming a young role), so count what follows it.
    let rotations = log
        .iter()
        .filter(|s| s.as_str() == "EnableKeyRotation")
        .count();
    assert!(
        rotations > 4,
        "key rotation was refused while the keys propagated, then enabled: {rotations} EnableKeyRotation for 4 keys"
    );
    assert!(
        log.iter()
            .filter(|s| s.as_str() == "DescribeDBInstances")
            .count()
            >= 3,
        "the database was polled until available"
    );
    let function_polls = log
        .iter()
        .filter(|s| s.starts_with("GET /2015-03-31/functions/") && s.contains("/configuration"))
        .count();
    assert!(function_polls >= 2, "the function was polled until Active");
    let again = p
        .run(&["--endpoint-url", &url, "up", "--yes", "--output", "json"])
        .success()
        .json();
    let changed = changed(&again);
    assert!(changed.is_empty(), "converged: {changed:?}");
    p.run(&[
        "--endpoint-url",
        &url,
        "down",
        "--yes",
        "--purge-audit-logs",
    ])
    .success();
    assert!(
        tagged_by_logical_id(&p.env).await.is_empty(),
        "nothing left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_retryable_error_fails_fast_with_the_aws_code_and_message() {
    let proxy = FaultProxy::start(&endpoint()).await.unwrap();
    proxy.script(Scripted {
        operation: "CreateKey".into(),
        times: 1000,
        status: 400,
        code: "AccessDeniedException".into(),
        message:
            "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: kms:CreateKey"
                .into(),
    });
    let p = Paysec::new("denied");
    let started = Instant::now();
    let run = p.run(&["--endpoint-url", &proxy.url(), "up", "--yes"]);
    // Refused for want of a permission: exit 4, naming the statement of
    // `paysec iam-policy` that grants it (issue 33).
    assert_eq!(run.code(), 4, "{}", run.stderr());
    assert!(
        run.stderr().contains(
            "statement KeysWriteTaggedOnCreate of `paysec iam-policy --for deploy` grants it"
        ),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr().contains("AccessDeniedException"),
        "the AWS code: {}",
        run.stderr()
    );
    assert!(
        run.stderr()
            .contains("not authorized to perform: kms:CreateKey"),
        "the AWS message"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "fails fast: {:?}",
        started.elapsed()
    );
    // Clean up what was created before the failure.
    p.run(&["down", "--yes"]).success();
}

/// The kill points: `PAYSEC_CRASH_KS` (comma-separated, or `all` for every
/// call of a run), else a sample spread over a run.
fn kill_points(total: usize) -> Vec<usize> {
    match std::env::var("PAYSEC_CRASH_KS").ok().as_deref() {
        Some("all") => (1..total).collect(),
        Some(list) => list
            .split(',')
            .filter_map(|k| k.trim().parse().ok())
            .filter(|k| *k < total)
            .collect(),
        None => [1, 4, 12, 30, 60, 100, 150, 200, 260]
            .into_iter()
            .filter(|k| *k < total)
            .collect(),
    }
}

/// Starts `paysec args` through the proxy and kills it (SIGKILL) once the
/// proxy has seen `k` more calls, or lets it finish.
async fn kill_at_call(p: &Paysec, proxy: &FaultProxy, args: &[&str], k: usize) {
    let mut child = p
        .command()
        .args(["--endpoint-url", &proxy.url()])
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = proxy.calls();
    loop {
        if proxy.calls() >= start + k {
            let _ = child.kill();
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stdout)] // the figures are what the sweep is for
async fn killed_after_the_kth_call_up_and_down_converge_without_duplicates_or_leaks() {
    let proxy = FaultProxy::start(&endpoint()).await.unwrap();
    // Measure a full run's calls in a scratch environment.
    let probe = Paysec::new("probe");
    probe
        .run(&["--endpoint-url", &proxy.url(), "up", "--yes"])
        .success();
    let total_up = proxy.calls();
    let before = proxy.calls();
    probe
        .run(&["--endpoint-url", &proxy.url(), "down", "--yes"])
        .success();
    let total_down = proxy.calls() - before;

    let ks = kill_points(total_up);
    let (mut dup_total, mut leak_total) = (0, 0);
    for &k in &ks {
        let p = Paysec::new("kth");
        kill_at_call(&p, &proxy, &["up", "--yes"], k).await;
        if p.ledger_path().exists() {
            let _ = p.ledger(); // parses: writes are atomic
        }
        p.run(&["up", "--yes"]).success();
        let dups = duplicates(&tagged_by_logical_id(&p.env).await);
        dup_total += dups.len();
        assert!(dups.is_empty(), "k={k}: duplicates {dups:?}");
        // And down interrupted at the same point of its own run.
        kill_at_call(
            &p,
            &proxy,
            &["down", "--yes"],
            k.min(total_down.saturating_sub(1)).max(1),
        )
        .await;
        p.run(&["down", "--yes", "--purge-audit-logs"]).success();
        let left = tagged_by_logical_id(&p.env).await;
        leak_total += left.len();
        assert!(left.is_empty(), "k={k}: leaked {left:?}");
    }
    println!(
        "crash sweep: a full up makes {total_up} calls, a down {total_down}; killed at k = {ks:?}; duplicates {dup_total}; leaks {leak_total}"
    );
}

/// A readiness budget from the config is the one the wait uses: a function
/// still Pending after `lambda.wait_minutes` (1) fails the run with a
/// timeout naming it and the setting to raise (exit 3), the ledger keeps it
/// as created, not ready; once AWS catches up a re-run converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_past_its_configured_budget_fails_naming_the_setting_and_a_rerun_converges() {
    let proxy = FaultProxy::start(&endpoint()).await.unwrap();
    let slow_lambda = |pending| Model {
        call_latency: Duration::ZERO,
        rds_create: Duration::ZERO,
        rds_delete: Duration::ZERO,
        lambda_pending: pending,
        endpoint_pending: Duration::ZERO,
        iam_propagation: Duration::ZERO,
        kms_propagation: Duration::ZERO,
        service_in_flight: 100,
    };
    proxy.set_model(slow_lambda(Duration::from_secs(3600)));
    let p = Paysec::new("budget");
    let url = proxy.url();
    let run = p.run_with(
        &[("PAYSEC_LAMBDA_WAIT_MINUTES", "1")],
        &["--endpoint-url", &url, "up", "--yes"],
    );
    assert_eq!(run.code(), 3, "{}", run.stderr());
    let err = run.stderr();
    assert!(
        err.contains("lambda.function: still not Active after 6")
            && err.contains("raise `lambda.wait_minutes`"),
        "{err}"
    );
    assert_eq!(
        p.ledger()["resources"]["lambda.function"]["status"],
        "created"
    );

    proxy.set_model(slow_lambda(Duration::ZERO));
    let again = p
        .run(&["--endpoint-url", &url, "up", "--yes", "--output", "json"])
        .success()
        .json();
    assert_eq!(again["outcomes"]["lambda.function"], "unchanged", "{again}");
    assert_eq!(
        p.ledger()["resources"]["lambda.function"]["status"],
        "ready"
    );
    p.run(&[
        "--endpoint-url",
        &url,
        "down",
        "--yes",
        "--purge-audit-logs",
    ])
    .success();
    assert!(
        tagged_by_logical_id(&p.env).await.is_empty(),
        "nothing left"
    );
}

/// A preflight read a service keeps failing (an emulator's HTTP 500 for what
/// it lacks, an AWS outage) is tried twice, not for the run's ten attempts
/// with backoff (most of a minute), and reported as not checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preflight_read_that_keeps_failing_is_tried_twice_and_not_checked() {
    let proxy = FaultProxy::start(&endpoint()).await.unwrap();
    proxy.script(Scripted {
        operation: "DescribeDBEngineVersions".into(),
        times: 10,
        status: 500,
        code: "InternalFailure".into(),
        message: "scripted".into(),
    });
    let p = Paysec::new("pf500");
    let url = proxy.url();
    let plan = p
        .run(&["--endpoint-url", &url, "plan", "--output", "json"])
        .success()
        .json();
    let line = plan["preflight"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "rds engine version")
        .cloned()
        .unwrap();
    assert_eq!(line["verdict"], "not_checked", "{line}");
    let tries = proxy
        .log()
        .iter()
        .filter(|c| c.contains("DescribeDBEngineVersions"))
        .count();
    assert_eq!(tries, 2, "one attempt and one retry");
}

/// A function AWS marked Failed (its KMS key deleted, say) is reported as
/// such, with AWS's reason, by `plan`, `up` and `invoke`: not as a drift
/// of one of its properties, and not as a bare error of the next call.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_function_is_named_with_its_reason_by_plan_up_and_invoke() {
    let proxy = FaultProxy::start(&endpoint()).await.unwrap();
    let url = proxy.url();
    let p = Paysec::new("failedfn");
    let rds_off = [("PAYSEC_RDS_ENABLED", "false")];
    p.run_with(&rds_off, &["--endpoint-url", &url, "up", "--yes"])
        .success();
    let reason =
        "Lambda was unable to decrypt the environment variables because the KMS key was not found.";
    proxy.rewrite_answers(
        "/2015-03-31/functions/",
        "\"State\": \"Active\"",
        &format!(
            "\"State\": \"Failed\", \"StateReasonCode\": \"KMSKeyNotFoundException\", \"StateReason\": \"{reason}\""
        ),
    );
    for args in [&["plan"][..], &["up", "--yes"][..], &["invoke"][..]] {
        let mut all = vec!["--endpoint-url", url.as_str()];
        all.extend_from_slice(args);
        let run = p.run_with(&rds_off, &all);
        let stderr = run.stderr();
        assert_ne!(run.code(), 0, "{args:?} fails: {stderr}");
        assert!(
            stderr.contains("is Failed: KMSKeyNotFoundException") && stderr.contains(reason),
            "{args:?} names the state and AWS's reason: {stderr}"
        );
        assert!(
            !stderr.contains("drift") && !stderr.contains("repair"),
            "{args:?}: not a property drift: {stderr}"
        );
    }
    p.run_with(&rds_off, &["down", "--yes"]).success();
}

/// Expired credentials and a caller AWS denies, as a user meets them: at
/// most two lines on stderr (no SDK internals, no escape codes), the
/// documented exit code, no ledger written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_credentials_and_a_denied_caller_are_at_most_two_clean_lines() {
    let expired = FaultProxy::start(&endpoint()).await.unwrap();
    expired.script(Scripted {
        operation: "GetCallerIdentity".into(),
        times: 1000,
        status: 403,
        code: "ExpiredToken".into(),
        message: "The security token included in the request is expired".into(),
    });
    let denied = FaultProxy::start(&endpoint()).await.unwrap();
    for op in [
        "GetRole",
        "DescribeAvailabilityZones",
        "DescribeVpcs",
        "ListKeys",
        "DescribeKey",
    ] {
        denied.script(Scripted {
            operation: op.into(),
            times: 1000,
            status: 403,
            code: "AccessDenied".into(),
            message: format!("User: arn:aws:sts::123456789012:assumed-role/ReadNothing/dev is not authorized to perform: {op} because no identity-based policy allows the {op} action"),
        });
    }
    let p = Paysec::new("creds");
    for (proxy, command, code, needle) in [
        (
            &expired,
            "plan",
            4,
            "the credentials have expired: renew them",
        ),
        (
            &expired,
            "verify",
            4,
            "the credentials have expired: renew them",
        ),
        (&denied, "plan", 2, "not authorized to perform: GetRole"),
        (&denied, "up", 2, "not authorized to perform: GetRole"),
    ] {
        let run = p.run(
            &["--endpoint-url", &proxy.url(), command, "--yes"]
                [..if command == "up" { 4 } else { 3 }],
        );
        let stderr = run.stderr();
        assert_eq!(run.code(), code, "{command}: {stderr}");
        assert!(stderr.contains(needle), "{command}: {stderr}");
        assert!(
            stderr.lines().count() <= 2,
            "{command}: at most two lines: {stderr}"
        );
        assert!(
            !stderr.contains('\x1b')
                && !stderr.contains("DispatchFailure")
                && !stderr.contains("Some("),
            "{stderr}"
        );
    }
    assert!(!p.ledger_path().exists(), "no ledger written");
}

/// A flow log AWS cannot deliver (its role refused, its destination gone)
/// fails LOG-6 with AWS's own reason, while its configuration still
/// matches: the status is what AWS says, not what paysec asked for.
#[tokio::test(flavor = "multi_thread")]
async fn a_flow_log_aws_cannot_deliver_fails_with_its_reason() {
    let proxy = FaultProxy::start(&endpoint()).await.unwrap();
    let url = proxy.url();
    let p = Paysec::new("undelivered");
    let core = [
        ("PAYSEC_RDS_ENABLED", "false"),
        ("PAYSEC_LAMBDA_ENABLED", "false"),
    ];
    p.run_with(&core, &["--endpoint-url", &url, "up", "--yes"])
        .success();
    proxy.rewrite_answers(
        "DescribeFlowLogs",
        "<deliverLogsStatus>SUCCESS</deliverLogsStatus>",
        "<deliverLogsStatus>FAILED</deliverLogsStatus><deliverLogsErrorMessage>Access error</deliverLogsErrorMessage>",
    );
    let run = p.run_with(
        &core,
        &["--endpoint-url", &url, "verify", "--output", "json"],
    );
    assert_eq!(run.code(), 6, "{}", run.stderr());
    let report = run.json();
    for id in ["network.flow-log-s3", "network.flow-log-cloudwatch"] {
        let f = finding(&report, "LOG-6", Some(id));
        assert_eq!(
            (&f["verdict"], &f["observed"]),
            (
                &serde_json::Value::from("FAIL"),
                &serde_json::Value::from("FAILED: Access error")
            ),
            "{id}"
        );
    }
    // `up` does not make them again: that fixes nothing outside them and
    // leaves a gap in the logs each time. It says why, with AWS's reason.
    let flow_logs = || -> Vec<String> {
        ["network.flow-log-s3", "network.flow-log-cloudwatch"]
            .iter()
            .map(|id| {
                p.ledger()["resources"][id]["physical_id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let before = flow_logs();
    let up = p.run_with(&core, &["--endpoint-url", &url, "up", "--yes"]);
    assert_eq!(up.code(), 0, "{}", up.stderr());
    assert!(
        up.stderr()
            .contains("not delivering (FAILED: Access error)")
            && up.stderr().contains("left as it is"),
        "{}",
        up.stderr()
    );
    assert_eq!(before, flow_logs(), "the flow logs are the same ones");
    assert!(
        !proxy.log().iter().any(|c| c == "DeleteFlowLogs"),
        "no flow log deleted"
    );
    p.run_with(&core, &["down", "--yes", "--purge-audit-logs"])
        .success();
}

/// A DB snapshot that is not encrypted with the stack's key fails RDS-21
/// with the snapshot named, and `up` stops with how to fix it (RDS cannot
/// re-encrypt a snapshot in place; paysec deletes none). AWS never makes a
/// snapshot of an encrypted instance unencrypted, nor lets an encrypted
/// one be public (the rules layer refuses it as AWS does): the answer is
/// rewritten to show one. A flow-log group whose newest event is shown two
/// days old fails LOG-7 (a source that stopped).
#[tokio::test(flavor = "multi_thread")]
async fn an_unencrypted_snapshot_and_a_short_log_prefix_fail_and_up_says_how_to_fix_them() {
    let proxy = FaultProxy::start(&endpoint()).await.unwrap();
    let url = proxy.url();
    let p = Paysec::new("snapshot");
    let no_function = [("PAYSEC_LAMBDA_ENABLED", "false")];
    p.run_with(&no_function, &["--endpoint-url", &url, "up", "--yes"])
        .success();
    // RDS-25: moto lists no system parameter; AWS lists RDS's fixed
    // `log_line_prefix`, shown here as AWS would answer it.
    proxy.rewrite_answers(
        "DescribeDBParameters",
        "<Parameters>",
        "<Parameters><Parameter><ParameterName>log_line_prefix</ParameterName><ParameterValue>%t:%r:%u@%d:[%p]:</ParameterValue><Source>system</Source><ApplyType>dynamic</ApplyType><IsModifiable>false</IsModifiable></Parameter>",
    );
    let verify = || {
        p.run_with(
            &no_function,
            &[
                "--endpoint-url",
                &url,
                "verify",
                "--allow-unknown",
                "--output",
                "json",
            ],
        )
    };
    let clean = verify().json();
    let prefix = finding(&clean, "RDS-25", None);
    assert_eq!(
        (&prefix["verdict"], &prefix["observed"]),
        (
            &serde_json::Value::from("PASS"),
            &serde_json::Value::from("\"%t:%r:%u@%d:[%p]:\" (system)")
        )
    );
    // LOG-7: a flow-log record delivered (as the service would; moto
    // delivers none), then shown two days old, as a flow log that stopped
    // leaves its group: FAIL, with the age and where to look.
    let group = p.ledger()["resources"]["logs.flow-logs"]["attrs"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    crate::support::deliver_log_event(
        &group,
        "eni-0a1b2c3d4e5f60718-all",
        "2 123456789012 eni-0a1b2c3d4e5f60718 - - - - - - - 1733030000 1733030060 - NODATA",
    )
    .await;
    let logs = aws().await.logs;
    let ingested = logs
        .describe_log_streams()
        .log_group_name(&group)
        .send()
        .await
        .unwrap()
        .log_streams()[0]
        .last_ingestion_time()
        .unwrap();
    proxy.rewrite_answers(
        "DescribeLogStreams",
        &format!("\"lastIngestionTime\": {ingested}"),
        &format!("\"lastIngestionTime\": {}", ingested - 48 * 3_600_000),
    );
    let stale = verify().json();
    let log7 = finding(&stale, "LOG-7", Some("logs.flow-logs"));
    assert_eq!(log7["verdict"], "FAIL", "{log7}");
    let observed = log7["observed"].as_str().unwrap();
    assert!(
        observed.starts_with("stopped: last event ingested ")
            && observed.contains("(2 days ago) in stream eni-0a1b2c3d4e5f60718-all")
            && observed.contains("LOG-6"),
        "{observed}"
    );
    proxy.rewrite_answers(
        "DescribeDBSnapshots",
        "<Encrypted>true</Encrypted>",
        "<Encrypted>false</Encrypted>",
    );
    let run = verify();
    assert_eq!(run.code(), 6, "{}", run.stderr());
    let report = run.json();
    let f = finding(&report, "RDS-21", None);
    assert_eq!(f["verdict"], "FAIL", "{f}");
    assert!(
        f["observed"]
            .as_str()
            .unwrap()
            .contains("automated, unencrypted"),
        "{f}"
    );
    let up = p.run_with(&no_function, &["--endpoint-url", &url, "up", "--yes"]);
    assert_ne!(up.code(), 0);
    assert!(
        up.stderr()
            .contains("aws rds copy-db-snapshot --kms-key-id"),
        "{}",
        up.stderr()
    );
    // A prefix that leaves out who and where: RDS-25 fails, and up stops
    // (RDS fixes the value: nothing paysec could set).
    proxy.rewrite_answers(
        "DescribeDBParameters",
        "<ParameterValue>%t:%r:%u@%d:[%p]:</ParameterValue>",
        "<ParameterValue>%p</ParameterValue>",
    );
    let run = verify();
    assert_eq!(finding(&run.json(), "RDS-25", None)["verdict"], "FAIL");
    let up = p.run_with(&no_function, &["--endpoint-url", &url, "up", "--yes"]);
    assert!(
        up.code() != 0 && up.stderr().contains("log_line_prefix is \"%p\" (system)"),
        "{}",
        up.stderr()
    );
    p.run_with(&no_function, &["down", "--yes"]).success();
}

/// RDS-26: the master password's secret rotates. moto reports no rotation
/// for the secret RDS manages until one is set (UNKNOWN, with why); once
/// set it is quoted (PASS); a secret whose rotation AWS reports off fails,
/// and `up` turns it back on with RotateSecret.
#[tokio::test(flavor = "multi_thread")]
async fn the_master_secret_rotates_and_up_turns_rotation_back_on() {
    let proxy = FaultProxy::start(&endpoint()).await.unwrap();
    let url = proxy.url();
    let p = Paysec::new("rotation");
    let no_function = [("PAYSEC_LAMBDA_ENABLED", "false")];
    p.run_with(&no_function, &["--endpoint-url", &url, "up", "--yes"])
        .success();
    let rds26 = |args: &[&str]| {
        let mut all = vec!["--endpoint-url", url.as_str(), "verify", "--allow-unknown"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--output", "json"]);
        let run = p.run_with(&no_function, &all);
        let f = finding(&run.json(), "RDS-26", None);
        (
            run.code(),
            f["verdict"].as_str().unwrap().to_owned(),
            f["observed"].as_str().unwrap().to_owned(),
        )
    };
    let (_, verdict, why) = rds26(&[]);
    assert_eq!(
        (verdict.as_str(), why.as_str()),
        (
            "UNKNOWN",
            "moto does not report a managed secret's rotation"
        )
    );
    let secret = p.ledger()["resources"]["rds.instance"]["attrs"]["master_user_secret_arn"]
        .as_str()
        .unwrap()
        .to_owned();
    let aws = aws().await;
    aws.secrets
        .rotate_secret()
        .secret_id(&secret)
        .rotation_rules(
            paysec_aws::sdk::secretsmanager::types::RotationRulesType::builder()
                .automatically_after_days(7)
                .build(),
        )
        .rotate_immediately(false)
        .send()
        .await
        .unwrap();
    let (code, verdict, observed) = rds26(&[]);
    assert_eq!((code, verdict.as_str()), (0, "PASS"), "{observed}");
    assert!(
        observed.starts_with("rotation on: every 7 days; last rotated"),
        "{observed}"
    );
    proxy.rewrite_answers(
        "DescribeSecret",
        "\"RotationEnabled\": true",
        "\"RotationEnabled\": false",
    );
    let (code, verdict, observed) = rds26(&[]);
    assert_eq!((code, verdict.as_str()), (6, "FAIL"), "{observed}");
    assert!(observed.starts_with("rotation off"), "{observed}");
    p.run_with(&no_function, &["--endpoint-url", &url, "up", "--yes"])
        .success();
    assert!(
        proxy.log().iter().any(|c| c.contains("RotateSecret")),
        "up turned rotation back on"
    );
    p.run_with(&no_function, &["down", "--yes"]).success();
}

/// RDS-21 on a public snapshot, all of it live: a manual snapshot left by
/// an earlier, unencrypted database of the same name (RDS lists a snapshot
/// under the identifier of the instance it was taken from, whichever
/// instance that was), made public, as RDS lets an unencrypted snapshot be.
/// `verify` fails it naming both faults; `up` makes it private, then stops
/// on the encryption it cannot change, with the command that copies it;
/// once its owner deletes it, RDS-21 passes.
#[tokio::test(flavor = "multi_thread")]
async fn a_public_snapshot_fails_and_up_makes_it_private() {
    let p = Paysec::new("public-snap");
    let no_function = [("PAYSEC_LAMBDA_ENABLED", "false")];
    let db = format!("paysec-{}-db", p.env);
    let old = format!("{db}-before-paysec");
    let rds = aws().await.rds;
    rds.create_db_instance()
        .db_instance_identifier(&db)
        .engine("postgres")
        .engine_version("16.9")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("legacy_owner")
        .manage_master_user_password(true)
        .storage_encrypted(false)
        .send()
        .await
        .unwrap();
    rds.create_db_snapshot()
        .db_instance_identifier(&db)
        .db_snapshot_identifier(&old)
        .send()
        .await
        .unwrap();
    // RDS shares and deletes a snapshot only once it is `available`
    // (minutes on AWS: `aws rds wait db-snapshot-available`); moto's is at
    // once, read here rather than assumed.
    let status = rds
        .describe_db_snapshots()
        .db_snapshot_identifier(&old)
        .send()
        .await
        .unwrap();
    assert_eq!(
        status.db_snapshots()[0].status(),
        Some("available"),
        "{status:?}"
    );
    rds.delete_db_instance()
        .db_instance_identifier(&db)
        .skip_final_snapshot(true)
        .send()
        .await
        .unwrap();
    // The rules layer refuses `all` on an encrypted snapshot only.
    rds.modify_db_snapshot_attribute()
        .db_snapshot_identifier(&old)
        .attribute_name("restore")
        .values_to_add("all")
        .send()
        .await
        .unwrap();

    let rds21 = || {
        let run = p.run_with(
            &no_function,
            &["verify", "--allow-unknown", "--output", "json"],
        );
        let f = finding(&run.json(), "RDS-21", None);
        (run.code(), f)
    };
    // A new database is created, not compared: the first `up` does not
    // read older snapshots; `verify` does.
    p.run_with(&no_function, &["up", "--yes"]).success();
    let (code, f) = rds21();
    assert_eq!(code, 6, "{f}");
    assert_eq!(f["verdict"], "FAIL", "{f}");
    assert_eq!(
        f["observed"],
        format!("{old} (manual, public, unencrypted)"),
        "{f}"
    );
    let up = p.run_with(&no_function, &["up", "--yes"]);
    assert_ne!(up.code(), 0);
    assert!(
        up.stderr().contains(&format!(
            "DB snapshot {old} is not encrypted with the RDS key (unencrypted)"
        )) && up
            .stderr()
            .contains("aws rds copy-db-snapshot --kms-key-id"),
        "{}",
        up.stderr()
    );
    // Private now, read back from RDS; still unencrypted, still a FAIL.
    let (_, f) = rds21();
    assert_eq!(f["verdict"], "FAIL", "{f}");
    assert_eq!(f["observed"], format!("{old} (manual, unencrypted)"), "{f}");
    let restore = restorers(&rds, &old).await;
    assert!(restore.is_empty(), "{restore:?}");
    // The owner copies it under the RDS key (not needed here) and deletes
    // the original: RDS-21 passes, quoting what RDS listed.
    rds.delete_db_snapshot()
        .db_snapshot_identifier(&old)
        .send()
        .await
        .unwrap();
    let (_, f) = rds21();
    assert_eq!(f["verdict"], "PASS", "{f}");
    assert!(!f["observed"].as_str().unwrap().contains(&old), "{f}");
    // Shared with an account the configuration does not name: a failure,
    // which `up` takes off; named in rds.snapshot_restorers: a deviation,
    // quoted, never a pass.
    let shared = format!("{db}-shared");
    rds.create_db_snapshot()
        .db_instance_identifier(&db)
        .db_snapshot_identifier(&shared)
        .send()
        .await
        .unwrap();
    rds.modify_db_snapshot_attribute()
        .db_snapshot_identifier(&shared)
        .attribute_name("restore")
        .values_to_add("210987654321")
        .send()
        .await
        .unwrap();
    let (code, f) = rds21();
    assert_eq!((code, f["verdict"].as_str()), (6, Some("FAIL")), "{f}");
    assert!(
        f["observed"]
            .as_str()
            .unwrap()
            .contains("restorable by 210987654321 (not named in rds.snapshot_restorers)"),
        "{f}"
    );
    let named = p.run_with(
        &[
            no_function[0],
            ("PAYSEC_RDS_SNAPSHOT_RESTORERS", "210987654321"),
        ],
        &["verify", "--allow-unknown", "--output", "json"],
    );
    let f = finding(&named.json(), "RDS-21", None);
    assert_eq!(f["verdict"], "DEVIATION", "{f}");
    assert!(
        f["observed"]
            .as_str()
            .unwrap()
            .contains("restorable by 210987654321"),
        "{f}"
    );
    p.run_with(&no_function, &["up", "--yes"]).success();
    let restore = restorers(&rds, &shared).await;
    assert!(restore.is_empty(), "the share is taken off: {restore:?}");
    let (_, f) = rds21();
    assert_eq!(f["verdict"], "PASS", "{f}");
    rds.delete_db_snapshot()
        .db_snapshot_identifier(&shared)
        .send()
        .await
        .unwrap();
    p.run_with(&no_function, &["down", "--yes"]).success();
}

/// Who may restore `snapshot`, as RDS lists it (`all`: anyone).
async fn restorers(rds: &paysec_aws::sdk::rds::Client, snapshot: &str) -> Vec<String> {
    rds.describe_db_snapshot_attributes()
        .db_snapshot_identifier(snapshot)
        .send()
        .await
        .unwrap()
        .db_snapshot_attributes_result()
        .unwrap()
        .db_snapshot_attributes()
        .iter()
        .filter(|a| a.attribute_name() == Some("restore"))
        .flat_map(|a| a.attribute_values().to_vec())
        .collect()
}

/// The account's Lambda settings unanswered (GetAccountSettings failing
/// with Lambda's `ServiceException`; a refusal for want of a permission
/// would stop the run naming its statement): the reservation is tried,
/// and Lambda's refusal for lack of room (a new account's limit, the rules
/// layer's) is the warning a readable account gets, not a failed `up`.
#[tokio::test(flavor = "multi_thread")]
async fn a_reservation_refused_for_lack_of_room_is_a_warning() {
    let proxy = FaultProxy::start(&endpoint()).await.unwrap();
    proxy.script(Scripted {
        operation: "GET /2016-08-19/account-settings".into(),
        times: 1000,
        status: 500,
        code: "ServiceException".into(),
        message: "The service encountered an internal error.".into(),
    });
    let p = Paysec::new("noroom");
    let core = [("PAYSEC_RDS_ENABLED", "false")];
    let up = p.run_with(&core, &["--endpoint-url", &proxy.url(), "up", "--yes"]);
    assert_eq!(up.code(), 0, "{}", up.stderr());
    assert!(
        up.stderr()
            .contains("reserved concurrency not set: Lambda refused 10")
            && up.stderr().contains("below its minimum value"),
        "{}",
        up.stderr()
    );
    p.run_with(&core, &["down", "--yes"]).success();
}

/// A flow log whose settings drifted is made again by `up`'s repair, with
/// a client token of its own: the first create's token would make EC2
/// answer with the flow log just deleted (the rules layer replays a
/// token's first answer, as EC2 does), and nothing would be made. The
/// drift is scripted (flow logs cannot be changed in place).
#[tokio::test(flavor = "multi_thread")]
async fn a_flow_log_made_again_by_a_repair_is_a_new_one() {
    let proxy = FaultProxy::start(&endpoint()).await.unwrap();
    let url = proxy.url();
    let p = Paysec::new("remade");
    let core = [
        ("PAYSEC_RDS_ENABLED", "false"),
        ("PAYSEC_LAMBDA_ENABLED", "false"),
    ];
    p.run_with(&core, &["--endpoint-url", &url, "up", "--yes"])
        .success();
    let id_of = |p: &Paysec| {
        p.ledger()["resources"]["network.flow-log-s3"]["physical_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let first = id_of(&p);
    proxy.rewrite_answers(
        "DescribeFlowLogs",
        "<trafficType>ALL</trafficType>",
        "<trafficType>REJECT</trafficType>",
    );
    let up = p.run_with(
        &core,
        &["--endpoint-url", &url, "up", "--yes", "--output", "json"],
    );
    assert_eq!(up.code(), 0, "{}", up.stderr());
    assert_eq!(up.json()["outcomes"]["network.flow-log-s3"], "repaired");
    let second = id_of(&p);
    assert_ne!(second, first, "made again");
    // Read past the rewriting proxy: the flow log the ledger names exists.
    let aws = crate::support::aws().await;
    let found = aws
        .ec2
        .describe_flow_logs()
        .flow_log_ids(&second)
        .send()
        .await
        .unwrap();
    assert_eq!(found.flow_logs().len(), 1, "{second} exists");
    p.run_with(&core, &["down", "--yes", "--purge-audit-logs"])
        .success();
}

/// `down` deletes exactly what it proved this environment's: a ledger
/// edited to name a neighbour's dead-letter queue (environment `NAME-2`,
/// whose names start with `NAME`'s prefix) leaves that queue, and the
/// failed events it holds, alone; the ownership read examines the queue
/// the delete would act on, its whole name and its tags (issue 34, item 3).
#[tokio::test(flavor = "multi_thread")]
async fn down_never_deletes_a_neighbour_s_queue_named_in_an_edited_ledger() {
    let ours = Paysec::new("nbr");
    let mut theirs = Paysec::new("nbr");
    theirs.env = format!("{}-2", ours.env);
    let core = [
        ("PAYSEC_RDS_ENABLED", "false"),
        ("PAYSEC_API_ENABLED", "false"),
    ];
    ours.run_with(&core, &["up", "--yes"]).success();
    theirs.run_with(&core, &["up", "--yes"]).success();
    let url = |p: &Paysec| {
        p.ledger()["resources"]["lambda.dlq"]["physical_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (our_queue, their_queue) = (url(&ours), url(&theirs));
    let edit = |from: &str, to: &str| {
        let text = std::fs::read_to_string(ours.ledger_path()).unwrap();
        std::fs::write(ours.ledger_path(), text.replace(from, to)).unwrap();
    };
    edit(&our_queue, &their_queue);
    let down = ours.run_with(&core, &["down", "--yes"]);
    assert_ne!(down.code(), 0, "{}", down.stderr());
    assert!(
        down.stderr().contains("not deleting it")
            && down.stderr().contains("not this environment's"),
        "{}",
        down.stderr()
    );
    let aws = aws().await;
    aws.sqs
        .get_queue_attributes()
        .queue_url(&their_queue)
        .send()
        .await
        .expect("the neighbour's queue stays");
    // The ledger put right, both go.
    edit(&their_queue, &our_queue);
    ours.run_with(&core, &["down", "--yes"]).success();
    theirs.run_with(&core, &["down", "--yes"]).success();
}

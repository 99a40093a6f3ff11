//! Least privilege, proven by enforcement (issue 33): paysec runs as a
//! role holding only the policies `paysec iam-policy` generates, on a moto
//! of its own with IAM enforcement on (`/moto-api/reset-auth`, moto's
//! server form of `INITIAL_NO_AUTH_ACTION_COUNT`), behind the AWS rules.
//!
//! moto evaluates an IAM action named after the operation (`ec2:CreateVpc`;
//! API Gateway's `apigateway:GetRestApi` where IAM says `apigateway:GET`),
//! on the resource `*` for every service but S3 (bucket and object ARNs),
//! and passes conditions it has no value for; its S3 action names are its
//! own. So the role's policies are the generated ones in moto's terms
//! ([`in_moto_terms`]): each statement grants the operations it serves
//! (`calls` in `--output json`) by moto's names on `*`, S3 statements
//! `s3:*` on their own buckets. What moto cannot check this way (resource
//! ARNs but S3's, conditions, the actions an operation needs beside its
//! own) is listed in `docs/emulator-gaps.md`; so is the signature check
//! this moto skips (`Moto::start_enforcing`).

use std::collections::BTreeSet;

use paysec_testkit::moto::{http, Moto};
use paysec_testkit::{FaultProxy, Rules};
use serde_json::{json, Value};

use crate::support::{moto_server, Paysec, Sso, ALARM_EMAIL};

/// moto's IAM prefix for a service as the SDK names it: its signing
/// name, which is IAM's prefix but for CloudWatch and the tagging API.
fn signing_name(service: &str) -> &'static str {
    match service {
        "CloudWatch" => "monitoring",
        "Resource Groups Tagging API" => "tagging",
        other => paysec_aws::permissions::iam_prefix(other)
            .unwrap_or_else(|| panic!("no signing name known for {other}")),
    }
}

/// One generated document in moto's terms (see the module's note), and
/// the statement ids it kept.
fn in_moto_terms(document: &Value, calls: &Value) -> Value {
    let mut statements = Vec::new();
    for s in document["Statement"].as_array().expect("statements") {
        let sid = s["Sid"].as_str().expect("Sid");
        let actions: Vec<&str> = s["Action"]
            .as_array()
            .expect("actions")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let served: Vec<&str> = calls[sid]
            .as_array()
            .map(|c| c.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let on_buckets = served.iter().all(|c| c.starts_with("S3 "))
            && actions.iter().all(|a| a.starts_with("s3:"))
            && s["Resource"].as_array().is_some_and(|r| {
                r.iter()
                    .all(|r| r.as_str().is_some_and(|r| r.starts_with("arn:aws:s3:::")))
            });
        let (action, resource) = if on_buckets {
            (json!(["s3:*"]), s["Resource"].clone())
        } else {
            let named: BTreeSet<String> = served
                .iter()
                .map(|call| {
                    let (service, operation) = call.rsplit_once(' ').expect("SERVICE Operation");
                    format!("{}:{operation}", signing_name(service))
                })
                .collect();
            if named.is_empty() {
                continue;
            }
            (json!(named), json!("*"))
        };
        statements
            .push(json!({ "Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// A moto with IAM enforcement about to be turned on, behind the rules.
struct Enforced {
    moto: Moto,
    proxy: FaultProxy,
    admin: paysec_aws::Aws,
}

impl Enforced {
    async fn start() -> Self {
        // The suite's own emulator sets the credentials and region the
        // admin client below signs with.
        let _ = crate::support::endpoint();
        let root = env!("CARGO_MANIFEST_DIR");
        let moto = Moto::start_enforcing(
            &moto_server().to_string_lossy(),
            std::path::Path::new(&format!("{root}/target/emulator")),
        )
        .expect("a moto of its own");
        let proxy = FaultProxy::start(&moto.url).await.expect("rules proxy");
        proxy.set_rules(Rules {
            confirming_recipients: Some(vec![ALARM_EMAIL.to_owned()]),
            ..Rules::aws()
        });
        let admin = paysec_aws::Aws::connect(&paysec_aws::AwsSettings {
            endpoint_url: Some(proxy.url()),
            region: Some("us-east-1".into()),
            max_attempts: 3,
            calls_per_service: 10,
            ..paysec_aws::AwsSettings::default()
        })
        .await
        .expect("SDK config");
        Self { moto, proxy, admin }
    }

    fn port(&self) -> u16 {
        self.moto
            .url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("moto's port")
    }

    /// A role trusting the account, holding `documents` as managed
    /// policies, assumed.
    async fn role(&self, name: &str, documents: &[(String, Value)]) -> Sso {
        let iam = &self.admin.iam;
        let trust = crate::support::trusting_the_suite_account();
        let arn = iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .expect("role")
            .role()
            .expect("role")
            .arn()
            .to_owned();
        for (policy, document) in documents {
            let policy_arn = iam
                .create_policy()
                .policy_name(format!("{name}-{policy}"))
                .policy_document(document.to_string())
                .send()
                .await
                .expect("policy")
                .policy()
                .and_then(|p| p.arn())
                .expect("policy ARN")
                .to_owned();
            iam.attach_role_policy()
                .role_name(name)
                .policy_arn(policy_arn)
                .send()
                .await
                .expect("attach");
        }
        crate::support::assume(&self.admin, arn, &format!("{name}@example.com")).await
    }

    /// From here on every call needs a permission.
    fn enforce(&self) {
        http(self.port(), "POST", "/moto-api/reset-auth", "0").expect("reset-auth");
    }
}

/// An environment of this test: with an auditor (the deployer also makes
/// the audit role and its policies, what verify reads), a single-AZ
/// database that `down` may delete.
fn least_environment(prefix: &str) -> Paysec {
    let p = Paysec::new(prefix).with_var("PAYSEC_IAM_AUDIT_TRUSTED_ACCOUNT", "210987654321");
    std::fs::write(
        p.dir.path().join("paysec.toml"),
        "[rds]\ndeletion_protection = false\nfinal_snapshot = false\nmulti_az = false\n",
    )
    .unwrap();
    p
}

/// [`run_as`] off the test's runtime threads, so several run at once.
async fn run_as_async(p: &Paysec, who: &Sso, endpoint: &str, args: &[&str]) -> crate::support::Run {
    let mut c = command_as(p, who, endpoint, args);
    let output = tokio::task::spawn_blocking(move || c.output().expect("run paysec"))
        .await
        .expect("the run's thread");
    crate::support::Run { output }
}

/// The command running `args` as `who` against `endpoint`.
fn command_as(p: &Paysec, who: &Sso, endpoint: &str, args: &[&str]) -> std::process::Command {
    let mut c = p.command();
    c.envs([
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", who.access_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", who.secret_access_key.as_str()),
        ("AWS_SESSION_TOKEN", who.session_token.as_str()),
    ])
    .args(args);
    c
}

/// Runs `args` as `who` against `endpoint`.
fn run_as(p: &Paysec, who: &Sso, endpoint: &str, args: &[&str]) -> crate::support::Run {
    crate::support::Run {
        output: command_as(p, who, endpoint, args)
            .output()
            .expect("run paysec"),
    }
}

/// The generated documents for `principal`, in moto's terms, by name.
fn policies(p: &Paysec, endpoint: &str, principal: &str) -> Vec<(String, Value)> {
    let out = p
        .run_with(
            &[("AWS_ENDPOINT_URL", endpoint)],
            &[
                "iam-policy",
                "--for",
                principal,
                "--account",
                "123456789012",
                "--output",
                "json",
            ],
        )
        .success()
        .json();
    out["policies"]
        .as_array()
        .expect("policies")
        .iter()
        .map(|d| {
            (
                d["name"].as_str().expect("name").to_owned(),
                in_moto_terms(&d["document"], &d["calls"]),
            )
        })
        .collect()
}

/// `plan`, `up`, a no-op `up`, a repair of a tampered setting and `down`
/// as a role holding only the generated `deploy` policies; `plan` and
/// `verify` as one holding only the `verify` policies. A missing action
/// fails the run; a statement taken away fails it naming the statement.
#[tokio::test(flavor = "multi_thread")]
async fn paysec_runs_with_only_the_policies_it_generates() {
    let e = Enforced::start().await;
    let endpoint = e.proxy.url();
    // With an auditor: the deployer also makes the audit role and its
    // policies (what verify reads).
    let p = least_environment("least");
    let deploy = policies(&p, &endpoint, "deploy");
    let verify = policies(&p, &endpoint, "verify");
    assert!(
        deploy.len() > 1,
        "deploy's policies are split under IAM's limit"
    );
    let deployer = e.role("Deployer", &deploy).await;
    let verifier = e.role("Verifier", &verify).await;
    let admin = json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Action": "*", "Resource": "*" }]
    });
    let tamperer = e.role("Tamperer", &[("all".into(), admin)]).await;
    // The write statements are taken away on environments of their own,
    // WORKERS at once (each a deployer role of its own, since a policy's
    // default version is the role's for all its runs).
    let mut workers = Vec::new();
    for k in 0..WORKERS {
        let w = least_environment(&format!("lpw{k}"));
        let documents = policies(&w, &endpoint, "deploy");
        let role = format!("Writer{k}");
        let who = e.role(&role, &documents).await;
        workers.push(Worker {
            p: w,
            who,
            role,
            documents,
        });
    }
    e.enforce();

    // Enforcement is on: a key moto's IAM does not know is refused.
    let stranger = Sso {
        access_key_id: "unknown-to-moto".into(),
        secret_access_key: "x".into(),
        session_token: String::new(),
        role_arn: String::new(),
    };
    let refused = run_as(&p, &stranger, &endpoint, &["plan"]);
    assert_ne!(refused.code(), 0, "{}", refused.stderr());

    run_as(&p, &deployer, &endpoint, &["plan"]).success();
    run_as(&p, &deployer, &endpoint, &["up", "--yes"]).success();
    let again = run_as(&p, &deployer, &endpoint, &["plan", "--detailed-exitcode"]);
    assert_eq!(again.code(), 0, "{}{}", again.stdout(), again.stderr());
    run_as(&p, &deployer, &endpoint, &["up", "--yes"]).success();

    // Tampering (by an administrator), repaired by the deployer.
    let as_tamperer = crate::support::sdk_config_on(&tamperer, &endpoint).await;
    let ec2 = paysec_aws::sdk::ec2::Client::new(&as_tamperer);
    let vpc = p.ledger()["resources"]["network.vpc"]["physical_id"]
        .as_str()
        .expect("VPC id")
        .to_owned();
    ec2.modify_vpc_attribute()
        .vpc_id(&vpc)
        .enable_dns_hostnames(
            paysec_aws::sdk::ec2::types::AttributeBooleanValue::builder()
                .value(false)
                .build(),
        )
        .send()
        .await
        .expect("tamper");
    let repair = run_as(
        &p,
        &deployer,
        &endpoint,
        &["up", "--yes", "--output", "json"],
    )
    .success()
    .json();
    assert_eq!(repair["outcomes"]["network.vpc"], "repaired", "{repair}");

    // The auditor's role reads everything verify reads (RDS-5 fails:
    // this database is single-AZ).
    run_as(&p, &verifier, &endpoint, &["plan"]).success();
    let report = run_as(&p, &verifier, &endpoint, &["verify", "--output", "json"]);
    assert!(
        [0, 6, 10].contains(&report.code()),
        "{}{}",
        report.stdout(),
        report.stderr()
    );
    let text = report.stdout();
    // moto's refusal reads "... is not authorized to perform: ACTION".
    assert!(
        !text.contains("not authorized to perform"),
        "a read was refused: {text}"
    );

    let iam = paysec_aws::sdk::iam::Client::new(&as_tamperer);
    each_read_statement_taken_away_fails_a_run_naming_it(&p, &deployer, &endpoint, &iam, &deploy)
        .await;
    let apigateway = paysec_aws::sdk::apigateway::Client::new(&as_tamperer);
    each_write_statement_taken_away_fails_up_or_down_naming_it(
        &workers,
        &endpoint,
        &iam,
        &apigateway,
    )
    .await;

    // A statement taken away: the run stops on the first call it served,
    // naming the statement (exit 4), the ledger intact.
    let (name, document) = deploy
        .iter()
        .find(|(_, d)| d.to_string().contains("\"MonitoringWriteCloudwatchAlarm\""))
        .expect("a policy with MonitoringWriteCloudwatchAlarm")
        .clone();
    let mut without = document.clone();
    without["Statement"]
        .as_array_mut()
        .unwrap()
        .retain(|s| s["Sid"] != "MonitoringWriteCloudwatchAlarm");
    let policy_arn = format!("arn:aws:iam::123456789012:policy/Deployer-{name}");
    iam.create_policy_version()
        .policy_arn(&policy_arn)
        .policy_document(without.to_string())
        .set_as_default(true)
        .send()
        .await
        .expect("policy without the statement");
    let ledger_before = std::fs::read_to_string(p.ledger_path()).unwrap();
    let down = run_as(&p, &deployer, &endpoint, &["down", "--yes"]);
    assert_eq!(down.code(), 4, "{}{}", down.stdout(), down.stderr());
    assert!(
        down.stderr().contains(
            "statement MonitoringWriteCloudwatchAlarm of `paysec iam-policy --for deploy`"
        ),
        "{}",
        down.stderr()
    );
    // Each refusal is said once among the closing errors (the progress
    // lines above them report each resource's failure as it happens), and
    // each time with its statement.
    let stderr = down.stderr();
    let refusals: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error:") && l.contains("not authorized to perform"))
        .collect();
    assert!(!refusals.is_empty(), "{}", down.stderr());
    for line in &refusals {
        assert!(
            line.contains("of `paysec iam-policy --for deploy` grants it"),
            "a refusal without its statement: {line}"
        );
    }
    let said: BTreeSet<&&str> = refusals.iter().collect();
    assert_eq!(said.len(), refusals.len(), "said twice: {refusals:#?}");
    assert_ne!(
        std::fs::read_to_string(p.ledger_path()).unwrap(),
        "",
        "the ledger is kept ({} before)",
        ledger_before.len()
    );
    iam.create_policy_version()
        .policy_arn(&policy_arn)
        .policy_document(document.to_string())
        .set_as_default(true)
        .send()
        .await
        .expect("the statement back");
    run_as(&p, &deployer, &endpoint, &["down", "--yes"]).success();
}

/// Each read statement of the deploy policies taken away in turn (the
/// policy's default version replaced, then restored): `plan`, which runs
/// the preflight and reads every resource, stops with exit 4 naming it;
/// a statement `plan` does not use (the account-wide checks) is taken
/// away from `verify`, which stops so too once its report is out. A
/// statement all of whose operations another statement also grants in
/// moto's terms (which cannot tell resources apart but S3's) cannot fail
/// here and is skipped.
async fn each_read_statement_taken_away_fails_a_run_naming_it(
    p: &Paysec,
    deployer: &Sso,
    endpoint: &str,
    iam: &paysec_aws::sdk::iam::Client,
    deploy: &[(String, Value)],
) {
    let (statements, overlapping) = statements_of(deploy, "Read");
    let (mut failed, mut unnamed) = (Vec::new(), Vec::new());
    for (name, st) in &statements {
        let sid = st["Sid"].as_str().unwrap().to_owned();
        let document = &deploy.iter().find(|(n, _)| n == name).unwrap().1;
        let without = without_statement(document, &sid);
        let policy_arn = format!("arn:aws:iam::123456789012:policy/Deployer-{name}");
        set_default_version(iam, &policy_arn, &without).await;
        let plan = run_as(p, deployer, endpoint, &["plan"]);
        // A read `plan` does not make (the account-wide checks) is made by
        // `verify`, which reads on past it, then stops naming it.
        let run = if plan.code() == 0 {
            run_as(p, deployer, endpoint, &["verify"])
        } else {
            plan
        };
        set_default_version(iam, &policy_arn, document).await;
        // A read is named with the verify policy that grants it too.
        let named = format!("statement {sid} of `paysec iam-policy --for");
        match run.code() {
            4 if run.stderr().contains(&named) => failed.push(sid),
            code => unnamed.push(format!("{sid}: exit {code}, {}", run.stderr())),
        }
    }
    assert!(
        unnamed.is_empty(),
        "read statements taken away without a failure naming them: {unnamed:#?}"
    );
    assert!(
        failed.len() >= 10,
        "failed: {failed:?}, overlapping: {overlapping:?}"
    );
}

/// Environments taking write statements away at once.
const WORKERS: usize = 3;

/// What empties a worker's environment, what `down` keeps included.
const EMPTYING: [&str; 3] = ["down", "--yes", "--purge-audit-logs"];

/// Write statements whose removal cannot fail a run here: taken away,
/// `up` and the purging `down` complete. Each says why.
const ONLY_WHEN: [(&str, &str); 3] = [
    (
        "BucketsWriteS3Object",
        "DeleteObjects (the purge): moto authorizes it on the bucket's ARN, which the bucket statement grants in moto's terms (s3:* on the bucket)",
    ),
    (
        "DatabaseWriteSecretsmanagerSecret",
        "RotateSecret: moto does not report a managed secret's rotation, so it is never found off",
    ),
    (
        "RolesWriteAnyResource",
        "DetachUserPolicy/DetachGroupPolicy: only when a policy paysec made was attached to a user or group out of band",
    ),
];

/// An environment of its own and a deployer role holding its policies.
struct Worker {
    p: Paysec,
    who: Sso,
    role: String,
    documents: Vec<(String, Value)>,
}

/// The statements of `documents` whose Sid contains `need` (`Read`,
/// `Write`), each with its document's name; and those skipped because
/// every operation they grant another statement grants too in moto's terms
/// (which cannot tell resources apart but S3's).
fn statements_of(documents: &[(String, Value)], need: &str) -> (Vec<(String, Value)>, Vec<String>) {
    let actions = |st: &Value| -> BTreeSet<String> {
        st["Action"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let all: Vec<(String, Value)> = documents
        .iter()
        .flat_map(|(name, d)| {
            d["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |st| (name.clone(), st.clone()))
        })
        .collect();
    let (mut kept, mut overlapping) = (Vec::new(), Vec::new());
    for (name, st) in &all {
        let sid = st["Sid"].as_str().unwrap().to_owned();
        if !sid.contains(need) {
            continue;
        }
        let elsewhere: BTreeSet<String> = all
            .iter()
            .filter(|(_, other)| other["Sid"] != st["Sid"] && other["Resource"] == st["Resource"])
            .flat_map(|(_, other)| actions(other))
            .collect();
        if actions(st)
            .iter()
            .all(|a| elsewhere.contains(a) || elsewhere.contains("s3:*"))
        {
            overlapping.push(sid);
        } else {
            kept.push((name.clone(), st.clone()));
        }
    }
    (kept, overlapping)
}

/// `document` without the statement `sid`.
fn without_statement(document: &Value, sid: &str) -> Value {
    let mut without = document.clone();
    without["Statement"]
        .as_array_mut()
        .unwrap()
        .retain(|s| s["Sid"] != sid);
    without
}

/// Each write statement of the deploy policies taken away in turn, on an
/// empty environment: `up` stops with exit 4 naming it, or, for one only
/// `down` uses (the deletes), `up` completes and `down --purge-audit-logs`
/// stops so; [`ONLY_WHEN`]'s complete. The environment is then emptied
/// with the whole policy. The statements are
/// shared among [`WORKERS`] environments running at once.
async fn each_write_statement_taken_away_fails_up_or_down_naming_it(
    workers: &[Worker],
    endpoint: &str,
    iam: &paysec_aws::sdk::iam::Client,
    apigateway: &paysec_aws::sdk::apigateway::Client,
) {
    let (statements, overlapping) = statements_of(&workers[0].documents, "Write");
    let sids: Vec<String> = statements
        .iter()
        .map(|(_, st)| st["Sid"].as_str().unwrap().to_owned())
        .collect();
    let runs = workers.iter().enumerate().map(|(k, w)| {
        let mine: Vec<String> = sids.iter().skip(k).step_by(WORKERS).cloned().collect();
        async move {
            let (mut named, mut unnamed) = (Vec::new(), Vec::new());
            for sid in mine {
                // The worker's own documents name its own environment.
                let (name, document) = w
                    .documents
                    .iter()
                    .find(|(_, d)| {
                        d["Statement"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|s| s["Sid"] == sid.as_str())
                    })
                    .expect("the statement's document");
                let policy_arn = format!("arn:aws:iam::123456789012:policy/{}-{name}", w.role);
                set_default_version(iam, &policy_arn, &without_statement(document, &sid)).await;
                if sid == "ApiWriteApigatewayAccount" {
                    // The region's API Gateway logging role is set once for
                    // the account (by the first environment): cleared, the
                    // next `up` sets it again.
                    apigateway
                        .update_account()
                        .patch_operations(
                            paysec_aws::sdk::apigateway::types::PatchOperation::builder()
                                .op(paysec_aws::sdk::apigateway::types::Op::Replace)
                                .path("/cloudwatchRoleArn")
                                .value("")
                                .build(),
                        )
                        .send()
                        .await
                        .expect("the account's logging role cleared");
                }
                set_default_version(iam, &policy_arn, &without_statement(document, &sid)).await;
                let up = run_as_async(&w.p, &w.who, endpoint, &["up", "--yes"]).await;
                // A statement only `down` uses; the purge takes what plain
                // `down` keeps (log groups, buckets with their objects).
                let run = if up.code() == 0 {
                    run_as_async(&w.p, &w.who, endpoint, &EMPTYING).await
                } else {
                    up
                };
                set_default_version(iam, &policy_arn, document).await;
                let wanted = format!("statement {sid} of `paysec iam-policy --for deploy`");
                match run.code() {
                    4 if run.stderr().contains(&wanted) => named.push(sid),
                    0 if ONLY_WHEN.iter().any(|(s, _)| *s == sid) => {}
                    code => unnamed.push(format!("{sid}: exit {code}, {}", run.stderr())),
                }
                let down = run_as_async(&w.p, &w.who, endpoint, &EMPTYING).await;
                assert_eq!(down.code(), 0, "emptying after {name}: {}", down.stderr());
            }
            (named, unnamed)
        }
    });
    let results = futures_util::future::join_all(runs).await;
    let named: Vec<String> = results.iter().flat_map(|(n, _)| n.clone()).collect();
    let unnamed: Vec<String> = results.iter().flat_map(|(_, u)| u.clone()).collect();
    assert!(
        unnamed.is_empty(),
        "write statements taken away without a failure naming them: {unnamed:#?} (named: {named:?}, skipped as overlapping: {overlapping:?})"
    );
    assert!(named.len() >= 10, "named: {named:?}");
}

/// Makes `document` the default version of `policy_arn`, deleting the
/// versions no longer default (IAM keeps five at most).
async fn set_default_version(
    iam: &paysec_aws::sdk::iam::Client,
    policy_arn: &str,
    document: &Value,
) {
    iam.create_policy_version()
        .policy_arn(policy_arn)
        .policy_document(document.to_string())
        .set_as_default(true)
        .send()
        .await
        .expect("a new default version");
    let versions = iam
        .list_policy_versions()
        .policy_arn(policy_arn)
        .send()
        .await
        .expect("versions");
    for v in versions.versions() {
        if !v.is_default_version() {
            iam.delete_policy_version()
                .policy_arn(policy_arn)
                .version_id(v.version_id().unwrap_or_default())
                .send()
                .await
                .expect("delete an old version");
        }
    }
}

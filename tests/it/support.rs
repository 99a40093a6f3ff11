//! Shared test harness: the emulator endpoint, a `paysec` runner in its own
//! working directory, SDK clients built like the product's, and unique
//! environment names so tests can share one emulator in parallel.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use std::collections::BTreeMap;

use paysec_aws::sdk::resourcegroupstagging::types::TagFilter;
use paysec_aws::{Aws, AwsSettings};
use paysec_testkit::moto::{http, Moto};
use paysec_testkit::{FaultProxy, Rules};

/// The emulator the suite runs on: `PAYSEC_TEST_EMULATOR` (`moto`, the
/// default, or `localstack`), or, with an endpoint given, what
/// `PAYSEC_EMULATOR` declares (`scripts/emulator.sh start` exports both).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emulator {
    Moto,
    LocalStack,
}

impl Emulator {
    pub fn current() -> Self {
        let declared = std::env::var("PAYSEC_TEST_EMULATOR")
            .or_else(|_| std::env::var("PAYSEC_EMULATOR"))
            .unwrap_or_default();
        match declared.as_str() {
            "localstack" => Self::LocalStack,
            "" | "moto" => Self::Moto,
            other => panic!("PAYSEC_TEST_EMULATOR={other}: use moto or localstack"),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Moto => "moto",
            Self::LocalStack => "localstack",
        }
    }
}

/// The module of the tests that run on either emulator (the LocalStack
/// lane runs only those); every other test needs moto (LocalStack
/// community has no RDS and runs no function without Docker) and fails,
/// naming this, when the suite runs on LocalStack.
pub const BOTH_EMULATORS: &str = "both_emulators::";

/// Fails the calling test when it needs moto and the suite runs on
/// LocalStack. libtest names each test's thread after the test.
fn check_lane() {
    if Emulator::current() == Emulator::Moto {
        return;
    }
    let thread = std::thread::current();
    let Some(test) = thread.name() else { return };
    if test != "main" && !test.starts_with("tokio-runtime") && !test.starts_with(BOTH_EMULATORS) {
        panic!(
            "{test} needs moto (RDS, a running Lambda function, moto's own API); on LocalStack run only the {BOTH_EMULATORS} tests: PAYSEC_TEST_EMULATOR=localstack cargo test --test it {BOTH_EMULATORS}"
        );
    }
}

/// The emulator's own endpoint: the one given (`PAYSEC_TEST_ENDPOINT`, or
/// `AWS_ENDPOINT_URL` as `scripts/emulator.sh start` exports it), else one
/// this test run starts itself ([`Emulator::current`]). Panics (fails the
/// test) when the given one does not answer or none can be started; a test
/// never skips.
pub fn emulator_endpoint() -> String {
    check_lane();
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT
        .get_or_init(|| {
            match std::env::var("PAYSEC_TEST_ENDPOINT")
                .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
            {
                Ok(url) => {
                    answers(&url).unwrap_or_else(|e| {
                        panic!("the emulator at {url} does not answer ({e}); start it with scripts/emulator.sh start, or unset PAYSEC_TEST_ENDPOINT and AWS_ENDPOINT_URL to let the tests start their own")
                    });
                    url
                }
                Err(_) => match Emulator::current() {
                    Emulator::Moto => own_emulator(),
                    Emulator::LocalStack => own_localstack(),
                },
            }
        })
        .clone()
}

fn answers(url: &str) -> std::io::Result<()> {
    let hostport = url
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/');
    let addr = std::net::ToSocketAddrs::to_socket_addrs(hostport)?
        .next()
        .ok_or_else(|| std::io::Error::other("no address"))?;
    std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2)).map(drop)
}

/// Starts the pinned moto server for this test run, as testcontainers
/// would: installed by `scripts/emulator.sh install` (into `target/`), on a
/// free loopback port, stopped once this process is gone
/// ([`paysec_testkit::moto::Moto`]). The SDK clients of the tests read
/// their credentials and region from the environment, so the emulator's
/// are set here, before the first client is built.
fn own_emulator() -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let server = moto_server();
    static MOTO: OnceLock<std::sync::Mutex<Moto>> = OnceLock::new();
    let moto = Moto::start(
        &server.to_string_lossy(),
        std::path::Path::new(&format!("{root}/target/emulator")),
        None,
    )
    .unwrap_or_else(|e| panic!("starting moto_server failed: {e}"));
    let url = moto.url.clone();
    let _ = MOTO.set(std::sync::Mutex::new(moto));
    for (key, value) in [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("PAYSEC_EMULATOR", "moto"),
    ] {
        if std::env::var_os(key).is_none() {
            std::env::set_var(key, value);
        }
    }
    std::env::remove_var("AWS_PROFILE");
    std::env::remove_var("AWS_SESSION_TOKEN");
    url
}

/// Starts the pinned LocalStack for this test run, as [`own_emulator`]
/// starts moto: `scripts/emulator.sh run-localstack` (host mode, no
/// Docker) on a free loopback port, its state in a scratch directory,
/// under a watchdog that stops it once this process is gone.
fn own_localstack() -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let script = format!("{root}/scripts/emulator.sh");
    let install = Command::new(&script)
        .args(["install", "localstack"])
        .output()
        .expect("run scripts/emulator.sh install localstack (needs bash and python3)");
    assert!(
        install.status.success(),
        "installing LocalStack failed: {}",
        String::from_utf8_lossy(&install.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let dir = format!("{root}/target/emulator/localstack-test-{port}");
    let log = format!("{dir}.log");
    static WATCHDOG: OnceLock<std::sync::Mutex<std::process::Child>> = OnceLock::new();
    let watchdog = Command::new("sh")
        .args([
            "-c",
            r#""$0" run-localstack "$1" "$2" >"$3" 2>&1 &
m=$!
trap 'kill $m 2>/dev/null; sleep 2; rm -rf "$2"' EXIT
while kill -0 "$4" 2>/dev/null && kill -0 $m 2>/dev/null; do sleep 1; done"#,
            &script,
            &port.to_string(),
            &dir,
            &log,
            &std::process::id().to_string(),
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start LocalStack");
    let _ = WATCHDOG.set(std::sync::Mutex::new(watchdog));
    let started = std::time::Instant::now();
    while http(port, "GET", "/_localstack/health", "").is_err() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "LocalStack did not start within 120 s; see {log}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    for (key, value) in [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("PAYSEC_EMULATOR", "localstack"),
    ] {
        if std::env::var_os(key).is_none() {
            std::env::set_var(key, value);
        }
    }
    std::env::remove_var("AWS_PROFILE");
    std::env::remove_var("AWS_SESSION_TOKEN");
    format!("http://127.0.0.1:{port}")
}

/// The Python of the emulator's virtualenv (`scripts/emulator.sh
/// install`), which also holds the pinned consumers reports are checked
/// with (junitparser).
pub fn emulator_python() -> std::path::PathBuf {
    moto_server().with_file_name("python")
}

/// The pinned `moto_server` (`scripts/emulator.sh install`), for a test
/// that starts a server of its own.
pub fn moto_server() -> std::path::PathBuf {
    Moto::install(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// What every integration test talks to: the emulator behind the AWS rules
/// proxy (`paysec_testkit::Rules::aws()`: the emulator refuses what AWS
/// refuses), and the identity paysec runs as.
struct Suite {
    endpoint: String,
    sso: Sso,
    proxy: FaultProxy,
}

/// Credentials of an IAM Identity Center (SSO) session, as paysec's users
/// have them: a session of a role under `/aws-reserved/sso.amazonaws.com/`,
/// whose session ARN does not show that path.
pub struct Sso {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// The role's real ARN (path included).
    pub role_arn: String,
}

pub const SSO_ROLE: &str = "AWSReservedSSO_PaysecDeveloper_0123456789abcdef";
pub const SSO_ROLE_PATH: &str = "/aws-reserved/sso.amazonaws.com/";

fn suite() -> &'static Suite {
    static SUITE: OnceLock<Suite> = OnceLock::new();
    SUITE.get_or_init(|| {
        let upstream = emulator_endpoint();
        let (tx, rx) = std::sync::mpsc::channel();
        // The proxy outlives every test: it runs on a runtime of its own.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("proxy runtime");
            rt.block_on(async move {
                let proxy = FaultProxy::start(&upstream).await.expect("rules proxy");
                // The suite's alarm mailbox is a recipient who follows SNS's
                // link at once; any other address waits for its test to.
                proxy.set_rules(Rules {
                    confirming_recipients: Some(vec![ALARM_EMAIL.to_owned()]),
                    ..Rules::aws()
                });
                let sso = sso_session(&proxy.url()).await;
                tx.send(Suite {
                    endpoint: proxy.url(),
                    sso,
                    proxy: proxy.clone(),
                })
                .expect("suite");
                std::future::pending::<()>().await;
            });
        });
        rx.recv().expect("the rules proxy did not start")
    })
}

/// Creates (once per emulator) the SSO-like role and assumes it.
async fn sso_session(endpoint: &str) -> Sso {
    let aws = Aws::connect(&AwsSettings {
        endpoint_url: Some(endpoint.to_owned()),
        region: Some("us-east-1".into()),
        max_attempts: 3,
        calls_per_service: 10,
        ..AwsSettings::default()
    })
    .await
    .expect("SDK config");
    let account = aws.identity().await.expect("emulator identity").account;
    let trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "AWS": format!("arn:aws:iam::{account}:root") },
            "Action": ["sts:AssumeRole", "sts:TagSession"]
        }]
    });
    let role_arn = match aws
        .iam
        .create_role()
        .role_name(SSO_ROLE)
        .path(SSO_ROLE_PATH)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
    {
        Ok(out) => out.role().map(|r| r.arn().to_owned()),
        Err(_) => None,
    };
    let role_arn = match role_arn {
        Some(arn) => arn,
        // Created by an earlier run against the same emulator.
        None => aws
            .iam
            .get_role()
            .role_name(SSO_ROLE)
            .send()
            .await
            .expect("the SSO role exists")
            .role()
            .expect("role")
            .arn()
            .to_owned(),
    };
    assume(&aws, role_arn, "developer@example.com").await
}

/// A session of `role_arn`, named `session`.
pub async fn assume(aws: &Aws, role_arn: String, session: &str) -> Sso {
    let creds = aws
        .sts
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name(session)
        .send()
        .await
        .expect("assume the role")
        .credentials()
        .cloned()
        .expect("credentials");
    Sso {
        access_key_id: creds.access_key_id().to_owned(),
        secret_access_key: creds.secret_access_key().to_owned(),
        session_token: creds.session_token().to_owned(),
        role_arn,
    }
}

/// A role trust policy letting the suite's account (123456789012, the
/// emulator's) assume the role, as a landing zone's access roles trust its
/// management account.
pub fn trusting_the_suite_account() -> serde_json::Value {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "AWS": "arn:aws:iam::123456789012:root" },
            "Action": "sts:AssumeRole"
        }]
    })
}

/// Credentials of another identity of the account: a role `name` (made if
/// missing), assumed. For commands an auditor, not the deployer, runs.
pub async fn other_identity(name: &str) -> Sso {
    let aws = aws().await;
    let trust = trusting_the_suite_account();
    let role_arn = match aws
        .iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
    {
        Ok(out) => out.role().expect("role").arn().to_owned(),
        Err(_) => aws
            .iam
            .get_role()
            .role_name(name)
            .send()
            .await
            .expect("the role exists")
            .role()
            .expect("role")
            .arn()
            .to_owned(),
    };
    assume(&aws, role_arn, "auditor@example.com").await
}

/// Credentials in another account (`account`, twelve digits): a session
/// of its role `name`, which the emulator keeps apart (moto maps the
/// session's keys to that account). For state that is the whole
/// account's, such as its trails, which tests sharing the suite's account
/// must not see change under them.
pub async fn identity_in_account(account: &str, name: &str) -> Sso {
    let aws = aws().await;
    // The role is made in that account first, as a landing zone makes its
    // accounts' access role (trusting the suite's account): AWS, and the
    // rules layer, refuse a session of a role that does not exist. Made as
    // that account on the emulator (moto's `x-moto-account-id`); an
    // earlier test of the run may have made it.
    let trust = trusting_the_suite_account();
    let owner = account.to_owned();
    let _ = aws
        .iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust.to_string())
        .customize()
        .mutate_request(move |req| {
            req.headers_mut().insert("x-moto-account-id", owner.clone());
        })
        .send()
        .await;
    assume(
        &aws,
        format!("arn:aws:iam::{account}:role/{name}"),
        "owner@example.com",
    )
    .await
}

/// An SDK configuration as the SDK clients of `who`, pointed at the
/// emulator (behind the AWS rules).
pub async fn sdk_config_as(who: &Sso) -> aws_config::SdkConfig {
    sdk_config_on(who, &endpoint()).await
}

/// An SDK configuration as `who`, pointed at `endpoint` (an emulator of
/// a test's own).
pub async fn sdk_config_on(who: &Sso, endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .credentials_provider(paysec_aws::sdk::s3::config::Credentials::new(
            &who.access_key_id,
            &who.secret_access_key,
            Some(who.session_token.clone()),
            None,
            "test",
        ))
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// The endpoint tests and paysec use: the emulator behind the AWS rules.
pub fn endpoint() -> String {
    suite().endpoint.clone()
}

/// The SSO-like identity paysec runs as in every test.
pub fn sso() -> &'static Sso {
    &suite().sso
}

/// A unique, valid environment suffix per call.
pub fn env_name(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id() % 100_000,
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// SDK clients configured like paysec's, pointed at the emulator.
pub async fn aws() -> Aws {
    check_lane();
    Aws::connect(&AwsSettings {
        endpoint_url: Some(endpoint()),
        region: Some("us-east-1".into()),
        max_attempts: 3,
        calls_per_service: 10,
        ..AwsSettings::default()
    })
    .await
    .expect("SDK config")
}

/// Runs `paysec` in a private working directory for one environment.
pub struct Paysec {
    pub dir: tempfile::TempDir,
    pub env: String,
    /// Variables every command of this environment gets.
    vars: Vec<(String, String)>,
    /// For commands that stop before any AWS call: no emulator is started
    /// for them, and their endpoint is a closed port, so a call they should
    /// not make fails the test.
    offline: bool,
}

pub struct Run {
    pub output: Output,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.output.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout(),
                self.stderr()
            )
        })
    }
    #[track_caller]
    pub fn success(self) -> Self {
        assert_eq!(
            self.code(),
            0,
            "paysec failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}

/// The alarm topic's subscriber in every test environment.
pub const ALARM_EMAILS: &str = "PAYSEC_MONITORING_ALARM_EMAILS";
pub const ALARM_EMAIL: &str = "security-alarms@example.com";

/// The confirmations SNS "emailed" that no one followed yet (the rules
/// layer keeps other addresses' subscriptions pending until then).
/// The provider of a partner's PrivateLink service accepting endpoint
/// `id` (the rules hold it `pendingAcceptance` until then).
pub fn accept_endpoint_connection(id: &str) {
    suite().proxy.accept_endpoint_connection(id);
}

pub fn mailbox() -> Vec<paysec_testkit::Confirmation> {
    suite().proxy.mailbox()
}

impl Paysec {
    pub fn new(prefix: &str) -> Self {
        check_lane();
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
            env: env_name(prefix),
            // Test environments are disposable: their databases are not
            // protected unless a test says so (the product's default is on).
            // moto has no Route 53 Resolver DNS Firewall: the DNS firewall
            // is built and verified on the LocalStack lane only. Someone
            // receives the alarms (both emulators confirm an email
            // subscription at once; on AWS its recipient does).
            vars: match Emulator::current() {
                Emulator::Moto => vec![
                    ("PAYSEC_RDS_DELETION_PROTECTION".into(), "false".into()),
                    ("PAYSEC_NETWORK_DNS_FIREWALL".into(), "false".into()),
                    (ALARM_EMAILS.into(), ALARM_EMAIL.into()),
                ],
                Emulator::LocalStack => vec![
                    ("PAYSEC_RDS_DELETION_PROTECTION".into(), "false".into()),
                    (ALARM_EMAILS.into(), ALARM_EMAIL.into()),
                ],
            },
            offline: false,
        }
    }

    /// An environment whose commands must stop before any AWS call (bad
    /// input, configuration, ledger, help): they run with no emulator
    /// (none is started for them) against a closed loopback port, with
    /// fixed fake credentials.
    pub fn offline(prefix: &str) -> Self {
        Self {
            offline: true,
            ..Self::new(prefix)
        }
    }

    /// Every command of this environment with `var=value` (overriding the
    /// suite's defaults).
    pub fn with_var(mut self, var: &str, value: &str) -> Self {
        self.vars.retain(|(k, _)| k != var);
        self.vars.push((var.to_owned(), value.to_owned()));
        self
    }

    pub fn ledger_path(&self) -> PathBuf {
        self.dir
            .path()
            .join(".paysec")
            .join(format!("{}.json", self.env))
    }

    pub fn ledger(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.ledger_path()).expect("ledger");
        serde_json::from_str(&text).expect("ledger JSON")
    }

    /// A `paysec` command with the emulator's endpoint (behind the AWS rules)
    /// and an SSO-like session's credentials, and nothing from the
    /// developer's own AWS setup.
    pub fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_paysec"));
        c.current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path());
        if self.offline {
            // Port 9 (discard) on loopback: nothing listens.
            c.env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
                .env("AWS_ACCESS_KEY_ID", "offline")
                .env("AWS_SECRET_ACCESS_KEY", "offline");
        } else {
            c.env("AWS_ENDPOINT_URL", endpoint())
                .env("AWS_ACCESS_KEY_ID", &sso().access_key_id)
                .env("AWS_SECRET_ACCESS_KEY", &sso().secret_access_key)
                .env("AWS_SESSION_TOKEN", &sso().session_token);
        }
        c.env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("PAYSEC_ENV", &self.env)
            .env(
                "PAYSEC_EMULATOR",
                std::env::var("PAYSEC_EMULATOR").unwrap_or_default(),
            )
            .envs(self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(&[], args)
    }

    /// `args` run as a person at a terminal would: under a pseudo-terminal
    /// (util-linux `script`), typing `answers`. The terminal's transcript
    /// (stdout and stderr together) is the run's stdout.
    pub fn run_at_terminal(&self, answers: &str, args: &[&str]) -> Run {
        use std::io::Write;
        let inner = self.command();
        let mut line = format!("'{}'", env!("CARGO_BIN_EXE_paysec"));
        for a in args {
            assert!(
                a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_=./".contains(c)),
                "a plain word: {a}"
            );
            line.push(' ');
            line.push_str(a);
        }
        let mut c = Command::new("script");
        c.args(["-qec", &line, "/dev/null"])
            .current_dir(self.dir.path())
            .env_clear()
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (k, v) in inner.get_envs() {
            if let Some(v) = v {
                c.env(k, v);
            }
        }
        let mut child = c
            .spawn()
            .expect("util-linux `script` runs paysec at a terminal");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answers.as_bytes())
            .unwrap();
        Run {
            output: child.wait_with_output().expect("run paysec at a terminal"),
        }
    }

    /// `run` with extra environment variables (`PAYSEC_*` settings).
    pub fn run_with(&self, vars: &[(&str, &str)], args: &[&str]) -> Run {
        let mut c = self.command();
        c.envs(vars.iter().copied());
        let output = c.args(args).output().expect("run paysec");
        Run { output }
    }
}

/// The resources an `up --output json` changed (outcome other than
/// `unchanged`), with their outcomes.
pub fn changed(up: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
    up["outcomes"]
        .as_object()
        .expect("outcomes")
        .iter()
        .filter(|(_, o)| *o != "unchanged")
        .map(|(id, o)| (id.clone(), o.clone()))
        .collect()
}

/// Live resources carrying this environment's tag, by logical id.
pub async fn tagged_by_logical_id(env: &str) -> BTreeMap<String, Vec<String>> {
    let aws = aws().await;
    let mut by_id: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut token = None;
    loop {
        let out = aws
            .tagging
            .get_resources()
            .tag_filters(
                TagFilter::builder()
                    .key("paysec:environment")
                    .values(env)
                    .build(),
            )
            .set_pagination_token(token)
            .send()
            .await
            .unwrap();
        for m in out.resource_tag_mapping_list() {
            let arn = m.resource_arn().unwrap_or_default().to_owned();
            if arn.contains(":kms:") {
                let meta = aws.kms.describe_key().key_id(&arn).send().await.unwrap();
                if meta
                    .key_metadata()
                    .and_then(|k| k.key_state())
                    .map(|s| s.as_str())
                    == Some("PendingDeletion")
                {
                    continue;
                }
            }
            // Snapshots (automated backups, the final snapshot) copy the
            // instance's tags; they are not second instances.
            if arn.contains(":snapshot:") {
                continue;
            }
            if let Some(t) = m.tags().iter().find(|t| t.key() == "paysec:logical-id") {
                by_id.entry(t.value().to_owned()).or_default().push(arn);
            }
        }
        match out.pagination_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return by_id,
        }
    }
}

/// Asserts that no IAM role, S3 bucket, log group, SNS topic or VPC of
/// environment `env` is left, but the buckets and log groups whose names
/// `kept` lists (what the ledger records as kept). The services every
/// emulator of the suite has.
pub async fn assert_core_resources_gone(aws: &Aws, env: &str, kept: &[String]) {
    let prefix = format!("paysec-{env}-");
    let is_kept = |name: &str| kept.iter().any(|k| k == name);
    let roles = aws.iam.list_roles().send().await.unwrap();
    assert!(
        roles
            .roles()
            .iter()
            .all(|r| !r.role_name().starts_with(&prefix)),
        "no role left"
    );
    let buckets = aws.s3.list_buckets().send().await.unwrap();
    assert!(
        buckets
            .buckets()
            .iter()
            .filter_map(|b| b.name())
            .all(|n| is_kept(n) || !n.starts_with(&prefix)),
        "no bucket left but the kept"
    );
    let groups = aws.logs.describe_log_groups().send().await.unwrap();
    assert!(
        groups
            .log_groups()
            .iter()
            .filter_map(|g| g.log_group_name())
            .all(|n| is_kept(n) || !n.contains(&prefix)),
        "no log group left but the kept"
    );
    let topics = aws.sns.list_topics().send().await.unwrap();
    assert!(
        topics
            .topics()
            .iter()
            .all(|t| !t.topic_arn().unwrap_or("").contains(&prefix)),
        "no topic left"
    );
    let vpcs = aws
        .ec2
        .describe_vpcs()
        .filters(
            paysec_aws::sdk::ec2::types::Filter::builder()
                .name("tag:paysec:environment")
                .values(env)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(vpcs.vpcs().is_empty(), "no VPC left");
}

/// Runs an EC2 call naming something created moments ago: the rules layer,
/// like EC2, answers `*.NotFound` for a new id for a while; retried for up
/// to ten seconds.
pub async fn once_visible<T, E: std::fmt::Debug, F, Fut>(mut op: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    for _ in 0..40 {
        match op().await {
            Ok(v) => return v,
            Err(e) if format!("{e:?}").contains(".NotFound") => {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    panic!("still not visible after 10 s")
}

/// Writes `line` into a new stream of log group `group`, as the service
/// that owns the group would deliver it (the emulators deliver no service
/// logs: flow logs, RDS exports).
pub async fn deliver_log_event(group: &str, stream: &str, line: &str) {
    let logs = aws().await.logs;
    logs.create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await
        .expect("a new log stream");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_millis() as i64;
    logs.put_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .log_events(
            paysec_aws::sdk::logs::types::InputLogEvent::builder()
                .timestamp(now_ms)
                .message(line)
                .build()
                .expect("an event"),
        )
        .send()
        .await
        .expect("the event delivered");
}

/// Installs Debian's `package` with apt-get, once per test run, when this
/// user may (root, or `sudo` without a password); `false` when it could
/// not.
fn apt_install(package: &str) -> bool {
    // One apt-get at a time in this process (two tests may each need a
    // package), and each waits for dpkg's lock rather than failing on it.
    static APT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = APT.lock().unwrap_or_else(|p| p.into_inner());
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let apt = |args: &[&str]| {
        let mut c = if root {
            Command::new("apt-get")
        } else {
            let mut s = Command::new("sudo");
            s.args(["-n", "apt-get"]);
            s
        };
        c.env("DEBIAN_FRONTEND", "noninteractive")
            .args(["-o", "DPkg::Lock::Timeout=300"])
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let install = || apt(&["install", "-y", "-q", package]);
    install() || (apt(&["update", "-q"]) && install())
}

/// A headless Chromium for the tests that open a page: the one on the
/// PATH, or Debian's package installed once per test run (as the emulator
/// is), when this user may install packages. Elsewhere the test fails
/// saying how to install it.
pub fn chromium() -> &'static str {
    static BROWSER: OnceLock<&'static str> = OnceLock::new();
    BROWSER.get_or_init(|| {
        const NAMES: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];
        let found = || {
            NAMES.into_iter().find(|b| {
                Command::new(b)
                    .arg("--version")
                    .output()
                    .is_ok_and(|o| o.status.success())
            })
        };
        if let Some(b) = found() {
            return b;
        }
        if !apt_install("chromium") {
            panic!("the HTML report is checked in headless Chromium, which is not installed and could not be (apt-get install chromium needs root or sudo): install Chromium (Debian/Ubuntu: apt-get install chromium) and run again");
        }
        found().expect("Chromium installed by apt-get is on the PATH")
    })
}

/// Graphviz's `dot`, which lays out paysec's SVG diagrams: on the PATH, or
/// Debian's `graphviz` installed once per test run as Chromium is.
pub fn graphviz() {
    static PRESENT: OnceLock<()> = OnceLock::new();
    PRESENT.get_or_init(|| {
        let found = || {
            Command::new("dot")
                .arg("-V")
                .output()
                .is_ok_and(|o| o.status.success())
        };
        let present = found() || (apt_install("graphviz") && found());
        if !present {
            panic!("paysec draws its diagrams' SVG with Graphviz's `dot`, which is not installed and could not be (apt-get install graphviz needs root or sudo): install Graphviz (Debian/Ubuntu: apt-get install graphviz) and run again");
        }
    });
}

/// The finding of `control` in a `verify --output json` report: on
/// `resource` when given, else the first.
pub fn finding(
    report: &serde_json::Value,
    control: &str,
    resource: Option<&str>,
) -> serde_json::Value {
    report["findings"]
        .as_array()
        .expect("a verify report")
        .iter()
        .find(|f| f["control"] == control && resource.is_none_or(|r| f["resource"] == r))
        .cloned()
        .unwrap_or_else(|| panic!("no finding {control} on {resource:?}"))
}

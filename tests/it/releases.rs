//! The team's code in the function: a package of its own released by `up`
//! and `deploy`, rolled back, listed, and proven to be what `live` runs;
//! code changed out of band is drift that the reviewed code replaces; a
//! bad package is refused before any AWS call. Each step is checked by
//! reading Lambda (versions, the alias, digests, the environment's key).

use std::path::Path;

use serde_json::Value;

use crate::support::{aws, finding, Paysec};

/// A Python package of two modules: the handler imports the other.
fn write_python_package(root: &Path, fee: &str) {
    let dir = root.join("api");
    std::fs::create_dir_all(dir.join("payments")).unwrap();
    std::fs::write(
        dir.join("main.py"),
        "from payments import pricing\n\ndef handle(event, context):\n    return {\"statusCode\": 200, \"body\": str(pricing.fee(100))}\n",
    )
    .unwrap();
    std::fs::write(dir.join("payments/__init__.py"), "").unwrap();
    std::fs::write(
        dir.join("payments/pricing.py"),
        format!("def fee(amount):\n    return amount * {fee}\n"),
    )
    .unwrap();
}

/// The digest paysec's reproducible zip of `root/api` has.
fn digest_of(root: &Path) -> String {
    paysec_lambda::Code::load(&root.join("api"), "python3.13", "main.handle")
        .unwrap()
        .sha256
}

fn releases(p: &Paysec) -> Value {
    p.run(&["releases", "--output", "json"]).success().json()
}

const CONFIG: &str = "[rds]\nenabled = false\n\n[lambda]\npackage = \"api\"\nhandler = \"main.handle\"\nkeep_versions = 3\n\n[lambda.environment]\nCURRENCY = \"EUR\"\n";

#[tokio::test(flavor = "multi_thread")]
async fn a_teams_package_is_released_rolled_back_and_proven_to_run() {
    let p = Paysec::new("rel");
    let aws = aws().await;
    std::fs::write(p.dir.path().join("paysec.toml"), CONFIG).unwrap();
    write_python_package(p.dir.path(), "0.01");
    let first = digest_of(p.dir.path());

    let up = p.run(&["up", "--yes", "--output", "json"]).success().json();
    assert_eq!(up["outcomes"]["lambda.function"], "created");
    let function = p.ledger()["resources"]["lambda.function"]["attrs"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let live = |aws: &paysec_aws::Aws| {
        let (aws, function) = (aws.clone(), function.clone());
        async move {
            aws.lambda
                .get_alias()
                .function_name(&function)
                .name("live")
                .send()
                .await
                .unwrap()
                .function_version()
                .unwrap()
                .to_owned()
        }
    };
    let version_sha = |version: String| {
        let (aws, function) = (aws.clone(), function.clone());
        async move {
            let cfg = aws
                .lambda
                .get_function()
                .function_name(&function)
                .qualifier(&version)
                .send()
                .await
                .unwrap();
            cfg.configuration().unwrap().clone()
        }
    };
    let v1 = live(&aws).await;
    let cfg = version_sha(v1.clone()).await;
    assert_eq!(
        cfg.code_sha256(),
        Some(first.as_str()),
        "live runs the package"
    );
    assert_eq!(cfg.handler(), Some("main.handle"));
    assert_eq!(
        cfg.kms_key_arn(),
        p.ledger()["resources"]["kms.lambda"]["attrs"]["arn"].as_str(),
        "the version's environment is encrypted with the stack's Lambda key"
    );
    let vars = cfg.environment().unwrap().variables().unwrap();
    assert_eq!(vars.get("CURRENCY").map(String::as_str), Some("EUR"));
    assert_eq!(
        vars.get("PAYSEC_ENVIRONMENT").map(String::as_str),
        Some(p.env.as_str())
    );
    let r = releases(&p);
    assert_eq!(r["in_service"], v1.as_str());
    assert_eq!(r["releases"][0]["code_sha256"], first.as_str());
    assert_eq!(r["releases"][0]["how"], "up");
    assert!(
        r["releases"][0]["by"]
            .as_str()
            .unwrap()
            .contains(":assumed-role/"),
        "who released it: the caller's ARN: {r}"
    );
    let invoked = p.run(&["invoke"]).success();
    assert!(
        invoked.stdout().contains(&format!("{function}:live")),
        "invoked through live: {}",
        invoked.stdout()
    );

    // A second release of new code: only the code moves.
    write_python_package(p.dir.path(), "0.02");
    let second = digest_of(p.dir.path());
    assert_ne!(second, first);
    let deployed = p
        .run(&["deploy", "--yes", "--output", "json"])
        .success()
        .json();
    let v2 = deployed["version"].as_str().unwrap().to_owned();
    assert_ne!(v2, v1);
    assert_eq!(deployed["code_sha256"], second.as_str());
    assert_eq!(live(&aws).await, v2);
    assert_eq!(
        version_sha(v1.clone()).await.code_sha256(),
        Some(first.as_str()),
        "the first release is immutable"
    );
    let r = releases(&p);
    assert_eq!(r["in_service"], v2.as_str());
    assert_eq!(r["releases"][1]["how"], "deploy");
    // The same code again is nothing to deploy.
    let again = p.run(&["deploy", "--yes"]).success();
    assert!(
        again.stdout().contains("Nothing to deploy"),
        "{}",
        again.stdout()
    );

    // A bad release is undone in one call, and says which code now runs.
    let back = p.run(&["rollback", "--yes"]).success();
    assert!(
        back.stdout().contains(&format!("version {v1}")) && back.stdout().contains(&first),
        "{}",
        back.stdout()
    );
    assert_eq!(live(&aws).await, v1);
    // The rollback holds: `up` keeps it, publishes nothing and ships
    // nothing; `plan` notes the difference without calling it drift.
    let versions_before = aws
        .lambda
        .list_versions_by_function()
        .function_name(&function)
        .send()
        .await
        .unwrap()
        .versions()
        .len();
    let plan = p.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code(), 0, "{}\n{}", plan.stdout(), plan.stderr());
    assert!(
        plan.stderr().contains("A rollback holds version"),
        "{}",
        plan.stderr()
    );
    p.run(&["up", "--yes"]).success();
    assert_eq!(live(&aws).await, v1, "up keeps the rolled-back release");
    assert_eq!(
        aws.lambda
            .list_versions_by_function()
            .function_name(&function)
            .send()
            .await
            .unwrap()
            .versions()
            .len(),
        versions_before,
        "nothing published while the rollback holds"
    );
    let report = p.run(&["verify", "--output", "json"]).json();
    let lam9 = finding(&report, "LAM-9", None);
    assert_eq!(lam9["verdict"], "PASS", "{lam9}");
    assert!(
        lam9["observed"]
            .as_str()
            .unwrap()
            .contains(&format!("version {v1} (CodeSha256 {first})")),
        "quotes what live runs: {lam9}"
    );

    // A deploy ends the rollback and ships the configured code.
    let redeployed = p
        .run(&["deploy", "--yes", "--output", "json"])
        .success()
        .json();
    assert_eq!(redeployed["code_sha256"], second.as_str());
    let v3 = live(&aws).await;
    assert_ne!(v3, v1);
    assert_eq!(releases(&p)["rollback"], Value::Null);

    // Code changed out of band is drift: plan shows both digests, verify
    // fails, up puts the reviewed code back as a new release.
    let stray = paysec_lambda::Code::example();
    // As a person would: again while Lambda says the last update is in
    // progress (the rules layer keeps it so for a moment).
    let mut tries = 0;
    while let Err(e) = aws
        .lambda
        .update_function_code()
        .function_name(&function)
        .zip_file(aws_sdk_lambda::primitives::Blob::new(stray.zip.clone()))
        .send()
        .await
    {
        tries += 1;
        assert!(tries < 20, "{e:?}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let plan = p.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code(), 8, "{}", plan.stderr());
    assert!(
        plan.stdout().contains(&stray.sha256) && plan.stdout().contains(&second),
        "the two digests: {}",
        plan.stdout()
    );
    let report = p.run(&["verify", "--output", "json"]).json();
    assert_eq!(finding(&report, "LAM-11", None)["verdict"], "FAIL");
    let up = p.run(&["up", "--yes", "--output", "json"]).success().json();
    assert_eq!(up["outcomes"]["lambda.function"], "repaired");
    let latest = aws
        .lambda
        .get_function()
        .function_name(&function)
        .send()
        .await
        .unwrap();
    assert_eq!(
        latest.configuration().unwrap().code_sha256(),
        Some(second.as_str()),
        "the reviewed code wins"
    );
    let now = live(&aws).await;
    assert_eq!(version_sha(now).await.code_sha256(), Some(second.as_str()));
    let clean = p.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(clean.code(), 0, "{}", clean.stdout());

    // keep_versions = 3: older releases were pruned from Lambda, never
    // the one in service.
    let r = releases(&p);
    let pruned: Vec<&Value> = r["releases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| !x["pruned_at"].is_null())
        .collect();
    assert!(!pruned.is_empty(), "{r}");
    for x in pruned {
        let v = x["version"].as_str().unwrap();
        assert_ne!(r["in_service"], v);
        let gone = aws
            .lambda
            .get_function()
            .function_name(&function)
            .qualifier(v)
            .send()
            .await;
        assert!(gone.is_err(), "version {v} pruned from Lambda");
    }
    p.run(&["down", "--yes"]).success();
}

/// A compiled runtime's package: Rust built for `provided.al2023` on
/// arm64, its executable `bootstrap` at the root, read back as shipped.
#[tokio::test(flavor = "multi_thread")]
async fn a_custom_runtime_package_deploys_and_is_read_back() {
    let p = Paysec::new("rust");
    let aws = aws().await;
    let dir = p.dir.path().join("target/lambda/payments");
    std::fs::create_dir_all(&dir).unwrap();
    let bootstrap = dir.join("bootstrap");
    std::fs::write(&bootstrap, b"\x7fELF not really, but bytes").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        p.dir.path().join("paysec.toml"),
        "[rds]\nenabled = false\n\n[lambda]\npackage = \"target/lambda/payments\"\nruntime = \"provided.al2023\"\nhandler = \"bootstrap\"\narchitecture = \"arm64\"\n",
    )
    .unwrap();
    let code = paysec_lambda::Code::load(&dir, "provided.al2023", "bootstrap").unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(code.zip.clone())).unwrap();
    assert_eq!(
        archive
            .by_name("bootstrap")
            .unwrap()
            .unix_mode()
            .map(|m| m & 0o777),
        Some(0o755),
        "bootstrap stays executable"
    );
    p.run(&["up", "--yes"]).success();
    let function = p.ledger()["resources"]["lambda.function"]["attrs"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let cfg = aws
        .lambda
        .get_function()
        .function_name(&function)
        .qualifier("live")
        .send()
        .await
        .unwrap();
    let cfg = cfg.configuration().unwrap();
    assert_eq!(cfg.runtime().map(|r| r.as_str()), Some("provided.al2023"));
    assert_eq!(
        cfg.architectures().first().map(|a| a.as_str()),
        Some("arm64")
    );
    assert_eq!(cfg.code_sha256(), Some(code.sha256.as_str()));
    let clean = p.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(clean.code(), 0, "{}", clean.stdout());
    p.run(&["down", "--yes"]).success();
}

/// Each refusal of a bad package or setting: one line naming what is
/// wrong and what to do, exit 2, before any AWS call (the commands run
/// offline), and no ledger written.
#[test]
fn bad_packages_and_settings_are_refused_before_any_call() {
    let p = Paysec::offline("badpkg");
    let root = p.dir.path();
    std::fs::create_dir_all(root.join("app")).unwrap();
    std::fs::write(root.join("app/main.py"), "def handle(e, c): pass\n").unwrap();
    std::fs::create_dir_all(root.join("leaky")).unwrap();
    std::fs::write(root.join("leaky/main.py"), "").unwrap();
    std::os::unix::fs::symlink("/etc/hostname", root.join("leaky/host")).unwrap();
    std::fs::create_dir_all(root.join("big")).unwrap();
    std::fs::write(root.join("big/main.py"), "").unwrap();
    for i in 0..4 {
        let f = std::fs::File::create(root.join(format!("big/blob{i}"))).unwrap();
        f.set_len(64 * 1024 * 1024 + 1).unwrap();
    }
    let cases: &[(&str, &[&str])] = &[
        ("package = \"missing\"", &["lambda.package missing", "does not exist"]),
        (
            "package = \"app\"\nhandler = \"api.handle\"",
            &["lambda.handler api.handle", "api.py"],
        ),
        (
            "package = \"leaky\"\nhandler = \"main.handle\"",
            &["symlink host points outside"],
        ),
        (
            "package = \"big\"\nhandler = \"main.handle\"",
            &["unzipped, over Lambda's"],
        ),
        (
            "package = \"app\"\nruntime = \"provided.al2023\"",
            &["bootstrap"],
        ),
        ("runtime = \"python3.9\"", &["lambda.runtime", "python3.14"]),
        (
            "package = \"app\"\nhandler = \"main.handle\"\narchitecture = \"sparc\"",
            &["lambda.architecture", "arm64"],
        ),
        (
            "package = \"app\"\nhandler = \"main.handle\"\n[lambda.environment]\nSTRIPE_API_KEY = \"sk_live_abc\"",
            &["STRIPE_API_KEY", "Secrets Manager", "lambda.secrets"],
        ),
        (
            "package = \"app\"\nhandler = \"main.handle\"\n[lambda.environment]\nTEST_PAN = \"4111111111111111\"",
            &["TEST_PAN", "card number"],
        ),
        (
            "secrets = [\"arn:aws:secretsmanager:us-east-1:111122223333:secret:*\"]",
            &["lambda.secrets", "no wildcards"],
        ),
    ];
    for (lambda, wanted) in cases {
        std::fs::write(root.join("paysec.toml"), format!("[lambda]\n{lambda}\n")).unwrap();
        for args in [&["up", "--yes"][..], &["deploy", "--yes"][..]] {
            let run = p.run(args);
            let err = run.stderr();
            assert_eq!(run.code(), 2, "{lambda} / {args:?}: {err}");
            assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
            for w in *wanted {
                assert!(err.contains(w), "{lambda}: {w:?} in {err}");
            }
            assert!(!p.ledger_path().exists(), "nothing written: {lambda}");
        }
    }
}

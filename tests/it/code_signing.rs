//! Code signing of the team's releases (`lambda.signing_profile`) through
//! the rules layer's Signer and Lambda code signing (neither emulator
//! signs): the preflight refuses a profile that cannot sign; switched on
//! after an unsigned release, `up` builds the versioned release bucket and
//! an enforcing configuration, binds the function and ships a signed
//! release; `deploy` signs too; the ledger records each release's package
//! digest and job; unsigned code is refused by Lambda; `verify` quotes the
//! configuration and the live version's signer; switched off, the
//! configuration is detached and deleted; `down` leaves nothing.

use aws_sdk_lambda::error::ProvideErrorMetadata as _;
use aws_sdk_lambda::primitives::Blob;
use serde_json::Value;

use crate::support::{aws, finding, Paysec};

fn write_package(root: &std::path::Path, fee: &str) -> String {
    let dir = root.join("api");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("main.py"),
        format!("def handle(event, context):\n    return {{\"statusCode\": 200, \"body\": str(100 * {fee})}}\n"),
    )
    .unwrap();
    paysec_lambda::Code::load(&dir, "python3.13", "main.handle")
        .unwrap()
        .sha256
}

fn config(profile: Option<&str>) -> String {
    let signing = profile
        .map(|p| format!("signing_profile = \"{p}\"\n"))
        .unwrap_or_default();
    format!("[rds]\nenabled = false\n\n[lambda]\npackage = \"api\"\nhandler = \"main.handle\"\n{signing}")
}

/// The newest release `paysec releases` lists.
fn last_release(p: &Paysec) -> Value {
    let r = p.run(&["releases", "--output", "json"]).success().json();
    r["releases"].as_array().unwrap().last().unwrap().clone()
}

/// An attribute of a resource as the ledger records it.
fn recorded(p: &Paysec, id: &str, attr: &str) -> String {
    p.ledger()["resources"][id]["attrs"][attr]
        .as_str()
        .unwrap_or_else(|| panic!("{id} records no {attr}"))
        .to_owned()
}

/// The code signing configuration `function` is bound to ("" for none).
async fn bound_to(aws: &paysec_aws::Aws, function: &str) -> String {
    aws.lambda
        .get_function_code_signing_config()
        .function_name(function)
        .send()
        .await
        .unwrap()
        .code_signing_config_arn()
        .to_owned()
}

/// Lambda answers the configuration `arn` is not found.
async fn assert_gone(aws: &paysec_aws::Aws, arn: &str) {
    let gone = aws
        .lambda
        .get_code_signing_config()
        .code_signing_config_arn(arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Some("ResourceNotFoundException"), "{gone:?}");
}

fn assert_clean_plan(p: &Paysec) {
    let plan = p.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code(), 0, "{}\n{}", plan.stdout(), plan.stderr());
}

#[tokio::test(flavor = "multi_thread")]
async fn releases_are_signed_and_lambda_refuses_unsigned_code() {
    let p = Paysec::new("sig");
    let aws = aws().await;
    let write_config = |profile: Option<&str>| {
        std::fs::write(p.dir.path().join("paysec.toml"), config(profile)).unwrap()
    };
    let first = write_package(p.dir.path(), "0.01");
    let profile_name = p.env.replace('-', "_");
    let profile = aws
        .signer
        .put_signing_profile()
        .profile_name(&profile_name)
        .platform_id(paysec_lambda::signing::LAMBDA_PLATFORM)
        .send()
        .await
        .unwrap();
    let version_arn = profile.profile_version_arn().unwrap().to_owned();

    // A profile that cannot sign is refused before anything is made.
    let canceled = format!("{profile_name}_old");
    aws.signer
        .put_signing_profile()
        .profile_name(&canceled)
        .platform_id(paysec_lambda::signing::LAMBDA_PLATFORM)
        .send()
        .await
        .unwrap();
    aws.signer
        .cancel_signing_profile()
        .profile_name(&canceled)
        .send()
        .await
        .unwrap();
    for (profile, said) in [
        (format!("{profile_name}_none"), "no Signer signing profile"),
        (canceled.clone(), "is Canceled, not Active"),
    ] {
        write_config(Some(&profile));
        let refused = p.run(&["up", "--yes"]);
        assert_eq!(refused.code(), 2, "{}", refused.stderr());
        assert!(
            refused.stderr().contains(said) && refused.stderr().contains(&profile),
            "{}",
            refused.stderr()
        );
        assert!(!p.ledger_path().exists(), "nothing made, nothing recorded");
    }

    // An unsigned release first, then signing switched on.
    write_config(None);
    p.run(&["up", "--yes"]).success();
    let function = recorded(&p, "lambda.function", "name");
    write_config(Some(&profile_name));
    let up = p.run(&["up", "--yes", "--output", "json"]).success().json();
    assert_eq!(up["outcomes"]["s3.releases"], "created", "{up}");
    assert_eq!(up["outcomes"]["lambda.code-signing"], "created", "{up}");
    assert_eq!(up["outcomes"]["lambda.function"], "repaired", "{up}");

    let csc_arn = recorded(&p, "lambda.code-signing", "arn");
    let csc = aws
        .lambda
        .get_code_signing_config()
        .code_signing_config_arn(&csc_arn)
        .send()
        .await
        .unwrap();
    let csc = csc.code_signing_config().unwrap();
    assert_eq!(
        csc.code_signing_policies()
            .and_then(|p| p.untrusted_artifact_on_deployment())
            .map(|p| p.as_str()),
        Some("Enforce")
    );
    assert_eq!(
        csc.allowed_publishers()
            .unwrap()
            .signing_profile_version_arns(),
        std::slice::from_ref(&version_arn)
    );
    let tags = aws
        .lambda
        .list_tags()
        .resource(&csc_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags.tags().and_then(|t| t.get("paysec:environment")),
        Some(&p.env)
    );
    assert_eq!(bound_to(&aws, &function).await, csc_arn);
    let bucket = recorded(&p, "s3.releases", "name");

    let live = |aws: &paysec_aws::Aws| {
        let (aws, function) = (aws.clone(), function.clone());
        async move {
            aws.lambda
                .get_function_configuration()
                .function_name(&function)
                .qualifier("live")
                .send()
                .await
                .unwrap()
        }
    };
    let signed = live(&aws).await;
    assert_eq!(
        signed.signing_profile_version_arn(),
        Some(version_arn.as_str())
    );
    let job = signed.signing_job_arn().unwrap().to_owned();
    let signed_sha = signed.code_sha256().unwrap().to_owned();
    assert_ne!(signed_sha, first, "Lambda runs the signed copy");
    let last = last_release(&p);
    assert_eq!(last["code_sha256"], signed_sha.as_str(), "{last}");
    assert_eq!(last["source_sha256"], first.as_str(), "{last}");
    assert_eq!(last["signing_job"], job.as_str(), "{last}");

    // The signed release stands for the package: nothing to do.
    assert_clean_plan(&p);
    let report = p.run(&["verify", "--output", "json"]).json();
    for control in ["LAM-9", "LAM-11", "LAM-13", "LAM-14", "LAM-15", "LAM-16"] {
        let f = finding(&report, control, None);
        assert_eq!(f["verdict"], "PASS", "{f}");
    }
    // Signer signs only a versioned object: the release bucket is.
    let versioned = finding(&report, "S3-2", Some("s3.releases"));
    assert_eq!(versioned["verdict"], "PASS", "{versioned}");
    assert!(p.ledger()["resources"]["s3.releases"]["attrs"]["name"] == bucket.as_str());
    let lam14 = finding(&report, "LAM-14", None);
    assert!(
        lam14["observed"].as_str().unwrap().contains(&version_arn)
            && lam14["observed"].as_str().unwrap().contains(&job),
        "quotes the signer Lambda reports: {lam14}"
    );
    assert!(finding(&report, "LAM-16", None)["observed"]
        .as_str()
        .unwrap()
        .contains(&version_arn));

    // Unsigned code is refused by Lambda, and nothing changes.
    let refused = aws
        .lambda
        .update_function_code()
        .function_name(&function)
        .zip_file(Blob::new(paysec_lambda::Code::example().zip))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        Some("CodeVerificationFailedException"),
        "{refused:?}"
    );

    // A deploy signs the new package and ships the signed copy.
    let second = write_package(p.dir.path(), "0.02");
    let deployed = p
        .run(&["deploy", "--yes", "--output", "json"])
        .success()
        .json();
    let deployed_job = deployed["signing_job"].as_str().unwrap().to_owned();
    assert_ne!(deployed_job, job);
    assert_eq!(deployed["source_sha256"], second.as_str());
    let now = live(&aws).await;
    assert_eq!(now.signing_job_arn(), Some(deployed_job.as_str()));
    assert_eq!(now.code_sha256(), deployed["code_sha256"].as_str());
    assert_ne!(now.code_sha256(), Some(second.as_str()));
    let last = last_release(&p);
    assert_eq!(last["source_sha256"], second.as_str(), "{last}");
    assert_eq!(last["how"], "deploy");
    assert_clean_plan(&p);
    let again = p
        .run(&["deploy", "--yes", "--output", "json"])
        .success()
        .json();
    assert_eq!(
        again["changed"], false,
        "the same package is not signed twice"
    );

    // A rollback goes to the other package's signed release (not to the
    // unsigned release of the first package, nor to another signing of
    // this one) and holds: `up` changes nothing, `plan` is clean.
    let back = p
        .run(&["rollback", "--yes", "--output", "json"])
        .success()
        .json();
    assert_eq!(back["code_sha256"], signed_sha.as_str(), "{back}");
    let held = p.run(&["up", "--yes", "--output", "json"]).success().json();
    assert_eq!(held["outcomes"]["lambda.function"], "unchanged", "{held}");
    assert_clean_plan(&p);
    p.run(&["deploy", "--yes"]).success();

    // Switched off: the function is unbound and the configuration goes.
    write_config(None);
    p.run(&["up", "--yes"]).success();
    assert_eq!(bound_to(&aws, &function).await, "");
    assert_gone(&aws, &csc_arn).await;
    assert_clean_plan(&p);

    // A function made with signing on is bound and signed from its first
    // version; `down` then removes the configuration and the bucket.
    p.run(&["down", "--yes"]).success();
    write_config(Some(&profile_name));
    let up = p.run(&["up", "--yes", "--output", "json"]).success().json();
    assert_eq!(up["outcomes"]["lambda.function"], "created", "{up}");
    let csc_arn = recorded(&p, "lambda.code-signing", "arn");
    assert_eq!(bound_to(&aws, &function).await, csc_arn);
    let first_version = live(&aws).await;
    assert_eq!(
        first_version.signing_profile_version_arn(),
        Some(version_arn.as_str())
    );
    let last = last_release(&p);
    assert_eq!(last["source_sha256"], second.as_str(), "{last}");
    assert_eq!(
        last["signing_job"].as_str(),
        first_version.signing_job_arn(),
        "{last}"
    );
    assert_clean_plan(&p);
    p.run(&["down", "--yes"]).success();
    assert_gone(&aws, &csc_arn).await;
    assert!(aws.s3.head_bucket().bucket(&bucket).send().await.is_err());
}

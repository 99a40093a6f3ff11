//! `paysec deploy`, `paysec rollback` and `paysec releases`: the team's
//! code shipped into the function as releases behind the alias `live`,
//! each recorded in the ledger (version, CodeSha256, when, by whom), and a
//! bad release undone in one call. Also what `up` records when it
//! publishes one.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use paysec_core::naming::EnvName;
use paysec_core::releases::{How, Releases};
use paysec_core::{Attr, Context, Ledger, LogicalId};
use paysec_lambda::release;

use super::{confirm, require_terminal_or_yes};
use crate::exit::{self, Failure};
use crate::printer::Printer;
use crate::settings::Settings;

/// The payment function's name, from paysec's naming, once the ledger
/// shows it was made here (never a name the ledger alone gives: anyone
/// who can write the ledger could name any function).
fn recorded_function(env: &EnvName, ledger: &Ledger) -> Result<String, Failure> {
    let id = LogicalId::new(paysec_stack::ids::FUNCTION);
    let Some(recorded) = ledger
        .record(&id)
        .and_then(|r| r.attrs.get(Attr::Name.as_str()).cloned())
    else {
        return Err(Failure::Usage(format!(
            "environment {env} has no payment function yet: run `paysec up` first"
        )));
    };
    let function = paysec_core::naming::Names::new(env).lambda_function();
    if recorded != function {
        return Err(Failure::Ledger(paysec_core::LedgerError::ForeignName {
            path: ledger.path().to_owned(),
            env: env.to_string(),
            what: "the payment function",
            found: recorded,
            expected: function,
        }));
    }
    Ok(function)
}

/// Notes in the function's record what `live` now points to, so that
/// `status`, `output` and `invoke` see it without a call.
fn note_live(ledger: &mut Ledger, version: &str, sha256: &str) -> Result<(), Failure> {
    let id = LogicalId::new(paysec_stack::ids::FUNCTION);
    let Some(record) = ledger.record(&id).cloned() else {
        return Ok(());
    };
    let Some(present) = record.present() else {
        return Ok(());
    };
    let present = present
        .with(Attr::Version, version)
        .with(Attr::CodeSha256, sha256);
    ledger.set_present(
        &id,
        &record.kind,
        &present,
        record.status,
        record.converged.as_deref(),
    )?;
    Ok(())
}

/// After `up`: the release `live` points to, as the function's record
/// says, recorded if it is new (published by this run; a rollback the
/// configured package has moved past ends), with the Signer job that
/// signed it when signing is on; then the versions beyond `keep` pruned.
/// The ledger is not held across the calls.
pub async fn after_up(
    ledger: &Mutex<Ledger>,
    aws: &paysec_aws::Aws,
    env: &EnvName,
    caller: &str,
    code: &paysec_lambda::Code,
    keep: usize,
) -> Result<(), Failure> {
    let (function, doomed) = {
        let mut l = ledger.lock().unwrap_or_else(|p| p.into_inner());
        let id = LogicalId::new(paysec_stack::ids::FUNCTION);
        let attrs = l.record(&id).map(|r| r.attrs.clone()).unwrap_or_default();
        let (Some(version), Some(sha256)) = (
            attrs.get(Attr::Version.as_str()),
            attrs.get(Attr::CodeSha256.as_str()),
        ) else {
            return Ok(());
        };
        let job = attrs.get(Attr::SigningJobArn.as_str());
        l.update_releases(|r, now| {
            let new = !r.in_lambda(version);
            r.put_in_service(version, sha256, caller, How::Up, &code.source, now);
            // A version `up` published runs the configured package: its
            // signed copy when a job signed `$LATEST`.
            if let (true, Some(job)) = (new, job) {
                r.note_signed(version, &code.sha256, job);
            }
        })?;
        let Ok(function) = recorded_function(env, &l) else {
            return Ok(());
        };
        (function, l.releases().to_prune(keep))
    };
    if doomed.is_empty() {
        return Ok(());
    }
    let id = LogicalId::new(paysec_stack::ids::FUNCTION);
    let gone = release::prune(aws, &id, &function, &doomed)
        .await
        .map_err(|e| Failure::Run(e.to_string()))?;
    let mut l = ledger.lock().unwrap_or_else(|p| p.into_inner());
    l.update_releases(|r, now| {
        for v in &gone {
            r.mark_pruned(v, now);
        }
    })?;
    Ok(())
}

/// Deletes the versions beyond `lambda.keep_versions` (never the one in
/// service or the rollback target) and records them as pruned.
async fn prune(
    settings: &Settings,
    aws: &paysec_aws::Aws,
    ledger: &mut Ledger,
    function: &str,
) -> Result<Vec<String>, Failure> {
    let doomed = ledger
        .releases()
        .to_prune(settings.config.stack.lambda.keep_versions);
    if doomed.is_empty() {
        return Ok(doomed);
    }
    let id = LogicalId::new(paysec_stack::ids::FUNCTION);
    let gone = release::prune(aws, &id, function, &doomed)
        .await
        .map_err(|e| Failure::Run(e.to_string()))?;
    ledger.update_releases(|r, now| {
        for v in &gone {
            r.mark_pruned(v, now);
        }
    })?;
    Ok(gone)
}

/// The release bucket's name, once the ledger shows it was made here with
/// paysec's name for this environment and the function's account (the
/// same proof as the function's: the ledger alone names nothing).
fn recorded_release_bucket(
    env: &EnvName,
    ledger: &Ledger,
    function_arn: &str,
) -> Result<String, Failure> {
    let id = LogicalId::new(paysec_stack::ids::BUCKET_RELEASES);
    let Some(recorded) = ledger
        .record(&id)
        .and_then(|r| r.attrs.get(Attr::Name.as_str()).cloned())
    else {
        return Err(Failure::Usage(format!(
            "environment {env} signs its releases (lambda.signing_profile) but has no release bucket yet: run `paysec up` first"
        )));
    };
    let account = function_arn.split(':').nth(4).unwrap_or_default();
    let expected = paysec_core::naming::Names::new(env).bucket("releases", account);
    if recorded != expected {
        return Err(Failure::Ledger(paysec_core::LedgerError::ForeignName {
            path: ledger.path().to_owned(),
            env: env.to_string(),
            what: "the release bucket",
            found: recorded,
            expected,
        }));
    }
    Ok(recorded)
}

/// The function's ARN as the ledger records it, once it names paysec's
/// function: calls made with it reach only that account and region, so
/// credentials for another account are refused by Lambda instead of
/// shipping code to a function of the same name there.
fn recorded_arn(ledger: &Ledger, function: &str) -> Result<String, Failure> {
    let id = LogicalId::new(paysec_stack::ids::FUNCTION);
    let arn = ledger
        .record(&id)
        .and_then(|r| r.attrs.get(Attr::Arn.as_str()).cloned())
        .unwrap_or_default();
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "lambda", region, account, "function", name]
            if *name == function
                && ledger.account().is_none_or(|a| a == *account)
                && ledger.region().is_none_or(|r| r == *region) =>
        {
            Ok(arn)
        }
        _ => Err(Failure::Ledger(paysec_core::LedgerError::ForeignName {
            path: ledger.path().to_owned(),
            env: function.to_owned(),
            what: "the payment function's ARN",
            found: arn,
            expected: format!("arn:...:lambda:REGION:ACCOUNT:function:{function}"),
        })),
    }
}

pub async fn deploy(settings: &Settings, printer: &Printer, yes: bool) -> Result<u8, Failure> {
    require_terminal_or_yes(printer, yes, "deploy")?;
    let code = settings.code.clone();
    let mut ledger = Ledger::open_for_write(&settings.ledger, &settings.env, "deploy")?;
    let function = recorded_function(&settings.env, &ledger)?;
    let arn = recorded_arn(&ledger, &function)?;
    let releases = ledger.releases().clone();
    let signing = settings.config.stack.lambda.signing_profile.as_deref();
    let bucket = match signing {
        Some(_) => Some(recorded_release_bucket(&settings.env, &ledger, &arn)?),
        None => None,
    };
    // The package's digest as Lambda runs it (its signed copy's, once one
    // shipped).
    let shipped_digest = releases.shipped_digest(&code.sha256).to_owned();
    if releases.rollback.is_none()
        && releases
            .current()
            .is_some_and(|r| r.code_sha256 == shipped_digest)
    {
        let current = releases
            .current()
            .map(|r| r.version.clone())
            .unwrap_or_default();
        if printer.is_json() {
            printer.json(&serde_json::json!({
                "command": "deploy", "ok": true, "changed": false,
                "version": current, "code_sha256": code.sha256,
            }));
        } else {
            printer.line(format!(
                "Nothing to deploy: {function}:{} is version {current}, already CodeSha256 {} ({}).",
                release::ALIAS,
                code.sha256,
                code.source
            ));
        }
        return Ok(exit::OK);
    }
    if !yes {
        printer.note(format!(
            "Deploy {} (CodeSha256 {}) to {function}, and move `{}` to it from {}?",
            code.source,
            code.sha256,
            release::ALIAS,
            releases
                .current()
                .map(|r| format!("version {} (CodeSha256 {})", r.version, r.code_sha256))
                .unwrap_or_else(|| "no recorded release".into())
        ));
        confirm(printer, &format!("Deploy to environment {}?", settings.env))?;
    }
    let aws = paysec_aws::Aws::connect(&settings.aws_for(&settings.env)).await?;
    let mut parts = arn.split(':').skip(1);
    let (partition, _, region, account) = (
        parts.next().unwrap_or("aws"),
        parts.next(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let env = std::sync::Arc::new(paysec_core::Environment::new(
        settings.env.clone(),
        account,
        region,
        partition,
    ));
    let id = LogicalId::new(paysec_stack::ids::FUNCTION);
    let cx = Context::new(env, id.clone(), BTreeMap::new(), printer.reporter());
    let wait = Duration::from_secs(settings.config.stack.lambda.wait_minutes * 60);
    // Who is calling (for the record) is asked while the code uploads:
    // the function's ARN already pins the account and region.
    let (caller, shipped) = tokio::join!(
        aws.identity(),
        release::deploy(
            &aws,
            &cx,
            &id,
            &arn,
            &code,
            signing
                .zip(bucket.as_deref())
                .map(|(profile, bucket)| { release::SignWith { profile, bucket } }),
            wait
        )
    );
    let shipped = shipped.map_err(|e| Failure::Run(e.to_string()))?;
    let caller = caller?;
    ledger.bind_account(&caller.account, aws.region())?;
    ledger.update_releases(|r, now| {
        r.put_in_service(
            &shipped.version,
            &shipped.code_sha256,
            &caller.arn,
            How::Deploy,
            &code.source,
            now,
        );
        if let Some(job) = &shipped.signing_job {
            r.note_signed(&shipped.version, &code.sha256, job);
        }
    })?;
    note_live(&mut ledger, &shipped.version, &shipped.code_sha256)?;
    let pruned = prune(settings, &aws, &mut ledger, &arn).await?;
    ledger.flush()?;
    if printer.is_json() {
        printer.json(&serde_json::json!({
            "command": "deploy", "ok": true, "changed": true,
            "version": shipped.version, "code_sha256": shipped.code_sha256,
            "alias_arn": shipped.alias_arn, "pruned": pruned,
            "signing_job": shipped.signing_job, "source_sha256": code.sha256,
        }));
    } else {
        printer.line(format!(
            "Deployed: {function}:{} -> version {} (CodeSha256 {}), from {}{}.",
            release::ALIAS,
            shipped.version,
            shipped.code_sha256,
            code.source,
            shipped
                .signing_job
                .as_deref()
                .map(|job| format!(" (CodeSha256 {}) signed by Signer job {job}", code.sha256))
                .unwrap_or_default()
        ));
        if !pruned.is_empty() {
            printer.line(format!(
                "Pruned version(s) {} (lambda.keep_versions = {}).",
                pruned.join(", "),
                settings.config.stack.lambda.keep_versions
            ));
        }
    }
    Ok(exit::OK)
}

pub async fn rollback(
    settings: &Settings,
    printer: &Printer,
    to: Option<&str>,
    yes: bool,
) -> Result<u8, Failure> {
    require_terminal_or_yes(printer, yes, "rollback")?;
    let mut ledger = Ledger::open_for_write(&settings.ledger, &settings.env, "rollback")?;
    let function = recorded_function(&settings.env, &ledger)?;
    let releases = ledger.releases().clone();
    let target = releases
        .rollback_target(to)
        .map_err(Failure::Usage)?
        .clone();
    let from = releases.current().cloned();
    let arn = recorded_arn(&ledger, &function)?;
    if !yes {
        printer.note(format!(
            "Move `{}` of {function} from {} back to version {} (CodeSha256 {}, released {} by {})?",
            release::ALIAS,
            from.as_ref()
                .map(|r| format!("version {}", r.version))
                .unwrap_or_else(|| "its current version".into()),
            target.version,
            target.code_sha256,
            target.at,
            target.by
        ));
        confirm(printer, &format!("Roll back environment {}?", settings.env))?;
    }
    let aws = paysec_aws::Aws::connect(&settings.aws_for(&settings.env)).await?;
    let id = LogicalId::new(paysec_stack::ids::FUNCTION);
    // One call moves `live` (the ARN pins the account); who made it is
    // asked at the same time, for the record.
    let (caller, moved) = tokio::join!(
        aws.identity(),
        release::point_live(&aws, &id, &arn, &target.version)
    );
    moved.map_err(|e| Failure::Run(e.to_string()))?;
    let caller = caller?;
    ledger.bind_account(&caller.account, aws.region())?;
    let configured = settings.code.sha256.clone();
    ledger.update_releases(|r, now| r.rolled_back(&target, &configured, &caller.arn, now))?;
    note_live(&mut ledger, &target.version, &target.code_sha256)?;
    ledger.flush()?;
    if printer.is_json() {
        printer.json(&serde_json::json!({
            "command": "rollback", "ok": true,
            "version": target.version, "code_sha256": target.code_sha256,
            "from_version": from.map(|r| r.version),
        }));
    } else {
        printer.line(format!(
            "Rolled back: {function}:{} -> version {}; CodeSha256 {} now runs. `paysec up` keeps it until the configured package changes or `paysec deploy` runs.",
            release::ALIAS,
            target.version,
            target.code_sha256
        ));
    }
    Ok(exit::OK)
}

pub fn list(settings: &Settings, printer: &Printer) -> Result<u8, Failure> {
    let ledger = Ledger::open_read_only(&settings.ledger, &settings.env)?;
    let releases: &Releases = ledger.releases();
    if printer.is_json() {
        printer.json(&serde_json::json!({
            "environment": settings.env.as_str(),
            "alias": release::ALIAS,
            "in_service": releases.in_service,
            "rollback": releases.rollback,
            "releases": releases.history,
        }));
        return Ok(exit::OK);
    }
    if releases.history.is_empty() {
        printer.line(format!(
            "Environment {}: no release recorded yet (`paysec up` makes the first).",
            settings.env
        ));
        return Ok(exit::OK);
    }
    printer.line(format!(
        "  {:<8} {:<46} {:<21} {:<7} BY",
        "VERSION", "CODESHA256", "AT", "HOW"
    ));
    for r in releases.history.iter().rev() {
        let mark = if releases.in_service.as_deref() == Some(r.version.as_str()) {
            "*"
        } else {
            " "
        };
        let pruned = if r.pruned_at.is_some() {
            " (pruned)"
        } else {
            ""
        };
        printer.line(format!(
            "{mark} {:<8} {:<46} {:<21} {:<7} {}{pruned}",
            r.version,
            r.code_sha256,
            r.at,
            r.how.as_str(),
            r.by
        ));
    }
    if let Some(rb) = &releases.rollback {
        printer.line(format!(
            "* in service (`{}`). A rollback from version {} to {} holds (by {} at {}) until the configured package changes or `paysec deploy` runs.",
            release::ALIAS,
            rb.from_version,
            rb.version,
            rb.by,
            rb.at
        ));
    } else {
        printer.line(format!("* in service (`{}`).", release::ALIAS));
    }
    Ok(exit::OK)
}

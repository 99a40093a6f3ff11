//! `paysec plan`: what `up` (or `down --destroy`) would do, reading but
//! changing nothing; for one environment, or for a fleet (several
//! `--env`), each planned in turn.

use paysec_core::policy_doc;
use paysec_stack::{ID_WIDTH, KIND_WIDTH};
use std::sync::{Arc, Mutex};

use paysec_core::scheduler::{Planned, PlannedChange};
use paysec_core::Ledger;

use super::removal::Removal;
use super::saved_plan::SavedPlan;
use super::session::{read_failure, Session};
use crate::exit::{self, Failure};
use crate::printer::Printer;
use crate::settings::Settings;

/// What `paysec plan` was asked for.
#[derive(Clone)]
pub struct Options {
    pub destroy: bool,
    /// `--no-refresh`: quick checks for what converged before.
    pub quick: bool,
    pub detailed_exitcode: bool,
    /// `--out FILE`: save the plan for `up --plan FILE`.
    pub out: Option<std::path::PathBuf>,
}

pub async fn run(settings: &Settings, printer: &Printer, options: Options) -> Result<u8, Failure> {
    let (code, doc) = one(settings, &settings.env, printer, options).await?;
    if let Some(doc) = doc {
        printer.json(&doc);
    }
    Ok(code)
}

/// A fleet's plan (several `--env`): each environment's in turn, in its
/// own account and region, as `up` would apply them; text under a header
/// per environment, or one JSON document keyed by environment. With
/// `--detailed-exitcode`, 8 when any environment has changes. A saved
/// plan (`--out`) is one environment's: refused before this.
pub async fn fleet(
    settings: &Settings,
    printer: &Printer,
    options: Options,
) -> Result<u8, Failure> {
    let mut docs = serde_json::Map::new();
    let mut code = exit::OK;
    for env in &settings.fleet {
        if !printer.is_json() {
            printer.line(format!("== environment {env}"));
        }
        // Each with what it builds: its own sections over the file's.
        let (c, doc) = one(
            &settings.for_environment(env)?,
            env,
            printer,
            options.clone(),
        )
        .await?;
        if let Some(doc) = doc {
            docs.insert(env.to_string(), doc);
        }
        if c == exit::PLAN_HAS_CHANGES {
            code = c;
        }
    }
    if printer.is_json() {
        printer.json(&serde_json::json!({ "command": "plan", "environments": docs }));
    }
    Ok(code)
}

/// One environment's plan: printed in text, or returned as its JSON
/// document.
async fn one(
    settings: &Settings,
    env: &paysec_core::naming::EnvName,
    printer: &Printer,
    options: Options,
) -> Result<(u8, Option<serde_json::Value>), Failure> {
    let Options {
        destroy,
        quick,
        detailed_exitcode,
        out,
    } = options;
    let ledger = Ledger::open_read_only(&settings.ledger, env)?;
    let mut c = Session::open_as(settings, &settings.aws_for(env), env, true).await?;
    // Checked on a copy (plan never writes the ledger), before the
    // preflight: a ledger of another account or region stops it at once.
    let mut probe = Ledger::open_read_only(&settings.ledger, env)?;
    probe.bind_account(&c.env.account, &c.env.region)?;
    c.keep_recorded_key_admins(&ledger).await;
    if !destroy {
        c.preflight(printer, &ledger, crate::cli::PolicyFor::Verify)
            .await?;
    }
    if let Some(held) = ledger.releases().held(&settings.code.sha256) {
        if settings.code.sha256 != held.package_sha256() && !destroy {
            // Not drift: the rollback is the decision in force.
            printer.note(format!(
                "A rollback holds version {} (CodeSha256 {}) in service; the configured package {} (CodeSha256 {}) differs and ships with the next `paysec deploy`, or with `up` once the package changes.",
                held.version, held.code_sha256, settings.code.source, settings.code.sha256
            ));
        }
    }
    let graph = c.graph(&ledger)?;
    let ledger = Arc::new(Mutex::new(ledger));
    let removal = Removal::of(&graph, &c, &ledger, |whole| {
        c.reading_scheduler(whole, ledger.clone(), printer.reporter())
    })?;
    let s = c
        .reading_scheduler(graph, ledger, printer.reporter())
        .quick_checks(quick);
    let changes = if destroy {
        s.plan_down()
    } else {
        // Then what the configuration no longer builds goes.
        if let Some(note) = removal.held_note() {
            tracing::warn!("{note}");
        }
        let mut changes = s.plan_up().await.map_err(read_failure)?;
        changes.extend(removal.plan());
        changes
    };
    let doc = if printer.is_json() {
        Some(serde_json::json!({
            "environment": env.as_str(),
            "destroy": destroy,
            "preflight": c.resolved.checks,
            "changes": changes,
            "summary": counts(&changes),
        }))
    } else {
        print(printer, &changes);
        None
    };
    if let Some(path) = &out {
        SavedPlan::new(&c.env, &probe, &changes, !quick).write(path)?;
        printer.note(format!(
            "Saved the plan to {}; apply exactly it with `paysec up --plan {}`.",
            path.display(),
            path.display()
        ));
    }
    let has_changes = changes
        .iter()
        .any(|c| !matches!(c.planned, Planned::NoChange { .. }));
    let code = if detailed_exitcode && has_changes {
        exit::PLAN_HAS_CHANGES
    } else {
        exit::OK
    };
    Ok((code, doc))
}

fn counts(changes: &[PlannedChange]) -> serde_json::Value {
    let n = |f: fn(&Planned) -> bool| changes.iter().filter(|c| f(&c.planned)).count();
    serde_json::json!({
        "create": n(|p| matches!(p, Planned::Create)),
        "adopt": n(|p| matches!(p, Planned::Adopt { .. })),
        "repair": n(|p| matches!(p, Planned::Repair { .. })),
        "delete": n(|p| matches!(p, Planned::Delete { .. })),
        "no_change": n(|p| matches!(p, Planned::NoChange { .. })),
        "drifted": drifted(changes),
    })
}

/// The drifted resources and their properties, `kms.rds (rotation)`.
fn drifted(changes: &[PlannedChange]) -> Vec<String> {
    changes
        .iter()
        .filter_map(|c| match &c.planned {
            Planned::Repair { drift, .. } => {
                let props: Vec<&str> = drift.iter().map(|d| d.property.as_str()).collect();
                Some(format!("{} ({})", c.id, props.join(", ")))
            }
            _ => None,
        })
        .collect()
}

/// Terraform-like text: one line per resource, then a summary.
pub fn print(printer: &Printer, changes: &[PlannedChange]) {
    for c in changes {
        let line = match &c.planned {
            Planned::Create => format!("  + {:<ID_WIDTH$} {:<KIND_WIDTH$} create", c.id, c.kind),
            Planned::Adopt { physical_id } => {
                format!(
                    "  = {:<ID_WIDTH$} {:<KIND_WIDTH$} adopt {physical_id}",
                    c.id, c.kind
                )
            }
            Planned::Repair { physical_id, drift } => {
                // A policy reads as the statements that change, one line
                // each (the whole documents are in `--output json`).
                let policies: Vec<(&str, Vec<String>)> = drift
                    .iter()
                    .filter_map(|d| {
                        let live = policy_doc::unquote(&d.actual)?;
                        let wanted = policy_doc::unquote(&d.expected)?;
                        Some((
                            d.property.as_str(),
                            policy_doc::statement_changes(&live, &wanted),
                        ))
                    })
                    .collect();
                let what: Vec<String> = drift
                    .iter()
                    .map(|d| match policies.iter().find(|(p, _)| *p == d.property) {
                        Some((_, changes)) => format!(
                            "{}: {} statement change{} below",
                            d.property,
                            changes.len(),
                            if changes.len() == 1 { "" } else { "s" }
                        ),
                        None => format!("{}: {} -> {}", d.property, d.actual, d.expected),
                    })
                    .collect();
                let mut line = format!(
                    "  ~ {:<ID_WIDTH$} {:<KIND_WIDTH$} repair {physical_id} ({})",
                    c.id,
                    c.kind,
                    what.join("; ")
                );
                for (property, changes) in &policies {
                    line.push_str(&format!("\n      {property}:"));
                    for change in changes {
                        line.push_str(&format!("\n        {change}"));
                    }
                }
                line
            }
            Planned::NoChange { physical_id, .. } => {
                format!(
                    "    {:<ID_WIDTH$} {:<KIND_WIDTH$} no change {physical_id}",
                    c.id, c.kind
                )
            }
            Planned::Delete { physical_id } => format!(
                "  - {:<ID_WIDTH$} {:<KIND_WIDTH$} delete {}",
                c.id,
                c.kind,
                physical_id.as_deref().unwrap_or("(look up by tag)")
            ),
        };
        printer.line(line);
    }
    let n = counts(changes);
    printer.line(format!(
        "\nPlan: {} to create, {} to adopt, {} to repair, {} to delete, {} unchanged.",
        n["create"], n["adopt"], n["repair"], n["delete"], n["no_change"]
    ));
    // One line a CI log can be searched for.
    let drifted = drifted(changes);
    if !drifted.is_empty() {
        printer.line(format!(
            "{} resources drifted: {}",
            drifted.len(),
            drifted.join(", ")
        ));
    }
    let presence_only = only_checked_to_exist(changes);
    if presence_only > 0 {
        printer.line(quick_checked_note(presence_only));
    }
}

/// How many resources only got their quick check (`--no-refresh`).
pub fn only_checked_to_exist(changes: &[PlannedChange]) -> usize {
    changes
        .iter()
        .filter(|c| {
            matches!(
                c.planned,
                Planned::NoChange {
                    properties_read: false,
                    ..
                }
            )
        })
        .count()
}

/// What `plan` and `up` say of the resources that only got their quick check.
pub fn quick_checked_note(n: usize) -> String {
    format!(
        "--no-refresh: {n} unchanged since they last converged were only checked to exist, their properties not re-read (a change made outside paysec stays); without --no-refresh they are read and repaired, and `paysec verify` checks them."
    )
}

//! `paysec status`: what the ledger holds. No network.

use paysec_core::Ledger;
use paysec_stack::{ID_WIDTH, KIND_WIDTH};

use crate::exit::{self, Failure};
use crate::printer::Printer;
use crate::settings::Settings;

pub fn run(settings: &Settings, printer: &Printer) -> Result<u8, Failure> {
    let ledger = Ledger::open_read_only(&settings.ledger, &settings.env)?;
    if printer.is_json() {
        let resources: Vec<_> = ledger
            .records()
            .iter()
            .map(|(id, r)| {
                serde_json::json!({
                    "id": id, "kind": r.kind, "status": r.status,
                    "physical_id": r.physical_id, "attrs": r.attrs,
                    "updated_at": r.updated_at, "last_error": r.last_error,
                })
            })
            .collect();
        printer.json(&serde_json::json!({
            "environment": settings.env.as_str(),
            "ledger": ledger.path(),
            "exists": ledger.exists_on_disk(),
            "account": ledger.account(),
            "region": ledger.region(),
            "updated_at": ledger.exists_on_disk().then(|| ledger.updated_at()),
            "resources": resources,
            "kept": ledger.kept(),
        }));
        return Ok(exit::OK);
    }
    if !ledger.exists_on_disk() {
        printer.line(format!(
            "Environment {}: no ledger at {} (nothing deployed from here). Run `paysec plan` then `paysec up`.",
            settings.env,
            ledger.path().display()
        ));
        return Ok(exit::OK);
    }
    printer.line(format!(
        "Environment {} (account {}, region {}), ledger {} updated {}",
        settings.env,
        ledger.account().unwrap_or("?"),
        ledger.region().unwrap_or("?"),
        ledger.path().display(),
        ledger.updated_at()
    ));
    for (id, r) in ledger.records() {
        let status = serde_json::to_value(r.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        printer.line(format!(
            "  {:<ID_WIDTH$} {:<KIND_WIDTH$} {:<9} {}{}",
            id.as_str(),
            r.kind,
            status,
            r.physical_id.as_deref().unwrap_or("-"),
            r.last_error
                .as_deref()
                .map(|e| format!("  (last error: {e})"))
                .unwrap_or_default()
        ));
    }
    for k in ledger.kept() {
        printer.line(format!(
            "  kept {}: {}",
            k.id,
            k.note.replace('\n', "\n    ")
        ));
    }
    printer.line(format!(
        "{} resource(s) in the ledger.",
        ledger.records().len()
    ));
    Ok(exit::OK)
}

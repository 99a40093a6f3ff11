//! `paysec output`: the stack outputs from the ledger (the Terraform setup's
//! `terraform output`). No network.

use paysec_core::Ledger;

use crate::exit::{self, Failure};
use crate::printer::Printer;
use crate::settings::Settings;

/// The output that hands the audit role's external id to the auditor.
const HANDOVER: &str = "audit_role_external_id";

pub fn run(
    settings: &Settings,
    printer: &Printer,
    name: Option<&str>,
    raw: bool,
) -> Result<u8, Failure> {
    let ledger = Ledger::open_read_only(&settings.ledger, &settings.env)?;
    let outputs = paysec_stack::outputs(&ledger);
    if let Some(name) = name {
        let Some(o) = outputs.iter().find(|o| o.name == name) else {
            let known: Vec<_> = paysec_stack::output_names().collect();
            return Err(Failure::Usage(format!(
                "no output named {name:?}; outputs are: {}",
                known.join(", ")
            )));
        };
        let Some(value) = &o.value else {
            return Err(Failure::Usage(format!(
                "output {name} has no value in environment {}: run `paysec up` first",
                settings.env
            )));
        };
        let text = if raw {
            value.clone()
        } else if printer.is_json() {
            serde_json::to_string_pretty(&serde_json::json!({ name: value })).unwrap_or_default()
        } else {
            format!("{name} = {value}")
        };
        // The hand-over to the auditor: the one place an external id is
        // shown as it is (elsewhere, its digest: `paysec_core::shown`).
        if name == HANDOVER {
            printer.handover_line(text);
        } else {
            printer.line(text);
        }
        return Ok(exit::OK);
    }
    if printer.is_json() {
        let map: serde_json::Map<String, serde_json::Value> = outputs
            .iter()
            .map(|o| (o.name.to_owned(), serde_json::json!(o.value)))
            .collect();
        printer.json(&map);
    } else {
        for o in outputs {
            printer.line(format!(
                "{} = {}",
                o.name,
                o.value.as_deref().unwrap_or("(not created)")
            ));
        }
    }
    Ok(exit::OK)
}

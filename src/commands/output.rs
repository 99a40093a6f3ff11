//! `paysec output`: the stack outputs from the ledger (the Terraform setup's
//! `terraform output`). No network.

use paysec_core::Ledger;

use crate::exit::{self, Failure};
use crate::printer::Printer;
use crate::settings::Settings;

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
        if raw {
            printer.line(value);
        } else if printer.is_json() {
            printer.json(&serde_json::json!({ name: value }));
        } else {
            printer.line(format!("{name} = {value}"));
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

//! `paysec invoke`: a test payment through the deployed function.

use std::path::PathBuf;

use paysec_core::{Ledger, LogicalId};

use crate::exit::{self, Failure};
use crate::printer::Printer;
use crate::settings::Settings;

pub async fn run(
    settings: &Settings,
    printer: &Printer,
    payload: Option<String>,
    file: Option<PathBuf>,
) -> Result<u8, Failure> {
    let payload = match (payload, file) {
        (Some(p), _) => p,
        (None, Some(f)) => std::fs::read_to_string(&f).map_err(|e| {
            Failure::Usage(format!("cannot read --payload-file {}: {e}", f.display()))
        })?,
        (None, None) => paysec_lambda::EXAMPLE_PAYLOAD.to_owned(),
    };
    serde_json::from_str::<serde_json::Value>(&payload)
        .map_err(|e| Failure::Usage(format!("the payload is not valid JSON: {e}")))?;
    let ledger = Ledger::open_read_only(&settings.ledger, &settings.env)?;
    let id = LogicalId::new(paysec_stack::ids::FUNCTION);
    // Through `live`, as every caller, once the function has releases.
    let qualifier = ledger
        .record(&id)
        .filter(|r| r.attrs.contains_key(paysec_core::Attr::Version.as_str()))
        .map(|_| paysec_lambda::release::ALIAS);
    let Some(recorded) = ledger
        .record(&id)
        .and_then(|r| r.attrs.get(paysec_core::Attr::Name.as_str()).cloned())
    else {
        return Err(Failure::Usage(format!(
            "environment {} has no payment function yet: run `paysec up` first",
            settings.env
        )));
    };
    // The function paysec's naming gives, never another the ledger names
    // (anyone who can write the ledger could name any function).
    let function = paysec_core::naming::Names::new(&settings.env).lambda_function();
    if recorded != function {
        return Err(Failure::Ledger(paysec_core::LedgerError::ForeignName {
            path: ledger.path().to_owned(),
            env: settings.env.to_string(),
            what: "the payment function",
            found: recorded,
            expected: function,
        }));
    }
    let c = super::connect_reading(settings).await?;
    let out = paysec_lambda::invoke(&c.aws, &id, &function, qualifier, &payload)
        .await
        .map_err(|e| Failure::Run(e.to_string()))?;
    if printer.is_json() {
        printer.json(&out);
    } else {
        printer.line(format!(
            "{function}{}: HTTP {}{}",
            qualifier.map(|q| format!(":{q}")).unwrap_or_default(),
            out.status_code,
            out.function_error
                .as_deref()
                .map(|e| format!(", function error: {e}"))
                .unwrap_or_default()
        ));
        printer.line(&out.response);
    }
    match out.function_error {
        Some(e) => Err(Failure::Run(format!(
            "the function failed ({e}); see its log group {}",
            paysec_stack::ids::LOG_LAMBDA
        ))),
        None => Ok(exit::OK),
    }
}

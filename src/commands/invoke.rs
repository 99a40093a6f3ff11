//! `paysec invoke`: a test payment through the deployed function, or
//! (`--api`) through the payment API as a caller sends it.

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
    let c = super::session::Session::open_reading(settings).await?;
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

/// The example request body of `--api`.
const EXAMPLE_BODY: &str = r#"{"transaction_id": "test-001", "amount": 99.99}"#;

/// `paysec invoke --api`: POSTs to the stage, signed with SigV4.
pub async fn api(
    settings: &Settings,
    printer: &Printer,
    payload: Option<String>,
    file: Option<PathBuf>,
    path: &str,
) -> Result<u8, Failure> {
    let body = match (payload, file) {
        (Some(p), _) => p,
        (None, Some(f)) => std::fs::read_to_string(&f).map_err(|e| {
            Failure::Usage(format!("cannot read --payload-file {}: {e}", f.display()))
        })?,
        (None, None) => EXAMPLE_BODY.to_owned(),
    };
    serde_json::from_str::<serde_json::Value>(&body)
        .map_err(|e| Failure::Usage(format!("the body is not valid JSON: {e}")))?;
    let ledger = Ledger::open_read_only(&settings.ledger, &settings.env)?;
    let id = LogicalId::new(paysec_stack::ids::API);
    let Some(record) = ledger.record(&id) else {
        return Err(Failure::Usage(format!(
            "environment {} has no payment API: run `paysec up` with api.enabled (the default)",
            settings.env
        )));
    };
    // The API paysec's naming gives, never another the ledger names.
    let expected = paysec_core::naming::Names::new(&settings.env).api();
    let recorded = record
        .attrs
        .get(paysec_core::Attr::Name.as_str())
        .cloned()
        .unwrap_or_default();
    if recorded != expected {
        return Err(Failure::Ledger(paysec_core::LedgerError::ForeignName {
            path: ledger.path().to_owned(),
            env: settings.env.to_string(),
            what: "the payment API",
            found: recorded,
            expected,
        }));
    }
    let api_id = record.physical_id.clone().unwrap_or_default();
    let c = super::session::Session::open_reading(settings).await?;
    // Under an emulator, its route to the stage at the configured endpoint.
    let emulator_endpoint = c.aws.emulator().and(c.aws.sdk_config().endpoint_url());
    let url = paysec_api::call::url(&api_id, c.aws.region(), emulator_endpoint, path);
    let answer = paysec_api::call::post(&c.aws, &url, c.aws.region(), &body)
        .await
        .map_err(|e| Failure::Run(e.to_string()))?;
    if printer.is_json() {
        printer.json(&answer);
    } else {
        printer.line(format!("POST {}: HTTP {}", answer.url, answer.status));
        printer.line(&answer.body);
    }
    if (200..300).contains(&answer.status) {
        Ok(exit::OK)
    } else {
        Err(Failure::Run(format!(
            "the API answered HTTP {} (403: the caller is not allowed by the resource policy or did not come through an allowed endpoint; 429: throttled; 5xx: see {})",
            answer.status,
            paysec_stack::ids::LOG_API_ACCESS
        )))
    }
}

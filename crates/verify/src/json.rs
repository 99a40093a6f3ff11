//! The JSON report (`verify --report FILE.json`, `--output json`).

use crate::evaluate::Report;
use crate::prerequisites::PrerequisiteSummary;
use crate::scope::{Header, NOT_COVERED};

/// The evidence as one JSON document: where and when, the summary, every
/// finding (`verify --report FILE.json`; `--output json` prints the same).
pub fn json(report: &Report, h: &Header<'_>) -> serde_json::Value {
    serde_json::json!({
        "environment": h.environment,
        "account": h.account,
        "region": h.region,
        "checked_at": h.at,
        "paysec_version": h.version,
        "scope": h.scope,
        "not_covered": NOT_COVERED,
        "ok": report.ok(),
        "summary": report.summary,
        "findings": report.findings,
        "prerequisites": report.prerequisites,
        "prerequisites_summary": PrerequisiteSummary::of(&report.prerequisites),
        "calls": report.calls.iter().map(|c| serde_json::json!({
            "seq": c.seq,
            "resource": c.resource,
            "service": c.service,
            "operation": c.operation,
            "request_id": c.request_id,
            "status": c.status,
            "at": c.at,
            "body_sha256": paysec_core::digest::sha256_hex(c.body.as_bytes()),
        })).collect::<Vec<_>>(),
    })
}

//! The Markdown report (`verify --report FILE.md`), its side file of raw
//! answers and the SHA-256 manifest of the files written.

use crate::catalog::heading;
use crate::evaluate::{requirements, under, Report};
use crate::prerequisites::PrerequisiteSummary;
use crate::scope::{Header, NOT_COVERED};

/// A table cell of text from outside (AWS's answers, names, request ids):
/// nothing in it can end the cell or the row, start a link, code or HTML,
/// or escape the escaping. Line breaks become spaces; `|`, `` ` ``, `[`,
/// `]` and `\` are backslash-escaped (CommonMark shows them as they are);
/// `<`, `>` and `&` become entities.
pub(crate) fn escape_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\r' | '\n' => out.push(' '),
            '\\' | '|' | '`' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

/// A cell holding paysec's own command text in a code span: only `|`
/// needs escaping there (GitHub's tables read it even inside code).
pub(crate) fn code_cell(text: &str) -> String {
    format!("`{}`", text.replace('|', "\\|"))
}

/// The evidence report, Markdown: scope, summary, a section per
/// requirement (each finding with the calls it was read from), and an
/// appendix of those calls with their request ids and the SHA-256 of each
/// answer (the answers themselves: [`responses`]).
/// The evidence as Markdown; `report_name` is the report's file name, beside
/// which its diagrams are written.
pub fn markdown(report: &Report, h: &Header<'_>, report_name: &str) -> String {
    let s = &report.summary;
    let sc = &h.scope;
    let mut rows = h.scope_rows();
    rows.push((
        "API calls",
        format!(
            "{} (Appendix A; answers in the side file)",
            report.calls.len()
        ),
    ));
    rows.push(("result", format!("{} controls, {} findings: {} pass, {} fail, {} not applicable, {} unknown, {} deviation", s.controls, s.total, s.pass, s.fail, s.not_applicable, s.unknown, s.deviation)));
    let mut out = "# paysec configuration evidence\n\n| | |\n|---|---|\n".to_owned();
    for (k, v) in rows {
        out.push_str(&format!("| {k} | {} |\n", escape_cell(&v)));
    }
    out.push_str(&format!("\nEach control was checked against the live resource through the AWS API between the times above; PASS and FAIL quote what AWS returned, and each finding names the calls (Appendix A) it was read from (PCI DSS v4.0.1 requirement numbers). This is configuration evidence for the *examine configuration* test steps: paysec supports these requirements; only an assessment attests compliance. A DEVIATION is a departure from the control's baseline that the configuration chose (or an account limit imposed), with its reason; it is neither a pass nor a failure.\n\n{NOT_COVERED}\n"));
    for req in requirements(report) {
        out.push_str(&format!("\n## {}\n\n| control | resource | physical id | check | verdict | expected | observed | read by calls |\n|---|---|---|---|---|---|---|---|\n", heading(&req)));
        for f in report.findings.iter().filter(|f| under(f, &req)) {
            let reads: Vec<String> = f.reads.iter().map(|n| format!("#{n}")).collect();
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                f.control,
                f.resource,
                escape_cell(f.physical_id.as_deref().unwrap_or("-")),
                f.title,
                f.verdict.label(),
                escape_cell(&f.expected_shown()),
                escape_cell(&f.observed),
                if reads.is_empty() {
                    "-".to_owned()
                } else {
                    reads.join(" ")
                }
            ));
        }
    }
    if !report.prerequisites.is_empty() {
        out.push_str(&format!("\n## Owner prerequisites ({})\n\nAccount-wide services and settings the stack relies on and the account's owner runs: read live, not built or changed by paysec, not counted with the controls above.\n\n| prerequisite | requirement(s) | check | status | observed | when not met | read by calls |\n|---|---|---|---|---|---|---|\n", PrerequisiteSummary::of(&report.prerequisites).line()));
        for p in &report.prerequisites {
            let reads: Vec<String> = p.reads.iter().map(|n| format!("#{n}")).collect();
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                p.id,
                p.requirements.join(", "),
                p.title,
                p.status.label(),
                escape_cell(&p.observed),
                p.fix.map_or_else(|| "-".to_owned(), code_cell),
                if reads.is_empty() {
                    "-".to_owned()
                } else {
                    reads.join(" ")
                }
            ));
        }
    }
    out.push_str(&report.figures.markdown(report_name));
    if !report.calls.is_empty() {
        out.push_str("\n## Appendix A: the API calls read\n\n| # | resource | service | operation | request id | HTTP | answered at | answer SHA-256 |\n|---|---|---|---|---|---|---|---|\n");
        for c in &report.calls {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                c.seq,
                c.resource.as_deref().unwrap_or("-"),
                c.service,
                c.operation,
                escape_cell(c.request_id.as_deref().unwrap_or("-")),
                c.status,
                c.at,
                paysec_core::digest::sha256_hex(c.body.as_bytes())
            ));
        }
    }
    if !sc.configuration.is_null() {
        out.push_str(&format!("\n## Appendix B: the configuration\n\nThe stack settings this run compared the live resources with (their SHA-256 is the configuration digest above); a control whose expected value is configurable takes it from here; where a control also has a fixed baseline (Multi-AZ, 365 days of log retention), a configured value below it fails all the same.\n\n```json\n{}\n```\n", serde_json::to_string_pretty(&sc.configuration).unwrap_or_default()));
    }
    out
}

/// The raw answers behind a report, as one JSON document (the side file
/// `REPORT.responses.json`): every call with its body as AWS sent it
/// (presigned URLs removed), whose SHA-256 the report quotes.
pub fn responses(report: &Report) -> serde_json::Value {
    serde_json::json!({ "calls": report.calls })
}

/// A manifest of report files in `sha256sum` format (`sha256sum -c`
/// checks it): one line per (file name, contents).
pub fn manifest(files: &[(&str, &str)]) -> String {
    files
        .iter()
        .map(|(name, text)| {
            format!(
                "{}  {name}\n",
                paysec_core::digest::sha256_hex(text.as_bytes())
            )
        })
        .collect()
}

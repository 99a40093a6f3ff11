//! `verify --report FILE.html`: the evidence an auditor opens in a
//! browser. One self-contained file (inline style, no script, nothing
//! fetched): where and when it was taken, the summary, a picture of the
//! environment (the resource graph, each resource colored by its
//! controls' verdicts), and the findings by PCI DSS requirement.

use std::collections::BTreeMap;

use crate::{requirements, Finding, Header, Report, Verdict};

/// The environment's resources and dependencies, for the picture: each
/// resource's logical id and kind, and (dependency, dependent) pairs of
/// indexes into `nodes`, which are in dependency order.
pub struct Picture {
    pub nodes: Vec<(String, String)>,
    pub edges: Vec<(usize, usize)>,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The worst verdict among a resource's findings, as a CSS class: a FAIL
/// shows over an UNKNOWN, that over a PASS.
fn status(findings: &[&Finding]) -> &'static str {
    let has = |v| findings.iter().any(|f| f.verdict == v);
    if has(Verdict::Fail) {
        "fail"
    } else if has(Verdict::Unknown) {
        "unknown"
    } else if has(Verdict::Deviation) {
        "deviation"
    } else if has(Verdict::Pass) {
        "pass"
    } else {
        "na"
    }
}

const BOX_W: usize = 250;
const BOX_H: usize = 34;
const COL_GAP: usize = 70;
const ROW_GAP: usize = 12;

/// The graph as SVG: one column per dependency depth.
fn svg(picture: &Picture, by_resource: &BTreeMap<&str, Vec<&Finding>>) -> String {
    // Nodes come in dependency order: a dependency's depth is final first.
    let mut depth: Vec<usize> = Vec::with_capacity(picture.nodes.len());
    for i in 0..picture.nodes.len() {
        let deepest = picture
            .edges
            .iter()
            .filter(|(from, to)| *to == i && *from < i)
            .map(|(from, _)| depth[*from] + 1)
            .max()
            .unwrap_or(0);
        depth.push(deepest);
    }
    let mut row_of = vec![0usize; picture.nodes.len()];
    let mut rows: BTreeMap<usize, usize> = BTreeMap::new();
    for (i, d) in depth.iter().enumerate() {
        let r = rows.entry(*d).or_insert(0);
        row_of[i] = *r;
        *r += 1;
    }
    let columns = depth.iter().max().map_or(0, |d| d + 1);
    let height = rows.values().max().copied().unwrap_or(0) * (BOX_H + ROW_GAP) + ROW_GAP;
    let width = columns * (BOX_W + COL_GAP);
    let at = |i: usize| {
        (
            depth[i] * (BOX_W + COL_GAP) + 10,
            row_of[i] * (BOX_H + ROW_GAP) + ROW_GAP,
        )
    };
    let mut out = format!(
        "<svg id=\"environment\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"The environment's resources and their dependencies, colored by verdict\">\n"
    );
    for (from, to) in &picture.edges {
        let (x1, y1) = at(*from);
        let (x2, y2) = at(*to);
        out.push_str(&format!(
            "<line x1=\"{}\" y1=\"{}\" x2=\"{x2}\" y2=\"{}\" class=\"edge\"/>\n",
            x1 + BOX_W,
            y1 + BOX_H / 2,
            y2 + BOX_H / 2
        ));
    }
    for (i, (id, kind)) in picture.nodes.iter().enumerate() {
        let (x, y) = at(i);
        let findings = by_resource.get(id.as_str()).cloned().unwrap_or_default();
        let class = status(&findings);
        let count = |v| findings.iter().filter(|f| f.verdict == v).count();
        out.push_str(&format!(
            "<g class=\"node {class}\" data-resource=\"{id}\"><title>{id} ({kind}): {} pass, {} fail, {} unknown, {} not applicable</title><rect x=\"{x}\" y=\"{y}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"6\"/><text x=\"{}\" y=\"{}\">{id}</text></g>\n",
            count(Verdict::Pass),
            count(Verdict::Fail),
            count(Verdict::Unknown),
            count(Verdict::NotApplicable),
            x + 8,
            y + BOX_H / 2 + 5,
            id = escape(id),
            kind = escape(kind),
        ));
    }
    out.push_str("</svg>\n");
    out
}

const STYLE: &str = "body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em;color:#212529}\
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #dee2e6;padding:4px 8px;text-align:left;vertical-align:top;font-size:13px}\
th{background:#f1f3f5}.verdict{font-weight:bold;white-space:nowrap}\
.v-PASS{color:#1b7f6e}.v-FAIL{color:#fff;background:#d62828}.v-UNKNOWN{color:#8a4b00;background:#ffe8cc}.v-NA{color:#6c757d}.v-DEVIATION{color:#5a189a;background:#e7c6ff}\
#environment .edge{stroke:#adb5bd;stroke-width:1}#environment .node rect{stroke:#495057;stroke-width:1}#environment .node text{font-size:12px;fill:#212529}\
#environment .node.pass rect{fill:#b7e4c7}#environment .node.fail rect{fill:#f28482}#environment .node.unknown rect{fill:#ffd6a5}#environment .node.na rect{fill:#e9ecef}#environment .node.deviation rect{fill:#e7c6ff}\
.legend span{display:inline-block;padding:2px 8px;margin-right:6px;border:1px solid #495057}\
#failing{font-size:1.2em;padding:.5em 1em;border-left:6px solid #d62828;background:#fff0f0}\
#passing{font-size:1.2em;padding:.5em 1em;border-left:6px solid #2a9d8f;background:#effaf6}\
.picture{overflow-x:auto;border:1px solid #dee2e6;padding:8px}";

/// The evidence report as one HTML page.
pub fn html(report: &Report, h: &Header<'_>, picture: &Picture) -> String {
    let s = &report.summary;
    let mut by_resource: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        by_resource.entry(f.resource.as_str()).or_default().push(f);
    }
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>paysec evidence: {env}</title><style>{STYLE}</style></head><body>\n<h1>paysec configuration evidence: {env}</h1>\n<table>",
        env = escape(h.environment),
    );
    let result = format!(
        "{} controls, {} findings: {} pass, {} fail, {} not applicable, {} unknown, {} deviation",
        s.controls, s.total, s.pass, s.fail, s.not_applicable, s.unknown, s.deviation
    );
    for (label, value) in h.scope_rows().iter().chain([&("result", result)]) {
        out.push_str(&format!(
            "<tr><th>{label}</th><td>{}</td></tr>",
            escape(value)
        ));
    }
    out.push_str(&format!(
        "</table>\n<p>Each finding was read from the live resource through the AWS API at the time above and quotes what AWS returned; the requirement numbers are PCI DSS v4.0.1's. paysec supports these requirements; only an assessment attests compliance.</p>\n<p>{}</p>\n",
        escape(crate::NOT_COVERED)
    ));
    if s.fail > 0 {
        out.push_str(&format!(
            "<p id=\"failing\">{} finding(s) FAIL: {}</p>\n",
            s.fail,
            escape(
                &report
                    .failures()
                    .map(|f| format!("{} {}", f.control, f.resource))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        ));
    } else {
        out.push_str("<p id=\"passing\">No finding fails.</p>\n");
    }
    out.push_str("<h2>The environment</h2>\n<p class=\"legend\"><span style=\"background:#b7e4c7\">all pass</span><span style=\"background:#f28482\">a control fails</span><span style=\"background:#ffd6a5\">a control could not be checked</span><span style=\"background:#e7c6ff\">a deviation by configuration</span><span style=\"background:#e9ecef\">not applicable</span> Each line joins a resource (left) to one that depends on it (right).</p>\n<div class=\"picture\">\n");
    out.push_str(&svg(picture, &by_resource));
    out.push_str("</div>\n");
    // The diagrams (1.2.3, 1.2.4): Graphviz's SVG, embedded whole.
    for f in &report.figures.drawn {
        out.push_str(&format!(
            "<h2 id=\"diagram-{kind}\">{title}</h2>\n<div class=\"picture diagram\" data-diagram=\"{kind}\">\n{svg}</div>\n",
            kind = f.kind,
            title = escape(f.title),
            svg = crate::figures::svg_element(&f.svg),
        ));
    }
    if let Some(why) = &report.figures.not_drawn {
        out.push_str(&format!(
            "<p id=\"diagrams-not-drawn\">The network and data-flow diagrams were not drawn: {}</p>\n",
            escape(why)
        ));
    }
    for req in requirements(report) {
        out.push_str(&format!(
            "<h2 id=\"req-{r}\">{h}</h2>\n<table><tr><th>control</th><th>resource</th><th>physical id</th><th>check</th><th>verdict</th><th>expected</th><th>observed (what AWS returned)</th></tr>\n",
            r = escape(&req),
            h = escape(&crate::heading(&req))
        ));
        for f in report.findings.iter().filter(|f| crate::under(f, &req)) {
            let label = f.verdict.label();
            let class = if f.verdict == Verdict::NotApplicable {
                "NA"
            } else {
                label
            };
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"verdict v-{class}\">{label}</td><td>{}</td><td>{}</td></tr>\n",
                escape(f.control),
                escape(&f.resource),
                escape(f.physical_id.as_deref().unwrap_or("-")),
                escape(f.title),
                escape(&f.expected_shown()),
                escape(&f.observed),
            ));
        }
        out.push_str("</table>\n");
    }
    if !report.prerequisites.is_empty() {
        out.push_str(&format!(
            "<h2 id=\"prerequisites\">Owner prerequisites ({})</h2>\n<p>Account-wide services and settings the stack relies on and the account's owner runs: read live, not built or changed by paysec, not counted with the controls above.</p>\n<table><tr><th>prerequisite</th><th>requirement(s)</th><th>check</th><th>status</th><th>observed (what AWS returned)</th><th>when not met</th></tr>\n",
            escape(&crate::PrerequisiteSummary::of(&report.prerequisites).line())
        ));
        for p in &report.prerequisites {
            let class = match p.status {
                crate::Status::Met => "PASS",
                crate::Status::NotMet => "FAIL",
                crate::Status::Unread => "UNKNOWN",
            };
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"verdict v-{class}\">{}</td><td>{}</td><td>{}</td></tr>\n",
                escape(p.id),
                escape(&p.requirements.join(", ")),
                escape(p.title),
                p.status.label(),
                escape(&p.observed),
                escape(p.fix.unwrap_or("-")),
            ));
        }
        out.push_str("</table>\n");
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Summary;

    #[test]
    fn the_page_holds_the_picture_colored_by_verdict_and_escapes_values() {
        let finding = |resource: &str, verdict| Finding {
            control: "S3-3",
            requirements: &["1.4.1"],
            title: "all four public access blocks on",
            resource: resource.into(),
            kind: "s3_bucket".into(),
            physical_id: Some("b".into()),
            verdict,
            expected: "on".into(),
            expected_from_configuration: &[],
            observed: "<script>".into(),
            reads: Vec::new(),
            shared_listings: Vec::new(),
        };
        let report = Report {
            findings: vec![
                finding("s3.data", Verdict::Fail),
                finding("s3.logs", Verdict::Pass),
            ],
            summary: Summary {
                controls: 1,
                total: 2,
                pass: 1,
                fail: 1,
                not_applicable: 0,
                unknown: 0,
                deviation: 0,
            },
            calls: Vec::new(),
            prerequisites: Vec::new(),
            figures: Default::default(),
        };
        let picture = Picture {
            nodes: vec![
                ("kms.s3".into(), "kms_key".into()),
                ("s3.logs".into(), "s3_bucket".into()),
                ("s3.data".into(), "s3_bucket".into()),
            ],
            edges: vec![(0, 1), (0, 2), (1, 2)],
        };
        let h = Header {
            environment: "dev-1",
            account: "123456789012",
            region: "eu-west-1",
            at: "now",
            version: "0.1.0",
            scope: crate::Scope::default(),
        };
        let page = html(&report, &h, &picture);
        assert!(page.contains("<g class=\"node fail\" data-resource=\"s3.data\">"));
        assert!(page.contains("<g class=\"node pass\" data-resource=\"s3.logs\">"));
        assert!(page.contains("<g class=\"node na\" data-resource=\"kms.s3\">"));
        assert!(page.contains("&lt;script&gt;") && !page.contains("<script>"));
        assert!(!page.contains("http://") || page.contains("xmlns=\"http://www.w3.org/2000/svg\""));
        // s3.data depends on s3.logs, which depends on kms.s3: three columns.
        assert!(page.contains(&format!("width=\"{}\"", 3 * (BOX_W + COL_GAP))));
    }
}

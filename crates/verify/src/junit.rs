//! The JUnit report (`verify --report FILE.xml`): a test case per finding,
//! for CI systems that show test results.

use crate::catalog::{listed, CONTROLS};
use crate::evaluate::{Finding, Report, Verdict};
use crate::scope::{Header, NOT_COVERED};

/// Text for XML character data and attributes.
pub(crate) fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters XML 1.0 does not allow.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The evidence as JUnit XML (`verify --report FILE.xml`), which CI test
/// reports (GitLab, Jenkins, GitHub actions' reporters) display: one test
/// suite per control, one test case per resource it applies to; a FAIL is
/// a `<failure>` with the expected and the observed value, NOT_APPLICABLE
/// a `<skipped>` with why, UNKNOWN an `<error>` (not a pass).
pub fn junit(report: &Report, h: &Header<'_>) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"paysec verify {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" timestamp=\"{}\">\n",
        xml_escape(h.environment),
        report.summary.total,
        report.summary.fail,
        report.summary.unknown,
        report.summary.not_applicable,
        xml_escape(h.at)
    );
    // The scope, on every suite (JUnit has no properties above them).
    let mut rows = h.scope_rows();
    rows.push(("not covered", NOT_COVERED.to_owned()));
    let scope: String = rows
        .iter()
        .map(|(name, value)| {
            format!(
                "      <property name=\"{name}\" value=\"{}\"/>\n",
                xml_escape(value)
            )
        })
        .collect();
    for control in CONTROLS {
        let findings: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.control == control.id)
            .collect();
        if findings.is_empty() {
            continue;
        }
        let count = |v: Verdict| findings.iter().filter(|f| f.verdict == v).count();
        out.push_str(&format!(
            "  <testsuite name=\"{} {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n    <properties>\n      <property name=\"pci_dss_v4_0_1\" value=\"{}\"/>\n      <property name=\"account\" value=\"{}\"/>\n      <property name=\"region\" value=\"{}\"/>\n{scope}    </properties>\n",
            control.id,
            xml_escape(control.title),
            findings.len(),
            count(Verdict::Fail),
            count(Verdict::Unknown),
            count(Verdict::NotApplicable) + count(Verdict::Deviation),
            control.requirements.join(", "),
            xml_escape(h.account),
            xml_escape(h.region)
        ));
        for f in findings {
            let name = format!(
                "{} {}",
                f.resource,
                f.physical_id.as_deref().unwrap_or("(not found)")
            );
            out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\">",
                control.id,
                xml_escape(&name)
            ));
            // The finding's own requirements: a resource's role can change
            // them from the suite's (BY_ROLE: versioning on the data bucket).
            let detail = format!(
                "requirements: {}\nexpected: {}\nobserved: {}",
                listed(f.requirements),
                f.expected_shown(),
                f.observed
            );
            match f.verdict {
                Verdict::Pass => {
                    out.push_str(&format!("<system-out>{}</system-out>", xml_escape(&detail)));
                }
                Verdict::Fail => out.push_str(&format!(
                    "<failure message=\"expected {}, observed {}\" type=\"FAIL\">{}</failure>",
                    xml_escape(&f.expected_shown()),
                    xml_escape(&f.observed),
                    xml_escape(&detail)
                )),
                Verdict::NotApplicable => out.push_str(&format!(
                    "<skipped message=\"not applicable: {}\"/>",
                    xml_escape(&f.observed)
                )),
                Verdict::Deviation => out.push_str(&format!(
                    "<skipped message=\"deviation: {}\"/>",
                    xml_escape(&f.observed)
                )),
                Verdict::Unknown => out.push_str(&format!(
                    "<error message=\"unknown: {}\" type=\"UNKNOWN\">{}</error>",
                    xml_escape(&f.observed),
                    xml_escape(&detail)
                )),
            }
            out.push_str("</testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

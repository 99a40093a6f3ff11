//! `verify --report FILE.sarif`: the findings as a SARIF 2.1.0 log, for
//! code-scanning dashboards. One rule per control (its PCI DSS v4.0.1
//! requirements as tags), one result per control and resource: `fail`
//! results are errors, UNKNOWN ones warnings, passes and not-applicable
//! ones `kind` `pass` / `notApplicable` with level `none`. A result's
//! location is the resource (a logical location: its logical and physical
//! id) and the configuration that built it (`paysec.toml`), since a
//! dashboard shows only results with a physical location.

use serde_json::{json, Value};

use crate::{Finding, Header, Report, Verdict, CONTROLS};

/// The SARIF log of `report`.
pub fn sarif(report: &Report, h: &Header<'_>) -> Value {
    let rules: Vec<Value> = CONTROLS
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "name": c.id.replace('-', ""),
                "shortDescription": { "text": c.title },
                "fullDescription": {
                    "text": format!("{} (checked on {} resources; supports PCI DSS v4.0.1 {})", c.title, c.kind, c.requirements.join(", "))
                },
                "properties": {
                    "tags": c.requirements.iter().map(|r| format!("PCI-DSS-{r}")).collect::<Vec<_>>(),
                    "kind": c.kind,
                    "property": c.property
                }
            })
        })
        .collect();
    let results: Vec<Value> = report.findings.iter().map(|f| result(f, h)).collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "paysec",
                    "version": h.version,
                    "semanticVersion": h.version,
                    "rules": rules
                }
            },
            "automationDetails": {
                "id": format!("paysec/verify/{}/{}/{}", h.account, h.region, h.environment)
            },
            "invocations": [{
                "executionSuccessful": true,
                "commandLine": h.scope.command_line,
                "endTimeUtc": h.at,
                "properties": {
                    "environment": h.environment,
                    "account": h.account,
                    "region": h.region,
                    "scope": h.scope,
                    "notCovered": crate::NOT_COVERED
                }
            }],
            "results": results,
            "properties": {
                "summary": {
                    "findings": report.summary.total,
                    "pass": report.summary.pass,
                    "fail": report.summary.fail,
                    "notApplicable": report.summary.not_applicable,
                    "unknown": report.summary.unknown
                }
            }
        }]
    })
}

fn result(f: &Finding, h: &Header<'_>) -> Value {
    let (kind, level) = match f.verdict {
        Verdict::Pass => ("pass", "none"),
        Verdict::Fail => ("fail", "error"),
        Verdict::NotApplicable => ("notApplicable", "none"),
        // A decision to accept, stated: informational, not a defect.
        Verdict::Deviation => ("informational", "note"),
        // Not proven either way: someone has to look.
        Verdict::Unknown => ("review", "warning"),
    };
    let rule_index = CONTROLS.iter().position(|c| c.id == f.control);
    let text = match f.verdict {
        Verdict::Pass => format!(
            "{} {}: {} (AWS returned: {})",
            f.control, f.resource, f.title, f.observed
        ),
        Verdict::Fail => format!(
            "{} {}: {}: expected {}, AWS returned {}",
            f.control,
            f.resource,
            f.title,
            f.expected_shown(),
            f.observed
        ),
        Verdict::NotApplicable => format!(
            "{} {}: not applicable: {}",
            f.control, f.resource, f.observed
        ),
        Verdict::Unknown => format!("{} {}: not checked: {}", f.control, f.resource, f.observed),
        Verdict::Deviation => format!(
            "{} {}: deviation from the baseline: {}",
            f.control, f.resource, f.observed
        ),
    };
    json!({
        "ruleId": f.control,
        "ruleIndex": rule_index,
        "kind": kind,
        "level": level,
        "message": { "text": text },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": "paysec.toml" },
                "region": { "startLine": 1 }
            },
            "logicalLocations": [{
                "name": f.resource,
                "fullyQualifiedName": format!("{}/{}/{}", h.environment, f.resource, f.physical_id.as_deref().unwrap_or("-")),
                "kind": "resource"
            }]
        }],
        "partialFingerprints": {
            "paysecFinding/v1": format!("{}:{}:{}:{}", h.account, h.environment, f.control, f.resource)
        },
        "properties": {
            "verdict": f.verdict.label(),
            "requirements": f.requirements,
            "kind": f.kind,
            "physicalId": f.physical_id,
            "expected": f.expected,
            "expectedFromConfiguration": f.expected_from_configuration,
            "observed": f.observed
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Finding, Summary};

    #[test]
    fn each_verdict_maps_to_its_kind_and_level() {
        let finding = |verdict| Finding {
            control: "KMS-2",
            requirements: &["3.6.1"],
            title: "automatic key rotation enabled",
            resource: "kms.s3".into(),
            kind: "kms_key".into(),
            physical_id: Some("k-1".into()),
            verdict,
            expected: "enabled".into(),
            expected_from_configuration: &[],
            observed: "disabled".into(),
            reads: Vec::new(),
            shared_listings: Vec::new(),
        };
        let report = Report {
            findings: [
                Verdict::Pass,
                Verdict::Fail,
                Verdict::NotApplicable,
                Verdict::Unknown,
            ]
            .map(finding)
            .to_vec(),
            summary: Summary {
                controls: 1,
                total: 4,
                pass: 1,
                fail: 1,
                not_applicable: 1,
                unknown: 1,
                deviation: 0,
            },
            calls: Vec::new(),
            prerequisites: Vec::new(),
            figures: Default::default(),
        };
        let h = Header {
            environment: "dev-1",
            account: "123456789012",
            region: "eu-west-1",
            at: "2026-11-30T00:00:00Z",
            version: "0.1.0",
            scope: crate::Scope::default(),
        };
        let log = sarif(&report, &h);
        let results = log["runs"][0]["results"].as_array().unwrap();
        let got: Vec<(&str, &str)> = results
            .iter()
            .map(|r| (r["kind"].as_str().unwrap(), r["level"].as_str().unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                ("pass", "none"),
                ("fail", "error"),
                ("notApplicable", "none"),
                ("review", "warning")
            ]
        );
        assert!(results[1]["message"]["text"]
            .as_str()
            .unwrap()
            .contains("expected enabled, AWS returned disabled"));
        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        let index = results[0]["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], "KMS-2");
    }
}

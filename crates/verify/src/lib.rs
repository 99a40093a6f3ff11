//! `paysec verify`: every property of the controls list, checked against
//! the *live* resources (each resource's read compares what AWS reports
//! with the desired state, property by property), mapped to the
//! PCI DSS v4.0.1 requirements it supports, as a verdict per control and an
//! evidence report for an assessment (configuration evidence: paysec
//! supports the requirements; only an assessment attests compliance).

mod catalog;
mod evaluate;
pub mod figures;
mod html;
mod json;
mod junit;
mod markdown;
pub mod prerequisites;
mod sarif;
mod scope;

pub use catalog::*;
pub use evaluate::*;
pub use figures::{Figure, Figures};
pub use html::{html, Picture};
pub use json::json;
pub use junit::junit;
pub use markdown::*;
pub use prerequisites::{PrerequisiteFinding, PrerequisiteSummary, Status};
pub use sarif::sarif;
pub use scope::*;

#[cfg(test)]
mod tests {
    use paysec_core::reading::Call;
    use paysec_core::scheduler::{Planned, PlannedChange};
    use paysec_core::{Comparison, LogicalId, NotApplicable};

    use super::*;

    fn header() -> Header<'static> {
        Header {
            environment: "e",
            account: "a",
            region: "r",
            at: "t",
            version: "v",
            scope: Scope::default(),
        }
    }

    fn change(id: &str, kind: &str, planned: Planned) -> PlannedChange {
        // Every property of the kind read and found as wanted.
        let evidence = CONTROLS
            .iter()
            .filter(|c| c.kind == kind || c.kind == "*")
            .map(|c| Comparison::new(c.property, "wanted", "wanted"))
            .collect();
        PlannedChange {
            id: LogicalId::new(id),
            kind: kind.into(),
            planned,
            evidence,
            not_applicable: Vec::new(),
            shared_listings: Vec::new(),
        }
    }

    #[test]
    fn a_configured_departure_is_a_deviation_and_calls_follow_their_resource() {
        let mut c = change(
            "rds.instance",
            "db_instance",
            Planned::NoChange {
                physical_id: "db".into(),
                properties_read: true,
            },
        );
        c.not_applicable = vec![NotApplicable {
            property: "deletion_protection".into(),
            why: "off by configuration (rds.deletion_protection = false)".into(),
            deviation: true,
        }];
        c.shared_listings = vec!["alarms".into()];
        let call = |seq, resource: &str| Call {
            seq,
            resource: Some(resource.into()),
            service: "rds".into(),
            operation: "DescribeDBInstances".into(),
            request_id: Some(format!("r-{seq}")),
            status: 200,
            at: "t".into(),
            body: "<x/>".into(),
        };
        let report = evaluate(&[c], &[], &[]).with_calls(vec![
            call(1, "rds.instance"),
            call(2, "kms.rds"),
            call(3, "shared:alarms"),
        ]);
        let f = finding(&report, "RDS-12");
        assert_eq!(f.verdict, Verdict::Deviation);
        assert!(f.observed.contains("rds.deletion_protection = false"));
        assert_eq!(f.reads, [1, 3], "its own calls and the listing it took");
        assert_eq!(report.summary.deviation, 1);
        assert!(!report.ok() || report.summary.fail == 0);
        let built = evaluate(
            &[],
            &[],
            &[NotBuilt {
                resource: "network.dns-firewall".into(),
                kind: "dns_rule_group",
                why: "network.dns_firewall = false".into(),
                deviation: true,
            }],
        );
        assert!(built
            .findings
            .iter()
            .all(|f| f.verdict == Verdict::Deviation));
        let md = markdown(&report, &header(), "evidence.md");
        assert!(
            md.contains("| DEVIATION |") && md.contains("| #1 #3 |"),
            "{md}"
        );
        assert!(md.contains("| 3 | shared:alarms | rds | DescribeDBInstances | r-3 | 200 |"));
        assert_eq!(
            manifest(&[("r.md", "abc")]),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  r.md\n"
        );
    }

    #[test]
    fn a_control_maps_by_the_resource_role() {
        let present = |id: &str| {
            change(
                id,
                "s3_bucket",
                Planned::NoChange {
                    physical_id: "b".into(),
                    properties_read: true,
                },
            )
        };
        let report = evaluate(&[present("s3.data"), present("s3.flow-logs")], &[], &[]);
        let versioning = |resource: &str| {
            report
                .findings
                .iter()
                .find(|f| f.control == "S3-2" && f.resource == resource)
                .unwrap()
                .requirements
        };
        assert!(versioning("s3.data").is_empty(), "data, not audit logs");
        assert!(versioning("s3.flow-logs").contains(&"10.3.2"));
        assert!(mapping_markdown().contains("- **S3-2** on `s3.data`: none"));
        assert!(catalog_lines().iter().any(|l| l.contains("on s3.data")));
    }

    #[test]
    fn an_alarm_nobody_confirmed_fails_its_baseline() {
        assert!(below_floor(
            "MON-8",
            "none confirmed (pending confirmation: email:a@b.example)"
        )
        .is_some());
        assert!(below_floor("MON-8", "no subscription").is_some());
        assert_eq!(below_floor("MON-8", "confirmed: email:a@b.example"), None);
        assert!(below_floor("RDS-17", "g (pending-reboot)").is_some());
        assert_eq!(below_floor("RDS-17", "g (in-sync)"), None);
    }

    #[test]
    fn a_log_group_that_stopped_ingesting_fails_log_7() {
        let group = |observed: &str| {
            let mut c = change(
                "logs.flow-logs",
                "log_group",
                Planned::NoChange {
                    physical_id: "g".into(),
                    properties_read: true,
                },
            );
            c.evidence = vec![Comparison::new(
                "ingestion",
                "an event within 24 hours",
                observed,
            )];
            let report = evaluate(&[c], &[], &[]);
            let f = report
                .findings
                .into_iter()
                .find(|f| f.control == "LOG-7")
                .unwrap();
            (f.verdict, f.expected)
        };
        assert_eq!(
            group("ingesting: last event ingested 2026-12-01T05:50:00Z (10 min ago) in stream s").0,
            Verdict::Pass
        );
        for quiet in [
            "stopped: last event ingested 2026-11-29T05:50:00Z (48 h ago) in stream s",
            "nothing ingested yet: the group was created 3 min ago",
        ] {
            let (verdict, expected) = group(quiet);
            assert_eq!(verdict, Verdict::Fail, "{quiet}");
            assert!(expected.contains("within the last 24 hours"), "{expected}");
        }
    }

    #[test]
    fn drift_fails_exactly_the_affected_control() {
        let report = evaluate(
            &[change(
                "kms.rds",
                "kms_key",
                Planned::Repair {
                    physical_id: "k".into(),
                    drift: vec![Comparison::new("rotation", "enabled", "disabled")],
                },
            )],
            &[],
            &[],
        );
        let failed: Vec<_> = report.failures().map(|f| f.control).collect();
        assert_eq!(failed, ["KMS-2"]);
        assert_eq!(report.summary.pass, report.summary.total - 1);
    }

    #[test]
    fn what_a_disabled_component_leaves_out_is_not_applicable_with_the_reason() {
        let why = "not built: the rds component is disabled (rds.enabled = false)";
        let report = evaluate(
            &[],
            &[],
            &[NotBuilt {
                resource: "rds.instance".into(),
                kind: "db_instance",
                why: why.into(),
                deviation: false,
            }],
        );
        let rds: Vec<_> = CONTROLS
            .iter()
            .filter(|c| c.kind == "db_instance")
            .collect();
        assert_eq!(report.summary.total, rds.len());
        assert_eq!(report.summary.not_applicable, rds.len());
        assert!(report.findings.iter().all(|f| f.observed == why));
        assert!(report.ok());
    }

    #[test]
    fn a_missing_resource_fails_all_its_controls() {
        let report = evaluate(&[change("s3.data", "s3_bucket", Planned::Create)], &[], &[]);
        assert!(report.summary.total >= 7);
        assert_eq!(report.summary.fail, report.summary.total);
    }

    #[test]
    fn prerequisites_are_reported_apart_and_never_change_the_verdict() {
        use crate::prerequisites::{PrerequisiteFinding, Status, ROOT_MFA, TRAIL};
        let source = paysec_core::reading::shared_name("account-cloudtrail");
        let report = evaluate(
            &[change(
                "kms.s3",
                "kms_key",
                Planned::NoChange {
                    physical_id: "k".into(),
                    properties_read: true,
                },
            )],
            &[],
            &[],
        )
        .with_prerequisites(vec![
            PrerequisiteFinding::new(
                TRAIL,
                Status::NotMet,
                "DescribeTrails: no trail".into(),
                &source,
            ),
            PrerequisiteFinding::new(
                ROOT_MFA,
                Status::Met,
                "AccountMFAEnabled = 1".into(),
                "shared:account-iam",
            ),
        ])
        .with_calls(vec![Call {
            seq: 1,
            resource: Some(source.clone()),
            service: "cloudtrail".into(),
            operation: "DescribeTrails".into(),
            request_id: Some("r".into()),
            status: 200,
            at: "t".into(),
            body: "{\"trailList\":[]}".into(),
        }]);
        assert!(
            report.all_checked_and_passing(),
            "a prerequisite not met is not a failing control"
        );
        assert_eq!(report.prerequisites[0].reads, vec![1]);
        assert!(report.prerequisites[1].reads.is_empty());
        let md = markdown(&report, &header(), "evidence.md");
        assert!(
            md.contains("## Owner prerequisites (1 met, 1 NOT MET)"),
            "{md}"
        );
        assert!(md.contains("| ACC-1 | 10.2.1, 10.2.2, 10.3.4 |"), "{md}");
        assert!(md.contains("DescribeTrails: no trail"));
        let json = json(&report, &header());
        assert_eq!(json["prerequisites"][0]["status"], "NOT_MET");
        assert_eq!(json["prerequisites_summary"]["not_met"], 1);
        assert_eq!(json["summary"]["fail"], 0);
    }

    #[test]
    fn a_cell_from_outside_cannot_end_the_table_or_start_markup() {
        let hostile =
            "stream|x\r\n| FAKE | row |\n<script>alert(1)</script> [link](http://evil) `code` \\|";
        let cell = escape_cell(hostile);
        assert!(!cell.contains('\n') && !cell.contains('\r'), "{cell}");
        assert!(!cell.contains("<script>"), "{cell}");
        // Every `|` is escaped: none can end the cell.
        let unescaped = cell
            .char_indices()
            .filter(|(i, c)| *c == '|' && !cell[..*i].ends_with('\\'))
            .count();
        assert_eq!(unescaped, 0, "{cell}");
        assert!(cell.contains("\\[link\\]"), "{cell}");
        assert!(cell.contains("\\`code\\`"), "{cell}");
        // A backslash of its own is escaped too, so it cannot undo an escape.
        assert!(cell.contains("\\\\\\|"), "{cell}");
        assert_eq!(code_cell("aws x | y"), "`aws x \\| y`");
    }

    fn finding<'a>(report: &'a Report, control: &str) -> &'a Finding {
        report
            .findings
            .iter()
            .find(|f| f.control == control)
            .unwrap()
    }

    #[test]
    fn unread_properties_are_unknown_not_pass() {
        let mut c = change(
            "lambda.function",
            "lambda_function",
            Planned::NoChange {
                physical_id: "f".into(),
                properties_read: true,
            },
        );
        c.evidence
            .retain(|d| d.property != "dead_letter_queue" && d.property != "tracing");
        let report = evaluate(
            &[c],
            &[("lambda_function", "dead_letter_queue", "emulator gap")],
            &[],
        );
        let dlq = finding(&report, "LAM-2");
        assert_eq!(
            (dlq.verdict, dlq.observed.as_str()),
            (Verdict::Unknown, "emulator gap")
        );
        // Neither compared nor excused: unknown, never a silent pass.
        assert_eq!(finding(&report, "LAM-3").verdict, Verdict::Unknown);
        assert_eq!(finding(&report, "LAM-1").verdict, Verdict::Pass);
        assert_eq!(report.summary.unknown, 2);
    }

    #[test]
    fn a_resource_only_checked_to_exist_proves_no_control() {
        let mut c = change(
            "kms.rds",
            "kms_key",
            Planned::NoChange {
                physical_id: "k".into(),
                properties_read: false,
            },
        );
        c.evidence.clear();
        let report = evaluate(&[c], &[], &[]);
        assert!(report.summary.total > 0);
        assert_eq!(report.summary.unknown, report.summary.total);
    }

    #[test]
    fn each_configured_expectation_names_a_control_and_a_setting_that_exist() {
        // Every optional setting set, so that each is serialised.
        let mut stack = paysec_config::StackSettings::default();
        stack.iam.audit_trusted_account = Some("111122223333".into());
        stack.iam.audit_trusted_role_arn = Some("arn:aws:iam::111122223333:role/a".into());
        stack.iam.audit_external_id = Some("x".repeat(16));
        stack.rds.master_password_env = Some("PW".into());
        stack.rds.master_password_file = Some("pw".into());
        stack.lambda.package = Some("api".into());
        stack.lambda.signing_profile = Some("release".into());
        let settings = serde_json::to_value(stack).unwrap();
        for (control, keys) in CONFIGURED_BY {
            assert!(
                CONTROLS.iter().any(|c| c.id == *control),
                "{control} is not in the catalog"
            );
            for key in *keys {
                let pointer = format!("/{}", key.replace('.', "/"));
                assert!(
                    settings.pointer(&pointer).is_some(),
                    "{control}: {key} is not a stack setting"
                );
            }
        }
        assert_eq!(configured_by("RDS-5"), ["rds.multi_az"]);
        assert!(
            configured_by("RDS-6").is_empty(),
            "encryption is not configurable"
        );
    }

    #[test]
    fn a_configured_value_below_the_baseline_fails_saying_so() {
        let mut c = change(
            "rds.instance",
            "db_instance",
            Planned::NoChange {
                physical_id: "db".into(),
                properties_read: true,
            },
        );
        c.evidence = vec![Comparison::new("multi_az", "false", "false")];
        let mut logs = change(
            "logs.lambda",
            "log_group",
            Planned::NoChange {
                physical_id: "g".into(),
                properties_read: true,
            },
        );
        logs.evidence = vec![Comparison::new("retention_days", "90", "90")];
        let report = evaluate(&[c, logs], &[], &[]);
        let multi_az = finding(&report, "RDS-5");
        assert_eq!(multi_az.verdict, Verdict::Fail);
        assert_eq!(multi_az.expected, "true (configured: false)");
        assert_eq!(multi_az.observed, "false");
        let retention = finding(&report, "LOG-5");
        assert_eq!(retention.verdict, Verdict::Fail);
        assert_eq!(retention.expected, "at least 365 days (configured: 90)");
        assert_eq!(
            multi_az.expected_shown(),
            "true (configured: false) (from the configuration: rds.multi_az)"
        );
        assert!(below_floor("LOG-5", "400").is_none() && below_floor("RDS-5", "true").is_none());
    }

    #[test]
    fn passes_quote_the_live_value_and_exclusions_say_why() {
        let mut c = change(
            "rds.instance",
            "db_instance",
            Planned::NoChange {
                physical_id: "db".into(),
                properties_read: true,
            },
        );
        c.evidence = vec![Comparison::new("multi_az", "true", "true")];
        c.not_applicable = vec![NotApplicable {
            property: "performance_insights".into(),
            why: "db.t3.micro does not support it".into(),
            deviation: false,
        }];
        let report = evaluate(&[c], &[], &[]);
        let multi_az = finding(&report, "RDS-5");
        assert_eq!(
            (
                multi_az.verdict,
                multi_az.expected.as_str(),
                multi_az.observed.as_str()
            ),
            (Verdict::Pass, "true", "true")
        );
        let pi = finding(&report, "RDS-18");
        assert_eq!(pi.verdict, Verdict::NotApplicable);
        assert!(pi.observed.contains("db.t3.micro"));
        assert_eq!(report.summary.not_applicable, 1);
        assert!(report.ok(), "not applicable is not a failure");
    }

    #[test]
    fn junit_escapes_what_xml_reserves_and_counts_each_verdict() {
        let mut c = change(
            "s3.data",
            "s3_bucket",
            Planned::NoChange {
                physical_id: "b".into(),
                properties_read: true,
            },
        );
        c.evidence.retain(|d| d.property != "policy");
        c.evidence
            .push(Comparison::new("policy", "a<b & \"c\"", "x'y\u{1}"));
        let report = evaluate(&[c], &[], &[]);
        let h = Header {
            environment: "e",
            account: "1",
            region: "r",
            at: "t",
            version: "v",
            scope: crate::Scope::default(),
        };
        let xml = junit(&report, &h);
        assert!(xml.contains("a&lt;b &amp; &quot;c&quot;"), "{xml}");
        assert!(!xml.contains('\u{1}'));
        assert_eq!(
            xml.matches("<testcase ").count(),
            report.summary.total,
            "one test case per finding"
        );
    }

    /// The report of one converged data bucket, all read.
    fn data_bucket_report() -> Report {
        evaluate(
            &[change(
                "s3.data",
                "s3_bucket",
                Planned::NoChange {
                    physical_id: "b".into(),
                    properties_read: true,
                },
            )],
            &[],
            &[],
        )
    }

    #[test]
    fn a_junit_case_names_its_own_resource_roles_requirements() {
        let data = data_bucket_report();
        let xml = junit(&data, &header());
        let suite = xml.find("<testsuite name=\"S3-2 ").unwrap();
        let case = &xml[suite..xml[suite..].find("</testsuite>").unwrap() + suite];
        assert!(case.contains("value=\"10.3.2, 10.5.1\""), "{case}");
        assert!(case.contains("requirements: none"), "{case}");
    }

    #[test]
    fn every_format_carries_the_scope_and_what_it_does_not_cover() {
        let report = data_bucket_report();
        let mut h = header();
        h.scope = Scope {
            caller_arn: "arn:aws:sts::111122223333:assumed-role/Auditor/alice".into(),
            command_line: "paysec verify --report r.md".into(),
            configuration: serde_json::json!({ "rds": { "multi_az": true } }),
            ..Scope::default()
        };
        let sarif = serde_json::to_string(&sarif(&report, &h)).unwrap();
        for (format, text) in [
            ("markdown", markdown(&report, &h, "evidence.md")),
            ("json", json(&report, &h).to_string()),
            ("junit", junit(&report, &h)),
            (
                "html",
                html(
                    &report,
                    &h,
                    &Picture {
                        nodes: Vec::new(),
                        edges: Vec::new(),
                    },
                ),
            ),
            ("sarif", sarif),
        ] {
            assert!(
                text.contains("assumed-role/Auditor/alice")
                    && text.contains("This report does not cover")
                    && text.contains("paysec verify --report r.md"),
                "{format}: {text}"
            );
        }
        assert!(markdown(&report, &h, "evidence.md").contains("\"multi_az\": true"));
    }

    #[test]
    fn docs_controls_md_is_the_catalog() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/controls.md");
        let generated = catalog_markdown();
        if std::env::var_os("PAYSEC_UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == generated,
            "docs/controls.md differs from the catalog; regenerate it with PAYSEC_UPDATE_SNAPSHOTS=1 cargo test -p paysec-verify"
        );
    }

    #[test]
    fn docs_pci_mapping_lists_the_catalog_by_requirement() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/pci-mapping.md");
        let on_disk = std::fs::read_to_string(&path).unwrap();
        let (start, end) = (
            on_disk.find("## Requirements the stack addresses").unwrap(),
            on_disk
                .find("## What remains the account owner's duty")
                .unwrap(),
        );
        let generated = format!("{}\n", mapping_markdown());
        if std::env::var_os("PAYSEC_UPDATE_SNAPSHOTS").is_some() {
            let updated = format!("{}{generated}{}", &on_disk[..start], &on_disk[end..]);
            std::fs::write(&path, updated).unwrap();
            return;
        }
        assert!(
            on_disk[start..end] == generated,
            "docs/pci-mapping.md's requirement list differs from the catalog; regenerate it with PAYSEC_UPDATE_SNAPSHOTS=1 cargo test -p paysec-verify"
        );
    }

    #[test]
    fn every_control_id_is_unique_and_requirements_sort_numerically() {
        let mut ids: Vec<_> = CONTROLS.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), CONTROLS.len());
        let report = evaluate(
            &[change(
                "kms.rds",
                "kms_key",
                Planned::NoChange {
                    physical_id: "k".into(),
                    properties_read: true,
                },
            )],
            &[],
            &[],
        );
        let reqs = requirements(&report);
        assert_eq!(reqs.first().map(String::as_str), Some("3.5.1"));
        assert!(markdown(&report, &header(), "evidence.md").contains("## Requirement 3.6.1"));
    }
}

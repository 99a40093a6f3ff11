//! From the survey to verdicts: each control of each resource read is a
//! PASS quoting the live value, a FAIL with the expected and observed
//! values, NOT APPLICABLE or a DEVIATION with why, or UNKNOWN when it could
//! not be read; the findings grouped by requirement for every report.

use paysec_core::reading::Call;
use paysec_core::scheduler::{Planned, PlannedChange};
use paysec_core::Comparison;
use serde::Serialize;

use crate::catalog::{
    configured_by, requirements_for, Control, CONTROLS, NO_REQUIREMENT, TAG_CHECKED,
};
use crate::figures;
use crate::prerequisites::PrerequisiteFinding;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    Pass,
    Fail,
    /// The property deliberately does not apply to this resource (the
    /// observed field says why).
    NotApplicable,
    /// The API cannot tell (an emulator gap, a property not readable).
    Unknown,
    /// The control applies, and the configuration (or an account limit)
    /// departs from its baseline on purpose; the observed field names the
    /// setting or the limit. Neither a pass nor a failure: a decision the
    /// report shows for someone to accept.
    Deviation,
}

impl Verdict {
    /// How reports print it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::NotApplicable => "N/A",
            Self::Unknown => "UNKNOWN",
            Self::Deviation => "DEVIATION",
        }
    }
}

/// One control evaluated on one resource.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub control: &'static str,
    pub requirements: &'static [&'static str],
    pub title: &'static str,
    pub resource: String,
    pub kind: String,
    pub physical_id: Option<String>,
    pub verdict: Verdict,
    pub expected: String,
    /// The settings `expected` comes from, where the configuration sets it
    /// ([`CONFIGURED_BY`]); a fixed baseline the configuration cannot
    /// lower ([`below_floor`]) still applies.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub expected_from_configuration: &'static [&'static str],
    pub observed: String,
    /// The calls (their `seq` in [`Report::calls`]) whose answers this
    /// finding was read from: every call its resource's read made.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reads: Vec<usize>,
    /// The shared listings its resource's read took (their calls are
    /// among `reads`).
    #[serde(skip)]
    pub shared_listings: Vec<String>,
}

impl Finding {
    /// `expected` as the reports print it: where the configuration set it,
    /// the settings named (their values: the report's configuration).
    pub fn expected_shown(&self) -> String {
        if self.expected_from_configuration.is_empty() {
            self.expected.clone()
        } else {
            format!(
                "{} (from the configuration: {})",
                self.expected,
                self.expected_from_configuration.join(", ")
            )
        }
    }
}

/// Properties the API cannot report in this setting: (kind, property, why).
pub type Unknowable = (&'static str, &'static str, &'static str);

#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Distinct controls evaluated (a control applies to several
    /// resources: one finding each).
    pub controls: usize,
    /// Findings: one per control and resource.
    pub total: usize,
    pub pass: usize,
    pub fail: usize,
    pub not_applicable: usize,
    pub unknown: usize,
    /// Departures from a baseline by configuration, each with its reason.
    pub deviation: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub summary: Summary,
    /// The AWS calls behind the findings, when they were recorded.
    #[serde(skip)]
    pub calls: Vec<Call>,
    /// The owner prerequisites as read: apart from the findings and
    /// their summary, never changing [`Report::ok`].
    pub prerequisites: Vec<PrerequisiteFinding>,
    /// The network and data-flow diagrams, for the Markdown and HTML
    /// reports.
    #[serde(skip)]
    pub figures: figures::Figures,
}

impl Report {
    /// Keeps the calls the reads made and points each finding at those
    /// of its resource.
    pub fn with_calls(mut self, calls: Vec<Call>) -> Self {
        for p in &mut self.prerequisites {
            p.reads = calls
                .iter()
                .filter(|c| c.resource.as_deref() == Some(p.source.as_str()))
                .map(|c| c.seq)
                .collect();
        }
        for f in &mut self.findings {
            let listings: Vec<String> = f
                .shared_listings
                .iter()
                .map(|l| paysec_core::reading::shared_name(l))
                .collect();
            f.reads = calls
                .iter()
                .filter(|c| {
                    c.resource
                        .as_ref()
                        .is_some_and(|r| *r == f.resource || listings.contains(r))
                })
                .map(|c| c.seq)
                .collect();
        }
        self.calls = calls;
        self
    }

    /// Adds the owner prerequisites as read (before [`Report::with_calls`],
    /// which points them at their calls).
    pub fn with_prerequisites(mut self, prerequisites: Vec<PrerequisiteFinding>) -> Self {
        self.prerequisites = prerequisites;
        self
    }

    /// Adds the diagrams drawn from the same read.
    pub fn with_figures(mut self, figures: figures::Figures) -> Self {
        self.figures = figures;
        self
    }

    pub fn ok(&self) -> bool {
        self.summary.fail == 0
    }

    /// No control fails, and none could not be checked: an UNKNOWN is
    /// not a pass.
    pub fn all_checked_and_passing(&self) -> bool {
        self.ok() && self.summary.unknown == 0
    }

    /// The failing findings.
    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.verdict == Verdict::Fail)
    }
}

/// Joins what a read saw of one property (some are checked per item, such
/// as one association per subnet).
pub(crate) fn joined<'a>(items: impl Iterator<Item = &'a Comparison>) -> Option<(String, String)> {
    let (mut expected, mut actual): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    for d in items {
        expected.push(&d.expected);
        actual.push(&d.actual);
    }
    (!expected.is_empty()).then(|| (expected.join("; "), actual.join("; ")))
}

/// A resource of the whole stack the configuration does not build (a
/// disabled component's): its controls are NOT_APPLICABLE, saying why.
#[derive(Clone, Debug)]
pub struct NotBuilt {
    pub resource: String,
    pub kind: &'static str,
    pub why: String,
    /// Left out by a choice that lowers protection (the DNS firewall):
    /// its controls are deviations, not "not applicable".
    pub deviation: bool,
}

/// Evaluates every control on every resource from a live read of the stack
/// (`Scheduler::plan_up`): a missing resource fails all its controls; a
/// present one fails the controls whose property drifted, quotes the live
/// value of those that matched, and says why a property does not apply or
/// cannot be read. A property the read neither compared nor excused is
/// UNKNOWN, never a silent pass. The controls of what the configuration
/// does not build (`not_built`) are NOT_APPLICABLE with the reason.
pub fn evaluate(
    changes: &[PlannedChange],
    unknowable: &[Unknowable],
    not_built: &[NotBuilt],
) -> Report {
    let mut findings = Vec::new();
    for c in changes {
        let (physical_id, drift) = match &c.planned {
            Planned::Create => (None, None),
            Planned::Adopt { physical_id } | Planned::NoChange { physical_id, .. } => {
                (Some(physical_id.clone()), Some(&[][..]))
            }
            Planned::Repair { physical_id, drift } => {
                (Some(physical_id.clone()), Some(drift.as_slice()))
            }
            Planned::Delete { .. } => continue,
        };
        let applies = |k: &&Control| {
            k.kind == c.kind || (k.kind == "*" && TAG_CHECKED.contains(&c.kind.as_str()))
        };
        for control in CONTROLS.iter().filter(applies) {
            let of_control = |d: &&Comparison| d.property == control.property;
            let (verdict, expected, observed) = match drift {
                None => (Verdict::Fail, "present".to_owned(), "missing".to_owned()),
                Some(d) => {
                    if let Some((e, a)) = joined(d.iter().filter(of_control)) {
                        (Verdict::Fail, e, a)
                    } else if let Some(na) = c
                        .not_applicable
                        .iter()
                        .find(|n| n.property == control.property)
                    {
                        if na.deviation {
                            (
                                Verdict::Deviation,
                                "the control's baseline".to_owned(),
                                na.why.clone(),
                            )
                        } else {
                            (
                                Verdict::NotApplicable,
                                "not applicable".to_owned(),
                                na.why.clone(),
                            )
                        }
                    } else if let Some((e, a)) = joined(c.evidence.iter().filter(of_control)) {
                        // As configured, but maybe below the control's
                        // fixed baseline: then a FAIL saying so.
                        match below_floor(control.id, &a) {
                            Some(floor) => (Verdict::Fail, format!("{floor} (configured: {e})"), a),
                            None => (Verdict::Pass, e, a),
                        }
                    } else {
                        let why = unknowable
                            .iter()
                            .find(|(k, p, _)| *k == c.kind && *p == control.property)
                            .map_or("the read did not report this property", |u| u.2);
                        (Verdict::Unknown, "-".to_owned(), why.to_owned())
                    }
                }
            };
            findings.push(Finding {
                control: control.id,
                requirements: requirements_for(control, c.id.as_str()),
                title: control.title,
                resource: c.id.to_string(),
                kind: c.kind.clone(),
                physical_id: physical_id.clone(),
                verdict,
                expected,
                expected_from_configuration: configured_by(control.id),
                observed,
                reads: Vec::new(),
                shared_listings: c.shared_listings.clone(),
            });
        }
    }
    for n in not_built {
        let applies =
            |k: &&Control| k.kind == n.kind || (k.kind == "*" && TAG_CHECKED.contains(&n.kind));
        for control in CONTROLS.iter().filter(applies) {
            findings.push(Finding {
                control: control.id,
                requirements: requirements_for(control, &n.resource),
                title: control.title,
                resource: n.resource.clone(),
                kind: n.kind.to_owned(),
                physical_id: None,
                verdict: if n.deviation {
                    Verdict::Deviation
                } else {
                    Verdict::NotApplicable
                },
                expected: if n.deviation {
                    "the control's baseline".to_owned()
                } else {
                    "not applicable".to_owned()
                },
                expected_from_configuration: configured_by(control.id),
                observed: n.why.clone(),
                reads: Vec::new(),
                shared_listings: Vec::new(),
            });
        }
    }
    let count = |v| {
        findings
            .iter()
            .filter(|f: &&Finding| f.verdict == v)
            .count()
    };
    let controls: std::collections::BTreeSet<&str> = findings.iter().map(|f| f.control).collect();
    let summary = Summary {
        controls: controls.len(),
        total: findings.len(),
        pass: count(Verdict::Pass),
        fail: count(Verdict::Fail),
        not_applicable: count(Verdict::NotApplicable),
        unknown: count(Verdict::Unknown),
        deviation: count(Verdict::Deviation),
    };
    Report {
        findings,
        summary,
        calls: Vec::new(),
        prerequisites: Vec::new(),
        figures: figures::Figures::default(),
    }
}

/// The controls whose baseline does not move with the configuration: the
/// read compares the live value with the configured one, and a configured
/// value below the baseline is still a FAIL of the control, with the
/// baseline as its expected value. `None`: `observed` meets it (or the
/// control has none).
pub fn below_floor(control: &str, observed: &str) -> Option<&'static str> {
    match control {
        // Multi-AZ: `rds.multi_az = false` is a choice the report must show
        // as the control not met, not as a pass.
        "RDS-5" if observed != "true" => Some("true"),
        // PCI DSS 10.5.1: audit logs kept at least 12 months, whatever
        // `logs.retention_days` allows (90 and up).
        "LOG-5" if observed.parse::<i64>().map_or(true, |d| d < 365) => Some("at least 365 days"),
        // A continuous source's group that stopped receiving (or never
        // did): its read's evidence begins with `paysec_logs::INGESTING`
        // only when an event arrived within the window.
        "LOG-7" if !observed.starts_with("ingesting: ") => Some(
            "an event ingested within the last 24 hours: the source must deliver (see the finding)",
        ),
        // Static parameters (pgaudit's library) apply only at a reboot.
        "RDS-17" if observed.contains("pending-reboot") => Some(
            "the group's parameters applied (in-sync): reboot the instance in a maintenance window (aws rds reboot-db-instance)",
        ),
        // An alarm nobody receives alerts nobody: at least one subscriber
        // must have confirmed (the topic's read begins its evidence with
        // `paysec_monitoring::topic::CONFIRMED` then).
        "MON-8" if !observed.starts_with("confirmed: ") => Some(
            "a confirmed subscriber: set monitoring.alarm_emails and run `paysec up`, then follow the link SNS emails (or `aws sns subscribe --topic-arn ARN --protocol email --notification-endpoint ADDRESS`)",
        ),
        _ => None,
    }
}

/// The requirements covered, in numeric order, then [`NO_REQUIREMENT`]
/// when a control supports none.
pub fn requirements(report: &Report) -> Vec<String> {
    let mut reqs: Vec<String> = report
        .findings
        .iter()
        .flat_map(|f| f.requirements.iter().map(|r| (*r).to_owned()))
        .collect();
    let key = |r: &String| {
        r.split('.')
            .map(|p| p.parse::<u32>().unwrap_or(0))
            .collect::<Vec<_>>()
    };
    reqs.sort_by_key(key);
    reqs.dedup();
    if report.findings.iter().any(|f| f.requirements.is_empty()) {
        reqs.push(NO_REQUIREMENT.to_owned());
    }
    reqs
}

/// Whether `f` belongs under the heading of `req` (one of [`requirements`]).
pub fn under(f: &Finding, req: &str) -> bool {
    if req == NO_REQUIREMENT {
        f.requirements.is_empty()
    } else {
        f.requirements.contains(&req)
    }
}

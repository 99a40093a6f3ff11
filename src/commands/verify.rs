//! `paysec verify`: the live configuration check against the controls and
//! its evidence reports.

use paysec_stack::ID_WIDTH;
use std::path::PathBuf;

use paysec_core::Ledger;
use paysec_verify::{Header, Scope, Verdict};

use super::key_admins::{admins_tagged_on_keys, recorded_key_admins};
use super::now;
use super::session::Session;
use crate::cli::PolicyFor;
use crate::exit::{self, Failure};
use crate::printer::Printer;
use crate::settings::Settings;

/// A report's format, from its file name's extension.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Markdown,
    Json,
    Junit,
    Sarif,
    Html,
}

fn format_of(path: &std::path::Path) -> Result<Format, Failure> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("md") | None => Ok(Format::Markdown),
        Some("json") => Ok(Format::Json),
        Some("xml") => Ok(Format::Junit),
        Some("sarif") => Ok(Format::Sarif),
        Some("html") => Ok(Format::Html),
        Some(other) => Err(Failure::Usage(format!(
            "--report {}: no report format for .{other}; use .md (Markdown), .json, .xml (JUnit), .sarif (SARIF 2.1.0) or .html (a page for a browser)",
            path.display()
        ))),
    }
}

/// The graph for the HTML report's picture: the resources in dependency
/// order, and which depends on which.
fn picture_of(graph: &paysec_core::Graph) -> paysec_verify::Picture {
    let order = graph.order();
    let position = |i: usize| order.iter().position(|&o| o == i).unwrap_or(0);
    paysec_verify::Picture {
        nodes: order
            .iter()
            .map(|&i| {
                let n = graph.node(i);
                (n.id().to_string(), n.kind().to_owned())
            })
            .collect(),
        edges: order
            .iter()
            .flat_map(|&i| {
                graph
                    .dependencies(i)
                    .iter()
                    .map(move |&(j, _)| (position(j), position(i)))
            })
            .collect(),
    }
}

/// `paysec verify --list`: the control catalog, in text or JSON.
pub fn list(printer: &Printer) -> u8 {
    if printer.is_json() {
        printer.json(&serde_json::json!({
            "controls": paysec_verify::catalog_json(),
            "prerequisites": paysec_verify::prerequisites::PREREQUISITES,
        }));
    } else {
        for line in paysec_verify::catalog_lines() {
            printer.line(line);
        }
    }
    exit::OK
}

pub async fn run(
    settings: &Settings,
    printer: &Printer,
    report: Option<PathBuf>,
    allow_unknown: bool,
) -> Result<u8, Failure> {
    // Known before any AWS call: a typo costs nothing.
    let format = report.as_deref().map(format_of).transpose()?;
    let started = now();
    let ledger = Ledger::open_read_only(&settings.ledger, &settings.env)?;
    let mut c = Session::open_reading(settings).await?;
    // The key policies are compared with the administrators the last `up`
    // gave them (the configured ones, or its caller's role), not with
    // whoever runs `verify`: an auditor must not make KMS-3 fail, nor
    // someone who made themselves administrator make it pass.
    // Where they come from is said, in the report's scope too: only the
    // configuration is out of the ledger's writers' reach.
    let admins_from = if !settings.config.stack.kms.admin_principals.is_empty() {
        "from kms.admin_principals (the configuration)".to_owned()
    } else if let Some(tagged) = admins_tagged_on_keys(&c.aws, &ledger, &settings.env).await {
        c.key_admins = tagged;
        format!(
            "from the keys' own tag {}, which the ledger's writers cannot change (only the keys' administrators, or IAM principals allowed kms:TagResource on them, can)",
            paysec_core::tags::KEY_ADMINS
        )
    } else if let Some(recorded) = recorded_key_admins(&ledger) {
        c.key_admins = recorded;
        "as the last `up` recorded them in the ledger, which its writers can change: set kms.admin_principals for a source they cannot".to_owned()
    } else {
        format!(
            "the caller's role ({}), as no `up` recorded any: set kms.admin_principals",
            c.caller.arn
        )
    };
    let key_administrators = format!("{}, {admins_from}", c.key_admins.join(", "));
    printer.note(format!("key administrators: {key_administrators}"));
    let mut probe = Ledger::open_read_only(&settings.ledger, &settings.env)?;
    probe.bind_account(&c.env.account, &c.env.region)?;
    // Every call the reads make, with its request id and answer: the raw
    // evidence behind each finding.
    let calls = paysec_aws::calls::CallLog::default();
    c.aws = c.aws.recording(&calls);
    let picture = picture_of(&c.graph(&ledger)?);
    // Reads every resource live; nothing is changed.
    let changes = c.survey(ledger, printer.reporter()).await?;
    let mut unknowable = Vec::new();
    if c.aws
        .tolerates(paysec_aws::emulator::Gap::DeadLetterConfigNotReturned)
    {
        unknowable.push((
            "lambda_function",
            paysec_lambda::function::FunctionProperty::DeadLetterQueue.as_str(),
            "moto does not report DeadLetterConfig",
        ));
    }
    if c.aws
        .tolerates(paysec_aws::emulator::Gap::SecretRotationUnreported)
    {
        unknowable.push((
            "db_instance",
            paysec_rds::instance::InstanceProperty::MasterSecretRotation.as_str(),
            "moto does not report a managed secret's rotation",
        ));
    }
    if c.aws
        .tolerates(paysec_aws::emulator::Gap::ServiceLogsNotDelivered)
    {
        unknowable.push((
            "log_group",
            paysec_logs::GroupProperty::Ingestion.as_str(),
            "the emulator delivers no service logs (flow logs, RDS exports): an empty group is not judged",
        ));
    }
    let not_built: Vec<paysec_verify::NotBuilt> = c
        .left_out()?
        .into_iter()
        .map(|l| paysec_verify::NotBuilt {
            resource: l.id.to_string(),
            kind: l.kind,
            why: l.why,
            deviation: l.deviation,
        })
        .collect();
    // The account-wide services the stack relies on, read after the
    // resources so their calls follow in the evidence.
    let buckets: Vec<String> = changes
        .iter()
        .filter(|ch| ch.kind == "s3_bucket")
        .filter_map(|ch| ch.planned.physical_id().map(str::to_owned))
        .collect();
    let prerequisites = paysec_account::read(
        &c.aws,
        &paysec_account::Subject {
            account: &c.env.account,
            partition: &c.caller.partition,
            buckets: &buckets,
        },
    )
    .await;
    // The diagrams of a Markdown or HTML report, drawn from the same read
    // (their own listings of the VPC follow in the evidence).
    let figures = match format {
        Some(Format::Markdown | Format::Html) => {
            super::diagram::figures(&c, &changes, started.clone()).await
        }
        _ => paysec_verify::Figures::default(),
    };
    if let Some(why) = &figures.not_drawn {
        printer.problem(format!("the report's diagrams were not drawn: {why}"));
    }
    let result = paysec_verify::evaluate(&changes, &unknowable, &not_built)
        .with_prerequisites(prerequisites)
        .with_figures(figures)
        .with_calls(shown_calls(calls.calls()));
    let at = now();
    let header = Header {
        environment: settings.env.as_str(),
        account: &c.env.account,
        region: &c.env.region,
        at: &at,
        version: env!("CARGO_PKG_VERSION"),
        scope: Scope {
            endpoint: c.aws.endpoints().describe(&c.env.region),
            key_administrators,
            emulator: c.aws.emulator().map(str::to_owned),
            caller_arn: c.caller.arn.clone(),
            started,
            commit: env!("PAYSEC_COMMIT").to_owned(),
            command_line: std::env::args().collect::<Vec<_>>().join(" "),
            config_digest: format!(
                "sha256:{}",
                paysec_core::digest::sha256_hex(settings.config.desired_state().as_bytes())
            ),
            configuration: settings.config.stack.shown(),
            resources_read: changes.len(),
            not_built: not_built.len(),
        },
    };
    if let (Some(path), Some(format)) = (&report, format) {
        let text = match format {
            Format::Markdown => paysec_verify::markdown(&result, &header, &file_name(path)),
            Format::Json => paysec_verify::json(&result, &header).to_string(),
            Format::Junit => paysec_verify::junit(&result, &header),
            Format::Html => paysec_verify::html(&result, &header, &picture),
            Format::Sarif => serde_json::to_string_pretty(&paysec_verify::sarif(&result, &header))
                .unwrap_or_default(),
        };
        write_report(path, &text, &result, format == Format::Markdown)?;
    }
    if printer.is_json() {
        // The same document as a `.json` report.
        printer.json(&paysec_verify::json(&result, &header));
    } else {
        for req in paysec_verify::requirements(&result) {
            printer.line(paysec_verify::heading(&req));
            for f in result
                .findings
                .iter()
                .filter(|f| paysec_verify::under(f, &req))
            {
                let verdict = f.verdict.label();
                let detail = match f.verdict {
                    Verdict::Pass => format!("  = {}", shorten(&f.observed, 72)),
                    Verdict::Fail => {
                        format!(
                            "  (expected {}, observed {})",
                            f.expected_shown(),
                            f.observed
                        )
                    }
                    Verdict::NotApplicable => format!("  (not applicable: {})", f.observed),
                    Verdict::Unknown => format!("  (unknown: {})", f.observed),
                    Verdict::Deviation => format!("  (deviation: {})", f.observed),
                };
                printer.line(format!(
                    "  {verdict:<7} {:<7} {:<ID_WIDTH$} {}{detail}",
                    f.control, f.resource, f.title
                ));
            }
        }
        printer.line(format!(
            "\n{} controls, {} findings: {} pass{}{}{}{}",
            result.summary.controls,
            result.summary.total,
            result.summary.pass,
            if result.summary.fail > 0 {
                format!(", {} FAIL", result.summary.fail)
            } else {
                String::new()
            },
            if result.summary.not_applicable > 0 {
                format!(", {} not applicable", result.summary.not_applicable)
            } else {
                String::new()
            },
            if result.summary.unknown > 0 {
                format!(", {} unknown", result.summary.unknown)
            } else {
                String::new()
            },
            if result.summary.deviation > 0 {
                format!(
                    ", {} deviation (by configuration)",
                    result.summary.deviation
                )
            } else {
                String::new()
            },
        ));
        printer.line(format!(
            "\nOwner prerequisites (account-wide, run by the account's owner; not counted above): {}",
            paysec_verify::PrerequisiteSummary::of(&result.prerequisites).line()
        ));
        for p in &result.prerequisites {
            printer.line(format!(
                "  {:<7} {:<6} {}  = {}",
                p.status.label(),
                p.id,
                p.title,
                shorten(&p.observed, 96)
            ));
            if let Some(fix) = p.fix {
                printer.line(format!("          fix: {fix}"));
            }
        }
        if let Some(path) = &report {
            printer.note(format!("evidence report written to {}", path.display()));
        }
    }
    // A read refused for want of a permission names the statement that
    // grants it (exit 4), once the report of what could be read is out.
    if let Some(refused) = super::iam_policy::refused_call(&calls.calls(), PolicyFor::Verify) {
        return Err(refused);
    }
    if !result.ok() {
        Ok(exit::CONTROLS_FAILING)
    } else if result.all_checked_and_passing() || allow_unknown {
        Ok(exit::OK)
    } else {
        printer.note(format!(
            "{} finding(s) could not be checked (UNKNOWN, each with why): an UNKNOWN is not a pass; exit {}. `paysec verify --allow-unknown` accepts them",
            result.summary.unknown,
            exit::CONTROLS_UNKNOWN
        ));
        Ok(exit::CONTROLS_UNKNOWN)
    }
}

/// The calls as the evidence keeps them: external ids in an answer (a
/// trust policy's) as their digest (`paysec_core::shown`), every read
/// having registered the ids it met; each answer's SHA-256 in the report
/// is then the hash of the answer as the side file holds it.
fn shown_calls(calls: Vec<paysec_aws::calls::Call>) -> Vec<paysec_aws::calls::Call> {
    calls
        .into_iter()
        .map(|mut c| {
            c.body = paysec_core::shown::redacted(&c.body).into_owned();
            c
        })
        .collect()
}

fn file_name(p: &std::path::Path) -> String {
    p.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// Writes the report, its side file of raw answers
/// (`REPORT.responses.json`), for Markdown its diagrams
/// (`REPORT.network.svg`, `REPORT.data-flow.svg`), and a SHA-256 manifest
/// of them all (`REPORT.sha256`, checked by `sha256sum -c` in the report's
/// directory).
fn write_report(
    path: &std::path::Path,
    text: &str,
    result: &paysec_verify::Report,
    diagrams_beside: bool,
) -> Result<(), Failure> {
    let beside = |suffix: &str| {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(suffix);
        path.with_file_name(name)
    };
    let responses_path = beside(".responses.json");
    // External ids (in the command line) are written as their digest, as
    // everywhere but the hand-over (`paysec_core::shown`; the answers were
    // redacted with the calls, `shown_calls`); the manifest hashes what is
    // written.
    let text = paysec_core::shown::redacted(text);
    let text = text.as_ref();
    let responses =
        serde_json::to_string_pretty(&paysec_verify::responses(result)).unwrap_or_default();
    let name = file_name;
    let mut files: Vec<(std::path::PathBuf, &str)> = vec![
        (path.to_path_buf(), text),
        (responses_path.clone(), responses.as_str()),
    ];
    if diagrams_beside {
        for f in &result.figures.drawn {
            let svg_name = paysec_verify::Figures::file_name(&name(path), f);
            files.push((path.with_file_name(svg_name), f.svg.as_str()));
        }
    }
    let names: Vec<String> = files.iter().map(|(p, _)| name(p)).collect();
    let listed: Vec<(&str, &str)> = names
        .iter()
        .zip(&files)
        .map(|(n, (_, contents))| (n.as_str(), *contents))
        .collect();
    let manifest = paysec_verify::manifest(&listed);
    for (p, contents) in files
        .iter()
        .map(|(p, c)| (p.clone(), *c))
        .chain([(beside(".sha256"), manifest.as_str())])
    {
        paysec_core::ledger::write_private(&p, contents)
            .map_err(|e| Failure::Usage(format!("cannot write the report {}: {e}", p.display())))?;
    }
    Ok(())
}

/// Cuts a long observed value (a tag list, a set of rules) for the terminal;
/// JSON and the evidence report carry it whole.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let cut: String = s.chars().take(max - 1).collect();
    format!("{cut}…")
}

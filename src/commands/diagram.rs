//! `paysec diagram`: the PCI DSS 1.2.3 network diagram and 1.2.4
//! data-flow diagram, drawn from the live environment (the survey `verify`
//! makes, then the VPC's own listings); and [`draw`], which `verify
//! --report` uses to put both beside its evidence.

use std::path::PathBuf;

use paysec_core::scheduler::PlannedChange;
use paysec_core::{Ledger, LogicalId};
use paysec_diagram::network::DnsFirewall;
use paysec_diagram::render::{self, Format};
use paysec_diagram::{Diagram, Kind};
use paysec_stack::ids;

use super::session::{read_failure as refused_read, Session};
use crate::cli::{DiagramFormat, DiagramKind};
use crate::exit::{self, Failure};
use crate::printer::Printer;
use crate::settings::Settings;

/// Both diagrams of one read of the environment.
pub struct Drawn {
    pub network: Diagram,
    pub data_flow: Diagram,
}

/// The scope rows a diagram's header carries: the report's (where, by
/// whom, from which endpoint), without the rows about the report itself;
/// "read at" is now, when the reads are done.
fn header(c: &Session<'_>, started: String) -> Vec<(String, String)> {
    let settings = c.settings;
    let at = super::now();
    let header = paysec_verify::Header {
        environment: settings.env.as_str(),
        account: &c.env.account,
        region: &c.env.region,
        at: &at,
        version: env!("CARGO_PKG_VERSION"),
        scope: paysec_verify::Scope {
            endpoint: c.aws.endpoints().describe(&c.env.region),
            emulator: c.aws.emulator().map(str::to_owned),
            caller_arn: c.caller.arn.clone(),
            started,
            ..Default::default()
        },
    };
    const KEPT: [&str; 7] = [
        "environment",
        "account",
        "region",
        "answered by",
        "endpoint",
        "caller",
        "ended",
    ];
    header
        .scope_rows()
        .into_iter()
        .filter(|(label, _)| KEPT.contains(label))
        .map(|(label, value)| {
            let label = if label == "ended" { "read at" } else { label };
            (label.to_owned(), value)
        })
        .collect()
}

fn read_failure(id: &str, e: paysec_core::ResourceError) -> Failure {
    refused_read(vec![(LogicalId::new(id), e)])
}

/// Reads what the diagrams need beyond the survey (`changes`) and draws
/// both.
pub async fn draw(
    c: &Session<'_>,
    changes: &[PlannedChange],
    started: String,
) -> Result<Drawn, Failure> {
    let settings = c.settings;
    let physical: std::collections::BTreeMap<String, String> = changes
        .iter()
        .filter(|ch| !matches!(ch.planned, paysec_core::scheduler::Planned::Create))
        .filter_map(|ch| Some((ch.id.to_string(), ch.planned.physical_id()?.to_owned())))
        .collect();
    let Some(vpc_id) = physical.get(ids::VPC) else {
        return Err(Failure::Usage(format!(
            "environment {} has no VPC live, so there is no network to draw: run `paysec up --env {}` first",
            settings.env, settings.env
        )));
    };
    let vpc = LogicalId::new(ids::VPC);
    let (map, database, function) = tokio::try_join!(
        async {
            paysec_network::map::read(&c.aws, &vpc, vpc_id)
                .await
                .map_err(|e| read_failure(ids::VPC, e))
        },
        async {
            match physical.get(ids::DB) {
                Some(db) => {
                    paysec_diagram::placement::database(&c.aws, &LogicalId::new(ids::DB), db)
                        .await
                        .map_err(|e| read_failure(ids::DB, e))
                }
                None => Ok(None),
            }
        },
        async {
            match physical.get(ids::FUNCTION) {
                Some(f) => {
                    paysec_diagram::placement::function(&c.aws, &LogicalId::new(ids::FUNCTION), f)
                        .await
                        .map_err(|e| read_failure(ids::FUNCTION, e))
                }
                None => Ok(None),
            }
        },
    )?;
    let dns_firewall = match physical.get(ids::DNS_FIREWALL_VPC) {
        Some(association) => DnsFirewall::Associated {
            id: association.clone(),
            read: changes
                .iter()
                .find(|ch| ch.id.as_str() == ids::DNS_FIREWALL_VPC)
                .and_then(|ch| ch.evidence.first())
                .map(|cmp| cmp.actual.clone())
                .unwrap_or_default(),
        },
        None => match c
            .left_out()?
            .into_iter()
            .find(|l| l.id.as_str() == ids::DNS_FIREWALL_VPC)
        {
            Some(l) => DnsFirewall::NotBuilt(l.why),
            None => DnsFirewall::NotRead(format!(
                "{} is built by this configuration but was not found live",
                ids::DNS_FIREWALL_VPC
            )),
        },
    };
    // The reads are done: the header's "read at" is now.
    let header = header(c, started);
    let stack_rules = paysec_stack::security_group_rules(&settings.config);
    let network = paysec_diagram::network::diagram(&paysec_diagram::network::Inputs {
        environment: settings.env.as_str(),
        header: header.clone(),
        map: &map,
        database: database.as_ref(),
        function: function.as_ref(),
        physical: &physical,
        stack_rules: &stack_rules,
        dns_firewall,
    });
    let api = &settings.config.stack.api;
    let callers: Vec<String> = api
        .allowed_cidrs
        .iter()
        .map(|c| format!("from {c}"))
        .chain(
            api.allowed_security_groups
                .iter()
                .map(|g| format!("from group {g}")),
        )
        .chain(
            api.allowed_vpc_endpoints
                .iter()
                .map(|e| format!("through endpoint {e}")),
        )
        .collect();
    let iam = &settings.config.stack.iam;
    let data_flow = paysec_diagram::data_flow::diagram(&paysec_diagram::data_flow::Inputs {
        header,
        changes,
        callers,
        auditor: iam.audit_trusted_role_arn.clone().or_else(|| {
            iam.audit_trusted_account
                .clone()
                .map(|a| format!("account {a}"))
        }),
    });
    Ok(Drawn { network, data_flow })
}

/// Both diagrams as SVG for a report, or why they are not there: a report
/// is still written without them (Graphviz missing, a read refused).
pub async fn figures(
    c: &Session<'_>,
    changes: &[PlannedChange],
    started: String,
) -> paysec_verify::Figures {
    let not_drawn = |why: String| paysec_verify::Figures {
        drawn: Vec::new(),
        not_drawn: Some(why),
    };
    if !render::graphviz_present() {
        return not_drawn(render::RenderError::GraphvizMissing.to_string());
    }
    let drawn = match draw(c, changes, started).await {
        Ok(d) => d,
        Err(e) => return not_drawn(e.to_string()),
    };
    let mut out = paysec_verify::Figures::default();
    for (d, title) in [
        (&drawn.network, "Network diagram (PCI DSS 1.2.3)"),
        (&drawn.data_flow, "Data-flow diagram (PCI DSS 1.2.4)"),
    ] {
        match render::svg(d) {
            Ok(svg) => out.drawn.push(paysec_verify::Figure {
                kind: d.kind.as_str(),
                title,
                svg,
            }),
            Err(e) => return not_drawn(e.to_string()),
        }
    }
    out
}

/// `paysec diagram`.
pub async fn run(
    settings: &Settings,
    printer: &Printer,
    kind: DiagramKind,
    format: DiagramFormat,
    out: Option<PathBuf>,
) -> Result<u8, Failure> {
    let format = match format {
        DiagramFormat::Svg => Format::Svg,
        DiagramFormat::Dot => Format::Dot,
        DiagramFormat::Mermaid => Format::Mermaid,
    };
    // Known before any AWS call: drawing SVG needs Graphviz.
    if format == Format::Svg && !render::graphviz_present() {
        return Err(Failure::Usage(
            render::RenderError::GraphvizMissing.to_string(),
        ));
    }
    let started = super::now();
    let ledger = Ledger::open_read_only(&settings.ledger, &settings.env)?;
    let c = Session::open_reading(settings).await?;
    let changes = c.survey(ledger, printer.reporter()).await?;
    let drawn = draw(&c, &changes, started).await?;
    let diagram = match kind {
        DiagramKind::Network => &drawn.network,
        DiagramKind::DataFlow => &drawn.data_flow,
    };
    let text = render::rendered(diagram, format).map_err(|e| Failure::Run(e.to_string()))?;
    match out {
        Some(path) => {
            std::fs::write(&path, &text).map_err(|e| {
                Failure::Usage(format!(
                    "cannot write the diagram to {}: {e}",
                    path.display()
                ))
            })?;
            printer.note(format!(
                "{} diagram written to {}",
                Kind::as_str(diagram.kind),
                path.display()
            ));
        }
        None if printer.is_json() => printer.json(&serde_json::json!({
            "kind": diagram.kind.as_str(),
            "format": format!("{format:?}").to_lowercase(),
            "diagram": text,
        })),
        None => printer.line(text.trim_end()),
    }
    Ok(exit::OK)
}

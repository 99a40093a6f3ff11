//! `paysec graph`: the stack's resources and dependencies as Graphviz DOT or
//! Mermaid, colored by the ledger's status when there is one. No AWS call.

use paysec_aws::Aws;
use paysec_core::graph::Need;
use paysec_core::{Ledger, Status};

use crate::cli::GraphFormat;
use crate::exit::{self, Failure};
use crate::printer::Printer;
use crate::settings::Settings;

pub async fn run(
    settings: &Settings,
    printer: &Printer,
    format: GraphFormat,
) -> Result<u8, Failure> {
    let mut aws_settings = settings.aws.clone();
    // The graph does not depend on the region; any will do offline.
    aws_settings
        .region
        .get_or_insert_with(|| "us-east-1".into());
    let aws = Aws::connect(&aws_settings).await?;
    let inputs = paysec_stack::Inputs {
        aws: &aws,
        config: &settings.config,
        key_admins: &[],
        resolved: &paysec_stack::Preflight::unresolved(&settings.config),
        code: &settings.code,
        releases: &Default::default(),
        recorded: &[],
    };
    let names = paysec_core::naming::Names::new(&settings.env);
    let graph =
        paysec_stack::blueprint(&inputs, &names).map_err(|e| Failure::Internal(e.to_string()))?;
    let ledger = Ledger::open_read_only(&settings.ledger, &settings.env)?;
    let color = |id| match ledger.record(id).map(|r| r.status) {
        Some(Status::Ready) => "#b7e4c7",
        Some(Status::Created) => "#ffe8a3",
        Some(Status::Creating | Status::Deleting) => "#f4a261",
        None => "#e9ecef",
    };
    let mut out = String::new();
    match format {
        GraphFormat::Dot => {
            out.push_str("digraph paysec {\n  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];\n");
            for &i in graph.order() {
                let n = graph.node(i);
                out.push_str(&format!(
                    "  \"{}\" [label=\"{}\\n{}\", fillcolor=\"{}\"];\n",
                    n.id(),
                    n.id(),
                    n.kind(),
                    color(n.id())
                ));
            }
            for &i in graph.order() {
                for &(j, need) in graph.dependencies(i) {
                    let style = if need == Need::Ready { "bold" } else { "solid" };
                    out.push_str(&format!(
                        "  \"{}\" -> \"{}\" [style={style}];\n",
                        graph.node(j).id(),
                        graph.node(i).id()
                    ));
                }
            }
            out.push_str("}\n");
        }
        GraphFormat::Mermaid => {
            out.push_str("flowchart LR\n");
            let key = |s: &str| s.replace(['.', '-'], "_");
            for &i in graph.order() {
                let n = graph.node(i);
                out.push_str(&format!(
                    "  {}[\"{}<br/><small>{}</small>\"]\n",
                    key(n.id().as_str()),
                    n.id(),
                    n.kind()
                ));
                out.push_str(&format!(
                    "  style {} fill:{}\n",
                    key(n.id().as_str()),
                    color(n.id())
                ));
            }
            for &i in graph.order() {
                for &(j, need) in graph.dependencies(i) {
                    let arrow = if need == Need::Ready { "==>" } else { "-->" };
                    out.push_str(&format!(
                        "  {} {arrow} {}\n",
                        key(graph.node(j).id().as_str()),
                        key(graph.node(i).id().as_str())
                    ));
                }
            }
        }
    }
    printer.line(out.trim_end());
    Ok(exit::OK)
}

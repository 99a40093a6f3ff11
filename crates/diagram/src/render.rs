//! A [`Diagram`] as text: DOT (Graphviz's language), Mermaid (which
//! GitHub and most wikis draw), and SVG, which Graphviz's `dot` lays out
//! from the DOT. paysec writes the DOT itself; only the layout is
//! Graphviz's (nested boxes and label placement are what it does well).

use std::io::Write;
use std::process::{Command, Stdio};

use crate::{Cluster, Diagram, Edge, Node, Origin, Shape};

/// `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Svg,
    Dot,
    Mermaid,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("Graphviz's `dot` program is not installed, and an SVG diagram is laid out by it: install Graphviz (Debian or Ubuntu: `apt-get install graphviz`; macOS: `brew install graphviz`), or ask for `--format dot` or `--format mermaid`, which need nothing")]
    GraphvizMissing,
    #[error("Graphviz's `dot` failed to lay out the {kind} diagram: {why}")]
    Graphviz { kind: &'static str, why: String },
}

/// The font both Graphviz (which sizes the boxes) and a browser (which
/// draws the text) have: the boxes then hold their text.
const FONT: &str = "DejaVu Sans";

/// A4 landscape, in inches: the drawing is scaled down to fit.
const PAGE: &str = "11.69,8.27";

fn dot_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn html_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Lines for a label, with the controls as the last line.
fn label_lines(lines: &[String], controls: &[&str]) -> Vec<String> {
    // Eight ids a line: a database's two dozen stay within its box's width.
    let mut out = lines.to_vec();
    for (i, chunk) in controls.chunks(8).enumerate() {
        out.push(format!(
            "{}{}",
            if i == 0 { "controls: " } else { "" },
            chunk.join(" ")
        ));
    }
    out
}

/// A DOT label of centred lines.
fn dot_label(lines: &[String], controls: &[&str]) -> String {
    let joined = label_lines(lines, controls)
        .iter()
        .map(|l| l.replace('\\', "\\\\").replace('"', "\\\""))
        .collect::<Vec<_>>()
        .join("\\n");
    format!("\"{joined}\"")
}

fn style(origin: Origin) -> &'static str {
    match origin {
        Origin::Paysec => "color=\"#2b8a3e\" fillcolor=\"#ebfbee\"",
        Origin::Aws => "color=\"#868e96\" fillcolor=\"#f8f9fa\"",
        Origin::Foreign => {
            "color=\"#c92a2a\" fillcolor=\"#ffe3e3\" fontcolor=\"#9b1c1c\" penwidth=3"
        }
        Origin::Outside => "color=\"#495057\" fillcolor=\"#fff9db\"",
    }
}

fn shape(s: Shape) -> &'static str {
    match s {
        Shape::Box => "shape=box style=\"rounded,filled\"",
        Shape::Store => "shape=cylinder style=filled",
        Shape::Group => "shape=box style=\"filled,dashed\"",
        Shape::Party => "shape=ellipse style=filled",
    }
}

fn dot_node(n: &Node, indent: &str, out: &mut String) {
    out.push_str(&format!(
        "{indent}{} [id={} class=\"{}\" label={} {} {}]\n",
        dot_string(&n.id),
        dot_string(&n.id),
        n.origin.class(),
        dot_label(&n.lines, &n.controls),
        shape(n.shape),
        style(n.origin),
    ));
}

fn dot_cluster(c: &Cluster, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    out.push_str(&format!(
        "{indent}subgraph {} {{\n{indent}  id={} class=\"{}\" label={} style=\"rounded,filled\" {}\n",
        dot_string(&format!("cluster_{}", c.id)),
        dot_string(&c.id),
        c.origin.class(),
        dot_label(&c.lines, &c.controls),
        match c.origin {
            Origin::Foreign => "color=\"#c92a2a\" fillcolor=\"#fff5f5\" penwidth=3",
            _ if depth % 2 == 1 => "color=\"#495057\" fillcolor=\"#f8f9fa\"",
            _ => "color=\"#495057\" fillcolor=\"#ffffff\"",
        }
    ));
    for n in &c.nodes {
        dot_node(n, &format!("{indent}  "), out);
    }
    if c.column {
        for pair in c.nodes.windows(2) {
            out.push_str(&format!(
                "{indent}  {} -> {} [style=invis]\n",
                dot_string(&pair[0].id),
                dot_string(&pair[1].id)
            ));
        }
    }
    for inner in &c.clusters {
        dot_cluster(inner, depth + 1, out);
    }
    out.push_str(&format!("{indent}}}\n"));
}

fn dot_edge(e: &Edge, out: &mut String) {
    let colour = match e.origin {
        Origin::Foreign => "color=\"#c92a2a\" fontcolor=\"#9b1c1c\" penwidth=3",
        Origin::Paysec => "color=\"#2b8a3e\"",
        _ => "color=\"#495057\"",
    };
    out.push_str(&format!(
        "  {} -> {} [id={} class=\"{}\" label={} {colour}]\n",
        dot_string(&e.from),
        dot_string(&e.to),
        dot_string(&e.id),
        e.origin.class(),
        dot_label(&e.lines, &e.controls),
    ));
}

/// The header (title and scope rows) as an HTML-like label: one text per
/// row, left-aligned.
fn dot_header(d: &Diagram) -> String {
    // Two columns, the scope on the left and the legend on the right, out
    // of the layout's way (no arrow's label can land on them) and half as
    // tall as one: a page's height is what an A4 sheet runs out of first.
    let cell = |text: String| format!("<TD ALIGN=\"LEFT\" BALIGN=\"LEFT\">{text}</TD>");
    let left: Vec<String> = std::iter::once(format!("<B>{}</B>", html_text(d.kind.requirement())))
        .chain(
            d.header
                .iter()
                .map(|(k, v)| format!("{}: {}", html_text(k), html_text(v))),
        )
        .collect();
    let right: Vec<String> = if d.legend.is_empty() {
        Vec::new()
    } else {
        std::iter::once("<B>legend</B>".to_owned())
            .chain(d.legend.iter().map(|l| html_text(l)))
            .collect()
    };
    let rows: String = (0..left.len().max(right.len()))
        .map(|i| {
            format!(
                "<TR>{}{}</TR>",
                cell(left.get(i).cloned().unwrap_or_default()),
                cell(right.get(i).cloned().unwrap_or_default())
            )
        })
        .collect();
    format!(
        "<<TABLE BORDER=\"0\" CELLBORDER=\"0\" CELLSPACING=\"0\" CELLPADDING=\"1\">{rows}</TABLE>>"
    )
}

/// The diagram in Graphviz's language.
pub fn dot(d: &Diagram) -> String {
    let mut out = format!(
        "digraph {} {{\n  graph [id={} fontname={} fontsize=11 labelloc=t labeljust=l label={} rankdir=TB newrank=true nodesep=0.3 ranksep=0.35 size={} compound=true]\n  node [fontname={} fontsize=9 margin=\"0.12,0.06\"]\n  edge [fontname={} fontsize=8]\n",
        dot_string(d.kind.as_str()),
        dot_string(d.kind.as_str()),
        dot_string(FONT),
        dot_header(d),
        dot_string(PAGE),
        dot_string(FONT),
        dot_string(FONT),
    );
    for n in &d.nodes {
        dot_node(n, "  ", &mut out);
    }
    for c in &d.clusters {
        dot_cluster(c, 1, &mut out);
    }
    for e in &d.edges {
        dot_edge(e, &mut out);
    }
    for (above, below) in &d.above {
        out.push_str(&format!(
            "  {} -> {} [style=invis]\n",
            dot_string(above),
            dot_string(below)
        ));
    }
    out.push_str("}\n");
    out
}

/// A Mermaid id: letters, digits and `_` only.
fn mermaid_id(prefix: &str, id: &str) -> String {
    let clean: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{prefix}_{clean}")
}

fn mermaid_text(lines: &[String], controls: &[&str]) -> String {
    label_lines(lines, controls)
        .iter()
        .map(|l| {
            l.replace('"', "#quot;")
                .replace('<', "#lt;")
                .replace('>', "#gt;")
        })
        .collect::<Vec<_>>()
        .join("<br/>")
}

fn mermaid_node(n: &Node, indent: &str, out: &mut String) {
    let text = mermaid_text(&n.lines, &n.controls);
    let id = mermaid_id("n", &n.id);
    let shaped = match n.shape {
        Shape::Store => format!("{id}[(\"{text}\")]"),
        Shape::Party => format!("{id}([\"{text}\"])"),
        Shape::Box | Shape::Group => format!("{id}[\"{text}\"]"),
    };
    out.push_str(&format!("{indent}{shaped}\n"));
    out.push_str(&format!("{indent}class {id} {}\n", n.origin.class()));
}

fn mermaid_cluster(c: &Cluster, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    out.push_str(&format!(
        "{indent}subgraph {}[\"{}\"]\n",
        mermaid_id("c", &c.id),
        mermaid_text(&c.lines, &c.controls)
    ));
    for n in &c.nodes {
        mermaid_node(n, &format!("{indent}  "), out);
    }
    for inner in &c.clusters {
        mermaid_cluster(inner, depth + 1, out);
    }
    out.push_str(&format!("{indent}end\n"));
}

/// The diagram as a Mermaid flowchart; the header and legend are comments
/// and a title.
pub fn mermaid(d: &Diagram) -> String {
    let mut out = format!("---\ntitle: {}\n---\n", d.kind.requirement());
    out.push_str("flowchart LR\n");
    for (k, v) in &d.header {
        out.push_str(&format!("  %% {k}: {v}\n"));
    }
    for n in &d.nodes {
        mermaid_node(n, "  ", &mut out);
    }
    for c in &d.clusters {
        mermaid_cluster(c, 1, &mut out);
    }
    for e in &d.edges {
        out.push_str(&format!(
            "  {} -->|\"{}\"| {}\n",
            mermaid_id("n", &e.from),
            mermaid_text(&e.lines, &e.controls),
            mermaid_id("n", &e.to)
        ));
    }
    for (i, e) in d.edges.iter().enumerate() {
        if e.origin == Origin::Foreign {
            out.push_str(&format!(
                "  linkStyle {i} stroke:#c92a2a,stroke-width:3px\n"
            ));
        }
    }
    for l in &d.legend {
        out.push_str(&format!("  %% {l}\n"));
    }
    out.push_str("  classDef paysec fill:#ebfbee,stroke:#2b8a3e\n");
    out.push_str("  classDef aws fill:#f8f9fa,stroke:#868e96\n");
    out.push_str("  classDef foreign fill:#ffe3e3,stroke:#c92a2a,stroke-width:3px,color:#9b1c1c\n");
    out.push_str("  classDef outside fill:#fff9db,stroke:#495057\n");
    out
}

/// The diagram laid out by Graphviz's `dot`, as an SVG document.
pub fn svg(d: &Diagram) -> Result<String, RenderError> {
    let mut child = match Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(RenderError::GraphvizMissing)
        }
        Err(e) => {
            return Err(RenderError::Graphviz {
                kind: d.kind.as_str(),
                why: e.to_string(),
            })
        }
    };
    let source = dot(d);
    let failed = |why: String| RenderError::Graphviz {
        kind: d.kind.as_str(),
        why,
    };
    // Written from a thread: `dot` may fill its output pipe before it has
    // read all its input.
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| failed("no stdin".into()))?;
    let writer = std::thread::spawn(move || stdin.write_all(source.as_bytes()));
    let out = child
        .wait_with_output()
        .map_err(|e| failed(e.to_string()))?;
    writer
        .join()
        .map_err(|_| failed("the writer panicked".into()))?
        .map_err(|e| failed(e.to_string()))?;
    if !out.status.success() {
        return Err(failed(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| failed(e.to_string()))
}

/// Whether `dot` can be run here.
pub fn graphviz_present() -> bool {
    Command::new("dot")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The diagram in `format`.
pub fn rendered(d: &Diagram, format: Format) -> Result<String, RenderError> {
    match format {
        Format::Svg => svg(d),
        Format::Dot => Ok(dot(d)),
        Format::Mermaid => Ok(mermaid(d)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;

    fn sample() -> Diagram {
        let node = |id: &str, origin| Node {
            id: id.into(),
            lines: vec![format!("name \"{id}\""), id.into()],
            controls: vec!["NET-3"],
            origin,
            shape: Shape::Box,
        };
        Diagram {
            kind: Kind::Network,
            header: vec![("account".into(), "123456789012".into())],
            nodes: vec![node("sg-1", Origin::Paysec)],
            clusters: vec![Cluster {
                id: "vpc-1".into(),
                lines: vec!["VPC vpc-1 10.0.0.0/16".into()],
                controls: vec![],
                origin: Origin::Paysec,
                nodes: vec![node("sg-2", Origin::Foreign)],
                clusters: vec![],
                column: false,
            }],
            edges: vec![Edge {
                id: "sgr-1".into(),
                from: "sg-1".into(),
                to: "sg-2".into(),
                lines: vec!["out tcp 5432".into()],
                controls: vec!["NET-10"],
                origin: Origin::Foreign,
            }],
            legend: vec!["no internet gateway (DescribeInternetGateways: none)".into()],
            above: vec![],
        }
    }

    #[test]
    fn dot_quotes_every_id_and_label_and_nests_boxes() {
        let d = dot(&sample());
        assert!(d.contains("subgraph \"cluster_vpc-1\" {"), "{d}");
        assert!(
            d.contains("label=\"name \\\"sg-1\\\"\\nsg-1\\ncontrols: NET-3\""),
            "{d}"
        );
        assert!(
            d.contains("\"sg-1\" -> \"sg-2\" [id=\"sgr-1\" class=\"foreign\""),
            "{d}"
        );
        // The header left, the legend right, a row each.
        assert!(
            d.contains("<TR><TD ALIGN=\"LEFT\" BALIGN=\"LEFT\">account: 123456789012</TD><TD ALIGN=\"LEFT\" BALIGN=\"LEFT\">no internet gateway (DescribeInternetGateways: none)</TD></TR>"),
            "{d}"
        );
        assert!(d.contains("<B>PCI DSS v4.0.1 1.2.3: network diagram</B>"));
    }

    #[test]
    fn mermaid_ids_are_plain_and_labels_escaped() {
        let m = mermaid(&sample());
        assert!(
            m.contains("subgraph c_vpc_1[\"VPC vpc-1 10.0.0.0/16\"]"),
            "{m}"
        );
        assert!(
            m.contains("n_sg_1[\"name #quot;sg-1#quot;<br/>sg-1<br/>controls: NET-3\"]"),
            "{m}"
        );
        assert!(
            m.contains("n_sg_1 -->|\"out tcp 5432<br/>controls: NET-10\"| n_sg_2"),
            "{m}"
        );
        assert!(m.contains("linkStyle 0 stroke:#c92a2a"), "{m}");
        assert!(m.contains("class n_sg_2 foreign"), "{m}");
    }
}

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

/// The controls as runs, each prefix's in number order: `NET-13–15` for
/// NET-13, NET-14 and NET-15 (three or more in a row), so that a
/// database's two dozen take a line rather than three.
pub fn control_runs(controls: &[&str]) -> Vec<String> {
    let mut prefixes: Vec<(&str, Vec<u32>)> = Vec::new();
    let mut odd: Vec<String> = Vec::new();
    for c in controls {
        match c
            .rsplit_once('-')
            .and_then(|(p, n)| Some((p, n.parse::<u32>().ok()?)))
        {
            Some((prefix, n)) => match prefixes.iter_mut().find(|(p, _)| *p == prefix) {
                Some((_, ns)) => ns.push(n),
                None => prefixes.push((prefix, vec![n])),
            },
            None => odd.push((*c).to_owned()),
        }
    }
    let mut out = Vec::new();
    for (prefix, mut ns) in prefixes {
        ns.sort_unstable();
        ns.dedup();
        let mut i = 0;
        while i < ns.len() {
            let mut j = i;
            while j + 1 < ns.len() && ns[j + 1] == ns[j] + 1 {
                j += 1;
            }
            if j - i >= 2 {
                out.push(format!("{prefix}-{}\u{2013}{}", ns[i], ns[j]));
            } else {
                out.extend(ns[i..=j].iter().map(|n| format!("{prefix}-{n}")));
            }
            i = j + 1;
        }
    }
    out.extend(odd);
    out
}

/// The widest line of an element's label, in characters; longer ones wrap
/// at spaces (an id is never split). A4 has room for about three such
/// boxes side by side at a printable size.
const LINE: usize = 40;

/// An arrow's widest label line: a label sits between the boxes, so it
/// widens the row it crosses.
const EDGE_LINE: usize = 30;

/// The legend's widest line.
const HEADER_LINE: usize = 64;

/// The scope's widest line: an SSO caller's ARN takes two, not three.
const SCOPE_LINE: usize = 80;

/// `line` broken at spaces into lines of at most `width` characters; a
/// longer word (a URL, an ARN) breaks after a `/`, `:` or `,` instead.
fn wrap(line: &str, width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in line.split(' ').flat_map(|w| pieces(w, width)) {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(&word);
    }
    out.push(current);
    out
}

/// A word cut into pieces of at most `width` characters: after a `/`, `:`
/// or `,` where it has them (an ARN, a URL), else after a `-`, else
/// anywhere (a hash). A piece is a line of its own but the last.
fn pieces(word: &str, width: usize) -> Vec<String> {
    let mut out = vec![word.to_owned()];
    for separators in [&['/', ':', ','][..], &['-'][..], &[][..]] {
        out = out
            .into_iter()
            .flat_map(|w| {
                if w.chars().count() <= width {
                    vec![w]
                } else {
                    cut(&w, width, separators)
                }
            })
            .collect();
    }
    out
}

/// `word` cut after `separators` (after any character when there are
/// none) into pieces of at most `width` characters where it can be.
fn cut(word: &str, width: usize, separators: &[char]) -> Vec<String> {
    let mut out = Vec::new();
    let mut piece = String::new();
    let mut since_cut = String::new();
    let fits =
        |piece: &String, more: &String| piece.chars().count() + more.chars().count() <= width;
    for c in word.chars() {
        since_cut.push(c);
        if separators.is_empty() || separators.contains(&c) {
            if !fits(&piece, &since_cut) && !piece.is_empty() {
                out.push(std::mem::take(&mut piece));
            }
            piece.push_str(&std::mem::take(&mut since_cut));
        }
    }
    if !fits(&piece, &since_cut) && !piece.is_empty() {
        out.push(std::mem::take(&mut piece));
    }
    piece.push_str(&since_cut);
    out.push(piece);
    out
}

/// Lines for a label, wrapped, with the controls as the last line(s).
fn label_lines(lines: &[String], controls: &[&str]) -> Vec<String> {
    label_lines_within(lines, controls, LINE)
}

/// [`label_lines`] at most `width` characters wide.
fn label_lines_within(lines: &[String], controls: &[&str], width: usize) -> Vec<String> {
    // Six runs a line: a box stays as narrow as its name.
    let mut out: Vec<String> = lines.iter().flat_map(|l| wrap(l, width)).collect();
    for (i, chunk) in control_runs(controls).chunks(6).enumerate() {
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
    dot_label_within(lines, controls, LINE)
}

/// [`dot_label`] at most `width` characters wide.
fn dot_label_within(lines: &[String], controls: &[&str], width: usize) -> String {
    let joined = label_lines_within(lines, controls, width)
        .iter()
        .map(|l| l.replace('\\', "\\\\").replace('"', "\\\""))
        .collect::<Vec<_>>()
        .join("\\n");
    format!("\"{joined}\"")
}

/// Lines as HTML-like label text (its cell's `BALIGN` aligns them).
fn html_lines(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| html_text(l))
        .collect::<Vec<_>>()
        .join("<BR/>")
}

/// A node with rows: its own lines on top, then each row as a cell with a
/// line above it, carrying the row's id (Graphviz writes a cell's id only
/// on a link, so each row links to itself) and its origin as a tooltip.
fn dot_table(n: &Node) -> String {
    let mut cells = format!(
        "<TR><TD ALIGN=\"LEFT\" BALIGN=\"LEFT\">{}</TD></TR>",
        html_lines(&label_lines(&n.lines, &n.controls))
    );
    for r in &n.rows {
        let (fill, font) = match r.origin {
            Origin::Foreign => (" BGCOLOR=\"#ffe3e3\"", "#9b1c1c"),
            _ => ("", "#000000"),
        };
        cells.push_str(&format!(
            "<TR><TD ALIGN=\"LEFT\" BALIGN=\"LEFT\" BORDER=\"1\" SIDES=\"T\" COLOR=\"{}\"{fill} ID={} HREF={} TOOLTIP={}><FONT COLOR=\"{font}\">{}</FONT></TD></TR>",
            border(r.origin),
            dot_string(&r.id),
            dot_string(&format!("#{}", r.id)),
            dot_string(&format!("{}: {}", r.id, r.origin.said())),
            html_lines(&label_lines(&r.lines, &r.controls)),
        ));
    }
    format!(
        "<<TABLE BORDER=\"0\" CELLBORDER=\"0\" CELLSPACING=\"0\" CELLPADDING=\"3\">{cells}</TABLE>>"
    )
}

fn border(origin: Origin) -> &'static str {
    match origin {
        Origin::Paysec => "#2b8a3e",
        Origin::Aws => "#868e96",
        Origin::Foreign => "#c92a2a",
        Origin::Outside => "#495057",
    }
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
        if n.rows.is_empty() {
            dot_label(&n.lines, &n.controls)
        } else {
            dot_table(n)
        },
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
    let (tail, head, dir) = if e.upward {
        (&e.to, &e.from, " dir=back")
    } else {
        (&e.from, &e.to, "")
    };
    out.push_str(&format!(
        "  {} -> {} [id={} class=\"{}\" label={} {colour}{dir}]\n",
        dot_string(tail),
        dot_string(head),
        dot_string(&e.id),
        e.origin.class(),
        dot_label_within(&e.lines, &e.controls, EDGE_LINE),
    ));
}

/// The header (title and scope rows) as an HTML-like label: one text per
/// row, left-aligned.
fn dot_header(d: &Diagram) -> String {
    // Columns: the scope, then the legend in as many columns as keep it no
    // taller than the scope (at most two), out of the layout's way (no
    // arrow's label can land on them): a page's height is what an A4 sheet
    // runs out of first.
    let cell = |text: String| format!("<TD ALIGN=\"LEFT\" BALIGN=\"LEFT\">{text}</TD>");
    let scope: Vec<String> = std::iter::once(format!("<B>{}</B>", html_text(d.kind.requirement())))
        .chain(
            d.header
                .iter()
                .flat_map(|(k, v)| wrap(&format!("{k}: {v}"), SCOPE_LINE))
                .map(|l| html_text(&l)),
        )
        .collect();
    // The legend's items, each as its wrapped lines: an item is never cut
    // between two columns.
    let items: Vec<Vec<String>> = d
        .legend
        .iter()
        .map(|l| wrap(l, HEADER_LINE).iter().map(|l| html_text(l)).collect())
        .collect();
    let total: usize = 1 + items.iter().map(Vec::len).sum::<usize>();
    let mut columns: Vec<Vec<String>> = vec![scope];
    if !items.is_empty() {
        let height = if total > columns[0].len() {
            total.div_ceil(2).max(columns[0].len())
        } else {
            total
        };
        let mut column = vec!["<B>legend</B>".to_owned()];
        for item in items {
            if column.len() + item.len() > height && column.len() > 1 {
                columns.push(std::mem::take(&mut column));
            }
            column.extend(item);
        }
        columns.push(column);
    }
    let tallest = columns.iter().map(Vec::len).max().unwrap_or(0);
    let rows: String = (0..tallest)
        .map(|i| {
            let cells: String = columns
                .iter()
                .map(|c| cell(c.get(i).cloned().unwrap_or_default()))
                .collect();
            format!("<TR>{cells}</TR>")
        })
        .collect();
    format!(
        "<<TABLE BORDER=\"0\" CELLBORDER=\"0\" CELLSPACING=\"0\" CELLPADDING=\"1\">{rows}</TABLE>>"
    )
}

/// The diagram in Graphviz's language.
pub fn dot(d: &Diagram) -> String {
    let mut out = format!(
        "digraph {} {{\n  graph [id={} fontname={} fontsize=9 labelloc=t labeljust=l label={} rankdir=TB newrank=true nodesep=0.2 ranksep=0.25 size={} compound=true]\n  node [fontname={} fontsize=9 margin=\"0.08,0.04\"]\n  edge [fontname={} fontsize=9]\n",
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
    for set in d.level.iter().filter(|s| s.len() > 1) {
        let ids: Vec<String> = set.iter().map(|id| dot_string(id)).collect();
        out.push_str(&format!("  {{rank=same; {}}}\n", ids.join("; ")));
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
    let mut text = mermaid_text(&n.lines, &n.controls);
    for r in &n.rows {
        text.push_str("<br/>- ");
        text.push_str(&mermaid_text(&r.lines, &r.controls).replace("<br/>", "<br/>  "));
    }
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
    use crate::{Kind, Row};

    fn sample() -> Diagram {
        let node = |id: &str, origin| Node {
            id: id.into(),
            lines: vec![format!("name \"{id}\""), id.into()],
            controls: vec!["NET-3"],
            origin,
            shape: Shape::Box,
            rows: Vec::new(),
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
                upward: false,
            }],
            legend: vec!["no internet gateway (DescribeInternetGateways: none)".into()],
            above: vec![],
            level: vec![],
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
    fn controls_run_together_only_when_three_follow_each_other() {
        assert_eq!(
            control_runs(&["NET-26", "NET-13", "NET-14", "NET-15", "RDS-1", "RDS-2", "X"]),
            ["NET-13\u{2013}15", "NET-26", "RDS-1", "RDS-2", "X"]
        );
        assert_eq!(
            control_runs(&["LAM-3", "LAM-1", "LAM-2", "LAM-3"]),
            ["LAM-1\u{2013}3"]
        );
    }

    #[test]
    fn long_lines_wrap_at_spaces_and_long_ids_at_their_separators() {
        assert_eq!(
            wrap("retention 365 days and then some more", 16),
            ["retention 365", "days and then", "some more"]
        );
        assert_eq!(
            wrap("key arn:aws:kms:us-east-1:123456789012:key/abc", 24),
            ["key", "arn:aws:kms:us-east-1:", "123456789012:key/abc"]
        );
        // Else after a dash, else anywhere.
        assert_eq!(
            wrap("paysec-prod-flowlogs-123456789012", 24),
            ["paysec-prod-flowlogs-", "123456789012"]
        );
        assert_eq!(
            wrap("CodeSha256 abcdefghij", 6),
            ["CodeSh", "a256", "abcdef", "ghij"]
        );
    }

    #[test]
    fn a_node_with_rows_is_a_table_whose_cells_carry_their_ids() {
        let mut d = sample();
        d.nodes[0].rows.push(Row {
            id: "eni-1".into(),
            lines: vec!["vpce-1 (rds)".into(), "eni-1 10.0.0.5".into()],
            controls: vec!["NET-13"],
            origin: Origin::Foreign,
        });
        let dot = dot(&d);
        assert!(
            dot.contains("ID=\"eni-1\" HREF=\"#eni-1\" TOOLTIP=\"eni-1: NOT MADE BY PAYSEC\"><FONT COLOR=\"#9b1c1c\">vpce-1 (rds)<BR/>eni-1 10.0.0.5<BR/>controls: NET-13</FONT>"),
            "{dot}"
        );
        let m = mermaid(&d);
        assert!(
            m.contains("<br/>- vpce-1 (rds)<br/>  eni-1 10.0.0.5"),
            "{m}"
        );
    }

    #[test]
    fn level_sets_and_upward_arrows_reach_the_layout() {
        let mut d = sample();
        d.level = vec![vec!["sg-1".into(), "sg-2".into()], vec!["alone".into()]];
        d.edges[0].upward = true;
        let dot = dot(&d);
        assert!(dot.contains("{rank=same; \"sg-1\"; \"sg-2\"}"), "{dot}");
        assert!(
            !dot.contains("\"alone\""),
            "a set of one says nothing: {dot}"
        );
        assert!(
            dot.contains("\"sg-2\" -> \"sg-1\" [id=\"sgr-1\""),
            "laid out upward: {dot}"
        );
        assert!(dot.contains("dir=back]"), "its head still at sg-2: {dot}");
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

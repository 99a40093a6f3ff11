//! The diagrams a report carries (PCI DSS 1.2.3 network, 1.2.4 data flows):
//! drawn by the binary from the same read as the findings, embedded in
//! the HTML page and written beside the Markdown report as SVG files that
//! its manifest lists. A report whose diagrams could not be drawn says so
//! and why.

/// One diagram, as SVG.
#[derive(Clone, Debug)]
pub struct Figure {
    /// `network` or `data-flow`: the file suffix and the page anchor.
    pub kind: &'static str,
    pub title: &'static str,
    /// A whole SVG document (Graphviz's).
    pub svg: String,
}

/// The report's diagrams, or why there are none.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    pub drawn: Vec<Figure>,
    /// Why the diagrams are missing, when they are.
    pub not_drawn: Option<String>,
}

impl Figures {
    /// The file beside the report `report_name` holding `figure`.
    pub fn file_name(report_name: &str, figure: &Figure) -> String {
        format!("{report_name}.{}.svg", figure.kind)
    }

    /// The Markdown report's section: each diagram by its file.
    pub fn markdown(&self, report_name: &str) -> String {
        if self.drawn.is_empty() && self.not_drawn.is_none() {
            return String::new();
        }
        let mut out = "\n## Diagrams (PCI DSS 1.2.3, 1.2.4)\n\nDrawn from the same live read as the findings: each element carries its physical id and the controls that cover it; anything found in the VPC that paysec did not make, and any rule the stack does not define, is red. Which parts of 1.2.3 and 1.2.4 they meet, and which remain the owner's: docs/pci-mapping.md.\n\n".to_owned();
        for f in &self.drawn {
            out.push_str(&format!(
                "- {}: ![{}]({})\n",
                f.title,
                f.kind,
                Self::file_name(report_name, f)
            ));
        }
        if let Some(why) = &self.not_drawn {
            out.push_str(&format!("Not drawn: {why}\n"));
        }
        out
    }
}

/// The `<svg>` element of an SVG document (without its XML preamble).
pub fn svg_element(document: &str) -> &str {
    document
        .find("<svg")
        .map_or(document, |start| &document[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_markdown_section_names_each_file_or_why_there_is_none() {
        let f = Figures {
            drawn: vec![Figure {
                kind: "network",
                title: "Network diagram (1.2.3)",
                svg: "<svg/>".into(),
            }],
            not_drawn: None,
        };
        let md = f.markdown("evidence.md");
        assert!(
            md.contains("- Network diagram (1.2.3): ![network](evidence.md.network.svg)"),
            "{md}"
        );
        let none = Figures {
            drawn: Vec::new(),
            not_drawn: Some("Graphviz is not installed".into()),
        };
        assert!(none
            .markdown("r.md")
            .contains("Not drawn: Graphviz is not installed"));
        assert_eq!(Figures::default().markdown("r.md"), "");
    }

    #[test]
    fn the_svg_element_drops_the_xml_preamble() {
        let doc = "<?xml version=\"1.0\"?>\n<!DOCTYPE svg>\n<svg id=\"x\"></svg>\n";
        assert_eq!(svg_element(doc), "<svg id=\"x\"></svg>\n");
    }
}

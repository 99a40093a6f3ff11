//! The diagrams an assessment asks for (PCI DSS v4.0.1 1.2.3, 1.2.4),
//! drawn from what AWS answers rather than from the configuration: the
//! network ([`network`]) from a read of the VPC, the data flows
//! ([`data_flow`]) from the survey `verify` also makes. Both become one
//! [`Diagram`]: nested boxes, elements and arrows, each element carrying its
//! physical id and the controls that cover it; [`render`] writes it as DOT,
//! Mermaid or (through Graphviz's `dot`) SVG.

pub mod data_flow;
pub mod network;
pub mod placement;
pub mod render;

/// Which diagram (`--kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Network,
    DataFlow,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Network => "network",
            Self::DataFlow => "data-flow",
        }
    }

    /// The requirement the diagram serves, for its title.
    pub fn requirement(self) -> &'static str {
        match self {
            Self::Network => "PCI DSS v4.0.1 1.2.3: network diagram",
            Self::DataFlow => "PCI DSS v4.0.1 1.2.4: data-flow diagram",
        }
    }
}

/// Who made an element, as far as the reads show: drawn differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Carries this environment's tags (or is a flow paysec configured).
    Paysec,
    /// Made by AWS with the VPC (default security group, main route
    /// table, default network ACL) or for a service paysec made (an
    /// endpoint's or a function's network interface).
    Aws,
    /// Found in the VPC with no proof paysec made it: highlighted.
    Foreign,
    /// Outside the account or the stack (callers, an auditor's account).
    Outside,
}

impl Origin {
    pub fn class(self) -> &'static str {
        match self {
            Self::Paysec => "paysec",
            Self::Aws => "aws",
            Self::Foreign => "foreign",
            Self::Outside => "outside",
        }
    }

    /// Who made it, in words (a row's tooltip).
    pub fn said(self) -> &'static str {
        match self {
            Self::Paysec => "made by paysec",
            Self::Aws => "made by AWS",
            Self::Foreign => "NOT MADE BY PAYSEC",
            Self::Outside => "outside the account",
        }
    }
}

/// How an element is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Something that runs or routes (an interface, a function).
    Box,
    /// Where data rests (a database, a bucket, a log group, a queue).
    Store,
    /// A security group: the end of a rule's arrow.
    Group,
    /// A party outside (callers, an auditor, an address block).
    Party,
}

#[derive(Clone, Debug)]
pub struct Node {
    /// The physical id (unique in the diagram; the SVG element's id).
    pub id: String,
    /// The first line is the element's name; the physical id follows
    /// where it is not the name.
    pub lines: Vec<String>,
    pub controls: Vec<&'static str>,
    pub origin: Origin,
    pub shape: Shape,
    /// Elements drawn inside this one as rows of a table (what holds an
    /// interface in a subnet): a box of boxes would take three times the
    /// page.
    pub rows: Vec<Row>,
}

/// An element drawn as a row of its node's table: its id is the SVG
/// element's (`a_` and the id, as Graphviz writes a cell's), its origin
/// said in its colour and its tooltip.
#[derive(Clone, Debug)]
pub struct Row {
    pub id: String,
    pub lines: Vec<String>,
    pub controls: Vec<&'static str>,
    pub origin: Origin,
}

#[derive(Clone, Debug)]
pub struct Cluster {
    pub id: String,
    pub lines: Vec<String>,
    pub controls: Vec<&'static str>,
    pub origin: Origin,
    pub nodes: Vec<Node>,
    pub clusters: Vec<Cluster>,
    /// Its nodes one above the other, in order (a subnet's contents):
    /// without arrows between them a layout would put them all in one row.
    pub column: bool,
}

#[derive(Clone, Debug)]
pub struct Edge {
    /// The rule's or flow's id (the SVG element's id).
    pub id: String,
    pub from: String,
    pub to: String,
    pub lines: Vec<String>,
    pub controls: Vec<&'static str>,
    pub origin: Origin,
    /// Laid out from `to` up to `from`, its head still at `to`: an arrow
    /// from a block outside into the VPC, so that the block sits below the
    /// groups it reaches rather than above the whole VPC.
    pub upward: bool,
}

/// One diagram, ready to render.
#[derive(Clone, Debug)]
pub struct Diagram {
    pub kind: Kind,
    /// Where, when and by whom it was read (the report's scope rows).
    pub header: Vec<(String, String)>,
    /// Elements outside every box.
    pub nodes: Vec<Node>,
    pub clusters: Vec<Cluster>,
    pub edges: Vec<Edge>,
    /// What is absent and would matter, each quoting the read that showed
    /// it; and what could not be read here, with why.
    pub legend: Vec<String>,
    /// Layout only, not drawn: (above, below) pairs of element ids, so
    /// that parts with no arrow between them stack rather than spread.
    pub above: Vec<(String, String)>,
    /// Layout only: sets of element ids drawn at one height, so that parts
    /// with no arrow between them sit side by side in the page's width
    /// rather than each in its own band.
    pub level: Vec<Vec<String>>,
}

impl Diagram {
    /// Every node, in boxes or not.
    pub fn all_nodes(&self) -> Vec<&Node> {
        fn walk<'a>(c: &'a Cluster, out: &mut Vec<&'a Node>) {
            out.extend(c.nodes.iter());
            for inner in &c.clusters {
                walk(inner, out);
            }
        }
        let mut out: Vec<&Node> = self.nodes.iter().collect();
        for c in &self.clusters {
            walk(c, &mut out);
        }
        out
    }
}

/// The controls of the catalog that check a resource of `kind`.
pub fn controls_of(kind: &str) -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = paysec_verify::CONTROLS
        .iter()
        .filter(|c| c.kind == kind)
        .map(|c| c.id)
        .collect();
    ids.dedup();
    ids
}

/// The value of this environment's tag `key` among `tags`.
pub(crate) fn tag<'a>(tags: &'a [(String, String)], key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Whether `tags` prove the element is this environment's: paysec tags
/// everything it makes with the environment and a logical id.
pub(crate) fn ours(tags: &[(String, String)], environment: &str) -> bool {
    tag(tags, paysec_core::tags::ENVIRONMENT) == Some(environment)
        && tag(tags, paysec_core::tags::LOGICAL_ID).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_come_from_the_catalog() {
        let sub = controls_of("subnet");
        assert!(sub.contains(&"NET-3"), "{sub:?}");
        assert!(controls_of("no_such_kind").is_empty());
    }

    #[test]
    fn only_both_tags_of_this_environment_prove_an_element_ours() {
        let t = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let env = paysec_core::tags::ENVIRONMENT;
        let id = paysec_core::tags::LOGICAL_ID;
        assert!(ours(&t(&[(env, "dev"), (id, "network.vpc")]), "dev"));
        assert!(!ours(&t(&[(env, "prod"), (id, "network.vpc")]), "dev"));
        assert!(!ours(&t(&[(env, "dev")]), "dev"));
    }
}

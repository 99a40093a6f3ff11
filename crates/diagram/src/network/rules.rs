//! The security groups and their rules: each group an element, each rule
//! an arrow from the traffic's source to its destination, the stack's own
//! rules told from the rest by the flows the stack defines.

use std::collections::BTreeSet;

use paysec_network::map::{NetworkMap, RuleFacts, RulePeer};
use paysec_network::security_group::Peer;

use super::{Inputs, NOT_OURS};
use crate::{controls_of, ours, Cluster, Edge, Node, Origin, Shape};

/// The live rules the stack's own rules account for.
fn stack_rule_ids(inputs: &Inputs<'_>) -> BTreeSet<String> {
    let physical = |l: &paysec_core::LogicalId| inputs.physical.get(l.as_str()).cloned();
    let wanted: Vec<(String, bool, i32, String)> = inputs
        .stack_rules
        .iter()
        .filter_map(|r| {
            let peer = match &r.peer {
                Peer::Group(g) => physical(g)?,
                Peer::VpcCidr => inputs.map.cidr.clone(),
                Peer::Cidr(c) | Peer::ForeignGroup(c) => c.clone(),
            };
            Some((physical(&r.group)?, r.egress, r.port, peer))
        })
        .collect();
    inputs
        .map
        .rules
        .iter()
        .filter(|live| {
            live.protocol == "tcp"
                && live.from_port == live.to_port
                && wanted.iter().any(|(g, egress, port, peer)| {
                    *g == live.group
                        && *egress == live.egress
                        && *port == live.from_port
                        && peer == live.peer.as_str()
                })
        })
        .map(|r| r.id.clone())
        .collect()
}

fn group_node(inputs: &Inputs<'_>, g: &paysec_network::map::GroupFacts) -> Node {
    let (origin, controls) = if ours(&g.tags, inputs.environment) {
        (Origin::Paysec, Vec::new())
    } else if g.name == "default" {
        (
            Origin::Aws,
            controls_of("vpc_defaults")
                .into_iter()
                .filter(|c| *c == "NET-8")
                .collect(),
        )
    } else {
        (Origin::Foreign, Vec::new())
    };
    let mut lines = Vec::new();
    if origin == Origin::Foreign {
        lines.push(NOT_OURS.to_owned());
    }
    lines.push(format!("group {}", g.name));
    lines.push(g.id.clone());
    if let Some(l) = super::logical(&g.tags) {
        lines.push(format!("({l})"));
    }
    Node {
        id: g.id.clone(),
        lines,
        controls,
        origin,
        shape: Shape::Group,
        rows: Vec::new(),
    }
}

/// The element at the far end of a rule, outside the VPC's groups.
fn peer_node(map: &NetworkMap, peer: &RulePeer) -> Node {
    let (lines, id) = match peer {
        RulePeer::Cidr(c) if *c == map.cidr => (
            vec![format!("{c}"), "the VPC's own range".to_owned()],
            format!("cidr-{c}"),
        ),
        RulePeer::Cidr(c) => (vec![format!("address block {c}")], format!("cidr-{c}")),
        RulePeer::PrefixList(p) => (vec![format!("prefix list {p}")], p.clone()),
        RulePeer::Group(g) => (
            vec![format!("security group {g}"), "outside this VPC".to_owned()],
            g.clone(),
        ),
    };
    Node {
        id,
        lines,
        controls: Vec::new(),
        origin: Origin::Outside,
        shape: Shape::Party,
        rows: Vec::new(),
    }
}

/// A rule's arrow; `inside` when its far end is a group of the VPC (an
/// arrow in from outside is laid out upward).
fn rule_edge(r: &RuleFacts, peer: &str, origin: Origin, inside: bool) -> Edge {
    let mut lines = Vec::new();
    if origin == Origin::Foreign {
        lines.push("NOT THE STACK'S RULE".to_owned());
    }
    lines.push(format!(
        "{} {}",
        if r.egress { "out" } else { "in" },
        r.ports()
    ));
    lines.push(r.id.clone());
    let (from, to) = if r.egress {
        (r.group.clone(), peer.to_owned())
    } else {
        (peer.to_owned(), r.group.clone())
    };
    Edge {
        id: r.id.clone(),
        from,
        to,
        lines,
        controls: controls_of("security_group_rules"),
        origin,
        upward: !inside && !r.egress,
    }
}

/// The groups' box, the far ends outside the VPC, and one arrow per rule.
pub(super) fn groups_and_rules(inputs: &Inputs<'_>) -> (Cluster, Vec<Node>, Vec<Edge>) {
    let map = inputs.map;
    let mut outside: Vec<Node> = Vec::new();
    let mut edges = Vec::new();
    let groups = Cluster {
        id: "security-groups".to_owned(),
        lines: vec!["security groups".to_owned()],
        controls: Vec::new(),
        origin: Origin::Aws,
        nodes: map.groups.iter().map(|g| group_node(inputs, g)).collect(),
        clusters: Vec::new(),
        column: false,
    };
    let stack_rules = stack_rule_ids(inputs);
    let in_vpc: BTreeSet<&str> = map.groups.iter().map(|g| g.id.as_str()).collect();
    for r in &map.rules {
        let (peer_id, inside) = match &r.peer {
            RulePeer::Group(g) if in_vpc.contains(g.as_str()) => (g.clone(), true),
            other => {
                let n = peer_node(map, other);
                let id = n.id.clone();
                if !outside.iter().any(|o: &Node| o.id == id) {
                    outside.push(n);
                }
                (id, false)
            }
        };
        let origin = if stack_rules.contains(&r.id) {
            Origin::Paysec
        } else {
            Origin::Foreign
        };
        edges.push(rule_edge(r, &peer_id, origin, inside));
    }
    (groups, outside, edges)
}

//! The network diagram (PCI DSS 1.2.3), from live reads only: the VPC
//! with its range; each availability zone and its subnets (ranges, the
//! network ACL's rules summarised); what holds a network interface in each
//! subnet (the database's primary and standby, the function, the interface
//! endpoints); the route tables and the gateway endpoint; every security
//! group with every rule as an arrow; the DNS Firewall; and, in the legend,
//! what is absent and would matter, quoting the listing that showed it.
//! Whatever the reads find that paysec cannot prove it made is drawn too,
//! highlighted.

mod legend;
mod rules;
mod zones;

use std::collections::{BTreeMap, BTreeSet};

use paysec_network::map::NetworkMap;
use paysec_network::security_group::Rule;

use crate::placement::{Database, Function};
use crate::{controls_of, ours, tag, Cluster, Diagram, Edge, Kind, Node, Origin, Shape};

/// What the DNS Firewall's read (the survey's) showed.
#[derive(Clone, Debug)]
pub enum DnsFirewall {
    /// Associated with the VPC: the association's id and what its read
    /// quoted.
    Associated { id: String, read: String },
    /// The configuration does not build it: why, as `paysec_stack::left_out`
    /// says it ("not built: …").
    NotBuilt(String),
    /// Built, but its read did not answer here (with why).
    NotRead(String),
}

/// What the network diagram is drawn from.
pub struct Inputs<'a> {
    pub environment: &'a str,
    pub header: Vec<(String, String)>,
    pub map: &'a NetworkMap,
    pub database: Option<&'a Database>,
    pub function: Option<&'a Function>,
    /// Each resource's physical id, by logical id (the survey's).
    pub physical: &'a BTreeMap<String, String>,
    /// The flows the stack's groups allow (`paysec_stack::security_group_rules`).
    pub stack_rules: &'a [Rule],
    pub dns_firewall: DnsFirewall,
}

fn logical(tags: &[(String, String)]) -> Option<&str> {
    tag(tags, paysec_core::tags::LOGICAL_ID)
}

/// `name (logical id)` when the element carries paysec's logical id.
fn named(what: &str, tags: &[(String, String)]) -> String {
    match logical(tags) {
        Some(l) => format!("{what} ({l})"),
        None => what.to_owned(),
    }
}

const NOT_OURS: &str = "NOT MADE BY PAYSEC";

fn origin_of(tags: &[(String, String)], environment: &str) -> Origin {
    if ours(tags, environment) {
        Origin::Paysec
    } else {
        Origin::Foreign
    }
}

fn short_service(service: &str) -> &str {
    service.rsplit('.').next().unwrap_or(service)
}

/// What the VPC holds outside its subnets: route tables, the gateway
/// endpoint (with an arrow from each table routing to it), a network ACL
/// no subnet uses, an interface in no subnet of the VPC.
fn vpc_nodes(inputs: &Inputs<'_>, edges: &mut Vec<Edge>) -> Vec<Node> {
    let map = inputs.map;
    let env = inputs.environment;
    let mut vpc_nodes: Vec<Node> = Vec::new();
    // Route tables and gateway endpoints.
    for t in &map.route_tables {
        let origin = if ours(&t.tags, env) {
            Origin::Paysec
        } else if t.main {
            Origin::Aws
        } else {
            Origin::Foreign
        };
        let mut lines = Vec::new();
        if origin == Origin::Foreign {
            lines.push(NOT_OURS.to_owned());
        }
        lines.push(named(
            &format!("{}route table {}", if t.main { "main " } else { "" }, t.id),
            &t.tags,
        ));
        if !t.subnets.is_empty() {
            lines.push(format!("subnets {}", t.subnets.join(" ")));
        }
        for r in &t.routes {
            lines.push(format!("{} -> {}", r.destination, r.target));
        }
        vpc_nodes.push(Node {
            id: t.id.clone(),
            lines,
            controls: controls_of("route_table"),
            origin,
            shape: Shape::Box,
        });
    }
    for e in map
        .endpoints
        .iter()
        .filter(|e| e.endpoint_type.eq_ignore_ascii_case("gateway"))
    {
        let origin = origin_of(&e.tags, env);
        let mut lines = Vec::new();
        if origin == Origin::Foreign {
            lines.push(NOT_OURS.to_owned());
        }
        lines.push(named(
            &format!("gateway endpoint {} ({})", e.id, short_service(&e.service)),
            &e.tags,
        ));
        vpc_nodes.push(Node {
            id: e.id.clone(),
            lines,
            controls: controls_of("vpc_endpoint_gateway"),
            origin,
            shape: Shape::Box,
        });
        for t in &e.route_tables {
            edges.push(Edge {
                id: format!("{t}-{}", e.id),
                from: t.clone(),
                to: e.id.clone(),
                lines: vec![format!("route to {}", short_service(&e.service))],
                controls: Vec::new(),
                origin,
            });
        }
    }
    // The default network ACL, when no subnet uses it (else it is in the
    // subnets' boxes).
    for a in map.acls.iter().filter(|a| a.subnets.is_empty()) {
        let origin = if a.default {
            Origin::Aws
        } else {
            origin_of(&a.tags, env)
        };
        let mut lines = Vec::new();
        if origin == Origin::Foreign {
            lines.push(NOT_OURS.to_owned());
        }
        lines.push(named(
            &format!(
                "{}network ACL {} (no subnet)",
                if a.default { "default " } else { "" },
                a.id
            ),
            &a.tags,
        ));
        vpc_nodes.push(Node {
            id: a.id.clone(),
            lines,
            controls: if a.default {
                controls_of("vpc_defaults")
                    .into_iter()
                    .filter(|c| *c == "NET-9")
                    .collect()
            } else {
                controls_of("network_acl")
            },
            origin,
            shape: Shape::Box,
        });
    }
    // Interfaces the VPC lists in no subnet it has (should not happen).
    let subnets: BTreeSet<&str> = map.subnets.iter().map(|s| s.id.as_str()).collect();
    for i in map
        .interfaces
        .iter()
        .filter(|i| !subnets.contains(i.subnet.as_str()))
    {
        vpc_nodes.push(Node {
            id: i.id.clone(),
            lines: vec![
                NOT_OURS.to_owned(),
                format!("network interface {} in {}", i.id, i.subnet),
            ],
            controls: Vec::new(),
            origin: Origin::Foreign,
            shape: Shape::Box,
        });
    }

    vpc_nodes
}

/// Draws the network.
pub fn diagram(inputs: &Inputs<'_>) -> Diagram {
    let map = inputs.map;
    let (groups_cluster, outside, mut edges) = rules::groups_and_rules(inputs);
    let mut vpc_nodes = vpc_nodes(inputs, &mut edges);
    let legend = legend::legend(inputs, &mut vpc_nodes);
    // The zones side by side on top; under them the groups with their
    // rules, and the route tables and what else the VPC holds.
    let zones = zones::zones(inputs);
    let bottoms: Vec<String> = zones
        .iter()
        .flat_map(|z| &z.clusters)
        .filter_map(|s| s.nodes.last().map(|n| n.id.clone()))
        .collect();
    let mut above = Vec::new();
    for bottom in &bottoms {
        for below in groups_cluster.nodes.iter().chain(vpc_nodes.first()) {
            above.push((bottom.clone(), below.id.clone()));
        }
    }
    let vpc_origin = origin_of(&map.vpc_tags, inputs.environment);
    let vpc = Cluster {
        id: map.vpc_id.clone(),
        lines: vec![named(
            &format!("VPC {} {}", map.vpc_id, map.cidr),
            &map.vpc_tags,
        )],
        controls: controls_of("vpc"),
        origin: vpc_origin,
        nodes: vpc_nodes,
        clusters: zones
            .into_iter()
            .chain(std::iter::once(groups_cluster))
            .collect(),
        column: true,
    };
    Diagram {
        kind: Kind::Network,
        header: inputs.header.clone(),
        nodes: outside,
        clusters: vec![vpc],
        edges,
        legend,
        above,
    }
}

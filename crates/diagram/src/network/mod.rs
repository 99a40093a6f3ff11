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
use crate::{controls_of, ours, tag, Cluster, Diagram, Kind, Node, Origin, Row, Shape};

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

/// What routes and filters for the whole VPC, one node with a row each:
/// the route tables (every route), the gateway endpoints, a network ACL
/// no subnet uses. Beside the zones, it costs the page no height.
fn routing(inputs: &Inputs<'_>) -> Node {
    let map = inputs.map;
    let env = inputs.environment;
    let mut rows: Vec<Row> = Vec::new();
    let foreign_first = |origin: Origin, mut lines: Vec<String>| {
        if origin == Origin::Foreign {
            lines.insert(0, NOT_OURS.to_owned());
        }
        lines
    };
    for t in &map.route_tables {
        let origin = if ours(&t.tags, env) {
            Origin::Paysec
        } else if t.main {
            Origin::Aws
        } else {
            Origin::Foreign
        };
        let mut lines = vec![named(
            &format!("{}route table {}", if t.main { "main " } else { "" }, t.id),
            &t.tags,
        )];
        lines.extend(t.subnets.iter().map(|s| format!("for subnet {s}")));
        lines.extend(
            t.routes
                .iter()
                .map(|r| format!("route {} -> {}", r.destination, r.target)),
        );
        rows.push(Row {
            id: t.id.clone(),
            lines: foreign_first(origin, lines),
            controls: controls_of("route_table"),
            origin,
        });
    }
    for e in map
        .endpoints
        .iter()
        .filter(|e| e.endpoint_type.eq_ignore_ascii_case("gateway"))
    {
        let origin = origin_of(&e.tags, env);
        let mut lines = vec![named(
            &format!("gateway endpoint {} ({})", e.id, short_service(&e.service)),
            &e.tags,
        )];
        lines.extend(e.route_tables.iter().map(|t| format!("routed to by {t}")));
        rows.push(Row {
            id: e.id.clone(),
            lines: foreign_first(origin, lines),
            controls: controls_of("vpc_endpoint_gateway"),
            origin,
        });
    }
    // The default network ACL, when no subnet uses it (else it is in the
    // subnets' boxes).
    for a in map.acls.iter().filter(|a| a.subnets.is_empty()) {
        let origin = if a.default {
            Origin::Aws
        } else {
            origin_of(&a.tags, env)
        };
        let lines = vec![named(
            &format!(
                "{}network ACL {} (no subnet)",
                if a.default { "default " } else { "" },
                a.id
            ),
            &a.tags,
        )];
        rows.push(Row {
            id: a.id.clone(),
            lines: foreign_first(origin, lines),
            controls: if a.default {
                controls_of("vpc_defaults")
                    .into_iter()
                    .filter(|c| *c == "NET-9")
                    .collect()
            } else {
                controls_of("network_acl")
            },
            origin,
        });
    }
    Node {
        id: format!("routing-{}", map.vpc_id),
        lines: vec!["routes and network ACLs of the VPC".to_owned()],
        controls: Vec::new(),
        origin: Origin::Aws,
        shape: Shape::Box,
        rows,
    }
}

/// Interfaces the VPC lists in no subnet it has (should not happen).
fn stray_interfaces(map: &NetworkMap) -> Vec<Node> {
    let subnets: BTreeSet<&str> = map.subnets.iter().map(|s| s.id.as_str()).collect();
    map.interfaces
        .iter()
        .filter(|i| !subnets.contains(i.subnet.as_str()))
        .map(|i| Node {
            id: i.id.clone(),
            lines: vec![
                NOT_OURS.to_owned(),
                format!("network interface {} in {}", i.id, i.subnet),
            ],
            controls: Vec::new(),
            origin: Origin::Foreign,
            shape: Shape::Box,
            rows: Vec::new(),
        })
        .collect()
}

/// Draws the network.
pub fn diagram(inputs: &Inputs<'_>) -> Diagram {
    let map = inputs.map;
    let (groups_cluster, outside, edges) = rules::groups_and_rules(inputs);
    let mut vpc_nodes = vec![routing(inputs)];
    vpc_nodes.extend(stray_interfaces(map));
    let legend = legend::legend(inputs, &mut vpc_nodes);
    // The zones and the routing side by side on top; under them the groups
    // with their rules; under those (the arrows in from them laid out
    // upward) the blocks outside the VPC that rules name. A4 landscape is
    // wide, not tall: the page's height runs out first.
    let zones = zones::zones(inputs);
    let mut above = Vec::new();
    let tops: Vec<&Node> = zones
        .iter()
        .flat_map(|z| &z.nodes)
        .chain(&vpc_nodes)
        .collect();
    for top in &tops {
        for below in &groups_cluster.nodes {
            above.push((top.id.clone(), below.id.clone()));
        }
    }
    // Below every group, not beside the VPC at the lower groups' height.
    for group in &groups_cluster.nodes {
        for block in &outside {
            above.push((group.id.clone(), block.id.clone()));
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
        column: false,
    };
    Diagram {
        kind: Kind::Network,
        header: inputs.header.clone(),
        nodes: outside,
        clusters: vec![vpc],
        edges,
        legend,
        above,
        level: Vec::new(),
    }
}

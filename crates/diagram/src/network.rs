//! The network diagram (PCI DSS 1.2.3), from live reads only: the VPC
//! with its range; each availability zone and its subnets (ranges, the
//! network ACL's rules summarised); what holds a network interface in each
//! subnet (the database's primary and standby, the function, the interface
//! endpoints); the route tables and the gateway endpoint; every security
//! group with every rule as an arrow; the DNS Firewall; and, in the legend,
//! what is absent and would matter, quoting the listing that showed it.
//! Whatever the reads find that paysec cannot prove it made is drawn too,
//! highlighted.

use std::collections::{BTreeMap, BTreeSet};

use paysec_network::map::{InterfaceFacts, NetworkMap, RuleFacts, RulePeer};
use paysec_network::security_group::{Peer, Rule};

use crate::placement::{Database, Function};
use crate::{controls_of, ours, tag, Cluster, Diagram, Edge, Kind, Node, Origin, Shape};

/// What the DNS Firewall's read (the survey's) showed.
#[derive(Clone, Debug)]
pub enum DnsFirewall {
    /// Associated with the VPC: the association's id and what its read
    /// quoted.
    Associated { id: String, read: String },
    /// The configuration does not build it (with why).
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

/// Whose interface this is: the endpoint holding it, the function, the
/// database, or nobody paysec knows.
enum Holder {
    Endpoint,
    Function,
    Database,
    Unknown,
}

fn holder(inputs: &Inputs<'_>, eni: &InterfaceFacts) -> Holder {
    if inputs
        .map
        .endpoints
        .iter()
        .any(|e| e.interfaces.contains(&eni.id))
    {
        return Holder::Endpoint;
    }
    if let Some(f) = inputs.function {
        // Lambda's interfaces: typed `lambda` and described `AWS Lambda VPC
        // ENI-…` (EC2 user guide, requester-managed interfaces). One is
        // shared by the functions of a subnet and group set and named
        // after the first, so the function's groups decide, not the name.
        let lambdas =
            eni.interface_type == "lambda" || eni.description.starts_with("AWS Lambda VPC ENI");
        if lambdas && eni.groups.iter().any(|g| f.groups.contains(g)) {
            return Holder::Function;
        }
    }
    if let Some(db) = inputs.database {
        if eni.description == "RDSNetworkInterface"
            && eni.groups.iter().any(|g| db.groups.contains(g))
        {
            return Holder::Database;
        }
    }
    Holder::Unknown
}

fn short_service(service: &str) -> &str {
    service.rsplit('.').next().unwrap_or(service)
}

/// The nodes in one subnet.
fn subnet_nodes(inputs: &Inputs<'_>, subnet: &str, zone: &str) -> Vec<Node> {
    let env = inputs.environment;
    let mut nodes = Vec::new();
    let here: Vec<&InterfaceFacts> = inputs
        .map
        .interfaces
        .iter()
        .filter(|e| e.subnet == subnet)
        .collect();
    // Interface endpoints: one element per endpoint and subnet, named by
    // its interface when the VPC lists one.
    for e in inputs.map.endpoints.iter().filter(|e| {
        e.endpoint_type.eq_ignore_ascii_case("interface") && e.subnets.iter().any(|s| s == subnet)
    }) {
        let eni = here.iter().find(|i| e.interfaces.contains(&i.id));
        let origin = origin_of(&e.tags, env);
        let mut lines = Vec::new();
        if origin == Origin::Foreign {
            lines.push(NOT_OURS.to_owned());
        }
        lines.push(format!("{} ({})", e.id, short_service(&e.service)));
        lines.push(match eni {
            Some(i) => format!("{} {}", i.id, i.private_ip),
            None => "no interface listed in this subnet".to_owned(),
        });
        nodes.push(Node {
            id: eni.map_or_else(|| format!("{}@{subnet}", e.id), |i| i.id.clone()),
            lines,
            controls: controls_of("vpc_endpoint_interface"),
            origin,
            shape: Shape::Box,
        });
    }
    if let Some(db) = inputs.database {
        let in_group = db.subnets.iter().any(|(s, _)| s == subnet);
        let interfaces: Vec<&str> = here
            .iter()
            .filter(|i| matches!(holder(inputs, i), Holder::Database))
            .map(|i| i.id.as_str())
            .collect();
        for (role, role_zone) in [
            ("primary", Some(db.zone.as_str())),
            ("standby", db.standby_zone.as_deref()),
        ] {
            if in_group && role_zone == Some(zone) {
                let mut lines = vec![
                    format!("database {role}"),
                    format!("{} port {}", db.identifier, db.port),
                ];
                if !interfaces.is_empty() {
                    lines.push(interfaces.join(" "));
                }
                nodes.push(Node {
                    id: format!("{}@{role}", db.identifier),
                    lines,
                    controls: controls_of("db_instance"),
                    origin: Origin::Paysec,
                    shape: Shape::Store,
                });
            }
        }
    }
    if let Some(f) = inputs
        .function
        .filter(|f| f.subnets.iter().any(|s| s == subnet))
    {
        let interfaces: Vec<&str> = here
            .iter()
            .filter(|i| matches!(holder(inputs, i), Holder::Function))
            .map(|i| i.id.as_str())
            .collect();
        nodes.push(Node {
            id: format!("{}@{subnet}", f.name),
            lines: vec![
                format!("function {}", f.name),
                if interfaces.is_empty() {
                    "no interface listed (Lambda makes them on demand)".to_owned()
                } else {
                    interfaces.join(" ")
                },
            ],
            controls: controls_of("lambda_function"),
            origin: Origin::Paysec,
            shape: Shape::Box,
        });
    }
    for i in here {
        if matches!(holder(inputs, i), Holder::Unknown) {
            let mut lines = vec![
                NOT_OURS.to_owned(),
                format!("network interface {} {}", i.id, i.private_ip),
                format!("type {}", i.interface_type),
            ];
            if !i.description.is_empty() {
                lines.push(i.description.clone());
            }
            if !i.public_ips.is_empty() {
                lines.push(format!("public IP {}", i.public_ips.join(", ")));
            }
            nodes.push(Node {
                id: i.id.clone(),
                lines,
                controls: controls_of("vpc")
                    .into_iter()
                    .filter(|c| *c == "NET-24")
                    .collect(),
                origin: Origin::Foreign,
                shape: Shape::Box,
            });
        }
    }
    nodes
}

/// The zones, each with its subnets, each with what sits in it.
fn zones(inputs: &Inputs<'_>) -> Vec<Cluster> {
    let env = inputs.environment;
    let mut by_zone: BTreeMap<&str, Vec<Cluster>> = BTreeMap::new();
    for s in &inputs.map.subnets {
        let origin = origin_of(&s.tags, env);
        let mut lines = Vec::new();
        if origin == Origin::Foreign {
            lines.push(NOT_OURS.to_owned());
        }
        lines.push(named(&format!("subnet {} {}", s.id, s.cidr), &s.tags));
        let mut controls = controls_of("subnet");
        if let Some(acl) = inputs.map.acls.iter().find(|a| a.subnets.contains(&s.id)) {
            let summary = |egress: bool| {
                acl.entries
                    .iter()
                    .filter(|e| e.egress == egress)
                    .map(|e| e.summary())
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            lines.push(format!(
                "{} {}{}",
                if acl.default { "default ACL" } else { "ACL" },
                acl.id,
                logical(&acl.tags)
                    .map(|l| format!(" ({l})"))
                    .unwrap_or_default()
            ));
            lines.push(format!("in: {}", summary(false)));
            lines.push(format!("out: {}", summary(true)));
            controls.extend(controls_of("network_acl"));
        }
        by_zone.entry(&s.zone).or_default().push(Cluster {
            id: s.id.clone(),
            lines,
            controls,
            origin,
            nodes: subnet_nodes(inputs, &s.id, &s.zone),
            clusters: Vec::new(),
            column: true,
        });
    }
    by_zone
        .into_iter()
        .map(|(zone, subnets)| Cluster {
            id: format!("zone-{zone}"),
            lines: vec![format!("availability zone {zone}")],
            controls: Vec::new(),
            origin: Origin::Aws,
            nodes: Vec::new(),
            clusters: subnets,
            column: false,
        })
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
    lines.push(named(&format!("security group {}", g.name), &g.tags));
    lines.push(g.id.clone());
    Node {
        id: g.id.clone(),
        lines,
        controls,
        origin,
        shape: Shape::Group,
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
    }
}

fn rule_edge(r: &RuleFacts, peer: &str, origin: Origin) -> Edge {
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
    }
}

/// What the boundary listings are about, for the legend.
fn boundary_subject(operation: &str) -> &'static str {
    match operation {
        "DescribeInternetGateways" => "internet gateway",
        "DescribeEgressOnlyInternetGateways" => "egress-only internet gateway",
        "DescribeNatGateways" => "NAT gateway",
        "DescribeVpnGateways" => "virtual private gateway",
        "DescribeVpcPeeringConnections" => "VPC peering connection",
        "DescribeTransitGatewayVpcAttachments" => "transit gateway attachment",
        _ => "connection",
    }
}

/// Draws the network.
pub fn diagram(inputs: &Inputs<'_>) -> Diagram {
    let map = inputs.map;
    let env = inputs.environment;
    let mut legend = Vec::new();
    let mut vpc_nodes: Vec<Node> = Vec::new();
    let mut outside: Vec<Node> = Vec::new();
    let mut edges = Vec::new();

    // Security groups and their rules.
    let groups_cluster = Cluster {
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
        let peer_id = match &r.peer {
            RulePeer::Group(g) if in_vpc.contains(g.as_str()) => g.clone(),
            other => {
                let n = peer_node(map, other);
                let id = n.id.clone();
                if !outside.iter().any(|o: &Node| o.id == id) {
                    outside.push(n);
                }
                id
            }
        };
        let origin = if stack_rules.contains(&r.id) {
            Origin::Paysec
        } else {
            Origin::Foreign
        };
        edges.push(rule_edge(r, &peer_id, origin));
    }

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

    match &inputs.dns_firewall {
        DnsFirewall::Associated { id, read } => vpc_nodes.push(Node {
            id: id.clone(),
            lines: vec![format!("DNS Firewall {id}"), read.clone()],
            controls: [
                controls_of("dns_rule_group_assoc"),
                controls_of("dns_rule_group"),
            ]
            .concat(),
            origin: Origin::Paysec,
            shape: Shape::Box,
        }),
        DnsFirewall::NotBuilt(why) => legend.push(format!("DNS Firewall: not built ({why})")),
        DnsFirewall::NotRead(why) => legend.push(format!("DNS Firewall: not read here ({why})")),
    }

    // The boundary: absent things quoted, present ones drawn.
    for read in &map.boundary {
        let subject = boundary_subject(read.operation);
        if read.found.is_empty() {
            legend.push(format!(
                "no {subject}: {} ({}) answered none",
                read.operation, read.asked
            ));
        }
        for found in &read.found {
            let id = found.split(' ').next().unwrap_or(found).to_owned();
            vpc_nodes.push(Node {
                id,
                lines: vec![NOT_OURS.to_owned(), found.clone()],
                controls: controls_of("vpc")
                    .into_iter()
                    .filter(|c| matches!(*c, "NET-21" | "NET-22"))
                    .collect(),
                origin: Origin::Foreign,
                shape: Shape::Box,
            });
        }
    }
    let leaving: Vec<String> = map
        .route_tables
        .iter()
        .flat_map(|t| {
            t.routes
                .iter()
                .filter(|r| {
                    r.state != "blackhole"
                        && r.target != "local"
                        && !(r.target.starts_with("vpce-") && r.destination.starts_with("pl-"))
                })
                .map(move |r| format!("{}: {} -> {}", t.id, r.destination, r.target))
        })
        .collect();
    if leaving.is_empty() {
        legend.push(format!(
            "no route leaves the VPC: DescribeRouteTables (vpc-id={}) lists {} tables, every route local or to a gateway endpoint",
            map.vpc_id,
            map.route_tables.len()
        ));
    } else {
        legend.push(format!("ROUTES LEAVING THE VPC: {}", leaving.join("; ")));
    }
    let public: Vec<String> = map
        .interfaces
        .iter()
        .filter(|i| !i.public_ips.is_empty())
        .map(|i| format!("{} ({})", i.id, i.public_ips.join(", ")))
        .collect();
    if public.is_empty() {
        legend.push(format!(
            "no public IP: DescribeNetworkInterfaces (vpc-id={}) lists {} interfaces, none with one",
            map.vpc_id,
            map.interfaces.len()
        ));
    } else {
        legend.push(format!("PUBLIC IPS: {}", public.join("; ")));
    }
    if let Some(db) = inputs.database {
        if db.multi_az && db.standby_zone.is_none() {
            legend.push(format!(
                "database {}: Multi-AZ, but RDS named no standby zone (SecondaryAvailabilityZone), so the standby is not drawn",
                db.identifier
            ));
        }
    }
    legend.push(
        "green: made by paysec (tagged with this environment); grey: made by AWS; red: NOT made by paysec, or a rule the stack does not define".to_owned(),
    );

    // The zones side by side on top; under them the groups with their
    // rules, and the route tables and what else the VPC holds.
    let zones = zones(inputs);
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
    let vpc_origin = origin_of(&map.vpc_tags, env);
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

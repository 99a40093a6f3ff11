//! The availability zones, each with its subnets (range, network ACL
//! rules), each with what holds a network interface in it: the interface
//! endpoints, the function, the database's primary and standby, and any
//! interface none of them holds (drawn as not paysec's).

use std::collections::BTreeMap;

use paysec_network::map::InterfaceFacts;

use super::{logical, named, origin_of, short_service, Inputs, NOT_OURS};
use crate::{controls_of, Cluster, Node, Origin, Row, Shape};

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

/// What holds an interface in one subnet, a row each.
fn subnet_rows(inputs: &Inputs<'_>, subnet: &str, zone: &str) -> Vec<Row> {
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
        nodes.push(Row {
            id: eni.map_or_else(|| format!("{}@{subnet}", e.id), |i| i.id.clone()),
            lines,
            controls: controls_of("vpc_endpoint_interface"),
            origin,
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
                nodes.push(Row {
                    id: format!("{}@{role}", db.identifier),
                    lines,
                    controls: controls_of("db_instance"),
                    origin: Origin::Paysec,
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
        nodes.push(Row {
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
            nodes.push(Row {
                id: i.id.clone(),
                lines,
                controls: controls_of("vpc")
                    .into_iter()
                    .filter(|c| *c == "NET-24")
                    .collect(),
                origin: Origin::Foreign,
            });
        }
    }
    nodes
}

/// The zones, each with its subnets, each with what sits in it.
pub(super) fn zones(inputs: &Inputs<'_>) -> Vec<Cluster> {
    let env = inputs.environment;
    let mut by_zone: BTreeMap<&str, Vec<Node>> = BTreeMap::new();
    for s in &inputs.map.subnets {
        let origin = origin_of(&s.tags, env);
        let mut lines = Vec::new();
        if origin == Origin::Foreign {
            lines.push(NOT_OURS.to_owned());
        }
        lines.push(named(&format!("subnet {}", s.id), &s.tags));
        lines.push(format!("{} in {}", s.cidr, s.zone));
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
        by_zone.entry(&s.zone).or_default().push(Node {
            id: s.id.clone(),
            lines,
            controls,
            origin,
            shape: Shape::Box,
            rows: subnet_rows(inputs, &s.id, &s.zone),
        });
    }
    by_zone
        .into_iter()
        .map(|(zone, subnets)| Cluster {
            id: format!("zone-{zone}"),
            lines: vec![format!("availability zone {zone}")],
            controls: Vec::new(),
            origin: Origin::Aws,
            nodes: subnets,
            clusters: Vec::new(),
            column: false,
        })
        .collect()
}

//! The legend: what is absent and would matter, each quoting the listing
//! that showed it (gateways, peering, transit gateways, routes out, public
//! addresses), what could not be read here, and the colours; what the
//! boundary listings did find is drawn instead, as not paysec's.

use super::{DnsFirewall, Inputs, NOT_OURS};
use crate::{controls_of, Node, Origin, Shape};

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

/// The legend's lines; the DNS Firewall and whatever crosses the boundary
/// go into `vpc_nodes`.
pub(super) fn legend(inputs: &Inputs<'_>, vpc_nodes: &mut Vec<Node>) -> Vec<String> {
    let map = inputs.map;
    let mut legend = Vec::new();
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
            rows: Vec::new(),
        }),
        DnsFirewall::NotBuilt(why) => legend.push(format!("DNS Firewall: {why}")),
        DnsFirewall::NotRead(why) => legend.push(format!("DNS Firewall: not read here ({why})")),
    }

    // The boundary: absent things quoted, present ones drawn.
    for read in &map.boundary {
        let subject = boundary_subject(read.operation);
        if read.found.is_empty() {
            legend.push(format!("no {subject}: {} found none", read.operation));
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
                rows: Vec::new(),
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
            "no route leaves the VPC: DescribeRouteTables lists {} tables, every route local or to a gateway endpoint",
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
            "no public IP: DescribeNetworkInterfaces lists {} interfaces, none with one",
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
    legend.push(format!(
        "every listing filtered on vpc-id={} (the gateways' on their attachments)",
        map.vpc_id
    ));
    legend
        .push("green: made by paysec (tagged with this environment); grey: made by AWS".to_owned());
    legend.push("red: NOT made by paysec, or a rule the stack does not define".to_owned());

    legend
}

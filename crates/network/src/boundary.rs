//! The VPC's whole boundary, read from every side rather than from paysec's
//! own resources: which gateways are attached to it, which other networks
//! connect to it, where every route table in it leads, and which network
//! interfaces in it have a public address. paysec builds none of these; one
//! found here was added by someone else and breaks the segmentation the
//! stack exists for (PCI DSS 1.3, 1.4). `up` does not delete it (paysec
//! deletes only what it can prove it made): it stops and names it.

use aws_sdk_ec2::types::{Filter, Route};
use paysec_aws::AwsResultExt;
use paysec_core::resource::Checks;
use paysec_core::{LogicalId, Property, ResourceError};

use crate::ec2::filter;

/// The properties the boundary is recorded as (the VPC's own), one per
/// side read.
pub(crate) struct Sides<P> {
    pub gateways: P,
    pub connections: P,
    pub route_tables: P,
    pub public_interfaces: P,
}

/// Reads the boundary of `vpc_id` into `checks`: each property is "none"
/// when clean, else the offending ids with what they are.
pub(crate) async fn check<P: Property>(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    vpc_id: &str,
    checks: &mut Checks,
    sides: Sides<P>,
) -> Result<(), ResourceError> {
    // Independent listings: read at once, so the VPC's read (at the root
    // of the graph) takes one round trip longer, not nine.
    let (gateways, connections, (tables, leaving), (count, public)) = tokio::try_join!(
        gateways(aws, id, vpc_id),
        connections(aws, id, vpc_id),
        route_tables(aws, id, vpc_id),
        public_interfaces(aws, id, vpc_id),
    )?;
    let (gateways, connections) = (found(gateways), found(connections));
    checks.check(
        sides.gateways,
        gateways.is_empty(),
        "none",
        listed(&gateways),
    );
    checks.check(
        sides.connections,
        connections.is_empty(),
        "none",
        listed(&connections),
    );
    let actual = if leaving.is_empty() {
        format!(
            "{} route tables, every route local or to a VPC endpoint: {}",
            tables.len(),
            tables.join("; ")
        )
    } else {
        leaving.join("; ")
    };
    checks.check(
        sides.route_tables,
        leaving.is_empty(),
        "every route local or to a VPC endpoint",
        actual,
    );
    let actual = if public.is_empty() {
        format!("{count} network interfaces, none with a public IP")
    } else {
        public.join("; ")
    };
    checks.check(
        sides.public_interfaces,
        public.is_empty(),
        "none with a public IP",
        actual,
    );
    Ok(())
}

/// Why `up` cannot repair a boundary drift: what to do instead.
pub(crate) fn refusal(id: &LogicalId, what: &str, found: &str) -> ResourceError {
    ResourceError::unexpected(
        id,
        format!(
            "{what} ({found}); paysec did not create it and does not delete what it cannot prove it made: remove it (the EC2 console, or `aws ec2` detach/delete), then run `paysec up` again"
        ),
    )
}

/// One listing of the boundary: the operation, what it asked for, and the
/// offending things it found (none when clean). The network diagram quotes
/// a clean one as the proof that something is absent.
#[derive(Clone, Debug)]
pub struct BoundaryRead {
    pub operation: &'static str,
    pub asked: String,
    pub found: Vec<String>,
}

impl BoundaryRead {
    fn new(operation: &'static str, filter: &str, vpc_id: &str, found: Vec<String>) -> Self {
        Self {
            operation,
            asked: format!("{filter}={vpc_id}"),
            found,
        }
    }
}

fn found(reads: Vec<BoundaryRead>) -> Vec<String> {
    reads.into_iter().flat_map(|r| r.found).collect()
}

/// The gateways and connections of `vpc_id`, one entry per listing: what
/// the network diagram draws, or quotes as absent.
pub(crate) async fn reads(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    vpc_id: &str,
) -> Result<Vec<BoundaryRead>, ResourceError> {
    let (gateways, connections) =
        tokio::try_join!(gateways(aws, id, vpc_id), connections(aws, id, vpc_id))?;
    Ok([gateways, connections].concat())
}

fn listed(found: &[String]) -> String {
    if found.is_empty() {
        "none".to_owned()
    } else {
        found.join(", ")
    }
}

fn vpc_filter(name: &str, vpc_id: &str) -> Filter {
    filter(name, vpc_id)
}

/// Internet, egress-only internet, NAT and virtual private gateways on the
/// VPC (NAT gateways being deleted or failed are gone for routing).
async fn gateways(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    vpc_id: &str,
) -> Result<Vec<BoundaryRead>, ResourceError> {
    let internet = async {
        let mut found = Vec::new();
        let mut pages = aws
            .ec2
            .describe_internet_gateways()
            .filters(vpc_filter("attachment.vpc-id", vpc_id))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.or_resource(id, "DescribeInternetGateways")?;
            for g in page.internet_gateways() {
                if g.attachments().iter().any(|a| a.vpc_id() == Some(vpc_id)) {
                    found.push(format!(
                        "{} (internet gateway)",
                        g.internet_gateway_id().unwrap_or("?")
                    ));
                }
            }
        }
        Ok::<_, ResourceError>(BoundaryRead::new(
            "DescribeInternetGateways",
            "attachment.vpc-id",
            vpc_id,
            found,
        ))
    };
    // No VPC filter for egress-only gateways: filtered on their attachments.
    let egress_only = async {
        let mut found = Vec::new();
        let mut pages = aws
            .ec2
            .describe_egress_only_internet_gateways()
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.or_resource(id, "DescribeEgressOnlyInternetGateways")?;
            for g in page.egress_only_internet_gateways() {
                if g.attachments().iter().any(|a| a.vpc_id() == Some(vpc_id)) {
                    found.push(format!(
                        "{} (egress-only internet gateway)",
                        g.egress_only_internet_gateway_id().unwrap_or("?")
                    ));
                }
            }
        }
        Ok(BoundaryRead::new(
            "DescribeEgressOnlyInternetGateways",
            "all, matched on attachments.vpc-id",
            vpc_id,
            found,
        ))
    };
    let nat = async {
        let mut found = Vec::new();
        let mut pages = aws
            .ec2
            .describe_nat_gateways()
            .filter(vpc_filter("vpc-id", vpc_id))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.or_resource(id, "DescribeNatGateways")?;
            for g in page.nat_gateways() {
                let state = g.state().map(|s| s.as_str()).unwrap_or("?");
                if g.vpc_id() == Some(vpc_id) && !matches!(state, "deleted" | "failed") {
                    found.push(format!(
                        "{} (NAT gateway, {state})",
                        g.nat_gateway_id().unwrap_or("?")
                    ));
                }
            }
        }
        Ok(BoundaryRead::new(
            "DescribeNatGateways",
            "vpc-id",
            vpc_id,
            found,
        ))
    };
    // DescribeVpnGateways has no pagination.
    let vpn = async {
        let out = aws
            .ec2
            .describe_vpn_gateways()
            .filters(vpc_filter("attachment.vpc-id", vpc_id))
            .send()
            .await
            .or_resource(id, "DescribeVpnGateways")?;
        let mut found = Vec::new();
        for g in out.vpn_gateways() {
            // A detached gateway keeps its attachment, in state `detached`.
            let gone = matches!(g.state().map(|s| s.as_str()), Some("deleted"));
            let attached = !gone
                && g.vpc_attachments().iter().any(|a| {
                    a.vpc_id() == Some(vpc_id)
                        && !matches!(a.state().map(|s| s.as_str()), Some("detached"))
                });
            if attached {
                found.push(format!(
                    "{} (virtual private gateway)",
                    g.vpn_gateway_id().unwrap_or("?")
                ));
            }
        }
        Ok(BoundaryRead::new(
            "DescribeVpnGateways",
            "attachment.vpc-id",
            vpc_id,
            found,
        ))
    };
    let (a, b, c, d) = tokio::try_join!(internet, egress_only, nat, vpn)?;
    Ok(vec![a, b, c, d])
}

/// Peering connections on either side of the VPC and transit gateway
/// attachments, unless they are over (deleted, rejected, failed, expired).
async fn connections(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    vpc_id: &str,
) -> Result<Vec<BoundaryRead>, ResourceError> {
    let mut found = Vec::new();
    for side in ["requester-vpc-info.vpc-id", "accepter-vpc-info.vpc-id"] {
        let mut pages = aws
            .ec2
            .describe_vpc_peering_connections()
            .filters(vpc_filter(side, vpc_id))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.or_resource(id, "DescribeVpcPeeringConnections")?;
            for p in page.vpc_peering_connections() {
                let status = p
                    .status()
                    .and_then(|s| s.code())
                    .map(|c| c.as_str())
                    .unwrap_or("?");
                let pcx = p.vpc_peering_connection_id().unwrap_or("?");
                // The filter is AWS's; checked here too (moto ignores it).
                let ours = [p.requester_vpc_info(), p.accepter_vpc_info()]
                    .iter()
                    .any(|side| side.and_then(|v| v.vpc_id()) == Some(vpc_id));
                let over = matches!(
                    status,
                    "deleted" | "deleting" | "rejected" | "failed" | "expired"
                );
                if ours && !over && !found.iter().any(|f: &String| f.starts_with(pcx)) {
                    found.push(format!("{pcx} (VPC peering, {status})"));
                }
            }
        }
    }
    let peering = BoundaryRead::new(
        "DescribeVpcPeeringConnections",
        "requester-vpc-info.vpc-id|accepter-vpc-info.vpc-id",
        vpc_id,
        std::mem::take(&mut found),
    );
    let mut pages = aws
        .ec2
        .describe_transit_gateway_vpc_attachments()
        .filters(vpc_filter("vpc-id", vpc_id))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.or_resource(id, "DescribeTransitGatewayVpcAttachments")?;
        for a in page.transit_gateway_vpc_attachments() {
            if a.vpc_id() != Some(vpc_id) {
                continue;
            }
            let state = a.state().map(|s| s.as_str()).unwrap_or("?");
            if !matches!(state, "deleted" | "deleting" | "failed" | "rejected") {
                found.push(format!(
                    "{} (transit gateway {} attachment, {state})",
                    a.transit_gateway_attachment_id().unwrap_or("?"),
                    a.transit_gateway_id().unwrap_or("?")
                ));
            }
        }
    }
    Ok(vec![
        peering,
        BoundaryRead::new(
            "DescribeTransitGatewayVpcAttachments",
            "vpc-id",
            vpc_id,
            found,
        ),
    ])
}

/// Every route table in the VPC (the main one included): each quoted with
/// its targets, and the routes that leave the VPC (anything but `local`
/// and a gateway endpoint).
async fn route_tables(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    vpc_id: &str,
) -> Result<(Vec<String>, Vec<String>), ResourceError> {
    let (mut tables, mut leaving) = (Vec::new(), Vec::new());
    let mut pages = aws
        .ec2
        .describe_route_tables()
        .filters(vpc_filter("vpc-id", vpc_id))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.or_resource(id, "DescribeRouteTables")?;
        for t in page.route_tables() {
            let rtb = t.route_table_id().unwrap_or("?");
            let targets: Vec<String> = t.routes().iter().map(target).collect();
            for (route, to) in t.routes().iter().zip(&targets) {
                // A blackhole route (its target deleted) carries nothing.
                let dead = route.state().map(|s| s.as_str()) == Some("blackhole");
                if !dead && !stays_inside(route, to) {
                    leaving.push(format!("{rtb}: {} -> {to}", destination(route)));
                }
            }
            tables.push(format!("{rtb}: {}", targets.join(", ")));
        }
    }
    Ok((tables, leaving))
}

pub(crate) fn destination(r: &Route) -> &str {
    r.destination_cidr_block()
        .or(r.destination_ipv6_cidr_block())
        .or(r.destination_prefix_list_id())
        .unwrap_or("?")
}

/// A route's target, as its id (`local` for the VPC's own range).
pub(crate) fn target(r: &Route) -> String {
    [
        r.gateway_id(),
        r.nat_gateway_id(),
        r.transit_gateway_id(),
        r.vpc_peering_connection_id(),
        r.network_interface_id(),
        r.instance_id(),
        r.egress_only_internet_gateway_id(),
        r.local_gateway_id(),
        r.carrier_gateway_id(),
        r.core_network_arn(),
    ]
    .into_iter()
    .flatten()
    .next()
    .unwrap_or("?")
    .to_owned()
}

/// `local` (the VPC itself), or a gateway endpoint: a `vpce-` target for
/// a service's prefix list (S3 here). A Gateway Load Balancer endpoint is a
/// `vpce-` target too, for a CIDR, and leads to another VPC's appliances.
fn stays_inside(route: &Route, target: &str) -> bool {
    target == "local"
        || (target.starts_with("vpce-") && route.destination_prefix_list_id().is_some())
}

/// Network interfaces in the VPC, and those with a public IP.
async fn public_interfaces(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    vpc_id: &str,
) -> Result<(usize, Vec<String>), ResourceError> {
    let (mut count, mut public) = (0, Vec::new());
    let mut pages = aws
        .ec2
        .describe_network_interfaces()
        .filters(vpc_filter("vpc-id", vpc_id))
        // Interfaces AWS manages (endpoints, Lambda) even where the
        // account hides them from listings.
        .include_managed_resources(true)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.or_resource(id, "DescribeNetworkInterfaces")?;
        for eni in page.network_interfaces() {
            count += 1;
            // The primary address's association, and each secondary's.
            let mut ips: Vec<&str> = eni
                .private_ip_addresses()
                .iter()
                .filter_map(|p| p.association().and_then(|a| a.public_ip()))
                .collect();
            if let Some(ip) = eni.association().and_then(|a| a.public_ip()) {
                if !ips.contains(&ip) {
                    ips.insert(0, ip);
                }
            }
            if !ips.is_empty() {
                public.push(format!(
                    "{} ({})",
                    eni.network_interface_id().unwrap_or("?"),
                    ips.join(", ")
                ));
            }
        }
    }
    Ok((count, public))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_and_gateway_endpoint_routes_stay_inside() {
        let cidr = Route::builder().destination_cidr_block("0.0.0.0/0").build();
        let s3 = Route::builder()
            .destination_prefix_list_id("pl-63a5400a")
            .build();
        assert!(stays_inside(&cidr, "local"));
        assert!(stays_inside(&s3, "vpce-0abc"), "the S3 gateway endpoint");
        assert!(
            !stays_inside(&cidr, "vpce-0abc"),
            "a Gateway Load Balancer endpoint"
        );
        for out in ["igw-1", "nat-1", "pcx-1", "tgw-1", "vgw-1", "eni-1", "?"] {
            assert!(!stays_inside(&cidr, out), "{out}");
        }
    }

    #[test]
    fn a_route_names_its_target_and_destination() {
        let r = Route::builder()
            .destination_cidr_block("0.0.0.0/0")
            .gateway_id("igw-9")
            .build();
        assert_eq!(
            (target(&r), destination(&r)),
            ("igw-9".to_owned(), "0.0.0.0/0")
        );
    }
}

//! The VPC as AWS reports it, for the network diagram (PCI DSS 1.2.3):
//! every subnet, security group and rule, network interface, endpoint,
//! route table and network ACL in it, and the boundary listings (gateways,
//! peering, transit gateways) with what each found. Plain data read from
//! the live VPC, paysec's or not: the diagram tells them apart by tag and
//! by the stack's own rules, not this module.

use aws_sdk_ec2::types::{NetworkAclEntry, Tag};
use paysec_aws::AwsResultExt;
use paysec_core::{LogicalId, ResourceError};

use crate::boundary::{self, BoundaryRead};
use crate::ec2::filter;

/// What one `Describe*` of the VPC returned, typed for drawing.
#[derive(Clone, Debug, Default)]
pub struct NetworkMap {
    pub vpc_id: String,
    pub cidr: String,
    pub vpc_tags: Vec<(String, String)>,
    pub subnets: Vec<SubnetFacts>,
    pub groups: Vec<GroupFacts>,
    pub rules: Vec<RuleFacts>,
    pub interfaces: Vec<InterfaceFacts>,
    pub endpoints: Vec<EndpointFacts>,
    pub route_tables: Vec<RouteTableFacts>,
    pub acls: Vec<AclFacts>,
    /// The gateway and connection listings, each with what it found.
    pub boundary: Vec<BoundaryRead>,
}

#[derive(Clone, Debug)]
pub struct SubnetFacts {
    pub id: String,
    pub cidr: String,
    pub zone: String,
    pub tags: Vec<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct GroupFacts {
    pub id: String,
    pub name: String,
    pub tags: Vec<(String, String)>,
}

/// Where a rule's traffic comes from (inbound) or goes to (outbound).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RulePeer {
    Group(String),
    Cidr(String),
    PrefixList(String),
}

impl RulePeer {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Group(s) | Self::Cidr(s) | Self::PrefixList(s) => s,
        }
    }
}

#[derive(Clone, Debug)]
pub struct RuleFacts {
    pub id: String,
    pub group: String,
    pub egress: bool,
    /// `tcp`, `udp`, `icmp` or `-1` (every protocol).
    pub protocol: String,
    pub from_port: i32,
    pub to_port: i32,
    pub peer: RulePeer,
}

impl RuleFacts {
    /// `tcp 5432`, `tcp 1024-65535`, `all traffic`: as a label.
    pub fn ports(&self) -> String {
        match (self.protocol.as_str(), self.from_port, self.to_port) {
            ("-1", _, _) => "all traffic".to_owned(),
            (p, -1, _) | (p, _, -1) => format!("{p} all ports"),
            (p, f, t) if f == t => format!("{p} {f}"),
            (p, f, t) => format!("{p} {f}-{t}"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct InterfaceFacts {
    pub id: String,
    pub subnet: String,
    pub zone: String,
    pub private_ip: String,
    /// `interface`, `lambda`, `vpc_endpoint`… as EC2 names it.
    pub interface_type: String,
    pub description: String,
    pub groups: Vec<String>,
    pub requester_managed: bool,
    pub public_ips: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct EndpointFacts {
    pub id: String,
    /// `Interface` or `Gateway`.
    pub endpoint_type: String,
    pub service: String,
    pub state: String,
    pub subnets: Vec<String>,
    pub groups: Vec<String>,
    pub interfaces: Vec<String>,
    pub route_tables: Vec<String>,
    pub tags: Vec<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct RouteFacts {
    pub destination: String,
    pub target: String,
    pub state: String,
}

#[derive(Clone, Debug)]
pub struct RouteTableFacts {
    pub id: String,
    pub main: bool,
    pub subnets: Vec<String>,
    pub routes: Vec<RouteFacts>,
    pub tags: Vec<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct AclEntryFacts {
    pub egress: bool,
    pub number: i32,
    pub allow: bool,
    pub protocol: String,
    pub cidr: String,
    pub ports: Option<(i32, i32)>,
}

impl AclEntryFacts {
    /// `100 allow tcp 443 10.0.0.0/16`, `* deny all 0.0.0.0/0`.
    pub fn summary(&self) -> String {
        let number = if self.number == 32767 {
            "*".to_owned()
        } else {
            self.number.to_string()
        };
        let protocol = match self.protocol.as_str() {
            "-1" => "all",
            "6" => "tcp",
            "17" => "udp",
            "1" => "icmp",
            other => other,
        };
        let ports = match self.ports {
            Some((f, t)) if f == t => format!(" {f}"),
            Some((f, t)) => format!(" {f}-{t}"),
            None => String::new(),
        };
        format!(
            "{number} {} {protocol}{ports} {}",
            if self.allow { "allow" } else { "deny" },
            self.cidr
        )
    }
}

#[derive(Clone, Debug)]
pub struct AclFacts {
    pub id: String,
    pub default: bool,
    pub subnets: Vec<String>,
    pub entries: Vec<AclEntryFacts>,
    pub tags: Vec<(String, String)>,
}

fn tags(t: &[Tag]) -> Vec<(String, String)> {
    t.iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn owned(s: Option<&str>) -> String {
    s.unwrap_or_default().to_owned()
}

/// Reads `vpc_id` whole. `id` names the VPC's resource in errors (a
/// refused read names its statement through it).
pub async fn read(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    vpc_id: &str,
) -> Result<NetworkMap, ResourceError> {
    // Independent listings: read at once.
    let (vpc, subnets, groups, interfaces, endpoints, (route_tables, acls), boundary) = tokio::try_join!(
        vpc(aws, id, vpc_id),
        subnets(aws, id, vpc_id),
        groups(aws, id, vpc_id),
        interfaces(aws, id, vpc_id),
        endpoints(aws, id, vpc_id),
        async { tokio::try_join!(route_tables(aws, id, vpc_id), acls(aws, id, vpc_id)) },
        boundary::reads(aws, id, vpc_id),
    )?;
    let group_ids: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
    let rules = rules(aws, id, group_ids).await?;
    let (cidr, vpc_tags) = vpc;
    Ok(NetworkMap {
        vpc_id: vpc_id.to_owned(),
        cidr,
        vpc_tags,
        subnets,
        groups,
        rules,
        interfaces,
        endpoints,
        route_tables,
        acls,
        boundary,
    })
}

/// IAM: ec2:DescribeVpcs.
async fn vpc(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    vpc_id: &str,
) -> Result<(String, Vec<(String, String)>), ResourceError> {
    let out = aws
        .ec2
        .describe_vpcs()
        .vpc_ids(vpc_id)
        .send()
        .await
        .or_resource(id, "DescribeVpcs")?;
    let v = out.vpcs().first();
    Ok((
        owned(v.and_then(|v| v.cidr_block())),
        v.map(|v| tags(v.tags())).unwrap_or_default(),
    ))
}

/// IAM: ec2:DescribeSubnets.
async fn subnets(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    vpc_id: &str,
) -> Result<Vec<SubnetFacts>, ResourceError> {
    let mut found = Vec::new();
    let mut pages = aws
        .ec2
        .describe_subnets()
        .filters(filter("vpc-id", vpc_id))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for s in page.or_resource(id, "DescribeSubnets")?.subnets() {
            found.push(SubnetFacts {
                id: owned(s.subnet_id()),
                cidr: owned(s.cidr_block()),
                zone: owned(s.availability_zone()),
                tags: tags(s.tags()),
            });
        }
    }
    found.sort_by(|a, b| (&a.zone, &a.cidr).cmp(&(&b.zone, &b.cidr)));
    Ok(found)
}

/// IAM: ec2:DescribeSecurityGroups.
async fn groups(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    vpc_id: &str,
) -> Result<Vec<GroupFacts>, ResourceError> {
    let mut found = Vec::new();
    let mut pages = aws
        .ec2
        .describe_security_groups()
        .filters(filter("vpc-id", vpc_id))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for g in page
            .or_resource(id, "DescribeSecurityGroups")?
            .security_groups()
        {
            // The filter is AWS's; checked here too.
            if g.vpc_id() != Some(vpc_id) {
                continue;
            }
            found.push(GroupFacts {
                id: owned(g.group_id()),
                name: owned(g.group_name()),
                tags: tags(g.tags()),
            });
        }
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(found)
}

/// Every rule of `groups`, each with its own id (`sgr-…`), which only
/// DescribeSecurityGroupRules gives. Filtered by group id: the one filter
/// every implementation takes (moto takes no other but the rule id and
/// tags). IAM: ec2:DescribeSecurityGroupRules.
async fn rules(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    groups: Vec<String>,
) -> Result<Vec<RuleFacts>, ResourceError> {
    let mut found = Vec::new();
    if groups.is_empty() {
        return Ok(found);
    }
    // Asked 200 groups at a time, to keep one request's filter bounded
    // (the API reference states no limit on this filter's values).
    for chunk in groups.chunks(200) {
        let mut pages = aws
            .ec2
            .describe_security_group_rules()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("group-id")
                    .set_values(Some(chunk.to_vec()))
                    .build(),
            )
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for r in page
                .or_resource(id, "DescribeSecurityGroupRules")?
                .security_group_rules()
            {
                let peer = if let Some(g) = r.referenced_group_info().and_then(|g| g.group_id()) {
                    RulePeer::Group(g.to_owned())
                } else if let Some(p) = r.prefix_list_id() {
                    RulePeer::PrefixList(p.to_owned())
                } else {
                    RulePeer::Cidr(owned(r.cidr_ipv4().or(r.cidr_ipv6())))
                };
                let protocol = match r.ip_protocol().unwrap_or("-1") {
                    "6" => "tcp",
                    "17" => "udp",
                    "1" => "icmp",
                    other => other,
                };
                found.push(RuleFacts {
                    id: owned(r.security_group_rule_id()),
                    group: owned(r.group_id()),
                    egress: r.is_egress().unwrap_or(false),
                    protocol: protocol.to_owned(),
                    from_port: r.from_port().unwrap_or(-1),
                    to_port: r.to_port().unwrap_or(-1),
                    peer,
                });
            }
        }
    }
    found.sort_by(|a, b| (&a.group, a.egress, &a.id).cmp(&(&b.group, b.egress, &b.id)));
    Ok(found)
}

/// Every network interface in the VPC, those AWS manages for a service
/// (endpoints, Lambda, RDS) included. IAM: ec2:DescribeNetworkInterfaces.
async fn interfaces(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    vpc_id: &str,
) -> Result<Vec<InterfaceFacts>, ResourceError> {
    let mut found = Vec::new();
    let mut pages = aws
        .ec2
        .describe_network_interfaces()
        .filters(filter("vpc-id", vpc_id))
        .include_managed_resources(true)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for e in page
            .or_resource(id, "DescribeNetworkInterfaces")?
            .network_interfaces()
        {
            let mut public_ips: Vec<String> = e
                .private_ip_addresses()
                .iter()
                .filter_map(|p| p.association().and_then(|a| a.public_ip()))
                .map(str::to_owned)
                .collect();
            if let Some(ip) = e.association().and_then(|a| a.public_ip()) {
                if !public_ips.iter().any(|p| p == ip) {
                    public_ips.insert(0, ip.to_owned());
                }
            }
            found.push(InterfaceFacts {
                id: owned(e.network_interface_id()),
                subnet: owned(e.subnet_id()),
                zone: owned(e.availability_zone()),
                private_ip: owned(e.private_ip_address()),
                interface_type: e
                    .interface_type()
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default(),
                description: owned(e.description()),
                groups: e
                    .groups()
                    .iter()
                    .filter_map(|g| g.group_id().map(str::to_owned))
                    .collect(),
                requester_managed: e.requester_managed().unwrap_or(false),
                public_ips,
            });
        }
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(found)
}

/// Every VPC endpoint of the VPC, whoever made it.
/// IAM: ec2:DescribeVpcEndpoints.
async fn endpoints(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    vpc_id: &str,
) -> Result<Vec<EndpointFacts>, ResourceError> {
    let mut found = Vec::new();
    let mut pages = aws
        .ec2
        .describe_vpc_endpoints()
        .filters(filter("vpc-id", vpc_id))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for e in page
            .or_resource(id, "DescribeVpcEndpoints")?
            .vpc_endpoints()
        {
            let state = e.state().map(|s| s.as_str().to_lowercase());
            if e.vpc_id() != Some(vpc_id) || matches!(state.as_deref(), Some("deleted")) {
                continue;
            }
            found.push(EndpointFacts {
                id: owned(e.vpc_endpoint_id()),
                endpoint_type: e
                    .vpc_endpoint_type()
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default(),
                service: owned(e.service_name()),
                state: state.unwrap_or_default(),
                subnets: e.subnet_ids().to_vec(),
                groups: e
                    .groups()
                    .iter()
                    .filter_map(|g| g.group_id().map(str::to_owned))
                    .collect(),
                interfaces: e.network_interface_ids().to_vec(),
                route_tables: e.route_table_ids().to_vec(),
                tags: tags(e.tags()),
            });
        }
    }
    found.sort_by(|a, b| (&a.service, &a.id).cmp(&(&b.service, &b.id)));
    Ok(found)
}

/// IAM: ec2:DescribeRouteTables.
async fn route_tables(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    vpc_id: &str,
) -> Result<Vec<RouteTableFacts>, ResourceError> {
    let mut found = Vec::new();
    let mut pages = aws
        .ec2
        .describe_route_tables()
        .filters(filter("vpc-id", vpc_id))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for t in page.or_resource(id, "DescribeRouteTables")?.route_tables() {
            found.push(RouteTableFacts {
                id: owned(t.route_table_id()),
                main: t.associations().iter().any(|a| a.main() == Some(true)),
                subnets: t
                    .associations()
                    .iter()
                    .filter_map(|a| a.subnet_id().map(str::to_owned))
                    .collect(),
                routes: t
                    .routes()
                    .iter()
                    .map(|r| RouteFacts {
                        destination: boundary::destination(r).to_owned(),
                        target: boundary::target(r),
                        state: r.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                    })
                    .collect(),
                tags: tags(t.tags()),
            });
        }
    }
    found.sort_by(|a, b| (!a.main, &a.id).cmp(&(!b.main, &b.id)));
    Ok(found)
}

fn acl_entry(e: &NetworkAclEntry) -> AclEntryFacts {
    AclEntryFacts {
        egress: e.egress().unwrap_or(false),
        number: e.rule_number().unwrap_or(0),
        allow: e.rule_action().map(|a| a.as_str()) == Some("allow"),
        protocol: owned(e.protocol()),
        cidr: owned(e.cidr_block().or(e.ipv6_cidr_block())),
        ports: e
            .port_range()
            .and_then(|p| Some((p.from()?, p.to()?)))
            .filter(|_| matches!(e.protocol(), Some("6" | "17"))),
    }
}

/// IAM: ec2:DescribeNetworkAcls.
async fn acls(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    vpc_id: &str,
) -> Result<Vec<AclFacts>, ResourceError> {
    let mut found = Vec::new();
    let mut pages = aws
        .ec2
        .describe_network_acls()
        .filters(filter("vpc-id", vpc_id))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for a in page.or_resource(id, "DescribeNetworkAcls")?.network_acls() {
            let mut entries: Vec<AclEntryFacts> = a.entries().iter().map(acl_entry).collect();
            entries.sort_by_key(|e| (e.egress, e.number));
            found.push(AclFacts {
                id: owned(a.network_acl_id()),
                default: a.is_default().unwrap_or(false),
                subnets: a
                    .associations()
                    .iter()
                    .filter_map(|s| s.subnet_id().map(str::to_owned))
                    .collect(),
                entries,
                tags: tags(a.tags()),
            });
        }
    }
    found.sort_by(|a, b| (a.default, &a.id).cmp(&(b.default, &b.id)));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(protocol: &str, from: i32, to: i32) -> RuleFacts {
        RuleFacts {
            id: "sgr-1".into(),
            group: "sg-1".into(),
            egress: false,
            protocol: protocol.into(),
            from_port: from,
            to_port: to,
            peer: RulePeer::Cidr("10.0.0.0/16".into()),
        }
    }

    #[test]
    fn a_rule_says_its_protocol_and_ports() {
        assert_eq!(rule("tcp", 5432, 5432).ports(), "tcp 5432");
        assert_eq!(rule("tcp", 1024, 65535).ports(), "tcp 1024-65535");
        assert_eq!(rule("-1", -1, -1).ports(), "all traffic");
        assert_eq!(rule("icmp", -1, -1).ports(), "icmp all ports");
    }

    #[test]
    fn an_acl_entry_reads_as_one_line() {
        let e = AclEntryFacts {
            egress: false,
            number: 100,
            allow: true,
            protocol: "6".into(),
            cidr: "10.0.0.0/16".into(),
            ports: Some((443, 443)),
        };
        assert_eq!(e.summary(), "100 allow tcp 443 10.0.0.0/16");
        let last = AclEntryFacts {
            number: 32767,
            allow: false,
            protocol: "-1".into(),
            cidr: "0.0.0.0/0".into(),
            ports: None,
            ..e
        };
        assert_eq!(last.summary(), "* deny all 0.0.0.0/0");
    }
}

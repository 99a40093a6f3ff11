//! The network of the payment stack (PCI DSS 1.2, 1.3, 1.4): a VPC with
//! private subnets only, no internet or NAT gateway, a route table without a
//! route out, network ACLs admitting only VPC-internal traffic, security
//! groups with only the rules the stack needs, S3 and RDS endpoints, and
//! flow logs of all traffic to S3 and CloudWatch Logs, and a DNS firewall
//! that resolves only the names the stack needs.
//!
//! EC2 creates have no idempotency (except endpoints and flow logs, which
//! take a client token), so every EC2 resource is tagged at creation and a
//! lost one is found again by its tags.

pub mod boundary;
pub mod default_hardening;
pub mod dns_firewall;
pub mod endpoint;
pub mod flow_log;
pub mod map;
pub mod nacl;
pub mod permissions;
pub mod route_table;
pub mod security_group;
pub mod subnet;
pub mod vpc;

mod ec2;

pub use default_hardening::DefaultHardening;
pub use endpoint::{EndpointService, GatewayEndpoint, InterfaceEndpoint};
pub use flow_log::{FlowLog, FlowLogDestination};
pub use nacl::NetworkAcl;
pub use route_table::RouteTable;
pub use security_group::{SecurityGroup, SecurityGroupRules};
pub use subnet::Subnet;
pub use vpc::Vpc;

/// The `/20` blocks of the subnets inside the VPC's `/16`.
pub fn subnet_cidr(vpc_cidr: &str, index: usize) -> String {
    let base: Vec<&str> = vpc_cidr.split(['.', '/']).collect();
    let third = index * 16;
    format!("{}.{}.{third}.0/20", base[0], base[1])
}

#[cfg(test)]
mod tests {
    #[test]
    fn subnets_are_consecutive_20s() {
        assert_eq!(super::subnet_cidr("10.20.0.0/16", 0), "10.20.0.0/20");
        assert_eq!(super::subnet_cidr("10.20.0.0/16", 2), "10.20.32.0/20");
    }
}

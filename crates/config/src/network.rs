//! `[network]`: the VPC's range and zones, the waits for endpoints and
//! Lambda's interfaces, the DNS Firewall and the endpoints of what the code
//! calls. Its keys, defaults and checks live here.

use serde::{Deserialize, Serialize};

use crate::{egress, invalid, within_a_day, ConfigError};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Network {
    /// The VPC's block; must be a /16 (three /20 subnets are carved from it).
    pub vpc_cidr: String,
    /// Three zone names; empty: the region's first three available zones.
    pub availability_zones: Vec<String>,
    /// Minutes to wait for a VPC endpoint to become available or be gone.
    pub endpoint_wait_minutes: u64,
    /// Minutes `down` waits for Lambda's network interfaces to be released
    /// before a subnet, security group or VPC can go (AWS: 20-45).
    pub eni_drain_minutes: u64,
    /// A Route 53 Resolver DNS Firewall on the VPC that resolves only the
    /// names the stack needs (against DNS tunnelling).
    pub dns_firewall: bool,
    /// AWS services the function's code calls, each reached through an
    /// interface endpoint of its own (`secretsmanager`, `kms`, `sqs`...;
    /// [`egress::SERVICE_ENDPOINTS`]).
    pub service_endpoints: Vec<String>,
    /// PrivateLink endpoint services of a processor or partner
    /// (`com.amazonaws.vpce.<region>.vpce-svc-...`), each reached through
    /// an interface endpoint.
    pub private_services: Vec<String>,
    /// The TCP port the partner services listen on.
    pub private_service_port: i32,
    /// Names the DNS Firewall must also resolve: the partner services'
    /// (e.g. `api.processor.example`, `*.pay.processor.example`).
    pub allowed_domains: Vec<String>,
}

impl Default for Network {
    fn default() -> Self {
        Self {
            vpc_cidr: "10.20.0.0/16".into(),
            availability_zones: Vec::new(),
            endpoint_wait_minutes: 10,
            eni_drain_minutes: 45,
            dns_firewall: true,
            service_endpoints: Vec::new(),
            private_services: Vec::new(),
            private_service_port: 443,
            allowed_domains: Vec::new(),
        }
    }
}

impl Network {
    /// Range checks of `[network]` the type system cannot express.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let cidr_ok = self.vpc_cidr.ends_with("/16")
            && self
                .vpc_cidr
                .trim_end_matches("/16")
                .split('.')
                .filter(|o| o.parse::<u8>().is_ok())
                .count()
                == 4;
        if !cidr_ok {
            return Err(invalid(
                "network.vpc_cidr",
                &self.vpc_cidr,
                "must be an IPv4 /16 such as 10.20.0.0/16",
            ));
        }
        if !self.availability_zones.is_empty() && self.availability_zones.len() != 3 {
            return Err(invalid(
                "network.availability_zones",
                &self.availability_zones.len(),
                "name exactly three zones, or none",
            ));
        }
        within_a_day("network.endpoint_wait_minutes", self.endpoint_wait_minutes)?;
        within_a_day("network.eni_drain_minutes", self.eni_drain_minutes)?;
        egress::validate(self)
    }
}

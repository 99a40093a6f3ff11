//! `[api]`: the private entry callers use, an API Gateway REST API of
//! endpoint type PRIVATE reached only through PrivateLink: who may reach
//! its interface endpoint (CIDR blocks, security groups), which consumer
//! endpoints of other VPCs may call it, which IAM principals may invoke
//! it, its TLS policy and its throttling. Every key's default and check
//! live here.

use serde::{Deserialize, Serialize};

use crate::{invalid, ConfigError};

/// The TLS security policies API Gateway offers a PRIVATE REST API that
/// paysec accepts (API Gateway developer guide, "Supported security
/// policies": the regional and private ones; the `_EDGE` ones are for
/// edge-optimized APIs, and `TLS_1_0` is below PCI DSS 4.2.1's strong
/// cryptography). The first is the default: TLS 1.3 only.
pub const SECURITY_POLICIES: &[&str] = &[
    "SecurityPolicy_TLS13_1_3_2025_09",
    "SecurityPolicy_TLS13_1_3_FIPS_2025_09",
    "SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09",
    "SecurityPolicy_TLS13_1_2_FIPS_PFS_PQ_2025_09",
    "SecurityPolicy_TLS13_1_2_PQ_2025_09",
    "SecurityPolicy_TLS13_1_2_FIPS_PQ_2025_09",
    "SecurityPolicy_TLS13_1_2_2021_06",
    "TLS_1_2",
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Api {
    /// Build the private REST API and its interface endpoint.
    pub enabled: bool,
    /// CIDR blocks admitted to the API's interface endpoint on 443.
    pub allowed_cidrs: Vec<String>,
    /// Security groups (`sg-...`) admitted to the API's interface endpoint
    /// on 443.
    pub allowed_security_groups: Vec<String>,
    /// Consumer interface endpoints (`vpce-...`) in other VPCs or accounts
    /// whose calls the API's resource policy accepts.
    pub allowed_vpc_endpoints: Vec<String>,
    /// IAM principals (role or user ARNs, or account ids) the resource
    /// policy allows to invoke the API; empty: none beyond this account's
    /// principals whose own IAM policies allow `execute-api:Invoke`.
    pub allowed_principals: Vec<String>,
    /// Steady-state requests per second of the stage (every method).
    pub rate_limit: f64,
    /// Requests the stage admits in a burst.
    pub burst_limit: i32,
    /// The API's TLS security policy (one of [`SECURITY_POLICIES`]).
    pub security_policy: String,
}

impl Default for Api {
    fn default() -> Self {
        Self {
            enabled: true,
            allowed_cidrs: Vec::new(),
            allowed_security_groups: Vec::new(),
            allowed_vpc_endpoints: Vec::new(),
            allowed_principals: Vec::new(),
            rate_limit: 50.0,
            burst_limit: 100,
            security_policy: SECURITY_POLICIES[0].to_owned(),
        }
    }
}

/// Whether `cidr` is an IPv4 block `a.b.c.d/n` (what a security group's
/// IPv4 rule takes).
fn is_ipv4_cidr(cidr: &str) -> bool {
    let Some((addr, bits)) = cidr.split_once('/') else {
        return false;
    };
    addr.parse::<std::net::Ipv4Addr>().is_ok() && bits.parse::<u8>().is_ok_and(|b| b <= 32)
}

/// Whether `id` is `prefix` followed by 8 or 17 lowercase hex digits, as
/// EC2 ids are.
fn is_ec2_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|hex| {
        matches!(hex.len(), 8 | 17) && hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
    })
}

/// Whether `p` is a principal a resource policy may name: an account id,
/// or an IAM role, user or account root ARN (no wildcard).
fn is_principal(p: &str) -> bool {
    if p.len() == 12 && p.chars().all(|c| c.is_ascii_digit()) {
        return true;
    }
    let parts: Vec<&str> = p.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", partition, "iam", "", account, resource]
        if !partition.is_empty()
            && account.len() == 12
            && account.chars().all(|c| c.is_ascii_digit())
            && (*resource == "root" || resource.starts_with("role/") || resource.starts_with("user/"))
            && !resource.contains('*'))
}

impl Api {
    /// Range and shape checks of `[api]` the type system cannot express.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if let Some(c) = self.allowed_cidrs.iter().find(|c| !is_ipv4_cidr(c)) {
            return Err(invalid(
                "api.allowed_cidrs",
                c,
                "must be IPv4 CIDR blocks like 10.30.0.0/16",
            ));
        }
        if let Some(c) = self.allowed_cidrs.iter().find(|c| c.ends_with("/0")) {
            return Err(invalid(
                "api.allowed_cidrs",
                c,
                "a /0 block admits every address; name the callers' networks",
            ));
        }
        if let Some(g) = self
            .allowed_security_groups
            .iter()
            .find(|g| !is_ec2_id(g, "sg-"))
        {
            return Err(invalid(
                "api.allowed_security_groups",
                g,
                "must be security group ids like sg-0123456789abcdef0",
            ));
        }
        if let Some(e) = self
            .allowed_vpc_endpoints
            .iter()
            .find(|e| !is_ec2_id(e, "vpce-"))
        {
            return Err(invalid(
                "api.allowed_vpc_endpoints",
                e,
                "must be interface endpoint ids like vpce-0123456789abcdef0",
            ));
        }
        if let Some(p) = self.allowed_principals.iter().find(|p| !is_principal(p)) {
            return Err(invalid(
                "api.allowed_principals",
                p,
                "must be account ids or IAM role, user or root ARNs, without wildcards",
            ));
        }
        if !(self.rate_limit > 0.0 && self.rate_limit <= 10_000.0) {
            return Err(invalid(
                "api.rate_limit",
                &self.rate_limit,
                "must be above 0 and at most 10000 requests per second (API Gateway's default account quota)",
            ));
        }
        if !(1..=5000).contains(&self.burst_limit) {
            return Err(invalid(
                "api.burst_limit",
                &self.burst_limit,
                "must be 1 to 5000 requests (API Gateway's default account burst)",
            ));
        }
        if !SECURITY_POLICIES.contains(&self.security_policy.as_str()) {
            return Err(invalid(
                "api.security_policy",
                &self.security_policy,
                &format!(
                    "must be one of the policies API Gateway offers private APIs with TLS 1.2 or later: {}",
                    SECURITY_POLICIES.join(", ")
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One change to the defaults.
    type Edit = fn(&mut Api);

    #[test]
    fn the_defaults_pass_and_each_bad_value_names_its_key() {
        Api::default().validate().unwrap();
        let cases: Vec<(Edit, &str)> = vec![
            (
                (|a| a.allowed_cidrs = vec!["10.0.0.0".into()]),
                "api.allowed_cidrs",
            ),
            (
                (|a| a.allowed_cidrs = vec!["0.0.0.0/0".into()]),
                "api.allowed_cidrs",
            ),
            (
                (|a| a.allowed_security_groups = vec!["sg-xyz".into()]),
                "api.allowed_security_groups",
            ),
            (
                (|a| a.allowed_vpc_endpoints = vec!["vpc-0123456789abcdef0".into()]),
                "api.allowed_vpc_endpoints",
            ),
            (
                (|a| a.allowed_principals = vec!["*".into()]),
                "api.allowed_principals",
            ),
            (
                (|a| a.allowed_principals = vec!["arn:aws:iam::123456789012:role/*".into()]),
                "api.allowed_principals",
            ),
            ((|a| a.rate_limit = 0.0), "api.rate_limit"),
            ((|a| a.burst_limit = 0), "api.burst_limit"),
            (
                (|a| a.security_policy = "TLS_1_0".into()),
                "api.security_policy",
            ),
        ];
        for (edit, key) in cases {
            let mut api = Api::default();
            edit(&mut api);
            let err = api.validate().unwrap_err().to_string();
            assert!(err.contains(key), "{key}: {err}");
        }
        let mut good = Api {
            allowed_cidrs: vec!["10.30.0.0/16".into()],
            allowed_security_groups: vec!["sg-0123456789abcdef0".into()],
            allowed_vpc_endpoints: vec!["vpce-0123abcd".into()],
            allowed_principals: vec![
                "210987654321".into(),
                "arn:aws:iam::210987654321:role/checkout".into(),
            ],
            ..Api::default()
        };
        good.validate().unwrap();
        good.security_policy = "TLS_1_2".into();
        good.validate().unwrap();
    }
}

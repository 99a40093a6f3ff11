//! `[network]`'s ways out: the AWS services the function's code reaches
//! through interface endpoints (`service_endpoints`), a partner's
//! PrivateLink services (`private_services`, `private_service_port`) and
//! the names the DNS Firewall resolves for them (`allowed_domains`). The
//! VPC stays without internet, NAT or gateway: each way out is named.

use crate::{invalid, ConfigError, Network};

/// The AWS services paysec puts an interface endpoint in for the code:
/// services a payment API's code commonly calls whose interface endpoint
/// answers, with private DNS, the service's regional name
/// `<service>.<region>.amazonaws.com` (which the DNS Firewall then
/// resolves). The stack's own (S3, RDS, X-Ray, execute-api) are not
/// listed: they are always there.
pub const SERVICE_ENDPOINTS: &[&str] = &[
    "secretsmanager",
    "kms",
    "sqs",
    "sns",
    "ssm",
    "sts",
    "logs",
    "monitoring",
    "events",
    "states",
    "firehose",
    "lambda",
];

/// A DNS name (optionally starting `*.`), with at least two labels after
/// any wildcard, so `*.com` cannot open a whole top-level domain.
fn is_domain(d: &str) -> bool {
    let name = d.strip_prefix("*.").unwrap_or(d);
    let labels: Vec<&str> = name.split('.').collect();
    d.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// `com.amazonaws.vpce.<region>.vpce-svc-<17 hex>` (or 8), as EC2 names
/// endpoint services.
fn is_endpoint_service(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("com.amazonaws.vpce.") else {
        return false;
    };
    let Some((region, svc)) = rest.split_once('.') else {
        return false;
    };
    let region_ok = !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let svc_ok = svc.strip_prefix("vpce-svc-").is_some_and(|hex| {
        matches!(hex.len(), 8 | 17) && hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
    });
    region_ok && svc_ok
}

pub(crate) fn validate(n: &Network) -> Result<(), ConfigError> {
    for s in &n.service_endpoints {
        if !SERVICE_ENDPOINTS.contains(&s.as_str()) {
            return Err(invalid(
                "network.service_endpoints",
                s,
                &format!(
                    "paysec makes interface endpoints for: {} (S3, RDS, X-Ray and execute-api are always there)",
                    SERVICE_ENDPOINTS.join(", ")
                ),
            ));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(d) = n.service_endpoints.iter().find(|s| !seen.insert(*s)) {
        return Err(invalid("network.service_endpoints", d, "listed twice"));
    }
    if let Some(p) = n.private_services.iter().find(|p| !is_endpoint_service(p)) {
        return Err(invalid(
            "network.private_services",
            p,
            "must be endpoint service names like com.amazonaws.vpce.eu-west-1.vpce-svc-0123456789abcdef0 (the provider gives it)",
        ));
    }
    if n.private_services.len() > 10 {
        return Err(invalid(
            "network.private_services",
            &n.private_services.len(),
            "at most 10 partner services",
        ));
    }
    if !(1..=65535).contains(&n.private_service_port) {
        return Err(invalid(
            "network.private_service_port",
            &n.private_service_port,
            "must be a TCP port, 1 to 65535",
        ));
    }
    if let Some(d) = n.allowed_domains.iter().find(|d| !is_domain(d)) {
        return Err(invalid(
            "network.allowed_domains",
            d,
            "must be DNS names like api.processor.example or *.pay.processor.example (a wildcard needs two labels after it)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_way_out_is_checked_by_name() {
        let ok = Network {
            service_endpoints: vec!["secretsmanager".into(), "kms".into()],
            private_services: vec!["com.amazonaws.vpce.eu-west-1.vpce-svc-0123456789abcdef0".into()],
            allowed_domains: vec![
                "api.processor.example".into(),
                "*.pay.processor.example".into(),
            ],
            ..Network::default()
        };
        validate(&ok).unwrap();
        let bad: Vec<(Network, &str)> = vec![
            (
                Network {
                    service_endpoints: vec!["s3".into()],
                    ..Network::default()
                },
                "network.service_endpoints",
            ),
            (
                Network {
                    service_endpoints: vec!["kms".into(), "kms".into()],
                    ..Network::default()
                },
                "network.service_endpoints",
            ),
            (
                Network {
                    private_services: vec!["vpce-svc-0123456789abcdef0".into()],
                    ..Network::default()
                },
                "network.private_services",
            ),
            (
                Network {
                    private_service_port: 0,
                    ..Network::default()
                },
                "network.private_service_port",
            ),
            (
                Network {
                    allowed_domains: vec!["*.com".into()],
                    ..Network::default()
                },
                "network.allowed_domains",
            ),
            (
                Network {
                    allowed_domains: vec!["*".into()],
                    ..Network::default()
                },
                "network.allowed_domains",
            ),
        ];
        for (n, key) in bad {
            let err = validate(&n).unwrap_err().to_string();
            assert!(err.contains(key), "{key}: {err}");
        }
    }
}

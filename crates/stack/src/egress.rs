//! The function's named ways out besides the stack's own endpoints: an
//! interface endpoint per AWS service the code calls
//! (`[network] service_endpoints`, and Secrets Manager whenever
//! `[lambda] secrets` lists one) and per partner PrivateLink service
//! (`[network] private_services`), all behind one security group that
//! admits only the function. The DNS Firewall resolves their names
//! (`network.rs`). No NAT, no internet gateway: nothing else leaves.

use std::sync::Arc;

use paysec_config::egress::SERVICE_ENDPOINTS;
use paysec_config::Config;
use paysec_core::{LogicalId, Resource};
use paysec_network::{EndpointService, InterfaceEndpoint};

use crate::{ids, Inputs};

/// The AWS services the code reaches: the configured ones, and Secrets
/// Manager when the function may read secrets.
pub(crate) fn services(config: &Config) -> Vec<String> {
    let mut s = config.stack.network.service_endpoints.clone();
    if !config.stack.lambda.secrets.is_empty() && !s.iter().any(|x| x == "secretsmanager") {
        s.push("secretsmanager".into());
    }
    s
}

fn service_id(service: &str) -> LogicalId {
    LogicalId::new(format!(
        "{}{}",
        ids::ENDPOINT_SERVICE_PREFIX,
        service.replace('.', "-")
    ))
}

/// `network.endpoint-partner-<the service id's first 8 hex digits>`.
fn partner_id(name: &str) -> LogicalId {
    let hex = name.rsplit("vpce-svc-").next().unwrap_or(name);
    LogicalId::new(format!(
        "{}{}",
        ids::ENDPOINT_PARTNER_PREFIX,
        &hex[..hex.len().min(8)]
    ))
}

/// The endpoints the configuration names: (id, what it connects to).
pub(crate) fn configured(config: &Config) -> Vec<(LogicalId, EndpointService)> {
    services(config)
        .into_iter()
        .map(|s| (service_id(&s), EndpointService::Aws(s)))
        .chain(
            config
                .stack
                .network
                .private_services
                .iter()
                .map(|p| (partner_id(p), EndpointService::Partner(p.clone()))),
        )
        .collect()
}

/// The endpoints: (id, what they connect to), the configured ones and,
/// for `down`'s whole stack, those the ledger records that the
/// configuration no longer names.
pub(crate) fn endpoints(inputs: &Inputs<'_>) -> Vec<(LogicalId, EndpointService)> {
    let mut out = configured(inputs.config);
    for id in inputs.recorded {
        if out.iter().any(|(known, _)| known == id) {
            continue;
        }
        if let Some(suffix) = id.as_str().strip_prefix(ids::ENDPOINT_SERVICE_PREFIX) {
            if let Some(s) = SERVICE_ENDPOINTS
                .iter()
                .find(|s| s.replace('.', "-") == suffix)
            {
                out.push((id.clone(), EndpointService::Aws((*s).to_owned())));
            }
        } else if id.as_str().starts_with(ids::ENDPOINT_PARTNER_PREFIX) {
            // Only deleted: its service name is not needed for that.
            out.push((
                id.clone(),
                EndpointService::Partner("(no longer configured)".into()),
            ));
        }
    }
    out
}

/// Whether the services' security group is built: some endpoint needs it,
/// or the ledger holds it.
pub(crate) fn has_group(inputs: &Inputs<'_>) -> bool {
    !endpoints(inputs).is_empty()
        || inputs
            .recorded
            .iter()
            .any(|id| id.as_str() == ids::SG_SERVICES)
}

pub(crate) fn add(nodes: &mut Vec<Arc<dyn Resource>>, inputs: &Inputs<'_>) {
    let id = |s: &str| LogicalId::new(s);
    let wait =
        std::time::Duration::from_secs(inputs.config.stack.network.endpoint_wait_minutes * 60);
    let secrets = inputs.config.stack.lambda.secrets.clone();
    for (eid, service) in endpoints(inputs) {
        let narrow = matches!(&service, EndpointService::Aws(s) if s == "secretsmanager")
            && !secrets.is_empty();
        let mut endpoint = InterfaceEndpoint::to(
            eid,
            inputs.aws.clone(),
            id(ids::VPC),
            ids::SUBNETS.iter().map(|s| id(s)).collect(),
            id(ids::SG_SERVICES),
            service,
        )
        .waiting_up_to(wait);
        if narrow {
            let secrets = secrets.clone();
            endpoint = endpoint.with_policy(Box::new(move |cx| listed_secrets_only(cx, &secrets)));
        }
        nodes.push(Arc::new(endpoint));
    }
}

/// The Secrets Manager endpoint's policy when the function has secrets:
/// reading exactly the listed ones, by this account's principals (what the
/// function's role may read, `lambda.secrets`; nothing else passes the
/// endpoint).
fn listed_secrets_only(cx: &paysec_core::Context, secrets: &[String]) -> serde_json::Value {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "TheListedSecretsOnly",
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            "Resource": secrets,
            "Condition": { "StringEquals": { "aws:PrincipalAccount": cx.env.account } }
        }]
    })
}

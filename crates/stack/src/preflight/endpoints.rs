//! The interface endpoints the stack puts in its VPC, and their logical
//! ids: what the zone check and the endpoint quota count.

use paysec_config::Config;

use crate::Component;

/// The interface endpoints the stack puts in its VPC: the RDS API's with
/// the database, X-Ray's with the function, execute-api's with the API,
/// and those of what the code calls (`crate::egress`).
pub(super) fn interface_endpoints(config: &Config) -> Vec<paysec_network::EndpointService> {
    use paysec_network::EndpointService::Aws;
    [
        ("rds", Component::Rds),
        ("xray", Component::Lambda),
        ("execute-api", Component::Api),
    ]
    .into_iter()
    .filter(|(_, c)| c.enabled_in(config))
    .map(|(service, _)| Aws(service.to_owned()))
    .chain(
        code_endpoints(config)
            .into_iter()
            .map(|(_, service)| service),
    )
    .collect()
}

/// The endpoints of what the code calls, while there is code.
fn code_endpoints(
    config: &Config,
) -> Vec<(paysec_core::LogicalId, paysec_network::EndpointService)> {
    if Component::Lambda.enabled_in(config) {
        crate::egress::configured(config)
    } else {
        Vec::new()
    }
}

/// Their logical ids, in the same order.
pub(super) fn interface_endpoint_ids(config: &Config) -> Vec<String> {
    use crate::ids;
    [
        (ids::ENDPOINT_RDS, Component::Rds),
        (ids::ENDPOINT_XRAY, Component::Lambda),
        (ids::ENDPOINT_API, Component::Api),
    ]
    .into_iter()
    .filter(|(_, c)| c.enabled_in(config))
    .map(|(id, _)| id.to_owned())
    .chain(
        code_endpoints(config)
            .into_iter()
            .map(|(id, _)| id.to_string()),
    )
    .collect()
}

//! VPC endpoints: S3 as a gateway on the route table, with a policy limited
//! to the stack's buckets; interface endpoints in the three subnets, to AWS
//! services with private DNS and a policy (RDS, X-Ray, execute-api, the
//! services the code calls) or to a partner's PrivateLink service. Each
//! takes a client token, so a retried create after a crash returns the
//! same endpoint.

mod delete;
mod describe;
mod gateway;
mod interface;

pub use gateway::{GatewayEndpoint, GatewayEndpointProperty};
pub use interface::{
    same_account_policy, EndpointService, InterfaceEndpoint, InterfaceEndpointProperty,
};

use paysec_core::resource::Context;
use paysec_core::LogicalId;
use paysec_core::ResourceError;
use serde_json::Value;
use std::time::Duration;

/// Builds an endpoint policy from the context.
pub type PolicyFn = Box<dyn Fn(&Context) -> Value + Send + Sync>;

/// How long to wait for an endpoint to become available or to go away,
/// unless configured (`network.endpoint_wait_minutes`).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(10 * 60);
const SETTING: &str = "network.endpoint_wait_minutes";

fn service_name(cx: &Context, service: &str) -> String {
    cx.env.endpoint_service_name(service)
}

fn created_id(
    id: &LogicalId,
    out: &aws_sdk_ec2::operation::create_vpc_endpoint::CreateVpcEndpointOutput,
) -> Result<String, ResourceError> {
    out.vpc_endpoint()
        .and_then(|e| e.vpc_endpoint_id())
        .map(str::to_owned)
        .ok_or_else(|| ResourceError::unexpected(id, "CreateVpcEndpoint returned no id"))
}

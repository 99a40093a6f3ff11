//! Deleting an endpoint, either kind, and waiting until it is no longer
//! listed (its ENIs hold the subnets and security group until then).

use paysec_aws::AwsResultExt;
use paysec_core::resource::{Context, Present};
use paysec_core::{LogicalId, ResourceError};
use std::time::Duration;
use tokio::time::Instant;

use super::describe::{describe_any, state};
use super::SETTING;
use crate::ec2;

pub(super) async fn delete_and_wait(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    cx: &Context,
    known: &Present,
    budget: Duration,
) -> Result<(), ResourceError> {
    let started = Instant::now();
    loop {
        let out = ec2::not_found_is_none(
            aws.ec2
                .delete_vpc_endpoints()
                .vpc_endpoint_ids(&known.physical_id)
                .send()
                .await
                .or_resource(id, "DeleteVpcEndpoints"),
        )?;
        // Per-item failures come back with HTTP 200.
        if let Some(item) = out.as_ref().and_then(|o| o.unsuccessful().first()) {
            let err = item.error();
            let code = err.and_then(|e| e.code()).unwrap_or("");
            if !code.contains("NotFound") {
                return Err(ResourceError::unexpected(
                    id,
                    format!(
                        "DeleteVpcEndpoints failed: {code}: {}",
                        err.and_then(|e| e.message()).unwrap_or("")
                    ),
                ));
            }
        }
        // Interface endpoint ENIs block subnet and security group deletion
        // until the endpoint is fully gone: `deleting` is not gone yet. A
        // NotFound from the delete is not proof either (an endpoint made
        // moments ago may not be visible yet): only an endpoint no longer
        // listed, by id and by its tags, is gone; one still there in
        // another state is deleted again.
        loop {
            let Some(e) = describe_any(aws, id, cx, Some(known)).await? else {
                return Ok(());
            };
            if started.elapsed() > budget {
                return Err(ResourceError::WaitTimeout {
                    resource: id.clone(),
                    state: "deleted".into(),
                    waited_secs: started.elapsed().as_secs(),
                    setting: SETTING,
                });
            }
            cx.report_wait("the endpoint to be deleted", started.elapsed());
            tokio::time::sleep(Duration::from_secs(if state(&e) == "deleting" {
                5
            } else {
                1
            }))
            .await;
            if state(&e) != "deleting" {
                break;
            }
        }
    }
}

//! Finding resources by paysec's tags through the Resource Groups Tagging
//! API: how a resource the ledger lost (a crash after a create call without
//! idempotency, a deleted ledger) is found again instead of duplicated.

use aws_sdk_resourcegroupstagging::types::TagFilter;
use paysec_core::{tags, LogicalId, ResourceError};

use crate::classify::AwsResultExt;

/// ARNs of resources of `resource_type` (`kms:key`, `ec2:vpc`...) tagged
/// with this environment, and with this logical id when one is given.
pub async fn tagged_arns(
    client: &aws_sdk_resourcegroupstagging::Client,
    env: &str,
    id: Option<&LogicalId>,
    resource_type: Option<&str>,
    on_behalf_of: &LogicalId,
) -> Result<Vec<String>, ResourceError> {
    let mut arns = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut req = client.get_resources().tag_filters(
            TagFilter::builder()
                .key(tags::ENVIRONMENT)
                .values(env)
                .build(),
        );
        if let Some(id) = id {
            req = req.tag_filters(
                TagFilter::builder()
                    .key(tags::LOGICAL_ID)
                    .values(id.as_str())
                    .build(),
            );
        }
        if let Some(t) = resource_type {
            req = req.resource_type_filters(t);
        }
        let out = req
            .set_pagination_token(token.take())
            .send()
            .await
            .or_resource(on_behalf_of, "GetResources")?;
        arns.extend(
            out.resource_tag_mapping_list()
                .iter()
                .filter_map(|m| m.resource_arn().map(str::to_owned)),
        );
        match out.pagination_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(arns),
        }
    }
}

//! Finding an endpoint, either kind: the shared quick check, the describe
//! by id else by tags, and the state it is in as `up` and `down` see it.

use paysec_aws::AwsResultExt;
use paysec_core::resource::{Context, Present, QuickCheck};
use paysec_core::{LogicalId, ResourceError};

use crate::ec2;

/// Both endpoints' quick check: one DescribeVpcEndpoints of the
/// environment, shared; there and `available` (policy, route table,
/// subnets and DNS are read only by a full read).
pub(super) async fn quick_check(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    cx: &Context,
    known: &Present,
) -> Result<QuickCheck, ResourceError> {
    cx.census()
        .check("vpc_endpoints", &known.physical_id, || async {
            let out = aws
                .ec2
                .describe_vpc_endpoints()
                .set_filters(Some(ec2::in_environment(cx)))
                .send()
                .await
                .or_resource(id, "DescribeVpcEndpoints")?;
            Ok(out
                .vpc_endpoints()
                .iter()
                .filter(|e| state(e) == "available")
                .filter_map(|e| e.vpc_endpoint_id().map(str::to_owned))
                .collect())
        })
        .await
}

/// The endpoint's state, lowercased: EC2 documents `Available` but sends
/// `available`, which the SDK's case-sensitive enum parses as unknown.
pub(super) fn state(e: &aws_sdk_ec2::types::VpcEndpoint) -> String {
    e.state()
        .map(|s| s.as_str().to_ascii_lowercase())
        .unwrap_or_default()
}

/// The endpoint (by id, else by tags) in any state but `deleted`.
pub(super) async fn describe_any(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    cx: &Context,
    known: Option<&Present>,
) -> Result<Option<aws_sdk_ec2::types::VpcEndpoint>, ResourceError> {
    let by_tags = || async {
        let out = aws
            .ec2
            .describe_vpc_endpoints()
            .set_filters(Some(ec2::by_tags(cx)))
            .send()
            .await
            .or_resource(id, "DescribeVpcEndpoints")?;
        Ok::<_, ResourceError>(out.vpc_endpoints().to_vec())
    };
    let found = match known {
        Some(p) => {
            let out = ec2::not_found_is_none(
                aws.ec2
                    .describe_vpc_endpoints()
                    .vpc_endpoint_ids(&p.physical_id)
                    .send()
                    .await
                    .or_resource(id, "DescribeVpcEndpoints"),
            )?;
            match out {
                Some(o) => o.vpc_endpoints().to_vec(),
                // EC2 may not show an endpoint made moments ago by its id
                // yet (eventual consistency): its tags decide, with the id.
                None => by_tags()
                    .await?
                    .into_iter()
                    .filter(|e| e.vpc_endpoint_id() == Some(p.physical_id.as_str()))
                    .collect(),
            }
        }
        None => by_tags().await?,
    };
    Ok(found.into_iter().find(|e| state(e) != "deleted"))
}

/// The endpoint as `up` sees it: one going away (`deleting`) or `failed`
/// is not there, and gets created again.
pub(super) async fn describe(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    cx: &Context,
    known: Option<&Present>,
) -> Result<Option<aws_sdk_ec2::types::VpcEndpoint>, ResourceError> {
    Ok(describe_any(aws, id, cx, known)
        .await?
        .filter(|e| !matches!(state(e).as_str(), "deleting" | "failed")))
}

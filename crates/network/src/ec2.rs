//! What every EC2 resource shares: tags at creation, lookup by tag, tag
//! drift, and waiting out `DependencyViolation` while Lambda ENIs drain.

use std::time::Duration;

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use paysec_aws::AwsResultExt;
use paysec_core::resource::{Checks, Context};
use paysec_core::retry::rules;
use paysec_core::{ErrorClass, LogicalId, ResourceError};
use tokio::time::Instant;

pub(crate) fn tags(cx: &Context) -> Vec<Tag> {
    let mut t: Vec<Tag> = cx
        .tags()
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    t.push(
        Tag::builder()
            .key("Name")
            .value(format!(
                "{}-{}",
                cx.env.names.prefix(),
                cx.resource.as_str().replace('.', "-")
            ))
            .build(),
    );
    t
}

pub(crate) fn tag_spec(cx: &Context, rt: ResourceType) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(rt)
        .set_tags(Some(tags(cx)))
        .build()
}

/// Filters matching this resource's paysec tags.
pub(crate) fn by_tags(cx: &Context) -> Vec<Filter> {
    let mut filters = in_environment(cx);
    filters.push(filter(
        &format!("tag:{}", paysec_core::tags::LOGICAL_ID),
        cx.resource.as_str(),
    ));
    filters
}

/// The filter on the environment tag alone: every resource of a kind that
/// this environment owns, for one batched listing.
pub(crate) fn in_environment(cx: &Context) -> Vec<Filter> {
    vec![filter(
        &format!("tag:{}", paysec_core::tags::ENVIRONMENT),
        cx.env.name.as_str(),
    )]
}

pub(crate) fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// Checks paysec's inventory tags on an EC2 resource.
pub(crate) fn check_tags(checks: &mut Checks, cx: &Context, actual: &[Tag]) {
    let actual: Vec<(String, String)> = actual
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    checks.tags(&cx.tags(), &actual);
}

pub(crate) async fn retag(
    aws: &paysec_aws::Aws,
    cx: &Context,
    id: &LogicalId,
    resource: &str,
) -> Result<(), ResourceError> {
    // The resource may be seconds old (made by a run that died just
    // after): its id can still answer NotFound.
    let req = aws
        .ec2
        .create_tags()
        .resources(resource)
        .set_tags(Some(tags(cx)));
    after_create(|| async { req.clone().send().await.or_resource(id, "CreateTags") }).await?;
    Ok(())
}

pub(crate) use paysec_core::error::not_found_is_none;

/// One request (an SDK fluent builder, cloned per attempt) through
/// [`after_create`]: `send_after_create!(req, &self.id, "CreateSubnet").await`.
macro_rules! send_after_create {
    ($req:expr, $id:expr, $operation:literal) => {
        $crate::ec2::after_create(|| async {
            paysec_aws::AwsResultExt::or_resource($req.clone().send().await, $id, $operation)
        })
    };
}
pub(crate) use send_after_create;

/// How every network resource finds itself: one EC2 describe, by its
/// physical id when the ledger knows it, else by this environment's and
/// logical id's tags (adoption, which `check_tags` then proves); the one
/// element it lists, or `None` when AWS answers not-found or lists none.
///
/// `find!(self, cx, known, describe_vpcs, vpc_ids, set_filters, vpcs,
/// "DescribeVpcs")`: the describe call, its id and filter setters, the
/// answer's list, and the operation's name for errors.
macro_rules! find {
    ($resource:expr, $cx:expr, $known:expr, $describe:ident, $ids:ident, $filters:ident, $list:ident, $operation:literal) => {{
        let req = $resource.aws.ec2.$describe();
        let req = match $known {
            Some(p) => req.$ids(&p.physical_id),
            None => req.$filters(Some($crate::ec2::by_tags($cx))),
        };
        $crate::ec2::not_found_is_none(paysec_aws::AwsResultExt::or_resource(
            req.send().await,
            &$resource.id,
            $operation,
        ))?
        .and_then(|out| out.$list().first().cloned())
    }};
}
pub(crate) use find;

/// Runs an EC2 call that names a resource created moments ago, by this
/// step or by a dependency in this run. EC2 is eventually consistent: for a
/// while it answers `Invalid<Kind>.NotFound` for an id it just returned.
/// Such a NotFound is retried within EC2's propagation budget, never taken
/// for "gone".
pub(crate) async fn after_create<T, F, Fut>(op: F) -> Result<T, ResourceError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ResourceError>>,
{
    paysec_core::retry::retrying(&rules::EC2_NOT_YET_VISIBLE, op).await
}

/// Runs a delete, retrying on `DependencyViolation` while ENIs drain:
/// detached Lambda ENIs in the VPC are deleted as they become available,
/// and the wait is reported so the user sees why nothing moves.
pub(crate) async fn delete_draining<F, Fut>(
    aws: &paysec_aws::Aws,
    cx: &Context,
    id: &LogicalId,
    (vpc_id, budget): (Option<&str>, Duration),
    mut op: F,
) -> Result<(), ResourceError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), ResourceError>>,
{
    let started = Instant::now();
    let mut delay = Duration::from_secs(2);
    loop {
        match op().await {
            Ok(()) => return Ok(()),
            Err(e) if e.class() == ErrorClass::NotFound => return Ok(()),
            Err(e)
                if e.code() == rules::EC2_DEPENDENCY_VIOLATION.code
                    && started.elapsed() < budget =>
            {
                if let Some(vpc) = vpc_id {
                    release_lambda_enis(aws, id, vpc).await?;
                }
                cx.report_wait(
                    "network interfaces to be released (Lambda ENIs take up to 45 min; network.eni_drain_minutes)",
                    started.elapsed(),
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
            Err(e) => return Err(e),
        }
    }
}

async fn release_lambda_enis(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    vpc: &str,
) -> Result<(), ResourceError> {
    let out = aws
        .ec2
        .describe_network_interfaces()
        .filters(filter("vpc-id", vpc))
        .filters(filter("description", "AWS Lambda VPC ENI*"))
        .filters(filter("status", "available"))
        .send()
        .await
        .or_resource(id, "DescribeNetworkInterfaces")?;
    for eni in out.network_interfaces() {
        if let Some(eni_id) = eni.network_interface_id() {
            let _ = not_found_is_none(
                aws.ec2
                    .delete_network_interface()
                    .network_interface_id(eni_id)
                    .send()
                    .await
                    .or_resource(id, "DeleteNetworkInterface"),
            )?;
        }
    }
    Ok(())
}

/// The EC2 kinds whose create has no client token and no unique name, so a
/// lost answer can leave a second copy. (Subnets and security groups are
/// protected by AWS itself: a CIDR or group name taken; their creates adopt
/// the copy instead.)
#[derive(Clone, Copy, Debug)]
pub(crate) enum Copyable {
    Vpc,
    RouteTable,
    NetworkAcl,
}

/// Deletes every resource of `kind` carrying this resource's paysec tags
/// except `keep` (see `Resource::remove_strays`); returns their ids.
pub(crate) async fn remove_strays(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    cx: &Context,
    kind: Copyable,
    keep: &str,
) -> Result<Vec<String>, ResourceError> {
    let resource_type = match kind {
        Copyable::Vpc => "vpc",
        Copyable::RouteTable => "route-table",
        Copyable::NetworkAcl => "network-acl",
    };
    let tagged = |key: &str, value: &str| {
        aws.ec2.describe_tags().set_filters(Some(vec![
            filter("resource-type", resource_type),
            filter("key", key),
            filter("value", value),
        ]))
    };
    // Only copies of this create carry its token; without one recorded,
    // nothing proves a tagged copy ours, and none is deleted.
    let Some(token) = cx.recorded_create_token() else {
        return Ok(Vec::new());
    };
    let (ours, in_env, this_create) = tokio::join!(
        tagged(paysec_core::tags::LOGICAL_ID, cx.resource.as_str()).send(),
        tagged(paysec_core::tags::ENVIRONMENT, cx.env.name.as_str()).send(),
        tagged(paysec_core::tags::CREATE_TOKEN, token).send()
    );
    let ours = ours.or_resource(id, "DescribeTags")?;
    let in_env = in_env.or_resource(id, "DescribeTags")?;
    let this_create = this_create.or_resource(id, "DescribeTags")?;
    let ids_of = |out: &aws_sdk_ec2::operation::describe_tags::DescribeTagsOutput| -> Vec<String> {
        out.tags()
            .iter()
            .filter_map(|t| t.resource_id().map(str::to_owned))
            .collect()
    };
    let (env_ids, token_ids) = (ids_of(&in_env), ids_of(&this_create));
    let tagged: Vec<String> = ids_of(&ours)
        .into_iter()
        .filter(|r| r != keep && env_ids.contains(r) && token_ids.contains(r))
        .collect();
    if tagged.is_empty() {
        return Ok(Vec::new());
    }
    // Tags can outlive what they were on (a copy deleted moments ago): only
    // copies the kind's own listing shows are strays. Listed by the
    // environment's tag, not by id, so a copy made moments ago is not
    // refused as unknown (and moto answers a `*-id` filter with HTTP 500).
    let listed: Vec<String> = match kind {
        Copyable::Vpc => aws
            .ec2
            .describe_vpcs()
            .set_filters(Some(in_environment(cx)))
            .send()
            .await
            .or_resource(id, "DescribeVpcs")?
            .vpcs()
            .iter()
            .filter_map(|v| v.vpc_id().map(str::to_owned))
            .collect(),
        Copyable::RouteTable => aws
            .ec2
            .describe_route_tables()
            .set_filters(Some(in_environment(cx)))
            .send()
            .await
            .or_resource(id, "DescribeRouteTables")?
            .route_tables()
            .iter()
            .filter_map(|t| t.route_table_id().map(str::to_owned))
            .collect(),
        Copyable::NetworkAcl => aws
            .ec2
            .describe_network_acls()
            .set_filters(Some(in_environment(cx)))
            .send()
            .await
            .or_resource(id, "DescribeNetworkAcls")?
            .network_acls()
            .iter()
            .filter_map(|a| a.network_acl_id().map(str::to_owned))
            .collect(),
    };
    let strays: Vec<String> = tagged.into_iter().filter(|t| listed.contains(t)).collect();
    for stray in &strays {
        let op = "Delete (second copy)";
        // Listed, so it exists: a NotFound on its delete means EC2 does not
        // show the (young) id yet, not that it is gone.
        let deleted = after_create(|| async {
            match kind {
                Copyable::Vpc => aws
                    .ec2
                    .delete_vpc()
                    .vpc_id(stray)
                    .send()
                    .await
                    .map(drop)
                    .or_resource(id, op),
                Copyable::RouteTable => aws
                    .ec2
                    .delete_route_table()
                    .route_table_id(stray)
                    .send()
                    .await
                    .map(drop)
                    .or_resource(id, op),
                Copyable::NetworkAcl => aws
                    .ec2
                    .delete_network_acl()
                    .network_acl_id(stray)
                    .send()
                    .await
                    .map(drop)
                    .or_resource(id, op),
            }
        })
        .await;
        not_found_is_none(deleted)?;
    }
    Ok(strays)
}

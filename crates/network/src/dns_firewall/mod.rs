//! The Route 53 Resolver DNS Firewall on the VPC: a walled garden against
//! DNS tunnelling (a tampered function carrying data out in the names it
//! looks up). Two domain lists (the names the stack needs; `*`), a rule
//! group that allows the first and blocks the rest with NODATA, and its
//! association with the VPC (mutation protection on; the VPC's firewall
//! fails closed, AWS's default, read back).
//!
//! Resolver ids are random and names not unique, so each create passes
//! the create's token as its `CreatorRequestId` (AWS answers a repeat with
//! the same token with what it made then) and tags what it makes; a lost
//! one is found by its name and tags.

mod association;
mod domain_list;
mod rule_group;

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_route53resolver::types::{
    Action, BlockResponse, FirewallDomainRedirectionAction, FirewallDomainUpdateOperation,
    FirewallFailOpenStatus, FirewallRuleGroupAssociationStatus, MutationProtectionStatus, Tag,
};
use paysec_aws::emulator::Gap;
use paysec_aws::AwsResultExt;
use paysec_core::context::WaitBudget;
use paysec_core::error::not_found_is_none;
use paysec_core::resource::{
    Checks, Comparison, Context, DeleteOutcome, Dependency, Observed, Present, Resource,
};
use paysec_core::retry::{retrying, rules};
use paysec_core::Attr;
use paysec_core::Property;
use paysec_core::{ErrorClass, LogicalId, ResourceError};

/// The association's place among the VPC's rule groups (AWS: 100-9900,
/// lowest first).
pub const ASSOCIATION_PRIORITY: i32 = 101;
const ALLOW_PRIORITY: i32 = 100;
const BLOCK_PRIORITY: i32 = 200;
const SETTING: &str = "network.endpoint_wait_minutes";

/// The names a workload in the stack's VPC resolves, for `region`: the
/// AWS APIs it reaches through its endpoints (private DNS answers the
/// services' own names), S3 through the gateway endpoint, the database's
/// endpoint, the payment API's name (callers in the VPC reach it through
/// the `execute-api` endpoint's private DNS), the endpoints' own names,
/// and the VPC's internal host names. Everything else is blocked.
pub fn allowed_domains(region: &str) -> Vec<String> {
    let mut d: Vec<String> = [
        format!("xray.{region}.amazonaws.com"),
        format!("*.execute-api.{region}.amazonaws.com"),
        format!("rds.{region}.amazonaws.com"),
        format!("*.{region}.rds.amazonaws.com"),
        format!("s3.{region}.amazonaws.com"),
        format!("*.s3.{region}.amazonaws.com"),
        "s3.amazonaws.com".to_owned(),
        "*.s3.amazonaws.com".to_owned(),
        "*.vpce.amazonaws.com".to_owned(),
        "*.compute.internal".to_owned(),
        "*.ec2.internal".to_owned(),
    ]
    .into();
    d.sort();
    d
}

/// Which domain list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Domains {
    /// [`allowed_domains`] of the stack's region, and what the
    /// configuration adds: the AWS services the code reaches through
    /// interface endpoints (`services`: their regional API names) and the
    /// names a partner's PrivateLink service answers to (`names`).
    Allowed {
        services: Vec<String>,
        names: Vec<String>,
    },
    /// `*`: every name.
    Everything,
}

impl Domains {
    fn wanted(&self, region: &str) -> Vec<String> {
        match self {
            Self::Allowed { services, names } => {
                let mut d = allowed_domains(region);
                d.extend(
                    services
                        .iter()
                        .map(|s| format!("{s}.{region}.amazonaws.com")),
                );
                d.extend(names.iter().cloned());
                d.sort();
                d.dedup();
                d
            }
            Self::Everything => vec!["*".to_owned()],
        }
    }

    fn purpose(&self) -> &'static str {
        match self {
            Self::Allowed { .. } => "dns-allowed",
            Self::Everything => "dns-everything",
        }
    }
}

/// A domain as a DNS name: without its root dot, in lower case.
fn dns_name(domain: &str) -> String {
    domain.trim_end_matches('.').to_ascii_lowercase()
}

/// Whether two domain lists name the same DNS names (in any order).
fn same_names(a: &[String], b: &[String]) -> bool {
    let set = |l: &[String]| {
        l.iter()
            .map(|d| dns_name(d))
            .collect::<std::collections::BTreeSet<_>>()
    };
    set(a) == set(b)
}

fn tags(cx: &Context) -> Vec<Tag> {
    cx.tags()
        .into_iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect()
}

/// The live tags of a resolver resource, as pairs.
async fn live_tags(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    arn: &str,
) -> Result<Vec<(String, String)>, ResourceError> {
    let mut all = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let out = aws
            .resolver
            .list_tags_for_resource()
            .resource_arn(arn)
            .set_next_token(next.take())
            .send()
            .await
            .or_resource(id, "ListTagsForResource")?;
        all.extend(
            out.tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned())),
        );
        match out.next_token() {
            Some(t) if !t.is_empty() => next = Some(t.to_owned()),
            _ => return Ok(all),
        }
    }
}

/// The `(id, ARN)` of each listed element (name, id, ARN) named `name`:
/// the candidates [`find_ours`] proves by their tags.
fn named<'a>(
    listed: impl Iterator<Item = (Option<&'a str>, Option<&'a str>, Option<&'a str>)>,
    name: &str,
) -> Vec<(String, String)> {
    listed
        .filter(|(n, _, _)| *n == Some(name))
        .map(|(_, id, arn)| {
            (
                id.unwrap_or_default().to_owned(),
                arn.unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Of the resources named `name` (id, arn), the one whose tags name this
/// environment and logical id (and the recorded create token, if any).
async fn find_ours(
    aws: &paysec_aws::Aws,
    cx: &Context,
    id: &LogicalId,
    candidates: Vec<(String, String)>,
) -> Result<Option<(String, String)>, ResourceError> {
    for (rid, arn) in candidates {
        let live = live_tags(aws, id, &arn).await?;
        let wanted: Vec<(String, String)> = cx
            .tags()
            .into_iter()
            .filter(|(k, _)| k.starts_with("paysec:"))
            .collect();
        if paysec_core::tags::missing(&wanted, &live).is_empty() {
            return Ok(Some((rid, arn)));
        }
    }
    Ok(None)
}

async fn retag(
    aws: &paysec_aws::Aws,
    cx: &Context,
    id: &LogicalId,
    arn: &str,
) -> Result<(), ResourceError> {
    aws.resolver
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(tags(cx)))
        .send()
        .await
        .or_resource(id, "TagResource")?;
    Ok(())
}

fn present(id: &str, arn: &str) -> Present {
    Present::new(id).with(Attr::Arn, arn)
}

pub use association::{Association, AssociationProperty};
pub use domain_list::{DomainList, DomainListProperty};
pub use rule_group::{RuleGroup, RuleGroupProperty};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allowed_list_adds_the_code_s_services_and_partner_names() {
        let d = Domains::Allowed {
            services: vec!["secretsmanager".into(), "kms".into()],
            names: vec!["api.processor.example".into()],
        }
        .wanted("eu-west-3");
        for name in [
            "secretsmanager.eu-west-3.amazonaws.com",
            "kms.eu-west-3.amazonaws.com",
            "api.processor.example",
            "*.execute-api.eu-west-3.amazonaws.com",
            "xray.eu-west-3.amazonaws.com",
        ] {
            assert!(d.contains(&name.to_owned()), "{name} in {d:?}");
        }
        let plain = Domains::Allowed {
            services: vec![],
            names: vec![],
        }
        .wanted("eu-west-3");
        assert_eq!(plain, allowed_domains("eu-west-3"));
    }

    #[test]
    fn the_allowed_names_are_the_stacks_services_in_its_region_only() {
        let d = allowed_domains("eu-west-3");
        assert!(d.contains(&"xray.eu-west-3.amazonaws.com".to_owned()));
        assert!(d.contains(&"*.eu-west-3.rds.amazonaws.com".to_owned()));
        assert!(!d
            .iter()
            .any(|n| n == "*" || n == "*.amazonaws.com" || n == "*.com"));
        let mut sorted = d.clone();
        sorted.sort();
        assert_eq!(d, sorted, "compared as a sorted list");
        // AWS's syntax: an optional leading `*.`, then letters, digits,
        // hyphens and dots, 1-255 characters.
        for n in &d {
            let rest = n.strip_prefix("*.").unwrap_or(n);
            assert!(n.len() <= 255 && !rest.is_empty(), "{n}");
            assert!(
                rest.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'),
                "{n}"
            );
        }
    }
}

//! The account's quotas the stack draws on (VPCs, KMS keys, interface
//! endpoints per VPC), counted against what the run creates ([`Creates`]).

use paysec_aws::emulator::Gap;
use paysec_aws::sdk::servicequotas;
use paysec_aws::Aws;
use paysec_config::Config;

use crate::Component;

use super::endpoints::interface_endpoint_ids;
use super::{refusal, Preflight, Refused, Verdict};

/// What a run creates that the account's quotas count: its
/// environments' resources their ledgers do not record yet. An existing
/// environment's no-op `up` creates nothing and needs no room.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Creates {
    /// New VPCs (one per environment without one).
    pub vpcs: usize,
    /// New customer managed KMS keys.
    pub keys: usize,
    /// Interface endpoints already in the fullest environment's VPC, and
    /// the ones the run adds there (each environment has its own VPC, so
    /// the quota per VPC is checked against the fullest).
    pub endpoints_existing: usize,
    pub endpoints_new: usize,
}

impl Creates {
    /// One environment's, given whether its ledger records an id.
    pub fn of(config: &Config, recorded: impl Fn(&str) -> bool) -> Self {
        use crate::ids;
        let keys = [
            (ids::KMS_S3, true),
            (ids::KMS_LOGS, true),
            (ids::KMS_RDS, Component::Rds.enabled_in(config)),
            (ids::KMS_LAMBDA, Component::Lambda.enabled_in(config)),
        ];
        let endpoints: Vec<String> = interface_endpoint_ids(config);
        Self {
            vpcs: usize::from(!recorded(ids::VPC)),
            keys: keys
                .iter()
                .filter(|(id, built)| *built && !recorded(id))
                .count(),
            endpoints_existing: endpoints.iter().filter(|id| recorded(id)).count(),
            endpoints_new: endpoints.iter().filter(|id| !recorded(id)).count(),
        }
    }

    /// Two environments' together (in one account and region).
    pub fn and(self, other: Self) -> Self {
        let fullest = if other.endpoints_existing + other.endpoints_new
            > self.endpoints_existing + self.endpoints_new
        {
            other
        } else {
            self
        };
        Self {
            vpcs: self.vpcs + other.vpcs,
            keys: self.keys + other.keys,
            endpoints_existing: fullest.endpoints_existing,
            endpoints_new: fullest.endpoints_new,
        }
    }
}

/// Whether `needed` more fit `used` of `quota`; `Err` says what to do.
pub fn quota_room(
    what: &str,
    code: &str,
    used: usize,
    needed: usize,
    quota: f64,
) -> Result<String, String> {
    if ((used + needed) as f64) <= quota {
        Ok(format!("{used} of {quota} {what}, {needed} more needed"))
    } else {
        Err(format!(
            "{used} of {quota} {what} are used and this run needs {needed} more (Service Quotas {code}); request an increase or remove unused ones"
        ))
    }
}

/// The account's quotas the stack draws on, where Service Quotas answers:
/// VPCs per region, customer managed KMS keys, interface endpoints per
/// VPC; each counted against what the run creates (`creates`), and not
/// asked when it creates none.
pub(super) async fn quotas(aws: &Aws, p: &mut Preflight, creates: Creates) {
    let Creates {
        vpcs: environments,
        keys,
        endpoints_existing,
        endpoints_new: endpoints,
    } = creates;
    let emulator = aws.tolerates(Gap::CatalogReadsMissing);
    let (vpc_quota, vpcs, key_quota, endpoint_quota) = tokio::join!(
        quota_value(aws, "vpc", "L-F678F1CE"),
        aws.ec2.describe_vpcs().send(),
        quota_value(aws, "kms", "L-C2F1777E"),
        async {
            if endpoints == 0 {
                return None;
            }
            Some(quota_value(aws, "vpc", "L-29B6F2EB").await)
        },
    );
    match endpoint_quota {
        None => {}
        Some(Ok(value)) => match value {
            Some(value) => match quota_room(
                "interface endpoints per VPC",
                "vpc/L-29B6F2EB",
                endpoints_existing,
                endpoints,
                value,
            ) {
                Ok(detail) => p.push("quota: endpoints", Verdict::Ok, detail),
                Err(why) => p.push("quota: endpoints", Verdict::Fail, why),
            },
            None => p.push(
                "quota: endpoints",
                Verdict::NotChecked,
                "Service Quotas gave no value",
            ),
        },
        Some(Err(e)) => {
            p.refused.extend(e.refused);
            p.push(
                "quota: endpoints",
                Verdict::unanswered(emulator, Verdict::Warning),
                e.text,
            )
        }
    }
    match (vpc_quota, vpcs) {
        (Ok(value), Ok(v)) => match value {
            Some(value) => match quota_room(
                "VPCs in the region",
                "vpc/L-F678F1CE",
                v.vpcs().len(),
                environments,
                value,
            ) {
                Ok(detail) => p.push("quota: VPCs", Verdict::Ok, detail),
                Err(why) => p.push("quota: VPCs", Verdict::Fail, why),
            },
            None => p.push(
                "quota: VPCs",
                Verdict::NotChecked,
                "Service Quotas gave no value",
            ),
        },
        (Err(e), _) => {
            p.refused.extend(e.refused);
            p.push(
                "quota: VPCs",
                Verdict::unanswered(emulator, Verdict::Warning),
                e.text,
            )
        }
        (_, Err(e)) => {
            p.note_refusal("DescribeVpcs", &e);
            p.push(
                "quota: VPCs",
                Verdict::Warning,
                format!("DescribeVpcs: {}", paysec_aws::classify::one_line(&e)),
            )
        }
    }
    match key_quota {
        Ok(value) => match value {
            // Keys are counted only when the quota is near reach: listing
            // every key of a large account costs more than it tells.
            Some(value) if keys == 0 => p.push(
                "quota: KMS keys",
                Verdict::Ok,
                format!("quota {value} customer managed keys; this run makes none"),
            ),
            Some(value) if value < 1000.0 => {
                let mut used = 0;
                let mut pages = aws.kms.list_keys().into_paginator().send();
                while let Some(page) = pages.next().await {
                    match page {
                        Ok(page) => used += page.keys().len(),
                        Err(e) => {
                            p.note_refusal("ListKeys", &e);
                            break;
                        }
                    }
                }
                match quota_room("KMS keys", "kms/L-C2F1777E", used, keys, value) {
                    Ok(detail) => p.push("quota: KMS keys", Verdict::Ok, detail),
                    Err(why) => p.push("quota: KMS keys", Verdict::Fail, why),
                }
            }
            Some(value) => p.push(
                "quota: KMS keys",
                Verdict::Ok,
                format!("quota {value} customer managed keys"),
            ),
            None => p.push(
                "quota: KMS keys",
                Verdict::NotChecked,
                "Service Quotas gave no value",
            ),
        },
        Err(e) => {
            p.refused.extend(e.refused);
            p.push(
                "quota: KMS keys",
                Verdict::unanswered(emulator, Verdict::Warning),
                e.text,
            )
        }
    }
}

/// A quota's value in this account: GetServiceQuota, or, for a quota
/// never adjusted, which it answers `NoSuchResourceException`,
/// GetAWSDefaultServiceQuota (as Terraform's `aws_servicequotas_service_quota`
/// data source falls back). `Err` is the failed call, one line.
///
/// IAM: servicequotas:GetServiceQuota, servicequotas:GetAWSDefaultServiceQuota.
async fn quota_value(aws: &Aws, service: &str, code: &str) -> Result<Option<f64>, Unread> {
    let checks = || servicequotas::config::Builder::default().retry_config(aws.retry_for_checks());
    let adjusted = aws
        .quotas
        .get_service_quota()
        .service_code(service)
        .quota_code(code)
        .customize()
        .config_override(checks())
        .send()
        .await;
    match adjusted {
        Ok(q) => Ok(q.quota().and_then(|q| q.value())),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_resource_exception()) =>
        {
            aws.quotas
                .get_aws_default_service_quota()
                .service_code(service)
                .quota_code(code)
                .customize()
                .config_override(checks())
                .send()
                .await
                .map(|q| q.quota().and_then(|q| q.value()))
                .map_err(|e| Unread {
                    text: format!(
                        "GetAWSDefaultServiceQuota {service}/{code}: {}",
                        paysec_aws::classify::one_line(&e)
                    ),
                    refused: refusal("GetAWSDefaultServiceQuota", &e),
                })
        }
        Err(e) => Err(Unread {
            text: format!(
                "GetServiceQuota {service}/{code}: {}",
                paysec_aws::classify::one_line(&e)
            ),
            refused: refusal("GetServiceQuota", &e),
        }),
    }
}

/// A quota that could not be read: the failed call in one line, and the
/// refusal if AWS refused it for want of a permission.
struct Unread {
    text: String,
    refused: Option<Refused>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quota_has_room_for_one_more_or_says_what_to_do() {
        assert!(quota_room("VPCs", "vpc/L-F678F1CE", 4, 1, 5.0).is_ok());
        let why = quota_room("VPCs", "vpc/L-F678F1CE", 5, 1, 5.0).unwrap_err();
        assert!(why.contains("request an increase"), "{why}");
        assert!(
            quota_room("VPCs", "vpc/L-F678F1CE", 1, 10, 5.0).is_err(),
            "a fleet of ten needs ten"
        );
    }
}

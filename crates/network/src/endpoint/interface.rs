//! Interface endpoints in the three subnets: to an AWS service, with private
//! DNS and a policy, or to a partner's PrivateLink service; and the wait
//! until one is in service.

use paysec_core::Attr;
use paysec_core::Property;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{ResourceType, VpcEndpointType};
use paysec_aws::AwsResultExt;
use paysec_core::policy_doc;
use paysec_core::resource::{
    Checks, Comparison, Context, DeleteOutcome, Dependency, Observed, Present, QuickCheck,
    Resource, WaitBudget,
};
use paysec_core::retry::rules;
use paysec_core::{LogicalId, ResourceError};
use serde_json::Value;
use tokio::time::Instant;

use super::delete::delete_and_wait;
use super::describe::{describe, describe_any, quick_check, state};
use super::{created_id, service_name, PolicyFn, DEFAULT_WAIT, SETTING};
use crate::ec2;

paysec_core::properties! {
    /// What an interface endpoint's read compares (NET-13..15, NET-26, INV-1).
    pub enum InterfaceEndpointProperty {
        PrivateDnsEnabled = "private_dns_enabled",
        Subnets = "subnets",
        Policy = "policy",
        State = "state",
        Tags = "tags",
    }
}

/// What an interface endpoint connects to.
#[derive(Clone, Debug)]
pub enum EndpointService {
    /// An AWS service by its short name (`rds`, `secretsmanager`...): its
    /// region's service name, private DNS on, an endpoint policy.
    Aws(String),
    /// A PrivateLink endpoint service offered by another account (a
    /// payment processor): its full name as given, private DNS only if
    /// its provider offers a private name (the names it answers go in
    /// the DNS Firewall's list instead), no endpoint policy (those are
    /// for AWS services).
    Partner(String),
}

pub struct InterfaceEndpoint {
    id: LogicalId,
    aws: paysec_aws::Aws,
    vpc: LogicalId,
    subnets: Vec<LogicalId>,
    security_group: LogicalId,
    service: EndpointService,
    wait: Duration,
    policy: PolicyFn,
    /// What the policy names besides the network (the API the
    /// `execute-api` endpoint serves).
    policy_subjects: Vec<LogicalId>,
}

/// An interface endpoint's policy when none is given: calls only by this
/// account's principals on this account's resources. The default policy
/// AWS sets allows anything, so a tampered workload could use the endpoint
/// with another account's credentials to carry data out.
pub fn same_account_policy(cx: &Context) -> Value {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "ThisAccountOnly",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "*",
            "Resource": "*",
            "Condition": { "StringEquals": {
                "aws:PrincipalAccount": cx.env.account,
                "aws:ResourceAccount": cx.env.account
            } }
        }]
    })
}

impl InterfaceEndpoint {
    pub fn new(
        id: LogicalId,
        aws: paysec_aws::Aws,
        vpc: LogicalId,
        subnets: Vec<LogicalId>,
        security_group: LogicalId,
        service: &str,
    ) -> Self {
        Self::to(
            id,
            aws,
            vpc,
            subnets,
            security_group,
            EndpointService::Aws(service.to_owned()),
        )
    }

    /// An endpoint to `service`, AWS's or a partner's.
    pub fn to(
        id: LogicalId,
        aws: paysec_aws::Aws,
        vpc: LogicalId,
        subnets: Vec<LogicalId>,
        security_group: LogicalId,
        service: EndpointService,
    ) -> Self {
        Self {
            id,
            aws,
            vpc,
            subnets,
            security_group,
            service,
            wait: DEFAULT_WAIT,
            policy: Box::new(same_account_policy),
            policy_subjects: Vec::new(),
        }
    }

    /// The budget for the endpoint to become available, or to be gone
    /// after its delete.
    pub fn waiting_up_to(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// Private DNS (and an endpoint policy) for AWS's services only.
    fn private_dns(&self) -> bool {
        matches!(self.service, EndpointService::Aws(_))
    }

    fn service_name(&self, cx: &Context) -> String {
        match &self.service {
            EndpointService::Aws(s) => service_name(cx, s),
            EndpointService::Partner(name) => name.clone(),
        }
    }

    /// A narrower endpoint policy than [`same_account_policy`].
    pub fn with_policy(mut self, policy: PolicyFn) -> Self {
        self.policy = policy;
        self
    }

    /// A policy naming `subjects` (their ids), which must exist first.
    pub fn with_policy_naming(mut self, subjects: Vec<LogicalId>, policy: PolicyFn) -> Self {
        self.policy = policy;
        self.policy_subjects = subjects;
        self
    }
}

#[async_trait]
impl Resource for InterfaceEndpoint {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "vpc_endpoint_interface"
    }

    /// Pending while AWS places the endpoint in each subnet.
    fn typical_wait(&self) -> Duration {
        Duration::from_secs(120)
    }

    fn dependencies(&self) -> Vec<Dependency> {
        std::iter::once(&self.vpc)
            .chain(&self.subnets)
            .chain(std::iter::once(&self.security_group))
            .chain(&self.policy_subjects)
            .cloned()
            .map(Dependency::Identity)
            .collect()
    }

    async fn quick_check(
        &self,
        cx: &Context,
        known: &Present,
    ) -> Result<QuickCheck, ResourceError> {
        quick_check(&self.aws, &self.id, cx, known).await
    }

    async fn read(&self, cx: &Context, known: Option<&Present>) -> Result<Observed, ResourceError> {
        let Some(e) = describe(&self.aws, &self.id, cx, known).await? else {
            return Ok(Observed::Missing);
        };
        let mut checks = Checks::default();
        checks.equal(
            InterfaceEndpointProperty::PrivateDnsEnabled,
            self.private_dns(),
            e.private_dns_enabled().unwrap_or(false),
        );
        for s in &self.subnets {
            let subnet = cx.physical_id(s)?;
            let ok = e.subnet_ids().iter().any(|x| x == subnet);
            let have = e.subnet_ids().join(",");
            checks.check(
                InterfaceEndpointProperty::Subnets,
                ok,
                subnet,
                if ok { subnet } else { &have },
            );
        }
        if self.private_dns() {
            let policy = e
                .policy_document()
                .map(policy_doc::parse)
                .unwrap_or(Value::Null);
            checks.policy(
                InterfaceEndpointProperty::Policy,
                &(self.policy)(cx),
                &policy,
            );
        } else {
            checks.not_applicable(
                InterfaceEndpointProperty::Policy,
                "an endpoint to a partner's PrivateLink service: endpoint policies are for AWS services; the partner's service decides whom it accepts",
            );
        }
        // In service: a partner's endpoint stays `pendingAcceptance` until
        // its provider accepts the connection, which paysec cannot do.
        let now = state(&e);
        // Quoted as AWS spells it (`pendingAcceptance`).
        let quoted = e.state().map(|s| s.as_str()).unwrap_or("unreported");
        checks.check(
            InterfaceEndpointProperty::State,
            now == "available",
            "available",
            match e.last_error().and_then(|l| l.message()) {
                Some(why) if now != "available" => format!("{quoted}: {why}"),
                _ => quoted.to_owned(),
            },
        );
        ec2::check_tags(&mut checks, cx, e.tags());
        Ok(checks
            .observed(Present::new(e.vpc_endpoint_id().unwrap_or_default()).with(Attr::State, now)))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let subnets = self
            .subnets
            .iter()
            .map(|s| cx.physical_id(s).map(str::to_owned))
            .collect::<Result<Vec<_>, _>>()?;
        let mut req = self
            .aws
            .ec2
            .create_vpc_endpoint()
            .vpc_id(cx.physical_id(&self.vpc)?)
            .vpc_endpoint_type(VpcEndpointType::Interface)
            .service_name(self.service_name(cx))
            .set_subnet_ids(Some(subnets))
            .security_group_ids(cx.physical_id(&self.security_group)?)
            .private_dns_enabled(self.private_dns())
            .client_token(cx.create_token())
            .tag_specifications(ec2::tag_spec(cx, ResourceType::VpcEndpoint));
        if self.private_dns() {
            req = req.policy_document((self.policy)(cx).to_string());
        }
        let out = ec2::send_after_create!(req, &self.id, "CreateVpcEndpoint").await?;
        Ok(Present::new(created_id(&self.id, &out)?))
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        let mut req = self
            .aws
            .ec2
            .modify_vpc_endpoint()
            .vpc_endpoint_id(&present.physical_id);
        let mut modify = false;
        for (p, _) in InterfaceEndpointProperty::drifted(&self.id, drift)? {
            modify |= !matches!(
                p,
                InterfaceEndpointProperty::Tags | InterfaceEndpointProperty::State
            );
            match p {
                InterfaceEndpointProperty::PrivateDnsEnabled => {
                    req = req.private_dns_enabled(self.private_dns())
                }
                InterfaceEndpointProperty::Policy => {
                    req = req.policy_document((self.policy)(cx).to_string())
                }
                InterfaceEndpointProperty::Subnets => {
                    for s in &self.subnets {
                        req = req.add_subnet_ids(cx.physical_id(s)?);
                    }
                }
                // Not paysec's to change: the wait below says what to do.
                InterfaceEndpointProperty::State => {}
                InterfaceEndpointProperty::Tags => {
                    ec2::retag(&self.aws, cx, &self.id, &present.physical_id).await?
                }
            }
        }
        if modify {
            // ec2:ModifyVpcEndpoint
            req.send()
                .await
                .or_resource(&self.id, "ModifyVpcEndpoint")?;
        }
        Ok(present.clone())
    }

    /// Available; or, for a partner's service that accepts connections by
    /// hand, `pendingAcceptance`, which is where AWS leaves it until the
    /// provider accepts (the Terraform provider's wait ends there too):
    /// said, since the code cannot reach the service until then. Still
    /// pending after the budget is an error naming the setting.
    async fn wait_ready(&self, cx: &Context, present: Present) -> Result<Present, ResourceError> {
        let created = Instant::now();
        let partner = !self.private_dns();
        let settled = cx
            .poll_until(
                "the endpoint to become available",
                "available",
                WaitBudget {
                    limit: self.wait,
                    setting: SETTING,
                },
                || async {
                    // ec2:DescribeVpcEndpoints
                    let e = describe_any(&self.aws, &self.id, cx, Some(&present)).await?;
                    let why = || {
                        e.as_ref()
                            .and_then(|e| e.last_error())
                            .and_then(|l| l.message())
                            .map(|m| format!(" ({m})"))
                            .unwrap_or_default()
                    };
                    match e.as_ref().map(state).as_deref() {
                        Some("available") => Ok(Some("available")),
                        Some("pendingacceptance") if partner => Ok(Some("pendingAcceptance")),
                        Some("rejected") => Err(ResourceError::unexpected(
                            &self.id,
                            format!(
                                "the provider of {} rejected the connection of endpoint {}{}: ask them to accept it, or remove the service from network.private_services, then run `paysec up` again",
                                self.service_name(cx),
                                present.physical_id,
                                why()
                            ),
                        )),
                        // Just created: EC2 may not show it yet (eventual
                        // consistency), which is not "gone".
                        None if created.elapsed() < rules::EC2_NOT_YET_VISIBLE[0].budget => {
                            Ok(None)
                        }
                        Some("failed" | "deleting") | None => Err(ResourceError::unexpected(
                            &self.id,
                            format!(
                                "the endpoint failed or disappeared while being created{}",
                                why()
                            ),
                        )),
                        _ => Ok(None),
                    }
                },
            )
            .await?;
        if settled == "pendingAcceptance" {
            tracing::warn!(
                "{}: endpoint {} to {} waits for its provider to accept the connection (pendingAcceptance); the function cannot reach the service until they do: send them the endpoint id; `paysec verify` fails NET-26 until then",
                self.id,
                present.physical_id,
                self.service_name(cx)
            );
        }
        Ok(present.with(Attr::State, settled))
    }

    async fn delete(&self, cx: &Context, known: &Present) -> Result<DeleteOutcome, ResourceError> {
        delete_and_wait(&self.aws, &self.id, cx, known, self.wait).await?;
        Ok(DeleteOutcome::default())
    }
}

//! VPC endpoints: S3 as a gateway on the route table, with a policy limited
//! to the stack's buckets; interface endpoints in the three subnets, to AWS
//! services with private DNS and a policy (RDS, X-Ray, execute-api, the
//! services the code calls) or to a partner's PrivateLink service. Each
//! takes a client token, so a retried create after a crash returns the
//! same endpoint.

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

use crate::ec2;

/// Both endpoints' quick check: one DescribeVpcEndpoints of the
/// environment, shared; there and `available` (policy, route table,
/// subnets and DNS are read only by a full read).
async fn quick_check(
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

/// Builds an endpoint policy from the context.
pub type PolicyFn = Box<dyn Fn(&Context) -> Value + Send + Sync>;

/// How long to wait for an endpoint to become available or to go away,
/// unless configured (`network.endpoint_wait_minutes`).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(10 * 60);
const SETTING: &str = "network.endpoint_wait_minutes";

/// The endpoint's state, lowercased: EC2 documents `Available` but sends
/// `available`, which the SDK's case-sensitive enum parses as unknown.
fn state(e: &aws_sdk_ec2::types::VpcEndpoint) -> String {
    e.state()
        .map(|s| s.as_str().to_ascii_lowercase())
        .unwrap_or_default()
}

fn service_name(cx: &Context, service: &str) -> String {
    cx.env.endpoint_service_name(service)
}

/// The endpoint (by id, else by tags) in any state but `deleted`.
async fn describe_any(
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
async fn describe(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    cx: &Context,
    known: Option<&Present>,
) -> Result<Option<aws_sdk_ec2::types::VpcEndpoint>, ResourceError> {
    Ok(describe_any(aws, id, cx, known)
        .await?
        .filter(|e| !matches!(state(e).as_str(), "deleting" | "failed")))
}

async fn delete_and_wait(
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

fn created_id(
    id: &LogicalId,
    out: &aws_sdk_ec2::operation::create_vpc_endpoint::CreateVpcEndpointOutput,
) -> Result<String, ResourceError> {
    out.vpc_endpoint()
        .and_then(|e| e.vpc_endpoint_id())
        .map(str::to_owned)
        .ok_or_else(|| ResourceError::unexpected(id, "CreateVpcEndpoint returned no id"))
}

paysec_core::properties! {
    /// What a gateway endpoint's read compares (NET-11, NET-12, INV-1).
    pub enum GatewayEndpointProperty {
        Policy = "policy",
        RouteTables = "route_tables",
        Tags = "tags",
    }
}

pub struct GatewayEndpoint {
    id: LogicalId,
    aws: paysec_aws::Aws,
    vpc: LogicalId,
    route_table: LogicalId,
    service: &'static str,
    policy: PolicyFn,
    wait: Duration,
}

impl GatewayEndpoint {
    pub fn new(
        id: LogicalId,
        aws: paysec_aws::Aws,
        vpc: LogicalId,
        route_table: LogicalId,
        service: &'static str,
        policy: PolicyFn,
    ) -> Self {
        Self {
            id,
            aws,
            vpc,
            route_table,
            service,
            policy,
            wait: DEFAULT_WAIT,
        }
    }

    /// The budget for the endpoint to be gone after its delete.
    pub fn waiting_up_to(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }
}

#[async_trait]
impl Resource for GatewayEndpoint {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "vpc_endpoint_gateway"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        vec![
            Dependency::Identity(self.vpc.clone()),
            Dependency::Identity(self.route_table.clone()),
        ]
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
        let policy = e
            .policy_document()
            .map(policy_doc::parse)
            .unwrap_or(Value::Null);
        checks.policy(GatewayEndpointProperty::Policy, &(self.policy)(cx), &policy);
        let rt = cx.physical_id(&self.route_table)?;
        checks.check(
            GatewayEndpointProperty::RouteTables,
            e.route_table_ids().iter().any(|r| r == rt),
            rt,
            e.route_table_ids().join(","),
        );
        ec2::check_tags(&mut checks, cx, e.tags());
        Ok(checks.observed(Present::new(e.vpc_endpoint_id().unwrap_or_default())))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let req = self
            .aws
            .ec2
            .create_vpc_endpoint()
            .vpc_id(cx.physical_id(&self.vpc)?)
            .vpc_endpoint_type(VpcEndpointType::Gateway)
            .service_name(service_name(cx, self.service))
            .route_table_ids(cx.physical_id(&self.route_table)?)
            .policy_document((self.policy)(cx).to_string())
            .client_token(cx.create_token())
            .tag_specifications(ec2::tag_spec(cx, ResourceType::VpcEndpoint));
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
        for (p, _) in GatewayEndpointProperty::drifted(&self.id, drift)? {
            match p {
                GatewayEndpointProperty::Policy => {
                    req = req.policy_document((self.policy)(cx).to_string())
                }
                GatewayEndpointProperty::RouteTables => {
                    req = req.add_route_table_ids(cx.physical_id(&self.route_table)?)
                }
                GatewayEndpointProperty::Tags => {
                    ec2::retag(&self.aws, cx, &self.id, &present.physical_id).await?
                }
            }
        }
        req.send()
            .await
            .or_resource(&self.id, "ModifyVpcEndpoint")?;
        Ok(present.clone())
    }

    async fn delete(&self, cx: &Context, known: &Present) -> Result<DeleteOutcome, ResourceError> {
        delete_and_wait(&self.aws, &self.id, cx, known, self.wait).await?;
        Ok(DeleteOutcome::default())
    }
}

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

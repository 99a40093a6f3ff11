//! The gateway endpoint (S3): on the route table, with a policy limited to
//! the stack's buckets.

use paysec_core::Property;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{ResourceType, VpcEndpointType};
use paysec_aws::AwsResultExt;
use paysec_core::policy_doc;
use paysec_core::resource::{
    Checks, Comparison, Context, DeleteOutcome, Dependency, Observed, Present, QuickCheck, Resource,
};
use paysec_core::{LogicalId, ResourceError};
use serde_json::Value;

use super::delete::delete_and_wait;
use super::describe::{describe, quick_check};
use super::{created_id, service_name, PolicyFn, DEFAULT_WAIT};
use crate::ec2;

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

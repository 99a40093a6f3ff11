//! The subnets' route table: only the VPC-local route, so nothing reaches
//! the internet; the S3 gateway endpoint adds its prefix-list route.

use async_trait::async_trait;
use aws_sdk_ec2::types::ResourceType;
use paysec_aws::AwsResultExt;
use paysec_core::resource::{
    Checks, Comparison, Context, DeleteOutcome, Dependency, Observed, Present, Resource,
};
use paysec_core::Property;
use paysec_core::{LogicalId, ResourceError};

use crate::ec2;

paysec_core::properties! {
    /// What the route table's read compares (NET-4, NET-5, INV-1).
    pub enum RouteTableProperty {
        Routes = "routes",
        Associations = "associations",
        Tags = "tags",
    }
}

pub struct RouteTable {
    id: LogicalId,
    aws: paysec_aws::Aws,
    vpc: LogicalId,
    subnets: Vec<LogicalId>,
}

impl RouteTable {
    pub fn new(
        id: LogicalId,
        aws: paysec_aws::Aws,
        vpc: LogicalId,
        subnets: Vec<LogicalId>,
    ) -> Self {
        Self {
            id,
            aws,
            vpc,
            subnets,
        }
    }

    async fn associate(
        &self,
        cx: &Context,
        rt: &str,
        have: &[String],
    ) -> Result<(), ResourceError> {
        for s in &self.subnets {
            let subnet = cx.physical_id(s)?;
            if !have.iter().any(|h| h == subnet) {
                let req = self
                    .aws
                    .ec2
                    .associate_route_table()
                    .route_table_id(rt)
                    .subnet_id(subnet);
                ec2::send_after_create!(req, &self.id, "AssociateRouteTable").await?;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Resource for RouteTable {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "route_table"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        std::iter::once(&self.vpc)
            .chain(&self.subnets)
            .cloned()
            .map(Dependency::Identity)
            .collect()
    }

    async fn remove_strays(
        &self,
        cx: &Context,
        keep: &Present,
    ) -> Result<Vec<String>, ResourceError> {
        ec2::remove_strays(
            &self.aws,
            &self.id,
            cx,
            ec2::Copyable::RouteTable,
            &keep.physical_id,
        )
        .await
    }

    async fn read(&self, cx: &Context, known: Option<&Present>) -> Result<Observed, ResourceError> {
        let Some(rt) = ec2::find!(
            self,
            cx,
            known,
            describe_route_tables,
            route_table_ids,
            set_filters,
            route_tables,
            "DescribeRouteTables"
        ) else {
            return Ok(Observed::Missing);
        };
        let mut checks = Checks::default();
        // Any route through a gateway other than the VPC itself or a VPC
        // endpoint's prefix list leads out of the private network.
        let outward: Vec<String> = rt
            .routes()
            .iter()
            .filter(|r| {
                let gw = r.gateway_id().unwrap_or("local");
                let to_endpoint =
                    gw.starts_with("vpce-") && r.destination_prefix_list_id().is_some();
                !(gw == "local" || to_endpoint)
                    || r.nat_gateway_id().is_some()
                    || r.transit_gateway_id().is_some()
            })
            .map(|r| {
                format!(
                    "{} via {}",
                    r.destination_cidr_block()
                        .unwrap_or_else(|| r.destination_prefix_list_id().unwrap_or("?")),
                    r.gateway_id().or(r.nat_gateway_id()).unwrap_or("?")
                )
            })
            .collect();
        checks.check(
            RouteTableProperty::Routes,
            outward.is_empty(),
            "local only",
            if outward.is_empty() {
                "local only".to_owned()
            } else {
                outward.join(", ")
            },
        );
        let have: Vec<String> = rt
            .associations()
            .iter()
            .filter_map(|a| a.subnet_id().map(str::to_owned))
            .collect();
        for s in &self.subnets {
            let subnet = cx.physical_id(s)?;
            let ok = have.iter().any(|h| h == subnet);
            checks.check(
                RouteTableProperty::Associations,
                ok,
                subnet,
                if ok { subnet } else { "not associated" },
            );
        }
        ec2::check_tags(&mut checks, cx, rt.tags());
        Ok(checks.observed(Present::new(rt.route_table_id().unwrap_or_default())))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let req = self
            .aws
            .ec2
            .create_route_table()
            .vpc_id(cx.physical_id(&self.vpc)?)
            .tag_specifications(ec2::tag_spec(cx, ResourceType::RouteTable));
        let out = ec2::send_after_create!(req, &self.id, "CreateRouteTable").await?;
        let rt = out
            .route_table()
            .and_then(|r| r.route_table_id())
            .ok_or_else(|| ResourceError::unexpected(&self.id, "CreateRouteTable returned no id"))?
            .to_owned();
        self.associate(cx, &rt, &[]).await?;
        Ok(Present::new(rt))
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        let rt = present.physical_id.as_str();
        for (p, _) in RouteTableProperty::drifted(&self.id, drift)? {
            match p {
                RouteTableProperty::Associations => {
                    let out = self
                        .aws
                        .ec2
                        .describe_route_tables()
                        .route_table_ids(rt)
                        .send()
                        .await
                        .or_resource(&self.id, "DescribeRouteTables")?;
                    let have: Vec<String> = out
                        .route_tables()
                        .iter()
                        .flat_map(|r| r.associations())
                        .filter_map(|a| a.subnet_id().map(str::to_owned))
                        .collect();
                    self.associate(cx, rt, &have).await?;
                }
                RouteTableProperty::Routes => {
                    let out = self
                        .aws
                        .ec2
                        .describe_route_tables()
                        .route_table_ids(rt)
                        .send()
                        .await
                        .or_resource(&self.id, "DescribeRouteTables")?;
                    for r in out.route_tables().iter().flat_map(|t| t.routes()) {
                        let gw = r.gateway_id().unwrap_or("local");
                        if gw == "local" || gw.starts_with("vpce-") {
                            continue;
                        }
                        if let Some(cidr) = r.destination_cidr_block() {
                            self.aws
                                .ec2
                                .delete_route()
                                .route_table_id(rt)
                                .destination_cidr_block(cidr)
                                .send()
                                .await
                                .or_resource(&self.id, "DeleteRoute")?;
                        }
                    }
                }
                RouteTableProperty::Tags => ec2::retag(&self.aws, cx, &self.id, rt).await?,
            }
        }
        Ok(present.clone())
    }

    async fn delete(&self, _cx: &Context, known: &Present) -> Result<DeleteOutcome, ResourceError> {
        let rt = known.physical_id.as_str();
        let out = ec2::not_found_is_none(
            self.aws
                .ec2
                .describe_route_tables()
                .route_table_ids(rt)
                .send()
                .await
                .or_resource(&self.id, "DescribeRouteTables"),
        )?;
        let Some(out) = out else {
            return Ok(DeleteOutcome::default());
        };
        for a in out.route_tables().iter().flat_map(|t| t.associations()) {
            if let (Some(assoc), false) =
                (a.route_table_association_id(), a.main().unwrap_or(false))
            {
                ec2::not_found_is_none(
                    self.aws
                        .ec2
                        .disassociate_route_table()
                        .association_id(assoc)
                        .send()
                        .await
                        .or_resource(&self.id, "DisassociateRouteTable"),
                )?;
            }
        }
        ec2::not_found_is_none(
            self.aws
                .ec2
                .delete_route_table()
                .route_table_id(rt)
                .send()
                .await
                .or_resource(&self.id, "DeleteRouteTable"),
        )?;
        Ok(DeleteOutcome::default())
    }
}

//! Where the database and the function sit in the VPC, as RDS and Lambda
//! report it. Their network interfaces are the first evidence (drawn from
//! the VPC's listing), but an emulator makes none, and on AWS a function's
//! interfaces come and go with its configuration: the services' own
//! answers place them in every case.

use aws_sdk_rds::types::DbInstance;
use paysec_aws::AwsResultExt;
use paysec_core::{LogicalId, ResourceError};

/// The database instance's place and network facts.
#[derive(Clone, Debug, Default)]
pub struct Database {
    pub identifier: String,
    pub zone: String,
    /// The standby's zone (Multi-AZ); RDS leaves it out otherwise, and
    /// moto always does.
    pub standby_zone: Option<String>,
    pub multi_az: bool,
    /// The subnet group's subnets, each with its zone.
    pub subnets: Vec<(String, String)>,
    pub groups: Vec<String>,
    pub endpoint: String,
    pub port: i32,
}

/// The function's place in the VPC (`VpcConfig`).
#[derive(Clone, Debug, Default)]
pub struct Function {
    pub name: String,
    pub subnets: Vec<String>,
    pub groups: Vec<String>,
}

fn database_of(db: &DbInstance) -> Database {
    Database {
        identifier: db.db_instance_identifier().unwrap_or_default().to_owned(),
        zone: db.availability_zone().unwrap_or_default().to_owned(),
        standby_zone: db.secondary_availability_zone().map(str::to_owned),
        multi_az: db.multi_az().unwrap_or(false),
        subnets: db
            .db_subnet_group()
            .map(|g| {
                g.subnets()
                    .iter()
                    .map(|s| {
                        (
                            s.subnet_identifier().unwrap_or_default().to_owned(),
                            s.subnet_availability_zone()
                                .and_then(|z| z.name())
                                .unwrap_or_default()
                                .to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        groups: db
            .vpc_security_groups()
            .iter()
            .filter_map(|g| g.vpc_security_group_id().map(str::to_owned))
            .collect(),
        endpoint: db
            .endpoint()
            .and_then(|e| e.address())
            .unwrap_or_default()
            .to_owned(),
        port: db.endpoint().and_then(|e| e.port()).unwrap_or_default(),
    }
}

/// Reads the instance `identifier`. IAM: rds:DescribeDBInstances.
pub async fn database(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    identifier: &str,
) -> Result<Option<Database>, ResourceError> {
    let out = aws
        .rds
        .describe_db_instances()
        .db_instance_identifier(identifier)
        .send()
        .await;
    match out {
        Ok(out) => Ok(out.db_instances().first().map(database_of)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_db_instance_not_found_fault()) =>
        {
            Ok(None)
        }
        Err(e) => Err(e).or_resource(id, "DescribeDBInstances"),
    }
}

/// Reads the function `name`'s VPC configuration.
/// IAM: lambda:GetFunctionConfiguration.
pub async fn function(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    name: &str,
) -> Result<Option<Function>, ResourceError> {
    let out = aws
        .lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await;
    match out {
        Ok(out) => {
            let vpc = out.vpc_config();
            Ok(Some(Function {
                name: name.to_owned(),
                subnets: vpc.map(|v| v.subnet_ids().to_vec()).unwrap_or_default(),
                groups: vpc
                    .map(|v| v.security_group_ids().to_vec())
                    .unwrap_or_default(),
            }))
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(e).or_resource(id, "GetFunctionConfiguration"),
    }
}

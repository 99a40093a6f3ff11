//! The IAM permissions of the preflight's reads (quotas, catalogs), one
//! row per operation: see
//! [`paysec_aws::permissions`].

use paysec_aws::permissions::Scope::Any;
use paysec_aws::permissions::{read, Permission};

const P: &str = "Preflight";

pub const PERMISSIONS: &[Permission] = &[
    read(
        P,
        "Service Quotas",
        "GetServiceQuota",
        &["servicequotas:GetServiceQuota"],
        Any,
    ),
    read(
        P,
        "Service Quotas",
        "GetAWSDefaultServiceQuota",
        &["servicequotas:GetAWSDefaultServiceQuota"],
        Any,
    ),
    read(
        P,
        "EC2",
        "DescribeVpcEndpointServices",
        &["ec2:DescribeVpcEndpointServices"],
        Any,
    ),
    read(
        P,
        "Lambda",
        "GetAccountSettings",
        &["lambda:GetAccountSettings"],
        Any,
    ),
    read(
        P,
        "RDS",
        "DescribeDBEngineVersions",
        &["rds:DescribeDBEngineVersions"],
        Any,
    ),
    read(
        P,
        "RDS",
        "DescribeOrderableDBInstanceOptions",
        &["rds:DescribeOrderableDBInstanceOptions"],
        Any,
    ),
];

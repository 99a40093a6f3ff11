//! The IAM permissions of the owner prerequisites' reads (account-wide
//! services, read by `verify`), one row per operation: see
//! [`paysec_aws::permissions`]. They read account settings: `*`.

use paysec_aws::permissions::Scope::Any;
use paysec_aws::permissions::{read, Permission};

const A: &str = "AccountChecks";

pub const PERMISSIONS: &[Permission] = &[
    read(
        A,
        "CloudTrail",
        "DescribeTrails",
        &["cloudtrail:DescribeTrails"],
        Any,
    ),
    read(
        A,
        "CloudTrail",
        "GetTrailStatus",
        &["cloudtrail:GetTrailStatus"],
        Any,
    ),
    read(
        A,
        "CloudTrail",
        "GetEventSelectors",
        &["cloudtrail:GetEventSelectors"],
        Any,
    ),
    read(
        A,
        "Config Service",
        "DescribeConfigurationRecorders",
        &["config:DescribeConfigurationRecorders"],
        Any,
    ),
    read(
        A,
        "Config Service",
        "DescribeConfigurationRecorderStatus",
        &["config:DescribeConfigurationRecorderStatus"],
        Any,
    ),
    read(
        A,
        "GuardDuty",
        "ListDetectors",
        &["guardduty:ListDetectors"],
        Any,
    ),
    read(
        A,
        "GuardDuty",
        "GetDetector",
        &["guardduty:GetDetector"],
        Any,
    ),
    read(
        A,
        "IAM",
        "GetAccountSummary",
        &["iam:GetAccountSummary"],
        Any,
    ),
    read(
        A,
        "S3 Control",
        "GetPublicAccessBlock",
        &["s3:GetAccountPublicAccessBlock"],
        Any,
    ),
];

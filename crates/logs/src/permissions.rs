//! The IAM permissions of the log groups' calls, one row per operation:
//! see [`paysec_aws::permissions`]. Log groups are named after what they
//! hold (the function, the flow logs, the database, the API).

use paysec_aws::permissions::Scope::{Any, Arns};
use paysec_aws::permissions::{read, write, Permission, Scope};

const L: &str = "Logs";

/// The environment's log groups, with and without their streams.
pub const LOG_GROUPS: Scope = Arns(&[
    "arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{prefix}-*",
    "arn:{partition}:logs:{region}:{account}:log-group:/aws/vpc-flow-logs/{prefix}",
    "arn:{partition}:logs:{region}:{account}:log-group:/aws/vpc-flow-logs/{prefix}:*",
    "arn:{partition}:logs:{region}:{account}:log-group:/aws/rds/instance/{prefix}-*",
    "arn:{partition}:logs:{region}:{account}:log-group:/aws/apigateway/{prefix}-*",
    // Enhanced monitoring's group, one per account and region, named by
    // RDS; paysec sets its key and retention and keeps it at `down`.
    "arn:{partition}:logs:{region}:{account}:log-group:RDSOSMetrics",
    "arn:{partition}:logs:{region}:{account}:log-group:RDSOSMetrics:*",
]);

pub const PERMISSIONS: &[Permission] = &[
    write(
        L,
        "CloudWatch Logs",
        "CreateLogGroup",
        &["logs:CreateLogGroup", "logs:TagResource"],
        LOG_GROUPS,
    ),
    write(
        L,
        "CloudWatch Logs",
        "PutRetentionPolicy",
        &["logs:PutRetentionPolicy"],
        LOG_GROUPS,
    ),
    write(
        L,
        "CloudWatch Logs",
        "AssociateKmsKey",
        &["logs:AssociateKmsKey"],
        LOG_GROUPS,
    ),
    write(
        L,
        "CloudWatch Logs",
        "TagResource",
        &["logs:TagResource"],
        LOG_GROUPS,
    ),
    write(
        L,
        "CloudWatch Logs",
        "UntagResource",
        &["logs:UntagResource"],
        LOG_GROUPS,
    ),
    write(
        L,
        "CloudWatch Logs",
        "DeleteLogGroup",
        &["logs:DeleteLogGroup"],
        LOG_GROUPS,
    ),
    read(
        L,
        "CloudWatch Logs",
        "DescribeLogGroups",
        &["logs:DescribeLogGroups"],
        Any,
    ),
    read(
        L,
        "CloudWatch Logs",
        "DescribeLogStreams",
        &["logs:DescribeLogStreams"],
        LOG_GROUPS,
    ),
    read(
        L,
        "CloudWatch Logs",
        "ListTagsForResource",
        &["logs:ListTagsForResource"],
        LOG_GROUPS,
    ),
];

//! The IAM permissions of the monitoring's calls (metric filters, alarms,
//! the alarm topic), one row per operation: see
//! [`paysec_aws::permissions`].

use paysec_aws::permissions::Scope::{Any, Arns};
use paysec_aws::permissions::{read, write, Permission, Scope};

const M: &str = "Monitoring";

const ALARMS: Scope = Arns(&["arn:{partition}:cloudwatch:{region}:{account}:alarm:{prefix}-*"]);
const TOPICS: Scope = Arns(&["arn:{partition}:sns:{region}:{account}:{prefix}-*"]);
/// Metric filters are set on the log groups they read.
const FILTERED: Scope = Arns(&[
    "arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{prefix}-*",
    "arn:{partition}:logs:{region}:{account}:log-group:/aws/vpc-flow-logs/{prefix}",
    "arn:{partition}:logs:{region}:{account}:log-group:/aws/rds/instance/{prefix}-*",
    "arn:{partition}:logs:{region}:{account}:log-group:/aws/apigateway/{prefix}-*",
]);

pub const PERMISSIONS: &[Permission] = &[
    write(
        M,
        "CloudWatch Logs",
        "PutMetricFilter",
        &["logs:PutMetricFilter"],
        FILTERED,
    ),
    write(
        M,
        "CloudWatch Logs",
        "DeleteMetricFilter",
        &["logs:DeleteMetricFilter"],
        FILTERED,
    ),
    read(
        M,
        "CloudWatch Logs",
        "DescribeMetricFilters",
        &["logs:DescribeMetricFilters"],
        Any,
    ),
    write(
        M,
        "CloudWatch",
        "PutMetricAlarm",
        &["cloudwatch:PutMetricAlarm", "cloudwatch:TagResource"],
        ALARMS,
    ),
    write(
        M,
        "CloudWatch",
        "DeleteAlarms",
        &["cloudwatch:DeleteAlarms"],
        ALARMS,
    ),
    read(
        M,
        "CloudWatch",
        "DescribeAlarms",
        &["cloudwatch:DescribeAlarms"],
        Any,
    ),
    write(
        M,
        "SNS",
        "CreateTopic",
        &["sns:CreateTopic", "sns:TagResource"],
        TOPICS,
    ),
    write(
        M,
        "SNS",
        "SetTopicAttributes",
        &["sns:SetTopicAttributes"],
        TOPICS,
    ),
    write(M, "SNS", "Subscribe", &["sns:Subscribe"], TOPICS),
    write(M, "SNS", "DeleteTopic", &["sns:DeleteTopic"], TOPICS),
    read(
        M,
        "SNS",
        "GetTopicAttributes",
        &["sns:GetTopicAttributes"],
        TOPICS,
    ),
    read(
        M,
        "SNS",
        "ListSubscriptionsByTopic",
        &["sns:ListSubscriptionsByTopic"],
        TOPICS,
    ),
];

//! The IAM permissions of the function's and its queue's calls, one row
//! per operation: see [`paysec_aws::permissions`].

use paysec_aws::permissions::Scope::{Any, Arns, PassRole, Tagged};
use paysec_aws::permissions::{read, write, Permission, Scope};

const F: &str = "Function";

/// The function, its versions and its alias.
pub const FUNCTIONS: Scope =
    Arns(&["arn:{partition}:lambda:{region}:{account}:function:{prefix}-*"]);
const QUEUES: Scope = Arns(&["arn:{partition}:sqs:{region}:{account}:{prefix}-*"]);
/// The function's execution role, handed to Lambda.
const EXECUTION_ROLE: Scope = PassRole {
    role: paysec_aws::permissions::STACK_ROLES,
    to: "lambda.amazonaws.com",
};

pub const PERMISSIONS: &[Permission] = &[
    write(
        F,
        "Lambda",
        "CreateFunction",
        &["lambda:CreateFunction", "lambda:TagResource"],
        FUNCTIONS,
    ),
    write(
        F,
        "Lambda",
        "CreateFunction",
        &["iam:PassRole"],
        EXECUTION_ROLE,
    ),
    // Environment variables encrypted with the stack's Lambda key: the
    // caller needs the key (Lambda developer guide, "Securing environment
    // variables").
    write(
        F,
        "Lambda",
        "CreateFunction",
        &["kms:Encrypt", "kms:CreateGrant", "kms:DescribeKey"],
        Tagged,
    ),
    write(
        F,
        "Lambda",
        "UpdateFunctionConfiguration",
        &["lambda:UpdateFunctionConfiguration"],
        FUNCTIONS,
    ),
    write(
        F,
        "Lambda",
        "UpdateFunctionConfiguration",
        &["iam:PassRole"],
        EXECUTION_ROLE,
    ),
    write(
        F,
        "Lambda",
        "UpdateFunctionConfiguration",
        &["kms:Encrypt", "kms:CreateGrant", "kms:DescribeKey"],
        Tagged,
    ),
    write(
        F,
        "Lambda",
        "UpdateFunctionCode",
        &["lambda:UpdateFunctionCode"],
        FUNCTIONS,
    ),
    write(
        F,
        "Lambda",
        "PublishVersion",
        &["lambda:PublishVersion"],
        FUNCTIONS,
    ),
    write(
        F,
        "Lambda",
        "CreateAlias",
        &["lambda:CreateAlias"],
        FUNCTIONS,
    ),
    write(
        F,
        "Lambda",
        "UpdateAlias",
        &["lambda:UpdateAlias"],
        FUNCTIONS,
    ),
    write(
        F,
        "Lambda",
        "PutFunctionConcurrency",
        &["lambda:PutFunctionConcurrency"],
        FUNCTIONS,
    ),
    write(
        F,
        "Lambda",
        "DeleteFunctionConcurrency",
        &["lambda:DeleteFunctionConcurrency"],
        FUNCTIONS,
    ),
    write(
        F,
        "Lambda",
        "DeleteFunctionUrlConfig",
        &["lambda:DeleteFunctionUrlConfig"],
        FUNCTIONS,
    ),
    write(
        F,
        "Lambda",
        "RemovePermission",
        &["lambda:RemovePermission"],
        FUNCTIONS,
    ),
    write(
        F,
        "Lambda",
        "DeleteFunction",
        &["lambda:DeleteFunction"],
        FUNCTIONS,
    ),
    // `paysec invoke`: the IAM action is not the operation's name.
    write(F, "Lambda", "Invoke", &["lambda:InvokeFunction"], FUNCTIONS),
    read(
        F,
        "Lambda",
        "GetFunction",
        &["lambda:GetFunction"],
        FUNCTIONS,
    ),
    read(
        F,
        "Lambda",
        "GetFunctionConfiguration",
        &["lambda:GetFunctionConfiguration"],
        FUNCTIONS,
    ),
    read(
        F,
        "Lambda",
        "GetFunctionConcurrency",
        &["lambda:GetFunctionConcurrency"],
        FUNCTIONS,
    ),
    read(
        F,
        "Lambda",
        "GetFunctionUrlConfig",
        &["lambda:GetFunctionUrlConfig"],
        FUNCTIONS,
    ),
    read(
        F,
        "Lambda",
        "ListFunctionUrlConfigs",
        &["lambda:ListFunctionUrlConfigs"],
        FUNCTIONS,
    ),
    read(F, "Lambda", "GetPolicy", &["lambda:GetPolicy"], FUNCTIONS),
    read(F, "Lambda", "GetAlias", &["lambda:GetAlias"], FUNCTIONS),
    read(
        F,
        "Lambda",
        "ListAliases",
        &["lambda:ListAliases"],
        FUNCTIONS,
    ),
    read(
        F,
        "Lambda",
        "ListVersionsByFunction",
        &["lambda:ListVersionsByFunction"],
        FUNCTIONS,
    ),
    read(
        F,
        "Lambda",
        "GetAccountSettings",
        &["lambda:GetAccountSettings"],
        Any,
    ),
    write(
        F,
        "SQS",
        "CreateQueue",
        &["sqs:CreateQueue", "sqs:TagQueue"],
        QUEUES,
    ),
    write(
        F,
        "SQS",
        "SetQueueAttributes",
        &["sqs:SetQueueAttributes"],
        QUEUES,
    ),
    write(F, "SQS", "DeleteQueue", &["sqs:DeleteQueue"], QUEUES),
    read(F, "SQS", "GetQueueUrl", &["sqs:GetQueueUrl"], QUEUES),
    read(
        F,
        "SQS",
        "GetQueueAttributes",
        &["sqs:GetQueueAttributes"],
        QUEUES,
    ),
    read(F, "SQS", "ListQueueTags", &["sqs:ListQueueTags"], QUEUES),
];

//! The IAM permissions of the API entry's calls, one row per operation:
//! see [`paysec_aws::permissions`]. API Gateway's IAM actions are the
//! HTTP verbs on resource paths (`apigateway:GET` on `/restapis/*`), not
//! the operations' names; REST API ids are generated, so the paths are
//! every REST API of the region.

use paysec_aws::permissions::Scope::{Arns, PassRole};
use paysec_aws::permissions::{read, write, Permission, Scope};

const A: &str = "Api";

const APIS: Scope = Arns(&[
    "arn:{partition}:apigateway:{region}::/restapis",
    "arn:{partition}:apigateway:{region}::/restapis/*",
    "arn:{partition}:apigateway:{region}::/tags/*",
]);
/// The region's API Gateway account settings (its logging role).
const ACCOUNT: Scope = Arns(&["arn:{partition}:apigateway:{region}::/account"]);
/// The account's logging role, one per account and region's API Gateway.
const LOGGING_ROLE: Scope =
    Arns(&["arn:{partition}:iam::{account}:role/paysec-apigateway-cloudwatch"]);
const FUNCTIONS: Scope = Arns(&["arn:{partition}:lambda:{region}:{account}:function:{prefix}-*"]);

pub const PERMISSIONS: &[Permission] = &[
    write(
        A,
        "API Gateway",
        "CreateRestApi",
        &["apigateway:POST"],
        APIS,
    ),
    write(
        A,
        "API Gateway",
        "CreateResource",
        &["apigateway:POST"],
        APIS,
    ),
    write(A, "API Gateway", "CreateModel", &["apigateway:POST"], APIS),
    write(
        A,
        "API Gateway",
        "CreateRequestValidator",
        &["apigateway:POST"],
        APIS,
    ),
    write(
        A,
        "API Gateway",
        "CreateDeployment",
        &["apigateway:POST"],
        APIS,
    ),
    write(A, "API Gateway", "CreateStage", &["apigateway:POST"], APIS),
    write(A, "API Gateway", "PutMethod", &["apigateway:PUT"], APIS),
    write(
        A,
        "API Gateway",
        "PutIntegration",
        &["apigateway:PUT"],
        APIS,
    ),
    write(A, "API Gateway", "TagResource", &["apigateway:PUT"], APIS),
    write(
        A,
        "API Gateway",
        "UpdateRestApi",
        &["apigateway:PATCH"],
        APIS,
    ),
    write(A, "API Gateway", "UpdateStage", &["apigateway:PATCH"], APIS),
    write(
        A,
        "API Gateway",
        "DeleteMethod",
        &["apigateway:DELETE"],
        APIS,
    ),
    write(
        A,
        "API Gateway",
        "DeleteStage",
        &["apigateway:DELETE"],
        APIS,
    ),
    write(
        A,
        "API Gateway",
        "DeleteRestApi",
        &["apigateway:DELETE"],
        APIS,
    ),
    read(A, "API Gateway", "GetRestApi", &["apigateway:GET"], APIS),
    read(A, "API Gateway", "GetRestApis", &["apigateway:GET"], APIS),
    read(A, "API Gateway", "GetResources", &["apigateway:GET"], APIS),
    read(A, "API Gateway", "GetMethod", &["apigateway:GET"], APIS),
    read(A, "API Gateway", "GetModels", &["apigateway:GET"], APIS),
    read(
        A,
        "API Gateway",
        "GetRequestValidators",
        &["apigateway:GET"],
        APIS,
    ),
    read(A, "API Gateway", "GetStage", &["apigateway:GET"], APIS),
    read(A, "API Gateway", "GetDeployment", &["apigateway:GET"], APIS),
    read(A, "API Gateway", "GetAccount", &["apigateway:GET"], ACCOUNT),
    write(
        A,
        "API Gateway",
        "UpdateAccount",
        &["apigateway:PATCH"],
        ACCOUNT,
    ),
    write(
        A,
        "API Gateway",
        "UpdateAccount",
        &["iam:PassRole"],
        PassRole {
            role: "arn:{partition}:iam::{account}:role/paysec-apigateway-cloudwatch",
            to: "apigateway.amazonaws.com",
        },
    ),
    write(
        A,
        "IAM",
        "CreateRole",
        &["iam:CreateRole", "iam:TagRole"],
        LOGGING_ROLE,
    ),
    write(
        A,
        "IAM",
        "PutRolePolicy",
        &["iam:PutRolePolicy"],
        LOGGING_ROLE,
    ),
    read(A, "IAM", "GetRole", &["iam:GetRole"], LOGGING_ROLE),
    // The function's resource policy: the API may invoke `live`.
    write(
        A,
        "Lambda",
        "AddPermission",
        &["lambda:AddPermission"],
        FUNCTIONS,
    ),
    write(
        A,
        "Lambda",
        "RemovePermission",
        &["lambda:RemovePermission"],
        FUNCTIONS,
    ),
    read(A, "Lambda", "GetPolicy", &["lambda:GetPolicy"], FUNCTIONS),
];

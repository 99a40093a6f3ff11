//! The IAM permissions of the stack's roles and policies, one row per
//! operation: see [`paysec_aws::permissions`]. Every role and policy
//! paysec makes is named `paysec-<env>-*`.

use paysec_aws::permissions::Scope::{Any, Arns};
use paysec_aws::permissions::{read, write, Permission, Scope};

const R: &str = "Roles";

const ROLES: Scope = Arns(&["arn:{partition}:iam::{account}:role/{prefix}-*"]);
const POLICIES: Scope = Arns(&["arn:{partition}:iam::{account}:policy/{prefix}-*"]);
/// Attaching names the role and the policy.
const ROLES_AND_POLICIES: Scope = Arns(&[
    "arn:{partition}:iam::{account}:role/{prefix}-*",
    "arn:{partition}:iam::{account}:policy/{prefix}-*",
]);

pub const PERMISSIONS: &[Permission] = &[
    write(
        R,
        "IAM",
        "CreateRole",
        &["iam:CreateRole", "iam:TagRole"],
        ROLES,
    ),
    write(R, "IAM", "TagRole", &["iam:TagRole"], ROLES),
    write(R, "IAM", "UpdateRole", &["iam:UpdateRole"], ROLES),
    write(
        R,
        "IAM",
        "UpdateAssumeRolePolicy",
        &["iam:UpdateAssumeRolePolicy"],
        ROLES,
    ),
    write(R, "IAM", "PutRolePolicy", &["iam:PutRolePolicy"], ROLES),
    write(
        R,
        "IAM",
        "DeleteRolePolicy",
        &["iam:DeleteRolePolicy"],
        ROLES,
    ),
    write(R, "IAM", "DeleteRole", &["iam:DeleteRole"], ROLES),
    write(
        R,
        "IAM",
        "AttachRolePolicy",
        &["iam:AttachRolePolicy"],
        ROLES_AND_POLICIES,
    ),
    write(
        R,
        "IAM",
        "DetachRolePolicy",
        &["iam:DetachRolePolicy"],
        ROLES_AND_POLICIES,
    ),
    write(
        R,
        "IAM",
        "CreatePolicy",
        &["iam:CreatePolicy", "iam:TagPolicy"],
        POLICIES,
    ),
    write(
        R,
        "IAM",
        "CreatePolicyVersion",
        &["iam:CreatePolicyVersion"],
        POLICIES,
    ),
    write(
        R,
        "IAM",
        "DeletePolicyVersion",
        &["iam:DeletePolicyVersion"],
        POLICIES,
    ),
    write(R, "IAM", "DeletePolicy", &["iam:DeletePolicy"], POLICIES),
    // Before a policy is deleted it is detached from whatever holds it,
    // users and groups included, which paysec did not name.
    write(R, "IAM", "DetachUserPolicy", &["iam:DetachUserPolicy"], Any),
    write(
        R,
        "IAM",
        "DetachGroupPolicy",
        &["iam:DetachGroupPolicy"],
        Any,
    ),
    read(R, "IAM", "GetRole", &["iam:GetRole"], ROLES),
    read(
        R,
        "IAM",
        "ListRolePolicies",
        &["iam:ListRolePolicies"],
        ROLES,
    ),
    read(
        R,
        "IAM",
        "ListAttachedRolePolicies",
        &["iam:ListAttachedRolePolicies"],
        ROLES,
    ),
    read(R, "IAM", "GetPolicy", &["iam:GetPolicy"], POLICIES),
    read(
        R,
        "IAM",
        "GetPolicyVersion",
        &["iam:GetPolicyVersion"],
        POLICIES,
    ),
    read(
        R,
        "IAM",
        "ListPolicyVersions",
        &["iam:ListPolicyVersions"],
        POLICIES,
    ),
    read(
        R,
        "IAM",
        "ListEntitiesForPolicy",
        &["iam:ListEntitiesForPolicy"],
        POLICIES,
    ),
];

//! The IAM permissions of the database's calls, one row per operation:
//! see [`paysec_aws::permissions`].

use paysec_aws::permissions::Scope::{Any, Arns, PassRole, ServiceLinkedRole, Tagged};
use paysec_aws::permissions::{read, write, Permission, Scope, STACK_ROLES};

const D: &str = "Database";

/// The instance, its groups and its final snapshot (`paysec-<env>-db-final-*`).
const DATABASE: Scope = Arns(&[
    "arn:{partition}:rds:{region}:{account}:db:{prefix}-*",
    "arn:{partition}:rds:{region}:{account}:pg:{prefix}-*",
    "arn:{partition}:rds:{region}:{account}:subgrp:{prefix}-*",
    "arn:{partition}:rds:{region}:{account}:snapshot:{prefix}-*",
    "arn:{partition}:rds:{region}:{account}:og:default:*",
]);
/// The master password's secret, which RDS makes and names (`rds!db-*`).
const MASTER_SECRET: Scope =
    Arns(&["arn:{partition}:secretsmanager:{region}:{account}:secret:rds!db-*"]);

pub const PERMISSIONS: &[Permission] = &[
    write(
        D,
        "RDS",
        "CreateDBInstance",
        &["rds:CreateDBInstance", "rds:AddTagsToResource"],
        DATABASE,
    ),
    // Enhanced monitoring's role, handed to RDS's monitoring service.
    write(
        D,
        "RDS",
        "CreateDBInstance",
        &["iam:PassRole"],
        PassRole {
            role: STACK_ROLES,
            to: "monitoring.rds.amazonaws.com",
        },
    ),
    // RDS's service-linked role, made on the account's first instance.
    write(
        D,
        "RDS",
        "CreateDBInstance",
        &["iam:CreateServiceLinkedRole"],
        ServiceLinkedRole("rds.amazonaws.com"),
    ),
    // Storage encrypted with the stack's RDS key, and the master password
    // kept by RDS in Secrets Manager under that key (RDS user guide,
    // "Password management with Secrets Manager": required permissions).
    write(
        D,
        "RDS",
        "CreateDBInstance",
        &[
            "kms:CreateGrant",
            "kms:DescribeKey",
            "kms:Decrypt",
            "kms:GenerateDataKey",
        ],
        Tagged,
    ),
    write(
        D,
        "RDS",
        "CreateDBInstance",
        &["secretsmanager:CreateSecret", "secretsmanager:TagResource"],
        MASTER_SECRET,
    ),
    write(
        D,
        "RDS",
        "ModifyDBInstance",
        &["rds:ModifyDBInstance"],
        DATABASE,
    ),
    write(
        D,
        "RDS",
        "ModifyDBInstance",
        &["iam:PassRole"],
        PassRole {
            role: STACK_ROLES,
            to: "monitoring.rds.amazonaws.com",
        },
    ),
    write(
        D,
        "RDS",
        "RebootDBInstance",
        &["rds:RebootDBInstance"],
        DATABASE,
    ),
    // A final snapshot is taken by the delete, on the caller's rights.
    write(
        D,
        "RDS",
        "DeleteDBInstance",
        &["rds:DeleteDBInstance", "rds:CreateDBSnapshot"],
        DATABASE,
    ),
    write(
        D,
        "RDS",
        "ModifyDBSnapshotAttribute",
        &["rds:ModifyDBSnapshotAttribute"],
        DATABASE,
    ),
    write(
        D,
        "RDS",
        "CreateDBParameterGroup",
        &["rds:CreateDBParameterGroup", "rds:AddTagsToResource"],
        DATABASE,
    ),
    write(
        D,
        "RDS",
        "ModifyDBParameterGroup",
        &["rds:ModifyDBParameterGroup"],
        DATABASE,
    ),
    write(
        D,
        "RDS",
        "DeleteDBParameterGroup",
        &["rds:DeleteDBParameterGroup"],
        DATABASE,
    ),
    write(
        D,
        "RDS",
        "CreateDBSubnetGroup",
        &["rds:CreateDBSubnetGroup", "rds:AddTagsToResource"],
        DATABASE,
    ),
    write(
        D,
        "RDS",
        "ModifyDBSubnetGroup",
        &["rds:ModifyDBSubnetGroup"],
        DATABASE,
    ),
    write(
        D,
        "RDS",
        "DeleteDBSubnetGroup",
        &["rds:DeleteDBSubnetGroup"],
        DATABASE,
    ),
    read(
        D,
        "RDS",
        "DescribeDBInstances",
        &["rds:DescribeDBInstances"],
        Any,
    ),
    read(
        D,
        "RDS",
        "DescribeDBParameters",
        &["rds:DescribeDBParameters"],
        DATABASE,
    ),
    read(
        D,
        "RDS",
        "DescribeDBSubnetGroups",
        &["rds:DescribeDBSubnetGroups"],
        Any,
    ),
    read(
        D,
        "RDS",
        "DescribeDBSnapshots",
        &["rds:DescribeDBSnapshots"],
        Any,
    ),
    read(
        D,
        "RDS",
        "DescribeDBSnapshotAttributes",
        &["rds:DescribeDBSnapshotAttributes"],
        DATABASE,
    ),
    write(
        D,
        "Secrets Manager",
        "RotateSecret",
        &["secretsmanager:RotateSecret"],
        MASTER_SECRET,
    ),
    read(
        D,
        "Secrets Manager",
        "DescribeSecret",
        &["secretsmanager:DescribeSecret"],
        MASTER_SECRET,
    ),
];

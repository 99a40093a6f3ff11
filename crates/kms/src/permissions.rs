//! The IAM permissions of the keys' calls, one row per operation: see
//! [`paysec_aws::permissions`]. Keys have generated ids, so they are
//! scoped by the environment's tag (KMS: `aws:ResourceTag`,
//! `aws:RequestTag` at creation); aliases by name.

use paysec_aws::permissions::Scope::{Any, Arns, Requested, Tagged};
use paysec_aws::permissions::{read, write, Permission};

const K: &str = "Keys";

/// An alias names the alias and its key.
const ALIASES: paysec_aws::permissions::Scope = Arns(&[
    "arn:{partition}:kms:{region}:{account}:alias/{prefix}-*",
    "arn:{partition}:kms:{region}:{account}:key/*",
]);

pub const PERMISSIONS: &[Permission] = &[
    write(
        K,
        "KMS",
        "CreateKey",
        &["kms:CreateKey", "kms:TagResource"],
        Requested,
    ),
    write(K, "KMS", "TagResource", &["kms:TagResource"], Tagged),
    write(K, "KMS", "UntagResource", &["kms:UntagResource"], Tagged),
    write(K, "KMS", "PutKeyPolicy", &["kms:PutKeyPolicy"], Tagged),
    write(K, "KMS", "EnableKey", &["kms:EnableKey"], Tagged),
    write(
        K,
        "KMS",
        "EnableKeyRotation",
        &["kms:EnableKeyRotation"],
        Tagged,
    ),
    write(K, "KMS", "RevokeGrant", &["kms:RevokeGrant"], Tagged),
    write(
        K,
        "KMS",
        "ScheduleKeyDeletion",
        &["kms:ScheduleKeyDeletion"],
        Tagged,
    ),
    write(
        K,
        "KMS",
        "CancelKeyDeletion",
        &["kms:CancelKeyDeletion"],
        Tagged,
    ),
    write(K, "KMS", "CreateAlias", &["kms:CreateAlias"], ALIASES),
    write(K, "KMS", "UpdateAlias", &["kms:UpdateAlias"], ALIASES),
    write(K, "KMS", "DeleteAlias", &["kms:DeleteAlias"], ALIASES),
    read(K, "KMS", "DescribeKey", &["kms:DescribeKey"], Tagged),
    read(K, "KMS", "GetKeyPolicy", &["kms:GetKeyPolicy"], Tagged),
    read(
        K,
        "KMS",
        "GetKeyRotationStatus",
        &["kms:GetKeyRotationStatus"],
        Tagged,
    ),
    read(K, "KMS", "ListGrants", &["kms:ListGrants"], Tagged),
    read(K, "KMS", "ListResourceTags", &["kms:ListResourceTags"], Any),
    read(K, "KMS", "ListAliases", &["kms:ListAliases"], Any),
];

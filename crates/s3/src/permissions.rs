//! The IAM permissions of the buckets' calls, one row per operation: see
//! [`paysec_aws::permissions`]. S3's IAM actions differ from its
//! operations' names in places (HeadBucket is `s3:ListBucket`,
//! PutBucketEncryption `s3:PutEncryptionConfiguration`).

use paysec_aws::permissions::Scope::Arns;
use paysec_aws::permissions::{read, write, Permission, Scope};

const B: &str = "Buckets";

/// The environment's buckets (`paysec-<env>-<purpose>-<account>`).
const BUCKETS: Scope = Arns(&["arn:{partition}:s3:::{prefix}-*"]);
/// Their objects (emptied before a bucket is deleted).
const OBJECTS: Scope = Arns(&["arn:{partition}:s3:::{prefix}-*/*"]);

pub const PERMISSIONS: &[Permission] = &[
    // Object Lock at creation needs the lock and versioning permissions;
    // object ownership, the ownership controls' (S3 API reference,
    // CreateBucket: permissions).
    write(
        B,
        "S3",
        "CreateBucket",
        &[
            "s3:CreateBucket",
            "s3:PutBucketObjectLockConfiguration",
            "s3:PutBucketVersioning",
            "s3:PutBucketOwnershipControls",
        ],
        BUCKETS,
    ),
    write(
        B,
        "S3",
        "PutBucketEncryption",
        &["s3:PutEncryptionConfiguration"],
        BUCKETS,
    ),
    write(
        B,
        "S3",
        "PutPublicAccessBlock",
        &["s3:PutBucketPublicAccessBlock"],
        BUCKETS,
    ),
    write(
        B,
        "S3",
        "PutBucketOwnershipControls",
        &["s3:PutBucketOwnershipControls"],
        BUCKETS,
    ),
    write(
        B,
        "S3",
        "PutBucketVersioning",
        &["s3:PutBucketVersioning"],
        BUCKETS,
    ),
    write(
        B,
        "S3",
        "PutObjectLockConfiguration",
        &["s3:PutBucketObjectLockConfiguration"],
        BUCKETS,
    ),
    write(
        B,
        "S3",
        "PutBucketLifecycleConfiguration",
        &["s3:PutLifecycleConfiguration"],
        BUCKETS,
    ),
    write(B, "S3", "PutBucketPolicy", &["s3:PutBucketPolicy"], BUCKETS),
    write(
        B,
        "S3",
        "DeleteBucketPolicy",
        &["s3:DeleteBucketPolicy"],
        BUCKETS,
    ),
    write(
        B,
        "S3",
        "PutBucketLogging",
        &["s3:PutBucketLogging"],
        BUCKETS,
    ),
    write(
        B,
        "S3",
        "PutBucketTagging",
        &["s3:PutBucketTagging"],
        BUCKETS,
    ),
    write(B, "S3", "DeleteBucket", &["s3:DeleteBucket"], BUCKETS),
    // `down --purge-audit-logs` empties the flow-log bucket past its
    // governance-mode retention.
    write(
        B,
        "S3",
        "DeleteObjects",
        &[
            "s3:DeleteObject",
            "s3:DeleteObjectVersion",
            "s3:BypassGovernanceRetention",
        ],
        OBJECTS,
    ),
    read(B, "S3", "HeadBucket", &["s3:ListBucket"], BUCKETS),
    read(
        B,
        "S3",
        "ListObjectVersions",
        &["s3:ListBucketVersions"],
        BUCKETS,
    ),
    read(
        B,
        "S3",
        "GetBucketEncryption",
        &["s3:GetEncryptionConfiguration"],
        BUCKETS,
    ),
    read(
        B,
        "S3",
        "GetPublicAccessBlock",
        &["s3:GetBucketPublicAccessBlock"],
        BUCKETS,
    ),
    read(
        B,
        "S3",
        "GetBucketOwnershipControls",
        &["s3:GetBucketOwnershipControls"],
        BUCKETS,
    ),
    read(
        B,
        "S3",
        "GetBucketVersioning",
        &["s3:GetBucketVersioning"],
        BUCKETS,
    ),
    read(
        B,
        "S3",
        "GetObjectLockConfiguration",
        &["s3:GetBucketObjectLockConfiguration"],
        BUCKETS,
    ),
    read(
        B,
        "S3",
        "GetBucketLifecycleConfiguration",
        &["s3:GetLifecycleConfiguration"],
        BUCKETS,
    ),
    read(B, "S3", "GetBucketPolicy", &["s3:GetBucketPolicy"], BUCKETS),
    read(
        B,
        "S3",
        "GetBucketLogging",
        &["s3:GetBucketLogging"],
        BUCKETS,
    ),
    read(
        B,
        "S3",
        "GetBucketTagging",
        &["s3:GetBucketTagging"],
        BUCKETS,
    ),
];

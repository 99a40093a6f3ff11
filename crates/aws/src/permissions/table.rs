//! This crate's own rows of the permission table: the shared ledger's S3
//! calls and the caller's identity.

use super::{read, write, Permission, Scope};

const LEDGER: &str = "Ledger";
const IDENTITY: &str = "Identity";

/// The shared ledger's bucket and its objects under the ledger's prefix.
const LEDGER_BUCKET: Scope = Scope::Ledger(&["arn:{partition}:s3:::{bucket}"]);
const LEDGER_OBJECTS: Scope = Scope::Ledger(&["arn:{partition}:s3:::{bucket}/{key_prefix}*"]);

/// This crate's calls: the shared ledger (`ledger_s3`) and the caller's
/// identity (`clients`).
pub const PERMISSIONS: &[Permission] = &[
    // Who is calling: STS answers everyone; no permission applies.
    read(IDENTITY, "STS", "GetCallerIdentity", &[], Scope::Any),
    // The caller's own role, named in the key policies as its real ARN
    // (an SSO role's path is not in the session's ARN).
    read(
        IDENTITY,
        "IAM",
        "GetRole",
        &["iam:GetRole"],
        Scope::Arns(&["arn:{partition}:iam::{account}:role/*"]),
    ),
    read(
        IDENTITY,
        "EC2",
        "DescribeAvailabilityZones",
        &["ec2:DescribeAvailabilityZones"],
        Scope::Any,
    ),
    // What carries the environment's tags, where a ledger lost a record
    // (`tagged`): the Resource Groups Tagging API's action prefix is `tag`.
    read(
        IDENTITY,
        "Resource Groups Tagging API",
        "GetResources",
        &["tag:GetResources"],
        Scope::Any,
    ),
    // The ledger: read by every command, written by those that change.
    read(
        LEDGER,
        "S3",
        "HeadBucket",
        &["s3:ListBucket"],
        LEDGER_BUCKET,
    ),
    read(
        LEDGER,
        "S3",
        "ListObjectVersions",
        &["s3:ListBucketVersions"],
        LEDGER_BUCKET,
    ),
    read(LEDGER, "S3", "GetObject", &["s3:GetObject"], LEDGER_OBJECTS),
    // Every run checks that the state bucket's policy grants no one
    // outside its owner's account (and `ledger init` reads it too).
    read(
        LEDGER,
        "S3",
        "GetBucketPolicy",
        &["s3:GetBucketPolicy"],
        LEDGER_BUCKET,
    ),
    read(
        LEDGER,
        "S3",
        "HeadObject",
        &["s3:GetObject"],
        LEDGER_OBJECTS,
    ),
    write(LEDGER, "S3", "PutObject", &["s3:PutObject"], LEDGER_OBJECTS),
    write(
        LEDGER,
        "S3",
        "DeleteObject",
        &["s3:DeleteObject", "s3:DeleteObjectVersion"],
        LEDGER_OBJECTS,
    ),
    // `paysec ledger init`: the bucket, hardened, and the checks of one
    // that exists.
    write(
        LEDGER,
        "S3",
        "CreateBucket",
        &["s3:CreateBucket"],
        LEDGER_BUCKET,
    ),
    write(
        LEDGER,
        "S3",
        "PutBucketEncryption",
        &["s3:PutEncryptionConfiguration"],
        LEDGER_BUCKET,
    ),
    write(
        LEDGER,
        "S3",
        "PutPublicAccessBlock",
        &["s3:PutBucketPublicAccessBlock"],
        LEDGER_BUCKET,
    ),
    write(
        LEDGER,
        "S3",
        "PutBucketVersioning",
        &["s3:PutBucketVersioning"],
        LEDGER_BUCKET,
    ),
    write(
        LEDGER,
        "S3",
        "PutBucketLifecycleConfiguration",
        &["s3:PutLifecycleConfiguration"],
        LEDGER_BUCKET,
    ),
    write(
        LEDGER,
        "S3",
        "PutBucketPolicy",
        &["s3:PutBucketPolicy"],
        LEDGER_BUCKET,
    ),
    write(
        LEDGER,
        "S3",
        "PutBucketTagging",
        &["s3:PutBucketTagging"],
        LEDGER_BUCKET,
    ),
    write(
        LEDGER,
        "S3",
        "GetBucketVersioning",
        &["s3:GetBucketVersioning"],
        LEDGER_BUCKET,
    ),
    write(
        LEDGER,
        "S3",
        "GetBucketEncryption",
        &["s3:GetEncryptionConfiguration"],
        LEDGER_BUCKET,
    ),
    write(
        LEDGER,
        "S3",
        "GetPublicAccessBlock",
        &["s3:GetBucketPublicAccessBlock"],
        LEDGER_BUCKET,
    ),
    write(
        LEDGER,
        "S3",
        "GetBucketOwnershipControls",
        &["s3:GetBucketOwnershipControls"],
        LEDGER_BUCKET,
    ),
];

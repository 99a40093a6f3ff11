//! The IAM permissions of the function's and its queue's calls, one row
//! per operation: see [`paysec_aws::permissions`].

use paysec_aws::permissions::Scope::{Any, Arns, PassRole, Tagged};
use paysec_aws::permissions::{read, write, Permission, Scope};

const F: &str = "Function";
/// Rows only code signing (`lambda.signing_profile`) needs.
const C: &str = "CodeSigning";

/// The function, its versions and its alias.
pub const FUNCTIONS: Scope =
    Arns(&["arn:{partition}:lambda:{region}:{account}:function:{prefix}-*"]);
/// The account's code signing configurations (their ids are generated).
const SIGNING_CONFIGS: Scope =
    Arns(&["arn:{partition}:lambda:{region}:{account}:code-signing-config:*"]);
/// Signer's signing profiles (the configured one's name is the user's) and
/// jobs of the account and region.
const SIGNING_PROFILES: Scope =
    Arns(&["arn:{partition}:signer:{region}:{account}:/signing-profiles/*"]);
const SIGNING_JOBS: Scope = Arns(&["arn:{partition}:signer:{region}:{account}:/signing-jobs/*"]);
/// The release bucket and its packages.
const RELEASE_BUCKET: Scope = Arns(&["arn:{partition}:s3:::{prefix}-releases-{account}"]);
const RELEASE_OBJECTS: Scope = Arns(&["arn:{partition}:s3:::{prefix}-releases-{account}/*"]);
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
    // Which configuration the function uses: read on every read (one
    // left from signing switched off is taken off).
    read(
        F,
        "Lambda",
        "GetFunctionCodeSigningConfig",
        &["lambda:GetFunctionCodeSigningConfig"],
        FUNCTIONS,
    ),
    write(
        F,
        "Lambda",
        "DeleteFunctionCodeSigningConfig",
        &["lambda:DeleteFunctionCodeSigningConfig"],
        FUNCTIONS,
    ),
    // Code signing (Lambda API reference, the code signing calls; Signer
    // developer guide, "IAM permissions": Signer reads the package version
    // and writes the signed copy as the caller; Lambda reads the signed
    // copy from S3 as the caller, through the S3 key).
    write(
        C,
        "Lambda",
        "PutFunctionCodeSigningConfig",
        &["lambda:PutFunctionCodeSigningConfig"],
        FUNCTIONS,
    ),
    write(
        C,
        "Lambda",
        "PutFunctionCodeSigningConfig",
        &["lambda:PutFunctionCodeSigningConfig"],
        SIGNING_CONFIGS,
    ),
    write(
        C,
        "Lambda",
        "CreateCodeSigningConfig",
        &["lambda:CreateCodeSigningConfig"],
        Any,
    ),
    write(
        C,
        "Lambda",
        "CreateCodeSigningConfig",
        &["lambda:TagResource"],
        SIGNING_CONFIGS,
    ),
    write(
        C,
        "Lambda",
        "UpdateCodeSigningConfig",
        &["lambda:UpdateCodeSigningConfig"],
        SIGNING_CONFIGS,
    ),
    write(
        C,
        "Lambda",
        "DeleteCodeSigningConfig",
        &["lambda:DeleteCodeSigningConfig"],
        SIGNING_CONFIGS,
    ),
    write(
        C,
        "Lambda",
        "TagResource",
        &["lambda:TagResource"],
        SIGNING_CONFIGS,
    ),
    read(
        C,
        "Lambda",
        "GetCodeSigningConfig",
        &["lambda:GetCodeSigningConfig"],
        SIGNING_CONFIGS,
    ),
    read(
        C,
        "Lambda",
        "ListCodeSigningConfigs",
        &["lambda:ListCodeSigningConfigs"],
        Any,
    ),
    read(
        C,
        "Lambda",
        "ListTags",
        &["lambda:ListTags"],
        SIGNING_CONFIGS,
    ),
    read(
        C,
        "signer",
        "GetSigningProfile",
        &["signer:GetSigningProfile"],
        SIGNING_PROFILES,
    ),
    read(
        C,
        "signer",
        "DescribeSigningJob",
        &["signer:DescribeSigningJob"],
        SIGNING_JOBS,
    ),
    write(
        C,
        "signer",
        "StartSigningJob",
        &["signer:StartSigningJob"],
        SIGNING_PROFILES,
    ),
    write(
        C,
        "signer",
        "StartSigningJob",
        &["s3:GetObjectVersion", "s3:PutObject"],
        RELEASE_OBJECTS,
    ),
    write(
        C,
        "signer",
        "StartSigningJob",
        &["s3:ListBucket"],
        RELEASE_BUCKET,
    ),
    write(
        C,
        "signer",
        "StartSigningJob",
        &["kms:Decrypt", "kms:GenerateDataKey"],
        Tagged,
    ),
    write(C, "S3", "PutObject", &["s3:PutObject"], RELEASE_OBJECTS),
    write(C, "S3", "PutObject", &["kms:GenerateDataKey"], Tagged),
    write(
        C,
        "Lambda",
        "UpdateFunctionCode",
        &["s3:GetObject", "s3:GetObjectVersion"],
        RELEASE_OBJECTS,
    ),
    write(C, "Lambda", "UpdateFunctionCode", &["kms:Decrypt"], Tagged),
    write(
        C,
        "Lambda",
        "CreateFunction",
        &["s3:GetObject", "s3:GetObjectVersion"],
        RELEASE_OBJECTS,
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

//! The writes: each property put by its own idempotent PUT, as create
//! sets them all and repair sets the drifted ones.

use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLoggingStatus, BucketVersioningStatus, DefaultRetention,
    LoggingEnabled, ObjectLockConfiguration, ObjectLockEnabled, ObjectLockRetentionMode,
    ObjectLockRule, ObjectOwnership, OwnershipControls, OwnershipControlsRule,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, Tag, Tagging, VersioningConfiguration,
};
use paysec_aws::AwsResultExt;
use paysec_core::resource::Context;
use paysec_core::retry::{retrying, rules};
use paysec_core::Attr;
use paysec_core::ResourceError;

use super::{Bucket, BucketProperty};

impl Bucket {
    /// Applies one property (idempotent PUTs). Right after CreateBucket
    /// AWS may still answer NoSuchBucket; that is retried.
    pub(super) async fn apply(
        &self,
        cx: &Context,
        property: BucketProperty,
    ) -> Result<(), ResourceError> {
        let name = self.name(cx);
        let s3 = &self.aws.s3;
        let id = &self.id;
        retrying(&[rules::S3_NEW_BUCKET_NOT_VISIBLE], || async {
            match property {
                BucketProperty::Ownership => s3
                    .put_bucket_ownership_controls()
                    .bucket(&name)
                    .expected_bucket_owner(&cx.env.account)
                    .ownership_controls(
                        OwnershipControls::builder()
                            .rules(
                                OwnershipControlsRule::builder()
                                    .object_ownership(ObjectOwnership::BucketOwnerEnforced)
                                    .build()
                                    .map_err(|e| ResourceError::unexpected(id, e.to_string()))?,
                            )
                            .build()
                            .map_err(|e| ResourceError::unexpected(id, e.to_string()))?,
                    )
                    .send()
                    .await
                    .or_resource(id, "PutBucketOwnershipControls")
                    .map(|_| ()),
                BucketProperty::PublicAccessBlock => s3
                    .put_public_access_block()
                    .bucket(&name)
                    .expected_bucket_owner(&cx.env.account)
                    .public_access_block_configuration(
                        paysec_aws::s3_hardening::all_public_access_blocked(),
                    )
                    .send()
                    .await
                    .or_resource(id, "PutPublicAccessBlock")
                    .map(|_| ()),
                BucketProperty::Encryption => {
                    let by_default = if self.sse_s3() {
                        ServerSideEncryptionByDefault::builder()
                            .sse_algorithm(ServerSideEncryption::Aes256)
                            .build()
                    } else {
                        ServerSideEncryptionByDefault::builder()
                            .sse_algorithm(ServerSideEncryption::AwsKms)
                            .kms_master_key_id(cx.attr(&self.kms_key, Attr::Arn)?)
                            .build()
                    }
                    .map_err(|e| ResourceError::unexpected(id, e.to_string()))?;
                    s3.put_bucket_encryption()
                        .bucket(&name)
                        .expected_bucket_owner(&cx.env.account)
                        .server_side_encryption_configuration(
                            ServerSideEncryptionConfiguration::builder()
                                .rules(
                                    ServerSideEncryptionRule::builder()
                                        .apply_server_side_encryption_by_default(by_default)
                                        .bucket_key_enabled(!self.sse_s3())
                                        .build(),
                                )
                                .build()
                                .map_err(|e| ResourceError::unexpected(id, e.to_string()))?,
                        )
                        .send()
                        .await
                        .or_resource(id, "PutBucketEncryption")
                        .map(|_| ())
                }
                BucketProperty::Versioning => s3
                    .put_bucket_versioning()
                    .bucket(&name)
                    .expected_bucket_owner(&cx.env.account)
                    .versioning_configuration(
                        VersioningConfiguration::builder()
                            .status(BucketVersioningStatus::Enabled)
                            .build(),
                    )
                    .send()
                    .await
                    .or_resource(id, "PutBucketVersioning")
                    .map(|_| ()),
                BucketProperty::ObjectLock => {
                    let Some(days) = self.object_lock_days() else {
                        return Ok(());
                    };
                    let retention = DefaultRetention::builder()
                        .mode(ObjectLockRetentionMode::Governance)
                        .days(days)
                        .build();
                    s3.put_object_lock_configuration()
                        .bucket(&name)
                        .expected_bucket_owner(&cx.env.account)
                        .object_lock_configuration(
                            ObjectLockConfiguration::builder()
                                .object_lock_enabled(ObjectLockEnabled::Enabled)
                                .rule(
                                    ObjectLockRule::builder()
                                        .default_retention(retention)
                                        .build(),
                                )
                                .build(),
                        )
                        .send()
                        .await
                        .or_resource(id, "PutObjectLockConfiguration")
                        .map(|_| ())
                }
                BucketProperty::Lifecycle => s3
                    .put_bucket_lifecycle_configuration()
                    .bucket(&name)
                    .expected_bucket_owner(&cx.env.account)
                    .lifecycle_configuration(
                        BucketLifecycleConfiguration::builder()
                            .set_rules(Some(self.lifecycle_rules()))
                            .build()
                            .map_err(|e| ResourceError::unexpected(id, e.to_string()))?,
                    )
                    .send()
                    .await
                    .or_resource(id, "PutBucketLifecycleConfiguration")
                    .map(|_| ()),
                BucketProperty::Tags => {
                    let tags: Vec<Tag> = cx
                        .tags()
                        .into_iter()
                        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
                        .collect();
                    s3.put_bucket_tagging()
                        .bucket(&name)
                        .expected_bucket_owner(&cx.env.account)
                        .tagging(
                            Tagging::builder()
                                .set_tag_set(Some(tags))
                                .build()
                                .map_err(|e| ResourceError::unexpected(id, e.to_string()))?,
                        )
                        .send()
                        .await
                        .or_resource(id, "PutBucketTagging")
                        .map(|_| ())
                }
                BucketProperty::Policy => s3
                    .put_bucket_policy()
                    .bucket(&name)
                    .expected_bucket_owner(&cx.env.account)
                    .policy(self.policy(cx, &name)?.to_string())
                    .send()
                    .await
                    .or_resource(id, "PutBucketPolicy")
                    .map(|_| ()),
                BucketProperty::Logging => {
                    let Some(target) = &self.access_logs_to else {
                        return Ok(());
                    };
                    let enabled = LoggingEnabled::builder()
                        .target_bucket(cx.attr(target, Attr::Name)?)
                        .target_prefix(format!("{name}/"))
                        .build()
                        .map_err(|e| ResourceError::unexpected(id, e.to_string()))?;
                    s3.put_bucket_logging()
                        .bucket(&name)
                        .expected_bucket_owner(&cx.env.account)
                        .bucket_logging_status(
                            BucketLoggingStatus::builder()
                                .logging_enabled(enabled)
                                .build(),
                        )
                        .send()
                        .await
                        .or_resource(id, "PutBucketLogging")
                        .map(|_| ())
                }
            }
        })
        .await
    }
}

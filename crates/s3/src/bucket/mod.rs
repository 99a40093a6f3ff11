//! One hardened bucket. Bucket names are global and unique, so a bucket the
//! ledger lost is adopted by name; every setting is read back and repaired
//! individually.

mod apply;
mod desired;
mod empty;
mod read;

use async_trait::async_trait;
use aws_sdk_s3::operation::create_bucket::CreateBucketError;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration, ObjectOwnership};
use paysec_aws::{AwsResultExt, ServiceErrorExt};
use paysec_core::error::not_found_is_none;
use paysec_core::resource::{
    Comparison, Context, DeleteOutcome, Dependency, Observed, Present, QuickCheck, Resource,
};
use paysec_core::retry::{retrying, rules};
use paysec_core::Attr;
use paysec_core::{ErrorClass, LogicalId, Property, ResourceError};

use crate::policy::Delivery;

/// How long objects live.
#[derive(Clone, Copy, Debug)]
pub enum Lifecycle {
    /// Audit logs (req. 10.5.1): `hot_days` immediately available, then a
    /// colder class, expired after `keep_days`.
    Logs { hot_days: i32, keep_days: i32 },
    /// Application data: only old versions expire.
    Data { noncurrent_days: i32 },
}

pub struct Bucket {
    id: LogicalId,
    aws: paysec_aws::Aws,
    purpose: &'static str,
    kms_key: LogicalId,
    delivery: Delivery,
    lifecycle: Lifecycle,
    /// The bucket receiving this one's server access logs.
    access_logs_to: Option<LogicalId>,
}

paysec_core::properties! {
    /// What a bucket's read compares (S3-1..8, INV-1), in the order they
    /// are applied: Object Lock needs versioning on.
    pub enum BucketProperty {
        Ownership = "ownership",
        PublicAccessBlock = "public_access_block",
        Encryption = "encryption",
        Versioning = "versioning",
        ObjectLock = "object_lock",
        Lifecycle = "lifecycle",
        Tags = "tags",
        Policy = "policy",
        Logging = "logging",
    }
}

impl Bucket {
    pub fn new(
        id: LogicalId,
        aws: paysec_aws::Aws,
        purpose: &'static str,
        kms_key: LogicalId,
        delivery: Delivery,
        lifecycle: Lifecycle,
        access_logs_to: Option<LogicalId>,
    ) -> Self {
        Self {
            id,
            aws,
            purpose,
            kms_key,
            delivery,
            lifecycle,
            access_logs_to,
        }
    }

    fn name(&self, cx: &Context) -> String {
        cx.env.names.bucket(self.purpose, &cx.env.account)
    }

    fn present(&self, cx: &Context) -> Present {
        let name = self.name(cx);
        Present::new(&name)
            .with(Attr::Name, &name)
            .with(Attr::Arn, format!("arn:{}:s3:::{name}", cx.env.partition))
    }
}

#[async_trait]
impl Resource for Bucket {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "s3_bucket"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        std::iter::once(&self.kms_key)
            .chain(&self.access_logs_to)
            .cloned()
            .map(Dependency::Identity)
            .collect()
    }

    /// HeadBucket: it exists and is ours to read (encryption, public
    /// access block, policy, versioning, lifecycle, logging and tags are
    /// read only by a full read).
    async fn quick_check(
        &self,
        cx: &Context,
        _known: &Present,
    ) -> Result<QuickCheck, ResourceError> {
        let found = self
            .aws
            .s3
            .head_bucket()
            .bucket(self.name(cx))
            .expected_bucket_owner(&cx.env.account)
            .send()
            .await
            .or_resource(&self.id, "HeadBucket");
        QuickCheck::from_lookup(found, |_| true)
    }

    async fn read(
        &self,
        cx: &Context,
        _known: Option<&Present>,
    ) -> Result<Observed, ResourceError> {
        let name = self.name(cx);
        match self
            .aws
            .s3
            .head_bucket()
            .bucket(&name)
            .expected_bucket_owner(&cx.env.account)
            .send()
            .await
            .or_resource(&self.id, "HeadBucket")
        {
            Ok(_) => {}
            Err(e) if e.class() == ErrorClass::NotFound => return Ok(Observed::Missing),
            Err(e) => return Err(e),
        }
        Ok(self.checks(cx).await?.observed(self.present(cx)))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let name = self.name(cx);
        let mut req = self
            .aws
            .s3
            .create_bucket()
            .bucket(&name)
            .object_ownership(ObjectOwnership::BucketOwnerEnforced)
            // Object Lock from the start (it also turns versioning on);
            // the default retention is set with the other properties.
            .object_lock_enabled_for_bucket(self.object_lock_days().is_some());
        if cx.env.region != "us-east-1" {
            req = req.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(cx.env.region.as_str()))
                    .build(),
            );
        }
        let created = retrying(&[rules::S3_OPERATION_ABORTED], || async {
            req.clone()
                .send()
                .await
                .or_resource(&self.id, "CreateBucket")
        })
        .await;
        match created {
            Ok(_) => {}
            Err(e) if e.class() == ErrorClass::AlreadyExists => {}
            Err(e)
                if e.service_error::<CreateBucketError>()
                    .is_some_and(CreateBucketError::is_bucket_already_exists) =>
            {
                return Err(ResourceError::unexpected(
                    &self.id,
                    format!("the bucket name {name} belongs to another AWS account; choose another environment name"),
                ));
            }
            Err(e) => return Err(e),
        }
        for p in BucketProperty::ALL {
            self.apply(cx, *p).await?;
        }
        Ok(self.present(cx))
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        for (p, _) in BucketProperty::drifted(&self.id, drift)? {
            self.apply(cx, p).await?;
        }
        Ok(present.clone())
    }

    /// Its tags alone: a log bucket `down` kept and a later `down
    /// --purge-audit-logs` deletes has no key recorded to read it with.
    async fn ownership(
        &self,
        cx: &Context,
        known: &Present,
    ) -> Result<paysec_core::Ownership, ResourceError> {
        let tags = match self
            .aws
            .s3
            .get_bucket_tagging()
            .bucket(self.name(cx))
            .expected_bucket_owner(&cx.env.account)
            .send()
            .await
            .or_resource(&self.id, "GetBucketTagging")
        {
            Ok(out) => out
                .tag_set()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect::<Vec<_>>(),
            // GetBucketTagging models neither code: matched as strings.
            Err(e) if e.code() == Some("NoSuchBucket") => return Ok(paysec_core::Ownership::Gone),
            Err(e) if e.code() == Some("NoSuchTagSet") => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(paysec_core::Ownership::from_tags(
            cx,
            &known.physical_id,
            &tags,
        ))
    }

    async fn delete(&self, cx: &Context, _known: &Present) -> Result<DeleteOutcome, ResourceError> {
        let name = self.name(cx);
        // A log bucket outlives the stack: kept with its logs for their
        // retention (PCI DSS 10.5.1), and with the key they are encrypted
        // with; its lifecycle still expires them.
        if !matches!(self.delivery, Delivery::None) && !cx.purges_audit_logs() {
            let (hot, keep) = match self.lifecycle {
                Lifecycle::Logs {
                    hot_days,
                    keep_days,
                } => (hot_days, keep_days),
                Lifecycle::Data { .. } => (0, 0),
            };
            return Ok(DeleteOutcome {
                kept: Some(format!(
                    "S3 bucket {name} kept with its logs (lifecycle: {hot} days hot, expired after {keep}; PCI DSS 10.5.1); a re-`up` of this environment adopts it; `paysec down --purge-audit-logs` deletes it"
                )),
                encrypted_with: match self.delivery {
                    // Server access logs are delivered only with SSE-S3.
                    Delivery::AccessLogs => None,
                    _ => cx.attr(&self.kms_key, Attr::Arn).ok().map(str::to_owned),
                },
            });
        }
        // The policy goes first: it is about to be meaningless, and moto
        // applies its deny statements to object deletes unconditionally.
        match self
            .aws
            .s3
            .delete_bucket_policy()
            .bucket(&name)
            .expected_bucket_owner(&cx.env.account)
            .send()
            .await
            .or_resource(&self.id, "DeleteBucketPolicy")
        {
            Ok(_) => {}
            Err(e) if e.class() == ErrorClass::NotFound => return Ok(DeleteOutcome::default()),
            Err(e) => return Err(e),
        }
        // S3 delivers logs late (best effort, sometimes hours): an object
        // can land between emptying and deleting. Empty again and retry.
        let deleted = retrying(&[rules::S3_BUCKET_NOT_EMPTY], || async {
            let removed = self.empty(&name, &cx.env.account).await?;
            tracing::info!(bucket = %name, removed, "emptied bucket");
            self.aws
                .s3
                .delete_bucket()
                .bucket(&name)
                .expected_bucket_owner(&cx.env.account)
                .send()
                .await
                .or_resource(&self.id, "DeleteBucket")
        })
        .await;
        not_found_is_none(deleted)?;
        Ok(DeleteOutcome::default())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::types::error::BucketAlreadyExists;
    use aws_sdk_s3::Client;
    use paysec_aws::mocked_client;
    use paysec_aws::testing::{mock, offline};
    use paysec_core::testing::{context, ACCOUNT, REGION};

    use super::*;

    /// S3 bucket names are global: a name another account holds is
    /// refused (BucketAlreadyExists, matched by its type), and `up` says
    /// what to do rather than retrying or adopting it.
    #[tokio::test]
    async fn a_name_another_account_holds_is_refused_with_what_to_do() {
        let name = format!("paysec-test-001-data-{ACCOUNT}");
        let expected = name.clone();
        let create = mock!(Client::create_bucket)
            .match_requests(move |r| {
                r.bucket() == Some(expected.as_str())
                    && r.object_ownership() == Some(&ObjectOwnership::BucketOwnerEnforced)
                    && r.create_bucket_configuration()
                        .and_then(|c| c.location_constraint())
                        == Some(&BucketLocationConstraint::from(REGION))
            })
            .then_error(|| {
                CreateBucketError::BucketAlreadyExists(BucketAlreadyExists::builder().build())
            });
        let mut aws = offline(REGION).await;
        aws.s3 = mocked_client!(aws_sdk_s3, [&create]);
        let bucket = Bucket::new(
            LogicalId::new("s3.data"),
            aws,
            "data",
            LogicalId::new("kms.s3"),
            Delivery::None,
            Lifecycle::Data {
                noncurrent_days: 90,
            },
            None,
        );
        let err = bucket
            .create(&context("s3.data", &[]))
            .await
            .expect_err("not adopted");
        assert_eq!(
            err.to_string(),
            format!("s3.data: the bucket name {name} belongs to another AWS account; choose another environment name")
        );
        assert_eq!(create.num_calls(), 1);
    }
}

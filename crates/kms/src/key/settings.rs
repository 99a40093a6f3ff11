//! What create and repair set beside the key itself: the alias pointed
//! at it, and automatic rotation on.

use paysec_aws::AwsResultExt;
use paysec_core::resource::Context;
use paysec_core::retry::{retrying, rules};
use paysec_core::{ErrorClass, ResourceError};

use super::KmsKey;

impl KmsKey {
    /// Points our alias at the key, creating it or moving a stale one.
    pub(super) async fn ensure_alias(
        &self,
        cx: &Context,
        key_id: &str,
    ) -> Result<(), ResourceError> {
        let alias = self.alias(cx);
        let young = [rules::KMS_KEY_NOT_YET_VISIBLE];
        let created = retrying(&young, || async {
            self.aws
                .kms
                .create_alias()
                .alias_name(&alias)
                .target_key_id(key_id)
                .send()
                .await
                .or_resource(&self.id, "CreateAlias")
        })
        .await;
        match created {
            Ok(_) => Ok(()),
            Err(e) if e.class() == ErrorClass::AlreadyExists => {
                retrying(&young, || async {
                    self.aws
                        .kms
                        .update_alias()
                        .alias_name(&alias)
                        .target_key_id(key_id)
                        .send()
                        .await
                        .or_resource(&self.id, "UpdateAlias")
                })
                .await?;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    pub(super) async fn enable_rotation(&self, key_id: &str) -> Result<(), ResourceError> {
        retrying(&[rules::KMS_KEY_NOT_YET_VISIBLE], || async {
            self.aws
                .kms
                .enable_key_rotation()
                .key_id(key_id)
                .send()
                .await
                .or_resource(&self.id, "EnableKeyRotation")
        })
        .await?;
        Ok(())
    }
}

//! Parameter groups waiting for a reboot (`pending-reboot`): how to tell,
//! and the reboot of a new instance until they apply.

use aws_sdk_rds::types::DbInstance;
use paysec_aws::AwsResultExt;
use paysec_core::resource::Context;
use paysec_core::retry::{retrying, rules};
use paysec_core::ResourceError;

use super::Instance;

/// Whether a parameter group of `db` waits for a reboot to apply.
pub(super) fn waits_for_reboot(db: &DbInstance) -> bool {
    db.db_parameter_groups()
        .iter()
        .any(|g| g.parameter_apply_status() == Some("pending-reboot"))
}

impl Instance {
    /// RebootDBInstance, then waits until the instance is available with
    /// its parameter groups applied.
    ///
    /// IAM: rds:RebootDBInstance, rds:DescribeDBInstances.
    pub(super) async fn reboot_until_applied(
        &self,
        cx: &Context,
    ) -> Result<DbInstance, ResourceError> {
        let name = Self::name(cx);
        retrying(&[rules::RDS_INSTANCE_BUSY], || async {
            self.aws
                .rds
                .reboot_db_instance()
                .db_instance_identifier(&name)
                .send()
                .await
                .or_resource(&self.id, "RebootDBInstance")
        })
        .await?;
        cx.poll_until(
            "the new database to reboot with its parameters applied",
            "available, in-sync",
            self.spec.wait_budget(),
            || async {
                let db = self.describe(cx).await?.ok_or_else(|| {
                    ResourceError::unexpected(&self.id, "the instance disappeared while rebooting")
                })?;
                let ready = db.db_instance_status() == Some("available") && !waits_for_reboot(&db);
                Ok(ready.then_some(db))
            },
        )
        .await
    }
}

//! ModifyDBInstance repairing the drifted settings: the security ones at
//! once, the capacity handed to `capacity`.

use aws_sdk_rds::types::CloudwatchLogsExportConfiguration;
use paysec_aws::AwsResultExt;
use paysec_core::resource::Context;
use paysec_core::retry::{retrying, rules};
use paysec_core::Attr;
use paysec_core::ResourceError;

use super::capacity::pending_capacity;
use super::{Instance, InstanceProperty, LOG_EXPORTS};

impl Instance {
    /// ModifyDBInstance with every setting that drifted, at once.
    pub(super) async fn modify(
        &self,
        cx: &Context,
        key: &str,
        drifted: &[InstanceProperty],
    ) -> Result<(), ResourceError> {
        let capacity: Vec<InstanceProperty> = drifted
            .iter()
            .copied()
            .filter(|p| p.is_capacity())
            .collect();
        let security: Vec<InstanceProperty> = drifted
            .iter()
            .copied()
            .filter(|p| !p.is_capacity())
            .collect();
        if !capacity.is_empty() {
            self.modify_capacity(cx, &capacity).await?;
        }
        if security.is_empty() {
            return Ok(());
        }
        // The security settings are repaired now; RDS then applies what
        // waits for the maintenance window too: said.
        if !self.spec.apply_immediately {
            let waiting = self
                .describe(cx)
                .await?
                .and_then(|db| db.pending_modified_values().map(pending_capacity))
                .unwrap_or_default();
            if !waiting.is_empty() {
                tracing::warn!(
                    "{}: repairing {} now also applies the changes waiting for the maintenance window ({}): RDS applies every pending modification with an immediate one; the instance may restart",
                    self.id,
                    security
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    waiting.join(", ")
                );
            }
        }
        let mut req = self
            .aws
            .rds
            .modify_db_instance()
            .db_instance_identifier(Self::name(cx))
            .apply_immediately(true);
        for p in &security {
            req = match p {
                InstanceProperty::MultiAz => req.multi_az(self.spec.multi_az),
                InstanceProperty::MasterUserSecret => req.manage_master_user_password(true).master_user_secret_kms_key_id(key),
                InstanceProperty::MasterUsername => {
                    return Err(ResourceError::unexpected(
                        &self.id,
                        "the master user has a default name, which RDS cannot change: create a new instance with another rds.master_username and move the data",
                    ))
                }
                InstanceProperty::PubliclyAccessible => req.publicly_accessible(false),
                InstanceProperty::BackupRetentionDays => req.backup_retention_period(self.spec.backup_retention_days),
                InstanceProperty::CopyTagsToSnapshot => req.copy_tags_to_snapshot(true),
                InstanceProperty::AutoMinorVersionUpgrade => req.auto_minor_version_upgrade(true),
                InstanceProperty::DeletionProtection => req.deletion_protection(self.spec.deletion_protection),
                InstanceProperty::IamDatabaseAuthentication => req.enable_iam_database_authentication(true),
                InstanceProperty::MonitoringInterval => req.monitoring_interval(self.spec.monitoring_interval_seconds).monitoring_role_arn(cx.attr(&self.monitoring_role, Attr::Arn)?),
                InstanceProperty::LogExports => req.cloudwatch_logs_export_configuration(
                    CloudwatchLogsExportConfiguration::builder().set_enable_log_types(Some(LOG_EXPORTS.iter().map(|s| s.to_string()).collect())).build(),
                ),
                InstanceProperty::SecurityGroups => req.vpc_security_group_ids(cx.physical_id(&self.security_group)?),
                InstanceProperty::ParameterGroup => req.db_parameter_group_name(cx.physical_id(&self.parameter_group)?),
                InstanceProperty::PerformanceInsights => req.enable_performance_insights(true).performance_insights_kms_key_id(key),
                InstanceProperty::StorageEncrypted | InstanceProperty::KmsKey => {
                    return Err(ResourceError::unexpected(
                        &self.id,
                        "the instance's storage encryption differs and cannot be changed in place: restore a snapshot into a new encrypted instance",
                    ))
                }
                // Repaired apart, after the instance's own settings.
                InstanceProperty::Snapshots | InstanceProperty::MasterSecretRotation => req,
                // Applied above, as `rds.apply_immediately` says.
                InstanceProperty::InstanceClass
                | InstanceProperty::AllocatedStorage
                | InstanceProperty::EngineVersion
                | InstanceProperty::Port => req,
            };
        }
        let busy_or_young = [
            rules::RDS_INSTANCE_BUSY,
            rules::RDS_KMS_KEY_NOT_YET_ACCESSIBLE,
        ];
        retrying(&busy_or_young, || async {
            req.clone()
                .send()
                .await
                .or_resource(&self.id, "ModifyDBInstance")
        })
        .await?;
        Ok(())
    }
}

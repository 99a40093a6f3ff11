//! DescribeDBInstances and what its answer says: the instance's Present
//! and its settings checked against the spec.

use aws_sdk_rds::types::DbInstance;
use paysec_aws::AwsResultExt;
use paysec_core::resource::{Checks, Context, Present};
use paysec_core::Attr;
use paysec_core::{ErrorClass, ResourceError};

use super::reboot::waits_for_reboot;
use super::{performance_insights_supported, Instance, InstanceProperty, Password, LOG_EXPORTS};

impl Instance {
    pub(super) async fn describe(&self, cx: &Context) -> Result<Option<DbInstance>, ResourceError> {
        match self
            .aws
            .rds
            .describe_db_instances()
            .db_instance_identifier(Self::name(cx))
            .send()
            .await
            .or_resource(&self.id, "DescribeDBInstances")
        {
            Ok(o) => Ok(o.db_instances().first().cloned()),
            Err(e) if e.class() == ErrorClass::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(super) fn present(db: &DbInstance) -> Present {
        let mut p = Present::new(db.db_instance_identifier().unwrap_or_default())
            .with(Attr::Arn, db.db_instance_arn().unwrap_or_default())
            .with(Attr::Status, db.db_instance_status().unwrap_or_default())
            .with(
                Attr::DbiResourceId,
                db.dbi_resource_id().unwrap_or_default(),
            );
        if let Some(ep) = db.endpoint() {
            p = p
                .with(Attr::Address, ep.address().unwrap_or_default())
                .with(
                    Attr::Endpoint,
                    format!(
                        "{}:{}",
                        ep.address().unwrap_or_default(),
                        ep.port().unwrap_or_default()
                    ),
                );
        }
        if let Some(secret) = db.master_user_secret().and_then(|s| s.secret_arn()) {
            // The ARN of the secret, not the secret.
            p = p.with(Attr::MasterUserSecretArn, secret);
        }
        p
    }

    pub(super) fn checks(&self, cx: &Context, db: &DbInstance) -> Result<Checks, ResourceError> {
        let mut d = Checks::default();
        // PCI DSS 2.2.2: no vendor default account name (the config
        // refuses them; the live instance is what counts).
        let user = db.master_username().unwrap_or("unreported");
        d.check(
            InstanceProperty::MasterUsername,
            !paysec_core::naming::is_default_db_user(user),
            "not a default name (postgres, admin, root, rdsadmin, master, administrator, sa)",
            user,
        );
        // The master password: managed by RDS in Secrets Manager and
        // encrypted with the stack's RDS key, unless the user supplies one.
        let key_arn = cx.attr(&self.kms_key, Attr::Arn)?;
        match self.spec.password {
            Password::Managed => {
                let secret = db.master_user_secret();
                let live = match secret {
                    Some(s) => format!(
                        "secret {} encrypted with {}",
                        s.secret_arn().unwrap_or("?"),
                        s.kms_key_id().unwrap_or("?")
                    ),
                    None => "not managed by RDS".to_owned(),
                };
                d.check(
                    InstanceProperty::MasterUserSecret,
                    secret.and_then(|s| s.kms_key_id()) == Some(key_arn),
                    format!("managed by RDS in Secrets Manager, encrypted with {key_arn}"),
                    live,
                );
            }
            Password::Env(_) | Password::File(_) => d.deviation(
                InstanceProperty::MasterUserSecret,
                "the password is supplied (rds.master_password_env / rds.master_password_file), not managed by RDS",
            ),
        }
        d.equal(
            InstanceProperty::MultiAz,
            self.spec.multi_az.to_string(),
            db.multi_az().unwrap_or(false).to_string(),
        );
        self.check_capacity(db, &mut d);
        d.equal(
            InstanceProperty::StorageEncrypted,
            "true",
            db.storage_encrypted().unwrap_or(false).to_string(),
        );
        d.equal(
            InstanceProperty::KmsKey,
            cx.attr(&self.kms_key, Attr::Arn)?,
            db.kms_key_id().unwrap_or("none"),
        );
        d.equal(
            InstanceProperty::PubliclyAccessible,
            "false",
            db.publicly_accessible().unwrap_or(true).to_string(),
        );
        d.equal(
            InstanceProperty::BackupRetentionDays,
            self.spec.backup_retention_days.to_string(),
            db.backup_retention_period().unwrap_or(0).to_string(),
        );
        d.equal(
            InstanceProperty::CopyTagsToSnapshot,
            "true",
            db.copy_tags_to_snapshot().unwrap_or(false).to_string(),
        );
        d.equal(
            InstanceProperty::AutoMinorVersionUpgrade,
            "true",
            db.auto_minor_version_upgrade().unwrap_or(false).to_string(),
        );
        d.equal(
            InstanceProperty::DeletionProtection,
            self.spec.deletion_protection.to_string(),
            db.deletion_protection().unwrap_or(false).to_string(),
        );
        d.equal(
            InstanceProperty::IamDatabaseAuthentication,
            "true",
            db.iam_database_authentication_enabled()
                .unwrap_or(false)
                .to_string(),
        );
        d.equal(
            InstanceProperty::MonitoringInterval,
            self.spec.monitoring_interval_seconds.to_string(),
            db.monitoring_interval().unwrap_or(0).to_string(),
        );
        let mut exports: Vec<&str> = db
            .enabled_cloudwatch_logs_exports()
            .iter()
            .map(String::as_str)
            .collect();
        exports.sort_unstable();
        d.equal(
            InstanceProperty::LogExports,
            LOG_EXPORTS.join(","),
            exports.join(","),
        );
        let sg = cx.physical_id(&self.security_group)?;
        let sgs: Vec<&str> = db
            .vpc_security_groups()
            .iter()
            .filter_map(|g| g.vpc_security_group_id())
            .collect();
        d.equal(InstanceProperty::SecurityGroups, sg, sgs.join(","));
        let pg = cx.physical_id(&self.parameter_group)?;
        let pgs: Vec<&str> = db
            .db_parameter_groups()
            .iter()
            .filter_map(|g| g.db_parameter_group_name())
            .collect();
        // Its apply status quoted: a static parameter (pgaudit's library)
        // set after the instance started waits for a reboot
        // (`pending-reboot`), which `verify` fails and `up` leaves to the
        // owner's maintenance window.
        let status: Vec<&str> = db
            .db_parameter_groups()
            .iter()
            .map(|g| {
                g.parameter_apply_status()
                    .unwrap_or("apply status unreported")
            })
            .collect();
        if pgs.join(",") == pg && waits_for_reboot(db) {
            // Not something `up` changes on a database in use: said, with
            // what to run, and never a pass.
            d.deviation(
                InstanceProperty::ParameterGroup,
                format!(
                    "{pg} is attached but its static parameters (shared_preload_libraries: pgaudit) wait for a reboot ({}); reboot in a maintenance window: aws rds reboot-db-instance --db-instance-identifier {}",
                    status.join(","),
                    db.db_instance_identifier().unwrap_or_default()
                ),
            );
        } else {
            d.check(
                InstanceProperty::ParameterGroup,
                pgs.join(",") == pg,
                pg,
                format!("{} ({})", pgs.join(","), status.join(",")),
            );
        }
        let pi_supported = performance_insights_supported(&self.spec.instance_class);
        if pi_supported {
            d.equal(
                InstanceProperty::PerformanceInsights,
                "true",
                db.performance_insights_enabled()
                    .unwrap_or(false)
                    .to_string(),
            );
        }
        if !pi_supported {
            d.not_applicable(
                InstanceProperty::PerformanceInsights,
                format!(
                    "instance class {} does not support Performance Insights",
                    self.spec.instance_class
                ),
            );
        }
        if !self.spec.deletion_protection {
            d.deviation(
                InstanceProperty::DeletionProtection,
                "deletion protection is off by configuration (rds.deletion_protection = false)",
            );
        }
        Ok(d)
    }
}

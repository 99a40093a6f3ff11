//! The PostgreSQL instance. It starts as soon as its own dependencies
//! exist; what needs only its identifier (alarms) does not wait for the
//! 15-40 minutes it takes to become available.

use paysec_core::Attr;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_rds::types::{CloudwatchLogsExportConfiguration, DbInstance};
use paysec_aws::emulator::Gap;
use paysec_aws::AwsResultExt;
use paysec_core::resource::{
    Checks, Comparison, Context, DeleteOutcome, Dependency, Observed, Present, QuickCheck,
    Resource, WaitBudget,
};
use paysec_core::retry::{retrying, rules};
use paysec_core::{ErrorClass, LogicalId, Property, ResourceError};
use zeroize::Zeroizing;

use crate::groups::tags;

/// Where the master password comes from. Never a flag, never the ledger.
#[derive(Clone, Debug)]
pub enum Password {
    /// RDS generates it and keeps it in Secrets Manager under the RDS key.
    Managed,
    /// The named environment variable.
    Env(String),
    /// The named file.
    File(std::path::PathBuf),
}

/// From this size (GiB) a PostgreSQL gp3 volume has provisioned IOPS,
/// starting at [`GP3_LEAST_IOPS`] (RDS user guide, "gp3 storage").
const GP3_IOPS_FROM_GB: i32 = 400;
const GP3_LEAST_IOPS: i32 = 12_000;

#[derive(Clone, Debug)]
pub struct InstanceSpec {
    pub engine_version: String,
    pub instance_class: String,
    pub allocated_storage_gb: i32,
    pub backup_retention_days: i32,
    pub multi_az: bool,
    pub deletion_protection: bool,
    pub final_snapshot: bool,
    pub master_username: String,
    pub password: Password,
    pub port: i32,
    pub monitoring_interval_seconds: i32,
    /// Changes of capacity (class, storage, engine version, port) now,
    /// not in the maintenance window (`rds.apply_immediately`).
    pub apply_immediately: bool,
    /// Accounts the configuration lets restore the snapshots
    /// (`rds.snapshot_restorers`).
    pub snapshot_restorers: Vec<String>,
    /// Budget of the waits for `available` and for deletion
    /// (`rds.wait_minutes`).
    pub wait: Duration,
}

impl InstanceSpec {
    fn wait_budget(&self) -> WaitBudget {
        WaitBudget {
            limit: self.wait,
            setting: "rds.wait_minutes",
        }
    }
}

/// The ids of what the instance is built from.
pub struct Instance {
    pub id: LogicalId,
    pub aws: paysec_aws::Aws,
    pub spec: InstanceSpec,
    pub parameter_group: LogicalId,
    pub subnet_group: LogicalId,
    pub security_group: LogicalId,
    pub kms_key: LogicalId,
    pub monitoring_role: LogicalId,
    /// The export log groups, created first (with KMS and retention).
    pub log_groups: Vec<LogicalId>,
}

const LOG_EXPORTS: [&str; 2] = ["postgresql", "upgrade"];

/// Performance Insights is not offered on the smallest burstable classes.
pub fn performance_insights_supported(class: &str) -> bool {
    !(class.starts_with("db.t2.")
        || ["db.t3.micro", "db.t3.small", "db.t4g.micro", "db.t4g.small"].contains(&class))
}

/// A key of the Present `create` returns, read by `wait_ready`: the
/// instance was made by this run (never recorded: `wait_ready`'s Present
/// is built anew).
const MADE_NOW: &str = "made_now";

/// Whether a parameter group of `db` waits for a reboot to apply.
fn waits_for_reboot(db: &DbInstance) -> bool {
    db.db_parameter_groups()
        .iter()
        .any(|g| g.parameter_apply_status() == Some("pending-reboot"))
}

impl Instance {
    fn name(cx: &Context) -> String {
        cx.env.names.db_instance()
    }

    /// The supplied master password, wiped from paysec's memory when
    /// dropped (the SDK's request keeps its own copy until sent).
    fn password(&self) -> Result<Option<Zeroizing<String>>, ResourceError> {
        let read = match &self.spec.password {
            Password::Managed => return Ok(None),
            Password::Env(var) => std::env::var(var).map(Zeroizing::new).map_err(|_| {
                format!("the environment variable {var} (rds.master_password_env) is not set")
            }),
            Password::File(path) => {
                paysec_core::secret_file::read(path, "rds.master_password_file")
            }
        };
        let pw = read.map_err(|m| ResourceError::unexpected(&self.id, m))?;
        if pw.len() < 12 {
            return Err(ResourceError::unexpected(
                &self.id,
                "the supplied master password is shorter than 12 characters",
            ));
        }
        Ok(Some(pw))
    }

    async fn describe(&self, cx: &Context) -> Result<Option<DbInstance>, ResourceError> {
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

    /// RebootDBInstance, then waits until the instance is available with
    /// its parameter groups applied.
    ///
    /// IAM: rds:RebootDBInstance, rds:DescribeDBInstances.
    async fn reboot_until_applied(&self, cx: &Context) -> Result<DbInstance, ResourceError> {
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

    fn present(db: &DbInstance) -> Present {
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

    fn checks(&self, cx: &Context, db: &DbInstance) -> Result<Checks, ResourceError> {
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

#[async_trait]
impl Resource for Instance {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "db_instance"
    }

    /// Multi-AZ creation: 15-40 minutes on AWS.
    fn typical_wait(&self) -> Duration {
        Duration::from_secs(20 * 60)
    }

    fn dependencies(&self) -> Vec<Dependency> {
        [
            &self.parameter_group,
            &self.subnet_group,
            &self.security_group,
            &self.kms_key,
            &self.monitoring_role,
        ]
        .into_iter()
        .chain(&self.log_groups)
        .cloned()
        .map(Dependency::Identity)
        .collect()
    }

    /// DescribeDBInstances answers every property in one call: available
    /// and as wanted, or a full read (and repair, and readiness wait).
    async fn quick_check(
        &self,
        cx: &Context,
        _known: &Present,
    ) -> Result<QuickCheck, ResourceError> {
        let Some(db) = self.describe(cx).await? else {
            return Ok(QuickCheck::ReadFully);
        };
        let available = db.db_instance_status() == Some("available");
        Ok((available && self.checks(cx, &db)?.drift().is_empty()).into())
    }

    async fn read(
        &self,
        cx: &Context,
        _known: Option<&Present>,
    ) -> Result<Observed, ResourceError> {
        let Some(db) = self.describe(cx).await? else {
            return Ok(Observed::Missing);
        };
        if matches!(db.db_instance_status(), Some("deleting")) {
            return Ok(Observed::Missing);
        }
        let mut checks = self.checks(cx, &db)?;
        let key = cx.attr(&self.kms_key, Attr::Arn)?;
        let snapshots = self.snapshots(cx).await?;
        check_snapshots(&mut checks, key, &snapshots, &self.spec.snapshot_restorers);
        self.check_secret_rotation(&db, &mut checks).await?;
        Ok(checks.observed(Self::present(&db)))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let key = cx.attr(&self.kms_key, Attr::Arn)?;
        let mut req = self
            .aws
            .rds
            .create_db_instance()
            .db_instance_identifier(Self::name(cx))
            .engine("postgres")
            .engine_version(&self.spec.engine_version)
            .engine_lifecycle_support("open-source-rds-extended-support-disabled")
            .db_instance_class(&self.spec.instance_class)
            .allocated_storage(self.spec.allocated_storage_gb)
            .storage_type("gp3")
            .storage_encrypted(true)
            .kms_key_id(key)
            .multi_az(self.spec.multi_az)
            .publicly_accessible(false)
            .db_subnet_group_name(cx.physical_id(&self.subnet_group)?)
            .vpc_security_group_ids(cx.physical_id(&self.security_group)?)
            .db_parameter_group_name(cx.physical_id(&self.parameter_group)?)
            .port(self.spec.port)
            .backup_retention_period(self.spec.backup_retention_days)
            .copy_tags_to_snapshot(true)
            .auto_minor_version_upgrade(true)
            .deletion_protection(self.spec.deletion_protection)
            .set_enable_cloudwatch_logs_exports(Some(
                LOG_EXPORTS.iter().map(|s| s.to_string()).collect(),
            ))
            .enable_iam_database_authentication(true)
            .monitoring_interval(self.spec.monitoring_interval_seconds)
            .monitoring_role_arn(cx.attr(&self.monitoring_role, Attr::Arn)?)
            .master_username(&self.spec.master_username)
            .set_tags(Some(tags(cx)));
        if performance_insights_supported(&self.spec.instance_class) {
            req = req
                .enable_performance_insights(true)
                .performance_insights_kms_key_id(key);
        }
        req = match self.password()? {
            None => req
                .manage_master_user_password(true)
                .master_user_secret_kms_key_id(key),
            Some(pw) => req.master_user_password(pw.as_str()),
        };
        let young = [
            rules::RDS_MONITORING_ROLE_NOT_YET_VALID,
            rules::RDS_KMS_KEY_NOT_YET_ACCESSIBLE,
        ];
        let created = retrying(&young, || async {
            req.clone()
                .send()
                .await
                .or_resource(&self.id, "CreateDBInstance")
        })
        .await;
        let db = match created {
            Ok(out) => out.db_instance().cloned(),
            Err(e) if e.class() == ErrorClass::AlreadyExists => self.describe(cx).await?,
            Err(e) => return Err(e),
        };
        let db = db.ok_or_else(|| {
            ResourceError::unexpected(&self.id, "CreateDBInstance returned no instance")
        })?;
        // Made by this run: its readiness wait may reboot it (see there).
        let mut p = Self::present(&db);
        p.attrs.insert(MADE_NOW.into(), "true".into());
        Ok(p)
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        let key = cx.attr(&self.kms_key, Attr::Arn)?;
        // The instance's own settings first; then its secret's rotation
        // and its snapshots, whose unfixable cases end the repair with
        // what to do, after everything fixable was fixed.
        let secret = present.attrs.get(Attr::MasterUserSecretArn.as_str());
        let drifted = InstanceProperty::drifted(&self.id, drift)?;
        let has = |p: InstanceProperty| drifted.iter().any(|(q, _)| *q == p);
        let own: Vec<InstanceProperty> = drifted
            .iter()
            .map(|(p, _)| *p)
            .filter(|p| {
                !matches!(
                    p,
                    InstanceProperty::Snapshots | InstanceProperty::MasterSecretRotation
                )
            })
            .filter(|p| !(*p == InstanceProperty::MasterUserSecret && secret.is_some()))
            .collect();
        if !own.is_empty() {
            self.modify(cx, key, &own).await?;
        }
        // A password RDS takes back into its management gets a new secret,
        // which rotates by default: only an existing one is rotated here.
        if has(InstanceProperty::MasterSecretRotation) && secret.is_some() {
            self.turn_rotation_on(present).await?;
        }
        if has(InstanceProperty::Snapshots) {
            self.unpublish_snapshots(cx, key).await?;
        }
        if let (Some((_, d)), Some(arn)) = (
            drifted
                .iter()
                .find(|(p, _)| *p == InstanceProperty::MasterUserSecret),
            secret,
        ) {
            return Err(ResourceError::unexpected(
                &self.id,
                format!(
                    "the master password's secret {arn} is {}, not the RDS key's; RDS cannot re-key a secret it manages: turn its management off and on again with the key (aws rds modify-db-instance --no-manage-master-user-password --master-user-password ..., then --manage-master-user-password --master-user-secret-kms-key-id {key})",
                    d.actual
                ),
            ));
        }
        Ok(present.clone())
    }

    /// Polls for `available` (fails at once on a state it cannot leave);
    /// then checks that Multi-AZ really happened (an AZ short of capacity
    /// can leave an instance single-AZ).
    async fn wait_ready(&self, cx: &Context, present: Present) -> Result<Present, ResourceError> {
        let db = cx
            .poll_until(
                "the database to become available (Multi-AZ: 15-40 min on AWS)",
                "available",
                self.spec.wait_budget(),
                || async {
                    let db = self.describe(cx).await?.ok_or_else(|| {
                        ResourceError::unexpected(&self.id, "the instance disappeared while being created")
                    })?;
                    match db.db_instance_status().unwrap_or_default() {
                        // After a storage change RDS optimizes the volume
                        // for hours, the database in service meanwhile
                        // (the Terraform provider's wait ends there too).
                        "available" | "storage-optimization" => Ok(Some(db)),
                        s @ ("failed" | "deleting" | "incompatible-restore" | "incompatible-parameters" | "incompatible-network" | "storage-full") => {
                            Err(ResourceError::unexpected(
                                &self.id,
                                format!("the instance is `{s}` instead of becoming available; see its events in the RDS console"),
                            ))
                        }
                        _ => Ok(None),
                    }
                },
            )
            .await?;
        if self.spec.multi_az
            && (db.multi_az() != Some(true) || db.secondary_availability_zone().is_none())
        {
            tracing::warn!(resource = %self.id, "the instance reports no secondary availability zone; Multi-AZ may not be in effect");
        }
        // A new instance whose group's static parameters (pgaudit's
        // shared_preload_libraries) did not make it into its first boot
        // (RDS asks to wait 5 minutes after changing a group before
        // creating an instance with it) reads `pending-reboot`: rebooted
        // now, which costs a database nobody uses yet nothing, so it
        // starts with what its group says.
        let db = if present.attrs.contains_key(MADE_NOW) && waits_for_reboot(&db) {
            self.reboot_until_applied(cx).await?
        } else {
            db
        };
        let mut p = Self::present(&db);
        p.attrs.extend(
            present
                .attrs
                .into_iter()
                .filter(|(k, _)| k == "final_snapshot"),
        );
        Ok(p)
    }

    async fn delete(&self, cx: &Context, _known: &Present) -> Result<DeleteOutcome, ResourceError> {
        let name = Self::name(cx);
        let Some(db) = self.describe(cx).await? else {
            return Ok(DeleteOutcome::default());
        };
        // On, the database is deleted only when the user said so
        // (`down --disable-deletion-protection`): checked before `down`
        // starts, and here against the live flag.
        if db.deletion_protection() == Some(true) && !cx.disables_deletion_protection() {
            return Err(ResourceError::unexpected(
                &self.id,
                format!("deletion protection is on for {name}: not deleting it; run `paysec down --disable-deletion-protection` to turn it off and delete the database (a final snapshot is kept when rds.final_snapshot is on)"),
            ));
        }
        if db.deletion_protection() == Some(true) {
            retrying(&[rules::RDS_INSTANCE_BUSY], || async {
                self.aws
                    .rds
                    .modify_db_instance()
                    .db_instance_identifier(&name)
                    .deletion_protection(false)
                    .apply_immediately(true)
                    .send()
                    .await
                    .or_resource(&self.id, "ModifyDBInstance")
            })
            .await?;
        }
        // Unique per run: a second `down` must not collide with the first's.
        let stamp = time::OffsetDateTime::now_utc();
        let snapshot = format!(
            "{name}-final-{:04}{:02}{:02}{:02}{:02}{:02}",
            stamp.year(),
            u8::from(stamp.month()),
            stamp.day(),
            stamp.hour(),
            stamp.minute(),
            stamp.second()
        );
        let mut req = self
            .aws
            .rds
            .delete_db_instance()
            .db_instance_identifier(&name)
            .delete_automated_backups(true);
        req = if self.spec.final_snapshot {
            req.final_db_snapshot_identifier(&snapshot)
        } else {
            req.skip_final_snapshot(true)
        };
        match retrying(&[rules::RDS_INSTANCE_BUSY], || async {
            req.clone()
                .send()
                .await
                .or_resource(&self.id, "DeleteDBInstance")
        })
        .await
        {
            Ok(_) => {}
            Err(e) if e.class() == ErrorClass::NotFound => return Ok(DeleteOutcome::default()),
            Err(e) => return Err(e),
        }
        cx.poll_until(
            "the database to be deleted (5-15 min on AWS, plus the final snapshot)",
            "deleted",
            self.spec.wait_budget(),
            || async { Ok(self.describe(cx).await?.is_none().then_some(())) },
        )
        .await?;
        if !self.spec.final_snapshot {
            return Ok(DeleteOutcome::default());
        }
        // The snapshot is encrypted with the RDS key: `down` keeps the key
        // while the snapshot needs it.
        Ok(DeleteOutcome {
            kept: Some(format!("final DB snapshot {snapshot} kept, encrypted with the RDS key (kept with it); delete it with `aws rds delete-db-snapshot --db-snapshot-identifier {snapshot}`")),
            encrypted_with: cx.attr(&self.kms_key, Attr::Arn).ok().map(str::to_owned),
        })
    }
}

paysec_core::properties! {
    /// What the instance's read compares (RDS-5..21, RDS-26).
    pub enum InstanceProperty {
        MasterUsername = "master_username",
        MasterUserSecret = "master_user_secret",
        MultiAz = "multi_az",
        StorageEncrypted = "storage_encrypted",
        KmsKey = "kms_key",
        PubliclyAccessible = "publicly_accessible",
        BackupRetentionDays = "backup_retention_days",
        CopyTagsToSnapshot = "copy_tags_to_snapshot",
        AutoMinorVersionUpgrade = "auto_minor_version_upgrade",
        DeletionProtection = "deletion_protection",
        IamDatabaseAuthentication = "iam_database_authentication",
        MonitoringInterval = "monitoring_interval",
        LogExports = "log_exports",
        SecurityGroups = "security_groups",
        ParameterGroup = "parameter_group",
        PerformanceInsights = "performance_insights",
        /// Every DB snapshot of the instance (RDS-21).
        Snapshots = "snapshots",
        /// The master secret's rotation (RDS-26).
        MasterSecretRotation = "master_secret_rotation",
        InstanceClass = "instance_class",
        AllocatedStorage = "allocated_storage",
        EngineVersion = "engine_version",
        Port = "port",
    }
}

impl InstanceProperty {
    /// A change of capacity: applied as `rds.apply_immediately` says (a
    /// restart), where the others are applied at once.
    fn is_capacity(self) -> bool {
        matches!(
            self,
            Self::InstanceClass | Self::AllocatedStorage | Self::EngineVersion | Self::Port
        )
    }
}

/// The capacity RDS holds for the maintenance window, as `name value`.
fn pending_capacity(p: &aws_sdk_rds::types::PendingModifiedValues) -> Vec<String> {
    [
        ("instance_class", p.db_instance_class().map(str::to_owned)),
        (
            "allocated_storage",
            p.allocated_storage().map(|g| format!("{g} GB")),
        ),
        ("engine_version", p.engine_version().map(str::to_owned)),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|v| format!("{name} {v}")))
    .collect()
}

/// The major version of `v` (`16` of `16.9`).
fn major(v: &str) -> &str {
    v.split('.').next().unwrap_or(v)
}

/// Whether a database at `live` meets the configured `wanted`: a major
/// alone is met by any of its minors, a minor by it or a later one of the
/// same major.
fn version_meets(live: &str, wanted: &str) -> bool {
    if major(live) != major(wanted) {
        return false;
    }
    let minor = |v: &str| -> Vec<u32> {
        v.split('.')
            .skip(1)
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    minor(live) >= minor(wanted)
}

/// Days between rotations `up` sets when rotation is off: RDS's own
/// default for the secrets it manages.
const ROTATION_DAYS: i64 = 7;

/// One DB snapshot of the instance, as read for the evidence.
#[derive(Debug)]
struct Snapshot {
    id: String,
    kind: String,
    encrypted_with: Option<String>,
    /// Who may restore it (`all`: anyone; else account ids).
    restorable_by: Vec<String>,
}

impl Instance {
    /// ModifyDBInstance with every setting that drifted, at once.
    async fn modify(
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

    /// The configured capacity against the live one. A value RDS holds as
    /// a pending modification (`rds.apply_immediately = false`) is the
    /// wanted one, waiting for the maintenance window: said, not drift.
    /// With `rds.apply_immediately = true` it is drift, applied now (RDS
    /// applies an immediate change together with what was pending). The
    /// port is never pending: RDS changes it at once, with a reboot,
    /// whatever `ApplyImmediately` says. What RDS cannot do in place
    /// (shrink storage, go back a version, change the major version) is
    /// drift whose repair refuses with what to do: paysec never replaces a
    /// database.
    fn check_capacity(&self, db: &DbInstance, d: &mut Checks) {
        let pending = db.pending_modified_values();
        let when = if self.spec.apply_immediately {
            "now (rds.apply_immediately)"
        } else {
            "in the next maintenance window (rds.apply_immediately = true applies it now)"
        };
        let deferred = !self.spec.apply_immediately;
        let mut capacity =
            |p: InstanceProperty, wanted: String, live: String, pending: Option<String>| {
                let when = if p == InstanceProperty::Port {
                    "now, with a reboot: RDS changes the port whatever rds.apply_immediately says"
                } else {
                    when
                };
                if live == wanted {
                    d.check(p, true, wanted, live);
                } else if deferred && pending.as_deref() == Some(wanted.as_str()) {
                    d.check(
                        p,
                        true,
                        wanted.clone(),
                        format!("{live}, {wanted} pending {when}"),
                    );
                } else {
                    d.check(p, false, format!("{wanted} (applied {when})"), live);
                }
            };
        capacity(
            InstanceProperty::InstanceClass,
            self.spec.instance_class.clone(),
            db.db_instance_class().unwrap_or("unknown").to_owned(),
            pending
                .and_then(|p| p.db_instance_class())
                .map(str::to_owned),
        );
        capacity(
            InstanceProperty::AllocatedStorage,
            format!("{} GB", self.spec.allocated_storage_gb),
            format!("{} GB", db.allocated_storage().unwrap_or(0)),
            pending
                .and_then(|p| p.allocated_storage())
                .map(|g| format!("{g} GB")),
        );
        capacity(
            InstanceProperty::Port,
            self.spec.port.to_string(),
            db.endpoint()
                .and_then(|e| e.port())
                .or(db.db_instance_port())
                .unwrap_or(0)
                .to_string(),
            pending.and_then(|p| p.port()).map(|p| p.to_string()),
        );
        // The engine: a configured major ("16") is met by any minor of it
        // (RDS upgrades minors itself); a configured minor by it or a later
        // one.
        let live = db.engine_version().unwrap_or("unknown");
        let wanted = &self.spec.engine_version;
        let ok = version_meets(live, wanted);
        let pending_version = pending.and_then(|p| p.engine_version());
        if ok {
            d.check(InstanceProperty::EngineVersion, true, wanted.clone(), live);
        } else if deferred && pending_version.is_some_and(|v| version_meets(v, wanted)) {
            d.check(
                InstanceProperty::EngineVersion,
                true,
                wanted.clone(),
                format!(
                    "{live}, {} pending {when}",
                    pending_version.unwrap_or_default()
                ),
            );
        } else {
            d.check(
                InstanceProperty::EngineVersion,
                false,
                format!("{wanted} (applied {when})"),
                live,
            );
        }
    }

    /// ModifyDBInstance with the capacity that drifted, applied as
    /// `rds.apply_immediately` says; what RDS cannot change in place is
    /// refused, naming the way. IAM: rds:ModifyDBInstance (and
    /// rds:DescribeDBInstances for the live values).
    async fn modify_capacity(
        &self,
        cx: &Context,
        drifted: &[InstanceProperty],
    ) -> Result<(), ResourceError> {
        let db = self.describe(cx).await?;
        let mut req = self
            .aws
            .rds
            .modify_db_instance()
            .db_instance_identifier(Self::name(cx))
            .apply_immediately(self.spec.apply_immediately);
        for p in drifted {
            req = match p {
                InstanceProperty::InstanceClass => req.db_instance_class(&self.spec.instance_class),
                InstanceProperty::AllocatedStorage => {
                    let live = db.as_ref().and_then(|d| d.allocated_storage()).unwrap_or(0);
                    if self.spec.allocated_storage_gb < live {
                        return Err(ResourceError::unexpected(
                            &self.id,
                            format!(
                                "rds.allocated_storage_gb is {} but the database has {live} GB, and RDS cannot shrink storage (it would take a new instance, which paysec never makes in place of a database): set rds.allocated_storage_gb = {live} or more",
                                self.spec.allocated_storage_gb
                            ),
                        ));
                    }
                    // RDS grows storage by at least 10% and rounds a smaller
                    // increase up (ModifyDBInstance, AllocatedStorage): the
                    // database would then hold more than configured, which
                    // reads as a shrink on every later run.
                    let least = (live * 11 + 9) / 10;
                    if self.spec.allocated_storage_gb < least {
                        return Err(ResourceError::unexpected(
                            &self.id,
                            format!(
                                "rds.allocated_storage_gb is {} and the database has {live} GB: RDS grows storage by at least 10% and would round this up to {least} GB, more than configured; nothing was changed: set rds.allocated_storage_gb = {least} or more (or keep {live})",
                                self.spec.allocated_storage_gb
                            ),
                        ));
                    }
                    let req = req.allocated_storage(self.spec.allocated_storage_gb);
                    // From 400 GiB a PostgreSQL gp3 volume has provisioned
                    // IOPS (12,000 at least) and RDS takes a storage change
                    // only with `Iops`; under 400 GiB it refuses `Iops`.
                    // paysec keeps what the volume has, or the baseline.
                    if self.spec.allocated_storage_gb >= GP3_IOPS_FROM_GB {
                        let live_iops = db.as_ref().and_then(|d| d.iops()).unwrap_or(0);
                        req.iops(live_iops.max(GP3_LEAST_IOPS))
                    } else {
                        req
                    }
                }
                InstanceProperty::Port => req.db_port_number(self.spec.port),
                InstanceProperty::EngineVersion => {
                    let live = db
                        .as_ref()
                        .and_then(|d| d.engine_version())
                        .unwrap_or("unknown")
                        .to_owned();
                    let wanted = &self.spec.engine_version;
                    if major(&live) != major(wanted) {
                        return Err(ResourceError::unexpected(
                            &self.id,
                            format!(
                                "the database runs PostgreSQL {live} and rds.engine_version is {wanted}: a major version change is an upgrade you plan (snapshot, a parameter group of the new family, rds.parameter_group_family, testing), not a setting paysec applies; keep rds.engine_version = \"{}\" or upgrade with `aws rds modify-db-instance --engine-version ... --allow-major-version-upgrade` first",
                                major(&live)
                            ),
                        ));
                    }
                    if version_meets(&live, wanted) {
                        req
                    } else {
                        req.engine_version(wanted)
                    }
                }
                _ => req,
            };
        }
        let sent = retrying(&[rules::RDS_INSTANCE_BUSY], || async {
            req.clone()
                .send()
                .await
                .or_resource(&self.id, "ModifyDBInstance")
        })
        .await;
        match sent {
            Err(e)
                if e.code() == Some("InvalidParameterCombination")
                    && e.message().contains("being optimized") =>
            {
                Err(ResourceError::unexpected(
                    &self.id,
                    format!(
                        "RDS refused the storage change ({}): after a storage change RDS takes no other for 6 hours or until it has optimized the volume, whichever is longer; nothing was changed: run `paysec up` again later, or keep rds.allocated_storage_gb = {} until then",
                        e.message(),
                        db.as_ref().and_then(|d| d.allocated_storage()).unwrap_or(0)
                    ),
                ))
            }
            other => other.map(|_| ()),
        }
    }

    /// The master password's secret (managed by RDS) rotates: Secrets
    /// Manager's DescribeSecret, its rotation, period, last and next
    /// dates quoted. A supplied password is a deviation (RDS-20 says so).
    async fn check_secret_rotation(
        &self,
        db: &DbInstance,
        checks: &mut Checks,
    ) -> Result<(), ResourceError> {
        if !matches!(self.spec.password, Password::Managed) {
            checks.deviation(
                InstanceProperty::MasterSecretRotation,
                "the password is supplied (rds.master_password_env / rds.master_password_file): its rotation is yours",
            );
            return Ok(());
        }
        let expected = format!("rotation on (RDS's default: every {ROTATION_DAYS} days)");
        let Some(arn) = db.master_user_secret().and_then(|s| s.secret_arn()) else {
            checks.check(
                InstanceProperty::MasterSecretRotation,
                false,
                expected,
                "no secret managed by RDS",
            );
            return Ok(());
        };
        let out = paysec_core::error::not_found_is_none(
            self.aws
                .secrets
                .describe_secret()
                .secret_id(arn)
                .send()
                .await
                .or_resource(&self.id, "DescribeSecret"),
        )?;
        let Some(secret) = out else {
            checks.check(
                InstanceProperty::MasterSecretRotation,
                false,
                expected,
                format!("secret {arn} not found"),
            );
            return Ok(());
        };
        let Some(on) = secret.rotation_enabled() else {
            if !self.aws.tolerates(Gap::SecretRotationUnreported) {
                checks.check(
                    InstanceProperty::MasterSecretRotation,
                    false,
                    expected,
                    "RotationEnabled not reported",
                );
            }
            return Ok(());
        };
        let rules = secret.rotation_rules();
        let period = rules
            .and_then(|r| r.automatically_after_days())
            .map(|d| format!("every {d} days"))
            .or_else(|| {
                rules
                    .and_then(|r| r.schedule_expression())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "no schedule".to_owned());
        let date = |d: Option<&paysec_aws::sdk::secretsmanager::primitives::DateTime>| {
            d.map_or("-".to_owned(), |d| d.to_string())
        };
        checks.check(
            InstanceProperty::MasterSecretRotation,
            on,
            expected,
            format!(
                "rotation {}: {period}; last rotated {}; next {}",
                if on { "on" } else { "off" },
                date(secret.last_rotated_date()),
                date(secret.next_rotation_date())
            ),
        );
        Ok(())
    }

    /// RotateSecret with a schedule turns rotation back on for a secret
    /// RDS manages (its rotation needs no function), without rotating now.
    async fn turn_rotation_on(&self, present: &Present) -> Result<(), ResourceError> {
        let arn = present
            .attrs
            .get(Attr::MasterUserSecretArn.as_str())
            .ok_or_else(|| {
                ResourceError::unexpected(
                    &self.id,
                    "the master password is not managed by RDS, so there is no secret to rotate: run `paysec up` again once RDS-20 is repaired",
                )
            })?;
        self.aws
            .secrets
            .rotate_secret()
            .secret_id(arn)
            .rotation_rules(
                paysec_aws::sdk::secretsmanager::types::RotationRulesType::builder()
                    .automatically_after_days(ROTATION_DAYS)
                    .build(),
            )
            .rotate_immediately(false)
            .send()
            .await
            .or_resource(&self.id, "RotateSecret")?;
        Ok(())
    }

    /// Every snapshot of the instance, automated and manual
    /// (DescribeDBSnapshots lists both when no type is given; shared and
    /// public ones of other accounts are left out), with who may restore
    /// the manual ones (automated snapshots cannot be shared).
    async fn snapshots(&self, cx: &Context) -> Result<Vec<Snapshot>, ResourceError> {
        let mut pages = self
            .aws
            .rds
            .describe_db_snapshots()
            .db_instance_identifier(Self::name(cx))
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.or_resource(&self.id, "DescribeDBSnapshots")?;
            for s in page.db_snapshots() {
                found.push(Snapshot {
                    id: s.db_snapshot_identifier().unwrap_or("?").to_owned(),
                    kind: s.snapshot_type().unwrap_or("?").to_owned(),
                    encrypted_with: s
                        .encrypted()
                        .unwrap_or(false)
                        .then(|| s.kms_key_id().unwrap_or("?").to_owned()),
                    restorable_by: Vec::new(),
                });
            }
        }
        for snap in found.iter_mut().filter(|s| s.kind == "manual") {
            let out = self
                .aws
                .rds
                .describe_db_snapshot_attributes()
                .db_snapshot_identifier(&snap.id)
                .send()
                .await;
            // Deleted between the two calls: nothing to judge.
            let Some(out) = paysec_core::error::not_found_is_none(
                out.or_resource(&self.id, "DescribeDBSnapshotAttributes"),
            )?
            else {
                continue;
            };
            let attrs = out.db_snapshot_attributes_result();
            for a in attrs
                .map(|r| r.db_snapshot_attributes())
                .unwrap_or_default()
            {
                if a.attribute_name() == Some("restore") {
                    snap.restorable_by
                        .extend(a.attribute_values().iter().cloned());
                }
            }
        }
        Ok(found)
    }

    /// Takes `all`, and every account `rds.snapshot_restorers` does not
    /// name, off each snapshot of the instance. An unencrypted snapshot
    /// cannot be fixed in place.
    async fn unpublish_snapshots(&self, cx: &Context, key: &str) -> Result<(), ResourceError> {
        let snapshots = self.snapshots(cx).await?;
        // Shares first: only an unencrypted snapshot can be public at all
        // (RDS refuses `all` on an encrypted one), and it must not stay so
        // while its owner copies it.
        for snap in &snapshots {
            let off: Vec<String> = snap
                .restorable_by
                .iter()
                .filter(|v| *v == "all" || !self.spec.snapshot_restorers.contains(v))
                .cloned()
                .collect();
            if !off.is_empty() {
                // IAM: rds:ModifyDBSnapshotAttribute.
                self.aws
                    .rds
                    .modify_db_snapshot_attribute()
                    .db_snapshot_identifier(&snap.id)
                    .attribute_name("restore")
                    .set_values_to_remove(Some(off))
                    .send()
                    .await
                    .or_resource(&self.id, "ModifyDBSnapshotAttribute")?;
            }
        }
        if let Some(snap) = snapshots
            .iter()
            .find(|s| s.encrypted_with.as_deref() != Some(key))
        {
            return Err(ResourceError::unexpected(
                &self.id,
                format!(
                    "DB snapshot {} is not encrypted with the RDS key ({}); RDS cannot re-encrypt it in place: copy it with `aws rds copy-db-snapshot --kms-key-id {key}` and delete the original",
                    snap.id,
                    snap.encrypted_with.as_deref().unwrap_or("unencrypted")
                ),
            ));
        }
        Ok(())
    }
}

/// Records the snapshots: each encrypted with the RDS key, none public, and
/// none restorable by an account the configuration does not name. A share
/// with a named account (`rds.snapshot_restorers`) is a deviation, quoted,
/// never a pass.
fn check_snapshots(checks: &mut Checks, key: &str, snapshots: &[Snapshot], allowed: &[String]) {
    let wrong: Vec<String> = snapshots
        .iter()
        .filter_map(|s| {
            let public = s.restorable_by.iter().any(|v| v == "all");
            let encrypted = s.encrypted_with.as_deref() == Some(key);
            let strangers: Vec<&str> = s
                .restorable_by
                .iter()
                .filter(|v| *v != "all" && !allowed.contains(v))
                .map(String::as_str)
                .collect();
            (public || !encrypted || !strangers.is_empty()).then(|| {
                format!(
                    "{} ({}{}{}{})",
                    s.id,
                    s.kind,
                    if public { ", public" } else { "" },
                    match &s.encrypted_with {
                        None => ", unencrypted".to_owned(),
                        Some(k) if k != key => format!(", encrypted with {k}"),
                        Some(_) => String::new(),
                    },
                    if strangers.is_empty() {
                        String::new()
                    } else {
                        format!(
                            ", restorable by {} (not named in rds.snapshot_restorers)",
                            strangers.join(" ")
                        )
                    }
                )
            })
        })
        .collect();
    let each: Vec<String> = snapshots
        .iter()
        .map(|s| {
            let shared: Vec<&str> = s.restorable_by.iter().map(String::as_str).collect();
            if shared.is_empty() {
                format!("{} ({})", s.id, s.kind)
            } else {
                format!("{} ({}, restorable by {})", s.id, s.kind, shared.join(" "))
            }
        })
        .collect();
    let shared = snapshots.iter().any(|s| !s.restorable_by.is_empty());
    if wrong.is_empty() && shared {
        checks.deviation(
            InstanceProperty::Snapshots,
            format!(
                "shared with accounts rds.snapshot_restorers names; {} snapshots, each encrypted with {key}: {}",
                snapshots.len(),
                each.join(", ")
            ),
        );
        return;
    }
    let actual = if !wrong.is_empty() {
        wrong.join("; ")
    } else if snapshots.is_empty() {
        "no snapshot".to_owned()
    } else {
        format!(
            "{} snapshots, each encrypted with {key}, none shared: {}",
            snapshots.len(),
            each.join(", ")
        )
    };
    checks.check(
        InstanceProperty::Snapshots,
        wrong.is_empty(),
        format!("every snapshot encrypted with {key}, none public, none shared but with rds.snapshot_restorers"),
        actual,
    );
}

#[cfg(test)]
mod tests {
    use super::{check_snapshots, Checks, Snapshot};
    use paysec_core::Observed;

    #[test]
    fn a_snapshot_fails_when_public_or_not_under_the_key() {
        let snap = |id: &str, key: Option<&str>, restore: &[&str]| Snapshot {
            id: id.into(),
            kind: "manual".into(),
            encrypted_with: key.map(str::to_owned),
            restorable_by: restore.iter().map(|s| s.to_string()).collect(),
        };
        let mut c = Checks::default();
        check_snapshots(&mut c, "k", &[snap("a", Some("k"), &["210987654321"])], &[]);
        assert_eq!(
            c.drift()[0].actual,
            "a (manual, restorable by 210987654321 (not named in rds.snapshot_restorers))",
            "shared with an account the configuration does not name: a failure"
        );
        let mut c = Checks::default();
        check_snapshots(
            &mut c,
            "k",
            &[snap("a", Some("k"), &["210987654321"])],
            &["210987654321".to_owned()],
        );
        assert!(c.drift().is_empty(), "named: not a failure");
        let Observed::Present {
            not_applicable,
            evidence,
            ..
        } = c.observed(paysec_core::Present::new("db"))
        else {
            panic!("present")
        };
        assert!(evidence.is_empty(), "and not a pass");
        assert!(not_applicable[0].deviation, "{not_applicable:?}");
        assert!(not_applicable[0].why.contains("restorable by 210987654321"));
        let mut c = Checks::default();
        check_snapshots(
            &mut c,
            "k",
            &[snap("a", Some("k"), &["all"]), snap("b", None, &[])],
            &[],
        );
        assert_eq!(
            c.drift()[0].actual,
            "a (manual, public); b (manual, unencrypted)"
        );
    }
}

/// What the instance's calls send and what its read makes of AWS's
/// answers, with the SDK's own mock transport.
#[cfg(test)]
mod requests {
    use super::*;
    use aws_sdk_rds::operation::{
        create_db_instance::CreateDbInstanceOutput,
        describe_db_instances::DescribeDbInstancesOutput,
        describe_db_snapshots::DescribeDbSnapshotsOutput,
    };
    use aws_sdk_rds::types::MasterUserSecret;
    use aws_sdk_rds::Client;
    use paysec_aws::mocked_client;
    use paysec_aws::sdk::secretsmanager as aws_sdk_secretsmanager;
    use paysec_aws::sdk::secretsmanager::operation::describe_secret::DescribeSecretOutput;
    use paysec_aws::testing::{mock, offline};
    use paysec_core::testing::context;

    const KEY: &str = "arn:aws:kms:eu-west-1:123456789012:key/3333";
    const NAME: &str = "paysec-test-001-db";
    const SECRET: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1";

    async fn instance(rds: Client, secrets: aws_sdk_secretsmanager::Client) -> (Instance, Context) {
        let mut aws = offline(paysec_core::testing::REGION).await;
        aws.rds = rds;
        aws.secrets = secrets;
        let instance = Instance {
            id: LogicalId::new("rds.instance"),
            aws,
            spec: InstanceSpec {
                engine_version: "16.9".into(),
                instance_class: "db.t3.micro".into(),
                allocated_storage_gb: 20,
                backup_retention_days: 7,
                multi_az: true,
                deletion_protection: true,
                final_snapshot: true,
                master_username: "paysec_admin".into(),
                password: Password::Managed,
                port: 5432,
                monitoring_interval_seconds: 60,
                apply_immediately: false,
                snapshot_restorers: Vec::new(),
                wait: Duration::from_secs(60),
            },
            parameter_group: LogicalId::new("rds.parameters"),
            subnet_group: LogicalId::new("rds.subnet-group"),
            security_group: LogicalId::new("network.sg-db"),
            kms_key: LogicalId::new("kms.rds"),
            monitoring_role: LogicalId::new("iam.rds-monitoring"),
            log_groups: Vec::new(),
        };
        let deps = [
            (
                "kms.rds",
                "kms_key",
                Present::new("3333").with(Attr::Arn, KEY),
            ),
            (
                "rds.parameters",
                "db_parameter_group",
                Present::new("paysec-test-001-postgres16"),
            ),
            (
                "rds.subnet-group",
                "db_subnet_group",
                Present::new("paysec-test-001-db-subnets"),
            ),
            ("network.sg-db", "security_group", Present::new("sg-1")),
            (
                "iam.rds-monitoring",
                "iam_role",
                Present::new("r").with(Attr::Arn, "arn:aws:iam::123456789012:role/m"),
            ),
        ];
        (instance, context("rds.instance", &deps))
    }

    #[tokio::test]
    async fn create_sends_an_encrypted_private_instance_whose_password_rds_keeps() {
        let create = mock!(Client::create_db_instance)
            .match_requests(|r| {
                r.db_instance_identifier() == Some(NAME)
                    && r.storage_encrypted() == Some(true)
                    && r.kms_key_id() == Some(KEY)
                    && r.publicly_accessible() == Some(false)
                    && r.multi_az() == Some(true)
                    && r.manage_master_user_password() == Some(true)
                    && r.master_user_secret_kms_key_id() == Some(KEY)
                    && r.master_user_password().is_none()
                    && r.enable_iam_database_authentication() == Some(true)
                    && r.copy_tags_to_snapshot() == Some(true)
                    && r.deletion_protection() == Some(true)
                    && r.enable_cloudwatch_logs_exports() == ["postgresql", "upgrade"]
                    && r.db_parameter_group_name() == Some("paysec-test-001-postgres16")
                    && r.vpc_security_group_ids() == ["sg-1"]
                    // No Performance Insights on db.t3.micro.
                    && r.enable_performance_insights().is_none()
            })
            .then_output(|| {
                CreateDbInstanceOutput::builder()
                    .db_instance(
                        DbInstance::builder()
                            .db_instance_identifier(NAME)
                            .db_instance_status("creating")
                            .build(),
                    )
                    .build()
            });
        let (instance, cx) = instance(
            mocked_client!(aws_sdk_rds, [&create]),
            mocked_client!(aws_sdk_secretsmanager, []),
        )
        .await;
        let present = instance.create(&cx).await.expect("created");
        assert_eq!(present.physical_id, NAME);
        assert_eq!(create.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_public_unencrypted_instance_with_a_default_user_is_drift() {
        let described = mock!(Client::describe_db_instances)
            .match_requests(|r| r.db_instance_identifier() == Some(NAME))
            .then_output(|| {
                DescribeDbInstancesOutput::builder()
                    .db_instances(
                        DbInstance::builder()
                            .db_instance_identifier(NAME)
                            .db_instance_status("available")
                            .master_username("postgres")
                            .publicly_accessible(true)
                            .storage_encrypted(false)
                            .multi_az(true)
                            .master_user_secret(
                                MasterUserSecret::builder()
                                    .secret_arn(SECRET)
                                    .kms_key_id(KEY)
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            });
        let snapshots = mock!(Client::describe_db_snapshots)
            .then_output(|| DescribeDbSnapshotsOutput::builder().build());
        let secret = mock!(aws_sdk_secretsmanager::Client::describe_secret)
            .match_requests(|r| r.secret_id() == Some(SECRET))
            .then_output(|| {
                DescribeSecretOutput::builder()
                    .arn(SECRET)
                    .rotation_enabled(true)
                    .build()
            });
        let (instance, cx) = instance(
            mocked_client!(aws_sdk_rds, [&described, &snapshots]),
            mocked_client!(aws_sdk_secretsmanager, [&secret]),
        )
        .await;
        let Observed::Present {
            drift, evidence, ..
        } = instance.read(&cx, None).await.expect("read")
        else {
            panic!("present");
        };
        let found = |p: InstanceProperty| {
            drift
                .iter()
                .find(|d| d.property == p.as_str())
                .map(|d| d.actual.clone())
        };
        assert_eq!(
            found(InstanceProperty::PubliclyAccessible).as_deref(),
            Some("true")
        );
        assert_eq!(
            found(InstanceProperty::StorageEncrypted).as_deref(),
            Some("false")
        );
        assert_eq!(
            found(InstanceProperty::MasterUsername).as_deref(),
            Some("postgres")
        );
        assert_eq!(found(InstanceProperty::MultiAz), None, "as configured");
        assert!(evidence.iter().any(
            |d| d.property == InstanceProperty::MasterUserSecret.as_str()
                && d.actual == format!("secret {SECRET} encrypted with {KEY}")
        ));
    }
}

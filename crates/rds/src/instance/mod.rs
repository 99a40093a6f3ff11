//! The PostgreSQL instance. It starts as soon as its own dependencies
//! exist; what needs only its identifier (alarms) does not wait for the
//! 15-40 minutes it takes to become available.
//!
//! Here: its spec, the password's source, and the `Resource` calls; what
//! it compares in `property`, reads in `read`, repairs in `modify`,
//! `capacity`, `secret` and `snapshots`, and reboots in `reboot`.

mod capacity;
mod modify;
mod property;
mod read;
mod reboot;
mod secret;
mod snapshots;

pub use property::InstanceProperty;

use paysec_core::Attr;
use std::time::Duration;

use async_trait::async_trait;
use paysec_aws::AwsResultExt;
use paysec_core::resource::{
    Comparison, Context, DeleteOutcome, Dependency, Observed, Present, QuickCheck, Resource,
    WaitBudget,
};
use paysec_core::retry::{retrying, rules};
use paysec_core::{ErrorClass, LogicalId, Property, ResourceError};
use zeroize::Zeroizing;

use crate::groups::tags;
use reboot::waits_for_reboot;
use snapshots::check_snapshots;

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
    use aws_sdk_rds::types::{DbInstance, MasterUserSecret};
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

//! Capacity (class, storage, engine version, port): compared with what RDS
//! holds pending, and applied as `rds.apply_immediately` says.

use aws_sdk_rds::types::DbInstance;
use paysec_aws::AwsResultExt;
use paysec_core::resource::{Checks, Context};
use paysec_core::retry::{retrying, rules};
use paysec_core::ResourceError;

use super::{Instance, InstanceProperty};

/// From this size (GiB) a PostgreSQL gp3 volume has provisioned IOPS,
/// starting at [`GP3_LEAST_IOPS`] (RDS user guide, "gp3 storage").
const GP3_IOPS_FROM_GB: i32 = 400;
const GP3_LEAST_IOPS: i32 = 12_000;

/// The capacity RDS holds for the maintenance window, as `name value`.
pub(super) fn pending_capacity(p: &aws_sdk_rds::types::PendingModifiedValues) -> Vec<String> {
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

impl Instance {
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
    pub(super) fn check_capacity(&self, db: &DbInstance, d: &mut Checks) {
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
    pub(super) async fn modify_capacity(
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
}

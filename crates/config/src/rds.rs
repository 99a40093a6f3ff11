//! `[rds]`: the database (engine, class, storage, Multi-AZ, backups,
//! protection, snapshots, monitoring, waits). Its keys, defaults and
//! checks live here.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{invalid, within_a_day, ConfigError};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rds {
    /// Build the database and what only serves it (its key, groups, log
    /// groups, monitoring role, RDS API endpoint, filters and alarms):
    /// `false` leaves them out of `plan` and `up` (for an emulator without
    /// RDS, or a stack without a database); `down` still removes any the
    /// ledger records.
    pub enabled: bool,
    /// A major version (`16`: the newest minor RDS offers, resolved at each
    /// run) or a minor (`16.9`: exactly that, refused before any write if
    /// RDS no longer offers it).
    pub engine_version: String,
    /// Must match the engine version (`postgres16` for 16.x).
    pub parameter_group_family: String,
    pub instance_class: String,
    pub allocated_storage_gb: i32,
    pub backup_retention_days: i32,
    pub multi_az: bool,
    /// On by default, whatever the environment's name. `down` of an
    /// environment whose database has it on is refused unless
    /// `--disable-deletion-protection` is passed.
    pub deletion_protection: bool,
    /// Take a final snapshot on `down` (kept, and named in the ledger).
    pub final_snapshot: bool,
    /// Not `postgres` or `admin`.
    pub master_username: String,
    /// Name of an environment variable holding a password you supply;
    /// default: RDS manages the password in Secrets Manager.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_password_env: Option<String>,
    /// A file holding a password you supply (mode 0600 advised).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_password_file: Option<PathBuf>,
    pub port: i32,
    /// Minutes to wait for the instance to become available (Multi-AZ: 15-40 on AWS).
    pub wait_minutes: u64,
    /// Seconds between enhanced-monitoring samples (1, 5, 10, 15, 30, 60).
    pub monitoring_interval_seconds: i32,
    /// Apply a change of class, storage, engine version or port now (a
    /// restart, minutes of unavailability for a single-AZ instance)
    /// rather than in the next maintenance window. Security settings are
    /// always applied at once.
    pub apply_immediately: bool,
    /// Accounts allowed to restore the database's snapshots (shared by
    /// their owner): a share with one of them is a deviation this names;
    /// any other share, or a public snapshot, fails RDS-21 and `up` takes
    /// it off.
    pub snapshot_restorers: Vec<String>,
}

impl Default for Rds {
    fn default() -> Self {
        Self {
            enabled: true,
            engine_version: "16".into(),
            parameter_group_family: "postgres16".into(),
            instance_class: "db.t3.micro".into(),
            allocated_storage_gb: 20,
            backup_retention_days: 7,
            multi_az: true,
            deletion_protection: true,
            final_snapshot: true,
            master_username: "payadmin".into(),
            master_password_env: None,
            master_password_file: None,
            port: 5432,
            wait_minutes: 60,
            monitoring_interval_seconds: 60,
            apply_immediately: false,
            snapshot_restorers: Vec::new(),
        }
    }
}

impl Rds {
    /// Range checks of `[rds]` the type system cannot express.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if let Some(bad) = self
            .snapshot_restorers
            .iter()
            .find(|a| a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(invalid(
                "rds.snapshot_restorers",
                bad,
                "AWS account ids, 12 digits each (`all`, a public snapshot, is never allowed)",
            ));
        }
        if !(7..=35).contains(&self.backup_retention_days) {
            return Err(invalid(
                "rds.backup_retention_days",
                &self.backup_retention_days,
                "must be 7 to 35 days (7 is the usual; 0 would disable backups)",
            ));
        }
        if !(20..=65536).contains(&self.allocated_storage_gb) {
            return Err(invalid(
                "rds.allocated_storage_gb",
                &self.allocated_storage_gb,
                "must be 20 to 65536",
            ));
        }
        if paysec_core::naming::is_default_db_user(&self.master_username) {
            return Err(invalid(
                "rds.master_username",
                &self.master_username,
                &format!(
                    "must not be a database's default administrator name ({}, in any case): an attacker would guess it (PCI DSS 2.2.2)",
                    paysec_core::naming::DEFAULT_DB_USERS.join(", ")
                ),
            ));
        }
        if !self
            .master_username
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            || !self
                .master_username
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            || self.master_username.len() > 63
        {
            return Err(invalid(
                "rds.master_username",
                &self.master_username,
                "letters, digits and _ only, starting with a letter, at most 63",
            ));
        }
        if self.master_password_env.is_some() && self.master_password_file.is_some() {
            return Err(invalid(
                "rds.master_password_env",
                &"both",
                "set rds.master_password_env or rds.master_password_file, not both",
            ));
        }
        let family_major = self.parameter_group_family.trim_start_matches("postgres");
        if self.engine_version.split('.').next() != Some(family_major) {
            return Err(invalid(
                "rds.parameter_group_family",
                &self.parameter_group_family,
                &format!(
                    "must match rds.engine_version {} (postgres<major>)",
                    self.engine_version
                ),
            ));
        }
        if ![1, 5, 10, 15, 30, 60].contains(&self.monitoring_interval_seconds) {
            return Err(invalid(
                "rds.monitoring_interval_seconds",
                &self.monitoring_interval_seconds,
                "must be 1, 5, 10, 15, 30 or 60",
            ));
        }
        within_a_day("rds.wait_minutes", self.wait_minutes)?;
        Ok(())
    }
}

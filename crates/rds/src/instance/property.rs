//! What the instance's read compares, one variant per property (the
//! controls name them), and which of them are capacity.

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
    pub(super) fn is_capacity(self) -> bool {
        matches!(
            self,
            Self::InstanceClass | Self::AllocatedStorage | Self::EngineVersion | Self::Port
        )
    }
}

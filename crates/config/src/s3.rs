//! `[s3]`: how long the log buckets keep logs hot and in all, and the data
//! bucket's old versions. Its keys, defaults and checks live here.

use serde::{Deserialize, Serialize};

use crate::{invalid, ConfigError};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3 {
    /// Days logs stay immediately available before a colder class (>= 90).
    pub log_hot_days: i32,
    /// Days logs are kept in total (>= 365, PCI DSS 10.5.1).
    pub log_retention_days: i32,
    /// Days old versions of data objects are kept.
    pub data_noncurrent_days: i32,
}

impl Default for S3 {
    fn default() -> Self {
        Self {
            log_hot_days: 90,
            log_retention_days: 365,
            data_noncurrent_days: 90,
        }
    }
}

impl S3 {
    /// Range checks of `[s3]` the type system cannot express.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.log_hot_days < 90 {
            return Err(invalid(
                "s3.log_hot_days",
                &self.log_hot_days,
                "PCI DSS 10.5.1 needs 90 days immediately available",
            ));
        }
        if self.log_retention_days < 365 || self.log_retention_days <= self.log_hot_days {
            return Err(invalid(
                "s3.log_retention_days",
                &self.log_retention_days,
                "must be at least 365 (PCI DSS 10.5.1) and more than s3.log_hot_days",
            ));
        }
        if self.data_noncurrent_days < 1 {
            return Err(invalid(
                "s3.data_noncurrent_days",
                &self.data_noncurrent_days,
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

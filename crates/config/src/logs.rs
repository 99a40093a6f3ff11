//! `[logs]`: every log group's retention (PCI DSS 10.5.1). Its keys,
//! defaults and checks live here.

use serde::{Deserialize, Serialize};

use crate::{invalid, ConfigError, LOG_RETENTION_DAYS};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Logs {
    /// Retention of every log group (PCI DSS 10.5.1: 12 months).
    pub retention_days: i32,
}

impl Default for Logs {
    fn default() -> Self {
        Self {
            retention_days: 365,
        }
    }
}

impl Logs {
    /// Range checks of `[logs]` the type system cannot express.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.retention_days < 90 {
            return Err(invalid(
                "logs.retention_days",
                &self.retention_days,
                "PCI DSS 10.5.1 needs at least 90 days immediately available (365 recommended)",
            ));
        }
        if !LOG_RETENTION_DAYS.contains(&self.retention_days) {
            return Err(invalid(
                "logs.retention_days",
                &self.retention_days,
                "CloudWatch Logs accepts only 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653 (at 90 or more)",
            ));
        }
        Ok(())
    }
}

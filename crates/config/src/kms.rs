//! `[kms]`: the keys' deletion window and their administrators. Its keys,
//! defaults and checks live here.

use serde::{Deserialize, Serialize};

use crate::{invalid, ConfigError};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Kms {
    /// Days a key waits in `PendingDeletion` after `down` (AWS: 7-30).
    pub deletion_window_days: i32,
    /// Principals allowed to administer (not use) the keys, besides the
    /// account root. Empty: the caller running `up`.
    pub admin_principals: Vec<String>,
}

impl Default for Kms {
    fn default() -> Self {
        Self {
            deletion_window_days: 30,
            admin_principals: Vec::new(),
        }
    }
}

impl Kms {
    /// Range checks of `[kms]` the type system cannot express.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if !(7..=30).contains(&self.deletion_window_days) {
            return Err(invalid(
                "kms.deletion_window_days",
                &self.deletion_window_days,
                "AWS KMS accepts a deletion window of 7 to 30 days",
            ));
        }
        for p in &self.admin_principals {
            if !p.starts_with("arn:") {
                return Err(invalid(
                    "kms.admin_principals",
                    p,
                    "must be IAM ARNs (arn:aws:iam::<account>:role/<name>)",
                ));
            }
        }
        Ok(())
    }
}

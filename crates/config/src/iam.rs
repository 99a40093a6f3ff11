//! `[iam]`: the auditor's role (the account or role it trusts, its
//! external id). Its keys, defaults and checks live here.

use serde::{Deserialize, Serialize};

use crate::{external_id_problem, invalid, is_role_arn, ConfigError};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Iam {
    /// Account whose principals may assume the audit role. The role is
    /// built only when this or `audit_trusted_role_arn` is set: no default
    /// trust, not even this account's own principals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_trusted_account: Option<String>,
    /// The one role that may assume the audit role (instead of a whole
    /// account). It must exist: IAM refuses a trust policy naming a role
    /// it cannot find.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_trusted_role_arn: Option<String>,
    /// External id the auditor must present (at least 16 characters);
    /// default: 128 random bits generated at creation, recorded in the
    /// ledger and shown by `paysec output audit_role_external_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_external_id: Option<String>,
}

impl Iam {
    /// Range checks of `[iam]` the type system cannot express.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if let Some(a) = &self.audit_trusted_account {
            if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(
                    "iam.audit_trusted_account",
                    a,
                    "must be a 12-digit AWS account id",
                ));
            }
        }
        if let Some(arn) = &self.audit_trusted_role_arn {
            if !is_role_arn(arn) {
                return Err(invalid(
                    "iam.audit_trusted_role_arn",
                    arn,
                    "must be an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)",
                ));
            }
            if self.audit_trusted_account.is_some() {
                return Err(invalid(
                    "iam.audit_trusted_role_arn",
                    arn,
                    "set iam.audit_trusted_account or iam.audit_trusted_role_arn, not both",
                ));
            }
        }
        if let Some(x) = &self.audit_external_id {
            // What STS takes (`external_id_problem`); a guessable short one
            // defeats its purpose, so at least 16.
            if x.len() < 16 || external_id_problem(x).is_some() {
                return Err(invalid(
                    "iam.audit_external_id",
                    &format!("{} characters", x.len()),
                    "must be 16 to 1224 characters of letters, digits and _+=,.@:/- (or unset: paysec generates 128 random bits)",
                ));
            }
        }
        Ok(())
    }
}

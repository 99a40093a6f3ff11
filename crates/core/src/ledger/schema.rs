//! The ledger document as stored (`LedgerFile`) and reading it back: JSON, a
//! paysec ledger, a schema this paysec reads (an older one as it is, upgraded
//! when `save` rewrites it; a newer one refused), of this environment.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Kept, Ledger, LedgerError, Record, SCHEMA};
use crate::id::LogicalId;
use crate::naming::EnvName;
use crate::releases::Releases;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LedgerFile {
    pub(super) schema: u32,
    pub(super) environment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) region: Option<String>,
    pub(super) paysec_version: String,
    pub(super) updated_at: String,
    pub(super) resources: BTreeMap<LogicalId, Record>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) kept: Vec<Kept>,
    /// Resources a run found with a create in flight from a run that died
    /// (an intent without a result). AWS may still act on such a create
    /// after later runs looked, so each is swept for second copies at the
    /// end of the next run that completes; until then it stays listed.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub(super) unswept: BTreeSet<LogicalId>,
    /// The payment function's releases (`crate::releases`).
    #[serde(default, skip_serializing_if = "Releases::is_empty")]
    pub(super) releases: Releases,
}

impl Ledger {
    /// A ledger's text, checked: JSON, a paysec ledger, a schema this
    /// paysec reads, of this environment.
    pub(super) fn parse(path: &Path, env: &EnvName, text: &str) -> Result<LedgerFile, LedgerError> {
        let path = path.to_owned();
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| LedgerError::Corrupt {
                path: path.clone(),
                detail: e.to_string(),
            })?;
        let schema = match value.get("schema") {
            Some(s) => s.as_u64().ok_or_else(|| LedgerError::Corrupt {
                path: path.clone(),
                detail: "`schema` is not a number".into(),
            })?,
            None => return Err(LedgerError::NotALedger { path }),
        };
        if schema > u64::from(SCHEMA) {
            return Err(LedgerError::FutureSchema {
                path,
                found: schema,
                supported: SCHEMA,
            });
        }
        let data: LedgerFile = serde_json::from_value(value).map_err(|e| LedgerError::Corrupt {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        if data.environment != env.as_str() {
            return Err(LedgerError::WrongEnvironment {
                path,
                found: data.environment,
                expected: env.to_string(),
            });
        }
        // The audit role's external id is kept here (the hand-over reads
        // it): shown nowhere else but as its digest.
        for record in data.resources.values() {
            if let Some(id) = record.attrs.get(crate::Attr::ExternalId.as_str()) {
                crate::shown::hide(id);
            }
        }
        Ok(data)
    }
}

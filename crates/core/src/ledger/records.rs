//! What the ledger records of each resource ([`Record`], its [`Status`]),
//! what `down` kept on purpose ([`Kept`]), and the schema version.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::id::LogicalId;
use crate::state::Present;

/// The schema version this paysec reads and writes.
/// 2 added `converged` to records and `unswept`; 3 added `releases` (an
/// older paysec then asks to be upgraded instead of calling the file
/// corrupt). Older files are read and upgraded.
pub const SCHEMA: u32 = 3;

/// Where a resource stands, as far as the ledger knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// A create call is about to be made or was made; its result was not
    /// recorded. The next run looks the resource up by name or tag first.
    Creating,
    /// Exists; its readiness wait has not finished.
    Created,
    /// Exists and is ready.
    Ready,
    /// A delete was started and not recorded as finished.
    Deleting,
}

/// One resource in the ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub kind: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_id: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attrs: BTreeMap<String, String>,
    pub updated_at: String,
    /// The last failure on this resource, kept for `status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Fingerprint of the desired state this resource last converged to
    /// (`desired::of_resource`); absent until a run brought it to ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converged: Option<String>,
    /// The token of the create that made it (see `Context::create_token`),
    /// recorded with the intent and kept: resources carry it as the tag
    /// `paysec:create-token`, the proof that this ledger's paysec made them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_token: Option<String>,
}

impl Record {
    /// A record of a live resource, as `set_present` writes it (the time
    /// is set when saved).
    pub fn of(kind: &str, present: &Present, status: Status, converged: Option<&str>) -> Self {
        Self {
            kind: kind.to_owned(),
            status,
            physical_id: Some(present.physical_id.clone()),
            attrs: present.attrs.clone(),
            updated_at: String::new(),
            last_error: None,
            converged: converged.map(str::to_owned),
            create_token: None,
        }
    }

    /// The live identity, when the ledger has one.
    pub fn present(&self) -> Option<Present> {
        self.physical_id.as_ref().map(|p| Present {
            physical_id: p.clone(),
            attrs: self.attrs.clone(),
        })
    }
}

/// Something `down` deliberately left in place, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kept {
    pub id: LogicalId,
    pub kind: String,
    pub physical_id: String,
    pub note: String,
    pub at: String,
    /// The ARN of the KMS key its data is encrypted with, which `down`
    /// then keeps too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_with: Option<String>,
}

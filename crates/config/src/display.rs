//! The settings as a report shows them, the secret among them only said to
//! be set.

use crate::StackSettings;

impl StackSettings {
    /// The settings as a report may show them: everything but the audit
    /// role's external id, a shared secret of sorts, which is only said
    /// to be set.
    pub fn shown(&self) -> serde_json::Value {
        let mut shown = serde_json::to_value(self).unwrap_or_default();
        if let Some(id) = shown.pointer_mut("/iam/audit_external_id") {
            if !id.is_null() {
                *id = serde_json::Value::from("(set; not shown)");
            }
        }
        shown
    }
}

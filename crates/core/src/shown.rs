//! What paysec shows of text it did not write itself, wherever it shows it
//! (the terminal, `--output json`, logs, reports, plan files).
//!
//! - **External ids** (the deployer's `--external-id` and `external_id`,
//!   the audit role's `iam.audit_external_id` or the one paysec generated)
//!   are registered once known ([`hide`]) and replaced everywhere by a
//!   digest, `external-id:sha256:<12 hex>`, so two places holding the same
//!   id still show the same text. The one exception is `paysec output
//!   audit_role_external_id`, the hand-over to the auditor.
//! - **Control characters and bidirectional overrides** in strings from
//!   outside (AWS names, lock holders, ledger notes) are shown as `\uXXXX`
//!   ([`for_terminal`]): a name cannot move the cursor, clear the screen or
//!   reorder what a reader sees (a `force-unlock` question, above all).
//!   Inside a JSON string the same six characters are the JSON escape, so
//!   a program still reads the original character.

use std::borrow::Cow;
use std::sync::{Mutex, OnceLock};

/// The values to hide, longest first (one containing another is replaced
/// whole).
fn hidden() -> &'static Mutex<Vec<String>> {
    static HIDDEN: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    HIDDEN.get_or_init(|| Mutex::new(Vec::new()))
}

/// Registers an external id: from now on it is shown as its digest.
/// Values shorter than 2 characters are STS's own minimum and are
/// refused earlier; they are ignored here (they would match everywhere).
pub fn hide(value: &str) {
    if value.len() < 2 {
        return;
    }
    let mut values = hidden().lock().unwrap_or_else(|p| p.into_inner());
    if !values.iter().any(|v| v == value) {
        values.push(value.to_owned());
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }
}

/// How an external id is shown: its digest.
pub fn digest_of(value: &str) -> String {
    let hex = crate::digest::sha256_hex(value.as_bytes());
    format!("external-id:sha256:{}", &hex[..12])
}

/// `text` with every registered external id replaced by its digest.
pub fn redacted(text: &str) -> Cow<'_, str> {
    let values = hidden().lock().unwrap_or_else(|p| p.into_inner());
    if !values.iter().any(|v| text.contains(v.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_owned();
    for v in values.iter() {
        if out.contains(v.as_str()) {
            out = out.replace(v.as_str(), &digest_of(v));
        }
    }
    Cow::Owned(out)
}

/// Whether `c` must not reach a terminal as it is: C0 controls but line
/// feed and tab, DEL, C1 controls, and the bidirectional marks, embeddings,
/// overrides and isolates (Unicode's `Bidi_Control` set).
fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` made safe to show: external ids as digests, control characters
/// and bidirectional controls as `\uXXXX`.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    let text = redacted(text);
    if !text.chars().any(unsafe_char) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_external_id_is_shown_as_its_digest_everywhere_it_occurs() {
        hide("tenant-42-0123456789abcdef");
        let text =
            r#"{"sts:ExternalId":"tenant-42-0123456789abcdef"} again tenant-42-0123456789abcdef"#;
        let shown = redacted(text);
        assert!(!shown.contains("tenant-42-0123456789abcdef"), "{shown}");
        let digest = digest_of("tenant-42-0123456789abcdef");
        assert_eq!(shown.matches(&digest).count(), 2, "{shown}");
        assert!(digest.starts_with("external-id:sha256:"));
        assert_eq!(digest.len(), "external-id:sha256:".len() + 12);
        assert_eq!(redacted("nothing hidden here"), "nothing hidden here");
    }

    #[test]
    fn controls_and_bidi_overrides_are_shown_escaped_but_lines_stay() {
        let holder = "ci@runner\u{1b}[2J\u{202e}kcol\u{7}";
        assert_eq!(
            for_terminal(holder),
            "ci@runner\\u001b[2J\\u202ekcol\\u0007"
        );
        assert_eq!(
            for_terminal("two\nlines\tand a tab"),
            "two\nlines\tand a tab"
        );
        // In a JSON string the escape is JSON's own: read back, it is the
        // original character.
        let json = serde_json::to_string(&serde_json::json!({ "name": "a\u{202e}b" })).unwrap();
        let shown = for_terminal(&json);
        assert_eq!(shown, r#"{"name":"a\u202eb"}"#);
        let back: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(back["name"], "a\u{202e}b");
    }
}

//! Logical ids: the stable names paysec gives its resources (`kms.rds`,
//! `network.vpc`), independent of the physical ids AWS assigns.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A resource's stable name inside a stack, e.g. `kms.rds`.
///
/// Lowercase ASCII, digits, `.`, `_` and `-` only, so it can be used as a tag
/// value, a ledger key and a Graphviz node name without escaping.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LogicalId(String);

impl LogicalId {
    /// Builds an id from a static string written in paysec's own code.
    ///
    /// # Panics
    /// On characters outside the allowed set: such an id is a programming error.
    pub fn new(id: impl Into<String>) -> Self {
        let id = id.into();
        assert!(
            !id.is_empty()
                && id.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
                }),
            "invalid logical id {id:?}"
        );
        Self(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LogicalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad` so that width and alignment work in tables.
        f.pad(&self.0)
    }
}

impl From<&str> for LogicalId {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

/// 128 bits from the operating system's random source, as 32 hex digits.
/// Fails rather than answer anything guessable.
pub fn random_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    let mut f = std::fs::File::open("/dev/urandom")?;
    std::io::Read::read_exact(&mut f, &mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dotted_lowercase() {
        assert_eq!(LogicalId::new("kms.rds").as_str(), "kms.rds");
    }

    #[test]
    #[should_panic(expected = "invalid logical id")]
    fn rejects_uppercase() {
        LogicalId::new("KMS.rds");
    }
}

//! The properties each kind of resource reads and repairs, as types: every
//! service crate declares an enum of its own with [`properties!`], so a
//! read records a variant, a repair matches the variants exhaustively (a
//! property it cannot set says why, no catch-all), and `verify`'s catalog
//! names the variants: renaming one fails to compile instead of quietly
//! turning a control UNKNOWN. On the wire (the plan's JSON, the ledger,
//! the report) a property is its `as_str` name.

use serde::{Deserialize, Serialize};

use crate::error::ResourceError;
use crate::id::LogicalId;

/// One property of a live resource compared with what paysec wants. In a
/// read's `drift` it differs; in its `evidence` it matched, and `actual` is
/// the live value that matched (what `verify` quotes to an auditor).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    pub property: String,
    pub expected: String,
    pub actual: String,
}

impl Comparison {
    pub fn new(property: &str, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Self {
            property: property.to_owned(),
            expected: expected.into(),
            actual: actual.into(),
        }
    }
}

/// The property every tagged kind shares: its inventory tags.
pub const TAGS: &str = "tags";

crate::properties! {
    /// The properties every tagged kind shares (INV-1).
    pub enum Common {
        Tags = "tags",
    }
}

/// One kind's properties.
pub trait Property: Copy + Eq + std::fmt::Debug + 'static {
    /// Every variant, in declaration order.
    const ALL: &'static [Self];

    /// The name on the wire.
    fn name(self) -> &'static str;

    /// The variant of a name (`None`: not one of this kind's).
    fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|p| p.name() == name)
    }

    /// The variants `drift` names, each once, in declaration order, with
    /// the first comparison of each: what a repair walks. A name that is
    /// none of this kind's (a read recording a property its enum lacks) is
    /// an error, never skipped.
    fn drifted<'a>(
        resource: &LogicalId,
        drift: &'a [Comparison],
    ) -> Result<Vec<(Self, &'a Comparison)>, ResourceError> {
        if let Some(d) = drift.iter().find(|d| Self::parse(&d.property).is_none()) {
            return Err(ResourceError::unexpected(
                resource,
                format!(
                    "cannot repair `{}`: not a property of this kind",
                    d.property
                ),
            ));
        }
        Ok(Self::ALL
            .iter()
            .filter_map(|p| Some((*p, drift.iter().find(|d| d.property == p.name())?)))
            .collect())
    }

    /// The error of a repair asked for a property `up` cannot set (one
    /// read as evidence, or fixed by AWS), saying what to do instead.
    fn cannot_set(self, resource: &LogicalId, what_to_do: &str) -> ResourceError {
        ResourceError::unexpected(
            resource,
            format!("`{}` is not set by paysec: {what_to_do}", self.name()),
        )
    }
}

/// Declares a kind's property enum: each variant with its name on the
/// wire. The enum gets `as_str` (a `const fn`, so catalogs can name a
/// variant in a constant) and [`Property`].
///
/// ```
/// paysec_core::properties! {
///     /// A log group's properties.
///     pub enum GroupProperty {
///         KmsKey = "kms_key",
///         Tags = "tags",
///     }
/// }
/// assert_eq!(GroupProperty::KmsKey.as_str(), "kms_key");
/// ```
#[macro_export]
macro_rules! properties {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// The name on the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $wire ),+
                }
            }
        }

        impl $crate::property::Property for $name {
            const ALL: &'static [Self] = &[$( Self::$variant ),+];

            fn name(self) -> &'static str {
                self.as_str()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::properties! {
        enum Sample {
            First = "first",
            Tags = "tags",
        }
    }

    #[test]
    fn a_repair_walks_the_drifted_variants_once_in_order() {
        let id = LogicalId::new("x.y");
        let drift = [
            Comparison::new("tags", "a", "b"),
            Comparison::new("first", "x", "y"),
            Comparison::new("tags", "c", "d"),
        ];
        assert_eq!(
            Sample::drifted(&id, &drift).unwrap(),
            vec![(Sample::First, &drift[1]), (Sample::Tags, &drift[0])]
        );
        let stranger = [Comparison::new("second", "x", "y")];
        assert!(Sample::drifted(&id, &stranger)
            .unwrap_err()
            .to_string()
            .contains("cannot repair `second`"));
        assert_eq!(Sample::parse("first"), Some(Sample::First));
        assert_eq!(Sample::parse("other"), None);
        assert_eq!(Sample::Tags.as_str(), TAGS);
    }
}

//! The plain state types every other module speaks: a live resource's
//! identity (`Present`), what reading it found (`Observed`, with `Checks`
//! comparing live and wanted properties), a quick check's verdict and what a
//! delete kept. A leaf: it knows nothing of the ledger, the context or the
//! scheduler.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::ResourceError;

/// An attribute a resource records for its dependents and outputs (the
/// ledger's `attrs` keys); the physical id is the record's own field
/// (`Context::physical_id`). A variant, not a string, so a renamed
/// attribute fails to compile instead of failing a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attr {
    /// Its ARN.
    Arn,
    /// Its name (bucket, log group, function...).
    Name,
    /// A VPC's or subnet's CIDR block.
    Cidr,
    /// A readiness state as last seen.
    State,
    /// A metric filter's metric namespace.
    Namespace,
    /// A metric filter's metric name.
    Metric,
    /// A queue's URL.
    Url,
    /// A database's status as last seen.
    Status,
    /// A security group set's rule digest.
    Rules,
    /// The ARN of the database's RDS-managed master secret (never the secret).
    MasterUserSecretArn,
    /// A KMS key's id.
    KeyId,
    /// The audit role's external id.
    ExternalId,
    /// A subnet's zone.
    AvailabilityZone,
    /// A KMS key's alias.
    Alias,
    /// The database's host name.
    Address,
    /// The database's `host:port`.
    Endpoint,
    /// The VPC's default security group.
    DefaultSecurityGroupId,
    /// The VPC's default network ACL.
    DefaultNetworkAclId,
    /// A key's administrators as its last converge wanted them (what
    /// `verify` compares the key policy with, whoever runs it).
    KeyAdministrators,
}

impl Attr {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Arn => "arn",
            Self::Name => "name",
            Self::Cidr => "cidr",
            Self::State => "state",
            Self::Namespace => "namespace",
            Self::Metric => "metric",
            Self::Url => "url",
            Self::Status => "status",
            Self::Rules => "rules",
            Self::MasterUserSecretArn => "master_user_secret_arn",
            Self::KeyId => "key_id",
            Self::ExternalId => "external_id",
            Self::AvailabilityZone => "availability_zone",
            Self::Alias => "alias",
            Self::Address => "address",
            Self::Endpoint => "endpoint",
            Self::DefaultSecurityGroupId => "default_security_group_id",
            Self::DefaultNetworkAclId => "default_network_acl_id",
            Self::KeyAdministrators => "key_administrators",
        }
    }
}

/// A live resource as paysec knows it: its physical id and the attributes
/// later steps need (ARNs, endpoints). Never a secret.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Present {
    pub physical_id: String,
    #[serde(default)]
    pub attrs: BTreeMap<String, String>,
}

impl Present {
    pub fn new(physical_id: impl Into<String>) -> Self {
        Self {
            physical_id: physical_id.into(),
            attrs: BTreeMap::new(),
        }
    }

    pub fn with(mut self, key: Attr, value: impl Into<String>) -> Self {
        self.attrs.insert(key.as_str().to_owned(), value.into());
        self
    }
}

/// One property of a live resource compared with what paysec wants. In a
/// read's `drift` it differs; in its `evidence` it matched, and `actual` is
/// the live value that matched (what `verify` quotes to an auditor).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    pub property: String,
    pub expected: String,
    pub actual: String,
}

impl Drift {
    pub fn new(property: &str, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Self {
            property: property.to_owned(),
            expected: expected.into(),
            actual: actual.into(),
        }
    }
}

/// What a read found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observed {
    /// Nothing there (or only something being deleted): create it.
    Missing,
    /// It exists; `drift` lists what differs from the desired state,
    /// `evidence` what was compared and matched, with the live value, and
    /// `not_applicable` the properties that do not apply to this one,
    /// with why.
    Present {
        present: Present,
        drift: Vec<Drift>,
        evidence: Vec<Drift>,
        not_applicable: Vec<NotApplicable>,
    },
}

/// A read's comparisons, property by property: each check records the
/// wanted and the live value whether or not they match, so a failing check
/// becomes drift to repair and a passing one evidence for `verify`.
#[derive(Clone, Debug, Default)]
pub struct Checks {
    drift: Vec<Drift>,
    evidence: Vec<Drift>,
    not_applicable: Vec<NotApplicable>,
}

/// A property the desired state deliberately leaves out for this resource
/// (a bucket that is itself the log target, an instance class without
/// Performance Insights), with the reason an auditor reads. A `deviation`
/// is different: the property would apply, and the configuration (or the
/// account) departs from its baseline; `verify` reports it as such.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotApplicable {
    pub property: String,
    pub why: String,
    #[serde(skip_serializing_if = "is_false")]
    pub deviation: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Checks {
    /// Records one property; `ok` says whether the live value is the wanted one.
    pub fn check(
        &mut self,
        property: &str,
        ok: bool,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) {
        let d = Drift::new(property, expected, actual);
        if ok {
            self.evidence.push(d);
        } else {
            self.drift.push(d);
        }
    }

    /// Records one property whose live value must equal the wanted one.
    pub fn equal(&mut self, property: &str, expected: impl ToString, actual: impl ToString) {
        let (e, a) = (expected.to_string(), actual.to_string());
        self.check(property, e == a, e, a);
    }

    /// Records a policy document compared as a whole, by meaning
    /// (`policy_doc::same`), each side quoted (`policy_doc::quote`: its
    /// digest and canonical form): a PASS shows the live document itself.
    pub fn policy(&mut self, property: &str, wanted: &serde_json::Value, live: &serde_json::Value) {
        let same = crate::policy_doc::same(wanted, live);
        self.check(
            property,
            same,
            crate::policy_doc::quote(wanted),
            crate::policy_doc::quote(live),
        );
    }

    /// Records the inventory tags: every one of `wanted` must be on the
    /// resource with its value (other tags are the user's business).
    pub fn tags(&mut self, wanted: &[(String, String)], actual: &[(String, String)]) {
        let missing = crate::tags::missing(wanted, actual);
        if missing.is_empty() {
            let seen: Vec<String> = wanted.iter().map(|(k, v)| format!("{k}={v}")).collect();
            self.evidence
                .push(Drift::new("tags", seen.join(","), seen.join(",")));
        } else {
            self.drift
                .push(Drift::new("tags", missing.join(","), "absent"));
        }
    }

    /// Records that `property` is deliberately not checked here, and why.
    pub fn not_applicable(&mut self, property: &str, why: impl Into<String>) {
        self.not_applicable.push(NotApplicable {
            property: property.to_owned(),
            why: why.into(),
            deviation: false,
        });
    }

    /// Records that `property` departs from its baseline by choice (a
    /// setting, named in `why`) or by a limit outside paysec: not compared,
    /// and reported as a deviation, never as a pass.
    pub fn deviation(&mut self, property: &str, why: impl Into<String>) {
        self.not_applicable.push(NotApplicable {
            property: property.to_owned(),
            why: why.into(),
            deviation: true,
        });
    }

    pub fn drift(&self) -> &[Drift] {
        &self.drift
    }

    /// The read's answer for a resource that exists.
    pub fn observed(self, present: Present) -> Observed {
        Observed::Present {
            present,
            drift: self.drift,
            evidence: self.evidence,
            not_applicable: self.not_applicable,
        }
    }
}

/// What `delete` did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteOutcome {
    /// Set when something was deliberately kept (a key in its deletion
    /// window, a final snapshot), saying what and until when. The ledger
    /// keeps this note after the record is gone.
    pub kept: Option<String>,
    /// What was kept holds data encrypted with this KMS key (its ARN): the
    /// key must outlive it, so `down` keeps that key too (see
    /// `Context::kept_data`).
    pub encrypted_with: Option<String>,
}

/// What a quick check (`Resource::quick_check`) concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuickCheck {
    /// It is there and usable, as the ledger records it.
    StillThere,
    /// Gone, not usable, or this kind has no quick check: read it fully
    /// (and create or repair it).
    ReadFully,
}

impl From<bool> for QuickCheck {
    fn from(still_there: bool) -> Self {
        if still_there {
            Self::StillThere
        } else {
            Self::ReadFully
        }
    }
}

impl QuickCheck {
    /// From one lookup call: still there when it found something `usable`;
    /// not found means read fully; any other error stands.
    pub fn from_lookup<T>(
        found: Result<T, ResourceError>,
        usable: impl FnOnce(&T) -> bool,
    ) -> Result<Self, ResourceError> {
        Ok(crate::error::not_found_is_none(found)?
            .is_some_and(|t| usable(&t))
            .into())
    }
}

/// Whether `down` may delete what the ledger names (see
/// `Resource::ownership`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// Not there any more.
    Gone,
    /// This environment's: its tags (or, for a kind without tags, its name)
    /// say so.
    Proven,
    /// Not provably this environment's; the reason.
    Unproven(String),
}

impl Ownership {
    /// The tags that prove a resource this environment's, as `key=value`:
    /// its environment and its logical id.
    fn proving_tags(cx: &crate::context::Context) -> [String; 2] {
        [
            format!("{}={}", crate::tags::ENVIRONMENT, cx.env.name.as_str()),
            format!("{}={}", crate::tags::LOGICAL_ID, cx.resource.as_str()),
        ]
    }

    /// The verdict when the proving tags `missing` are absent.
    fn of_missing(physical_id: &str, missing: &[&String]) -> Self {
        if missing.is_empty() {
            Self::Proven
        } else {
            let missing: Vec<&str> = missing.iter().map(|t| t.as_str()).collect();
            Self::Unproven(format!(
                "{physical_id} does not carry {}",
                missing.join(" and ")
            ))
        }
    }

    /// The verdict of a resource's live tags: they must name this
    /// environment and this logical id.
    pub fn from_tags(
        cx: &crate::context::Context,
        physical_id: &str,
        tags: &[(String, String)],
    ) -> Self {
        let live: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let proving = Self::proving_tags(cx);
        let missing: Vec<&String> = proving.iter().filter(|t| !live.contains(t)).collect();
        Self::of_missing(physical_id, &missing)
    }

    /// The verdict of a full read of `known`: the read's tag comparison must
    /// find this environment's and this logical id's tags (a difference in
    /// the user's own tags or the create token does not matter); a kind
    /// whose read compares no tags must carry the environment's name prefix
    /// in its physical id.
    pub fn from_read(observed: &Observed, cx: &crate::context::Context, known: &Present) -> Self {
        let Observed::Present {
            drift, evidence, ..
        } = observed
        else {
            return Self::Gone;
        };
        if let Some(tags) = drift.iter().find(|d| d.property == "tags") {
            // The tags drift lists the wanted tags the resource lacks.
            let proving = Self::proving_tags(cx);
            let missing: Vec<&String> = proving
                .iter()
                .filter(|t| tags.expected.split(',').any(|m| m == t.as_str()))
                .collect();
            return Self::of_missing(&known.physical_id, &missing);
        }
        if evidence.iter().any(|d| d.property == "tags") {
            return Self::Proven;
        }
        let prefix = format!("{}-", cx.env.names.prefix());
        if known.physical_id.contains(&prefix) {
            Self::Proven
        } else {
            Self::Unproven(format!(
                "{} is not named with this environment's prefix {prefix}",
                known.physical_id
            ))
        }
    }
}

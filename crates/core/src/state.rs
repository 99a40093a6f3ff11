//! The plain state types every other module speaks: a live resource's
//! identity (`Present`), what reading it found (`Observed`, with `Checks`
//! comparing live and wanted properties), a quick check's verdict and what a
//! delete kept. A leaf: it knows nothing of the ledger, the context or the
//! scheduler.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::ResourceError;
pub use crate::property::Comparison;
use crate::property::{Property, TAGS};

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
    /// The function version the alias `live` points to.
    Version,
    /// Lambda's `CodeSha256` of that version.
    CodeSha256,
    /// The alias `live`'s ARN (what callers invoke).
    AliasArn,
    /// `FUNCTION:live`: CloudWatch's `Resource` dimension of the alias's
    /// Lambda metrics.
    AliasResource,
    /// A database's resource id (`db-...`), which IAM database
    /// authentication's `rds-db:connect` ARN names.
    DbiResourceId,
    /// The Signer job that signed the function's `$LATEST` code.
    SigningJobArn,
    /// The code signing configuration the function is bound to.
    CodeSigningConfigArn,
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
            Self::Version => "version",
            Self::CodeSha256 => "code_sha256",
            Self::AliasArn => "alias_arn",
            Self::AliasResource => "alias_resource",
            Self::SigningJobArn => "signing_job_arn",
            Self::CodeSigningConfigArn => "code_signing_config_arn",
            Self::DbiResourceId => "dbi_resource_id",
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
        drift: Vec<Comparison>,
        evidence: Vec<Comparison>,
        not_applicable: Vec<NotApplicable>,
    },
}

/// A read's comparisons, property by property: each check records the
/// wanted and the live value whether or not they match, so a failing check
/// becomes drift to repair and a passing one evidence for `verify`.
#[derive(Clone, Debug, Default)]
pub struct Checks {
    drift: Vec<Comparison>,
    evidence: Vec<Comparison>,
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
    pub fn check<P: Property>(
        &mut self,
        property: P,
        ok: bool,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) {
        let d = Comparison::new(property.name(), expected, actual);
        if ok {
            self.evidence.push(d);
        } else {
            self.drift.push(d);
        }
    }

    /// Records one property whose live value must equal the wanted one.
    pub fn equal<P: Property>(
        &mut self,
        property: P,
        expected: impl ToString,
        actual: impl ToString,
    ) {
        let (e, a) = (expected.to_string(), actual.to_string());
        self.check(property, e == a, e, a);
    }

    /// Records a policy document compared as a whole, by meaning
    /// (`policy_doc::same`), each side quoted (`policy_doc::quote`: its
    /// digest and canonical form): a PASS shows the live document itself.
    pub fn policy<P: Property>(
        &mut self,
        property: P,
        wanted: &serde_json::Value,
        live: &serde_json::Value,
    ) {
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
                .push(Comparison::new(TAGS, seen.join(","), seen.join(",")));
        } else {
            self.drift
                .push(Comparison::new(TAGS, missing.join(","), "absent"));
        }
    }

    /// Records that `property` is deliberately not checked here, and why.
    pub fn not_applicable<P: Property>(&mut self, property: P, why: impl Into<String>) {
        self.not_applicable.push(NotApplicable {
            property: property.name().to_owned(),
            why: why.into(),
            deviation: false,
        });
    }

    /// Records that `property` departs from its baseline by choice (a
    /// setting, named in `why`) or by a limit outside paysec: not compared,
    /// and reported as a deviation, never as a pass.
    pub fn deviation<P: Property>(&mut self, property: P, why: impl Into<String>) {
        self.not_applicable.push(NotApplicable {
            property: property.name().to_owned(),
            why: why.into(),
            deviation: true,
        });
    }

    pub fn drift(&self) -> &[Comparison] {
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
    /// The verdict when the proving tags `missing` are absent.
    pub(crate) fn of_missing(physical_id: &str, missing: &[&String]) -> Self {
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
}

//! Owner prerequisites: the account-wide services and settings that the
//! stack relies on and the account's owner runs (CloudTrail, GuardDuty,
//! AWS Config, the account's S3 public access block, the root user).
//! paysec neither builds nor changes them, so they are not controls: each
//! is read live and reported as met, not met or unread, with what AWS
//! answered and the fix, apart from the controls' counts and without
//! changing `verify`'s exit code.

use serde::Serialize;

/// One prerequisite of the catalog.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Prerequisite {
    pub id: &'static str,
    pub requirements: &'static [&'static str],
    pub title: &'static str,
    /// What the owner runs when it is not met.
    pub fix: &'static str,
}

/// CloudTrail: a multi-region trail, logging, with log file validation.
pub const TRAIL: &str = "ACC-1";
/// CloudTrail: S3 data events, read and write, on the stack's buckets.
pub const DATA_EVENTS: &str = "ACC-2";
/// GuardDuty: a detector enabled in the region.
pub const THREAT_DETECTION: &str = "ACC-3";
/// AWS Config: a recorder recording in the region.
pub const CONFIG_RECORDER: &str = "ACC-4";
/// S3: the account's public access block, all four settings on.
pub const ACCOUNT_PUBLIC_ACCESS_BLOCK: &str = "ACC-5";
/// The root user has an MFA device.
pub const ROOT_MFA: &str = "ACC-6";
/// The root user has no access keys.
pub const ROOT_ACCESS_KEYS: &str = "ACC-7";

/// The catalog (`docs/controls.md` lists it after the controls).
pub const PREREQUISITES: &[Prerequisite] = &[
    Prerequisite {
        id: TRAIL,
        requirements: &["10.2.1", "10.2.2", "10.3.4"],
        title: "a multi-region CloudTrail trail is logging, with log file validation",
        fix: "aws cloudtrail create-trail --name account-trail --s3-bucket-name BUCKET --is-multi-region-trail --enable-log-file-validation && aws cloudtrail start-logging --name account-trail (or turn these on for the trail you have)",
    },
    Prerequisite {
        id: DATA_EVENTS,
        requirements: &["10.2.1.1"],
        title: "a logging trail records S3 data events, read and write, on the stack's buckets",
        fix: "aws cloudtrail put-event-selectors --trail-name TRAIL --advanced-event-selectors '[{\"Name\":\"S3 data events\",\"FieldSelectors\":[{\"Field\":\"eventCategory\",\"Equals\":[\"Data\"]},{\"Field\":\"resources.type\",\"Equals\":[\"AWS::S3::Object\"]}]}]' (every bucket; narrow with resources.ARN StartsWith arn:aws:s3:::BUCKET/)",
    },
    Prerequisite {
        id: THREAT_DETECTION,
        requirements: &["11.5.1"],
        title: "GuardDuty threat detection is enabled in the region",
        fix: "aws guardduty create-detector --enable (or, in an organization, enable it from the delegated administrator)",
    },
    Prerequisite {
        id: CONFIG_RECORDER,
        requirements: &["1.2.7", "10.2.1"],
        title: "an AWS Config recorder is recording the region's configuration changes",
        fix: "aws configservice put-configuration-recorder, put-delivery-channel and start-configuration-recorder (or the console's one-click setup)",
    },
    Prerequisite {
        id: ACCOUNT_PUBLIC_ACCESS_BLOCK,
        requirements: &["1.4.1"],
        title: "the account's S3 public access block has all four settings on",
        fix: "aws s3control put-public-access-block --account-id ACCOUNT --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true",
    },
    Prerequisite {
        id: ROOT_MFA,
        requirements: &["8.4.1"],
        title: "the root user has an MFA device",
        fix: "sign in as the root user and assign an MFA device (Security credentials), or centralize root access under AWS Organizations",
    },
    Prerequisite {
        id: ROOT_ACCESS_KEYS,
        requirements: &["8.2.2"],
        title: "the root user has no access keys",
        fix: "sign in as the root user and delete its access keys (Security credentials)",
    },
];

/// What a read found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Met,
    NotMet,
    /// The answer could not be had (no permission, a service the endpoint
    /// does not offer); the observed field quotes why.
    Unread,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Self::Met => "MET",
            Self::NotMet => "NOT MET",
            Self::Unread => "UNREAD",
        }
    }
}

/// One prerequisite as read.
#[derive(Clone, Debug, Serialize)]
pub struct PrerequisiteFinding {
    pub id: &'static str,
    pub requirements: &'static [&'static str],
    pub title: &'static str,
    pub status: Status,
    /// What AWS answered (or why nothing could be read).
    pub observed: String,
    /// The fix, when not met.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<&'static str>,
    /// What the calls behind it are attributed to (`account:cloudtrail`).
    #[serde(skip)]
    pub source: String,
    /// The calls (their `seq` in the report's calls) it was read from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reads: Vec<usize>,
}

impl PrerequisiteFinding {
    /// `id`'s finding; panics on an id outside the catalog (a programming
    /// error the tests catch).
    pub fn new(id: &str, status: Status, observed: String, source: &str) -> Self {
        let p = PREREQUISITES
            .iter()
            .find(|p| p.id == id)
            .expect("a prerequisite of the catalog");
        Self {
            id: p.id,
            requirements: p.requirements,
            title: p.title,
            status,
            observed,
            fix: (status == Status::NotMet).then_some(p.fix),
            source: source.to_owned(),
            reads: Vec::new(),
        }
    }
}

/// How many of each status.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PrerequisiteSummary {
    pub met: usize,
    pub not_met: usize,
    pub unread: usize,
}

impl PrerequisiteSummary {
    pub fn of(findings: &[PrerequisiteFinding]) -> Self {
        let count = |s| findings.iter().filter(|f| f.status == s).count();
        Self {
            met: count(Status::Met),
            not_met: count(Status::NotMet),
            unread: count(Status::Unread),
        }
    }

    /// "2 met, 4 NOT MET, 1 unread" (the parts that are not zero).
    pub fn line(&self) -> String {
        let mut parts = vec![format!("{} met", self.met)];
        if self.not_met > 0 {
            parts.push(format!("{} NOT MET", self.not_met));
        }
        if self.unread > 0 {
            parts.push(format!("{} unread", self.unread));
        }
        parts.join(", ")
    }
}

/// The catalog as Markdown rows for `docs/controls.md`.
pub fn catalog_markdown() -> String {
    let mut out = String::from(
        "\n## Owner prerequisites\n\nAccount-wide services and settings the stack relies on and the account's owner runs. `verify` reads each live and reports it as met, not met or unread, apart from the controls' counts and without changing its exit code.\n\n| ID | Prerequisite | PCI DSS v4.0.1 | When not met |\n|---|---|---|---|\n",
    );
    for p in PREREQUISITES {
        out.push_str(&format!(
            "| {} | {} | {} | `{}` |\n",
            p.id,
            p.title,
            p.requirements.join(", "),
            p.fix.replace('|', "\\|")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finding_not_met_carries_the_fix_and_the_summary_counts_each_status() {
        let findings = vec![
            PrerequisiteFinding::new(TRAIL, Status::Met, "trail t".into(), "account:cloudtrail"),
            PrerequisiteFinding::new(ROOT_MFA, Status::NotMet, "0".into(), "account:iam"),
            PrerequisiteFinding::new(THREAT_DETECTION, Status::Unread, "denied".into(), "x"),
        ];
        assert!(findings[0].fix.is_none());
        assert!(findings[1].fix.unwrap().contains("MFA"));
        let s = PrerequisiteSummary::of(&findings);
        assert_eq!(s.line(), "1 met, 1 NOT MET, 1 unread");
    }

    #[test]
    fn every_prerequisite_id_is_unique() {
        let mut ids: Vec<_> = PREREQUISITES.iter().map(|p| p.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), PREREQUISITES.len());
    }
}

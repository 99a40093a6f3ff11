//! Where, when, by whom and how the evidence was taken: the scope every
//! report carries, and what no report covers.

use serde::Serialize;

/// Where and when the evidence was taken.
pub struct Header<'a> {
    pub environment: &'a str,
    pub account: &'a str,
    pub region: &'a str,
    /// When the reads ended.
    pub at: &'a str,
    pub version: &'a str,
    pub scope: Scope,
}

impl Header<'_> {
    /// The report's scope as (label, value) rows, in the order every
    /// human-readable format prints them (Markdown, HTML, JUnit's
    /// properties); JSON and SARIF carry [`Scope`] itself.
    pub fn scope_rows(&self) -> Vec<(&'static str, String)> {
        let sc = &self.scope;
        vec![
            ("environment", self.environment.to_owned()),
            ("account", self.account.to_owned()),
            ("region", self.region.to_owned()),
            (
                "answered by",
                match &sc.emulator {
                    Some(e) => format!("a local emulator ({e}), not AWS"),
                    // AWS's own endpoints only: any other (a per-service
                    // setting, a proxy) is not AWS answering for itself.
                    None if sc.endpoint.starts_with("AWS's endpoints") => "AWS".to_owned(),
                    None => "the endpoints below, which are not AWS's own".to_owned(),
                },
            ),
            ("endpoint", sc.endpoint.clone()),
            ("caller", sc.caller_arn.clone()),
            ("population", format!("{} resources read live: every resource of environment {} that this configuration builds (found through the ledger's ids or paysec's tags), and nothing else; {} of the whole stack not built (their controls: N/A or deviation, with why)", sc.resources_read, self.environment, sc.not_built)),
            ("started", sc.started.clone()),
            ("ended", self.at.to_owned()),
            ("paysec", format!("{} (commit {})", self.version, sc.commit)),
            ("command line", sc.command_line.clone()),
            ("configuration digest", sc.config_digest.clone()),
            ("key administrators (KMS-3 expects)", sc.key_administrators.clone()),
        ]
    }
}

/// What the report covers and how it was made: enough for someone else to
/// re-perform the examination.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Scope {
    /// Where the calls went: an endpoint URL, or AWS's own endpoints.
    pub endpoint: String,
    /// The key administrators KMS-3 compares the key policies with, and
    /// where they came from (the configuration, or the ledger's record).
    pub key_administrators: String,
    /// The local emulator that answered, if one did (not AWS).
    pub emulator: Option<String>,
    pub caller_arn: String,
    /// When the reads began.
    pub started: String,
    /// The git commit paysec was built from.
    pub commit: String,
    pub command_line: String,
    /// SHA-256 of the stack settings (as canonical JSON: the fingerprint
    /// `up` records).
    pub config_digest: String,
    /// The stack settings themselves, where the expected values of the
    /// configurable controls come from (an audit external id not shown).
    pub configuration: serde_json::Value,
    /// Resources read live.
    pub resources_read: usize,
    /// Resources of the whole stack this configuration does not build.
    pub not_built: usize,
}

/// What no configuration read can show: said in every report.
pub const NOT_COVERED: &str = "This report does not cover: the documentation and interview test steps; what the owner must do and show (docs/pci-mapping.md, owner duties: field-level protection of PAN in the database, what happens to data after authorization, change control, people and access reviews, segmentation testing, incident response, and the rest listed there); the account-wide services outside the stack as controls (CloudTrail, GuardDuty, AWS Config, the account's S3 public access block and the root user are read as owner prerequisites, in their own section, met or not, never counted with the controls); and AWS's own share, which its Attestation of Compliance and responsibility summary (AWS Artifact) cover.";

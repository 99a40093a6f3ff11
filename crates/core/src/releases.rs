//! The payment function's releases as the ledger records them (PCI DSS
//! 6.5.1-6.5.6: every change recorded, what runs is what was reviewed):
//! each published version with its code digest, when, by whom and by
//! which command; the version the alias `live` should point to; and a
//! rollback that holds until the configured package changes or a deploy
//! ships it again. Plain data and the rules over it; no AWS.

use serde::{Deserialize, Serialize};

/// How a release came to be in service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum How {
    /// `paysec up` published it (a new function, changed code or settings).
    Up,
    /// `paysec deploy` shipped it.
    Deploy,
}

impl How {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Deploy => "deploy",
        }
    }
}

/// One published version of the function.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// Lambda's version number, as Lambda writes it ("3").
    pub version: String,
    /// Lambda's `CodeSha256` of the version.
    pub code_sha256: String,
    /// When it went into service (RFC 3339).
    pub at: String,
    /// The caller's ARN.
    pub by: String,
    pub how: How,
    /// The package it was built from (a path, or the example handler).
    pub source: String,
    /// The package's own digest when what Lambda runs is a signed copy of
    /// it (`lambda.signing_profile`): `code_sha256` is then the signed
    /// copy's, which differs from the package's by its signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_sha256: Option<String>,
    /// The Signer job that signed it (its ARN), when signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_job: Option<String>,
    /// When the version left Lambda: pruned by `keep_versions`, or
    /// deleted with the function (kept here as history; a function made
    /// again numbers its versions from 1 anew).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pruned_at: Option<String>,
}

impl Release {
    /// The digest of the package it was built from: its own, or, for a
    /// signed copy, the package's (two signings of one package are one
    /// package).
    pub fn package_sha256(&self) -> &str {
        self.source_sha256.as_deref().unwrap_or(&self.code_sha256)
    }
}

/// A rollback in force: `live` points to `version` on purpose, and `up`
/// keeps it there while the configured package is still the one rolled
/// back from (`configured_sha256`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rollback {
    pub version: String,
    pub from_version: String,
    /// The configured package's digest when the rollback was made.
    pub configured_sha256: String,
    pub at: String,
    pub by: String,
}

/// What the ledger knows of the function's releases.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Releases {
    /// Every release, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Release>,
    /// The version `live` points to, as the last release or rollback set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<Rollback>,
}

/// Where `live` must point, as `up` sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A version whose code is the configured package's.
    Configured { sha256: String },
    /// A rollback holds: exactly this version, whose digest is given.
    Held { version: String, sha256: String },
}

impl Target {
    /// The digest of the code that must run.
    pub fn sha256(&self) -> &str {
        match self {
            Self::Configured { sha256 } | Self::Held { sha256, .. } => sha256,
        }
    }
}

impl Releases {
    pub fn is_empty(&self) -> bool {
        self.history.is_empty() && self.in_service.is_none() && self.rollback.is_none()
    }

    /// The release `version` names: the one still in Lambda, else the
    /// newest of that number in the history.
    pub fn release(&self, version: &str) -> Option<&Release> {
        let mut of_version = self.history.iter().rev().filter(|r| r.version == version);
        of_version
            .clone()
            .find(|r| r.pruned_at.is_none())
            .or_else(|| of_version.next())
    }

    /// Whether the ledger records `version` as a release still in Lambda.
    pub fn in_lambda(&self, version: &str) -> bool {
        self.history
            .iter()
            .any(|r| r.version == version && r.pruned_at.is_none())
    }

    /// The function was deleted, and every version with it: its releases
    /// stay as history, none is in service.
    pub fn function_deleted(&mut self, at: &str) {
        for r in self.history.iter_mut().filter(|r| r.pruned_at.is_none()) {
            r.pruned_at = Some(at.to_owned());
        }
        self.in_service = None;
        self.rollback = None;
    }

    /// The release in service, when the ledger records one.
    pub fn current(&self) -> Option<&Release> {
        self.in_service.as_deref().and_then(|v| self.release(v))
    }

    /// Where `up` must keep `live`, given the configured package's digest:
    /// a rollback's version while the package is still the one it rolled
    /// back from, else a version of the configured code (its signed copy
    /// when one was shipped: [`Releases::shipped_digest`]).
    pub fn target(&self, configured_sha256: &str) -> Target {
        if let Some(r) = self.held(configured_sha256) {
            return Target::Held {
                version: r.version.clone(),
                sha256: r.code_sha256.clone(),
            };
        }
        Target::Configured {
            sha256: self.shipped_digest(configured_sha256).to_owned(),
        }
    }

    /// The `CodeSha256` Lambda reports for the package of digest
    /// `package_sha256`: that of its newest signed copy the ledger records
    /// as shipped, else the package's own. Each signing gives other bytes
    /// (the signature holds its time), so only the record can tell.
    pub fn shipped_digest<'a>(&'a self, package_sha256: &'a str) -> &'a str {
        self.history
            .iter()
            .rev()
            .find(|r| r.source_sha256.as_deref() == Some(package_sha256))
            .map_or(package_sha256, |r| r.code_sha256.as_str())
    }

    /// Notes that `version`'s code is a copy of the package of digest
    /// `source_sha256` signed by Signer job `job`.
    pub fn note_signed(&mut self, version: &str, source_sha256: &str, job: &str) {
        for r in self
            .history
            .iter_mut()
            .filter(|r| r.version == version && r.pruned_at.is_none())
        {
            r.source_sha256 = Some(source_sha256.to_owned());
            r.signing_job = Some(job.to_owned());
        }
    }

    /// The release a rollback keeps in service, while it holds.
    pub fn held(&self, configured_sha256: &str) -> Option<&Release> {
        self.rollback
            .as_ref()
            .filter(|r| r.configured_sha256 == configured_sha256)
            .and_then(|r| self.release(&r.version))
    }

    /// `version` is in service now, published by `how`: recorded once (a
    /// release seen again is not a new one). A release of new code ends a
    /// rollback; so does a deploy. Returns whether anything changed.
    pub fn put_in_service(
        &mut self,
        version: &str,
        code_sha256: &str,
        by: &str,
        how: How,
        source: &str,
        at: &str,
    ) -> bool {
        let before = self.clone();
        // A version in Lambda is recorded once; a number seen before only
        // in the history belongs to a function since deleted.
        if !self.in_lambda(version) {
            self.history.push(Release {
                version: version.to_owned(),
                code_sha256: code_sha256.to_owned(),
                at: at.to_owned(),
                by: by.to_owned(),
                how,
                source: source.to_owned(),
                source_sha256: None,
                signing_job: None,
                pruned_at: None,
            });
        }
        let ends_rollback =
            how == How::Deploy || self.rollback.as_ref().is_some_and(|r| r.version != version);
        if ends_rollback {
            self.rollback = None;
        }
        self.in_service = Some(version.to_owned());
        *self != before
    }

    /// The release `rollback` goes to: `to`, or the newest release before
    /// the one in service that is still in Lambda and runs other code.
    pub fn rollback_target(&self, to: Option<&str>) -> Result<&Release, String> {
        let current = self.in_service.as_deref();
        if let Some(v) = to {
            let r = self.release(v).ok_or_else(|| {
                format!(
                    "version {v} is not a release of this environment ({}); see `paysec releases`",
                    self.listed()
                )
            })?;
            if r.pruned_at.is_some() {
                return Err(format!(
                    "version {v} was pruned from Lambda (lambda.keep_versions); pick another with `paysec releases`"
                ));
            }
            if Some(v) == current {
                return Err(format!("version {v} is already in service"));
            }
            return Ok(r);
        }
        let Some(cur) = self.current() else {
            return Err("no release is recorded in service yet: run `paysec up` first".into());
        };
        let at = self
            .history
            .iter()
            .rposition(|r| r.version == cur.version && r.pruned_at.is_none())
            .unwrap_or(self.history.len());
        self.history[..at]
            .iter()
            .rev()
            .find(|r| r.pruned_at.is_none() && r.package_sha256() != cur.package_sha256())
            .ok_or_else(|| {
                format!(
                    "there is no earlier release to roll back to (releases: {}); name one with --to VERSION",
                    self.listed()
                )
            })
    }

    /// Records a rollback to `target` (already made in Lambda).
    pub fn rolled_back(&mut self, target: &Release, configured_sha256: &str, by: &str, at: &str) {
        let from = self.in_service.clone().unwrap_or_default();
        self.rollback = Some(Rollback {
            version: target.version.clone(),
            from_version: from,
            configured_sha256: configured_sha256.to_owned(),
            at: at.to_owned(),
            by: by.to_owned(),
        });
        self.in_service = Some(target.version.clone());
    }

    /// Versions to delete from Lambda so that at most `keep` releases
    /// remain, oldest first: never the one in service, nor the one a
    /// rollback without `--to` would go to, nor one a rollback holds.
    pub fn to_prune(&self, keep: usize) -> Vec<String> {
        let mut protected: Vec<&str> = self.in_service.iter().map(String::as_str).collect();
        if let Ok(previous) = self.rollback_target(None) {
            protected.push(&previous.version);
        }
        if let Some(r) = &self.rollback {
            protected.push(&r.version);
            protected.push(&r.from_version);
        }
        let alive: Vec<&Release> = self
            .history
            .iter()
            .filter(|r| r.pruned_at.is_none())
            .collect();
        let mut excess = alive.len().saturating_sub(keep);
        let mut out = Vec::new();
        for r in alive {
            if excess == 0 {
                break;
            }
            if protected.contains(&r.version.as_str()) {
                continue;
            }
            out.push(r.version.clone());
            excess -= 1;
        }
        out
    }

    pub fn mark_pruned(&mut self, version: &str, at: &str) {
        for r in self
            .history
            .iter_mut()
            .filter(|r| r.version == version && r.pruned_at.is_none())
        {
            r.pruned_at = Some(at.to_owned());
        }
    }

    fn listed(&self) -> String {
        if self.history.is_empty() {
            return "none recorded".into();
        }
        self.history
            .iter()
            .map(|r| r.version.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three() -> Releases {
        let mut r = Releases::default();
        r.put_in_service("1", "aaa", "me", How::Up, "app", "t1");
        r.put_in_service("2", "bbb", "me", How::Deploy, "app", "t2");
        r.put_in_service("3", "ccc", "me", How::Deploy, "app", "t3");
        r
    }

    #[test]
    fn a_release_seen_again_is_not_recorded_twice() {
        let mut r = three();
        assert!(!r.put_in_service("3", "ccc", "you", How::Up, "app", "t4"));
        assert_eq!(r.history.len(), 3);
        assert_eq!(r.current().unwrap().by, "me");
    }

    #[test]
    fn rollback_goes_to_the_previous_release_and_holds_until_the_package_changes() {
        let mut r = three();
        let target = r.rollback_target(None).unwrap().clone();
        assert_eq!(target.version, "2");
        r.rolled_back(&target, "ccc", "me", "t5");
        assert_eq!(r.in_service.as_deref(), Some("2"));
        // Configured code unchanged: `up` keeps version 2.
        assert_eq!(
            r.target("ccc"),
            Target::Held {
                version: "2".into(),
                sha256: "bbb".into()
            }
        );
        // The package changed: `up` ships it.
        assert_eq!(
            r.target("ddd"),
            Target::Configured {
                sha256: "ddd".into()
            }
        );
        // Rolled back again from 2: to 1.
        assert_eq!(r.rollback_target(None).unwrap().version, "1");
        // A deploy ends the rollback.
        r.put_in_service("4", "ccc", "me", How::Deploy, "app", "t6");
        assert_eq!(r.rollback, None);
        assert_eq!(
            r.target("ccc"),
            Target::Configured {
                sha256: "ccc".into()
            }
        );
    }

    #[test]
    fn a_signed_release_stands_for_its_package() {
        let mut r = three();
        r.put_in_service("4", "signed-ddd", "me", How::Up, "app", "t4");
        r.note_signed("4", "ddd", "arn:aws:signer:r:1:/signing-jobs/j");
        assert_eq!(r.shipped_digest("ddd"), "signed-ddd");
        assert_eq!(r.shipped_digest("eee"), "eee");
        assert_eq!(
            r.target("ddd"),
            Target::Configured {
                sha256: "signed-ddd".into()
            }
        );
        // Signed again later (another signature, other bytes): the newest.
        r.put_in_service("5", "signed-ddd-2", "me", How::Deploy, "app", "t5");
        r.note_signed("5", "ddd", "arn:aws:signer:r:1:/signing-jobs/k");
        assert_eq!(r.shipped_digest("ddd"), "signed-ddd-2");
        assert_eq!(
            r.release("5").unwrap().signing_job.as_deref(),
            Some("arn:aws:signer:r:1:/signing-jobs/k")
        );
    }

    #[test]
    fn a_rollback_goes_to_other_code_not_another_signing_of_the_same_package() {
        let mut r = Releases::default();
        r.put_in_service("1", "aaa", "me", How::Up, "app", "t1");
        r.put_in_service("2", "signed-bbb", "me", How::Deploy, "app", "t2");
        r.note_signed("2", "bbb", "job-2");
        // The same package signed again (signing's profile re-versioned).
        r.put_in_service("3", "signed-bbb-2", "me", How::Up, "app", "t3");
        r.note_signed("3", "bbb", "job-3");
        assert_eq!(r.rollback_target(None).unwrap().version, "1");
    }

    #[test]
    fn a_function_made_again_starts_its_releases_anew() {
        let mut r = three();
        r.function_deleted("t9");
        assert_eq!(r.in_service, None);
        assert!(r.history.iter().all(|x| x.pruned_at.is_some()));
        // Version 1 of the new function is a new release.
        assert!(r.put_in_service("1", "new", "me", How::Up, "app", "t10"));
        assert_eq!(r.history.len(), 4);
        assert_eq!(r.current().unwrap().code_sha256, "new");
        assert_eq!(r.release("1").unwrap().code_sha256, "new");
        assert!(r.to_prune(1).is_empty());
    }

    #[test]
    fn a_named_rollback_target_must_be_a_live_release() {
        let mut r = three();
        assert!(r
            .rollback_target(Some("9"))
            .unwrap_err()
            .contains("1, 2, 3"));
        assert!(r
            .rollback_target(Some("3"))
            .unwrap_err()
            .contains("already in service"));
        r.mark_pruned("1", "t");
        assert!(r.rollback_target(Some("1")).unwrap_err().contains("pruned"));
        assert_eq!(r.rollback_target(Some("2")).unwrap().version, "2");
        assert!(Releases::default().rollback_target(None).is_err());
    }

    #[test]
    fn pruning_keeps_the_newest_the_one_in_service_and_the_rollback_target() {
        let mut r = Releases::default();
        for v in 1..=6 {
            r.put_in_service(
                &v.to_string(),
                &format!("d{v}"),
                "me",
                How::Deploy,
                "app",
                "t",
            );
        }
        assert_eq!(r.to_prune(3), ["1", "2", "3"]);
        // Rolled back to 1: 1 (held) and 6 (rolled back from) stay.
        let one = r.release("1").unwrap().clone();
        r.rolled_back(&one, "d6", "me", "t");
        assert_eq!(r.to_prune(3), ["2", "3", "4"]);
        r.mark_pruned("2", "t");
        assert_eq!(r.to_prune(3), ["3", "4"]);
        assert!(r.to_prune(10).is_empty());
    }
}

//! The instance's DB snapshots (RDS-21): listed with who may restore
//! them, checked (encrypted with the RDS key, none public, shared only as
//! configured), and their shares taken back.

use paysec_aws::AwsResultExt;
use paysec_core::resource::{Checks, Context};
use paysec_core::ResourceError;

use super::{Instance, InstanceProperty};

/// One DB snapshot of the instance, as read for the evidence.
#[derive(Debug)]
pub(super) struct Snapshot {
    id: String,
    kind: String,
    encrypted_with: Option<String>,
    /// Who may restore it (`all`: anyone; else account ids).
    restorable_by: Vec<String>,
}

impl Instance {
    /// Every snapshot of the instance, automated and manual
    /// (DescribeDBSnapshots lists both when no type is given; shared and
    /// public ones of other accounts are left out), with who may restore
    /// the manual ones (automated snapshots cannot be shared).
    pub(super) async fn snapshots(&self, cx: &Context) -> Result<Vec<Snapshot>, ResourceError> {
        let mut pages = self
            .aws
            .rds
            .describe_db_snapshots()
            .db_instance_identifier(Self::name(cx))
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.or_resource(&self.id, "DescribeDBSnapshots")?;
            for s in page.db_snapshots() {
                found.push(Snapshot {
                    id: s.db_snapshot_identifier().unwrap_or("?").to_owned(),
                    kind: s.snapshot_type().unwrap_or("?").to_owned(),
                    encrypted_with: s
                        .encrypted()
                        .unwrap_or(false)
                        .then(|| s.kms_key_id().unwrap_or("?").to_owned()),
                    restorable_by: Vec::new(),
                });
            }
        }
        for snap in found.iter_mut().filter(|s| s.kind == "manual") {
            let out = self
                .aws
                .rds
                .describe_db_snapshot_attributes()
                .db_snapshot_identifier(&snap.id)
                .send()
                .await;
            // Deleted between the two calls: nothing to judge.
            let Some(out) = paysec_core::error::not_found_is_none(
                out.or_resource(&self.id, "DescribeDBSnapshotAttributes"),
            )?
            else {
                continue;
            };
            let attrs = out.db_snapshot_attributes_result();
            for a in attrs
                .map(|r| r.db_snapshot_attributes())
                .unwrap_or_default()
            {
                if a.attribute_name() == Some("restore") {
                    snap.restorable_by
                        .extend(a.attribute_values().iter().cloned());
                }
            }
        }
        Ok(found)
    }

    /// Takes `all`, and every account `rds.snapshot_restorers` does not
    /// name, off each snapshot of the instance. An unencrypted snapshot
    /// cannot be fixed in place.
    pub(super) async fn unpublish_snapshots(
        &self,
        cx: &Context,
        key: &str,
    ) -> Result<(), ResourceError> {
        let snapshots = self.snapshots(cx).await?;
        // Shares first: only an unencrypted snapshot can be public at all
        // (RDS refuses `all` on an encrypted one), and it must not stay so
        // while its owner copies it.
        for snap in &snapshots {
            let off: Vec<String> = snap
                .restorable_by
                .iter()
                .filter(|v| *v == "all" || !self.spec.snapshot_restorers.contains(v))
                .cloned()
                .collect();
            if !off.is_empty() {
                // IAM: rds:ModifyDBSnapshotAttribute.
                self.aws
                    .rds
                    .modify_db_snapshot_attribute()
                    .db_snapshot_identifier(&snap.id)
                    .attribute_name("restore")
                    .set_values_to_remove(Some(off))
                    .send()
                    .await
                    .or_resource(&self.id, "ModifyDBSnapshotAttribute")?;
            }
        }
        if let Some(snap) = snapshots
            .iter()
            .find(|s| s.encrypted_with.as_deref() != Some(key))
        {
            return Err(ResourceError::unexpected(
                &self.id,
                format!(
                    "DB snapshot {} is not encrypted with the RDS key ({}); RDS cannot re-encrypt it in place: copy it with `aws rds copy-db-snapshot --kms-key-id {key}` and delete the original",
                    snap.id,
                    snap.encrypted_with.as_deref().unwrap_or("unencrypted")
                ),
            ));
        }
        Ok(())
    }
}

/// Records the snapshots: each encrypted with the RDS key, none public, and
/// none restorable by an account the configuration does not name. A share
/// with a named account (`rds.snapshot_restorers`) is a deviation, quoted,
/// never a pass.
pub(super) fn check_snapshots(
    checks: &mut Checks,
    key: &str,
    snapshots: &[Snapshot],
    allowed: &[String],
) {
    let wrong: Vec<String> = snapshots
        .iter()
        .filter_map(|s| {
            let public = s.restorable_by.iter().any(|v| v == "all");
            let encrypted = s.encrypted_with.as_deref() == Some(key);
            let strangers: Vec<&str> = s
                .restorable_by
                .iter()
                .filter(|v| *v != "all" && !allowed.contains(v))
                .map(String::as_str)
                .collect();
            (public || !encrypted || !strangers.is_empty()).then(|| {
                format!(
                    "{} ({}{}{}{})",
                    s.id,
                    s.kind,
                    if public { ", public" } else { "" },
                    match &s.encrypted_with {
                        None => ", unencrypted".to_owned(),
                        Some(k) if k != key => format!(", encrypted with {k}"),
                        Some(_) => String::new(),
                    },
                    if strangers.is_empty() {
                        String::new()
                    } else {
                        format!(
                            ", restorable by {} (not named in rds.snapshot_restorers)",
                            strangers.join(" ")
                        )
                    }
                )
            })
        })
        .collect();
    let each: Vec<String> = snapshots
        .iter()
        .map(|s| {
            let shared: Vec<&str> = s.restorable_by.iter().map(String::as_str).collect();
            if shared.is_empty() {
                format!("{} ({})", s.id, s.kind)
            } else {
                format!("{} ({}, restorable by {})", s.id, s.kind, shared.join(" "))
            }
        })
        .collect();
    let shared = snapshots.iter().any(|s| !s.restorable_by.is_empty());
    if wrong.is_empty() && shared {
        checks.deviation(
            InstanceProperty::Snapshots,
            format!(
                "shared with accounts rds.snapshot_restorers names; {} snapshots, each encrypted with {key}: {}",
                snapshots.len(),
                each.join(", ")
            ),
        );
        return;
    }
    let actual = if !wrong.is_empty() {
        wrong.join("; ")
    } else if snapshots.is_empty() {
        "no snapshot".to_owned()
    } else {
        format!(
            "{} snapshots, each encrypted with {key}, none shared: {}",
            snapshots.len(),
            each.join(", ")
        )
    };
    checks.check(
        InstanceProperty::Snapshots,
        wrong.is_empty(),
        format!("every snapshot encrypted with {key}, none public, none shared but with rds.snapshot_restorers"),
        actual,
    );
}

#[cfg(test)]
mod tests {
    use super::{check_snapshots, Checks, Snapshot};
    use paysec_core::Observed;

    #[test]
    fn a_snapshot_fails_when_public_or_not_under_the_key() {
        let snap = |id: &str, key: Option<&str>, restore: &[&str]| Snapshot {
            id: id.into(),
            kind: "manual".into(),
            encrypted_with: key.map(str::to_owned),
            restorable_by: restore.iter().map(|s| s.to_string()).collect(),
        };
        let mut c = Checks::default();
        check_snapshots(&mut c, "k", &[snap("a", Some("k"), &["210987654321"])], &[]);
        assert_eq!(
            c.drift()[0].actual,
            "a (manual, restorable by 210987654321 (not named in rds.snapshot_restorers))",
            "shared with an account the configuration does not name: a failure"
        );
        let mut c = Checks::default();
        check_snapshots(
            &mut c,
            "k",
            &[snap("a", Some("k"), &["210987654321"])],
            &["210987654321".to_owned()],
        );
        assert!(c.drift().is_empty(), "named: not a failure");
        let Observed::Present {
            not_applicable,
            evidence,
            ..
        } = c.observed(paysec_core::Present::new("db"))
        else {
            panic!("present")
        };
        assert!(evidence.is_empty(), "and not a pass");
        assert!(not_applicable[0].deviation, "{not_applicable:?}");
        assert!(not_applicable[0].why.contains("restorable by 210987654321"));
        let mut c = Checks::default();
        check_snapshots(
            &mut c,
            "k",
            &[snap("a", Some("k"), &["all"]), snap("b", None, &[])],
            &[],
        );
        assert_eq!(
            c.drift()[0].actual,
            "a (manual, public); b (manual, unencrypted)"
        );
    }
}

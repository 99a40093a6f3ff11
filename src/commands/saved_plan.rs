//! Saved plans for pipelines: `plan --out FILE` writes what was read and
//! each change; `up --plan FILE` applies exactly that plan, refusing (exit
//! 9) when the environment, the ledger, the settings or paysec changed
//! since it was made. The file holds identifiers, the drift's live and
//! wanted values and fingerprints; never a secret (the ledger holds none,
//! and no read returns one).

use std::path::Path;

use paysec_core::scheduler::{Planned, PlannedChange};
use paysec_core::{desired, Environment, Ledger};
use serde::{Deserialize, Serialize};

use crate::exit::Failure;

const FORMAT: &str = "paysec-plan/1";

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format: String,
    pub paysec_version: String,
    pub environment: String,
    pub account: String,
    pub region: String,
    pub created_at: String,
    /// Every property was read (`false`: `--no-refresh`).
    pub properties_read: bool,
    /// The settings, paysec's version and the caller the desired state is
    /// derived from (`Environment::desired_state`), fingerprinted.
    pub settings: String,
    /// The ledger's records, fingerprinted.
    pub ledger: String,
    pub changes: Vec<SavedChange>,
}

/// One change as planned: what a later plan must find again.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedChange {
    pub id: String,
    pub kind: String,
    #[serde(flatten)]
    pub planned: Planned,
}

impl SavedPlan {
    pub fn new(
        env: &Environment,
        ledger: &Ledger,
        changes: &[PlannedChange],
        properties_read: bool,
    ) -> Self {
        Self {
            format: FORMAT.into(),
            paysec_version: env!("CARGO_PKG_VERSION").into(),
            environment: env.name.as_str().into(),
            account: env.account.clone(),
            region: env.region.clone(),
            created_at: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            properties_read,
            settings: desired::hash([env.desired_state.as_str()]),
            ledger: ledger_fingerprint(ledger),
            changes: changes
                .iter()
                .map(|c| SavedChange {
                    id: c.id.to_string(),
                    kind: c.kind.clone(),
                    planned: shown(&c.planned),
                })
                .collect(),
        }
    }

    pub fn write(&self, path: &Path) -> Result<(), Failure> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Failure::Internal(format!("cannot encode the plan: {e}")))?;
        paysec_core::ledger::write_private(path, &(text + "\n"))
            .map_err(|e| Failure::Usage(format!("cannot write the plan {}: {e}", path.display())))
    }

    pub fn read(path: &Path) -> Result<Self, Failure> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::Usage(format!("cannot read the plan {}: {e}", path.display())))?;
        let plan: Self = serde_json::from_str(&text).map_err(|e| {
            Failure::Usage(format!(
                "{} is not a paysec plan ({e}); make one with `paysec plan --out FILE`",
                path.display()
            ))
        })?;
        if plan.format != FORMAT {
            return Err(Failure::Usage(format!(
                "{} is a plan of format {}, this paysec reads {FORMAT}; make a new one with `paysec plan --out FILE`",
                path.display(),
                plan.format
            )));
        }
        Ok(plan)
    }

    /// Why this plan can no longer be applied as it is, if it cannot: what
    /// `now` (a plan made at apply time) differs in. `None`: apply it.
    pub fn stale_against(&self, now: &SavedPlan) -> Option<String> {
        let same = |what: &str, then: &str, now: &str| {
            (then != now).then(|| format!("{what} was {then}, is {now}"))
        };
        let mut why: Vec<String> = [
            same(
                "paysec's version",
                &self.paysec_version,
                &now.paysec_version,
            ),
            same("the environment", &self.environment, &now.environment),
            same("the account", &self.account, &now.account),
            same("the region", &self.region, &now.region),
            (self.settings != now.settings).then(|| {
                "the settings (paysec.toml, PAYSEC_* variables, the caller) changed".to_owned()
            }),
            (self.ledger != now.ledger).then(|| "the ledger changed (another run)".to_owned()),
        ]
        .into_iter()
        .flatten()
        .collect();
        if why.is_empty() && self.changes != now.changes {
            let then: Vec<String> = self.changes.iter().map(describe).collect();
            let differs: Vec<String> = now
                .changes
                .iter()
                .map(describe)
                .filter(|c| !then.contains(c))
                .collect();
            why.push(format!(
                "the live environment changed: {}",
                if differs.is_empty() {
                    "a planned change is no longer needed".to_owned()
                } else {
                    differs.join("; ")
                }
            ));
        }
        (!why.is_empty()).then(|| why.join("; "))
    }
}

fn describe(c: &SavedChange) -> String {
    let action = match &c.planned {
        Planned::Create => "create".to_owned(),
        Planned::Adopt { .. } => "adopt".to_owned(),
        Planned::Repair { drift, .. } => format!(
            "repair ({})",
            drift
                .iter()
                .map(|d| d.property.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Planned::NoChange { .. } => "no change".to_owned(),
        Planned::Delete { .. } => "delete".to_owned(),
    };
    format!("{} now needs {action}", c.id)
}

/// The ledger's records, fingerprinted: any write by another run since
/// the plan changes it.
fn ledger_fingerprint(ledger: &Ledger) -> String {
    let records = serde_json::to_string(ledger.records()).unwrap_or_default();
    desired::hash([records.as_str()])
}

/// A planned change as a plan file holds it: external ids (a trust
/// policy's drift) as their digest (`paysec_core::shown`). A plan made at
/// apply time goes through the same, so the two still compare.
fn shown(planned: &Planned) -> Planned {
    serde_json::to_string(planned)
        .ok()
        .map(|text| paysec_core::shown::redacted(&text).into_owned())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_else(|| planned.clone())
}

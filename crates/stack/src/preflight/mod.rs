//! Checks before the first write: what would otherwise fail minutes into
//! `up` on a real account (a retired engine version, an instance class not
//! offered, too few zones, no room for the function's reserved
//! concurrency) is found by reads alone, each with what to change. `plan`
//! shows them; `up` refuses to start on a failed one. They also resolve
//! what the blueprint needs from the account: the engine version RDS
//! offers and three zones that offer the database.

use paysec_aws::sdk::{HttpResponse, ProvideErrorMetadata, SdkError};
use paysec_config::Config;
use paysec_core::ErrorClass;

use serde::Serialize;

mod endpoints;
mod quotas;
mod resolve;
mod run;
mod signing;
mod trust;

pub use quotas::{quota_room, Creates};
pub use resolve::{choose_engine_version, choose_zones};
pub use run::run;

/// One check's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    /// `up` goes on, without what this check is about (said in `detail`).
    Warning,
    /// `up` would fail: it does not start.
    Fail,
    /// The endpoint did not answer this question (an emulator's gap).
    NotChecked,
}

impl Verdict {
    /// A question the endpoint could not answer: not checked where that is
    /// an emulator's gap, else `otherwise`.
    fn unanswered(emulator: bool, otherwise: Self) -> Self {
        if emulator {
            Self::NotChecked
        } else {
            otherwise
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warning => "warning",
            Self::Fail => "FAIL",
            Self::NotChecked => "not checked",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub verdict: Verdict,
    pub detail: String,
}

/// A check's call AWS refused for want of a permission: kept so the
/// command stops naming the policy statement that grants it, as a refused
/// call of the run does, rather than as a failed check.
#[derive(Clone, Debug, Serialize)]
pub struct Refused {
    /// The operation (`DescribeDBEngineVersions`), as the permission
    /// table names it.
    pub operation: &'static str,
    pub code: Option<String>,
    pub message: String,
}

/// The checks, and what they resolved for the blueprint.
#[derive(Clone, Debug, Serialize)]
pub struct Preflight {
    pub checks: Vec<Check>,
    /// The calls AWS refused for want of a permission, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<Refused>,
    /// The engine version to create the database with.
    pub engine_version: String,
    /// The three zones for the subnets (and so the database).
    pub zones: Vec<String>,
}

impl Preflight {
    /// What the configuration says, unresolved (commands that create
    /// nothing: `down`, `verify`, `graph`).
    pub fn unresolved(config: &Config) -> Self {
        Self {
            checks: Vec::new(),
            refused: Vec::new(),
            engine_version: config.stack.rds.engine_version.clone(),
            zones: config.stack.network.availability_zones.clone(),
        }
    }

    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.verdict == Verdict::Fail)
    }

    /// Keeps `e` if it is a refusal for want of a permission.
    fn note_refusal<E>(&mut self, operation: &'static str, e: &SdkError<E, HttpResponse>)
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        if let Some(refused) = refusal(operation, e) {
            self.refused.push(refused);
        }
    }

    fn push(&mut self, name: &'static str, verdict: Verdict, detail: impl Into<String>) {
        self.checks.push(Check {
            name,
            verdict,
            detail: detail.into(),
        });
    }
}

/// `e` as a [`Refused`], if AWS refused the call for want of a permission.
fn refusal<E>(operation: &'static str, e: &SdkError<E, HttpResponse>) -> Option<Refused>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    (paysec_aws::classify::classify(e) == ErrorClass::AccessDenied).then(|| Refused {
        operation,
        code: e.code().map(str::to_owned),
        message: e
            .message()
            .map(str::to_owned)
            .unwrap_or_else(|| paysec_aws::classify::one_line(e)),
    })
}

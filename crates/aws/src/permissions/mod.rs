//! The IAM permissions behind every AWS call paysec makes: one row per
//! SDK operation (and per resource scope it needs), kept by the crate that
//! makes the call in its own `permissions.rs`, and gathered by the binary
//! into `paysec iam-policy`'s documents.
//!
//! The rows are also the check that none is missing: the binary installs
//! them ([`install`]) and every client carries [`Guard`], which, in a debug
//! build (every test), refuses a call whose operation has no row, naming
//! it. So a new call without a policy entry fails the suite, not a user.
//! A release build only logs it.
//!
//! An `AccessDenied` from AWS is matched to its row ([`statement_for`]) so
//! the error names the action, and the statement of `paysec iam-policy`
//! that grants it.

mod installed;
mod names;
mod policies;
mod table;

pub use installed::{
    install, installed, refused_action, rows_for, statement_for, statement_in, Guard,
};
pub use names::{iam_prefix, sid};
pub use policies::{
    documents, policy_size, statements, Document, Statement, Target, MANAGED_POLICY_LIMIT,
};
pub use table::PERMISSIONS;

/// Who needs a permission: every principal that reads (`plan`,
/// `verify`), or only the one that changes (`up`, `down`, `deploy`,
/// `ledger init`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    Read,
    Write,
}

/// The resources a permission is granted on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// `*`: the action has no resource-level permission (IAM's service
    /// authorization reference lists none for it), or reads an
    /// account-wide setting.
    Any,
    /// ARN templates: `{partition}`, `{region}`, `{account}` and
    /// `{prefix}` (`paysec-<env>`) are filled in for the environment.
    Arns(&'static [&'static str]),
    /// `*` with `aws:ResourceTag/paysec:environment` equal to the
    /// environment: resources with generated ids (EC2, KMS keys), which
    /// paysec tags at creation.
    Tagged,
    /// `*` with `aws:RequestTag/paysec:environment` equal to the
    /// environment: creates that carry their tags (tag on create).
    Requested,
    /// The shared ledger's bucket (`{bucket}`) and its objects under the
    /// ledger's prefix; dropped when the ledger is a local file.
    Ledger(&'static [&'static str]),
    /// `iam:PassRole` of the roles `role` names (an ARN template) to the
    /// service `to` (`iam:PassedToService`).
    PassRole {
        role: &'static str,
        to: &'static str,
    },
    /// `iam:CreateServiceLinkedRole` for one service (`iam:AWSServiceName`).
    ServiceLinkedRole(&'static str),
}

/// One SDK operation's permissions on one scope.
#[derive(Clone, Copy, Debug)]
pub struct Permission {
    /// The service as the SDK names it in the operation's metadata
    /// (`EC2`, `CloudWatch Logs`, `API Gateway`).
    pub service: &'static str,
    /// The operation (`CreateVpc`).
    pub operation: &'static str,
    /// The IAM actions: the operation's own (which differs from its name
    /// in places: S3, API Gateway) and those it needs beside (tag on
    /// create, `iam:PassRole`). Empty: the call needs no permission
    /// (`sts:GetCallerIdentity`).
    pub actions: &'static [&'static str],
    pub need: Need,
    pub scope: Scope,
    /// What the statement serves: the start of its `Sid` (`Network`,
    /// `Database`, `Ledger`).
    pub serves: &'static str,
}

/// A row that reads (`Describe*`, `Get*`, `List*`, `Head*` and the like).
pub const fn read(
    serves: &'static str,
    service: &'static str,
    operation: &'static str,
    actions: &'static [&'static str],
    scope: Scope,
) -> Permission {
    row(Need::Read, serves, service, operation, actions, scope)
}

/// A row that changes something.
pub const fn write(
    serves: &'static str,
    service: &'static str,
    operation: &'static str,
    actions: &'static [&'static str],
    scope: Scope,
) -> Permission {
    row(Need::Write, serves, service, operation, actions, scope)
}

const fn row(
    need: Need,
    serves: &'static str,
    service: &'static str,
    operation: &'static str,
    actions: &'static [&'static str],
    scope: Scope,
) -> Permission {
    Permission {
        service,
        operation,
        actions,
        need,
        scope,
        serves,
    }
}

/// The stack's own roles, as [`Scope::PassRole`] names them.
pub const STACK_ROLES: &str = "arn:{partition}:iam::{account}:role/{prefix}-*";

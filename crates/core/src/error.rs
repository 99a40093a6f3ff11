//! The error a resource operation returns, classified so the scheduler and
//! the retry policy can decide what to do without parsing messages.

use std::fmt;

use crate::id::LogicalId;

/// What kind of failure an AWS call had, decided once (in `paysec-aws`) from
/// the SDK error's type, code and HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// The thing does not exist (delete treats this as done).
    NotFound,
    /// The thing exists already (create adopts it).
    AlreadyExists,
    /// The service asked us to slow down. Never fatal.
    Throttled,
    /// A server-side or network hiccup worth retrying.
    Transient,
    /// The endpoint could not be reached at all.
    Unreachable,
    /// Credentials are missing, invalid or expired.
    Credentials,
    /// The caller lacks a permission.
    AccessDenied,
    /// Anything else: a real error to report as is.
    Other,
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotFound => "not found",
            Self::AlreadyExists => "already exists",
            Self::Throttled => "throttled",
            Self::Transient => "transient",
            Self::Unreachable => "endpoint unreachable",
            Self::Credentials => "credentials",
            Self::AccessDenied => "access denied",
            Self::Other => "error",
        })
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failed operation on one resource.
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    /// An AWS API call failed.
    #[error("{resource}: {operation} failed: {}{message}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
    Aws {
        resource: LogicalId,
        operation: &'static str,
        class: ErrorClass,
        code: Option<String>,
        message: String,
        #[source]
        source: BoxError,
    },
    /// A dependency's ledger record lacks an attribute this resource needs;
    /// the dependency was never created or its record was edited by hand.
    #[error("{resource}: needs `{attribute}` of {dependency}, which the ledger does not hold")]
    MissingAttribute {
        resource: LogicalId,
        dependency: LogicalId,
        attribute: String,
    },
    /// AWS answered something paysec cannot work with.
    #[error("{resource}: {message}")]
    Unexpected {
        resource: LogicalId,
        message: String,
    },
    /// A wait for readiness ran out of its time budget.
    #[error("{resource}: still not {state} after {waited_secs} s; check it in the AWS console, or raise `{setting}` if it is just slow")]
    WaitTimeout {
        resource: LogicalId,
        state: String,
        waited_secs: u64,
        /// The config key of the budget.
        setting: &'static str,
    },
    /// The run was interrupted before this operation could start or finish.
    #[error("{resource}: interrupted")]
    Interrupted { resource: LogicalId },
}

impl ResourceError {
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Aws { class, .. } => *class,
            _ => ErrorClass::Other,
        }
    }

    pub fn resource(&self) -> &LogicalId {
        match self {
            Self::Aws { resource, .. }
            | Self::MissingAttribute { resource, .. }
            | Self::Unexpected { resource, .. }
            | Self::WaitTimeout { resource, .. }
            | Self::Interrupted { resource } => resource,
        }
    }

    /// The AWS error code, when there is one (`MalformedPolicyDocumentException`).
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Aws { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// The AWS message, or the whole error text otherwise.
    pub fn message(&self) -> String {
        match self {
            Self::Aws { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }

    pub fn unexpected(resource: &LogicalId, message: impl Into<String>) -> Self {
        Self::Unexpected {
            resource: resource.clone(),
            message: message.into(),
        }
    }
}

/// `Ok(None)` for a "not found" error: for reads and deletes, where absence
/// is an answer rather than a failure.
pub fn not_found_is_none<T>(r: Result<T, ResourceError>) -> Result<Option<T>, ResourceError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.class() == ErrorClass::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

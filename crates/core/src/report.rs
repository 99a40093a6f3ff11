//! How library crates tell the binary what is happening. They never print;
//! the binary decides between a live view, plain lines and JSON.

use std::time::Duration;

use crate::error::ResourceError;
use crate::id::LogicalId;

/// What a resource is doing right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Reading,
    Creating,
    Repairing,
    WaitingReady,
    Deleting,
}

/// How a resource's operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Created,
    Adopted,
    Repaired,
    Unchanged,
    Deleted,
    Kept,
    AlreadyGone,
}

/// One progress event.
#[derive(Debug)]
pub enum Event<'a> {
    Phase {
        id: &'a LogicalId,
        kind: &'a str,
        phase: Phase,
    },
    /// A long wait is still going on (reported periodically).
    Waiting {
        id: &'a LogicalId,
        what: &'a str,
        elapsed: Duration,
    },
    Done {
        id: &'a LogicalId,
        kind: &'a str,
        outcome: Outcome,
        physical_id: Option<&'a str>,
        elapsed: Duration,
    },
    Failed {
        id: &'a LogicalId,
        kind: &'a str,
        error: &'a ResourceError,
    },
    /// Never started: a dependency failed or the run was stopped.
    Skipped { id: &'a LogicalId, reason: &'a str },
}

/// Receives progress events. Called from many tasks at once.
pub trait Reporter: Send + Sync {
    fn report(&self, event: &Event<'_>);
}

/// Discards everything (tests, `-q`).
#[derive(Debug, Default)]
pub struct Silent;

impl Reporter for Silent {
    fn report(&self, _event: &Event<'_>) {}
}

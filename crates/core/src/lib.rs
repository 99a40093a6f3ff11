//! The engine under every paysec command: the resource model, the dependency
//! graph, the concurrent scheduler, the JSON ledger, desired-state
//! fingerprints and the batched listings behind quick checks, naming and
//! tagging rules, and the reporter trait through which library crates tell
//! the binary what is happening. Nothing in here talks to AWS or prints.

pub mod census;
pub mod context;
pub mod desired;
pub mod digest;
pub mod environment;
pub mod error;
pub mod graph;
pub mod id;
pub mod ledger;
pub mod ledger_commit;
pub mod ledger_store;
pub mod naming;
pub mod policy_doc;
pub mod property;
pub mod reading;
pub mod releases;
pub mod report;
pub mod resource;
pub mod retry;
pub mod scheduler;
pub mod secret_file;
pub mod shown;
pub mod state;
pub mod tags;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use environment::Environment;
pub use error::{ErrorClass, ResourceError};
pub use graph::{Graph, GraphError};
pub use id::LogicalId;
pub use ledger::{Ledger, LedgerError, Record, Status};
pub use property::{Property, TAGS};
pub use report::{Event, Outcome, Phase, Reporter};
pub use resource::{
    Attr, Checks, Comparison, Context, DeleteOutcome, Dependency, NotApplicable, Observed,
    Ownership, Present, QuickCheck, Resource,
};

#[cfg(test)]
mod scheduler_tests;
#[cfg(test)]
mod test_support;

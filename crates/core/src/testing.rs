//! What a service crate's request-level tests need to call a resource
//! directly, without a scheduler or a ledger: a [`Context`] in a made-up
//! environment whose dependencies are already recorded. Built only for
//! tests (`cfg(test)` here, the `testing` feature for other crates'
//! dev-dependencies).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::context::Context;
use crate::environment::Environment;
use crate::id::LogicalId;
use crate::ledger::{Record, Status};
use crate::naming::EnvName;
use crate::report::Silent;
use crate::state::Present;

/// The account of [`context`]'s environment.
pub const ACCOUNT: &str = "123456789012";
/// Its region.
pub const REGION: &str = "eu-west-1";

/// The context of `resource` in environment `test-001` (account
/// [`ACCOUNT`], region [`REGION`]), each of `deps` recorded ready: its
/// logical id, kind and what it recorded.
pub fn context(resource: &str, deps: &[(&str, &str, Present)]) -> Context {
    let name = EnvName::parse("test-001").expect("a valid environment name");
    let env = Environment::new(name, ACCOUNT, REGION, "aws");
    let deps: BTreeMap<LogicalId, Record> = deps
        .iter()
        .map(|(id, kind, present)| {
            (
                LogicalId::new(*id),
                Record::of(kind, present, Status::Ready, None),
            )
        })
        .collect();
    Context::new(
        Arc::new(env),
        LogicalId::new(resource),
        deps,
        Arc::new(Silent),
    )
}

//! The payment function (PCI DSS 3.5.1, 6.3.3, 6.5, 10.2) and its
//! dead-letter queue. The function runs the team's package (`[lambda]
//! package`) or, by default, paysec's example handler
//! (`lambda/payment/handler.py`, compiled into paysec and zipped in
//! memory); every change is released as a version behind the alias
//! `live` (`release`).

pub mod code_signing;
mod exposure;
pub mod function;
pub mod package;
pub mod permissions;
pub mod queue;
pub mod release;
pub mod signing;

pub use code_signing::CodeSigningConfig;
pub use function::{Database, Function, FunctionSpec};
pub use package::{Code, PackageError};
pub use queue::Queue;
pub use signing::Signing;

pub mod invoke;
pub use invoke::{invoke, Invocation, EXAMPLE_PAYLOAD};

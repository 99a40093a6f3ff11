//! The example payment function (PCI DSS 3.5.1, 6.3.3, 10.2) and its
//! dead-letter queue. The handler (`lambda/payment/handler.py`) is compiled
//! into paysec and zipped in memory, so nothing needs building or uploading
//! by hand.

mod exposure;
pub mod function;
pub mod package;
pub mod queue;

pub use function::{Function, FunctionSpec};
pub use queue::Queue;

pub mod invoke;
pub use invoke::{invoke, Invocation, EXAMPLE_PAYLOAD};

//! IAM for the stack (PCI DSS 7.2, 8.2, 8.3, 8.6): separate roles for the
//! Lambda function, RDS enhanced monitoring, flow-log delivery and the
//! cross-account auditor; every role limited to one-hour sessions, with no
//! inline policy, only managed ones; customer-managed policies scoped to the
//! stack's own ARNs.

pub mod permissions;
pub mod policy;
pub mod role;

pub use policy::{ManagedPolicy, PolicyProperty};
pub use role::{Auditor, Role, RoleProperty, Trust};

/// Every role's session limit, in seconds (one hour, as the usual Terraform setup; PCI DSS
/// 7.2.5: a service role's access no longer than it needs).
pub const MAX_SESSION_SECONDS: i32 = 3600;

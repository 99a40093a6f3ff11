//! Customer-managed KMS keys: one per data domain (RDS, S3, CloudWatch Logs,
//! Lambda), each with an alias, automatic rotation, paysec's tags and a key
//! policy separating administration from use (PCI DSS 3.5.1, 3.6, 3.7.4).

pub mod key;
pub mod permissions;
pub mod policy;

pub use key::{KeyProperty, KmsKey};
pub use policy::KeyUser;

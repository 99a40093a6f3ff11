//! S3 buckets (PCI DSS 3.5.1, 4.2.1, 10.3, 10.5.1): default SSE-KMS with the
//! stack's S3 key and bucket keys, versioning, all four public-access
//! blocks, ACLs disabled, a policy denying plain HTTP and wrong encryption
//! headers (without blocking AWS log delivery, which sends none), lifecycle
//! rules keeping logs 12 months, and server access logs.

pub mod bucket;
pub mod permissions;
pub mod policy;

pub use bucket::{Bucket, BucketProperty, Lifecycle};
pub use policy::Delivery;

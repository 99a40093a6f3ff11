//! RDS PostgreSQL (PCI DSS 2.2, 3.5.1, 4.2.1, 10.2, 10.3): a parameter group
//! forcing TLS and logging connections, a subnet group over the private
//! subnets, and a Multi-AZ instance encrypted with the RDS key, never
//! public, with 7-day backups, log exports, IAM authentication, enhanced
//! monitoring, and a master password that RDS keeps in Secrets Manager.

pub mod groups;
pub mod instance;
pub mod permissions;

pub use groups::{DbParameter, ParameterGroup, SubnetGroup};
pub use instance::{Instance, InstanceSpec, Password};

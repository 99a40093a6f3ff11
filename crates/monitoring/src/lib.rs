//! Security monitoring (PCI DSS 10.4, 10.7): metric filters turning log
//! lines into metrics, alarms on them and on AWS metrics, and an SNS topic
//! encrypted with KMS that every alarm notifies (an alarm nobody hears is
//! no alarm).

pub mod alarm;
pub mod metric_filter;
pub mod permissions;
pub mod topic;

pub use alarm::{Alarm, AlarmSpec, Dimension};
pub use metric_filter::MetricFilter;
pub use topic::Topic;

//! Security groups and their rules. The groups reference each other (the
//! Lambda group's egress names the DB group, whose ingress names the Lambda
//! group), so the groups are created bare and one resource owns every rule.

mod group;
mod rules;

pub use group::{GroupProperty, SecurityGroup};
pub use rules::{Peer, Rule, RulesProperty, SecurityGroupRules};

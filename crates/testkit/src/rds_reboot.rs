//! Static parameters apply at boot: RDS asks to wait 5 minutes after
//! creating or modifying a DB parameter group before creating an instance
//! with it (CreateDBParameterGroup and ModifyDBParameterGroup, API
//! reference), and a static parameter (`shared_preload_libraries`, which
//! loads pgaudit) applies only at the next reboot, seen as the group's
//! `ParameterApplyStatus` `pending-reboot`. moto answers `in-sync` always.
//! `docs/real-aws.md`, "static parameters wait for a reboot".
//!
//! The proxy: an instance created within `rds_parameter_settle` of its
//! group's last modification reads `pending-reboot` until
//! RebootDBInstance. A reboot takes a while: the instance reads
//! `rebooting` for `rds_reboot_time`, and RDS reboots only an available
//! instance (another RebootDBInstance meanwhile is
//! `InvalidDBInstanceState`); moto stays `available` throughout.

use std::time::Duration;

use tokio::time::Instant;

use crate::exchange::{form, form_get, Call, Verdict};
use crate::memory::Memory;
use crate::ruleset::Rules;

/// How long a reboot shows `rebooting`.
fn reboot_time(rules: &Rules) -> Duration {
    rules.rds_parameter_settle.min(Duration::from_secs(1))
}

/// Refuses a reboot of an instance that is rebooting, as RDS does.
pub(crate) fn before(rules: &Rules, m: &mut Memory, call: &Call<'_>) -> Option<Verdict> {
    if rules.rds_parameter_settle.is_zero() || call.signature != "RebootDBInstance" {
        return None;
    }
    let id = form_get(&form(call.body), "DBInstanceIdentifier")?;
    let until = *m.rebooting.get(&id)?;
    (Instant::now() < until).then(|| {
        Verdict::Refuse(
            400,
            "InvalidDBInstanceState",
            format!("Database instance {id} is not in available state (rebooting)."),
        )
    })
}

/// Notes what a successful call changed; returns DescribeDBInstances'
/// answer rewritten for instances that wait for a reboot.
pub(crate) fn after(
    rules: &Rules,
    m: &mut Memory,
    call: &Call<'_>,
    head: &str,
    body: &str,
) -> Option<Vec<u8>> {
    if rules.rds_parameter_settle.is_zero() {
        return None;
    }
    let now = Instant::now();
    let pairs = form(call.body);
    match call.signature {
        "CreateDBParameterGroup" | "ModifyDBParameterGroup" => {
            if let Some(group) = form_get(&pairs, "DBParameterGroupName") {
                m.parameter_groups_changed.insert(group, now);
            }
            None
        }
        "CreateDBInstance" => {
            let (Some(id), Some(group)) = (
                form_get(&pairs, "DBInstanceIdentifier"),
                form_get(&pairs, "DBParameterGroupName"),
            ) else {
                return None;
            };
            let young = m
                .parameter_groups_changed
                .get(&group)
                .is_some_and(|t| now.duration_since(*t) < rules.rds_parameter_settle);
            if young {
                m.pending_reboot.insert(id);
            }
            None
        }
        "RebootDBInstance" | "DeleteDBInstance" => {
            if let Some(id) = form_get(&pairs, "DBInstanceIdentifier") {
                m.pending_reboot.remove(&id);
                if call.signature == "RebootDBInstance" {
                    m.rebooting.insert(id, now + reboot_time(rules));
                } else {
                    m.rebooting.remove(&id);
                }
            }
            None
        }
        "DescribeDBInstances" if !m.pending_reboot.is_empty() || !m.rebooting.is_empty() => {
            let out = crate::wire::rewrite_elements(body, "DBInstance", |instance| {
                let id = crate::wire::between(
                    instance,
                    "<DBInstanceIdentifier>",
                    "</DBInstanceIdentifier>",
                );
                let mut rewritten = instance.to_owned();
                if id.is_some_and(|id| m.pending_reboot.contains(id)) {
                    rewritten = rewritten.replace(
                        "<ParameterApplyStatus>in-sync</ParameterApplyStatus>",
                        "<ParameterApplyStatus>pending-reboot</ParameterApplyStatus>",
                    );
                }
                if id.is_some_and(|id| m.rebooting.get(id).is_some_and(|t| now < *t)) {
                    rewritten = rewritten.replace(
                        "<DBInstanceStatus>available</DBInstanceStatus>",
                        "<DBInstanceStatus>rebooting</DBInstanceStatus>",
                    );
                }
                rewritten
            })?;
            Some(crate::with_new_body(head, &out))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call<'a>(signature: &'a str, body: &'a str) -> Call<'a> {
        Call::of(signature, body)
    }

    #[test]
    fn an_instance_made_right_after_its_group_waits_for_a_reboot() {
        let rules = Rules {
            rds_parameter_settle: Duration::from_secs(60),
            ..Rules::aws()
        };
        let mut m = Memory::default();
        after(
            &rules,
            &mut m,
            &call("ModifyDBParameterGroup", "DBParameterGroupName=pg"),
            "",
            "",
        );
        after(
            &rules,
            &mut m,
            &call(
                "CreateDBInstance",
                "DBInstanceIdentifier=db1&DBParameterGroupName=pg",
            ),
            "",
            "",
        );
        let answer = "<DBInstances><DBInstance><DBInstanceIdentifier>db1</DBInstanceIdentifier><DBParameterGroups><DBParameterGroup><ParameterApplyStatus>in-sync</ParameterApplyStatus></DBParameterGroup></DBParameterGroups></DBInstance></DBInstances>";
        let out = after(
            &rules,
            &mut m,
            &call("DescribeDBInstances", ""),
            "HTTP/1.1 200 OK\r\n",
            answer,
        )
        .unwrap();
        assert!(String::from_utf8(out).unwrap().contains("pending-reboot"));
        after(
            &rules,
            &mut m,
            &call("RebootDBInstance", "DBInstanceIdentifier=db1"),
            "",
            "",
        );
        assert!(after(&rules, &mut m, &call("DescribeDBInstances", ""), "", answer).is_none());
    }
}

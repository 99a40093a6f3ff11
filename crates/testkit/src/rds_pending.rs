//! RDS's pending modifications, where moto 5.2.5 applies every
//! ModifyDBInstance at once (a row in `docs/real-aws.md`):
//!
//! | rule | what the proxy does |
//! |---|---|
//! | capacity waits for the maintenance window | ModifyDBInstance without `ApplyImmediately` that changes only the instance class, allocated storage or engine version is answered by the proxy: nothing changes, and DescribeDBInstances shows the values under `PendingModifiedValues` until they are applied |
//! | an immediate change takes the pending ones along | ModifyDBInstance with `ApplyImmediately=true` of an instance with pending values is sent to the emulator with those values added, and they stop being pending: RDS applies "the changes in this request and any pending modifications" at once |
//! | gp3's IOPS follow its size (PostgreSQL) | a storage change of a gp3 instance to 400 GiB or more must carry `Iops`, at least the 12,000 that size starts from; under 400 GiB `Iops` is refused ("You can't specify IOPS or storage throughput for engine postgres and a storage size less than 400.") |
//! | storage is optimized after a change | once a storage change is applied, the instance reads `storage-optimization` (in service) for `rds_storage_optimization`, and another storage change meanwhile is refused with `InvalidParameterCombination` "You can't currently modify the storage of this DB instance because the previous storage change is being optimized." (AWS: 6 hours or until optimized, whichever is longer) |
//!
//! A request mixing deferred values with others is passed on whole
//! (moto applies it at once); paysec sends capacity apart.
//!
//! Sources: RDS API reference, ModifyDBInstance (`ApplyImmediately`:
//! "If this parameter is disabled, changes to the DB instance are
//! applied during the next maintenance window"; enabled, "the changes in
//! this request and any pending modifications are asynchronously applied
//! as soon as possible"), PendingModifiedValues; RDS user guide,
//! "Settings for DB instances" (which settings wait for the window);
//! terraform-provider-aws `aws_db_instance` (`apply_immediately`; its
//! waits end at `available` or `storage-optimization`) and its issue
//! #12493 (the storage refusal's words); RDS user guide, "Increasing DB
//! instance storage capacity" (the 6 hours); RDS user guide, "gp3
//! storage" (for PostgreSQL, 3,000 IOPS below 400 GiB, 12,000 from 400
//! GiB; provisioned IOPS only from 400 GiB), and the provider's
//! `dbInstancePopulateModify`, which sends `Iops` with every storage change
//! unless gp3 stays under that size. RDS's words for a missing `Iops` are
//! those it gives any instance with provisioned IOPS; the words for too few
//! are the proxy's own.

use std::net::SocketAddr;

use tokio::time::Instant;

use crate::exchange::{ask, form, form_get, Call, Verdict};
use crate::memory::Memory;
use crate::ruleset::Rules;
use crate::wire::between;

/// ModifyDBInstance's parameters that wait for the maintenance window,
/// which are also their names under `PendingModifiedValues`.
const DEFERRED: &[&str] = &[
    "DBInstanceClass",
    "AllocatedStorage",
    "Iops",
    "EngineVersion",
];

/// From this size (GiB) a PostgreSQL gp3 volume has provisioned IOPS,
/// starting at [`GP3_LEAST_IOPS`].
const GP3_IOPS_FROM_GB: i64 = 400;
const GP3_LEAST_IOPS: i64 = 12_000;

/// Parameters that say which instance and how, not what changes.
const ADDRESSING: &[&str] = &[
    "Action",
    "Version",
    "DBInstanceIdentifier",
    "ApplyImmediately",
];

fn response(result: &str) -> String {
    format!("<ModifyDBInstanceResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\"><ModifyDBInstanceResult>{result}</ModifyDBInstanceResult><ResponseMetadata><RequestId>rules</RequestId></ResponseMetadata></ModifyDBInstanceResponse>")
}

/// Holds deferred changes, or sends an immediate one with the pending
/// values added.
pub(crate) async fn before(
    rules: &Rules,
    memory: &std::sync::Mutex<Memory>,
    upstream: SocketAddr,
    call: &Call<'_>,
) -> Option<Verdict> {
    if !rules.rds_pending_modifications || call.signature != "ModifyDBInstance" {
        return None;
    }
    let pairs = form(call.body);
    let id = form_get(&pairs, "DBInstanceIdentifier")?;
    if let Some(refusal) = gp3_iops(upstream, call, &pairs, &id).await {
        return Some(refusal);
    }
    let immediate = form_get(&pairs, "ApplyImmediately").as_deref() == Some("true");
    let optimizing = memory
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .storage_optimizing
        .get(&id)
        .is_some_and(|until| Instant::now() < *until);
    if optimizing && form_get(&pairs, "AllocatedStorage").is_some() {
        return Some(Verdict::Refuse(
            400,
            "InvalidParameterCombination",
            "You can't currently modify the storage of this DB instance because the previous storage change is being optimized.".into(),
        ));
    }
    if immediate {
        let pending = memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .rds_pending
            .get(&id)
            .cloned()
            .unwrap_or_default();
        if pending.is_empty() {
            return None;
        }
        let mut body = call.body.to_owned();
        for (name, value) in &pending {
            if form_get(&pairs, name).is_none() {
                body.push_str(&format!("&{name}={value}"));
            }
        }
        let (ok, answer) = ask(upstream, call.head, "rds", &body, None).await?;
        if !ok {
            // The emulator's refusal comes from the request as sent.
            return None;
        }
        let mut m = memory.lock().unwrap_or_else(|p| p.into_inner());
        m.rds_pending.remove(&id);
        if form_get(&form(&body), "AllocatedStorage").is_some() {
            m.storage_optimizing
                .insert(id, Instant::now() + rules.rds_storage_optimization);
        }
        return Some(Verdict::Answer(crate::with_body(
            crate::exchange::XML_OK,
            &answer,
        )));
    }
    let deferred: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| DEFERRED.contains(&k.as_str()))
        .cloned()
        .collect();
    let only_deferred = pairs
        .iter()
        .all(|(k, _)| ADDRESSING.contains(&k.as_str()) || DEFERRED.contains(&k.as_str()));
    if deferred.is_empty() || !only_deferred {
        return None;
    }
    let (ok, described) = describe(upstream, call, &id).await?;
    if !ok {
        // Not there: the emulator answers the request with its refusal.
        return None;
    }
    let mut m = memory.lock().unwrap_or_else(|p| p.into_inner());
    let pending = m.rds_pending.entry(id).or_default();
    for (name, value) in deferred {
        pending.retain(|(n, _)| *n != name);
        pending.push((name, value));
    }
    let instance = between(&described, "<DBInstance>", "</DBInstance>")?;
    let shown = with_pending(instance, pending);
    Some(Verdict::Answer(crate::with_body(
        crate::exchange::XML_OK,
        &response(&format!("<DBInstance>{shown}</DBInstance>")),
    )))
}

/// DescribeDBInstances of `id`, as the caller: whether it answered, and
/// the answer.
async fn describe(upstream: SocketAddr, call: &Call<'_>, id: &str) -> Option<(bool, String)> {
    ask(
        upstream,
        call.head,
        "rds",
        &format!("Action=DescribeDBInstances&Version=2014-10-31&DBInstanceIdentifier={id}"),
        None,
    )
    .await
}

/// A gp3 storage change's `Iops`, checked against the size it asks for
/// (the live size when it asks none).
async fn gp3_iops(
    upstream: SocketAddr,
    call: &Call<'_>,
    pairs: &[(String, String)],
    id: &str,
) -> Option<Verdict> {
    let size = form_get(pairs, "AllocatedStorage").and_then(|s| s.parse::<i64>().ok());
    let iops = form_get(pairs, "Iops").and_then(|s| s.parse::<i64>().ok());
    if size.is_none() && iops.is_none() {
        return None;
    }
    let (ok, described) = describe(upstream, call, id).await?;
    let gp3 = between(&described, "<StorageType>", "</StorageType>") == Some("gp3");
    let postgres = between(&described, "<Engine>", "</Engine>") == Some("postgres");
    if !ok || !gp3 || !postgres {
        return None;
    }
    let size = size.or_else(|| {
        between(&described, "<AllocatedStorage>", "</AllocatedStorage>")?
            .parse()
            .ok()
    })?;
    let refuse =
        |message: String| Some(Verdict::Refuse(400, "InvalidParameterCombination", message));
    match iops {
        Some(_) if size < GP3_IOPS_FROM_GB => refuse(
            "You can't specify IOPS or storage throughput for engine postgres and a storage size less than 400.".into(),
        ),
        None if size >= GP3_IOPS_FROM_GB => refuse(
            "You must specify both the storage size and iops when modifying the storage size or iops on a DB instance that has iops.".into(),
        ),
        Some(iops) if size >= GP3_IOPS_FROM_GB && iops < GP3_LEAST_IOPS => refuse(format!(
            "Iops {iops} is below the {GP3_LEAST_IOPS} a gp3 volume of {size} GiB starts from."
        )),
        _ => None,
    }
}

/// One instance's XML with its pending values shown.
fn with_pending(instance: &str, pending: &[(String, String)]) -> String {
    let values: String = pending
        .iter()
        .map(|(name, value)| format!("<{name}>{value}</{name}>"))
        .collect();
    let block = format!("<PendingModifiedValues>{values}</PendingModifiedValues>");
    if let (Some(a), Some(b)) = (
        instance.find("<PendingModifiedValues>"),
        instance.find("</PendingModifiedValues>"),
    ) {
        let end = b + "</PendingModifiedValues>".len();
        format!("{}{block}{}", &instance[..a], &instance[end..])
    } else if instance.contains("<PendingModifiedValues/>") {
        instance.replace("<PendingModifiedValues/>", &block)
    } else {
        format!("{instance}{block}")
    }
}

/// Shows pending values in DescribeDBInstances' answer; forgets those of
/// a deleted instance.
pub(crate) fn after(
    rules: &Rules,
    m: &mut Memory,
    call: &Call<'_>,
    head: &str,
    body: &str,
) -> Option<Vec<u8>> {
    if !rules.rds_pending_modifications {
        return None;
    }
    let now = Instant::now();
    match call.signature {
        "DeleteDBInstance" => {
            if let Some(id) = form_get(&form(call.body), "DBInstanceIdentifier") {
                m.rds_pending.remove(&id);
                m.storage_optimizing.remove(&id);
            }
            None
        }
        // A storage change applied at once (deferred ones are answered
        // by `before` and never reach here).
        "ModifyDBInstance" => {
            let pairs = form(call.body);
            if form_get(&pairs, "AllocatedStorage").is_some() {
                if let Some(id) = form_get(&pairs, "DBInstanceIdentifier") {
                    m.storage_optimizing
                        .insert(id, now + rules.rds_storage_optimization);
                }
            }
            None
        }
        "DescribeDBInstances" if m.rds_pending.is_empty() && m.storage_optimizing.is_empty() => {
            None
        }
        "DescribeDBInstances" => {
            let out = crate::wire::rewrite_elements(body, "DBInstance", |instance| {
                let id = between(
                    instance,
                    "<DBInstanceIdentifier>",
                    "</DBInstanceIdentifier>",
                );
                let mut shown = match id.and_then(|id| m.rds_pending.get(id)) {
                    Some(pending) => with_pending(instance, pending),
                    None => instance.to_owned(),
                };
                if id.is_some_and(|id| m.storage_optimizing.get(id).is_some_and(|t| now < *t)) {
                    shown = shown.replace(
                        "<DBInstanceStatus>available</DBInstanceStatus>",
                        "<DBInstanceStatus>storage-optimization</DBInstanceStatus>",
                    );
                }
                shown
            })?;
            Some(crate::with_new_body(head, &out))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_values_are_shown_in_the_instance() {
        let pending = vec![("DBInstanceClass".to_owned(), "db.t3.small".to_owned())];
        let plain = "<DBInstanceIdentifier>db1</DBInstanceIdentifier><DBInstanceClass>db.t3.micro</DBInstanceClass>";
        assert!(with_pending(plain, &pending).ends_with(
            "<PendingModifiedValues><DBInstanceClass>db.t3.small</DBInstanceClass></PendingModifiedValues>"
        ));
        let empty = "<A/><PendingModifiedValues></PendingModifiedValues><B/>";
        assert_eq!(
            with_pending(empty, &pending),
            "<A/><PendingModifiedValues><DBInstanceClass>db.t3.small</DBInstanceClass></PendingModifiedValues><B/>"
        );
    }

    #[test]
    fn a_describe_shows_only_the_pending_instance_s_values() {
        let rules = Rules::aws();
        let mut m = Memory::default();
        m.rds_pending
            .insert("db2".into(), vec![("AllocatedStorage".into(), "30".into())]);
        let answer = "<DBInstances><DBInstance><DBInstanceIdentifier>db1</DBInstanceIdentifier></DBInstance><DBInstance><DBInstanceIdentifier>db2</DBInstanceIdentifier></DBInstance></DBInstances>";
        let out = after(
            &rules,
            &mut m,
            &Call::of("DescribeDBInstances", ""),
            "HTTP/1.1 200 OK\r\n",
            answer,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("<PendingModifiedValues>").count(), 1, "{text}");
        assert!(text.contains("db2</DBInstanceIdentifier><PendingModifiedValues><AllocatedStorage>30</AllocatedStorage>"), "{text}");
    }
}

//! Fingerprints of the desired state. When a resource converges, the ledger
//! records a fingerprint of everything its desired state was derived from:
//! the stack's settings and paysec's version (`Environment::desired_state`)
//! and the records of the resources it depends on. A later `up` that
//! computes the same fingerprint knows that nothing paysec wants of the
//! resource changed, so a quick look (is it still there?) is enough unless
//! the user asks for a full refresh; a different fingerprint means a full
//! read and repair.

use std::collections::BTreeMap;

use crate::environment::Environment;
use crate::id::LogicalId;
use crate::ledger::Record;

/// 64-bit FNV-1a of `parts`, each ended by a separator so that ("ab", "c")
/// and ("a", "bc") differ. Stable across builds and platforms (a
/// fingerprint written by one paysec is read by the next); not a defence
/// against anyone forging one, which the ledger's owner could do anyway.
pub fn hash<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    for part in parts {
        for b in part.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(PRIME);
        }
    }
    format!("{h:016x}")
}

/// The fingerprint of one resource's desired state in `env`, given the
/// ledger records of its dependencies: their identities feed its desired
/// state (a recreated key is a different key to encrypt with). Only the
/// physical ids count, not the attributes, which some resources fill in
/// once ready (an endpoint address) and which follow from the identity.
pub fn of_resource(
    env: &Environment,
    id: &LogicalId,
    deps: &BTreeMap<LogicalId, Record>,
) -> String {
    let mut parts: Vec<&str> = vec![&env.desired_state, id.as_str()];
    for (dep, record) in deps {
        parts.push(dep.as_str());
        parts.push(record.physical_id.as_deref().unwrap_or(""));
    }
    hash(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Status;
    use crate::naming::EnvName;

    fn record(physical_id: &str) -> Record {
        Record {
            kind: "kms_key".into(),
            status: Status::Ready,
            physical_id: Some(physical_id.into()),
            attrs: BTreeMap::from([("arn".to_owned(), format!("arn:{physical_id}"))]),
            updated_at: "then".into(),
            last_error: None,
            converged: None,
            create_token: None,
        }
    }

    #[test]
    fn part_boundaries_count() {
        assert_ne!(hash(["ab", "c"]), hash(["a", "bc"]));
        assert_eq!(hash(["ab", "c"]), hash(["ab", "c"]));
        assert_eq!(hash([""]).len(), 16);
    }

    #[test]
    fn changes_with_settings_and_dependency_ids_only() {
        let mut env = Environment::new(EnvName::parse("dev-1").unwrap(), "1", "r", "aws");
        env.desired_state = "settings-a".into();
        let id = LogicalId::new("logs.lambda");
        let key = LogicalId::new("kms.logs");
        let deps = BTreeMap::from([(key.clone(), record("k-1"))]);
        let base = of_resource(&env, &id, &deps);

        let mut later = deps.clone();
        let r = later.get_mut(&key).unwrap();
        r.updated_at = "now".into();
        r.attrs
            .insert("endpoint".into(), "filled in once ready".into());
        assert_eq!(of_resource(&env, &id, &later), base);

        let recreated = BTreeMap::from([(key, record("k-2"))]);
        assert_ne!(of_resource(&env, &id, &recreated), base);

        env.desired_state = "settings-b".into();
        assert_ne!(of_resource(&env, &id, &deps), base);
        assert_ne!(
            of_resource(&env, &LogicalId::new("logs.flow-logs"), &deps),
            of_resource(&env, &id, &deps)
        );
    }
}

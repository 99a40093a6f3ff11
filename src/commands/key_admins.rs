//! Who administers the environment's keys: as configured, else as tagged
//! on the keys or recorded in the ledger by the first `up`, else the
//! caller's own principal.

use paysec_aws::{Aws, CallerIdentity};
use paysec_core::Ledger;

use crate::exit::Failure;
use crate::settings::Settings;

/// The key administrators the ledger recorded for the environment's keys
/// (the same for every key: one setting builds them all).
pub(crate) fn recorded_key_admins(ledger: &Ledger) -> Option<Vec<String>> {
    ledger
        .records()
        .values()
        .filter(|r| r.kind == "kms_key")
        .find_map(|r| r.attrs.get(paysec_core::Attr::KeyAdministrators.as_str()))
        .map(|joined| {
            joined
                .split(',')
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect()
        })
}

/// The administrators this environment's keys carry in their
/// `paysec:key-admins` tag (set with them by `up`), read from the first key
/// the ledger names that carries this environment's and its logical id's
/// tags; `None` when no key carries one (made before the tag, or admins a
/// tag cannot hold).
pub(crate) async fn admins_tagged_on_keys(
    aws: &paysec_aws::Aws,
    ledger: &Ledger,
    env: &paysec_core::naming::EnvName,
) -> Option<Vec<String>> {
    use paysec_core::tags::{key_admins_of, ENVIRONMENT, KEY_ADMINS, LOGICAL_ID};
    for (id, record) in ledger.records().iter().filter(|(_, r)| r.kind == "kms_key") {
        let Some(key) = record
            .attrs
            .get(paysec_core::Attr::KeyId.as_str())
            .or(record.physical_id.as_ref())
        else {
            continue;
        };
        // IAM: kms:ListResourceTags.
        let Ok(out) = aws.kms.list_resource_tags().key_id(key).send().await else {
            continue;
        };
        let tag = |name: &str| {
            out.tags()
                .iter()
                .find(|t| t.tag_key() == name)
                .map(|t| t.tag_value().to_owned())
        };
        if tag(ENVIRONMENT).as_deref() == Some(env.as_str())
            && tag(LOGICAL_ID).as_deref() == Some(id.as_str())
        {
            if let Some(admins) = tag(KEY_ADMINS) {
                return Some(key_admins_of(&admins));
            }
        }
    }
    None
}

/// The configured key administrators, else the caller's principal, asked
/// of IAM only when needed (an assumed role's ARN has a path the session
/// ARN does not show).
pub async fn key_admins(
    settings: &Settings,
    aws: &Aws,
    caller: &CallerIdentity,
) -> Result<Vec<String>, Failure> {
    let principal = if settings.config.stack.kms.admin_principals.is_empty() {
        aws.caller_principal(caller).await?
    } else {
        None
    };
    Ok(paysec_stack::key_admins(
        &settings.config,
        principal.as_deref(),
    ))
}

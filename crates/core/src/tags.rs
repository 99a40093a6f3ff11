//! The tags paysec puts on everything it creates, so that what the ledger
//! lost can still be found (Resource Groups Tagging API) and removed.

use crate::environment::Environment;
use crate::id::LogicalId;

/// Tag key holding the environment suffix.
pub const ENVIRONMENT: &str = "paysec:environment";
/// Tag key holding the resource's logical id.
pub const LOGICAL_ID: &str = "paysec:logical-id";
/// Tag key on a key `down` kept because kept data is encrypted with it,
/// holding the logical id it had (which it no longer carries, so it is
/// never taken for that resource again).
pub const KEPT: &str = "paysec:kept";
/// Tag key marking the creator.
pub const MANAGED_BY: &str = "paysec:managed-by";
/// Tag key holding the random token of the create that made the resource,
/// recorded in the ledger with the create's intent: the proof that this
/// ledger's paysec made it (anyone can copy the other tags).
pub const CREATE_TOKEN: &str = "paysec:create-token";
/// Tag key on each KMS key holding its administrators (space-separated
/// ARNs), set with the key: where `verify` takes KMS-3's expected
/// administrators from when `kms.admin_principals` is unset. Only what may
/// tag the key can change it (its administrators, or IAM principals allowed
/// `kms:TagResource` on it), not the ledger's writers.
pub const KEY_ADMINS: &str = "paysec:key-admins";

/// The [`KEY_ADMINS`] tag's value for `admins`, if a KMS tag can hold it
/// (at most 256 characters of letters, digits, spaces and `_.:/=+-@`).
pub fn key_admins_value(admins: &[String]) -> Option<String> {
    let value = admins.join(" ");
    let fits = !value.is_empty()
        && value.chars().count() <= 256
        && value
            .chars()
            .all(|c| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c));
    fits.then_some(value)
}

/// The administrators a [`KEY_ADMINS`] tag names.
pub fn key_admins_of(value: &str) -> Vec<String> {
    value.split_whitespace().map(str::to_owned).collect()
}

/// The tags for one resource: paysec's three, the create's token when the
/// ledger recorded one, then the user's own from the config (which may not
/// override paysec's).
pub fn for_resource(
    env: &Environment,
    id: &LogicalId,
    create_token: Option<&str>,
) -> Vec<(String, String)> {
    let mut tags = vec![
        (ENVIRONMENT.to_owned(), env.name.as_str().to_owned()),
        (LOGICAL_ID.to_owned(), id.as_str().to_owned()),
        (MANAGED_BY.to_owned(), "paysec".to_owned()),
    ];
    if let Some(token) = create_token {
        tags.push((CREATE_TOKEN.to_owned(), token.to_owned()));
    }
    for (k, v) in &env.extra_tags {
        if !k.starts_with("paysec:") {
            tags.push((k.clone(), v.clone()));
        }
    }
    tags
}

/// Which of `expected` are missing or different in `actual`, as drift lines.
/// For a resource found by name or tag while the ledger holds a create's
/// intent with `token`: whether its tags prove it is *not* that create's,
/// from the wanted tags its read found missing (`missing`, as
/// [`missing`] gives them). paysec writes all its tags in one call (at
/// creation where the service allows, else right after), so a resource
/// carrying this environment's and this logical id's tags without this
/// create's token was tagged like ours by someone else; one carrying none
/// of them may be ours, stopped between create and tagging.
pub fn tagged_by_another(missing: &[&str], env: &str, id: &str, token: &str) -> bool {
    let lacks = |k: &str, v: &str| missing.iter().any(|m| *m == format!("{k}={v}"));
    lacks(CREATE_TOKEN, token) && !lacks(ENVIRONMENT, env) && !lacks(LOGICAL_ID, id)
}

/// The wanted tags a read found missing (`k=v` each), from its drift: the
/// tags comparison lists them, comma-separated, as its expected side
/// (`Checks::tags`).
pub fn missing_in(drift: &[crate::property::Comparison]) -> Vec<&str> {
    drift
        .iter()
        .filter(|d| d.property == crate::property::TAGS)
        .flat_map(|d| d.expected.split(','))
        .collect()
}

pub fn missing(expected: &[(String, String)], actual: &[(String, String)]) -> Vec<String> {
    expected
        .iter()
        .filter(|(k, v)| !actual.iter().any(|(ak, av)| ak == k && av == v))
        .map(|(k, v)| format!("{k}={v}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_administrators_fit_a_tag_or_are_left_to_the_ledger() {
        let one = vec![
            "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Dev_0123"
                .to_owned(),
        ];
        let value = key_admins_value(&one).unwrap();
        assert_eq!(key_admins_of(&value), one);
        let two = vec![
            "arn:aws:iam::123456789012:role/a".to_owned(),
            "arn:aws:iam::123456789012:role/b".to_owned(),
        ];
        assert_eq!(key_admins_of(&key_admins_value(&two).unwrap()), two);
        // A comma (allowed in IAM names, not in KMS tags), or too long.
        assert_eq!(
            key_admins_value(&["arn:aws:iam::1:role/a,b".to_owned()]),
            None
        );
        assert_eq!(key_admins_value(&vec!["a".repeat(100); 3]), None);
        assert_eq!(key_admins_value(&[]), None);
    }

    #[test]
    fn our_tags_without_this_create_s_token_are_someone_else_s() {
        let m = |v: &[&'static str]| v.to_vec();
        let token = "paysec:create-token=t1";
        // Every tag but the token: tagged like ours by someone else.
        assert!(tagged_by_another(&m(&[token]), "dev", "kms.s3", "t1"));
        // None of paysec's tags: maybe ours, stopped before tagging.
        assert!(!tagged_by_another(
            &m(&[
                "paysec:environment=dev",
                "paysec:logical-id=kms.s3",
                "paysec:managed-by=paysec",
                token
            ]),
            "dev",
            "kms.s3",
            "t1"
        ));
        // The token there: this create's.
        assert!(!tagged_by_another(&m(&[]), "dev", "kms.s3", "t1"));
    }
}

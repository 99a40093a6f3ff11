//! Who can reach the function from outside: its resource-based policies
//! (the function's, and each published version's and alias's: a
//! qualified ARN has a policy of its own) and its function URLs. paysec
//! adds none and publishes no version or alias (the function is invoked by IAM
//! principals of the account); a statement open to every principal, or a
//! URL without authentication, makes the function a public entry into the
//! cardholder data environment (PCI DSS 1.4.1, 1.3.1). `up` takes such an
//! opening away: it is a setting on paysec's own function, like an extra
//! policy on its role.

use paysec_aws::emulator::Gap;
use paysec_aws::AwsResultExt;
use paysec_core::error::not_found_is_none;
use paysec_core::resource::Checks;
use paysec_core::{LogicalId, Property, ResourceError};
use serde_json::Value;

/// Conditions that narrow a `*` principal to known callers.
const NARROWING: [&str; 5] = [
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceowner",
    "aws:principalorgid",
    "aws:principalaccount",
];

/// What was read: the policy's statements (sid, principal) and the URLs
/// (qualifier, auth type), with the public ones picked out.
#[derive(Debug, Default)]
pub(crate) struct Exposure {
    statements: Vec<String>,
    urls: Vec<String>,
    /// Statements open to anyone: the qualifier whose policy holds it
    /// (`None`: the unqualified function's) and the sid.
    pub(crate) public_statements: Vec<(Option<String>, String)>,
    /// Qualifiers (`None`: `$LATEST`) of URLs without authentication.
    pub(crate) open_urls: Vec<Option<String>>,
}

impl Exposure {
    fn note_url(&mut self, url: &str, auth: &str, qualifier: Option<String>) {
        self.urls.push(format!("{url} ({auth})"));
        if auth == "NONE" {
            self.open_urls.push(qualifier);
        }
    }
}

/// A statement that allows every principal with nothing narrowing it.
fn is_public(statement: &Value) -> bool {
    if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
        return false;
    }
    let principal = statement.get("Principal");
    let star = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s == "*",
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some("*")),
        _ => false,
    };
    let to_anyone = star(principal) || star(principal.and_then(|p| p.get("AWS")));
    // Only a positive match narrows: `...IfExists` passes a caller that
    // sends no such key (a direct invocation), a negated one passes
    // everyone else.
    let narrows = |op: &str| {
        let op = op.to_ascii_lowercase();
        !op.ends_with("ifexists")
            && ["stringequals", "stringlike", "arnequals", "arnlike"].contains(&op.as_str())
    };
    let narrowed = statement
        .get("Condition")
        .and_then(Value::as_object)
        .is_some_and(|ops| {
            ops.iter()
                .filter(|(op, _)| narrows(op))
                .filter_map(|(_, keys)| keys.as_object())
                .any(|keys| {
                    keys.keys()
                        .any(|k| NARROWING.contains(&k.to_ascii_lowercase().as_str()))
                })
        });
    to_anyone && !narrowed
}

/// The published versions and aliases of the function: every page of
/// ListVersionsByFunction (`$LATEST` left out: its policy is the
/// unqualified function's) and of ListAliases.
async fn qualifiers(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    function: &str,
) -> Result<Vec<String>, ResourceError> {
    let mut found = Vec::new();
    let mut versions = aws
        .lambda
        .list_versions_by_function()
        .function_name(function)
        .into_paginator()
        .send();
    while let Some(page) = versions.next().await {
        let page = page.or_resource(id, "ListVersionsByFunction")?;
        found.extend(
            page.versions()
                .iter()
                .filter_map(|v| v.version())
                .filter(|v| *v != "$LATEST")
                .map(str::to_owned),
        );
    }
    let mut aliases = aws
        .lambda
        .list_aliases()
        .function_name(function)
        .into_paginator()
        .send();
    while let Some(page) = aliases.next().await {
        let page = page.or_resource(id, "ListAliases")?;
        found.extend(
            page.aliases()
                .iter()
                .filter_map(|a| a.name())
                .map(str::to_owned),
        );
    }
    Ok(found)
}

/// GetPolicy of the function and of each version and alias
/// (ResourceNotFoundException: no policy), and every page of
/// ListFunctionUrlConfigs.
pub(crate) async fn read(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    function: &str,
) -> Result<Exposure, ResourceError> {
    let mut found = Exposure::default();
    let mut scopes = vec![None];
    scopes.extend(qualifiers(aws, id, function).await?.into_iter().map(Some));
    for qualifier in scopes {
        read_policy(aws, id, function, qualifier, &mut found).await?;
    }
    read_urls(aws, id, function, &mut found).await?;
    Ok(found)
}

/// One policy's statements, the public ones picked out.
async fn read_policy(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    function: &str,
    qualifier: Option<String>,
    found: &mut Exposure,
) -> Result<(), ResourceError> {
    let policy = not_found_is_none(
        aws.lambda
            .get_policy()
            .function_name(function)
            .set_qualifier(qualifier.clone())
            .send()
            .await
            .or_resource(id, "GetPolicy"),
    )?;
    let on = qualifier
        .as_deref()
        .map_or(String::new(), |q| format!(" on :{q}"));
    if let Some(doc) = policy.as_ref().and_then(|p| p.policy()) {
        let doc: Value = serde_json::from_str(doc).unwrap_or(Value::Null);
        let statements = match doc.get("Statement") {
            Some(Value::Array(a)) => a.clone(),
            Some(one) => vec![one.clone()],
            None => Vec::new(),
        };
        for s in &statements {
            let sid = s
                .get("Sid")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned();
            let principal = s.get("Principal").map_or("?".to_owned(), Value::to_string);
            found.statements.push(format!("{sid} ({principal}){on}"));
            if is_public(s) {
                found.public_statements.push((qualifier.clone(), sid));
            }
        }
    }
    Ok(())
}

/// The function URLs, each with its qualifier and auth type.
async fn read_urls(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    function: &str,
    found: &mut Exposure,
) -> Result<(), ResourceError> {
    if aws.tolerates(Gap::FunctionUrlsUnlisted) {
        let url = not_found_is_none(
            aws.lambda
                .get_function_url_config()
                .function_name(function)
                .send()
                .await
                .or_resource(id, "GetFunctionUrlConfig"),
        )?;
        if let Some(u) = url {
            found.note_url(u.function_url(), u.auth_type().as_str(), None);
        }
        return Ok(());
    }
    let mut pages = aws
        .lambda
        .list_function_url_configs()
        .function_name(function)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.or_resource(id, "ListFunctionUrlConfigs")?;
        for u in page.function_url_configs() {
            // The qualifier is the ARN's part after the function name.
            let qualifier = u
                .function_arn()
                .rsplit_once(':')
                .filter(|(head, _)| head.ends_with(function))
                .map(|(_, q)| q.to_owned());
            found.note_url(u.function_url(), u.auth_type().as_str(), qualifier);
        }
    }
    Ok(())
}

/// Records, as `property` (the function's public entry), whether anything
/// reaches the function without AWS credentials.
pub(crate) fn check<P: Property>(checks: &mut Checks, property: P, found: &Exposure) {
    let public = !found.public_statements.is_empty() || !found.open_urls.is_empty();
    let policy = if found.statements.is_empty() {
        "no resource policy".to_owned()
    } else {
        format!("resource policy: {}", found.statements.join(", "))
    };
    let urls = if found.urls.is_empty() {
        "no function URL".to_owned()
    } else {
        format!("function URLs: {}", found.urls.join(", "))
    };
    checks.check(
        property,
        !public,
        "no statement open to every principal; no function URL without authentication",
        format!("{policy}; {urls}"),
    );
}

/// Takes the openings away: RemovePermission of each public statement
/// (from the version's or alias's policy that holds it),
/// DeleteFunctionUrlConfig of each URL without authentication.
pub(crate) async fn close(
    aws: &paysec_aws::Aws,
    id: &LogicalId,
    function: &str,
    found: &Exposure,
) -> Result<(), ResourceError> {
    for (qualifier, sid) in &found.public_statements {
        not_found_is_none(
            aws.lambda
                .remove_permission()
                .function_name(function)
                .set_qualifier(qualifier.clone())
                .statement_id(sid)
                .send()
                .await
                .or_resource(id, "RemovePermission"),
        )?;
    }
    for qualifier in &found.open_urls {
        not_found_is_none(
            aws.lambda
                .delete_function_url_config()
                .function_name(function)
                .set_qualifier(qualifier.clone())
                .send()
                .await
                .or_resource(id, "DeleteFunctionUrlConfig"),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_star_principal_is_public_unless_a_condition_narrows_it() {
        let open = json!({"Sid": "a", "Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunction"});
        assert!(is_public(&open));
        let open_aws = json!({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "lambda:InvokeFunctionUrl"});
        assert!(is_public(&open_aws));
        let narrowed = json!({"Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunction",
            "Condition": {"StringEquals": {"AWS:SourceAccount": "123456789012"}}});
        assert!(!is_public(&narrowed));
        let if_exists = json!({"Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunction",
            "Condition": {"StringEqualsIfExists": {"aws:SourceAccount": "123456789012"}}});
        assert!(
            is_public(&if_exists),
            "a direct caller sends no source account"
        );
        let negated = json!({"Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunction",
            "Condition": {"StringNotEquals": {"aws:SourceAccount": "123456789012"}}});
        assert!(is_public(&negated));
        let service = json!({"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "lambda:InvokeFunction"});
        assert!(!is_public(&service));
        let deny = json!({"Effect": "Deny", "Principal": "*", "Action": "lambda:InvokeFunction"});
        assert!(!is_public(&deny));
    }
}

//! AWS's rules where the emulator is lenient. Where [`crate::model`] makes
//! the emulator behave like AWS in *time*, [`Rules`] makes it refuse what
//! AWS refuses and remember what AWS remembers. Each rule, its source and
//! the test that shows it are listed in `docs/real-aws.md`:
//!
//! | rule | what the proxy does |
//! |---|---|
//! | principals must exist | KMS CreateKey/PutKeyPolicy, IAM CreateRole/UpdateAssumeRolePolicy, S3 PutBucketPolicy, SQS queue and SNS topic policies naming an IAM role or user of the caller's account that does not exist with exactly that ARN (path included) are refused in the service's words |
//! | EC2 client tokens | the first answer to each `ClientToken` is remembered: the same token with other parameters is `IdempotentParameterMismatch`, with the same parameters the first answer again (even if that resource was deleted since) |
//! | EC2 eventual consistency | for `ec2_visibility` after CreateVpc/Subnet/SecurityGroup/RouteTable/NetworkAcl/VpcEndpoint, an EC2 call naming the new id (a Describe by id included; filters excepted) answers `Invalid*.NotFound` |
//! | Lambda account concurrency | GetAccountSettings answers an account limit (a new account's 10); PutFunctionConcurrency that would leave less than the minimum unreserved is refused |
//! | RDS engine versions | DescribeDBEngineVersions and DescribeOrderableDBInstanceOptions answered from a catalog (moto cannot); CreateDBInstance with a version RDS does not offer (a retired minor) is refused |
//! | Service Quotas | GetServiceQuota answered from `service_quotas` (moto knows only VPC quotas, at their defaults) |
//! | RDS parameter apply types | DescribeDBParameters lists each parameter with its apply type (moto lists none); ModifyDBParameterGroup with `immediate` on a static parameter is refused |
//! | interface endpoints' private DNS | CreateVpcEndpoint of an interface endpoint with private DNS (AWS's default) in a VPC without both DNS attributes on is refused |
//! | SNS subscription confirmation | an email/HTTP subscription stays `PendingConfirmation` (in ListSubscriptionsByTopic/ListSubscriptions; Subscribe answers `pending confirmation` unless `ReturnSubscriptionArn`) until ConfirmSubscription brings the token SNS "sent" (`FaultProxy::mailbox`); a wrong token is refused; addresses in `confirming_recipients` confirm at once, as a recipient following the link would |
//! | AssumeRole trust | STS AssumeRole of a role that does not exist, or whose trust policy does not allow the caller (its account, role or ARN; `sts:ExternalId` when it requires one), is refused with AWS's `AccessDenied` ([`crate::trust`]) |
//! | DNS Firewall | names with trailing dots, asynchronous association updates, mutation protection ([`crate::dns_firewall`]) |
//! | KMS tag values | CreateKey and TagResource with a tag value over 256 characters, or with a character KMS does not take (letters, digits, spaces and `_.:/=+-@` only), are refused `TagException` |
//! | S3 expected bucket owner | a request whose `x-amz-expected-bucket-owner` is not its bucket's owner is `403 AccessDenied` ([`crate::s3_owner`]) |
//! | S3 bucket-policy conditions | a policy's conditional Deny statements are judged on object calls as AWS judges them (TLS, the encryption headers), not applied unconditionally as moto does ([`crate::s3_policy`]) |
//! | S3 buckets by region | a request for a bucket signed for another region is `301 PermanentRedirect` with `x-amz-bucket-region` ([`crate::s3_regions`]) |
//! | static parameters wait for a reboot | an instance made within `rds_parameter_settle` of its parameter group's last change reads `pending-reboot` until RebootDBInstance, then `rebooting` for a moment, refusing another reboot ([`crate::rds_reboot`]) |
//! | Lambda releases | an update in progress for a while, PublishVersion's `CodeSha256`, an alias holding its version ([`crate::lambda_releases`]) |
//! | RDS pending modifications | capacity changes without `ApplyImmediately` wait for the maintenance window; an immediate change takes them along ([`crate::rds_pending`]) |
//! | PrivateLink acceptance | an endpoint to a partner's service stays `pendingAcceptance` until its provider accepts ([`crate::endpoint_acceptance`]) |
//! | services' network interfaces | DescribeNetworkInterfaces lists the interfaces Lambda makes for a function in a VPC and RDS for an instance, which moto never makes ([`crate::managed_interfaces`]) |
//! | code signing | Signer's jobs and Lambda's code signing configurations answered as AWS does, and a configuration's policy enforced on CreateFunction and UpdateFunctionCode ([`crate::code_signing`]) |
//! | IAM permission propagation | for `iam_permission_propagation` after a role is created or given policies, CreateFunction/UpdateFunctionConfiguration with it answers "The provided execution role does not have permissions to call SendMessage on SQS" (with a DLQ) or "...CreateNetworkInterface on EC2" (in a VPC) |

mod ec2;
mod kms_tags;
mod principals;
mod rds;
mod sns;

use std::net::SocketAddr;

use crate::exchange::{form, form_get, percent_decode, Call, Verdict, XML_OK};
use crate::memory::Memory;
use crate::ruleset::{lambda_minimum_unreserved, Rules};
use crate::wire::credential_scope;
use ec2::{created_ec2_id, not_found_code, parameters_without_token, private_dns_refusal};
use kms_tags::kms_tag_refusal;
use principals::{invalid_principal, policies_of};
use rds::{engine_versions, offered, orderable, parameter_rules, public_encrypted_snapshot};
use serde_json::Value;
use sns::{confirm, subscriptions};
use tokio::time::Instant;

fn lambda_function_of(signature: &str, prefix: &str, suffix: &str) -> Option<String> {
    signature
        .strip_prefix(prefix)?
        .split('?')
        .next()?
        .strip_suffix(suffix)
        .map(|n| {
            percent_decode(n)
                .rsplit(':')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .filter(|n| !n.is_empty() && !n.contains('/'))
}

const JSON_OK: &str =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-amzn-RequestId: rules\r\n";
const AWS_JSON_OK: &str =
    "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: rules\r\n";

fn answer(head: &str, body: &str) -> Verdict {
    Verdict::Answer(crate::with_body(head, body))
}

/// Decides a request before it reaches the emulator.
pub(crate) async fn before(
    rules: &Rules,
    memory: &std::sync::Mutex<Memory>,
    upstream: SocketAddr,
    call: &Call<'_>,
) -> Option<Verdict> {
    if rules.principals_exist {
        if let Some((policies, status, code, message)) = policies_of(call) {
            if let Some(bad) = invalid_principal(memory, upstream, call.head, &policies).await {
                let message = if code == "MalformedPolicyDocument" {
                    format!("{message}: \"AWS\":\"{bad}\"")
                } else {
                    message.to_owned()
                };
                return Some(Verdict::Refuse(status, code, message));
            }
        }
    }
    if rules.kms_tag_values {
        if let Some(refusal) = kms_tag_refusal(call) {
            return Some(refusal);
        }
    }
    if rules.endpoint_private_dns && call.ec2 && call.signature == "CreateVpcEndpoint" {
        if let Some(refusal) = private_dns_refusal(upstream, call).await {
            return Some(refusal);
        }
    }
    if rules.assume_role_trust && call.signature == "AssumeRole" {
        if let Some(refusal) = crate::trust::refusal(upstream, call).await {
            return Some(refusal);
        }
    }
    if rules.encrypted_snapshots_private && call.signature == "ModifyDBSnapshotAttribute" {
        if let Some(refusal) = public_encrypted_snapshot(upstream, call).await {
            return Some(refusal);
        }
    }
    if !rules.rds_parameter_types.is_empty() {
        if let Some(verdict) = parameter_rules(&rules.rds_parameter_types, upstream, call).await {
            return Some(verdict);
        }
    }
    if let Some(verdict) = crate::rds_pending::before(rules, memory, upstream, call).await {
        return Some(verdict);
    }
    if let Some(verdict) = crate::lambda_releases::before(rules, memory, upstream, call).await {
        return Some(verdict);
    }
    if let Some(verdict) = crate::code_signing::before(rules, memory, upstream, call).await {
        return Some(verdict);
    }
    if let Some(verdict) = crate::s3_regions::before(rules, memory, upstream, call).await {
        return Some(verdict);
    }
    if let Some(verdict) = crate::s3_owner::before(rules, memory, upstream, call).await {
        return Some(verdict);
    }
    if let Some(verdict) = crate::s3_policy::before(rules, memory, upstream, call).await {
        return Some(verdict);
    }
    if let Some(verdict) = crate::apigateway::before(rules, memory, upstream, call).await {
        return Some(verdict);
    }
    let mut m = memory.lock().unwrap_or_else(|p| p.into_inner());
    if rules.confirming_recipients.is_some() && call.signature == "ConfirmSubscription" {
        return Some(confirm(&mut m, &form(call.body)));
    }
    if let Some(refusal) = crate::dns_firewall::before(rules, &mut m, call) {
        return Some(refusal);
    }
    if let Some(refusal) = crate::rds_reboot::before(rules, &mut m, call) {
        return Some(refusal);
    }
    if call.ec2 {
        let pairs = form(call.body);
        if rules.client_tokens {
            if let Some(token) = form_get(&pairs, "ClientToken") {
                if let Some((params, first)) = m.tokens.get(&token) {
                    if *params == parameters_without_token(call.body) {
                        return Some(Verdict::Answer(first.clone()));
                    }
                    return Some(Verdict::Refuse(
                        400,
                        "IdempotentParameterMismatch",
                        "The request uses the same client token as a previous, but non-identical request. Do not reuse a client token with different requests, unless the requests are identical.".into(),
                    ));
                }
            }
        }
        if !rules.ec2_visibility.is_zero() {
            let young = pairs.iter().find_map(|(k, v)| {
                let named = !k.starts_with("Filter.") && !k.starts_with("TagSpecification");
                let t = m.young_ids.get(v)?;
                (named && t.elapsed() < rules.ec2_visibility).then(|| v.clone())
            });
            if let Some(id) = young {
                let code = not_found_code(&id);
                return Some(Verdict::Refuse(
                    400,
                    code,
                    format!("The ID '{id}' does not exist"),
                ));
            }
        }
        return None;
    }
    if matches!(
        call.signature,
        "GetServiceQuota" | "GetAWSDefaultServiceQuota"
    ) {
        let body = serde_json::from_str::<Value>(call.body).unwrap_or(Value::Null);
        let (service, code) = (
            body["ServiceCode"].as_str().unwrap_or_default(),
            body["QuotaCode"].as_str().unwrap_or_default(),
        );
        let of = |list: &[(&'static str, &'static str, f64)]| {
            list.iter()
                .find(|(s, c, _)| *s == service && *c == code)
                .map(|(_, _, v)| *v)
        };
        let quota = |value: f64| {
            let quota = serde_json::json!({
                "Quota": { "ServiceCode": service, "QuotaCode": code, "Value": value, "Unit": "None", "Adjustable": true }
            });
            answer(AWS_JSON_OK, &quota.to_string())
        };
        let adjusted = of(&rules.service_quotas);
        let default = of(&rules.default_quotas);
        match (call.signature, adjusted, default) {
            ("GetServiceQuota", Some(v), _) => return Some(quota(v)),
            ("GetServiceQuota", None, Some(_)) => {
                return Some(Verdict::Refuse(
                    400,
                    "NoSuchResourceException",
                    format!("The request failed because the specified quota {service}/{code} has not been adjusted in this account; its default applies"),
                ))
            }
            ("GetAWSDefaultServiceQuota", _, Some(v)) => return Some(quota(v)),
            _ => {}
        }
    }
    if let Some(limit) = rules.lambda_concurrency_limit {
        if call
            .signature
            .starts_with("GET /2016-08-19/account-settings")
        {
            let reserved: i32 = m.reserved.values().sum();
            let body = serde_json::json!({
                "AccountLimit": {
                    "TotalCodeSize": 80_530_636_800_i64,
                    "CodeSizeUnzipped": 262_144_000,
                    "CodeSizeZipped": 52_428_800,
                    "ConcurrentExecutions": limit,
                    "UnreservedConcurrentExecutions": limit - reserved,
                },
                "AccountUsage": { "TotalCodeSize": 0, "FunctionCount": 0 }
            });
            return Some(answer(JSON_OK, &body.to_string()));
        }
        if let Some(name) =
            lambda_function_of(call.signature, "PUT /2017-10-31/functions/", "/concurrency")
        {
            let wanted = serde_json::from_str::<Value>(call.body)
                .ok()
                .and_then(|v| v["ReservedConcurrentExecutions"].as_i64())
                .unwrap_or(0) as i32;
            let others: i32 = m
                .reserved
                .iter()
                .filter(|(n, _)| **n != name)
                .map(|(_, r)| r)
                .sum();
            let minimum = lambda_minimum_unreserved(limit);
            if limit - others - wanted < minimum {
                return Some(Verdict::Refuse(
                    400,
                    "InvalidParameterValueException",
                    format!("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{minimum}]."),
                ));
            }
        }
    }
    if !rules.iam_permission_propagation.is_zero() {
        let function_call = call.signature == "POST /2015-03-31/functions"
            || lambda_function_of(
                call.signature,
                "PUT /2015-03-31/functions/",
                "/configuration",
            )
            .is_some();
        if function_call {
            if let Ok(body) = serde_json::from_str::<Value>(call.body) {
                let role = body["Role"]
                    .as_str()
                    .and_then(|r| r.rsplit('/').next())
                    .unwrap_or_default();
                let young = m
                    .permissions
                    .get(role)
                    .is_some_and(|t| t.elapsed() < rules.iam_permission_propagation);
                let in_vpc = body["VpcConfig"]["SubnetIds"]
                    .as_array()
                    .is_some_and(|s| !s.is_empty());
                let dlq = body["DeadLetterConfig"]["TargetArn"]
                    .as_str()
                    .is_some_and(|t| !t.is_empty());
                // Which permission Lambda checks first is not documented;
                // the queue's is the one paysec once did not retry.
                let missing = if dlq {
                    Some("SendMessage on SQS")
                } else if in_vpc {
                    Some("CreateNetworkInterface on EC2")
                } else {
                    None
                };
                if let (true, Some(what)) = (young, missing) {
                    return Some(Verdict::Refuse(
                        400,
                        "InvalidParameterValueException",
                        format!(
                            "The provided execution role does not have permissions to call {what}"
                        ),
                    ));
                }
            }
        }
    }
    if let Some(versions) = &rules.rds_engine_versions {
        let region = credential_scope(call.head)
            .map(|s| s.region)
            .unwrap_or_default();
        match call.signature {
            "DescribeDBEngineVersions" => {
                return Some(answer(XML_OK, &engine_versions(versions, &form(call.body))));
            }
            "DescribeOrderableDBInstanceOptions" => {
                return Some(answer(
                    XML_OK,
                    &orderable(versions, region, &form(call.body)),
                ));
            }
            "CreateDBInstance" => {
                let pairs = form(call.body);
                let engine = form_get(&pairs, "Engine").unwrap_or_default();
                if engine == "postgres" {
                    if let Some(v) = form_get(&pairs, "EngineVersion") {
                        if offered(versions, &v).is_empty() {
                            return Some(Verdict::Refuse(
                                400,
                                "InvalidParameterCombination",
                                format!("Cannot find version {v} for postgres"),
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// Notes what a successful call changed that the rules remember. `answer`
/// is the whole HTTP answer the emulator gave.
pub(crate) fn after(
    rules: &Rules,
    memory: &std::sync::Mutex<Memory>,
    call: &Call<'_>,
    answer: &[u8],
) -> Option<Vec<u8>> {
    if !crate::wire::succeeded(answer) {
        return None;
    }
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut m = memory.lock().unwrap_or_else(|p| p.into_inner());
    let now = Instant::now();
    if let Some(confirming) = &rules.confirming_recipients {
        if let Some(body) = subscriptions(&mut m, confirming, call, body) {
            return Some(crate::with_new_body(head, &body));
        }
    }
    if call.ec2 {
        if rules.client_tokens {
            let pairs = form(call.body);
            if let Some(token) = form_get(&pairs, "ClientToken") {
                m.tokens
                    .entry(token)
                    .or_insert_with(|| (parameters_without_token(call.body), answer.to_vec()));
            }
        }
        if let Some(id) = created_ec2_id(call.signature, body) {
            m.young_ids.insert(id, now);
        }
        crate::managed_interfaces::note(rules, &mut m, call, body);
        if let Some(listed) = crate::managed_interfaces::after_ec2(rules, &m, call, head, body) {
            return Some(listed);
        }
        return crate::endpoint_acceptance::after(rules, &mut m, call, head, body);
    }
    crate::managed_interfaces::note(rules, &mut m, call, body);
    if rules.s3_bucket_regions {
        crate::s3_regions::after(&mut m, call);
    }
    if rules.s3_expected_owner {
        crate::s3_owner::after(&mut m, call);
    }
    if let Some(rewritten) = crate::rds_reboot::after(rules, &mut m, call, head, body) {
        return Some(rewritten);
    }
    if let Some(rewritten) = crate::rds_pending::after(rules, &mut m, call, head, body) {
        return Some(rewritten);
    }
    // A read of a signed version names its signer, and may be shown
    // updating too.
    let signed = crate::code_signing::after(rules, &mut m, call, body);
    let body = signed.as_deref().unwrap_or(body);
    if let Some(rewritten) = crate::lambda_releases::after(rules, &mut m, call, head, body) {
        return Some(rewritten);
    }
    if let Some(signed) = &signed {
        return Some(crate::with_new_body(head, signed));
    }
    if let Some(rewritten) = crate::apigateway::after(rules, &mut m, call, head, body) {
        return Some(rewritten);
    }
    if let Some(name) =
        lambda_function_of(call.signature, "PUT /2017-10-31/functions/", "/concurrency")
    {
        if let Some(n) = serde_json::from_str::<Value>(call.body)
            .ok()
            .and_then(|v| v["ReservedConcurrentExecutions"].as_i64())
        {
            m.reserved.insert(name, n as i32);
        }
        return None;
    }
    if let Some(name) = lambda_function_of(
        call.signature,
        "DELETE /2017-10-31/functions/",
        "/concurrency",
    )
    .or_else(|| lambda_function_of(call.signature, "DELETE /2015-03-31/functions/", ""))
    {
        m.reserved.remove(&name);
        return None;
    }
    if let Some(rewritten) = crate::dns_firewall::after(rules, &mut m, call, head, body) {
        return Some(rewritten);
    }
    if matches!(
        call.signature,
        "CreateRole" | "AttachRolePolicy" | "PutRolePolicy"
    ) {
        if let Some(role) = form_get(&form(call.body), "RoleName") {
            m.permissions.insert(role, now);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body that is not text (an S3 object read as text) may hold `%`
    /// before a character of several bytes: kept, not a panic.
    #[test]
    fn percent_decoding_survives_a_body_that_is_not_text() {
        assert_eq!(percent_decode("a%2Fb+c"), "a/b c");
        assert_eq!(percent_decode("x%\u{fffd}y%e"), "x%\u{fffd}y%e");
    }

    #[test]
    fn form_values_are_decoded() {
        let pairs = form("Action=CreateRole&AssumeRolePolicyDocument=%7B%22a%22%3A1%7D&X=a+b");
        assert_eq!(
            form_get(&pairs, "AssumeRolePolicyDocument").unwrap(),
            r#"{"a":1}"#
        );
        assert_eq!(form_get(&pairs, "X").unwrap(), "a b");
    }

    #[test]
    fn lambda_paths_name_their_function() {
        assert_eq!(
            lambda_function_of(
                "PUT /2017-10-31/functions/f-1/concurrency",
                "PUT /2017-10-31/functions/",
                "/concurrency"
            ),
            Some("f-1".into())
        );
        assert_eq!(
            lambda_function_of(
                "DELETE /2015-03-31/functions/f-1",
                "DELETE /2015-03-31/functions/",
                ""
            ),
            Some("f-1".into())
        );
        assert_eq!(
            lambda_function_of(
                "DELETE /2015-03-31/functions/f-1/concurrency",
                "DELETE /2015-03-31/functions/",
                ""
            ),
            None
        );
        assert_eq!(lambda_minimum_unreserved(10), 10);
        assert_eq!(lambda_minimum_unreserved(1000), 100);
    }
}

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

use std::net::SocketAddr;

use crate::exchange::{
    ask, aws_principals, caller_account, form, form_get, iam_identity, percent_decode, Call,
    Verdict, XML_OK,
};
use crate::memory::{Confirmation, Memory};
use crate::ruleset::{lambda_minimum_unreserved, Rules};
use crate::wire::{between, credential_scope};
use serde_json::Value;
use tokio::time::Instant;

/// KMS's refusal of a CreateKey or TagResource whose tag value KMS does not
/// take: over 256 characters, or a character outside letters, digits,
/// spaces and `_.:/=+-@` (KMS API reference, `Tag`: `TagValue`).
fn kms_tag_refusal(call: &Call<'_>) -> Option<Verdict> {
    if !matches!(call.signature, "CreateKey" | "TagResource")
        || credential_scope(call.head).is_some_and(|s| s.service != "kms")
    {
        return None;
    }
    let body: Value = serde_json::from_str(call.body).ok()?;
    let tags = body["Tags"].as_array()?;
    for (n, tag) in tags.iter().enumerate() {
        let value = tag["TagValue"].as_str().unwrap_or_default();
        let takes = |c: char| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c);
        if value.chars().count() > 256 || !value.chars().all(takes) {
            return Some(Verdict::Refuse(
                400,
                "TagException",
                format!(
                    "1 validation error detected: Value at 'tags.{}.member.tagValue' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([\\p{{L}}\\p{{Z}}\\p{{N}}_.:/=+\\-@]*)$ and length at most 256",
                    n + 1
                ),
            ));
        }
    }
    None
}

/// The policy documents a request sets, with the words its service refuses
/// an invalid principal in.
fn policies_of(call: &Call<'_>) -> Option<(Vec<Value>, u16, &'static str, &'static str)> {
    let json = |s: &str| serde_json::from_str::<Value>(s).ok();
    match call.signature {
        "CreateKey" | "PutKeyPolicy" => {
            let body = json(call.body)?;
            let policy = json(body["Policy"].as_str()?)?;
            Some((
                vec![policy],
                400,
                "MalformedPolicyDocumentException",
                "Policy contains a statement with one or more invalid principals.",
            ))
        }
        "CreateRole" | "UpdateAssumeRolePolicy" if !call.ec2 => {
            let pairs = form(call.body);
            let doc = form_get(&pairs, "AssumeRolePolicyDocument")
                .or_else(|| form_get(&pairs, "PolicyDocument"))?;
            Some((
                vec![json(&doc)?],
                400,
                "MalformedPolicyDocument",
                "Invalid principal in policy",
            ))
        }
        "CreateQueue" | "SetQueueAttributes" => {
            let body = json(call.body)?;
            let policy = json(body["Attributes"]["Policy"].as_str()?)?;
            Some((
                vec![policy],
                400,
                "InvalidAttributeValue",
                "Invalid value for the parameter Policy.",
            ))
        }
        "SetTopicAttributes" => {
            let pairs = form(call.body);
            if form_get(&pairs, "AttributeName").as_deref() != Some("Policy") {
                return None;
            }
            let doc = form_get(&pairs, "AttributeValue")?;
            Some((
                vec![json(&doc)?],
                400,
                "InvalidParameter",
                "Invalid parameter: Policy Error: PrincipalNotFound",
            ))
        }
        s if s.starts_with("PUT /") && s.contains("?policy") => Some((
            vec![json(call.body)?],
            400,
            "MalformedPolicy",
            "Invalid principal in policy",
        )),
        _ => None,
    }
}

/// The first principal of `policies` that AWS would refuse: an IAM role or
/// user of the caller's own account that does not exist with exactly that
/// ARN. Principals of other accounts cannot be seen from here and pass.
async fn invalid_principal(
    memory: &std::sync::Mutex<Memory>,
    upstream: SocketAddr,
    head: &str,
    policies: &[Value],
) -> Option<String> {
    let account = caller_account(memory, upstream, head).await?;
    for principal in policies.iter().flat_map(aws_principals) {
        let Some((owner, kind, name)) = iam_identity(&principal) else {
            continue;
        };
        if owner != account {
            continue;
        }
        let action = if kind == "role" {
            "GetRole&RoleName"
        } else {
            "GetUser&UserName"
        };
        let (ok, body) = ask(
            upstream,
            head,
            "iam",
            &format!("Action={action}={name}&Version=2010-05-08"),
            None,
        )
        .await?;
        let arn = ok.then(|| between(&body, "<Arn>", "</Arn>")).flatten();
        if arn != Some(principal.as_str()) {
            return Some(principal);
        }
    }
    None
}

/// The id a successful EC2 create answers with, for the creates whose new
/// resource AWS shows only eventually.
fn created_ec2_id(signature: &str, answer: &str) -> Option<String> {
    let tag = match signature {
        "CreateVpc" => "vpcId",
        "CreateSubnet" => "subnetId",
        "CreateSecurityGroup" => "groupId",
        "CreateRouteTable" => "routeTableId",
        "CreateNetworkAcl" => "networkAclId",
        "CreateVpcEndpoint" => "vpcEndpointId",
        _ => return None,
    };
    between(answer, &format!("<{tag}>"), &format!("</{tag}>")).map(str::to_owned)
}

/// EC2's not-found code for an id, by its prefix.
fn not_found_code(id: &str) -> &'static str {
    match id.split('-').next().unwrap_or_default() {
        "vpc" => "InvalidVpcID.NotFound",
        "subnet" => "InvalidSubnetID.NotFound",
        "sg" => "InvalidGroup.NotFound",
        "rtb" => "InvalidRouteTableID.NotFound",
        "acl" => "InvalidNetworkAclID.NotFound",
        "vpce" => "InvalidVpcEndpointId.NotFound",
        _ => "InvalidID.NotFound",
    }
}

/// The form parameters that decide an EC2 call, without its client token,
/// in a canonical order.
fn parameters_without_token(body: &str) -> String {
    let mut pairs: Vec<(String, String)> = form(body)
        .into_iter()
        .filter(|(k, _)| k != "ClientToken")
        .collect();
    pairs.sort();
    pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

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

/// CreateVpcEndpoint: "To use a private hosted zone, you must set the
/// following VPC attributes to true: enableDnsHostnames and
/// enableDnsSupport" (the API reference); private DNS is on unless asked
/// off. The refusal's words are AWS's as users report them.
async fn private_dns_refusal(upstream: SocketAddr, call: &Call<'_>) -> Option<Verdict> {
    let pairs = form(call.body);
    let interface = form_get(&pairs, "VpcEndpointType").as_deref() == Some("Interface");
    let private_dns = form_get(&pairs, "PrivateDnsEnabled").as_deref() != Some("false");
    let vpc = form_get(&pairs, "VpcId")?;
    if !(interface && private_dns) {
        return None;
    }
    for attribute in ["enableDnsSupport", "enableDnsHostnames"] {
        let (ok, body) = ask(
            upstream,
            call.head,
            "ec2",
            &format!(
                "Action=DescribeVpcAttribute&Attribute={attribute}&VpcId={vpc}&Version=2016-11-15"
            ),
            None,
        )
        .await?;
        let on = between(&body, &format!("<{attribute}>"), &format!("</{attribute}>"))
            .and_then(|a| between(a, "<value>", "</value>"))
            == Some("true");
        if ok && !on {
            return Some(Verdict::Refuse(
                400,
                "InvalidParameter",
                format!("Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes set to true for {vpc}"),
            ));
        }
    }
    None
}

/// ModifyDBSnapshotAttribute adding `all` to `restore` of an encrypted
/// snapshot: "You can't share encrypted snapshots as public" (RDS User
/// Guide, sharing a DB snapshot); RDS answers InvalidParameterValue.
async fn public_encrypted_snapshot(upstream: SocketAddr, call: &Call<'_>) -> Option<Verdict> {
    let pairs = form(call.body);
    let adds_all = pairs
        .iter()
        .any(|(k, v)| k.starts_with("ValuesToAdd.") && v == "all");
    let id = form_get(&pairs, "DBSnapshotIdentifier")?;
    if !adds_all {
        return None;
    }
    let (ok, body) = ask(
        upstream,
        call.head,
        "rds",
        &format!("Action=DescribeDBSnapshots&DBSnapshotIdentifier={id}&Version=2014-10-31"),
        None,
    )
    .await?;
    (ok && between(&body, "<Encrypted>", "</Encrypted>") == Some("true")).then(|| {
        Verdict::Refuse(
            400,
            "InvalidParameterValue",
            format!("The snapshot {id} is encrypted and cannot be shared publicly."),
        )
    })
}

/// RDS parameter groups: DescribeDBParameters of a whole group (no
/// `Source`) lists the catalog's parameters with their apply types and
/// the values moto holds; ModifyDBParameterGroup with `immediate` on a
/// static parameter is refused, as RDS does ("You can use the immediate
/// value with dynamic parameters only").
async fn parameter_rules(
    types: &[(&'static str, &'static str)],
    upstream: SocketAddr,
    call: &Call<'_>,
) -> Option<Verdict> {
    let pairs = form(call.body);
    match call.signature {
        "ModifyDBParameterGroup" => {
            for (key, name) in &pairs {
                let Some(prefix) = key.strip_suffix(".ParameterName") else {
                    continue;
                };
                let method = form_get(&pairs, &format!("{prefix}.ApplyMethod"));
                let is_static = types.iter().any(|(n, t)| n == name && *t == "static");
                if is_static && method.as_deref() == Some("immediate") {
                    return Some(Verdict::Refuse(
                        400,
                        "InvalidParameterCombination",
                        "cannot use immediate apply method for static parameter".into(),
                    ));
                }
            }
            None
        }
        "DescribeDBParameters" if form_get(&pairs, "Source").is_none() => {
            let (ok, held) = ask(upstream, call.head, "rds", call.body, None).await?;
            if !ok {
                return None;
            }
            let value_of = |name: &str| {
                held.split("<Parameter>").skip(1).find_map(|p| {
                    (between(p, "<ParameterName>", "</ParameterName>") == Some(name))
                        .then(|| between(p, "<ParameterValue>", "</ParameterValue>"))
                        .flatten()
                })
            };
            let items: String = types
                .iter()
                .map(|(name, apply)| {
                    let (value, source) = match value_of(name) {
                        Some(v) => (format!("<ParameterValue>{v}</ParameterValue>"), "user"),
                        None => (String::new(), "engine-default"),
                    };
                    format!("<Parameter><ParameterName>{name}</ParameterName>{value}<Source>{source}</Source><ApplyType>{apply}</ApplyType><IsModifiable>true</IsModifiable></Parameter>")
                })
                .collect();
            Some(answer(
                XML_OK,
                &rds_response(
                    "DescribeDBParameters",
                    &format!("<Parameters>{items}</Parameters>"),
                ),
            ))
        }
        _ => None,
    }
}

/// The offered versions a requested one (a minor, or a major alone)
/// stands for.
fn offered<'a>(versions: &'a [String], requested: &str) -> Vec<&'a String> {
    versions
        .iter()
        .filter(|v| {
            *v == requested || (!requested.contains('.') && v.split('.').next() == Some(requested))
        })
        .collect()
}

fn default_of<'a>(versions: &'a [String], major: &str) -> Option<&'a String> {
    versions.iter().find(|v| v.split('.').next() == Some(major))
}

fn rds_response(action: &str, inner: &str) -> String {
    format!(
        "<{action}Response xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\"><{action}Result>{inner}</{action}Result><ResponseMetadata><RequestId>rules</RequestId></ResponseMetadata></{action}Response>"
    )
}

fn engine_versions(versions: &[String], pairs: &[(String, String)]) -> String {
    let engine = form_get(pairs, "Engine").unwrap_or_else(|| "postgres".into());
    let default_only = form_get(pairs, "DefaultOnly").as_deref() == Some("true");
    let listed: Vec<&String> = if engine != "postgres" {
        Vec::new()
    } else {
        match form_get(pairs, "EngineVersion") {
            Some(v) => offered(versions, &v),
            None => versions.iter().collect(),
        }
    };
    let mut items = String::new();
    let mut majors_done = Vec::new();
    for v in listed {
        let major = v.split('.').next().unwrap_or_default();
        let is_default = default_of(versions, major) == Some(v);
        if default_only && (!is_default || majors_done.contains(&major)) {
            continue;
        }
        majors_done.push(major);
        items.push_str(&format!(
            "<DBEngineVersion><Engine>postgres</Engine><EngineVersion>{v}</EngineVersion><MajorEngineVersion>{major}</MajorEngineVersion><DBParameterGroupFamily>postgres{major}</DBParameterGroupFamily><DBEngineDescription>PostgreSQL</DBEngineDescription><DBEngineVersionDescription>PostgreSQL {v}</DBEngineVersionDescription><Status>available</Status></DBEngineVersion>"
        ));
    }
    rds_response(
        "DescribeDBEngineVersions",
        &format!("<DBEngineVersions>{items}</DBEngineVersions>"),
    )
}

/// The classes the model offers, in every zone of the region but `e`
/// (us-east-1e lacks most current instance families).
const CLASSES: &[&str] = &[
    "db.t3.micro",
    "db.t3.small",
    "db.t3.medium",
    "db.t4g.micro",
    "db.t4g.small",
    "db.t4g.medium",
    "db.m6g.large",
    "db.m7g.large",
    "db.r6g.large",
];

fn orderable(versions: &[String], region: &str, pairs: &[(String, String)]) -> String {
    let engine = form_get(pairs, "Engine").unwrap_or_default();
    let wanted_class = form_get(pairs, "DBInstanceClass");
    let listed: Vec<&String> = match form_get(pairs, "EngineVersion") {
        Some(v) => offered(versions, &v),
        None => versions.iter().collect(),
    };
    let zones: String = ["a", "b", "c", "d", "f"]
        .iter()
        .map(|z| format!("<AvailabilityZone><Name>{region}{z}</Name></AvailabilityZone>"))
        .collect();
    let mut items = String::new();
    if engine == "postgres" {
        for v in listed {
            for class in CLASSES
                .iter()
                .filter(|c| wanted_class.as_deref().is_none_or(|w| w == **c))
            {
                items.push_str(&format!(
                    "<OrderableDBInstanceOption><Engine>postgres</Engine><EngineVersion>{v}</EngineVersion><DBInstanceClass>{class}</DBInstanceClass><LicenseModel>postgresql-license</LicenseModel><AvailabilityZones>{zones}</AvailabilityZones><MultiAZCapable>true</MultiAZCapable><StorageType>gp3</StorageType><SupportsStorageEncryption>true</SupportsStorageEncryption><SupportsIAMDatabaseAuthentication>true</SupportsIAMDatabaseAuthentication><SupportsEnhancedMonitoring>true</SupportsEnhancedMonitoring><SupportsPerformanceInsights>true</SupportsPerformanceInsights></OrderableDBInstanceOption>"
                ));
            }
        }
    }
    rds_response(
        "DescribeOrderableDBInstanceOptions",
        &format!("<OrderableDBInstanceOptions>{items}</OrderableDBInstanceOptions>"),
    )
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

/// Protocols whose subscriptions SNS confirms with the recipient.
const CONFIRMED_BY_RECIPIENT: &[&str] = &["email", "email-json", "http", "https"];

/// SNS subscriptions as AWS keeps them: remembers a new subscription that
/// waits for its recipient, and rewrites answers that would show it
/// confirmed (moto's). `Some(body)`: the answer's new body.
fn subscriptions(
    m: &mut Memory,
    confirming: &[String],
    call: &Call<'_>,
    body: &str,
) -> Option<String> {
    match call.signature {
        "Subscribe" => {
            let pairs = form(call.body);
            let protocol = form_get(&pairs, "Protocol").unwrap_or_default();
            let endpoint = form_get(&pairs, "Endpoint").unwrap_or_default();
            let arn = between(body, "<SubscriptionArn>", "</SubscriptionArn>")?.to_owned();
            if !CONFIRMED_BY_RECIPIENT.contains(&protocol.as_str())
                || confirming.contains(&endpoint)
                || !arn.starts_with("arn:")
            {
                return None;
            }
            let token = format!("{:x}", fingerprint(&arn));
            m.pending.entry(arn.clone()).or_insert(Confirmation {
                topic_arn: form_get(&pairs, "TopicArn").unwrap_or_default(),
                endpoint,
                token,
            });
            // "If you don't set ReturnSubscriptionArn, the response
            // returns 'pending confirmation' for a subscription that needs
            // it" (the Subscribe reference).
            let returned = form_get(&pairs, "ReturnSubscriptionArn").as_deref() == Some("true");
            (!returned && m.pending.contains_key(&arn)).then(|| {
                body.replace(
                    &format!("<SubscriptionArn>{arn}</SubscriptionArn>"),
                    "<SubscriptionArn>pending confirmation</SubscriptionArn>",
                )
            })
        }
        "ListSubscriptionsByTopic" | "ListSubscriptions" => {
            let shown = m.pending.keys().fold(body.to_owned(), |b, arn| {
                b.replace(
                    &format!("<SubscriptionArn>{arn}</SubscriptionArn>"),
                    "<SubscriptionArn>PendingConfirmation</SubscriptionArn>",
                )
            });
            (shown != body).then_some(shown)
        }
        "Unsubscribe" => {
            let arn = form_get(&form(call.body), "SubscriptionArn")?;
            m.pending.remove(&arn);
            None
        }
        "DeleteTopic" => {
            let topic = form_get(&form(call.body), "TopicArn")?;
            m.pending.retain(|_, c| c.topic_arn != topic);
            None
        }
        _ => None,
    }
}

/// ConfirmSubscription: the token SNS sent confirms its subscription; any
/// other is refused ("Invalid token", as AWS words it).
fn confirm(m: &mut Memory, pairs: &[(String, String)]) -> Verdict {
    let topic = form_get(pairs, "TopicArn").unwrap_or_default();
    let token = form_get(pairs, "Token").unwrap_or_default();
    let found = m
        .pending
        .iter()
        .find(|(_, c)| c.topic_arn == topic && c.token == token)
        .map(|(arn, _)| arn.clone());
    match found {
        Some(arn) => {
            m.pending.remove(&arn);
            answer(
                XML_OK,
                &format!(
                    "<ConfirmSubscriptionResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><ConfirmSubscriptionResult><SubscriptionArn>{arn}</SubscriptionArn></ConfirmSubscriptionResult><ResponseMetadata><RequestId>rules</RequestId></ResponseMetadata></ConfirmSubscriptionResponse>"
                ),
            )
        }
        None => Verdict::Refuse(400, "InvalidParameter", "Invalid token".into()),
    }
}

/// A stable token for a subscription (FNV-1a of its ARN).
fn fingerprint(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
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
    fn kms_refuses_a_tag_value_it_cannot_hold() {
        let body = |v: &str| {
            serde_json::json!({"Tags": [{"TagKey": "k", "TagValue": "ok"}, {"TagKey": "paysec:key-admins", "TagValue": v}]}).to_string()
        };
        let refused = |v: &str| {
            let b = body(v);
            matches!(
                kms_tag_refusal(&Call::of("TagResource", &b)),
                Some(Verdict::Refuse(400, "TagException", m)) if m.contains("tags.2.member.tagValue")
            )
        };
        assert!(refused("arn:aws:iam::1:role/a,arn:aws:iam::1:role/b"));
        assert!(refused(&"a".repeat(257)));
        assert!(!refused("arn:aws:iam::1:role/a arn:aws:iam::1:role/b"));
        let b = body("x,y");
        assert!(kms_tag_refusal(&Call::of("CreateRole", &b)).is_none());
    }

    #[test]
    fn an_email_subscription_waits_for_its_token() {
        let mut m = Memory::default();
        let call = |signature: &'static str, body: &'static str| Call {
            head: "",
            body,
            signature,
            ec2: false,
        };
        let arn = "arn:aws:sns:eu-west-1:123456789012:alarms:1f2e";
        let answer =
            format!("<SubscribeResult><SubscriptionArn>{arn}</SubscriptionArn></SubscribeResult>");
        let subscribe = "Action=Subscribe&TopicArn=arn%3Aaws%3Asns%3Aeu-west-1%3A123456789012%3Aalarms&Protocol=email&Endpoint=oncall%40example.com";
        let shown = subscriptions(&mut m, &[], &call("Subscribe", subscribe), &answer).unwrap();
        assert!(shown.contains("<SubscriptionArn>pending confirmation</SubscriptionArn>"));
        let listed =
            subscriptions(&mut m, &[], &call("ListSubscriptionsByTopic", ""), &answer).unwrap();
        assert!(listed.contains("<SubscriptionArn>PendingConfirmation</SubscriptionArn>"));
        // A recipient who follows the link at once, and another protocol,
        // are confirmed as moto has them.
        let mut other = Memory::default();
        let confirming = ["oncall@example.com".to_owned()];
        assert!(subscriptions(
            &mut other,
            &confirming,
            &call("Subscribe", subscribe),
            &answer
        )
        .is_none());
        let sqs = "Action=Subscribe&TopicArn=t&Protocol=sqs&Endpoint=arn%3Aaws%3Asqs%3Ax";
        assert!(subscriptions(&mut other, &[], &call("Subscribe", sqs), &answer).is_none());
        // Only the token sent confirms.
        let token = m.pending[arn].token.clone();
        let topic = "arn:aws:sns:eu-west-1:123456789012:alarms".to_owned();
        let pairs = |t: &str| {
            vec![
                ("TopicArn".to_owned(), topic.clone()),
                ("Token".to_owned(), t.to_owned()),
            ]
        };
        assert!(matches!(
            confirm(&mut m, &pairs("wrong")),
            Verdict::Refuse(400, "InvalidParameter", _)
        ));
        assert!(matches!(
            confirm(&mut m, &pairs(&token)),
            Verdict::Answer(_)
        ));
        assert!(m.pending.is_empty());
        assert!(
            subscriptions(&mut m, &[], &call("ListSubscriptionsByTopic", ""), &answer).is_none()
        );
    }

    #[test]
    fn principals_are_found_in_every_form() {
        let doc: Value = serde_json::from_str(
            r#"{"Statement":[{"Principal":{"AWS":"arn:aws:iam::1:role/a"}},{"Principal":{"AWS":["arn:aws:iam::1:root","2"]}},{"Principal":"*"},{"NotPrincipal":{"AWS":"arn:aws:iam::1:user/u"}},{"Principal":{"Service":"logs.amazonaws.com"}}]}"#,
        )
        .unwrap();
        assert_eq!(
            aws_principals(&doc),
            [
                "arn:aws:iam::1:role/a",
                "arn:aws:iam::1:root",
                "2",
                "arn:aws:iam::1:user/u"
            ]
        );
        let single: Value = serde_json::from_str(
            r#"{"Statement":{"Principal":{"AWS":"arn:aws:iam::1:role/p/a"}}}"#,
        )
        .unwrap();
        assert_eq!(aws_principals(&single), ["arn:aws:iam::1:role/p/a"]);
    }

    #[test]
    fn only_roles_and_users_are_looked_up() {
        assert_eq!(
            iam_identity("arn:aws:iam::123:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_A_1"),
            Some(("123".into(), "role", "AWSReservedSSO_A_1".into()))
        );
        assert_eq!(iam_identity("arn:aws:iam::123:root"), None);
        assert_eq!(iam_identity("arn:aws:sts::123:assumed-role/R/s"), None);
        assert_eq!(iam_identity("*"), None);
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
    fn client_tokens_compare_everything_but_the_token() {
        let a = parameters_without_token("Action=CreateVpcEndpoint&VpcId=vpc-1&ClientToken=t");
        let b = parameters_without_token("ClientToken=t&VpcId=vpc-1&Action=CreateVpcEndpoint");
        let c = parameters_without_token("Action=CreateVpcEndpoint&VpcId=vpc-2&ClientToken=t");
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn engine_versions_answer_a_major_with_its_minors_and_default() {
        let versions = Rules::aws().rds_engine_versions.unwrap();
        let all = engine_versions(&versions, &form("Engine=postgres&EngineVersion=16"));
        assert_eq!(all.matches("<DBEngineVersion>").count(), 4);
        let default = engine_versions(
            &versions,
            &form("Engine=postgres&EngineVersion=16&DefaultOnly=true"),
        );
        assert_eq!(default.matches("<DBEngineVersion>").count(), 1);
        assert!(default.contains("<EngineVersion>16.9</EngineVersion>"));
        assert!(offered(&versions, "16.6").is_empty(), "a retired minor");
        let orderable = orderable(
            &versions,
            "us-east-1",
            &form("Engine=postgres&EngineVersion=16.9&DBInstanceClass=db.t3.micro"),
        );
        assert_eq!(orderable.matches("<OrderableDBInstanceOption>").count(), 1);
        assert!(!orderable.contains("us-east-1e"));
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

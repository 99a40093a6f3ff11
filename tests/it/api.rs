//! The payment API's private entry: `up` builds the PRIVATE REST API, its
//! resource policy, stage, interface endpoint and the function's
//! permission; each property is read back through API Gateway, EC2 and
//! Lambda; tampering with each is drift that `verify` fails and a plain
//! `up` repairs; `down` leaves nothing of it but the kept logs.

use serde_json::Value;

use crate::support::{aws, finding, Paysec};

const CONFIG: &str = "[rds]\nenabled = false\n\n[api]\nallowed_cidrs = [\"10.40.0.0/16\"]\nallowed_vpc_endpoints = [\"vpce-0a1b2c3d4e5f60718\"]\nallowed_principals = [\"arn:aws:iam::123456789012:role/checkout\"]\nrate_limit = 20.0\nburst_limit = 40\n";

/// The API's policy as paysec reads it (GetRestApi answers it escaped).
fn policy_of(
    api: &paysec_aws::sdk::apigateway::operation::get_rest_api::GetRestApiOutput,
) -> Value {
    paysec_api::parse_policy(api.policy().unwrap_or_default(), "")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_private_api_is_built_read_back_repaired_and_removed() {
    let p = Paysec::new("api");
    let aws = aws().await;
    std::fs::write(p.dir.path().join("paysec.toml"), CONFIG).unwrap();
    p.run(&["up", "--yes", "--output", "json"]).success();
    let l = p.ledger();
    let rec = |id: &str| l["resources"][id].clone();
    let api_id = rec("api.rest-api")["physical_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let endpoint = rec("network.endpoint-execute-api")["physical_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let alias = rec("lambda.function")["attrs"]["alias_arn"]
        .as_str()
        .unwrap()
        .to_owned();

    // The API: PRIVATE, TLS policy, tags.
    let api = aws
        .apigateway
        .get_rest_api()
        .rest_api_id(&api_id)
        .send()
        .await
        .unwrap();
    let types: Vec<&str> = api
        .endpoint_configuration()
        .unwrap()
        .types()
        .iter()
        .map(|t| t.as_str())
        .collect();
    assert_eq!(types, ["PRIVATE"]);
    assert_eq!(
        api.security_policy().map(|s| s.as_str()),
        Some("SecurityPolicy_TLS13_1_3_2025_09")
    );
    assert_eq!(
        api.endpoint_access_mode().map(|m| m.as_str()),
        Some("STRICT")
    );
    assert_eq!(
        api.tags()
            .unwrap()
            .get("paysec:environment")
            .map(String::as_str),
        Some(p.env.as_str())
    );
    // The resource policy: the configured caller, only through this
    // stack's endpoint and the configured consumer endpoint.
    let policy = policy_of(&api);
    let statements = policy["Statement"].as_array().unwrap();
    let allow = statements.iter().find(|s| s["Effect"] == "Allow").unwrap();
    assert_eq!(
        allow["Principal"]["AWS"],
        serde_json::json!(["arn:aws:iam::123456789012:role/checkout"])
    );
    let deny = statements.iter().find(|s| s["Effect"] == "Deny").unwrap();
    let endpoints = &deny["Condition"]["StringNotEquals"]["aws:SourceVpce"];
    assert_eq!(
        endpoints,
        &serde_json::json!([endpoint.clone(), "vpce-0a1b2c3d4e5f60718"])
    );
    // Every method: IAM authorization, a Lambda proxy to `live`.
    let resources = aws
        .apigateway
        .get_resources()
        .rest_api_id(&api_id)
        .send()
        .await
        .unwrap();
    let proxy = resources
        .items()
        .iter()
        .find(|r| r.path() == Some("/{proxy+}"))
        .and_then(|r| r.id())
        .unwrap()
        .to_owned();
    for verb in ["POST", "GET"] {
        let m = aws
            .apigateway
            .get_method()
            .rest_api_id(&api_id)
            .resource_id(&proxy)
            .http_method(verb)
            .send()
            .await
            .unwrap();
        assert_eq!(m.authorization_type(), Some("AWS_IAM"), "{verb}");
        let integration = m.method_integration().unwrap();
        assert_eq!(integration.r#type().map(|t| t.as_str()), Some("AWS_PROXY"));
        assert!(
            integration
                .uri()
                .unwrap()
                .contains(&format!("/functions/{alias}/")),
            "{verb} integrates with live: {:?}",
            integration.uri()
        );
        assert_eq!(
            m.request_validator_id().is_some(),
            verb == "POST",
            "the POST body is validated"
        );
    }
    // The stage: access logs to the encrypted group, tracing, throttling.
    let stage = aws
        .apigateway
        .get_stage()
        .rest_api_id(&api_id)
        .stage_name("v1")
        .send()
        .await
        .unwrap();
    assert!(stage.tracing_enabled());
    let logs = stage.access_log_settings().unwrap();
    assert!(logs.destination_arn().unwrap().ends_with(&format!(
        ":log-group:/aws/apigateway/paysec-{}-api-access",
        p.env
    )));
    assert!(logs.format().unwrap().contains("$context.identity.vpceId"));
    assert!(
        !logs.format().unwrap().contains("$input.body"),
        "never the body"
    );
    let all = stage.method_settings().unwrap().get("*/*").unwrap();
    assert_eq!(all.throttling_rate_limit(), 20.0);
    assert_eq!(all.throttling_burst_limit(), 40);
    // The endpoint: execute-api, private DNS, its policy naming only this
    // API (the rules layer hides an EC2 id for a second after its create).
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let ep = aws
        .ec2
        .describe_vpc_endpoints()
        .vpc_endpoint_ids(&endpoint)
        .send()
        .await
        .unwrap();
    let ep = &ep.vpc_endpoints()[0];
    assert!(ep.service_name().unwrap().ends_with(".execute-api"));
    assert_eq!(ep.private_dns_enabled(), Some(true));
    assert!(ep.policy_document().unwrap().contains(&api_id));
    // The function's permission: API Gateway, for this API's stage only.
    let function = rec("lambda.function")["attrs"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let lambda_policy = aws
        .lambda
        .get_policy()
        .function_name(&function)
        .qualifier("live")
        .send()
        .await
        .unwrap();
    assert!(lambda_policy
        .policy()
        .unwrap()
        .contains(&format!(":{api_id}/v1/*")));
    // The output callers use.
    let url = p.run(&["output", "api_invoke_url"]).success().stdout();
    assert!(
        url.contains(&format!("https://{api_id}.execute-api.")),
        "{url}"
    );
    // `invoke --api` sends a signed POST to the stage (under the emulator,
    // its route to the stage; moto serves no invocation in server mode,
    // so the answer is an error, reported with its status: exit 3).
    let fault_proxy = paysec_testkit::FaultProxy::start(&crate::support::endpoint())
        .await
        .unwrap();
    let proxy_url = fault_proxy.url();
    let call = p.run(&[
        "--endpoint-url",
        &proxy_url,
        "invoke",
        "--api",
        "--path",
        "/payments",
    ]);
    let sent = format!("POST /restapis/{api_id}/v1/_user_request_/payments");
    assert!(
        fault_proxy.log().iter().any(|l| l.starts_with(&sent)),
        "{sent} in {:?}",
        fault_proxy.log()
    );
    assert_eq!(call.code(), 3, "{}", call.stderr());
    assert!(
        call.stderr().contains("the API answered HTTP"),
        "{}",
        call.stderr()
    );

    let report = p.run(&["verify", "--output", "json"]).json();
    for control in [
        "API-1", "API-2", "API-3", "API-4", "API-5", "API-6", "API-7", "API-8", "API-9", "API-10",
        "API-11", "API-12",
    ] {
        let f = finding(&report, control, None);
        assert_eq!(f["verdict"], "PASS", "{control}: {f}");
    }

    // Tampering: a method opened to anyone, a policy allowing every
    // caller, tracing off, throttling raised.
    let patch = |op: &str, path: &str, value: &str| {
        paysec_aws::sdk::apigateway::types::PatchOperation::builder()
            .op(paysec_aws::sdk::apigateway::types::Op::from(op))
            .path(path)
            .value(value)
            .build()
    };
    // (moto has no UpdateMethod: the method is put again without
    // authorization, as a console user replacing it would.)
    aws.apigateway
        .delete_method()
        .rest_api_id(&api_id)
        .resource_id(&proxy)
        .http_method("POST")
        .send()
        .await
        .unwrap();
    aws.apigateway
        .put_method()
        .rest_api_id(&api_id)
        .resource_id(&proxy)
        .http_method("POST")
        .authorization_type("NONE")
        .send()
        .await
        .unwrap();
    let open = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "*"}]});
    aws.apigateway
        .update_rest_api()
        .rest_api_id(&api_id)
        .patch_operations(patch("replace", "/policy", &open.to_string()))
        .send()
        .await
        .unwrap();
    aws.apigateway
        .update_stage()
        .rest_api_id(&api_id)
        .stage_name("v1")
        .patch_operations(patch("replace", "/tracingEnabled", "false"))
        .patch_operations(patch("replace", "/*/*/throttling/rateLimit", "5000"))
        .send()
        .await
        .unwrap();
    // And the rest: the endpoint type, the TLS policy, the access logs,
    // the function's permission.
    aws.apigateway
        .update_rest_api()
        .rest_api_id(&api_id)
        .patch_operations(patch(
            "replace",
            "/endpointConfiguration/types/0",
            "REGIONAL",
        ))
        .patch_operations(patch("replace", "/securityPolicy", "TLS_1_2"))
        .send()
        .await
        .unwrap();
    aws.apigateway
        .update_stage()
        .rest_api_id(&api_id)
        .stage_name("v1")
        .patch_operations(
            paysec_aws::sdk::apigateway::types::PatchOperation::builder()
                .op(paysec_aws::sdk::apigateway::types::Op::Remove)
                .path("/accessLogSettings")
                .build(),
        )
        .send()
        .await
        .unwrap();
    aws.lambda
        .remove_permission()
        .function_name(&function)
        .qualifier("live")
        .statement_id("paysec-api-invoke")
        .send()
        .await
        .unwrap();
    // (The account's logging role is the whole account's: tampered with
    // in an account of its own, below, not under the suite's other tests.)
    let all = [
        "API-1", "API-2", "API-3", "API-4", "API-5", "API-7", "API-8", "API-9", "API-10", "API-12",
    ];
    let report = p.run(&["verify", "--output", "json"]).json();
    for control in all {
        assert_eq!(
            finding(&report, control, None)["verdict"],
            "FAIL",
            "{control} after tampering"
        );
    }
    let up = p.run(&["up", "--yes", "--output", "json"]).success().json();
    for id in ["api.rest-api", "api.resource-policy", "api.stage"] {
        assert_eq!(up["outcomes"][id], "repaired", "{id}: {up}");
    }
    // A statement taken away is made again.
    assert_eq!(up["outcomes"]["api.invoke-permission"], "created", "{up}");
    let report = p.run(&["verify", "--output", "json"]).json();
    for control in all.into_iter().chain(["API-6"]) {
        assert_eq!(
            finding(&report, control, None)["verdict"],
            "PASS",
            "{control} after the repair"
        );
    }
    let m = aws
        .apigateway
        .get_method()
        .rest_api_id(&api_id)
        .resource_id(&proxy)
        .http_method("POST")
        .send()
        .await
        .unwrap();
    assert_eq!(m.authorization_type(), Some("AWS_IAM"));

    p.run(&["down", "--yes"]).success();
    let apis = aws.apigateway.get_rest_apis().send().await.unwrap();
    assert!(
        !apis.items().iter().any(|a| a.id() == Some(api_id.as_str())),
        "down removes the API"
    );
    let gone = aws
        .ec2
        .describe_vpc_endpoints()
        .vpc_endpoint_ids(&endpoint)
        .send()
        .await;
    let left = gone
        .ok()
        .map(|o| {
            o.vpc_endpoints()
                .iter()
                .filter(|e| {
                    e.state().map(|s| s.as_str().to_ascii_lowercase()) != Some("deleted".into())
                })
                .count()
        })
        .unwrap_or(0);
    assert_eq!(left, 0, "down removes the execute-api endpoint");
}

/// The code's ways out: an interface endpoint per AWS service it calls
/// (Secrets Manager brought by `lambda.secrets`), one to a partner's
/// PrivateLink service, all behind a group admitting only the function;
/// the partner's endpoint waits for its provider's acceptance (said by
/// `up`, NET-26 FAIL until accepted); an endpoint the configuration stops
/// naming is removed by `up`.
#[tokio::test(flavor = "multi_thread")]
async fn the_code_s_ways_out_are_named_endpoints_only() {
    let p = Paysec::new("egress");
    let aws = aws().await;
    let partner = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0";
    let config = format!(
        "[rds]\nenabled = false\n\n[api]\nenabled = false\n\n[lambda]\nsecrets = [\"arn:aws:secretsmanager:us-east-1:123456789012:secret:acquirer-AbCdEf\"]\n\n[network]\nservice_endpoints = [\"kms\"]\nprivate_services = [\"{partner}\"]\nprivate_service_port = 8443\nallowed_domains = [\"api.processor.example\"]\n"
    );
    std::fs::write(p.dir.path().join("paysec.toml"), &config).unwrap();
    let up = p.run(&["up", "--yes", "--output", "json"]).success();
    assert!(
        up.stderr()
            .contains("waits for its provider to accept the connection (pendingAcceptance)"),
        "up ends at pendingAcceptance and says so: {}",
        up.stderr()
    );
    let l = p.ledger();
    let physical = |id: &str| {
        l["resources"][id]["physical_id"]
            .as_str()
            .unwrap_or_else(|| panic!("{id} recorded"))
            .to_owned()
    };
    let kms = physical("network.endpoint-svc-kms");
    let secrets = physical("network.endpoint-svc-secretsmanager");
    let processor = physical("network.endpoint-partner-01234567");
    let group = physical("network.sg-services");
    let function_group = physical("network.sg-lambda");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let out = aws
        .ec2
        .describe_vpc_endpoints()
        .vpc_endpoint_ids(&kms)
        .vpc_endpoint_ids(&secrets)
        .vpc_endpoint_ids(&processor)
        .send()
        .await
        .unwrap();
    for e in out.vpc_endpoints() {
        let id = e.vpc_endpoint_id().unwrap();
        let service = e.service_name().unwrap();
        assert_eq!(e.subnet_ids().len(), 3, "{id}: the three private subnets");
        assert_eq!(
            e.groups()
                .iter()
                .filter_map(|g| g.group_id())
                .collect::<Vec<_>>(),
            [group.as_str()],
            "{id}: behind the services' group only"
        );
        if id == processor {
            assert_eq!(service, partner);
            assert_eq!(
                e.state().map(|s| s.as_str()),
                Some("pendingAcceptance"),
                "until its provider accepts"
            );
            assert_eq!(
                e.private_dns_enabled(),
                Some(false),
                "a partner's names come from the DNS Firewall list"
            );
        } else {
            assert!(
                service.ends_with(".kms") || service.ends_with(".secretsmanager"),
                "{service}"
            );
            assert_eq!(e.private_dns_enabled(), Some(true));
            let policy = e.policy_document().unwrap();
            assert!(policy.contains("aws:PrincipalAccount"), "{id}: {policy}");
            if id == secrets {
                assert!(
                    policy.contains("TheListedSecretsOnly")
                        && policy.contains("secret:acquirer-AbCdEf"),
                    "the listed secrets only: {policy}"
                );
            }
        }
    }
    assert_eq!(out.vpc_endpoints().len(), 3);
    // The group admits the function only: 443 for AWS's services, 8443
    // for the partner's; the function may go to it on those ports.
    let groups = aws
        .ec2
        .describe_security_groups()
        .group_ids(&group)
        .group_ids(&function_group)
        .send()
        .await
        .unwrap();
    let rules = |g: &paysec_aws::sdk::ec2::types::SecurityGroup, egress: bool| {
        let perms = if egress {
            g.ip_permissions_egress()
        } else {
            g.ip_permissions()
        };
        let mut r: Vec<String> = perms
            .iter()
            .flat_map(|p| {
                let port = p.from_port().unwrap_or(-1);
                p.user_id_group_pairs()
                    .iter()
                    .filter_map(move |u| u.group_id().map(|g| format!("{port} {g}")))
                    .chain(
                        p.ip_ranges()
                            .iter()
                            .filter_map(move |c| c.cidr_ip().map(|c| format!("{port} {c}"))),
                    )
            })
            .collect();
        r.sort();
        r
    };
    let services_group = groups
        .security_groups()
        .iter()
        .find(|g| g.group_id() == Some(group.as_str()))
        .unwrap();
    assert_eq!(
        rules(services_group, false),
        [
            format!("443 {function_group}"),
            format!("8443 {function_group}")
        ]
    );
    let lambda_group = groups
        .security_groups()
        .iter()
        .find(|g| g.group_id() == Some(function_group.as_str()))
        .unwrap();
    let out_rules = rules(lambda_group, true);
    for wanted in [format!("443 {group}"), format!("8443 {group}")] {
        assert!(out_rules.contains(&wanted), "{wanted} in {out_rules:?}");
    }
    let report = p.run(&["verify", "--output", "json"]).json();
    let waiting = finding(&report, "NET-26", Some("network.endpoint-partner-01234567"));
    assert_eq!(waiting["verdict"], "FAIL", "{waiting}");
    assert!(
        waiting["observed"]
            .as_str()
            .unwrap()
            .contains("pendingAcceptance"),
        "AWS's state quoted: {waiting}"
    );
    assert_eq!(
        finding(&report, "NET-26", Some("network.endpoint-svc-kms"))["verdict"],
        "PASS"
    );
    crate::support::accept_endpoint_connection(&processor);
    let report = p.run(&["verify", "--output", "json"]).json();
    for f in report["findings"].as_array().unwrap() {
        let control = f["control"].as_str().unwrap_or_default();
        if ["NET-13", "NET-14", "NET-15", "NET-26"].contains(&control) {
            assert!(
                ["PASS", "NOT_APPLICABLE"].contains(&f["verdict"].as_str().unwrap()),
                "{f}"
            );
        }
    }
    // No longer named: removed by `up` (what left the configuration
    // goes), the others untouched; `down` removes the rest.
    std::fs::write(
        p.dir.path().join("paysec.toml"),
        config.replace("service_endpoints = [\"kms\"]", "service_endpoints = []"),
    )
    .unwrap();
    let removed = p.run(&["up", "--yes", "--output", "json"]).success().json();
    assert_eq!(
        removed["outcomes"]["network.endpoint-svc-kms"], "deleted",
        "{removed}"
    );
    assert_eq!(
        removed["outcomes"]["network.endpoint-svc-secretsmanager"], "unchanged",
        "{removed}"
    );
    p.run(&["down", "--yes"]).success();
    let left = aws
        .ec2
        .describe_vpc_endpoints()
        .set_filters(Some(vec![paysec_aws::sdk::ec2::types::Filter::builder()
            .name("tag:paysec:environment")
            .values(p.env.as_str())
            .build()]))
        .send()
        .await
        .unwrap();
    let standing: Vec<&str> = left
        .vpc_endpoints()
        .iter()
        .filter(|e| e.state().map(|s| s.as_str().to_ascii_lowercase()) != Some("deleted".into()))
        .filter_map(|e| e.vpc_endpoint_id())
        .collect();
    assert!(
        standing.is_empty(),
        "down removes every endpoint: {standing:?}"
    );
}

/// API Gateway's CloudWatch role is one setting of the account and
/// region: pointed at a role that does not exist, API-11 fails and a
/// plain `up` sets paysec's role again. In an account of its own, since
/// every environment of an account shares the setting.
#[tokio::test(flavor = "multi_thread")]
async fn the_account_s_logging_role_is_checked_and_set_again() {
    const ACCOUNT: &str = "999999999999";
    let role = crate::accounts::deploy_role(ACCOUNT).await;
    let p = Paysec::new("apiacct");
    std::fs::write(
        p.dir.path().join("paysec.toml"),
        format!(
            "[rds]\nenabled = false\n\n[environments.{}]\nrole_arn = \"{role}\"\n",
            p.env
        ),
    )
    .unwrap();
    p.run(&["up", "--yes"]).success();
    let owner = crate::support::identity_in_account(ACCOUNT, "AccountOwner").await;
    let apigateway =
        paysec_aws::sdk::apigateway::Client::new(&crate::support::sdk_config_as(&owner).await);
    let set = apigateway.get_account().send().await.unwrap();
    assert_eq!(
        set.cloudwatch_role_arn(),
        Some(format!("arn:aws:iam::{ACCOUNT}:role/paysec-apigateway-cloudwatch").as_str()),
        "set where none was"
    );
    // UpdateAccount is rated per account (the rules layer's tenth of
    // AWS's once per 20 s): tried again, as a person would, while refused.
    let mut tries = 0;
    loop {
        let sent = apigateway
            .update_account()
            .patch_operations(
                paysec_aws::sdk::apigateway::types::PatchOperation::builder()
                    .op(paysec_aws::sdk::apigateway::types::Op::Replace)
                    .path("/cloudwatchRoleArn")
                    .value(format!("arn:aws:iam::{ACCOUNT}:role/no-such-role"))
                    .build(),
            )
            .send()
            .await;
        match sent {
            Ok(_) => break,
            Err(e) if tries < 20 && format!("{e:?}").contains("TooManyRequestsException") => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    let report = p.run(&["verify", "--output", "json"]).json();
    let f = finding(&report, "API-11", None);
    assert_eq!(f["verdict"], "FAIL", "{f}");
    assert!(
        f["observed"].as_str().unwrap().contains("no such role"),
        "{f}"
    );
    let up = p.run(&["up", "--yes", "--output", "json"]).success().json();
    assert_eq!(up["outcomes"]["api.account-logging"], "repaired", "{up}");
    let report = p.run(&["verify", "--output", "json"]).json();
    assert_eq!(finding(&report, "API-11", None)["verdict"], "PASS");
    p.run(&["down", "--yes"]).success();
}

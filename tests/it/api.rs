//! The payment API's private entry: `up` builds the PRIVATE REST API, its
//! resource policy, stage, interface endpoint and the function's
//! permission; each property is read back through API Gateway, EC2 and
//! Lambda; tampering with each is drift that `verify` fails and a plain
//! `up` repairs; `down` leaves nothing of it but the kept logs.

use serde_json::Value;

use crate::support::{aws, finding, Paysec};

const CONFIG: &str = "[rds]\nenabled = false\n\n[api]\nallowed_cidrs = [\"10.40.0.0/16\"]\nallowed_vpc_endpoints = [\"vpce-0a1b2c3d4e5f60718\"]\nallowed_principals = [\"arn:aws:iam::123456789012:role/checkout\"]\nrate_limit = 20.0\nburst_limit = 40\n";

/// The API's policy as paysec reads it (GetRestApi answers it escaped).
fn policy_of(api: &aws_sdk_apigateway::operation::get_rest_api::GetRestApiOutput) -> Value {
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
        aws_sdk_apigateway::types::PatchOperation::builder()
            .op(aws_sdk_apigateway::types::Op::from(op))
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
    let report = p.run(&["verify", "--output", "json"]).json();
    for control in ["API-3", "API-5", "API-8", "API-9"] {
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
    let report = p.run(&["verify", "--output", "json"]).json();
    for control in ["API-3", "API-5", "API-6", "API-8", "API-9"] {
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

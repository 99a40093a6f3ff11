//! The whole payment stack against the emulator: every property of
//! controls.md the emulator reports, read back with the SDK, one assertion
//! per property; a no-op second `up` (reads under one per resource, no
//! write) and a no-op `up --no-refresh`; `down` leaving nothing tagged but keys
//! pending deletion; two environments side by side.

use paysec_aws::{tagged_arns, Aws};
use paysec_core::LogicalId;
use paysec_testkit::FaultProxy;
use serde_json::Value;

use crate::support::{assert_core_resources_gone, aws, changed, endpoint, Paysec};

fn attr<'a>(ledger: &'a Value, id: &str, key: &str) -> &'a str {
    let r = &ledger["resources"][id];
    let v = if key == "physical_id" {
        &r["physical_id"]
    } else {
        &r["attrs"][key]
    };
    v.as_str()
        .unwrap_or_else(|| panic!("ledger lacks {id}.{key}"))
}

fn strings(v: &Value) -> Vec<String> {
    paysec_core::policy_doc::strings(v)
}

async fn check_network(aws: &Aws, l: &Value) {
    let vpc = attr(l, "network.vpc", "physical_id");
    for (attr_name, label) in [
        (aws_sdk_ec2_attr::SUPPORT, "VPC: DNS support on"),
        (aws_sdk_ec2_attr::HOSTNAMES, "VPC: DNS hostnames on"),
    ] {
        let out = aws
            .ec2
            .describe_vpc_attribute()
            .vpc_id(vpc)
            .attribute(attr_name.into())
            .send()
            .await
            .unwrap();
        let v = out
            .enable_dns_support()
            .or(out.enable_dns_hostnames())
            .and_then(|b| b.value());
        assert_eq!(v, Some(true), "{label}");
    }
    let igws = aws
        .ec2
        .describe_internet_gateways()
        .filters(f("attachment.vpc-id", vpc))
        .send()
        .await
        .unwrap();
    assert!(
        igws.internet_gateways().is_empty(),
        "VPC: no internet gateway"
    );
    let nats = aws
        .ec2
        .describe_nat_gateways()
        .filter(f("vpc-id", vpc))
        .send()
        .await
        .unwrap();
    assert!(nats.nat_gateways().is_empty(), "VPC: no NAT gateway");

    let subnets = aws
        .ec2
        .describe_subnets()
        .filters(f("vpc-id", vpc))
        .send()
        .await
        .unwrap();
    assert_eq!(subnets.subnets().len(), 3, "three subnets");
    let mut zones: Vec<&str> = subnets
        .subnets()
        .iter()
        .filter_map(|s| s.availability_zone())
        .collect();
    zones.sort_unstable();
    zones.dedup();
    assert_eq!(zones.len(), 3, "subnets in three availability zones");
    for s in subnets.subnets() {
        assert_eq!(
            s.map_public_ip_on_launch(),
            Some(false),
            "subnet {:?}: no public IP auto-assignment",
            s.subnet_id()
        );
    }

    let rt = aws
        .ec2
        .describe_route_tables()
        .route_table_ids(attr(l, "network.route-table", "physical_id"))
        .send()
        .await
        .unwrap();
    let rt = &rt.route_tables()[0];
    for r in rt.routes() {
        assert_ne!(
            r.destination_cidr_block(),
            Some("0.0.0.0/0"),
            "route table: no route to the internet"
        );
        assert!(r.nat_gateway_id().is_none(), "route table: no NAT route");
        let gw = r.gateway_id().unwrap_or("local");
        assert!(
            gw == "local" || gw.starts_with("vpce-"),
            "route table: only local and endpoint routes, found {gw}"
        );
    }
    assert_eq!(
        rt.associations()
            .iter()
            .filter(|a| a.subnet_id().is_some())
            .count(),
        3,
        "route table: associated with the three subnets"
    );

    let eps = aws
        .ec2
        .describe_vpc_endpoints()
        .filters(f("vpc-id", vpc))
        .send()
        .await
        .unwrap();
    let s3ep = eps
        .vpc_endpoints()
        .iter()
        .find(|e| e.service_name().is_some_and(|n| n.ends_with(".s3")))
        .expect("S3 endpoint");
    assert_eq!(
        s3ep.vpc_endpoint_type().map(|t| t.as_str()),
        Some("Gateway"),
        "S3 endpoint is a gateway"
    );
    assert!(
        s3ep.route_table_ids()
            .iter()
            .any(|r| Some(r.as_str()) == rt.route_table_id()),
        "S3 endpoint on the route table"
    );
    let pol = paysec_core::policy_doc::parse(s3ep.policy_document().unwrap_or(""));
    let resources = strings(&pol["Statement"][0]["Resource"]);
    assert!(
        !resources.is_empty()
            && resources
                .iter()
                .all(|r| r.contains(&format!("paysec-{}", l["environment"].as_str().unwrap()))),
        "S3 endpoint policy scoped to the stack's buckets: {resources:?}"
    );
    let rdsep = eps
        .vpc_endpoints()
        .iter()
        .find(|e| e.service_name().is_some_and(|n| n.ends_with(".rds")))
        .expect("RDS endpoint");
    assert_eq!(
        rdsep.vpc_endpoint_type().map(|t| t.as_str()),
        Some("Interface"),
        "RDS endpoint is an interface"
    );
    assert_eq!(
        rdsep.subnet_ids().len(),
        3,
        "RDS endpoint in the three subnets"
    );
    assert_eq!(
        rdsep.private_dns_enabled(),
        Some(true),
        "RDS endpoint: private DNS"
    );
    // The RDS API endpoint: this account's reads, changes only to this
    // stack's RDS resources.
    let rpol = paysec_core::policy_doc::parse(rdsep.policy_document().unwrap_or(""));
    let changes = rpol["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["Sid"] == "ThisStacksDatabaseOnly")
        .expect("a statement for changes");
    let rds_arn = |what: &str| {
        format!(
            "arn:aws:rds:us-east-1:{}:{what}",
            l["account"].as_str().unwrap()
        )
    };
    let env = l["environment"].as_str().unwrap();
    assert_eq!(
        changes["Resource"],
        serde_json::json!([
            rds_arn(&format!("db:paysec-{env}-db")),
            rds_arn(&format!("pg:paysec-{env}-postgres16")),
            rds_arn(&format!("subgrp:paysec-{env}-db-subnets")),
        ]),
        "RDS endpoint: changes only to this stack's database, named exactly: {rpol}"
    );
    let no_leak = rpol["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["Sid"] == "NoSnapshotLeavesThroughTheEndpoint")
        .expect("a deny for snapshots");
    assert_eq!(no_leak["Effect"], "Deny", "{rpol}");
    for action in ["rds:ModifyDBSnapshotAttribute", "rds:CopyDBSnapshot"] {
        assert!(
            no_leak["Action"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == action),
            "{action}: {rpol}"
        );
    }
    // X-Ray: an interface endpoint for the function's traces, private DNS,
    // this account's policy, its own group (checked with the groups below).
    let xrayep = eps
        .vpc_endpoints()
        .iter()
        .find(|e| e.service_name().is_some_and(|n| n.ends_with(".xray")))
        .expect("X-Ray endpoint");
    assert_eq!(
        (
            xrayep.vpc_endpoint_type().map(|t| t.as_str()),
            xrayep.subnet_ids().len(),
            xrayep.private_dns_enabled()
        ),
        (Some("Interface"), 3, Some(true)),
        "X-Ray endpoint: interface, three subnets, private DNS"
    );
    let xpol = paysec_core::policy_doc::parse(xrayep.policy_document().unwrap_or(""));
    assert_eq!(
        xpol["Statement"][0]["Condition"]["StringEquals"]["aws:PrincipalAccount"], l["account"],
        "X-Ray endpoint policy: this account only: {xpol}"
    );
    let sg_x = attr(l, "network.sg-xray", "physical_id");
    assert_eq!(
        xrayep
            .groups()
            .iter()
            .filter_map(|g| g.group_id())
            .collect::<Vec<_>>(),
        [sg_x],
        "X-Ray endpoint in its own group"
    );

    // Security groups: exactly the rules controls.md allows.
    let sg_l = attr(l, "network.sg-lambda", "physical_id");
    let sg_d = attr(l, "network.sg-db", "physical_id");
    let sg_e = attr(l, "network.sg-endpoints", "physical_id");
    let sgs = aws
        .ec2
        .describe_security_groups()
        .group_ids(sg_l)
        .group_ids(sg_d)
        .group_ids(sg_e)
        .group_ids(sg_x)
        .send()
        .await
        .unwrap();
    assert_eq!(sgs.security_groups().len(), 4);
    for sg in sgs.security_groups() {
        let gid = sg.group_id().unwrap();
        for p in sg.ip_permissions().iter().chain(sg.ip_permissions_egress()) {
            assert!(
                p.ip_ranges()
                    .iter()
                    .all(|r| r.cidr_ip() != Some("0.0.0.0/0")),
                "{gid}: no 0.0.0.0/0 rule"
            );
            assert!(
                p.ipv6_ranges()
                    .iter()
                    .all(|r| r.cidr_ipv6() != Some("::/0")),
                "{gid}: no ::/0 rule"
            );
        }
        let peers = |perms: &[aws_sdk_ec2_types::IpPermission]| -> Vec<(i32, String)> {
            perms
                .iter()
                .flat_map(|p| {
                    let port = p.from_port().unwrap_or(-1);
                    p.user_id_group_pairs()
                        .iter()
                        .filter_map(|u| u.group_id().map(str::to_owned))
                        .chain(
                            p.ip_ranges()
                                .iter()
                                .filter_map(|r| r.cidr_ip().map(str::to_owned)),
                        )
                        .map(move |peer| (port, peer))
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let (ingress, egress) = (
            peers(sg.ip_permissions()),
            peers(sg.ip_permissions_egress()),
        );
        if gid == sg_l {
            assert!(ingress.is_empty(), "Lambda SG: no ingress");
            let mut e = egress.clone();
            e.sort();
            let mut want = vec![
                (5432, sg_d.to_owned()),
                (443, sg_e.to_owned()),
                (443, sg_x.to_owned()),
            ];
            want.sort();
            assert_eq!(
                e, want,
                "Lambda SG: egress only to the DB SG on 5432 and the endpoint SGs on 443"
            );
        } else if gid == sg_d {
            assert_eq!(
                ingress,
                vec![(5432, sg_l.to_owned())],
                "DB SG: ingress only from the Lambda SG on 5432"
            );
            assert!(
                egress.is_empty(),
                "DB SG: no egress (default egress revoked)"
            );
        } else if gid == sg_x {
            assert_eq!(
                ingress,
                vec![(443, sg_l.to_owned())],
                "X-Ray endpoint SG: 443 from the function's group only"
            );
            assert!(egress.is_empty(), "X-Ray endpoint SG: no egress");
        } else {
            assert_eq!(
                ingress,
                vec![(443, "10.20.0.0/16".to_owned())],
                "endpoints SG: 443 from the VPC CIDR"
            );
            assert!(egress.is_empty(), "endpoints SG: no egress");
        }
    }
    let default_sg = aws
        .ec2
        .describe_security_groups()
        .filters(f("vpc-id", vpc))
        .filters(f("group-name", "default"))
        .send()
        .await
        .unwrap();
    let d = &default_sg.security_groups()[0];
    assert!(
        d.ip_permissions().is_empty() && d.ip_permissions_egress().is_empty(),
        "default SG has no rules"
    );

    let acls = aws
        .ec2
        .describe_network_acls()
        .filters(f("vpc-id", vpc))
        .send()
        .await
        .unwrap();
    for acl in acls.network_acls() {
        for e in acl.entries() {
            if e.rule_action().map(|a| a.as_str()) == Some("allow") {
                assert_ne!(
                    e.cidr_block(),
                    Some("0.0.0.0/0"),
                    "ACL {:?}: nothing admitted from 0.0.0.0/0",
                    acl.network_acl_id()
                );
            }
        }
    }
    let ours = acls
        .network_acls()
        .iter()
        .find(|a| a.network_acl_id() == Some(attr(l, "network.acl", "physical_id")))
        .unwrap();
    assert_eq!(
        ours.associations().len(),
        3,
        "subnets use the VPC-internal ACL"
    );

    let flows = aws
        .ec2
        .describe_flow_logs()
        .filter(f("resource-id", vpc))
        .send()
        .await
        .unwrap();
    let kinds: Vec<&str> = flows
        .flow_logs()
        .iter()
        .filter_map(|x| x.log_destination_type().map(|t| t.as_str()))
        .collect();
    assert!(
        kinds.contains(&"s3") && kinds.contains(&"cloud-watch-logs"),
        "flow logs to S3 and CloudWatch: {kinds:?}"
    );
    for x in flows.flow_logs() {
        assert_eq!(
            x.traffic_type().map(|t| t.as_str()),
            Some("ALL"),
            "flow log traffic type ALL"
        );
    }
}

/// EC2 attribute names without a dev-dependency on aws-sdk-ec2.
mod aws_sdk_ec2_attr {
    pub const SUPPORT: &str = "enableDnsSupport";
    pub const HOSTNAMES: &str = "enableDnsHostnames";
}
use paysec_aws::sdk::ec2::types as aws_sdk_ec2_types;

fn f(name: &str, value: &str) -> aws_sdk_ec2_types::Filter {
    aws_sdk_ec2_types::Filter::builder()
        .name(name)
        .values(value)
        .build()
}

async fn check_s3(aws: &Aws, l: &Value) {
    let s3_key = attr(l, "kms.s3", "arn");
    let access_logs = attr(l, "s3.access-logs", "name");
    for id in ["s3.flow-logs", "s3.data", "s3.access-logs"] {
        let b = attr(l, id, "name");
        // Object Lock on the flow-log bucket only: S3 delivers no server
        // access logs to a locked bucket, and data changes by design.
        let lock = aws
            .s3
            .get_object_lock_configuration()
            .bucket(b)
            .send()
            .await;
        if id == "s3.flow-logs" {
            let lock = lock.unwrap();
            let lock = lock.object_lock_configuration().unwrap();
            assert_eq!(
                lock.object_lock_enabled().map(|e| e.as_str()),
                Some("Enabled")
            );
            let retention = lock.rule().unwrap().default_retention().unwrap();
            assert_eq!(
                retention.mode().map(|m| m.as_str()),
                Some("GOVERNANCE"),
                "{id}"
            );
            assert_eq!(
                retention.days(),
                Some(365),
                "{id}: locked for the retention period"
            );
        } else {
            assert!(lock.is_err(), "{id}: no Object Lock");
        }
        let enc = aws
            .s3
            .get_bucket_encryption()
            .bucket(b)
            .send()
            .await
            .unwrap();
        let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
        let def = rule.apply_server_side_encryption_by_default().unwrap();
        // S3 server access logging delivers only to SSE-S3 buckets.
        let wanted = if id == "s3.access-logs" {
            "AES256"
        } else {
            "aws:kms"
        };
        assert_eq!(def.sse_algorithm().as_str(), wanted, "{id}: default SSE");
        if id != "s3.access-logs" {
            assert_eq!(
                def.kms_master_key_id(),
                Some(s3_key),
                "{id}: with the S3 key"
            );
            assert_eq!(rule.bucket_key_enabled(), Some(true), "{id}: bucket key");
        }
        let pab = aws
            .s3
            .get_public_access_block()
            .bucket(b)
            .send()
            .await
            .unwrap();
        let c = pab.public_access_block_configuration().unwrap();
        assert_eq!(
            (
                c.block_public_acls(),
                c.ignore_public_acls(),
                c.block_public_policy(),
                c.restrict_public_buckets()
            ),
            (Some(true), Some(true), Some(true), Some(true)),
            "{id}: all four public access blocks"
        );
        let own = aws
            .s3
            .get_bucket_ownership_controls()
            .bucket(b)
            .send()
            .await
            .unwrap();
        assert_eq!(
            own.ownership_controls().unwrap().rules()[0]
                .object_ownership()
                .as_str(),
            "BucketOwnerEnforced",
            "{id}: ACLs disabled"
        );
        let pol = aws.s3.get_bucket_policy().bucket(b).send().await.unwrap();
        let pol = paysec_core::policy_doc::parse(pol.policy().unwrap());
        let sts = pol["Statement"].as_array().unwrap();
        assert!(
            sts.iter().any(|s| s["Effect"] == "Deny"
                && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"),
            "{id}: deny plain HTTP"
        );
        let sse = sts
            .iter()
            .find(|s| s["Sid"] == "DenyWrongEncryptionHeader")
            .expect("deny wrong SSE header");
        assert_eq!(
            sse["Condition"]["StringNotEquals"]["s3:x-amz-server-side-encryption"], wanted,
            "{id}: deny SSE other than the bucket's own"
        );
        assert_eq!(
            sse["Condition"]["Null"]["s3:x-amz-server-side-encryption"], "false",
            "{id}: headerless log delivery not blocked"
        );
        let other_key = sts.iter().find(|s| s["Sid"] == "DenyOtherKmsKey");
        if wanted == "aws:kms" {
            let other_key = other_key.expect("deny another KMS key");
            assert_eq!(
                other_key["Condition"]["StringNotEquals"]
                    ["s3:x-amz-server-side-encryption-aws-kms-key-id"],
                attr(l, "kms.s3", "arn"),
                "{id}: only the stack's key"
            );
        } else {
            assert!(other_key.is_none(), "{id}: SSE-S3, no key to pin");
        }
        let lc = aws
            .s3
            .get_bucket_lifecycle_configuration()
            .bucket(b)
            .send()
            .await
            .unwrap();
        let r = &lc.rules()[0];
        let noncurrent = r
            .noncurrent_version_expiration()
            .and_then(|n| n.noncurrent_days());
        if id == "s3.data" {
            assert!(noncurrent.is_some(), "{id}: noncurrent versions expire");
        } else {
            // Old versions of audit logs are evidence too.
            assert_eq!(
                noncurrent,
                Some(365),
                "{id}: noncurrent log versions kept a year"
            );
        }
        if id != "s3.data" {
            assert_eq!(
                r.transitions()[0].days(),
                Some(90),
                "{id}: 90 days immediately available"
            );
            assert_eq!(
                r.expiration().and_then(|e| e.days()),
                Some(365),
                "{id}: kept 12 months"
            );
            if id == "s3.flow-logs" {
                assert!(
                    sts.iter().any(
                        |s| s["Principal"]["Service"] == "delivery.logs.amazonaws.com"
                            && s["Condition"]["StringEquals"]["aws:SourceAccount"]
                                == "123456789012"
                    ),
                    "flow-log bucket: delivery.logs scoped to the account"
                );
            } else {
                assert!(
                    sts.iter()
                        .any(|s| s["Principal"]["Service"] == "logging.s3.amazonaws.com"
                            && s["Condition"]["StringEquals"]["aws:SourceAccount"]
                                == "123456789012"),
                    "access-log bucket: logging.s3 scoped to the account"
                );
            }
        }
        if id != "s3.access-logs" {
            let lg = aws.s3.get_bucket_logging().bucket(b).send().await.unwrap();
            assert_eq!(
                lg.logging_enabled().map(|e| e.target_bucket()),
                Some(access_logs),
                "{id}: server access logs to the access-log bucket"
            );
        }
    }
}

async fn check_iam(aws: &Aws, l: &Value) {
    for id in [
        "iam.lambda-exec",
        "iam.rds-monitoring",
        "iam.flow-logs",
        "iam.audit",
    ] {
        let name = attr(l, id, "physical_id");
        let role = aws.iam.get_role().role_name(name).send().await.unwrap();
        let role = role.role().unwrap();
        assert_eq!(
            role.max_session_duration(),
            Some(3600),
            "{id}: 1-hour sessions"
        );
        let inline = aws
            .iam
            .list_role_policies()
            .role_name(name)
            .send()
            .await
            .unwrap();
        assert!(inline.policy_names().is_empty(), "{id}: no inline policies");
        let trust = paysec_core::policy_doc::parse(role.assume_role_policy_document().unwrap());
        let st = &trust["Statement"][0];
        if id == "iam.audit" {
            assert_eq!(
                st["Condition"]["StringEquals"]["sts:ExternalId"].as_str(),
                Some(attr(l, id, "external_id")),
                "audit role: the external id the ledger recorded is required"
            );
            assert_eq!(
                attr(l, id, "external_id").len(),
                32,
                "128 random bits as hex"
            );
            assert_eq!(
                st["Principal"]["AWS"], "arn:aws:iam::210987654321:root",
                "audit role: only the configured auditor's account"
            );
        } else {
            assert_eq!(
                st["Condition"]["StringEquals"]["aws:SourceAccount"], "123456789012",
                "{id}: aws:SourceAccount against the confused deputy"
            );
        }
        let attached = aws
            .iam
            .list_attached_role_policies()
            .role_name(name)
            .send()
            .await
            .unwrap();
        assert!(
            !attached.attached_policies().is_empty(),
            "{id}: a managed policy attached"
        );
        for p in attached.attached_policies() {
            let arn = p.policy_arn().unwrap();
            if arn.contains(":aws:policy/") {
                continue;
            }
            let pol = aws.iam.get_policy().policy_arn(arn).send().await.unwrap();
            let v = pol
                .policy()
                .unwrap()
                .default_version_id()
                .unwrap()
                .to_owned();
            let doc = aws
                .iam
                .get_policy_version()
                .policy_arn(arn)
                .version_id(v)
                .send()
                .await
                .unwrap();
            let doc =
                paysec_core::policy_doc::parse(doc.policy_version().unwrap().document().unwrap());
            for st in doc["Statement"].as_array().unwrap() {
                let actions = strings(&st["Action"]);
                assert!(
                    !actions.iter().any(|a| a == "*" || a == "kms:*"),
                    "{id}: no Action * or kms:*"
                );
                assert!(
                    !actions.iter().any(|a| a == "logs:CreateLogGroup"),
                    "{id}: cannot recreate its log group"
                );
                // The function's own calls carry lambda:SourceFunctionArn
                // for its logs and trace segments, which are pinned to it;
                // X-Ray's PutTelemetryRecords and the calls Lambda makes
                // outside it (ENIs, the key, the DLQ) carry none.
                if id == "iam.lambda-exec" {
                    let pinned = &st["Condition"]["ArnEquals"]["lambda:SourceFunctionArn"];
                    let by_the_function = actions
                        .iter()
                        .any(|a| a.starts_with("logs:") || a == "xray:PutTraceSegments");
                    if by_the_function {
                        assert_eq!(
                            pinned.as_str(),
                            Some(
                                format!(
                                    "arn:aws:lambda:us-east-1:123456789012:function:{}",
                                    attr(l, "lambda.function", "name")
                                )
                                .as_str()
                            ),
                            "{id}: {st}"
                        );
                    } else {
                        assert!(pinned.is_null(), "{id}: {st}");
                    }
                }
            }
        }
    }
}

async fn check_logs_and_alarms(aws: &Aws, l: &Value) {
    let logs_key = attr(l, "kms.logs", "arn");
    for id in [
        "logs.flow-logs",
        "logs.lambda",
        "logs.rds-postgresql",
        "logs.rds-upgrade",
    ] {
        let name = attr(l, id, "name");
        let out = aws
            .logs
            .describe_log_groups()
            .log_group_name_prefix(name)
            .send()
            .await
            .unwrap();
        let g = out
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(name))
            .unwrap();
        assert_eq!(
            g.kms_key_id(),
            Some(logs_key),
            "{id}: encrypted with the Logs key"
        );
        assert!(
            g.retention_in_days().unwrap_or(0) >= 365,
            "{id}: retention at least 365 days"
        );
    }
    let topic = attr(l, "monitoring.topic", "arn");
    let t = aws
        .sns
        .get_topic_attributes()
        .topic_arn(topic)
        .send()
        .await
        .unwrap();
    assert_eq!(
        t.attributes()
            .unwrap()
            .get("KmsMasterKeyId")
            .map(String::as_str),
        Some(logs_key),
        "alarm topic encrypted with KMS"
    );
    let prefix = format!("paysec-{}-", l["environment"].as_str().unwrap());
    let alarms = aws
        .cloudwatch
        .describe_alarms()
        .alarm_name_prefix(&prefix)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = alarms
        .metric_alarms()
        .iter()
        .filter_map(|a| a.alarm_name())
        .collect();
    for want in [
        "db-connection-failures",
        "auth-failures",
        "encryption-violations",
        "lambda-errors",
        "dlq-not-empty",
    ] {
        assert!(
            names.contains(&format!("{prefix}{want}").as_str()),
            "alarm {want} exists: {names:?}"
        );
    }
    for a in alarms.metric_alarms() {
        assert!(
            a.alarm_actions().iter().any(|x| x == topic),
            "alarm {:?} notifies the topic",
            a.alarm_name()
        );
    }
    // The function's errors as callers meet them: through the alias `live`.
    let errors = alarms
        .metric_alarms()
        .iter()
        .find(|a| a.alarm_name() == Some(format!("{prefix}lambda-errors").as_str()))
        .unwrap();
    let function = attr(l, "lambda.function", "name");
    let dims: Vec<(String, String)> = errors
        .dimensions()
        .iter()
        .map(|d| {
            (
                d.name().unwrap_or_default().to_owned(),
                d.value().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(
        dims.contains(&("FunctionName".into(), function.to_owned()))
            && dims.contains(&("Resource".into(), format!("{function}:live"))),
        "{dims:?}"
    );
}

async fn check_rds_and_lambda(aws: &Aws, l: &Value) {
    let db = aws
        .rds
        .describe_db_instances()
        .db_instance_identifier(attr(l, "rds.instance", "physical_id"))
        .send()
        .await
        .unwrap();
    let db = &db.db_instances()[0];
    assert_eq!(db.multi_az(), Some(true), "RDS: Multi-AZ");
    assert_eq!(db.storage_encrypted(), Some(true), "RDS: storage encrypted");
    assert_eq!(
        db.kms_key_id(),
        Some(attr(l, "kms.rds", "arn")),
        "RDS: with the RDS key"
    );
    assert_eq!(
        db.publicly_accessible(),
        Some(false),
        "RDS: not publicly accessible"
    );
    assert_eq!(db.backup_retention_period(), Some(7), "RDS: 7-day backups");
    assert_eq!(
        db.copy_tags_to_snapshot(),
        Some(true),
        "RDS: copy tags to snapshots"
    );
    assert_eq!(
        db.auto_minor_version_upgrade(),
        Some(true),
        "RDS: auto minor version upgrade"
    );
    assert_eq!(
        db.iam_database_authentication_enabled(),
        Some(true),
        "RDS: IAM auth"
    );
    assert_eq!(
        db.monitoring_interval(),
        Some(60),
        "RDS: enhanced monitoring"
    );
    assert_eq!(
        db.monitoring_role_arn(),
        Some(attr(l, "iam.rds-monitoring", "arn")),
        "RDS: through the monitoring role"
    );
    let mut exports = db.enabled_cloudwatch_logs_exports().to_vec();
    exports.sort();
    assert_eq!(exports, ["postgresql", "upgrade"], "RDS: log exports");
    assert_ne!(
        db.master_username(),
        Some("postgres"),
        "RDS: master username not a default"
    );
    assert_eq!(
        db.db_subnet_group().and_then(|g| g.db_subnet_group_name()),
        Some(attr(l, "rds.subnet-group", "physical_id")),
        "RDS: in the private subnet group"
    );
    let sgs: Vec<&str> = db
        .vpc_security_groups()
        .iter()
        .filter_map(|g| g.vpc_security_group_id())
        .collect();
    assert_eq!(
        sgs,
        [attr(l, "network.sg-db", "physical_id")],
        "RDS: the DB SG only"
    );
    let params = aws
        .rds
        .describe_db_parameters()
        .db_parameter_group_name(attr(l, "rds.parameters", "physical_id"))
        .source("user")
        .send()
        .await
        .unwrap();
    for (n, v) in [
        ("rds.force_ssl", "1"),
        ("log_connections", "1"),
        ("log_disconnections", "1"),
    ] {
        let got = params
            .parameters()
            .iter()
            .find(|p| p.parameter_name() == Some(n))
            .and_then(|p| p.parameter_value());
        assert_eq!(got, Some(v), "RDS parameter {n}");
    }
    let ledger_text = l.to_string();
    assert!(
        !ledger_text.to_lowercase().contains("password\":"),
        "no password in the ledger"
    );

    let f = aws
        .lambda
        .get_function()
        .function_name(attr(l, "lambda.function", "name"))
        .send()
        .await
        .unwrap();
    let c = f.configuration().unwrap();
    assert!(
        c.runtime().is_some_and(|r| r.as_str() == "python3.13"),
        "Lambda: current Python runtime"
    );
    assert_eq!(
        c.kms_key_arn(),
        Some(attr(l, "kms.lambda", "arn")),
        "Lambda: environment encrypted with the Lambda key"
    );
    assert_eq!(
        c.tracing_config()
            .and_then(|t| t.mode())
            .map(|m| m.as_str()),
        Some("Active"),
        "Lambda: X-Ray active"
    );
    let vpc = c.vpc_config().unwrap();
    assert_eq!(vpc.subnet_ids().len(), 3, "Lambda: in the private subnets");
    assert_eq!(
        vpc.security_group_ids(),
        [attr(l, "network.sg-lambda", "physical_id")],
        "Lambda: with the Lambda SG"
    );
    assert_eq!(
        c.role(),
        Some(attr(l, "iam.lambda-exec", "arn")),
        "Lambda: its own execution role"
    );
    // A new account's limit (10, the rules layer's) leaves no room: the
    // reservation is skipped, not forced (verify says N/A and why).
    assert_eq!(
        f.concurrency()
            .and_then(|x| x.reserved_concurrent_executions()),
        None,
        "Lambda: no reserved concurrency without room"
    );
    let q = aws
        .sqs
        .get_queue_attributes()
        .queue_url(attr(l, "lambda.dlq", "url"))
        .attribute_names("KmsMasterKeyId".into())
        .send()
        .await
        .unwrap();
    assert_eq!(
        q.attributes().unwrap().values().next().map(String::as_str),
        Some(attr(l, "kms.lambda", "arn")),
        "DLQ encrypted with KMS"
    );
    let q = aws
        .sqs
        .get_queue_attributes()
        .queue_url(attr(l, "lambda.dlq", "url"))
        .attribute_names("Policy".into())
        .attribute_names("MessageRetentionPeriod".into())
        .send()
        .await
        .unwrap();
    let attrs = q.attributes().unwrap();
    let policy: Value = serde_json::from_str(
        attrs
            .iter()
            .find(|(k, _)| k.as_str() == "Policy")
            .map(|(_, v)| v.as_str())
            .expect("DLQ policy"),
    )
    .unwrap();
    let deny = &policy["Statement"][0];
    assert_eq!(
        (
            deny["Effect"].as_str(),
            deny["Condition"]["Bool"]["aws:SecureTransport"].as_str()
        ),
        (Some("Deny"), Some("false")),
        "DLQ: requests without TLS denied: {policy}"
    );
    assert_eq!(
        attrs
            .iter()
            .find(|(k, _)| k.as_str() == "MessageRetentionPeriod")
            .map(|(_, v)| v.as_str()),
        Some("1209600"),
        "DLQ: messages kept 14 days at most"
    );
    // The function reaches its database without a password: the address
    // and user in its environment, a token for that one user from its role.
    let live = aws
        .lambda
        .get_function()
        .function_name(attr(l, "lambda.function", "name"))
        .qualifier("live")
        .send()
        .await
        .unwrap();
    let vars = live
        .configuration()
        .and_then(|c| c.environment())
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        vars.get("PAYSEC_DB_HOST").map(String::as_str),
        Some(attr(l, "rds.instance", "address"))
    );
    assert_eq!(vars.get("PAYSEC_DB_USER").map(String::as_str), Some("app"));
    assert_eq!(vars.get("PAYSEC_DB_PORT").map(String::as_str), Some("5432"));
    let policy_arn = attr(l, "iam.lambda-exec-policy", "arn");
    let version = aws
        .iam
        .get_policy()
        .policy_arn(policy_arn)
        .send()
        .await
        .unwrap()
        .policy()
        .and_then(|p| p.default_version_id().map(str::to_owned))
        .unwrap();
    let document = aws
        .iam
        .get_policy_version()
        .policy_arn(policy_arn)
        .version_id(version)
        .send()
        .await
        .unwrap()
        .policy_version()
        .and_then(|v| v.document().map(str::to_owned))
        .unwrap();
    // IAM's policy documents come back URL-encoded.
    let document = paysec_core::policy_doc::percent_decode(&document);
    let connect = format!(
        "arn:aws:rds-db:us-east-1:{}:dbuser:{}/app",
        attr(l, "lambda.function", "arn").split(':').nth(4).unwrap(),
        attr(l, "rds.instance", "dbi_resource_id")
    );
    assert!(
        document.contains("rds-db:connect") && document.contains(&connect),
        "one database user, by the instance's resource id: {document}"
    );
}

/// A request the proxy logged (an operation name, or `METHOD /path` for
/// the REST services) that only reads.
fn is_read(call: &str) -> bool {
    ["Describe", "Get", "List", "GET ", "HEAD "]
        .iter()
        .any(|p| call.starts_with(p))
}

async fn tagged(aws: &Aws, env: &str) -> Vec<String> {
    tagged_arns(&aws.tagging, env, None, None, &LogicalId::new("test"))
        .await
        .unwrap()
}

// Multi-threaded: the proxy serves while the test blocks on `paysec`.
#[tokio::test(flavor = "multi_thread")]
async fn the_whole_stack_passes_verify_is_idempotent_and_fully_removed() {
    let p = Paysec::new("full").with_var("PAYSEC_IAM_AUDIT_TRUSTED_ACCOUNT", "210987654321");
    let aws = aws().await;
    let up = p.run(&["up", "--yes", "--output", "json"]).success().json();
    let created = up["outcomes"].as_object().unwrap().len();
    assert!(created >= 45, "the stack has every resource: {created}");
    assert_eq!(
        up["outputs"]["lambda_function_name"],
        format!("paysec-{}-payment", p.env)
    );
    assert!(
        up["outputs"]["rds_endpoint"]
            .as_str()
            .is_some_and(|e| e.contains(':')),
        "rds_endpoint output"
    );

    let l = p.ledger();
    check_network(&aws, &l).await;
    check_s3(&aws, &l).await;
    check_iam(&aws, &l).await;
    check_logs_and_alarms(&aws, &l).await;
    check_rds_and_lambda(&aws, &l).await;

    // A no-op `up --no-refresh`, counted by a proxy: a quick check per
    // resource, several answered by one listing, no write; then a plain
    // no-op `up`, which reads every property and still changes nothing.
    let resources = l["resources"].as_object().unwrap().len();
    let proxy = FaultProxy::start(&endpoint()).await.unwrap();
    let url = proxy.url();
    for refresh in [false, true] {
        let before = proxy.log().len();
        let mut args = vec!["--endpoint-url", &url, "up", "--yes", "--output", "json"];
        if !refresh {
            args.push("--no-refresh");
        }
        let again = p.run(&args).success().json();
        let changed = changed(&again);
        assert!(changed.is_empty(), "second up changes nothing: {changed:?}");
        let quick = again["quick_checked"].as_u64().unwrap() as usize;
        if refresh {
            assert_eq!(quick, 0, "a plain up reads everything");
        } else {
            assert!(quick > resources / 2, "most only quick-checked: {quick}");
        }
        let calls = &proxy.log()[before..];
        let writes: Vec<_> = calls.iter().filter(|c| !is_read(c)).collect();
        assert!(writes.is_empty(), "a no-op up writes nothing: {writes:?}");
        if refresh {
            assert!(
                calls.len() > 2 * resources,
                "a plain up reads every property: {} calls",
                calls.len()
            );
        } else {
            // GetCallerIdentity, the caller's role (GetRole: the keys'
            // administrator), the preflight's nine reads (engine versions,
            // orderable options, zones, endpoint services, Lambda settings,
            // three quotas, the region's VPCs), then under one read per
            // resource.
            let fixed = 1 + 1 + 9;
            assert!(
                calls.len() - fixed < resources,
                "{} reads for {resources} resources: {calls:?}",
                calls.len() - fixed
            );
        }
    }

    let raw = p
        .run(&["output", "lambda_function_name", "--raw"])
        .success();
    assert_eq!(raw.stdout().trim(), format!("paysec-{}-payment", p.env));

    // RDS enhanced monitoring's group is the account's: whichever
    // environment came first encrypts it (tests run side by side).
    let before_down = p.ledger();
    let key_arn = |id: &str| attr(&before_down, id, "arn");
    let metrics = aws
        .logs
        .describe_log_groups()
        .log_group_name_prefix("RDSOSMetrics")
        .send()
        .await
        .unwrap();
    let metrics_key = metrics.log_groups()[0].kms_key_id().map(str::to_owned);
    // A log object in the flow-log bucket is locked on write: a delete of
    // its version is refused without the governance bypass. (The bucket's
    // policy is set aside meanwhile: moto judges plain-HTTP requests by
    // its TLS-only deny, which would refuse both for another reason.)
    let flow_bucket = attr(&l, "s3.flow-logs", "name");
    let policy = aws
        .s3
        .get_bucket_policy()
        .bucket(flow_bucket)
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .to_owned();
    aws.s3
        .delete_bucket_policy()
        .bucket(flow_bucket)
        .send()
        .await
        .unwrap();
    let put = aws
        .s3
        .put_object()
        .bucket(flow_bucket)
        .key("AWSLogs/123456789012/vpcflowlogs/sample.log.gz")
        .body(paysec_aws::sdk::s3::primitives::ByteStream::from_static(
            b"flow",
        ))
        // The bucket policy takes only the stack's key.
        .server_side_encryption(paysec_aws::sdk::s3::types::ServerSideEncryption::AwsKms)
        .ssekms_key_id(attr(&l, "kms.s3", "arn"))
        .send()
        .await
        .unwrap();
    let version = put.version_id().unwrap().to_owned();
    // HeadObject: moto 5.2.5 answers GetObjectRetention with a version
    // id by returning the object itself.
    let head = aws
        .s3
        .head_object()
        .bucket(flow_bucket)
        .key("AWSLogs/123456789012/vpcflowlogs/sample.log.gz")
        .version_id(&version)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.object_lock_mode().map(|m| m.as_str()),
        Some("GOVERNANCE")
    );
    assert!(head.object_lock_retain_until_date().is_some());
    let refused = aws
        .s3
        .delete_object()
        .bucket(flow_bucket)
        .key("AWSLogs/123456789012/vpcflowlogs/sample.log.gz")
        .version_id(&version)
        .send()
        .await;
    assert!(refused.is_err(), "a locked log version stays");
    aws.s3
        .put_bucket_policy()
        .bucket(flow_bucket)
        .policy(policy)
        .send()
        .await
        .unwrap();
    p.run(&["down", "--yes"]).success();
    assert_nothing_left_but_the_kept(&aws, &p).await;
    let kept = p.ledger()["kept"].as_array().unwrap().clone();
    assert_eq!(
        kept.len(),
        14,
        "the ledger says what was kept: 4 keys, the final snapshot, the account's RDSOSMetrics log group, API Gateway's account logging role, the 2 log buckets and 5 log groups: {kept:?}"
    );
    for audit in [
        "api.account-logging",
        "logs.api-access",
        "s3.access-logs",
        "s3.flow-logs",
        "logs.flow-logs",
        "logs.lambda",
        "logs.rds-postgresql",
        "logs.rds-upgrade",
    ] {
        assert!(
            kept.iter().any(|k| k["id"] == audit),
            "{audit} kept: {kept:?}"
        );
    }
    // The final snapshot is encrypted with the RDS key: that key is kept
    // enabled, not scheduled for deletion (its data would be lost).
    // The kept log groups are encrypted with the Logs key, the kept
    // flow-log bucket with the S3 key.
    let _ = metrics_key;
    for (id, holds_kept_data) in [
        ("kms.rds", true),
        ("kms.logs", true),
        ("kms.s3", true),
        ("kms.lambda", false),
    ] {
        let arn = key_arn(id);
        let state = aws.kms.describe_key().key_id(arn).send().await.unwrap();
        let state = state
            .key_metadata()
            .unwrap()
            .key_state()
            .unwrap()
            .as_str()
            .to_owned();
        let note = kept
            .iter()
            .find(|k| k["id"] == id)
            .map(|k| k["note"].as_str().unwrap().to_owned())
            .unwrap();
        if holds_kept_data {
            assert_eq!(state, "Enabled", "{id} kept: {note}");
            assert!(note.contains("it encrypts what was kept"), "{id}: {note}");
            let tags = aws
                .kms
                .list_resource_tags()
                .key_id(arn)
                .send()
                .await
                .unwrap();
            let tags: Vec<_> = tags
                .tags()
                .iter()
                .map(|t| (t.tag_key(), t.tag_value()))
                .collect();
            assert!(tags.contains(&("paysec:kept", id)), "{id}: {tags:?}");
            assert!(
                tags.iter().all(|(k, _)| *k != "paysec:logical-id"),
                "{id} is no longer taken for the environment's key: {tags:?}"
            );
        } else {
            assert_eq!(state, "PendingDeletion", "{id}: {note}");
        }
    }

    // The same environment again: every create gets a new client token
    // (AWS remembers the old ones, with the old VPC: the rules layer
    // refuses a reused token with IdempotentParameterMismatch); what was
    // kept of the audit logs is adopted, as the ledger names it.
    let again = p.run(&["up", "--yes", "--output", "json"]).success().json();
    for audit in ["s3.flow-logs", "logs.flow-logs", "logs.lambda"] {
        let outcome = &again["outcomes"][audit];
        assert!(
            outcome == "adopted" || outcome == "repaired",
            "{audit} taken back: {outcome}"
        );
    }
    p.run(&["down", "--yes", "--purge-audit-logs"]).success();
    let prefix = format!("paysec-{}-", p.env);
    let buckets = aws.s3.list_buckets().send().await.unwrap();
    assert!(
        buckets
            .buckets()
            .iter()
            .all(|b| !b.name().unwrap_or("").starts_with(&prefix)),
        "--purge-audit-logs leaves no bucket"
    );
    let groups = aws.logs.describe_log_groups().send().await.unwrap();
    assert!(
        groups
            .log_groups()
            .iter()
            .all(|g| !g.log_group_name().unwrap_or("").contains(&prefix)),
        "--purge-audit-logs leaves no log group"
    );
}

#[tokio::test]
async fn two_environments_side_by_side_do_not_collide() {
    let a = Paysec::new("side");
    // b is configured below a baseline: no Multi-AZ. (Log retention's
    // baseline is unit-tested: the account's RDSOSMetrics group is shared
    // by every environment the suite runs at once.)
    let b = Paysec::new("side").with_var("PAYSEC_RDS_MULTI_AZ", "false");
    let (ra, rb) = (
        a.command().args(["up", "--yes"]).spawn().unwrap(),
        b.command().args(["up", "--yes"]).spawn().unwrap(),
    );
    assert!(ra.wait_with_output().unwrap().status.success(), "env a up");
    assert!(rb.wait_with_output().unwrap().status.success(), "env b up");
    let (la, lb) = (a.ledger(), b.ledger());
    for id in [
        "network.vpc",
        "s3.data",
        "lambda.function",
        "rds.instance",
        "kms.rds",
    ] {
        assert_ne!(
            attr(&la, id, "physical_id"),
            attr(&lb, id, "physical_id"),
            "{id} is distinct per environment"
        );
    }
    // As configured, yet a FAIL of each control: the expected value is the
    // control's baseline, with the configured value beside it.
    let verify = b.run(&["verify", "--output", "json"]);
    assert_eq!(verify.code(), 6, "{}", verify.stderr());
    let report = verify.json();
    let finding =
        |control: &str, resource: &str| crate::support::finding(&report, control, Some(resource));
    let multi_az = finding("RDS-5", "rds.instance");
    assert_eq!(
        (
            &multi_az["verdict"],
            &multi_az["expected"],
            &multi_az["observed"]
        ),
        (
            &Value::from("FAIL"),
            &Value::from("true (configured: false)"),
            &Value::from("false")
        )
    );
    a.run(&["down", "--yes"]).success();
    // b is untouched by a's down.
    let plan = b.run(&["plan", "--output", "json"]).success().json();
    assert_eq!(
        plan["summary"]["create"], 0,
        "b still complete after a's down"
    );
    b.run(&["down", "--yes"]).success();
}

/// A component switched off after `up` is planned and applied as the
/// deletes of exactly what only served it (issue 37): the function and
/// the API entry go, the core stays untouched; the database is never
/// deleted by `up` (said, with what it stands on); `down` removes the rest.
#[tokio::test(flavor = "multi_thread")]
async fn a_component_switched_off_after_up_is_removed_but_the_database_stays() {
    let p = Paysec::new("switch");
    let aws = aws().await;
    let disposable = [
        ("PAYSEC_RDS_DELETION_PROTECTION", "false"),
        ("PAYSEC_RDS_FINAL_SNAPSHOT", "false"),
    ];
    let up = p
        .run_with(&disposable, &["up", "--yes", "--output", "json"])
        .success()
        .json();
    assert_eq!(up["outcomes"]["lambda.function"], "created");
    assert_eq!(up["outcomes"]["rds.instance"], "created");
    assert!(
        up["outcomes"].get("iam.audit").is_none(),
        "no audit role while no auditor is trusted: {}",
        up["outcomes"]
    );
    let function = attr(&p.ledger(), "lambda.function", "name").to_owned();
    // `invoke` calls only the function paysec's naming gives, whatever
    // the ledger says.
    let original = std::fs::read_to_string(p.ledger_path()).unwrap();
    std::fs::write(
        p.ledger_path(),
        original.replace(&format!("\"{function}\""), "\"payments-prod\""),
    )
    .unwrap();
    let invoke = p.run_with(&disposable, &["invoke"]);
    assert_eq!(invoke.code(), 5, "{}", invoke.stderr());
    assert!(
        invoke.stderr().contains(&format!(
            "names the payment function payments-prod, but environment {}'s is {function}",
            p.env
        )),
        "{}",
        invoke.stderr()
    );
    std::fs::write(p.ledger_path(), original).unwrap();

    let both_off = [
        disposable[0],
        disposable[1],
        ("PAYSEC_RDS_ENABLED", "false"),
        ("PAYSEC_LAMBDA_ENABLED", "false"),
    ];
    let plan = p.run_with(
        &both_off,
        &["plan", "--detailed-exitcode", "--output", "json"],
    );
    assert_eq!(plan.code(), 8, "{}", plan.stderr());
    let planned = plan.json();
    let deletes: Vec<&str> = planned["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "delete")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    for id in [
        "lambda.function",
        "api.rest-api",
        "network.sg-lambda",
        "monitoring.alarm-db-connection-failures",
    ] {
        assert!(deletes.contains(&id), "{id} in {deletes:?}");
    }
    for id in ["rds.instance", "rds.subnet-group", "network.vpc", "kms.s3"] {
        assert!(!deletes.contains(&id), "{id} stays: {deletes:?}");
    }
    assert!(
        plan.stderr()
            .contains("rds.enabled = false leaves the database in place"),
        "{}",
        plan.stderr()
    );
    let again = p
        .run_with(&both_off, &["up", "--yes", "--output", "json"])
        .success();
    let outcomes = &again.json()["outcomes"];
    assert_eq!(outcomes["lambda.function"], "deleted", "{outcomes}");
    assert_eq!(outcomes["network.vpc"], "unchanged", "{outcomes}");
    assert!(
        aws.lambda
            .get_function()
            .function_name(&function)
            .send()
            .await
            .is_err(),
        "the function is gone"
    );
    assert!(p.ledger()["resources"].get("lambda.function").is_none());
    let db = p.ledger()["resources"]["rds.instance"]["physical_id"]
        .as_str()
        .expect("the database stays recorded")
        .to_owned();
    aws.rds
        .describe_db_instances()
        .db_instance_identifier(&db)
        .send()
        .await
        .expect("the database stays");
    let settled = p.run_with(&both_off, &["plan", "--detailed-exitcode"]);
    assert_eq!(
        settled.code(),
        0,
        "{}{}",
        settled.stdout(),
        settled.stderr()
    );

    p.run_with(&both_off, &["down", "--yes"]).success();
    assert!(p.ledger()["resources"].as_object().unwrap().is_empty());
    assert_nothing_left_but_the_kept(&aws, &p).await;
}

#[tokio::test]
async fn down_without_a_ledger_finds_the_stack_by_name_and_tag() {
    let p = Paysec::new("lost");
    let aws = aws().await;
    // `-q`: only errors, so nothing at all on success (no outputs).
    let quiet = p.run(&["-q", "up", "--yes"]).success();
    assert_eq!(
        (quiet.stdout(), quiet.stderr()),
        (String::new(), String::new()),
        "-q prints nothing on success"
    );
    std::fs::remove_file(p.ledger_path()).unwrap();
    let down = p.run(&["down", "--yes"]).success();
    assert!(
        down.stderr().contains("found by name or tag"),
        "says what it found: {}",
        down.stderr()
    );
    assert_nothing_left_but_the_kept(&aws, &p).await;
}

#[tokio::test]
async fn no_secret_reaches_the_ledger_logs_or_errors() {
    // A password supplied through an environment variable, at the highest
    // verbosity: it must appear nowhere paysec writes.
    let p = Paysec::new("secret");
    let password = "Zq8-not-in-any-log-7Kp";
    std::fs::write(
        p.dir.path().join("paysec.toml"),
        "[rds]\nmaster_password_env = \"PAYSEC_TEST_DB_PASSWORD\"\n",
    )
    .unwrap();
    let up = p
        .command()
        .args(["up", "--yes", "-vvv"])
        .env("PAYSEC_TEST_DB_PASSWORD", password)
        .output()
        .unwrap();
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let all = [
        String::from_utf8_lossy(&up.stdout).into_owned(),
        String::from_utf8_lossy(&up.stderr).into_owned(),
        std::fs::read_to_string(p.ledger_path()).unwrap(),
    ];
    for (what, text) in ["stdout", "stderr (-vvv)", "ledger"].iter().zip(&all) {
        assert!(!text.contains(password), "the password leaked into {what}");
        assert!(
            !text.contains("AWS_SECRET_ACCESS_KEY=test"),
            "credentials leaked into {what}"
        );
    }
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(p.ledger_path()).unwrap().permissions(),
    ) & 0o777;
    assert_eq!(mode, 0o600, "ledger mode 0600");
    // A too-short password is refused with a message that does not echo it.
    let short = p
        .command()
        .args(["down", "--yes"])
        .env("PAYSEC_TEST_DB_PASSWORD", password)
        .output()
        .unwrap();
    assert!(
        short.status.success(),
        "{}",
        String::from_utf8_lossy(&short.stderr)
    );
}

/// After `down`: nothing tagged with the environment is left but the keys
/// in their deletion window, the final snapshot and the audit logs (log
/// buckets, log groups), all named in the ledger; and no role, function,
/// instance, alarm or VPC.
async fn assert_nothing_left_but_the_kept(aws: &Aws, p: &Paysec) {
    let kept_notes = p.ledger()["kept"].to_string();
    let kept_logs: Vec<String> = p.ledger()["kept"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["kind"] == "s3_bucket" || k["kind"] == "log_group")
        .filter_map(|k| k["physical_id"].as_str().map(str::to_owned))
        .collect();
    for arn in tagged(aws, &p.env).await {
        let kept_log = kept_logs.iter().any(|k| {
            arn == format!("arn:aws:s3:::{k}")
                || arn.ends_with(&format!(":log-group:{k}"))
                || arn.ends_with(&format!(":log-group:{k}:*"))
        });
        if kept_log {
            continue;
        }
        if arn.contains(":snapshot:") {
            let name = arn.rsplit(':').next().unwrap();
            assert!(
                kept_notes.contains(name),
                "the final snapshot {name} is recorded as kept"
            );
            continue;
        }
        assert!(arn.contains(":kms:"), "left behind after down: {arn}");
        let meta = aws.kms.describe_key().key_id(&arn).send().await.unwrap();
        let meta = meta.key_metadata().unwrap();
        let state = meta.key_state().map(|s| s.as_str());
        // A key that kept data is encrypted with stays enabled, named in
        // the ledger as kept.
        let kept_whole = kept_notes.contains(&format!("KMS key {} kept (enabled", meta.key_id()));
        assert!(
            state == Some("PendingDeletion") || (kept_whole && state == Some("Enabled")),
            "{arn}: {state:?}, kept: {kept_notes}"
        );
    }
    let prefix = format!("paysec-{}-", p.env);
    // The audit logs `down` keeps, named in the ledger.
    let kept_ids: Vec<String> = p.ledger()["kept"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["physical_id"].as_str().map(str::to_owned))
        .collect();
    assert_core_resources_gone(aws, &p.env, &kept_ids).await;
    let fns = aws.lambda.list_functions().send().await.unwrap();
    assert!(
        fns.functions()
            .iter()
            .all(|f| !f.function_name().unwrap_or("").starts_with(&prefix)),
        "no function left"
    );
    let dbs = aws.rds.describe_db_instances().send().await.unwrap();
    assert!(
        dbs.db_instances().iter().all(|d| !d
            .db_instance_identifier()
            .unwrap_or("")
            .starts_with(&prefix)),
        "no DB instance left"
    );
    let alarms = aws
        .cloudwatch
        .describe_alarms()
        .alarm_name_prefix(&prefix)
        .send()
        .await
        .unwrap();
    assert!(alarms.metric_alarms().is_empty(), "no alarm left");
}

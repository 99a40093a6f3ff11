//! The stack's network and its S3 buckets (the flow-log bucket is the
//! network's destination, so both live here).

use std::sync::Arc;
use std::time::Duration;

use paysec_network::dns_firewall::{Association, DomainList, Domains, RuleGroup};

use paysec_core::{LogicalId, Resource};
use paysec_network::security_group::{Peer, Rule};
use paysec_network::{
    DefaultHardening, FlowLog, FlowLogDestination, GatewayEndpoint, InterfaceEndpoint, NetworkAcl,
    RouteTable, SecurityGroup, SecurityGroupRules, Subnet, Vpc,
};
use paysec_s3::{Bucket, Delivery, Lifecycle};
use serde_json::json;

use crate::{ids, Inputs};

pub(crate) fn add(nodes: &mut Vec<Arc<dyn Resource>>, inputs: &Inputs<'_>) {
    let aws = || inputs.aws.clone();
    let id = |s: &str| LogicalId::new(s);
    let cfg = inputs.config;
    let subnets: Vec<LogicalId> = ids::SUBNETS.iter().map(|s| id(s)).collect();
    let drain = Duration::from_secs(cfg.stack.network.eni_drain_minutes * 60);
    let endpoint_wait = Duration::from_secs(cfg.stack.network.endpoint_wait_minutes * 60);

    nodes.push(Arc::new(
        Vpc::new(id(ids::VPC), aws(), cfg.stack.network.vpc_cidr.clone()).draining_up_to(drain),
    ));
    for (i, s) in subnets.iter().enumerate() {
        nodes.push(Arc::new(
            Subnet::new(
                s.clone(),
                aws(),
                id(ids::VPC),
                i,
                inputs.resolved.zones.clone(),
            )
            .in_configured_zone(cfg.stack.network.availability_zones.get(i).cloned())
            .draining_up_to(drain),
        ));
    }
    nodes.push(Arc::new(RouteTable::new(
        id(ids::ROUTE_TABLE),
        aws(),
        id(ids::VPC),
        subnets.clone(),
    )));
    nodes.push(Arc::new(NetworkAcl::new(
        id(ids::NACL),
        aws(),
        id(ids::VPC),
        subnets.clone(),
    )));
    nodes.push(Arc::new(DefaultHardening::new(
        id(ids::VPC_DEFAULTS),
        aws(),
        id(ids::VPC),
    )));
    nodes.push(Arc::new(
        SecurityGroup::new(
            id(ids::SG_LAMBDA),
            aws(),
            id(ids::VPC),
            "lambda",
            "paysec payment function",
        )
        // Lambda deletes the function's network interfaces with its role's
        // permissions (ec2:DeleteNetworkInterface, in the role's policy):
        // both stay until the group, which those interfaces hold, is gone.
        .outlived_by(vec![id(ids::ROLE_LAMBDA), id(ids::POLICY_LAMBDA)])
        .draining_up_to(drain),
    ));
    nodes.push(Arc::new(
        SecurityGroup::new(
            id(ids::SG_DB),
            aws(),
            id(ids::VPC),
            "db",
            "paysec PostgreSQL",
        )
        .draining_up_to(drain),
    ));
    nodes.push(Arc::new(
        SecurityGroup::new(
            id(ids::SG_ENDPOINTS),
            aws(),
            id(ids::VPC),
            "endpoints",
            "paysec VPC interface endpoints",
        )
        .draining_up_to(drain),
    ));
    // The X-Ray endpoint has a group of its own: only the function sends
    // traces, so only the function's group reaches it.
    nodes.push(Arc::new(
        SecurityGroup::new(
            id(ids::SG_XRAY),
            aws(),
            id(ids::VPC),
            "xray",
            "paysec X-Ray interface endpoint",
        )
        .draining_up_to(drain),
    ));
    // The API's endpoint has a group of its own: it admits the callers the
    // configuration names, and nothing else.
    nodes.push(Arc::new(
        SecurityGroup::new(
            id(ids::SG_API),
            aws(),
            id(ids::VPC),
            "api",
            "paysec payment API interface endpoint",
        )
        .draining_up_to(drain),
    ));
    // The endpoints of what the code calls (AWS services, partners'
    // PrivateLink services) share a group admitting only the function.
    let services_group = crate::egress::has_group(inputs);
    if services_group {
        nodes.push(Arc::new(
            SecurityGroup::new(
                id(ids::SG_SERVICES),
                aws(),
                id(ids::VPC),
                "services",
                "paysec endpoints of the services the payment code calls",
            )
            .draining_up_to(drain),
        ));
    }
    // The DNS firewall: two domain lists, the rule group, its association.
    nodes.push(Arc::new(DomainList::new(
        id(ids::DNS_ALLOWED),
        aws(),
        // What the code calls, while there is code.
        if cfg.stack.lambda.enabled {
            Domains::Allowed {
                services: crate::egress::services(cfg),
                names: cfg.stack.network.allowed_domains.clone(),
            }
        } else {
            Domains::Allowed {
                services: Vec::new(),
                names: Vec::new(),
            }
        },
        endpoint_wait,
    )));
    nodes.push(Arc::new(DomainList::new(
        id(ids::DNS_EVERYTHING),
        aws(),
        Domains::Everything,
        endpoint_wait,
    )));
    nodes.push(Arc::new(RuleGroup::new(
        id(ids::DNS_FIREWALL),
        aws(),
        id(ids::DNS_ALLOWED),
        id(ids::DNS_EVERYTHING),
    )));
    nodes.push(Arc::new(Association::new(
        id(ids::DNS_FIREWALL_VPC),
        aws(),
        id(ids::DNS_FIREWALL),
        id(ids::VPC),
        endpoint_wait,
    )));
    // The flows between the groups the configuration builds: a rule stays
    // when both its group and its peer group are built.
    let built = |g: &LogicalId| {
        crate::components::builds(cfg, g.as_str())
            && (g.as_str() != ids::SG_SERVICES || services_group)
    };
    let groups: Vec<LogicalId> = [
        ids::SG_LAMBDA,
        ids::SG_DB,
        ids::SG_ENDPOINTS,
        ids::SG_XRAY,
        ids::SG_API,
        ids::SG_SERVICES,
    ]
    .into_iter()
    .map(id)
    .filter(built)
    .collect();
    let rules: Vec<Rule> = security_group_rules(cfg)
        .into_iter()
        .filter(|r| {
            built(&r.group)
                && match &r.peer {
                    Peer::Group(g) => built(g),
                    _ => true,
                }
        })
        .collect();
    if !groups.is_empty() {
        nodes.push(Arc::new(SecurityGroupRules::new(
            id(ids::SG_RULES),
            aws(),
            id(ids::VPC),
            groups,
            rules,
        )));
    }
    nodes.push(Arc::new(
        GatewayEndpoint::new(
        id(ids::ENDPOINT_S3),
        aws(),
        id(ids::VPC),
        id(ids::ROUTE_TABLE),
        "s3",
        Box::new(|cx| {
            let buckets: Vec<String> = ["flowlogs", "data", "accesslogs"]
                .iter()
                .flat_map(|p| {
                    let arn = format!("arn:{}:s3:::{}", cx.env.partition, cx.env.names.bucket(p, &cx.env.account));
                    [arn.clone(), format!("{arn}/*")]
                })
                .collect();
            json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "OnlyThisStacksBuckets",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:GetBucketLocation"],
                    "Resource": buckets,
                    "Condition": { "StringEquals": { "aws:PrincipalAccount": cx.env.account } }
                }]
            })
        }),
        )
        .waiting_up_to(endpoint_wait),
    ));
    // The RDS API endpoint admits only the VPC (its security group) and,
    // by its policy, only this account's principals: reading anything of
    // this account (Describe*, List*: engine versions, orderable options,
    // what exists), changing only this stack's database, its groups and
    // snapshots (every RDS resource named with this environment's prefix).
    nodes.push(Arc::new(
        InterfaceEndpoint::new(
            id(ids::ENDPOINT_RDS),
            aws(),
            id(ids::VPC),
            subnets.clone(),
            id(ids::SG_ENDPOINTS),
            "rds",
        )
        .with_policy({
            let family = inputs.config.stack.rds.parameter_group_family.clone();
            Box::new(move |cx| rds_endpoint_policy(cx, &family))
        })
        .waiting_up_to(endpoint_wait),
    ));
    // X-Ray: with active tracing, the function's SDK calls to the X-Ray API
    // (sampling rules, segments sent directly) leave through it; private
    // DNS and this account's policy like the RDS endpoint's.
    nodes.push(Arc::new(
        InterfaceEndpoint::new(
            id(ids::ENDPOINT_XRAY),
            aws(),
            id(ids::VPC),
            subnets.clone(),
            id(ids::SG_XRAY),
            "xray",
        )
        .waiting_up_to(endpoint_wait),
    ));

    // execute-api: the callers' way in, its policy allowing only this
    // stack's API (the API's own policy then admits only this endpoint
    // and the configured consumer endpoints).
    nodes.push(Arc::new(
        InterfaceEndpoint::new(
            id(ids::ENDPOINT_API),
            aws(),
            id(ids::VPC),
            subnets.clone(),
            id(ids::SG_API),
            "execute-api",
        )
        .with_policy_naming(vec![id(ids::API)], Box::new(api_endpoint_policy))
        .waiting_up_to(endpoint_wait),
    ));

    let logs = Lifecycle::Logs {
        hot_days: cfg.stack.s3.log_hot_days,
        keep_days: cfg.stack.s3.log_retention_days,
    };
    nodes.push(Arc::new(Bucket::new(
        id(ids::BUCKET_ACCESS_LOGS),
        aws(),
        "accesslogs",
        id(ids::KMS_S3),
        Delivery::AccessLogs,
        logs,
        None,
    )));
    nodes.push(Arc::new(Bucket::new(
        id(ids::BUCKET_FLOW_LOGS),
        aws(),
        "flowlogs",
        id(ids::KMS_S3),
        Delivery::FlowLogs,
        logs,
        Some(id(ids::BUCKET_ACCESS_LOGS)),
    )));
    nodes.push(Arc::new(Bucket::new(
        id(ids::BUCKET_DATA),
        aws(),
        "data",
        id(ids::KMS_S3),
        Delivery::None,
        Lifecycle::Data {
            noncurrent_days: cfg.stack.s3.data_noncurrent_days,
        },
        Some(id(ids::BUCKET_ACCESS_LOGS)),
    )));
    nodes.push(Arc::new(FlowLog::new(
        id(ids::FLOW_LOG_S3),
        aws(),
        id(ids::VPC),
        FlowLogDestination::S3 {
            bucket: id(ids::BUCKET_FLOW_LOGS),
        },
    )));
    nodes.push(Arc::new(FlowLog::new(
        id(ids::FLOW_LOG_CW),
        aws(),
        id(ids::VPC),
        FlowLogDestination::CloudWatch {
            log_group: id(ids::LOG_FLOW_LOGS),
            role: id(ids::ROLE_FLOW_LOGS),
            policy: id(ids::POLICY_FLOW_LOGS),
        },
    )));
}

/// The RDS API endpoint's policy (see where it is built): this account's
/// reads; changes only to this environment's own database, parameter group
/// and subnet group, named exactly (a `paysec-<env>-*` pattern would also
/// match environment `<env>-2`'s); and never a snapshot shared, copied or
/// exported through the endpoint, whoever allows it elsewhere.
fn rds_endpoint_policy(cx: &paysec_core::Context, family: &str) -> serde_json::Value {
    let account = &cx.env.account;
    let names = &cx.env.names;
    let arn =
        |kind: &str, name: String| cx.env.arn("rds", &cx.env.region, &format!("{kind}:{name}"));
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ThisAccountReads",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["rds:Describe*", "rds:List*"],
                "Resource": "*",
                "Condition": { "StringEquals": {
                    "aws:PrincipalAccount": account,
                    "aws:ResourceAccount": account
                } }
            },
            {
                "Sid": "ThisStacksDatabaseOnly",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "rds:*",
                "Resource": [
                    arn("db", names.db_instance()),
                    arn("pg", names.db_parameter_group(family)),
                    arn("subgrp", names.db_subnet_group()),
                ],
                "Condition": { "StringEquals": { "aws:PrincipalAccount": account } }
            },
            {
                "Sid": "NoSnapshotLeavesThroughTheEndpoint",
                "Effect": "Deny",
                "Principal": "*",
                "Action": [
                    "rds:ModifyDBSnapshotAttribute",
                    "rds:ModifyDBClusterSnapshotAttribute",
                    "rds:CopyDBSnapshot",
                    "rds:CopyDBClusterSnapshot",
                    "rds:StartExportTask"
                ],
                "Resource": "*"
            }
        ]
    })
}

/// The `execute-api` endpoint's policy: invoking this stack's API, and
/// nothing else, through it.
fn api_endpoint_policy(cx: &paysec_core::Context) -> serde_json::Value {
    let api = cx
        .physical_id(&LogicalId::new(ids::API))
        .map(|api| paysec_api::execute_api_arn(cx, api))
        .unwrap_or_default();
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "OnlyThisStacksApi",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": format!("{api}/*")
        }]
    })
}

/// Every flow the stack's security groups allow, whether or not the
/// configuration builds both ends (`add` keeps the rules whose groups it
/// builds; the network diagram tells the stack's rules from others by
/// them).
pub fn security_group_rules(cfg: &paysec_config::Config) -> Vec<Rule> {
    let id = |s: &str| LogicalId::new(s);
    let port = cfg.stack.rds.port;
    vec![
        Rule {
            group: id(ids::SG_LAMBDA),
            egress: true,
            port,
            peer: Peer::Group(id(ids::SG_DB)),
        },
        Rule {
            group: id(ids::SG_LAMBDA),
            egress: true,
            port: 443,
            peer: Peer::Group(id(ids::SG_ENDPOINTS)),
        },
        Rule {
            group: id(ids::SG_DB),
            egress: false,
            port,
            peer: Peer::Group(id(ids::SG_LAMBDA)),
        },
        Rule {
            group: id(ids::SG_ENDPOINTS),
            egress: false,
            port: 443,
            peer: Peer::VpcCidr,
        },
        Rule {
            group: id(ids::SG_LAMBDA),
            egress: true,
            port: 443,
            peer: Peer::Group(id(ids::SG_XRAY)),
        },
        Rule {
            group: id(ids::SG_XRAY),
            egress: false,
            port: 443,
            peer: Peer::Group(id(ids::SG_LAMBDA)),
        },
    ]
    .into_iter()
    // The function to the endpoints of what it calls: 443 for AWS's
    // services, the partners' port for theirs.
    .chain(
        std::iter::once(443)
            .chain(
                (!cfg.stack.network.private_services.is_empty())
                    .then_some(cfg.stack.network.private_service_port),
            )
            .collect::<std::collections::BTreeSet<i32>>()
            .into_iter()
            .flat_map(|port| {
                [
                    Rule {
                        group: id(ids::SG_LAMBDA),
                        egress: true,
                        port,
                        peer: Peer::Group(id(ids::SG_SERVICES)),
                    },
                    Rule {
                        group: id(ids::SG_SERVICES),
                        egress: false,
                        port,
                        peer: Peer::Group(id(ids::SG_LAMBDA)),
                    },
                ]
            }),
    )
    // The API's callers: 443 from the configured blocks and groups.
    .chain(
        cfg.stack
            .api
            .allowed_cidrs
            .iter()
            .map(|c| Peer::Cidr(c.clone()))
            .chain(
                cfg.stack
                    .api
                    .allowed_security_groups
                    .iter()
                    .map(|g| Peer::ForeignGroup(g.clone())),
            )
            .map(|peer| Rule {
                group: id(ids::SG_API),
                egress: false,
                port: 443,
                peer,
            }),
    )
    .collect()
}

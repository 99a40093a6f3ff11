//! The data-flow diagram (PCI DSS 1.2.4): where account data can go, from
//! the survey's live reads (each store's key and retention as AWS reported
//! them) and the flows the stack configures: caller to the API entry (where
//! built) to the function (`live` alias), to the database and the
//! dead-letter queue; logs and metrics to their log groups and the
//! flow-log bucket; the alarms to the topic; the auditor's read-only path.
//! Each arrow says its protocol and encryption, each store its key and
//! retention.

use std::collections::BTreeSet;

use paysec_core::scheduler::PlannedChange;
use paysec_stack::ids;

mod builder;

use builder::{short, Builder, Facts};

use crate::{controls_of, Diagram, Kind, Node, Origin, Shape};

/// What the data-flow diagram is drawn from.
pub struct Inputs<'a> {
    pub header: Vec<(String, String)>,
    /// The survey: each resource's physical id and what its read quoted.
    pub changes: &'a [PlannedChange],
    /// Who may call the API, as configured (blocks, groups, endpoints).
    pub callers: Vec<String>,
    /// The account or role the audit role trusts, as configured.
    pub auditor: Option<String>,
}

/// Draws the data flows.
pub fn diagram(inputs: &Inputs<'_>) -> Diagram {
    let mut b = Builder {
        facts: Facts::new(inputs.changes),
        nodes: Vec::new(),
        edges: Vec::new(),
        legend: Vec::new(),
    };
    let tls = "TLS, through the VPC endpoint";

    // The function at the centre: what runs is the `live` alias.
    let function = {
        use paysec_lambda::function::FunctionProperty as F;
        let release = b.facts.live(ids::FUNCTION, F::Release.as_str()).map(short);
        let key = b
            .facts
            .live(ids::FUNCTION, F::KmsKey.as_str())
            .map(|k| b.facts.key(k));
        b.resource(
            ids::FUNCTION,
            "payment function, alias live",
            vec![
                format!("runs {}", release.unwrap_or_else(|| "not read".into())),
                format!(
                    "environment encrypted with {}",
                    key.unwrap_or_else(|| "not read".into())
                ),
            ],
            Shape::Box,
        )
    };

    // The way in.
    let api = {
        use paysec_api::rest_api::RestApiProperty as R;
        let endpoint = b.facts.live(ids::API, R::EndpointType.as_str()).map(short);
        let policy = b
            .facts
            .live(ids::API, R::SecurityPolicy.as_str())
            .map(short);
        b.resource(
            ids::API,
            "API entry (REST API)",
            vec![
                format!("endpoint {}", endpoint.unwrap_or_else(|| "not read".into())),
                format!("TLS policy {}", policy.unwrap_or_else(|| "not read".into())),
            ],
            Shape::Box,
        )
    };
    let callers = Some(
        b.party(
            "callers",
            std::iter::once("callers".to_owned())
                .chain(inputs.callers.iter().map(|c| short(c)))
                .collect(),
        ),
    );
    if api.is_some() {
        let endpoint = b.facts.physical(ids::ENDPOINT_API).map(str::to_owned);
        b.flow(
            &callers,
            &api,
            vec![
                "HTTPS (TLS) to the private API".to_owned(),
                format!(
                    "through endpoint {}",
                    endpoint.unwrap_or_else(|| "not found".into())
                ),
            ],
        );
        b.flow(
            &api,
            &function,
            vec!["Lambda invoke (AWS_PROXY), SigV4 over TLS".to_owned()],
        );
        let access = b.log_group(ids::LOG_API_ACCESS, "API access log");
        b.flow(
            &api,
            &access,
            vec!["access log records (API Gateway delivers)".to_owned()],
        );
    } else {
        b.flow(
            &callers,
            &function,
            vec!["lambda:Invoke, SigV4 over TLS (no API entry built)".to_owned()],
        );
    }

    // The database.
    let db = {
        use paysec_rds::instance::InstanceProperty as I;
        let encrypted = b
            .facts
            .live(ids::DB, I::StorageEncrypted.as_str())
            .map(short);
        let key = b
            .facts
            .live(ids::DB, I::KmsKey.as_str())
            .map(|k| b.facts.key(k));
        let backups = b
            .facts
            .live(ids::DB, I::BackupRetentionDays.as_str())
            .map(short);
        b.resource(
            ids::DB,
            "PostgreSQL database (cardholder data)",
            vec![
                format!(
                    "storage encrypted {} with {}",
                    encrypted.unwrap_or_else(|| "not read".into()),
                    key.unwrap_or_else(|| "not read".into())
                ),
                format!(
                    "backup retention {} days",
                    backups.unwrap_or_else(|| "not read".into())
                ),
            ],
            Shape::Store,
        )
    };
    {
        use paysec_rds::instance::InstanceProperty as I;
        use paysec_rds::DbParameter as P;
        let ssl = b
            .facts
            .live(ids::DB_PARAMETERS, P::ForceSsl.as_str())
            .map(short);
        let min = b
            .facts
            .live(ids::DB_PARAMETERS, P::SslMinProtocolVersion.as_str())
            .map(short);
        let iam = b
            .facts
            .live(ids::DB, I::IamDatabaseAuthentication.as_str())
            .map(short);
        let port = b.facts.live(ids::DB, I::Port.as_str()).map(short);
        let drawn = b.flow(
            &function,
            &db,
            vec![
                format!(
                    "PostgreSQL, port {}",
                    port.unwrap_or_else(|| "not read".into())
                ),
                format!(
                    "TLS required: rds.force_ssl {}, minimum {}",
                    ssl.unwrap_or_else(|| "not read".into()),
                    min.unwrap_or_else(|| "not read".into())
                ),
                format!(
                    "IAM authentication {}",
                    iam.unwrap_or_else(|| "not read".into())
                ),
            ],
        );
        // The transport's own controls: the parameter group's TLS ones.
        if let (true, Some(e)) = (drawn, b.edges.last_mut()) {
            e.controls = controls_of("db_parameter_group");
        }
    }

    // The dead-letter queue.
    let dlq = {
        use paysec_lambda::queue::QueueProperty as Q;
        let key = b
            .facts
            .live(ids::DLQ, Q::KmsMasterKeyId.as_str())
            .map(|k| b.facts.key(k));
        let seconds = b.facts.live(ids::DLQ, Q::MessageRetentionPeriod.as_str());
        b.resource(
            ids::DLQ,
            "dead-letter queue (SQS)",
            vec![
                format!("key {}", key.unwrap_or_else(|| "not read".into())),
                format!("retention {} seconds", seconds.unwrap_or("not read")),
            ],
            Shape::Store,
        )
    };
    b.flow(
        &function,
        &dlq,
        vec![
            "failed asynchronous events".to_owned(),
            format!("SQS, {tls}"),
        ],
    );

    // Logs.
    let lambda_logs = b.log_group(ids::LOG_LAMBDA, "function log");
    b.flow(
        &function,
        &lambda_logs,
        vec![format!("logs, CloudWatch Logs, {tls}")],
    );
    for (logical, what) in [
        (ids::LOG_RDS_POSTGRESQL, "database log"),
        (ids::LOG_RDS_UPGRADE, "database upgrade log"),
    ] {
        let group = b.log_group(logical, what);
        b.flow(
            &db,
            &group,
            vec!["log export (RDS delivers, within AWS)".to_owned()],
        );
    }
    let vpc = b
        .resource(ids::VPC, "VPC (all traffic)", Vec::new(), Shape::Box)
        .map(|vpc| {
            // The network diagram's box has the VPC's id: a page holding
            // both keeps each id once.
            let id = format!("{vpc}-traffic");
            if let Some(n) = b.nodes.iter_mut().find(|n| n.id == vpc) {
                n.id.clone_from(&id);
            }
            id
        });
    let flow_bucket = b.bucket(ids::BUCKET_FLOW_LOGS, "flow-log bucket");
    let flow_group = b.log_group(ids::LOG_FLOW_LOGS, "flow-log group");
    b.flow(
        &vpc,
        &flow_bucket,
        vec!["flow log records (AWS delivers, TLS)".to_owned()],
    );
    b.flow(
        &vpc,
        &flow_group,
        vec!["flow log records (AWS delivers, TLS)".to_owned()],
    );
    let access_logs = b.bucket(ids::BUCKET_ACCESS_LOGS, "S3 access-log bucket");
    b.flow(
        &flow_bucket,
        &access_logs,
        vec!["server access logs (S3 delivers)".to_owned()],
    );
    let data = b.bucket(ids::BUCKET_DATA, "application data bucket");
    b.flow(
        &data,
        &access_logs,
        vec!["server access logs (S3 delivers)".to_owned()],
    );

    // Alarms to the topic.
    let topic = {
        use paysec_monitoring::topic::TopicProperty as T;
        let key = b
            .facts
            .live(ids::TOPIC, T::KmsMasterKeyId.as_str())
            .map(|k| b.facts.key(k));
        let subscribers = b.facts.live(ids::TOPIC, T::Subscribers.as_str()).map(short);
        b.resource(
            ids::TOPIC,
            "alarm topic (SNS)",
            vec![
                format!("key {}", key.unwrap_or_else(|| "not read".into())),
                format!(
                    "subscribers {}",
                    subscribers.unwrap_or_else(|| "not read".into())
                ),
            ],
            Shape::Store,
        )
    };
    let alarms: Vec<&str> = inputs
        .changes
        .iter()
        .filter(|c| c.kind == "cloudwatch_alarm" && c.planned.physical_id().is_some())
        .map(|c| c.id.as_str())
        .collect();
    let alarms = (!alarms.is_empty()).then(|| {
        // What the alarms watch: log lines counted by metric filters, and
        // the services' own metrics. Said in the element rather than drawn
        // as six arrows from all over the page into one box.
        let filters: Vec<(&str, &str)> = [
            (ids::FILTER_DB_CONNECTION_FAILURES, ids::LOG_RDS_POSTGRESQL),
            (ids::FILTER_DB_AUTH_FAILURES, ids::LOG_RDS_POSTGRESQL),
            (ids::FILTER_DB_ENCRYPTION, ids::LOG_RDS_POSTGRESQL),
            (ids::FILTER_LAMBDA_KMS, ids::LOG_LAMBDA),
            (ids::FILTER_API_THROTTLED, ids::LOG_API_ACCESS),
        ]
        .into_iter()
        .filter(|(filter, _)| b.facts.physical(filter).is_some())
        .collect();
        let mut watched: Vec<String> = Vec::new();
        if !filters.is_empty() {
            let groups: BTreeSet<&str> = filters.iter().map(|(_, group)| *group).collect();
            watched.push(format!(
                "{} metric filters on {} log groups",
                filters.len(),
                groups.len()
            ));
        }
        for (source, metric) in [
            (&function, "the function's Errors"),
            (&dlq, "the queue's depth"),
            (&api, "the API's 5XX"),
        ] {
            if source.is_some() {
                watched.push(metric.to_owned());
            }
        }
        let mut lines = vec![format!(
            "{} CloudWatch alarms (monitoring.alarm-…)",
            alarms.len()
        )];
        lines.push(
            alarms
                .iter()
                .map(|a| a.trim_start_matches("monitoring.alarm-"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        lines.push(format!("watching {}", watched.join(", ")));
        b.nodes.push(Node {
            id: "alarms".to_owned(),
            lines,
            controls: controls_of("cloudwatch_alarm"),
            origin: Origin::Paysec,
            shape: Shape::Box,
            rows: Vec::new(),
        });
        "alarms".to_owned()
    });
    b.flow(
        &alarms,
        &topic,
        vec!["alarm notifications (CloudWatch publishes, SNS over TLS)".to_owned()],
    );

    // The auditor's read-only path.
    let managed = b
        .facts
        .live(
            ids::ROLE_AUDIT,
            paysec_iam::role::RoleProperty::ManagedPolicies.as_str(),
        )
        .map(short);
    let role = b.resource(
        ids::ROLE_AUDIT,
        "audit role (read-only)",
        vec![managed.unwrap_or_else(|| "policies not read".into())],
        Shape::Box,
    );
    let mut auditor = None;
    if role.is_some() {
        auditor = Some(b.party(
            "auditor",
            vec![
                "auditor".to_owned(),
                inputs
                    .auditor
                    .clone()
                    .unwrap_or_else(|| "the trusted principal".to_owned()),
            ],
        ));
        b.flow(
            &auditor,
            &role,
            vec!["sts:AssumeRole with external id, TLS".to_owned()],
        );
    }
    b.legend.push(
        "arrows: where account data and the records about it can go; each store with its key (KMS alias) and retention as read".to_owned(),
    );
    Diagram {
        kind: Kind::DataFlow,
        header: inputs.header.clone(),
        nodes: b.nodes,
        clusters: Vec::new(),
        edges: b.edges,
        legend: b.legend,
        above: Vec::new(),
        // The parts with no arrow between them side by side rather than
        // each under the last (an A4 landscape page runs out of height
        // first): the records about the network start at the top beside
        // the callers; the alarms and the auditor's path sit beside the
        // database, below the API's narrow top. Of the placements tried
        // on the example environment, the one that printed largest.
        level: vec![
            [Some(&callers), Some(&vpc), Some(&data)],
            [Some(&db), Some(&alarms), Some(&auditor)],
        ]
        .into_iter()
        .map(|set| set.into_iter().flatten().flatten().cloned().collect())
        .collect(),
    }
}

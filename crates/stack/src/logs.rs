//! The stack's log groups, each created before what writes to it.

use std::sync::Arc;

use paysec_core::naming::Names;
use paysec_core::{LogicalId, Resource};
use paysec_logs::{LogGroup, Writer};

use crate::{ids, Inputs};

pub(crate) fn add(nodes: &mut Vec<Arc<dyn Resource>>, inputs: &Inputs<'_>, names: &Names) {
    for (id, name, writer) in [
        (
            ids::LOG_FLOW_LOGS,
            names.flow_log_group(),
            Writer::Continuous(
                "the VPC's flow logs",
                "the flow log's delivery status, LOG-6, and its role's permissions",
            ),
        ),
        (
            ids::LOG_LAMBDA,
            names.lambda_log_group(),
            Writer::OnEvent("the payment function writes when invoked"),
        ),
        (
            ids::LOG_RDS_POSTGRESQL,
            names.rds_log_group("postgresql"),
            Writer::Continuous(
                "the database's PostgreSQL log exports",
                "the instance's log exports, RDS-15, and that it is running",
            ),
        ),
        (
            ids::LOG_RDS_UPGRADE,
            names.rds_log_group("upgrade"),
            Writer::OnEvent("RDS writes during an engine upgrade"),
        ),
        (
            ids::LOG_API_ACCESS,
            names.api_access_log_group(),
            Writer::OnEvent("API Gateway writes one line per request to the payment API"),
        ),
    ] {
        nodes.push(Arc::new(LogGroup::new(
            LogicalId::new(id),
            inputs.aws.clone(),
            name,
            LogicalId::new(ids::KMS_LOGS),
            inputs.config.stack.logs.retention_days,
            writer,
        )));
    }
    // RDS enhanced monitoring's account-wide group, made before the
    // instance so RDS does not create it unencrypted with 30 days.
    nodes.push(Arc::new(
        LogGroup::new(
            LogicalId::new(ids::LOG_RDS_OS_METRICS),
            inputs.aws.clone(),
            RDS_OS_METRICS.to_owned(),
            LogicalId::new(ids::KMS_LOGS),
            inputs.config.stack.logs.retention_days,
            Writer::OnEvent("OS metrics of every instance in the account, not an audit log"),
        )
        .account_shared(),
    ));
}

/// The log group RDS enhanced monitoring writes to, one per account and region.
pub(crate) const RDS_OS_METRICS: &str = "RDSOSMetrics";

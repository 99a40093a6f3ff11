//! The stack's log groups, each created before what writes to it.

use std::sync::Arc;

use paysec_core::naming::Names;
use paysec_core::{LogicalId, Resource};
use paysec_logs::LogGroup;

use crate::{ids, Inputs};

pub(crate) fn add(nodes: &mut Vec<Arc<dyn Resource>>, inputs: &Inputs<'_>, names: &Names) {
    for (id, name) in [
        (ids::LOG_FLOW_LOGS, names.flow_log_group()),
        (ids::LOG_LAMBDA, names.lambda_log_group()),
        (ids::LOG_RDS_POSTGRESQL, names.rds_log_group("postgresql")),
        (ids::LOG_RDS_UPGRADE, names.rds_log_group("upgrade")),
    ] {
        nodes.push(Arc::new(LogGroup::new(
            LogicalId::new(id),
            inputs.aws.clone(),
            name,
            LogicalId::new(ids::KMS_LOGS),
            inputs.config.logs.retention_days,
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
            inputs.config.logs.retention_days,
        )
        .account_shared(),
    ));
}

/// The log group RDS enhanced monitoring writes to, one per account and region.
pub(crate) const RDS_OS_METRICS: &str = "RDSOSMetrics";

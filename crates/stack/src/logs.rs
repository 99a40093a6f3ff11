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
}

//! Where a stack lives: the environment name, its derived names, and the
//! account/region/partition learned from AWS at the start of a run.

use crate::naming::{EnvName, Names};

/// One environment in one account and region.
#[derive(Clone, Debug)]
pub struct Environment {
    pub name: EnvName,
    pub names: Names,
    pub account: String,
    pub region: String,
    /// `aws`, `aws-cn` or `aws-us-gov`, for building ARNs.
    pub partition: String,
    /// User tags added to everything (config `[tags]`).
    pub extra_tags: Vec<(String, String)>,
    /// Fingerprint of everything the stack's desired state is built from
    /// (settings, paysec's version, the caller), see `desired`.
    pub desired_state: String,
}

impl Environment {
    pub fn new(name: EnvName, account: &str, region: &str, partition: &str) -> Self {
        Self {
            names: Names::new(&name),
            name,
            account: account.to_owned(),
            region: region.to_owned(),
            partition: partition.to_owned(),
            extra_tags: Vec::new(),
            desired_state: String::new(),
        }
    }

    /// `arn:<partition>:<service>:<region>:<account>:<rest>`; pass an empty
    /// region for global services (IAM).
    pub fn arn(&self, service: &str, region: &str, rest: &str) -> String {
        format!(
            "arn:{}:{service}:{region}:{}:{rest}",
            self.partition, self.account
        )
    }

    /// The account root principal, `arn:aws:iam::<account>:root`.
    pub fn account_root(&self) -> String {
        self.arn("iam", "", "root")
    }

    /// ARN of a log group by name, in this region.
    pub fn log_group_arn(&self, name: &str) -> String {
        self.arn("logs", &self.region, &format!("log-group:{name}"))
    }

    /// ARN of an IAM role by name.
    pub fn role_arn(&self, name: &str) -> String {
        self.arn("iam", "", &format!("role/{name}"))
    }
}

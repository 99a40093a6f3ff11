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

    /// The DNS suffix of the partition's service endpoints:
    /// `amazonaws.com.cn` in China, `amazonaws.com` elsewhere. Endpoint
    /// names (`kms:ViaService`) and the few service principals that are
    /// regional (`logs.<region>.<suffix>`) take it; other service
    /// principals are `<service>.amazonaws.com` in every partition.
    pub fn dns_suffix(&self) -> &'static str {
        match self.partition.as_str() {
            "aws-cn" => "amazonaws.com.cn",
            _ => "amazonaws.com",
        }
    }

    /// A VPC endpoint service's name (see [`endpoint_service_name`]).
    pub fn endpoint_service_name(&self, service: &str) -> String {
        endpoint_service_name(&self.partition, &self.region, service)
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

/// A VPC endpoint service's name: `com.amazonaws.<region>.<service>`,
/// except the interface services China names `cn.com.amazonaws...`.
pub fn endpoint_service_name(partition: &str, region: &str, service: &str) -> String {
    let china_prefixed = partition == "aws-cn" && service != "s3" && service != "logs";
    format!(
        "{}com.amazonaws.{region}.{service}",
        if china_prefixed { "cn." } else { "" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn china_takes_its_own_dns_suffix_and_endpoint_names() {
        let env = |partition: &str, region: &str| {
            Environment::new(EnvName::parse("t-1").unwrap(), "1", region, partition)
        };
        let aws = env("aws", "eu-west-1");
        assert_eq!(aws.dns_suffix(), "amazonaws.com");
        assert_eq!(
            aws.endpoint_service_name("rds"),
            "com.amazonaws.eu-west-1.rds"
        );
        let cn = env("aws-cn", "cn-north-1");
        assert_eq!(cn.dns_suffix(), "amazonaws.com.cn");
        assert_eq!(
            cn.endpoint_service_name("rds"),
            "cn.com.amazonaws.cn-north-1.rds"
        );
        assert_eq!(
            cn.endpoint_service_name("s3"),
            "com.amazonaws.cn-north-1.s3"
        );
    }
}

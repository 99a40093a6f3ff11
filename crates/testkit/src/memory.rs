//! What the rules remember between calls ([`Memory`]), one field or state
//! type per rule: plain data, so the rule modules (which read and change
//! it) and the dispatcher in [`crate::rules`] (which holds it) both build on
//! it without importing each other.

use std::collections::HashMap;

use serde_json::Value;
use tokio::time::Instant;

/// A confirmation SNS would have sent: to whom, for which topic, and the
/// token ConfirmSubscription needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirmation {
    pub topic_arn: String,
    pub endpoint: String,
    pub token: String,
}

/// What the rules remember.
#[derive(Default)]
pub(crate) struct Memory {
    /// Client token -> (parameters without the token, the first answer).
    pub(crate) tokens: HashMap<String, (String, Vec<u8>)>,
    /// New EC2 ids -> when created.
    pub(crate) young_ids: HashMap<String, Instant>,
    /// Function name -> reserved concurrency.
    pub(crate) reserved: HashMap<String, i32>,
    /// Role name -> when its permissions last changed.
    pub(crate) permissions: HashMap<String, Instant>,
    /// Access key -> the caller's account (asked of the emulator once).
    pub(crate) accounts: HashMap<String, String>,
    /// DNS Firewall association id -> its protection and update.
    pub(crate) dns_associations: HashMap<String, Association>,
    /// Subscription ARN -> the confirmation it waits for.
    pub(crate) pending: HashMap<String, Confirmation>,
    /// DB parameter group -> when it was last created or changed.
    pub(crate) parameter_groups_changed: HashMap<String, Instant>,
    /// DB instances whose static parameters wait for a reboot.
    pub(crate) pending_reboot: std::collections::HashSet<String>,
    /// DB instance -> its modifications waiting for the maintenance
    /// window, (parameter, value).
    pub(crate) rds_pending: HashMap<String, Vec<(String, String)>>,
    /// DB instance -> until when it optimizes its storage.
    pub(crate) storage_optimizing: HashMap<String, Instant>,
    /// DB instance -> until when it reboots.
    pub(crate) rebooting: HashMap<String, Instant>,
    /// Bucket -> the region it lives in (asked of the emulator once).
    pub(crate) bucket_regions: HashMap<String, String>,
    /// (bucket, account) pairs known to be owner and owned.
    pub(crate) bucket_owners: std::collections::HashSet<(String, String)>,
    /// Bucket -> its policy as put (moto holds it without the conditional
    /// Deny statements: [`crate::s3_policy`]).
    pub(crate) bucket_policies: HashMap<String, serde_json::Value>,
    /// Function name -> until when its last update is in progress.
    pub(crate) lambda_updates: HashMap<String, Instant>,
    /// REST API id -> its security policy and endpoint access mode.
    pub(crate) api_tls: HashMap<String, (Option<String>, Option<String>)>,
    /// Endpoints to partners' services whose provider has not accepted
    /// them yet, and those accepted.
    pub(crate) awaiting_acceptance: std::collections::HashSet<String>,
    pub(crate) accepted_endpoints: std::collections::HashSet<String>,
    /// (account, API Gateway operation) -> when it was last let through.
    pub(crate) api_rates: HashMap<(String, &'static str), Instant>,
    /// Signing jobs, code signing configurations and what Lambda verified
    /// ([`crate::code_signing`]).
    pub(crate) signing: Signing,
    /// What places Lambda's and RDS's interfaces in a VPC
    /// ([`crate::managed_interfaces`]).
    pub(crate) placements: Placements,
}

/// An association as the rules know it.
#[derive(Clone, Debug)]
pub(crate) struct Association {
    /// Its mutation protection as AWS applies it.
    pub(crate) protected: bool,
    /// An update in progress: the protection it sets, and when it is done.
    pub(crate) pending: Option<(bool, Instant)>,
}

/// What the proxy remembers of code signing.
#[derive(Default)]
pub(crate) struct Signing {
    /// Job id -> the job.
    pub(crate) jobs: HashMap<String, Job>,
    /// `clientRequestToken` -> the job it started.
    pub(crate) tokens: HashMap<String, String>,
    /// Configuration ARN -> the configuration, as Lambda answers it.
    pub(crate) configs: HashMap<String, Value>,
    /// Configuration ARN -> its tags.
    pub(crate) tags: HashMap<String, serde_json::Map<String, Value>>,
    /// Function name -> the configuration it uses.
    pub(crate) functions: HashMap<String, String>,
    /// `CodeSha256` of a package Lambda verified -> (profile version ARN,
    /// job ARN).
    pub(crate) verified: HashMap<String, (String, String)>,
    /// Ids handed out so far.
    pub(crate) made: u64,
}

pub(crate) struct Job {
    /// DescribeSigningJob's answer, its status aside.
    pub(crate) described: Value,
    /// The signed object (bucket, key), or why the job failed.
    pub(crate) outcome: Result<(String, String), String>,
    /// Until when the job reads `InProgress`.
    pub(crate) done_at: Instant,
}

/// What places the services' interfaces, as the proxy saw it made.
#[derive(Debug, Default)]
pub(crate) struct Placements {
    /// Subnet -> (VPC, zone, range).
    pub(crate) subnets: HashMap<String, (String, String, String)>,
    /// Function name -> (subnets, groups).
    pub(crate) functions: HashMap<String, (Vec<String>, Vec<String>)>,
    /// DB subnet group -> subnets.
    pub(crate) subnet_groups: HashMap<String, Vec<String>>,
    /// DB instance -> (subnet group, groups, zone).
    pub(crate) instances: HashMap<String, (String, Vec<String>, String)>,
}

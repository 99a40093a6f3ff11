//! A latency model of real AWS for the proxy: the emulator answers every
//! call at once and creates everything ready, real AWS does neither. With a
//! model set, the proxy delays each call and makes the slow resources slow
//! again by rewriting the status fields the emulator returns until the
//! modelled time has passed:
//!
//! | what | real AWS (typical) | how the proxy shows it |
//! |---|---|---|
//! | every API call | 100 ms | the request waits before it is forwarded |
//! | RDS Multi-AZ create | 20 min (15-40) | `DBInstanceStatus` `creating` instead of `available` |
//! | RDS delete | 10 min (5-15) | the last description, `DBInstanceStatus` `deleting`, instead of not found |
//! | Lambda in a VPC | 90 s | `State` `Pending` instead of `Active` |
//! | VPC interface endpoint | 2 min | `state` `pending` instead of `available` |
//! | KMS key propagation | 5 s ("usually less than a few seconds", sometimes minutes) | a request naming a younger key gets the service's own error (KMS `NotFoundException` on EnableKeyRotation/CreateAlias/UpdateAlias, Lambda "KMS key is invalid for CreateGrant", CloudWatch Logs `AccessDeniedException` "The specified KMS key does not exist or is not allowed...", RDS `KMSKeyNotAccessibleFault`) |
//! | IAM role propagation | 10 s | a request naming a younger role gets the service's own error (Lambda "cannot be assumed", KMS `MalformedPolicyDocumentException`, RDS `ENHANCED_MONITORING`, CreateFlowLogs an unsuccessful item "Unable to assume given IAM role") |
//! | API rate limits | per account and service | more than 20 requests in flight to one service: its own throttling error |
//!
//! [`Model::scaled`] divides the waits (not the call latency) so that a run
//! takes about a minute; benchmarks compute their critical-path bound from
//! the same figures.

use std::collections::HashMap;
use std::time::Duration;

use crate::wire::between;
use tokio::time::Instant;

/// The modelled durations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Model {
    pub call_latency: Duration,
    pub rds_create: Duration,
    pub rds_delete: Duration,
    pub lambda_pending: Duration,
    pub endpoint_pending: Duration,
    pub iam_propagation: Duration,
    /// A new KMS key is not yet usable, by KMS itself or by the services
    /// that encrypt with it.
    pub kms_propagation: Duration,
    /// Requests one service answers at once before it throttles (0: no
    /// limit). AWS's real limits are token buckets per account and action;
    /// an in-flight ceiling is the deterministic stand-in.
    pub service_in_flight: usize,
}

impl Model {
    /// Typical figures of real AWS (the table above; `aws-gotchas.md`).
    pub fn aws() -> Self {
        Self {
            call_latency: Duration::from_millis(100),
            rds_create: Duration::from_secs(20 * 60),
            rds_delete: Duration::from_secs(10 * 60),
            lambda_pending: Duration::from_secs(90),
            endpoint_pending: Duration::from_secs(120),
            iam_propagation: Duration::from_secs(10),
            kms_propagation: Duration::from_secs(5),
            service_in_flight: 20,
        }
    }

    /// The waits divided by `factor`; the per-call latency is kept (it is
    /// what makes parallel calls pay, and a smaller figure would drown in
    /// the emulator's own processing time).
    pub fn scaled(self, factor: f64) -> Self {
        let s = |d: Duration| d.div_f64(factor);
        Self {
            call_latency: self.call_latency,
            rds_create: s(self.rds_create),
            rds_delete: s(self.rds_delete),
            lambda_pending: s(self.lambda_pending),
            endpoint_pending: s(self.endpoint_pending),
            iam_propagation: s(self.iam_propagation),
            kms_propagation: s(self.kms_propagation),
            service_in_flight: self.service_in_flight,
        }
    }
}

/// What the model remembers: when each slow thing started.
#[derive(Default)]
pub(crate) struct Clock {
    /// `rds:<id>`, `rds-deleting:<id>`, `lambda:<name>`, `vpce:<id>`,
    /// `role:<name>`, `key:<key id>` → when it was created (or deleted).
    started: HashMap<String, Instant>,
    /// The last description of each RDS instance, to answer while it is
    /// modelled as deleting (the emulator forgets it at once).
    rds_described: HashMap<String, String>,
}

/// The value of `key` in a form-encoded query body.
fn form_value(body: &str, key: &str) -> Option<String> {
    body.split('&').find_map(|kv| {
        kv.strip_prefix(key)
            .and_then(|rest| rest.strip_prefix('='))
            .map(|v| {
                v.replace("%2F", "/")
                    .replace("%3A", ":")
                    .replace("%2D", "-")
            })
    })
}

/// The string at `pointer` (`/KeyMetadata/KeyId`) in a JSON body.
fn json_value(body: &str, pointer: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()?
        .pointer(pointer)?
        .as_str()
        .map(str::to_owned)
}

impl Clock {
    fn young(&self, key: &str, within: Duration) -> bool {
        self.started.get(key).is_some_and(|t| t.elapsed() < within)
    }

    /// A request refused because a role or KMS key it names has not
    /// propagated yet: (status, code, message) in the calling service's
    /// words.
    pub(crate) fn refusal(
        &self,
        model: &Model,
        signature: &str,
        body: &str,
    ) -> Option<(u16, &'static str, String)> {
        if let Some(refused) = self.role_refusal(model, signature, body) {
            return Some(refused);
        }
        self.key_refusal(model, signature, body)
    }

    fn role_refusal(
        &self,
        model: &Model,
        signature: &str,
        body: &str,
    ) -> Option<(u16, &'static str, String)> {
        let names_young_role = || {
            self.started.iter().any(|(k, t)| {
                k.strip_prefix("role:").is_some_and(|name| {
                    t.elapsed() < model.iam_propagation
                        && (body.contains(&format!("role/{name}\""))
                            || body.contains(&format!("role/{name}\\\""))
                            || body.contains(&format!("role%2F{name}&"))
                            || body.ends_with(&format!("role%2F{name}")))
                })
            })
        };
        if signature == "POST /2015-03-31/functions" && names_young_role() {
            return Some((
                400,
                "InvalidParameterValueException",
                "The role defined for the function cannot be assumed by Lambda.".into(),
            ));
        }
        if matches!(signature, "CreateKey" | "PutKeyPolicy") && names_young_role() {
            return Some((
                400,
                "MalformedPolicyDocumentException",
                "Policy contains a statement with one or more invalid principals.".into(),
            ));
        }
        if signature == "CreateDBInstance" && names_young_role() {
            return Some((
                400,
                "InvalidParameterValue",
                "IAM role ARN value is invalid or does not include the required permissions for: ENHANCED_MONITORING".into(),
            ));
        }
        None
    }

    /// A request naming a KMS key younger than the propagation time. Key
    /// ids are UUIDs, so finding one anywhere in the body (a bare id, an
    /// ARN, URL-encoded or not) is naming it.
    fn key_refusal(
        &self,
        model: &Model,
        signature: &str,
        body: &str,
    ) -> Option<(u16, &'static str, String)> {
        let young = self.started.iter().find_map(|(k, t)| {
            k.strip_prefix("key:")
                .filter(|id| t.elapsed() < model.kms_propagation && body.contains(*id))
        })?;
        match signature {
            "EnableKeyRotation" | "CreateAlias" | "UpdateAlias" => Some((
                400,
                "NotFoundException",
                format!("Key '{young}' does not exist"),
            )),
            "POST /2015-03-31/functions" => Some((
                400,
                "InvalidParameterValueException",
                format!("Lambda was unable to configure access to your environment variables because the KMS key is invalid for CreateGrant. Please check your KMS key settings. KMS Exception: NotFoundException KMS Message: Key '{young}' does not exist"),
            )),
            "CreateLogGroup" | "AssociateKmsKey" => {
                let group = json_value(body, "/logGroupName").unwrap_or_default();
                Some((
                    400,
                    "AccessDeniedException",
                    format!("The specified KMS key does not exist or is not allowed to be used with Arn 'log-group:{group}'"),
                ))
            }
            "CreateDBInstance" | "ModifyDBInstance" => Some((
                400,
                "KMSKeyNotAccessibleFault",
                format!("The specified KMS key [{young}] does not exist, is not enabled or you do not have permissions to access it."),
            )),
            _ => None,
        }
    }

    /// An answer given instead of the emulator's: an RDS instance the
    /// model still shows deleting, or flow logs refused item by item (with
    /// HTTP 200, as EC2 does) because their delivery role is too young.
    pub(crate) fn substitute(&self, model: &Model, signature: &str, body: &str) -> Option<String> {
        if signature == "CreateFlowLogs" {
            let role = form_value(body, "DeliverLogsPermissionArn")?;
            let name = role.rsplit('/').next()?;
            if !self.young(&format!("role:{name}"), model.iam_propagation) {
                return None;
            }
            let vpc = form_value(body, "ResourceId.1").unwrap_or_default();
            return Some(format!(
                "<CreateFlowLogsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>model</requestId><flowLogIdSet/><unsuccessful><item><error><code>400</code><message>Unable to assume given IAM role: {role}</message></error><resourceId>{vpc}</resourceId></item></unsuccessful></CreateFlowLogsResponse>"
            ));
        }
        if signature != "DescribeDBInstances" {
            return None;
        }
        let id = form_value(body, "DBInstanceIdentifier")?;
        if !self.young(&format!("rds-deleting:{id}"), model.rds_delete) {
            return None;
        }
        let last = self.rds_described.get(&id)?;
        Some(replace_between(
            last,
            "<DBInstanceStatus>",
            "</DBInstanceStatus>",
            "deleting",
        ))
    }

    /// Notes what a successful call started, and rewrites the status fields
    /// of describe answers for what is still modelled as in progress.
    pub(crate) fn observe(
        &mut self,
        model: &Model,
        signature: &str,
        request: &str,
        answer: &str,
    ) -> Option<String> {
        let now = Instant::now();
        match signature {
            "CreateKey" => {
                if let Some(id) = json_value(answer, "/KeyMetadata/KeyId") {
                    self.started.insert(format!("key:{id}"), now);
                }
                None
            }
            "CreateRole" => {
                if let Some(name) = form_value(request, "RoleName") {
                    self.started.insert(format!("role:{name}"), now);
                }
                None
            }
            "CreateDBInstance" => {
                if let Some(id) = form_value(request, "DBInstanceIdentifier") {
                    self.started.insert(format!("rds:{id}"), now);
                }
                None
            }
            "DeleteDBInstance" => {
                if let Some(id) = form_value(request, "DBInstanceIdentifier") {
                    self.started.insert(format!("rds-deleting:{id}"), now);
                }
                None
            }
            "DescribeDBInstances" => {
                let id = form_value(request, "DBInstanceIdentifier")?;
                self.rds_described.insert(id.clone(), answer.to_owned());
                self.young(&format!("rds:{id}"), model.rds_create).then(|| {
                    answer.replace(
                        "<DBInstanceStatus>available</DBInstanceStatus>",
                        "<DBInstanceStatus>creating</DBInstanceStatus>",
                    )
                })
            }
            "POST /2015-03-31/functions" => {
                if let Some(name) = json_value(request, "/FunctionName") {
                    self.started.insert(format!("lambda:{name}"), now);
                }
                None
            }
            "CreateVpcEndpoint" => {
                if form_value(request, "VpcEndpointType").as_deref() == Some("Interface") {
                    if let Some(id) = between(answer, "<vpcEndpointId>", "</vpcEndpointId>") {
                        self.started.insert(format!("vpce:{id}"), now);
                    }
                }
                None
            }
            "DescribeVpcEndpoints" => {
                let pending: Vec<&str> = self
                    .started
                    .iter()
                    .filter(|(_, t)| t.elapsed() < model.endpoint_pending)
                    .filter_map(|(k, _)| k.strip_prefix("vpce:"))
                    .filter(|id| answer.contains(*id))
                    .collect();
                (!pending.is_empty()).then(|| endpoints_in_state(answer, &pending, "pending"))
            }
            s if s.starts_with("GET /2015-03-31/functions/") => {
                let name = s
                    .trim_start_matches("GET /2015-03-31/functions/")
                    .split(['/', '?'])
                    .next()
                    .unwrap_or_default();
                self.young(&format!("lambda:{name}"), model.lambda_pending)
                    .then(|| {
                        answer
                            .replace("\"State\": \"Active\"", "\"State\": \"Pending\"")
                            .replace("\"State\":\"Active\"", "\"State\":\"Pending\"")
                    })
            }
            _ => None,
        }
    }
}

fn replace_between(text: &str, open: &str, close: &str, with: &str) -> String {
    match (text.find(open), text.find(close)) {
        (Some(a), Some(b)) if a + open.len() <= b => {
            format!("{}{with}{}", &text[..a + open.len()], &text[b..])
        }
        _ => text.to_owned(),
    }
}

/// Sets `<state>` to `state` in the items of a DescribeVpcEndpoints (or
/// CreateVpcEndpoint) answer whose id is listed and which are available.
pub(crate) fn endpoints_in_state(answer: &str, listed: &[&str], state: &str) -> String {
    let mut out = String::with_capacity(answer.len());
    let mut rest = answer;
    while let Some(at) = rest.find("<vpcEndpointId>") {
        // Each item runs from its id to the next item's id.
        let (before, from_id) = rest.split_at(at);
        out.push_str(before);
        let next = from_id[1..]
            .find("<vpcEndpointId>")
            .map_or(from_id.len(), |n| n + 1);
        let (item, after) = from_id.split_at(next);
        let id = between(item, "<vpcEndpointId>", "</vpcEndpointId>").unwrap_or_default();
        if listed.contains(&id) {
            out.push_str(&item.replace(
                "<state>available</state>",
                &format!("<state>{state}</state>"),
            ));
        } else {
            out.push_str(item);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_divides_the_waits_not_the_calls() {
        let m = Model::aws().scaled(30.0);
        assert_eq!(m.call_latency, Duration::from_millis(100));
        assert_eq!(m.rds_create, Duration::from_secs(40));
        assert_eq!(m.lambda_pending, Duration::from_secs(3));
    }

    #[test]
    fn young_rds_instances_are_creating_then_available() {
        let model = Model {
            rds_create: Duration::from_secs(3600),
            ..Model::aws()
        };
        let mut clock = Clock::default();
        let req = "Action=CreateDBInstance&DBInstanceIdentifier=db-1&MultiAZ=true";
        clock.observe(&model, "CreateDBInstance", req, "");
        let answer = "<DBInstanceIdentifier>db-1</DBInstanceIdentifier><DBInstanceStatus>available</DBInstanceStatus>";
        let describe = "Action=DescribeDBInstances&DBInstanceIdentifier=db-1";
        let rewritten = clock.observe(&model, "DescribeDBInstances", describe, answer);
        assert!(rewritten.unwrap().contains(">creating<"));
        let other = "Action=DescribeDBInstances&DBInstanceIdentifier=db-2";
        assert_eq!(
            clock.observe(&model, "DescribeDBInstances", other, answer),
            None
        );
        clock.observe(&model, "DeleteDBInstance", req, "");
        let deleting = clock
            .substitute(&model, "DescribeDBInstances", describe)
            .unwrap();
        assert!(deleting.contains("<DBInstanceStatus>deleting</DBInstanceStatus>"));
    }

    #[test]
    fn only_the_pending_endpoint_is_rewritten() {
        let answer = "<item><vpcEndpointId>vpce-1</vpcEndpointId><state>available</state></item><item><vpcEndpointId>vpce-2</vpcEndpointId><state>available</state></item>";
        let out = endpoints_in_state(answer, &["vpce-2"], "pending");
        assert_eq!(out, "<item><vpcEndpointId>vpce-1</vpcEndpointId><state>available</state></item><item><vpcEndpointId>vpce-2</vpcEndpointId><state>pending</state></item>");
    }

    #[test]
    fn a_young_key_is_refused_in_each_services_words_until_it_propagates() {
        let model = Model {
            kms_propagation: Duration::from_millis(200),
            ..Model::aws()
        };
        let mut clock = Clock::default();
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        let created = format!(
            r#"{{"KeyMetadata":{{"KeyId":"{id}","Arn":"arn:aws:kms:eu-west-1:1:key/{id}"}}}}"#
        );
        clock.observe(&model, "CreateKey", "{}", &created);
        let code = |signature: &str, body: &str| {
            clock
                .refusal(&model, signature, body)
                .map(|(_, code, message)| (code, message))
        };
        let rotation = format!(r#"{{"KeyId":"{id}"}}"#);
        assert_eq!(
            code("EnableKeyRotation", &rotation).unwrap().0,
            "NotFoundException"
        );
        let function =
            format!(r#"{{"FunctionName":"f","KMSKeyArn":"arn:aws:kms:eu-west-1:1:key/{id}"}}"#);
        let (lambda, message) = code("POST /2015-03-31/functions", &function).unwrap();
        assert_eq!(lambda, "InvalidParameterValueException");
        assert!(message.contains("KMS key is invalid for CreateGrant"));
        let group = format!(
            r#"{{"logGroupName":"/paysec/x","kmsKeyId":"arn:aws:kms:eu-west-1:1:key/{id}"}}"#
        );
        let (logs, message) = code("CreateLogGroup", &group).unwrap();
        assert_eq!(logs, "AccessDeniedException");
        assert!(message.contains("'log-group:/paysec/x'"));
        let db = format!(
            "Action=CreateDBInstance&KmsKeyId=arn%3Aaws%3Akms%3Aeu-west-1%3A1%3Akey%2F{id}"
        );
        assert_eq!(
            code("CreateDBInstance", &db).unwrap().0,
            "KMSKeyNotAccessibleFault"
        );
        let other = r#"{"KeyId":"ffffffff-12ab-34cd-56ef-1234567890ab"}"#;
        assert_eq!(code("EnableKeyRotation", other), None, "another key");
        assert_eq!(code("DescribeKey", &rotation), None, "reads are answered");
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(code("CreateDBInstance", &db), None, "propagated");
    }

    #[test]
    fn a_young_role_is_refused_in_each_services_words() {
        let model = Model::aws();
        let mut clock = Clock::default();
        clock.observe(&model, "CreateRole", "Action=CreateRole&RoleName=exec", "");
        let lambda = r#"{"FunctionName":"f","Role":"arn:aws:iam::1:role/exec"}"#;
        let (_, code, _) = clock
            .refusal(&model, "POST /2015-03-31/functions", lambda)
            .unwrap();
        assert_eq!(code, "InvalidParameterValueException");
        let rds =
            "Action=CreateDBInstance&MonitoringRoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fexec&X=1";
        assert!(clock.refusal(&model, "CreateDBInstance", rds).is_some());
        let flow = "Action=CreateFlowLogs&DeliverLogsPermissionArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fexec&ResourceId.1=vpc-1";
        let item = clock.substitute(&model, "CreateFlowLogs", flow).unwrap();
        assert!(item.contains(
            "<unsuccessful><item><error><code>400</code><message>Unable to assume given IAM role"
        ));
        let unrelated = r#"{"Role":"arn:aws:iam::1:role/executor"}"#;
        assert!(clock
            .refusal(&model, "POST /2015-03-31/functions", unrelated)
            .is_none());
    }
}

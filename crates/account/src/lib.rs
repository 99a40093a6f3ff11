//! The owner prerequisites, read live: the account-wide services a paysec
//! stack relies on and the account's owner runs (CloudTrail, GuardDuty,
//! AWS Config, the account's S3 public access block, the root user).
//! Read only: paysec never creates, changes or deletes any of them (they
//! belong to the account, not to an environment). Each read that fails
//! (no permission, a service the endpoint does not offer) leaves its
//! prerequisite UNREAD with AWS's words, never met by default.
//!
//! Each service's calls run in their own reading scope
//! (`shared:account-cloudtrail`...), so the evidence report names the
//! calls behind every prerequisite.

mod data_events;
pub mod permissions;

use aws_sdk_iam::types::SummaryKeyType;
use aws_sdk_s3control::operation::get_public_access_block::GetPublicAccessBlockError;
use paysec_aws::classify::one_line;
use paysec_aws::Aws;
use paysec_core::reading;
use paysec_verify::prerequisites::{
    ACCOUNT_PUBLIC_ACCESS_BLOCK, CONFIG_RECORDER, DATA_EVENTS, ROOT_ACCESS_KEYS, ROOT_MFA,
    THREAT_DETECTION, TRAIL,
};
use paysec_verify::{PrerequisiteFinding, Status};

/// The account and the stack's buckets, which the data-events check is
/// about.
#[derive(Clone, Debug)]
pub struct Subject<'a> {
    pub account: &'a str,
    pub partition: &'a str,
    /// The names of the stack's S3 buckets.
    pub buckets: &'a [String],
}

const CLOUDTRAIL: &str = "account-cloudtrail";
const GUARDDUTY: &str = "account-guardduty";
const CONFIG: &str = "account-config";
const S3CONTROL: &str = "account-s3control";
const IAM: &str = "account-iam";

/// Gives each read the preflight's retry setting: the run's own against
/// AWS, one retry on an emulator that lacks the service.
macro_rules! checked {
    ($aws:expr, $krate:ident, $call:expr) => {
        $call
            .customize()
            .config_override(
                $krate::config::Builder::default().retry_config($aws.retry_for_checks()),
            )
            .send()
            .await
    };
}

/// Reads every prerequisite, the services at once.
pub async fn read(aws: &Aws, subject: &Subject<'_>) -> Vec<PrerequisiteFinding> {
    let (trail, detector, recorder, block, root) = tokio::join!(
        reading::shared_scope(CLOUDTRAIL, cloudtrail(aws, subject)),
        reading::shared_scope(GUARDDUTY, guardduty(aws)),
        reading::shared_scope(CONFIG, config(aws)),
        reading::shared_scope(S3CONTROL, public_access_block(aws, subject.account)),
        reading::shared_scope(IAM, root_user(aws)),
    );
    let mut all = Vec::new();
    all.extend(trail);
    all.push(detector);
    all.push(recorder);
    all.push(block);
    all.extend(root);
    all
}

fn finding(id: &str, status: Status, observed: String, source: &str) -> PrerequisiteFinding {
    PrerequisiteFinding::new(id, status, observed, &reading::shared_name(source))
}

fn met(ok: bool) -> Status {
    if ok {
        Status::Met
    } else {
        Status::NotMet
    }
}

/// One trail as read: its description, status and selectors.
struct TrailRead {
    arn: String,
    multi_region: bool,
    validation: bool,
    logging: Result<bool, String>,
    coverage: Result<Vec<(String, data_events::Coverage)>, String>,
}

/// ACC-1 and ACC-2 from DescribeTrails (shadow trails included: a
/// multi-region trail made in another region counts here), then each
/// trail's GetTrailStatus and GetEventSelectors by ARN (the only way to
/// reach a shadow or organization trail).
async fn cloudtrail(aws: &Aws, subject: &Subject<'_>) -> Vec<PrerequisiteFinding> {
    use aws_sdk_cloudtrail as ct;
    let listed = checked!(
        aws,
        ct,
        aws.cloudtrail.describe_trails().include_shadow_trails(true)
    );
    let trails = match listed {
        Ok(out) => out.trail_list().to_vec(),
        Err(e) => {
            let why = format!("DescribeTrails: {}", one_line(&e));
            return vec![
                finding(TRAIL, Status::Unread, why.clone(), CLOUDTRAIL),
                finding(DATA_EVENTS, Status::Unread, why, CLOUDTRAIL),
            ];
        }
    };
    let mut reads = Vec::new();
    for t in &trails {
        let arn = t.trail_arn().or(t.name()).unwrap_or_default().to_owned();
        let logging = checked!(aws, ct, aws.cloudtrail.get_trail_status().name(&arn))
            .map(|s| s.is_logging().unwrap_or(false))
            .map_err(|e| format!("GetTrailStatus {arn}: {}", one_line(&e)));
        let coverage = checked!(
            aws,
            ct,
            aws.cloudtrail.get_event_selectors().trail_name(&arn)
        )
        .map(|s| {
            subject
                .buckets
                .iter()
                .map(|b| {
                    let mut c = data_events::basic(s.event_selectors(), subject.partition, b);
                    let a =
                        data_events::advanced(s.advanced_event_selectors(), subject.partition, b);
                    c.read |= a.read;
                    c.write |= a.write;
                    (b.clone(), c)
                })
                .collect()
        })
        .map_err(|e| format!("GetEventSelectors {arn}: {}", one_line(&e)));
        reads.push(TrailRead {
            arn,
            multi_region: t.is_multi_region_trail().unwrap_or(false),
            validation: t.log_file_validation_enabled().unwrap_or(false),
            logging,
            coverage,
        });
    }
    vec![
        trail_finding(&reads),
        data_events_finding(&reads, subject.buckets),
    ]
}

fn trail_finding(reads: &[TrailRead]) -> PrerequisiteFinding {
    if reads.is_empty() {
        return finding(
            TRAIL,
            Status::NotMet,
            "DescribeTrails: no trail".into(),
            CLOUDTRAIL,
        );
    }
    let mut ok = false;
    let mut unread = false;
    let described: Vec<String> = reads
        .iter()
        .map(|t| {
            let logging = match &t.logging {
                Ok(l) => l.to_string(),
                Err(e) => {
                    unread = true;
                    format!("unread ({e})")
                }
            };
            ok |= t.multi_region && t.validation && t.logging == Ok(true);
            format!(
                "{}: IsMultiRegionTrail {}, LogFileValidationEnabled {}, IsLogging {logging}",
                t.arn, t.multi_region, t.validation
            )
        })
        .collect();
    let status = if ok {
        Status::Met
    } else if unread {
        Status::Unread
    } else {
        Status::NotMet
    };
    finding(TRAIL, status, described.join("; "), CLOUDTRAIL)
}

fn data_events_finding(reads: &[TrailRead], buckets: &[String]) -> PrerequisiteFinding {
    if buckets.is_empty() {
        return finding(
            DATA_EVENTS,
            Status::Unread,
            "no bucket of the stack is built here: no data events to look for".into(),
            CLOUDTRAIL,
        );
    }
    let mut unread = Vec::new();
    let mut covered: Vec<(String, data_events::Coverage, String)> = Vec::new();
    for t in reads.iter().filter(|t| t.logging == Ok(true)) {
        match &t.coverage {
            Ok(per_bucket) => {
                for (b, c) in per_bucket {
                    covered.push((b.clone(), *c, t.arn.clone()));
                }
            }
            Err(e) => unread.push(e.clone()),
        }
    }
    let mut missing = Vec::new();
    let mut quoted = Vec::new();
    for b in buckets {
        let mut c = data_events::Coverage::default();
        let mut by = Vec::new();
        for (name, cov, arn) in covered.iter().filter(|(name, _, _)| name == b) {
            let _ = name;
            if cov.read || cov.write {
                by.push(arn.clone());
            }
            c.read |= cov.read;
            c.write |= cov.write;
        }
        let direction = match (c.read, c.write) {
            (true, true) => "read and write",
            (true, false) => "read only",
            (false, true) => "write only",
            (false, false) => "none",
        };
        if !c.both() {
            missing.push(b.clone());
        }
        quoted.push(if by.is_empty() {
            format!("{b}: {direction}")
        } else {
            format!("{b}: {direction} (by {})", by.join(", "))
        });
    }
    let status = if missing.is_empty() {
        Status::Met
    } else if !unread.is_empty() {
        Status::Unread
    } else {
        Status::NotMet
    };
    let mut observed = if reads.iter().all(|t| t.logging != Ok(true)) {
        "no trail is logging".to_owned()
    } else {
        format!(
            "S3 object events logged by the logging trails: {}",
            quoted.join("; ")
        )
    };
    if !unread.is_empty() {
        observed.push_str(&format!("; unread: {}", unread.join("; ")));
    }
    finding(DATA_EVENTS, status, observed, CLOUDTRAIL)
}

/// ACC-3: the region's GuardDuty detector (one per region) and its status.
async fn guardduty(aws: &Aws) -> PrerequisiteFinding {
    use aws_sdk_guardduty as gd;
    let ids = match checked!(aws, gd, aws.guardduty.list_detectors()) {
        Ok(out) => out.detector_ids().to_vec(),
        Err(e) => {
            return finding(
                THREAT_DETECTION,
                Status::Unread,
                format!("ListDetectors: {}", one_line(&e)),
                GUARDDUTY,
            )
        }
    };
    let Some(id) = ids.first() else {
        return finding(
            THREAT_DETECTION,
            Status::NotMet,
            format!("ListDetectors: no detector in {}", aws.region()),
            GUARDDUTY,
        );
    };
    match checked!(aws, gd, aws.guardduty.get_detector().detector_id(id)) {
        Ok(d) => {
            let status = d.status().map_or("(none)", |s| s.as_str());
            finding(
                THREAT_DETECTION,
                met(status == "ENABLED"),
                format!("detector {id}: Status {status}"),
                GUARDDUTY,
            )
        }
        Err(e) => finding(
            THREAT_DETECTION,
            Status::Unread,
            format!("GetDetector {id}: {}", one_line(&e)),
            GUARDDUTY,
        ),
    }
}

/// ACC-4: the region's configuration recorders and whether one records.
async fn config(aws: &Aws) -> PrerequisiteFinding {
    use aws_sdk_config as cfg;
    let (recorders, statuses) = tokio::join!(
        async { checked!(aws, cfg, aws.config.describe_configuration_recorders()) },
        async {
            checked!(
                aws,
                cfg,
                aws.config.describe_configuration_recorder_status()
            )
        },
    );
    let (recorders, statuses) = match (recorders, statuses) {
        (Ok(r), Ok(s)) => (r, s),
        (Err(e), _) => {
            return finding(
                CONFIG_RECORDER,
                Status::Unread,
                format!("DescribeConfigurationRecorders: {}", one_line(&e)),
                CONFIG,
            )
        }
        (_, Err(e)) => {
            return finding(
                CONFIG_RECORDER,
                Status::Unread,
                format!("DescribeConfigurationRecorderStatus: {}", one_line(&e)),
                CONFIG,
            )
        }
    };
    if statuses.configuration_recorders_status().is_empty() {
        return finding(
            CONFIG_RECORDER,
            Status::NotMet,
            format!(
                "DescribeConfigurationRecorderStatus: no recorder in {}",
                aws.region()
            ),
            CONFIG,
        );
    }
    let mut recording = false;
    let described: Vec<String> = statuses
        .configuration_recorders_status()
        .iter()
        .map(|s| {
            recording |= s.recording();
            let name = s.name().unwrap_or("(unnamed)");
            let all = recorders
                .configuration_recorders()
                .iter()
                .find(|r| r.name() == Some(name))
                .and_then(|r| r.recording_group())
                .map_or_else(|| "-".to_owned(), |g| g.all_supported().to_string());
            format!(
                "recorder {name}: recording {}, lastStatus {}, allSupported {all}",
                s.recording(),
                s.last_status().map_or("-", |l| l.as_str())
            )
        })
        .collect();
    finding(
        CONFIG_RECORDER,
        met(recording),
        described.join("; "),
        CONFIG,
    )
}

/// ACC-5: S3 Control's GetPublicAccessBlock for the account (not a
/// bucket's: the account's applies to every bucket, present and future).
async fn public_access_block(aws: &Aws, account: &str) -> PrerequisiteFinding {
    use aws_sdk_s3control as s3c;
    match checked!(
        aws,
        s3c,
        aws.s3control.get_public_access_block().account_id(account)
    ) {
        Ok(out) => {
            let c = out.public_access_block_configuration();
            let flag = |v: Option<bool>| v.unwrap_or(false);
            let flags = c.map_or([false; 4], |c| {
                [
                    flag(c.block_public_acls()),
                    flag(c.ignore_public_acls()),
                    flag(c.block_public_policy()),
                    flag(c.restrict_public_buckets()),
                ]
            });
            finding(
                ACCOUNT_PUBLIC_ACCESS_BLOCK,
                met(flags.iter().all(|f| *f)),
                format!(
                    "account {account}: BlockPublicAcls {}, IgnorePublicAcls {}, BlockPublicPolicy {}, RestrictPublicBuckets {}",
                    flags[0], flags[1], flags[2], flags[3]
                ),
                S3CONTROL,
            )
        }
        Err(e) => {
            let none = matches!(
                e.as_service_error(),
                Some(GetPublicAccessBlockError::NoSuchPublicAccessBlockConfiguration(_))
            );
            if none {
                finding(
                    ACCOUNT_PUBLIC_ACCESS_BLOCK,
                    Status::NotMet,
                    format!("account {account}: no public access block (NoSuchPublicAccessBlockConfiguration)"),
                    S3CONTROL,
                )
            } else {
                finding(
                    ACCOUNT_PUBLIC_ACCESS_BLOCK,
                    Status::Unread,
                    format!("GetPublicAccessBlock: {}", one_line(&e)),
                    S3CONTROL,
                )
            }
        }
    }
}

/// ACC-6 and ACC-7 from IAM's GetAccountSummary (AccountMFAEnabled,
/// AccountAccessKeysPresent: the root user's, 1 or 0).
async fn root_user(aws: &Aws) -> Vec<PrerequisiteFinding> {
    use aws_sdk_iam as iam;
    let summary = match checked!(aws, iam, aws.iam.get_account_summary()) {
        Ok(out) => out.summary_map().cloned().unwrap_or_default(),
        Err(e) => {
            let why = format!("GetAccountSummary: {}", one_line(&e));
            return vec![
                finding(ROOT_MFA, Status::Unread, why.clone(), IAM),
                finding(ROOT_ACCESS_KEYS, Status::Unread, why, IAM),
            ];
        }
    };
    let value = |key: &SummaryKeyType| summary.get(key).copied();
    let judged = |id, key: SummaryKeyType, wanted: i32| match value(&key) {
        Some(v) => finding(
            id,
            met(v == wanted),
            format!("GetAccountSummary: {} = {v}", key.as_str()),
            IAM,
        ),
        None => finding(
            id,
            Status::Unread,
            format!("GetAccountSummary: no {} in the answer", key.as_str()),
            IAM,
        ),
    };
    vec![
        judged(ROOT_MFA, SummaryKeyType::AccountMfaEnabled, 1),
        judged(
            ROOT_ACCESS_KEYS,
            SummaryKeyType::AccountAccessKeysPresent,
            0,
        ),
    ]
}

//! CloudWatch log groups (PCI DSS 10.2, 10.5.1): encrypted with the Logs
//! key, with retention of at least 90 days (365 by default), created by
//! paysec before the service that writes to them would create an
//! unencrypted one without expiry. Its read also says whether a group
//! whose source never falls silent is receiving events (PCI DSS 10.7.2:
//! a failed audit-logging mechanism is detected).

pub mod permissions;

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::{LogGroup as LiveGroup, OrderBy};
use paysec_aws::emulator::Gap;
use paysec_aws::AwsResultExt;
use paysec_core::resource::{
    adopt_after_conflict, Checks, Comparison, Context, DeleteOutcome, Dependency, Observed,
    Present, QuickCheck, Resource,
};
use paysec_core::retry::{retrying, rules};
use paysec_core::Attr;
use paysec_core::{ErrorClass, LogicalId, Property, ResourceError};

pub struct LogGroup {
    id: LogicalId,
    aws: paysec_aws::Aws,
    name: String,
    kms_key: LogicalId,
    retention_days: i32,
    /// An account-wide group other stacks write to as well (RDS enhanced
    /// monitoring's `RDSOSMetrics`): see [`LogGroup::account_shared`].
    shared: bool,
    writer: Writer,
}

/// What writes to a group, which decides whether silence means failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writer {
    /// A source that writes whatever the traffic: VPC flow logs publish a
    /// record per interface every aggregation interval, `NODATA` when
    /// nothing flowed; an RDS instance's PostgreSQL log records its own
    /// service connections (`log_connections`). A group of such a source
    /// with nothing recent has stopped receiving: the property
    /// [`GroupProperty::Ingestion`] is judged. The source, then where to look when it
    /// stops.
    Continuous(&'static str, &'static str),
    /// A source that writes only when something happens (a function
    /// invocation, an engine upgrade) or writes metrics, not an audit log:
    /// silence proves nothing, so ingestion does not apply (the last event
    /// is quoted all the same).
    OnEvent(&'static str),
}

paysec_core::properties! {
    /// What a log group's read compares.
    pub enum GroupProperty {
        /// The group's KMS key (LOG-4).
        KmsKey = "kms_key",
        /// Its retention in days (LOG-5).
        RetentionDays = "retention_days",
        /// Whether a continuously written group still receives events
        /// (LOG-7): evidence only, `up` cannot make a source write.
        Ingestion = "ingestion",
        Tags = "tags",
    }
}

/// How recent the newest ingested event must be. CloudWatch Logs updates
/// a stream's `lastIngestionTime` "on an eventual consistency basis,
/// typically in less than an hour" (the LogStream reference), so the
/// window is a day: long enough never to fail a healthy group, short
/// enough that a stopped source shows within a day.
pub const INGESTION_WINDOW_HOURS: i64 = 24;

/// The evidence of a group receiving events begins with this; anything
/// else is the finding of a group that is not (`verify` fails LOG-7 on it).
pub const INGESTING: &str = "ingesting: ";

/// The newest stream of a group: its name and when its last event was
/// ingested (milliseconds since the epoch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Newest {
    pub stream: String,
    pub ingested_ms: i64,
}

/// Judges a continuously written group: `(expected, actual)` for the
/// evidence, `actual` beginning with [`INGESTING`] when the newest event
/// was ingested within [`INGESTION_WINDOW_HOURS`] of `now_ms`. A group
/// younger than the window with nothing yet is not ingesting either, and
/// the finding says when to look again.
pub fn judge_ingestion(
    (source, look): (&str, &str),
    now_ms: i64,
    created_ms: Option<i64>,
    newest: Option<&Newest>,
) -> (String, String) {
    let window_ms = INGESTION_WINDOW_HOURS * 3_600_000;
    let expected = format!("an event ingested within the last {INGESTION_WINDOW_HOURS} hours ({source} write continuously)");
    let actual = match newest {
        Some(n) if now_ms - n.ingested_ms <= window_ms => format!(
            "{INGESTING}last event ingested {} ({} ago) in stream {}",
            rfc3339(n.ingested_ms),
            age(now_ms - n.ingested_ms),
            n.stream
        ),
        Some(n) => format!(
            "stopped: last event ingested {} ({} ago) in stream {}: check that {source} still deliver ({look})",
            rfc3339(n.ingested_ms),
            age(now_ms - n.ingested_ms),
            n.stream
        ),
        None => match created_ms {
            Some(c) if now_ms - c < window_ms => format!(
                "nothing ingested yet: the group was created {} ago; AWS reports ingestion within about an hour of the first delivery: run `paysec verify` again later",
                age(now_ms - c)
            ),
            Some(c) => format!(
                "nothing ingested since the group was created {} ({} ago): check that {source} deliver to it ({look})",
                rfc3339(c),
                age(now_ms - c)
            ),
            None => format!("nothing ingested: check that {source} deliver to it ({look})"),
        },
    };
    (expected, actual)
}

fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{ms} ms after the epoch"))
}

/// A duration in the largest whole unit that reads naturally.
fn age(ms: i64) -> String {
    let minutes = ms.max(0) / 60_000;
    match minutes {
        m if m < 120 => format!("{m} min"),
        m if m < 48 * 60 => format!("{} h", m / 60),
        m => format!("{} days", m / (24 * 60)),
    }
}

impl LogGroup {
    /// The group's tags (ListTagsForResource on its ARN), as pairs.
    async fn live_tags(&self, cx: &Context) -> Result<Vec<(String, String)>, ResourceError> {
        let out = self
            .aws
            .logs
            .list_tags_for_resource()
            .resource_arn(cx.env.log_group_arn(&self.name))
            .send()
            .await
            .or_resource(&self.id, "ListTagsForResource")?;
        Ok(out
            .tags()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    /// A group the account shares (RDS writes every instance's enhanced
    /// monitoring into `RDSOSMetrics`, creating it unencrypted with 30
    /// days' retention unless it exists). paysec creates it encrypted with
    /// the configured retention, or brings an existing one up to that: any
    /// KMS key will do (another stack's included), retention no shorter
    /// than configured. `down` never deletes it (others' metrics are in
    /// it): it is kept, and when this stack's key encrypts it, that key is
    /// kept too, so what it holds stays readable.
    pub fn account_shared(mut self) -> Self {
        self.shared = true;
        self
    }
    pub fn new(
        id: LogicalId,
        aws: paysec_aws::Aws,
        name: String,
        kms_key: LogicalId,
        retention_days: i32,
        writer: Writer,
    ) -> Self {
        Self {
            id,
            aws,
            name,
            kms_key,
            retention_days,
            shared: false,
            writer,
        }
    }

    fn present(&self, cx: &Context) -> Present {
        Present::new(&self.name)
            .with(Attr::Name, &self.name)
            .with(Attr::Arn, cx.env.log_group_arn(&self.name))
    }

    async fn set_retention(&self) -> Result<(), ResourceError> {
        self.aws
            .logs
            .put_retention_policy()
            .log_group_name(&self.name)
            .retention_in_days(self.retention_days)
            .send()
            .await
            .or_resource(&self.id, "PutRetentionPolicy")?;
        Ok(())
    }

    /// `down` of a shared group: kept, with this environment's tags taken
    /// off. It stays encrypted as it is: its events are encrypted with the
    /// key that was associated when they were ingested (taking the key off
    /// only stops new ones being encrypted), so when that is this stack's
    /// key, the outcome says so and `down` keeps the key as well.
    async fn keep_shared(&self, cx: &Context) -> Result<DeleteOutcome, ResourceError> {
        let ours = cx.attr(&self.kms_key, Attr::Arn).ok();
        let Some(group) = self.describe().await? else {
            return Ok(DeleteOutcome::default());
        };
        // Handed back to the account: no longer this environment's (its
        // tags come off only if they are this environment's).
        let arn = cx.env.log_group_arn(&self.name);
        let wanted = cx.tags();
        let tagged_ours =
            paysec_core::tags::missing(&wanted, &self.live_tags(cx).await?).is_empty();
        if tagged_ours {
            self.aws
                .logs
                .untag_resource()
                .resource_arn(&arn)
                .set_tag_keys(Some(wanted.into_iter().map(|(k, _)| k).collect()))
                .send()
                .await
                .or_resource(&self.id, "UntagResource")?;
        }
        let encrypted_with = group
            .kms_key_id()
            .filter(|live| Some(*live) == ours)
            .map(str::to_owned);
        let key_note = if encrypted_with.is_some() {
            " It stays encrypted with this environment's Logs key, which is kept with it."
        } else {
            ""
        };
        Ok(DeleteOutcome {
            kept: Some(format!(
                "log group {} kept: RDS enhanced monitoring of every database in the account writes to it (delete it by hand once none does).{key_note}",
                self.name
            )),
            encrypted_with,
        })
    }

    /// The group by its exact name (DescribeLogGroups matches a prefix).
    async fn describe(&self) -> Result<Option<LiveGroup>, ResourceError> {
        let out = self
            .aws
            .logs
            .describe_log_groups()
            .log_group_name_prefix(&self.name)
            .send()
            .await
            .or_resource(&self.id, "DescribeLogGroups")?;
        Ok(out
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(self.name.as_str()))
            .cloned())
    }

    /// The stream with the newest event (DescribeLogStreams ordered by
    /// LastEventTime, descending, one item; a name prefix cannot be given
    /// with that order), or none when nothing was ever written.
    async fn newest_stream(&self) -> Result<Option<Newest>, ResourceError> {
        let out = self
            .aws
            .logs
            .describe_log_streams()
            .log_group_name(&self.name)
            .order_by(OrderBy::LastEventTime)
            .descending(true)
            .limit(1)
            .send()
            .await
            .or_resource(&self.id, "DescribeLogStreams")?;
        Ok(out.log_streams().first().and_then(|s| {
            Some(Newest {
                stream: s.log_stream_name()?.to_owned(),
                ingested_ms: s.last_ingestion_time().or(s.last_event_timestamp())?,
            })
        }))
    }

    /// Records [`GroupProperty::Ingestion`]: judged for a continuous source, not
    /// applicable (with the last event quoted) for another. Always
    /// evidence, never drift: `up` cannot make a source write; `verify`
    /// fails the control on a group that is not [`INGESTING`]. On an
    /// emulator that delivers no service logs, an empty group is left
    /// unjudged (verify: UNKNOWN, with why).
    async fn check_ingestion(
        &self,
        checks: &mut Checks,
        group: &LiveGroup,
    ) -> Result<(), ResourceError> {
        let newest = self.newest_stream().await?;
        match self.writer {
            Writer::OnEvent(source) => checks.not_applicable(
                GroupProperty::Ingestion,
                format!(
                    "{source}: silence proves nothing here; {}",
                    newest.map_or("no event yet".to_owned(), |n| format!(
                        "last event ingested {} in stream {}",
                        rfc3339(n.ingested_ms),
                        n.stream
                    ))
                ),
            ),
            Writer::Continuous(..)
                if newest.is_none() && self.aws.tolerates(Gap::ServiceLogsNotDelivered) => {}
            Writer::Continuous(source, look) => {
                let now_ms = i64::try_from(
                    time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000,
                )
                .unwrap_or(i64::MAX);
                let (expected, actual) = judge_ingestion(
                    (source, look),
                    now_ms,
                    group.creation_time(),
                    newest.as_ref(),
                );
                checks.check(GroupProperty::Ingestion, true, expected, actual);
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Resource for LogGroup {
    fn id(&self) -> &LogicalId {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "log_group"
    }

    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Identity(self.kms_key.clone())]
    }

    /// DescribeLogGroups: it exists with its key and retention, which the
    /// same answer carries (tags are read only by a full read).
    async fn quick_check(
        &self,
        cx: &Context,
        _known: &Present,
    ) -> Result<QuickCheck, ResourceError> {
        let key = cx.attr(&self.kms_key, Attr::Arn)?;
        Ok(self
            .describe()
            .await?
            .is_some_and(|g| {
                g.kms_key_id() == Some(key) && g.retention_in_days() == Some(self.retention_days)
            })
            .into())
    }

    async fn read(
        &self,
        cx: &Context,
        _known: Option<&Present>,
    ) -> Result<Observed, ResourceError> {
        let Some(group) = self.describe().await? else {
            return Ok(Observed::Missing);
        };
        let mut checks = Checks::default();
        let key = cx.attr(&self.kms_key, Attr::Arn)?;
        let live_key = group.kms_key_id().unwrap_or("none");
        if self.shared {
            checks.check(
                GroupProperty::KmsKey,
                group.kms_key_id().is_some(),
                format!("a KMS key (this stack's: {key})"),
                live_key,
            );
        } else {
            checks.equal(GroupProperty::KmsKey, key, live_key);
        }
        let retention = group.retention_in_days().unwrap_or(0);
        // Shared: no shorter than configured (0: never expires).
        let retained = retention == self.retention_days
            || (self.shared && (retention == 0 || retention >= self.retention_days));
        checks.check(
            GroupProperty::RetentionDays,
            retained,
            self.retention_days.to_string(),
            if retention == 0 {
                "never expire".to_owned()
            } else {
                retention.to_string()
            },
        );
        self.check_ingestion(&mut checks, &group).await?;
        let actual = self.live_tags(cx).await?;
        // A shared group carries whichever stack's tags made it.
        if !self.shared {
            checks.tags(&cx.tags(), &actual);
        }
        Ok(checks.observed(self.present(cx)))
    }

    async fn create(&self, cx: &Context) -> Result<Present, ResourceError> {
        let key = cx.attr(&self.kms_key, Attr::Arn)?;
        let created = retrying(&[rules::LOGS_KMS_KEY_NOT_YET_USABLE], || async {
            self.aws
                .logs
                .create_log_group()
                .log_group_name(&self.name)
                .kms_key_id(key)
                .set_tags(Some(cx.tags().into_iter().collect()))
                .send()
                .await
                .or_resource(&self.id, "CreateLogGroup")
        })
        .await;
        match created {
            Ok(_) => {}
            Err(e) if e.class() == ErrorClass::AlreadyExists => {
                return adopt_after_conflict(self, cx, e).await;
            }
            Err(e) => return Err(e),
        }
        self.set_retention().await?;
        Ok(self.present(cx))
    }

    async fn repair(
        &self,
        cx: &Context,
        present: &Present,
        drift: &[Comparison],
    ) -> Result<Present, ResourceError> {
        for (p, _) in GroupProperty::drifted(&self.id, drift)? {
            match p {
                GroupProperty::KmsKey => {
                    let key = cx.attr(&self.kms_key, Attr::Arn)?;
                    retrying(&[rules::LOGS_KMS_KEY_NOT_YET_USABLE], || async {
                        self.aws
                            .logs
                            .associate_kms_key()
                            .log_group_name(&self.name)
                            .kms_key_id(key)
                            .send()
                            .await
                            .or_resource(&self.id, "AssociateKmsKey")
                    })
                    .await?;
                }
                GroupProperty::RetentionDays => self.set_retention().await?,
                GroupProperty::Ingestion => {
                    return Err(p.cannot_set(
                        &self.id,
                        "the group's source must deliver (see `paysec verify`, LOG-7)",
                    ))
                }
                GroupProperty::Tags => {
                    self.aws
                        .logs
                        .tag_resource()
                        .resource_arn(cx.env.log_group_arn(&self.name))
                        .set_tags(Some(cx.tags().into_iter().collect()))
                        .send()
                        .await
                        .or_resource(&self.id, "TagResource")?;
                }
            }
        }
        Ok(present.clone())
    }

    fn adoption_needs_proof(&self) -> bool {
        !self.shared
    }

    /// A shared group is never deleted (`delete` keeps it and removes this
    /// environment's tags), so nothing needs proving.
    async fn ownership(
        &self,
        cx: &Context,
        known: &Present,
    ) -> Result<paysec_core::Ownership, ResourceError> {
        if self.shared {
            return Ok(paysec_core::Ownership::Proven);
        }
        // Its tags alone: a group `down` kept and a later `down
        // --purge-audit-logs` deletes has no key recorded to read it with.
        let tags = match self.live_tags(cx).await {
            Ok(tags) => tags,
            Err(e) if e.class() == ErrorClass::NotFound => return Ok(paysec_core::Ownership::Gone),
            Err(e) => return Err(e),
        };
        Ok(paysec_core::Ownership::from_tags(
            cx,
            &known.physical_id,
            &tags,
        ))
    }

    async fn delete(&self, cx: &Context, _known: &Present) -> Result<DeleteOutcome, ResourceError> {
        if self.shared {
            return self.keep_shared(cx).await;
        }
        // The audit trail outlives the stack: kept, for its retention (PCI
        // DSS 10.5.1), with the key it is encrypted with.
        if !cx.purges_audit_logs() {
            return Ok(DeleteOutcome {
                kept: Some(format!(
                    "log group {} kept with its events ({} days' retention, PCI DSS 10.5.1); a re-`up` of this environment adopts it; `paysec down --purge-audit-logs` deletes it",
                    self.name, self.retention_days
                )),
                encrypted_with: cx.attr(&self.kms_key, Attr::Arn).ok().map(str::to_owned),
            });
        }
        let result = retrying(&[rules::LOGS_OPERATION_ABORTED], || async {
            self.aws
                .logs
                .delete_log_group()
                .log_group_name(&self.name)
                .send()
                .await
                .or_resource(&self.id, "DeleteLogGroup")
        })
        .await;
        match result {
            Ok(_) => Ok(DeleteOutcome::default()),
            Err(e) if e.class() == ErrorClass::NotFound => Ok(DeleteOutcome::default()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;
    const FLOW: (&str, &str) = ("flow logs", "the flow log's status, LOG-6");
    const NOW: i64 = 1_764_568_800_000; // 2025-12-01T06:00:00Z

    fn newest(ago: i64) -> Newest {
        Newest {
            stream: "eni-1-all".to_owned(),
            ingested_ms: NOW - ago,
        }
    }

    #[test]
    fn a_recent_event_is_ingesting_and_quoted() {
        let (expected, actual) =
            judge_ingestion(FLOW, NOW, Some(NOW - 90 * HOUR), Some(&newest(HOUR / 6)));
        assert!(expected.contains("within the last 24 hours"), "{expected}");
        assert_eq!(
            actual,
            "ingesting: last event ingested 2025-12-01T05:50:00Z (10 min ago) in stream eni-1-all"
        );
    }

    #[test]
    fn an_old_last_event_is_a_stopped_source() {
        let (_, actual) =
            judge_ingestion(FLOW, NOW, Some(NOW - 90 * HOUR), Some(&newest(30 * HOUR)));
        assert!(!actual.starts_with(INGESTING), "{actual}");
        assert!(
            actual.starts_with("stopped: last event ingested 2025-11-30T00:00:00Z (30 h ago)"),
            "{actual}"
        );
        assert!(actual.contains("LOG-6"), "names where to look: {actual}");
    }

    #[test]
    fn an_empty_group_is_not_ingesting_young_or_old() {
        let (_, young) = judge_ingestion(FLOW, NOW, Some(NOW - HOUR / 4), None);
        assert!(
            young.starts_with("nothing ingested yet: the group was created 15 min ago")
                && young.contains("run `paysec verify` again later"),
            "{young}"
        );
        let (_, old) = judge_ingestion(FLOW, NOW, Some(NOW - 72 * HOUR), None);
        assert_eq!(
            old,
            "nothing ingested since the group was created 2025-11-28T06:00:00Z (3 days ago): check that flow logs deliver to it (the flow log's status, LOG-6)"
        );
        assert!(!young.starts_with(INGESTING) && !old.starts_with(INGESTING));
    }

    #[test]
    fn the_window_edge_still_counts() {
        let (_, at_edge) = judge_ingestion(FLOW, NOW, None, Some(&newest(24 * HOUR)));
        assert!(at_edge.starts_with(INGESTING), "{at_edge}");
        let (_, past) = judge_ingestion(FLOW, NOW, None, Some(&newest(24 * HOUR + 1)));
        assert!(past.starts_with("stopped: "), "{past}");
    }
}

/// What the group's calls send and what its read makes of AWS's answers,
/// with the SDK's own mock transport.
#[cfg(test)]
mod requests {
    use super::*;
    use aws_sdk_cloudwatchlogs::operation::{
        create_log_group::CreateLogGroupOutput, describe_log_groups::DescribeLogGroupsOutput,
        describe_log_streams::DescribeLogStreamsOutput,
        list_tags_for_resource::ListTagsForResourceOutput,
        put_retention_policy::PutRetentionPolicyOutput,
    };
    use aws_sdk_cloudwatchlogs::types::LogStream;
    use aws_sdk_cloudwatchlogs::Client;
    use paysec_aws::mocked_client;
    use paysec_aws::testing::{mock, offline};
    use paysec_core::testing::context;

    const KEY: &str = "arn:aws:kms:eu-west-1:123456789012:key/1111";
    const NAME: &str = "/aws/vpc-flow-logs/paysec-test-001";

    async fn group(logs: Client) -> (LogGroup, Context) {
        let mut aws = offline(paysec_core::testing::REGION).await;
        aws.logs = logs;
        let group = LogGroup::new(
            LogicalId::new("logs.flow-logs"),
            aws,
            NAME.to_owned(),
            LogicalId::new("kms.logs"),
            365,
            Writer::Continuous("flow logs", "LOG-6"),
        );
        let key = Present::new("1111").with(Attr::Arn, KEY);
        let cx = context("logs.flow-logs", &[("kms.logs", "kms_key", key)]);
        (group, cx)
    }

    #[tokio::test]
    async fn create_sends_the_key_and_the_tags_then_the_retention() {
        let create = mock!(Client::create_log_group)
            .match_requests(|r| {
                let tags = r.tags().cloned().unwrap_or_default();
                r.log_group_name() == Some(NAME)
                    && r.kms_key_id() == Some(KEY)
                    && tags.get("paysec:environment").map(String::as_str) == Some("test-001")
                    && tags.get("paysec:logical-id").map(String::as_str) == Some("logs.flow-logs")
            })
            .then_output(|| CreateLogGroupOutput::builder().build());
        let retention = mock!(Client::put_retention_policy)
            .match_requests(|r| {
                r.log_group_name() == Some(NAME) && r.retention_in_days() == Some(365)
            })
            .then_output(|| PutRetentionPolicyOutput::builder().build());
        let (group, cx) = group(mocked_client!(
            aws_sdk_cloudwatchlogs,
            [&create, &retention]
        ))
        .await;
        let present = group.create(&cx).await.expect("created");
        assert_eq!(present.physical_id, NAME);
        assert_eq!((create.num_calls(), retention.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn a_tampered_group_is_drift_quoting_the_live_values() {
        let described = mock!(Client::describe_log_groups)
            .match_requests(|r| r.log_group_name_prefix() == Some(NAME))
            .then_output(|| {
                DescribeLogGroupsOutput::builder()
                    .log_groups(
                        LiveGroup::builder()
                            .log_group_name(NAME)
                            .kms_key_id("arn:aws:kms:eu-west-1:123456789012:key/other")
                            .retention_in_days(30)
                            .creation_time(1_000)
                            .build(),
                    )
                    .build()
            });
        let streams = mock!(Client::describe_log_streams)
            .match_requests(|r| {
                r.order_by() == Some(&OrderBy::LastEventTime)
                    && r.descending() == Some(true)
                    && r.limit() == Some(1)
            })
            .then_output(|| {
                DescribeLogStreamsOutput::builder()
                    .log_streams(
                        LogStream::builder()
                            .log_stream_name("eni-1-all")
                            .last_ingestion_time(2_000)
                            .build(),
                    )
                    .build()
            });
        let tags = mock!(Client::list_tags_for_resource)
            .then_output(|| ListTagsForResourceOutput::builder().build());
        let (group, cx) = group(mocked_client!(
            aws_sdk_cloudwatchlogs,
            [&described, &streams, &tags]
        ))
        .await;
        let Observed::Present {
            drift, evidence, ..
        } = group.read(&cx, None).await.expect("read")
        else {
            panic!("present");
        };
        let found = |p: GroupProperty| drift.iter().find(|d| d.property == p.as_str()).cloned();
        assert_eq!(
            found(GroupProperty::KmsKey).map(|d| (d.expected, d.actual)),
            Some((
                KEY.to_owned(),
                "arn:aws:kms:eu-west-1:123456789012:key/other".to_owned()
            ))
        );
        assert_eq!(
            found(GroupProperty::RetentionDays).map(|d| d.actual),
            Some("30".to_owned())
        );
        assert_eq!(
            found(GroupProperty::Tags).map(|d| d.actual),
            Some("absent".to_owned())
        );
        // A stopped source is evidence `verify` fails, never drift `up`
        // would try to repair.
        let ingestion = evidence
            .iter()
            .find(|d| d.property == GroupProperty::Ingestion.as_str())
            .expect("ingestion judged");
        assert!(
            ingestion
                .actual
                .starts_with("stopped: last event ingested 1970-01-01T00:00:02Z"),
            "{}",
            ingestion.actual
        );
    }
}

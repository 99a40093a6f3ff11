//! What the data-flow diagram is built with: the survey's facts (each
//! resource's physical id, kind and live values, keys by alias) and the
//! builder that turns them into elements and arrows (a store with its key
//! and retention, a flow only when both its ends were found live).

use std::collections::BTreeMap;

use paysec_core::scheduler::{Planned, PlannedChange};

use crate::{controls_of, Edge, Node, Origin, Shape};

pub(super) struct Facts<'a> {
    by_id: BTreeMap<&'a str, &'a PlannedChange>,
    /// KMS key id to its alias, from the keys' reads.
    aliases: Vec<(String, String)>,
}

impl<'a> Facts<'a> {
    pub(super) fn new(changes: &'a [PlannedChange]) -> Self {
        let by_id: BTreeMap<&str, &PlannedChange> = changes
            .iter()
            .filter(|c| !matches!(c.planned, Planned::Create | Planned::Delete { .. }))
            .map(|c| (c.id.as_str(), c))
            .collect();
        let aliases = changes
            .iter()
            .filter(|c| c.kind == "kms_key")
            .filter_map(|c| {
                let key = c.planned.physical_id()?.to_owned();
                let alias = live_of(c, paysec_kms::key::KeyProperty::Alias.as_str())?;
                Some((key, alias.to_owned()))
            })
            .collect();
        Self { by_id, aliases }
    }

    pub(super) fn physical(&self, id: &str) -> Option<&'a str> {
        self.by_id.get(id).and_then(|c| c.planned.physical_id())
    }

    pub(super) fn kind(&self, id: &str) -> Option<&'a str> {
        self.by_id.get(id).map(|c| c.kind.as_str())
    }

    pub(super) fn live(&self, id: &str, property: &str) -> Option<&'a str> {
        self.by_id.get(id).and_then(|c| live_of(c, property))
    }

    /// A key's alias where the value names a key paysec read, else the
    /// value as AWS gave it.
    pub(super) fn key(&self, value: &str) -> String {
        self.aliases
            .iter()
            .find(|(key, _)| value.contains(key.as_str()))
            .map_or_else(|| value.to_owned(), |(_, alias)| alias.clone())
    }
}

/// The live value a read quoted for `property` (matched or not).
fn live_of<'a>(c: &'a PlannedChange, property: &str) -> Option<&'a str> {
    let drift = match &c.planned {
        Planned::Repair { drift, .. } => drift.as_slice(),
        _ => &[],
    };
    c.evidence
        .iter()
        .chain(drift)
        .find(|cmp| cmp.property == property)
        .map(|cmp| cmp.actual.as_str())
}

/// Cuts a long value (a policy, a list) to a label's width.
pub(super) fn short(s: &str) -> String {
    // Labels wrap; past this a value (a policy list) would only make its
    // box taller than the page.
    const MAX: usize = 100;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(MAX - 1).collect::<String>())
    }
}

pub(super) struct Builder<'a> {
    pub(super) facts: Facts<'a>,
    pub(super) nodes: Vec<Node>,
    pub(super) edges: Vec<Edge>,
    pub(super) legend: Vec<String>,
}

impl Builder<'_> {
    /// A resource of the survey as an element: its physical id, logical
    /// id, the lines given, and its kind's controls. None when it was not
    /// found live.
    pub(super) fn resource(
        &mut self,
        logical: &str,
        what: &str,
        lines: Vec<String>,
        shape: Shape,
    ) -> Option<String> {
        let Some(physical) = self.facts.physical(logical) else {
            self.legend.push(format!(
                "{what} ({logical}): not found live (not built, or not read), not drawn"
            ));
            return None;
        };
        let mut all = vec![format!("{what} ({logical})"), short(physical)];
        all.extend(lines);
        self.nodes.push(Node {
            id: physical.to_owned(),
            lines: all,
            controls: self
                .facts
                .kind(logical)
                .map(controls_of)
                .unwrap_or_default(),
            origin: Origin::Paysec,
            shape,
            rows: Vec::new(),
        });
        Some(physical.to_owned())
    }

    pub(super) fn party(&mut self, id: &str, lines: Vec<String>) -> String {
        self.nodes.push(Node {
            id: id.to_owned(),
            lines,
            controls: Vec::new(),
            origin: Origin::Outside,
            shape: Shape::Party,
            rows: Vec::new(),
        });
        id.to_owned()
    }

    /// Draws a flow when both ends were found live; says whether it did.
    pub(super) fn flow(
        &mut self,
        from: &Option<String>,
        to: &Option<String>,
        lines: Vec<String>,
    ) -> bool {
        let (Some(from), Some(to)) = (from, to) else {
            return false;
        };
        self.edges.push(Edge {
            id: format!("flow-{from}-{to}"),
            from: from.clone(),
            to: to.clone(),
            lines,
            controls: Vec::new(),
            origin: Origin::Paysec,
            upward: false,
        });
        true
    }

    /// A log group as a store: its key and retention as read.
    pub(super) fn log_group(&mut self, logical: &str, what: &str) -> Option<String> {
        use paysec_logs::GroupProperty as G;
        let key = self
            .facts
            .live(logical, G::KmsKey.as_str())
            .map(|k| self.facts.key(k));
        let days = self.facts.live(logical, G::RetentionDays.as_str());
        self.resource(
            logical,
            what,
            vec![
                format!("key {}", key.unwrap_or_else(|| "not read".into())),
                format!("retention {} days", days.unwrap_or("not read")),
            ],
            Shape::Store,
        )
    }

    pub(super) fn bucket(&mut self, logical: &str, what: &str) -> Option<String> {
        use paysec_s3::BucketProperty as B;
        // SSE-KMS names its key; SSE-S3 (AES256) has none: a bucket that
        // receives S3's server access logs cannot use a KMS key.
        let enc =
            self.facts
                .live(logical, B::Encryption.as_str())
                .map(|e| match self.facts.key(e) {
                    alias if alias.starts_with("alias/") => format!("SSE-KMS with {alias}"),
                    _ if e.trim() == "AES256" => "SSE-S3 (AES256)".to_owned(),
                    other => other,
                });
        let life = self.facts.live(logical, B::Lifecycle.as_str());
        self.resource(
            logical,
            what,
            vec![
                format!(
                    "encryption {}",
                    short(&enc.unwrap_or_else(|| "not read".into()))
                ),
                format!("retention {}", short(life.unwrap_or("not read"))),
            ],
            Shape::Store,
        )
    }
}

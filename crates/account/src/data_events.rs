//! Which of a trail's event selectors log S3 object-level events (data
//! events) on a bucket, and for which direction. CloudTrail has two
//! selector shapes: basic ones (a `DataResource` of type
//! `AWS::S3::Object` with ARN prefixes, and a read/write type) and advanced
//! ones (field selectors ANDed together). Only a selector that logs every
//! object of the bucket counts: a narrower one (an object prefix, a
//! suffix, an excluded name, a filter on who or which call) leaves events
//! out that 10.2.1.1 wants recorded, so it is reported as not covering.

use aws_sdk_cloudtrail::types::{AdvancedEventSelector, EventSelector, ReadWriteType};

/// Read and write events logged on a bucket's objects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    pub read: bool,
    pub write: bool,
}

impl Coverage {
    pub fn both(self) -> bool {
        self.read && self.write
    }

    fn add(&mut self, other: Coverage) {
        self.read |= other.read;
        self.write |= other.write;
    }
}

/// `arn:PARTITION:s3:::BUCKET/`, the prefix of every object ARN in the
/// bucket, for the partition the trail's own ARN names.
fn object_prefix(partition: &str, bucket: &str) -> String {
    format!("arn:{partition}:s3:::{bucket}/")
}

/// Whether a basic selector's ARN value takes in every object of the
/// bucket: all buckets (`arn:aws:s3`, or `arn:aws:s3:::`) or exactly the
/// bucket's prefix.
fn basic_value_covers(value: &str, partition: &str, bucket: &str) -> bool {
    let all = format!("arn:{partition}:s3");
    value == all || value == format!("{all}:::") || value == object_prefix(partition, bucket)
}

/// What the basic selectors log of `bucket`'s objects.
pub fn basic(selectors: &[EventSelector], partition: &str, bucket: &str) -> Coverage {
    let mut seen = Coverage::default();
    for s in selectors {
        let covers = s.data_resources().iter().any(|d| {
            d.r#type() == Some("AWS::S3::Object")
                && d.values()
                    .iter()
                    .any(|v| basic_value_covers(v, partition, bucket))
        });
        if covers {
            // No read/write type: CloudTrail's default, All.
            seen.add(match s.read_write_type() {
                Some(ReadWriteType::ReadOnly) => Coverage {
                    read: true,
                    write: false,
                },
                Some(ReadWriteType::WriteOnly) => Coverage {
                    read: false,
                    write: true,
                },
                _ => Coverage {
                    read: true,
                    write: true,
                },
            });
        }
    }
    seen
}

/// What one advanced selector logs of `bucket`'s objects: nothing unless
/// it selects S3 object data events and none of its fields narrows them
/// below the whole bucket.
fn advanced_one(selector: &AdvancedEventSelector, partition: &str, bucket: &str) -> Coverage {
    let none = Coverage::default();
    let prefix = object_prefix(partition, bucket);
    let mut data = false;
    let mut objects = false;
    let mut coverage = Coverage {
        read: true,
        write: true,
    };
    for f in selector.field_selectors() {
        let negated = !(f.not_equals().is_empty()
            && f.not_starts_with().is_empty()
            && f.not_ends_with().is_empty());
        match f.field() {
            "eventCategory" => data = f.equals().iter().any(|v| v == "Data"),
            "resources.type" => objects = f.equals().iter().any(|v| v == "AWS::S3::Object"),
            "resources.ARN" => {
                // Whole bucket: a StartsWith that every object ARN of it
                // starts with, and nothing excluded or suffixed.
                let whole = f
                    .starts_with()
                    .iter()
                    .any(|v| prefix.starts_with(v.as_str()));
                if !whole || negated || !f.ends_with().is_empty() || !f.equals().is_empty() {
                    return none;
                }
            }
            "readOnly" => match f.equals() {
                [v] if v == "true" => coverage.write = false,
                [v] if v == "false" => coverage.read = false,
                _ => {}
            },
            "eventSource" if !negated && f.equals().iter().any(|v| v == "s3.amazonaws.com") => {}
            // Any other field (eventName, userIdentity.arn, ...) or a
            // negated eventSource narrows what is logged.
            _ => return none,
        }
    }
    if data && objects {
        coverage
    } else {
        none
    }
}

/// What the advanced selectors log of `bucket`'s objects.
pub fn advanced(selectors: &[AdvancedEventSelector], partition: &str, bucket: &str) -> Coverage {
    let mut seen = Coverage::default();
    for s in selectors {
        seen.add(advanced_one(s, partition, bucket));
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudtrail::types::{AdvancedFieldSelector, DataResource};

    fn field(name: &str, equals: &[&str], starts_with: &[&str]) -> AdvancedFieldSelector {
        let mut b = AdvancedFieldSelector::builder().field(name);
        for v in equals {
            b = b.equals(*v);
        }
        for v in starts_with {
            b = b.starts_with(*v);
        }
        b.build().unwrap()
    }

    fn selector(fields: Vec<AdvancedFieldSelector>) -> AdvancedEventSelector {
        AdvancedEventSelector::builder()
            .set_field_selectors(Some(fields))
            .build()
            .unwrap()
    }

    fn s3_data() -> Vec<AdvancedFieldSelector> {
        vec![
            field("eventCategory", &["Data"], &[]),
            field("resources.type", &["AWS::S3::Object"], &[]),
        ]
    }

    #[test]
    fn an_advanced_selector_for_every_object_covers_both_directions() {
        let all = advanced(&[selector(s3_data())], "aws", "pay-data");
        assert!(all.both());
        let mut narrowed = s3_data();
        narrowed.push(field("resources.ARN", &[], &["arn:aws:s3:::pay-data/"]));
        assert!(advanced(&[selector(narrowed)], "aws", "pay-data").both());
        let mut elsewhere = s3_data();
        elsewhere.push(field("resources.ARN", &[], &["arn:aws:s3:::other/"]));
        assert_eq!(
            advanced(&[selector(elsewhere)], "aws", "pay-data"),
            Coverage::default()
        );
    }

    #[test]
    fn a_prefix_a_filter_or_one_direction_is_not_the_whole_bucket() {
        let mut prefix = s3_data();
        prefix.push(field(
            "resources.ARN",
            &[],
            &["arn:aws:s3:::pay-data/cards/"],
        ));
        assert!(!advanced(&[selector(prefix)], "aws", "pay-data").read);
        let mut by_name = s3_data();
        by_name.push(field("eventName", &["PutObject"], &[]));
        assert!(!advanced(&[selector(by_name)], "aws", "pay-data").write);
        let mut reads = s3_data();
        reads.push(field("readOnly", &["true"], &[]));
        let mut writes = s3_data();
        writes.push(field("readOnly", &["false"], &[]));
        let one = advanced(&[selector(reads.clone())], "aws", "pay-data");
        assert_eq!((one.read, one.write), (true, false));
        assert!(advanced(&[selector(reads), selector(writes)], "aws", "pay-data").both());
        let management = vec![field("eventCategory", &["Management"], &[])];
        assert!(!advanced(&[selector(management)], "aws", "pay-data").read);
    }

    #[test]
    fn a_basic_selector_covers_all_buckets_or_exactly_this_one() {
        let sel = |values: &[&str], rw: ReadWriteType| {
            let mut d = DataResource::builder().r#type("AWS::S3::Object");
            for v in values {
                d = d.values(*v);
            }
            EventSelector::builder()
                .read_write_type(rw)
                .data_resources(d.build())
                .build()
        };
        assert!(basic(&[sel(&["arn:aws:s3"], ReadWriteType::All)], "aws", "b").both());
        assert!(basic(&[sel(&["arn:aws:s3:::b/"], ReadWriteType::All)], "aws", "b").both());
        assert!(
            !basic(
                &[sel(&["arn:aws:s3:::b/x/"], ReadWriteType::All)],
                "aws",
                "b"
            )
            .read
        );
        assert!(!basic(&[sel(&["arn:aws:s3:::c/"], ReadWriteType::All)], "aws", "b").read);
        let w = basic(
            &[sel(&["arn:aws:s3"], ReadWriteType::WriteOnly)],
            "aws",
            "b",
        );
        assert_eq!((w.read, w.write), (false, true));
    }
}

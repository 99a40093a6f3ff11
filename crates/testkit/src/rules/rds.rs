//! RDS: encrypted snapshots kept private, parameter apply types, and the
//! engine versions and orderable instance options answered from a catalog.

use std::net::SocketAddr;

use super::answer;
use crate::exchange::{ask, form, form_get, Call, Verdict, XML_OK};
use crate::wire::between;

/// ModifyDBSnapshotAttribute adding `all` to `restore` of an encrypted
/// snapshot: "You can't share encrypted snapshots as public" (RDS User
/// Guide, sharing a DB snapshot); RDS answers InvalidParameterValue.
pub(super) async fn public_encrypted_snapshot(
    upstream: SocketAddr,
    call: &Call<'_>,
) -> Option<Verdict> {
    let pairs = form(call.body);
    let adds_all = pairs
        .iter()
        .any(|(k, v)| k.starts_with("ValuesToAdd.") && v == "all");
    let id = form_get(&pairs, "DBSnapshotIdentifier")?;
    if !adds_all {
        return None;
    }
    let (ok, body) = ask(
        upstream,
        call.head,
        "rds",
        &format!("Action=DescribeDBSnapshots&DBSnapshotIdentifier={id}&Version=2014-10-31"),
        None,
    )
    .await?;
    (ok && between(&body, "<Encrypted>", "</Encrypted>") == Some("true")).then(|| {
        Verdict::Refuse(
            400,
            "InvalidParameterValue",
            format!("The snapshot {id} is encrypted and cannot be shared publicly."),
        )
    })
}

/// RDS parameter groups: DescribeDBParameters of a whole group (no
/// `Source`) lists the catalog's parameters with their apply types and
/// the values moto holds; ModifyDBParameterGroup with `immediate` on a
/// static parameter is refused, as RDS does ("You can use the immediate
/// value with dynamic parameters only").
pub(super) async fn parameter_rules(
    types: &[(&'static str, &'static str)],
    upstream: SocketAddr,
    call: &Call<'_>,
) -> Option<Verdict> {
    let pairs = form(call.body);
    match call.signature {
        "ModifyDBParameterGroup" => {
            for (key, name) in &pairs {
                let Some(prefix) = key.strip_suffix(".ParameterName") else {
                    continue;
                };
                let method = form_get(&pairs, &format!("{prefix}.ApplyMethod"));
                let is_static = types.iter().any(|(n, t)| n == name && *t == "static");
                if is_static && method.as_deref() == Some("immediate") {
                    return Some(Verdict::Refuse(
                        400,
                        "InvalidParameterCombination",
                        "cannot use immediate apply method for static parameter".into(),
                    ));
                }
            }
            None
        }
        "DescribeDBParameters" if form_get(&pairs, "Source").is_none() => {
            let (ok, held) = ask(upstream, call.head, "rds", call.body, None).await?;
            if !ok {
                return None;
            }
            let value_of = |name: &str| {
                held.split("<Parameter>").skip(1).find_map(|p| {
                    (between(p, "<ParameterName>", "</ParameterName>") == Some(name))
                        .then(|| between(p, "<ParameterValue>", "</ParameterValue>"))
                        .flatten()
                })
            };
            let items: String = types
                .iter()
                .map(|(name, apply)| {
                    let (value, source) = match value_of(name) {
                        Some(v) => (format!("<ParameterValue>{v}</ParameterValue>"), "user"),
                        None => (String::new(), "engine-default"),
                    };
                    format!("<Parameter><ParameterName>{name}</ParameterName>{value}<Source>{source}</Source><ApplyType>{apply}</ApplyType><IsModifiable>true</IsModifiable></Parameter>")
                })
                .collect();
            Some(answer(
                XML_OK,
                &rds_response(
                    "DescribeDBParameters",
                    &format!("<Parameters>{items}</Parameters>"),
                ),
            ))
        }
        _ => None,
    }
}

/// The offered versions a requested one (a minor, or a major alone)
/// stands for.
pub(super) fn offered<'a>(versions: &'a [String], requested: &str) -> Vec<&'a String> {
    versions
        .iter()
        .filter(|v| {
            *v == requested || (!requested.contains('.') && v.split('.').next() == Some(requested))
        })
        .collect()
}

fn default_of<'a>(versions: &'a [String], major: &str) -> Option<&'a String> {
    versions.iter().find(|v| v.split('.').next() == Some(major))
}

fn rds_response(action: &str, inner: &str) -> String {
    format!(
        "<{action}Response xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\"><{action}Result>{inner}</{action}Result><ResponseMetadata><RequestId>rules</RequestId></ResponseMetadata></{action}Response>"
    )
}

pub(super) fn engine_versions(versions: &[String], pairs: &[(String, String)]) -> String {
    let engine = form_get(pairs, "Engine").unwrap_or_else(|| "postgres".into());
    let default_only = form_get(pairs, "DefaultOnly").as_deref() == Some("true");
    let listed: Vec<&String> = if engine != "postgres" {
        Vec::new()
    } else {
        match form_get(pairs, "EngineVersion") {
            Some(v) => offered(versions, &v),
            None => versions.iter().collect(),
        }
    };
    let mut items = String::new();
    let mut majors_done = Vec::new();
    for v in listed {
        let major = v.split('.').next().unwrap_or_default();
        let is_default = default_of(versions, major) == Some(v);
        if default_only && (!is_default || majors_done.contains(&major)) {
            continue;
        }
        majors_done.push(major);
        items.push_str(&format!(
            "<DBEngineVersion><Engine>postgres</Engine><EngineVersion>{v}</EngineVersion><MajorEngineVersion>{major}</MajorEngineVersion><DBParameterGroupFamily>postgres{major}</DBParameterGroupFamily><DBEngineDescription>PostgreSQL</DBEngineDescription><DBEngineVersionDescription>PostgreSQL {v}</DBEngineVersionDescription><Status>available</Status></DBEngineVersion>"
        ));
    }
    rds_response(
        "DescribeDBEngineVersions",
        &format!("<DBEngineVersions>{items}</DBEngineVersions>"),
    )
}

/// The classes the model offers, in every zone of the region but `e`
/// (us-east-1e lacks most current instance families).
const CLASSES: &[&str] = &[
    "db.t3.micro",
    "db.t3.small",
    "db.t3.medium",
    "db.t4g.micro",
    "db.t4g.small",
    "db.t4g.medium",
    "db.m6g.large",
    "db.m7g.large",
    "db.r6g.large",
];

pub(super) fn orderable(versions: &[String], region: &str, pairs: &[(String, String)]) -> String {
    let engine = form_get(pairs, "Engine").unwrap_or_default();
    let wanted_class = form_get(pairs, "DBInstanceClass");
    let listed: Vec<&String> = match form_get(pairs, "EngineVersion") {
        Some(v) => offered(versions, &v),
        None => versions.iter().collect(),
    };
    let zones: String = ["a", "b", "c", "d", "f"]
        .iter()
        .map(|z| format!("<AvailabilityZone><Name>{region}{z}</Name></AvailabilityZone>"))
        .collect();
    let mut items = String::new();
    if engine == "postgres" {
        for v in listed {
            for class in CLASSES
                .iter()
                .filter(|c| wanted_class.as_deref().is_none_or(|w| w == **c))
            {
                items.push_str(&format!(
                    "<OrderableDBInstanceOption><Engine>postgres</Engine><EngineVersion>{v}</EngineVersion><DBInstanceClass>{class}</DBInstanceClass><LicenseModel>postgresql-license</LicenseModel><AvailabilityZones>{zones}</AvailabilityZones><MultiAZCapable>true</MultiAZCapable><StorageType>gp3</StorageType><SupportsStorageEncryption>true</SupportsStorageEncryption><SupportsIAMDatabaseAuthentication>true</SupportsIAMDatabaseAuthentication><SupportsEnhancedMonitoring>true</SupportsEnhancedMonitoring><SupportsPerformanceInsights>true</SupportsPerformanceInsights></OrderableDBInstanceOption>"
                ));
            }
        }
    }
    rds_response(
        "DescribeOrderableDBInstanceOptions",
        &format!("<OrderableDBInstanceOptions>{items}</OrderableDBInstanceOptions>"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::Rules;

    #[test]
    fn engine_versions_answer_a_major_with_its_minors_and_default() {
        let versions = Rules::aws().rds_engine_versions.unwrap();
        let all = engine_versions(&versions, &form("Engine=postgres&EngineVersion=16"));
        assert_eq!(all.matches("<DBEngineVersion>").count(), 4);
        let default = engine_versions(
            &versions,
            &form("Engine=postgres&EngineVersion=16&DefaultOnly=true"),
        );
        assert_eq!(default.matches("<DBEngineVersion>").count(), 1);
        assert!(default.contains("<EngineVersion>16.9</EngineVersion>"));
        assert!(offered(&versions, "16.6").is_empty(), "a retired minor");
        let orderable = orderable(
            &versions,
            "us-east-1",
            &form("Engine=postgres&EngineVersion=16.9&DBInstanceClass=db.t3.micro"),
        );
        assert_eq!(orderable.matches("<OrderableDBInstanceOption>").count(), 1);
        assert!(!orderable.contains("us-east-1e"));
    }
}

//! What the preflight resolves for the blueprint from what the account
//! offers: the engine version to create and the three zones.

/// A PostgreSQL version's parts, for ordering minors numerically.
fn version_key(v: &str) -> Vec<u32> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

/// The version to create: the newest minor of a configured major, or the
/// configured minor if RDS offers it. `Err` says what to set instead.
pub fn choose_engine_version(configured: &str, offered: &[String]) -> Result<String, String> {
    let major = configured.split('.').next().unwrap_or(configured);
    let mut minors: Vec<&String> = offered
        .iter()
        .filter(|v| v.split('.').next() == Some(major))
        .collect();
    minors.sort_by_key(|v| version_key(v));
    let Some(newest) = minors.last() else {
        return Err(format!(
            "RDS offers no PostgreSQL {major} here; set rds.engine_version (and rds.parameter_group_family) to a major it offers"
        ));
    };
    if !configured.contains('.') {
        return Ok((*newest).clone());
    }
    if minors.iter().any(|v| *v == configured) {
        return Ok(configured.to_owned());
    }
    let listed: Vec<&str> = minors.iter().map(|v| v.as_str()).collect();
    Err(format!(
        "RDS no longer offers PostgreSQL {configured} (retired); set rds.engine_version = \"{major}\" (the newest {major}.x, now {newest}) or one of {}",
        listed.join(", ")
    ))
}

/// Three zones for the stack: those the instance class is offered in, and
/// the RDS endpoint service too, first by name. `Err` says why not.
pub fn choose_zones(
    region_zones: &[String],
    class_zones: Option<&[String]>,
    endpoint_zones: Option<&[String]>,
    configured: &[String],
) -> Result<Vec<String>, String> {
    let usable: Vec<String> = region_zones
        .iter()
        .filter(|z| class_zones.is_none_or(|c| c.contains(z)))
        .filter(|z| endpoint_zones.is_none_or(|e| e.contains(z)))
        .cloned()
        .collect();
    if !configured.is_empty() {
        return match configured.iter().find(|z| !usable.contains(z)) {
            Some(z) => Err(format!(
                "network.availability_zones names {z}, which does not offer the database (instance class and RDS endpoint); usable: {}",
                usable.join(", ")
            )),
            None => Ok(configured.to_vec()),
        };
    }
    if usable.len() < 3 {
        return Err(format!(
            "only {} zone(s) offer the instance class and the RDS endpoint ({}); the stack needs 3: choose another rds.instance_class or region",
            usable.len(),
            usable.join(", ")
        ));
    }
    Ok(usable[..3].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn a_major_takes_its_newest_minor_and_a_retired_minor_is_refused() {
        let offered = s(&["16.9", "16.10", "16.8", "17.5"]);
        assert_eq!(choose_engine_version("16", &offered).unwrap(), "16.10");
        assert_eq!(choose_engine_version("16.9", &offered).unwrap(), "16.9");
        let why = choose_engine_version("16.6", &offered).unwrap_err();
        assert!(why.contains("no longer offers PostgreSQL 16.6"), "{why}");
        assert!(why.contains("rds.engine_version = \"16\""), "{why}");
        assert!(choose_engine_version("15", &offered).is_err());
    }

    #[test]
    fn zones_offer_the_class_and_the_endpoint() {
        let region = s(&["r-1a", "r-1b", "r-1c", "r-1d", "r-1e"]);
        let class = s(&["r-1a", "r-1c", "r-1d", "r-1e"]);
        let endpoint = s(&["r-1a", "r-1b", "r-1c", "r-1e"]);
        assert_eq!(
            choose_zones(&region, Some(&class), Some(&endpoint), &[]).unwrap(),
            s(&["r-1a", "r-1c", "r-1e"])
        );
        assert_eq!(
            choose_zones(&region, None, None, &[]).unwrap(),
            s(&["r-1a", "r-1b", "r-1c"])
        );
        let few = s(&["r-1a", "r-1b"]);
        assert!(choose_zones(&region, Some(&few), None, &[]).is_err());
        let configured = s(&["r-1a", "r-1b", "r-1c"]);
        let why = choose_zones(&region, Some(&class), None, &configured).unwrap_err();
        assert!(why.contains("r-1b"), "{why}");
    }
}

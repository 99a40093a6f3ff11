//! Which endpoint each client talks to, decided once by paysec and vetted.
//!
//! The SDK resolves a service's endpoint from, in order: code, the
//! service's variable (`AWS_ENDPOINT_URL_S3`, `_STS`...), the global
//! `AWS_ENDPOINT_URL`, the profile's `services` section, the profile's
//! `endpoint_url`. A per-service setting wins over the global one, and even
//! over an endpoint given to the config loader, so checking only the global
//! endpoint would let signed calls go elsewhere unchecked (in clear, or to
//! an STS that decides the account id written into every policy).
//!
//! paysec therefore reads every client's endpoint here: `--endpoint-url`
//! (or the config's `endpoint_url`) for all of them when given, as explicit
//! configuration wins for AWS too; else each service's configured one.
//! Each is parsed and vetted like the global one, and the clients are built
//! with exactly these ([`Pinned`]), so what was vetted is what is used, and
//! the report's scope names each service's endpoint.

use std::collections::BTreeMap;

use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

use crate::setup::{is_loopback, parse_endpoint, SetupError};

/// The SDK service ids of the clients paysec builds (the names
/// `AWS_ENDPOINT_URL_<ID>` and a profile's `services` section use).
pub const SERVICE_IDS: &[&str] = &[
    "API Gateway",
    "CloudTrail",
    "CloudWatch",
    "CloudWatch Logs",
    "Config Service",
    "EC2",
    "GuardDuty",
    "IAM",
    "KMS",
    "Lambda",
    "RDS",
    "Resource Groups Tagging API",
    "Route53Resolver",
    "S3",
    "S3 Control",
    "SNS",
    "SQS",
    "Secrets Manager",
    "Service Quotas",
    "signer",
    "STS",
];

/// A service's own variable: `AWS_ENDPOINT_URL_` and its id in capitals,
/// spaces as underscores (`CloudWatch Logs` → `AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`).
pub fn variable_of(service_id: &str) -> String {
    format!(
        "AWS_ENDPOINT_URL_{}",
        service_id.to_ascii_uppercase().replace(' ', "_")
    )
}

/// Every client's endpoint (`None`: AWS's own for the region), and where
/// each came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoints {
    by_service: BTreeMap<&'static str, Option<String>>,
    source: BTreeMap<&'static str, String>,
}

impl Endpoints {
    /// What each client would use: `explicit` for all when given, else what
    /// the SDK's configuration (`configured`: variables and profile)
    /// names for each service.
    pub fn decide(explicit: Option<&str>, configured: Option<&dyn LoadServiceConfig>) -> Self {
        let mut e = Self::default();
        for id in SERVICE_IDS {
            let (value, source) = match explicit {
                Some(url) => (Some(url.to_owned()), "--endpoint-url".to_owned()),
                None => {
                    let key = ServiceConfigKey::builder()
                        .service_id(id)
                        .env("AWS_ENDPOINT_URL")
                        .profile("endpoint_url")
                        .build()
                        .expect("every field set");
                    let value = configured.and_then(|c| c.load_config(key));
                    (value, source_of(id))
                }
            };
            e.by_service.insert(id, value);
            e.source.insert(id, source);
        }
        e
    }

    /// Each configured endpoint parsed and vetted: `http`/`https`, a host,
    /// no user part; plain HTTP only to this machine or with
    /// `allow_http`. The error names the setting it came from.
    pub fn vet(&self, allow_http: bool) -> Result<(), SetupError> {
        for (id, value) in &self.by_service {
            let Some(value) = value else { continue };
            let from = &self.source[id];
            let url = parse_endpoint(value).map_err(|e| named(e, id, from))?;
            if url.scheme() == "http" && !is_loopback(&url) && !allow_http {
                return Err(named(
                    SetupError::PlainHttpEndpoint {
                        endpoint: value.clone(),
                    },
                    id,
                    from,
                ));
            }
        }
        Ok(())
    }

    /// `service_id`'s endpoint, if not AWS's own.
    pub fn of(&self, service_id: &str) -> Option<&str> {
        self.by_service.get(service_id).and_then(|v| v.as_deref())
    }

    /// The one endpoint every client uses, when they share one.
    pub fn common(&self) -> Option<&str> {
        let mut values = self.by_service.values();
        let first = values.next()?.as_deref()?;
        values.all(|v| v.as_deref() == Some(first)).then_some(first)
    }

    /// Whether every client talks to an endpoint `ok` accepts (an
    /// emulator's): emulator allowances never reach a call that goes to
    /// AWS.
    pub fn all(&self, ok: impl Fn(&str) -> bool) -> bool {
        self.by_service
            .values()
            .all(|v| v.as_deref().is_some_and(&ok))
    }

    /// Where the calls went, for a report's scope: AWS's endpoints for the
    /// region, one endpoint, or each service's where they differ.
    pub fn describe(&self, region: &str) -> String {
        if let Some(one) = self.common() {
            return one.to_owned();
        }
        if self.by_service.values().all(Option::is_none) {
            return format!("AWS's endpoints for {region}");
        }
        let mut groups: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for (id, value) in &self.by_service {
            let shown = value
                .clone()
                .unwrap_or_else(|| format!("AWS's endpoint for {region}"));
            groups.entry(shown).or_default().push(id);
        }
        groups
            .into_iter()
            .map(|(endpoint, ids)| format!("{}: {endpoint}", ids.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Where a configured endpoint for `id` came from, for messages.
fn source_of(id: &str) -> String {
    let own = variable_of(id);
    if std::env::var_os(&own).is_some() {
        own
    } else if std::env::var_os("AWS_ENDPOINT_URL").is_some() {
        "AWS_ENDPOINT_URL".to_owned()
    } else {
        "the AWS profile (`endpoint_url`, or its `services` section)".to_owned()
    }
}

/// `e` naming the service and the setting the endpoint came from.
fn named(e: SetupError, id: &str, from: &str) -> SetupError {
    match e {
        SetupError::BadEndpoint { endpoint, why } => SetupError::BadEndpoint {
            endpoint: format!("{endpoint} (the {id} endpoint, from {from})"),
            why,
        },
        SetupError::PlainHttpEndpoint { endpoint } => SetupError::PlainHttpEndpoint {
            endpoint: format!("{endpoint} (the {id} endpoint, from {from})"),
        },
        other => other,
    }
}

/// The SDK configuration's endpoint answers, replaced by paysec's
/// decision: every client built from it uses exactly the vetted endpoint.
/// (Endpoints are the only setting the generated clients load through
/// this interface.)
#[derive(Debug)]
pub struct Pinned(pub Endpoints);

impl LoadServiceConfig for Pinned {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        (key.env() == "AWS_ENDPOINT_URL")
            .then(|| self.0.of(key.service_id()).map(str::to_owned))
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A configuration that names `s3` for S3 and `global` for the rest,
    /// as `AWS_ENDPOINT_URL_S3` beside `AWS_ENDPOINT_URL` would.
    #[derive(Debug)]
    struct Configured {
        s3: &'static str,
        global: Option<&'static str>,
    }

    impl LoadServiceConfig for Configured {
        fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
            if key.service_id() == "S3" {
                Some(self.s3.to_owned())
            } else {
                self.global.map(str::to_owned)
            }
        }
    }

    #[test]
    fn a_service_s_own_endpoint_is_vetted_like_the_global_one() {
        let c = Configured {
            s3: "http://s3.evil.example",
            global: Some("http://127.0.0.1:4566"),
        };
        let e = Endpoints::decide(None, Some(&c));
        assert_eq!(e.of("S3"), Some("http://s3.evil.example"));
        assert_eq!(e.of("STS"), Some("http://127.0.0.1:4566"));
        let refused = e.vet(false).unwrap_err().to_string();
        assert!(
            refused.contains("http://s3.evil.example (the S3 endpoint, from"),
            "{refused}"
        );
        assert!(e.vet(true).is_ok(), "allowed for an emulator host");
        let userinfo = Configured {
            s3: "http://localhost:1@evil.example/",
            global: None,
        };
        let refused = Endpoints::decide(None, Some(&userinfo))
            .vet(true)
            .unwrap_err();
        assert!(
            refused.to_string().contains("user name or password"),
            "{refused}"
        );
    }

    #[test]
    fn an_explicit_endpoint_wins_for_every_client() {
        let c = Configured {
            s3: "https://s3.elsewhere.example",
            global: None,
        };
        let e = Endpoints::decide(Some("http://127.0.0.1:5000"), Some(&c));
        assert_eq!(e.common(), Some("http://127.0.0.1:5000"));
        assert!(e.all(|u| u.starts_with("http://127.0.0.1")));
        assert_eq!(
            Pinned(e).load_config(
                ServiceConfigKey::builder()
                    .service_id("S3")
                    .env("AWS_ENDPOINT_URL")
                    .profile("endpoint_url")
                    .build()
                    .unwrap()
            ),
            Some("http://127.0.0.1:5000".to_owned())
        );
    }

    #[test]
    fn the_scope_names_each_service_s_endpoint_where_they_differ() {
        let none = Endpoints::decide(None, None);
        assert_eq!(none.describe("eu-west-3"), "AWS's endpoints for eu-west-3");
        assert!(!none.all(|_| true), "AWS's own endpoints are no emulator's");
        let c = Configured {
            s3: "https://s3.proxy.example",
            global: None,
        };
        let mixed = Endpoints::decide(None, Some(&c));
        let shown = mixed.describe("eu-west-3");
        assert!(shown.contains("S3: https://s3.proxy.example"), "{shown}");
        assert!(shown.contains("STS"), "{shown}");
        assert!(shown.contains("AWS's endpoint for eu-west-3"), "{shown}");
        assert_eq!(
            variable_of("CloudWatch Logs"),
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"
        );
    }
}

//! What can go wrong before the first AWS call (`SetupError`: the
//! endpoint, the region, the credentials, the caller), and the endpoint URL
//! checks both the clients and the per-service endpoints make.

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("the endpoint {endpoint} is plain HTTP to another host: every request, signed with your credentials, would cross the network unencrypted; use https://, a loopback address (127.0.0.1, localhost) for a local emulator, or pass --allow-http-endpoint (PAYSEC_ALLOW_HTTP_ENDPOINT=true) for an emulator on another host")]
    PlainHttpEndpoint { endpoint: String },
    #[error("the endpoint {endpoint} is not usable: {why}; give it as https://HOST[:PORT] (or http://127.0.0.1:PORT for a local emulator)")]
    BadEndpoint { endpoint: String, why: String },
    #[error("no AWS region is configured; pass --region, set AWS_REGION, or set region in the config file or AWS profile")]
    NoRegion,
    #[error("`{region}` is not an AWS region name (like us-east-1 or eu-west-3); check --region, AWS_REGION and the profile's region")]
    BadRegion { region: String },
    #[error("no usable AWS credentials ({detail}); configure them (aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), or for the local emulator run scripts/try-local.sh")]
    Credentials { detail: String },
    #[error("cannot reach AWS at {endpoint} ({detail}); check --endpoint-url/AWS_ENDPOINT_URL, the region, and the network, or start the emulator (scripts/emulator.sh start)")]
    Unreachable { endpoint: String, detail: String },
    #[error("AWS refused GetCallerIdentity: {detail}")]
    Other { detail: String },
    /// STS refused a session of the configured role. AWS says the same
    /// whether the role is missing, does not trust the caller, or wants
    /// another external id, so the message names all three.
    #[error("cannot assume the role {role} (AWS: {detail}); check that the role exists in its account, that its trust policy allows your identity to call sts:AssumeRole, and that the external id it requires (sts:ExternalId) is the one given with --external-id or `external_id` under [environments.NAME]")]
    RoleRefused { role: String, detail: String },
    /// The keys' default administrator is the caller's role, whose real ARN
    /// (path included) only IAM knows.
    #[error("cannot find the IAM role behind {caller} to make it the keys' administrator (iam:GetRole on {role}: {detail}); set kms.admin_principals (PAYSEC_KMS_ADMIN_PRINCIPALS) to the role ARNs, path included, that administer the keys, or allow iam:GetRole")]
    KeyAdministrator {
        caller: String,
        role: String,
        detail: String,
    },
}

/// An endpoint URL parsed as the HTTP client will read it: `http` or
/// `https`, a host, and no user name or password, since
/// `http://localhost:1@evil.example/` reads as this machine to a careless
/// eye and connects to `evil.example`.
pub(crate) fn parse_endpoint(endpoint: &str) -> Result<url::Url, SetupError> {
    let bad = |why: &str| SetupError::BadEndpoint {
        endpoint: endpoint.to_owned(),
        why: why.to_owned(),
    };
    let url = url::Url::parse(endpoint).map_err(|e| bad(&format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("only http:// and https:// endpoints are used"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "it carries a user name or password before `@`, so the connection would go to the host after it",
        ));
    }
    if url.host().is_none() {
        return Err(bad("it names no host"));
    }
    Ok(url)
}

/// Whether an endpoint names this machine (127.0.0.0/8, ::1, localhost).
pub(crate) fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

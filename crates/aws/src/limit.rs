//! A ceiling on concurrent requests per AWS service, shared by everything
//! one paysec process runs (a fleet of environments included). AWS
//! throttles per account and service; keeping the number of requests in
//! flight to one service under a ceiling keeps throttling rare however many
//! resources are being worked on at once, and the SDK's retries handle what
//! remains.
//!
//! It sits in the HTTP client: every attempt waits for one of its service's
//! permits before it is sent and frees it when the answer arrives.

use std::fmt;
use std::sync::Arc;

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use tokio::sync::Semaphore;

/// The SDK's own default HTTPS client (rustls, proxy settings from the
/// environment), built explicitly so it can be wrapped.
pub(crate) fn default_https() -> SharedHttpClient {
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut conn =
            ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
        conn.set_connector_settings(settings.cloned());
        if let Some(c) = components {
            conn.set_sleep_impl(c.sleep_impl());
        }
        conn.set_proxy_config(Some(ProxyConfig::from_env()));
        conn.build()
    })
}

/// An HTTP client letting at most `limit` requests of one service be in
/// flight at once.
#[derive(Clone)]
pub(crate) struct PerService {
    service: &'static str,
    inner: SharedHttpClient,
    permits: Arc<Semaphore>,
}

impl fmt::Debug for PerService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PerService")
            .field("service", &self.service)
            .field("available", &self.permits.available_permits())
            .finish()
    }
}

impl PerService {
    pub(crate) fn new(service: &'static str, inner: SharedHttpClient, limit: usize) -> Self {
        Self {
            service,
            inner,
            permits: Arc::new(Semaphore::new(limit.max(1))),
        }
    }
}

impl HttpClient for PerService {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(Limited {
            inner: self.inner.http_connector(settings, components),
            permits: self.permits.clone(),
        })
    }
}

#[derive(Debug)]
struct Limited {
    inner: SharedHttpConnector,
    permits: Arc<Semaphore>,
}

impl HttpConnector for Limited {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let permits = self.permits.clone();
        HttpConnectorFuture::new(async move {
            let _permit = permits
                .acquire_owned()
                .await
                .map_err(|e| ConnectorError::other(Box::new(e), None))?;
            inner.call(request).await
        })
    }
}

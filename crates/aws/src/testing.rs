//! SDK clients whose answers come from mock rules (`aws-smithy-mocks`), for
//! request-level tests of the service crates: what a create sends, what a
//! tampered answer turns into. Each request still goes through the SDK's
//! serializers and signer; only the transport is replaced.

pub use aws_smithy_mocks::{mock, Rule, RuleMode};

/// An [`Aws`](crate::Aws) for region `region` whose clients would reach
/// nothing; a test then replaces the ones it exercises with
/// [`mocked_client!`](crate::mocked_client).
pub async fn offline(region: &str) -> crate::Aws {
    crate::Aws::connect(&crate::AwsSettings {
        region: Some(region.to_owned()),
        ..Default::default()
    })
    .await
    .expect("clients build without calling AWS")
}

/// A client of SDK crate `$sdk` answered by `$rules` (any order, each as
/// often as it matches), with fixed test credentials:
/// `mocked_client!(aws_sdk_cloudwatchlogs, [&create, &retention])`.
#[macro_export]
macro_rules! mocked_client {
    ($sdk:ident, [$($rule:expr),* $(,)?]) => {{
        let mut interceptor = $crate::testing::MockInterceptor::new()
            .rule_mode($crate::testing::RuleMode::MatchAny);
        $( interceptor = interceptor.with_rule($rule); )*
        $sdk::Client::from_conf(
            $sdk::config::Config::builder()
                .behavior_version($sdk::config::BehaviorVersion::latest())
                .region($sdk::config::Region::new($crate::testing::REGION))
                .credentials_provider($sdk::config::Credentials::new(
                    "AKIDPAYSECTEST", "test-secret", None, None, "paysec-testing",
                ))
                .http_client($crate::testing::mock_http_client())
                .interceptor(interceptor)
                .build(),
        )
    }};
}

#[doc(hidden)]
pub use aws_smithy_mocks::{
    create_mock_http_client as mock_http_client, MockResponseInterceptor as MockInterceptor,
};

/// The region of [`mocked_client!`](crate::mocked_client)'s clients.
pub const REGION: &str = "eu-west-1";

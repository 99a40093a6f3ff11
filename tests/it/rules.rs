//! The AWS rules layer every integration test runs under
//! (`paysec_testkit::Rules::aws()`, set on the suite's proxy in
//! `support.rs`): each rule, called directly with the SDK, refuses or
//! remembers what AWS does, where the emulator alone would let it pass.
//! `docs/real-aws.md` lists each rule's source.

use std::time::Duration;

use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{DeadLetterConfig, FunctionCode, Runtime};
use paysec_aws::sdk::ec2::types::VpcEndpointType;
use serde_json::json;

use crate::support::{aws, env_name, sso, SSO_ROLE};

/// Longer than the suite's `ec2_visibility`.
const SETTLED: Duration = Duration::from_millis(1300);

/// A role Lambda may assume, made now (its permissions young).
async fn lambda_role(
    aws: &paysec_aws::Aws,
    name: &str,
) -> paysec_aws::sdk::iam::operation::create_role::CreateRoleOutput {
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Principal": { "Service": "lambda.amazonaws.com" }, "Action": "sts:AssumeRole" }]
    });
    aws.iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap()
}

fn key_policy(account: &str, admin: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            { "Sid": "Root", "Effect": "Allow", "Principal": { "AWS": format!("arn:aws:iam::{account}:root") }, "Action": "kms:*", "Resource": "*" },
            { "Sid": "Admin", "Effect": "Allow", "Principal": { "AWS": admin }, "Action": "kms:DescribeKey", "Resource": "*" }
        ]
    })
    .to_string()
}

#[tokio::test]
async fn a_key_policy_naming_a_role_without_its_path_is_refused() {
    let aws = aws().await;
    let account = aws.identity().await.unwrap().account;
    // What paysec once built from the SSO session's ARN: the path is lost.
    let without_path = format!("arn:aws:iam::{account}:role/{SSO_ROLE}");
    let err = aws
        .kms
        .create_key()
        .policy(key_policy(&account, &without_path))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("MalformedPolicyDocumentException"));
    assert!(err.message().unwrap_or("").contains("invalid principals"));
    // The role's real ARN, path included, is accepted.
    let key = aws
        .kms
        .create_key()
        .policy(key_policy(&account, &sso().role_arn))
        .send()
        .await
        .unwrap();
    let id = key.key_metadata().unwrap().key_id().to_owned();
    aws.kms
        .schedule_key_deletion()
        .key_id(id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn ec2_ids_are_not_visible_at_once_and_client_tokens_are_remembered() {
    let aws = aws().await;
    let new_vpc = || async {
        aws.ec2
            .create_vpc()
            .cidr_block("10.77.0.0/16")
            .send()
            .await
            .unwrap()
            .vpc()
            .unwrap()
            .vpc_id()
            .unwrap()
            .to_owned()
    };
    let vpc = new_vpc().await;
    let err = aws
        .ec2
        .describe_vpcs()
        .vpc_ids(&vpc)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some("InvalidVpcID.NotFound"),
        "a new id, at once"
    );
    tokio::time::sleep(SETTLED).await;
    let seen = aws.ec2.describe_vpcs().vpc_ids(&vpc).send().await.unwrap();
    assert_eq!(seen.vpcs().len(), 1, "visible once propagated");

    let token = env_name("token");
    let endpoint = |vpc: String| {
        aws.ec2
            .create_vpc_endpoint()
            .vpc_id(vpc)
            .vpc_endpoint_type(VpcEndpointType::Gateway)
            .service_name("com.amazonaws.us-east-1.s3")
            .client_token(&token)
    };
    let first = endpoint(vpc.clone()).send().await.unwrap();
    let first_id = first.vpc_endpoint().unwrap().vpc_endpoint_id().unwrap();
    let again = endpoint(vpc.clone()).send().await.unwrap();
    assert_eq!(
        again.vpc_endpoint().unwrap().vpc_endpoint_id(),
        Some(first_id),
        "same token, same parameters: the first answer"
    );
    let other = new_vpc().await;
    tokio::time::sleep(SETTLED).await;
    let err = endpoint(other.clone()).send().await.unwrap_err();
    assert_eq!(
        err.code(),
        Some("IdempotentParameterMismatch"),
        "same token, another VPC (paysec's `up`, `down`, `up` once did this)"
    );

    aws.ec2
        .delete_vpc_endpoints()
        .vpc_endpoint_ids(first_id)
        .send()
        .await
        .unwrap();
    for v in [vpc, other] {
        aws.ec2.delete_vpc().vpc_id(v).send().await.unwrap();
    }
}

#[tokio::test]
async fn a_new_accounts_lambda_limit_leaves_no_room_to_reserve() {
    let aws = aws().await;
    let settings = aws.lambda.get_account_settings().send().await.unwrap();
    let limit = settings.account_limit().unwrap();
    assert_eq!(limit.concurrent_executions(), 10);
    let err = aws
        .lambda
        .put_function_concurrency()
        .function_name(env_name("nofn"))
        .reserved_concurrent_executions(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterValueException"));
    assert!(
        err.message()
            .unwrap_or("")
            .contains("minimum value of [10]"),
        "{err:?}"
    );
}

#[tokio::test]
async fn retired_engine_minors_are_refused_and_the_catalog_answers() {
    let aws = aws().await;
    let versions = aws
        .rds
        .describe_db_engine_versions()
        .engine("postgres")
        .engine_version("16")
        .send()
        .await
        .unwrap();
    let offered: Vec<&str> = versions
        .db_engine_versions()
        .iter()
        .filter_map(|v| v.engine_version())
        .collect();
    assert!(
        offered.contains(&"16.9") && !offered.contains(&"16.6"),
        "{offered:?}"
    );
    let err = aws
        .rds
        .create_db_instance()
        .db_instance_identifier(env_name("retired"))
        .engine("postgres")
        .engine_version("16.6")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("payadmin")
        .manage_master_user_password(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterCombination"));
    assert!(err
        .message()
        .unwrap_or("")
        .contains("Cannot find version 16.6 for postgres"));
}

#[tokio::test]
async fn a_role_given_policies_moments_ago_cannot_yet_reach_the_dlq() {
    let aws = aws().await;
    let name = env_name("young-role");
    let role = lambda_role(&aws, &name).await;
    let err = aws
        .lambda
        .create_function()
        .function_name(&name)
        .runtime(Runtime::Python313)
        .handler("h.handler")
        .role(role.role().unwrap().arn())
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(vec![0u8; 22]))
                .build(),
        )
        .dead_letter_config(
            DeadLetterConfig::builder()
                .target_arn("arn:aws:sqs:us-east-1:123456789012:q")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterValueException"));
    assert!(
        err.message()
            .unwrap_or("")
            .contains("does not have permissions to call SendMessage on SQS"),
        "{err:?}"
    );
    aws.iam.delete_role().role_name(&name).send().await.unwrap();
}

#[tokio::test]
async fn immediate_on_a_static_parameter_is_refused_and_apply_types_are_listed() {
    use aws_sdk_rds::types::{ApplyMethod, Parameter};
    let aws = aws().await;
    let group = env_name("params");
    aws.rds
        .create_db_parameter_group()
        .db_parameter_group_name(&group)
        .db_parameter_group_family("postgres16")
        .description("rules test")
        .send()
        .await
        .unwrap();
    let set = |name: &str, method: ApplyMethod| {
        aws.rds
            .modify_db_parameter_group()
            .db_parameter_group_name(&group)
            .parameters(
                Parameter::builder()
                    .parameter_name(name)
                    .parameter_value("1")
                    .apply_method(method)
                    .build(),
            )
            .send()
    };
    let err = set("shared_preload_libraries", ApplyMethod::Immediate)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterCombination"));
    set("shared_preload_libraries", ApplyMethod::PendingReboot)
        .await
        .unwrap();
    set("rds.force_ssl", ApplyMethod::Immediate).await.unwrap();
    let listed = aws
        .rds
        .describe_db_parameters()
        .db_parameter_group_name(&group)
        .send()
        .await
        .unwrap();
    let force_ssl = listed
        .parameters()
        .iter()
        .find(|p| p.parameter_name() == Some("rds.force_ssl"))
        .expect("the whole group is listed, with apply types");
    assert_eq!(force_ssl.apply_type(), Some("dynamic"));
    assert_eq!(force_ssl.parameter_value(), Some("1"), "moto's value");
    aws.rds
        .delete_db_parameter_group()
        .db_parameter_group_name(&group)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn private_dns_needs_the_vpcs_dns_attributes() {
    use paysec_aws::sdk::ec2::types::AttributeBooleanValue;
    let aws = aws().await;
    let vpc = aws
        .ec2
        .create_vpc()
        .cidr_block("10.78.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_owned();
    tokio::time::sleep(SETTLED).await;
    let subnet = aws
        .ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.78.1.0/24")
        .availability_zone("us-east-1a")
        .send()
        .await
        .unwrap()
        .subnet()
        .unwrap()
        .subnet_id()
        .unwrap()
        .to_owned();
    tokio::time::sleep(SETTLED).await;
    let endpoint = || {
        aws.ec2
            .create_vpc_endpoint()
            .vpc_id(&vpc)
            .vpc_endpoint_type(VpcEndpointType::Interface)
            .service_name("com.amazonaws.us-east-1.rds")
            .subnet_ids(&subnet)
            .send()
    };
    // A new VPC has DNS support but not DNS hostnames.
    let err = endpoint().await.unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameter"));
    assert!(err.message().unwrap_or("").contains("enableDnsHostnames"));
    aws.ec2
        .modify_vpc_attribute()
        .vpc_id(&vpc)
        .enable_dns_hostnames(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .unwrap();
    let made = endpoint().await.unwrap();
    let id = made.vpc_endpoint().unwrap().vpc_endpoint_id().unwrap();
    tokio::time::sleep(SETTLED).await;
    aws.ec2
        .delete_vpc_endpoints()
        .vpc_endpoint_ids(id)
        .send()
        .await
        .unwrap();
    aws.ec2
        .delete_subnet()
        .subnet_id(&subnet)
        .send()
        .await
        .unwrap();
    aws.ec2.delete_vpc().vpc_id(&vpc).send().await.unwrap();
}

/// STS AssumeRole as AWS decides it (moto hands out a session of any role
/// ARN, and checks only the session name's length): a role that does not
/// exist, or whose trust policy does not name the caller, is refused with
/// `AccessDenied`, as is one wanting an external id not given; a session
/// name or external id outside STS's alphabet is a `ValidationError`. The
/// role's trust, met, gives a session.
#[tokio::test]
async fn a_role_is_assumed_only_as_its_trust_policy_allows() {
    let aws = aws().await;
    let account = aws.identity().await.unwrap().account;
    let name = format!("trust-{}", env_name("r"));
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "AWS": format!("arn:aws:iam::{account}:root") },
            "Action": "sts:AssumeRole",
            "Condition": { "StringEquals": { "sts:ExternalId": "rules-external-id" } }
        }]
    });
    let arn = aws
        .iam
        .create_role()
        .role_name(&name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_owned();
    let assume = |role: String, session: &'static str, external_id: Option<&'static str>| {
        aws.sts
            .assume_role()
            .role_arn(role)
            .role_session_name(session)
            .set_external_id(external_id.map(str::to_owned))
            .send()
    };
    for (role, external_id) in [
        (format!("arn:aws:iam::{account}:role/{name}-missing"), None),
        (arn.clone(), None),
        (arn.clone(), Some("another-external-id")),
    ] {
        let err = assume(role.clone(), "rules", external_id)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("AccessDenied"), "{role} {external_id:?}");
        assert!(
            err.message().unwrap_or_default().ends_with(&format!(
                "is not authorized to perform: sts:AssumeRole on resource: {role}"
            )),
            "{err:?}"
        );
    }
    for (session, external_id, field) in [
        ("has space", Some("rules-external-id"), "roleSessionName"),
        ("rules", Some("not valid!"), "externalId"),
    ] {
        let err = assume(arn.clone(), session, external_id).await.unwrap_err();
        assert_eq!(err.code(), Some("ValidationError"));
        assert!(err.message().unwrap_or_default().contains(field), "{err:?}");
    }
    let session = assume(arn.clone(), "rules", Some("rules-external-id"))
        .await
        .unwrap();
    assert!(session.credentials().is_some());
}

/// Lambda's release rules: an update stays in progress for a moment
/// (`LastUpdateStatus`, and a second update refused meanwhile);
/// PublishVersion publishes only the code it names; an alias holds its
/// version against DeleteFunction. moto does none of the three.
#[tokio::test]
async fn lambda_updates_take_time_publish_checks_code_and_aliases_hold_versions() {
    let aws = aws().await;
    let name = env_name("releases");
    let role = lambda_role(&aws, &name).await;
    let one = paysec_lambda::Code::example();
    let created = aws
        .lambda
        .create_function()
        .function_name(&name)
        .runtime(Runtime::Python313)
        .handler("handler.handler")
        .role(role.role().unwrap().arn())
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(one.zip.clone()))
                .build(),
        )
        .publish(true)
        .send()
        .await
        .unwrap();
    let v1 = created.version().unwrap().to_owned();
    aws.lambda
        .create_alias()
        .function_name(&name)
        .name("live")
        .function_version(&v1)
        .send()
        .await
        .unwrap();

    // An update in progress: read as such, and a second one refused.
    let mut other = one.zip.clone();
    other[10] ^= 1;
    let other_sha = paysec_lambda::package::code_sha256(&other);
    aws.lambda
        .update_function_code()
        .function_name(&name)
        .zip_file(Blob::new(other.clone()))
        .send()
        .await
        .unwrap();
    let cfg = aws
        .lambda
        .get_function_configuration()
        .function_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        cfg.last_update_status().map(|s| s.as_str()),
        Some("InProgress")
    );
    let busy = aws
        .lambda
        .update_function_configuration()
        .function_name(&name)
        .timeout(10)
        .send()
        .await
        .unwrap_err();
    assert_eq!(busy.code(), Some("ResourceConflictException"), "{busy:?}");
    assert!(busy
        .message()
        .unwrap_or("")
        .contains("An update is in progress"));
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let cfg = aws
        .lambda
        .get_function_configuration()
        .function_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        cfg.last_update_status().map(|s| s.as_str()),
        Some("Successful")
    );

    // PublishVersion of other code than $LATEST's: refused.
    let wrong = aws
        .lambda
        .publish_version()
        .function_name(&name)
        .code_sha256(&one.sha256)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        wrong.code(),
        Some("PreconditionFailedException"),
        "{wrong:?}"
    );
    let v2 = aws
        .lambda
        .publish_version()
        .function_name(&name)
        .code_sha256(&other_sha)
        .send()
        .await
        .unwrap()
        .version()
        .unwrap()
        .to_owned();
    assert_ne!(v2, v1);

    // The version `live` points to cannot be deleted; another can.
    let held = aws
        .lambda
        .delete_function()
        .function_name(&name)
        .qualifier(&v1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(held.code(), Some("ResourceConflictException"), "{held:?}");
    assert!(held.message().unwrap_or("").contains("[live]"), "{held:?}");
    aws.lambda
        .delete_function()
        .function_name(&name)
        .qualifier(&v2)
        .send()
        .await
        .unwrap();
    aws.lambda
        .delete_function()
        .function_name(&name)
        .send()
        .await
        .unwrap();
    aws.iam.delete_role().role_name(&name).send().await.unwrap();
}

/// A quota never adjusted is not in GetServiceQuota's answers
/// (`NoSuchResourceException`); GetAWSDefaultServiceQuota gives its
/// default. paysec's preflight falls back to it, as Terraform's data
/// source does, instead of reporting the quota unreadable.
#[tokio::test]
async fn a_quota_never_adjusted_is_read_from_its_default() {
    let aws = aws().await;
    let err = aws
        .quotas
        .get_service_quota()
        .service_code("kms")
        .quota_code("L-C2F1777E")
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_no_such_resource_exception()),
        "{err:?}"
    );
    let default = aws
        .quotas
        .get_aws_default_service_quota()
        .service_code("kms")
        .quota_code("L-C2F1777E")
        .send()
        .await
        .unwrap();
    assert_eq!(default.quota().and_then(|q| q.value()), Some(100_000.0));
    let p = crate::support::Paysec::new("quota");
    let plan = p.run(&["plan"]).success();
    assert!(
        plan.stderr()
            .lines()
            .any(|l| l.contains("quota: KMS keys") && l.contains("quota 100000")),
        "{}",
        plan.stderr()
    );
}

/// Code signing as AWS holds it (neither emulator signs, moto keeps no
/// code signing configuration): a job signs a versioned object into the
/// destination at `prefix + jobId + ".zip"` after a while in progress, the
/// same token answering the first job; a configuration that enforces
/// refuses unsigned code and code another profile signed, a package
/// altered after signing is refused under any policy, what Lambda verified
/// names its signer, and a configuration in use cannot be deleted.
#[tokio::test]
async fn code_signing_signs_versioned_objects_and_lambda_enforces_it() {
    use aws_sdk_lambda::error::ProvideErrorMetadata as _;
    let aws = aws().await;
    let config = crate::support::sdk_config_as(sso()).await;
    let signer = aws_sdk_signer::Client::new(&config);
    let name = env_name("signing");
    let profile_name = name.replace('-', "_");
    let profile = signer
        .put_signing_profile()
        .profile_name(&profile_name)
        .platform_id("AWSLambda-SHA384-ECDSA")
        .send()
        .await
        .unwrap();
    let version_arn = profile.profile_version_arn().unwrap().to_owned();
    let bucket = format!("paysec-{name}-releases");
    aws.s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let package = paysec_lambda::Code::example().zip;
    let put = |key: &'static str| {
        aws.s3
            .put_object()
            .bucket(&bucket)
            .key(key)
            .body(package.clone().into())
            .send()
    };
    let unversioned = put("unsigned.zip").await.unwrap();
    let start_as = |profile: &str, version: String, token: &'static str| {
        signer
            .start_signing_job()
            .profile_name(profile)
            .client_request_token(token)
            .source(
                aws_sdk_signer::types::Source::builder()
                    .s3(aws_sdk_signer::types::S3Source::builder()
                        .bucket_name(&bucket)
                        .key("unsigned.zip")
                        .version(version)
                        .build()
                        .unwrap())
                    .build(),
            )
            .destination(
                aws_sdk_signer::types::Destination::builder()
                    .s3(aws_sdk_signer::types::S3Destination::builder()
                        .bucket_name(&bucket)
                        .prefix("signed/")
                        .build())
                    .build(),
            )
            .send()
    };
    let start = |version: String, token: &'static str| start_as(&profile_name, version, token);
    let describe = |id: String| signer.describe_signing_job().job_id(id).send();
    // Without versioning the job fails, saying why.
    let failed = start(unversioned.version_id().unwrap_or("null").to_owned(), "t-1")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let job = describe(failed.job_id().unwrap().to_owned()).await.unwrap();
    assert_eq!(job.status().map(|s| s.as_str()), Some("Failed"));
    assert!(
        job.status_reason().unwrap().contains("versioning"),
        "{job:?}"
    );

    aws.s3
        .put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            paysec_aws::sdk::s3::types::VersioningConfiguration::builder()
                .status(paysec_aws::sdk::s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let version = put("unsigned.zip")
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_owned();
    let started = start(version.clone(), "t-2").await.unwrap();
    let id = started.job_id().unwrap().to_owned();
    let again = start(version, "t-2").await.unwrap();
    assert_eq!(
        again.job_id(),
        Some(id.as_str()),
        "the same token, the same job"
    );
    let job = describe(id.clone()).await.unwrap();
    assert_eq!(job.status().map(|s| s.as_str()), Some("InProgress"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let job = describe(id.clone()).await.unwrap();
    assert_eq!(
        job.status().map(|s| s.as_str()),
        Some("Succeeded"),
        "{job:?}"
    );
    let signed_key = job
        .signed_object()
        .unwrap()
        .s3()
        .unwrap()
        .key()
        .unwrap()
        .to_owned();
    assert_eq!(signed_key, format!("signed/{id}.zip"));
    let signed = aws
        .s3
        .get_object()
        .bucket(&bucket)
        .key(&signed_key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes()
        .to_vec();
    assert_ne!(signed, package, "the signed package carries its signature");
    let unknown = profile_name.replace("signing", "nobody");
    let refused = start_as(&unknown, "v".into(), "t-3").await.unwrap_err();
    assert_eq!(
        aws_sdk_signer::error::ProvideErrorMetadata::code(&refused),
        Some("ResourceNotFoundException")
    );

    // A configuration: at least one publisher; Enforce.
    let none = aws
        .lambda
        .create_code_signing_config()
        .allowed_publishers(
            aws_sdk_lambda::types::AllowedPublishers::builder()
                .set_signing_profile_version_arns(Some(vec![]))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(none.code(), Some("InvalidParameterValueException"));
    let csc = aws
        .lambda
        .create_code_signing_config()
        .allowed_publishers(
            aws_sdk_lambda::types::AllowedPublishers::builder()
                .signing_profile_version_arns(&version_arn)
                .build()
                .unwrap(),
        )
        .code_signing_policies(
            aws_sdk_lambda::types::CodeSigningPolicies::builder()
                .untrusted_artifact_on_deployment(aws_sdk_lambda::types::CodeSigningPolicy::Enforce)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let csc_arn = csc
        .code_signing_config()
        .unwrap()
        .code_signing_config_arn()
        .to_owned();
    let role = lambda_role(&aws, &name).await;
    let create = |code: FunctionCode| {
        aws.lambda
            .create_function()
            .function_name(&name)
            .runtime(Runtime::Python313)
            .handler("handler.handler")
            .role(role.role().unwrap().arn())
            .code_signing_config_arn(&csc_arn)
            .code(code)
            .send()
    };
    let unsigned = create(
        FunctionCode::builder()
            .zip_file(Blob::new(package.clone()))
            .build(),
    )
    .await
    .unwrap_err();
    assert_eq!(unsigned.code(), Some("CodeVerificationFailedException"));
    // IAM's propagation of the new role, as the suite models it.
    let mut created = None;
    for _ in 0..20 {
        match create(
            FunctionCode::builder()
                .s3_bucket(&bucket)
                .s3_key(&signed_key)
                .build(),
        )
        .await
        {
            Ok(c) => {
                created = Some(c);
                break;
            }
            Err(e) if e.code() == Some("InvalidParameterValueException") => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    let created = created.expect("created from the signed package");
    assert_eq!(
        created.code_sha256(),
        Some(paysec_lambda::package::code_sha256(&signed).as_str())
    );
    let read = aws
        .lambda
        .get_function_configuration()
        .function_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        read.signing_profile_version_arn(),
        Some(version_arn.as_str())
    );
    assert!(read
        .signing_job_arn()
        .unwrap()
        .ends_with(&format!("/signing-jobs/{id}")));
    let attached = aws
        .lambda
        .get_function_code_signing_config()
        .function_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(attached.code_signing_config_arn(), csc_arn.as_str());

    // Unsigned code, then a signed package altered: refused, nothing changed.
    let update = |zip: Vec<u8>| {
        aws.lambda
            .update_function_code()
            .function_name(&name)
            .zip_file(Blob::new(zip))
            .send()
    };
    let e = update(package.clone()).await.unwrap_err();
    assert_eq!(e.code(), Some("CodeVerificationFailedException"));
    let mut altered = signed.clone();
    altered[40] ^= 1;
    let e = update(altered).await.unwrap_err();
    assert_eq!(e.code(), Some("InvalidCodeSignatureException"));
    let still = aws
        .lambda
        .get_function_configuration()
        .function_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(still.code_sha256(), created.code_sha256());

    // In use, a configuration stays.
    let e = aws
        .lambda
        .delete_code_signing_config()
        .code_signing_config_arn(&csc_arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ResourceConflictException"));
    aws.lambda
        .delete_function()
        .function_name(&name)
        .send()
        .await
        .unwrap();
    aws.lambda
        .delete_code_signing_config()
        .code_signing_config_arn(&csc_arn)
        .send()
        .await
        .unwrap();
}

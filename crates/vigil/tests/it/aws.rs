//! The AWS calls against moto on loopback: signed requests, each credential source,
//! refusals told apart from outages.

use std::collections::HashMap;

use vigil::aws::credentials::CredentialChain;
use vigil::aws::{publish, put_log_events, reboot_instances, AwsClient, AwsError, ServiceEndpoint};
use vigil::probes::HttpClient;
use vigil_testkit::MotoServer;

fn client(env: &[(&str, String)]) -> AwsClient {
    let env: HashMap<String, String> = env.iter().map(|(name, value)| ((*name).to_owned(), value.clone())).collect();
    let chain = CredentialChain::with_env(Box::new(move |name| env.get(name).cloned()));
    AwsClient::with_credentials(HttpClient::new(), chain)
}

fn endpoint(service: &'static str, moto: &MotoServer) -> ServiceEndpoint {
    ServiceEndpoint::resolve(service, "us-east-1", Some(&moto.endpoint())).expect("endpoint")
}

#[tokio::test(flavor = "multi_thread")]
async fn reboot_publish_and_log_through_every_credential_source() {
    let Some(moto) = MotoServer::start() else { return };
    let created = moto.boto3(
        "ec2 = boto3.client('ec2', **kw)\n\
         instance = ec2.run_instances(ImageId='ami-12c6146b', MinCount=1, MaxCount=1)['Instances'][0]['InstanceId']\n\
         topic = boto3.client('sns', **kw).create_topic(Name='ops')['TopicArn']\n\
         boto3.client('logs', **kw).create_log_group(logGroupName='vigil-audit')\n\
         print(instance, topic)",
    );
    let (instance, topic) = created.split_once(' ').expect("instance and topic");
    let environment = client(&[("AWS_ACCESS_KEY_ID", "AKIAENV".into()), ("AWS_SECRET_ACCESS_KEY", "secret".into())]);
    reboot_instances(&environment, &endpoint("ec2", &moto), &[instance.to_owned()]).await.expect("reboot");
    let refused = reboot_instances(&environment, &endpoint("ec2", &moto), &["i-0000000000000000f".to_owned()]).await;
    assert!(matches!(&refused, Err(AwsError::Refused { code, .. }) if code.starts_with("InvalidInstanceID")), "{refused:?}");

    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("credentials");
    std::fs::write(&file, "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = x\n[ops]\naws_access_key_id = AKIAOPS\naws_secret_access_key = y\n")
        .expect("credentials file");
    let profile = client(&[("AWS_SHARED_CREDENTIALS_FILE", file.display().to_string()), ("AWS_PROFILE", "ops".into())]);
    let message_id = publish(&profile, &endpoint("sns", &moto), topic, "web-1 rebooted\nby vigil", "the body").await.expect("publish");
    assert!(!message_id.is_empty());

    let instance_role = client(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT", moto.endpoint())]);
    let events = [(vigil_core::Clock::now(&vigil_core::SystemClock).0, "audit line".to_owned())];
    put_log_events(&instance_role, &endpoint("logs", &moto), "vigil-audit", "node-1", &events).await.expect("put log events");
    let stored = moto.boto3(
        "events = boto3.client('logs', **kw).get_log_events(logGroupName='vigil-audit', logStreamName='node-1', startFromHead=True)['events']\n\
         print(json.dumps([e['message'] for e in events]))",
    );
    assert_eq!(stored, r#"["audit line"]"#);
    let recorded = moto.recorded();
    for action in ["RebootInstances", "Publish", "Logs_20140328.CreateLogStream", "PUT /latest/api/token"] {
        assert!(recorded.iter().any(|seen| seen == action), "{action} not in {recorded:?}");
    }

    let nowhere =
        ServiceEndpoint::resolve("ec2", "us-east-1", Some(&format!("http://127.0.0.1:{}", vigil_testkit::free_port()))).expect("endpoint");
    let outage = reboot_instances(&environment, &nowhere, &[instance.to_owned()]).await;
    assert!(matches!(outage, Err(AwsError::Transient(_))), "{outage:?}");
    let missing = client(&[("AWS_EC2_METADATA_DISABLED", "true".into()), ("HOME", dir.path().display().to_string())]);
    let error = reboot_instances(&missing, &endpoint("ec2", &moto), &[instance.to_owned()]).await.expect_err("no credentials");
    assert!(matches!(&error, AwsError::Credentials(message) if message.starts_with("no AWS credentials")), "{error:?}");
}

/// With authentication on, moto checks the SigV4 signature and the caller's IAM policy.
#[tokio::test(flavor = "multi_thread")]
async fn signatures_and_policies_are_checked() {
    let Some(moto) = MotoServer::start_with_auth(5) else { return };
    let created = moto.boto3(
        "ec2 = boto3.client('ec2', **kw)\n\
         instance = ec2.run_instances(ImageId='ami-12c6146b', MinCount=1, MaxCount=1)['Instances'][0]['InstanceId']\n\
         iam = boto3.client('iam', **kw)\n\
         iam.create_user(UserName='vigil')\n\
         policy = {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': ['ec2:RebootInstances'], 'Resource': '*'}]}\n\
         iam.put_user_policy(UserName='vigil', PolicyName='reboot', PolicyDocument=json.dumps(policy))\n\
         key = iam.create_access_key(UserName='vigil')['AccessKey']\n\
         print(instance, key['AccessKeyId'], key['SecretAccessKey'])",
    );
    let parts: Vec<&str> = created.split(' ').collect();
    let [instance, key, secret] = parts[..] else { panic!("{created}") };
    let signed = client(&[("AWS_ACCESS_KEY_ID", key.into()), ("AWS_SECRET_ACCESS_KEY", secret.into())]);
    reboot_instances(&signed, &endpoint("ec2", &moto), &[instance.to_owned()]).await.expect("a valid signature and an allowed action");
    let topic_arn = "arn:aws:sns:us-east-1:123456789012:ops";
    let denied = publish(&signed, &endpoint("sns", &moto), topic_arn, "s", "m").await;
    assert!(matches!(&denied, Err(AwsError::Refused { code, .. }) if code == "AccessDenied"), "not in the policy: {denied:?}");
    let forged = client(&[("AWS_ACCESS_KEY_ID", key.into()), ("AWS_SECRET_ACCESS_KEY", "wrong".into())]);
    let refused = reboot_instances(&forged, &endpoint("ec2", &moto), &[instance.to_owned()]).await;
    assert!(
        matches!(&refused, Err(AwsError::Refused { code, .. }) if code == "AuthFailure" || code == "SignatureDoesNotMatch"),
        "{refused:?}"
    );
}

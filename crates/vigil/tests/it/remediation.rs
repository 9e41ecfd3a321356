//! System 2's response end to end, through the real binary against moto with
//! authentication enforced: the seed scenario under the policy `vigil iam-policy` prints,
//! cooldowns, a target that never cures, two nodes on one PostgreSQL, dry runs, and
//! Alertmanager's webhook driving HTTP and exec actions.

use std::time::{Duration, Instant};

use vigil_testkit::{MotoServer, PostgresCluster, SmtpServer};

use crate::helpers::{fake_api, subjects, Vigil, WAIT};
use crate::webhook::{receiver, Received};

const SEED_RULE: &str = r#"sum(count_over_time({app="api"} | json | path = "/api/data" | duration > 3s [10m])) > 5"#;
const SLOW: &str = r#"{"path":"/api/data","duration":"4.2s","status":200}"#;
const SUCCESSES: &str = "vigil_checks_total{result=\"success\"}";
const FAILURES: &str = "vigil_checks_total{result=\"failure\"}";

fn outcome(action: &str, outcome: &str) -> String {
    format!("vigil_action_outcomes_total{{action=\"{action}\",outcome=\"{outcome}\"}}")
}

/// moto, with authentication enforced once it is set up.
struct Cloud {
    moto: MotoServer,
    instance: String,
    topic: String,
    queue: String,
    admin: (String, String),
}

/// Requests the set-up below makes before authentication starts.
const SETUP_REQUESTS: u32 = 8;

impl Cloud {
    fn start() -> Option<Cloud> {
        let moto = MotoServer::start_with_auth(SETUP_REQUESTS)?;
        let created = moto.boto3(
            "instance = boto3.client('ec2', **kw).run_instances(ImageId='ami-12c6146b', MinCount=1, MaxCount=1)['Instances'][0]['InstanceId']\n\
             sns = boto3.client('sns', **kw)\n\
             topic = sns.create_topic(Name='ops')['TopicArn']\n\
             queue = boto3.client('sqs', **kw).create_queue(QueueName='ops-inbox')['QueueUrl']\n\
             sns.subscribe(TopicArn=topic, Protocol='sqs', Endpoint='arn:aws:sqs:us-east-1:123456789012:ops-inbox')\n\
             boto3.client('logs', **kw).create_log_group(logGroupName='vigil-audit')\n\
             iam = boto3.client('iam', **kw)\n\
             iam.create_user(UserName='admin')\n\
             everything = {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}]}\n\
             iam.put_user_policy(UserName='admin', PolicyName='all', PolicyDocument=json.dumps(everything))\n\
             key = iam.create_access_key(UserName='admin')['AccessKey']\n\
             print(json.dumps([instance, topic, queue, key['AccessKeyId'], key['SecretAccessKey']]))",
        );
        let values: Vec<String> = serde_json::from_str(&created).expect("set-up output");
        let [instance, topic, queue, key, secret] = <[String; 5]>::try_from(values).expect("five values");
        Some(Cloud { moto, instance, topic, queue, admin: (key, secret) })
    }

    /// Runs a boto3 snippet as the admin user (authentication is on by now).
    fn admin(&self, script: &str) -> String {
        self.moto.boto3(&format!("kw.update(aws_access_key_id='{}', aws_secret_access_key='{}')\n{script}", self.admin.0, self.admin.1))
    }

    fn env<'a>(&'a self, key: &'a (String, String)) -> [(&'a str, &'a str); 3] {
        [("AWS_ACCESS_KEY_ID", key.0.as_str()), ("AWS_SECRET_ACCESS_KEY", key.1.as_str()), ("AWS_EC2_METADATA_DISABLED", "true")]
    }

    /// Every message published to the topic so far (through its SQS subscription).
    fn published(&self) -> Vec<String> {
        let output = self.admin(&format!(
            "sqs = boto3.client('sqs', **kw)\n\
             found = []\n\
             while True:\n\
             \x20   batch = sqs.receive_message(QueueUrl='{}', MaxNumberOfMessages=10, VisibilityTimeout=0).get('Messages', [])\n\
             \x20   new = [m for m in batch if m['MessageId'] not in [f[0] for f in found]]\n\
             \x20   if not new: break\n\
             \x20   found += [(m['MessageId'], json.loads(m['Body'])['Message']) for m in new]\n\
             print(json.dumps([body for _, body in found]))",
            self.queue
        ));
        serde_json::from_str(&output).expect("messages")
    }

    fn action(&self, extra: &str) -> String {
        format!(
            "    type: aws-ec2-reboot\n    region: us-east-1\n    instances: [{}]\n    endpoint: {}\n    account-id: \"123456789012\"\n{extra}",
            self.instance,
            self.moto.endpoint()
        )
    }
}

async fn wait_until(what: &str, vigil: &Vigil, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "{what} did not happen:\n{}", vigil.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn action_messages(received: &Received, outcome: &str) -> Vec<serde_json::Value> {
    received
        .lock()
        .expect("lock")
        .iter()
        .filter_map(|(_, body)| serde_json::from_str::<serde_json::Value>(body).ok())
        .filter(|message| message["kind"] == "action" && message["outcome"] == outcome)
        .collect()
}

fn executions(vigil: &Vigil) -> Vec<serde_json::Value> {
    let (code, stdout, stderr) = vigil.command(&["actions", "history", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    stdout.lines().map(|line| serde_json::from_str(line).expect("json")).collect()
}

fn seed_config(cloud: &Cloud, hook: std::net::SocketAddr, port: u16, notify: &str, sinks: bool) -> String {
    let sns = format!("  ops-topic:\n    type: sns\n    topic-arn: {}\n    endpoint: {}\n", cloud.topic, cloud.moto.endpoint());
    let audit =
        format!("audit:\n  cloudwatch-logs:\n    log-group: vigil-audit\n    region: us-east-1\n    endpoint: {}\n", cloud.moto.endpoint());
    format!(
        "listen: 127.0.0.1:{port}\n\
         delivery:\n  initial-backoff: 200ms\n  max-backoff: 1s\n\
         notifiers:\n  hook:\n    type: webhook\n    url: http://{hook}/hook\n{}\
         actions:\n  reboot-api:\n{}\
         {}\
         sources:\n  - type: file\n    path: api.log\n    labels: {{app: api}}\n    start-at: beginning\n    poll-interval: 50ms\n\
         rules:\n  - name: slow-api-data\n    expr: '{SEED_RULE}'\n    notify: [{notify}]\n    actions: [reboot-api]\n",
        if sinks { sns } else { String::new() },
        cloud.action("    cooldown: 1h\n"),
        if sinks { audit } else { String::new() },
    )
}

/// A fast monitor of the fake API whose outages run `reboot-api` (with `guards`) and
/// are told to the webhook `hook`.
fn monitor_config(cloud: &Cloud, hook: std::net::SocketAddr, api: std::net::SocketAddr, port: u16, guards: &str) -> String {
    format!(
        "listen: 127.0.0.1:{port}\n\
         notifiers:\n  hook:\n    type: webhook\n    url: http://{hook}/hook\n\
         actions:\n  reboot-api:\n{}\
         monitors:\n  - name: fitpay-api\n    url: http://{api}/health\n    interval: 200ms\n    timeout: 150ms\n\
         \x20   conditions: [\"[STATUS] == 200\", \"[BODY].status == OK\"]\n    notify: [hook]\n    actions: [reboot-api]\n",
        cloud.action(guards)
    )
}

fn append_slow(vigil: &Vigil, count: usize) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(vigil.dir.path().join("api.log")).expect("log");
    for _ in 0..count {
        writeln!(file, "{SLOW}").expect("append");
    }
}

/// The seed: six slow /api/data requests in ten minutes → exactly one RebootInstances,
/// an SNS message naming the instance, the audit trail in the store and in CloudWatch
/// Logs — with the caller holding only the policy `vigil iam-policy` prints.
#[tokio::test(flavor = "multi_thread")]
async fn the_seed_scenario_reboots_once_under_the_printed_policy() {
    let Some(cloud) = Cloud::start() else { return };
    let (received, hook) = receiver().await;

    // The policy for this config, then an IAM user that has only it.
    let dir = tempfile::tempdir().expect("temp dir");
    let draft = dir.path().join("vigil.yaml");
    std::fs::write(&draft, seed_config(&cloud, hook, 1, "ops-topic, hook", true)).expect("config");
    let (code, policy, stderr) = crate::helpers::vigil_command(&["iam-policy", "-c", draft.to_str().expect("utf-8")]);
    assert_eq!(code, Some(0), "{stderr}");
    let policy: serde_json::Value = serde_json::from_str(&policy).expect("policy json");
    let actions: Vec<&str> = policy["Statement"].as_array().expect("statements").iter().filter_map(|s| s["Action"][0].as_str()).collect();
    assert_eq!(actions, ["ec2:RebootInstances", "logs:CreateLogStream", "logs:PutLogEvents", "sns:Publish"], "named actions, no wildcard");
    assert_eq!(policy["Statement"][0]["Resource"][0], format!("arn:aws:ec2:us-east-1:123456789012:instance/{}", cloud.instance));
    assert_eq!(policy["Statement"][3]["Resource"][0], cloud.topic.as_str());
    // moto evaluates these APIs against resource "*" only (it never computes their ARNs),
    // so the exact ARNs above cannot be checked here; the actions are what it enforces.
    let mut enforceable = policy.clone();
    for statement in enforceable["Statement"].as_array_mut().expect("statements") {
        statement["Resource"] = serde_json::json!("*");
    }
    let created = cloud.admin(&format!(
        "iam = boto3.client('iam', **kw)\n\
         iam.create_user(UserName='vigil')\n\
         iam.put_user_policy(UserName='vigil', PolicyName='from-vigil-iam-policy', PolicyDocument=json.dumps({enforceable}))\n\
         key = iam.create_access_key(UserName='vigil')['AccessKey']\n\
         print(key['AccessKeyId'], key['SecretAccessKey'])"
    ));
    let (key, secret) = created.split_once(' ').expect("key");
    let key = (key.to_owned(), secret.to_owned());

    let vigil = Vigil::start_with(|port, _| seed_config(&cloud, hook, port, "ops-topic, hook", true), &cloud.env(&key), &[]);
    append_slow(&vigil, 5);
    vigil.wait_for_metric("vigil_rule_lines_total{rule=\"slow-api-data\",outcome=\"matched\"}", 5.0).await;
    assert_eq!(cloud.moto.count("RebootInstances"), 0, "five slow requests are not enough");
    append_slow(&vigil, 1);
    vigil.wait_for_metric(&outcome("reboot-api", "executed"), 1.0).await;
    vigil.wait_for_metric("vigil_notification_attempts_total{notifier=\"ops-topic\",result=\"delivered\"}", 2.0).await;
    vigil.wait_for_metric("vigil_notification_attempts_total{notifier=\"audit:cloudwatch-logs\",result=\"delivered\"}", 2.0).await;
    append_slow(&vigil, 3); // still the same episode: nothing more
    vigil.wait_for_metric("vigil_rule_lines_total{rule=\"slow-api-data\",outcome=\"matched\"}", 9.0).await;

    assert_eq!(cloud.moto.count("RebootInstances"), 1, "exactly one reboot");
    let published = cloud.published();
    assert!(published.iter().any(|message| message.contains("slow-api-data") && message.contains("FIRING")), "{published:?}");
    assert!(
        published.iter().any(|message| message.contains(&cloud.instance) && message.contains("RebootInstances accepted")),
        "{published:?}"
    );
    let history = executions(&vigil);
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0]["state"].as_str(), history[0]["target"].as_str()),
        (Some("executed"), Some(format!("ec2:us-east-1:{}", cloud.instance).as_str()))
    );
    let id = history[0]["id"].as_i64().expect("id").to_string();
    let (_, trail, _) = vigil.command(&["actions", "history", "--id", &id]);
    for step in ["kill-switch pass", "cooldown pass", "lease pass: fencing token 1", "started", "executed"] {
        assert!(trail.contains(step), "audit trail lacks `{step}`:\n{trail}");
    }
    let logged = cloud.admin(
        "events = boto3.client('logs', **kw).get_log_events(logGroupName='vigil-audit', logStreamName='vigil', startFromHead=True)['events']\n\
         print(json.dumps([e['message'] for e in events]))",
    );
    assert!(logged.contains("fencing token 1") && logged.contains("RebootInstances accepted"), "{logged}");
    assert_eq!(action_messages(&received, "executed").len(), 1);
}

/// DOWN → reboot; UP (verified); DOWN again within the cooldown → no second reboot, and
/// the notification says the cooldown held it.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_outage_inside_the_cooldown_is_held() {
    let Some(cloud) = Cloud::start() else { return };
    let (received, hook) = receiver().await;
    let (api, address) = fake_api().await;
    let vigil = Vigil::start_with(
        |port, _| monitor_config(&cloud, hook, address, port, "    cooldown: 1h\n    verify: 20s\n"),
        &cloud.env(&cloud.admin),
        &[],
    );
    vigil.wait_for_metric(SUCCESSES, 2.0).await;
    api.set_failing(true);
    vigil.wait_for_metric(&outcome("reboot-api", "executed"), 1.0).await;
    api.set_failing(false);
    vigil.wait_for_metric(&outcome("reboot-api", "verified"), 1.0).await;
    api.set_failing(true);
    vigil.wait_for_metric(&outcome("reboot-api", "held"), 1.0).await;
    wait_until("the held notification", &vigil, || !action_messages(&received, "held").is_empty()).await;

    assert_eq!(cloud.moto.count("RebootInstances"), 1, "the cooldown held the second");
    let held = &action_messages(&received, "held")[0];
    assert!(held["reason"].as_str().is_some_and(|reason| reason.starts_with("held by the cooldown")), "{held}");
    assert_eq!(held["summary"], format!("[Vigil] reboot-api on ec2:us-east-1:{}: held by the cooldown", cloud.instance));
    let states: Vec<String> = executions(&vigil).iter().map(|e| e["state"].as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(states, ["held", "verified"], "newest first");
}

/// A target that never cures: `max-attempts: 3` → three reboots, one escalation, and
/// nothing queued after that; `vigil actions reset` closes the breaker.
#[tokio::test(flavor = "multi_thread")]
async fn a_target_that_never_cures_gets_three_attempts_then_a_human() {
    let Some(cloud) = Cloud::start() else { return };
    let (received, hook) = receiver().await;
    let (api, address) = fake_api().await;
    api.set_failing(true);
    let guards = "    cooldown: 300ms\n    verify: 600ms\n    max-attempts: 3\n    breaker-window: 1h\n";
    let vigil = Vigil::start_with(|port, _| monitor_config(&cloud, hook, address, port, guards), &cloud.env(&cloud.admin), &[]);
    vigil.wait_for_metric(&outcome("reboot-api", "breaker-open"), 1.0).await;
    wait_until("the escalation", &vigil, || !action_messages(&received, "breaker-open").is_empty()).await;

    assert_eq!(cloud.moto.count("RebootInstances"), 3);
    assert_eq!(vigil.metric(&outcome("reboot-api", "failed")).await, 3.0);
    let escalations = action_messages(&received, "breaker-open");
    assert_eq!(escalations.len(), 1);
    assert!(escalations[0]["summary"].as_str().is_some_and(|summary| summary.contains("a human is needed")), "{}", escalations[0]);
    let history = executions(&vigil);
    let attempts: Vec<i64> = history.iter().map(|e| e["attempt"].as_i64().unwrap_or_default()).collect();
    assert_eq!(attempts, [3, 2, 1]);
    assert!(history.iter().all(|e| e["state"] == "failed"), "nothing left queued: {history:?}");
    let (_, listed, _) = vigil.command(&["actions", "list"]);
    assert!(listed.contains("breaker OPEN"), "{listed}");

    let (code, stdout, stderr) = vigil.command(&["actions", "reset", "reboot-api"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("1 open breakers closed"), "{stdout}");
    let (_, listed, _) = vigil.command(&["actions", "list", "--json"]);
    let listed: serde_json::Value = serde_json::from_str(&listed).expect("json");
    assert_eq!(listed["actions"][0]["open_breakers"], serde_json::json!([]));
}

/// Two nodes on one PostgreSQL watch the same API: one outage is one transition, one
/// mail and one reboot.
#[tokio::test(flavor = "multi_thread")]
async fn two_nodes_on_one_postgres_reboot_once_and_mail_once() {
    let Some(cloud) = Cloud::start() else { return };
    let Some(cluster) = PostgresCluster::start() else { return };
    let Some(smtp) = SmtpServer::start() else { return };
    let (api, address) = fake_api().await;
    let storage = cluster.database("vigil");
    let config = |port: u16| {
        format!(
            "storage: {storage}\nlisten: 127.0.0.1:{port}\n\
             notifiers:\n  oncall:\n    type: email\n    smtp-host: 127.0.0.1\n    smtp-port: {}\n    tls: none\n\
             \x20   from: vigil@example.com\n    to: [oncall@example.com]\n\
             actions:\n  reboot-api:\n{}\
             monitors:\n  - name: fitpay-api\n    url: http://{address}/health\n    interval: 200ms\n    timeout: 150ms\n\
             \x20   notify: [oncall]\n    actions: [reboot-api]\n",
            smtp.port(),
            cloud.action("    cooldown: 1h\n")
        )
    };
    let first = Vigil::start_with(|port, _| config(port), &cloud.env(&cloud.admin), &[]);
    let second = Vigil::start_with(|port, _| config(port), &cloud.env(&cloud.admin), &[]);
    first.wait_for_metric(SUCCESSES, 2.0).await;
    second.wait_for_metric(SUCCESSES, 2.0).await;
    api.set_failing(true);
    let messages = smtp.wait_for_messages(1, WAIT);
    // Both nodes have seen the outage well past the threshold before counting.
    first.wait_for_metric(FAILURES, 6.0).await;
    second.wait_for_metric(FAILURES, 6.0).await;
    wait_until("the reboot", &first, || cloud.moto.count("RebootInstances") >= 1).await;
    let executed = first.metric(&outcome("reboot-api", "executed")).await + second.metric(&outcome("reboot-api", "executed")).await;
    assert_eq!(executed, 1.0, "{}\n{}", first.logs(), second.logs());
    assert_eq!(cloud.moto.count("RebootInstances"), 1);
    wait_until("the outcome mail", &first, || smtp.messages().len() >= 2).await;
    let expected = ["[Vigil] fitpay-api is DOWN".to_owned(), format!("[Vigil] reboot-api on ec2:us-east-1:{}: ran", cloud.instance)];
    assert_eq!(subjects(&smtp.messages()), expected, "one outage mail, one outcome mail: {messages:?}");
    // The outcome answers the outage mail, so the two thread.
    let header = |mail: &str, name: &str| {
        mail.lines().find_map(|line| line.strip_prefix(name).map(|value| value.trim().to_owned())).unwrap_or_default()
    };
    let mails = smtp.messages();
    let down_id = header(&mails[0], "Message-ID:");
    assert!(down_id.starts_with("<transition."), "{}", mails[0]);
    assert_eq!(header(&mails[1], "In-Reply-To:"), down_id, "{}", mails[1]);
    assert_eq!(header(&mails[1], "References:"), down_id);
    assert_eq!(executions(&first).len(), 1, "one execution in the shared store");
    let skipped = format!("{}{}", first.logs(), second.logs());
    assert!(skipped.contains("already recorded by another node"), "the second node saw the outage too");
    drop((first, second, cluster));
}

/// `vigil run --dry-run`: the guards run and the history says what would have run;
/// not one request reaches the AWS-compatible server.
#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_touches_nothing() {
    let Some(cloud) = Cloud::start() else { return };
    let (received, hook) = receiver().await;
    let before = cloud.moto.recorded().len();
    let vigil = Vigil::start_with(|port, _| seed_config(&cloud, hook, port, "hook", false), &cloud.env(&cloud.admin), &["--dry-run"]);
    append_slow(&vigil, 6);
    vigil.wait_for_metric(&outcome("reboot-api", "dry-run"), 1.0).await;
    wait_until("the dry-run notification", &vigil, || !action_messages(&received, "dry-run").is_empty()).await;

    assert_eq!(cloud.moto.recorded().len(), before, "no request reached moto: {:?}", &cloud.moto.recorded()[before..]);
    let history = executions(&vigil);
    assert_eq!((history[0]["state"].as_str(), history[0]["dry_run"].as_bool()), (Some("dry-run"), Some(true)));
    let decisions: Vec<serde_json::Value> = serde_json::from_str(history[0]["decisions"].as_str().expect("decisions")).expect("json");
    assert_eq!(decisions.len(), 8, "every guard and the lease decided: {decisions:?}");
    let message = &action_messages(&received, "dry-run")[0];
    assert!(message["reason"].as_str().is_some_and(|reason| reason.starts_with("would run ec2:RebootInstances")), "{message}");
}

/// Alertmanager's webhook: a bearer token is required; a firing alert routes to an
/// HTTP action and an exec action (which gets the alert in its environment, not
/// Vigil's secrets) and to Slack and PagerDuty; the resolution verifies them; repeats
/// change nothing. Then an action that needs approval, and the kill switch.
#[tokio::test(flavor = "multi_thread")]
async fn alertmanager_alerts_drive_http_and_exec_actions() {
    let (received, hook) = receiver().await;
    let vigil = Vigil::start_with(
        |port, _| {
            format!(
                "listen: 127.0.0.1:{port}\n\
                 notifiers:\n  hook:\n    type: webhook\n    url: http://{hook}/hook\n\
                 \x20 chat:\n    type: slack\n    webhook-url: http://{hook}/hook\n\
                 \x20 pager:\n    type: pagerduty\n    routing-key: ${{AM_TOKEN}}\n    url: http://{hook}/hook\n\
                 actions:\n\
                 \x20 restart-pod:\n    type: http\n    url: http://{hook}/hook?pod={{{{ $labels.pod }}}}\n    body: '{{\"restart\": \"{{{{ $labels.pod }}}}\"}}'\n    verify: 30s\n\
                 \x20 show-env:\n    type: exec\n    command: [/usr/bin/env]\n\
                 \x20 drain-node:\n    type: exec\n    command: [/bin/true]\n    approval: required\n\
                 inbound:\n  alertmanager:\n    token: ${{AM_TOKEN}}\n    routes:\n\
                 \x20     - match: {{alertname: PodStuck}}\n        actions: [restart-pod, show-env]\n        notify: [hook, chat, pager]\n\
                 \x20     - match: {{alertname: NodeBad}}\n        actions: [drain-node]\n        notify: [hook]\n"
            )
        },
        &[("AM_TOKEN", "am-secret"), ("SMTP_PASSWORD", "never-passed-on")],
        &[],
    );
    let alert = |name: &str, status: &str, starts_at: &str| {
        serde_json::json!({
            "version": "4", "status": status, "receiver": "vigil", "groupKey": "{}",
            "alerts": [{"status": status, "labels": {"alertname": name, "pod": "api-7"}, "annotations": {"summary": "api-7 stuck"},
                        "startsAt": starts_at, "endsAt": "0001-01-01T00:00:00Z", "fingerprint": format!("f00d-{name}")}],
        })
        .to_string()
    };
    let payload = |status: &str| alert("PodStuck", status, "2026-12-01T10:00:00Z");
    let post = |body: String, token: &'static str| {
        let url = format!("http://127.0.0.1:{}/api/v1/alertmanager", vigil.port);
        async move {
            let request = vigil::probes::HttpRequest {
                method: http::Method::POST,
                url: url.parse().expect("url"),
                headers: [("authorization".to_owned(), format!("Bearer {token}")), ("content-type".into(), "application/json".into())]
                    .into(),
                body: Some(body.into()),
                timeout: Duration::from_secs(5),
                follow_redirects: false,
                verify_tls: true,
                host_from_address: false,
            };
            vigil::probes::HttpClient::new().send(&request).await
        }
    };
    assert_eq!(post(payload("firing"), "wrong").await.status, Some(401));
    assert_eq!(post("{\"version\":\"3\"}".to_owned(), "am-secret").await.status, Some(400));
    let answer = post(payload("firing"), "am-secret").await;
    assert_eq!((answer.status, String::from_utf8_lossy(&answer.body).contains("\"started\":1")), (Some(200), true));
    vigil.wait_for_metric(&outcome("show-env", "executed"), 1.0).await;
    vigil.wait_for_metric(&outcome("restart-pod", "executed"), 1.0).await;
    let repeat = post(payload("firing"), "am-secret").await;
    assert!(String::from_utf8_lossy(&repeat.body).contains("\"unchanged\":1"), "a repeat is the same episode");
    post(payload("resolved"), "am-secret").await;
    vigil.wait_for_metric(&outcome("restart-pod", "verified"), 1.0).await;

    let restart = received.lock().expect("lock").iter().any(|(_, body)| body == r#"{"restart": "api-7"}"#);
    assert!(restart, "the HTTP action posted its rendered body");
    let history = executions(&vigil);
    let env = history.iter().find(|e| e["action"] == "show-env").and_then(|e| e["result"].as_str()).expect("env output").to_owned();
    assert!(env.contains("VIGIL_LABEL_POD=api-7") && env.contains("VIGIL_LABEL_ALERTNAME=PodStuck"), "{env}");
    assert!(!env.contains("never-passed-on") && !env.contains("am-secret"), "Vigil's environment is not passed on:\n{env}");
    assert_eq!(history.len(), 2, "the repeat queued nothing");
    let bodies: Vec<serde_json::Value> =
        received.lock().expect("lock").iter().filter_map(|(_, body)| serde_json::from_str(body).ok()).collect();
    let pages: Vec<&str> =
        bodies.iter().filter(|body| body["routing_key"] == "am-secret").filter_map(|body| body["event_action"].as_str()).collect();
    assert_eq!(pages, ["trigger", "resolve"], "PagerDuty: the alert triggers, its resolution resolves; outcomes are not paged");
    assert!(bodies.iter().any(|body| body["text"].as_str().is_some_and(|text| text.starts_with("*[Vigil] PodStuck"))), "Slack got it");

    // Approval: the action waits for a person, then runs.
    assert_eq!(post(alert("NodeBad", "firing", "2026-12-01T11:00:00Z"), "am-secret").await.status, Some(200));
    vigil.wait_for_metric(&outcome("drain-node", "awaiting-approval"), 1.0).await;
    let waiting = executions(&vigil).into_iter().find(|e| e["action"] == "drain-node").expect("drain-node");
    assert_eq!(waiting["state"], "awaiting-approval");
    let (code, stdout, stderr) = vigil.command(&["actions", "approve", &waiting["id"].to_string()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("approved"), "{stdout}");
    vigil.wait_for_metric(&outcome("drain-node", "executed"), 1.0).await;

    // The kill switch: a new episode is suppressed while actions are paused.
    assert_eq!(vigil.command(&["actions", "pause"]).0, Some(0));
    assert_eq!(post(alert("NodeBad", "firing", "2026-12-01T12:00:00Z"), "am-secret").await.status, Some(200));
    vigil.wait_for_metric(&outcome("drain-node", "suppressed"), 1.0).await;
    let suppressed = executions(&vigil).into_iter().next().expect("newest");
    assert!(suppressed["decisions"].as_str().is_some_and(|decisions| decisions.contains("actions are paused")), "{suppressed}");
    assert_eq!(vigil.command(&["actions", "resume"]).0, Some(0));
}

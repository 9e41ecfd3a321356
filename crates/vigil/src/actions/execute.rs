//! Running one action on one target: EC2 `RebootInstances`, an HTTP request, or a
//! program (never through a shell; the alert reaches it as environment variables, never
//! in its arguments, and Vigil's own environment — its secrets — is not passed on).

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use vigil_config::{ActionConfig, ActionKind};
use vigil_store::ExecutionRecord;

use crate::aws::{self, AwsClient, ServiceEndpoint};
use crate::notifiers::message::render_summary;
use crate::probes::{HttpClient, HttpRequest};

/// Output kept from a program, per stream.
const MAX_OUTPUT: usize = 16 * 1024;
/// Variables of Vigil's environment a program still gets.
const PASSED_ENV: &[&str] = &["PATH", "HOME", "LANG", "LC_ALL", "TZ", "USER"];

/// The HTTP and AWS clients actions use.
#[derive(Clone)]
pub struct Executor {
    pub http: HttpClient,
    pub aws: AwsClient,
}

impl Executor {
    /// Runs `action` for `execution`; returns what it said, or why it failed.
    pub async fn run(&self, action: &ActionConfig, execution: &ExecutionRecord) -> Result<String, String> {
        let labels: BTreeMap<String, String> = serde_json::from_str(&execution.labels).unwrap_or_default();
        match &action.kind {
            ActionKind::Ec2Reboot { endpoint, .. } => {
                let Some((region, instance)) = execution.target.strip_prefix("ec2:").and_then(|rest| rest.split_once(':')) else {
                    return Err(format!("not an EC2 target: `{}`", execution.target));
                };
                let endpoint = ServiceEndpoint::resolve("ec2", region, endpoint.as_deref())?;
                let instances = [instance.to_owned()];
                let call = aws::reboot_instances(&self.aws, &endpoint, &instances);
                match tokio::time::timeout(action.timeout, call).await {
                    Ok(Ok(())) => Ok(format!("RebootInstances accepted for {instance} in {region}")),
                    Ok(Err(error)) => Err(error.to_string()),
                    Err(_) => Err(format!("RebootInstances timed out after {}", vigil_core::time::format_duration(action.timeout))),
                }
            }
            ActionKind::Http { method, headers, body, expected_status, .. } => {
                let url = &execution.target;
                let request = HttpRequest {
                    method: method.clone(),
                    url: url.parse().map_err(|_| format!("invalid URL `{url}`"))?,
                    headers: {
                        let mut headers = headers.clone();
                        crate::telemetry::inject(&mut headers);
                        headers
                    },
                    body: body.as_ref().map(|body| render_summary(body, &labels, 0.0).into()),
                    timeout: action.timeout,
                    follow_redirects: false,
                    verify_tls: true,
                    host_from_address: false,
                };
                let result = self.http.send(&request).await;
                let Some(status) = result.status else {
                    return Err(format!(
                        "{method} {url} failed: {}",
                        result.failure.map(|failure| failure.to_string()).unwrap_or_default()
                    ));
                };
                let ok = if expected_status.is_empty() { (200..300).contains(&status) } else { expected_status.contains(&status) };
                let text: String = String::from_utf8_lossy(&result.body).chars().take(200).collect();
                if ok {
                    Ok(format!("{method} {url}: {status}"))
                } else {
                    Err(format!("{method} {url}: unexpected status {status}: {text}"))
                }
            }
            ActionKind::Exec { command, env } => run_program(command, env, action.timeout, execution, &labels).await,
        }
    }
}

/// The variables that tell a program about its execution.
pub fn program_env(execution: &ExecutionRecord, labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut env = BTreeMap::from([
        ("VIGIL_ACTION".to_owned(), execution.action.clone()),
        ("VIGIL_TARGET".to_owned(), execution.target.clone()),
        ("VIGIL_EXECUTION_ID".to_owned(), execution.id.to_string()),
        ("VIGIL_EPISODE".to_owned(), execution.episode.clone()),
        ("VIGIL_ATTEMPT".to_owned(), execution.attempt.to_string()),
        ("VIGIL_SUMMARY".to_owned(), execution.summary.clone()),
        ("VIGIL_DRY_RUN".to_owned(), execution.dry_run.to_string()),
    ]);
    for (name, value) in labels {
        let name: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
        env.insert(format!("VIGIL_LABEL_{name}"), value.clone());
    }
    env
}

async fn run_program(
    command: &[String],
    env: &BTreeMap<String, String>,
    timeout: Duration,
    execution: &ExecutionRecord,
    labels: &BTreeMap<String, String>,
) -> Result<String, String> {
    let (program, arguments) = command.split_first().ok_or("no command configured")?;
    let mut child = tokio::process::Command::new(program);
    child.args(arguments).env_clear().stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    for name in PASSED_ENV {
        if let Ok(value) = std::env::var(name) {
            child.env(name, value);
        }
    }
    child.envs(env).envs(program_env(execution, labels));
    let mut child = child.spawn().map_err(|error| format!("cannot start `{program}`: {error}"))?;
    let (mut stdout, mut stderr) = (child.stdout.take(), child.stderr.take());
    let outcome = tokio::time::timeout(timeout, async {
        let (out, err, status) = tokio::join!(read_capped(stdout.take()), read_capped(stderr.take()), child.wait());
        (out, err, status)
    })
    .await;
    match outcome {
        Ok((out, err, Ok(status))) => {
            let output = [out.trim(), err.trim()].iter().filter(|text| !text.is_empty()).copied().collect::<Vec<_>>().join("\n");
            if status.success() {
                Ok(if output.is_empty() { format!("`{program}` exited 0") } else { output })
            } else {
                Err(format!("`{program}` failed ({status}): {output}"))
            }
        }
        Ok((_, _, Err(error))) => Err(format!("waiting for `{program}` failed: {error}")),
        Err(_) => {
            let _ = child.kill().await;
            Err(format!("`{program}` timed out after {} and was killed", vigil_core::time::format_duration(timeout)))
        }
    }
}

/// Up to [`MAX_OUTPUT`] bytes of a program's output stream, as text.
async fn read_capped(stream: Option<impl AsyncRead + Unpin>) -> String {
    let mut out = Vec::new();
    if let Some(stream) = stream {
        let _ = stream.take(MAX_OUTPUT as u64).read_to_end(&mut out).await;
    }
    String::from_utf8_lossy(&out).into_owned()
}

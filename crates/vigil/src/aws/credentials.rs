//! Where AWS credentials come from, in the order the AWS SDKs look: the environment
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), the shared
//! credentials and config files (`AWS_PROFILE`, default `default`), then the EC2 instance
//! role through IMDSv2. Secrets never reach a log or an error message.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use vigil_config::Secret;

use crate::probes::{HttpClient, HttpRequest};

/// Refresh role credentials this long before they expire.
const REFRESH_BEFORE: Duration = Duration::from_secs(300);
/// Environment and file credentials are read again after this long.
const STATIC_TTL: Duration = Duration::from_secs(300);
const IMDS_TIMEOUT: Duration = Duration::from_secs(2);
const DEFAULT_IMDS: &str = "http://169.254.169.254";

#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
    /// Where they came from, for logs: `environment`, `profile NAME`, `instance role NAME`.
    pub source: String,
    expires_at: Option<SystemTime>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("access_key_id", &self.access_key_id).field("source", &self.source).finish_non_exhaustive()
    }
}

/// Reads one environment variable.
pub type EnvLookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Resolves credentials through the chain and caches them until they need refreshing.
pub struct CredentialChain {
    env: Box<EnvLookup>,
    cached: Mutex<Option<(Credentials, SystemTime)>>,
}

impl Default for CredentialChain {
    fn default() -> Self {
        CredentialChain::with_env(Box::new(|name| std::env::var(name).ok()))
    }
}

impl CredentialChain {
    /// A chain reading its variables through `env` instead of the process environment.
    pub fn with_env(env: Box<EnvLookup>) -> CredentialChain {
        CredentialChain { env, cached: Mutex::new(None) }
    }

    pub async fn get(&self, http: &HttpClient) -> Result<Credentials, String> {
        let now = SystemTime::now();
        if let Some((credentials, refresh_at)) = self.cached.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).as_ref() {
            if now < *refresh_at {
                return Ok(credentials.clone());
            }
        }
        let credentials = resolve(http, &*self.env).await?;
        let refresh_at = match credentials.expires_at {
            Some(expires_at) => expires_at.checked_sub(REFRESH_BEFORE).unwrap_or(now),
            None => now + STATIC_TTL,
        };
        *self.cached.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some((credentials.clone(), refresh_at));
        Ok(credentials)
    }
}

async fn resolve(http: &HttpClient, lookup: &EnvLookup) -> Result<Credentials, String> {
    let env = |name: &str| lookup(name).filter(|value| !value.is_empty());
    if let (Some(access_key_id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        return Ok(Credentials {
            access_key_id,
            secret_access_key: Secret::new(secret),
            session_token: env("AWS_SESSION_TOKEN").map(Secret::new),
            source: "environment".to_owned(),
            expires_at: None,
        });
    }
    let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
    if let Some(credentials) = from_files(&profile, lookup) {
        return Ok(credentials);
    }
    if env("AWS_EC2_METADATA_DISABLED").is_some_and(|value| value.eq_ignore_ascii_case("true")) {
        return Err(format!(
            "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or profile `{profile}` in ~/.aws/credentials (instance metadata is disabled)"
        ));
    }
    let endpoint = env("AWS_EC2_METADATA_SERVICE_ENDPOINT").unwrap_or_else(|| DEFAULT_IMDS.to_owned());
    from_instance_role(http, endpoint.trim_end_matches('/')).await.map_err(|error| {
        format!(
            "no AWS credentials: not in the environment, no profile `{profile}` in the shared files, and the instance role failed: {error}"
        )
    })
}

/// `~/.aws/credentials` (section `[NAME]`), then `~/.aws/config` (section `[profile NAME]`,
/// or `[default]`).
fn from_files(profile: &str, lookup: &EnvLookup) -> Option<Credentials> {
    let env = |name: &str| lookup(name).filter(|value| !value.is_empty()).map(PathBuf::from);
    let credentials_file = env("AWS_SHARED_CREDENTIALS_FILE").or_else(|| env("HOME").map(|home| home.join(".aws/credentials")));
    let config_file = env("AWS_CONFIG_FILE").or_else(|| env("HOME").map(|home| home.join(".aws/config")));
    let config_section = if profile == "default" { "default".to_owned() } else { format!("profile {profile}") };
    [(credentials_file, profile.to_owned()), (config_file, config_section)].into_iter().find_map(|(file, section)| {
        let text = std::fs::read_to_string(file?).ok()?;
        let values = ini_section(&text, &section)?;
        Some(Credentials {
            access_key_id: values.get("aws_access_key_id")?.clone(),
            secret_access_key: Secret::new(values.get("aws_secret_access_key")?.clone()),
            session_token: values.get("aws_session_token").cloned().map(Secret::new),
            source: format!("profile {profile}"),
            expires_at: None,
        })
    })
}

/// The `key = value` pairs of `[section]` in an INI file.
fn ini_section(text: &str, section: &str) -> Option<BTreeMap<String, String>> {
    let mut current: Option<&str> = None;
    let mut values = BTreeMap::new();
    let mut found = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
            current = Some(name.trim());
            found |= name.trim() == section;
            continue;
        }
        if current == Some(section) {
            if let Some((key, value)) = line.split_once('=') {
                values.insert(key.trim().to_ascii_lowercase(), value.trim().to_owned());
            }
        }
    }
    found.then_some(values)
}

/// IMDSv2: a session token, the role's name, then its temporary credentials.
async fn from_instance_role(http: &HttpClient, endpoint: &str) -> Result<Credentials, String> {
    let call = |method: http::Method, path: String, headers: Vec<(String, String)>| {
        let url = format!("{endpoint}{path}");
        async move {
            let request = HttpRequest {
                method,
                url: url.parse().map_err(|_| format!("invalid instance metadata endpoint `{endpoint}`"))?,
                headers: headers.into_iter().collect(),
                body: None,
                timeout: IMDS_TIMEOUT,
                follow_redirects: false,
                verify_tls: true,
                host_from_address: false,
            };
            let result = http.send(&request).await;
            match (result.status, result.failure) {
                (Some(200), _) => String::from_utf8(result.body.to_vec()).map_err(|_| "instance metadata answered non-UTF-8".to_owned()),
                (Some(status), _) => Err(format!("instance metadata answered {status} for {path}")),
                (None, failure) => Err(format!("instance metadata unreachable: {}", failure.map(|f| f.to_string()).unwrap_or_default())),
            }
        }
    };
    let token =
        call(http::Method::PUT, "/latest/api/token".to_owned(), vec![("x-aws-ec2-metadata-token-ttl-seconds".into(), "21600".into())])
            .await?;
    let token_header = || vec![("x-aws-ec2-metadata-token".to_owned(), token.trim().to_owned())];
    let roles = call(http::Method::GET, "/latest/meta-data/iam/security-credentials/".to_owned(), token_header()).await?;
    let role = roles.lines().map(str::trim).find(|line| !line.is_empty()).ok_or("the instance has no IAM role")?.to_owned();
    let document = call(http::Method::GET, format!("/latest/meta-data/iam/security-credentials/{role}"), token_header()).await?;
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct RoleCredentials {
        access_key_id: String,
        secret_access_key: String,
        token: Option<String>,
        expiration: Option<String>,
    }
    let parsed: RoleCredentials =
        serde_json::from_str(&document).map_err(|_| format!("instance role `{role}`: unreadable credentials document"))?;
    let expires_at = parsed
        .expiration
        .as_deref()
        .and_then(vigil_core::Timestamp::parse_rfc3339)
        .and_then(|at| u64::try_from(at.0).ok())
        .map(|millis| std::time::UNIX_EPOCH + Duration::from_millis(millis));
    Ok(Credentials {
        access_key_id: parsed.access_key_id,
        secret_access_key: Secret::new(parsed.secret_access_key),
        session_token: parsed.token.map(Secret::new),
        source: format!("instance role {role}"),
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::ini_section;

    #[test]
    fn profiles_are_read_from_ini_sections() {
        let text = "# comment\n[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key=s1\n\n[profile ops]\nAWS_ACCESS_KEY_ID = AKIAOPS\n[ops]\naws_access_key_id=AKIAOPS2\naws_session_token = t\n";
        let default = ini_section(text, "default").expect("default");
        assert_eq!((default["aws_access_key_id"].as_str(), default["aws_secret_access_key"].as_str()), ("AKIADEFAULT", "s1"));
        assert_eq!(ini_section(text, "profile ops").expect("config-file style")["aws_access_key_id"], "AKIAOPS");
        assert_eq!(ini_section(text, "ops").expect("credentials-file style")["aws_session_token"], "t");
        assert!(ini_section(text, "missing").is_none());
    }
}

//! `status-page:`: the public status page. Components are public names over monitors;
//! nothing else from the config (hostnames, URLs, labels, people) reaches the page.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use marked_yaml::Spanned;
use serde::Deserialize;
use vigil_core::ratelimit::Rate;

use crate::load::Loader;

/// `status-page:` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawStatusPage {
    /// The page's title, e.g. `Example Inc. status`.
    pub title: Option<Spanned<String>>,
    /// A line under the title.
    pub description: Option<String>,
    /// Where the page is reached from outside (for the JSON's `page.url` and the feed);
    /// default: `incidents.external-url` and `/status`.
    pub url: Option<Spanned<String>>,
    /// Serve the page (and only the page, its JSON, feed and badges) on this address
    /// too, e.g. `0.0.0.0:8081`, besides `listen`.
    pub listen: Option<Spanned<String>>,
    /// Days of history: uptime bars and past incidents. Default 90.
    pub history_days: Option<Spanned<i64>>,
    /// The public components, in the order shown.
    #[serde(default)]
    pub components: Vec<RawComponent>,
    /// E-mail subscriptions to public updates.
    pub subscriptions: Option<RawSubscriptions>,
}

/// `status-page.subscriptions:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawSubscriptions {
    /// The e-mail notifier whose server and sender the mails go through.
    pub email_via: Spanned<String>,
    /// Subscribe requests one client may make, `COUNT/DURATION`. Default 5/1h.
    pub per_client: Option<Spanned<String>>,
    /// Subscribe requests the page takes from everyone together. Default 200/1h.
    pub per_page: Option<Spanned<String>>,
    /// A header a reverse proxy in front of Vigil sets to the client's address
    /// (`X-Forwarded-For`: its last address is taken); default: the connection's peer.
    pub client_ip_header: Option<Spanned<String>>,
}

/// `status-page.subscriptions:`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionsConfig {
    /// The e-mail notifier the mails go through.
    pub email_via: String,
    pub per_client: Rate,
    pub per_page: Rate,
    /// The header that names the client, lowercase; `None`: the connection's peer.
    pub client_ip_header: Option<String>,
}

/// Subscribe requests one client may make by default.
pub const PER_CLIENT: Rate = Rate { count: 5, per: std::time::Duration::from_secs(3600) };
/// Subscribe requests the page takes by default.
pub const PER_PAGE: Rate = Rate { count: 200, per: std::time::Duration::from_secs(3600) };

/// One component.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawComponent {
    /// Its public name, e.g. `Public API`.
    pub name: Spanned<String>,
    /// A public line about it.
    pub description: Option<String>,
    /// The monitors whose states make its state.
    pub monitors: Vec<Spanned<String>>,
}

/// A component of the status page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentConfig {
    pub name: String,
    pub description: Option<String>,
    pub monitors: Vec<String>,
}

/// `status-page:`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusPageConfig {
    pub title: String,
    pub description: Option<String>,
    pub url: Option<String>,
    pub listen: Option<SocketAddr>,
    pub history_days: u32,
    pub components: Vec<ComponentConfig>,
    /// E-mail subscriptions; `None`: none.
    pub subscriptions: Option<SubscriptionsConfig>,
}

impl Loader {
    pub(crate) fn status_page(
        &mut self,
        raw: Option<RawStatusPage>,
        monitors: &BTreeSet<String>,
        notifiers: &std::collections::BTreeMap<String, crate::NotifierConfig>,
    ) -> Option<StatusPageConfig> {
        let raw = raw?;
        let subscriptions = raw.subscriptions.as_ref().and_then(|subscriptions| {
            let via = &subscriptions.email_via;
            let mut rate = |text: &Option<Spanned<String>>, default: Rate| match text {
                Some(text) => Rate::parse(text).unwrap_or_else(|error| {
                    self.error(Some(text.span()), error);
                    default
                }),
                None => default,
            };
            let per_client = rate(&subscriptions.per_client, PER_CLIENT);
            let per_page = rate(&subscriptions.per_page, PER_PAGE);
            let client_ip_header =
                subscriptions.client_ip_header.as_ref().and_then(|header| match http::HeaderName::from_bytes(header.trim().as_bytes()) {
                    Ok(name) => Some(name.as_str().to_owned()),
                    Err(_) => {
                        self.error(Some(header.span()), format!("client-ip-header `{}` is not a header name", header.as_str()));
                        None
                    }
                });
            let email_via = match notifiers.get(via.as_str()).map(crate::NotifierConfig::kind) {
                Some("email") => via.as_str().to_owned(),
                Some(other) => {
                    self.error(Some(via.span()), format!("email-via `{}` is a {other} notifier, not an email one", via.as_str()));
                    return None;
                }
                None => {
                    self.error(Some(via.span()), format!("unknown notifier `{}`", via.as_str()));
                    return None;
                }
            };
            Some(SubscriptionsConfig { email_via, per_client, per_page, client_ip_header })
        });
        let url = raw.url.as_ref().and_then(|url| match crate::load::parse_http_url(url) {
            Some(_) => Some(url.trim_end_matches('/').to_owned()),
            None => {
                self.error(Some(url.span()), format!("invalid status page url `{}`, expected http:// or https://", url.as_str()));
                None
            }
        });
        let listen = raw.listen.as_ref().and_then(|listen| match listen.parse::<SocketAddr>() {
            Ok(address) => Some(address),
            Err(_) => {
                self.error(
                    Some(listen.span()),
                    format!("invalid listen address `{}`, expected IP:PORT such as 0.0.0.0:8081", listen.as_str()),
                );
                None
            }
        });
        let history_days = match &raw.history_days {
            Some(days) if (1..=366).contains(&**days) => u32::try_from(**days).unwrap_or(90),
            Some(days) => {
                self.error(Some(days.span()), "history-days must be from 1 to 366");
                90
            }
            None => 90,
        };
        let mut names = BTreeSet::new();
        let mut components = Vec::new();
        for component in raw.components {
            let name = component.name.as_str().trim().to_owned();
            if name.is_empty() || name.len() > 100 {
                self.error(Some(component.name.span()), "a component needs a name of 1 to 100 characters");
            } else if !names.insert(name.to_lowercase()) {
                self.error(Some(component.name.span()), format!("duplicate component `{name}`"));
            }
            if component.monitors.is_empty() {
                self.error(Some(component.name.span()), format!("component `{name}` has no monitors: its state comes from theirs"));
            }
            for monitor in &component.monitors {
                if !monitors.contains(monitor.as_str()) {
                    self.error(Some(monitor.span()), format!("unknown monitor `{}` in component `{name}`", monitor.as_str()));
                }
            }
            components.push(ComponentConfig {
                name,
                description: component.description,
                monitors: component.monitors.iter().map(|monitor| monitor.as_str().to_owned()).collect(),
            });
        }
        if components.is_empty() {
            let span = raw.title.as_ref().map(|title| *title.span());
            self.error(span.as_ref(), "status-page needs at least one component");
        }
        let title = raw.title.map_or_else(|| "Status".to_owned(), |title| title.as_str().trim().to_owned());
        Some(StatusPageConfig { title, description: raw.description, url, listen, history_days, components, subscriptions })
    }
}

#[cfg(test)]
mod tests;

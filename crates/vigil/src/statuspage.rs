//! The public status page's content, read from the store: each component's status and
//! uptime per day, the incidents with public updates (active and past), and scheduled
//! maintenance (silences whose comment starts with `maintenance`). Only what the config
//! names as public and what people wrote as public updates is in it: no monitor URLs,
//! hostnames, error texts, labels or people. `http/status.rs` renders it (HTML, the
//! Statuspage JSON, an Atom feed, badges); a summary is kept for two seconds, so a busy
//! page costs the store one read every two seconds.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use vigil_config::StatusPageConfig;
use vigil_core::hysteresis::Health;
use vigil_core::incident::{Severity, Status};
use vigil_core::statuspage::{component_status, daily_uptime, page_status, ComponentStatus};
use vigil_core::{Clock, Timestamp};
use vigil_store::{Store, StoreError};

/// How long a summary is served before it is read again.
const FRESH: Duration = Duration::from_secs(2);
const DAY: i64 = 86_400_000;

/// A component as the public sees it.
#[derive(Debug, Clone)]
pub struct Component {
    /// A stable id made from its name.
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub status: ComponentStatus,
    /// Uptime per UTC day, oldest first (`None`: not watched that day).
    pub days: Vec<Option<f64>>,
    /// Over the whole history.
    pub uptime: Option<f64>,
    pub position: usize,
    /// When its status last changed, as far as its monitors say.
    pub updated_at: Option<Timestamp>,
}

/// A public update of an incident.
#[derive(Debug, Clone)]
pub struct PublicUpdate {
    pub id: i64,
    pub status: Status,
    pub body: String,
    pub at: Timestamp,
}

/// An incident with public updates.
#[derive(Debug, Clone)]
pub struct PublicIncident {
    pub id: i64,
    pub name: String,
    pub status: Status,
    pub severity: Severity,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    /// The components it affects, by id.
    pub components: Vec<String>,
    /// Newest first.
    pub updates: Vec<PublicUpdate>,
}

/// A maintenance window.
#[derive(Debug, Clone)]
pub struct Maintenance {
    pub id: String,
    pub name: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub in_progress: bool,
    pub components: Vec<String>,
}

/// Everything the page shows.
#[derive(Debug, Clone)]
pub struct Summary {
    pub generated_at: Timestamp,
    pub title: String,
    pub description: Option<String>,
    pub url: Option<String>,
    pub history_days: u32,
    /// Statuspage's `status.indicator` and `status.description`.
    pub indicator: &'static str,
    pub headline: &'static str,
    pub components: Vec<Component>,
    pub active: Vec<PublicIncident>,
    pub past: Vec<PublicIncident>,
    pub maintenances: Vec<Maintenance>,
    /// Whether visitors may subscribe by e-mail.
    pub subscriptions: bool,
}

/// The status page's source.
pub struct StatusPage {
    pub config: StatusPageConfig,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// `incidents.external-url`, for the page's own URL when `status-page.url` is unset.
    pub external_url: Option<String>,
    /// E-mail subscriptions, when configured.
    pub subscriptions: Option<Arc<crate::subscriptions::Subscriptions>>,
    cache: Mutex<Option<Arc<Summary>>>,
}

/// `word` with its first letter capitalised (`investigating` → `Investigating`).
pub fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// A component's id: its name, lowercased, runs of other characters as `-`.
pub fn slug(name: &str) -> String {
    let mut slug = String::new();
    for character in name.chars() {
        if character.is_alphanumeric() {
            slug.extend(character.to_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

/// The labels a monitor's alert carries, which a silence must match.
fn monitor_labels(monitor: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("alertname".to_owned(), monitor.to_owned()),
        ("monitor".to_owned(), monitor.to_owned()),
        ("severity".to_owned(), "page".to_owned()),
    ])
}

impl StatusPage {
    pub fn new(config: StatusPageConfig, store: Store, clock: Arc<dyn Clock>, external_url: Option<String>) -> StatusPage {
        StatusPage { config, store, clock, external_url, subscriptions: None, cache: Mutex::new(None) }
    }

    /// The page with its e-mail subscriptions.
    pub fn with_subscriptions(mut self, subscriptions: Option<Arc<crate::subscriptions::Subscriptions>>) -> StatusPage {
        self.subscriptions = subscriptions;
        self
    }

    /// The page's public URL.
    pub fn url(&self) -> Option<String> {
        self.config.url.clone().or_else(|| self.external_url.as_ref().map(|base| format!("{base}/status")))
    }

    /// Whether `monitor` is on the page (only those have badges).
    pub fn is_public(&self, monitor: &str) -> bool {
        self.config.components.iter().any(|component| component.monitors.iter().any(|name| name == monitor))
    }

    /// The summary read from the store now, whatever the last one (for the benchmark).
    pub async fn fresh(&self) -> Result<Summary, StoreError> {
        self.read(self.clock.now()).await
    }

    /// The summary, read again when the last one is older than two seconds.
    pub async fn summary(&self) -> Result<Arc<Summary>, StoreError> {
        let now = self.clock.now();
        let mut cache = self.cache.lock().await;
        if let Some(summary) = cache.as_ref().filter(|summary| now.since(summary.generated_at) < FRESH && summary.generated_at <= now) {
            return Ok(Arc::clone(summary));
        }
        let summary = Arc::new(self.read(now).await?);
        *cache = Some(Arc::clone(&summary));
        Ok(summary)
    }

    /// A monitor's uptime over the last `window` (percent), for badges.
    pub async fn uptime(&self, monitor: &str, window: Duration) -> Result<Option<f64>, StoreError> {
        let now = self.clock.now();
        let from = now.saturating_sub(window);
        let changes = self.store.state_changes(monitor, from, now).await?;
        let coverage = self.store.coverage(from, now).await?;
        Ok(vigil_core::uptime::compute(&changes, &coverage, from, now).uptime_percent)
    }

    /// A monitor's mean response time (milliseconds) over the last 24 hours, from its
    /// hourly sums, for badges; `None` without checks.
    pub async fn response_time(&self, monitor: &str) -> Result<Option<f64>, StoreError> {
        let since = Timestamp(self.clock.now().0.div_euclid(3_600_000) * 3_600_000 - 23 * 3_600_000);
        let (checks, total_ms) = self.store.check_totals(monitor, since).await?;
        Ok((checks > 0).then(|| total_ms / checks as f64))
    }

    /// A monitor's state now, for badges.
    pub async fn state(&self, monitor: &str) -> Result<Health, StoreError> {
        let latest = self.store.latest_transitions().await?;
        Ok(latest.iter().find(|transition| transition.monitor == monitor).map_or(Health::Unknown, |transition| transition.to))
    }

    async fn read(&self, now: Timestamp) -> Result<Summary, StoreError> {
        let days = self.config.history_days;
        let from = Timestamp((now.0.div_euclid(DAY) - i64::from(days) + 1) * DAY);
        let coverage = self.store.coverage(from, now).await?;
        let latest: BTreeMap<String, (Health, Timestamp)> = self
            .store
            .latest_transitions()
            .await?
            .into_iter()
            .map(|transition| (transition.monitor, (transition.to, transition.at)))
            .collect();
        let silences = self.store.silences(now, false).await?;

        // Maintenance: silences whose comment says so, over the components whose monitors they match.
        let mut maintenances = Vec::new();
        for silence in &silences {
            let comment = silence.comment.trim();
            if !comment.to_ascii_lowercase().starts_with("maintenance") {
                continue;
            }
            let matcher = silence.silence();
            let components: Vec<String> = self
                .config
                .components
                .iter()
                .filter(|component| component.monitors.iter().any(|monitor| matcher.matches(&monitor_labels(monitor))))
                .map(|component| slug(&component.name))
                .collect();
            if components.is_empty() {
                continue;
            }
            let name = comment["maintenance".len()..].trim_start_matches([':', ' ', '-']).trim();
            maintenances.push(Maintenance {
                id: silence.id.clone(),
                name: if name.is_empty() { "Scheduled maintenance".to_owned() } else { name.to_owned() },
                starts_at: silence.starts_at,
                ends_at: silence.ends_at,
                in_progress: silence.starts_at <= now && now < silence.ends_at,
                components,
            });
        }

        // Incidents with public updates.
        let mut by_incident: BTreeMap<i64, Vec<PublicUpdate>> = BTreeMap::new();
        for update in self.store.incident_updates(None, 5_000).await? {
            let public = PublicUpdate { id: update.id, status: update.status, body: update.text, at: update.at };
            by_incident.entry(update.incident_id).or_default().push(public);
        }
        let mut active = Vec::new();
        let mut past = Vec::new();
        for (id, updates) in by_incident {
            let Some(record) = self.store.incident(id).await? else { continue };
            if !record.is_open() && record.resolved_at.is_some_and(|at| at < from) {
                continue;
            }
            let mut names: BTreeSet<String> = record.service.iter().cloned().collect();
            names.extend(self.store.incident_alerts(id).await?.into_iter().map(|alert| alert.name));
            let affected: Vec<&vigil_config::ComponentConfig> = self
                .config
                .components
                .iter()
                .filter(|component| component.monitors.iter().any(|monitor| names.contains(monitor)))
                .collect();
            let severity_words = match record.severity {
                Severity::Sev1 => ComponentStatus::MajorOutage.label(),
                Severity::Sev2 => ComponentStatus::PartialOutage.label(),
                Severity::Sev3 => ComponentStatus::DegradedPerformance.label(),
            };
            let name = match affected.is_empty() {
                true => format!("Service disruption: {}", severity_words.to_lowercase()),
                false => {
                    let list: Vec<&str> = affected.iter().map(|component| component.name.as_str()).collect();
                    format!("{}: {}", list.join(", "), severity_words.to_lowercase())
                }
            };
            let incident = PublicIncident {
                id,
                name,
                status: record.status,
                severity: record.severity,
                created_at: record.opened_at,
                updated_at: updates.first().map_or(record.opened_at, |update| update.at),
                resolved_at: record.resolved_at,
                components: affected.iter().map(|component| slug(&component.name)).collect(),
                updates,
            };
            if record.is_open() {
                active.push(incident);
            } else {
                past.push(incident);
            }
        }
        active.sort_by_key(|incident| std::cmp::Reverse(incident.created_at));
        past.sort_by_key(|incident| std::cmp::Reverse(incident.resolved_at));

        let monitors: Vec<String> = self.config.components.iter().flat_map(|component| component.monitors.iter().cloned()).collect();
        let all_changes = self.store.state_changes_of(&monitors, from, now).await?;
        let mut components = Vec::new();
        for (position, component) in self.config.components.iter().enumerate() {
            let id = slug(&component.name);
            let healths: Vec<Health> =
                component.monitors.iter().map(|monitor| latest.get(monitor).map_or(Health::Unknown, |(health, _)| *health)).collect();
            let severities: Vec<Severity> =
                active.iter().filter(|incident| incident.components.contains(&id)).map(|incident| incident.severity).collect();
            let maintenance = maintenances.iter().any(|window| window.in_progress && window.components.contains(&id));
            let mut per_day: Vec<Vec<f64>> = vec![Vec::new(); days as usize];
            let mut totals = Vec::new();
            for monitor in &component.monitors {
                let changes = all_changes.get(monitor).map_or(&[][..], Vec::as_slice);
                for (day, uptime) in daily_uptime(changes, &coverage, days, now).into_iter().enumerate() {
                    if let Some(uptime) = uptime {
                        per_day[day].push(uptime);
                    }
                }
                if let Some(uptime) = vigil_core::uptime::compute(changes, &coverage, from, now).uptime_percent {
                    totals.push(uptime);
                }
            }
            let mean = |values: &[f64]| (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64);
            components.push(Component {
                status: component_status(&healths, &severities, maintenance),
                days: per_day.iter().map(|values| mean(values)).collect(),
                uptime: mean(&totals),
                updated_at: component.monitors.iter().filter_map(|monitor| latest.get(monitor).map(|(_, at)| *at)).max(),
                description: component.description.clone(),
                name: component.name.clone(),
                position: position + 1,
                id,
            });
        }
        let statuses: Vec<ComponentStatus> = components.iter().map(|component| component.status).collect();
        let (indicator, headline) = page_status(&statuses);
        Ok(Summary {
            generated_at: now,
            title: self.config.title.clone(),
            description: self.config.description.clone(),
            url: self.url(),
            history_days: days,
            indicator,
            headline,
            components,
            active,
            past,
            maintenances,
            subscriptions: self.subscriptions.is_some(),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs_are_stable_ids() {
        for (name, slug) in [("Public API", "public-api"), ("  Web  site!", "web-site"), ("Zürich DC-2", "zürich-dc-2")] {
            assert_eq!(super::slug(name), slug);
        }
    }
}

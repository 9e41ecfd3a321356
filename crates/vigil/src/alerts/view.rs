//! Alerts as the API and the CLI show them: each firing alert with the receivers it
//! reaches and what mutes it, in Alertmanager's API v2 shapes (`gettableAlert`,
//! `alertGroup`, `gettableSilence`), filtered as Alertmanager filters them.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use vigil_alerts::Matcher;
use vigil_core::Timestamp;
use vigil_store::{EpisodeRecord, EpisodeState, SilenceRecord, Store, StoreError, StoredMatcher};

use super::cache::EpisodeCache;
use super::status::{MuteContext, Mutes};
use super::Routing;

/// Go's zero time: Alertmanager's "not set".
const ZERO_TIME: &str = "0001-01-01T00:00:00.000Z";

#[derive(Debug, Clone, Serialize)]
pub struct ReceiverName {
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertStatus {
    /// `active` or `suppressed`.
    pub state: &'static str,
    pub silenced_by: Vec<String>,
    pub inhibited_by: Vec<String>,
}

/// Alertmanager's `gettableAlert`, with Vigil's episode id, source and the inhibit rules
/// that mute it beside it. It shares the episode it shows (listing thousands copies none).
#[derive(Debug, Clone)]
pub struct AlertView {
    pub record: Arc<EpisodeRecord>,
    pub receivers: Vec<String>,
    pub status: AlertStatus,
    pub inhibit_rules: Vec<String>,
}

impl Serialize for AlertView {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let record = &self.record;
        let receivers: Vec<ReceiverName> = self.receivers.iter().map(|name| ReceiverName { name: name.clone() }).collect();
        let mut out = serializer.serialize_struct("gettableAlert", 12)?;
        out.serialize_field("labels", &record.labels)?;
        out.serialize_field("annotations", &record.annotations)?;
        out.serialize_field("startsAt", &record.starts_at.to_rfc3339())?;
        out.serialize_field("endsAt", &record.ends_at.map_or_else(|| ZERO_TIME.to_owned(), Timestamp::to_rfc3339))?;
        out.serialize_field("updatedAt", &record.updated_at.to_rfc3339())?;
        out.serialize_field("generatorURL", &record.generator_url)?;
        out.serialize_field("fingerprint", &record.fingerprint)?;
        out.serialize_field("receivers", &receivers)?;
        out.serialize_field("status", &self.status)?;
        out.serialize_field("episode", &record.id)?;
        out.serialize_field("source", &record.source)?;
        out.serialize_field("inhibitRules", &self.inhibit_rules)?;
        out.end()
    }
}

/// What to list (Alertmanager's query parameters of `GET /api/v2/alerts`).
#[derive(Debug, Clone)]
pub struct AlertFilter {
    pub matchers: Vec<Matcher>,
    pub active: bool,
    pub silenced: bool,
    pub inhibited: bool,
    /// A regex the receiver's name must match, anchored (as a `receiver=~` matcher).
    pub receiver: Option<Matcher>,
}

impl Default for AlertFilter {
    fn default() -> AlertFilter {
        AlertFilter { matchers: Vec::new(), active: true, silenced: true, inhibited: true, receiver: None }
    }
}

fn view(record: &Arc<EpisodeRecord>, mutes: Mutes, routing: &Routing) -> AlertView {
    AlertView {
        record: Arc::clone(record),
        receivers: routing.receivers_for(&record.labels),
        status: AlertStatus {
            state: if mutes.muted() { "suppressed" } else { "active" },
            silenced_by: mutes.silenced_by,
            inhibited_by: mutes.inhibited_by,
        },
        inhibit_rules: mutes.inhibit_rules,
    }
}

/// The firing alerts, each with its receivers and mutes, filtered.
pub async fn alerts(
    store: &Store,
    cache: &EpisodeCache,
    routing: &Routing,
    filter: &AlertFilter,
    now: Timestamp,
) -> Result<Vec<AlertView>, StoreError> {
    let firing = cache.firing().await?;
    let silences: Vec<vigil_alerts::Silence> = store.silences(now, false).await?.iter().map(SilenceRecord::silence).collect();
    let context = MuteContext::new(&silences, &routing.inhibit_rules, firing.iter().map(|record| &**record), now.0);
    let mut views = Vec::new();
    for record in firing.iter().filter(|record| record.state == EpisodeState::Firing && record.ends_at.is_none_or(|end| end > now)) {
        if !vigil_alerts::matcher::all_match(&filter.matchers, &record.labels) {
            continue;
        }
        let mutes = context.mutes(&record.labels);
        let keep = (filter.active || mutes.muted())
            && (filter.silenced || mutes.silenced_by.is_empty())
            && (filter.inhibited || mutes.inhibited_by.is_empty());
        if !keep {
            continue;
        }
        let view = view(record, mutes, routing);
        if let Some(receiver) = &filter.receiver {
            if !view.receivers.iter().any(|name| receiver.matches_value(name)) {
                continue;
            }
        }
        views.push(view);
    }
    Ok(views)
}

/// Alertmanager's `alertGroup`.
#[derive(Debug, Clone, Serialize)]
pub struct GroupView {
    pub labels: BTreeMap<String, String>,
    pub receiver: ReceiverName,
    pub alerts: Vec<AlertView>,
}

/// The firing alerts by group and receiver, in route order.
pub async fn groups(
    store: &Store,
    cache: &EpisodeCache,
    routing: &Routing,
    filter: &AlertFilter,
    now: Timestamp,
) -> Result<Vec<GroupView>, StoreError> {
    let alerts = alerts(store, cache, routing, filter, now).await?;
    let mut groups: BTreeMap<(String, String), GroupView> = BTreeMap::new();
    for alert in alerts {
        for (route, key) in routing.routes_for(&alert.record.labels) {
            let receiver = route.options.receiver.clone();
            groups
                .entry((receiver.clone(), key))
                .or_insert_with(|| GroupView {
                    labels: route.group_labels(&alert.record.labels),
                    receiver: ReceiverName { name: receiver },
                    alerts: Vec::new(),
                })
                .alerts
                .push(alert.clone());
        }
    }
    Ok(groups.into_values().collect())
}

/// Alertmanager's `gettableSilence`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SilenceView {
    pub id: String,
    pub status: SilenceStatus,
    pub updated_at: String,
    pub comment: String,
    pub created_by: String,
    pub starts_at: String,
    pub ends_at: String,
    pub matchers: Vec<StoredMatcher>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SilenceStatus {
    pub state: &'static str,
}

pub fn silence_view(record: &SilenceRecord, now: Timestamp) -> SilenceView {
    SilenceView {
        id: record.id.clone(),
        status: SilenceStatus { state: record.state(now).as_str() },
        updated_at: record.updated_at.to_rfc3339(),
        comment: record.comment.clone(),
        created_by: record.created_by.clone(),
        starts_at: record.starts_at.to_rfc3339(),
        ends_at: record.ends_at.to_rfc3339(),
        matchers: record.matchers.clone(),
    }
}

/// Every silence whose matchers include all of `filter` (Alertmanager's silence
/// filter compares matchers, not labels), active first, then pending, then expired.
pub async fn silences(store: &Store, filter: &[Matcher], now: Timestamp) -> Result<Vec<SilenceView>, StoreError> {
    let mut records = store.silences(now, true).await?;
    records.retain(|record| {
        let silence = record.silence();
        filter.iter().all(|wanted| silence.matchers.iter().any(|matcher| matcher == wanted))
    });
    let rank = |record: &SilenceRecord| match record.state(now) {
        vigil_alerts::SilenceState::Active => 0,
        vigil_alerts::SilenceState::Pending => 1,
        vigil_alerts::SilenceState::Expired => 2,
    };
    records.sort_by_key(|record| (rank(record), record.ends_at));
    Ok(records.iter().map(|record| silence_view(record, now)).collect())
}

/// What mutes an alert now, in Vigil's own API.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct MuteView {
    /// `active` (notified) or `suppressed` (silenced or inhibited).
    pub state: &'static str,
    /// Ids of the active silences that match it.
    pub silenced_by: Vec<String>,
    /// Fingerprints of the firing alerts that inhibit it.
    pub inhibited_by: Vec<String>,
    /// The inhibit rules that do (by name, or `#N` for the Nth).
    pub inhibit_rules: Vec<String>,
}

/// One alert episode (one firing → resolved cycle) in Vigil's own API and `vigil alerts`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct EpisodeView {
    pub id: i64,
    /// Prometheus's fingerprint of the label set, 16 hex digits.
    pub fingerprint: String,
    /// `monitor`, `rule` or `inbound`.
    #[schemars(with = "String")]
    pub source: vigil_store::AlertSource,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// `firing` or `resolved`.
    #[schemars(with = "String")]
    pub state: EpisodeState,
    /// RFC 3339.
    pub starts_at: String,
    /// Firing: the expected end, if the sender gave one; resolved: when it resolved.
    pub ends_at: Option<String>,
    /// The receivers the routing tree sent it to when it fired.
    pub receivers: Vec<String>,
    /// Firing only: whether it is muted now, and by what.
    pub status: Option<MuteView>,
}

/// Where an alert is grouped: one per receiver the routing tree reaches.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PlacementView {
    pub receiver: String,
    pub group_key: String,
    pub group_labels: BTreeMap<String, String>,
    pub group_wait: String,
    pub group_interval: String,
    pub repeat_interval: String,
}

/// One stored decision of the alert dispatcher.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct DecisionView {
    /// RFC 3339.
    pub at: String,
    pub receiver: String,
    pub group_key: String,
    /// `notified`, `silenced`, `inhibited`, `muted-by-time`, `flapping` or `settled`.
    #[schemars(with = "String")]
    pub kind: vigil_store::DecisionKind,
    pub detail: String,
    /// The group notification's number, for `notified`.
    pub seq: Option<i64>,
}

/// One episode with everything decided about it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct EpisodeDetail {
    #[serde(flatten)]
    pub episode: EpisodeView,
    pub generator_url: String,
    pub value: f64,
    /// The lines or failures that made it fire.
    pub evidence: serde_json::Value,
    /// Its groups under the current routing tree.
    pub groups: Vec<PlacementView>,
    /// Oldest first.
    pub decisions: Vec<DecisionView>,
}

fn episode_view(record: &EpisodeRecord, context: &MuteContext<'_>) -> EpisodeView {
    let status = (record.state == EpisodeState::Firing).then(|| {
        let mutes = context.mutes(&record.labels);
        MuteView {
            state: if mutes.muted() { "suppressed" } else { "active" },
            silenced_by: mutes.silenced_by,
            inhibited_by: mutes.inhibited_by,
            inhibit_rules: mutes.inhibit_rules,
        }
    });
    EpisodeView {
        id: record.id,
        fingerprint: record.fingerprint.clone(),
        source: record.source,
        name: record.name.clone(),
        labels: record.labels.clone(),
        annotations: record.annotations.clone(),
        state: record.state,
        starts_at: record.starts_at.to_rfc3339(),
        ends_at: record.ends_at.map(Timestamp::to_rfc3339),
        receivers: record.receivers.clone(),
        status,
    }
}

/// Firing episodes (with `all`, the newest episodes whatever their state), of one alert
/// name when given, newest first.
pub async fn episodes(
    store: &Store,
    routing: &Routing,
    all: bool,
    name: Option<&str>,
    limit: i64,
    now: Timestamp,
) -> Result<Vec<EpisodeView>, StoreError> {
    let firing = store.firing_episodes(None).await?;
    let silences: Vec<vigil_alerts::Silence> = store.silences(now, false).await?.iter().map(SilenceRecord::silence).collect();
    let context = MuteContext::new(&silences, &routing.inhibit_rules, &firing, now.0);
    let records = if all {
        store.episodes(name, limit).await?
    } else {
        let mut firing: Vec<EpisodeRecord> = firing.iter().filter(|record| name.is_none_or(|name| record.name == name)).cloned().collect();
        firing.reverse();
        firing.truncate(usize::try_from(limit).unwrap_or(0));
        firing
    };
    Ok(records.iter().map(|record| episode_view(record, &context)).collect())
}

/// One episode with its groups and decisions; `None` when there is no such episode.
pub async fn episode(store: &Store, routing: &Routing, id: i64, now: Timestamp) -> Result<Option<EpisodeDetail>, StoreError> {
    let Some(record) = store.episode(id).await? else { return Ok(None) };
    let firing = store.firing_episodes(None).await?;
    let silences: Vec<vigil_alerts::Silence> = store.silences(now, false).await?.iter().map(SilenceRecord::silence).collect();
    let context = MuteContext::new(&silences, &routing.inhibit_rules, &firing, now.0);
    let text = |duration: std::time::Duration| vigil_core::time::format_duration(duration);
    let groups = routing
        .routes_for(&record.labels)
        .into_iter()
        .map(|(route, group_key)| PlacementView {
            receiver: route.options.receiver.clone(),
            group_key,
            group_labels: route.group_labels(&record.labels),
            group_wait: text(route.options.group_wait),
            group_interval: text(route.options.group_interval),
            repeat_interval: text(route.options.repeat_interval),
        })
        .collect();
    let decisions = store
        .decisions(id)
        .await?
        .into_iter()
        .map(|decision| DecisionView {
            at: decision.at.to_rfc3339(),
            receiver: decision.receiver,
            group_key: decision.group_key,
            kind: decision.kind,
            detail: decision.detail,
            seq: decision.seq,
        })
        .collect();
    Ok(Some(EpisodeDetail {
        episode: episode_view(&record, &context),
        generator_url: record.generator_url.clone(),
        value: record.value,
        evidence: record.evidence.clone(),
        groups,
        decisions,
    }))
}

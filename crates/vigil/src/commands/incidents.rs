//! `vigil incidents`, `vigil incident`, `vigil oncall` and `vigil postmortem`: the
//! incident record and its operations, through the same [`Incidents`] handle the API
//! uses, on the configured store. A running `vigil run` sees the changes at once (an
//! acknowledgement stops its escalation before the next page).

use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use vigil_config::Config;
use vigil_core::incident::{Role, Severity, Status};
use vigil_core::time::format_duration;
use vigil_core::{Clock, SystemClock, Timestamp};

use super::record::open;
use crate::cli::{ActionItemCommand, Actor, IncidentCommand, IncidentsCommand, OncallCommand, PostmortemFormat};
use crate::incidents::view::{self, IncidentView, ItemView};
use crate::incidents::{postmortem, stats, Incidents};

const DAY_MS: i64 = 86_400_000;

async fn handle(config: &Config) -> anyhow::Result<Incidents> {
    let store = open(config).await?;
    // Where `vigil run` is reached, for the links in subscribers' mails.
    let external_url = config
        .on_call
        .incidents
        .external_url
        .clone()
        .or_else(|| (!config.listen.ip().is_unspecified()).then(|| format!("http://{}", config.listen)));
    let subscriptions =
        crate::subscriptions::Subscriptions::from_config(config, store.clone(), Arc::new(SystemClock), external_url.as_deref())?;
    Ok(Incidents {
        store,
        on_call: Arc::new(config.on_call.clone()),
        clock: Arc::new(SystemClock),
        give_up_after: config.delivery.give_up_after,
        wake: Arc::default(),
        slos: config.slos.iter().map(|slo| slo.name.as_str().to_owned()).collect(),
        subscriptions,
    })
}

fn actor(actor: &Actor) -> String {
    actor
        .name
        .clone()
        .or_else(|| std::env::var("VIGIL_USER").ok())
        .or_else(|| std::env::var("USER").ok())
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| "cli".to_owned())
}

/// A time on the command line: `now`, `+3d`/`-12h` from now, RFC 3339, `YYYY-MM-DD
/// HH:MM` or `YYYY-MM-DDTHH:MM` (UTC), or `YYYY-MM-DD` (its start, UTC).
pub fn parse_when(text: &str, now: Timestamp) -> anyhow::Result<Timestamp> {
    let text = text.trim();
    if text == "now" {
        return Ok(now);
    }
    if let Some(rest) = text.strip_prefix('+').or_else(|| text.strip_prefix("now+")) {
        let duration = vigil_core::parse_duration(rest).map_err(|error| anyhow!("`{text}`: {error}"))?;
        return Ok(now.saturating_add(duration));
    }
    if let Some(rest) = text.strip_prefix('-').or_else(|| text.strip_prefix("now-")) {
        let duration = vigil_core::parse_duration(rest).map_err(|error| anyhow!("`{text}`: {error}"))?;
        return Ok(now.saturating_sub(duration));
    }
    if let Some(at) = Timestamp::parse_rfc3339(text) {
        return Ok(at);
    }
    let civil = text.replacen(' ', "T", 1);
    let parsed = civil
        .parse::<jiff::civil::DateTime>()
        .or_else(|_| civil.parse::<jiff::civil::Date>().map(|date| date.to_datetime(jiff::civil::Time::midnight())));
    match parsed.ok().and_then(|datetime| jiff::tz::TimeZone::UTC.to_timestamp(datetime).ok()) {
        Some(at) => Ok(Timestamp(at.as_millisecond())),
        None => bail!("`{text}` is not a time: expected RFC 3339, YYYY-MM-DD[ HH:MM] (UTC), now, or +DURATION/-DURATION"),
    }
}

fn severity(text: &str) -> anyhow::Result<Severity> {
    Severity::parse(text).ok_or_else(|| anyhow!("unknown severity `{text}`, expected SEV-1, SEV-2 or SEV-3"))
}

fn line(incident: &IncidentView) -> String {
    let service = incident.service.as_deref().map(|service| format!(" [{service}]")).unwrap_or_default();
    let ack = match &incident.acknowledged_by {
        Some(by) => format!("acked by {by}"),
        None if incident.resolved_at.is_none() => "NOT ACKED".to_owned(),
        None => "never acked".to_owned(),
    };
    format!(
        "#{:<5} {} {:<13} {}{service}  opened {}  {ack}",
        incident.id, incident.severity, incident.status, incident.title, incident.opened_at
    )
}

pub async fn incidents(config: &Config, command: IncidentsCommand) -> anyhow::Result<()> {
    let store = open(config).await?;
    let now = SystemClock.now();
    match command {
        IncidentsCommand::List { open, days, json, .. } => {
            let since = Timestamp(now.0 - i64::from(days.max(1)) * DAY_MS);
            let records = store.incidents(since, open, 10_000).await?;
            if records.is_empty() && !json {
                eprintln!("no incidents");
            }
            for record in &records {
                let view = IncidentView::from(record);
                if json {
                    println!("{}", serde_json::to_string(&view)?);
                } else {
                    println!("{}", line(&view));
                }
            }
        }
        IncidentsCommand::Stats { days, json, .. } => {
            let facts = store.incident_facts(Timestamp(now.0 - i64::from(days.max(1)) * DAY_MS)).await?;
            let computed = stats::compute(&facts);
            if json {
                println!("{}", serde_json::to_string_pretty(&computed)?);
            } else {
                print!("{}", stats::text(&computed, days.max(1)));
            }
        }
    }
    Ok(())
}

fn show_text(detail: &view::IncidentDetail) -> String {
    let incident = &detail.incident;
    let mut out = format!("{}\n", line(incident));
    out.push_str(&format!("  severity:    {}\n", incident.severity));
    if let Some(escalation) = &detail.escalation {
        let next = escalation.next_due.as_deref().map(|at| format!(", next page {at}")).unwrap_or_default();
        out.push_str(&format!("  escalation:  {} ({}, {} pages sent{next})\n", escalation.policy, escalation.state, escalation.sent));
    }
    if let Some(at) = &incident.resolved_at {
        out.push_str(&format!("  resolved:    {at} by {}\n", incident.resolved_by.as_deref().unwrap_or("?")));
    }
    for role in &detail.roles {
        out.push_str(&format!("  {:<12} {}\n", format!("{}:", role.role), role.person));
    }
    for alert in &detail.alerts {
        let state = alert.resolved_at.as_deref().map(|at| format!("resolved {at}")).unwrap_or_else(|| "FIRING".to_owned());
        out.push_str(&format!("  alert:       {} (episode {}) since {}, {state}\n", alert.name, alert.episode, alert.started_at));
    }
    out.push_str("timeline:\n");
    for entry in &detail.timeline {
        out.push_str(&format!("  {}  {:<14} {:<16} {}\n", entry.at, entry.kind, entry.actor, entry.text));
    }
    if !detail.action_items.is_empty() {
        out.push_str("action items:\n");
        for item in &detail.action_items {
            out.push_str(&format!("  {}\n", item_line(item)));
        }
    }
    out
}

fn item_line(item: &ItemView) -> String {
    let done = match (&item.done_at, &item.done_by) {
        (Some(at), Some(by)) => format!("done {at} by {by}"),
        _ => "open".to_owned(),
    };
    let due = item.due.as_deref().map(|due| format!(", due {due}")).unwrap_or_default();
    format!("#{} (incident #{}) {} — owner {}{due}, {done}", item.id, item.incident, item.text, item.owner)
}

pub async fn incident(config: &Config, command: IncidentCommand) -> anyhow::Result<()> {
    let incidents = handle(config).await?;
    match command {
        IncidentCommand::Open { title, severity: level, service, escalation, actor: who, .. } => {
            let record = incidents.open(&title, severity(&level)?, service.as_deref(), escalation.as_deref(), &actor(&who)).await?;
            println!("{}", record.id);
            eprintln!(
                "opened incident #{} ({}){}",
                record.id,
                record.severity,
                record.escalation.map(|name| format!("; {name} pages now")).unwrap_or_default()
            );
        }
        IncidentCommand::Show { id, json, .. } => {
            let detail = view::detail(&incidents.store, id).await?.ok_or_else(|| anyhow!("no incident #{id}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&detail)?);
            } else {
                print!("{}", show_text(&detail));
            }
        }
        IncidentCommand::Ack { id, actor: who, .. } => {
            let record = incidents.acknowledge(id, &actor(&who), "the CLI").await?;
            eprintln!("incident #{id} acknowledged by {}", record.acknowledged_by.unwrap_or_default());
        }
        IncidentCommand::Resolve { id, actor: who, .. } => {
            let record = incidents.resolve(id, &actor(&who), "resolved from the CLI").await?;
            let firing =
                if record.alerts_firing > 0 { format!(" ({} of its alerts still firing)", record.alerts_firing) } else { String::new() };
            eprintln!("incident #{id} resolved{firing}");
        }
        IncidentCommand::Assign { id, role, person, actor: who, .. } => {
            let role = Role::parse(&role)
                .ok_or_else(|| anyhow!("unknown role `{role}`, expected commander, communicator, scribe or responder"))?;
            incidents.assign(id, role, &person, &actor(&who)).await?;
            eprintln!("{person} is {role} of incident #{id}");
        }
        IncidentCommand::Note { id, text, actor: who, .. } => {
            incidents.note(id, &text, &actor(&who)).await?;
        }
        IncidentCommand::Update { id, text, status, public, actor: who, .. } => {
            let status = status
                .map(|text| {
                    Status::parse(&text)
                        .ok_or_else(|| anyhow!("unknown status `{text}`, expected investigating, identified, monitoring or resolved"))
                })
                .transpose()?;
            let update = incidents.update(id, status, &text, public, &actor(&who)).await?;
            let audience = if public { "public update" } else { "update" };
            eprintln!(
                "{audience} #{} sent to {} stakeholder notifiers; status {}",
                update.id,
                config.on_call.incidents.stakeholders.len(),
                update.status
            );
        }
        IncidentCommand::Severity { id, severity: level, actor: who, .. } => {
            let record = incidents.set_severity(id, severity(&level)?, &actor(&who)).await?;
            eprintln!("incident #{id} is {}", record.severity);
        }
        IncidentCommand::ActionItem(command) => action_items(&incidents, command).await?,
    }
    Ok(())
}

async fn action_items(incidents: &Incidents, command: ActionItemCommand) -> anyhow::Result<()> {
    match command {
        ActionItemCommand::Add { id, text, owner, due, actor: who, .. } => {
            let now = incidents.clock.now();
            let due = match due {
                // A date: due by the end of it.
                Some(text) if text.len() == 10 => Some(Timestamp(parse_when(&text, now)?.0 + DAY_MS)),
                Some(text) => Some(parse_when(&text, now)?),
                None => None,
            };
            let item = incidents.add_action_item(id, &text, &owner, due, &actor(&who)).await?;
            println!("{}", item.id);
        }
        ActionItemCommand::List { incident, open, json, .. } => {
            let items = incidents.store.action_items(incident, open).await?;
            if items.is_empty() && !json {
                eprintln!("no action items");
            }
            for item in &items {
                let view = ItemView::from(item);
                if json {
                    println!("{}", serde_json::to_string(&view)?);
                } else {
                    println!("{}", item_line(&view));
                }
            }
        }
        ActionItemCommand::Done { item, actor: who, .. } => {
            let done = incidents.complete_action_item(item, &actor(&who)).await?;
            eprintln!("action item #{} done by {}", done.id, done.done_by.unwrap_or_default());
        }
    }
    Ok(())
}

pub async fn oncall(config: &Config, command: OncallCommand) -> anyhow::Result<()> {
    let incidents = handle(config).await?;
    let now = incidents.clock.now();
    match command {
        OncallCommand::Who { schedule, at, json, .. } => {
            let at = at.as_deref().map(|text| parse_when(text, now)).transpose()?.unwrap_or(now);
            let answers = incidents.who(schedule.as_deref(), at).await?;
            if answers.is_empty() && !json {
                eprintln!("no schedules configured");
            }
            for answer in answers {
                if json {
                    println!("{}", serde_json::to_string(&answer)?);
                    continue;
                }
                let why = match answer.layer {
                    Some(layer) => format!("layer {}", layer + 1),
                    None if answer.person.is_some() => "override".to_owned(),
                    None => "no layer covers this time".to_owned(),
                };
                let until = answer.until.map(|until| format!(" until {}", until.to_rfc3339())).unwrap_or_default();
                println!("{}: {} ({why}){until}", answer.schedule, answer.person.as_deref().unwrap_or("nobody"));
            }
        }
        OncallCommand::Override { schedule, person, from, to, actor: who, .. } => {
            let (from, to) = (parse_when(&from, now)?, parse_when(&to, now)?);
            let added = incidents.add_override(&schedule, &person, from, to, &actor(&who)).await?;
            println!("{}", added.id);
            eprintln!("{person} is on call for {schedule} from {} to {}", from.to_rfc3339(), to.to_rfc3339());
        }
        OncallCommand::Overrides { schedule, json, .. } => {
            for record in incidents.store.overrides(schedule.as_deref(), now).await? {
                if json {
                    println!("{}", serde_json::to_string(&record)?);
                } else {
                    println!(
                        "#{} {}: {} from {} to {} (by {})",
                        record.id,
                        record.schedule,
                        record.person,
                        record.from.to_rfc3339(),
                        record.to.to_rfc3339(),
                        record.created_by
                    );
                }
            }
        }
        OncallCommand::RemoveOverride { id, .. } => {
            if !incidents.store.remove_override(id).await? {
                bail!("no override #{id}");
            }
        }
        OncallCommand::Shifts { schedule, from, to, json, .. } => {
            let (from, to) = (parse_when(&from, now)?, parse_when(&to, now)?);
            let config_schedule = config.on_call.schedules.get(&schedule).ok_or_else(|| anyhow!("unknown schedule `{schedule}`"))?;
            let stored = incidents.store.overrides(Some(&schedule), from).await?;
            let extra = crate::incidents::pages::overrides_of(&stored, &schedule);
            for shift in config_schedule.schedule.shifts(&extra, from.0, to.0) {
                let length = format_duration(std::time::Duration::from_millis((shift.to - shift.from).max(0) as u64));
                if json {
                    let layer = shift.layer;
                    println!(
                        "{}",
                        serde_json::json!({"person": shift.person, "layer": layer, "from": Timestamp(shift.from).to_rfc3339(), "to": Timestamp(shift.to).to_rfc3339()})
                    );
                } else {
                    let why = shift.layer.map_or_else(|| "override".to_owned(), |layer| format!("layer {}", layer + 1));
                    println!(
                        "{} → {}  {:<12} ({why}, {length})",
                        Timestamp(shift.from).to_rfc3339(),
                        Timestamp(shift.to).to_rfc3339(),
                        shift.person
                    );
                }
            }
        }
    }
    Ok(())
}

pub async fn postmortem(config: &Config, id: i64, format: PostmortemFormat) -> anyhow::Result<()> {
    let store = open(config).await?;
    let slos: Vec<String> = config.slos.iter().map(|slo| slo.name.as_str().to_owned()).collect();
    let draft = postmortem::gather(&store, id, &slos, SystemClock.now()).await?.with_context(|| format!("no incident #{id}"))?;
    match format {
        PostmortemFormat::Md => print!("{}", postmortem::markdown(&draft)),
        PostmortemFormat::Json => println!("{}", serde_json::to_string_pretty(&draft)?),
    }
    Ok(())
}

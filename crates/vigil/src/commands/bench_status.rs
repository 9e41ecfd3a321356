//! `vigil bench status`: the public status page with many components over 90 days of
//! history (an outage every few days per monitor, public incidents): how long reading its
//! summary from the store and rendering the page and the Statuspage JSON take.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vigil_core::hysteresis::Health;
use vigil_core::incident::{Severity, Status};
use vigil_core::{Clock, SystemClock, Timestamp};
use vigil_store::{NewIncident, NewTransition, NewUpdate, Store, TransitionWrite};

use crate::statuspage::StatusPage;

const MINUTE: i64 = 60_000;
const DAY: i64 = 24 * 60 * MINUTE;

/// A recorded transition of a bench's synthetic history, with nothing else to do.
pub(crate) fn transition_write(monitor: &str, at: i64, from: Health, to: Health, reason: &str) -> TransitionWrite {
    TransitionWrite {
        transition: NewTransition {
            monitor: monitor.to_owned(),
            at: Timestamp(at),
            from,
            to,
            reason: reason.to_owned(),
            previous_period: None,
        },
        notifications: Vec::new(),
        executions: Vec::new(),
        episode: None,
    }
}

pub async fn status(components: usize, days: u32) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(&format!("sqlite://{}", dir.path().join("bench.db").display())).await?;
    let mut yaml = String::from("storage: sqlite://unused.db\nmonitors:\n");
    for index in 0..components * 2 {
        yaml.push_str(&format!("  - name: m{index}\n    url: http://127.0.0.1:9/health\n"));
    }
    yaml.push_str(&format!("status-page:\n  title: Bench status\n  history-days: {days}\n  components:\n"));
    for index in 0..components {
        yaml.push_str(&format!("    - name: Component {index}\n      monitors: [m{}, m{}]\n", index * 2, index * 2 + 1));
    }
    let config = vigil_config::load_str(Path::new("bench.yaml"), &yaml, &|_| None).map_err(|errors| anyhow::anyhow!("{errors}"))?;

    // History: every monitor UP from the start, then a 10-minute outage every 3 days
    // (staggered), and Vigil running all along.
    let now = SystemClock.now();
    let start = now.0 - i64::from(days) * DAY;
    let run = store.start_run("bench", Timestamp(start)).await?;
    store.heartbeat(run, now).await?;
    let mut writes = Vec::new();
    for index in 0..components * 2 {
        let monitor = format!("m{index}");
        let transition = |at: i64, from: Health, to: Health| transition_write(&monitor, at, from, to, "bench");
        writes.push(transition(start, Health::Unknown, Health::Up));
        let mut at = start + (index as i64 % 72) * 60 * MINUTE;
        while at + 10 * MINUTE < now.0 {
            writes.push(transition(at, Health::Up, Health::Down));
            writes.push(transition(at + 10 * MINUTE, Health::Down, Health::Up));
            at += 3 * DAY;
        }
    }
    let transitions = writes.len();
    for chunk in writes.chunks(512) {
        store.record_transitions(chunk, Duration::from_secs(86_400)).await?;
    }
    // Twenty past incidents with public updates.
    for index in 0..20 {
        let opened = Timestamp(now.0 - (index + 1) * 4 * DAY);
        let new = NewIncident {
            title: format!("incident {index}"),
            severity: Severity::Sev2,
            service: Some(format!("m{}", index * 2)),
            escalation: None,
            opened_by: "bench".to_owned(),
            triggered_at: opened,
            first_signal_at: None,
        };
        let record = store.open_incident(&new, opened).await?.map_err(|id| anyhow::anyhow!("incident {id} is open"))?;
        for (status, text) in [(Status::Investigating, "We are looking into it."), (Status::Resolved, "Fixed.")] {
            let update = NewUpdate {
                status: Some(status),
                text: text.to_owned(),
                public: true,
                author: "bench".to_owned(),
                notifications: Vec::new(),
            };
            store.record_update(record.id, &update, Timestamp(opened.0 + 30 * MINUTE), Duration::from_secs(86_400)).await?;
        }
    }

    let page_config = config.status_page.clone().ok_or_else(|| anyhow::anyhow!("no status page"))?;
    let page = StatusPage::new(page_config, store.clone(), Arc::new(SystemClock), None);
    let mut reads = Vec::new();
    let mut renders = Vec::new();
    let mut html_bytes = 0;
    let mut json_bytes = 0;
    for _ in 0..21 {
        let started = Instant::now();
        let summary = page.fresh().await?;
        reads.push(started.elapsed());
        let started = Instant::now();
        let html = crate::http::status::render(&summary).into_string();
        let json = crate::http::status::summary_document(&summary).to_string();
        renders.push(started.elapsed());
        html_bytes = html.len();
        json_bytes = json.len();
    }
    reads.sort();
    renders.sort();
    let cached = Instant::now();
    for _ in 0..1_000 {
        page.summary().await?;
    }
    let cached = cached.elapsed() / 1_000;
    println!(
        "status page: {components} components over {} monitors, {days} days, {transitions} transitions, 20 public incidents",
        components * 2
    );
    println!("  summary from the store: median {:?}, slowest {:?} of {}", reads[reads.len() / 2], reads[reads.len() - 1], reads.len());
    println!("  render the page and summary.json: median {:?}, slowest {:?}", renders[renders.len() / 2], renders[renders.len() - 1]);
    println!("  served from the two-second cache: {cached:?} a request");
    println!("  page {} KB of HTML, summary.json {} KB", html_bytes / 1024, json_bytes / 1024);
    println!("reproduce: vigil bench status --components {components} --days {days}");
    Ok(())
}

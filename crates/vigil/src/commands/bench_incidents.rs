//! `vigil bench incidents`: the escalator with 1,000 open incidents paged by policies
//! over 100 schedules on the wall clock (how late each page goes out after its step is
//! due: the burst of first pages at the opening, and the second steps falling due over
//! the next seconds), and `oncall who` over a year of a 10-layer schedule (in process,
//! and the `vigil oncall who` command as a user runs it).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};
use vigil_core::incident::Severity;
use vigil_core::{Clock, SystemClock};
use vigil_store::{NewIncident, Store};

use crate::incidents::escalator::Escalator;

const MINUTE: i64 = 60_000;
const DAY: i64 = 24 * 60 * MINUTE;

fn percentile(sorted: &[i64], share: usize) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((share * sorted.len()).div_ceil(100)).max(1) - 1]
}

/// The config: `schedules` schedules of three layers over four people each, a policy
/// per schedule whose second step falls due 2 to 11.9 s after the opening.
fn config_yaml(schedules: usize) -> String {
    let mut yaml = String::from(
        "storage: sqlite://unused.db\nnotifiers:\n  oncall: {type: email, smtp-host: 127.0.0.1, smtp-port: 9, from: v@example.com, to: [t@example.com]}\npeople:\n",
    );
    for person in 0..schedules * 4 {
        yaml.push_str(&format!("  p{person}: {{email: p{person}@example.com}}\n"));
    }
    yaml.push_str("schedules:\n");
    for schedule in 0..schedules {
        let members = |offset: usize| format!("[p{}, p{}]", schedule * 4 + offset, schedule * 4 + offset + 1);
        yaml.push_str(&format!(
            "  s{schedule}:\n    layers:\n      - {{rotation: weekly, handoff: \"mon 09:00\", members: {}}}\n\
             \x20     - {{rotation: daily, handoff: \"08:00\", members: {}, restrictions: [\"mon-fri 08:00-18:00\"]}}\n\
             \x20     - {{rotation: 12h, members: {}, time-zone: Asia/Tokyo}}\n",
            members(0),
            members(2),
            members(1)
        ));
    }
    yaml.push_str("escalation-policies:\n");
    for schedule in 0..schedules {
        let wait = 2_000 + (schedule as u64 * 97) % 9_900;
        yaml.push_str(&format!(
            "  e{schedule}:\n    steps:\n      - {{notify: [\"schedule:s{schedule}\"], wait: {wait}ms}}\n      - {{notify: [\"person:p{}\"], wait: 1h}}\n",
            schedule * 4
        ));
    }
    yaml.push_str("incidents:\n  email-via: oncall\n");
    yaml
}

/// A schedule of ten layers of different rotations, zones and restrictions.
const TEN_LAYERS: &str = r#"
people:
  a: {email: a@example.com}
  b: {email: b@example.com}
  c: {email: c@example.com}
  d: {email: d@example.com}
  e: {email: e@example.com}
schedules:
  big:
    time-zone: Europe/Berlin
    layers:
      - {rotation: weekly, handoff: "mon 09:00", members: [a, b, c, d, e]}
      - {rotation: daily, handoff: "08:00", members: [b, c], restrictions: ["mon-fri 08:00-18:00"]}
      - {rotation: 12h, members: [c, d], time-zone: Asia/Tokyo}
      - {rotation: weekly, handoff: "fri 17:00", members: [d, e, a], restrictions: ["fri 18:00-mon 08:00"]}
      - {rotation: daily, handoff: "22:00", members: [e, a], restrictions: ["22:00-06:00"], time-zone: America/New_York}
      - {rotation: 3d, members: [a, c, e]}
      - {rotation: weekly, handoff: "wed 12:00", members: [b, d], time-zone: Australia/Sydney, restrictions: ["sat-sun 10:00-16:00"]}
      - {rotation: daily, handoff: "06:00", members: [c, e, b], restrictions: ["mon 06:00-10:00"]}
      - {rotation: 8h, members: [d, a, b], restrictions: ["tue-thu 12:00-14:00"]}
      - {rotation: weekly, handoff: "sun 20:00", members: [e, b], time-zone: America/Los_Angeles, restrictions: ["sun 20:00-23:00"]}
    overrides:
      - {person: a, from: "2027-02-01T00:00:00Z", to: "2027-02-03T00:00:00Z"}
"#;

pub async fn incidents(count: usize, schedules: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let schedules = schedules.max(1);
    let yaml = config_yaml(schedules);
    let config = vigil_config::load_str(Path::new("bench.yaml"), &yaml, &|_| None).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    let store = Store::open(&format!("sqlite://{}", dir.path().join("bench.db").display())).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);

    // 1,000 incidents opened at once (by hand, so each has its own), each with one of the
    // policies; the escalator runs on the wall clock.
    let wake = Arc::new(Notify::new());
    let escalator = Escalator {
        store: store.clone(),
        on_call: Arc::new(config.on_call.clone()),
        clock: clock.clone(),
        give_up_after: Duration::from_secs(86_400),
        wake: wake.clone(),
        wake_outbox: Arc::new(Notify::new()),
    };
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(escalator.run(stopped));
    let opened_at = clock.now();
    let opening = Instant::now();
    for index in 0..count {
        let new = NewIncident {
            title: format!("incident {index}"),
            severity: Severity::Sev2,
            service: Some(format!("svc{index}")),
            escalation: Some(format!("e{}", index % schedules)),
            opened_by: "bench".to_owned(),
            triggered_at: opened_at,
            first_signal_at: None,
        };
        store.open_incident(&new, clock.now()).await?.map_err(|id| anyhow::anyhow!("incident {id} is open"))?;
        // As an alert's intake does.
        wake.notify_one();
    }
    let opening = opening.elapsed();
    wake.notify_one();
    let longest_wait = 2_000 + 9_900;
    let deadline = Instant::now() + Duration::from_millis(longest_wait + 5_000);
    let expected = count * 2;
    loop {
        let sent = store.outbox_summary().await?.pending;
        if sent as usize >= expected || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop.send(true);
    task.await?;

    // How late each page went out: its outbox row's creation against its step's due time.
    let mut first = Vec::new();
    let mut second = Vec::new();
    for item in store.notifications(i64::try_from(expected * 2).unwrap_or(i64::MAX)).await? {
        let mut parts = item.idempotency_key.split(':');
        let (Some("incident"), Some(id), Some("escalation"), Some(started), Some(page)) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (id, started, page): (i64, i64, u32) = (id.parse()?, started.parse()?, page.parse()?);
        let policy = format!("e{}", (id - 1) as usize % schedules);
        let due = config.on_call.escalation_policies[&policy].page(started, page).map_or(started, |page| page.at);
        let late = item.created_at.0 - due;
        if page == 0 {
            first.push(late);
        } else {
            second.push(late);
        }
    }
    first.sort_unstable();
    second.sort_unstable();
    println!("escalation: {count} open incidents, {schedules} schedules (3 layers each), one policy per schedule");
    println!("  opening {count} incidents took {} ms", opening.as_millis());
    for (name, lates) in [("first pages (all due at the opening)", &first), ("second pages (due 2-11.9 s later)", &second)] {
        println!(
            "  {name}: {} written; late by p50 {} ms, p99 {} ms, max {} ms",
            lates.len(),
            percentile(lates, 50),
            percentile(lates, 99),
            lates.last().copied().unwrap_or(0)
        );
    }
    if first.len() + second.len() < expected {
        println!("  MISSING: {} of {expected} pages were not written in time", expected - first.len() - second.len());
    }

    // `oncall who` over a year of a ten-layer schedule.
    let config = vigil_config::load_str(Path::new("who.yaml"), TEN_LAYERS, &|_| None).map_err(|errors| anyhow::anyhow!("{errors}"))?;
    let schedule = &config.on_call.schedules["big"].schedule;
    let now = clock.now().0;
    let moments = 100_000;
    let started = Instant::now();
    let mut worst = Duration::ZERO;
    let mut covered = 0;
    for index in 0..moments {
        let at = now + (index as i64 * 365 * DAY) / moments as i64 + (index as i64 * 7_919) % MINUTE;
        let one = Instant::now();
        covered += usize::from(schedule.who(&[], at).is_some());
        worst = worst.max(one.elapsed());
    }
    let per = started.elapsed() / moments as u32;
    let started = Instant::now();
    let shifts = schedule.shifts(&[], now, now + 365 * DAY);
    let year = started.elapsed();
    println!("oncall who, a 10-layer schedule over the next year:");
    println!("  who at {moments} moments: {per:?} each on average, slowest {worst:?} ({covered} covered)");
    println!("  the year's final schedule: {} shifts in {} ms", shifts.len(), year.as_millis());

    // The command as a user runs it: process start, config, store, answer.
    let config_path = dir.path().join("who.yaml");
    let storage = format!("storage: sqlite://{}\n", dir.path().join("who.db").display());
    std::fs::write(&config_path, format!("{storage}{TEN_LAYERS}"))?;
    let exe = std::env::current_exe()?;
    // The first run creates and migrates the store; a user's store exists.
    std::process::Command::new(&exe).args(["oncall", "who", "-c"]).arg(&config_path).output()?;
    let mut runs = Vec::new();
    for days in (0..20).map(|index| index * 19) {
        let at = format!("+{days}d");
        let started = Instant::now();
        let output = std::process::Command::new(&exe).args(["oncall", "who", "big", "--at", &at, "-c"]).arg(&config_path).output()?;
        runs.push(started.elapsed());
        anyhow::ensure!(output.status.success(), "vigil oncall who failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    runs.sort();
    println!(
        "  `vigil oncall who big --at +Nd` (the whole command: process, config, store, answer): median {:?}, p90 {:?}, slowest {:?} of {}",
        runs[runs.len() / 2],
        runs[runs.len() * 9 / 10],
        runs[runs.len() - 1],
        runs.len()
    );
    println!("reproduce: vigil bench incidents --incidents {count} --schedules {schedules}");
    Ok(())
}

//! OpenSLO documents of every kind into `slos:`, the output checked by loading it, and
//! each thing that cannot be mapped named in the notes.

use std::path::Path;

use super::openslo;

const DOCUMENTS: &str = r#"
apiVersion: openslo/v1
kind: DataSource
metadata:
  name: loki
spec:
  type: Loki
  connectionDetails: {url: http://loki:3100}
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: api-availability
  displayName: API availability
  labels:
    team: [payments, platform]
    tier: gold
spec:
  service: api
  indicator:
    metadata: {name: api-errors}
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource:
            metricSourceRef: loki
            spec:
              query: sum(count_over_time({app="api"} | json | status >= 500 [5m]))
        total:
          metricSource:
            type: Loki
            spec:
              query: '{app="api"}'
  timeWindow:
    - duration: 4w
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: Strict
      target: 0.999
    - displayName: Loose
      targetPercent: 99.5
  alertPolicies:
    - alertPolicyRef: page-on-burn
---
apiVersion: openslo/v1
kind: SLI
metadata:
  name: api-up
spec:
  ratioMetric:
    counter: true
    good:
      metricSource:
        type: Vigil
        spec: {monitor: api}
    total:
      metricSource:
        type: Vigil
        spec: {monitor: api}
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: api uptime
spec:
  description: Time the API is up
  indicatorRef: api-up
  timeWindow:
    - duration: 1M
      calendar: {startTime: "2026-01-01 00:00:00", timeZone: UTC}
  budgetingMethod: Timeslices
  objectives:
    - target: 0.9995
      timeSliceTarget: 0.95
      timeSliceWindow: 1m
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: search-latency
spec:
  indicator:
    spec:
      thresholdMetric:
        metricSource:
          type: Prometheus
          spec: {query: 'histogram_quantile(0.99, rate(search_seconds_bucket[5m]))'}
  timeWindow: [{duration: 7d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{op: lt, value: 0.5, target: 0.99}]
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: probe
spec:
  indicator:
    spec:
      ratioMetric:
        good: {metricSource: {type: Prometheus, spec: {query: 'sum(probe_success{instance="https://example.com"})'}}}
        total: {metricSource: {type: Prometheus, spec: {query: 'count(probe_success{instance="https://example.com"})'}}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: precomputed
spec:
  indicator:
    spec:
      ratioMetric:
        rawType: success
        raw: {metricSource: {type: Loki, spec: {query: '{app="api"}'}}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 1.5}]
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata:
  name: page-on-burn
spec:
  conditions: [{conditionRef: fast-burn}]
---
apiVersion: openslo/v1
kind: Service
metadata:
  name: api
spec:
  description: The API
"#;

const EXPECTED: &str = r#"# Translated from OpenSLO by `vigil import openslo`.
slos:
  - name: "api-availability-strict"
    service: "api"
    description: "API availability"
    objective: "0.999"
    window: "28d"
    errors: "{app=\"api\"} | json | status >= 500"
    total: "{app=\"api\"}"
    labels:
      team: "payments,platform"
      tier: "gold"
  - name: "api-availability-loose"
    service: "api"
    description: "API availability"
    objective: "99.5%"
    window: "28d"
    errors: "{app=\"api\"} | json | status >= 500"
    total: "{app=\"api\"}"
    labels:
      team: "payments,platform"
      tier: "gold"
  - name: "api-uptime"
    description: "Time the API is up"
    objective: "0.9995"
    window: "30d"
    monitor-time: "api"
"#;

#[test]
fn openslo_documents_map_where_vigil_counts_the_events() {
    let imported = openslo(DOCUMENTS).expect("import");
    assert_eq!(imported.yaml, EXPECTED);
    // The output is a config Vigil loads, given the monitor it names.
    let yaml = format!("{}monitors:\n  - name: api\n    url: http://127.0.0.1:9/health\n", imported.yaml);
    let config = crate::load_str(Path::new("imported.yaml"), &yaml, &|_| None).expect("the output loads");
    let objectives: Vec<(String, String, u64)> =
        config.slos.iter().map(|slo| (slo.name.as_str().to_owned(), slo.objective.to_string(), slo.window.as_secs() / 86_400)).collect();
    assert_eq!(
        objectives,
        [
            ("api-availability-strict".to_owned(), "99.9%".to_owned(), 28),
            ("api-availability-loose".to_owned(), "99.5%".to_owned(), 28),
            ("api-uptime".to_owned(), "99.95%".to_owned(), 30),
        ]
    );
    let expected_notes = [
        "SLO api-availability: label team has several values, joined with ','",
        "SLO api-availability: alertPolicies not mapped",
        "SLO api uptime: timeWindow 1M read as 30d",
        "SLO api uptime: a calendar-aligned window becomes a rolling 30d one",
        "SLO api uptime: named api-uptime",
        "SLO search-latency: a thresholdMetric SLI is not mapped",
        "SLO probe: a Prometheus source is not mapped: Vigil counts its own checks and log lines (a probe: watch it with a Vigil monitor",
        "SLO precomputed: a raw (precomputed) ratio is not mapped",
        "AlertPolicy page-on-burn: not mapped",
        "Service api: Vigil has no service objects",
    ];
    for expected in expected_notes {
        assert!(imported.notes.iter().any(|note| note.starts_with(expected)), "{expected} in {:#?}", imported.notes);
    }
    assert!(!imported.notes.iter().any(|note| note.contains("Timeslices budgeted")), "a monitor's time is its timeslices");
}

#[test]
fn what_is_not_openslo_is_refused_with_a_reason() {
    assert!(openslo("").is_err());
    assert!(openslo(": not yaml :\n  - [").is_err());
    let bad_query = r#"
apiVersion: openslo/v1
kind: SLO
metadata: {name: x}
spec:
  indicator: {spec: {ratioMetric: {bad: {metricSource: {type: Loki, spec: {query: 'sum(rate({app="x"} | unwrap latency [5m]))'}}}, total: {metricSource: {type: Loki, spec: {query: '{app="x"'}}}}}}
  objectives: [{target: 0.99}]
"#;
    let imported = openslo(bad_query).expect("documents");
    assert_eq!(imported.yaml, "# Translated from OpenSLO by `vigil import openslo`.\nslos: []\n");
    assert!(imported.notes.iter().any(|note| note.contains("not a log query, nor a count or rate over one")), "{:#?}", imported.notes);
    assert!(
        imported.notes.iter().any(|note| note.starts_with("SLO x: no timeWindow")) || imported.notes.len() == 1,
        "{:#?}",
        imported.notes
    );
}

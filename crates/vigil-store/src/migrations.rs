//! Schema migrations: an ordered list, each applied once in its own transaction.

use crate::{Backend, Store, StoreError};

struct Migration {
    version: i64,
    /// Statements; `{id}` becomes the backend's auto-increment primary key, `{float}` its
    /// double-precision type.
    statements: &'static [&'static str],
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        statements: &[
            "CREATE TABLE transitions (
            id {id},
            monitor TEXT NOT NULL,
            at BIGINT NOT NULL,
            from_state TEXT NOT NULL,
            state TEXT NOT NULL,
            healthy BOOLEAN NOT NULL,
            reason TEXT NOT NULL,
            previous_period_ms BIGINT
        )",
            "CREATE INDEX transitions_monitor_at ON transitions (monitor, at)",
            "CREATE TABLE outbox (
            id {id},
            idempotency_key TEXT NOT NULL UNIQUE,
            notifier TEXT NOT NULL,
            payload TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            next_attempt_at BIGINT NOT NULL,
            give_up_at BIGINT NOT NULL,
            attempts BIGINT NOT NULL DEFAULT 0,
            last_error TEXT,
            delivered_at BIGINT,
            lease_owner TEXT,
            lease_until BIGINT
        )",
            "CREATE INDEX outbox_due ON outbox (status, next_attempt_at)",
            "CREATE TABLE outbox_attempts (
            id {id},
            outbox_id BIGINT NOT NULL REFERENCES outbox (id),
            at BIGINT NOT NULL,
            ok BOOLEAN NOT NULL,
            error TEXT
        )",
            "CREATE INDEX outbox_attempts_outbox ON outbox_attempts (outbox_id)",
            "CREATE TABLE runs (
            id {id},
            node TEXT NOT NULL,
            started_at BIGINT NOT NULL,
            last_seen_at BIGINT NOT NULL,
            stopped_at BIGINT
        )",
        ],
    },
    Migration {
        version: 2,
        statements: &[
            "CREATE TABLE alerts (
            id {id},
            rule TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            labels TEXT NOT NULL,
            severity TEXT NOT NULL,
            state TEXT NOT NULL,
            fired_at BIGINT NOT NULL,
            resolved_at BIGINT,
            value {float} NOT NULL,
            sample_lines TEXT NOT NULL
        )",
            "CREATE INDEX alerts_rule ON alerts (rule, fired_at)",
            "CREATE INDEX alerts_open ON alerts (state, fingerprint)",
        ],
    },
    Migration {
        version: 3,
        statements: &["CREATE TABLE source_offsets (
            source TEXT PRIMARY KEY,
            file_id TEXT NOT NULL,
            head TEXT NOT NULL,
            position BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        )"],
    },
    Migration {
        version: 4,
        statements: &[
            // The state of each monitor as recorded, so that two nodes watching one monitor
            // record one transition, not two.
            "CREATE TABLE monitor_states (
            monitor TEXT PRIMARY KEY,
            state TEXT NOT NULL,
            since BIGINT NOT NULL,
            transition_id BIGINT NOT NULL
        )",
            "INSERT INTO monitor_states (monitor, state, since, transition_id)
             SELECT monitor, state, at, id FROM transitions WHERE id IN (SELECT MAX(id) FROM transitions GROUP BY monitor)",
            "CREATE TABLE executions (
            id {id},
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            target_error TEXT,
            episode TEXT NOT NULL,
            attempt BIGINT NOT NULL,
            trigger_kind TEXT NOT NULL,
            trigger_name TEXT NOT NULL,
            trigger_id BIGINT NOT NULL,
            summary TEXT NOT NULL,
            labels TEXT NOT NULL,
            notify TEXT NOT NULL,
            dry_run BIGINT NOT NULL,
            state TEXT NOT NULL,
            not_before BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            started_at BIGINT,
            finished_at BIGINT,
            verify_deadline BIGINT,
            approval_deadline BIGINT,
            approved_by TEXT,
            fencing_token BIGINT,
            decisions TEXT NOT NULL,
            result TEXT
        )",
            "CREATE INDEX executions_due ON executions (state, not_before)",
            "CREATE INDEX executions_started ON executions (action, target, started_at)",
            "CREATE INDEX executions_started_at ON executions (started_at)",
            "CREATE INDEX executions_episode ON executions (episode, action, target)",
            "CREATE TABLE target_leases (
            target TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            token BIGINT NOT NULL,
            expires_at BIGINT NOT NULL
        )",
            "CREATE TABLE breakers (
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            opened_at BIGINT,
            reset_at BIGINT,
            PRIMARY KEY (action, target)
        )",
            "CREATE TABLE settings (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at BIGINT NOT NULL
        )",
            "CREATE TABLE silences (
            id {id},
            matchers TEXT NOT NULL,
            starts_at BIGINT NOT NULL,
            ends_at BIGINT NOT NULL,
            created_by TEXT NOT NULL,
            comment TEXT NOT NULL
        )",
            "CREATE TABLE audit (
            id {id},
            at BIGINT NOT NULL,
            execution_id BIGINT,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            event TEXT NOT NULL,
            detail TEXT NOT NULL,
            node TEXT NOT NULL
        )",
            "CREATE INDEX audit_execution ON audit (execution_id)",
            "CREATE TABLE inbound_alerts (
            id {id},
            source TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            starts_at BIGINT NOT NULL,
            name TEXT NOT NULL,
            labels TEXT NOT NULL,
            annotations TEXT NOT NULL,
            state TEXT NOT NULL,
            received_at BIGINT NOT NULL,
            resolved_at BIGINT,
            UNIQUE (source, fingerprint, starts_at)
        )",
        ],
    },
    Migration {
        version: 5,
        statements: &[
            // Notifications of one monitor (rule alert, inbound alert, execution) reach one
            // notifier in the order they were queued; older rows have no ordering key.
            "ALTER TABLE outbox ADD COLUMN ordering_key TEXT",
            "CREATE INDEX outbox_ordering ON outbox (notifier, ordering_key, status, id)",
        ],
    },
    Migration {
        version: 6,
        statements: &[
            // API tokens: the secret's SHA-256 only; the public id finds the row.
            "CREATE TABLE api_tokens (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL,
            secret_sha256 TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            last_used_at BIGINT,
            revoked_at BIGINT
        )",
        ],
    },
    Migration {
        version: 7,
        statements: &[
            // One table of alert episodes for monitors, rules and inbound alerts.
            "CREATE TABLE alert_episodes (
            id {id},
            fingerprint TEXT NOT NULL,
            source TEXT NOT NULL,
            source_key TEXT NOT NULL,
            name TEXT NOT NULL,
            labels TEXT NOT NULL,
            annotations TEXT NOT NULL,
            state TEXT NOT NULL,
            starts_at BIGINT NOT NULL,
            ends_at BIGINT,
            received_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            generator_url TEXT NOT NULL DEFAULT '',
            value {float} NOT NULL DEFAULT 0,
            evidence TEXT NOT NULL DEFAULT '[]',
            receivers TEXT NOT NULL DEFAULT '[]',
            legacy_kind TEXT,
            legacy_id BIGINT,
            legacy_severity TEXT
        )",
            "CREATE UNIQUE INDEX alert_episodes_firing ON alert_episodes (fingerprint) WHERE state = 'firing'",
            "CREATE INDEX alert_episodes_updated ON alert_episodes (updated_at)",
            "CREATE INDEX alert_episodes_name ON alert_episodes (name, id)",
            // The old shapes move in; `fix_legacy` computes their fingerprints.
            "INSERT INTO alert_episodes (fingerprint, source, source_key, name, labels, annotations, state, starts_at, ends_at,
                received_at, updated_at, value, evidence, legacy_kind, legacy_id, legacy_severity)
             SELECT 'legacy:alert:' || CAST(id AS TEXT), 'rule', fingerprint, rule, labels, '{}', state, fired_at, resolved_at,
                fired_at, COALESCE(resolved_at, fired_at), value, sample_lines, 'alert', id, severity FROM alerts",
            "INSERT INTO alert_episodes (fingerprint, source, source_key, name, labels, annotations, state, starts_at, ends_at,
                received_at, updated_at, legacy_kind, legacy_id)
             SELECT 'legacy:inbound:' || CAST(id AS TEXT), 'inbound', fingerprint, name, labels, annotations, state, starts_at,
                resolved_at, received_at, COALESCE(resolved_at, received_at), 'inbound', id FROM inbound_alerts",
            "UPDATE executions SET trigger_id = (SELECT e.id FROM alert_episodes e
                WHERE e.legacy_kind = executions.trigger_kind AND e.legacy_id = executions.trigger_id),
                trigger_kind = 'episode'
             WHERE trigger_kind IN ('alert', 'inbound')",
            "DROP TABLE alerts",
            "DROP TABLE inbound_alerts",
            // What each receiver was last told about each group.
            "CREATE TABLE alert_notify_log (
            receiver TEXT NOT NULL,
            group_key TEXT NOT NULL,
            first_at BIGINT NOT NULL,
            seq BIGINT NOT NULL,
            sent_at BIGINT NOT NULL,
            firing TEXT NOT NULL,
            resolved TEXT NOT NULL,
            thread TEXT NOT NULL,
            PRIMARY KEY (receiver, group_key)
        )",
            // Silences get Alertmanager's ids and matchers; `fix_legacy_silences` converts old rows.
            "ALTER TABLE silences ADD COLUMN uid TEXT",
            "ALTER TABLE silences ADD COLUMN updated_at BIGINT",
            "CREATE INDEX silences_uid ON silences (uid)",
        ],
    },
    Migration {
        version: 8,
        statements: &[
            // What the alert dispatcher decided about each episode, per receiver and group
            // (notified, silenced, inhibited, muted by time, flapping), for `vigil alerts show`.
            "CREATE TABLE alert_decisions (
            id {id},
            episode_id BIGINT NOT NULL,
            at BIGINT NOT NULL,
            receiver TEXT NOT NULL,
            group_key TEXT NOT NULL,
            kind TEXT NOT NULL,
            detail TEXT NOT NULL,
            seq BIGINT,
            thread TEXT NOT NULL DEFAULT ''
        )",
            "CREATE INDEX alert_decisions_episode ON alert_decisions (episode_id, id)",
            // Fingerprints a group's last notification called flapping.
            "ALTER TABLE alert_notify_log ADD COLUMN flapping TEXT NOT NULL DEFAULT '[]'",
            // Every episode write takes the next number from one counter row, whose lock
            // it holds until commit: numbers follow commit order, so the alert dispatcher
            // reads what changed after the last number it saw, exactly.
            "CREATE TABLE alert_change_seq (id BIGINT PRIMARY KEY, value BIGINT NOT NULL)",
            "INSERT INTO alert_change_seq (id, value) VALUES (1, 0)",
            "ALTER TABLE alert_episodes ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0",
            "CREATE INDEX alert_episodes_change ON alert_episodes (change_seq)",
            "CREATE INDEX alert_episodes_expiry ON alert_episodes (state, ends_at)",
        ],
    },
    Migration {
        version: 9,
        statements: &[
            // The mail thread a group's first notification will start, taken by whichever
            // comes first: that notification, or an action outcome that goes out before it
            // (remediation does not wait for group-wait), so both land in one thread.
            "CREATE TABLE alert_group_threads (
            receiver TEXT NOT NULL,
            group_key TEXT NOT NULL,
            thread TEXT NOT NULL,
            PRIMARY KEY (receiver, group_key)
        )",
        ],
    },
    Migration {
        version: 10,
        statements: &[
            // Each node's SLO windows as bucket counts, so a restart rebuilds them: one row
            // per (slo, node, bucket width, bucket index), and the newest time seen.
            "CREATE TABLE slo_buckets (
            slo TEXT NOT NULL,
            node TEXT NOT NULL,
            width BIGINT NOT NULL,
            bucket BIGINT NOT NULL,
            total BIGINT NOT NULL,
            bad BIGINT NOT NULL,
            PRIMARY KEY (slo, node, width, bucket)
        )",
            "CREATE TABLE slo_times (
            slo TEXT NOT NULL,
            node TEXT NOT NULL,
            at BIGINT NOT NULL,
            PRIMARY KEY (slo, node)
        )",
        ],
    },
    Migration {
        version: 11,
        statements: &[
            // SLO windows as encoded blocks of 256 buckets (vigil_core::slo::series), one row
            // per (slo, node, bucket width, first bucket), numbered in commit order so that
            // other nodes read only what changed. slo_buckets rows are read once more by
            // the node that wrote them, then deleted.
            "CREATE TABLE slo_blocks (
            slo TEXT NOT NULL,
            node TEXT NOT NULL,
            width BIGINT NOT NULL,
            start BIGINT NOT NULL,
            data {blob} NOT NULL,
            change_seq BIGINT NOT NULL,
            PRIMARY KEY (slo, node, width, start)
        )",
            "CREATE INDEX slo_blocks_change ON slo_blocks (change_seq)",
            "CREATE TABLE slo_change_seq (id BIGINT PRIMARY KEY, value BIGINT NOT NULL)",
            "INSERT INTO slo_change_seq (id, value) VALUES (1, 0)",
            // Each SLO's budget window sampled on the hour, for `vigil slo history`.
            "CREATE TABLE slo_history (
            slo TEXT NOT NULL,
            at BIGINT NOT NULL,
            window_ms BIGINT NOT NULL,
            objective_ppb BIGINT NOT NULL,
            total BIGINT NOT NULL,
            bad BIGINT NOT NULL,
            PRIMARY KEY (slo, at)
        )",
        ],
    },
    Migration {
        version: 12,
        statements: &[
            // Incidents; at most one open per service, so two nodes recording one outage
            // open one.
            "CREATE TABLE incidents (
            id {id},
            title TEXT NOT NULL,
            severity TEXT NOT NULL,
            status TEXT NOT NULL,
            service TEXT,
            escalation TEXT,
            opened_at BIGINT NOT NULL,
            opened_by TEXT NOT NULL,
            triggered_at BIGINT NOT NULL,
            first_signal_at BIGINT,
            acknowledged_at BIGINT,
            acknowledged_by TEXT,
            resolved_at BIGINT,
            resolved_by TEXT,
            alerts_firing BIGINT NOT NULL,
            alerts_resolved_at BIGINT,
            last_update_at BIGINT,
            update_reminded_at BIGINT,
            confirm_reminded_at BIGINT,
            last_activity_at BIGINT NOT NULL
        )",
            "CREATE UNIQUE INDEX incidents_open_service ON incidents (service) WHERE resolved_at IS NULL",
            "CREATE INDEX incidents_opened ON incidents (opened_at)",
            "CREATE TABLE incident_alerts (
            incident_id BIGINT NOT NULL,
            episode_id BIGINT NOT NULL,
            name TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            joined_at BIGINT NOT NULL,
            started_at BIGINT NOT NULL,
            resolved_at BIGINT,
            PRIMARY KEY (incident_id, episode_id)
        )",
            "CREATE INDEX incident_alerts_episode ON incident_alerts (episode_id)",
            // Append-only: nothing updates or deletes a row.
            "CREATE TABLE incident_timeline (
            id {id},
            incident_id BIGINT NOT NULL,
            at BIGINT NOT NULL,
            kind TEXT NOT NULL,
            actor TEXT NOT NULL,
            text TEXT NOT NULL,
            data TEXT
        )",
            "CREATE INDEX incident_timeline_incident ON incident_timeline (incident_id, id)",
            "CREATE TABLE incident_roles (
            incident_id BIGINT NOT NULL,
            role TEXT NOT NULL,
            person TEXT NOT NULL,
            assigned_at BIGINT NOT NULL,
            PRIMARY KEY (incident_id, role, person)
        )",
            "CREATE TABLE incident_escalations (
            incident_id BIGINT PRIMARY KEY,
            policy TEXT NOT NULL,
            started_at BIGINT NOT NULL,
            sent BIGINT NOT NULL,
            next_due BIGINT,
            state TEXT NOT NULL
        )",
            "CREATE INDEX incident_escalations_due ON incident_escalations (state, next_due)",
            "CREATE TABLE incident_updates (
            id {id},
            incident_id BIGINT NOT NULL,
            at BIGINT NOT NULL,
            status TEXT NOT NULL,
            text TEXT NOT NULL,
            public BOOLEAN NOT NULL,
            author TEXT NOT NULL
        )",
            "CREATE INDEX incident_updates_incident ON incident_updates (incident_id, id)",
            // Acknowledgement links by the SHA-256 of their token; never the token.
            "CREATE TABLE incident_links (
            token_sha256 TEXT PRIMARY KEY,
            incident_id BIGINT NOT NULL,
            person TEXT NOT NULL,
            action TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            used_at BIGINT
        )",
            "CREATE TABLE action_items (
            id {id},
            incident_id BIGINT NOT NULL,
            text TEXT NOT NULL,
            owner TEXT NOT NULL,
            due_at BIGINT,
            created_at BIGINT NOT NULL,
            created_by TEXT NOT NULL,
            done_at BIGINT,
            done_by TEXT,
            reminded_at BIGINT
        )",
            "CREATE TABLE oncall_overrides (
            id {id},
            schedule TEXT NOT NULL,
            person TEXT NOT NULL,
            from_at BIGINT NOT NULL,
            to_at BIGINT NOT NULL,
            created_by TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )",
            // A notification about an incident puts its outcome on the incident's timeline.
            "ALTER TABLE outbox ADD COLUMN incident_id BIGINT",
            "ALTER TABLE outbox ADD COLUMN incident_note TEXT",
        ],
    },
    Migration {
        version: 13,
        statements: &[
            // An incident's notifications, for telling the notifiers it paged that it is over.
            "CREATE INDEX outbox_incident ON outbox (incident_id)",
        ],
    },
    Migration {
        version: 14,
        statements: &[
            // Signed-in web UI sessions: the cookie's secret is stored as its SHA-256; a
            // session lasts as long as its token is not revoked and it has not expired.
            "CREATE TABLE ui_sessions (
            id TEXT PRIMARY KEY,
            secret_sha256 TEXT NOT NULL,
            token_id TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL
        )",
            // Each monitor's checks per hour: counts and response times, for sparklines,
            // response-time badges and the monitor page.
            "CREATE TABLE check_hours (
            monitor TEXT NOT NULL,
            hour BIGINT NOT NULL,
            checks BIGINT NOT NULL,
            failures BIGINT NOT NULL,
            total_ms {float} NOT NULL,
            max_ms {float} NOT NULL,
            PRIMARY KEY (monitor, hour)
        )",
            "CREATE INDEX check_hours_hour ON check_hours (hour)",
            // The overview reads the day's transitions of every monitor at once.
            "CREATE INDEX transitions_at ON transitions (at)",
        ],
    },
    Migration {
        version: 15,
        statements: &[
            // E-mail subscribers of the status page: double opt-in, one-click unsubscribe.
            // Their links are signed with a key kept in `settings`; no token is stored.
            "CREATE TABLE status_subscribers (
            id {id},
            email TEXT NOT NULL UNIQUE,
            created_at BIGINT NOT NULL,
            mailed_at BIGINT NOT NULL,
            confirmed_at BIGINT,
            unsubscribed_at BIGINT
        )",
        ],
    },
    Migration {
        version: 16,
        statements: &[
            // Hourly check sums per node: nodes sharing a store each keep their own row
            // (each saved its running sums over the other's before); readers add them up.
            // Rows from before carry node '' and count like any other.
            "CREATE TABLE check_node_hours (
            monitor TEXT NOT NULL,
            hour BIGINT NOT NULL,
            node TEXT NOT NULL,
            checks BIGINT NOT NULL,
            failures BIGINT NOT NULL,
            total_ms {float} NOT NULL,
            max_ms {float} NOT NULL,
            PRIMARY KEY (monitor, hour, node)
        )",
            "INSERT INTO check_node_hours (monitor, hour, node, checks, failures, total_ms, max_ms)
             SELECT monitor, hour, '', checks, failures, total_ms, max_ms FROM check_hours",
            "DROP TABLE check_hours",
            "CREATE INDEX check_node_hours_hour ON check_node_hours (hour)",
        ],
    },
];

pub(crate) async fn run(store: &Store) -> Result<(), StoreError> {
    apply(store, i64::MAX).await?;
    crate::episodes::fix_legacy(store).await?;
    crate::silences::fix_legacy(store).await?;
    Ok(())
}

/// Applies the migrations up to version `last`.
async fn apply(store: &Store, last: i64) -> Result<(), StoreError> {
    let (id_type, float_type, blob_type) = match store.backend {
        Backend::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "REAL", "BLOB"),
        Backend::Postgres => ("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "DOUBLE PRECISION", "BYTEA"),
    };
    sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")
        .execute(&store.pool)
        .await?;
    // Most opens find every migration applied: a read says so without taking the lock.
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations").fetch_all(&store.pool).await?;
    if MIGRATIONS.iter().filter(|migration| migration.version <= last).all(|migration| applied.contains(&migration.version)) {
        return Ok(());
    }
    for migration in MIGRATIONS.iter().filter(|migration| migration.version <= last) {
        let failed = |source| StoreError::Migrate { version: migration.version, source };
        let mut transaction = store.pool.begin().await?;
        // Processes starting together (two nodes, or `vigil run` and a CLI command on a
        // fresh database) must not migrate at the same time: take the write lock before
        // reading what is applied.
        let lock = match store.backend {
            Backend::Postgres => "SELECT pg_advisory_xact_lock(7414001)",
            // A write statement takes SQLite's write lock, even when it changes nothing.
            Backend::Sqlite => "DELETE FROM schema_migrations WHERE version < 0",
        };
        sqlx::query(lock).execute(&mut *transaction).await.map_err(failed)?;
        let applied: Option<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
            .bind(migration.version)
            .fetch_optional(&mut *transaction)
            .await
            .map_err(failed)?;
        if applied.is_some() {
            continue;
        }
        for statement in migration.statements {
            let sql = statement.replace("{id}", id_type).replace("{float}", float_type).replace("{blob}", blob_type);
            sqlx::query(&sql).execute(&mut *transaction).await.map_err(failed)?;
        }
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
            .bind(migration.version)
            .bind(now)
            .execute(&mut *transaction)
            .await
            .map_err(failed)?;
        transaction.commit().await.map_err(failed)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::apply;
    use crate::{AlertSource, EpisodeState, Store};

    /// Hourly sums kept before nodes had rows of their own count as node '' for
    /// readers, and for a node's own restart only in the hours before the current one.
    #[tokio::test]
    async fn version_15_check_hours_move_to_per_node_rows() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("old.db").display());
        let store = Store::connect(&url).await.expect("connect");
        apply(&store, 15).await.expect("migrate to 15");
        sqlx::query(
            "INSERT INTO check_hours (monitor, hour, checks, failures, total_ms, max_ms)
             VALUES ('api', 3600000, 4, 1, 40.0, 20.0), ('api', 7200000, 2, 0, 10.0, 6.0)",
        )
        .execute(&store.pool)
        .await
        .expect("old rows");
        drop(store);
        let store = Store::open(&url).await.expect("open and migrate");
        let all = store.check_hours(vigil_core::Timestamp(0)).await.expect("hours");
        assert_eq!(all.iter().map(|(_, hour)| (hour.hour, hour.checks)).collect::<Vec<_>>(), [(3_600_000, 4), (7_200_000, 2)]);
        let own = store.own_check_hours("vm:8080", vigil_core::Timestamp(0), vigil_core::Timestamp(7_200_000)).await.expect("own");
        assert_eq!(own.iter().map(|(_, hour)| hour.hour).collect::<Vec<_>>(), [3_600_000], "not the current hour: it is added to anew");
    }

    /// A database at version 6 with a rule alert, an inbound alert, an execution each
    /// triggered and an old equality silence: after the later migrations, all of them
    /// are there in the new shapes.
    #[tokio::test]
    async fn version_6_data_moves_into_episodes() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("old.db").display());
        let store = Store::connect(&url).await.expect("connect");
        apply(&store, 6).await.expect("migrate to 6");
        let statements = [
            "INSERT INTO alerts (rule, fingerprint, labels, severity, state, fired_at, resolved_at, value, sample_lines)
             VALUES ('slow-api', '{\"path\":\"/api\"}', '{\"path\":\"/api\"}', 'page', 'firing', 1000, NULL, 7.0, '[\"GET /api 4.2s\"]')",
            "INSERT INTO inbound_alerts (source, fingerprint, starts_at, name, labels, annotations, state, received_at, resolved_at)
             VALUES ('alertmanager', 'abc', 2000, 'HighLatency', '{\"alertname\":\"HighLatency\",\"service\":\"api\"}',
                     '{\"summary\":\"slow\"}', 'resolved', 2000, 3000)",
            "INSERT INTO executions (action, target, episode, attempt, trigger_kind, trigger_name, trigger_id, summary, labels, notify,
                 dry_run, state, not_before, created_at, decisions)
             VALUES ('reboot', 'ec2:i-1', 'alert:1', 1, 'alert', 'slow-api', 1, 'slow-api fired', '{}', '[]', 0, 'verified', 1000, 1000, '[]'),
                    ('page', '', 'inbound:1', 1, 'inbound', 'HighLatency', 1, 'HighLatency', '{}', '[]', 0, 'executed', 2000, 2000, '[]')",
            "INSERT INTO silences (matchers, starts_at, ends_at, created_by, comment) VALUES ('{\"service\":\"api\"}', 0, 99999999999999, 'alice', 'deploy')",
        ];
        for statement in statements {
            sqlx::query(statement).execute(&store.pool).await.expect(statement);
        }
        drop(store);

        let store = Store::open(&url).await.expect("migrate the rest");
        let mut episodes = store.episodes(None, 10).await.expect("episodes");
        episodes.sort_by_key(|episode| episode.id);
        assert_eq!(episodes.len(), 2, "{episodes:?}");
        let (rule, inbound) = (&episodes[0], &episodes[1]);
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
        };
        let rule_labels = labels(&[("alertname", "slow-api"), ("path", "/api"), ("rule", "slow-api"), ("severity", "page")]);
        assert_eq!((rule.source, rule.state, &rule.labels), (AlertSource::Rule, EpisodeState::Firing, &rule_labels));
        assert_eq!(rule.fingerprint, vigil_alerts::fingerprint_hex(&rule_labels), "a Prometheus fingerprint");
        assert_eq!(rule.evidence, serde_json::json!(["GET /api 4.2s"]));
        assert_eq!((inbound.source, inbound.state, inbound.name.as_str()), (AlertSource::Inbound, EpisodeState::Resolved, "HighLatency"));
        assert_eq!(inbound.annotations.get("summary").map(String::as_str), Some("slow"));
        assert_eq!(inbound.ends_at.map(|at| at.0), Some(3000));
        assert_eq!(store.firing_episodes(None).await.expect("firing").len(), 1);

        let triggers: Vec<(String, i64)> =
            sqlx::query_as("SELECT trigger_kind, trigger_id FROM executions ORDER BY id").fetch_all(&store.pool).await.expect("executions");
        assert_eq!(triggers, [("episode".to_owned(), rule.id), ("episode".to_owned(), inbound.id)], "executions follow their alerts");

        let silences = store.silences(vigil_core::Timestamp(1), true).await.expect("silences");
        assert_eq!(silences.len(), 1);
        assert_eq!(silences[0].matcher_text(), "{service=\"api\"}");
        assert_eq!(silences[0].id.len(), 36, "a UUID-shaped id: {}", silences[0].id);
        assert!(store.silence(&silences[0].id).await.expect("by id").is_some());
        // Migrated rows carry change number 0: readers load them at start, not as changes.
        assert_eq!(store.change_seq().await.expect("seq"), 0);
    }
}

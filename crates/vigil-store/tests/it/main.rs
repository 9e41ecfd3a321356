//! The store conformance suite: every case runs against SQLite and PostgreSQL.

mod conformance;

/// Runs `case` against a fresh SQLite file and a fresh database in a throwaway
/// PostgreSQL cluster (skipped, with a reason, where PostgreSQL is not installed).
macro_rules! store_suite {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let dir = tempfile::tempdir().expect("temp dir");
                    let url = format!("sqlite://{}", dir.path().join("vigil.db").display());
                    let store = vigil_store::Store::open(&url).await.expect("open sqlite");
                    crate::conformance::$case(store, &url).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(cluster) = vigil_testkit::PostgresCluster::start() else { return };
                    let url = cluster.database("vigil");
                    let store = vigil_store::Store::open(&url).await.expect("open postgres");
                    crate::conformance::$case(store, &url).await;
                    drop(cluster);
                }
            )*
        }
    };
}

store_suite!(
    migrations_are_idempotent,
    transition_and_notifications_commit_together,
    latest_transitions_restore_state,
    state_changes_include_the_state_at_window_start,
    leases_keep_two_nodes_from_sending_the_same_notification,
    one_monitors_notifications_reach_a_notifier_in_order,
    attempts_are_recorded_until_delivered_or_failed,
    runs_give_coverage,
    other_live_nodes_are_the_running_ones,
    a_batch_of_transitions_commits_together,
    alerts_fire_and_resolve_once_with_their_notifications,
    a_group_notification_is_written_once,
    decisions_are_written_when_they_change,
    expired_inbound_alerts_resolve,
    source_offsets_are_kept_per_source,
    a_change_already_recorded_by_another_node_is_skipped,
    executions_queue_with_their_trigger_once_per_episode,
    guard_facts_count_budgets_cooldowns_and_breakers,
    target_leases_hand_out_increasing_fencing_tokens,
    silences_approvals_and_inbound_episodes,
    slo_windows_are_saved_per_node_and_read_by_change_number,
    incidents_join_escalate_and_acknowledge_once,
    incident_records_updates_items_and_overrides,
    state_changes_of_several_monitors_match_each_ones,
    hourly_check_sums_are_kept_per_node_and_read_added_up,
);

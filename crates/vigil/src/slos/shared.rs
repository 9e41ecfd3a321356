//! What an SLO detector keeps in the store, and what it reads there of other nodes.
//!
//! Each node saves the blocks of its own windows (at most once a second, and at a stop)
//! and rebuilds them at start. Nodes sharing a store read each other's saved blocks by
//! change number and add what grew to their windows, so each evaluates the windows of
//! every node's events (a node's counts reach the others within about a second). One of
//! them says when burn alerts fire and resolve: the holder of the lease
//! `slo-alerts:KIND`, renewed at every save; a node that takes it over first makes the
//! stored alerts agree with its windows. A node alone never takes the lease.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use vigil_core::slo::series::{growth, EncodedBlock, BLOCK};
use vigil_core::slo::{Counts, StoredBlock};
use vigil_core::Timestamp;
use vigil_store::{AlertSource, NodeBlock, SloBlockRow, SloSave, SloWindows, Store, StoreError};

use super::{alert_change, resolving, source_key, store_changes, SloDetector};
use crate::alerts::AlertChange;
use crate::effects::Effects;
use crate::metrics::Metrics;

/// How long the lease to speak for the burn alerts lasts unless renewed.
const LEASE: Duration = Duration::from_secs(10);

/// What a detector knows of the other nodes.
#[derive(Debug, Default)]
pub(super) struct Sharing {
    /// The newest change number of other nodes' blocks read.
    seen: i64,
    /// Per (slo, node, width, start): the bytes last read, to tell what grew since.
    copies: HashMap<(String, String, i64, i64), Vec<u8>>,
    /// Whether other nodes count the same SLOs (their blocks were seen).
    shared: bool,
    /// Whether this node holds the lease to say when burn alerts fire.
    leader: bool,
    /// Saving failed: save every block next time.
    resave: bool,
    saves: u64,
}

impl Sharing {
    /// Whether this node's burn alert changes are the ones stored.
    pub(super) fn emits(&self) -> bool {
        !self.shared || self.leader
    }
}

fn align(index: i64) -> i64 {
    index - index.rem_euclid(BLOCK)
}

/// A node's stored windows as blocks, with the buckets stored before blocks were.
pub fn stored_blocks(windows: &SloWindows) -> Vec<StoredBlock> {
    let mut blocks: Vec<StoredBlock> = windows.blocks.iter().map(stored).collect();
    let mut legacy: std::collections::BTreeMap<(i64, i64), Vec<Counts>> = std::collections::BTreeMap::new();
    for row in &windows.legacy {
        let start = align(row.bucket);
        let buckets = legacy.entry((row.width, start)).or_insert_with(|| vec![Counts::default(); BLOCK as usize]);
        let total = u64::try_from(row.total).unwrap_or(0);
        buckets[(row.bucket - start) as usize] = Counts { total, bad: u64::try_from(row.bad).unwrap_or(0).min(total) };
    }
    blocks.extend(legacy.into_iter().map(|((width, start), buckets)| StoredBlock {
        width,
        block: EncodedBlock { start, bytes: vigil_core::slo::series::encode(&buckets) },
    }));
    blocks
}

fn stored(row: &SloBlockRow) -> StoredBlock {
    StoredBlock { width: row.width, block: EncodedBlock { start: row.start, bytes: row.data.clone() } }
}

impl SloDetector {
    fn lease_name(&self) -> String {
        format!("slo-alerts:{}", self.kind)
    }

    /// Whether this node holds (or now takes) the lease to speak for the burn alerts.
    async fn take_lease(&self, store: &Store) -> bool {
        let now = self.clock.now();
        let until = Timestamp(now.0 + i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX));
        match store.acquire_target_lease(&self.lease_name(), &self.node, now, until).await {
            Ok(token) => token.is_some(),
            Err(error) => {
                tracing::warn!(%error, "renewing the slo alert lease failed");
                self.sharing.leader
            }
        }
    }

    /// Rebuilds each SLO's windows from what this node stored, and what other nodes did,
    /// as they were at the newest time any had seen; stores the burn alerts that fire on
    /// them (one already firing in the store goes on as the same episode) and returns the
    /// source keys of the burn alerts that are to stay firing.
    pub async fn restore(&mut self, store: &Store, effects: &Effects) -> Result<BTreeSet<String>, StoreError> {
        if self.slos.is_empty() {
            return Ok(BTreeSet::new());
        }
        let started = Instant::now();
        let names: BTreeSet<&str> = self.slos.iter().map(|slo| slo.config.name.as_str()).collect();
        let (others, seen) = store.slo_blocks_saved_after(0, &self.node).await?;
        self.sharing.seen = seen;
        let mut by_slo: HashMap<String, Vec<StoredBlock>> = HashMap::new();
        for NodeBlock { slo, node, block } in others {
            if !names.contains(slo.as_str()) {
                continue;
            }
            by_slo.entry(slo.clone()).or_default().push(stored(&block));
            self.sharing.copies.insert((slo, node, block.width, block.start), block.data);
        }
        self.sharing.shared = !by_slo.is_empty();
        if self.sharing.shared {
            self.sharing.leader = self.take_lease(store).await;
        }
        let emits = self.sharing.emits();
        let mut changes = Vec::new();
        let mut blocks = 0;
        let mut stored_windows = store.slo_windows_of_node(&self.node).await?;
        for slo in &mut self.slos {
            let name = slo.config.name.as_str();
            let Some(own) = stored_windows.remove(name) else { continue };
            let at = own.at;
            let own_blocks = stored_blocks(&own);
            let others = by_slo.remove(name).unwrap_or_default();
            blocks += own_blocks.len() + others.len();
            let restored = slo.evaluator.restore(&own_blocks, &others, at);
            for skipped in &restored.skipped {
                tracing::warn!(slo = %name, reason = %skipped, "a stored slo block was left out");
            }
            tracing::debug!(slo = %name, blocks = own_blocks.len(), others = others.len(), at = %Timestamp(at), "slo windows rebuilt");
            if emits {
                changes.extend(restored.changes.iter().map(|change| alert_change(slo, change, Timestamp(at))));
            }
        }
        tracing::info!(slos = self.slos.len(), blocks, elapsed_ms = started.elapsed().as_millis() as u64, "slo windows rebuilt");
        let mut keys: BTreeSet<String> = changes.iter().map(|change| change.source_key.clone()).collect();
        if !emits {
            // The leader speaks for these alerts: leave what it stored alone.
            keys.extend(self.stored_firing(store).await?.into_iter().map(|episode| episode.source_key));
        }
        let now = changes.first().map_or(Timestamp(0), |change| change.received_at);
        store_changes(store, effects, changes, now).await;
        Ok(keys)
    }

    /// The firing burn alerts of this detector's SLOs in the store.
    async fn stored_firing(&self, store: &Store) -> Result<Vec<vigil_store::EpisodeRecord>, StoreError> {
        let keys: BTreeSet<String> =
            self.slos.iter().flat_map(|slo| (0..slo.config.alerts.len()).map(|alert| source_key(&slo.config, alert))).collect();
        let mut firing = store.firing_episodes(Some(AlertSource::Slo)).await?;
        firing.retain(|episode| keys.contains(&episode.source_key));
        Ok(firing)
    }

    /// At most once a second unless `at_stop`: stores the blocks that took events since,
    /// adds what other nodes stored since to the windows, renews the lease when nodes
    /// share the SLOs, samples the budgets on the hour, and exports the metrics.
    pub async fn sync(&mut self, store: &Store, effects: &Effects, metrics: &Metrics, at_stop: bool) {
        if self.slos.is_empty() || (!at_stop && self.saved.is_some_and(|at| at.elapsed() < Duration::from_secs(1))) {
            return;
        }
        self.saved = Some(Instant::now());
        self.sharing.saves += 1;
        self.save(store).await;
        let now = self.clock.now();
        let mut changes = Vec::new();
        if !at_stop {
            match store.slo_blocks_saved_after(self.sharing.seen, &self.node).await {
                Ok((blocks, seen)) => {
                    self.sharing.seen = seen;
                    changes.extend(self.merge(blocks, now));
                }
                Err(error) => tracing::warn!(%error, "reading other nodes' slo windows failed; will try again"),
            }
            if self.sharing.shared {
                let was = self.sharing.leader;
                self.sharing.leader = self.take_lease(store).await;
                if self.sharing.leader && !was {
                    tracing::info!(kind = self.kind, "this node now says when slo burn alerts fire");
                    match self.reconcile(store, now).await {
                        Ok(reconciled) => changes.extend(reconciled),
                        Err(error) => tracing::warn!(%error, "reading stored burn alerts failed"),
                    }
                }
            }
            if self.sharing.saves % 60 == 0 {
                self.forget_old_copies();
            }
        }
        // Only the node that speaks for the burn alerts keeps the history.
        let samples = std::mem::take(&mut self.samples);
        if self.sharing.emits() {
            if let Err(error) = store.record_slo_samples(&samples).await {
                tracing::warn!(%error, "storing slo budget samples failed; will try again");
                self.samples = samples;
            }
        }
        store_changes(store, effects, changes, now).await;
        self.export(metrics);
        let labels = crate::metrics::KindLabels { kind: self.kind.to_owned() };
        metrics.slo_shared.get_or_create(&labels).set(i64::from(self.sharing.shared));
        metrics.slo_leader.get_or_create(&labels).set(i64::from(self.sharing.emits()));
    }

    async fn save(&mut self, store: &Store) {
        let resave = std::mem::take(&mut self.sharing.resave);
        let saves: Vec<SloSave> = self
            .slos
            .iter_mut()
            .filter_map(|slo| {
                let blocks = if resave { slo.evaluator.blocks() } else { slo.evaluator.take_dirty() };
                let at = slo.evaluator.now()?;
                (!blocks.is_empty()).then(|| SloSave {
                    slo: slo.config.name.as_str().to_owned(),
                    at,
                    blocks: blocks
                        .into_iter()
                        .map(|stored| SloBlockRow { width: stored.width, start: stored.block.start, data: stored.block.bytes })
                        .collect(),
                    oldest: slo.evaluator.oldest_kept().into_iter().map(|(width, oldest)| (width, align(oldest))).collect(),
                })
            })
            .collect();
        if let Err(error) = store.save_slo_windows(&self.node, &saves).await {
            tracing::warn!(%error, "storing slo windows failed; will store them all next time");
            self.sharing.resave = true;
        }
    }

    /// Adds what other nodes' blocks gained to the windows.
    fn merge(&mut self, blocks: Vec<NodeBlock>, now: Timestamp) -> Vec<AlertChange> {
        let mut grown: HashMap<String, Vec<(i64, i64, Counts)>> = HashMap::new();
        for NodeBlock { slo, node, block } in blocks {
            if !self.slos.iter().any(|candidate| candidate.config.name.as_str() == slo) {
                continue;
            }
            let key = (slo, node, block.width, block.start);
            let encoded = EncodedBlock { start: block.start, bytes: block.data };
            match growth(self.sharing.copies.get(&key).map(Vec::as_slice), &encoded) {
                Ok(gained) => {
                    grown.entry(key.0.clone()).or_default().extend(gained.into_iter().map(|(index, counts)| (block.width, index, counts)));
                    self.sharing.copies.insert(key, encoded.bytes);
                }
                Err(error) => tracing::warn!(slo = %key.0, node = %key.1, %error, "another node's slo block was left out"),
            }
        }
        if !grown.is_empty() && !self.sharing.shared {
            tracing::info!(kind = self.kind, "other nodes count these slos too: their windows are added to this node's");
            self.sharing.shared = true;
        }
        let emits = self.sharing.emits();
        let mut out = Vec::new();
        for slo in &mut self.slos {
            if let Some(counted) = grown.get(slo.config.name.as_str()) {
                let changes = slo.evaluator.observe_others(counted);
                super::emit(emits, slo, &changes, now, &mut out);
            }
        }
        out
    }

    /// On taking the lease: the stored burn alerts made to agree with this node's windows.
    async fn reconcile(&self, store: &Store, now: Timestamp) -> Result<Vec<AlertChange>, StoreError> {
        let mut changes = Vec::new();
        let mut firing_keys = BTreeSet::new();
        for slo in &self.slos {
            for (alert, firing) in slo.evaluator.firing().iter().enumerate() {
                if *firing {
                    let change = alert_change(slo, &slo.evaluator.state(alert), now);
                    firing_keys.insert(change.source_key.clone());
                    changes.push(change);
                }
            }
        }
        for episode in self.stored_firing(store).await? {
            if !firing_keys.contains(&episode.source_key) {
                changes.push(resolving(episode, now));
            }
        }
        Ok(changes)
    }

    /// Drops the copies of other nodes' blocks no window reads any more.
    fn forget_old_copies(&mut self) {
        let oldest: HashMap<(&str, i64), i64> = self
            .slos
            .iter()
            .flat_map(|slo| slo.evaluator.oldest_kept().into_iter().map(move |(width, oldest)| ((slo.config.name.as_str(), width), oldest)))
            .collect();
        self.sharing
            .copies
            .retain(|(slo, _, width, start), _| oldest.get(&(slo.as_str(), *width)).is_none_or(|oldest| start + BLOCK > *oldest));
    }
}

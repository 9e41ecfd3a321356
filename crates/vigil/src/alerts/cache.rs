//! The firing episodes, kept in memory and brought up to date from the store before each
//! read: only what was written after the last change number seen is read, so listing
//! 10,000 alerts costs a lookup, not 10,000 rows. Every change committed before a read
//! starts is in it (change numbers follow commit order), so a client that posts an
//! alert and then lists sees it, whichever node it posted to.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::Mutex;
use vigil_store::{EpisodeRecord, EpisodeState, Store, StoreError};

#[derive(Default)]
struct Inner {
    seen: Option<i64>,
    firing: BTreeMap<i64, Arc<EpisodeRecord>>,
}

pub struct EpisodeCache {
    store: Store,
    inner: Mutex<Inner>,
}

impl EpisodeCache {
    pub fn new(store: Store) -> EpisodeCache {
        EpisodeCache { store, inner: Mutex::new(Inner::default()) }
    }

    /// The firing episodes as of now, oldest first.
    pub async fn firing(&self) -> Result<Vec<Arc<EpisodeRecord>>, StoreError> {
        let mut inner = self.inner.lock().await;
        match inner.seen {
            None => {
                // Read the number first: anything written while the rows load comes again.
                let seen = self.store.change_seq().await?;
                let firing = self.store.firing_episodes(None).await?;
                inner.firing = firing.into_iter().map(|record| (record.id, Arc::new(record))).collect();
                inner.seen = Some(seen);
            }
            Some(seen) => {
                for record in self.store.episodes_changed_after(seen).await? {
                    inner.seen = Some(inner.seen.unwrap_or(0).max(record.change_seq));
                    match record.state {
                        EpisodeState::Firing => inner.firing.insert(record.id, Arc::new(record)),
                        EpisodeState::Resolved => inner.firing.remove(&record.id),
                    };
                }
            }
        }
        Ok(inner.firing.values().cloned().collect())
    }
}

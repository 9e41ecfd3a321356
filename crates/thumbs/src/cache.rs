//! The on-the-fly cache: rendered thumbnails on disk, at most `max_bytes`, the least
//! recently used dropped first. Files are named by the hash of what was asked for; the
//! index is rebuilt from the folder on start (modification time as the last use).

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

pub struct Cache {
    dir: PathBuf,
    max_bytes: u64,
    index: Mutex<Index>,
}

#[derive(Default)]
struct Index {
    entries: HashMap<String, Entry>,
    total: u64,
    clock: u64,
}

struct Entry {
    size: u64,
    last_used: u64,
}

impl Cache {
    pub fn open(dir: &Path, max_bytes: u64) -> std::io::Result<Cache> {
        std::fs::create_dir_all(dir)?;
        let mut found: Vec<(SystemTime, String, u64)> = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tmp") {
                let _ = std::fs::remove_file(entry.path());
                continue;
            }
            let metadata = entry.metadata()?;
            found.push((metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH), name, metadata.len()));
        }
        found.sort();
        let mut index = Index::default();
        for (_, name, size) in found {
            index.clock += 1;
            index.total += size;
            index.entries.insert(name, Entry { size, last_used: index.clock });
        }
        let cache = Cache { dir: dir.to_owned(), max_bytes, index: Mutex::new(index) };
        cache.evict();
        Ok(cache)
    }

    /// The name of a request: the hex SHA-256 of its canonical form.
    pub fn name_of(request: &str) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(request.as_bytes()))
    }

    pub fn get(&self, name: &str) -> Option<Vec<u8>> {
        let size = {
            let mut index = self.lock();
            index.clock += 1;
            let clock = index.clock;
            let entry = index.entries.get_mut(name)?;
            entry.last_used = clock;
            entry.size
        };
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        let file = std::fs::File::open(self.dir.join(name)).ok()?;
        #[allow(clippy::disallowed_methods, reason = "bounded by take(size): the size the cache wrote")]
        file.take(size).read_to_end(&mut bytes).ok()?;
        Some(bytes)
    }

    /// Stores `bytes` under `name` (written to a temporary file, then renamed).
    pub fn put(&self, name: &str, bytes: &[u8]) {
        let size = bytes.len() as u64;
        if size > self.max_bytes {
            return;
        }
        let path = self.dir.join(name);
        let temp = self.dir.join(format!("{name}.{}.tmp", fastrand::u64(..)));
        if std::fs::write(&temp, bytes).and_then(|()| std::fs::rename(&temp, &path)).is_err() {
            let _ = std::fs::remove_file(&temp);
            return;
        }
        {
            let mut index = self.lock();
            index.clock += 1;
            let clock = index.clock;
            if let Some(old) = index.entries.insert(name.to_owned(), Entry { size, last_used: clock }) {
                index.total -= old.size;
            }
            index.total += size;
        }
        self.evict();
    }

    /// Bytes held.
    pub fn size(&self) -> u64 {
        self.lock().total
    }

    fn evict(&self) {
        let mut index = self.lock();
        while index.total > self.max_bytes {
            let Some(oldest) = index.entries.iter().min_by_key(|(_, entry)| entry.last_used).map(|(name, _)| name.clone()) else { break };
            if let Some(entry) = index.entries.remove(&oldest) {
                index.total -= entry.size;
                let _ = std::fs::remove_file(self.dir.join(&oldest));
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::Cache;

    #[test]
    fn the_least_recently_used_go_first_and_the_index_survives_a_restart() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = Cache::open(dir.path(), 250).expect("open");
        cache.put("a", &[1; 100]);
        cache.put("b", &[2; 100]);
        assert_eq!(cache.get("a").map(|bytes| bytes.len()), Some(100), "a is now the most recent");
        cache.put("c", &[3; 100]);
        assert_eq!(cache.get("b"), None, "b was the least recently used");
        assert!(cache.get("a").is_some() && cache.get("c").is_some());
        assert_eq!(cache.size(), 200);
        cache.put("huge", &[0; 1000]);
        assert_eq!(cache.get("huge"), None, "larger than the whole cache: not kept");
        drop(cache);
        let reopened = Cache::open(dir.path(), 250).expect("reopen");
        assert_eq!(reopened.size(), 200);
        assert_eq!(reopened.get("c"), Some(vec![3; 100]));
    }
}

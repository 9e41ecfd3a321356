//! Who this process is among the nodes sharing a store: the [`NodeId`] that holds
//! leases (outbox, targets) and names runs and audit entries; and [`stopped`], how its
//! loops learn that it is stopping.
//!
//! `HOST:PORT` alone is not enough: cloned machines keep one host name and listen on
//! one port, and two nodes with one id would take each other's leases for their own.
//! The default adds a suffix from the kernel's boot id and this process's network
//! namespace: two machines (or two containers) differ, while a process restarted on the
//! same machine is the same node and takes back its own leases at once.

use std::fmt;

use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeId(String);

impl NodeId {
    /// `configured` when given, else `HOST:PORT~SUFFIX`.
    pub fn new(configured: Option<&str>, port: u16) -> NodeId {
        match configured {
            Some(id) => NodeId(id.to_owned()),
            None => NodeId(format!("{}:{port}~{}", hostname(), suffix(&boot_and_namespace()))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What tells this process's machine and namespace apart from every other's; random
/// for this process where the kernel says nothing.
fn boot_and_namespace() -> String {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok();
    let namespace = std::fs::read_link("/proc/self/ns/net").ok().map(|link| link.display().to_string());
    match (boot, namespace) {
        (Some(boot), Some(namespace)) => format!("{}|{namespace}", boot.trim()),
        (Some(boot), None) => boot.trim().to_owned(),
        _ => format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)),
    }
}

fn suffix(seed: &str) -> String {
    hex::encode(&Sha256::digest(seed.as_bytes())[..4])
}

/// Resolves once `stop` turns true (or its sender is gone): how every long-running
/// loop learns that Vigil is stopping.
pub async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopping| *stopping).await;
}

/// The machine's host name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: two cloned machines (one host name, one port) were one node, and
    /// took each other's leases.
    #[test]
    fn ids_are_stable_per_machine_and_differ_between_machines() {
        assert_eq!(NodeId::new(None, 8080), NodeId::new(None, 8080), "a restarted process is the same node");
        assert_ne!(NodeId::new(None, 8080), NodeId::new(None, 8081));
        assert_ne!(suffix("boot-a|net:[1]"), suffix("boot-b|net:[1]"), "a cloned machine boots with another id");
        assert_ne!(suffix("boot-a|net:[1]"), suffix("boot-a|net:[2]"), "another container has another namespace");
        assert_eq!(NodeId::new(Some("eu-1"), 8080).as_str(), "eu-1");
        let id = NodeId::new(None, 8080).to_string();
        assert!(id.starts_with(&format!("{}:8080~", hostname())) && id.len() == hostname().len() + 14, "{id}");
    }
}

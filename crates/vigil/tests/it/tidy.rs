//! The house rules, checked: every source file opens with a `//!` header saying what
//! it is; only `http/` serves HTTP with axum (besides the fake targets of the demo and
//! the benchmarks); the domain never reaches for the HTTP layer's `AppState`; only the
//! wiring commands start Vigil through `run.rs`; pure crates do no IO of their own.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            out.push(path);
        }
    }
}

fn files(under: &str) -> Vec<(String, String)> {
    let mut paths = Vec::new();
    rust_files(&root().join(under), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("read");
            let shown = path.strip_prefix(root()).map(|relative| relative.display().to_string()).unwrap_or_default();
            (shown.trim_start_matches("./").to_owned(), text)
        })
        .collect()
}

#[test]
fn every_file_says_what_it_is() {
    let mut missing = Vec::new();
    for crate_dir in std::fs::read_dir(root().join("crates")).expect("crates").flatten() {
        let name = crate_dir.file_name().to_string_lossy().into_owned();
        for sub in ["src", "tests", "benches"] {
            for (path, text) in files(&format!("crates/{name}/{sub}")) {
                if !text.trim_start().starts_with("//!") {
                    missing.push(path);
                }
            }
        }
    }
    assert!(missing.is_empty(), "files without a //! header: {missing:#?}");
}

#[test]
fn the_layers_hold() {
    let mut broken = Vec::new();
    // Fake targets Vigil watches in the demo and the benchmarks serve HTTP themselves.
    let axum_allowed = ["crates/vigil/src/http/", "crates/vigil/src/demo/", "crates/vigil/src/commands/bench"];
    for (path, text) in files("crates/vigil/src") {
        let code: String = text.lines().filter(|line| !line.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
        if code.contains("axum::") && !axum_allowed.iter().any(|allowed| path.contains(allowed)) {
            broken.push(format!("{path}: imports axum outside http/"));
        }
        // The wiring (run.rs and the commands, `vigil bench ui` among them) may build it.
        if code.contains("AppState")
            && !path.contains("crates/vigil/src/http/")
            && !path.ends_with("run.rs")
            && !path.contains("/commands/")
        {
            broken.push(format!("{path}: uses http::AppState"));
        }
        let wiring = path.ends_with("main.rs") || path.ends_with("lib.rs") || path.contains("/commands/") || path.contains("/demo/");
        if (code.contains("crate::run::") || code.contains("crate::run;")) && !wiring {
            broken.push(format!("{path}: imports run.rs (only the wiring commands start Vigil)"));
        }
    }
    // Pure crates: no sockets, files, processes or clocks of their own.
    for pure in ["crates/vigil-core/src", "crates/vigil-alerts/src", "crates/vigil-logql/src", "crates/vigil-terraform/src"] {
        for (path, text) in files(pure) {
            let code: String = text.lines().filter(|line| !line.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
            for io in ["tokio::", "std::net::TcpStream", "std::fs::", "std::process::", "SystemTime::now", "Instant::now"] {
                if code.contains(io) && !path.ends_with("clock.rs") {
                    broken.push(format!("{path}: {io} in a pure crate"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "{broken:#?}");
}

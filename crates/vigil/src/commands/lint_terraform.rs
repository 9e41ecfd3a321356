//! `vigil lint terraform DIR`: reads the directory's `.tf` files and prints what
//! `vigil_terraform::lint` finds, as text or JSON.

use std::path::Path;
use std::process::ExitCode;

use vigil_terraform::Severity;

use super::USAGE_ERROR;

/// Largest `.tf` file read; a module's files are far smaller.
const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

fn read(dir: &Path) -> Result<Vec<(String, String)>, String> {
    let entries = std::fs::read_dir(dir).map_err(|error| format!("cannot read {}: {error}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|extension| extension != "tf") || !path.is_file() {
            continue;
        }
        if entry.metadata().map_or(0, |metadata| metadata.len()) > MAX_FILE_BYTES {
            return Err(format!("{}: larger than {} MiB", path.display(), MAX_FILE_BYTES / 1024 / 1024));
        }
        let text = std::fs::read_to_string(&path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        files.push((path.display().to_string(), text));
    }
    if files.is_empty() {
        return Err(format!("no .tf files in {}", dir.display()));
    }
    files.sort();
    Ok(files)
}

pub fn execute(dir: &Path, json: bool) -> ExitCode {
    let files = match read(dir) {
        Ok(files) => files,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    let findings = vigil_terraform::lint(&files);
    if json {
        println!("{}", serde_json::to_string_pretty(&findings).unwrap_or_default());
    } else {
        for finding in &findings {
            let severity = match finding.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "note",
            };
            let at = &finding.location;
            println!("{}:{}:{}: {severity}: {} [{}]", at.file, at.line, at.column, finding.what, finding.code);
            println!("  why: {}", finding.why);
            println!("  fix: {}", finding.fix);
        }
        let serious = findings.iter().filter(|finding| finding.severity != Severity::Info).count();
        println!("{} files, {} findings ({serious} errors or warnings)", files.len(), findings.len());
    }
    if findings.iter().any(|finding| finding.severity != Severity::Info) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

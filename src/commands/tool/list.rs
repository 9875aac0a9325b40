//! `tool list`: the installed tools, as lines or as the JSON `tool install-all` reads.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use crate::output;
use crate::tool::{self as tools, Receipt};

/// One installed tool as `tool list --json` shows it: everything `tool install-all` needs to
/// install the same set on another machine.
fn row(
    id: &str,
    dir: &Path,
    receipt: Option<&Receipt>,
    reason: Option<&String>,
) -> serde_json::Value {
    serde_json::json!({
        "name": id,
        "package": receipt.map(|r| r.name.clone()),
        "version": receipt.and_then(Receipt::version),
        "requirement": receipt.map(|r| r.requirement.clone()),
        "with": receipt.map(|r| r.with.clone()).unwrap_or_default(),
        "executables_from": receipt.map(|r| r.executables_from.clone()).unwrap_or_default(),
        "suffix": receipt.map(|r| r.suffix.clone()).unwrap_or_default(),
        "pre": receipt.is_some_and(|r| r.pre),
        "python_request": receipt.and_then(|r| r.python_request.clone()),
        "constraints": receipt.map(|r| r.constraints.clone()).unwrap_or_default(),
        "overrides": receipt.map(|r| r.overrides.clone()).unwrap_or_default(),
        "locked": receipt.map(|r| r.locked.clone()).unwrap_or_default(),
        "commands": receipt.map(Receipt::exposed).unwrap_or_default(),
        "python": receipt.map(|r| r.python.clone()),
        "python_version": receipt.map(|r| r.python_version.clone()),
        "status": if reason.is_some() { "broken" } else { "ok" },
        "reason": reason,
        "path": dir,
    })
}

pub(super) fn list(json: bool) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let mut rows = Vec::new();
    for (name, receipt) in tools::installed() {
        let dir = tools::tool_dir().join(&name);
        let (receipt, reason) = match receipt {
            Ok(r) => {
                let reason = tools::broken_reason(&dir);
                (Some(r), reason)
            }
            Err(e) => (None, Some(format!("its receipt cannot be read: {e:#}"))),
        };
        rows.push((name, dir, receipt, reason));
    }
    if json {
        let value: Vec<serde_json::Value> = rows
            .iter()
            .map(|(name, dir, receipt, reason)| row(name, dir, receipt.as_ref(), reason.as_ref()))
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        output::info("No tools installed");
    }
    for (name, _, receipt, reason) in &rows {
        let version = receipt
            .as_ref()
            .and_then(Receipt::version)
            .unwrap_or_else(|| "?".into());
        let commands = receipt
            .as_ref()
            .map(|r| r.exposed().join(", "))
            .unwrap_or_default();
        match reason {
            None => writeln!(out, "{name} {version}: {commands}")?,
            Some(why) => writeln!(
                out,
                "{name} {version}: {commands}  [broken: {why}; repair with `envtool tool upgrade {name}`]"
            )?,
        }
    }
    Ok(ExitCode::SUCCESS)
}

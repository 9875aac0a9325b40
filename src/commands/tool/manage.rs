//! `tool uninstall` and `tool upgrade`: changing what is installed.

use std::process::ExitCode;

use crate::error::user;
use crate::output;
use crate::pipeline::tool::ToolSpec;
use crate::pipeline::Session;
use crate::tool::shim::{self, Owner};
use crate::tool::{self as tools, Receipt};

use super::{build_and_expose, expose, interpreter_for, quietly, read_receipt};

/// The shims in the bin dir that belong to tool `id` (found by their owner line).
fn shims_of(id: &str) -> Vec<String> {
    let owner = Owner::Tool(id.to_string());
    let Ok(rd) = std::fs::read_dir(tools::bin_dir()) else {
        return Vec::new();
    };
    let mut out: Vec<String> = rd
        .flatten()
        .filter(|e| shim::owner_of(&e.path()).as_ref() == Some(&owner))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

pub(super) fn uninstall(ids: &[String]) -> anyhow::Result<ExitCode> {
    let bin = tools::bin_dir();
    // Check them all first: one unknown name changes nothing.
    let mut targets = Vec::new();
    for id in ids {
        let dir = tools::env_dir(id)?;
        let key = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !dir.exists() && shims_of(&key).is_empty() {
            return Err(user(
                format!("tool {id} is not installed"),
                "see the installed tools with `envtool tool list`",
            ));
        }
        targets.push((key, dir));
    }
    for (id, dir) in targets {
        let owner = Owner::Tool(id.clone());
        let mut commands: Vec<String> =
            Receipt::read(&dir).map(|r| r.exposed()).unwrap_or_default();
        commands.extend(shims_of(&id));
        for command in &commands {
            shim::remove_if_owned(&bin, command, &owner);
        }
        if !dir.exists() {
            output::info(&format!(
                "Removed the commands of tool {id} (its environment was already gone)"
            ));
            continue;
        }
        let trash = tempfile::Builder::new()
            .prefix(".removing-")
            .tempdir_in(tools::tool_dir())?;
        fs_err::rename(&dir, trash.path().join("env"))?;
        drop(trash);
        output::info(&format!("Uninstalled tool {id}"));
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn upgrade(
    ids: &[String],
    all: bool,
    reinstall: bool,
    python: Option<&str>,
    session: &Session,
) -> anyhow::Result<ExitCode> {
    let _guard = session.cache.use_shared()?;
    let targets: Vec<String> = if all {
        tools::installed().into_iter().map(|(n, _)| n).collect()
    } else {
        ids.to_vec()
    };
    for id in &targets {
        let old = read_receipt(id)?;
        let dir = tools::env_dir(id)?;
        let mut spec = ToolSpec::from_receipt(&old);
        let interpreter = interpreter_for(&old, python, &mut spec, &session.cache)?;
        let was_broken = tools::broken_reason(&dir).is_some();
        let same_python = interpreter.executable == old.python;
        // Nothing would change: leave the environment as it is (its shims are refreshed).
        if !was_broken && !reinstall && same_python && spec.python_request == old.python_request {
            let current = quietly(|| session.tool_is_current(&spec, &interpreter, &old))?;
            if current {
                expose(&old, Some(&old), &dir)?;
                output::info(&format!(
                    "{} is up to date ({})",
                    old.id(),
                    old.version().unwrap_or_default()
                ));
                continue;
            }
        }
        let receipt =
            quietly(|| build_and_expose(session, &spec, &interpreter, Some(&old), false))?;
        let (from, to) = (
            old.version().unwrap_or_default(),
            receipt.version().unwrap_or_default(),
        );
        let line = if was_broken {
            format!("Repaired {} ({to})", receipt.id())
        } else if from != to {
            format!("Upgraded {}: {from} -> {to}", receipt.id())
        } else if receipt.locked != old.locked {
            format!("Upgraded the dependencies of {} ({to})", receipt.id())
        } else {
            format!("Reinstalled {} ({to})", receipt.id())
        };
        output::info(&line);
    }
    Ok(ExitCode::SUCCESS)
}

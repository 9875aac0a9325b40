//! `envtool create`: find the interpreter, then write the environment.

use std::process::ExitCode;
use std::time::Instant;

use crate::cache::Cache;
use crate::cli::CreateArgs;
use crate::settings::Settings;
use crate::venv::{self, CreateSpec};
use crate::{output, python};

pub fn create(args: CreateArgs, settings: &Settings, cache: &Cache) -> anyhow::Result<ExitCode> {
    crate::interrupt::install_handlers();
    let start = Instant::now();
    let dir = std::path::absolute(&args.dir)?;
    // Refuse early, before looking for an interpreter.
    super::check_binary_flags(&args.install.only_binary, &args.install.no_binary)?;
    venv::inspect_target(&dir, args.clear)?;
    let interpreter = python::find(args.python.as_deref(), cache)?;
    let command = creation_command(&args, &dir, &interpreter.executable);
    // A dry run makes the environment in a scratch directory, plans the install there and
    // throws it away: DIR is not created.
    let dry_run = args.install.dry_run;
    let scratch = if dry_run {
        Some(
            tempfile::Builder::new()
                .prefix("envtool-dry-run-")
                .tempdir()?,
        )
    } else {
        None
    };
    let made_at = match &scratch {
        Some(s) => s.path().join("venv"),
        None => dir.clone(),
    };
    let spec = CreateSpec {
        dir: made_at.clone(),
        interpreter: &interpreter,
        prompt: args.prompt.clone(),
        system_site_packages: args.system_site_packages,
        clear: args.clear,
        command,
    };
    let mut extra = Vec::new();
    if args.seed {
        extra.push("pip".to_string());
    }
    let mut reqs = args.reqs.clone();
    if let Some(lock) = &args.lock {
        reqs.requirement.push(lock.clone());
    }
    let wants_packages = !reqs.reqs.is_empty()
        || !reqs.requirement.is_empty()
        || !reqs.editable.is_empty()
        || !extra.is_empty();
    let _guard = if wants_packages {
        Some(cache.use_shared()?)
    } else {
        None
    };
    venv::create(&spec, |staging| {
        if !wants_packages {
            return Ok(());
        }
        let target = crate::pipeline::Target {
            root: staging.to_path_buf(),
            python: made_at.join("bin").join("python"),
            facts: &interpreter.facts,
        };
        let mut sources = reqs.sources(args.install.require_hashes);
        sources.reqs.extend(extra.iter().cloned());
        crate::pipeline::Session::new(settings, cache).install(
            &target,
            &sources,
            &args.install.options(),
        )?;
        Ok(())
    })?;
    if dry_run {
        drop(scratch);
        output::info(&format!(
            "Would create {} with Python {} ({}); nothing was created",
            args.dir.display(),
            interpreter.facts.version_string(),
            interpreter.executable.display(),
        ));
        return Ok(ExitCode::SUCCESS);
    }
    output::info(&format!(
        "Created {} with Python {} ({}) in {}ms",
        args.dir.display(),
        interpreter.facts.version_string(),
        interpreter.executable.display(),
        start.elapsed().as_millis()
    ));
    output::info(&format!(
        "Activate with: source {}",
        crate::shell::quote_sh(&dir.join("bin").join("activate").to_string_lossy())
    ));
    Ok(ExitCode::SUCCESS)
}

/// The command recorded in pyvenv.cfg: enough to create the same environment again.
fn creation_command(args: &CreateArgs, dir: &std::path::Path, python: &std::path::Path) -> String {
    let exe = std::env::current_exe()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "envtool".into());
    let mut parts = vec![
        exe,
        "create".into(),
        "--python".into(),
        python.to_string_lossy().into_owned(),
    ];
    if let Some(prompt) = &args.prompt {
        parts.push("--prompt".into());
        parts.push(prompt.clone());
    }
    if args.system_site_packages {
        parts.push("--system-site-packages".into());
    }
    parts.push(dir.to_string_lossy().into_owned());
    parts
        .iter()
        .map(|p| crate::shell::quote_if_needed(p))
        .collect::<Vec<_>>()
        .join(" ")
}

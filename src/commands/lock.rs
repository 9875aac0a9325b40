//! `envtool lock`: resolve for an interpreter without installing, and write the result.

use std::process::ExitCode;

use crate::cache::Cache;
use crate::cli::LockArgs;
use crate::lockfile::pylock::{self, OutLock, OutPackage};
use crate::lockfile::requirements::{self, Pin};
use crate::python::target;
use crate::settings::Settings;

pub fn lock(args: LockArgs, settings: &Settings, cache: &Cache) -> anyhow::Result<ExitCode> {
    crate::interrupt::install_handlers();
    let _guard = cache.use_shared()?;
    super::check_binary_flags(&args.only_binary, &args.no_binary)?;
    let version = args
        .python_version
        .as_deref()
        .map(target::parse_version)
        .transpose()
        .map_err(|e| {
            crate::error::usage(
                e,
                "give --python-version as X.Y or X.Y.Z, e.g. --python-version 3.12",
            )
        })?;
    let platform = args
        .python_platform
        .as_deref()
        .map(target::parse_platform)
        .transpose()
        .map_err(|e| {
            crate::error::usage(
                e,
                format!("--python-platform takes one of: {}", target::PLATFORM_NAMES),
            )
        })?;
    let interpreter = crate::python::find(args.python.as_deref(), cache)?;
    let target_facts = target::facts_for(&interpreter.facts, version, platform.as_ref());
    let facts = &target_facts;
    let opts = crate::pipeline::InstallOptions {
        pre: args.pre,
        only_binary: args.only_binary.clone(),
        no_binary: args.no_binary.clone(),
        ..Default::default()
    };
    if args.reqs.reqs.is_empty()
        && args.reqs.requirement.is_empty()
        && args.reqs.editable.is_empty()
    {
        return Err(crate::error::user(
            "nothing to lock",
            "name requirements (`envtool lock flask -o pylock.toml`) or a file with -r",
        ));
    }
    let resolved = crate::pipeline::Session::new(settings, cache).resolve(
        facts,
        &args.reqs.sources(false),
        &opts,
        &[],
    )?;
    let dists = &resolved.resolution.dists;
    let output = std::path::absolute(&args.output)?;
    let lock_dir = output.parent().unwrap_or(std::path::Path::new("/"));
    let to_txt = args.output.extension().is_some_and(|e| e == "txt");
    let text = if to_txt {
        let pins: Vec<Pin> = dists.iter().map(Pin::from_resolved).collect();
        format!(
            "# Written by envtool lock for Python {} ({})\n{} (every package, pinned: \
             envtool installs it as written; with pip, add --no-deps)\n{}",
            facts.minor_string(),
            facts
                .markers
                .get("sys_platform")
                .map(String::as_str)
                .unwrap_or(""),
            crate::requirements::txt::COMPLETE_MARK,
            requirements::render(&pins, true)
        )
    } else {
        pylock::render(&OutLock {
            environments: Vec::new(),
            requires_python: Some(format!("=={}.*", facts.minor_string())),
            packages: dists
                .iter()
                .map(|d| OutPackage::from_resolved(d, lock_dir))
                .collect(),
        })
    };
    super::freeze::write_output(Some(&args.output), &text)?;
    crate::output::info(&format!(
        "Wrote {} ({} packages)",
        args.output.display(),
        dists.len()
    ));
    Ok(ExitCode::SUCCESS)
}

//! `envtool uninstall`: remove distributions by their RECORD, all or nothing.

use std::process::ExitCode;

use crate::cache::Cache;
use crate::cli::UninstallArgs;
use crate::dist::normalize_name;
use crate::error::user;
use crate::install::installed;
use crate::install::plan::Plan;
use crate::install::{apply_plan, ApplyOptions};
use crate::output;

pub fn uninstall(args: UninstallArgs, cache: &Cache) -> anyhow::Result<ExitCode> {
    crate::interrupt::install_handlers();
    let venv = crate::venv::select(args.env.as_deref())?;
    let _lock = crate::install::access::for_change(&venv.root, &super::invocation())?;
    let facts = crate::venv::facts_of(&venv, cache)?;
    let layout = crate::install::layout::Layout::new(&venv.root, &facts);
    let (dists, _) = installed::scan(&layout.purelib);
    let mut plan = Plan::default();
    let mut missing = Vec::new();
    for name in &args.names {
        let key = normalize_name(name);
        match dists.iter().find(|d| d.key == key) {
            Some(d) => plan.remove.push(d.clone()),
            None => missing.push(name.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(user(
            format!(
                "not installed in {}: {}",
                venv.root.display(),
                missing.join(", ")
            ),
            format!(
                "see what is installed with `envtool list {}`",
                venv.root.display()
            ),
        ));
    }
    if args.dry_run {
        crate::pipeline::print_plan(&plan, true);
        return Ok(ExitCode::SUCCESS);
    }
    let options = ApplyOptions {
        link_mode: crate::install::link::LinkMode::Hardlink,
        compile: false,
    };
    apply_plan(&plan, &[], &layout, &options)?;
    output::info(&format!(
        "Uninstalled {} package{}",
        plan.remove.len(),
        if plan.remove.len() == 1 { "" } else { "s" }
    ));
    for line in plan.lines() {
        output::info(&line);
    }
    Ok(ExitCode::SUCCESS)
}

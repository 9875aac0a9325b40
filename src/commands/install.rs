//! `envtool install`: resolve and install requirements into an existing environment.

use std::process::ExitCode;

use crate::cache::Cache;
use crate::cli::InstallArgs;
use crate::error::user;
use crate::pipeline::{Session, Target};
use crate::settings::Settings;

pub fn install(args: InstallArgs, settings: &Settings, cache: &Cache) -> anyhow::Result<ExitCode> {
    crate::interrupt::install_handlers();
    super::check_binary_flags(&args.install.only_binary, &args.install.no_binary)?;
    let venv = crate::venv::select(args.env.as_deref())?;
    let _guard = cache.use_shared()?;
    let _lock = crate::install::access::for_change(&venv.root, &super::invocation())?;
    let facts = crate::venv::facts_of(&venv, cache)?;
    let target = Target {
        python: venv.python(),
        root: venv.root.clone(),
        facts: &facts,
    };
    if args.reqs.reqs.is_empty()
        && args.reqs.requirement.is_empty()
        && args.reqs.editable.is_empty()
    {
        return Err(user(
            "nothing to install",
            "name requirements (`envtool install --env DIR six`) or a file with -r",
        ));
    }
    let sources = args.reqs.sources(args.install.require_hashes);
    Session::new(settings, cache).install(&target, &sources, &args.install.options())?;
    Ok(ExitCode::SUCCESS)
}

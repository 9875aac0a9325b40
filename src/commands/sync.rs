//! `envtool sync [DIR] LOCKFILE`: make the environment equal to the lock, through the same
//! plan/apply step as install (so a failure changes nothing).

use std::process::ExitCode;

use crate::cache::Cache;
use crate::cli::{InstallOpts, ReqArgs, SyncArgs};
use crate::install::installed;
use crate::install::plan::PlanOptions;
use crate::lockfile::pylock;
use crate::settings::Settings;

pub fn sync(args: SyncArgs, settings: &Settings, cache: &Cache) -> anyhow::Result<ExitCode> {
    crate::interrupt::install_handlers();
    let (dir, lock) = match args.paths.as_slice() {
        [lock] => (None, lock.clone()),
        [dir, lock] => (Some(dir.clone()), lock.clone()),
        _ => unreachable!("clap takes one or two paths"),
    };
    let venv = super::target::select_env(dir.as_deref())?;
    let _guard = cache.use_shared()?;
    let facts = super::target::env_facts(&venv, cache)?;
    crate::install::txn::recover(&venv.root)?;
    let target = super::install::Target {
        root: venv.root.clone(),
        python: venv.python(),
        facts: &facts,
    };
    let layout = target.layout();
    let (installed, _) = installed::scan(&layout.purelib);
    let opts = InstallOpts {
        link_mode: args.link_mode,
        compile: args.compile,
        dry_run: args.dry_run,
        ..Default::default()
    };
    let resolved = if pylock::is_pylock(&lock) {
        super::install::resolve_lock(&lock, &facts, settings, cache)?
    } else {
        let reqs = ReqArgs {
            requirement: vec![lock.clone()],
            ..Default::default()
        };
        super::install::resolve_request(&facts, &reqs, &opts, &[], &[], settings, cache)?
    };
    let plan_options = PlanOptions {
        reinstall: false,
        exact: true,
    };
    super::install::apply_resolution(&target, &resolved, &installed, plan_options, &opts, cache)?;
    Ok(ExitCode::SUCCESS)
}

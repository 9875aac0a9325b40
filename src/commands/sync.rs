//! `envtool sync [DIR] LOCKFILE`: make the environment equal to the lock, through the same
//! plan/apply step as install (so a failure changes nothing).

use std::process::ExitCode;

use crate::cache::Cache;
use crate::cli::SyncArgs;
use crate::install::installed;
use crate::install::plan::PlanOptions;
use crate::lockfile::pylock;
use crate::pipeline::{InstallOptions, Session, Target};
use crate::requirements::remembered::Remembered;
use crate::requirements::request::Sources;
use crate::settings::Settings;

pub fn sync(args: SyncArgs, settings: &Settings, cache: &Cache) -> anyhow::Result<ExitCode> {
    crate::interrupt::install_handlers();
    let (dir, lock) = match args.paths.as_slice() {
        [lock] => (None, lock.clone()),
        [dir, lock] => (Some(dir.clone()), lock.clone()),
        _ => unreachable!("clap takes one or two paths"),
    };
    let venv = crate::venv::select(dir.as_deref())?;
    let _guard = cache.use_shared()?;
    let _lock = crate::install::access::for_change(&venv.root, &super::invocation())?;
    let facts = crate::venv::facts_of(&venv, cache)?;
    let target = Target {
        root: venv.root.clone(),
        python: venv.python(),
        facts: &facts,
    };
    let layout = target.layout();
    let (installed, _) = installed::scan(&layout.purelib);
    let opts = InstallOptions {
        link_mode: args.link_mode,
        compile: args.compile,
        dry_run: args.dry_run,
        ..Default::default()
    };
    let session = Session::new(settings, cache);
    let resolved = if pylock::is_pylock(&lock) {
        session.resolve_lock(&lock, &facts)?
    } else {
        // A requirements file is a complete set here, as pip-sync and `uv pip sync` read one:
        // exactly what it lists, its dependencies not resolved again.
        let sources = Sources {
            requirement_files: vec![lock.clone()],
            ..Default::default()
        };
        let as_written = InstallOptions {
            no_deps: true,
            ..opts.clone()
        };
        session.resolve(&facts, &sources, &as_written, &[])?
    };
    // A lock resolved without the environment's remembered overrides would undo them.
    let state_dir = venv.root.join(crate::venv::STATE_DIR);
    if !args.forget_constraints {
        let remembered = Remembered::load(&state_dir)?;
        for d in &resolved.resolution.dists {
            if let Some(line) = remembered.contradicted_by(&d.key, &d.version) {
                return Err(crate::error::user(
                    format!(
                        "{} pins {} {}, but {} remembers `{line}` (from an earlier --constraint or --override)",
                        lock.display(),
                        d.name,
                        d.version,
                        venv.root.display()
                    ),
                    "lock again with that constraint or override, or pass --forget-constraints to drop it",
                ));
            }
        }
    }
    let plan_options = PlanOptions {
        reinstall: false,
        exact: true,
    };
    session.apply(&target, &resolved, &installed, plan_options, &opts)?;
    if args.forget_constraints && !args.dry_run {
        Remembered::default().save(&state_dir)?;
    }
    Ok(ExitCode::SUCCESS)
}

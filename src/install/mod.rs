//! Installing wheels into an environment: plan and apply, RECORD, scripts, link modes.

pub mod access;
pub mod apply;
pub mod commands;
pub mod core;
pub mod entry_points;
pub mod env;
pub mod installed;
pub mod launcher;
pub mod layout;
pub mod link;
pub mod plan;
pub mod txn;

use std::path::PathBuf;

use anyhow::Context;

use crate::dist::source::Provenance;
use crate::fetch::unpack::CachedWheel;
use core::DistExtras;
use env::EnvDestination;
use layout::Layout;
use link::{LinkMode, Linker};
use plan::Plan;
use txn::Txn;

/// How to apply a plan.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub link_mode: LinkMode,
    pub compile: bool,
}

/// A wheel ready to install, and the file it was installed from (a wheel, or the source
/// distribution it was built from) for the install record.
pub struct Fetched {
    pub wheel: CachedWheel,
    pub origin: Provenance,
}

/// Apply the plan to the environment at `layout`, all or nothing. Removals go first; the
/// wheels are then installed by a few threads at once (creating directories and links is most
/// of the work, and the kernel does it in parallel).
pub fn apply_plan(
    plan: &Plan,
    wheels: &[Fetched],
    layout: &Layout,
    options: &ApplyOptions,
) -> anyhow::Result<()> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Mutex;

    let _critical = crate::interrupt::Critical::enter();
    let txn = Txn::begin(&layout.root)?;
    let linker = Linker::new(options.link_mode);
    let result = (|| -> anyhow::Result<Vec<PathBuf>> {
        let mut emptied = Vec::new();
        for old in plan
            .remove
            .iter()
            .chain(plan.replace.iter().map(|(old, _)| old))
        {
            emptied.extend(apply::remove_dist(old, layout, &txn)?);
        }
        let new: Vec<&crate::resolve::ResolvedDist> = plan
            .install
            .iter()
            .chain(plan.replace.iter().map(|(_, new)| new))
            .collect();
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let results: Mutex<Vec<(usize, anyhow::Result<core::Installed>)>> = Mutex::new(Vec::new());
        let dest = EnvDestination {
            layout,
            txn: &txn,
            linker: &linker,
        };
        let threads = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 4)
            .min(new.len().max(1));
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let (Some(dist), Some(fetched)) = (new.get(i), wheels.get(i)) else {
                        break;
                    };
                    if failed.load(Ordering::SeqCst) {
                        break;
                    }
                    let extras = DistExtras {
                        requested: dist.requested,
                        direct_url: dist.direct_url(),
                        origin: Some(fetched.origin.clone()),
                    };
                    let result = core::install_wheel(&fetched.wheel, &dest, &extras)
                        .with_context(|| format!("cannot install {} {}", dist.name, dist.version));
                    if result.is_err() {
                        failed.store(true, Ordering::SeqCst);
                    }
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((i, result));
                });
            }
        });
        let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
        results.sort_by_key(|(i, _)| *i);
        let mut installed_dists = Vec::new();
        for (_, result) in results {
            installed_dists.push(result?);
        }
        if options.compile {
            apply::compile(&mut installed_dists, layout, &txn)?;
        }
        for dist in installed_dists {
            dist.write_record(&dest)?;
        }
        crate::interrupt::check()?;
        Ok(emptied)
    })();
    match result {
        Ok(emptied) => {
            txn.commit()?;
            apply::prune_empty_dirs(emptied, layout);
            Ok(())
        }
        Err(e) => {
            txn.rollback();
            Err(e)
        }
    }
}

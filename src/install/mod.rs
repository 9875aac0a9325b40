//! Installing wheels into an environment: plan and apply, RECORD, scripts, link modes.

pub mod apply;
pub mod entry_points;
pub mod fetch;
pub mod installed;
pub mod launcher;
pub mod layout;
pub mod link;
pub mod plan;
pub mod record;
pub mod txn;
pub mod unpack;

use std::path::PathBuf;

use anyhow::Context;

use crate::cache::Cache;
use crate::index::http::HttpClient;
use apply::DistExtras;
use installed::Origin;
use layout::Layout;
use link::{LinkMode, Linker};
use plan::Plan;
use txn::Txn;
use unpack::CachedWheel;

/// How to apply a plan.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub link_mode: LinkMode,
    pub compile: bool,
    pub jobs: usize,
    /// Hashes the user demands per normalized name (`--hash`).
    pub required_hashes: std::collections::HashMap<String, Vec<(String, String)>>,
    /// How to build source distributions in the plan.
    pub build: Option<crate::build::BuildContext>,
}

/// A wheel ready to install, and the file it was installed from (a wheel, or the source
/// distribution it was built from) for the install record.
pub struct Fetched {
    pub wheel: CachedWheel,
    pub origin: Origin,
}

/// Fetch (and build, for source distributions) every wheel the plan needs, in parallel, in
/// plan order: installs, then replacements.
pub fn fetch_plan(
    plan: &Plan,
    options: &ApplyOptions,
    http: &HttpClient,
    cache: &Cache,
) -> anyhow::Result<Vec<Fetched>> {
    let dists: Vec<&crate::resolve::ResolvedDist> = plan
        .install
        .iter()
        .chain(plan.replace.iter().map(|(_, new)| new))
        .collect();
    let mut artifacts = Vec::new();
    let mut origins = Vec::new();
    for d in &dists {
        let mut a = d.artifact.clone();
        if let Some(required) = options.required_hashes.get(&d.key) {
            a.required = required.clone();
        }
        let built = d
            .built_from
            .as_ref()
            .map(|b| (b.filename.clone(), b.sha256.clone(), b.size, b.url.clone()));
        if a.wheel.is_none() {
            // A source distribution: fetch it, build it (cached per interpreter), install the wheel.
            let build = options.build.as_ref().ok_or_else(|| {
                crate::error::user(
                    format!(
                        "{} must be built from source, and --only-binary forbids it",
                        a.filename
                    ),
                    "drop --only-binary, or pick a version that has a wheel",
                )
            })?;
            let (archive, sha, size) = fetch::fetch_sdist(&a, http, cache)?;
            let wheel_path = build.wheel_from_sdist(&archive, &sha, &a.filename)?;
            origins.push(Some((a.filename.clone(), sha, size, a.url.to_string())));
            let name = wheel_path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let url = url::Url::from_file_path(&wheel_path)
                .map_err(|_| anyhow::anyhow!("bad path {}", wheel_path.display()))?;
            artifacts.push(fetch::Artifact::for_wheel(
                crate::dist::WheelFilename::parse(&name)?,
                url,
                Vec::new(),
            ));
        } else {
            origins.push(built);
            artifacts.push(a);
        }
    }
    let bar = crate::output::progress(artifacts.len(), "Fetching");
    let results = fetch::fetch_all(&artifacts, http, cache, options.jobs, &|_| bar.inc(1));
    bar.finish_and_clear();
    let mut out = Vec::new();
    for ((result, origin), dist) in results.into_iter().zip(origins).zip(&dists) {
        let wheel = result?;
        let origin = match origin {
            Some((filename, sha256, size, url)) => Origin {
                filename,
                sha256,
                size,
                url,
                index: dist.index.as_ref().map(|u| u.to_string()),
                upload_time: dist.upload_time.clone(),
            },
            None => Origin {
                filename: wheel.info.filename.clone(),
                sha256: wheel.info.sha256.clone(),
                size: wheel.info.size,
                url: dist.artifact.url.to_string(),
                index: dist.index.as_ref().map(|u| u.to_string()),
                upload_time: dist.upload_time.clone(),
            },
        };
        out.push(Fetched { wheel, origin });
    }
    Ok(out)
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
        let results: Mutex<Vec<(usize, anyhow::Result<apply::Installed>)>> = Mutex::new(Vec::new());
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
                        direct_url: dist.direct_url.clone(),
                        origin: Some(fetched.origin.clone()),
                    };
                    let result =
                        apply::install_wheel(&fetched.wheel, layout, &extras, &txn, &linker)
                            .with_context(|| {
                                format!("cannot install {} {}", dist.name, dist.version)
                            });
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
            apply::compile(&installed_dists, layout, &txn)?;
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

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
}

/// Fetch every wheel the plan needs (in parallel), in plan order: installs, then replacements.
pub fn fetch_plan(plan: &Plan, options: &ApplyOptions, http: &HttpClient, cache: &Cache) -> anyhow::Result<Vec<CachedWheel>> {
    let artifacts: Vec<fetch::Artifact> = plan
        .install
        .iter()
        .chain(plan.replace.iter().map(|(_, new)| new))
        .map(|d| {
            let mut a = d.artifact.clone();
            if let Some(required) = options.required_hashes.get(&d.key) {
                a.required = required.clone();
            }
            a
        })
        .collect();
    let results = fetch::fetch_all(&artifacts, http, cache, options.jobs, &|_| {});
    results.into_iter().collect()
}

/// Apply the plan to the environment at `layout`, all or nothing.
pub fn apply_plan(plan: &Plan, wheels: &[CachedWheel], layout: &Layout, options: &ApplyOptions) -> anyhow::Result<()> {
    let _critical = crate::interrupt::Critical::enter();
    let mut txn = Txn::begin(&layout.root)?;
    let linker = Linker::new(options.link_mode);
    let result = (|| -> anyhow::Result<Vec<PathBuf>> {
        let mut emptied = Vec::new();
        for old in plan.remove.iter().chain(plan.replace.iter().map(|(old, _)| old)) {
            emptied.extend(apply::remove_dist(old, layout, &mut txn)?);
        }
        let mut py_files = Vec::new();
        let new = plan.install.iter().chain(plan.replace.iter().map(|(_, new)| new));
        for (dist, wheel) in new.zip(wheels) {
            let extras = DistExtras {
                requested: dist.requested,
                direct_url: dist.direct_url.clone(),
                origin: Some(Origin {
                    filename: wheel.info.filename.clone(),
                    sha256: wheel.info.sha256.clone(),
                    size: wheel.info.size,
                    url: dist.artifact.url.to_string(),
                    index: dist.index.as_ref().map(|u| u.to_string()),
                    upload_time: dist.upload_time.clone(),
                }),
            };
            let installed = apply::install_wheel(wheel, layout, &extras, &mut txn, &linker)
                .with_context(|| format!("cannot install {} {}", dist.name, dist.version))?;
            py_files.extend(installed.py_files);
        }
        if options.compile {
            apply::compile(&py_files, layout, &mut txn)?;
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

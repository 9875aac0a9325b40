//! `envtool lock`: resolve for an interpreter without installing, and write the result.

use std::process::ExitCode;

use crate::cache::Cache;
use crate::cli::LockArgs;
use crate::lockfile::pylock::{self, OutFile, OutLock, OutPackage};
use crate::lockfile::requirements::{self, Pin};
use crate::settings::Settings;

pub fn lock(args: LockArgs, settings: &Settings, cache: &Cache) -> anyhow::Result<ExitCode> {
    crate::interrupt::install_handlers();
    let _guard = cache.use_shared()?;
    let interpreter = crate::python::find(args.python.as_deref(), cache)?;
    let facts = &interpreter.facts;
    let opts = crate::pipeline::InstallOptions {
        pre: args.pre,
        ..Default::default()
    };
    if args.reqs.reqs.is_empty() && args.reqs.requirement.is_empty() {
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
    let to_txt = args.output.extension().is_some_and(|e| e == "txt");
    let text = if to_txt {
        let pins: Vec<Pin> = dists
            .iter()
            .map(|d| {
                let mut hashes: Vec<(String, String)> = d
                    .files
                    .iter()
                    .filter_map(|c| {
                        c.file
                            .hashes
                            .get("sha256")
                            .map(|h| ("sha256".to_string(), h.clone()))
                    })
                    .collect();
                if hashes.is_empty() {
                    hashes = d
                        .artifact
                        .hashes
                        .iter()
                        .filter(|(a, _)| a == "sha256")
                        .cloned()
                        .collect();
                }
                hashes.sort();
                hashes.dedup();
                Pin {
                    name: d.name.clone(),
                    version: d.version.to_string(),
                    direct: d
                        .direct_url
                        .as_ref()
                        .and_then(requirements::direct_reference),
                    hashes,
                }
            })
            .collect();
        format!(
            "# Written by envtool lock for Python {} ({})\n{}",
            facts.minor_string(),
            facts
                .markers
                .get("sys_platform")
                .map(String::as_str)
                .unwrap_or(""),
            requirements::render(&pins, true)
        )
    } else {
        pylock::render(&OutLock {
            environments: Vec::new(),
            requires_python: Some(format!("=={}.*", facts.minor_string())),
            packages: dists.iter().map(package_of).collect(),
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

/// A lock file entry for one file the index lists.
fn out_file(c: &crate::index::Candidate) -> OutFile {
    OutFile {
        name: c.file.filename.clone(),
        url: c.file.url.to_string(),
        size: c.file.size,
        upload_time: c
            .file
            .upload_time
            .as_deref()
            .map(crate::dist::canonical_time),
        hashes: c
            .file
            .hashes
            .iter()
            .map(|(a, h)| (a.clone(), h.clone()))
            .collect(),
    }
}

fn package_of(d: &crate::resolve::ResolvedDist) -> OutPackage {
    let chosen = OutFile {
        name: d.artifact.filename.clone(),
        url: d.artifact.url.to_string(),
        size: d.size,
        upload_time: d.upload_time.clone(),
        hashes: d.artifact.hashes.clone(),
    };
    let mut wheels: Vec<OutFile> = d
        .files
        .iter()
        .filter(|c| {
            matches!(c.dist, crate::dist::DistFilename::Wheel(_)) && !c.file.hashes.is_empty()
        })
        .map(out_file)
        .collect();
    if !wheels.iter().any(|w| w.name == chosen.name) {
        wheels.insert(0, chosen.clone());
    }
    wheels.sort_by(|a, b| a.name.cmp(&b.name));
    let direct = d.direct_url.is_some();
    let sdist = d
        .files
        .iter()
        .find(|c| {
            matches!(c.dist, crate::dist::DistFilename::Sdist(_)) && !c.file.hashes.is_empty()
        })
        .map(out_file);
    let wheels: Vec<OutFile> = if d.artifact.wheel.is_none() {
        wheels
            .into_iter()
            .filter(|w| w.name.ends_with(".whl"))
            .collect()
    } else {
        wheels
    };
    OutPackage {
        sdist: if direct { None } else { sdist },
        name: d.name.clone(),
        version: d.version.to_string(),
        index: if direct {
            None
        } else {
            d.index.as_ref().map(|u| u.to_string())
        },
        requires_python: d.requires_python.clone(),
        dependencies: d.dependencies.clone(),
        archive: direct.then_some(chosen),
        wheels: if direct { Vec::new() } else { wheels },
        requested: d.requested,
    }
}

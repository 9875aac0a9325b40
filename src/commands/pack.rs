//! `envtool pack`: an environment as one executable file; `pack --inspect`.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use crate::cache::Cache;
use crate::cli::PackArgs;
use crate::error::user;
use crate::fetch::unpack::header;
use crate::install::entry_points::{parse_entry_points, scripts};
use crate::install::installed;
use crate::install::layout::Layout;
use crate::lockfile::pylock;
use crate::pack::{self, Entry, PackSpec};
use crate::python::facts::Facts;
use crate::settings::Settings;

pub fn pack(args: PackArgs, settings: &Settings, cache: &Cache) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.inspect {
        let text = pack::inspect(path)?;
        std::io::stdout().lock().write_all(text.as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    crate::interrupt::install_handlers();
    let entry_text = args.entry.clone().unwrap_or_default();
    let output = args.output.clone().unwrap_or_default();
    if output.is_dir() {
        return Err(user(
            format!("{} is a directory", output.display()),
            "give -o the path of the file to write",
        ));
    }
    let _guard = cache.use_shared()?;
    let from_requirements =
        args.lock.is_some() || !args.reqs.reqs.is_empty() || !args.reqs.requirement.is_empty();
    // Keeps a staging directory alive while packing from a lock or requirements.
    let staging;
    // Keeps the environment read-locked while it is packed.
    let mut _env_lock = None;
    let (facts, site): (Facts, std::path::PathBuf) = if from_requirements {
        let interpreter = crate::python::find(args.python.as_deref(), cache)?;
        staging = cache.tempdir()?;
        let target = crate::pipeline::Target {
            root: staging.path().to_path_buf(),
            python: staging.path().join("bin").join("python"),
            facts: &interpreter.facts,
        };
        let mut reqs = args.reqs.clone();
        if let Some(lock) = &args.lock {
            reqs.requirement.push(lock.clone());
        }
        let quiet = crate::output::Quiet::enter();
        let result = crate::pipeline::Session::new(settings, cache).install(
            &target,
            &reqs.sources(false),
            &Default::default(),
        );
        drop(quiet);
        result?;
        let site = target.layout().purelib;
        (interpreter.facts.clone(), site)
    } else {
        let venv = crate::venv::select(args.env.as_deref())?;
        _env_lock = Some(crate::install::access::for_reading(
            &venv.root,
            &super::invocation(),
        )?);
        let facts = crate::venv::facts_of(&venv, cache)?;
        let site = Layout::new(&venv.root, &facts).purelib;
        (facts, site)
    };
    let (dists, broken) = installed::scan(&site);
    if let Some(b) = broken.first() {
        return Err(user(
            format!(
                "the source environment is damaged: {} ({})",
                b.dist_info.display(),
                b.reason
            ),
            "repair it (reinstall that package) before packing",
        ));
    }
    let entry = resolve_entry(&entry_text, &site, &dists)?;
    let mut tags = BTreeSet::new();
    for d in &dists {
        let Ok(text) = std::fs::read_to_string(d.dist_info.join("WHEEL")) else {
            continue;
        };
        let purelib =
            header(&text, "Root-Is-Purelib").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if !purelib {
            tags.extend(
                text.lines()
                    .filter_map(|l| l.strip_prefix("Tag:").map(|t| t.trim().to_string())),
            );
        }
    }
    let python_version = facts.minor_string();
    let markers = facts.marker_env().ok();
    let lock = pylock::render(&pylock::OutLock::from_installed(
        &dists,
        (facts.version.0, facts.version.1),
        markers.as_ref(),
        &site,
    ));
    let spec = PackSpec {
        site_packages: site.clone(),
        entry,
        python_version: python_version.clone(),
        implementation: facts.implementation.clone(),
        platform: (!tags.is_empty()).then(|| facts.platform.clone()),
        platform_tags: tags.into_iter().collect(),
        python_command: args
            .python_shebang
            .clone()
            .unwrap_or_else(|| format!("/usr/bin/env python{python_version}")),
        lock,
        compile: args.compile,
    };
    pack::write(&spec, &output)?;
    crate::output::info(&format!(
        "Packed {} distributions into {} ({} bytes)",
        dists.len(),
        output.display(),
        std::fs::metadata(&output).map(|m| m.len()).unwrap_or(0)
    ));
    Ok(ExitCode::SUCCESS)
}

/// `module`, `module:function`, or a console script of the environment.
fn resolve_entry(
    text: &str,
    site: &Path,
    dists: &[installed::InstalledDist],
) -> anyhow::Result<Entry> {
    let mut console = Vec::new();
    for d in dists {
        if let Ok(t) = std::fs::read_to_string(d.dist_info.join("entry_points.txt")) {
            if let Ok(eps) = parse_entry_points(&t) {
                console.extend(scripts(&eps).into_iter().cloned());
            }
        }
    }
    if let Some(ep) = console.iter().find(|e| e.name == text) {
        return Ok(match &ep.attr {
            Some(attr) => Entry::Function {
                module: ep.module.clone(),
                attr: attr.clone(),
            },
            None => Entry::Module(ep.module.clone()),
        });
    }
    let (module, attr) = match text.split_once(':') {
        Some((m, a)) => (m.trim().to_string(), Some(a.trim().to_string())),
        None => (text.trim().to_string(), None),
    };
    let top = module.split('.').next().unwrap_or_default();
    let exists = !top.is_empty()
        && (site.join(top).is_dir()
            || site.join(format!("{top}.py")).is_file()
            || has_extension_module(site, top));
    if exists && attr.as_deref().is_none_or(|a| !a.is_empty()) {
        return Ok(match attr {
            Some(attr) => Entry::Function { module, attr },
            None => Entry::Module(module),
        });
    }
    let mut known: Vec<String> = console.iter().map(|e| e.name.clone()).collect();
    if let Ok(rd) = std::fs::read_dir(site) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.contains('.') && !name.starts_with('_') && e.path().is_dir() {
                known.push(name);
            }
        }
    }
    known.sort();
    known.dedup();
    let close: Vec<&String> = known
        .iter()
        .filter(|k| {
            k.contains(top) || top.contains(k.as_str()) || k.starts_with(&top[..top.len().min(2)])
        })
        .take(5)
        .collect();
    let hint = if close.is_empty() {
        format!("use a module, module:function or console script from the environment (console scripts: {})", console.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join(", "))
    } else {
        format!(
            "did you mean {}?",
            close
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Err(user(
        format!("the entry {text:?} is neither a console script nor a module of the environment"),
        hint,
    ))
}

fn has_extension_module(site: &Path, top: &str) -> bool {
    std::fs::read_dir(site).is_ok_and(|rd| {
        rd.flatten().any(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with(&format!("{top}.")) && n.ends_with(".so")
        })
    })
}

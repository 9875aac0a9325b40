//! `envtool pack`: an environment as one executable file; `pack --inspect`.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::cache::Cache;
use crate::cli::PackArgs;
use crate::error::user;
use crate::fetch::unpack::header;
use crate::install::installed::{self, InstalledDist};
use crate::install::layout::Layout;
use crate::lockfile::pylock;
use crate::pack::{self, compat, entry, Abi, Entry, PackSpec, Target};
use crate::python::facts::Facts;
use crate::settings::Settings;

/// One environment to pack: its interpreter's facts and where its files are.
struct Source {
    facts: Facts,
    site: PathBuf,
    scripts: PathBuf,
}

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
    let from_requirements =
        !args.lock.is_empty() || !args.reqs.reqs.is_empty() || !args.reqs.requirement.is_empty();
    check_options(&args, from_requirements)?;
    let _guard = cache.use_shared()?;
    // Keeps the staging directories alive while packing from a lock or requirements.
    let mut staging = Vec::new();
    // Keeps the environment read-locked while it is packed.
    let mut _env_lock = None;
    let mut sources = Vec::new();
    if from_requirements {
        let requests: Vec<Option<&str>> = if args.python.is_empty() {
            vec![None]
        } else {
            args.python.iter().map(|p| Some(p.as_str())).collect()
        };
        for (i, request) in requests.into_iter().enumerate() {
            let interpreter = crate::python::find(request, cache)?;
            let dir = cache.tempdir()?;
            let target = crate::pipeline::Target {
                root: dir.path().to_path_buf(),
                python: dir.path().join("bin").join("python"),
                facts: &interpreter.facts,
            };
            let mut reqs = args.reqs.clone();
            // One lock for every Python, or the i-th lock for the i-th.
            if let Some(lock) = args.lock.get(if args.lock.len() == 1 { 0 } else { i }) {
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
            let layout = target.layout();
            sources.push(Source {
                facts: interpreter.facts.clone(),
                site: layout.purelib,
                scripts: layout.scripts,
            });
            staging.push(dir);
        }
    } else {
        let venv = crate::venv::select(args.env.as_deref())?;
        _env_lock = Some(crate::install::access::for_reading(
            &venv.root,
            &super::invocation(),
        )?);
        let facts = crate::venv::facts_of(&venv, cache)?;
        let layout = Layout::new(&venv.root, &facts);
        sources.push(Source {
            facts,
            site: layout.purelib,
            scripts: layout.scripts,
        });
    }

    // The first set's interpreter runs the bootstrap most: the pack carries its bytecode.
    let bytecode = sources
        .first()
        .and_then(|s| pack::bootstrap_bytecode(&s.facts.executable, cache));
    let mut targets = Vec::new();
    let mut entry: Option<Entry> = None;
    let mut dists_total = 0;
    let mut tk = false;
    for source in &sources {
        let (target, e, dists) = target_of(source, &entry_text)?;
        if targets.iter().any(|t: &Target| t.key == target.key) {
            return Err(user(
                format!(
                    "--python names {} twice ({})",
                    source.facts.versioned_name(),
                    target.key
                ),
                "give each Python version once",
            ));
        }
        if let Some(first) = &entry {
            if *first != e {
                return Err(user(
                    format!(
                        "the entry {entry_text:?} means different things for different Pythons ({first:?} and {e:?})"
                    ),
                    "name the entry as module:function so that it is the same in every wheel set",
                ));
            }
        }
        entry = Some(e);
        dists_total = dists_total.max(dists.len());
        if args.standalone {
            tk = pack::runtime::uses_tkinter(&source.site);
        }
        targets.push(target);
    }
    let entry = entry.ok_or_else(|| anyhow::anyhow!("nothing to pack"))?;
    let runtime = if args.standalone {
        let facts = &sources[0].facts;
        let built = pack::runtime::build(facts, tk, pack::epoch())?;
        // The carried interpreter runs exactly this set: no range, no search, and its
        // bytecode can be made now.
        let t = &mut targets[0];
        t.versions = (t.built_with.1, Some(t.built_with.1));
        t.bytecode =
            pack::runtime::compile_site(&facts.executable, &t.site_packages, &t.sources()?)?;
        Some(built)
    } else {
        None
    };
    let spec = PackSpec {
        targets,
        entry,
        python_command: args.python_shebang.clone(),
        compile: args.compile,
        runtime,
    };
    let written = pack::write(&spec, &output, bytecode)?;
    let pythons: Vec<String> = spec
        .targets
        .iter()
        .map(|t| format!("{} {}.{}", t.implementation, t.built_with.0, t.built_with.1))
        .collect();
    match &spec.runtime {
        None => crate::output::info(&format!(
            "Packed {dists_total} distributions for {} into {} ({} bytes)",
            pythons.join(", "),
            output.display(),
            written.size
        )),
        Some(rt) => crate::output::info(&format!(
            "Packed {dists_total} distributions and CPython {} into {} ({} MB: the plain pack would be {} MB; the interpreter is {} MB compressed, {} MB in {} files, taken from {} with {} MB)",
            rt.version,
            output.display(),
            pack::format_mb(written.size),
            pack::format_mb(written.size - written.runtime_size),
            pack::format_mb(written.runtime_size),
            pack::format_mb(rt.raw_size),
            rt.files,
            rt.source.display(),
            pack::format_mb(rt.source_size),
        )),
    }
    Ok(ExitCode::SUCCESS)
}

/// Combinations of options that cannot mean anything, refused before any work.
fn check_options(args: &PackArgs, from_requirements: bool) -> anyhow::Result<()> {
    if args.python.len() > 1 && !from_requirements {
        return Err(user(
            "several --python values need requirements or a lock to install for each: an environment (--env) has one Python",
            "pack from requirements (REQ..., -r FILE) or --lock FILE to carry a wheel set per Python",
        ));
    }
    if args.lock.len() > 1 && args.lock.len() != args.python.len().max(1) {
        return Err(user(
            format!(
                "{} locks for {} Pythons: give one lock for all, or one per --python",
                args.lock.len(),
                args.python.len().max(1)
            ),
            "pair each --lock with a --python, in the same order",
        ));
    }
    if args.standalone && args.python.len() > 1 {
        return Err(user(
            "a standalone pack carries one interpreter, and several --python values were given",
            "drop --standalone (the pack then picks the wheel set of the Python it finds), or build one standalone pack per Python",
        ));
    }
    if args.python_shebang.is_some() && (args.standalone || args.python.len() > 1) {
        return Err(user(
            "--python-shebang names one interpreter command, which a standalone pack or a pack for several Pythons does not use",
            "drop --python-shebang",
        ));
    }
    Ok(())
}

/// The wheel set of one environment, its entry, and its distributions.
fn target_of(
    source: &Source,
    entry_text: &str,
) -> anyhow::Result<(Target, Entry, Vec<InstalledDist>)> {
    let facts = &source.facts;
    let (dists, broken) = installed::scan(&source.site);
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
    let (entry, command) = entry::resolve(
        entry_text,
        &entry::Env {
            site: &source.site,
            scripts: &source.scripts,
            dists: &dists,
            interpreter: &facts.executable,
        },
    )?;
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
    // A native command (not a Python script) ties the set to the platform too.
    let native_command = matches!(entry, Entry::Command { python: false, .. });
    let native = !tags.is_empty() || native_command;
    let (major, minor) = (facts.version.0, facts.version.1);
    let markers = facts.marker_env().ok();
    let lock = pylock::render(&pylock::OutLock::from_installed(
        &dists,
        (major, minor),
        markers.as_ref(),
        &source.site,
    ));
    let versions = if native {
        (minor, Some(minor))
    } else {
        compat::python_range(&dists, minor, &facts.markers)
    };
    let abi = native.then(|| Abi {
        sys_platform: facts
            .markers
            .get("sys_platform")
            .cloned()
            .unwrap_or_default(),
        machine: facts
            .markers
            .get("platform_machine")
            .cloned()
            .unwrap_or_default(),
        gil_disabled: facts.gil_disabled,
        debug: facts.debug,
    });
    let target = Target {
        key: pack::target_key(
            &facts.implementation,
            (major, minor),
            native && facts.gil_disabled,
        ),
        site_packages: source.site.clone(),
        command,
        implementation: facts.implementation.clone(),
        built_with: (major, minor),
        versions,
        abi,
        platform: native.then(|| facts.platform.clone()),
        platform_tags: tags.into_iter().collect(),
        interpreter: facts.executable.clone(),
        lock,
        bytecode: Vec::new(),
    };
    Ok((target, entry, dists))
}

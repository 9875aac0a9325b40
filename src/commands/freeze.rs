//! `envtool freeze`: what `pip freeze` prints, read from `.dist-info` directories alone
//! (no Python is run), or a PEP 751 lock of the environment.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{FreezeArgs, FreezeFormat};
use crate::error::user;
use crate::install::installed;
use crate::install::installed::InstalledDist;
use crate::lockfile::pylock::{self, OutLock};
use crate::lockfile::requirements::{self, EditablePin, Pin};
use crate::venv::Venv;

/// The environment's site-packages and Python (major, minor), from its layout and pyvenv.cfg.
fn site_packages(venv: &Venv) -> anyhow::Result<(PathBuf, (u32, u32))> {
    let lib = venv.root.join("lib");
    let mut found = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&lib) {
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(v) = name.strip_prefix("python") {
                let v = v.trim_end_matches('t');
                let mut parts = v.split('.').filter_map(|p| p.parse::<u32>().ok());
                if let (Some(a), Some(b)) = (parts.next(), parts.next()) {
                    let sp = entry.path().join("site-packages");
                    if sp.is_dir() {
                        found.push((sp, (a, b)));
                    }
                }
            }
        }
    }
    found.sort();
    found.pop().ok_or_else(|| {
        user(
            format!("{} has no lib/pythonX.Y/site-packages", venv.root.display()),
            format!(
                "recreate it with `envtool create --clear {}`",
                venv.root.display()
            ),
        )
    })
}

/// pip's default exclusions: pip always; the build backends too before Python 3.12.
fn excluded(key: &str, python: (u32, u32)) -> bool {
    key == "pip" || (python < (3, 12) && matches!(key, "setuptools" | "distribute" | "wheel"))
}

/// Keep what pip's freeze keeps, plus, for output meant to rebuild the environment (a lock, or
/// requirements with hashes), every excluded distribution something kept depends on: an env
/// holding a tool that needs pip and setuptools must get them back.
fn keep(
    dists: Vec<installed::InstalledDist>,
    all: bool,
    as_lock: bool,
    python: (u32, u32),
    markers: Option<&pep508_rs::MarkerEnvironment>,
) -> Vec<installed::InstalledDist> {
    if all {
        return dists;
    }
    let mut kept: std::collections::BTreeSet<String> = dists
        .iter()
        .filter(|d| !excluded(&d.key, python))
        .map(|d| d.key.clone())
        .collect();
    if as_lock {
        let graph = installed::dependency_graph(&dists, markers);
        let mut todo: Vec<String> = kept.iter().cloned().collect();
        while let Some(key) = todo.pop() {
            for dep in graph.get(&key).into_iter().flatten() {
                if kept.insert(dep.clone()) {
                    todo.push(dep.clone());
                }
            }
        }
    }
    dists
        .into_iter()
        .filter(|d| kept.contains(&d.key))
        .collect()
}

pub fn freeze(args: FreezeArgs, cache: &crate::cache::Cache) -> anyhow::Result<ExitCode> {
    let venv = crate::venv::select(args.dir.as_deref()).map_err(|e| {
        if args.dir.is_none() {
            user(
                "no environment to freeze: VIRTUAL_ENV is not set and ./.venv does not exist",
                "name one (`envtool freeze DIR`) or activate it",
            )
        } else {
            e
        }
    })?;
    let _lock = crate::install::access::for_reading(&venv.root, &super::invocation())?;
    let (site, python) = site_packages(&venv)?;
    let (dists, broken) = installed::scan(&site);
    if !broken.is_empty() {
        let list: Vec<String> = broken
            .iter()
            .map(|b| format!("{} ({})", b.dist_info.display(), b.reason))
            .collect();
        if !args.ignore_broken {
            return Err(user(
                format!("damaged distribution{}: {}", if list.len() == 1 { "" } else { "s" }, list.join("; ")),
                "repair or remove it (reinstall the package), or pass --ignore-broken to freeze the rest",
            ));
        }
        for item in list {
            crate::output::warn(&format!("skipping damaged distribution {item}"));
        }
    }
    let as_lock = args.hashes || matches!(args.format, FreezeFormat::Pylock);
    // Which dependencies apply needs the interpreter's marker values (probed once, cached);
    // without them every environment marker counts as true.
    let markers = if as_lock {
        crate::venv::facts_of(&venv, cache)
            .and_then(|f| f.marker_env())
            .ok()
    } else {
        None
    };
    let mut dists = keep(dists, args.all, as_lock, python, markers.as_ref());
    // pip sorts by the name as spelled, lowercased.
    dists.sort_by(|a, b| {
        a.metadata
            .name
            .to_lowercase()
            .cmp(&b.metadata.name.to_lowercase())
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
    let text = match args.format {
        FreezeFormat::Requirements => {
            if args.hashes {
                if let Some(d) = dists
                    .iter()
                    .find(|d| d.origin.is_none() && d.direct_url.is_none())
                {
                    return Err(user(
                        format!(
                            "{} {} was not installed by envtool, so the hash of its file is unknown",
                            d.metadata.name,
                            d.version()
                        ),
                        "reinstall it with envtool (`envtool install --reinstall`), or freeze without --hashes",
                    ));
                }
            }
            let pins: Vec<Pin> = dists.iter().map(pin_of).collect();
            requirements::render(&pins, args.hashes)
        }
        FreezeFormat::Pylock => {
            let lock_dir = match &args.output {
                Some(out) => std::path::absolute(out)?
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default(),
                None => std::env::current_dir()?,
            };
            pylock::render(&OutLock::from_installed(
                &dists,
                python,
                markers.as_ref(),
                &lock_dir,
            ))
        }
    };
    write_output(args.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

/// pip's pin for an installed distribution, editables included: `-e` with the project's
/// repository and commit when git knows it, else its path under pip's comment.
fn pin_of(d: &InstalledDist) -> Pin {
    let mut pin = Pin::from_installed(d);
    let Some(direct) = d.direct_url.as_ref().filter(|u| u.is_editable()) else {
        return pin;
    };
    let Some(dir) = url::Url::parse(&direct.url)
        .ok()
        .and_then(|u| u.to_file_path().ok())
    else {
        return pin;
    };
    let display = format!("{}=={}", d.metadata.name, pin.version);
    let path = dir.display().to_string();
    use crate::fetch::vcs::Worktree;
    pin.editable = Some(match crate::fetch::vcs::describe_worktree(&dir) {
        Worktree::Untracked => EditablePin {
            comments: vec![format!("# Editable install with no version control ({display})")],
            requirement: path,
        },
        Worktree::NoRemote => EditablePin {
            comments: vec![format!("# Editable Git install with no remote ({display})")],
            requirement: path,
        },
        Worktree::BadRemote(remote) => EditablePin {
            comments: vec![
                format!("# Editable Git install ({display}) with either a deleted local remote or invalid URI:"),
                format!("# '{}'", crate::redact::url(&remote)),
            ],
            requirement: path,
        },
        Worktree::Tracked { url, commit, subdirectory } => {
            let egg = d.metadata.name.replace('-', "_");
            let mut requirement = format!("git+{url}@{commit}#egg={egg}");
            if let Some(sub) = subdirectory {
                requirement.push_str(&format!("&subdirectory={sub}"));
            }
            EditablePin { comments: Vec::new(), requirement }
        }
    });
    pin
}

/// Write to a file atomically, or to standard output.
pub fn write_output(path: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match path {
        Some(path) => {
            let path = std::path::absolute(path)?;
            crate::fsx::write_atomic(&path, text.as_bytes()).map_err(|e| {
                user(
                    format!("cannot write {}: {e:#}", path.display()),
                    "choose a writable output path",
                )
            })
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
            Ok(())
        }
    }
}

//! `envtool freeze`: what `pip freeze` prints, read from `.dist-info` directories alone
//! (no Python is run), or a PEP 751 lock of the environment.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{FreezeArgs, FreezeFormat};
use crate::error::user;
use crate::install::installed::{self, InstalledDist};
use crate::lockfile::pylock::{self, OutFile, OutLock, OutPackage};
use crate::lockfile::requirements::{self, Pin};
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

pub fn freeze(args: FreezeArgs) -> anyhow::Result<ExitCode> {
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
    let (site, python) = site_packages(&venv)?;
    let (mut dists, broken) = installed::scan(&site);
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
    dists.retain(|d| args.all || !excluded(&d.key, python));
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
        FreezeFormat::Pylock => pylock::render(&lock_of(&dists, python, &site)),
    };
    write_output(args.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

/// The version as pip prints it: PEP 440 normalized when it parses, else as written.
fn normalized_version(version: &str) -> String {
    version
        .parse::<pep440_rs::Version>()
        .map(|v| v.to_string())
        .unwrap_or_else(|_| version.to_string())
}

fn pin_of(d: &InstalledDist) -> Pin {
    let hashes = match (&d.origin, &d.direct_url) {
        (Some(o), _) => vec![("sha256".to_string(), o.sha256.clone())],
        (None, Some(direct)) => direct["archive_info"]["hashes"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(a, h)| Some((a.clone(), h.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    Pin {
        name: d.metadata.name.clone(),
        version: normalized_version(d.version()),
        direct: d
            .direct_url
            .as_ref()
            .and_then(requirements::direct_reference),
        hashes,
    }
}

/// A single-environment lock of installed distributions.
pub fn lock_of(dists: &[InstalledDist], python: (u32, u32), _site: &Path) -> OutLock {
    let keys: Vec<&str> = dists.iter().map(|d| d.key.as_str()).collect();
    let mut packages = Vec::new();
    for d in dists {
        let dependencies: Vec<String> = d
            .metadata
            .requires_dist
            .iter()
            .filter_map(|r| r.parse::<pep508_rs::Requirement>().ok())
            .map(|r| crate::dist::normalize_name(r.name.as_ref()))
            .filter(|n| keys.contains(&n.as_str()))
            .collect();
        let file = d.origin.as_ref().map(|o| OutFile {
            name: o.filename.clone(),
            url: o.url.clone(),
            size: Some(o.size),
            upload_time: o.upload_time.clone(),
            hashes: vec![("sha256".into(), o.sha256.clone())],
        });
        if file.is_none() {
            crate::output::warn(&format!(
                "{} {} was not installed by envtool: the lock cannot name its file",
                d.metadata.name,
                d.version()
            ));
        }
        let direct = d.direct_url.is_some();
        let from_sdist = file.as_ref().is_some_and(|f| !f.name.ends_with(".whl"));
        packages.push(OutPackage {
            name: d.metadata.name.clone(),
            version: d.version().to_string(),
            index: if direct {
                None
            } else {
                d.origin.as_ref().and_then(|o| o.index.clone())
            },
            requires_python: d.metadata.requires_python.clone(),
            dependencies,
            archive: if direct { file.clone() } else { None },
            sdist: if !direct && from_sdist {
                file.clone()
            } else {
                None
            },
            wheels: if direct || from_sdist {
                Vec::new()
            } else {
                file.into_iter().collect()
            },
            requested: d.requested,
        });
    }
    OutLock {
        environments: Vec::new(),
        requires_python: Some(format!("=={}.{}.*", python.0, python.1)),
        packages,
    }
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

//! `envtool freeze`: what `pip freeze` prints, read from `.dist-info` directories alone
//! (no Python is run), or a PEP 751 lock of the environment.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{FreezeArgs, FreezeFormat};
use crate::error::user;
use crate::install::installed;
use crate::lockfile::pylock::{self, OutLock};
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
    let _lock = crate::install::access::for_reading(&venv.root, &super::invocation())?;
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
            let pins: Vec<Pin> = dists.iter().map(Pin::from_installed).collect();
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
            pylock::render(&OutLock::from_installed(&dists, python, &lock_dir))
        }
    };
    write_output(args.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
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

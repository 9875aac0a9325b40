//! Applying a plan: installing wheels from the cache into an environment and removing
//! distributions, inside one transaction (see `txn`), as pip and pypa/installer do it.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::core::{Installed, Scheme};
use super::installed::InstalledDist;
use super::layout::Layout;
use super::txn::Txn;
use crate::dist::record::{parse_record, RecordEntry};
use crate::error::user;
use crate::fsx::{normalize, relative_to};

/// The files a distribution's RECORD lists, resolved against the directory holding its `.dist-info`.
pub fn recorded_files(dist: &InstalledDist) -> anyhow::Result<Vec<PathBuf>> {
    if dist.dist_info.extension().is_some_and(|e| e == "egg-info") {
        return egg_info_files(dist);
    }
    let record_path = dist.dist_info.join("RECORD");
    let text = std::fs::read_to_string(&record_path).map_err(|_| {
        user(
            format!(
                "{} {} has no RECORD ({}), so its files are unknown",
                dist.metadata.name,
                dist.version(),
                dist.dist_info.display()
            ),
            "it was not installed by a standards-following installer; remove its files by hand",
        )
    })?;
    let base = dist
        .dist_info
        .parent()
        .context("a .dist-info has a parent")?;
    let entries = parse_record(&text).with_context(|| format!("bad {}", record_path.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = normalize(&base.join(&entry.path));
        files.push(path.clone());
        if path.extension().is_some_and(|e| e == "py") {
            files.extend(pyc_files(&path));
        }
    }
    Ok(files)
}

/// A legacy `.egg-info`'s files, from its `installed-files.txt` (paths relative to it).
fn egg_info_files(dist: &InstalledDist) -> anyhow::Result<Vec<PathBuf>> {
    let list = dist.dist_info.join("installed-files.txt");
    let text = std::fs::read_to_string(&list).map_err(|_| {
        user(
            format!(
                "{} {} is a legacy .egg-info installation without installed-files.txt ({}), so its files are unknown",
                dist.metadata.name,
                dist.version(),
                dist.dist_info.display()
            ),
            "remove its files by hand",
        )
    })?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| normalize(&dist.dist_info.join(l.trim())))
        .collect())
}

/// `__pycache__/<stem>.*.pyc` next to a `.py` file.
fn pyc_files(py: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(stem)) = (py.parent(), py.file_stem()) else {
        return Vec::new();
    };
    let prefix = format!("{}.", stem.to_string_lossy());
    std::fs::read_dir(dir.join("__pycache__"))
        .map(|rd| {
            rd.flatten()
                .filter(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.starts_with(&prefix)
                        && n.ends_with(".pyc")
                        && n[prefix.len()..].matches('.').count() <= 2
                })
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// Remove a distribution's files (moved aside in the transaction) and return the directories
/// that may now be empty.
pub fn remove_dist(
    dist: &InstalledDist,
    layout: &Layout,
    txn: &Txn,
) -> anyhow::Result<Vec<PathBuf>> {
    let files = recorded_files(dist)?;
    let root = normalize(&layout.root);
    let mut dirs = Vec::new();
    // The .dist-info goes first: from the first moment, a reader finds the distribution
    // absent rather than present with files missing.
    let mut moves = vec![dist.dist_info.clone()];
    for file in files {
        // RECORD is not trusted to name the interpreter or envtool's state.
        if !file.starts_with(&root)
            || file.starts_with(&dist.dist_info)
            || super::env::reserved(layout, &file).is_some()
        {
            continue;
        }
        if std::fs::symlink_metadata(&file).is_ok_and(|m| !m.is_dir()) && !moves.contains(&file) {
            if let Some(parent) = file.parent() {
                dirs.push(parent.to_path_buf());
            }
            moves.push(file);
        }
    }
    txn.move_aside_all(&moves)?;
    Ok(dirs)
}

/// After a commit, remove directories left empty (never above the environment's lib or bin).
pub fn prune_empty_dirs(mut dirs: Vec<PathBuf>, layout: &Layout) {
    let stops = [
        normalize(&layout.purelib),
        normalize(&layout.platlib),
        normalize(&layout.scripts),
        normalize(&layout.root),
    ];
    dirs.sort();
    dirs.dedup();
    for dir in dirs.into_iter().rev() {
        let mut current = Some(dir.as_path());
        while let Some(d) = current {
            if stops.iter().any(|s| s == d) || !d.starts_with(&stops[3]) {
                break;
            }
            let pycache = d.join("__pycache__");
            if pycache.is_dir() && std::fs::read_dir(&pycache).is_ok_and(|mut r| r.next().is_none())
            {
                let _ = std::fs::remove_dir(&pycache);
            }
            if std::fs::remove_dir(d).is_err() {
                break;
            }
            current = d.parent();
        }
    }
}

/// Byte-compile with the target interpreter (the base binary: the environment may still be a
/// staging directory); the `.pyc` files join the transaction and each distribution's RECORD
/// rows (pip lists them without hash or size), before RECORD is written.
pub fn compile(installed: &mut [Installed], layout: &Layout, txn: &Txn) -> anyhow::Result<()> {
    let py_files: Vec<&PathBuf> = installed
        .iter()
        .flat_map(|i| i.py_files.iter().map(|(_, f)| f))
        .collect();
    if py_files.is_empty() {
        return Ok(());
    }
    const SCRIPT: &str = r#"
import sys, py_compile
for line in sys.stdin:
    path = line.rstrip("\n")
    try:
        out = py_compile.compile(path, doraise=True)
    except Exception:
        continue
    if out:
        print(path + "\t" + out, flush=True)
"#;
    let mut child = std::process::Command::new(&layout.interpreter)
        .args(["-E", "-s", "-c", SCRIPT])
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env_remove("SOURCE_DATE_EPOCH")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| {
            format!(
                "cannot run {} to byte-compile",
                layout.interpreter.display()
            )
        })?;
    let mut stdin = child.stdin.take().expect("piped");
    let input: String = py_files
        .iter()
        .map(|p| format!("{}\n", p.display()))
        .collect();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(input.as_bytes());
    });
    let output = child.wait_with_output()?;
    let _ = writer.join();
    if !output.status.success() {
        anyhow::bail!(
            "byte-compiling with {} failed: {}",
            layout.interpreter.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let mut compiled = std::collections::HashMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        if let Some((py, pyc)) = line.split_once('\t') {
            txn.record_existing(Path::new(pyc))?;
            compiled.insert(PathBuf::from(py), PathBuf::from(pyc));
        }
    }
    for dist in installed {
        let root_dir = match dist.root {
            Scheme::Platlib => &layout.platlib,
            _ => &layout.purelib,
        };
        let rows: Vec<RecordEntry> = dist
            .py_files
            .iter()
            .filter_map(|(_, py)| compiled.get(py))
            .map(|pyc| RecordEntry {
                path: relative_to(pyc, root_dir).to_string_lossy().into_owned(),
                hash: None,
                size: None,
            })
            .collect();
        dist.rows.extend(rows);
    }
    Ok(())
}

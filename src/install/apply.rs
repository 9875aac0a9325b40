//! Applying a plan: installing wheels from the cache into an environment and removing
//! distributions, inside one transaction (see `txn`), as pip and pypa/installer do it.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::entry_points::{parse_entry_points, scripts, validate_script};
use super::installed::{InstalledDist, ORIGIN_FILE};
use super::launcher::{launcher, rewrite_python_shebang};
use super::layout::Layout;
use super::link::Linker;
use super::txn::Txn;
use crate::dist::direct_url::DirectUrl;
use crate::dist::record::{parse_record, record_hash, write_record, RecordEntry};
use crate::dist::source::Provenance;
use crate::error::user;
use crate::fetch::unpack::{header, safe_relative, CachedWheel};
use crate::fsx::{normalize, relative_to};

/// What to record about one installation.
#[derive(Debug, Clone, Default)]
pub struct DistExtras {
    pub requested: bool,
    /// PEP 610 `direct_url.json`, only for direct references.
    pub direct_url: Option<DirectUrl>,
    pub origin: Option<Provenance>,
}

/// Files written for one distribution (for byte-compiling afterwards).
pub struct Installed {
    pub py_files: Vec<PathBuf>,
    /// The RECORD written, and the directory its paths are relative to.
    pub record: PathBuf,
    pub root_dir: PathBuf,
}

fn write_new(txn: &Txn, path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<RecordEntry> {
    txn.will_create(path)?;
    // Written beside and renamed into place: a file already there (perhaps a hard link into
    // the cache, placed by another distribution) is replaced, never written through.
    let parent = path.parent().context("an installed file has a parent")?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".envtool-")
        .tempfile_in(parent)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    tmp.persist(path).map_err(|e| {
        anyhow::Error::new(e.error).context(format!("cannot write {}", path.display()))
    })?;
    Ok(RecordEntry {
        path: String::new(),
        hash: Some(record_hash(bytes)),
        size: Some(bytes.len() as u64),
    })
}

/// Install one unpacked wheel into the environment.
pub fn install_wheel(
    wheel: &CachedWheel,
    layout: &Layout,
    extras: &DistExtras,
    txn: &Txn,
    linker: &Linker,
) -> anyhow::Result<Installed> {
    let dist_info = &wheel.info.dist_info;
    let wheel_text = fs_err::read_to_string(wheel.dir.join(dist_info).join("WHEEL"))?;
    let purelib =
        header(&wheel_text, "Root-Is-Purelib").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let root_dir = if purelib {
        &layout.purelib
    } else {
        &layout.platlib
    };
    let data_prefix = format!("{}.data/", dist_info.trim_end_matches(".dist-info"));
    let archive_record = parse_record(&fs_err::read_to_string(
        wheel.dir.join(dist_info).join("RECORD"),
    )?)
    .with_context(|| format!("bad RECORD in {}", wheel.info.filename))?;
    let skip: BTreeSet<String> = [
        "RECORD",
        "INSTALLER",
        "REQUESTED",
        "direct_url.json",
        ORIGIN_FILE,
    ]
    .iter()
    .map(|f| format!("{dist_info}/{f}"))
    .collect();

    let mut record = Vec::new();
    let mut py_files = Vec::new();
    for entry in &archive_record {
        if entry.path.ends_with('/') || skip.contains(&entry.path) {
            continue;
        }
        let rel = safe_relative(&entry.path).ok_or_else(|| escape_error(wheel, &entry.path))?;
        let (dest, is_script) = match entry.path.strip_prefix(&data_prefix) {
            Some(rest) => {
                let (key, sub) = rest
                    .split_once('/')
                    .ok_or_else(|| escape_error(wheel, &entry.path))?;
                let base = layout.scheme_dir(key, &wheel.info.name).ok_or_else(|| {
                    user(
                        format!(
                            "{} has an unknown .data directory {key:?}",
                            wheel.info.filename
                        ),
                        "the wheel is malformed; report it to its maintainers",
                    )
                })?;
                (
                    inside(&base, sub).ok_or_else(|| escape_error(wheel, &entry.path))?,
                    key == "scripts",
                )
            }
            None => (
                inside(root_dir, &entry.path).ok_or_else(|| escape_error(wheel, &entry.path))?,
                false,
            ),
        };
        let src = wheel.dir.join(&rel);
        let mut row = if is_script {
            install_script(&src, &dest, layout, txn, linker)?
        } else {
            place(txn, linker, &src, &dest)?;
            entry.clone()
        };
        if dest.extension().is_some_and(|e| e == "py") {
            py_files.push(dest.clone());
        }
        row.path = relative_to(&dest, root_dir).to_string_lossy().into_owned();
        record.push(row);
    }

    let dist_info_dir = root_dir.join(dist_info);
    let ep_path = wheel.dir.join(dist_info).join("entry_points.txt");
    if ep_path.exists() {
        let text = fs_err::read_to_string(&ep_path)?;
        let entries = parse_entry_points(&text)
            .with_context(|| format!("bad entry_points.txt in {}", wheel.info.filename))?;
        for ep in scripts(&entries) {
            validate_script(ep)
                .with_context(|| format!("bad entry point in {}", wheel.info.filename))?;
            let dest =
                inside(&layout.scripts, &ep.name).ok_or_else(|| escape_error(wheel, &ep.name))?;
            let mut row = write_new(txn, &dest, launcher(&layout.python, ep).as_bytes(), 0o755)?;
            row.path = relative_to(&dest, root_dir).to_string_lossy().into_owned();
            record.push(row);
        }
    }

    let mut add = |txn: &Txn, name: &str, bytes: &[u8]| -> anyhow::Result<()> {
        let path = dist_info_dir.join(name);
        let mut row = write_new(txn, &path, bytes, 0o644)?;
        row.path = relative_to(&path, root_dir).to_string_lossy().into_owned();
        record.push(row);
        Ok(())
    };
    add(txn, "INSTALLER", b"envtool\n")?;
    if extras.requested {
        add(txn, "REQUESTED", b"")?;
    }
    if let Some(direct) = &extras.direct_url {
        add(txn, "direct_url.json", direct.to_json().as_bytes())?;
    }
    if let Some(origin) = &extras.origin {
        add(
            txn,
            ORIGIN_FILE,
            serde_json::to_string_pretty(origin)?.as_bytes(),
        )?;
    }
    let record_path = dist_info_dir.join("RECORD");
    record.push(RecordEntry {
        path: relative_to(&record_path, root_dir)
            .to_string_lossy()
            .into_owned(),
        hash: None,
        size: None,
    });
    write_new(txn, &record_path, write_record(&record).as_bytes(), 0o644)?;
    Ok(Installed {
        py_files,
        record: record_path,
        root_dir: root_dir.clone(),
    })
}

/// Link (or copy) a cached file into the environment. When another distribution of the same
/// plan already put a file there (shared namespace files), the later one wins, as with pip.
fn place(txn: &Txn, linker: &Linker, src: &Path, dest: &Path) -> anyhow::Result<()> {
    txn.will_create(dest)?;
    let exists = |e: &anyhow::Error| {
        e.chain().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::AlreadyExists)
        })
    };
    let mut attempt = 0;
    loop {
        match linker.place(src, dest) {
            // Several threads may race for the same shared file; the last one wins.
            Err(e) if exists(&e) && attempt < 8 => {
                attempt += 1;
                match txn.clear_conflict(dest) {
                    Ok(()) => {}
                    Err(e)
                        if e.chain().any(|c| {
                            c.downcast_ref::<std::io::Error>()
                                .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound)
                        }) => {}
                    Err(e) => return Err(e),
                }
            }
            other => return other.with_context(|| format!("cannot install {}", dest.display())),
        }
    }
}

/// `sub` joined under `base`, or None if it would leave `base`.
fn inside(base: &Path, sub: &str) -> Option<PathBuf> {
    let rel = safe_relative(sub)?;
    let dest = normalize(&base.join(rel));
    dest.starts_with(normalize(base)).then_some(dest)
}

fn escape_error(wheel: &CachedWheel, entry: &str) -> anyhow::Error {
    user(
        format!(
            "{} contains an entry that would be written outside the environment: {entry:?}",
            wheel.info.filename
        ),
        "the wheel is malformed or malicious; nothing was installed",
    )
}

/// A file from `.data/scripts/`: `#!python` rewritten to the environment's interpreter, and
/// always executable. Rewritten scripts are new files, never edits through a cache link.
fn install_script(
    src: &Path,
    dest: &Path,
    layout: &Layout,
    txn: &Txn,
    linker: &Linker,
) -> anyhow::Result<RecordEntry> {
    let content = fs_err::read(src)?;
    if let Some(rewritten) = rewrite_python_shebang(&content, &layout.python) {
        return write_new(txn, dest, &rewritten, 0o755);
    }
    let executable = std::fs::metadata(src)?.permissions().mode() & 0o111 != 0;
    if executable {
        place(txn, linker, src, dest)?;
        Ok(RecordEntry {
            path: String::new(),
            hash: Some(record_hash(&content)),
            size: Some(content.len() as u64),
        })
    } else {
        write_new(txn, dest, &content, 0o755)
    }
}

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
    for file in files {
        if !file.starts_with(&root) || file.starts_with(&dist.dist_info) {
            continue;
        }
        if std::fs::symlink_metadata(&file).is_ok_and(|m| !m.is_dir()) {
            txn.move_aside(&file)?;
            if let Some(parent) = file.parent() {
                dirs.push(parent.to_path_buf());
            }
        }
    }
    txn.move_aside(&dist.dist_info)?;
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
/// staging directory); the `.pyc` files join the transaction and each distribution's RECORD.
pub fn compile(installed: &[Installed], layout: &Layout, txn: &Txn) -> anyhow::Result<()> {
    let py_files: Vec<&PathBuf> = installed.iter().flat_map(|i| i.py_files.iter()).collect();
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
    // pip lists byte-compiled files in RECORD without hash or size.
    for dist in installed {
        let rows: Vec<RecordEntry> = dist
            .py_files
            .iter()
            .filter_map(|py| compiled.get(py))
            .map(|pyc| RecordEntry {
                path: relative_to(pyc, &dist.root_dir)
                    .to_string_lossy()
                    .into_owned(),
                hash: None,
                size: None,
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        let mut entries = parse_record(&fs_err::read_to_string(&dist.record)?)?;
        let record_row = entries.pop();
        entries.extend(rows);
        entries.extend(record_row);
        fs_err::write(&dist.record, write_record(&entries))?;
    }
    Ok(())
}

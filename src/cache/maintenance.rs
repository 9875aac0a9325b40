//! `cache info`, `cache clean`, `cache prune`: sizes per bucket and removing what is not needed.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{Bucket, Cache};
use crate::error::user;

/// Size and entry count of one bucket.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BucketInfo {
    pub name: String,
    pub entries: u64,
    pub bytes: u64,
}

pub fn info(cache: &Cache) -> Vec<BucketInfo> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(cache.root()) else {
        return out;
    };
    let mut dirs: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let entries = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| {
                        let n = e.file_name();
                        let n = n.to_string_lossy();
                        !n.ends_with(".lock") && !n.starts_with('.')
                    })
                    .count() as u64
            })
            .unwrap_or(0);
        out.push(BucketInfo {
            name: dir
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            entries,
            bytes: disk_usage(&dir),
        });
    }
    out
}

/// Bytes used below `dir`, counting each hard-linked inode once.
pub fn disk_usage(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut seen = std::collections::HashSet::new();
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file() && (m.nlink() == 1 || seen.insert((m.dev(), m.ino()))))
        .map(|m| m.len())
        .sum()
}

/// Only a directory envtool marked as its cache (CACHEDIR.TAG with the standard signature) is
/// ever emptied: pointed at anything else, `clean` and `prune` change nothing.
pub fn check_marked(cache: &Cache) -> anyhow::Result<()> {
    let tag = std::fs::read_to_string(cache.root().join("CACHEDIR.TAG")).unwrap_or_default();
    let empty = std::fs::read_dir(cache.root()).is_ok_and(|mut rd| rd.next().is_none());
    if empty || tag.starts_with("Signature: 8a477f597d28d172789f06886806bc55") {
        return Ok(());
    }
    Err(user(
        format!(
            "{} is not an envtool cache (it has no CACHEDIR.TAG), so nothing in it was removed",
            cache.root().display()
        ),
        "check --cache-dir (or ENVTOOL_CACHE_DIR): it must name envtool's cache directory",
    ))
}

pub fn exclusive(cache: &Cache) -> anyhow::Result<super::CacheGuard> {
    cache.try_exclusive()?.ok_or_else(|| {
        user(
            format!(
                "the cache {} is in use by another envtool process",
                cache.root().display()
            ),
            "wait for it to finish and run the command again",
        )
    })
}

/// Remove everything in the cache; returns bytes freed.
pub fn clean(cache: &Cache) -> anyhow::Result<u64> {
    if !cache.root().exists() {
        return Ok(0);
    }
    check_marked(cache)?;
    let _guard = exclusive(cache)?;
    let pack_root = pack_root(cache);
    let mut freed = 0;
    for entry in fs_err::read_dir(cache.root())? {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".lock" || name == "CACHEDIR.TAG" {
            continue;
        }
        let path = entry.path();
        if path == pack_root {
            // The default pack root lives in the cache directory: every extraction goes but
            // those running packs hold and those being made.
            freed += prune_pack_root(&pack_root, Some(SystemTime::now()))?;
            continue;
        }
        freed += if path.is_dir() {
            disk_usage(&path)
        } else {
            entry.metadata().map(|m| m.len()).unwrap_or(0)
        };
        remove_any(&path)?;
    }
    Ok(freed)
}

/// Remove what no longer belongs: unknown or old bucket versions, leftovers of interrupted runs,
/// interpreter facts for binaries that are gone, and with `older_than` every entry not used since.
pub fn prune(cache: &Cache, older_than: Option<Duration>) -> anyhow::Result<u64> {
    let cutoff = older_than.map(|d| SystemTime::now() - d);
    // Pack extractions live apart from the cache (their own root) and have their own locks.
    if cache.root().exists() {
        check_marked(cache)?;
    }
    let pack_root = pack_root(cache);
    let packs = prune_pack_root(&pack_root, cutoff)?;
    if !cache.root().exists() {
        return Ok(packs);
    }
    let _guard = exclusive(cache)?;
    let known: Vec<&str> = Bucket::ALL.iter().map(|b| b.dir_name()).collect();
    let mut freed = 0;
    for entry in fs_err::read_dir(cache.root())? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name == ".lock" || name == "CACHEDIR.TAG" {
            continue;
        }
        if path == pack_root {
            continue; // the default pack root lives in the cache directory: pruned above
        }
        if !path.is_dir() || !known.contains(&name.as_str()) || name == Bucket::Tmp.dir_name() {
            freed += size_of(&path);
            remove_any(&path)?;
            continue;
        }
        freed += prune_bucket(&path, &name, cutoff)?;
    }
    Ok(freed + packs)
}

/// Where packed executables extract themselves: as their bootstrap computes it, else (no home
/// directory) inside the cache.
pub fn pack_root(cache: &Cache) -> PathBuf {
    crate::dirs::pack_root().unwrap_or_else(|| cache.root().join("pack-v1"))
}

/// How long a staging directory of a pack root whose lock is free is left alone: the time
/// between its creation and its lock being taken, or a hand-over of the lock through exec.
const STAGING_GRACE: Duration = Duration::from_secs(60);

/// Extractions of packed executables: leftovers of starts that ended before their extraction
/// was in place (`.extract-*`, and `.untrusted-*` set aside), and with a cutoff those whose
/// last use (the mtime of `.complete`) is older, unless a running pack holds their lock. A
/// leftover is removed only when its lock (`.lock`, held by the start making it) is free and
/// it is older than a minute. What cannot be removed is reported and left.
fn prune_pack_root(root: &Path, cutoff: Option<SystemTime>) -> anyhow::Result<u64> {
    let Ok(rd) = std::fs::read_dir(root) else {
        return Ok(0);
    };
    let mut freed = 0;
    for entry in rd.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let leftover = name.starts_with(".extract-") || name.starts_with(".untrusted-");
        // The locks held while removing it (none: there is no lock to take).
        let _locks: Vec<std::fs::File> = if leftover {
            match staging_lock(&path) {
                Some(lock) => lock.into_iter().collect(),
                None => continue, // in progress
            }
        } else {
            // The last use is the mtime of `.complete` (each start touches it), or of
            // `.pending` while the first start's background sync has not written `.complete`.
            let complete = path.join(".complete");
            let pending = path.join(".pending");
            let marker = if complete.exists() {
                &complete
            } else {
                &pending
            };
            let stale = cutoff.is_some_and(|c| {
                std::fs::metadata(marker)
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t < c)
            });
            if !stale {
                continue;
            }
            // A running pack holds a shared lock on `.complete`, or on `.pending` when it
            // started before `.complete` was written: never remove it under its feet.
            let mut locks = Vec::new();
            let mut in_use = false;
            for marker in [&complete, &pending] {
                if let Ok(file) = std::fs::File::open(marker) {
                    in_use |= file.try_lock().is_err();
                    locks.push(file);
                }
            }
            if in_use || locks.is_empty() {
                continue;
            }
            locks
        };
        let size = size_of(&path);
        match remove_any(&path) {
            Ok(()) => freed += size,
            // Gone meanwhile: an extraction renamed into place.
            Err(_) if std::fs::symlink_metadata(&path).is_err() => {}
            Err(e) => crate::output::warn(&format!("cannot remove {}: {e}", path.display())),
        }
    }
    Ok(freed)
}

/// Whether the staging directory `dir` of a pack root may be removed: its lock is free (and
/// is returned taken, so no start can take it meanwhile) and it is older than
/// [`STAGING_GRACE`]. None while a start is making it.
fn staging_lock(dir: &Path) -> Option<Option<std::fs::File>> {
    let lock_path = dir.join(".lock");
    let lock = match std::fs::File::open(&lock_path) {
        Ok(file) => match file.try_lock() {
            Ok(()) => Some(file),
            Err(_) => return None,
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(_) => return None,
    };
    let newest = [dir, lock_path.as_path()]
        .iter()
        .filter_map(|p| std::fs::symlink_metadata(p).and_then(|m| m.modified()).ok())
        .max()?;
    let old = SystemTime::now()
        .duration_since(newest)
        .is_ok_and(|age| age >= STAGING_GRACE);
    old.then_some(lock)
}

fn prune_bucket(dir: &Path, name: &str, cutoff: Option<SystemTime>) -> anyhow::Result<u64> {
    let mut freed = 0;
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let stale_temp = file_name.starts_with(".tmp-");
        let last_use = last_use(&path, name);
        let unused = cutoff.is_some_and(|c| last_use.is_some_and(|t| t < c));
        let gone = name == Bucket::Interpreters.dir_name() && interpreter_gone(&path);
        let orphan_lock =
            file_name.ends_with(".lock") && !dir.join(file_name.trim_end_matches(".lock")).exists();
        // A cached page's file index without its page.
        let orphan_index = name == Bucket::Http.dir_name()
            && file_name.ends_with(".files")
            && !path.with_extension("json").exists();
        if stale_temp || unused || gone || orphan_lock || orphan_index {
            freed += size_of(&path);
            remove_any(&path)?;
        }
    }
    Ok(freed)
}

/// An entry's last use: the stamp file of an unpacked wheel, else the entry's own mtime.
fn last_use(path: &Path, bucket: &str) -> Option<SystemTime> {
    let stamp = if bucket == Bucket::Wheels.dir_name() && path.is_dir() {
        path.join(".envtool-wheel.json")
    } else if bucket == Bucket::ToolEnvs.dir_name() && path.is_dir() {
        path.join(super::TOOL_ENV_STAMP)
    } else {
        path.to_path_buf()
    };
    std::fs::metadata(stamp).and_then(|m| m.modified()).ok()
}

fn interpreter_gone(entry: &Path) -> bool {
    #[derive(serde::Deserialize)]
    struct Entry {
        path: PathBuf,
    }
    let Ok(bytes) = std::fs::read(entry) else {
        return false;
    };
    match serde_json::from_slice::<Entry>(&bytes) {
        Ok(e) => !e.path.exists(),
        Err(_) => true,
    }
}

fn size_of(path: &Path) -> u64 {
    if path.is_dir() {
        disk_usage(path)
    } else {
        std::fs::symlink_metadata(path)
            .map(|m| m.len())
            .unwrap_or(0)
    }
}

pub fn remove_any(path: &Path) -> anyhow::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.is_dir() {
        make_writable(path);
        fs_err::remove_dir_all(path)?;
    } else {
        fs_err::remove_file(path)?;
    }
    Ok(())
}

/// Directories unpacked from archives may lack the write bit; removal needs it.
fn make_writable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for entry in walkdir::WalkDir::new(dir).into_iter().flatten() {
        if entry.file_type().is_dir() {
            if let Ok(meta) = entry.metadata() {
                let mode = meta.permissions().mode();
                if mode & 0o700 != 0o700 {
                    let _ = std::fs::set_permissions(
                        entry.path(),
                        std::fs::Permissions::from_mode(mode | 0o700),
                    );
                }
            }
        }
    }
}

//! Turning a wheel archive into a verified, unpacked tree in the cache (`wheels-v1/<sha256>/`).
//!
//! Every entry is checked before the tree becomes visible: a safe relative path, listed in
//! RECORD with a matching hash and size, exactly one `.dist-info` matching the file name, and a
//! `Wheel-Version` this installer understands. The tree is built in the cache's temporary
//! directory and renamed into place, so a reader sees a whole entry or none.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cache::{self, Bucket, Cache};
use crate::dist::record::{self, parse_record};
use crate::dist::{normalize_name, WheelFilename};

/// The description kept in each unpacked wheel; its mtime is the entry's last use.
pub const INFO_FILE: &str = ".envtool-wheel.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WheelInfo {
    pub filename: String,
    /// Hex sha256 of the archive.
    pub sha256: String,
    pub size: u64,
    pub name: String,
    pub version: String,
    /// `{name}-{version}.dist-info`, as in the archive.
    pub dist_info: String,
    /// sha256 of the entry's RECORD as unpacked (the entry's files are checked against it).
    #[serde(default)]
    pub record_sha256: String,
}

/// A wheel unpacked in the cache.
#[derive(Debug, Clone)]
pub struct CachedWheel {
    pub dir: PathBuf,
    pub info: WheelInfo,
}

impl CachedWheel {
    pub fn metadata_text(&self) -> anyhow::Result<String> {
        Ok(fs_err::read_to_string(
            self.dir.join(&self.info.dist_info).join("METADATA"),
        )?)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WheelError {
    #[error("{filename} is not a valid wheel: {reason}")]
    Corrupt { filename: String, reason: String },
    #[error(
        "{filename} contains an entry that would be written outside the environment: {entry:?}"
    )]
    UnsafePath { filename: String, entry: String },
    #[error("{filename}: {entry} does not match its RECORD hash")]
    HashMismatch { filename: String, entry: String },
    #[error("{filename}: {entry} is not listed in RECORD")]
    Unlisted { filename: String, entry: String },
    #[error("{filename} needs a newer installer (Wheel-Version {version})")]
    TooNew { filename: String, version: String },
    #[error("{filename} would expand to {declared} bytes, more than envtool unpacks (limit {limit} bytes, or a suspicious compression ratio)")]
    TooLarge {
        filename: String,
        declared: u64,
        limit: u64,
    },
    #[error("{filename} is not what its name says: its METADATA names {name} {version}")]
    Impersonation {
        filename: String,
        name: String,
        version: String,
    },
}

impl crate::error::Hint for WheelError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            WheelError::Corrupt { .. } => {
                "the file is damaged (truncated or not a zip); nothing was installed. If it came from an index, report it there".into()
            }
            WheelError::UnsafePath { .. } => "the wheel is malformed or malicious; nothing was installed".into(),
            WheelError::HashMismatch { .. } | WheelError::Unlisted { .. } => {
                "the wheel's contents do not match its RECORD; it was changed after it was built. Nothing was installed".into()
            }
            WheelError::TooNew { .. } => "use a newer envtool, or an older version of the package".into(),
            WheelError::TooLarge { .. } => "if the package really is that large, raise ENVTOOL_MAX_UNPACKED_BYTES (bytes); nothing was installed".into(),
            WheelError::Impersonation { .. } => "the wheel's file name and its METADATA disagree (the file was renamed or is malicious); nothing was installed".into(),
        })
    }
}

/// How closely a cache entry is checked before it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// RECORD unchanged, and every file it lists present with its recorded size (every use).
    Sizes,
    /// Every file's hash too (`--reinstall`, `cache verify`).
    Hashes,
}

impl CachedWheel {
    /// Whether the entry is complete and unchanged since it was made; why not otherwise.
    pub fn check(&self, how: Check) -> Result<(), String> {
        let record = std::fs::read(self.dir.join(&self.info.dist_info).join("RECORD"))
            .map_err(|e| format!("its RECORD cannot be read ({e})"))?;
        let digest = data_encoding::HEXLOWER.encode(&Sha256::digest(&record));
        if digest != self.info.record_sha256 {
            return Err("its RECORD changed".into());
        }
        let rows = parse_record(&String::from_utf8_lossy(&record)).map_err(|e| e.to_string())?;
        for row in rows {
            if row.path.ends_with('/') || row.hash.is_none() {
                continue;
            }
            let Some(rel) = safe_relative(&row.path) else {
                return Err(format!("{} is not a safe path", row.path));
            };
            let path = self.dir.join(rel);
            let meta =
                std::fs::symlink_metadata(&path).map_err(|_| format!("{} is missing", row.path))?;
            if !meta.is_file() || row.size.is_some_and(|s| s != meta.len()) {
                return Err(format!("{} changed size", row.path));
            }
            if how == Check::Hashes {
                let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", row.path))?;
                let ok = row
                    .hash
                    .as_deref()
                    .is_some_and(|h| record::hash_matches(h, &bytes).unwrap_or(false));
                if !ok {
                    return Err(format!("{} does not match its hash", row.path));
                }
            }
        }
        Ok(())
    }
}

/// The entry for `sha256`, if it is in the cache and passes `how` (and records its use). A
/// damaged entry is reported and not used: the caller fetches the wheel again.
pub fn cached(cache: &Cache, sha256: &str, how: Check) -> Option<CachedWheel> {
    let dir = cache.root().join(Bucket::Wheels.dir_name()).join(sha256);
    let info_path = dir.join(INFO_FILE);
    let info: WheelInfo = serde_json::from_slice(&std::fs::read(&info_path).ok()?).ok()?;
    let entry = CachedWheel { dir, info };
    let level = how as u8;
    if !cache.checked_this_run(sha256, level) {
        if let Err(why) = entry.check(how) {
            crate::output::warn(&format!(
                "the cached copy of {} is damaged ({why}); fetching it again",
                entry.info.filename
            ));
            return None;
        }
        cache.mark_checked(sha256, level);
    }
    cache::touch(&info_path);
    Some(entry)
}

/// Unpack `archive` (whose sha256 is known and verified) into the cache, unless another
/// process already did; concurrent callers wait on the entry's lock.
pub fn unpack_into_cache(
    cache: &Cache,
    archive: Archive<'_>,
    sha256: &str,
    size: u64,
    filename: &WheelFilename,
    how: Check,
) -> anyhow::Result<CachedWheel> {
    let bucket = cache.bucket(Bucket::Wheels)?;
    let _lock = cache::lock_entry(&bucket.join(format!("{sha256}.lock")))?;
    if let Some(hit) = cached(cache, sha256, how) {
        return Ok(hit);
    }
    let dest = bucket.join(sha256);
    if dest.exists() {
        // An entry without a readable description is damaged (edited by hand, or a crash of
        // an older version): replace it.
        crate::output::debug(&format!(
            "replacing the damaged cache entry {}",
            dest.display()
        ));
        cache.forget_checked(sha256);
        fs_err::remove_dir_all(&dest)?;
    }
    // The temporary directory is the tree itself: renamed into place, nothing is left to
    // remove (a removal is not free for the files made next: see bench/README.md).
    let staging = cache.tempdir()?;
    let tree = staging.path().to_path_buf();
    // As a directory made with mkdir would be (a temporary directory is 0700).
    let mode = 0o777 & !process_umask().unwrap_or(0o022);
    fs_err::set_permissions(&tree, std::fs::Permissions::from_mode(mode))?;
    let dist_info = unpack(archive, &tree, filename)?;
    let info = WheelInfo {
        filename: filename.filename.clone(),
        sha256: sha256.to_string(),
        size,
        name: filename.name.to_string(),
        version: filename.version.to_string(),
        record_sha256: data_encoding::HEXLOWER.encode(&Sha256::digest(fs_err::read(
            tree.join(&dist_info).join("RECORD"),
        )?)),
        dist_info,
    };
    fs_err::write(tree.join(INFO_FILE), serde_json::to_vec_pretty(&info)?)?;
    fs_err::rename(&tree, &dest)?;
    let _ = staging.keep();
    // Every file was just checked against RECORD, hash and size: no use in this run checks
    // the entry again.
    cache.mark_checked(sha256, Check::Hashes as u8);
    Ok(CachedWheel { dir: dest, info })
}

/// Where a wheel's bytes are: a file, or memory (a download small enough to keep there).
#[derive(Debug, Clone, Copy)]
pub enum Archive<'a> {
    File(&'a Path),
    Memory(&'a [u8]),
}

fn corrupt(filename: &WheelFilename, reason: impl std::fmt::Display) -> WheelError {
    WheelError::Corrupt {
        filename: filename.filename.clone(),
        reason: reason.to_string(),
    }
}

/// A zip entry name that is a safe relative path (no absolute, `..`, `\` or NUL).
pub fn safe_relative(name: &str) -> Option<PathBuf> {
    if name.is_empty() || name.starts_with('/') || name.contains('\\') || name.contains('\0') {
        return None;
    }
    let path = Path::new(name);
    let ok = path
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    ok.then(|| path.to_path_buf())
}

/// Unpack and verify; returns the `.dist-info` directory name.
fn unpack(archive: Archive<'_>, dest: &Path, filename: &WheelFilename) -> anyhow::Result<String> {
    match archive {
        Archive::File(path) => {
            let file = fs_err::File::open(path)?;
            let len = file.metadata()?.len();
            unpack_from(
                std::io::BufReader::new(file.into_parts().0),
                len,
                dest,
                filename,
            )
        }
        Archive::Memory(bytes) => unpack_from(
            std::io::Cursor::new(bytes),
            bytes.len() as u64,
            dest,
            filename,
        ),
    }
}

fn unpack_from<R: Read + std::io::Seek>(
    reader: R,
    archive_len: u64,
    dest: &Path,
    filename: &WheelFilename,
) -> anyhow::Result<String> {
    let mut zip = zip::ZipArchive::new(reader).map_err(|e| {
        corrupt(
            filename,
            format!("not a readable zip archive ({e}); the file may be truncated"),
        )
    })?;

    let mut names = Vec::with_capacity(zip.len());
    let mut spans = Vec::with_capacity(zip.len());
    let mut declared = 0u64;
    for i in 0..zip.len() {
        let f = zip.by_index_raw(i).map_err(|e| corrupt(filename, e))?;
        names.push(f.name().map_err(|e| corrupt(filename, e))?.into_owned());
        spans.push((f.header_start(), f.compressed_size()));
        declared = declared.saturating_add(f.size());
    }
    check_layout(&mut spans, filename)?;
    check_expansion(declared, archive_len, &filename.filename)?;
    let dist_info = find_dist_info(&names, filename)?;
    let record_name = format!("{dist_info}/RECORD");
    let record_text = {
        let mut entry = zip
            .by_name(&record_name)
            .map_err(|_| corrupt(filename, format!("it has no {record_name}")))?;
        let mut text = String::new();
        entry
            .read_to_string(&mut text)
            .map_err(|e| corrupt(filename, format!("cannot read {record_name}: {e}")))?;
        text
    };
    let record = parse_record(&record_text).map_err(|e| corrupt(filename, e))?;
    let listed: HashMap<&str, &record::RecordEntry> =
        record.iter().map(|e| (e.path.as_str(), e)).collect();
    check_wheel_version(&mut zip, &dist_info, filename)?;
    check_identity(&mut zip, &dist_info, filename)?;

    let mut seen = std::collections::HashSet::new();
    let mut dirs = Dirs::new(dest);
    let mut buf = vec![0u8; 64 * 1024];
    for i in 0..zip.len() {
        crate::interrupt::check()?;
        let mut entry = zip.by_index(i).map_err(|e| corrupt(filename, e))?;
        let name = entry.name().map_err(|e| corrupt(filename, e))?.into_owned();
        let declared_size = entry.size();
        if entry.is_dir() {
            let rel = safe_relative(name.trim_end_matches('/'))
                .ok_or_else(|| unsafe_path(filename, &name))?;
            dirs.make(&rel)?;
            continue;
        }
        let rel = safe_relative(&name).ok_or_else(|| unsafe_path(filename, &name))?;
        if entry.enclosed_name().is_none() {
            return Err(unsafe_path(filename, &name).into());
        }
        let is_record_file = name == record_name
            || name == format!("{dist_info}/RECORD.jws")
            || name == format!("{dist_info}/RECORD.p7s");
        let target = dest.join(&rel);
        if let Some(parent) = rel.parent() {
            dirs.make(parent)?;
        }
        let executable = entry.unix_mode().is_some_and(|m| m & 0o111 != 0);
        // Read-only: environments share these bytes through hard links, so an edit made
        // through an environment fails (or, replacing the file, breaks the link) instead of
        // changing the cache and every environment made from it.
        let mode = if executable { 0o555 } else { 0o444 };
        let mut out = match create_read_only(&target, mode) {
            Ok(file) => Some(file),
            // The same name twice (a zip allows it): the copy is read and checked against
            // the same RECORD row as the first, so it is the same bytes; nothing is written.
            Err(e)
                if e.kind() == std::io::ErrorKind::AlreadyExists
                    && seen.contains(&name)
                    && !is_record_file =>
            {
                None
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(corrupt(
                    filename,
                    format!("{name} names a path another entry already took"),
                )
                .into())
            }
            Err(e) => {
                return Err(
                    anyhow::Error::new(e).context(format!("cannot create {}", target.display()))
                )
            }
        };
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        loop {
            let n = entry
                .read(&mut buf)
                .map_err(|e| corrupt(filename, format!("cannot read {name}: {e}")))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            if let Some(out) = &mut out {
                out.write_all(&buf[..n])?;
            }
            size += n as u64;
            if size > declared_size {
                return Err(corrupt(
                    filename,
                    format!("{name} expands beyond the size its header declares"),
                )
                .into());
            }
        }
        drop(out);
        seen.insert(name.clone());
        if is_record_file {
            continue;
        }
        let listed_entry = listed
            .get(name.as_str())
            .ok_or_else(|| WheelError::Unlisted {
                filename: filename.filename.clone(),
                entry: name.clone(),
            })?;
        let ok = match listed_entry.hash.as_deref() {
            Some(h) if h.starts_with("sha256=") => {
                let ours = format!(
                    "sha256={}",
                    data_encoding::BASE64URL_NOPAD.encode(&hasher.finalize())
                );
                ours == h && listed_entry.size.is_none_or(|s| s == size)
            }
            Some(h) => record::hash_matches(h, &fs_err::read(&target)?)
                .map_err(|e| corrupt(filename, e))?,
            None => false,
        };
        if !ok {
            return Err(WheelError::HashMismatch {
                filename: filename.filename.clone(),
                entry: name,
            }
            .into());
        }
    }
    for entry in &record {
        let is_dir = entry.path.ends_with('/');
        if !is_dir && !seen.contains(&entry.path) && entry.path != record_name {
            return Err(corrupt(
                filename,
                format!("{} is listed in RECORD but missing", entry.path),
            )
            .into());
        }
    }
    Ok(dist_info)
}

/// The directories made so far in one tree being unpacked (relative to it), so that each is
/// made once, not once for every file in it.
struct Dirs<'a> {
    dest: &'a Path,
    made: std::collections::HashSet<PathBuf>,
}

impl<'a> Dirs<'a> {
    fn new(dest: &'a Path) -> Dirs<'a> {
        Dirs {
            dest,
            made: std::collections::HashSet::new(),
        }
    }

    /// `mkdir -p dest/rel`; `rel` is a safe relative path.
    fn make(&mut self, rel: &Path) -> anyhow::Result<()> {
        if rel.as_os_str().is_empty() || self.made.contains(rel) {
            return Ok(());
        }
        if let Some(parent) = rel.parent() {
            self.make(parent)?;
        }
        // (Already there when `a/./b` and `a/b` name the same directory.)
        crate::fsx::make_dir(&self.dest.join(rel))?;
        self.made.insert(rel.to_path_buf());
        Ok(())
    }
}

/// A new file with `mode`, whatever the umask: given at creation, and set again only when the
/// umask would take bits away from it.
fn create_read_only(path: &Path, mode: u32) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    if process_umask().is_none_or(|umask| mode & umask != 0) {
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    Ok(file)
}

/// This process's umask, from `/proc/self/status` (reading it with umask(2) would change it
/// for a moment under other threads); None where that is not available.
fn process_umask() -> Option<u32> {
    static UMASK: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();
    *UMASK.get_or_init(|| {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
        u32::from_str_radix(line.trim(), 8).ok()
    })
}

const DEFAULT_MAX_UNPACKED: u64 = 8 << 30;

/// The most one archive may expand to: `ENVTOOL_MAX_UNPACKED_BYTES`, else 8 GiB.
pub fn max_unpacked_bytes() -> u64 {
    crate::env_vars::non_empty_var(crate::env_vars::ENVTOOL_MAX_UNPACKED_BYTES)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_MAX_UNPACKED)
}

/// Every entry's local header and data must be its own: an archive whose central directory
/// points several entries at one stream (an overlapping-entry zip bomb) is refused.
fn check_layout(spans: &mut [(u64, u64)], filename: &WheelFilename) -> Result<(), WheelError> {
    spans.sort_unstable();
    for pair in spans.windows(2) {
        let ((start, len), (next, _)) = (pair[0], pair[1]);
        if start.saturating_add(len) > next {
            return Err(corrupt(
                filename,
                "its entries overlap (several names point at the same compressed data): an archive bomb",
            ));
        }
    }
    Ok(())
}

/// The most an archive may expand to (`ENVTOOL_MAX_UNPACKED_BYTES`, default 8 GiB) and the
/// largest expansion ratio for archives over 64 MiB unpacked (100x).
fn check_expansion(declared: u64, archive_size: u64, filename: &str) -> Result<(), WheelError> {
    const RATIO: u64 = 100;
    let max = max_unpacked_bytes();
    let too_big = declared > max;
    let raised = max > DEFAULT_MAX_UNPACKED;
    let too_dense = declared > 64 << 20 && declared / archive_size.max(1) > RATIO && !raised;
    if too_big || too_dense {
        return Err(WheelError::TooLarge {
            filename: filename.to_string(),
            declared,
            limit: max,
        });
    }
    Ok(())
}

fn unsafe_path(filename: &WheelFilename, entry: &str) -> WheelError {
    WheelError::UnsafePath {
        filename: filename.filename.clone(),
        entry: entry.to_string(),
    }
}

/// Exactly one top-level `*.dist-info` whose name matches the wheel's file name.
fn find_dist_info(names: &[String], filename: &WheelFilename) -> Result<String, WheelError> {
    let mut dirs: Vec<&str> = names
        .iter()
        .filter_map(|n| {
            n.split('/')
                .next()
                .filter(|top| top.ends_with(".dist-info") && n.contains('/'))
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    let [dir] = dirs.as_slice() else {
        return Err(corrupt(
            filename,
            format!(
                "expected exactly one .dist-info directory, found {}",
                dirs.len()
            ),
        ));
    };
    let stem = dir.trim_end_matches(".dist-info");
    let (name, version) = stem.rsplit_once('-').unwrap_or((stem, ""));
    let version_ok = version
        .parse::<pep440_rs::Version>()
        .is_ok_and(|v| v == filename.version);
    if normalize_name(name) != normalize_name(&filename.name) || !version_ok {
        return Err(corrupt(
            filename,
            format!("its {dir} does not match the file name"),
        ));
    }
    Ok(dir.to_string())
}

/// The wheel is what its file name says: METADATA's Name and Version match it.
fn check_identity<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    dist_info: &str,
    filename: &WheelFilename,
) -> anyhow::Result<()> {
    let mut text = String::new();
    zip.by_name(&format!("{dist_info}/METADATA"))
        .map_err(|_| corrupt(filename, format!("it has no {dist_info}/METADATA")))?
        .take(16 << 20)
        .read_to_string(&mut text)
        .map_err(|e| corrupt(filename, e))?;
    let meta = crate::dist::metadata::parse(&text).map_err(|e| corrupt(filename, e))?;
    let same_version = meta
        .version
        .parse::<pep440_rs::Version>()
        .is_ok_and(|v| v == filename.version);
    if normalize_name(&meta.name) != normalize_name(&filename.name) || !same_version {
        return Err(WheelError::Impersonation {
            filename: filename.filename.clone(),
            name: meta.name,
            version: meta.version,
        }
        .into());
    }
    Ok(())
}

fn check_wheel_version<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    dist_info: &str,
    filename: &WheelFilename,
) -> anyhow::Result<()> {
    let mut text = String::new();
    zip.by_name(&format!("{dist_info}/WHEEL"))
        .map_err(|_| corrupt(filename, format!("it has no {dist_info}/WHEEL")))?
        .read_to_string(&mut text)
        .map_err(|e| corrupt(filename, e))?;
    let version = header(&text, "Wheel-Version")
        .ok_or_else(|| corrupt(filename, "WHEEL has no Wheel-Version"))?;
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|m| m.trim().parse().ok())
        .ok_or_else(|| corrupt(filename, format!("bad Wheel-Version {version:?}")))?;
    if major > 1 {
        return Err(WheelError::TooNew {
            filename: filename.filename.clone(),
            version,
        }
        .into());
    }
    let minor: u32 = version
        .split('.')
        .nth(1)
        .and_then(|m| m.trim().parse().ok())
        .unwrap_or(0);
    if minor > 0 {
        crate::output::warn(&format!(
            "{} has Wheel-Version {version}, newer than 1.0",
            filename.filename
        ));
    }
    Ok(())
}

/// The first `Key: value` header of an RFC 822-style text (WHEEL).
pub fn header(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(key)
            .then(|| v.trim().to_string())
    })
}

/// One damaged cache entry.
#[derive(Debug, Clone)]
pub struct Damaged {
    pub entry: PathBuf,
    pub filename: String,
    pub reason: String,
}

/// Check every unpacked wheel fully (RECORD, sizes, hashes); with `repair`, remove the
/// damaged ones (under the cache's exclusive lock). Returns (entries checked, damaged).
pub fn verify(cache: &Cache, repair: bool) -> anyhow::Result<(usize, Vec<Damaged>)> {
    let dir = cache.root().join(Bucket::Wheels.dir_name());
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Ok((0, Vec::new()));
    };
    let _guard = if repair {
        crate::cache::maintenance::check_marked(cache)?;
        Some(crate::cache::maintenance::exclusive(cache)?)
    } else {
        None
    };
    let mut checked = 0;
    let mut damaged = Vec::new();
    let mut entries: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    entries.sort();
    for entry in entries {
        checked += 1;
        let info = std::fs::read(entry.join(INFO_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice::<WheelInfo>(&b).ok());
        let result = match &info {
            None => Err("its description is missing or damaged".to_string()),
            Some(info) => CachedWheel {
                dir: entry.clone(),
                info: info.clone(),
            }
            .check(Check::Hashes),
        };
        if let Err(reason) = result {
            if repair {
                crate::cache::maintenance::remove_any(&entry)?;
            }
            damaged.push(Damaged {
                filename: info.map(|i| i.filename).unwrap_or_default(),
                entry,
                reason,
            });
        }
    }
    Ok((checked, damaged))
}

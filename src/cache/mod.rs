//! The cache directory: versioned buckets, per-entry locks, atomic writes, last-use stamps.
//!
//! ```text
//! <cache>/
//!   CACHEDIR.TAG
//!   .lock                               shared while a process uses the cache; exclusive to clean/prune
//!   interpreters-v1/<key>.json          facts about one interpreter (python::facts)
//!   http-v1/<key>.json                  one cached Simple API page: metadata line + body (index::http)
//!   metadata-v2/<sha256>.METADATA       PEP 658 core metadata, keyed by its own published sha256
//!   metadata-v2/u-<key>.METADATA        ... whose hash is not published: keyed by index and file URL
//!   metadata-v2/<sha256>.sdist.METADATA an sdist's metadata, keyed by the (verified) sdist's sha256
//!   wheels-v2/<sha256>/                 one unpacked wheel, keyed by the archive's sha256 (fetch::unpack),
//!                                       its files read-only (environments hard-link them)
//!   wheels-v2/<sha256>/.envtool-wheel.json   its description, with its RECORD's sha256 (every use
//!                                       checks RECORD and the files' sizes); its mtime is the last use
//!   wheels-v2/<sha256>.lock             held while the entry is being created
//!   bytecode-v1/<key>.pyc               a pack bootstrap's bytecode for one interpreter, then its sha256
//!                                       (pack::bootstrap), keyed by the bootstrap and the interpreter
//!   tool-envs-v1/<key>/                 `tool run` environments, keyed by requirements + interpreter;
//!                                       their envtool-tool.toml mtime is the last use
//!   sdists-v1, built-v1, build-envs-v2  source builds (their tree is drawn in build/mod.rs)
//!   tmp-v1/                             downloads and trees being built; anything here is garbage after a crash
//! ```
//! An entry becomes visible only by an atomic rename, so a reader never sees half of one.

pub mod maintenance;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context;

const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by envtool.\n\
# For information about cache directory tags see https://bford.info/cachedir/\n";

/// The file in a `tool run` environment whose mtime is its last use (the tool receipt).
pub const TOOL_ENV_STAMP: &str = "envtool-tool.toml";

/// A cache bucket: one directory per kind of entry, with a version in its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Interpreters,
    Http,
    Metadata,
    Wheels,
    ToolEnvs,
    Sdists,
    Built,
    BuildEnvs,
    Bytecode,
    Tmp,
}

impl Bucket {
    pub const ALL: [Bucket; 10] = [
        Bucket::Interpreters,
        Bucket::Http,
        Bucket::Metadata,
        Bucket::Wheels,
        Bucket::ToolEnvs,
        Bucket::Sdists,
        Bucket::Built,
        Bucket::BuildEnvs,
        Bucket::Bytecode,
        Bucket::Tmp,
    ];

    pub fn dir_name(self) -> &'static str {
        match self {
            Bucket::Interpreters => "interpreters-v1",
            Bucket::Http => "http-v1",
            Bucket::Metadata => "metadata-v2",
            Bucket::Wheels => "wheels-v2",
            Bucket::ToolEnvs => "tool-envs-v1",
            Bucket::Sdists => "sdists-v1",
            Bucket::Built => "built-v1",
            Bucket::BuildEnvs => "build-envs-v2",
            Bucket::Bytecode => "bytecode-v1",
            Bucket::Tmp => "tmp-v1",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
    /// Whether the root may be trusted, decided once per run.
    trusted: std::sync::Arc<std::sync::OnceLock<Result<(), String>>>,
    /// Entries already checked in this run, with how closely (a higher level includes the
    /// lower): resolving and installing use the same wheels, checked once.
    checked: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, u8>>>,
}

impl Cache {
    pub fn new(root: PathBuf) -> Self {
        Cache {
            root,
            trusted: Default::default(),
            checked: Default::default(),
        }
    }

    /// Whether `entry` passed a check of at least `level` earlier in this run.
    pub fn checked_this_run(&self, entry: &str, level: u8) -> bool {
        self.checked
            .lock()
            .unwrap()
            .get(entry)
            .is_some_and(|l| *l >= level)
    }

    /// `entry` passed a check of `level` (forgotten again with `forget_checked`).
    pub fn mark_checked(&self, entry: &str, level: u8) {
        let mut checked = self.checked.lock().unwrap();
        let l = checked.entry(entry.to_string()).or_insert(level);
        *l = (*l).max(level);
    }

    /// `entry` is being replaced: check it again when next used.
    pub fn forget_checked(&self, entry: &str) {
        self.checked.lock().unwrap().remove(entry);
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The cache is created private (0700) and used only when it is a directory of this user
    /// that nobody else can write: another local user must not be able to plant entries.
    fn check_root(&self) -> anyhow::Result<()> {
        let verdict = self.trusted.get_or_init(|| {
            use std::os::unix::fs::{DirBuilderExt, MetadataExt};
            if std::fs::symlink_metadata(&self.root).is_err() {
                if let Some(parent) = self.root.parent() {
                    let _ = std::fs::create_dir_all(parent);
                }
                let _ = std::fs::DirBuilder::new().mode(0o700).create(&self.root);
            }
            let meta = std::fs::metadata(&self.root).map_err(|e| e.to_string())?;
            // SAFETY: geteuid has no preconditions.
            let me = unsafe { libc::geteuid() };
            if !meta.is_dir() {
                return Err("it is not a directory".into());
            }
            if meta.uid() != me {
                return Err(format!("it belongs to another user (uid {})", meta.uid()));
            }
            if meta.mode() & 0o022 != 0 {
                return Err("others can write it".into());
            }
            Ok(())
        });
        verdict.clone().map_err(|why| {
            crate::error::user(
                format!("the cache directory {} cannot be trusted: {why}", self.root.display()),
                "use a cache only you can write: point --cache-dir (or ENVTOOL_CACHE_DIR) at a private directory, or `chmod go-w` it",
            )
        })
    }

    /// The bucket's directory, created (with the root's CACHEDIR.TAG) on first use.
    pub fn bucket(&self, bucket: Bucket) -> anyhow::Result<PathBuf> {
        self.check_root()?;
        let dir = self.root.join(bucket.dir_name());
        if !dir.is_dir() {
            fs_err::create_dir_all(&dir).map_err(|e| {
                crate::error::user(
                    format!("cannot create the cache directory {}: {e}", dir.display()),
                    "point --cache-dir (or ENVTOOL_CACHE_DIR) at a writable directory, or pass --no-cache",
                )
            })?;
            let tag = self.root.join("CACHEDIR.TAG");
            if !tag.exists() {
                write_atomic(&tag, CACHEDIR_TAG.as_bytes())?;
            }
        }
        Ok(dir)
    }

    /// A shared lock on the whole cache, held for the life of the returned guard: `cache clean`
    /// and `cache prune` wait for (or refuse while) it is held.
    pub fn use_shared(&self) -> anyhow::Result<CacheGuard> {
        fs_err::create_dir_all(&self.root).map_err(|e| {
            crate::error::user(
                format!("cannot create the cache directory {}: {e}", self.root.display()),
                "point --cache-dir (or ENVTOOL_CACHE_DIR) at a writable directory, or pass --no-cache",
            )
        })?;
        self.check_root()?;
        let file = open_lock_file(&self.root.join(".lock"))?;
        file.lock_shared()
            .with_context(|| format!("cannot lock {}", self.root.display()))?;
        Ok(CacheGuard { _file: file })
    }

    /// An exclusive lock on the whole cache, or None when another process is using it.
    pub fn try_exclusive(&self) -> anyhow::Result<Option<CacheGuard>> {
        fs_err::create_dir_all(&self.root)?;
        let file = open_lock_file(&self.root.join(".lock"))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(CacheGuard { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(anyhow::Error::new(e).context(format!("cannot lock {}", self.root.display())))
            }
        }
    }

    /// A temporary directory inside the cache (same filesystem, so entries can be renamed in).
    pub fn tempdir(&self) -> anyhow::Result<tempfile::TempDir> {
        let dir = self.bucket(Bucket::Tmp)?;
        tempfile::Builder::new()
            .prefix("build-")
            .tempdir_in(&dir)
            .with_context(|| format!("cannot create a temporary directory in {}", dir.display()))
    }
}

/// The name of a cache entry derived from what identifies it: the hex sha256 of the parts
/// joined by newlines, cut to `len` characters. Every bucket keyed by a description (not by
/// content) names its entries this way.
pub fn key(parts: &[&[u8]], len: usize) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(parts.join(&b"\n"[..]));
    let hex = data_encoding::HEXLOWER.encode(&digest);
    hex[..len.min(hex.len())].to_string()
}

/// Holds a cache-wide lock until dropped.
#[derive(Debug)]
pub struct CacheGuard {
    _file: File,
}

/// Holds one entry's lock until dropped.
#[derive(Debug)]
pub struct EntryLock {
    _file: File,
}

fn open_lock_file(path: &Path) -> anyhow::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))
}

/// Lock one entry exclusively (blocking until another process finishes creating it).
pub fn lock_entry(lock_path: &Path) -> anyhow::Result<EntryLock> {
    let file = open_lock_file(lock_path)?;
    file.lock()
        .with_context(|| format!("cannot lock {}", lock_path.display()))?;
    Ok(EntryLock { _file: file })
}

/// Write a file by writing a temporary sibling and renaming it into place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_atomic_mode(path, bytes, 0o644)
}

/// `write_atomic` with the given permissions (set before the file appears).
pub fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let parent = path.parent().context("a file path has a parent")?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(parent)
        .with_context(|| format!("cannot create a temporary file in {}", parent.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("cannot write {}", tmp.path().display()))?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot write {}", tmp.path().display()))?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Record that an entry was used now (its stamp file's mtime), so pruning keeps it.
pub fn touch(stamp: &Path) {
    if let Ok(file) = File::options().write(true).open(stamp) {
        let _ = file.set_modified(SystemTime::now());
    }
}

#[cfg(test)]
mod tests {
    /// Entry names stay what they were before one function derived them all (no bucket
    /// version changed).
    #[test]
    fn golden_keys() {
        assert_eq!(super::key(&[b"https://h/simple/six/"], 32), {
            use sha2::{Digest, Sha256};
            data_encoding::HEXLOWER.encode(&Sha256::digest(b"https://h/simple/six/"))[..32]
                .to_string()
        });
        assert_eq!(super::key(&[b"a", b"b"], 24), super::key(&[b"a\nb"], 24));
        assert_eq!(super::key(&[b"a"], 24).len(), 24);
    }
}

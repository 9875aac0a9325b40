//! The bootstrap's bytecode: `__main__.pyc` next to `__main__.py` in the pack, made by the
//! interpreter of the pack's first wheel set.
//!
//! A zip application's `__main__` is compiled from source on every start that runs the
//! bootstrap (each first start, and every `python PACK`): milliseconds for its ~800 lines.
//! With the pyc, zipimport loads the bytecode instead. It is a checked-hash pyc (PEP 552):
//! zipimport uses it only when its hash matches the `__main__.py` beside it, and only on an
//! interpreter of its bytecode version. Any other Python, or a pyc that does not belong to
//! that source, runs the source as before; so the extraction id, which covers the source,
//! covers what runs.
//!
//! The compile runs in a child interpreter while the pack is assembled, and its result is
//! kept in the cache (`bytecode-v1/`, keyed by the bootstrap and the interpreter's path, size
//! and mtime, followed by its own sha256), so later packs start no interpreter for it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};

use crate::cache::{Bucket, Cache};

/// The zip member.
pub const MEMBER: &str = "__main__.pyc";

/// Reads the source on stdin, writes its checked-hash pyc to stdout.
const COMPILE: &str = r#"import importlib.util, sys
from importlib import _bootstrap_external as be
source = sys.stdin.buffer.read()
code = compile(source, "__main__.py", "exec", dont_inherit=True)
sys.stdout.buffer.write(be._code_to_hash_pyc(code, importlib.util.source_hash(source), checked=True))
"#;

/// A pyc starts with a 16-byte header (magic, flags, source hash).
const PYC_HEADER: usize = 16;

/// The bootstrap's bytecode: from the cache, or being compiled.
pub enum Bytecode {
    Cached(Vec<u8>),
    Compiling {
        child: Child,
        /// Where the result is kept (None: no cache to keep it in).
        keep: Option<PathBuf>,
    },
}

/// The bytecode of `source` for `python`: from the cache when it holds it, else a compile
/// started in the background; None when the interpreter cannot be started (the pack then
/// carries the source alone).
pub fn start(python: &Path, source: &str, cache: &Cache) -> Option<Bytecode> {
    let keep = entry_path(python, source, cache);
    if let Some(pyc) = keep.as_deref().and_then(read_entry) {
        return Some(Bytecode::Cached(pyc));
    }
    let mut child = Command::new(python)
        .args(["-I", "-S", "-c", COMPILE])
        .env("PYTHONHASHSEED", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    // Written whole now: the child reads all of it before it writes anything.
    let fed = child
        .stdin
        .take()
        .is_some_and(|mut stdin| stdin.write_all(source.as_bytes()).is_ok());
    if !fed {
        let _ = child.kill();
        let _ = child.wait();
        return None;
    }
    Some(Bytecode::Compiling { child, keep })
}

impl Bytecode {
    /// The pyc, or None when the interpreter failed (the pack then carries the source alone).
    pub fn finish(self) -> Option<Vec<u8>> {
        let (mut child, keep) = match self {
            Bytecode::Cached(pyc) => return Some(pyc),
            Bytecode::Compiling { child, keep } => (child, keep),
        };
        let mut pyc = Vec::new();
        let read = child
            .stdout
            .take()
            .is_some_and(|mut out| out.read_to_end(&mut pyc).is_ok());
        let ok = child.wait().is_ok_and(|s| s.success());
        if !(read && ok && pyc.len() > PYC_HEADER) {
            return None;
        }
        if let Some(path) = keep {
            let mut entry = pyc.clone();
            entry.extend_from_slice(&Sha256::digest(&pyc));
            // A cache that cannot be written only costs a compile next time.
            if let Err(e) = crate::cache::write_atomic(&path, &entry) {
                crate::output::debug(&format!("not caching the bootstrap's bytecode: {e:#}"));
            }
        }
        Some(pyc)
    }
}

/// The cache entry for `source` compiled by `python` as it is now (path, size, mtime).
fn entry_path(python: &Path, source: &str, cache: &Cache) -> Option<PathBuf> {
    let meta = std::fs::metadata(python).ok()?;
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let identity = format!("{}\n{mtime_ns}", meta.len());
    let dir = cache.bucket(Bucket::Bytecode).ok()?;
    let key = crate::cache::key(
        &[
            &Sha256::digest(source.as_bytes()),
            python.as_os_str().as_encoded_bytes(),
            identity.as_bytes(),
        ],
        32,
    );
    Some(dir.join(format!("{key}.pyc")))
}

/// A cache entry's pyc, when the entry is whole (its trailing sha256 matches).
fn read_entry(path: &Path) -> Option<Vec<u8>> {
    let mut entry = std::fs::read(path).ok()?;
    let at = entry.len().checked_sub(32)?;
    if at <= PYC_HEADER || Sha256::digest(&entry[..at])[..] != entry[at..] {
        return None;
    }
    entry.truncate(at);
    Some(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without an interpreter that compiles, there is no bytecode (the pack carries the
    /// source alone) and nothing is kept in the cache.
    #[test]
    fn an_interpreter_that_cannot_compile_gives_no_bytecode() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        assert!(start(&dir.path().join("no-python"), "X = 1\n", &cache).is_none());
        // (It may exit before it reads its stdin: no bytecode either way.)
        let failing = start(Path::new("/bin/false"), "X = 1\n", &cache);
        assert!(failing.and_then(Bytecode::finish).is_none());
        let kept = std::fs::read_dir(dir.path().join("cache/bytecode-v1"))
            .map(|rd| rd.count())
            .unwrap_or(0);
        assert_eq!(kept, 0);
    }
}

//! The cache directory: versioned buckets, atomic writes.
//!
//! ```text
//! <cache>/
//!   CACHEDIR.TAG
//!   interpreters-v1/<sha256 of the executable path>.json   facts about one interpreter (see python::facts)
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by envtool.\n\
# For information about cache directory tags see https://bford.info/cachedir/\n";

/// A cache bucket: one directory per kind of entry, with a version in its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Interpreters,
}

impl Bucket {
    pub fn dir_name(self) -> &'static str {
        match self {
            Bucket::Interpreters => "interpreters-v1",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    pub fn new(root: PathBuf) -> Self {
        Cache { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The bucket's directory, created (with the root's CACHEDIR.TAG) on first use.
    pub fn bucket(&self, bucket: Bucket) -> anyhow::Result<PathBuf> {
        let dir = self.root.join(bucket.dir_name());
        if !dir.is_dir() {
            fs_err::create_dir_all(&dir)?;
            let tag = self.root.join("CACHEDIR.TAG");
            if !tag.exists() {
                write_atomic(&tag, CACHEDIR_TAG.as_bytes())?;
            }
        }
        Ok(dir)
    }
}

/// Write a file by writing a temporary sibling and renaming it into place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let parent = path.parent().context("a file path has a parent")?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(parent)
        .with_context(|| format!("cannot create a temporary file in {}", parent.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("cannot write {}", tmp.path().display()))?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

//! File-system helpers every layer uses: atomic writes (a temporary sibling renamed into
//! place), lexical path arithmetic, and small predicates. Nothing here knows about Python.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use anyhow::Context;

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

/// Make one directory (its parent exists); one that is already there is fine, a file of that
/// name is an error.
pub fn make_dir(dir: &Path) -> anyhow::Result<()> {
    match std::fs::create_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot create {}", dir.display()))),
    }
}

/// `path` relative to `base`, with `..` where needed (both absolute, lexically normalized).
pub fn relative_to(path: &Path, base: &Path) -> PathBuf {
    let path: Vec<_> = path.components().collect();
    let base: Vec<_> = base.components().collect();
    let common = path
        .iter()
        .zip(base.iter())
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = PathBuf::new();
    for _ in common..base.len() {
        out.push("..");
    }
    for c in &path[common..] {
        out.push(c.as_os_str());
    }
    out
}

/// Resolve `.` and `..` without touching the filesystem.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// A regular file with an execute bit.
pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_to(
                Path::new("/e/bin/x"),
                Path::new("/e/lib/python3.12/site-packages")
            ),
            PathBuf::from("../../../bin/x")
        );
        assert_eq!(
            relative_to(
                Path::new("/e/lib/python3.12/site-packages/a/b.py"),
                Path::new("/e/lib/python3.12/site-packages")
            ),
            PathBuf::from("a/b.py")
        );
        assert_eq!(normalize(Path::new("/e/./a/../b")), PathBuf::from("/e/b"));
    }
}

//! Putting a cached file into an environment: hard link (default), copy, or clone (reflink).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LinkMode {
    /// Share the bytes with the cache (fast, no extra space). Falls back to copy across filesystems.
    Hardlink,
    /// Independent copies.
    Copy,
    /// Copy-on-write clones where the filesystem supports them, else copies.
    Clone,
}

pub struct Linker {
    mode: LinkMode,
    warned: AtomicBool,
}

impl Linker {
    pub fn new(mode: LinkMode) -> Linker {
        Linker {
            mode,
            warned: AtomicBool::new(false),
        }
    }

    /// Place `src` (in the cache) at `dst` (which does not exist).
    pub fn place(&self, src: &Path, dst: &Path) -> anyhow::Result<()> {
        match self.mode {
            LinkMode::Hardlink => match std::fs::hard_link(src, dst) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e.into()),
                Err(e) => {
                    if !self.warned.swap(true, Ordering::Relaxed) {
                        crate::output::warn(&format!(
                            "cannot hard link from the cache into the environment ({e}); copying instead"
                        ));
                        crate::output::hint_line(
                            "put the cache on the environment's filesystem, or pass --link-mode copy (or set ENVTOOL_LINK_MODE=copy) to silence this",
                        );
                    }
                    copy(src, dst)
                }
            },
            LinkMode::Copy => copy(src, dst),
            LinkMode::Clone => match clone(src, dst) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e.into()),
                Err(_) => copy(src, dst),
            },
        }
    }
}

/// A copy that never overwrites (like a hard link, it fails when `dst` exists).
fn copy(src: &Path, dst: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut from = std::fs::File::open(src)?;
    let mut to = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dst)?;
    std::io::copy(&mut from, &mut to)?;
    // A copy is the environment's own: writable, whatever the cache's read-only mode.
    let mode = from.metadata()?.permissions().mode() | 0o200;
    to.set_permissions(std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// A copy-on-write clone (btrfs, xfs, APFS: `reflink-copy`); fails where the filesystem has
/// none. Like a hard link it never overwrites: `dst` must not exist.
fn clone(src: &Path, dst: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    reflink_copy::reflink(src, dst)?;
    // A clone shares no bytes once written: writable, as a copy is.
    let mode = std::fs::metadata(src)?.permissions().mode() | 0o200;
    std::fs::set_permissions(dst, std::fs::Permissions::from_mode(mode))
}

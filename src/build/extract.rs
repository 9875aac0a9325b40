//! Unpacking source distributions safely (PEP 721): no entry may land outside the destination,
//! links may not point outside it, device files and FIFOs are refused, and modes are reduced to
//! 0644/0755.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::error::user;

fn escape_error(archive: &str, entry: &str) -> anyhow::Error {
    user(
        format!("{archive} contains an entry that escapes its directory: {entry:?}"),
        "the source distribution is malformed or malicious; nothing was built",
    )
}

/// A relative path with no `..` (a leading `/` is dropped, as PEP 721 says).
fn clean(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Extract `archive` (`.tar.gz`, `.tgz`, `.tar.bz2`-less tar, or `.zip`) into `dest`; returns the
/// project root: the single top-level directory, or `dest` itself.
pub fn extract(archive: &Path, dest: &Path) -> anyhow::Result<PathBuf> {
    let name = archive
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".zip") {
        extract_zip(archive, dest, &name)?;
    } else if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
        let file = fs_err::File::open(archive)?;
        extract_tar(flate2::read::GzDecoder::new(file), dest, &name)?;
    } else if lower.ends_with(".tar") {
        extract_tar(fs_err::File::open(archive)?, dest, &name)?;
    } else {
        return Err(user(
            format!("{name} is not a source archive envtool can unpack"),
            "use a .tar.gz or .zip source distribution",
        ));
    }
    let entries: Vec<PathBuf> = fs_err::read_dir(dest)?
        .flatten()
        .map(|e| e.path())
        .collect();
    match entries.as_slice() {
        [only] if only.is_dir() => Ok(only.clone()),
        _ => Ok(dest.to_path_buf()),
    }
}

/// What an sdist may expand to, as for wheels (`ENVTOOL_MAX_UNPACKED_BYTES`).
fn check_total(written: u64, name: &str) -> anyhow::Result<()> {
    let limit = crate::fetch::unpack::max_unpacked_bytes();
    if written > limit {
        return Err(crate::fetch::unpack::WheelError::TooLarge {
            filename: name.to_string(),
            declared: written,
            limit,
        }
        .into());
    }
    Ok(())
}

/// A link entry that would lead out of the tree.
fn link_error(archive: &str, entry: &Path, target: &Path) -> anyhow::Error {
    user(
        format!(
            "{archive} contains a link that leads out of its directory: {} -> {}",
            entry.display(),
            target.display()
        ),
        "the source distribution is malformed or malicious; nothing was built",
    )
}

/// Whether any directory between `dest` and `path` (exclusive) is a symbolic link: writing
/// there would follow it.
fn through_link(dest: &Path, rel: &Path) -> bool {
    let mut at = dest.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    for c in &parts[..parts.len().saturating_sub(1)] {
        at.push(c);
        if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            return true;
        }
    }
    false
}

/// Remove whatever a later entry of the same name replaces (never following a link).
fn make_room(target: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(target) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => std::fs::remove_file(target),
        Err(_) => Ok(()),
    }
}

/// A new file that is never a link followed: refuses to open through a symbolic link.
fn create_file(target: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    make_room(target)?;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(target)
}

fn extract_tar<R: Read>(reader: R, dest: &Path, name: &str) -> anyhow::Result<()> {
    let mut archive = tar::Archive::new(reader);
    let bad = |e: std::io::Error| {
        user(
            format!("{name} is not a valid source archive: {e}"),
            "the file may be truncated; delete it from the cache (`envtool cache clean`) and retry",
        )
    };
    let mut written = 0u64;
    for entry in archive.entries().map_err(bad)? {
        crate::interrupt::check()?;
        let mut entry = entry.map_err(bad)?;
        let raw = entry.path().map_err(bad)?.into_owned();
        let rel = clean(&raw).ok_or_else(|| escape_error(name, &raw.display().to_string()))?;
        if rel.as_os_str().is_empty() {
            continue;
        }
        if through_link(dest, &rel) {
            return Err(link_error(name, &rel, &rel));
        }
        let target = dest.join(&rel);
        let kind = entry.header().entry_type();
        let mode = entry.header().mode().unwrap_or(0o644);
        if kind.is_dir() {
            if std::fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(link_error(name, &rel, &rel));
            }
            fs_err::create_dir_all(&target)?;
            continue;
        }
        if let Some(parent) = target.parent() {
            fs_err::create_dir_all(parent)?;
        }
        if kind.is_symlink() || kind.is_hard_link() {
            let link = entry
                .link_name()
                .map_err(bad)?
                .ok_or_else(|| escape_error(name, &raw.display().to_string()))?
                .into_owned();
            if kind.is_symlink() {
                // Relative, and resolving inside the tree (PEP 721, as pip's tarfile filter).
                let resolved = (!link.is_absolute())
                    .then(|| lexical_inside(&rel.parent().unwrap_or(Path::new("")).join(&link)))
                    .flatten();
                if resolved.is_none() {
                    return Err(link_error(name, &rel, &link));
                }
                make_room(&target)?;
                std::os::unix::fs::symlink(&link, &target)?;
            } else {
                // A hard link names another member, which must be a regular file already
                // extracted, reached without following a link.
                let source = lexical_inside(&link).ok_or_else(|| link_error(name, &rel, &link))?;
                let from = dest.join(&source);
                let regular = std::fs::symlink_metadata(&from).is_ok_and(|m| m.is_file());
                if through_link(dest, &source) || !regular {
                    return Err(link_error(name, &rel, &link));
                }
                let mut out = create_file(&target)?;
                written += std::io::copy(&mut fs_err::File::open(&from)?, &mut out)?;
            }
            continue;
        }
        if !kind.is_file()
            && kind != tar::EntryType::Continuous
            && kind != tar::EntryType::GNUSparse
        {
            if matches!(
                kind,
                tar::EntryType::XGlobalHeader
                    | tar::EntryType::XHeader
                    | tar::EntryType::GNULongName
                    | tar::EntryType::GNULongLink
            ) {
                continue;
            }
            return Err(user(
                format!(
                    "{name} contains a special file (device or FIFO): {}",
                    raw.display()
                ),
                "the source distribution is malformed; nothing was built",
            ));
        }
        let mut out = create_file(&target)?;
        written += std::io::copy(&mut entry, &mut out).map_err(bad)?;
        check_total(written, name)?;
        let perm = if mode & 0o111 != 0 { 0o755 } else { 0o644 };
        use std::os::unix::fs::PermissionsExt;
        fs_err::set_permissions(&target, std::fs::Permissions::from_mode(perm))?;
    }
    Ok(())
}

/// `path` with `.` and `..` resolved lexically, when it stays inside (never climbs above) the
/// tree's root.
fn lexical_inside(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

fn extract_zip(archive: &Path, dest: &Path, name: &str) -> anyhow::Result<()> {
    let file = std::fs::File::open(archive)?;
    let bad = |e: zip::result::ZipError| {
        user(
            format!("{name} is not a valid zip archive: {e}"),
            "the file may be truncated",
        )
    };
    let mut zip = zip::ZipArchive::new(file).map_err(bad)?;
    let mut written = 0u64;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(bad)?;
        let raw = entry.name().map_err(bad)?.into_owned();
        let rel = clean(Path::new(&raw)).ok_or_else(|| escape_error(name, &raw))?;
        if entry.enclosed_name().is_none() {
            return Err(escape_error(name, &raw));
        }
        let target = dest.join(&rel);
        if entry.is_dir() {
            fs_err::create_dir_all(&target)?;
            continue;
        }
        if let Some(parent) = target.parent() {
            fs_err::create_dir_all(parent)?;
        }
        let mut out = create_file(&target)?;
        written += std::io::copy(&mut entry, &mut out)?;
        check_total(written, name)?;
        let perm = if entry.unix_mode().is_some_and(|m| m & 0o111 != 0) {
            0o755
        } else {
            0o644
        };
        use std::os::unix::fs::PermissionsExt;
        fs_err::set_permissions(&target, std::fs::Permissions::from_mode(perm))?;
    }
    Ok(())
}

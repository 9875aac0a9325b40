//! Whether a reused build environment still holds what was installed into it.
//!
//! Builds share a build environment when they need the same requirements, and every build
//! can write to it. So one build could leave code behind for the next: a `sitecustomize.py`,
//! a `.pth` file, a changed module or its bytecode. Before reuse, an environment is checked.
//!
//! Two files in the environment's root record what it held when it was made:
//! ```text
//! .envtool-complete   sha256 of pyvenv.cfg, then "SHA256 PATH" of each bytecode file
//!                     compiled when it was made (PATH relative to site-packages)
//! .envtool-stamps     "envtool-stamps-v1 TAKEN", then "DEV INO MODE SIZE MTIME CTIME PATH"
//!                     of every file below site-packages (times in nanoseconds)
//! ```
//! The full check reads every file and compares it with its distribution's RECORD hash, or
//! for bytecode with `.envtool-complete`. It costs tens of milliseconds for setuptools. The
//! quick check compares the stamps only, as git's index does. It stands for the full one
//! because no process can set a file's change time (ctime), short of setting the system
//! clock: writing, truncating, renaming over or `chmod`ing a file moves it to the present,
//! and `utime` cannot put it back. Any failed quick check falls back to the full one, which
//! takes the stamps again when it passes. A stamp whose ctime is not older than TAKEN (the
//! clock tick the stamps were taken in) is not trusted, since a change in that same tick
//! would leave the ctime as it was.
//!
//! What neither check stops is code that targets these records themselves: a build could
//! rewrite a RECORD, `.envtool-complete` or `.envtool-stamps` as well as the file. That is
//! beyond a check of files the build's own user can write; these checks catch what a build
//! writes into its environment, on purpose or not.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Marks a build environment complete (see the module comment).
const COMPLETE: &str = ".envtool-complete";
/// The stamps of its files (see the module comment).
const STAMPS: &str = ".envtool-stamps";
const STAMPS_HEADER: &str = "envtool-stamps-v1";

/// Whether `dir` is a build environment that was made to the end.
pub fn is_complete(dir: &Path) -> bool {
    dir.join("pyvenv.cfg").is_file() && dir.join(COMPLETE).is_file()
}

/// Mark `dir` (an environment being made) complete: record its pyvenv.cfg, the bytecode
/// below `site`, and the stamps of everything there.
pub fn mark_complete(dir: &Path, site: &Path) -> anyhow::Result<()> {
    let cfg = fs_err::read(dir.join("pyvenv.cfg"))?;
    let bytecode = if site.is_dir() {
        bytecode_manifest(site)?
    } else {
        String::new()
    };
    fs_err::write(
        dir.join(COMPLETE),
        format!("{}\n{bytecode}", sha256_hex(&cfg)),
    )?;
    // Without stamps the next reuse makes the full check (and takes them then).
    let _ = take_stamps(dir, site);
    Ok(())
}

/// Mark `dir` incomplete, so it is made again.
pub fn mark_incomplete(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(COMPLETE));
}

/// A reused build environment must hold exactly what was installed into it: every file its
/// distributions' RECORDs list, unchanged, nothing else on the import path (a build may
/// not plant `sitecustomize.py` or a `.pth` file for the next one), and its pyvenv.cfg
/// as written. Bytecode is kept only where it is what was compiled when the environment
/// was made; any other is removed (builds run without writing new ones).
pub fn verify(dir: &Path, site: &Path) -> Result<(), String> {
    let cfg = std::fs::read(dir.join("pyvenv.cfg")).map_err(|e| e.to_string())?;
    let recorded = std::fs::read_to_string(dir.join(COMPLETE)).unwrap_or_default();
    let mut lines = recorded.lines();
    if lines.next().map(str::trim) != Some(sha256_hex(&cfg).as_str()) {
        return Err("pyvenv.cfg changed".into());
    }
    if stamps_unchanged(dir, site) {
        return Ok(());
    }
    let compiled: HashMap<&str, &str> = lines
        .filter_map(|l| l.split_once(' '))
        .map(|(h, p)| (p, h))
        .collect();
    full_check(site, &compiled)?;
    let _ = take_stamps(dir, site);
    Ok(())
}

/// The full check (see `verify`), reading every file.
fn full_check(site: &Path, compiled: &HashMap<&str, &str>) -> Result<(), String> {
    let mut listed = HashSet::new();
    for entry in std::fs::read_dir(site)
        .map_err(|e| e.to_string())?
        .flatten()
    {
        let info = entry.path();
        if info.extension().is_none_or(|e| e != "dist-info") {
            continue;
        }
        let text = std::fs::read_to_string(info.join("RECORD")).map_err(|e| e.to_string())?;
        let rows = crate::dist::record::parse_record(&text).map_err(|e| e.to_string())?;
        for row in rows {
            let path = crate::fsx::normalize(&site.join(&row.path));
            if let Some(hash) = &row.hash {
                let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", row.path))?;
                if !crate::dist::record::hash_matches(hash, &bytes).unwrap_or(false) {
                    return Err(format!("{} changed", row.path));
                }
            }
            listed.insert(path);
        }
    }
    for entry in walkdir::WalkDir::new(site).min_depth(1) {
        let entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path();
        if entry.file_type().is_dir() {
            continue;
        }
        let rel = path.strip_prefix(site).unwrap_or(path);
        if in_pycache(rel) {
            let rel = rel.to_string_lossy();
            let same = compiled.get(rel.as_ref()).is_some_and(|hash| {
                std::fs::read(path).is_ok_and(|bytes| sha256_hex(&bytes) == *hash)
            });
            if !same {
                let _ = std::fs::remove_file(path);
            }
            continue;
        }
        if !listed.contains(&crate::fsx::normalize(path)) {
            return Err(format!(
                "{} is not part of any installed distribution",
                path.display()
            ));
        }
    }
    Ok(())
}

/// What the quick check compares of one file (see the module comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    mode: u32,
    size: u64,
    mtime: i128,
    ctime: i128,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            mode: meta.mode(),
            size: meta.size(),
            mtime: nanos(meta.mtime(), meta.mtime_nsec()),
            ctime: nanos(meta.ctime(), meta.ctime_nsec()),
        }
    }

    fn line(&self, rel: &str) -> String {
        let Stamp {
            dev,
            ino,
            mode,
            size,
            mtime,
            ctime,
        } = self;
        format!("{dev} {ino} {mode} {size} {mtime} {ctime} {rel}\n")
    }

    fn parse(line: &str) -> Option<(Stamp, &str)> {
        let mut fields = line.splitn(7, ' ');
        let mut next = || fields.next();
        let stamp = Stamp {
            dev: next()?.parse().ok()?,
            ino: next()?.parse().ok()?,
            mode: next()?.parse().ok()?,
            size: next()?.parse().ok()?,
            mtime: next()?.parse().ok()?,
            ctime: next()?.parse().ok()?,
        };
        Some((stamp, next()?))
    }
}

fn nanos(secs: i64, nsec: i64) -> i128 {
    i128::from(secs) * 1_000_000_000 + i128::from(nsec)
}

/// Every file below `site` (not directories; a symlink is a file here), relative to it.
fn files_below(site: &Path) -> impl Iterator<Item = Result<(String, Stamp), ()>> + '_ {
    walkdir::WalkDir::new(site)
        .min_depth(1)
        .into_iter()
        .filter(|entry| entry.as_ref().map_or(true, |e| !e.file_type().is_dir()))
        .map(move |entry| {
            let entry = entry.map_err(drop)?;
            let meta = entry.metadata().map_err(drop)?;
            let rel = entry.path().strip_prefix(site).map_err(drop)?;
            let rel = rel.to_str().filter(|r| !r.contains('\n')).ok_or(())?;
            Ok((rel.to_owned(), Stamp::of(&meta)))
        })
}

/// Record the stamps of everything below `site` in `dir`'s STAMPS file. TAKEN is the change
/// time of the new file, read before the first file is looked at.
fn take_stamps(dir: &Path, site: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = tempfile::NamedTempFile::new_in(dir)?;
    let taken = Stamp::of(&out.as_file().metadata()?).ctime;
    let mut text = format!("{STAMPS_HEADER} {taken}\n");
    for file in files_below(site) {
        let (rel, stamp) = file
            .map_err(|()| anyhow::anyhow!("a file below {} cannot be stamped", site.display()))?;
        text.push_str(&stamp.line(&rel));
    }
    out.write_all(text.as_bytes())?;
    out.persist(dir.join(STAMPS))?;
    Ok(())
}

/// The quick check: every file below `site` is there with the stamp recorded for it, that
/// stamp is older than the stamps themselves, and no recorded file is missing.
fn stamps_unchanged(dir: &Path, site: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join(STAMPS)) else {
        return false;
    };
    let mut lines = text.lines();
    let Some(taken) = lines
        .next()
        .and_then(|l| l.strip_prefix(STAMPS_HEADER))
        .and_then(|t| t.trim().parse::<i128>().ok())
    else {
        return false;
    };
    let mut recorded = HashMap::new();
    for line in lines {
        match Stamp::parse(line) {
            Some((stamp, rel)) if stamp.ctime < taken => {
                recorded.insert(rel, stamp);
            }
            _ => return false,
        }
    }
    let mut seen = 0;
    for file in files_below(site) {
        match file {
            Ok((rel, stamp)) if recorded.get(rel.as_str()) == Some(&stamp) => seen += 1,
            _ => return false,
        }
    }
    seen == recorded.len()
}

/// The `COMPLETE` lines of the bytecode below `site`, in walk order (directory entries sorted
/// by name, so the same tree gives the same lines). A path with a newline
/// cannot be a line: such a file is left out, and so removed when the environment is reused.
fn bytecode_manifest(site: &Path) -> anyhow::Result<String> {
    let mut out = String::new();
    for entry in walkdir::WalkDir::new(site).min_depth(1).sort_by_file_name() {
        let entry = entry?;
        let rel = entry.path().strip_prefix(site)?;
        let rel_text = rel.to_string_lossy();
        if entry.file_type().is_file() && in_pycache(rel) && !rel_text.contains('\n') {
            let hash = sha256_hex(&fs_err::read(entry.path())?);
            out.push_str(&format!("{hash} {rel_text}\n"));
        }
    }
    Ok(out)
}

/// Whether `rel` (relative to site-packages) is inside a `__pycache__` directory.
fn in_pycache(rel: &Path) -> bool {
    rel.components().any(|c| c.as_os_str() == "__pycache__")
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    data_encoding::HEXLOWER.encode(&sha2::Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// An environment root with `site` below it holding one module, stamped, and with the
    /// module's change time put safely before the stamps were taken.
    fn stamped() -> (tempfile::TempDir, std::path::PathBuf) {
        let root = tempfile::tempdir().unwrap();
        let site = root.path().join("site");
        std::fs::create_dir_all(site.join("pkg")).unwrap();
        std::fs::write(site.join("pkg/mod.py"), "x = 1\n").unwrap();
        std::fs::write(site.join("top.pth"), "# nothing\n").unwrap();
        // Past the coarse clock tick the files were written in.
        std::thread::sleep(std::time::Duration::from_millis(30));
        take_stamps(root.path(), &site).unwrap();
        (root, site)
    }

    #[test]
    fn an_untouched_tree_passes_the_quick_check() {
        let (root, site) = stamped();
        assert!(stamps_unchanged(root.path(), &site));
    }

    #[test]
    fn a_file_rewritten_to_the_same_size_and_time_fails_the_quick_check() {
        let (root, site) = stamped();
        let path = site.join("pkg/mod.py");
        let before = std::fs::metadata(&path).unwrap();
        std::fs::write(&path, "x = 2\n").unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(before.modified().unwrap()).unwrap();
        let after = std::fs::metadata(&path).unwrap();
        assert_eq!(
            (after.ino(), after.size(), after.modified().unwrap()),
            (before.ino(), before.size(), before.modified().unwrap())
        );
        assert!(!stamps_unchanged(root.path(), &site));
    }

    #[test]
    fn an_added_removed_replaced_or_chmoded_file_fails_the_quick_check() {
        let changes: [fn(&Path); 4] = [
            |site| std::fs::write(site.join("pkg/sitecustomize.py"), "").unwrap(),
            |site| std::fs::remove_file(site.join("top.pth")).unwrap(),
            |site| {
                std::fs::write(site.join("new"), "# nothing\n").unwrap();
                std::fs::rename(site.join("new"), site.join("top.pth")).unwrap();
            },
            |site| {
                std::fs::set_permissions(
                    site.join("top.pth"),
                    std::fs::Permissions::from_mode(0o600),
                )
                .unwrap()
            },
        ];
        for change in changes {
            let (root, site) = stamped();
            change(&site);
            assert!(!stamps_unchanged(root.path(), &site));
        }
    }

    #[test]
    fn stamps_from_the_tick_they_were_taken_in_are_not_trusted() {
        let (root, site) = stamped();
        let text = std::fs::read_to_string(root.path().join(STAMPS)).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        let (stamp, rel) = Stamp::parse(lines.next().unwrap()).unwrap();
        // TAKEN moved back to the first file's change time: that file is racy.
        let racy = format!("{STAMPS_HEADER} {}\n{}", stamp.ctime, stamp.line(rel));
        let rest: String = lines.map(|l| format!("{l}\n")).collect();
        std::fs::write(root.path().join(STAMPS), format!("{racy}{rest}")).unwrap();
        assert!(!stamps_unchanged(root.path(), &site));
        // ... and the same lines under the real TAKEN pass.
        std::fs::write(
            root.path().join(STAMPS),
            format!("{header}\n{}{rest}", stamp.line(rel)),
        )
        .unwrap();
        assert!(stamps_unchanged(root.path(), &site));
    }

    #[test]
    fn damaged_or_missing_stamps_fail_the_quick_check() {
        let (root, site) = stamped();
        let path = root.path().join(STAMPS);
        let text = std::fs::read_to_string(&path).unwrap();
        for damaged in [
            String::new(),
            text.replace(STAMPS_HEADER, "envtool-stamps-v0"),
            text.replacen(' ', " x", 2),
            format!("{text}1 2 3\n"),
        ] {
            std::fs::write(&path, damaged).unwrap();
            assert!(!stamps_unchanged(root.path(), &site));
        }
        std::fs::remove_file(&path).unwrap();
        assert!(!stamps_unchanged(root.path(), &site));
    }
}

//! All-or-nothing changes to an environment: an undo journal.
//!
//! Transaction state lives in envtool's state directory, `<env>/.envtool/` (created private;
//! the installer refuses any package file that would land there). Every change is journaled
//! before it is made: a file or directory about to be created, or an existing file moved aside
//! into the transaction directory (`<env>/.envtool/txn-*`). Files
//! created inside a directory this transaction created need no entry of their own: undoing the
//! directory removes them (most of a wheel lands in new directories, so this keeps the journal
//! to a few lines per package). Commit first marks the transaction committed (a file, made
//! durable), then deletes the moved-aside files; rollback undoes the journal backwards. A
//! process killed outright leaves the directory behind, and the next envtool command that opens
//! the environment rolls it back (or, when it was marked committed, finishes the commit).
//!
//! A journal is replayed only when it is provably envtool's: its first line names this
//! environment, the state directory is a real directory owned by this user that nobody else
//! can write, and every path it names lies inside the environment (no symbolic link on the
//! way) or inside the transaction directory.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::venv::STATE_DIR;
/// Transaction directories inside the state directory.
const PREFIX: &str = "txn-";
/// Where versions before the state directory kept transactions (still recovered).
const LEGACY_PREFIX: &str = ".envtool-txn-";
/// The first line of every journal.
const MAGIC: &str = "envtool-journal 1";
/// Present once a transaction is committed: recovery then finishes the commit.
const COMMITTED: &str = "committed";

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Step {
    Created(PathBuf),
    /// A directory this transaction created, with everything that ends up inside it.
    CreatedDir(PathBuf),
    /// A directory that may have existed before: removed on undo only if empty.
    MaybeCreatedDir(PathBuf),
    Moved {
        from: PathBuf,
        backup: PathBuf,
    },
}

/// The journal and what it knows, behind one lock: wheels are installed by several threads.
struct Journal {
    file: std::fs::File,
    steps: Vec<Step>,
    moved: usize,
    /// Directories created by this transaction.
    created_dirs: HashSet<PathBuf>,
}

pub struct Txn {
    dir: PathBuf,
    journal: Mutex<Journal>,
    done: bool,
}

impl Txn {
    /// Start a transaction on the environment at `root`, first rolling back any left by a
    /// killed process.
    pub fn begin(root: &Path) -> anyhow::Result<Txn> {
        recover(root)?;
        let state = state_dir(root)?;
        let dir = tempfile::Builder::new()
            .prefix(PREFIX)
            .tempdir_in(&state)
            .with_context(|| format!("cannot write into the environment {}", root.display()))?
            .keep();
        let mut file = std::fs::File::create(dir.join("journal"))
            .with_context(|| format!("cannot write {}", dir.display()))?;
        // One write: a kill leaves the whole header line or none of it.
        file.write_all(format!("{MAGIC} {}\n", root.display()).as_bytes())
            .with_context(|| format!("cannot write {}", dir.display()))?;
        Ok(Txn {
            dir,
            journal: Mutex::new(Journal {
                file,
                steps: Vec::new(),
                moved: 0,
                created_dirs: HashSet::new(),
            }),
            done: false,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Journal> {
        self.journal.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, step: Step) -> anyhow::Result<()> {
        let mut line = serde_json::to_vec(&step)?;
        line.push(b'\n');
        let mut journal = self.lock();
        journal
            .file
            .write_all(&line)
            .with_context(|| format!("cannot write the journal in {}", self.dir.display()))?;
        journal.steps.push(step);
        Ok(())
    }

    fn created(&self, dir: &Path) -> bool {
        self.lock().created_dirs.contains(dir)
    }

    /// `mkdir -p`, journaling each directory created (outside the lock, so threads create
    /// directories in parallel; a directory another thread made first is fine).
    pub fn create_dir_all(&self, dir: &Path) -> anyhow::Result<()> {
        if self.created(dir) || dir.is_dir() {
            return Ok(());
        }
        let missing: Vec<PathBuf> = dir
            .ancestors()
            .take_while(|a| !a.exists())
            .map(Path::to_path_buf)
            .collect();
        for d in missing.into_iter().rev() {
            if !d.parent().is_some_and(|p| self.created(p)) {
                self.record(Step::CreatedDir(d.clone()))?;
            }
            crate::fsx::make_dir(&d)?;
            self.lock().created_dirs.insert(d);
        }
        Ok(())
    }

    /// Journal that `path` is about to be created; an existing file there is moved aside first.
    pub fn will_create(&self, path: &Path) -> anyhow::Result<()> {
        crate::interrupt::check()?;
        if path.parent().is_some_and(|p| self.created(p)) {
            return Ok(());
        }
        if std::fs::symlink_metadata(path).is_ok() {
            self.move_aside(path)?;
        }
        if let Some(parent) = path.parent() {
            self.create_dir_all(parent)?;
            if self.created(parent) {
                return Ok(());
            }
        }
        self.record(Step::Created(path.to_path_buf()))
    }

    /// Make room at `path` when creating it failed because it exists (two distributions
    /// shipping the same file): a file this transaction made is replaced, an older one moved aside.
    pub fn clear_conflict(&self, path: &Path) -> anyhow::Result<()> {
        if path.parent().is_some_and(|p| self.created(p)) {
            fs_err::remove_file(path)?;
            Ok(())
        } else {
            self.move_aside(path)
        }
    }

    /// Move an existing file or directory out of the way (restored on rollback).
    pub fn move_aside(&self, path: &Path) -> anyhow::Result<()> {
        self.move_aside_all(&[path.to_path_buf()])
    }

    /// Move existing files or directories out of the way, in order: all are journaled and the
    /// journal made durable before the first one moves (a power loss cannot lose a file).
    pub fn move_aside_all(&self, paths: &[PathBuf]) -> anyhow::Result<()> {
        crate::interrupt::check()?;
        let mut moves = Vec::with_capacity(paths.len());
        for path in paths {
            let backup = {
                let mut journal = self.lock();
                journal.moved += 1;
                self.dir.join(format!("{}", journal.moved))
            };
            self.record(Step::Moved {
                from: path.to_path_buf(),
                backup: backup.clone(),
            })?;
            moves.push((path, backup));
        }
        self.sync();
        for (path, backup) in moves {
            fs_err::rename(path, &backup)?;
        }
        Ok(())
    }

    /// Journal that the directory `path` is about to appear (by a rename into place).
    pub fn will_create_dir(&self, path: &Path) -> anyhow::Result<()> {
        if std::fs::symlink_metadata(path).is_ok() {
            self.move_aside(path)?;
        }
        self.record(Step::CreatedDir(path.to_path_buf()))
    }

    /// Keep every change; drop what was moved aside.
    pub fn commit(mut self) -> anyhow::Result<()> {
        self.done = true;
        // Durable before anything is deleted: a commit cut short is finished, never undone.
        let marker = std::fs::File::create(self.dir.join(COMMITTED))
            .with_context(|| format!("cannot write {}", self.dir.display()))?;
        let _ = marker.sync_all();
        sync_dir(&self.dir);
        remove_tree(&self.dir);
        Ok(())
    }

    /// Make the journal durable (before changes that cannot be recreated, e.g. moving files
    /// aside).
    pub fn sync(&self) {
        let _ = self.lock().file.sync_data();
    }

    /// Undo every change, newest first.
    pub fn rollback(mut self) {
        self.done = true;
        undo(&self.lock().steps);
        remove_tree(&self.dir);
    }
}

impl Drop for Txn {
    fn drop(&mut self) {
        if !self.done {
            undo(&self.lock().steps);
            remove_tree(&self.dir);
        }
    }
}

fn undo(steps: &[Step]) {
    for step in steps.iter().rev() {
        match step {
            Step::Created(path) => {
                let _ = std::fs::remove_file(path);
            }
            Step::CreatedDir(path) => {
                let _ = std::fs::remove_dir_all(path);
            }
            Step::MaybeCreatedDir(path) => {
                let _ = std::fs::remove_dir(path);
            }
            Step::Moved { from, backup } => {
                if std::fs::symlink_metadata(backup).is_ok() {
                    if std::fs::symlink_metadata(from).is_ok() {
                        let _ = std::fs::remove_file(from);
                    }
                    let _ = std::fs::rename(backup, from);
                }
            }
        }
    }
}

fn remove_tree(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}

/// envtool's state directory in the environment at `root`: created private when missing, and
/// refused when it is not a real directory of this user that nobody else can write.
pub fn state_dir(root: &Path) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let dir = root.join(STATE_DIR);
    match std::fs::symlink_metadata(&dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(anyhow::Error::new(e).context(format!(
                        "cannot write into the environment {}",
                        root.display()
                    )))
                }
            }
        }
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("cannot read {}", dir.display())))
        }
        Ok(_) => {}
    }
    let meta = std::fs::symlink_metadata(&dir)?;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if !meta.is_dir() || meta.uid() != me || meta.mode() & 0o022 != 0 {
        return Err(crate::error::user(
            format!(
                "permission denied: {} is not this user's private directory (it belongs to another user, or others can write it)",
                dir.display()
            ),
            "change the environment as the user who owns it; if you know where that directory came from, remove it and run the command again",
        ));
    }
    Ok(dir)
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// A transaction directory left behind, with where it was found.
fn pending(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let state = root.join(STATE_DIR);
    if std::fs::symlink_metadata(&state).is_ok_and(|m| m.is_dir()) {
        if let Ok(rd) = std::fs::read_dir(&state) {
            out.extend(
                rd.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with(PREFIX))
                    .map(|e| e.path()),
            );
        }
    }
    if let Ok(rd) = std::fs::read_dir(root) {
        out.extend(
            rd.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(LEGACY_PREFIX))
                .map(|e| e.path()),
        );
    }
    out.sort();
    out
}

/// Whether a transaction is waiting to be rolled back (or its commit finished).
pub fn has_pending(root: &Path) -> bool {
    !pending(root).is_empty()
}

/// `path` lies inside `root` with no symbolic link between them (so undoing a step cannot
/// reach outside the environment).
fn inside(root: &Path, path: &Path) -> bool {
    let path = crate::fsx::normalize(path);
    let root = crate::fsx::normalize(root);
    if !path.starts_with(&root) || path == root {
        return false;
    }
    let mut at = root.clone();
    let rel: Vec<_> = path
        .strip_prefix(&root)
        .unwrap_or(&path)
        .components()
        .collect();
    for c in &rel[..rel.len().saturating_sub(1)] {
        at.push(c);
        if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            return false;
        }
    }
    true
}

/// A journal that may be replayed: written by envtool for this environment, every step inside
/// it (backups inside the transaction directory).
fn read_journal(root: &Path, dir: &Path, legacy: bool) -> Result<Vec<Step>, String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(dir).map_err(|e| e.to_string())?;
    // SAFETY: geteuid has no preconditions.
    if !meta.is_dir() || meta.uid() != unsafe { libc::geteuid() } || meta.mode() & 0o022 != 0 {
        return Err("its directory is not a private directory of this user".into());
    }
    let text = match std::fs::read_to_string(dir.join("journal")) {
        Ok(t) => t,
        // Killed before the journal existed: nothing was changed yet.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.to_string()),
    };
    let mut lines = text.lines();
    if !legacy {
        let expected = format!("{MAGIC} {}", root.display());
        match lines.next() {
            None => return Ok(Vec::new()),
            Some(first) if first == expected => {}
            // The header cut short by a kill (older versions wrote it in pieces): nothing
            // was journaled, so nothing was changed.
            Some(first) if !text.contains('\n') && expected.starts_with(first) => {
                return Ok(Vec::new())
            }
            Some(_) => return Err("it was not written by envtool for this environment".into()),
        }
    }
    let mut steps = Vec::new();
    for line in lines {
        // A last line cut short by a crash was never acted on.
        let Ok(step) = serde_json::from_str::<Step>(line) else {
            continue;
        };
        let ok = match &step {
            Step::Created(p) | Step::CreatedDir(p) | Step::MaybeCreatedDir(p) => inside(root, p),
            Step::Moved { from, backup } => {
                inside(root, from)
                    && crate::fsx::normalize(backup).parent() == Some(&crate::fsx::normalize(dir))
            }
        };
        if !ok {
            return Err(format!(
                "it names a path outside the environment ({step:?})"
            ));
        }
        steps.push(step);
    }
    Ok(steps)
}

/// Roll back transactions a killed process left in the environment (finish those that were
/// committed). Refuses a journal envtool did not write, changing nothing.
pub fn recover(root: &Path) -> anyhow::Result<()> {
    for dir in pending(root) {
        let legacy = dir
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(LEGACY_PREFIX));
        if dir.join(COMMITTED).exists() {
            remove_tree(&dir);
            continue;
        }
        let steps = read_journal(root, &dir, legacy).map_err(|why| {
            crate::error::user(
                format!(
                    "{} holds an undo journal envtool will not replay: {why}",
                    dir.display()
                ),
                "nothing was changed; if you did not expect it, inspect and remove that directory, then run the command again",
            )
        })?;
        crate::output::warn(&format!(
            "rolling back an interrupted change to {} ({} steps)",
            root.display(),
            steps.len()
        ));
        undo(&steps);
        remove_tree(&dir);
    }
    Ok(())
}

impl Txn {
    /// Journal a file something else already created (byte-compiled files), so rollback removes it.
    pub fn record_existing(&self, path: &Path) -> anyhow::Result<()> {
        if path.parent().is_some_and(|p| self.created(p)) {
            return Ok(());
        }
        if let Some(parent) = path.parent() {
            if parent.file_name().is_some_and(|n| n == "__pycache__") {
                // The directory may be new; rollback removes it only if it ends up empty.
                self.record(Step::MaybeCreatedDir(parent.to_path_buf()))?;
            }
        }
        self.record(Step::Created(path.to_path_buf()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_cut_short_by_a_kill_is_an_empty_journal_and_a_foreign_one_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let header = format!("{MAGIC} {}", root.path().display());
        for cut in [1, MAGIC.len(), MAGIC.len() + 1, header.len() - 1] {
            std::fs::write(dir.path().join("journal"), &header[..cut]).unwrap();
            assert_eq!(
                read_journal(root.path(), dir.path(), false).unwrap().len(),
                0,
                "{cut}"
            );
        }
        std::fs::write(dir.path().join("journal"), format!("{header}\n")).unwrap();
        assert!(read_journal(root.path(), dir.path(), false)
            .unwrap()
            .is_empty());
        std::fs::write(dir.path().join("journal"), format!("{MAGIC} /elsewhere\n")).unwrap();
        assert!(read_journal(root.path(), dir.path(), false).is_err());
        std::fs::write(dir.path().join("journal"), format!("{MAGIC} /elsewhere")).unwrap();
        assert!(read_journal(root.path(), dir.path(), false).is_err());
    }
}

//! All-or-nothing changes to an environment: an undo journal.
//!
//! Every change is journaled before it is made: a file or directory about to be created, or an
//! existing file moved aside into the transaction directory (`<env>/.envtool-txn-*`). Files
//! created inside a directory this transaction created need no entry of their own: undoing the
//! directory removes them (most of a wheel lands in new directories, so this keeps the journal
//! to a few lines per package). Commit
//! deletes the moved-aside files; rollback undoes the journal backwards. A process killed
//! outright leaves the directory behind, and the next envtool run on the environment rolls it back.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use serde::{Deserialize, Serialize};

const PREFIX: &str = ".envtool-txn-";

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
        let dir = tempfile::Builder::new()
            .prefix(PREFIX)
            .tempdir_in(root)
            .with_context(|| format!("cannot write into the environment {}", root.display()))?
            .keep();
        let file = std::fs::File::create(dir.join("journal"))
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
            match std::fs::create_dir(&d) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && d.is_dir() => {}
                Err(e) => {
                    return Err(
                        anyhow::Error::new(e).context(format!("cannot create {}", d.display()))
                    )
                }
            }
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
        crate::interrupt::check()?;
        let backup = {
            let mut journal = self.lock();
            journal.moved += 1;
            self.dir.join(format!("{}", journal.moved))
        };
        self.record(Step::Moved {
            from: path.to_path_buf(),
            backup: backup.clone(),
        })?;
        fs_err::rename(path, &backup)?;
        Ok(())
    }

    /// Keep every change; drop what was moved aside.
    pub fn commit(mut self) -> anyhow::Result<()> {
        self.done = true;
        remove_tree(&self.dir);
        Ok(())
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

/// Roll back transactions a killed process left in the environment.
pub fn recover(root: &Path) -> anyhow::Result<()> {
    let Ok(rd) = std::fs::read_dir(root) else {
        return Ok(());
    };
    for entry in rd.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(PREFIX) {
            continue;
        }
        let dir = entry.path();
        let steps: Vec<Step> = std::fs::read_to_string(dir.join("journal"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
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

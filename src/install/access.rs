//! Opening an environment: one writer at a time, readers beside each other, and a pending
//! transaction (a killed envtool) rolled back before anyone looks.
//!
//! The lock is a kernel file lock (`flock`) on the environment's private state directory,
//! `<env>/.envtool` (0700: no other user can open it, so none can hold the lock), so a process
//! that dies releases it. Locking the directory itself costs `create` no extra file. A writer
//! holds it exclusively for its whole change; a reader holds it shared; a command that has to
//! wait names the holder (from the kernel's lock table). Whoever finds a pending transaction
//! takes the lock exclusively, rolls it back (saying so), and goes on.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::txn;
use crate::error::user;
use crate::venv::STATE_DIR;

/// Holds an environment's lock until dropped.
#[derive(Debug)]
pub struct EnvLock {
    _file: Option<File>,
}

/// How long a command waits for another one's lock: `ENVTOOL_LOCK_TIMEOUT` seconds, else 300.
fn lock_timeout() -> Duration {
    let secs = crate::env_vars::non_empty_var(crate::env_vars::ENVTOOL_LOCK_TIMEOUT)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(300);
    Duration::from_secs(secs)
}

fn lock_path(root: &Path) -> PathBuf {
    root.join(STATE_DIR)
}

/// Who holds the lock: the kernel's lock table (`/proc/locks`) names the process, its
/// command line says what it does. Nothing is written, so taking the lock changes no file.
fn holder(file: &File) -> String {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = file.metadata() else {
        return "another envtool".into();
    };
    let inode = meta.ino().to_string();
    let locks = std::fs::read_to_string("/proc/locks").unwrap_or_default();
    let pid = locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // `N: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE START END`
        let at = fields.iter().position(|f| *f == "FLOCK")?;
        let (pid, id) = (fields.get(at + 3)?, fields.get(at + 4)?);
        (id.rsplit(':').next() == Some(inode.as_str())).then(|| pid.to_string())
    });
    let Some(pid) = pid.filter(|p| *p != std::process::id().to_string()) else {
        return "another envtool".into();
    };
    let command = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| {
            let words: Vec<String> = raw
                .split(|b| *b == 0)
                .filter(|w| !w.is_empty())
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect();
            crate::redact::text_of(&words.join(" "))
        })
        .unwrap_or_default();
    format!("pid {pid} ({command})")
}

/// Take the lock (exclusive or shared), waiting up to the timeout and saying once who holds it.
fn acquire(root: &Path, file: &File, exclusive: bool, what: &str) -> anyhow::Result<()> {
    let try_once = |f: &File| {
        if exclusive {
            f.try_lock()
        } else {
            f.try_lock_shared()
        }
    };
    let started = Instant::now();
    let limit = lock_timeout();
    let mut told = false;
    loop {
        match try_once(file) {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(anyhow::Error::new(e)
                    .context(format!("cannot lock {}", lock_path(root).display())))
            }
        }
        let who = holder(file);
        if started.elapsed() >= limit {
            return Err(user(
                format!(
                    "{} is being changed by {who}, and it did not finish within {}s (to {what})",
                    root.display(),
                    limit.as_secs()
                ),
                "wait for it to finish, or give it longer with ENVTOOL_LOCK_TIMEOUT (seconds)",
            ));
        }
        if !told {
            crate::output::info(&format!(
                "Waiting for {who} to finish with {}",
                root.display()
            ));
            told = true;
        }
        crate::interrupt::check()?;
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Open the environment at `root` to change it: the exclusive lock (created with the state
/// directory when missing), then any pending transaction rolled back.
pub fn for_change(root: &Path, what: &str) -> anyhow::Result<EnvLock> {
    let path = txn::state_dir(root)?;
    let file =
        File::open(&path).with_context(|| format!("cannot open the lock {}", path.display()))?;
    acquire(root, &file, true, what)?;
    txn::recover(root)?;
    Ok(EnvLock { _file: Some(file) })
}

/// Open the environment at `root` to read it: a shared lock, after rolling back a pending
/// transaction under an exclusive one. An environment envtool never changed has no lock (and
/// nothing to roll back); one this user cannot write is read as it is.
pub fn for_reading(root: &Path, what: &str) -> anyhow::Result<EnvLock> {
    let path = lock_path(root);
    let Ok(file) = File::options().read(true).open(&path) else {
        if txn::has_pending(root) {
            return for_change(root, what);
        }
        return Ok(EnvLock { _file: None });
    };
    acquire(root, &file, false, what)?;
    if txn::has_pending(root) {
        drop(file);
        let change = for_change(root, what)?;
        drop(change);
        return for_reading(root, what);
    }
    Ok(EnvLock { _file: Some(file) })
}

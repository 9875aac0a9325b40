#![allow(dead_code)]
#![allow(unused_imports)]
//! Shared support code for envtool's integration tests.
//!
//! * [`wheel`]: [`WheelBuilder`] builds real, PEP 427 conformant wheels, plus small
//!   file helpers ([`sha256_hex`], [`truncate_file`], [`metadata_of`]).
//! * [`index`]: [`IndexServer`] is a real HTTP package index (PEP 503 / 691 / 658 / 714)
//!   on `127.0.0.1`, serving the files of a directory.
//! * Python helpers: [`find_python`], [`require_python`], [`pip_command`].
//!
//! Every test binary declares `mod support;`, and most use only part of this module,
//! hence the `allow`s above.

pub mod index;
pub mod wheel;

pub use index::{normalize_project_name, IndexServer, LoggedRequest, Mode};
pub use wheel::{
    escape_dist_name, metadata_of, read_wheel_entry, sha256_hex, truncate_file, wheel_entry_names,
    WheelBuilder,
};

use std::path::{Path, PathBuf};
use std::process::Command;

/// Finds a real CPython 3 interpreter for tests.
///
/// Order: the `ENVTOOL_TEST_PYTHON` environment variable (if set and non-empty), then
/// `~/.pyenv/versions/3.11.*/bin/python3`, then the newest `~/.pyenv/versions/3.*/bin/python3`.
/// Returns `None` when none exists.
pub fn find_python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ENVTOOL_TEST_PYTHON") {
        if !p.is_empty() {
            return Some(PathBuf::from(p));
        }
    }
    let home = PathBuf::from(std::env::var_os("HOME")?);
    let versions_dir = home.join(".pyenv").join("versions");
    // (minor, patch, path) of every ~/.pyenv/versions/3.X.Y/bin/python3 that exists.
    let mut found: Vec<(u32, u32, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(&versions_dir).ok()?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let mut parts = name.split('.');
        if parts.next() != Some("3") {
            continue;
        }
        let minor = parts.next().and_then(|s| s.parse::<u32>().ok());
        let patch = parts
            .next()
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(0);
        let python = entry.path().join("bin").join("python3");
        if let Some(minor) = minor {
            if python.is_file() {
                found.push((minor, patch, python));
            }
        }
    }
    // Prefer 3.11 (the version the project targets), else the newest 3.x.
    found.sort_by_key(|(minor, patch, _)| std::cmp::Reverse((*minor == 11, *minor, *patch)));
    found.into_iter().next().map(|(_, _, p)| p)
}

/// Like [`find_python`], but panics with a clear message when no interpreter is found.
pub fn require_python() -> PathBuf {
    find_python().expect(
        "no Python 3 interpreter found for the tests: install one under ~/.pyenv/versions/3.* \
         or set ENVTOOL_TEST_PYTHON",
    )
}

/// A `python -m pip` command isolated from the user's pip configuration:
/// `PIP_CONFIG_FILE=/dev/null`, empty `PIP_FIND_LINKS`, `PIP_NO_CACHE_DIR=1`,
/// no version check, no input prompts; `PIP_INDEX_URL`/`PIP_EXTRA_INDEX_URL` are removed.
pub fn pip_command(python: &Path) -> Command {
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pip"])
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env("PIP_FIND_LINKS", "")
        .env("PIP_NO_CACHE_DIR", "1")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_NO_INPUT", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PIP_INDEX_URL")
        .env_remove("PIP_EXTRA_INDEX_URL")
        .env_remove("PYTHONPATH");
    cmd
}

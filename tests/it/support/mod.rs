//! Shared support for envtool's integration tests, in one place:
//!
//! * [`common`]: [`TestEnv`](common::TestEnv) runs the real binary in a private scratch tree;
//!   assertion helpers; the interpreters the tests use.
//! * [`fixture`]: a small package world (a private cache, a local index, real pip as the oracle).
//! * [`wheel`]: [`WheelBuilder`] builds real, PEP 427 conformant wheels, plus file helpers.
//! * [`index`]: [`IndexServer`] is a real HTTP package index (PEP 503 / 691 / 658 / 714)
//!   on `127.0.0.1`, serving the files of a directory.
//! * [`skip`]: how a test without its prerequisite says so (and fails under `CI=true`).
//!
//! Interpreters: `ENVTOOL_TEST_PYTHON` names the one most tests use; otherwise the tests ask
//! envtool itself (`envtool python list --json`), as a user's `--python` would find them.

pub mod common;
pub mod fixture;
pub mod index;
pub mod wheel;

pub use index::{normalize_project_name, IndexServer, Mode};
pub use wheel::{
    escape_dist_name, metadata_of, read_wheel_entry, sha256_hex, truncate_file, wheel_entry_names,
    WheelBuilder,
};

use std::path::{Path, PathBuf};
use std::process::Command;

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

/// A network-tier test whose default index cannot be reached says so on a `SKIP:` line and
/// passes, also under `CI=true`: the network tier is meant to skip cleanly offline.
pub fn skip_offline(reason: &str) {
    eprintln!("SKIP (offline): {reason}");
}

/// A test that cannot run here says why on a `SKIP:` line and passes; under `CI=true` a
/// missing prerequisite is a failure instead, so CI never reports a test that checked nothing.
pub fn skip(reason: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("prerequisite missing under CI=true: {reason}");
    }
    eprintln!("SKIP: {reason}");
}

/// A wheel from the default index, downloaded once per target directory by pip (kept in
/// `CARGO_TARGET_TMPDIR/downloads`); None when the index cannot be reached.
pub fn downloaded_wheel(requirement: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("downloads");
    std::fs::create_dir_all(&dir).ok()?;
    let name = requirement.split(['=', '<', '>']).next()?.replace('-', "_");
    let find = || {
        std::fs::read_dir(&dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                let file = p
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .to_lowercase();
                file.starts_with(&format!("{name}-")) && file.ends_with(".whl")
            })
    };
    if let Some(found) = find() {
        return Some(found);
    }
    let out = pip_command(&common::python())
        .args([
            "download",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--timeout",
            "20",
            "-d",
        ])
        .arg(&dir)
        .arg(requirement)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    find()
}

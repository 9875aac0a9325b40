//! Finding the environment a command acts on, and the interpreter facts behind it.

use std::path::{Path, PathBuf};

use crate::cache::Cache;
use crate::env_vars;
use crate::error::user;
use crate::python::facts::{facts_for, Facts};
use crate::venv::Venv;

/// `--env DIR`, else `$VIRTUAL_ENV`, else `./.venv`.
pub fn select_env(explicit: Option<&Path>) -> anyhow::Result<Venv> {
    if let Some(dir) = explicit {
        return Venv::open(dir);
    }
    if let Some(dir) = std::env::var_os(env_vars::VIRTUAL_ENV).filter(|v| !v.is_empty()) {
        return Venv::open(Path::new(&dir));
    }
    let local = PathBuf::from(".venv");
    if local.join("pyvenv.cfg").is_file() {
        return Venv::open(&local);
    }
    Err(user(
        "no environment given: VIRTUAL_ENV is not set and ./.venv does not exist",
        "pass the environment (--env DIR), activate one, or create ./.venv with `envtool create`",
    ))
}

/// The facts of the interpreter an environment runs on.
pub fn env_facts(venv: &Venv, cache: &Cache) -> anyhow::Result<Facts> {
    let python = venv.python();
    let real = std::fs::canonicalize(&python).map_err(|_| {
        let target = std::fs::read_link(&python)
            .map(|t| t.display().to_string())
            .unwrap_or_else(|_| python.display().to_string());
        user(
            format!(
                "the interpreter of {} is gone ({target})",
                venv.root.display()
            ),
            format!(
                "recreate the environment: envtool create --clear {} --python {}",
                venv.root.display(),
                venv.recorded_version()
                    .and_then(|v| v.rsplit_once('.').map(|(minor, _)| minor.to_string()))
                    .unwrap_or_else(|| "PY".into())
            ),
        )
    })?;
    facts_for(&real, cache)
}

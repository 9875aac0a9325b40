//! Flags, `ENVTOOL_*` variables and (later) pip's configuration merged into one value per run.

use std::path::PathBuf;

use crate::cli::GlobalArgs;
use crate::env_vars;

/// Where things live for this run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub cache_dir: PathBuf,
    /// Keeps a `--no-cache` directory alive until the run ends.
    _temp_cache: Option<std::sync::Arc<tempfile::TempDir>>,
    pub offline: bool,
}

impl Settings {
    pub fn from_globals(globals: &GlobalArgs) -> anyhow::Result<Self> {
        let (cache_dir, temp) = if globals.no_cache {
            let dir = tempfile::Builder::new().prefix("envtool-cache-").tempdir()?;
            (dir.path().to_path_buf(), Some(std::sync::Arc::new(dir)))
        } else if let Some(dir) = &globals.cache_dir {
            (absolute(dir), None)
        } else if let Some(dir) = non_empty_var(env_vars::ENVTOOL_CACHE_DIR) {
            (absolute(&PathBuf::from(dir)), None)
        } else {
            (default_cache_dir(), None)
        };
        let offline = globals.offline
            || non_empty_var(env_vars::ENVTOOL_OFFLINE)
                .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"));
        Ok(Settings {
            cache_dir,
            _temp_cache: temp,
            offline,
        })
    }
}

pub fn non_empty_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn absolute(path: &std::path::Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn default_cache_dir() -> PathBuf {
    match directories::BaseDirs::new() {
        Some(dirs) => dirs.cache_dir().join("envtool"),
        None => std::env::temp_dir().join("envtool-cache"),
    }
}

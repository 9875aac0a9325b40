//! Where envtool keeps things by default: the cache, packed executables' extractions, tool
//! environments and their shims. Each can be redirected by a variable (`env_vars`).

use std::path::PathBuf;

use crate::env_vars::{self, non_empty_var};

fn absolute(dir: String) -> PathBuf {
    std::path::absolute(PathBuf::from(&dir)).unwrap_or_else(|_| PathBuf::from(dir))
}

fn home() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf())
}

/// The platform cache directory's `envtool` (e.g. `~/.cache/envtool`). Without a home
/// directory: a directory named after this user in the temporary directory (the cache refuses
/// it unless it is this user's own and private, so another user cannot plant it).
pub fn default_cache_dir() -> PathBuf {
    match directories::BaseDirs::new() {
        Some(dirs) => dirs.cache_dir().join("envtool"),
        // SAFETY: geteuid has no preconditions.
        None => std::env::temp_dir().join(format!("envtool-cache-{}", unsafe { libc::geteuid() })),
    }
}

/// Where packed executables extract themselves (as their bootstrap computes it):
/// `ENVTOOL_PACK_ROOT`, else `$XDG_CACHE_HOME/envtool/pack-v1`, else `~/.cache/envtool/pack-v1`;
/// a relative one from the working directory.
pub fn pack_root() -> Option<PathBuf> {
    if let Some(dir) = non_empty_var(env_vars::ENVTOOL_PACK_ROOT) {
        return Some(absolute(dir));
    }
    let xdg = non_empty_var(env_vars::XDG_CACHE_HOME).map(PathBuf::from);
    let base = xdg.or_else(|| home().map(|h| h.join(".cache")))?;
    let root = base.join("envtool").join("pack-v1");
    Some(std::path::absolute(&root).unwrap_or(root))
}

/// Where tools live: `ENVTOOL_TOOL_DIR`, else the platform data dir's `envtool/tools`.
pub fn tool_dir() -> PathBuf {
    if let Some(dir) = non_empty_var(env_vars::ENVTOOL_TOOL_DIR) {
        return absolute(dir);
    }
    directories::BaseDirs::new()
        .map(|d| d.data_dir().join("envtool").join("tools"))
        .unwrap_or_else(|| PathBuf::from(".envtool-tools"))
}

/// Where shims go: `ENVTOOL_BIN_DIR`, else `XDG_BIN_HOME`, else `~/.local/bin`.
pub fn bin_dir() -> PathBuf {
    for var in [env_vars::ENVTOOL_BIN_DIR, env_vars::XDG_BIN_HOME] {
        if let Some(dir) = non_empty_var(var) {
            return absolute(dir);
        }
    }
    home()
        .map(|h| h.join(".local").join("bin"))
        .unwrap_or_else(|| PathBuf::from(".local/bin"))
}

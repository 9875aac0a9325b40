//! Every environment variable envtool reads. The README's table is written from these doc comments.

/// Log level when no `-q`/`-v` is given: `error`, `info` (default), `debug`, `trace`.
pub const ENVTOOL_LOG: &str = "ENVTOOL_LOG";
/// The cache directory (default: the platform cache dir, e.g. `~/.cache/envtool`).
pub const ENVTOOL_CACHE_DIR: &str = "ENVTOOL_CACHE_DIR";
/// Never touch the network when set to `1`/`true`.
pub const ENVTOOL_OFFLINE: &str = "ENVTOOL_OFFLINE";
/// The primary package index (Simple API root).
pub const ENVTOOL_INDEX_URL: &str = "ENVTOOL_INDEX_URL";
/// More indexes, separated by spaces.
pub const ENVTOOL_EXTRA_INDEX_URL: &str = "ENVTOOL_EXTRA_INDEX_URL";
/// Flat directories or pages of distribution files, separated by spaces.
pub const ENVTOOL_FIND_LINKS: &str = "ENVTOOL_FIND_LINKS";
/// Disables colour when set to a non-empty value.
pub const NO_COLOR: &str = "NO_COLOR";
/// Set by `run` to the environment's directory; read to find the active environment.
pub const VIRTUAL_ENV: &str = "VIRTUAL_ENV";
/// pyenv's root (default `~/.pyenv`): its `versions/` are searched and its shims seen through.
pub const PYENV_ROOT: &str = "PYENV_ROOT";
/// pyenv's selected version(s), colon separated, as pyenv reads it.
pub const PYENV_VERSION: &str = "PYENV_VERSION";
/// Searched for interpreters and commands.
pub const PATH: &str = "PATH";
/// Unset by `run`: a set `PYTHONHOME` breaks virtual environments.
pub const PYTHONHOME: &str = "PYTHONHOME";
/// Constraint files applied to every resolution, separated by spaces.
pub const ENVTOOL_CONSTRAINT: &str = "ENVTOOL_CONSTRAINT";
/// Override files applied to every resolution, separated by spaces.
pub const ENVTOOL_OVERRIDE: &str = "ENVTOOL_OVERRIDE";
/// How files get from the cache into environments: `hardlink` (default), `copy`, `clone`.
pub const ENVTOOL_LINK_MODE: &str = "ENVTOOL_LINK_MODE";
/// The certificate bundle to trust in addition to the system store.
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";
/// How many downloads run at once (default 8).
pub const ENVTOOL_CONCURRENT_DOWNLOADS: &str = "ENVTOOL_CONCURRENT_DOWNLOADS";
/// Where tool environments live (default: the platform data dir, e.g. `~/.local/share/envtool/tools`).
pub const ENVTOOL_TOOL_DIR: &str = "ENVTOOL_TOOL_DIR";
/// Where tool shims go (default: `XDG_BIN_HOME`, else `~/.local/bin`).
pub const ENVTOOL_BIN_DIR: &str = "ENVTOOL_BIN_DIR";
/// The XDG user bin directory, used for shims when `ENVTOOL_BIN_DIR` is unset.
pub const XDG_BIN_HOME: &str = "XDG_BIN_HOME";
/// The user's shell, to print the right line for adding the bin directory to PATH.
pub const SHELL: &str = "SHELL";
/// Where packed executables extract themselves (read by the pack's bootstrap; pruned by
/// `cache prune`). Default: `pack-v1` in the user cache dir.
pub const ENVTOOL_PACK_ROOT: &str = "ENVTOOL_PACK_ROOT";
/// The most one archive (wheel or sdist) may expand to, in bytes (default 8 GiB).
pub const ENVTOOL_MAX_UNPACKED_BYTES: &str = "ENVTOOL_MAX_UNPACKED_BYTES";
/// The most one index page or metadata response may hold, in bytes (default 256 MiB).
pub const ENVTOOL_MAX_RESPONSE_BYTES: &str = "ENVTOOL_MAX_RESPONSE_BYTES";
/// Seconds a source build may run before it is ended (default 3600).
pub const ENVTOOL_BUILD_TIMEOUT: &str = "ENVTOOL_BUILD_TIMEOUT";
/// Seconds a connection may stay silent before a request is given up (default 60).
pub const ENVTOOL_HTTP_TIMEOUT: &str = "ENVTOOL_HTTP_TIMEOUT";
/// The netrc file with credentials for indexes (default `~/.netrc`).
pub const NETRC: &str = "NETRC";
/// The user cache directory (for packed executables' extractions).
pub const XDG_CACHE_HOME: &str = "XDG_CACHE_HOME";
/// Seconds a command waits for another envtool to finish with an environment (default 300).
pub const ENVTOOL_LOCK_TIMEOUT: &str = "ENVTOOL_LOCK_TIMEOUT";
/// Pins timestamps in packed executables (reproducible builds).
pub const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";

/// The value of `name`, unless it is unset or blank.
pub fn non_empty_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A space-separated list variable (empty when unset).
pub fn list_var(name: &str) -> Vec<String> {
    non_empty_var(name)
        .map(|v| v.split_whitespace().map(String::from).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    /// Every variable envtool reads is documented in the README's table.
    #[test]
    fn readme_lists_every_variable() {
        let readme = include_str!("../README.md");
        let source = include_str!("env_vars.rs");
        for line in source.lines() {
            let Some(rest) = line.strip_prefix("pub const ") else {
                continue;
            };
            let name = rest.split(':').next().unwrap().trim();
            assert!(
                readme.contains(&format!("`{name}`")),
                "README does not document {name}"
            );
        }
    }
}

//! Seeing through pyenv's shims without running them.
//!
//! A shim (`$PYENV_ROOT/shims/python3`) is a bash script that costs ~100 ms a call and, linked
//! from a venv, hides the venv from the interpreter. pyenv picks the version from
//! `PYENV_VERSION`, then `.python-version` files from the working directory upwards, then
//! `$PYENV_ROOT/version`, else `system`; we read the same places.

use std::path::{Path, PathBuf};

use crate::env_vars;

#[derive(Debug, Clone)]
pub struct Pyenv {
    pub root: PathBuf,
}

impl Pyenv {
    pub fn from_env() -> Option<Pyenv> {
        let root = match std::env::var_os(env_vars::PYENV_ROOT).filter(|v| !v.is_empty()) {
            Some(root) => PathBuf::from(root),
            None => directories::BaseDirs::new()?.home_dir().join(".pyenv"),
        };
        Some(Pyenv { root })
    }

    pub fn versions_dir(&self) -> PathBuf {
        self.root.join("versions")
    }

    /// Whether `path` is a pyenv shim: it lives in a `shims` dir and is a script mentioning pyenv.
    pub fn is_shim(&self, path: &Path) -> bool {
        let Some(parent) = path.parent() else {
            return false;
        };
        if parent == self.root.join("shims") {
            return true;
        }
        if parent.file_name().is_none_or(|n| n != "shims") {
            return false;
        }
        let mut head = [0u8; 512];
        let n = std::fs::File::open(path)
            .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
            .unwrap_or(0);
        head.starts_with(b"#!") && head[..n].windows(5).any(|w| w == b"pyenv")
    }

    /// The versions pyenv would select, in order.
    pub fn selected_versions(&self) -> Vec<String> {
        if let Ok(v) = std::env::var(env_vars::PYENV_VERSION) {
            let versions: Vec<String> = v
                .split(':')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            if !versions.is_empty() {
                return versions;
            }
        }
        if let Ok(cwd) = std::env::current_dir() {
            for dir in cwd.ancestors() {
                if let Some(versions) = read_version_file(&dir.join(".python-version")) {
                    return versions;
                }
            }
        }
        read_version_file(&self.root.join("version")).unwrap_or_else(|| vec!["system".into()])
    }

    /// The binary a shim named `program` would run, or None when pyenv would fail.
    pub fn resolve_shim(&self, program: &str) -> Option<PathBuf> {
        for version in self.selected_versions() {
            if version == "system" {
                if let Some(found) = self.system_program(program) {
                    return Some(found);
                }
                continue;
            }
            let Some(dir) = self.version_dir(&version) else {
                continue;
            };
            let candidate = dir.join("bin").join(program);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
        None
    }

    /// `versions/<v>`, or the newest installed `<v>.N` when `<v>` is a prefix (as `pyenv latest`).
    fn version_dir(&self, version: &str) -> Option<PathBuf> {
        let version = version.strip_prefix("python-").unwrap_or(version);
        let exact = self.versions_dir().join(version);
        if exact.is_dir() {
            return Some(exact);
        }
        let prefix = format!("{version}.");
        let mut best: Option<(Vec<u64>, PathBuf)> = None;
        for entry in std::fs::read_dir(self.versions_dir()).ok()?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix(&prefix) else {
                continue;
            };
            if !rest
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            {
                continue;
            }
            let key: Vec<u64> = name.split('.').filter_map(|p| p.parse().ok()).collect();
            if best.as_ref().is_none_or(|(k, _)| key > *k) {
                best = Some((key, entry.path()));
            }
        }
        best.map(|(_, p)| p)
    }

    /// `program` on PATH outside pyenv's shim directories.
    fn system_program(&self, program: &str) -> Option<PathBuf> {
        let path = std::env::var_os(env_vars::PATH)?;
        std::env::split_paths(&path)
            .filter(|dir| !dir.ends_with("shims"))
            .map(|dir| dir.join(program))
            .find(|p| super::discovery::is_executable(p))
    }
}

/// A `.python-version` file: whitespace-separated versions, `#` comments; None if absent or empty.
fn read_version_file(path: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(path).ok()?;
    let versions: Vec<String> = text
        .lines()
        .map(|l| l.trim())
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.split_whitespace())
        .filter(|v| *v != "..")
        .map(String::from)
        .collect();
    (!versions.is_empty()).then_some(versions)
}

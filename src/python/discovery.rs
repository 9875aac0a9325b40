//! Finding an interpreter for a `--python` request: a version, a name or a path.
//! Search order: PATH, then pyenv's versions dir, then `/usr/bin` and `/usr/local/bin`.

use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::facts::{facts_for, Facts};
use super::pyenv::Pyenv;
use crate::cache::Cache;
use crate::env_vars;
use crate::error::user;

/// The oldest Python envtool supports.
pub const MINIMUM: (u32, u32) = (3, 8);

/// What the user asked for with `--python`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `3`, `3.12`, `3.12.1`
    Version(Vec<u32>),
    /// `python3.12`, `pypy3`
    Name(String),
    /// anything with a `/`
    Path(PathBuf),
}

impl Request {
    pub fn parse(text: &str) -> Request {
        let text = text.trim();
        if text.contains('/') || text.starts_with('.') || text.starts_with('~') {
            let expanded = match text.strip_prefix("~/") {
                Some(rest) => directories::BaseDirs::new()
                    .map(|d| d.home_dir().join(rest))
                    .unwrap_or_else(|| PathBuf::from(text)),
                None => PathBuf::from(text),
            };
            return Request::Path(expanded);
        }
        let numeric = text.strip_prefix("cpython").unwrap_or(text);
        let parts: Option<Vec<u32>> = numeric.split('.').map(|p| p.parse().ok()).collect();
        match parts {
            Some(parts) if (1..=3).contains(&parts.len()) => Request::Version(parts),
            _ => Request::Name(text.to_string()),
        }
    }

    fn matches(&self, facts: &Facts) -> bool {
        match self {
            Request::Version(parts) => {
                let have = [facts.version.0, facts.version.1, facts.version.2];
                parts.iter().zip(have.iter()).all(|(a, b)| a == b)
            }
            _ => true,
        }
    }

    /// Executable names worth looking at for this request.
    fn names(&self) -> Vec<String> {
        match self {
            Request::Version(parts) => {
                let mut names = Vec::new();
                if parts.len() >= 2 {
                    names.push(format!("python{}.{}", parts[0], parts[1]));
                }
                names.push(format!("python{}", parts[0]));
                names.push("python".into());
                names
            }
            Request::Name(name) => vec![name.clone()],
            Request::Path(_) => vec![],
        }
    }
}

impl std::fmt::Display for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Version(parts) => {
                let s: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
                f.write_str(&s.join("."))
            }
            Request::Name(n) => f.write_str(n),
            Request::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

/// An interpreter envtool can use.
#[derive(Debug, Clone, Serialize)]
pub struct Interpreter {
    /// The real binary (never a shim).
    pub executable: PathBuf,
    /// How it was found: the PATH entry or pyenv shim it was reached through.
    pub found_as: PathBuf,
    #[serde(skip)]
    pub facts: Facts,
}

/// A place an interpreter may be: the path as found plus the real binary behind it.
struct Candidate {
    found_as: PathBuf,
    binary: PathBuf,
}

pub fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn system_dirs() -> [PathBuf; 2] {
    [PathBuf::from("/usr/bin"), PathBuf::from("/usr/local/bin")]
}

fn path_dirs() -> Vec<PathBuf> {
    std::env::var_os(env_vars::PATH)
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default()
}

/// The real binary behind `path`: pyenv shims are seen through by reading pyenv's selection.
fn see_through(path: &Path, pyenv: Option<&Pyenv>) -> Option<PathBuf> {
    if let Some(pyenv) = pyenv {
        if pyenv.is_shim(path) {
            let program = path.file_name()?.to_str()?;
            return pyenv.resolve_shim(program);
        }
    }
    Some(path.to_path_buf())
}

/// pyenv's installed versions, newest first.
fn pyenv_version_dirs(pyenv: &Pyenv) -> Vec<PathBuf> {
    let mut dirs: Vec<(Vec<u64>, PathBuf)> = std::fs::read_dir(pyenv.versions_dir())
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let key = name.split('.').map(|p| p.parse().unwrap_or(0)).collect();
                    (key, e.path())
                })
                .collect()
        })
        .unwrap_or_default();
    dirs.sort_by(|a, b| b.0.cmp(&a.0));
    dirs.into_iter().map(|(_, p)| p).collect()
}

/// Every candidate for `names`, in search order, without running anything.
fn candidates(names: &[String], pyenv: Option<&Pyenv>) -> Vec<Candidate> {
    let mut out = Vec::new();
    let push = |found_as: PathBuf, out: &mut Vec<Candidate>| {
        if is_executable(&found_as) {
            if let Some(binary) = see_through(&found_as, pyenv) {
                out.push(Candidate { found_as, binary });
            }
        }
    };
    for dir in path_dirs() {
        for name in names {
            push(dir.join(name), &mut out);
        }
    }
    if let Some(pyenv) = pyenv {
        for dir in pyenv_version_dirs(pyenv) {
            for name in names {
                push(dir.join("bin").join(name), &mut out);
            }
        }
    }
    for dir in system_dirs() {
        for name in names {
            push(dir.join(name), &mut out);
        }
    }
    out
}

fn too_old_error(facts: &Facts) -> anyhow::Error {
    user(
        format!(
            "Python {} at {} is too old: envtool needs Python {}.{} or newer",
            facts.version_string(),
            facts.executable.display(),
            MINIMUM.0,
            MINIMUM.1
        ),
        "pass a newer interpreter with --python (see `envtool python list`)",
    )
}

fn is_too_old(facts: &Facts) -> bool {
    facts.too_old || (facts.version.0, facts.version.1) < MINIMUM
}

/// Find the interpreter for a request (None = `python3` on PATH).
pub fn find(request: Option<&str>, cache: &Cache) -> anyhow::Result<Interpreter> {
    let pyenv = Pyenv::from_env();
    let request = Request::parse(request.unwrap_or("python3"));
    if let Request::Path(path) = &request {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
        if !is_executable(&path) {
            return Err(user(
                format!("no Python interpreter at {}", path.display()),
                "pass an existing interpreter to --python (see `envtool python list`)",
            ));
        }
        let binary = see_through(&path, pyenv.as_ref()).ok_or_else(|| {
            user(
                format!(
                    "the pyenv shim {} selects no installed version",
                    path.display()
                ),
                "check `pyenv version`, or pass a version with --python",
            )
        })?;
        let facts = facts_for(&binary, cache)?;
        if is_too_old(&facts) {
            return Err(too_old_error(&facts));
        }
        return Ok(Interpreter {
            executable: facts.executable.clone(),
            found_as: path,
            facts,
        });
    }

    let mut seen = HashSet::new();
    let mut too_old = None;
    for candidate in candidates(&request.names(), pyenv.as_ref()) {
        if !seen.insert(candidate.binary.clone()) {
            continue;
        }
        let facts = match facts_for(&candidate.binary, cache) {
            Ok(f) => f,
            Err(e) => {
                crate::output::debug(&format!("skipping {}: {e:#}", candidate.binary.display()));
                continue;
            }
        };
        if !request.matches(&facts) {
            continue;
        }
        if is_too_old(&facts) {
            too_old.get_or_insert(facts);
            continue;
        }
        return Ok(Interpreter {
            executable: facts.executable.clone(),
            found_as: candidate.found_as,
            facts,
        });
    }
    if let Some(facts) = too_old {
        return Err(too_old_error(&facts));
    }
    let found = list(cache)
        .into_iter()
        .map(|i| format!("{} ({})", i.facts.version_string(), i.executable.display()))
        .collect::<Vec<_>>();
    let hint = if found.is_empty() {
        "no Python interpreter was found on PATH, under pyenv, /usr/bin or /usr/local/bin; install one or pass its path with --python".to_string()
    } else {
        format!(
            "found: {}; pass one of these (a version or a path) to --python",
            found.join(", ")
        )
    };
    Err(user(
        format!("no Python interpreter matches `{request}`"),
        hint,
    ))
}

/// Every interpreter envtool can see, deduplicated by real binary, too-old ones included.
pub fn list(cache: &Cache) -> Vec<Interpreter> {
    let pyenv = Pyenv::from_env();
    let mut found_paths = Vec::new();
    let is_python_name = |name: &str| {
        let Some(rest) = name.strip_prefix("python") else {
            return false;
        };
        let rest = rest.strip_suffix('t').unwrap_or(rest);
        rest.is_empty()
            || rest
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let mut scan = |dir: &Path| {
        if let Ok(rd) = std::fs::read_dir(dir) {
            let mut names: Vec<PathBuf> = rd
                .flatten()
                .filter(|e| is_python_name(&e.file_name().to_string_lossy()))
                .map(|e| e.path())
                .collect();
            names.sort();
            found_paths.extend(names);
        }
    };
    for dir in path_dirs() {
        scan(&dir);
    }
    if let Some(pyenv) = &pyenv {
        for dir in pyenv_version_dirs(pyenv) {
            scan(&dir.join("bin"));
        }
    }
    for dir in system_dirs() {
        scan(&dir);
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for found_as in found_paths {
        if !is_executable(&found_as) {
            continue;
        }
        let Some(binary) = see_through(&found_as, pyenv.as_ref()) else {
            continue;
        };
        let real = std::fs::canonicalize(&binary).unwrap_or(binary.clone());
        if !seen.insert(real.clone()) {
            continue;
        }
        let Ok(facts) = facts_for(&real, cache) else {
            continue;
        };
        if !seen.insert(facts.executable.clone()) && facts.executable != real {
            continue;
        }
        out.push(Interpreter {
            executable: facts.executable.clone(),
            found_as,
            facts,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_requests() {
        assert_eq!(Request::parse("3.12"), Request::Version(vec![3, 12]));
        assert_eq!(Request::parse("3.12.1"), Request::Version(vec![3, 12, 1]));
        assert_eq!(Request::parse("3"), Request::Version(vec![3]));
        assert_eq!(
            Request::parse("python3.12"),
            Request::Name("python3.12".into())
        );
        assert_eq!(
            Request::parse("/usr/bin/python3"),
            Request::Path("/usr/bin/python3".into())
        );
        assert_eq!(Request::parse("./py"), Request::Path("./py".into()));
    }
}

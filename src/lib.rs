//! envtool: isolated, reproducible Python environments without root.
//!
//! Data flows one way: **request → resolution → plan → apply**. The modules are layered;
//! each imports only modules of its own layer listed before it, or of layers below
//! ([`LAYERS`] is that order, and a unit test holds the code to it).
//!
//! 1. **foundation**: `env_vars` (every variable read), `interrupt`, `output`, `error`
//!    (user errors and the [`error::Hint`] trait), `fsx` (atomic and durable file operations,
//!    paths), `shell` (quoting), `redact` (credentials out of text), `dirs` (the default directories), `pip_conf`, `dist`
//!    (names, file names, core metadata, tags, RECORD, PEP 610 records, where a distribution
//!    comes from).
//! 2. **sources**: `cache` (the content-addressed cache), `python` (interpreters and their
//!    facts), `index` (the Simple API, find-links, HTTP), `venv` (PEP 405 environments).
//! 3. **stages**: `requirements` (what was asked), `fetch` (artifacts into the cache,
//!    verified), `build` (PEP 517, through an interface for its build environments), `resolve`
//!    (PubGrub, producing a `Resolution`), `install` (plan and apply: the installer core, its
//!    environment destination, RECORD, the undo journal), `lockfile` (pylock.toml and
//!    requirements files).
//! 4. **products**: `tool` (receipts and shims), `pack` (the single-file executable).
//! 5. **pipeline**: `settings` (flags, variables and pip's configuration merged into one value),
//!    then `pipeline`: one library function per job (install, sync, lock, pack, tool builds).
//! 6. **front**: `cli` (clap), `commands` (glue), then `main`.

pub mod dirs;
pub mod dist;
pub mod env_vars;
pub mod error;
pub mod fsx;
pub mod interrupt;
pub mod output;
pub mod pip_conf;
pub mod redact;
pub mod shell;

pub mod cache;
pub mod index;
pub mod python;
pub mod venv;

pub mod build;
pub mod fetch;
pub mod install;
pub mod lockfile;
pub mod requirements;
pub mod resolve;

pub mod pack;
pub mod tool;

pub mod pipeline;
pub mod settings;

pub mod cli;
pub mod commands;

/// The top-level modules from the bottom layer up: a module may use only those before it.
pub const LAYERS: &[&str] = &[
    "env_vars",
    "interrupt",
    "output",
    "error",
    "fsx",
    "shell",
    "redact",
    "dirs",
    "pip_conf",
    "dist",
    "cache",
    "python",
    "index",
    "venv",
    "requirements",
    "fetch",
    "build",
    "resolve",
    "install",
    "lockfile",
    "tool",
    "pack",
    "settings",
    "pipeline",
    "cli",
    "commands",
];

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// `crate::NAME` paths and `use crate::{NAME, ...}` groups in non-test, non-comment code.
    fn uses(text: &str) -> BTreeSet<String> {
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let mut out = BTreeSet::new();
        for line in code.lines() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            let mut rest = line;
            while let Some(at) = rest.find("crate::") {
                rest = &rest[at + "crate::".len()..];
                if let Some(group) = rest.strip_prefix('{') {
                    let inner = group.split('}').next().unwrap_or_default();
                    for part in inner.split(',') {
                        let name = part.trim().split("::").next().unwrap_or_default();
                        if !name.is_empty() {
                            out.insert(name.to_string());
                        }
                    }
                    continue;
                }
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                out.insert(name);
            }
        }
        out
    }

    /// The layering written in the crate doc holds: every module uses only modules before it
    /// in `LAYERS` (so there are no import cycles between top-level modules).
    #[test]
    fn modules_use_only_the_layers_below_them() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let rank: BTreeMap<&str, usize> = super::LAYERS
            .iter()
            .enumerate()
            .map(|(i, m)| (*m, i))
            .collect();
        let mut problems = Vec::new();
        let mut files = 0;
        for entry in walkdir::WalkDir::new(&src).into_iter().flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).unwrap();
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            if top == "lib" || top == "main" {
                continue;
            }
            let own = *rank
                .get(top.as_str())
                .unwrap_or_else(|| panic!("{top} is not listed in LAYERS"));
            let text = std::fs::read_to_string(path).unwrap();
            files += 1;
            for used in uses(&text) {
                match rank.get(used.as_str()) {
                    Some(&r) if r < own || used == top => {}
                    Some(_) => problems.push(format!("{} uses crate::{used}", rel.display())),
                    None => {}
                }
            }
        }
        assert!(
            files > 50,
            "only {files} source files found under {}",
            src.display()
        );
        assert!(
            uses("use crate::{dist::x, fsx};\nlet a = crate::cache::Cache;\n// crate::cli").len()
                == 3
        );
        assert!(
            problems.is_empty(),
            "modules reaching up or sideways:\n{}",
            problems.join("\n")
        );
    }
}

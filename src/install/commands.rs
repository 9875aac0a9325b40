//! The commands an environment's distributions provide: their console and GUI scripts, and
//! every file their RECORD puts into the environment's `bin/` (`NAME.data/scripts/`: native
//! binaries such as ruff's, shell scripts, Python scripts). This is what tools expose, what
//! `envtool shim` and `tool run` run, and what a pack's `--entry` may name.

use std::path::{Path, PathBuf};

use crate::dist::record::parse_record;
use crate::fsx::normalize;
use crate::install::entry_points::{parse_entry_points, scripts};
use crate::install::installed::InstalledDist;

/// How a command is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A launcher envtool wrote for an entry point (a Python script).
    EntryPoint,
    /// A file whose `#!` line names a Python: run with the environment's interpreter, so a
    /// long or spaced path in the `#!` line never matters.
    PythonScript,
    /// Anything else (a native binary, a shell script): executed itself.
    Executable,
}

/// One command in an environment's `bin/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub name: String,
    pub path: PathBuf,
    pub kind: Kind,
}

/// The commands `dist` provides, entry points first, by name. `site` is its site-packages
/// (RECORD paths are relative to it) and `bin` the environment's scripts directory.
pub fn of_dist(dist: &InstalledDist, site: &Path, bin: &Path) -> Vec<Command> {
    let bin = normalize(&std::path::absolute(bin).unwrap_or_else(|_| bin.to_path_buf()));
    let site = std::path::absolute(site).unwrap_or_else(|_| site.to_path_buf());
    let mut out: Vec<Command> = Vec::new();
    if let Ok(text) = std::fs::read_to_string(dist.dist_info.join("entry_points.txt")) {
        if let Ok(entries) = parse_entry_points(&text) {
            for e in scripts(&entries) {
                out.push(Command {
                    name: e.name.clone(),
                    path: bin.join(&e.name),
                    kind: Kind::EntryPoint,
                });
            }
        }
    }
    let rows = std::fs::read_to_string(dist.dist_info.join("RECORD"))
        .ok()
        .and_then(|t| parse_record(&t).ok())
        .unwrap_or_default();
    for row in rows {
        let path = normalize(&site.join(&row.path));
        if path.parent() != Some(bin.as_path()) {
            continue;
        }
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if out.iter().any(|c| c.name == name) || !path.is_file() {
            continue;
        }
        let kind = if is_python_script(&path) {
            Kind::PythonScript
        } else {
            Kind::Executable
        };
        out.push(Command {
            name: name.to_string(),
            path,
            kind,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Every command of the environment's distributions, by name (the first owner wins).
pub fn of_env(dists: &[InstalledDist], site: &Path, bin: &Path) -> Vec<Command> {
    let mut out: Vec<Command> = dists.iter().flat_map(|d| of_dist(d, site, bin)).collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out.dedup_by(|a, b| a.name == b.name);
    out
}

/// How to start the file at `path` when nothing else is known: a Python script with the
/// environment's interpreter, anything else directly.
pub fn kind_of_file(path: &Path) -> Kind {
    if is_python_script(path) {
        Kind::PythonScript
    } else {
        Kind::Executable
    }
}

/// A script whose `#!` line names a Python (written `#!python` in the wheel), or that starts
/// with the `/bin/sh` trampoline launchers use when the interpreter's path is too long or
/// has spaces for a `#!` line (`'''exec' '/path/python' "$0" "$@"`).
pub fn is_python_script(path: &Path) -> bool {
    let mut head = Vec::with_capacity(4096);
    if let Ok(f) = std::fs::File::open(path) {
        let _ = std::io::Read::read_to_end(&mut std::io::Read::take(f, 4096), &mut head);
    }
    let mut lines = head.split(|&b| b == b'\n');
    let first = lines.next().unwrap_or_default();
    if first == b"#!/bin/sh" {
        return lines
            .next()
            .is_some_and(|l| l.starts_with(b"'''exec' ") && l.windows(6).any(|w| w == b"python"));
    }
    first.starts_with(b"#!") && first.windows(6).any(|w| w == b"python")
}

impl Kind {
    /// Started with the environment's interpreter (`python SCRIPT`), not executed itself.
    pub fn runs_with_python(self) -> bool {
        matches!(self, Kind::EntryPoint | Kind::PythonScript)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_scripts_are_told_from_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        assert!(is_python_script(&write(
            "a",
            b"#!/e/bin/python\nprint(1)\n"
        )));
        assert!(is_python_script(&write(
            "b",
            b"#!/usr/bin/env python3.12\n"
        )));
        assert!(!is_python_script(&write("c", b"#!/bin/sh\necho python\n")));
        assert!(is_python_script(&write(
            "t",
            b"#!/bin/sh\n'''exec' '/a b/bin/python' \"$0\" \"$@\"\n' '''\nimport sys\n"
        )));
        assert!(!is_python_script(&write("d", b"\x7fELF\x02\x01\x01")));
        assert_eq!(kind_of_file(&dir.path().join("missing")), Kind::Executable);
    }
}

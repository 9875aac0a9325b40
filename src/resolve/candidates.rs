//! A project's versions as the target interpreter sees them: for each version the best wheel
//! (by tag rank, then build tag), its sdist, and why a version cannot be used.

use std::collections::BTreeMap;

use pep440_rs::{Version, VersionSpecifiers};

use crate::dist::tags::Tags;
use crate::index::{Candidate, ProjectFiles};

#[derive(Debug, Clone, Default)]
pub struct VersionEntry {
    /// The best compatible, non-yanked wheel (or the best yanked one if all are yanked).
    pub wheel: Option<Candidate>,
    pub sdist: Option<Candidate>,
    /// Every usable file of this version is yanked.
    pub yanked: bool,
    /// Wheels exist but none matches the interpreter's tags.
    pub incompatible_wheels: Vec<String>,
    /// `Requires-Python` of files skipped because they exclude the interpreter.
    pub python_excluded: Option<String>,
}

impl VersionEntry {
    /// The file to use: the best wheel, else the sdist, as the policy allows.
    pub fn best(&self, (allow_wheel, allow_sdist): (bool, bool)) -> Option<&Candidate> {
        let wheel = if allow_wheel {
            self.wheel.as_ref()
        } else {
            None
        };
        wheel.or(if allow_sdist {
            self.sdist.as_ref()
        } else {
            None
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct VersionMap {
    pub entries: BTreeMap<Version, VersionEntry>,
    pub found: bool,
}

/// Whether `requires_python` admits `python` (an unparsable specifier admits, as pip does).
pub fn python_ok(requires_python: Option<&str>, python: &Version) -> bool {
    match requires_python {
        None => true,
        Some(spec) => match spec.parse::<VersionSpecifiers>() {
            Ok(specs) => specs.contains(python),
            Err(_) => {
                crate::output::debug(&format!("ignoring unparsable Requires-Python {spec:?}"));
                true
            }
        },
    }
}

impl VersionMap {
    pub fn build(files: &ProjectFiles, tags: &Tags, python: &Version) -> VersionMap {
        let mut entries: BTreeMap<Version, VersionEntry> = BTreeMap::new();
        // (yanked, rank, build tag) of the wheel chosen so far per version: lower is better.
        type WheelKey = (bool, usize, Option<(u64, String)>);
        let mut chosen: BTreeMap<Version, WheelKey> = BTreeMap::new();
        let mut python_checked: std::collections::HashMap<&str, bool> =
            std::collections::HashMap::new();
        for candidate in &files.candidates {
            let version = candidate.dist.version().clone();
            let entry = entries.entry(version.clone()).or_default();
            // Most files of a project repeat a few Requires-Python strings: parse each once.
            let ok = match candidate.file.requires_python.as_deref() {
                None => true,
                Some(spec) => *python_checked
                    .entry(spec)
                    .or_insert_with(|| python_ok(Some(spec), python)),
            };
            if !ok {
                entry.python_excluded = candidate.file.requires_python.clone();
                continue;
            }
            let yanked = candidate.file.yanked.is_some();
            match &candidate.dist {
                crate::dist::DistFilename::Wheel(wheel) => {
                    let Some(rank) = wheel.best_rank(tags) else {
                        entry.incompatible_wheels.push(wheel.filename.clone());
                        continue;
                    };
                    // Lower is better: non-yanked first, then tag rank, then the higher build tag.
                    let key = (yanked, rank, wheel.build.clone());
                    let better = match chosen.get(&version) {
                        None => true,
                        Some((y, r, b)) => {
                            (key.0, key.1) < (*y, *r) || ((key.0, key.1) == (*y, *r) && key.2 > *b)
                        }
                    };
                    if better {
                        chosen.insert(version.clone(), key);
                        entry.wheel = Some(candidate.clone());
                    }
                }
                crate::dist::DistFilename::Sdist(_) => {
                    let replace = match &entry.sdist {
                        None => true,
                        Some(existing) => existing.file.yanked.is_some() && !yanked,
                    };
                    if replace {
                        entry.sdist = Some(candidate.clone());
                    }
                }
            }
        }
        for entry in entries.values_mut() {
            let usable: Vec<&Candidate> = entry.wheel.iter().chain(entry.sdist.iter()).collect();
            entry.yanked = !usable.is_empty() && usable.iter().all(|c| c.file.yanked.is_some());
        }
        VersionMap {
            entries,
            found: files.found,
        }
    }
}

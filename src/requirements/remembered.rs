//! The constraints and overrides an environment remembers (`<env>/.envtool/remembered.json`).
//!
//! What a user gave with `-c` or `--override` at `create` or `install` (a forked dependency of a
//! dependency, a version held back) keeps applying to later `install`, `install --upgrade` and
//! `sync` of that environment, and to `tool upgrade` through the tool's receipt, until the user
//! gives a new one for the same name or `--forget-constraints`. Each is kept as one requirement
//! line: paths absolute, URLs without credentials (the index's credentials come from netrc or the
//! URL the user gives again; a secret is never written down).

use std::path::{Path, PathBuf};

use pep508_rs::{Requirement, VerbatimUrl, VersionOrUrl};
use serde::{Deserialize, Serialize};

use super::txt::{Entry, Origin};
use super::{parse_requirement, Location, ReqSpec};
use crate::dist::normalize_name;

/// Where an environment keeps them, below its state directory.
pub const FILE: &str = "remembered.json";

/// Remembered constraints and overrides, each a requirement line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remembered {
    #[serde(default)]
    pub constraints: Vec<String>,
    #[serde(default)]
    pub overrides: Vec<String>,
}

/// A remembered file that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{} is damaged: {reason}", .path.display())]
pub struct Damaged {
    pub path: PathBuf,
    pub reason: String,
}

impl crate::error::Hint for Damaged {
    fn hint(&self) -> Option<String> {
        Some(format!(
            "remove {} (the environment then forgets its constraints and overrides), or pass --forget-constraints",
            self.path.display()
        ))
    }
}

impl Remembered {
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join(FILE)
    }

    /// What `state_dir` remembers (nothing when the file is absent).
    pub fn load(state_dir: &Path) -> Result<Remembered, Damaged> {
        let path = Self::path(state_dir);
        let damaged = |reason: String| Damaged {
            path: path.clone(),
            reason,
        };
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Remembered::default()),
            Err(e) => return Err(damaged(e.to_string())),
        };
        let remembered: Remembered =
            serde_json::from_slice(&bytes).map_err(|e| damaged(e.to_string()))?;
        // Every line must read back as a requirement; a hand-edited file says where it is wrong.
        for (i, text) in remembered.lines() {
            parse_requirement(text, Path::new("/"))
                .map_err(|e| damaged(format!("entry {}: {e}", i + 1)))?;
        }
        Ok(remembered)
    }

    /// Write it into `state_dir` (atomically); an empty set removes the file.
    pub fn save(&self, state_dir: &Path) -> anyhow::Result<()> {
        let path = Self::path(state_dir);
        if self.is_empty() {
            return match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
                _ => Ok(()),
            };
        }
        let text = serde_json::to_string_pretty(self)? + "\n";
        crate::fsx::write_atomic(&path, text.as_bytes())
    }

    pub fn is_empty(&self) -> bool {
        self.constraints.is_empty() && self.overrides.is_empty()
    }

    fn lines(&self) -> impl Iterator<Item = (usize, &String)> {
        self.constraints.iter().chain(&self.overrides).enumerate()
    }

    /// These as entries of a request, named as coming from `label` (the environment).
    pub fn entries(&self, label: &str) -> (Vec<Entry>, Vec<Entry>) {
        let to_entries = |lines: &[String]| {
            lines
                .iter()
                .enumerate()
                .filter_map(|(i, text)| {
                    let spec = parse_requirement(text, Path::new("/")).ok()?;
                    Some(Entry {
                        spec,
                        hashes: Vec::new(),
                        editable: false,
                        config_settings: Vec::new(),
                        origin: Origin {
                            file: PathBuf::from(label),
                            line: i + 1,
                        },
                    })
                })
                .collect()
        };
        (to_entries(&self.constraints), to_entries(&self.overrides))
    }

    /// `self` with `newer` given on this run: a name given again replaces what was remembered
    /// for it; the rest is kept.
    pub fn updated(&self, newer: &Remembered) -> Remembered {
        let keep = |old: &[String], new: &[String]| -> Vec<String> {
            let new_names: Vec<Option<String>> = new.iter().map(|t| name_of(t)).collect();
            let mut out: Vec<String> = old
                .iter()
                .filter(|t| {
                    let name = name_of(t);
                    name.is_none() && !new.contains(t)
                        || name.is_some() && !new_names.contains(&name)
                })
                .cloned()
                .collect();
            for t in new {
                if !out.contains(t) {
                    out.push(t.clone());
                }
            }
            out
        };
        Remembered {
            constraints: keep(&self.constraints, &newer.constraints),
            overrides: keep(&self.overrides, &newer.overrides),
        }
    }

    /// The entries of constraint and override files given on this run, as lines to remember.
    pub fn of_entries(constraints: &[Entry], overrides: &[Entry]) -> Remembered {
        Remembered {
            constraints: constraints.iter().map(|e| line_of(&e.spec)).collect(),
            overrides: overrides.iter().map(|e| line_of(&e.spec)).collect(),
        }
    }

    /// The remembered line that `key` at `version` breaks (a version outside an override's or
    /// a constraint's specifiers), for a lock that was not resolved with them.
    pub fn contradicted_by(&self, key: &str, version: &pep440_rs::Version) -> Option<&String> {
        self.overrides.iter().chain(&self.constraints).find(|text| {
            let Ok(ReqSpec::Named(req)) = parse_requirement(text, Path::new("/")) else {
                return false;
            };
            normalize_name(req.name.as_ref()) == key
                && matches!(&req.version_or_url, Some(VersionOrUrl::VersionSpecifier(s)) if !s.contains(version))
        })
    }

    /// The names remembered lines are about (unnamed URL constraints have none until fetched).
    pub fn names(lines: &[String]) -> Vec<String> {
        lines.iter().filter_map(|t| name_of(t)).collect()
    }
}

/// The normalized name a line is about, when it has one.
fn name_of(text: &str) -> Option<String> {
    match parse_requirement(text, Path::new("/")).ok()? {
        ReqSpec::Named(r) => Some(normalize_name(r.name.as_ref())),
        ReqSpec::Unnamed { .. } => None,
    }
}

/// One requirement as a line that means the same anywhere: absolute paths, URLs without
/// credentials.
pub fn line_of(spec: &ReqSpec) -> String {
    match spec {
        ReqSpec::Named(req) => {
            let mut req: Requirement = req.clone();
            if let Some(VersionOrUrl::Url(url)) = &req.version_or_url {
                let url = VerbatimUrl::from_url(without_credentials(url.to_url()));
                req.version_or_url = Some(VersionOrUrl::Url(url));
            }
            req.to_string()
        }
        ReqSpec::Unnamed {
            location,
            extras,
            marker,
        } => {
            let location = match location {
                Location::Path(p) => Location::Path(p.clone()),
                Location::Url(u) => Location::Url(without_credentials(u.clone())),
            };
            ReqSpec::Unnamed {
                location,
                extras: extras.clone(),
                marker: marker.clone(),
            }
            .to_string()
        }
    }
}

fn without_credentials(mut url: url::Url) -> url::Url {
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> ReqSpec {
        parse_requirement(text, Path::new("/work/proj")).unwrap()
    }

    #[test]
    fn lines_are_absolute_and_hold_no_secret() {
        assert_eq!(line_of(&spec("mathlib==1.0+fork1")), "mathlib==1.0+fork1");
        let line = line_of(&spec("mathlib @ ./forks/mathlib-1.0-py3-none-any.whl"));
        assert_eq!(
            line,
            "mathlib @ file:///work/proj/forks/mathlib-1.0-py3-none-any.whl"
        );
        let line = line_of(&spec(
            "lib @ https://user:s3cret@host.test/lib-1.0-py3-none-any.whl",
        ));
        assert!(
            !line.contains("s3cret") && !line.contains("user@"),
            "{line}"
        );
        assert!(line.contains("host.test/lib-1.0"), "{line}");
    }

    #[test]
    fn a_name_given_again_replaces_the_remembered_one() {
        let old = Remembered {
            constraints: vec!["a<2".into(), "b<3".into()],
            overrides: vec!["c==1.0".into()],
        };
        let new = Remembered {
            constraints: vec!["A>=2".into()],
            overrides: vec![],
        };
        assert_eq!(
            old.updated(&new),
            Remembered {
                constraints: vec!["b<3".into(), "A>=2".into()],
                overrides: vec!["c==1.0".into()],
            }
        );
    }

    #[test]
    fn a_damaged_file_is_an_error_that_names_it() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Remembered::load(dir.path()).unwrap(), Remembered::default());
        std::fs::write(dir.path().join(FILE), "{\"constraints\": [\"a==\"]}").unwrap();
        let err = Remembered::load(dir.path()).unwrap_err();
        assert!(err.to_string().contains(FILE), "{err}");
        std::fs::write(dir.path().join(FILE), "not json").unwrap();
        assert!(Remembered::load(dir.path()).is_err());
        let r = Remembered {
            constraints: vec!["a<2".into()],
            overrides: vec![],
        };
        r.save(dir.path()).unwrap();
        assert_eq!(Remembered::load(dir.path()).unwrap(), r);
        Remembered::default().save(dir.path()).unwrap();
        assert!(!dir.path().join(FILE).exists());
    }
}

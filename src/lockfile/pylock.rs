//! PEP 751 `pylock.toml`: reading (for `install -r`, `create --lock`, `sync`) and writing
//! (for `lock` and `freeze --format pylock`), with keys in the specification's order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{MarkerEnvironment, MarkerTree};
use serde::Deserialize;
use url::Url;

use crate::dist::source::Source;
use crate::dist::tags::Tags;
use crate::dist::{canonical_time, normalize_name, WheelFilename};
use crate::error::user;
use crate::fetch::Artifact;
use crate::install::installed::InstalledDist;
use crate::resolve::{Resolution, ResolvedDist};

/// A file entry: a wheel, an sdist, or an archive.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LockFile {
    pub name: Option<String>,
    pub url: Option<String>,
    pub path: Option<String>,
    pub size: Option<u64>,
    pub upload_time: Option<toml::value::Datetime>,
    #[serde(default)]
    pub hashes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ToolTable {
    pub envtool: Option<EnvtoolTool>,
}

/// envtool's own per-package data (`[packages.tool.envtool]`); never needed to install.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EnvtoolTool {
    #[serde(default)]
    pub requested: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LockPackage {
    pub name: String,
    pub version: Option<String>,
    pub marker: Option<String>,
    pub requires_python: Option<String>,
    pub index: Option<String>,
    pub vcs: Option<LockVcs>,
    pub directory: Option<LockDirectory>,
    pub archive: Option<LockFile>,
    pub sdist: Option<LockFile>,
    pub wheels: Option<Vec<LockFile>>,
    pub tool: Option<ToolTable>,
}

/// `[packages.directory]`: a local project, built when installed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LockDirectory {
    pub path: String,
    #[serde(default)]
    pub editable: bool,
    pub subdirectory: Option<String>,
}

/// `[packages.vcs]`: a repository at one commit, built when installed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LockVcs {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: Option<String>,
    pub path: Option<String>,
    pub requested_revision: Option<String>,
    pub commit_id: String,
    pub subdirectory: Option<String>,
}

/// A package of a lock that is built to be installed: a local project or a commit.
#[derive(Debug, Clone)]
pub struct LockedProject {
    pub name: String,
    pub at: ProjectAt,
    pub requested: bool,
}

/// Where a locked project's source is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectAt {
    /// A directory (absolute, resolved against the lock's directory).
    Directory { path: PathBuf, editable: bool },
    /// A git repository at a full commit id.
    Git {
        url: url::Url,
        commit: String,
        requested_revision: Option<String>,
        subdirectory: Option<String>,
    },
}

impl LockVcs {
    /// Where this names, checked: git only, a URL or a path (relative to the lock), a full
    /// commit id.
    fn project_at(
        &self,
        lock_dir: &Path,
        lock_path: &Path,
        name: &str,
    ) -> anyhow::Result<ProjectAt> {
        let bad = |why: String| {
            user(
                format!("{}: the vcs of {name} {why}", lock_path.display()),
                "write the lock again (`envtool lock`)",
            )
        };
        if self.kind != "git" {
            return Err(bad(format!(
                "is of type {:?}; envtool installs git only",
                self.kind
            )));
        }
        if self.commit_id.len() != 40 || !self.commit_id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad(format!(
                "has commit-id {:?}, which is not a full commit id",
                self.commit_id
            )));
        }
        let url = match (&self.url, &self.path) {
            (Some(u), _) => url::Url::parse(u.strip_prefix("git+").unwrap_or(u))
                .map_err(|e| bad(format!("has a URL that does not parse ({e})")))?,
            (None, Some(p)) => {
                let path = crate::fsx::normalize(&lock_dir.join(p));
                url::Url::from_file_path(&path)
                    .map_err(|_| bad(format!("has a path that is not absolute ({p})")))?
            }
            (None, None) => return Err(bad("names neither a url nor a path".into())),
        };
        Ok(ProjectAt::Git {
            url,
            commit: self.commit_id.to_ascii_lowercase(),
            requested_revision: self.requested_revision.clone(),
            subdirectory: self.subdirectory.clone(),
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PyLock {
    pub lock_version: String,
    pub environments: Option<Vec<String>>,
    pub requires_python: Option<String>,
    pub created_by: String,
    #[serde(default)]
    pub packages: Vec<LockPackage>,
}

/// Whether a path names a lock file: `pylock.toml`, `pylock.NAME.toml`, or any other `*.toml`
/// (a requirements file is never TOML).
pub fn is_pylock(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
}

impl PyLock {
    pub fn read(path: &Path) -> anyhow::Result<PyLock> {
        let text = fs_err::read_to_string(path).map_err(|e| {
            user(
                format!("cannot read the lock file {}: {e}", path.display()),
                "check the path of the lock file",
            )
        })?;
        let lock: PyLock = toml::from_str(&text).map_err(|e| {
            user(
                format!("{} is not a valid pylock.toml: {e}", path.display()),
                "fix the file at the line shown, or write it again with `envtool lock`",
            )
        })?;
        let major = lock
            .lock_version
            .split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok());
        if major != Some(1) {
            return Err(user(
                format!(
                    "{} has lock-version {:?}; envtool reads lock-version 1.x",
                    path.display(),
                    lock.lock_version
                ),
                "write the lock again with a tool that produces lock-version 1.0",
            ));
        }
        crate::output::debug(&format!(
            "{} was written by {}",
            path.display(),
            lock.created_by
        ));
        if lock.lock_version != "1.0" {
            crate::output::warn(&format!(
                "{} has lock-version {}; keys newer than 1.0 are ignored",
                path.display(),
                lock.lock_version
            ));
        }
        Ok(lock)
    }

    /// The distributions this lock installs on the target interpreter.
    /// `project` builds a locked local project into its place in the answer.
    pub fn to_resolution(
        &self,
        lock_path: &Path,
        markers: &MarkerEnvironment,
        python: &Version,
        tags: &Tags,
        project: &mut dyn FnMut(&LockedProject) -> anyhow::Result<ResolvedDist>,
    ) -> anyhow::Result<Resolution> {
        let lock_dir = std::path::absolute(lock_path)?
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        if let Some(spec) = &self.requires_python {
            let specs: VersionSpecifiers = spec.parse().map_err(|e| {
                user(
                    format!("{}: bad requires-python {spec:?}: {e}", lock_path.display()),
                    "fix the lock file",
                )
            })?;
            if !specs.contains(python) {
                return Err(user(
                    format!(
                        "{} is for Python {spec}, and this environment has Python {python}",
                        lock_path.display()
                    ),
                    "use an interpreter the lock was made for (--python), or lock again for this one",
                ));
            }
        }
        if let Some(envs) = &self.environments {
            let any = envs
                .iter()
                .any(|m| marker_true(m, markers).unwrap_or(false));
            if !envs.is_empty() && !any {
                return Err(user(
                    format!(
                        "none of the environments of {} matches this interpreter: {}",
                        lock_path.display(),
                        envs.join("; ")
                    ),
                    "lock again for this interpreter",
                ));
            }
        }
        let mut dists: Vec<ResolvedDist> = Vec::new();
        for package in &self.packages {
            if let Some(marker) = &package.marker {
                if !marker_true(marker, markers).map_err(|e| {
                    user(
                        format!("{}: package {}: {e}", lock_path.display(), package.name),
                        "fix the marker",
                    )
                })? {
                    continue;
                }
            }
            let key = normalize_name(&package.name);
            if dists.iter().any(|d| d.key == key) {
                return Err(user(
                    format!(
                        "{} lists {} twice for this interpreter",
                        lock_path.display(),
                        package.name
                    ),
                    "the lock is inconsistent; write it again",
                ));
            }
            if let Some(rp) = &package.requires_python {
                if !crate::resolve::candidates::python_ok(Some(rp), python) {
                    return Err(user(
                        format!(
                            "{} {} in the lock requires Python {rp}; this is Python {python}",
                            package.name,
                            package.version.as_deref().unwrap_or("")
                        ),
                        "lock again for this interpreter",
                    ));
                }
            }
            let at = match (&package.directory, &package.vcs) {
                (Some(dir), _) => {
                    let mut path = crate::fsx::normalize(&lock_dir.join(&dir.path));
                    if let Some(sub) = &dir.subdirectory {
                        path = crate::fsx::normalize(&path.join(sub));
                    }
                    Some(ProjectAt::Directory {
                        path,
                        editable: dir.editable,
                    })
                }
                (None, Some(vcs)) => Some(vcs.project_at(&lock_dir, lock_path, &package.name)?),
                (None, None) => None,
            };
            if let Some(at) = at {
                let locked = LockedProject {
                    name: package.name.clone(),
                    at,
                    requested: requested_of(package),
                };
                let dist = project(&locked)?;
                if dist.key != key {
                    return Err(user(
                        format!(
                            "{}: the directory locked for {} builds {}",
                            lock_path.display(),
                            package.name,
                            dist.name
                        ),
                        "the project was renamed since the lock was written; lock again",
                    ));
                }
                dists.push(dist);
                continue;
            }
            dists.push(self.package_dist(package, &key, &lock_dir, tags, lock_path)?);
        }
        dists.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Resolution { dists })
    }

    fn package_dist(
        &self,
        package: &LockPackage,
        key: &str,
        lock_dir: &Path,
        tags: &Tags,
        lock_path: &Path,
    ) -> anyhow::Result<ResolvedDist> {
        let unsupported = |what: &str| {
            user(
                format!(
                    "{}: {} is locked as {what}, which envtool cannot install yet",
                    lock_path.display(),
                    package.name
                ),
                "lock it as a wheel",
            )
        };
        if package.vcs.is_some() {
            return Err(unsupported("a VCS checkout"));
        }
        let requested = requested_of(package);
        let (file, direct) = if let Some(archive) = &package.archive {
            (archive.clone(), true)
        } else {
            let wheels = package.wheels.as_deref().unwrap_or_default();
            let best = wheels
                .iter()
                .filter_map(|w| {
                    let name = file_name(w)?;
                    let parsed = WheelFilename::parse(&name).ok()?;
                    Some((
                        parsed.best_rank(tags)?,
                        std::cmp::Reverse(parsed.build.clone()),
                        w,
                    ))
                })
                .min_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)))
                .map(|(_, _, w)| w.clone());
            match best {
                Some(w) => (w, false),
                None if package.sdist.is_some() => {
                    (package.sdist.clone().unwrap_or_default(), false)
                }
                None => {
                    return Err(user(
                        format!(
                            "{}: no wheel of {} in the lock fits this interpreter (it has: {})",
                            lock_path.display(),
                            package.name,
                            wheels
                                .iter()
                                .filter_map(file_name)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        "lock again for this interpreter",
                    ))
                }
            }
        };
        let name = file_name(&file).ok_or_else(|| {
            user(
                format!(
                    "{}: {} has a file without a name",
                    lock_path.display(),
                    package.name
                ),
                "fix the lock file",
            )
        })?;
        let wheel =
            if name.ends_with(".whl") {
                Some(WheelFilename::parse(&name).map_err(|e| {
                    user(format!("{}: {e}", lock_path.display()), "fix the lock file")
                })?)
            } else {
                None
            };
        let url = match (&file.path, &file.url) {
            (Some(path), _) => Url::from_file_path(crate::fsx::normalize(&lock_dir.join(path)))
                .map_err(|_| anyhow::anyhow!("bad path {path} in {}", lock_path.display()))?,
            (None, Some(url)) => Url::parse(url).map_err(|e| {
                user(
                    format!("{}: bad URL {url}: {e}", lock_path.display()),
                    "fix the lock file",
                )
            })?,
            (None, None) => {
                return Err(user(
                    format!(
                        "{}: {} has a file with neither url nor path",
                        lock_path.display(),
                        package.name
                    ),
                    "fix the lock file",
                ))
            }
        };
        if !file.hashes.contains_key("sha256") && file.hashes.is_empty() {
            return Err(user(
                format!("{}: {} has no hashes", lock_path.display(), package.name),
                "every file in a pylock.toml needs hashes; write the lock again",
            ));
        }
        let hashes: Vec<(String, String)> = file
            .hashes
            .iter()
            .map(|(a, h)| (a.to_ascii_lowercase(), h.to_ascii_lowercase()))
            .collect();
        let version: Version = match &package.version {
            Some(v) => v.parse().map_err(|e| {
                user(
                    format!("{}: bad version {v}: {e}", lock_path.display()),
                    "fix the lock file",
                )
            })?,
            None => match &wheel {
                Some(w) => w.version.clone(),
                None => {
                    return Err(user(
                        format!("{}: {} has no version", lock_path.display(), package.name),
                        "fix the lock file",
                    ))
                }
            },
        };
        let source = if direct {
            Source::Archive {
                url: url.clone(),
                sha256: file.hashes.get("sha256").cloned().unwrap_or_default(),
            }
        } else {
            Source::Registry {
                index: package.index.as_ref().and_then(|i| Url::parse(i).ok()),
            }
        };
        Ok(ResolvedDist {
            key: key.to_string(),
            name: package.name.clone(),
            version,
            artifact: Artifact {
                filename: name.clone(),
                wheel,
                url,
                hashes: hashes.clone(),
                required: hashes,
            },
            built_from: None,
            source,
            size: file.size,
            upload_time: file.upload_time.map(|t| canonical_time(&t.to_string())),
            requires_python: package.requires_python.clone(),
            requested,
            dependencies: Vec::new(),
            extras: Vec::new(),
            files: Vec::new(),
            metadata: None,
        })
    }
}

/// envtool's own `requested` flag (true for locks other tools wrote).
fn requested_of(package: &LockPackage) -> bool {
    package
        .tool
        .as_ref()
        .and_then(|t| t.envtool.as_ref())
        .and_then(|e| e.requested)
        .unwrap_or(true)
}

fn file_name(file: &LockFile) -> Option<String> {
    if let Some(name) = &file.name {
        return Some(name.clone());
    }
    let from = file.path.as_deref().or(file.url.as_deref())?;
    let last = from.trim_end_matches('/').rsplit('/').next()?;
    Some(
        percent_encoding::percent_decode_str(last)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

fn marker_true(marker: &str, env: &MarkerEnvironment) -> Result<bool, String> {
    let tree: MarkerTree =
        crate::dist::pep508::marker(marker).map_err(|e| format!("bad marker {marker:?}: {e}"))?;
    Ok(tree.evaluate(env, &[]))
}

// ---------------------------------------------------------------- writing

/// One package to write.
#[derive(Debug, Clone)]
pub struct OutPackage {
    pub name: String,
    /// None for source trees (PEP 751: a directory's version is whatever it builds).
    pub version: Option<String>,
    pub index: Option<String>,
    pub requires_python: Option<String>,
    pub dependencies: Vec<String>,
    /// For direct references: the archive; otherwise `wheels` (and `sdist`).
    pub archive: Option<OutFile>,
    pub sdist: Option<OutFile>,
    pub wheels: Vec<OutFile>,
    /// A local project: its path (relative to the lock where possible).
    pub directory: Option<OutDirectory>,
    /// A repository at one commit.
    pub vcs: Option<OutVcs>,
    pub requested: bool,
}

/// `[packages.vcs]` (git).
#[derive(Debug, Clone)]
pub struct OutVcs {
    /// Without credentials: git's own helpers supply them.
    pub url: String,
    pub requested_revision: Option<String>,
    pub commit_id: String,
    pub subdirectory: Option<String>,
}

impl OutVcs {
    fn of(source: &Source) -> Option<OutVcs> {
        match source {
            Source::Vcs {
                url,
                requested_revision,
                commit_id,
                subdirectory,
                ..
            } => Some(OutVcs {
                url: crate::redact::strip(url).to_string(),
                requested_revision: requested_revision.clone(),
                commit_id: commit_id.clone(),
                subdirectory: subdirectory.clone(),
            }),
            _ => None,
        }
    }
}

/// `[packages.directory]`.
#[derive(Debug, Clone)]
pub struct OutDirectory {
    pub path: String,
    pub editable: bool,
}

#[derive(Debug, Clone)]
pub struct OutFile {
    pub name: String,
    pub url: String,
    pub size: Option<u64>,
    pub upload_time: Option<String>,
    pub hashes: Vec<(String, String)>,
}

/// The whole lock to write.
#[derive(Debug, Clone)]
pub struct OutLock {
    pub environments: Vec<String>,
    pub requires_python: Option<String>,
    pub packages: Vec<OutPackage>,
}

/// A path as a lock records it: relative to the lock's directory when it is below a common
/// ancestor other than `/`, with POSIX separators; absolute otherwise.
pub fn lock_path(path: &Path, lock_dir: &Path) -> String {
    let path = crate::fsx::normalize(path);
    let lock_dir = crate::fsx::normalize(lock_dir);
    let shares_more_than_root = path
        .components()
        .zip(lock_dir.components())
        .take_while(|(a, b)| a == b)
        .count()
        > 1;
    if shares_more_than_root {
        let rel = crate::fsx::relative_to(&path, &lock_dir);
        let text = rel.to_string_lossy().into_owned();
        if text.is_empty() {
            ".".into()
        } else {
            text
        }
    } else {
        path.to_string_lossy().into_owned()
    }
}

impl OutFile {
    /// A file the index lists.
    fn listed(c: &crate::index::Candidate) -> OutFile {
        OutFile {
            name: c.file.filename.clone(),
            url: c.file.url.to_string(),
            size: c.file.size,
            upload_time: c.file.upload_time.as_deref().map(canonical_time),
            hashes: c
                .file
                .hashes
                .iter()
                .map(|(a, h)| (a.to_string(), h.clone()))
                .collect(),
        }
    }
}

impl OutPackage {
    /// A resolved distribution: every file its version offers (a lock installs on other
    /// platforms too), the archive of a direct reference, or the directory of a project.
    pub fn from_resolved(d: &ResolvedDist, lock_dir: &Path) -> OutPackage {
        let chosen = OutFile {
            name: d.artifact.filename.clone(),
            url: d.artifact.url.to_string(),
            size: d.size,
            upload_time: d.upload_time.clone(),
            hashes: d.artifact.hashes.clone(),
        };
        let mut package = OutPackage {
            name: d.name.clone(),
            version: Some(d.version.to_string()),
            index: d.source.index().map(|u| u.to_string()),
            requires_python: d.requires_python.clone(),
            dependencies: d.dependencies.clone(),
            archive: None,
            sdist: None,
            wheels: Vec::new(),
            directory: None,
            vcs: None,
            requested: d.requested,
        };
        match &d.source {
            Source::Registry { .. } => {
                let mut wheels: Vec<OutFile> = d
                    .files
                    .iter()
                    .filter(|c| {
                        matches!(c.dist, crate::dist::DistFilename::Wheel(_))
                            && !c.file.hashes.is_empty()
                    })
                    .map(OutFile::listed)
                    .collect();
                if d.artifact.wheel.is_some() && !wheels.iter().any(|w| w.name == chosen.name) {
                    wheels.insert(0, chosen.clone());
                }
                wheels.sort_by(|a, b| a.name.cmp(&b.name));
                package.wheels = wheels;
                package.sdist = d
                    .files
                    .iter()
                    .find(|c| {
                        matches!(c.dist, crate::dist::DistFilename::Sdist(_))
                            && !c.file.hashes.is_empty()
                    })
                    .map(OutFile::listed);
            }
            Source::Directory { path, editable } => {
                package.version = None;
                package.directory = Some(OutDirectory {
                    path: lock_path(path, lock_dir),
                    editable: *editable,
                });
            }
            Source::Archive { url, sha256 } => {
                let archive = match &d.built_from {
                    Some(b) => OutFile {
                        name: b.filename.clone(),
                        url: url.to_string(),
                        size: Some(b.size),
                        upload_time: None,
                        hashes: vec![("sha256".into(), b.sha256.clone())],
                    },
                    None => OutFile {
                        url: url.to_string(),
                        hashes: vec![("sha256".into(), sha256.clone())],
                        ..chosen
                    },
                };
                package.archive = Some(archive);
            }
            Source::Vcs { .. } => {
                package.version = None;
                package.vcs = OutVcs::of(&d.source);
            }
        }
        package
    }

    /// An installed distribution (`freeze --format pylock`, a pack's embedded lock): the file
    /// it was installed from, or its directory.
    pub fn from_installed(
        d: &InstalledDist,
        dependencies: Vec<String>,
        lock_dir: &Path,
    ) -> OutPackage {
        let file = d.origin.as_ref().map(|o| OutFile {
            name: o.filename.clone(),
            url: o.url.clone(),
            size: Some(o.size),
            upload_time: o.upload_time.clone(),
            hashes: vec![("sha256".into(), o.sha256.clone())],
        });
        let source = d.source();
        if file.is_none()
            && !matches!(
                source,
                Some(Source::Directory { .. }) | Some(Source::Vcs { .. })
            )
        {
            crate::output::warn(&format!(
                "{} {} was not installed by envtool: the lock cannot name its file",
                d.metadata.name,
                d.version()
            ));
        }
        let mut package = OutPackage {
            name: d.metadata.name.clone(),
            version: Some(d.version().to_string()),
            index: None,
            requires_python: d.metadata.requires_python.clone(),
            dependencies,
            archive: None,
            sdist: None,
            wheels: Vec::new(),
            directory: None,
            vcs: None,
            requested: d.requested,
        };
        match source {
            Some(Source::Directory { path, editable }) => {
                package.version = None;
                package.directory = Some(OutDirectory {
                    path: lock_path(&path, lock_dir),
                    editable,
                });
            }
            Some(vcs @ Source::Vcs { .. }) => {
                package.version = None;
                package.vcs = OutVcs::of(&vcs);
            }
            Some(Source::Archive { .. }) => package.archive = file,
            Some(Source::Registry { .. }) | None => {
                package.index = d.origin.as_ref().and_then(|o| o.index.clone());
                match file {
                    Some(f) if !f.name.ends_with(".whl") => package.sdist = Some(f),
                    f => package.wheels = f.into_iter().collect(),
                }
            }
        }
        package
    }
}

impl OutLock {
    /// A single-environment lock of installed distributions.
    /// `markers`: the environment's marker values, for which dependencies apply (unknown:
    /// every environment marker counts as true).
    pub fn from_installed(
        dists: &[InstalledDist],
        python: (u32, u32),
        markers: Option<&MarkerEnvironment>,
        lock_dir: &Path,
    ) -> OutLock {
        let mut graph = crate::install::installed::dependency_graph(dists, markers);
        OutLock {
            environments: Vec::new(),
            requires_python: Some(format!("=={}.{}.*", python.0, python.1)),
            packages: dists
                .iter()
                .map(|d| {
                    let deps = graph.remove(&d.key).unwrap_or_default();
                    OutPackage::from_installed(d, deps, lock_dir)
                })
                .collect(),
        }
    }
}

/// A TOML basic string.
fn s(text: &str) -> String {
    let mut out = String::from('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn file_table(file: &OutFile, with_name: bool) -> String {
    let mut parts = Vec::new();
    if with_name {
        parts.push(format!("name = {}", s(&file.name)));
    }
    parts.push(format!("url = {}", s(&file.url)));
    if let Some(size) = file.size {
        parts.push(format!("size = {size}"));
    }
    if let Some(t) = file
        .upload_time
        .as_ref()
        .filter(|t| t.parse::<toml::value::Datetime>().is_ok())
    {
        parts.push(format!("upload-time = {t}"));
    }
    let hashes: Vec<String> = file
        .hashes
        .iter()
        .map(|(a, h)| format!("{a} = {}", s(h)))
        .collect();
    parts.push(format!("hashes = {{ {} }}", hashes.join(", ")));
    format!("{{ {} }}", parts.join(", "))
}

/// Render a lock with the specification's key order.
pub fn render(lock: &OutLock) -> String {
    let mut out = String::from("lock-version = \"1.0\"\n");
    if !lock.environments.is_empty() {
        let envs: Vec<String> = lock.environments.iter().map(|e| s(e)).collect();
        out.push_str(&format!("environments = [{}]\n", envs.join(", ")));
    }
    if let Some(rp) = &lock.requires_python {
        out.push_str(&format!("requires-python = {}\n", s(rp)));
    }
    out.push_str(
        "extras = []\ndependency-groups = []\ndefault-groups = []\ncreated-by = \"envtool\"\n",
    );
    for p in &lock.packages {
        out.push_str("\n[[packages]]\n");
        out.push_str(&format!("name = {}\n", s(&normalize_name(&p.name))));
        if let Some(version) = &p.version {
            out.push_str(&format!("version = {}\n", s(version)));
        }
        if let Some(rp) = &p.requires_python {
            out.push_str(&format!("requires-python = {}\n", s(rp)));
        }
        if let Some(index) = &p.index {
            out.push_str(&format!("index = {}\n", s(index)));
        }
        if !p.dependencies.is_empty() {
            let deps: Vec<String> = p
                .dependencies
                .iter()
                .map(|d| format!("{{ name = {} }}", s(d)))
                .collect();
            out.push_str(&format!("dependencies = [{}]\n", deps.join(", ")));
        }
        if let Some(dir) = &p.directory {
            let editable = if dir.editable {
                ", editable = true"
            } else {
                ""
            };
            out.push_str(&format!(
                "directory = {{ path = {}{editable} }}\n",
                s(&dir.path)
            ));
        } else if let Some(vcs) = &p.vcs {
            let mut parts = vec![
                "type = \"git\"".to_string(),
                format!("url = {}", s(&vcs.url)),
            ];
            if let Some(r) = &vcs.requested_revision {
                parts.push(format!("requested-revision = {}", s(r)));
            }
            parts.push(format!("commit-id = {}", s(&vcs.commit_id)));
            if let Some(sub) = &vcs.subdirectory {
                parts.push(format!("subdirectory = {}", s(sub)));
            }
            out.push_str(&format!("vcs = {{ {} }}\n", parts.join(", ")));
        } else if let Some(archive) = &p.archive {
            out.push_str(&format!("archive = {}\n", file_table(archive, false)));
        } else {
            if let Some(sdist) = &p.sdist {
                out.push_str(&format!("sdist = {}\n", file_table(sdist, true)));
            }
            out.push_str("wheels = [\n");
            for w in &p.wheels {
                out.push_str(&format!("    {},\n", file_table(w, true)));
            }
            out.push_str("]\n");
        }
        out.push_str(&format!(
            "\n[packages.tool.envtool]\nrequested = {}\n",
            p.requested
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_locks_read_back() {
        let lock = OutLock {
            environments: vec!["sys_platform == 'linux'".into()],
            requires_python: Some("==3.12.*".into()),
            packages: vec![OutPackage {
                name: "Six".into(),
                version: Some("1.16.0".into()),
                index: Some("http://127.0.0.1:1/simple/".into()),
                requires_python: None,
                dependencies: vec!["idna".into()],
                archive: None,
                sdist: None,
                wheels: vec![OutFile {
                    name: "six-1.16.0-py2.py3-none-any.whl".into(),
                    url: "http://127.0.0.1:1/files/six-1.16.0-py2.py3-none-any.whl".into(),
                    size: Some(11),
                    upload_time: Some("2024-01-01T00:00:00.000000Z".into()),
                    hashes: vec![("sha256".into(), "ab".into())],
                }],
                directory: None,
                vcs: None,
                requested: true,
            }],
        };
        let text = render(&lock);
        let back: PyLock = toml::from_str(&text).unwrap();
        assert_eq!(back.lock_version, "1.0");
        assert_eq!(back.packages[0].name, "six");
        let wheels = back.packages[0].wheels.as_ref().unwrap();
        assert_eq!(wheels[0].hashes["sha256"], "ab");
        assert!(wheels[0].upload_time.is_some());
        assert_eq!(
            back.packages[0]
                .tool
                .as_ref()
                .unwrap()
                .envtool
                .as_ref()
                .unwrap()
                .requested,
            Some(true)
        );
    }

    /// The writer's exact bytes for every kind of package (a change here changes every lock
    /// users have committed: it must be deliberate).
    #[test]
    fn written_locks_are_byte_for_byte_stable() {
        let file = |name: &str, time: Option<&str>| OutFile {
            name: name.into(),
            url: format!("https://files.example/{name}"),
            size: Some(7),
            upload_time: time.map(String::from),
            hashes: vec![("sha256".into(), "ab".into())],
        };
        let package = |name: &str| OutPackage {
            name: name.into(),
            version: None,
            index: None,
            requires_python: None,
            dependencies: Vec::new(),
            archive: None,
            sdist: None,
            wheels: Vec::new(),
            directory: None,
            vcs: None,
            requested: false,
        };
        let lock = OutLock {
            environments: vec!["sys_platform == 'linux'".into()],
            requires_python: Some(">=3.9".into()),
            packages: vec![
                OutPackage {
                    version: Some("1.0".into()),
                    index: Some("https://index.example/simple/".into()),
                    requires_python: Some(">=3.8".into()),
                    dependencies: vec!["b".into(), "c".into()],
                    sdist: Some(file("A-1.0.tar.gz", None)),
                    wheels: vec![
                        file(
                            "a-1.0-py3-none-any.whl",
                            Some("2024-05-06T07:08:09.100000Z"),
                        ),
                        file("a-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", None),
                    ],
                    requested: true,
                    ..package("A")
                },
                OutPackage {
                    version: Some("2.0".into()),
                    archive: Some(file("b-2.0-py3-none-any.whl", None)),
                    ..package("b")
                },
                OutPackage {
                    directory: Some(OutDirectory {
                        path: "../proj".into(),
                        editable: true,
                    }),
                    ..package("c")
                },
                OutPackage {
                    vcs: Some(OutVcs {
                        url: "https://git.example/d.git".into(),
                        requested_revision: Some("v1".into()),
                        commit_id: "0123456789abcdef0123456789abcdef01234567".into(),
                        subdirectory: Some("py".into()),
                    }),
                    ..package("d")
                },
            ],
        };
        let expected = r#"lock-version = "1.0"
environments = ["sys_platform == 'linux'"]
requires-python = ">=3.9"
extras = []
dependency-groups = []
default-groups = []
created-by = "envtool"

[[packages]]
name = "a"
version = "1.0"
requires-python = ">=3.8"
index = "https://index.example/simple/"
dependencies = [{ name = "b" }, { name = "c" }]
sdist = { name = "A-1.0.tar.gz", url = "https://files.example/A-1.0.tar.gz", size = 7, hashes = { sha256 = "ab" } }
wheels = [
    { name = "a-1.0-py3-none-any.whl", url = "https://files.example/a-1.0-py3-none-any.whl", size = 7, upload-time = 2024-05-06T07:08:09.100000Z, hashes = { sha256 = "ab" } },
    { name = "a-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", url = "https://files.example/a-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", size = 7, hashes = { sha256 = "ab" } },
]

[packages.tool.envtool]
requested = true

[[packages]]
name = "b"
version = "2.0"
archive = { url = "https://files.example/b-2.0-py3-none-any.whl", size = 7, hashes = { sha256 = "ab" } }

[packages.tool.envtool]
requested = false

[[packages]]
name = "c"
directory = { path = "../proj", editable = true }

[packages.tool.envtool]
requested = false

[[packages]]
name = "d"
vcs = { type = "git", url = "https://git.example/d.git", requested-revision = "v1", commit-id = "0123456789abcdef0123456789abcdef01234567", subdirectory = "py" }

[packages.tool.envtool]
requested = false
"#;
        let text = render(&lock);
        assert_eq!(text, expected);
        // And it is TOML that reads back.
        let back: PyLock = toml::from_str(&text).unwrap();
        assert_eq!(back.packages.len(), 4);
    }

    #[test]
    fn vcs_entries_read_back_checked() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let mut package = OutPackage {
            name: "p".into(),
            version: None,
            index: None,
            requires_python: None,
            dependencies: Vec::new(),
            archive: None,
            sdist: None,
            wheels: Vec::new(),
            directory: None,
            vcs: Some(OutVcs {
                url: "https://h.example/r.git".into(),
                requested_revision: Some("v1".into()),
                commit_id: sha.into(),
                subdirectory: Some("sub".into()),
            }),
            requested: true,
        };
        let text = render(&OutLock {
            environments: Vec::new(),
            requires_python: None,
            packages: vec![package.clone()],
        });
        let back: PyLock = toml::from_str(&text).unwrap();
        let vcs = back.packages[0].vcs.as_ref().unwrap();
        let at = vcs
            .project_at(Path::new("/l"), Path::new("/l/pylock.toml"), "p")
            .unwrap();
        assert_eq!(
            at,
            ProjectAt::Git {
                url: "https://h.example/r.git".parse().unwrap(),
                commit: sha.into(),
                requested_revision: Some("v1".into()),
                subdirectory: Some("sub".into()),
            }
        );
        // A path is relative to the lock; a branch name is not a commit; svn is not git.
        let by_path = LockVcs {
            url: None,
            path: Some("../repo".into()),
            ..vcs.clone()
        };
        assert!(matches!(
            by_path.project_at(Path::new("/l/x"), Path::new("/l/x/pylock.toml"), "p").unwrap(),
            ProjectAt::Git { url, .. } if url.as_str() == "file:///l/repo"
        ));
        let branch = LockVcs {
            commit_id: "main".into(),
            ..vcs.clone()
        };
        assert!(branch
            .project_at(Path::new("/l"), Path::new("/l/p.toml"), "p")
            .is_err());
        let svn = LockVcs {
            kind: "svn".into(),
            ..vcs.clone()
        };
        assert!(svn
            .project_at(Path::new("/l"), Path::new("/l/p.toml"), "p")
            .is_err());
        package.vcs = None;
    }

    #[test]
    fn unknown_keys_are_ignored() {
        let lock: PyLock = toml::from_str(
            "lock-version = \"1.0\"\ncreated-by = \"x\"\nfuture-key = 1\n[[packages]]\nname = \"a\"\nnew-thing = true\n",
        )
        .unwrap();
        assert_eq!(lock.packages.len(), 1);
    }
}

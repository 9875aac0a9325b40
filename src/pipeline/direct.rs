//! Requirements given as a path or URL (direct references): the file is fetched (a source
//! distribution or project directory built) before resolving, because its name, version and
//! dependencies come from it.

use std::path::Path;

use anyhow::Context;
use pep508_rs::Requirement;

use crate::build::BuildContext;
use crate::cache::Cache;
use crate::dist::source::{Provenance, Source};
use crate::dist::tags::Tags;
use crate::dist::{metadata, normalize_name, WheelFilename};
use crate::error::user;
use crate::fetch::unpack::CachedWheel;
use crate::fetch::{self, vcs, Artifact};
use crate::index::Index;
use crate::requirements::{Location, ReqSpec};
use crate::resolve::DirectDist;

/// What fetching a direct reference needs.
pub struct DirectFetcher<'a> {
    pub index: &'a Index,
    pub cache: &'a Cache,
    /// How to build source distributions; None forbids it.
    pub build: &'a BuildContext,
    /// What the target interpreter accepts (a wheel given by path or URL must fit it too).
    pub tags: &'a Tags,
}

impl DirectFetcher<'_> {
    /// The PEP 508 requirement for a request entry; for direct references also the fetched
    /// wheel (an editable one for `-e`).
    pub fn requirement_of_entry(
        &self,
        entry: &crate::requirements::txt::Entry,
    ) -> anyhow::Result<(Requirement, Option<DirectDist>)> {
        self.requirement_of_spec(&entry.spec, &entry.hashes, entry.editable)
    }

    /// The PEP 508 requirement for a request entry; for direct references also the fetched wheel.
    pub fn requirement_of(
        &self,
        spec: &ReqSpec,
        hashes: &[(String, String)],
    ) -> anyhow::Result<(Requirement, Option<DirectDist>)> {
        self.requirement_of_spec(spec, hashes, false)
    }

    fn requirement_of_spec(
        &self,
        spec: &ReqSpec,
        hashes: &[(String, String)],
        editable: bool,
    ) -> anyhow::Result<(Requirement, Option<DirectDist>)> {
        match spec {
            ReqSpec::Named(req) => match &req.version_or_url {
                Some(pep508_rs::VersionOrUrl::Url(url)) => {
                    let location = match url.to_url().to_file_path() {
                        Ok(path) if url.to_url().scheme() == "file" => Location::Path(path),
                        _ => Location::Url(url.to_url()),
                    };
                    let direct = self.fetch_direct(&location, hashes, editable)?;
                    if direct.key != normalize_name(req.name.as_ref()) {
                        return Err(user(
                            format!(
                                "{req} names {} but the file is {}",
                                req.name, direct.metadata.name
                            ),
                            "fix the name before the @",
                        ));
                    }
                    Ok((req.clone(), Some(direct)))
                }
                _ => Ok((req.clone(), None)),
            },
            ReqSpec::Unnamed {
                location,
                extras,
                marker,
            } => {
                let direct = self.fetch_direct(location, hashes, editable)?;
                let mut text = direct.metadata.name.clone();
                if !extras.is_empty() {
                    let names: Vec<String> = extras.iter().map(|e| e.to_string()).collect();
                    text.push_str(&format!("[{}]", names.join(",")));
                }
                let mut req: Requirement =
                    crate::dist::pep508::requirement(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
                if let Some(marker) = marker {
                    req.marker = marker.clone();
                }
                Ok((req, Some(direct)))
            }
        }
    }

    /// Fetch a distribution given by path or URL into the cache and describe it (PEP 610
    /// included): a wheel as it is; a source distribution or a project directory built into one.
    fn fetch_direct(
        &self,
        location: &Location,
        hashes: &[(String, String)],
        editable: bool,
    ) -> anyhow::Result<DirectDist> {
        let is_dir = matches!(location, Location::Path(p) if p.is_dir());
        if editable && !is_dir {
            return Err(user(
                format!("{location} cannot be installed in editable mode: it is not a local project directory"),
                "give -e the directory of a project (with a pyproject.toml or setup.py), or install it without -e",
            ));
        }
        if let Location::Url(url) = location {
            if url.scheme().starts_with("git+") {
                if !hashes.is_empty() {
                    return Err(user(
                        format!(
                            "{}: a git requirement cannot be checked against a --hash",
                            crate::redact::url(url.as_str())
                        ),
                        "pin the commit in the URL (@COMMIT) instead of a --hash",
                    ));
                }
                let build = self.build;
                return self.vcs(url, build);
            }
        }
        let (url, file_name) = match location {
            Location::Path(path) => {
                if path.is_dir() {
                    let build = self.build;
                    return self.project(path, build, editable);
                }
                if !path.exists() {
                    return Err(user(
                        format!("{} does not exist", path.display()),
                        "check the path of the wheel, source archive or project directory",
                    ));
                }
                let url = url::Url::from_file_path(path)
                    .map_err(|_| anyhow::anyhow!("bad path {}", path.display()))?;
                (
                    url,
                    path.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                )
            }
            Location::Url(url) => {
                if !matches!(url.scheme(), "http" | "https" | "file") {
                    return Err(user(
                        format!(
                            "{}: {} URLs are not supported",
                            crate::redact::url(url.as_str()),
                            url.scheme()
                        ),
                        "point at a wheel or source archive over http(s), or at a local path",
                    ));
                }
                let name = url
                    .path_segments()
                    .and_then(|mut s| s.next_back().map(String::from))
                    .unwrap_or_default();
                let decoded = percent_encoding::percent_decode_str(&name)
                    .decode_utf8_lossy()
                    .into_owned();
                (url.clone(), decoded)
            }
        };
        let mut hashes_from_url: Vec<(String, String)> = Vec::new();
        if let Some(fragment) = url.fragment() {
            for part in fragment.split('&') {
                if let Some((algo, hex)) = part.split_once('=') {
                    if matches!(algo, "sha256" | "sha384" | "sha512") {
                        hashes_from_url.push((algo.to_string(), hex.to_ascii_lowercase()));
                    }
                }
            }
        }
        let mut clean_url = url.clone();
        clean_url.set_fragment(None);
        // Credentials stay with the HTTP client: nothing stores or prints them.
        let clean_url = self.index.http.remember_credentials(&clean_url);
        let public_url = clean_url.clone();
        let wheel_name = file_name
            .ends_with(".whl")
            .then(|| WheelFilename::parse(&file_name))
            .transpose()
            .map_err(|e| {
                user(
                    format!(
                        "{} is not a valid wheel name: {e}",
                        crate::redact::url(url.as_str())
                    ),
                    "point at a .whl file or a source archive",
                )
            })?;
        let artifact = Artifact {
            filename: file_name.clone(),
            wheel: wheel_name,
            url: clean_url.clone(),
            hashes: hashes_from_url,
            required: hashes.to_vec(),
        };
        let archive = |sha256: String| Source::Archive {
            url: public_url.clone(),
            sha256,
        };
        if let Some(wheel_name) = &artifact.wheel {
            // The same check index wheels pass: a wheel this interpreter cannot run is refused
            // before anything is downloaded.
            if wheel_name.best_rank(self.tags).is_none() {
                return Err(user(
                    format!("{file_name} is not a supported wheel on this platform"),
                    format!(
                        "this interpreter accepts platform tags such as {}; use a wheel built for it, or its source distribution",
                        self.tags.platform_tags().into_iter().take(3).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            let wheel = fetch::fetch(&artifact, &self.index.http, self.cache)?;
            let sha = wheel.info.sha256.clone();
            return direct_dist(&wheel, artifact.url.clone(), archive(sha));
        }
        let build = self.build;
        let (path, sha, size) = fetch::fetch_sdist(&artifact, &self.index.http, self.cache)?;
        let built = build.cached_wheel_from_sdist(&path, &sha, &file_name)?;
        let mut dist = direct_dist(&built.wheel, built.url()?, archive(sha.clone()))?;
        dist.built_from = Some(Provenance {
            filename: file_name,
            url: public_url.to_string(),
            sha256: sha,
            size,
            index: None,
            upload_time: None,
            extras: Vec::new(),
        });
        Ok(dist)
    }

    /// A local project directory a lock names.
    pub fn project_at(&self, dir: &Path, editable: bool) -> anyhow::Result<DirectDist> {
        if !dir.is_dir() {
            return Err(user(
                format!(
                    "the locked project directory {} does not exist",
                    dir.display()
                ),
                "run the install from where the lock expects the project, or lock again",
            ));
        }
        let build = self.build;
        self.project(dir, build, editable)
    }

    /// A git repository at one commit a lock names (`commit`, whatever the revision says now).
    pub fn commit_at(
        &self,
        url: &url::Url,
        commit: &str,
        requested_revision: Option<&str>,
        subdirectory: Option<&str>,
    ) -> anyhow::Result<DirectDist> {
        let build = self.build;
        let request = vcs::GitRequest {
            url: url.clone(),
            rev: Some(commit.to_string()),
            subdirectory: subdirectory.map(String::from),
            egg: None,
        };
        let mut dist = self.vcs_commit(&request, Some(commit.to_string()), build)?;
        if let Source::Vcs {
            requested_revision: r,
            ..
        } = &mut dist.source
        {
            *r = requested_revision.map(String::from);
        }
        Ok(dist)
    }

    /// A local project directory, built into a wheel (every time: its contents may have
    /// changed), or into an editable wheel.
    fn project(
        &self,
        dir: &Path,
        build: &BuildContext,
        editable: bool,
    ) -> anyhow::Result<DirectDist> {
        if !dir.join("pyproject.toml").is_file() && !dir.join("setup.py").is_file() {
            return Err(user(
                format!(
                    "{} is not a Python project: it has neither pyproject.toml nor setup.py",
                    dir.display()
                ),
                "point at the directory that holds the project's pyproject.toml",
            ));
        }
        let built = build.cached_wheel_of_project(dir, &dir.display().to_string(), editable)?;
        let source = Source::Directory {
            path: dir.to_path_buf(),
            editable,
        };
        direct_dist(&built.wheel, built.url()?, source)
    }

    /// `git+URL[@REV][#subdirectory=DIR]`: the revision resolved to a commit, the wheel built
    /// from a checkout of it (once per commit).
    fn vcs(&self, url: &url::Url, build: &BuildContext) -> anyhow::Result<DirectDist> {
        let request = vcs::GitRequest::parse(url)?;
        let commit = vcs::remote_commit(&request)?;
        if let Some(path) = vcs::local_changes(&request) {
            crate::output::warn(&format!(
                "{} has changes that are not committed; the installed version is the commit, without them",
                path.display()
            ));
        }
        self.vcs_commit(&request, commit, build)
    }

    fn vcs_commit(
        &self,
        request: &vcs::GitRequest,
        commit: Option<String>,
        build: &BuildContext,
    ) -> anyhow::Result<DirectDist> {
        let public = request.public_url();
        let label = crate::redact::url(request.url.as_str());
        // An abbreviated commit is known only after a checkout.
        let (commit, checked_out) = match commit {
            Some(commit) => (commit, None),
            None => {
                let tree = vcs::checkout(request, None, self.cache)?;
                (tree.commit.clone(), Some(tree))
            }
        };
        let key = crate::cache::key(
            &[
                public.as_str().as_bytes(),
                commit.as_bytes(),
                request.subdirectory.as_deref().unwrap_or("").as_bytes(),
            ],
            24,
        );
        let cache = self.cache;
        let built = build.cached_wheel_of_commit(&key, &label, || match checked_out {
            Some(c) => Ok(c),
            None => vcs::checkout(request, Some(&commit), cache),
        })?;
        let source = Source::Vcs {
            vcs: "git".into(),
            url: public,
            requested_revision: request.rev.clone(),
            commit_id: commit,
            subdirectory: request.subdirectory.clone(),
        };
        direct_dist(&built.wheel, built.url()?, source)
    }
}

/// A direct distribution from its wheel in the cache.
fn direct_dist(wheel: &CachedWheel, url: url::Url, source: Source) -> anyhow::Result<DirectDist> {
    let name = &wheel.info.filename;
    let meta = metadata::parse(&wheel.metadata_text()?)
        .with_context(|| format!("bad metadata in {name}"))?;
    let wheel_name = WheelFilename::parse(name)?;
    Ok(DirectDist {
        key: normalize_name(&meta.name),
        version: meta
            .version
            .parse()
            .map_err(|e| anyhow::anyhow!("bad version in {name}: {e}"))?,
        artifact: Artifact::for_wheel(
            wheel_name,
            url,
            vec![("sha256".into(), wheel.info.sha256.clone())],
        ),
        metadata: meta,
        source,
        built_from: None,
    })
}

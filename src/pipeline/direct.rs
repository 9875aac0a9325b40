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
use crate::fetch::{self, Artifact};
use crate::index::Index;
use crate::requirements::{Location, ReqSpec};
use crate::resolve::DirectDist;

/// What fetching a direct reference needs.
pub struct DirectFetcher<'a> {
    pub index: &'a Index,
    pub cache: &'a Cache,
    /// How to build source distributions; None forbids it.
    pub build: Option<&'a BuildContext>,
    /// What the target interpreter accepts (a wheel given by path or URL must fit it too).
    pub tags: &'a Tags,
}

impl DirectFetcher<'_> {
    /// The PEP 508 requirement for a request entry; for direct references also the fetched wheel.
    pub fn requirement_of(
        &self,
        spec: &ReqSpec,
        hashes: &[(String, String)],
    ) -> anyhow::Result<(Requirement, Option<DirectDist>)> {
        match spec {
            ReqSpec::Named(req) => match &req.version_or_url {
                Some(pep508_rs::VersionOrUrl::Url(url)) => {
                    let location = match url.to_url().to_file_path() {
                        Ok(path) if url.to_url().scheme() == "file" => Location::Path(path),
                        _ => Location::Url(url.to_url()),
                    };
                    let direct = self.fetch_direct(&location, hashes)?;
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
                let direct = self.fetch_direct(location, hashes)?;
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
    ) -> anyhow::Result<DirectDist> {
        let no_build = || {
            user(
                format!("{location} must be built from source, and --only-binary forbids it"),
                "point at a wheel, or drop --only-binary",
            )
        };
        let (url, file_name) = match location {
            Location::Path(path) => {
                if path.is_dir() {
                    let build = self.build.ok_or_else(no_build)?;
                    return self.project(path, build);
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
        let build = self.build.ok_or_else(no_build)?;
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
        if editable {
            return Err(user(
                format!("{} is locked as an editable install", dir.display()),
                "editable installs from a lock are not supported yet; install it with -e",
            ));
        }
        if !dir.is_dir() {
            return Err(user(
                format!(
                    "the locked project directory {} does not exist",
                    dir.display()
                ),
                "run the install from where the lock expects the project, or lock again",
            ));
        }
        let build = self.build.ok_or_else(|| {
            user(
                format!(
                    "{} must be built, and --only-binary forbids it",
                    dir.display()
                ),
                "drop --only-binary",
            )
        })?;
        self.project(dir, build)
    }

    /// A local project directory, built into a wheel (every time: its contents may have changed).
    fn project(&self, dir: &Path, build: &BuildContext) -> anyhow::Result<DirectDist> {
        let built = build.cached_wheel_of_project(dir, &dir.display().to_string())?;
        let source = Source::Directory {
            path: dir.to_path_buf(),
            editable: false,
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

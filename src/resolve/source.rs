//! Where the resolver learns about packages: their files and their core metadata. The resolver
//! sees only this interface; [`IndexSource`] answers from package indexes (with the cache and
//! source builds), and tests answer from memory.

use std::sync::Arc;

use pep440_rs::Version;

use crate::build::BuildContext;
use crate::cache::Cache;
use crate::dist::metadata;
use crate::fetch;
use crate::index::{Candidate, Index, ProjectFiles};

/// Packages' files and metadata.
pub trait PackageSource: Send + Sync {
    /// Every file of a project.
    fn project(&self, name: &str) -> anyhow::Result<Arc<ProjectFiles>>;
    /// As `project`, for a name pinned to exactly `version` (a source may answer from a cache
    /// it cannot otherwise trust to be current); `usable` says whether an answer will do.
    fn project_pinned(
        &self,
        name: &str,
        _version: &Version,
        _usable: &dyn Fn(&ProjectFiles) -> bool,
    ) -> anyhow::Result<Arc<ProjectFiles>> {
        self.project(name)
    }
    /// The core metadata text of one file (building a source distribution if needed).
    fn metadata(&self, candidate: &Candidate) -> anyhow::Result<String>;
    /// Whether source distributions can be built.
    fn can_build(&self) -> bool;
    /// Project names known without asking anyone (for "did you mean" suggestions).
    fn known_names(&self) -> Vec<String>;
    /// Where packages come from, for messages.
    fn describe(&self) -> String;
}

/// Package indexes and find-links, with the cache and source builds.
pub struct IndexSource {
    pub index: Index,
    pub cache: Cache,
    /// How to build source distributions (whether a candidate may be built is the
    /// resolver's policy, from `--only-binary`).
    pub build: BuildContext,
}

impl PackageSource for IndexSource {
    fn project(&self, name: &str) -> anyhow::Result<Arc<ProjectFiles>> {
        self.index.project(name)
    }

    fn project_pinned(
        &self,
        name: &str,
        version: &Version,
        usable: &dyn Fn(&ProjectFiles) -> bool,
    ) -> anyhow::Result<Arc<ProjectFiles>> {
        self.index.project_pinned(name, version, usable)
    }

    fn metadata(&self, candidate: &Candidate) -> anyhow::Result<String> {
        metadata_text(self, candidate)
    }

    fn can_build(&self) -> bool {
        true
    }

    fn known_names(&self) -> Vec<String> {
        self.index.known_names()
    }

    fn describe(&self) -> String {
        self.index.describe_sources()
    }
}

/// The text of a candidate's core metadata.
fn metadata_text(state: &IndexSource, candidate: &Candidate) -> anyhow::Result<String> {
    if let crate::index::simple::CoreMetadata::Available { hashes } = &candidate.file.core_metadata
    {
        // Cached by the metadata's own published hash (and checked against it on every read),
        // else by the index and file it came from: one index's answer never stands in for
        // another's.
        let bucket = state.cache.bucket(crate::cache::Bucket::Metadata)?;
        let published = hashes.get("sha256").cloned();
        let path = match &published {
            Some(sha) => bucket.join(format!("{sha}.METADATA")),
            None => {
                let index = candidate.index.as_ref().map(|u| u.as_str()).unwrap_or("");
                let key = crate::cache::key(
                    &[index.as_bytes(), candidate.file.url.as_str().as_bytes()],
                    32,
                );
                bucket.join(format!("u-{key}.METADATA"))
            }
        };
        if let Ok(bytes) = std::fs::read(&path) {
            if published
                .as_deref()
                .is_none_or(|sha| sha256_hex(&bytes) == sha)
            {
                return Ok(String::from_utf8_lossy(&bytes).into_owned());
            }
        }
        if let Some(text) = fetch_core_metadata(state, candidate)? {
            crate::fsx::write_atomic(&path, text.as_bytes())?;
            return Ok(text);
        }
    }
    let artifact = super::artifact_for(candidate)
        .ok_or_else(|| anyhow::anyhow!("{} cannot be fetched", candidate.file.filename))?;
    if artifact.wheel.is_none() {
        return sdist_metadata(state, &artifact);
    }
    let wheel = fetch::fetch(&artifact, &state.index.http, &state.cache)?;
    wheel.metadata_text()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    data_encoding::HEXLOWER.encode(&Sha256::digest(bytes))
}

/// Metadata of a source distribution: its PKG-INFO when PEP 643 makes it trustworthy, else the
/// backend's `prepare_metadata_for_build_wheel`, else the METADATA of the wheel it builds.
fn sdist_metadata(state: &IndexSource, artifact: &fetch::Artifact) -> anyhow::Result<String> {
    let build = &state.build;
    let (archive, sha, _) = fetch::fetch_sdist(artifact, &state.index.http, &state.cache)?;
    let cached = state
        .cache
        .bucket(crate::cache::Bucket::Metadata)?
        .join(format!("{sha}.sdist.METADATA"));
    if let Ok(text) = std::fs::read_to_string(&cached) {
        return Ok(text);
    }
    let project = build.unpacked_sdist(&archive, &sha)?;
    let text = match std::fs::read_to_string(project.join("PKG-INFO"))
        .ok()
        .filter(|t| static_metadata(t))
    {
        Some(text) => text,
        None => match build.prepare_metadata(&project, &artifact.filename)? {
            Some(text) => text,
            None => {
                let built = build
                    .cached_wheel_from_sdist(&archive, &sha, &artifact.filename)?
                    .wheel;
                built.metadata_text()?
            }
        },
    };
    crate::fsx::write_atomic(&cached, text.as_bytes())?;
    Ok(text)
}

/// PEP 643: metadata 2.2+ whose dependencies are not marked dynamic can be trusted unbuilt.
fn static_metadata(text: &str) -> bool {
    let Ok(meta) = metadata::parse(text) else {
        return false;
    };
    let version: Vec<u32> = meta
        .metadata_version
        .split('.')
        .filter_map(|p| p.parse().ok())
        .collect();
    version >= vec![2, 2]
        && !meta
            .dynamic
            .iter()
            .any(|d| d == "requires-dist" || d == "requires-python")
}

/// GET `<file-url>.metadata` (PEP 658), checked against its published hash; None if offline.
fn fetch_core_metadata(
    state: &IndexSource,
    candidate: &Candidate,
) -> anyhow::Result<Option<String>> {
    use sha2::{Digest, Sha256};
    if state.index.http.offline() {
        return Ok(None);
    }
    let mut url = candidate.file.url.clone();
    url.set_path(&format!("{}.metadata", url.path()));
    let (_, reader) = state.index.http.get_stream(&url)?;
    let limit = crate::index::http::max_response_bytes();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(reader, limit + 1), &mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(crate::index::http::HttpError::TooLarge {
            url: crate::redact::url(url.as_str()),
            limit,
        }
        .into());
    }
    if let crate::index::simple::CoreMetadata::Available { hashes } = &candidate.file.core_metadata
    {
        if let Some(expected) = hashes.get("sha256") {
            let actual = data_encoding::HEXLOWER.encode(&Sha256::digest(&bytes));
            if &actual != expected {
                return Err(crate::error::user(
                    format!("the metadata file {url} does not match its published hash"),
                    "the index serves inconsistent files; retry later, or report it to the index",
                ));
            }
        }
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

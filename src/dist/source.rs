//! Where a distribution comes from, as one type: every path through envtool (resolving,
//! installing, locking, freezing) asks this value instead of loose URLs and JSON.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use url::Url;

use super::direct_url::{ArchiveInfo, DirInfo, DirectInfo, DirectUrl, VcsInfo};

/// Where a distribution comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file an index lists (`index`: its Simple API base), or a find-links location (`None`).
    Registry { index: Option<Url> },
    /// A wheel or source archive given by URL or local path (`url` without credentials).
    Archive { url: Url, sha256: String },
    /// A local project directory, built here (PEP 660 when editable).
    Directory { path: PathBuf, editable: bool },
    /// A VCS checkout at one commit, built here.
    Vcs {
        vcs: String,
        /// The repository URL without the `git+` prefix and without credentials.
        url: Url,
        requested_revision: Option<String>,
        commit_id: String,
        subdirectory: Option<String>,
    },
}

impl Source {
    /// A direct reference (anything not found on an index), which PEP 610 records.
    pub fn is_direct(&self) -> bool {
        !matches!(self, Source::Registry { .. })
    }

    /// The index it came from, for index installs.
    pub fn index(&self) -> Option<&Url> {
        match self {
            Source::Registry { index } => index.as_ref(),
            _ => None,
        }
    }

    /// The PEP 610 record for an installation from this source (None for index installs).
    pub fn direct_url(&self) -> Option<DirectUrl> {
        match self {
            Source::Registry { .. } => None,
            Source::Archive { url, sha256 } => Some(DirectUrl::archive(url.as_str(), sha256)),
            Source::Directory { path, editable } => {
                let url = Url::from_directory_path(path).ok()?;
                Some(DirectUrl::directory(url.as_str(), *editable))
            }
            Source::Vcs {
                vcs,
                url,
                requested_revision,
                commit_id,
                subdirectory,
            } => Some(DirectUrl {
                url: url.to_string(),
                info: DirectInfo::VcsInfo(VcsInfo {
                    vcs: vcs.clone(),
                    commit_id: commit_id.clone(),
                    requested_revision: requested_revision.clone(),
                }),
                subdirectory: subdirectory.clone(),
            }),
        }
    }

    /// The source an installed distribution's PEP 610 record describes.
    pub fn from_direct_url(record: &DirectUrl) -> Option<Source> {
        let url = Url::parse(&record.url).ok()?;
        Some(match &record.info {
            DirectInfo::ArchiveInfo(ArchiveInfo { .. }) => Source::Archive {
                sha256: record
                    .archive_hashes()
                    .into_iter()
                    .find(|(a, _)| a == "sha256")
                    .map(|(_, h)| h)
                    .unwrap_or_default(),
                url,
            },
            DirectInfo::DirInfo(DirInfo { editable }) => Source::Directory {
                path: url.to_file_path().ok()?,
                editable: *editable,
            },
            DirectInfo::VcsInfo(vcs) => Source::Vcs {
                vcs: vcs.vcs.clone(),
                url,
                requested_revision: vcs.requested_revision.clone(),
                commit_id: vcs.commit_id.clone(),
                subdirectory: record.subdirectory.clone(),
            },
        })
    }
}

/// The file a distribution was installed from, as envtool records it next to the installation
/// (`<dist-info>/envtool-origin.json`), so `freeze --hashes` and locks need no network.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Provenance {
    pub filename: String,
    pub sha256: String,
    pub size: u64,
    /// Where the file was fetched from.
    pub url: String,
    /// The Simple API base, for index installs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_time: Option<String>,
    /// The extras that were active for it in the resolution that installed it (normalized),
    /// so a lock of the environment lists the dependencies that apply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extras: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_sources_round_trip_through_pep_610() {
        let sources = [
            Source::Archive {
                url: Url::parse("https://h/x-1.0-py3-none-any.whl").unwrap(),
                sha256: "ab".into(),
            },
            Source::Directory {
                path: PathBuf::from("/src/proj"),
                editable: true,
            },
            Source::Vcs {
                vcs: "git".into(),
                url: Url::parse("file:///r/repo").unwrap(),
                requested_revision: None,
                commit_id: "0123".into(),
                subdirectory: Some("sub".into()),
            },
        ];
        for source in sources {
            let record = source.direct_url().unwrap();
            let back = Source::from_direct_url(&DirectUrl::parse(&record.to_json()).unwrap());
            assert_eq!(back.as_ref(), Some(&source), "{}", record.to_json());
        }
        assert_eq!(Source::Registry { index: None }.direct_url(), None);
    }

    /// envtool-origin.json as written before this type moved here.
    #[test]
    fn golden_provenance() {
        let p = Provenance {
            filename: "six-1.16.0-py2.py3-none-any.whl".into(),
            sha256: "ab".into(),
            size: 3,
            url: "http://127.0.0.1:1/f/six-1.16.0-py2.py3-none-any.whl".into(),
            index: Some("http://127.0.0.1:1/simple/".into()),
            upload_time: None,
            extras: Vec::new(),
        };
        assert_eq!(
            serde_json::to_string_pretty(&p).unwrap(),
            "{\n  \"filename\": \"six-1.16.0-py2.py3-none-any.whl\",\n  \"sha256\": \"ab\",\n  \"size\": 3,\n  \"url\": \"http://127.0.0.1:1/f/six-1.16.0-py2.py3-none-any.whl\",\n  \"index\": \"http://127.0.0.1:1/simple/\"\n}"
        );
    }
}

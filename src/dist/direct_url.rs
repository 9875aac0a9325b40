//! PEP 610 `direct_url.json`: how a distribution installed from a URL, a path, a directory or a
//! VCS checkout records where it came from (never written for index installs).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A `direct_url.json` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectUrl {
    /// The URL without credentials (`file:` for local paths and directories; for VCS the
    /// repository URL without the `git+` prefix).
    pub url: String,
    #[serde(flatten)]
    pub info: DirectInfo,
    /// The project's directory inside the archive or checkout, when not its root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subdirectory: Option<String>,
}

/// What kind of direct reference it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectInfo {
    ArchiveInfo(ArchiveInfo),
    DirInfo(DirInfo),
    VcsInfo(VcsInfo),
}

/// An archive (wheel or sdist) by URL or path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveInfo {
    /// The legacy single `sha256=<hex>` form (pip writes both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hashes: BTreeMap<String, String>,
}

/// A local directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirInfo {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub editable: bool,
}

/// A VCS checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VcsInfo {
    pub vcs: String,
    pub commit_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_revision: Option<String>,
}

impl DirectUrl {
    /// An archive whose sha256 is known.
    pub fn archive(url: &str, sha256: &str) -> DirectUrl {
        DirectUrl {
            url: url.to_string(),
            info: DirectInfo::ArchiveInfo(ArchiveInfo {
                hash: Some(format!("sha256={sha256}")),
                hashes: BTreeMap::from([("sha256".to_string(), sha256.to_string())]),
            }),
            subdirectory: None,
        }
    }

    /// A local directory (`url` is its `file:` URL, without a trailing slash).
    pub fn directory(url: &str, editable: bool) -> DirectUrl {
        DirectUrl {
            url: url.trim_end_matches('/').to_string(),
            info: DirectInfo::DirInfo(DirInfo { editable }),
            subdirectory: None,
        }
    }

    /// The file as written: keys sorted (as pip writes it), no whitespace.
    pub fn to_json(&self) -> String {
        // Through a JSON value, whose maps keep their keys sorted.
        serde_json::to_value(self)
            .and_then(|v| serde_json::to_string(&v))
            .unwrap_or_default()
    }

    /// Parse a `direct_url.json`; None when it is not one.
    pub fn parse(text: &str) -> Option<DirectUrl> {
        serde_json::from_str(text).ok()
    }

    /// The archive's hashes (algorithm → hex), from `hashes` or the legacy `hash`.
    pub fn archive_hashes(&self) -> Vec<(String, String)> {
        let DirectInfo::ArchiveInfo(info) = &self.info else {
            return Vec::new();
        };
        if !info.hashes.is_empty() {
            return info
                .hashes
                .iter()
                .map(|(a, h)| (a.clone(), h.clone()))
                .collect();
        }
        info.hash
            .as_deref()
            .and_then(|h| h.split_once('='))
            .map(|(a, h)| vec![(a.to_string(), h.to_string())])
            .unwrap_or_default()
    }

    /// Whether this is an editable install (`dir_info.editable`).
    pub fn is_editable(&self) -> bool {
        matches!(&self.info, DirectInfo::DirInfo(d) if d.editable)
    }

    /// What `pip freeze` prints after `name @ ` for this record.
    pub fn freeze_reference(&self) -> String {
        let mut fragments = Vec::new();
        let mut reference = match &self.info {
            DirectInfo::VcsInfo(vcs) => format!("{}+{}@{}", vcs.vcs, self.url, vcs.commit_id),
            DirectInfo::ArchiveInfo(info) => {
                // pip prints the legacy `hash` only.
                if let Some(hash) = &info.hash {
                    fragments.push(hash.clone());
                }
                self.url.clone()
            }
            DirectInfo::DirInfo(_) => self.url.clone(),
        };
        if let Some(sub) = &self.subdirectory {
            fragments.push(format!("subdirectory={sub}"));
        }
        if !fragments.is_empty() {
            reference.push('#');
            reference.push_str(&fragments.join("&"));
        }
        reference
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes envtool wrote before this type existed (and pip's key order).
    #[test]
    fn golden_records() {
        assert_eq!(
            DirectUrl::archive("file:///w/x-1.0-py3-none-any.whl", "ff").to_json(),
            r#"{"archive_info":{"hash":"sha256=ff","hashes":{"sha256":"ff"}},"url":"file:///w/x-1.0-py3-none-any.whl"}"#
        );
        assert_eq!(
            DirectUrl::directory("file:///src/proj/", false).to_json(),
            r#"{"dir_info":{},"url":"file:///src/proj"}"#
        );
        assert_eq!(
            DirectUrl::directory("file:///src/proj", true).to_json(),
            r#"{"dir_info":{"editable":true},"url":"file:///src/proj"}"#
        );
        let vcs = DirectUrl {
            url: "file:///r/repo".into(),
            info: DirectInfo::VcsInfo(VcsInfo {
                vcs: "git".into(),
                commit_id: "abc".into(),
                requested_revision: Some("v1".into()),
            }),
            subdirectory: Some("sub".into()),
        };
        assert_eq!(
            vcs.to_json(),
            r#"{"subdirectory":"sub","url":"file:///r/repo","vcs_info":{"commit_id":"abc","requested_revision":"v1","vcs":"git"}}"#
        );
        assert_eq!(DirectUrl::parse(&vcs.to_json()), Some(vcs.clone()));
        assert_eq!(
            vcs.freeze_reference(),
            "git+file:///r/repo@abc#subdirectory=sub"
        );
    }

    #[test]
    fn reads_what_other_installers_write() {
        let uv = DirectUrl::parse(r#"{"url":"file:///w/x.whl","archive_info":{}}"#).unwrap();
        assert!(uv.archive_hashes().is_empty());
        assert_eq!(uv.freeze_reference(), "file:///w/x.whl");
        let legacy =
            DirectUrl::parse(r#"{"url":"https://h/x.whl","archive_info":{"hash":"sha256=ab"}}"#)
                .unwrap();
        assert_eq!(legacy.archive_hashes(), [("sha256".into(), "ab".into())]);
        assert_eq!(legacy.freeze_reference(), "https://h/x.whl#sha256=ab");
        let editable =
            DirectUrl::parse(r#"{"dir_info":{"editable":true},"url":"file:///p"}"#).unwrap();
        assert!(editable.is_editable());
        assert_eq!(DirectUrl::parse("[1]"), None);
        assert_eq!(DirectUrl::parse(r#"{"url":"x"}"#), None);
    }
}

//! What an environment holds: its `.dist-info` directories, read without running Python.

use std::path::{Path, PathBuf};

use crate::dist::direct_url::DirectUrl;
use crate::dist::metadata::{self, CoreMetadata};
use crate::dist::normalize_name;
use crate::dist::source::{Provenance, Source};

/// envtool's own record of where a distribution came from (`<dist-info>/envtool-origin.json`);
/// `freeze --hashes` and lock files read it, so they need no network.
pub const ORIGIN_FILE: &str = "envtool-origin.json";

/// What each installed distribution depends on among the installed ones: requirements whose
/// markers hold for `markers` (every environment marker counts as true when it is unknown) with
/// the extras that are active for it. Extras are active when the resolution that installed the
/// distribution asked for them (its provenance record) or when another installed distribution
/// requires them; extras nobody asked for pull nothing.
pub fn dependency_graph(
    dists: &[InstalledDist],
    markers: Option<&pep508_rs::MarkerEnvironment>,
) -> std::collections::BTreeMap<String, Vec<String>> {
    use std::collections::{BTreeMap, BTreeSet};
    let installed: BTreeSet<&str> = dists.iter().map(|d| d.key.as_str()).collect();
    let parsed: Vec<(&str, Vec<pep508_rs::Requirement>)> = dists
        .iter()
        .map(|d| {
            let reqs = d
                .metadata
                .requires_dist
                .iter()
                .filter_map(|r| crate::dist::pep508::requirement(r).ok())
                .collect();
            (d.key.as_str(), reqs)
        })
        .collect();
    let mut active: BTreeMap<&str, BTreeSet<String>> = dists
        .iter()
        .map(|d| {
            let extras = d
                .origin
                .iter()
                .flat_map(|o| o.extras.iter().map(|e| normalize_name(e)));
            (d.key.as_str(), extras.collect())
        })
        .collect();
    let applies = |r: &pep508_rs::Requirement, extras: &BTreeSet<String>| {
        let extras: Vec<pep508_rs::ExtraName> =
            extras.iter().filter_map(|e| e.parse().ok()).collect();
        r.marker.evaluate_optional_environment(markers, &extras)
    };
    // Requested extras can request more extras: repeat until nothing changes.
    loop {
        let mut added = Vec::new();
        for (key, reqs) in &parsed {
            for r in reqs {
                let target = normalize_name(r.name.as_ref());
                if !installed.contains(target.as_str()) || !applies(r, &active[key]) {
                    continue;
                }
                for extra in &r.extras {
                    let extra = normalize_name(extra.as_ref());
                    if !active[target.as_str()].contains(&extra) {
                        added.push((target.clone(), extra));
                    }
                }
            }
        }
        if added.is_empty() {
            break;
        }
        for (target, extra) in added {
            if let Some(set) = active.get_mut(target.as_str()) {
                set.insert(extra);
            }
        }
    }
    parsed
        .iter()
        .map(|(key, reqs)| {
            let mut names: Vec<String> = reqs
                .iter()
                .filter(|r| applies(r, &active[key]))
                .map(|r| normalize_name(r.name.as_ref()))
                .filter(|n| n != key && installed.contains(n.as_str()))
                .collect();
            names.sort();
            names.dedup();
            (key.to_string(), names)
        })
        .collect()
}

/// One installed distribution.
#[derive(Debug, Clone)]
pub struct InstalledDist {
    pub metadata: CoreMetadata,
    /// Normalized name.
    pub key: String,
    pub dist_info: PathBuf,
    pub installer: Option<String>,
    pub requested: bool,
    pub direct_url: Option<DirectUrl>,
    pub origin: Option<Provenance>,
}

impl InstalledDist {
    pub fn version(&self) -> &str {
        &self.metadata.version
    }

    /// Where it came from, as far as its records say: its PEP 610 record, else envtool's
    /// provenance record (an index, or find-links when no index is named).
    pub fn source(&self) -> Option<Source> {
        if let Some(record) = &self.direct_url {
            return Source::from_direct_url(record);
        }
        let origin = self.origin.as_ref()?;
        Some(Source::Registry {
            index: origin
                .index
                .as_deref()
                .and_then(|i| url::Url::parse(i).ok()),
        })
    }

    /// Where it came from, in a word or a URL (for `list`).
    pub fn describe_source(&self) -> String {
        if let Some(record) = &self.direct_url {
            return record.url.clone();
        }
        if let Some(origin) = &self.origin {
            return origin.index.clone().unwrap_or_else(|| origin.url.clone());
        }
        match &self.installer {
            Some(i) => format!("installed by {i}"),
            None => "unknown".into(),
        }
    }
}

/// A `.dist-info` that cannot be read, named so the user can repair it.
#[derive(Debug, Clone)]
pub struct Broken {
    pub dist_info: PathBuf,
    pub reason: String,
}

/// Read one `.dist-info` directory.
pub fn read_dist(dist_info: &Path) -> Result<InstalledDist, Broken> {
    let broken = |reason: String| Broken {
        dist_info: dist_info.to_path_buf(),
        reason,
    };
    // Legacy `.egg-info`: a directory holding PKG-INFO, or the PKG-INFO text itself.
    let metadata_file = if dist_info.extension().is_some_and(|e| e == "egg-info") {
        if dist_info.is_dir() {
            dist_info.join("PKG-INFO")
        } else {
            dist_info.to_path_buf()
        }
    } else {
        dist_info.join("METADATA")
    };
    let text = std::fs::read_to_string(&metadata_file).map_err(|e| {
        broken(format!(
            "cannot read {}: {e}",
            metadata_file
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
        ))
    })?;
    let metadata = metadata::parse(&text).map_err(|e| broken(e.to_string()))?;
    let read = |name: &str| std::fs::read_to_string(dist_info.join(name)).ok();
    Ok(InstalledDist {
        key: normalize_name(&metadata.name),
        metadata,
        dist_info: dist_info.to_path_buf(),
        installer: read("INSTALLER").map(|s| s.trim().to_string()),
        requested: dist_info.join("REQUESTED").exists(),
        direct_url: read("direct_url.json").and_then(|s| DirectUrl::parse(&s)),
        origin: read(ORIGIN_FILE).and_then(|s| serde_json::from_str(&s).ok()),
    })
}

/// Every `.dist-info` (and legacy `.egg-info`) in `site_packages`, sorted by name; unreadable
/// ones apart.
pub fn scan(site_packages: &Path) -> (Vec<InstalledDist>, Vec<Broken>) {
    let mut dists = Vec::new();
    let mut broken = Vec::new();
    let Ok(rd) = std::fs::read_dir(site_packages) else {
        return (dists, broken);
    };
    let mut dirs: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let ext = p.extension().and_then(|e| e.to_str());
            (ext == Some("dist-info") && p.is_dir()) || ext == Some("egg-info")
        })
        .collect();
    dirs.sort();
    for dir in dirs {
        match read_dist(&dir) {
            Ok(d) => dists.push(d),
            Err(b) => broken.push(b),
        }
    }
    (dists, broken)
}

//! Dependency resolution: PubGrub (the `pubgrub` crate) over index metadata for one target
//! interpreter, producing a `Resolution`: plain data the installer's plan consumes.

pub mod candidates;
pub mod provider;
pub mod ranges;
pub mod report;
pub mod source;

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use pep440_rs::Version;
use pep508_rs::{MarkerEnvironment, Requirement};

use crate::dist::source::{Provenance, Source};
use crate::dist::tags::Tags;
use crate::dist::{metadata::CoreMetadata, normalize_name, DistFilename};
use crate::error::user;
use crate::fetch::Artifact;
use crate::index::Candidate;
use provider::{Pkg, Provider, State};
use source::PackageSource;

/// How to choose versions.
#[derive(Debug, Clone, Default)]
pub struct ResolveOptions {
    /// Allow pre-releases everywhere.
    pub pre: bool,
    /// Only what was asked for, no dependencies.
    pub no_deps: bool,
    /// Ignore installed versions as preferences.
    pub upgrade_all: bool,
    /// Ignore the installed version of these (normalized) names.
    pub upgrade: HashSet<String>,
    /// Installed versions, kept when they still satisfy.
    pub preferences: HashMap<String, Version>,
    /// Which packages may use wheels and which source distributions.
    pub binary: BinaryPolicy,
}

/// `--only-binary` and `--no-binary`, as pip reads them (names or `:all:`, comma separated).
#[derive(Debug, Clone, Default)]
pub struct BinaryPolicy {
    pub only_binary_all: bool,
    pub only_binary: HashSet<String>,
    pub no_binary_all: bool,
    pub no_binary: HashSet<String>,
}

impl BinaryPolicy {
    pub fn parse(only_binary: &[String], no_binary: &[String]) -> BinaryPolicy {
        let mut policy = BinaryPolicy::default();
        for (values, all, names) in [
            (
                only_binary,
                &mut policy.only_binary_all,
                &mut policy.only_binary,
            ),
            (no_binary, &mut policy.no_binary_all, &mut policy.no_binary),
        ] {
            for value in values.iter().flat_map(|v| v.split(',')) {
                match value.trim() {
                    ":all:" => *all = true,
                    ":none:" => {
                        *all = false;
                        names.clear();
                    }
                    "" => {}
                    name => {
                        names.insert(normalize_name(name));
                    }
                }
            }
        }
        policy
    }

    /// What the two options both name, when they contradict each other (`:all:` in both, or
    /// one package in both): then nothing could be installed for it, and pip's "last one wins"
    /// would silently drop one of the user's words.
    pub fn contradiction(&self) -> Option<String> {
        if self.only_binary_all && self.no_binary_all {
            return Some(":all:".into());
        }
        let mut both: Vec<&String> = self.only_binary.intersection(&self.no_binary).collect();
        both.sort();
        both.first().map(|name| name.to_string())
    }

    /// Wheels may be used for `key` (not `--no-binary`).
    pub fn allow_wheel(&self, key: &str) -> bool {
        if self.no_binary.contains(key) {
            return false;
        }
        !self.no_binary_all || self.only_binary.contains(key)
    }

    /// Source distributions may be used for `key` (not `--only-binary`).
    pub fn allow_sdist(&self, key: &str) -> bool {
        if self.only_binary.contains(key) {
            return false;
        }
        !self.only_binary_all || self.no_binary.contains(key)
    }
}

/// A distribution given by URL or path rather than found on an index; it wins over index
/// versions of its name.
#[derive(Debug, Clone)]
pub struct DirectDist {
    pub key: String,
    pub version: Version,
    pub artifact: Artifact,
    pub metadata: CoreMetadata,
    /// Where it comes from (never `Source::Registry`).
    pub source: Source,
    /// When `artifact` is a wheel built here from an archive: that archive.
    pub built_from: Option<Provenance>,
}

/// One distribution of the answer.
#[derive(Debug, Clone)]
pub struct ResolvedDist {
    pub key: String,
    /// As the distribution spells itself (its metadata), else the normalized name.
    pub name: String,
    pub version: Version,
    pub artifact: Artifact,
    /// Where it comes from: an index (or find-links), or a direct reference.
    pub source: Source,
    pub size: Option<u64>,
    pub upload_time: Option<String>,
    pub requires_python: Option<String>,
    pub requested: bool,
    /// Normalized names of what it depends on (in this resolution).
    pub dependencies: Vec<String>,
    /// Its extras this resolution activated (normalized), sorted.
    pub extras: Vec<String>,
    /// Every file the index lists for this version (for locks usable on other platforms).
    pub files: Vec<Candidate>,
    /// When `artifact` is a wheel built here from an archive: that archive.
    pub built_from: Option<Provenance>,
    /// The core metadata the resolver decided with (index files): the installed wheel's own
    /// METADATA must agree with it.
    pub metadata: Option<std::sync::Arc<CoreMetadata>>,
}

impl ResolvedDist {
    /// A direct reference as part of the answer.
    pub fn from_direct(direct: &DirectDist, requested: bool, dependencies: Vec<String>) -> Self {
        ResolvedDist {
            key: direct.key.clone(),
            name: direct.metadata.name.clone(),
            version: direct.version.clone(),
            artifact: direct.artifact.clone(),
            source: direct.source.clone(),
            size: None,
            upload_time: None,
            requires_python: direct.metadata.requires_python.clone(),
            requested,
            dependencies,
            extras: Vec::new(),
            files: Vec::new(),
            built_from: direct.built_from.clone(),
            metadata: None,
        }
    }

    /// The PEP 610 record to write when installing it (direct references only).
    pub fn direct_url(&self) -> Option<crate::dist::direct_url::DirectUrl> {
        self.source.direct_url()
    }
}

/// The exact set of distributions for one interpreter.
#[derive(Debug, Clone, Default)]
pub struct Resolution {
    pub dists: Vec<ResolvedDist>,
}

/// What to resolve.
pub struct ResolveInput {
    pub root: Vec<Requirement>,
    pub constraints: Vec<Requirement>,
    pub overrides: Vec<Requirement>,
    pub direct: HashMap<String, DirectDist>,
    pub options: ResolveOptions,
}

/// The file a candidate names, as something to fetch.
pub fn artifact_for(candidate: &Candidate) -> Option<Artifact> {
    let hashes: Vec<(String, String)> = candidate
        .file
        .hashes
        .iter()
        .filter(|(a, _)| matches!(*a, "sha256" | "sha384" | "sha512"))
        .map(|(a, h)| (a.to_string(), h.clone()))
        .collect();
    match &candidate.dist {
        DistFilename::Wheel(w) => Some(w.clone()),
        DistFilename::Sdist(_) => None,
    }
    .map_or_else(
        || Artifact {
            filename: candidate.file.filename.clone(),
            wheel: None,
            url: candidate.file.url.clone(),
            hashes: hashes.clone(),
            required: Vec::new(),
        },
        |w| Artifact::for_wheel(w, candidate.file.url.clone(), hashes.clone()),
    )
    .into()
}

/// Resolve for the interpreter described by `tags`, `python` and `markers`.
pub fn resolve(
    input: ResolveInput,
    source: std::sync::Arc<dyn PackageSource>,
    tags: Tags,
    python: Version,
    markers: MarkerEnvironment,
) -> anyhow::Result<Resolution> {
    let start = Instant::now();
    let requested: HashSet<String> = input
        .root
        .iter()
        .map(|r| normalize_name(r.name.as_ref()))
        .collect();
    let state = State::new(
        source,
        tags,
        python,
        markers,
        input.options,
        input.direct,
        input.root,
        input.constraints,
        input.overrides,
    );
    let provider = Provider::new(state, 16);
    let spinner = crate::output::spinner("Resolving");
    let result = loop {
        match pubgrub::resolve(&provider, Pkg::Root, Version::new([0])) {
            Err(pubgrub::PubGrubError::ErrorChoosingVersion { source, .. })
                if source.0 .0.downcast_ref::<provider::Restart>().is_some() =>
            {
                crate::output::debug(
                    "starting the resolution again, deciding a conflicting package earlier",
                );
                provider.begin_restart();
            }
            other => break other,
        }
    };
    spinner.finish_and_clear();
    provider.finish();
    let state = &provider.state;
    let solution = match result {
        Ok(s) => s,
        Err(pubgrub::PubGrubError::NoSolution(tree)) => {
            precheck_root(state)?;
            let (explanation, hint) = report::explain(&tree, state);
            return Err(user(
                format!("no set of versions satisfies your requirements:\n{explanation}"),
                hint.unwrap_or_else(|| {
                    "loosen the requirements that collide, or force a version with --override"
                        .into()
                }),
            ));
        }
        Err(pubgrub::PubGrubError::ErrorRetrievingDependencies { source, .. })
        | Err(pubgrub::PubGrubError::ErrorChoosingVersion { source, .. })
        | Err(pubgrub::PubGrubError::ErrorInShouldCancel(source)) => {
            return Err(source.0.to_error());
        }
    };

    let selected: HashSet<String> = solution
        .iter()
        .filter_map(|(p, _)| match p {
            Pkg::Dist(k) => Some(k.clone()),
            _ => None,
        })
        .collect();
    let mut active: HashMap<&str, Vec<String>> = HashMap::new();
    for (pkg, _) in solution.iter() {
        if let Pkg::Extra(key, extra) = pkg {
            active.entry(key.as_str()).or_default().push(extra.clone());
        }
    }
    let mut dists = Vec::new();
    for (pkg, version) in solution.iter() {
        let Pkg::Dist(key) = pkg else { continue };
        let mut extras = active.get(key.as_str()).cloned().unwrap_or_default();
        extras.sort();
        let dependencies = dependency_names(state, key, version, &extras, &selected);
        let dist = if let Some(direct) = state.direct.get(key) {
            let mut dist = ResolvedDist::from_direct(direct, requested.contains(key), dependencies);
            dist.extras = extras;
            dist
        } else {
            let candidate = state
                .candidate(key, version)
                .ok_or_else(|| anyhow::anyhow!("{key} {version} was chosen but has no file"))?;
            let artifact = artifact_for(&candidate)
                .ok_or_else(|| anyhow::anyhow!("{} cannot be fetched", candidate.file.filename))?;
            if let Some(reason) = &candidate.file.yanked {
                // Only an exact pin selects a yanked file; say so, as pip and uv do.
                let reason = if reason.trim().is_empty() {
                    "no reason given".to_string()
                } else {
                    crate::redact::text_of(reason.trim())
                };
                crate::output::warn(&format!(
                    "{key}=={version} is yanked from its index (reason: {reason})"
                ));
            }
            let metadata = state.metadata(key, version).ok();
            let name = metadata
                .as_ref()
                .map(|m| m.name.clone())
                .unwrap_or_else(|| key.clone());
            ResolvedDist {
                metadata,
                key: key.clone(),
                name,
                version: version.clone(),
                artifact,
                source: Source::Registry {
                    index: candidate.index.as_deref().cloned(),
                },
                size: candidate.file.size,
                upload_time: candidate
                    .file
                    .upload_time
                    .as_deref()
                    .map(crate::dist::canonical_time),
                requires_python: candidate.file.requires_python.clone(),
                requested: requested.contains(key),
                dependencies,
                extras,
                files: state
                    .source
                    .project(key)
                    .map(|p| {
                        p.candidates
                            .iter()
                            .filter(|c| c.dist.version() == version && c.file.yanked.is_none())
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default(),
                built_from: None,
            }
        };
        dists.push(dist);
    }
    dists.sort_by(|a, b| a.key.cmp(&b.key));
    crate::output::debug(&format!(
        "resolved {} packages in {:?}",
        dists.len(),
        start.elapsed()
    ));
    Ok(Resolution { dists })
}

/// Clear errors for what the user asked for directly: a name no source knows (with close
/// names), or no version at all matching the requirement.
fn precheck_root(state: &State) -> anyhow::Result<()> {
    // Two requirements of yours on one name that no version meets together: name both.
    let mut by_key: HashMap<String, Vec<&Requirement>> = HashMap::new();
    for req in &state.root {
        if req.evaluate_markers(&state.markers, &[]) {
            by_key
                .entry(normalize_name(req.name.as_ref()))
                .or_default()
                .push(req);
        }
    }
    for (key, reqs) in &by_key {
        if reqs.len() < 2 || state.direct.contains_key(key) || state.overrides.contains_key(key) {
            continue;
        }
        let ranges: Vec<provider::Range> = reqs
            .iter()
            .map(|r| match &r.version_or_url {
                Some(pep508_rs::VersionOrUrl::VersionSpecifier(s)) => {
                    ranges::range_of_specifiers(s)
                }
                _ => provider::Range::full(),
            })
            .collect();
        let all = ranges
            .iter()
            .fold(provider::Range::full(), |acc, r| acc.intersection(r));
        if all.is_empty() {
            let named: Vec<String> = reqs.iter().map(|r| r.to_string()).collect();
            return Err(user(
                format!(
                    "your requirements {} cannot all hold: no version of {key} meets them together",
                    named.join(" and ")
                ),
                format!("keep one requirement on {key}, or loosen them so they overlap"),
            ));
        }
    }
    for req in &state.root {
        if !req.evaluate_markers(&state.markers, &[]) {
            continue;
        }
        let key = normalize_name(req.name.as_ref());
        if state.direct.contains_key(&key) || state.overrides.contains_key(&key) {
            continue;
        }
        let map = state.versions(&key).map_err(|e| e.0.to_error())?;
        if !map.found {
            let close = close_names(state, &key);
            let hint = if close.is_empty() {
                format!(
                    "check the spelling, or the index ({})",
                    state.source.describe()
                )
            } else {
                format!("did you mean {}?", close.join(" or "))
            };
            return Err(user(
                format!(
                    "no package named {} was found in {}",
                    req.name,
                    state.source.describe()
                ),
                hint,
            ));
        }
        if let Some(pep508_rs::VersionOrUrl::VersionSpecifier(specs)) = &req.version_or_url {
            let any = map.entries.keys().any(|v| specs.contains(v));
            if !any {
                let mut versions: Vec<String> = map
                    .entries
                    .keys()
                    .rev()
                    .take(5)
                    .map(|v| v.to_string())
                    .collect();
                versions.reverse();
                return Err(user(
                    format!("no version of {} matches {specs}", req.name),
                    format!("available versions include {}", versions.join(", ")),
                ));
            }
        }
    }
    Ok(())
}

/// Project names this run has seen (find-links, cached index pages) that are close to `key`.
fn close_names(state: &State, key: &str) -> Vec<String> {
    let mut known: Vec<String> = state.source.known_names();
    known.sort();
    known.dedup();
    known
        .into_iter()
        .filter(|n| n != key && edit_distance(n, key) <= 2.max(key.len() / 5))
        .take(3)
        .collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut row = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            row.push((prev[j] + cost).min(prev[j + 1] + 1).min(row[j] + 1));
        }
        prev = row;
    }
    prev[b.len()]
}

/// The selected distributions that `key`==`version` requires (sorted, for locks).
/// What `key` depends on in the answer: its requirements (after overrides) whose markers hold
/// for the target with the extras that were asked of it, and nothing an unasked extra pulls.
fn dependency_names(
    state: &State,
    key: &str,
    version: &Version,
    extras: &[String],
    selected: &HashSet<String>,
) -> Vec<String> {
    let Ok(meta) = state.metadata(key, version) else {
        return Vec::new();
    };
    let parsed: Vec<Requirement> = meta
        .requires_dist
        .iter()
        .filter_map(|text| crate::dist::pep508::requirement(text).ok())
        .collect();
    let extras: Vec<pep508_rs::ExtraName> = extras.iter().filter_map(|e| e.parse().ok()).collect();
    let mut names: Vec<String> = state
        .effective(parsed.iter())
        .into_iter()
        .filter(|r| r.evaluate_markers(&state.markers, &extras))
        .map(|r| normalize_name(r.name.as_ref()))
        .filter(|n| n != key && selected.contains(n))
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests;

//! The PubGrub dependency provider: versions from the index (through `candidates`), metadata
//! from PEP 658 files or cached wheels, fetched concurrently ahead of the solver.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::{mpsc, Arc, Mutex, OnceLock};

use pep440_rs::Version;
use pep508_rs::{ExtraName, MarkerEnvironment, Requirement, VersionOrUrl};
use pubgrub::{
    Dependencies, DependencyConstraints, DependencyProvider, PackageResolutionStatistics,
};
use version_ranges::Ranges;

use super::candidates::VersionMap;
use super::source::PackageSource;
use super::DirectDist;
use crate::dist::metadata::{self, CoreMetadata};
use crate::dist::normalize_name;
use crate::dist::tags::Tags;
use crate::index::Candidate;

pub type Range = Ranges<Version>;

/// A node of the dependency graph.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pkg {
    Root,
    Dist(String),
    Extra(String, String),
}

impl fmt::Display for Pkg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pkg::Root => f.write_str("your requirements"),
            Pkg::Dist(n) => f.write_str(n),
            Pkg::Extra(n, e) => write!(f, "{n}[{e}]"),
        }
    }
}

impl Pkg {
    pub fn key(&self) -> Option<&str> {
        match self {
            Pkg::Root => None,
            Pkg::Dist(n) | Pkg::Extra(n, _) => Some(n),
        }
    }
}

/// An error inside the provider, shareable between the solver and prefetch threads.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ProviderError(pub crate::error::Shared);

impl ProviderError {
    fn new(e: anyhow::Error) -> ProviderError {
        ProviderError(crate::error::Shared(Arc::new(e)))
    }
}

type Shared<T> = Result<Arc<T>, ProviderError>;

/// Compute each key once, whichever thread asks first; others wait for that answer.
struct Memo<K, V> {
    map: Mutex<HashMap<K, Arc<OnceLock<V>>>>,
}

impl<K: std::hash::Hash + Eq + Clone, V: Clone> Memo<K, V> {
    fn new() -> Self {
        Memo {
            map: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, key: &K, compute: impl FnOnce() -> V) -> V {
        let cell = self
            .map
            .lock()
            .unwrap()
            .entry(key.clone())
            .or_default()
            .clone();
        cell.get_or_init(compute).clone()
    }
}

/// Everything the resolver knows; shared with the prefetch threads.
pub struct State {
    pub source: Arc<dyn PackageSource>,
    pub tags: Tags,
    pub python: Version,
    pub markers: MarkerEnvironment,
    pub options: super::ResolveOptions,
    pub direct: HashMap<String, DirectDist>,
    pub constraints: HashMap<String, Range>,
    pub overrides: HashMap<String, Vec<Requirement>>,
    pub root: Vec<Requirement>,
    versions: Memo<String, Shared<VersionMap>>,
    metadata: Memo<(String, Version), Shared<CoreMetadata>>,
    /// Names whose requirements mention a pre-release (so pre-releases are allowed for them).
    pre_named: HashSet<String>,
    /// Names the user pinned to one exact version (`==V`, no wildcard, no override).
    exact_pins: HashMap<String, Version>,
}

impl State {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        source: Arc<dyn PackageSource>,
        tags: Tags,
        python: Version,
        markers: MarkerEnvironment,
        options: super::ResolveOptions,
        direct: HashMap<String, DirectDist>,
        root: Vec<Requirement>,
        constraints: Vec<Requirement>,
        overrides: Vec<Requirement>,
    ) -> State {
        let mut pre_named = HashSet::new();
        let mut constraint_map: HashMap<String, Range> = HashMap::new();
        for req in root
            .iter()
            .chain(constraints.iter())
            .chain(overrides.iter())
        {
            if let Some(VersionOrUrl::VersionSpecifier(specs)) = &req.version_or_url {
                if specs.iter().any(|s| s.version().any_prerelease()) {
                    pre_named.insert(normalize_name(req.name.as_ref()));
                }
            }
        }
        for c in &constraints {
            if !c.evaluate_markers(&markers, &[]) {
                continue;
            }
            let key = normalize_name(c.name.as_ref());
            let range = match &c.version_or_url {
                Some(VersionOrUrl::VersionSpecifier(specs)) => {
                    super::ranges::range_of_specifiers(specs)
                }
                _ => Range::full(),
            };
            let merged = constraint_map
                .get(&key)
                .map_or(range.clone(), |r| r.intersection(&range));
            constraint_map.insert(key, merged);
        }
        let mut exact_pins: HashMap<String, Version> = HashMap::new();
        for req in &root {
            if let Some(VersionOrUrl::VersionSpecifier(specs)) = &req.version_or_url {
                if let [spec] = specs.iter().collect::<Vec<_>>().as_slice() {
                    if *spec.operator() == pep440_rs::Operator::Equal {
                        exact_pins
                            .insert(normalize_name(req.name.as_ref()), spec.version().clone());
                    }
                }
            }
        }
        let mut override_map: HashMap<String, Vec<Requirement>> = HashMap::new();
        for o in overrides {
            if o.evaluate_markers(&markers, &[]) {
                override_map
                    .entry(normalize_name(o.name.as_ref()))
                    .or_default()
                    .push(o);
            }
        }
        State {
            source,
            tags,
            python,
            markers,
            options,
            direct,
            constraints: constraint_map,
            overrides: override_map,
            root,
            versions: Memo::new(),
            metadata: Memo::new(),
            pre_named,
            exact_pins,
        }
    }

    /// The versions of `key` (memoized; fetched at most once per run).
    pub fn versions(&self, key: &str) -> Shared<VersionMap> {
        self.versions.get(&key.to_string(), || {
            let pinned = self
                .exact_pins
                .get(key)
                .filter(|_| !self.overrides.contains_key(key));
            let files = match pinned {
                Some(version) => {
                    // The cached page must already offer a file this interpreter can use.
                    let usable = |files: &crate::index::ProjectFiles| {
                        let map = VersionMap::build(files, &self.tags, &self.python);
                        map.entries
                            .get(version)
                            .and_then(|e| e.best(self.allow(key)))
                            .is_some_and(|c| {
                                matches!(c.dist, crate::dist::DistFilename::Wheel(_))
                                    || !self.allow(key).0
                            })
                    };
                    self.source.project_pinned(key, version, &usable)
                }
                None => self.source.project(key),
            }
            .map_err(ProviderError::new)?;
            Ok(Arc::new(VersionMap::build(
                &files,
                &self.tags,
                &self.python,
            )))
        })
    }

    /// Which kinds of file `key` may use: (wheels, source distributions).
    pub fn allow(&self, key: &str) -> (bool, bool) {
        let policy = &self.options.binary;
        (
            policy.allow_wheel(key),
            policy.allow_sdist(key) && self.source.can_build(),
        )
    }

    /// The file the resolver would use for `key` at `version`.
    pub fn candidate(&self, key: &str, version: &Version) -> Option<Candidate> {
        let map = self.versions(key).ok()?;
        map.entries.get(version)?.best(self.allow(key)).cloned()
    }

    /// Core metadata of `key` at `version` (PEP 658 file, or the wheel itself).
    pub fn metadata(&self, key: &str, version: &Version) -> Shared<CoreMetadata> {
        if let Some(direct) = self.direct.get(key) {
            if &direct.version == version {
                return Ok(Arc::new(direct.metadata.clone()));
            }
        }
        self.metadata.get(&(key.to_string(), version.clone()), || {
            let candidate = self.candidate(key, version).ok_or_else(|| {
                ProviderError::new(anyhow::anyhow!("no usable file for {key} {version}"))
            })?;
            let text = self
                .source
                .metadata(&candidate)
                .map_err(ProviderError::new)?;
            let meta = metadata::parse(&text).map_err(|e| {
                ProviderError::new(anyhow::anyhow!(
                    "bad metadata for {}: {e}",
                    candidate.file.filename
                ))
            })?;
            Ok(Arc::new(meta))
        })
    }

    fn allows_pre(&self, key: &str) -> bool {
        self.options.pre || self.pre_named.contains(key)
    }

    /// The range a requirement puts on its package, after overrides and constraints.
    fn range_of(&self, req: &Requirement) -> Result<Range, String> {
        let key = normalize_name(req.name.as_ref());
        let mut range = match &req.version_or_url {
            None => Range::full(),
            Some(VersionOrUrl::VersionSpecifier(specs)) => super::ranges::range_of_specifiers(specs),
            Some(VersionOrUrl::Url(url)) => match self.direct.get(&key) {
                Some(d) => Range::singleton(d.version.clone()),
                None => {
                    return Err(format!(
                        "it depends on {key} from a URL ({url}), which only you can allow: add `{key} @ {url}` to your requirements"
                    ))
                }
            },
        };
        if let Some(d) = self.direct.get(&key) {
            // A direct reference wins over index versions of that name.
            if range.contains(&d.version) {
                range = Range::singleton(d.version.clone());
            }
        }
        if let Some(c) = self.constraints.get(&key) {
            let constrained = range.intersection(c);
            if constrained.is_empty() && !range.is_empty() {
                return Err(format!(
                    "it depends on {req}, which your constraints on {key} ({c}) exclude"
                ));
            }
            range = constrained;
        }
        Ok(range)
    }

    /// The requirements in effect for a package's dependency list, overrides applied.
    pub(crate) fn effective<'a>(
        &'a self,
        reqs: impl Iterator<Item = &'a Requirement>,
    ) -> Vec<&'a Requirement> {
        let mut out = Vec::new();
        let mut overridden = HashSet::new();
        for req in reqs {
            let key = normalize_name(req.name.as_ref());
            match self.overrides.get(&key) {
                Some(replacements) => {
                    if overridden.insert(key) {
                        out.extend(replacements.iter());
                    }
                }
                None => out.push(req),
            }
        }
        out
    }

    fn constraints_for(
        &self,
        reqs: &[&Requirement],
        who: &Pkg,
    ) -> Result<BTreeMap<Pkg, Range>, String> {
        let mut deps: BTreeMap<Pkg, Range> = BTreeMap::new();
        let mut add = |pkg: Pkg, range: Range| {
            let merged = deps
                .get(&pkg)
                .map_or(range.clone(), |r| r.intersection(&range));
            deps.insert(pkg, merged);
        };
        for req in reqs {
            let key = normalize_name(req.name.as_ref());
            if Some(key.as_str()) == who.key() && matches!(who, Pkg::Dist(_)) {
                continue; // a distribution depending on itself
            }
            let range = self.range_of(req)?;
            add(Pkg::Dist(key.clone()), range.clone());
            for extra in &req.extras {
                add(
                    Pkg::Extra(key.clone(), normalize_name(extra.as_ref())),
                    range.clone(),
                );
            }
        }
        Ok(deps)
    }
}

/// The solver's view, plus the prefetch queue.
pub struct Provider {
    pub state: Arc<State>,
    prefetch: Arc<PrefetchQueue>,
    workers: Mutex<Vec<std::thread::JoinHandle<()>>>,
    conflicts: Mutex<Conflicts>,
}

/// After this many of a package's versions were offered and then rejected, the resolution
/// starts again deciding that package earlier (uv's threshold for the same heuristic).
const CONFLICT_RESTART_THRESHOLD: usize = 5;
/// A bound on restarts, so a hard resolution still ends.
const MAX_RESTARTS: usize = 8;

/// What the solver's choices taught so far (kept across restarts).
#[derive(Default)]
struct Conflicts {
    /// Packages decided first after a restart (they kept being rejected).
    boosted: HashSet<String>,
    /// Versions offered per package in this attempt.
    offered: HashMap<String, HashSet<Version>>,
    /// Versions whose dependencies cannot be used at all (these are no conflicts).
    unavailable: HashSet<(String, Version)>,
    /// The package a restart will boost.
    pending: Option<String>,
    restarts: usize,
}

/// Returned through the solver to start the resolution again with new priorities: pubgrub
/// cannot undo a decision by itself, and without this a package decided early (`a==2.0`)
/// would make the solver walk another one all the way down (`b` to an old version) instead of
/// revisiting it, where pip and uv answer `a==1.0, b==newest`.
#[derive(Debug, thiserror::Error)]
#[error("resolution restarts with new priorities")]
pub struct Restart;

/// Packages to look up ahead of the solver: each page once, then the metadata of the version
/// the solver would most likely pick, whose dependencies are queued in turn, so the whole
/// graph is discovered at the network's pace rather than one solver step at a time.
struct PrefetchQueue {
    tx: Mutex<Option<mpsc::Sender<(String, Range)>>>,
    queued: Mutex<HashSet<String>>,
}

impl PrefetchQueue {
    fn push(&self, state: &State, key: &str, range: &Range) {
        // A direct reference has no index page to fetch.
        if state.direct.contains_key(key) || !self.queued.lock().unwrap().insert(key.to_string()) {
            return;
        }
        if let Some(tx) = self.tx.lock().unwrap().as_ref() {
            let _ = tx.send((key.to_string(), range.clone()));
        }
    }
}

impl Provider {
    pub fn new(state: State, jobs: usize) -> Provider {
        let state = Arc::new(state);
        let (tx, rx) = mpsc::channel::<(String, Range)>();
        let rx = Arc::new(Mutex::new(rx));
        let prefetch = Arc::new(PrefetchQueue {
            tx: Mutex::new(Some(tx)),
            queued: Mutex::new(HashSet::new()),
        });
        let mut workers = Vec::new();
        for _ in 0..jobs.max(1) {
            let rx = rx.clone();
            let state = state.clone();
            let queue = prefetch.clone();
            workers.push(std::thread::spawn(move || loop {
                let msg = rx.lock().unwrap().recv();
                let Ok((key, range)) = msg else { break };
                if crate::interrupt::check().is_err() {
                    break;
                }
                prefetch_one(&state, &key, &range, &queue);
            }));
        }
        Provider {
            state,
            prefetch,
            workers: Mutex::new(workers),
            conflicts: Mutex::new(Conflicts::default()),
        }
    }

    fn conflicts(&self) -> std::sync::MutexGuard<'_, Conflicts> {
        self.conflicts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Dependencies that cannot be used (not a conflict: not counted as a rejection).
    fn unavailable(
        &self,
        package: &Pkg,
        version: &Version,
        why: String,
    ) -> Dependencies<Pkg, Range, String> {
        if let Some(key) = package.key() {
            self.conflicts()
                .unavailable
                .insert((key.to_string(), version.clone()));
        }
        Dependencies::Unavailable(why)
    }

    /// Prepare the next attempt after a `Restart`: the pending package is decided first.
    pub fn begin_restart(&self) {
        let mut c = self.conflicts();
        if let Some(key) = c.pending.take() {
            c.boosted.insert(key);
        }
        c.offered.clear();
        c.restarts += 1;
    }

    fn queue(&self, key: &str, range: &Range) {
        self.prefetch.push(&self.state, key, range);
    }

    /// Stop the prefetch threads (pending work is dropped).
    pub fn finish(&self) {
        self.prefetch.tx.lock().unwrap().take();
        for w in self.workers.lock().unwrap().drain(..) {
            let _ = w.join();
        }
    }

    /// The newest acceptable version of `key` in `range`, as `choose_version` picks it.
    pub fn pick(&self, key: &str, range: &Range) -> Result<Option<Version>, ProviderError> {
        let state = &self.state;
        if let Some(d) = state.direct.get(key) {
            return Ok(range.contains(&d.version).then(|| d.version.clone()));
        }
        let map = state.versions(key)?;
        if let Some(installed) = state.options.preferences.get(key) {
            if range.contains(installed)
                && !state.options.upgrade_all
                && !state.options.upgrade.contains(key)
            {
                if let Some(entry) = map.entries.get(installed) {
                    if entry.best(state.allow(key)).is_some() {
                        return Ok(Some(installed.clone()));
                    }
                }
            }
        }
        let exact = super::ranges::pinned_version(range).cloned();
        let choose = |allow_pre: bool| {
            map.entries.iter().rev().find_map(|(v, entry)| {
                if !range.contains(v) || (v.any_prerelease() && !allow_pre) {
                    return None;
                }
                entry.best(state.allow(key))?;
                if entry.yanked && exact.as_ref() != Some(v) {
                    return None;
                }
                Some(v.clone())
            })
        };
        Ok(choose(state.allows_pre(key)).or_else(|| choose(true)))
    }
}

/// A version's Requires-Dist as requirements; a line that does not parse is skipped (and
/// said at -v).
fn requires_dist(key: &str, version: &Version, meta: &CoreMetadata) -> Vec<Requirement> {
    let mut parsed = Vec::new();
    for text in &meta.requires_dist {
        match crate::dist::pep508::requirement(text) {
            Ok(r) => parsed.push(r),
            Err(e) => crate::output::debug(&format!(
                "{key} {version}: skipping bad Requires-Dist {text:?}: {e}"
            )),
        }
    }
    parsed
}

fn prefetch_one(state: &State, key: &str, range: &Range, queue: &PrefetchQueue) {
    let Ok(map) = state.versions(key) else { return };
    let version = map.entries.iter().rev().find_map(|(v, e)| {
        (range.contains(v)
            && !v.any_prerelease()
            && !e.yanked
            && e.best(state.allow(key)).is_some())
        .then(|| v.clone())
    });
    let Some(v) = version else { return };
    let Ok(meta) = state.metadata(key, &v) else {
        return;
    };
    if state.options.no_deps {
        return;
    }
    // Its dependencies (without extras), as the solver will most likely ask for them.
    let parsed = requires_dist(key, &v, &meta);
    for req in state.effective(parsed.iter()) {
        if !req.evaluate_markers(&state.markers, &[]) {
            continue;
        }
        if let Ok(range) = state.range_of(req) {
            queue.push(state, &normalize_name(req.name.as_ref()), &range);
        }
    }
}

impl DependencyProvider for Provider {
    type P = Pkg;
    type V = Version;
    type VS = Range;
    type M = String;
    type Priority = (u8, u32, std::cmp::Reverse<usize>);
    type Err = ProviderError;

    fn prioritize(
        &self,
        package: &Pkg,
        range: &Range,
        stats: &PackageResolutionStatistics,
    ) -> Self::Priority {
        // The root, direct references and exact pins first; then packages that kept being
        // rejected (after a restart); then conflict-prone ones; then the most constrained.
        let count = match package.key() {
            Some(key) if self.state.direct.contains_key(key) => 1,
            Some(key) => self
                .state
                .versions(key)
                .map(|m| m.entries.keys().filter(|v| range.contains(*v)).count())
                .unwrap_or(0),
            None => 0,
        };
        let tier = match package.key() {
            None => 4,
            Some(key) if self.state.direct.contains_key(key) => 3,
            _ if super::ranges::pinned_version(range).is_some() => 3,
            Some(key) if self.conflicts().boosted.contains(key) => 2,
            _ => 0,
        };
        (tier, stats.conflict_count(), std::cmp::Reverse(count))
    }

    fn choose_version(
        &self,
        package: &Pkg,
        range: &Range,
    ) -> Result<Option<Version>, ProviderError> {
        crate::interrupt::check().map_err(|e| ProviderError::new(e.into()))?;
        if let Pkg::Dist(key) = package {
            let mut c = self.conflicts();
            let rejected = c.offered.get(key).map_or(0, |offered| {
                offered
                    .iter()
                    .filter(|v| {
                        !range.contains(*v) && !c.unavailable.contains(&(key.clone(), (*v).clone()))
                    })
                    .count()
            });
            if rejected >= CONFLICT_RESTART_THRESHOLD
                && c.restarts < MAX_RESTARTS
                && !c.boosted.contains(key)
            {
                c.pending = Some(key.clone());
                return Err(ProviderError::new(anyhow::Error::new(Restart)));
            }
        }
        let version = match package {
            Pkg::Root => Some(Version::new([0])),
            Pkg::Dist(key) | Pkg::Extra(key, _) => self.pick(key, range)?,
        };
        if let (Pkg::Dist(key), Some(v)) = (package, &version) {
            self.conflicts()
                .offered
                .entry(key.clone())
                .or_default()
                .insert(v.clone());
        }
        Ok(version)
    }

    fn get_dependencies(
        &self,
        package: &Pkg,
        version: &Version,
    ) -> Result<Dependencies<Pkg, Range, String>, ProviderError> {
        let state = &self.state;
        let deps = match package {
            Pkg::Root => {
                let reqs: Vec<&Requirement> = state
                    .effective(state.root.iter())
                    .into_iter()
                    .filter(|r| r.evaluate_markers(&state.markers, &[]))
                    .collect();
                match state.constraints_for(&reqs, package) {
                    Ok(d) => d,
                    Err(m) => return Ok(self.unavailable(package, version, m)),
                }
            }
            Pkg::Dist(key) | Pkg::Extra(key, _) => {
                if state.options.no_deps {
                    let mut d = DependencyConstraints::default();
                    if matches!(package, Pkg::Extra(..)) {
                        d = [(Pkg::Dist(key.clone()), Range::singleton(version.clone()))]
                            .into_iter()
                            .collect();
                    }
                    return Ok(Dependencies::Available(d));
                }
                // A file that cannot be read is an error, not a reason to pick another version.
                let meta = state.metadata(key, version)?;
                let parsed = requires_dist(key, version, &meta);
                let extras: Vec<ExtraName> = match package {
                    Pkg::Extra(_, extra) => {
                        let known = meta
                            .provides_extra
                            .iter()
                            .any(|e| normalize_name(e) == *extra)
                            || parsed.iter().any(|r| {
                                let e: Vec<ExtraName> = extra.parse().into_iter().collect();
                                r.evaluate_markers(&state.markers, &e)
                                    && !r.evaluate_markers(&state.markers, &[])
                            });
                        if !known {
                            crate::output::warn(&format!(
                                "{key} {version} does not provide the extra '{extra}'"
                            ));
                        }
                        extra.parse().into_iter().collect()
                    }
                    _ => Vec::new(),
                };
                let reqs: Vec<&Requirement> = state
                    .effective(parsed.iter())
                    .into_iter()
                    .filter(|r| r.evaluate_markers(&state.markers, &extras))
                    .collect();
                let mut d = match state.constraints_for(&reqs, package) {
                    Ok(d) => d,
                    Err(m) => return Ok(self.unavailable(package, version, m)),
                };
                if matches!(package, Pkg::Extra(..)) {
                    d.insert(Pkg::Dist(key.clone()), Range::singleton(version.clone()));
                }
                if let Some(python) = &meta.requires_python {
                    if !super::candidates::python_ok(Some(python), &state.python) {
                        return Ok(self.unavailable(
                            package,
                            version,
                            format!("requires Python {python}"),
                        ));
                    }
                }
                d
            }
        };
        for (pkg, range) in &deps {
            if let Some(key) = pkg.key() {
                self.queue(key, range);
            }
        }
        Ok(Dependencies::Available(deps.into_iter().collect()))
    }

    fn should_cancel(&self) -> Result<(), ProviderError> {
        crate::interrupt::check().map_err(|e| ProviderError::new(e.into()))
    }
}

//! The pipeline: request → resolution → plan → apply, one library function per job. Commands
//! are glue over these; `create`, `install`, `sync`, `tool`, `pack` and the build environments
//! of source builds all go through the same functions.
//!
//! - [`Session::resolve`]: requirements (or a lock) → a [`Resolved`] resolution for one interpreter.
//! - [`Session::apply`]: the plan against what an environment holds, then fetch, build and link.
//! - [`Session::install`]: both, for a target environment.

mod direct;
pub mod tool;
mod wheels;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use pep508_rs::Requirement;

use crate::build::BuildContext;
use crate::cache::Cache;
use crate::dist::normalize_name;
use crate::error::user;
use crate::index::http::HttpClient;
use crate::index::Index;
use crate::install::installed::{self, InstalledDist};
use crate::install::layout::Layout;
use crate::install::link::LinkMode;
use crate::install::plan::{self, Plan, PlanOptions};
use crate::install::{apply_plan, ApplyOptions};
use crate::lockfile::pylock;
use crate::output;
use crate::python::facts::Facts;
use crate::python::Interpreter;
use crate::requirements::remembered::Remembered;
use crate::requirements::request::{Request, Sources};
use crate::requirements::txt::TxtOptions;
use crate::requirements::ReqSpec;
use crate::resolve::{self, BinaryPolicy, DirectDist, ResolveInput, ResolveOptions};
use crate::settings::{FileIndexOptions, Settings};

pub use wheels::fetch_plan;

/// Where an install writes: `root` holds the files; `python` is how scripts name the
/// interpreter (they differ while `create` builds in a staging directory).
pub struct Target<'a> {
    pub root: PathBuf,
    pub python: PathBuf,
    pub facts: &'a Facts,
}

impl Target<'_> {
    pub fn layout(&self) -> Layout {
        let mut layout = Layout::new(&self.root, self.facts);
        layout.python = self.python.clone();
        layout
    }
}

/// Keep `remember` with the environment (after its install succeeded).
fn remember_in(state_dir: &Path, remember: &Remembered) -> anyhow::Result<()> {
    if remember.is_empty() && !Remembered::path(state_dir).exists() {
        return Ok(());
    }
    fs_err::create_dir_all(state_dir)?;
    remember.save(state_dir)
}

/// How to resolve and install (the options `install`, `create`, `sync` and `lock` share).
#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    pub upgrade: bool,
    pub upgrade_package: Vec<String>,
    pub reinstall: bool,
    pub no_deps: bool,
    pub pre: bool,
    pub only_binary: Vec<String>,
    pub no_binary: Vec<String>,
    /// None: `ENVTOOL_LINK_MODE`, else hard links.
    pub link_mode: Option<LinkMode>,
    pub compile: bool,
    pub dry_run: bool,
    /// Drop what the environment remembers (constraints and overrides of earlier runs).
    pub forget_constraints: bool,
}

/// What to install, resolved: the distributions and the hashes the user demands.
pub struct Resolved {
    pub resolution: resolve::Resolution,
    pub required_hashes: HashMap<String, Vec<(String, String)>>,
    pub index: Index,
    /// How to build source distributions in the resolution.
    pub build: BuildContext,
    /// The constraints and overrides to remember once installed (none for a lock).
    pub remember: Option<Remembered>,
}

/// One run's settings and cache: what every job needs.
#[derive(Debug, Clone)]
pub struct Session {
    pub settings: Settings,
    pub cache: Cache,
}

impl Session {
    pub fn new(settings: &Settings, cache: &Cache) -> Session {
        Session {
            settings: settings.clone(),
            cache: cache.clone(),
        }
    }

    /// The index client for a target interpreter and a request's file options.
    pub fn open_index(&self, options: &TxtOptions, facts: &Facts) -> anyhow::Result<Index> {
        let file = FileIndexOptions {
            index_url: options.index_url.clone(),
            extra_index_urls: options.extra_index_urls.clone(),
            find_links: options.find_links.clone(),
            no_index: options.no_index,
        };
        let index_settings = self
            .settings
            .index_settings(&file, facts.pip_index_url.as_deref())?;
        let http = HttpClient::new(
            self.cache.clone(),
            self.settings.offline,
            index_settings.cert.as_deref(),
        )?;
        Ok(Index::new(http, index_settings))
    }

    /// An HTTP client with the index's TLS, credential and offline rules (for files by URL).
    fn http_client(&self, facts: &Facts) -> anyhow::Result<HttpClient> {
        let index_settings = self
            .settings
            .index_settings(&FileIndexOptions::default(), facts.pip_index_url.as_deref())?;
        HttpClient::new(
            self.cache.clone(),
            self.settings.offline,
            index_settings.cert.as_deref(),
        )
    }

    /// How to build source distributions for `facts`' interpreter (build requirements are
    /// installed by this same pipeline, one level deeper).
    pub fn build_context(&self, facts: &Facts) -> BuildContext {
        BuildContext {
            cache: self.cache.clone(),
            interpreter: Interpreter {
                executable: facts.executable.clone(),
                found_as: facts.executable.clone(),
                facts: facts.clone(),
            },
            installer: Arc::new(self.clone()),
            depth: self.settings.build_depth,
        }
    }

    /// Resolve, plan and apply a request against a target environment.
    pub fn install(
        &self,
        target: &Target,
        sources: &Sources,
        opts: &InstallOptions,
    ) -> anyhow::Result<Plan> {
        let layout = target.layout();
        let (installed, broken) = installed::scan(&layout.purelib);
        for b in &broken {
            output::warn(&format!(
                "ignoring a damaged distribution at {}: {}",
                b.dist_info.display(),
                b.reason
            ));
        }
        let state_dir = target.root.join(crate::venv::STATE_DIR);
        let mut sources = sources.clone();
        if !opts.forget_constraints {
            sources.remembered = Remembered::load(&state_dir)?.updated(&sources.remembered);
        }
        sources.remembered_label = format!("remembered by {}", target.root.display());
        let resolved = self.resolve(target.facts, &sources, opts, &installed)?;
        let plan_options = PlanOptions {
            reinstall: opts.reinstall,
            exact: false,
        };
        let plan = self.apply(target, &resolved, &installed, plan_options, opts)?;
        if !opts.dry_run {
            if let Some(remember) = &resolved.remember {
                remember_in(&state_dir, remember)?;
            }
        }
        Ok(plan)
    }

    /// Turn the request (requirements, or one pylock.toml) into a resolution for `facts`.
    pub fn resolve(
        &self,
        facts: &Facts,
        sources: &Sources,
        opts: &InstallOptions,
        installed: &[InstalledDist],
    ) -> anyhow::Result<Resolved> {
        let start = Instant::now();
        let cwd = std::env::current_dir()?;
        let locks: Vec<&PathBuf> = sources
            .requirement_files
            .iter()
            .filter(|f| pylock::is_pylock(f))
            .collect();
        if let Some(lock_path) = locks.first() {
            if locks.len() > 1 || !sources.reqs.is_empty() || sources.requirement_files.len() > 1 {
                return Err(user(
                    "a pylock.toml is installed on its own",
                    "pass the lock file alone (-r pylock.toml), without other requirements",
                ));
            }
            return self.resolve_lock(lock_path, facts);
        }
        let client: std::cell::RefCell<Option<HttpClient>> = Default::default();
        let remote = |url: &url::Url| -> Result<String, String> {
            let mut client = client.borrow_mut();
            if client.is_none() {
                *client = Some(self.http_client(facts).map_err(|e| format!("{e:#}"))?);
            }
            let http = client.as_ref().expect("set above");
            let page = http
                .get_page(url, "text/plain, */*;q=0.5")
                .map_err(|e| format!("{e:#}"))?;
            if page
                .content_type
                .to_ascii_lowercase()
                .starts_with("text/html")
            {
                return Err(crate::requirements::txt::NOT_REQUIREMENTS_BUT_HTML.into());
            }
            String::from_utf8(page.body).map_err(|_| "it is not UTF-8 text".to_string())
        };
        let request = Request::gather(sources, &cwd, Some(&remote))?;
        let index = self.open_index(&request.options, facts)?;
        let tags = crate::python::tags::from_facts(facts);
        let markers = facts.marker_env()?;
        let mut only_binary = opts.only_binary.clone();
        only_binary.extend(request.options.only_binary.iter().cloned());
        let mut no_binary = opts.no_binary.clone();
        no_binary.extend(request.options.no_binary.iter().cloned());
        let binary = BinaryPolicy::parse(&only_binary, &no_binary);
        let build = self.build_context(facts);

        // Direct references are fetched first: their names and versions come from the files.
        let fetcher = direct::DirectFetcher {
            index: &index,
            cache: &self.cache,
            build: &build,
            tags: &tags,
        };
        let mut direct: HashMap<String, DirectDist> = HashMap::new();
        let mut root: Vec<Requirement> = Vec::new();
        let mut required_hashes: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for entry in &request.entries {
            let (req, direct_dist) = fetcher
                .requirement_of_entry(entry)
                .map_err(|e| in_origin(e, &entry.origin))?;
            let key = normalize_name(req.name.as_ref());
            if !entry.hashes.is_empty() {
                required_hashes
                    .entry(key.clone())
                    .or_default()
                    .extend(entry.hashes.iter().cloned());
            }
            if let Some(d) = direct_dist {
                direct.insert(key, d);
            }
            root.push(req);
        }
        let mut overrides = Vec::new();
        for entry in &request.overrides {
            let (req, direct_dist) = fetcher
                .requirement_of_entry(entry)
                .map_err(|e| in_origin(e, &entry.origin))?;
            if let Some(d) = direct_dist {
                direct.insert(normalize_name(req.name.as_ref()), d);
            }
            overrides.push(req);
        }
        // A constraint by URL or path allows that artifact only: it is fetched like a direct
        // requirement, and whoever needs the name gets it (it is installed only if needed).
        let mut constraints: Vec<Requirement> = Vec::new();
        for entry in &request.constraints {
            let is_direct = match &entry.spec {
                ReqSpec::Named(r) => {
                    matches!(r.version_or_url, Some(pep508_rs::VersionOrUrl::Url(_)))
                }
                ReqSpec::Unnamed { .. } => true,
            };
            if !is_direct {
                if let ReqSpec::Named(r) = &entry.spec {
                    constraints.push(r.clone());
                }
                continue;
            }
            let (req, dist) = fetcher
                .requirement_of_entry(entry)
                .map_err(|e| in_origin(e, &entry.origin))?;
            let Some(dist) = dist else { continue };
            let key = normalize_name(req.name.as_ref());
            let pin: Requirement = format!("{}=={}", req.name, dist.version)
                .parse()
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            constraints.push(Requirement {
                marker: req.marker.clone(),
                ..pin
            });
            direct.entry(key).or_insert(dist);
        }

        let preferences = installed
            .iter()
            .filter_map(|d| Some((d.key.clone(), d.version().parse().ok()?)))
            .collect();
        let options = ResolveOptions {
            pre: opts.pre || request.options.pre,
            // A complete lock installs as written; its dependencies were resolved when it was
            // written (perhaps with overrides that resolving again would not know).
            no_deps: opts.no_deps || (request.complete && request.overrides.is_empty()),
            upgrade_all: opts.upgrade,
            upgrade: opts
                .upgrade_package
                .iter()
                .map(|n| normalize_name(n))
                .collect(),
            preferences,
            binary,
        };
        let input = ResolveInput {
            root,
            constraints,
            overrides,
            direct,
            options,
        };
        let source = std::sync::Arc::new(resolve::source::IndexSource {
            index: index.clone(),
            cache: self.cache.clone(),
            build: build.clone(),
        });
        let resolution = resolve::resolve(input, source, tags, facts.python_version(), markers)?;
        output::info(&format!(
            "Resolved {} package{} in {}",
            resolution.dists.len(),
            plural(resolution.dists.len()),
            elapsed(start)
        ));
        if request.hash_mode {
            let missing: Vec<&str> = resolution
                .dists
                .iter()
                .filter(|d| !required_hashes.contains_key(&d.key))
                .map(|d| d.name.as_str())
                .collect();
            if !missing.is_empty() {
                return Err(user(
                    format!(
                        "in hash-checking mode every package needs a --hash, and these have none: {}",
                        missing.join(", ")
                    ),
                    "add pins with hashes for them (`envtool lock` writes them), or pass --no-deps",
                ));
            }
        }
        Ok(Resolved {
            resolution,
            required_hashes,
            index,
            build,
            remember: Some(request.remember),
        })
    }

    /// A pylock.toml read as a resolution for `facts`; its hashes are enforced.
    pub fn resolve_lock(&self, lock_path: &Path, facts: &Facts) -> anyhow::Result<Resolved> {
        let lock = pylock::PyLock::read(lock_path)?;
        let tags = crate::python::tags::from_facts(facts);
        let markers = facts.marker_env()?;
        let index = self.open_index(&TxtOptions::default(), facts)?;
        let build = self.build_context(facts);
        let fetcher = direct::DirectFetcher {
            index: &index,
            cache: &self.cache,
            build: &build,
            tags: &tags,
        };
        let mut project = |p: &pylock::LockedProject| {
            let dist = match &p.at {
                pylock::ProjectAt::Directory { path, editable } => {
                    fetcher.project_at(path, *editable)?
                }
                pylock::ProjectAt::Git {
                    url,
                    commit,
                    requested_revision,
                    subdirectory,
                } => fetcher.commit_at(
                    url,
                    commit,
                    requested_revision.as_deref(),
                    subdirectory.as_deref(),
                )?,
            };
            Ok(resolve::ResolvedDist::from_direct(
                &dist,
                p.requested,
                Vec::new(),
            ))
        };
        let resolution = lock.to_resolution(
            lock_path,
            &markers,
            &facts.python_version(),
            &tags,
            &mut project,
        )?;
        let required_hashes = resolution
            .dists
            .iter()
            .map(|d| (d.key.clone(), d.artifact.required.clone()))
            .collect();
        Ok(Resolved {
            resolution,
            required_hashes,
            index,
            build,
            remember: None,
        })
    }

    /// Plan against what is installed and apply.
    pub fn apply(
        &self,
        target: &Target,
        resolved: &Resolved,
        installed: &[InstalledDist],
        plan_options: PlanOptions,
        opts: &InstallOptions,
    ) -> anyhow::Result<Plan> {
        let layout = target.layout();
        let the_plan = plan::plan(&resolved.resolution, installed, plan_options);
        if opts.dry_run {
            print_plan(&the_plan, true);
            return Ok(the_plan);
        }
        if the_plan.is_empty() {
            output::info("Nothing to change: every requirement is already satisfied");
            return Ok(the_plan);
        }
        let apply_options = ApplyOptions {
            link_mode: link_mode(opts.link_mode)?,
            compile: opts.compile,
        };
        let fetch_start = Instant::now();
        // --reinstall also checks every cached file's hash (a repair, not just a relink).
        let how = if opts.reinstall {
            crate::fetch::unpack::Check::Hashes
        } else {
            crate::fetch::unpack::Check::Sizes
        };
        let wheels = fetch_plan(&the_plan, resolved, &self.cache, how)?;
        output::debug(&format!(
            "fetched {} wheels in {}",
            wheels.len(),
            elapsed(fetch_start)
        ));
        let apply_start = Instant::now();
        apply_plan(&the_plan, &wheels, &layout, &apply_options)?;
        let changed = the_plan.install.len() + the_plan.replace.len();
        if plan_options.exact {
            output::info(&format!(
                "Synced in {}: {}",
                elapsed(apply_start),
                the_plan.summary()
            ));
        } else {
            output::info(&format!(
                "Installed {changed} package{} in {}",
                plural(changed),
                elapsed(apply_start)
            ));
        }
        print_plan(&the_plan, false);
        Ok(the_plan)
    }
}

impl crate::build::RequirementInstaller for Session {
    fn install(
        &self,
        staging: &Path,
        final_dir: &Path,
        interpreter: &Interpreter,
        requires: &[String],
        depth: usize,
    ) -> anyhow::Result<()> {
        let target = Target {
            root: staging.to_path_buf(),
            python: final_dir.join("bin").join("python"),
            facts: &interpreter.facts,
        };
        let sources = Sources {
            reqs: requires.to_vec(),
            ..Default::default()
        };
        let mut nested = self.clone();
        nested.settings.build_depth = depth;
        // Copies, not links: a build runs arbitrary code and must not reach the wheel cache.
        // Byte-compiled once here: builds run without writing bytecode, and a backend imported
        // from source every build is most of a small build's time.
        let opts = InstallOptions {
            link_mode: Some(LinkMode::Copy),
            compile: true,
            ..Default::default()
        };
        Session::install(&nested, &target, &sources, &opts)?;
        Ok(())
    }
}

/// The link mode: the option, else `ENVTOOL_LINK_MODE`, else hard links.
pub fn link_mode(option: Option<LinkMode>) -> anyhow::Result<LinkMode> {
    if let Some(mode) = option {
        return Ok(mode);
    }
    match crate::env_vars::non_empty_var(crate::env_vars::ENVTOOL_LINK_MODE).as_deref() {
        None => Ok(LinkMode::Hardlink),
        Some("hardlink") => Ok(LinkMode::Hardlink),
        Some("copy") => Ok(LinkMode::Copy),
        Some("clone") => Ok(LinkMode::Clone),
        Some(other) => Err(user(
            format!("ENVTOOL_LINK_MODE={other} is not a link mode"),
            "use hardlink, copy or clone",
        )),
    }
}

/// How many downloads run at once (`ENVTOOL_CONCURRENT_DOWNLOADS`, default 8).
fn jobs() -> usize {
    crate::env_vars::non_empty_var(crate::env_vars::ENVTOOL_CONCURRENT_DOWNLOADS)
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(8)
}

/// Say which line of which file an error came from (not for the command line).
fn in_origin(err: anyhow::Error, origin: &crate::requirements::txt::Origin) -> anyhow::Error {
    if origin.file == Path::new("<command line>") {
        err
    } else {
        err.context(format!("in {origin}"))
    }
}

/// Print a plan: with `dry_run` its summary first, then one line per change.
pub fn print_plan(plan: &Plan, dry_run: bool) {
    if dry_run {
        output::info(&format!("Would change: {}", plan.summary()));
        if plan.is_empty() {
            output::info("Nothing to change");
        }
    }
    for line in plan.lines() {
        output::info(&line);
    }
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

pub fn elapsed(start: Instant) -> String {
    let ms = start.elapsed().as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{:.2}s", ms as f64 / 1000.0)
    }
}

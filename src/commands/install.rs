//! `envtool install` and the request → resolution → plan → apply pipeline that `create`,
//! `sync` and `tool` reuse.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use pep508_rs::Requirement;

use crate::build::BuildContext;
use crate::cache::Cache;
use crate::cli::{InstallArgs, InstallOpts, ReqArgs};
use crate::dist::{metadata, normalize_name, WheelFilename};
use crate::error::user;
use crate::index::http::HttpClient;
use crate::index::Index;
use crate::install::fetch::{self, Artifact};
use crate::install::installed::{self, InstalledDist};
use crate::install::layout::Layout;
use crate::install::link::LinkMode;
use crate::install::plan::{self, Plan, PlanOptions};
use crate::install::{apply_plan, fetch_plan, ApplyOptions};
use crate::lockfile::pylock;
use crate::output;
use crate::python::facts::Facts;
use crate::python::tags::Tags;
use crate::requirements::request::{Request, Sources};
use crate::requirements::{Location, ReqSpec};
use crate::resolve::{self, BinaryPolicy, BuiltFrom, DirectDist, ResolveInput, ResolveOptions};
use crate::settings::{FileIndexOptions, Settings};

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

pub fn install(args: InstallArgs, settings: &Settings, cache: &Cache) -> anyhow::Result<ExitCode> {
    crate::interrupt::install_handlers();
    let venv = super::target::select_env(args.env.as_deref())?;
    let _guard = cache.use_shared()?;
    let facts = super::target::env_facts(&venv, cache)?;
    let target = Target {
        python: venv.python(),
        root: venv.root.clone(),
        facts: &facts,
    };
    crate::install::txn::recover(&venv.root)?;
    if args.reqs.reqs.is_empty() && args.reqs.requirement.is_empty() {
        return Err(user(
            "nothing to install",
            "name requirements (`envtool install --env DIR six`) or a file with -r",
        ));
    }
    run_install(&target, &args.reqs, &args.install, &[], settings, cache)?;
    Ok(ExitCode::SUCCESS)
}

fn link_mode(opts: &InstallOpts) -> anyhow::Result<LinkMode> {
    if let Some(mode) = opts.link_mode {
        return Ok(mode);
    }
    match crate::settings::non_empty_var(crate::env_vars::ENVTOOL_LINK_MODE).as_deref() {
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

fn jobs() -> usize {
    crate::settings::non_empty_var(crate::env_vars::ENVTOOL_CONCURRENT_DOWNLOADS)
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(8)
}

/// The index client for a target interpreter and a request's file options.
pub fn open_index(
    settings: &Settings,
    request: &Request,
    facts: &Facts,
    cache: &Cache,
) -> anyhow::Result<Index> {
    let file = FileIndexOptions {
        index_url: request.options.index_url.clone(),
        extra_index_urls: request.options.extra_index_urls.clone(),
        find_links: request.options.find_links.clone(),
        no_index: request.options.no_index,
    };
    let index_settings = settings.index_settings(&file, facts.pip_index_url.as_deref())?;
    let http = HttpClient::new(
        cache.clone(),
        settings.offline,
        index_settings.cert.as_deref(),
    )?;
    Ok(Index::new(http, index_settings))
}

/// What to install, resolved: the distributions and the hashes the user demands.
pub struct Resolved {
    pub resolution: resolve::Resolution,
    pub required_hashes: HashMap<String, Vec<(String, String)>>,
    pub index: Index,
    /// How to build source distributions in the resolution (None: --only-binary :all:).
    pub build: Option<BuildContext>,
}

/// Resolve, plan and apply a request against a target environment.
pub fn run_install(
    target: &Target,
    reqs: &ReqArgs,
    opts: &InstallOpts,
    extra_reqs: &[String],
    settings: &Settings,
    cache: &Cache,
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
    let resolved = resolve_request(
        target.facts,
        reqs,
        opts,
        extra_reqs,
        &installed,
        settings,
        cache,
    )?;
    let plan_options = PlanOptions {
        reinstall: opts.reinstall,
        exact: false,
    };
    apply_resolution(target, &resolved, &installed, plan_options, opts, cache)
}

/// Turn the request (requirements, or one pylock.toml) into a resolution for `facts`.
pub fn resolve_request(
    facts: &Facts,
    reqs: &ReqArgs,
    opts: &InstallOpts,
    extra_reqs: &[String],
    installed: &[InstalledDist],
    settings: &Settings,
    cache: &Cache,
) -> anyhow::Result<Resolved> {
    let start = Instant::now();
    let cwd = std::env::current_dir()?;
    let locks: Vec<&PathBuf> = reqs
        .requirement
        .iter()
        .filter(|f| pylock::is_pylock(f))
        .collect();
    if let Some(lock_path) = locks.first() {
        if locks.len() > 1
            || !reqs.reqs.is_empty()
            || reqs.requirement.len() > 1
            || !extra_reqs.is_empty()
        {
            return Err(user(
                "a pylock.toml is installed on its own",
                "pass the lock file alone (-r pylock.toml), without other requirements",
            ));
        }
        return resolve_lock(lock_path, facts, settings, cache);
    }
    let mut sources = Sources {
        reqs: reqs.reqs.clone(),
        requirement_files: reqs.requirement.clone(),
        constraint_files: reqs.constraint.clone(),
        override_files: reqs.overrides.clone(),
        require_hashes: opts.require_hashes,
    };
    sources.reqs.extend(extra_reqs.iter().cloned());
    let request = Request::gather(&sources, &cwd)?;
    let index = open_index(settings, &request, facts, cache)?;
    if index.settings.index_urls.is_empty() && index.settings.find_links.is_empty() {
        return Err(user(
            "no package index is configured",
            "pass --index-url URL (or set ENVTOOL_INDEX_URL or PIP_INDEX_URL), or --find-links DIR",
        ));
    }
    let tags = Tags::from_facts(facts);
    let markers = facts.marker_env()?;
    let mut only_binary = opts.only_binary.clone();
    only_binary.extend(request.options.only_binary.iter().cloned());
    let mut no_binary = opts.no_binary.clone();
    no_binary.extend(request.options.no_binary.iter().cloned());
    let binary = BinaryPolicy::parse(&only_binary, &no_binary);
    let build = Some(build_context(settings, cache, facts));

    // Direct references are fetched first: their names and versions come from the files.
    let mut direct: HashMap<String, DirectDist> = HashMap::new();
    let mut root: Vec<Requirement> = Vec::new();
    let mut required_hashes: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for entry in &request.entries {
        let (req, direct_dist) =
            requirement_of(&entry.spec, &entry.hashes, &index, cache, build.as_ref())
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
        let (req, direct_dist) =
            requirement_of(&entry.spec, &entry.hashes, &index, cache, build.as_ref())
                .map_err(|e| in_origin(e, &entry.origin))?;
        if let Some(d) = direct_dist {
            direct.insert(normalize_name(req.name.as_ref()), d);
        }
        overrides.push(req);
    }
    let constraints: Vec<Requirement> = request
        .constraints
        .iter()
        .filter_map(|e| match &e.spec {
            ReqSpec::Named(r) => Some(r.clone()),
            ReqSpec::Unnamed { .. } => None,
        })
        .collect();

    let preferences = installed
        .iter()
        .filter_map(|d| Some((d.key.clone(), d.version().parse().ok()?)))
        .collect();
    let options = ResolveOptions {
        pre: opts.pre || request.options.pre,
        no_deps: opts.no_deps,
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
        build: build.clone(),
    };
    let resolution = resolve::resolve(input, &index, cache, tags, facts.python_version(), markers)?;
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
    })
}

/// Say which line of which file an error came from (not for the command line).
fn in_origin(err: anyhow::Error, origin: &crate::requirements::txt::Origin) -> anyhow::Error {
    if origin.file == Path::new("<command line>") {
        err
    } else {
        err.context(format!("in {origin}"))
    }
}

/// How to build source distributions for `facts`' interpreter.
pub fn build_context(settings: &Settings, cache: &Cache, facts: &Facts) -> BuildContext {
    BuildContext {
        settings: settings.clone(),
        cache: cache.clone(),
        interpreter: crate::python::Interpreter {
            executable: facts.executable.clone(),
            found_as: facts.executable.clone(),
            facts: facts.clone(),
        },
    }
}

/// A pylock.toml read as a resolution for `facts`; its hashes are enforced.
pub fn resolve_lock(
    lock_path: &Path,
    facts: &Facts,
    settings: &Settings,
    cache: &Cache,
) -> anyhow::Result<Resolved> {
    let lock = pylock::PyLock::read(lock_path)?;
    let tags = Tags::from_facts(facts);
    let markers = facts.marker_env()?;
    let resolution = lock.to_resolution(lock_path, &markers, &facts.python_version(), &tags)?;
    let index = open_index(settings, &Request::default(), facts, cache)?;
    let required_hashes = resolution
        .dists
        .iter()
        .map(|d| (d.key.clone(), d.artifact.required.clone()))
        .collect();
    Ok(Resolved {
        resolution,
        required_hashes,
        index,
        build: Some(build_context(settings, cache, facts)),
    })
}

/// Plan against what is installed and apply.
pub fn apply_resolution(
    target: &Target,
    resolved: &Resolved,
    installed: &[InstalledDist],
    plan_options: PlanOptions,
    opts: &InstallOpts,
    cache: &Cache,
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
        link_mode: link_mode(opts)?,
        compile: opts.compile,
        jobs: jobs(),
        required_hashes: resolved.required_hashes.clone(),
        build: resolved.build.clone(),
    };
    let fetch_start = Instant::now();
    let wheels = fetch_plan(&the_plan, &apply_options, &resolved.index.http, cache)?;
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

fn plural(n: usize) -> &'static str {
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

/// The PEP 508 requirement for a request entry; for direct references also the fetched wheel.
fn requirement_of(
    spec: &ReqSpec,
    hashes: &[(String, String)],
    index: &Index,
    cache: &Cache,
    build: Option<&BuildContext>,
) -> anyhow::Result<(Requirement, Option<DirectDist>)> {
    match spec {
        ReqSpec::Named(req) => match &req.version_or_url {
            Some(pep508_rs::VersionOrUrl::Url(url)) => {
                let location = match url.to_url().to_file_path() {
                    Ok(path) if url.to_url().scheme() == "file" => Location::Path(path),
                    _ => Location::Url(url.to_url()),
                };
                let direct = fetch_direct(&location, hashes, index, cache, build)?;
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
            let direct = fetch_direct(location, hashes, index, cache, build)?;
            let mut text = direct.metadata.name.clone();
            if !extras.is_empty() {
                let names: Vec<String> = extras.iter().map(|e| e.to_string()).collect();
                text.push_str(&format!("[{}]", names.join(",")));
            }
            let mut req: Requirement = text.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
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
    location: &Location,
    hashes: &[(String, String)],
    index: &Index,
    cache: &Cache,
    build: Option<&BuildContext>,
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
                let build = build.ok_or_else(no_build)?;
                return direct_from_directory(path, index, cache, build);
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
                    format!("{url}: {} URLs are not supported", url.scheme()),
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
    let mut public_url = clean_url.clone();
    let _ = public_url.set_username("");
    let _ = public_url.set_password(None);
    let wheel_name = file_name
        .ends_with(".whl")
        .then(|| WheelFilename::parse(&file_name))
        .transpose()
        .map_err(|e| {
            user(
                format!("{url} is not a valid wheel name: {e}"),
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
    let archive_info = |sha: &str| {
        serde_json::json!({
            "url": public_url.to_string(),
            "archive_info": {"hash": format!("sha256={sha}"), "hashes": {"sha256": sha}},
        })
    };
    if artifact.wheel.is_some() {
        let wheel = fetch::fetch(&artifact, &index.http, cache)?;
        let meta = metadata::parse(&wheel.metadata_text()?)
            .with_context(|| format!("bad metadata in {file_name}"))?;
        return Ok(DirectDist {
            key: normalize_name(&meta.name),
            version: meta
                .version
                .parse()
                .map_err(|e| anyhow::anyhow!("bad version in {file_name}: {e}"))?,
            artifact: Artifact {
                hashes: vec![("sha256".into(), wheel.info.sha256.clone())],
                ..artifact
            },
            metadata: meta,
            direct_url: archive_info(&wheel.info.sha256),
            built_from: None,
        });
    }
    let build = build.ok_or_else(no_build)?;
    let (archive, sha, size) = fetch::fetch_sdist(&artifact, &index.http, cache)?;
    let wheel_path = build.wheel_from_sdist(&archive, &sha, &file_name)?;
    let mut dist = direct_from_built_wheel(&wheel_path, index, cache, archive_info(&sha))?;
    dist.built_from = Some(BuiltFrom {
        filename: file_name,
        url: public_url.to_string(),
        sha256: sha,
        size,
    });
    Ok(dist)
}

/// A local project directory, built into a wheel (every time: its contents may have changed).
fn direct_from_directory(
    dir: &Path,
    index: &Index,
    cache: &Cache,
    build: &BuildContext,
) -> anyhow::Result<DirectDist> {
    let out = cache.tempdir()?;
    let label = dir.display().to_string();
    let wheel_path = build.build_wheel(dir, out.path(), &label)?;
    let url = url::Url::from_directory_path(dir)
        .map_err(|_| anyhow::anyhow!("bad path {}", dir.display()))?;
    let direct_url = serde_json::json!({"url": url.as_str().trim_end_matches('/'), "dir_info": {}});
    direct_from_built_wheel(&wheel_path, index, cache, direct_url)
}

fn direct_from_built_wheel(
    wheel_path: &Path,
    index: &Index,
    cache: &Cache,
    direct_url: serde_json::Value,
) -> anyhow::Result<DirectDist> {
    let name = wheel_path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let wheel_name = WheelFilename::parse(&name)
        .map_err(|e| anyhow::anyhow!("the build produced a badly named wheel: {e}"))?;
    let url = url::Url::from_file_path(wheel_path)
        .map_err(|_| anyhow::anyhow!("bad path {}", wheel_path.display()))?;
    let artifact = Artifact::for_wheel(wheel_name, url, Vec::new());
    let wheel = fetch::fetch(&artifact, &index.http, cache)?;
    let meta = metadata::parse(&wheel.metadata_text()?)
        .with_context(|| format!("bad metadata in {name}"))?;
    Ok(DirectDist {
        key: normalize_name(&meta.name),
        version: meta
            .version
            .parse()
            .map_err(|e| anyhow::anyhow!("bad version in {name}: {e}"))?,
        artifact: Artifact {
            hashes: vec![("sha256".into(), wheel.info.sha256.clone())],
            ..artifact
        },
        metadata: meta,
        direct_url,
        built_from: None,
    })
}

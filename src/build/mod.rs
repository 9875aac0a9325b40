//! Building wheels from source (PEP 517/518): source distributions from an index and local
//! project directories. Each build runs its backend in an isolated build environment made by
//! envtool itself (from the same cache and resolver), through `shims/pep517_hook.py`.
//!
//! Cache buckets used here:
//! ```text
//! sdists-v1/<sha256>/<file>            a downloaded source distribution
//! sdists-v1/<sha256>/src/              it, unpacked (renamed into place when complete)
//! built-v1/<sha256>-<tags key>/<wheel> the wheel built from it for one interpreter's tags
//! build-envs-v2/<key>/                 a build environment, reused for the same requirement set
//! ```

pub mod extract;
mod integrity;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;
use serde::Deserialize;

use crate::cache::{self, Bucket, Cache};
use crate::error::user;
use crate::fetch::unpack::CachedWheel;
use crate::python::Interpreter;

const HOOK_RUNNER: &str = include_str!("../../shims/pep517_hook.py");
const LEGACY_BACKEND: &str = "setuptools.build_meta:__legacy__";
const MAX_DEPTH: usize = 4;
/// A child process waited for by a thread of its own, so that whoever started it learns at
/// once when it ends, and can still look up now and then (timeouts, Ctrl-C, progress).
struct Waited(std::sync::mpsc::Receiver<std::io::Result<std::process::ExitStatus>>);

impl Waited {
    fn start(mut child: std::process::Child) -> Waited {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        Waited(rx)
    }

    /// Its exit status, if it ends within `timeout`.
    fn wait_for(
        &self,
        timeout: std::time::Duration,
    ) -> Option<std::io::Result<std::process::ExitStatus>> {
        use std::sync::mpsc::RecvTimeoutError;
        match self.0.recv_timeout(timeout) {
            Ok(status) => Some(status),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => Some(Err(std::io::Error::other(
                "the thread waiting for the build ended",
            ))),
        }
    }

    /// Wait for it to end.
    fn wait(&self) {
        let _ = self.0.recv();
    }
}

/// Seconds one hook of a build may run: `ENVTOOL_BUILD_TIMEOUT`, else an hour.
fn build_timeout() -> std::time::Duration {
    let secs = crate::env_vars::non_empty_var(crate::env_vars::ENVTOOL_BUILD_TIMEOUT)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(3600);
    std::time::Duration::from_secs(secs)
}

/// The last `lines` lines of a log file (reading at most its last 64 KiB).
fn tail_of_file(path: &Path, lines: usize) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    tail(&String::from_utf8_lossy(&bytes), lines)
}

/// `[build-system]` of a project, with pip's defaults when it is absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSystem {
    pub requires: Vec<String>,
    pub backend: String,
    pub backend_path: Vec<String>,
}

#[derive(Deserialize)]
struct PyProject {
    #[serde(rename = "build-system")]
    build_system: Option<RawBuildSystem>,
}

#[derive(Deserialize)]
struct RawBuildSystem {
    requires: Option<Vec<String>>,
    #[serde(rename = "build-backend")]
    build_backend: Option<String>,
    #[serde(rename = "backend-path", default)]
    backend_path: Vec<String>,
}

pub fn read_build_system(project: &Path) -> anyhow::Result<BuildSystem> {
    let pyproject = project.join("pyproject.toml");
    let legacy = BuildSystem {
        requires: vec!["setuptools>=40.8.0".into()],
        backend: LEGACY_BACKEND.into(),
        backend_path: Vec::new(),
    };
    if !pyproject.is_file() {
        if project.join("setup.py").is_file() || project.join("setup.cfg").is_file() {
            return Ok(legacy);
        }
        return Err(user(
            format!(
                "{} has neither pyproject.toml nor setup.py, so it cannot be built",
                project.display()
            ),
            "point at a Python project directory (one with pyproject.toml or setup.py)",
        ));
    }
    let text = fs_err::read_to_string(&pyproject)?;
    let parsed: PyProject = toml::from_str(&text).map_err(|e| {
        user(
            format!("{} is not valid TOML: {e}", pyproject.display()),
            "fix pyproject.toml",
        )
    })?;
    let Some(raw) = parsed.build_system else {
        return Ok(legacy);
    };
    let requires = raw.requires.ok_or_else(|| {
        user(
            format!("{}: [build-system] has no `requires`", pyproject.display()),
            "add `requires = [...]` to [build-system] (PEP 518)",
        )
    })?;
    for entry in &raw.backend_path {
        let inside = crate::fsx::normalize(&project.join(entry));
        if !inside.starts_with(crate::fsx::normalize(project)) {
            return Err(user(
                format!(
                    "{}: backend-path {entry:?} leaves the project",
                    pyproject.display()
                ),
                "backend-path entries must stay inside the source tree",
            ));
        }
    }
    Ok(match raw.build_backend {
        Some(backend) => BuildSystem {
            requires,
            backend,
            backend_path: raw.backend_path,
        },
        None => BuildSystem { requires, ..legacy },
    })
}

/// Installs build requirements into a build environment. Builds need the resolver and the
/// installer, which sit above this module; the pipeline provides them through this interface.
pub trait RequirementInstaller: Send + Sync {
    /// Install `requires` into the environment being made at `staging` (it will live at
    /// `final_dir`) for `interpreter`, as part of a build nested `depth` deep.
    fn install(
        &self,
        staging: &Path,
        final_dir: &Path,
        interpreter: &Interpreter,
        requires: &[String],
        depth: usize,
    ) -> anyhow::Result<()>;
}

/// What a build needs: the cache, the target interpreter, and a way to install build
/// requirements.
#[derive(Clone)]
pub struct BuildContext {
    pub cache: Cache,
    pub interpreter: Interpreter,
    pub installer: std::sync::Arc<dyn RequirementInstaller>,
    /// How deeply nested in source builds this one is (build environments build with +1).
    pub depth: usize,
}

impl std::fmt::Debug for BuildContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildContext")
            .field("interpreter", &self.interpreter.executable)
            .field("depth", &self.depth)
            .finish()
    }
}

#[derive(Deserialize)]
struct HookAnswer {
    result: Option<serde_json::Value>,
    #[serde(default)]
    missing_hook: bool,
    error: Option<String>,
    #[serde(default)]
    backend_missing: bool,
}

fn short_hash(parts: &[&str]) -> String {
    let bytes: Vec<&[u8]> = parts.iter().map(|p| p.as_bytes()).collect();
    cache::key(&bytes, 24)
}

/// The last lines of a build's output, for error messages.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl BuildContext {
    fn tags_key(&self) -> String {
        let tags = crate::python::tags::from_facts(&self.interpreter.facts);
        let text: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
        short_hash(&[&text.join(" ")])
    }

    /// A build environment with `requires` installed, shared by builds with the same set.
    fn build_env(&self, requires: &[String], label: &str) -> anyhow::Result<PathBuf> {
        let mut sorted = requires.to_vec();
        sorted.sort();
        let mut key_parts = vec![self.interpreter.executable.to_string_lossy().into_owned()];
        key_parts.extend(sorted.iter().cloned());
        let key_refs: Vec<&str> = key_parts.iter().map(String::as_str).collect();
        let bucket = self.cache.bucket(Bucket::BuildEnvs)?;
        let key = short_hash(&key_refs);
        let dir = bucket.join(&key);
        let _lock = cache::lock_entry(&bucket.join(format!("{key}.lock")))?;
        let site_of = |dir: &Path| dir.join(self.interpreter.facts.scheme_path("purelib"));
        if integrity::is_complete(&dir) {
            match integrity::verify(&dir, &site_of(&dir)) {
                Ok(()) => return Ok(dir),
                Err(why) => {
                    crate::output::warn(&format!(
                        "the build environment {} was changed since it was made ({why}); making it again",
                        dir.display()
                    ));
                    integrity::mark_incomplete(&dir);
                }
            }
        }
        crate::output::debug(&format!(
            "creating a build environment for {label}: {}",
            sorted.join(", ")
        ));
        let spec = crate::venv::CreateSpec {
            dir: dir.clone(),
            interpreter: &self.interpreter,
            prompt: Some("build".into()),
            system_site_packages: false,
            clear: true,
            command: format!("envtool build environment for {label}"),
        };
        if dir.exists() && !crate::venv::is_environment(&dir) {
            fs_err::remove_dir_all(&dir)?;
        }
        crate::venv::create(&spec, |staging| {
            if !sorted.is_empty() {
                let quiet = crate::output::Quiet::enter();
                let result = self.installer.install(
                    staging,
                    &dir,
                    &self.interpreter,
                    &sorted,
                    self.depth + 1,
                );
                drop(quiet);
                result.map_err(|e| {
                    user(
                        format!("cannot install the build requirements of {label} ({}): {e:#}", sorted.join(", ")),
                        "check [build-system] requires of the project, or install a wheel of it instead",
                    )
                })?;
            }
            integrity::mark_complete(staging, &site_of(staging))?;
            Ok(())
        })?;
        Ok(dir)
    }

    /// Run one hook; Ok(None) when the backend lacks it (optional hooks).
    fn call_hook(
        &self,
        env: &Path,
        project: &Path,
        system: &BuildSystem,
        hook: &str,
        kwargs: serde_json::Value,
        label: &str,
    ) -> anyhow::Result<Option<serde_json::Value>> {
        let work = self.cache.tempdir()?;
        let runner = work.path().join("pep517_hook.py");
        fs_err::write(&runner, HOOK_RUNNER)?;
        let input = work.path().join("input.json");
        let output = work.path().join("output.json");
        fs_err::write(
            &input,
            serde_json::to_vec(&serde_json::json!({
                "build_backend": system.backend,
                "backend_path": system.backend_path,
                "kwargs": kwargs,
            }))?,
        )?;
        let verbose = crate::output::verbosity() >= 1;
        let mut cmd = Command::new(env.join("bin").join("python"));
        cmd.arg(&runner)
            .arg(hook)
            .arg(&input)
            .arg(&output)
            .current_dir(project)
            .env_remove("PYTHONHOME")
            .env_remove("PYTHONPATH")
            .env("PYTHONHASHSEED", "0")
            // Nothing the build imports leaves bytecode behind in the (reused) build environment.
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null());
        // The backend's own process group: ended on timeout, on Ctrl-C or SIGTERM to envtool,
        // and when the hook returns (nothing it started outlives it).
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        // Output goes to a log file (a backend may print gigabytes); its tail is shown on failure.
        let log_path = work.path().join("build.log");
        if !verbose {
            let log = fs_err::File::create(&log_path)?;
            cmd.stdout(log.try_clone()?.into_parts().0)
                .stderr(log.into_parts().0);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot run the build of {label}"))?;
        let group = crate::interrupt::ChildGroup::register(child.id());
        let child = Waited::start(child);
        // While the hook runs, Ctrl-C and SIGTERM are noticed here: the backend's group is
        // ended and the build's temporary directories removed on the way out.
        let _critical = crate::interrupt::Critical::enter();
        let limit = build_timeout();
        let started = std::time::Instant::now();
        // On a terminal, the backend's latest output line (read from the log every so often).
        let spinner = crate::output::build_spinner(label);
        let mut peeked = std::time::Instant::now();
        let status = loop {
            // Woken as soon as the hook ends; else every 20 ms, for the checks below.
            if let Some(status) = child.wait_for(std::time::Duration::from_millis(20)) {
                break status?;
            }
            if !spinner.is_hidden() && !verbose && peeked.elapsed().as_millis() >= 200 {
                peeked = std::time::Instant::now();
                if let Some(line) = tail_of_file(&log_path, 3)
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                {
                    spinner.set_message(format!(
                        "Building {label}: {}",
                        crate::output::clip(line, 60)
                    ));
                }
            }
            if let Err(interrupted) = crate::interrupt::check() {
                drop(group);
                child.wait();
                return Err(interrupted.into());
            }
            if started.elapsed() > limit {
                drop(group);
                child.wait();
                return Err(user(
                    format!(
                        "the build of {label} ran for longer than {}s in {hook} and was ended:\n{}",
                        limit.as_secs(),
                        tail_of_file(&log_path, 20)
                    ),
                    "a build that needs longer can be given more time with ENVTOOL_BUILD_TIMEOUT (seconds)",
                ));
            }
        };
        spinner.finish_and_clear();
        drop(group);
        crate::output::debug(&format!("{hook} for {label}: {status}"));
        let log = tail_of_file(&log_path, 20);
        let answer: HookAnswer = match std::fs::read(&output) {
            Ok(bytes) => serde_json::from_slice(&bytes)?,
            Err(_) => {
                return Err(user(
                    format!(
                        "the build of {label} crashed in {hook} (backend {}):\n{}",
                        system.backend,
                        tail(&log, 20)
                    ),
                    "run with -v to see the whole build output",
                ))
            }
        };
        if answer.missing_hook {
            return Ok(None);
        }
        if let Some(error) = answer.error {
            if answer.backend_missing {
                return Err(user(
                    format!(
                        "the build backend {} of {label} cannot be imported: {error}",
                        system.backend
                    ),
                    "the project's [build-system] requires must install its build-backend",
                ));
            }
            return Err(user(
                format!(
                    "building {label} failed in {hook} (backend {}): {error}\n{}",
                    system.backend,
                    tail(&log, 20)
                ),
                "run with -v to see the whole build output; fix the project, or use a version that has a wheel",
            ));
        }
        Ok(answer.result)
    }

    /// Build requirements: `requires` plus what `get_requires_for_build_wheel` (or, for an
    /// editable build, `get_requires_for_build_editable`) asks for.
    fn prepared_env(
        &self,
        project: &Path,
        system: &BuildSystem,
        label: &str,
        editable: bool,
    ) -> anyhow::Result<PathBuf> {
        guard_depth(self.depth, label)?;
        let env = self.build_env(&system.requires, label)?;
        let hook = if editable {
            "get_requires_for_build_editable"
        } else {
            "get_requires_for_build_wheel"
        };
        let extra = self.call_hook(&env, project, system, hook, serde_json::json!({}), label)?;
        let extra: Vec<String> = extra
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        let missing: Vec<String> = extra
            .into_iter()
            .filter(|r| !system.requires.contains(r))
            .collect();
        if missing.is_empty() {
            return Ok(env);
        }
        let mut all = system.requires.clone();
        all.extend(missing);
        self.build_env(&all, label)
    }

    /// Build a wheel of the project into `out_dir`; returns its path.
    pub fn build_wheel(
        &self,
        project: &Path,
        out_dir: &Path,
        label: &str,
    ) -> anyhow::Result<PathBuf> {
        self.build(project, out_dir, label, false)
    }

    /// Build a wheel, or with `editable` a PEP 660 editable wheel (it points back at the
    /// project's files), of the project into `out_dir`; returns its path.
    pub fn build(
        &self,
        project: &Path,
        out_dir: &Path,
        label: &str,
        editable: bool,
    ) -> anyhow::Result<PathBuf> {
        let system = read_build_system(project)?;
        let env = self.prepared_env(project, &system, label, editable)?;
        fs_err::create_dir_all(out_dir)?;
        let hook = if editable {
            "build_editable"
        } else {
            "build_wheel"
        };
        crate::output::info(&format!(
            "Building {label}{}",
            if editable { " (editable)" } else { "" }
        ));
        let result = self.call_hook(
            &env,
            project,
            &system,
            hook,
            serde_json::json!({"wheel_directory": out_dir, "config_settings": null, "metadata_directory": null}),
            label,
        )?;
        let name = result
            .and_then(|v| v.as_str().map(String::from))
            .ok_or_else(|| {
                if editable {
                    user(
                        format!(
                            "{label} uses a build backend ({}) that is missing the 'build_editable' hook, so it cannot be installed in editable mode",
                            system.backend
                        ),
                        "use a build backend that supports PEP 660 (setuptools 64 or newer, hatchling, flit-core, pdm-backend), or install it without -e",
                    )
                } else {
                    user(
                        format!("the backend of {label} has no build_wheel hook"),
                        "the project cannot be built by PEP 517",
                    )
                }
            })?;
        let wheel = out_dir.join(&name);
        if !wheel.is_file() {
            return Err(user(
                format!("the backend of {label} said it built {name}, but there is no such file"),
                "the build backend is broken; report it to the project",
            ));
        }
        Ok(wheel)
    }

    /// Core metadata without building, via `prepare_metadata_for_build_wheel` when the backend
    /// has it; otherwise None.
    pub fn prepare_metadata(&self, project: &Path, label: &str) -> anyhow::Result<Option<String>> {
        let system = read_build_system(project)?;
        let env = self.prepared_env(project, &system, label, false)?;
        let out = self.cache.tempdir()?;
        let result = self.call_hook(
            &env,
            project,
            &system,
            "prepare_metadata_for_build_wheel",
            serde_json::json!({"metadata_directory": out.path(), "config_settings": null}),
            label,
        )?;
        let Some(name) = result.and_then(|v| v.as_str().map(String::from)) else {
            return Ok(None);
        };
        Ok(Some(fs_err::read_to_string(
            out.path().join(name).join("METADATA"),
        )?))
    }

    /// A source distribution's unpacked tree, cached by its sha256.
    pub fn unpacked_sdist(&self, archive: &Path, sha256: &str) -> anyhow::Result<PathBuf> {
        let dir = self.cache.bucket(Bucket::Sdists)?.join(sha256);
        let src = dir.join("src");
        if src.is_dir() {
            return project_root(&src);
        }
        fs_err::create_dir_all(&dir)?;
        let _lock = cache::lock_entry(&dir.join(".lock"))?;
        if src.is_dir() {
            return project_root(&src);
        }
        let staging = self.cache.tempdir()?;
        extract::extract(archive, staging.path())?;
        fs_err::rename(staging.path(), &src)?;
        let _ = staging.keep();
        project_root(&src)
    }

    /// The wheel built from a source distribution for this interpreter (built once, cached).
    pub fn wheel_from_sdist(
        &self,
        archive: &Path,
        sha256: &str,
        label: &str,
    ) -> anyhow::Result<PathBuf> {
        let dir = self
            .cache
            .root()
            .join(Bucket::Built.dir_name())
            .join(format!("{sha256}-{}", self.tags_key()));
        if let Some(found) = find_wheel(&dir) {
            return Ok(found);
        }
        let project = self.unpacked_sdist(archive, sha256)?;
        self.build_into(&project, &dir, label)
    }

    /// Build `project` into the cache directory `dir`, published whole with one rename (a
    /// concurrent build of the same key that wins is kept); the wheel's path.
    fn build_into(&self, project: &Path, dir: &Path, label: &str) -> anyhow::Result<PathBuf> {
        let staging = self.cache.tempdir()?;
        let wheel = self.build_wheel(project, staging.path(), label)?;
        fs_err::create_dir_all(dir.parent().unwrap_or(dir))?;
        if !dir.exists() {
            let out = staging.path().join(".done");
            fs_err::create_dir(&out)?;
            fs_err::rename(&wheel, out.join(wheel.file_name().unwrap_or_default()))?;
            if fs_err::rename(&out, dir).is_err() && find_wheel(dir).is_none() {
                anyhow::bail!("cannot store the built wheel in {}", dir.display());
            }
        }
        find_wheel(dir)
            .ok_or_else(|| anyhow::anyhow!("the built wheel is missing from {}", dir.display()))
    }
}

/// A wheel built here: where the file is, and its unpacked tree in the cache.
pub struct BuiltWheel {
    pub path: PathBuf,
    pub wheel: CachedWheel,
}

impl BuiltWheel {
    /// The built file as a `file:` URL.
    pub fn url(&self) -> anyhow::Result<url::Url> {
        url::Url::from_file_path(&self.path)
            .map_err(|_| anyhow::anyhow!("bad path {}", self.path.display()))
    }
}

impl BuildContext {
    /// The wheel built from a source distribution for this interpreter, unpacked in the cache.
    pub fn cached_wheel_from_sdist(
        &self,
        archive: &Path,
        sha256: &str,
        label: &str,
    ) -> anyhow::Result<BuiltWheel> {
        let path = self.wheel_from_sdist(archive, sha256, label)?;
        self.unpacked(path)
    }

    /// A local project built into a wheel (every time: its files may have changed), or an
    /// editable wheel, unpacked in the cache.
    pub fn cached_wheel_of_project(
        &self,
        project: &Path,
        label: &str,
        editable: bool,
    ) -> anyhow::Result<BuiltWheel> {
        let out = self.cache.tempdir()?;
        let path = self.build(project, out.path(), label, editable)?;
        self.unpacked(path)
    }

    /// The wheel of a project checked out from version control, built once per `key` (the
    /// repository, commit and subdirectory) and interpreter: a second install builds nothing.
    /// `checkout` is called only when the wheel is not built yet.
    pub fn cached_wheel_of_commit(
        &self,
        key: &str,
        label: &str,
        checkout: impl FnOnce() -> anyhow::Result<crate::fetch::vcs::Checkout>,
    ) -> anyhow::Result<BuiltWheel> {
        let dir = self
            .cache
            .bucket(Bucket::Built)?
            .join(format!("vcs-{key}-{}", self.tags_key()));
        let path = match find_wheel(&dir) {
            Some(path) => path,
            None => {
                let tree = checkout()?;
                self.build_into(&tree.project, &dir, label)?
            }
        };
        self.unpacked(path)
    }

    /// A built wheel, unpacked in the cache.
    fn unpacked(&self, path: PathBuf) -> anyhow::Result<BuiltWheel> {
        let wheel = crate::fetch::local_wheel(&path, &self.cache)?;
        Ok(BuiltWheel { path, wheel })
    }
}

fn find_wheel(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
}

/// The project inside an unpacked tree: its single top directory, else the tree itself.
fn project_root(src: &Path) -> anyhow::Result<PathBuf> {
    let entries: Vec<PathBuf> = fs_err::read_dir(src)?.flatten().map(|e| e.path()).collect();
    match entries.as_slice() {
        [only] if only.is_dir() => Ok(only.clone()),
        _ => Ok(src.to_path_buf()),
    }
}

fn guard_depth(depth: usize, label: &str) -> anyhow::Result<()> {
    if depth >= MAX_DEPTH {
        return Err(user(
            format!("building {label} needs builds nested {MAX_DEPTH} deep; its build requirements probably form a cycle"),
            "install wheels of the build requirements first, or use --only-binary for them",
        ));
    }
    Ok(())
}

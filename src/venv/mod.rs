//! PEP 405 virtual environments: the layout, `pyvenv.cfg`, activation scripts, and creating one
//! atomically (built in a temporary sibling, then renamed into place).

pub mod activate;
pub mod cfg;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cache::Cache;
use crate::env_vars;
use crate::error::user;
use crate::python::facts::{facts_for, Facts};
use crate::python::Interpreter;
use cfg::{python_repr, PyvenvCfg};

/// envtool's state directory inside an environment: its transactions, and (the directory
/// itself) its lock. No package file may be installed there.
pub const STATE_DIR: &str = ".envtool";

/// What to create.
#[derive(Debug, Clone)]
pub struct CreateSpec<'a> {
    /// Absolute, not symlink-resolved, final location.
    pub dir: PathBuf,
    pub interpreter: &'a Interpreter,
    pub prompt: Option<String>,
    pub system_site_packages: bool,
    pub clear: bool,
    /// Recorded as `command` in pyvenv.cfg.
    pub command: String,
}

/// What is at the target path now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    Nothing,
    EmptyDir,
    Environment,
}

/// An existing environment on disk.
#[derive(Debug, Clone)]
pub struct Venv {
    pub root: PathBuf,
    pub cfg: PyvenvCfg,
}

impl Venv {
    /// The Python version pyvenv.cfg records (`version_info`, else `version`).
    pub fn recorded_version(&self) -> Option<&str> {
        self.cfg
            .get("version_info")
            .or_else(|| self.cfg.get("version"))
    }
}

impl Venv {
    /// Open `dir` as an environment, or explain why it is not one.
    pub fn open(dir: &Path) -> anyhow::Result<Venv> {
        let root = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        if !root.join("pyvenv.cfg").is_file() {
            let what = if root.exists() {
                "is not an environment (it has no pyvenv.cfg)"
            } else {
                "does not exist"
            };
            return Err(user(
                format!("{} {what}", root.display()),
                format!("create it with `envtool create {}`", dir.display()),
            ));
        }
        let cfg = PyvenvCfg::read(&root)?;
        Ok(Venv { root, cfg })
    }

    pub fn bin_dir(&self) -> PathBuf {
        self.root.join("bin")
    }

    pub fn python(&self) -> PathBuf {
        self.bin_dir().join("python")
    }
}

pub fn is_environment(dir: &Path) -> bool {
    dir.join("pyvenv.cfg").is_file()
}

/// Classify the target, refusing what must not be touched.
pub fn inspect_target(dir: &Path, clear: bool) -> anyhow::Result<Existing> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Existing::Nothing),
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("cannot read {}", dir.display())))
        }
    };
    if !meta.is_dir() {
        return Err(user(
            format!("{} exists and is not a directory", dir.display()),
            "choose another path for the environment",
        ));
    }
    if is_environment(dir) {
        if clear {
            return Ok(Existing::Environment);
        }
        return Err(user(
            format!("{} is already an environment", dir.display()),
            "pass --clear to replace it, or choose another directory",
        ));
    }
    let empty = fs_err::read_dir(dir)?.next().is_none();
    if empty {
        return Ok(Existing::EmptyDir);
    }
    Err(user(
        format!("{} exists, is not empty and is not an environment", dir.display()),
        "choose another directory, or empty it first (envtool never deletes files it did not create)",
    ))
}

/// The name shown in the prompt: `--prompt`, `.` meaning the working directory's name, else DIR's name.
pub fn prompt_name(spec_prompt: Option<&str>, dir: &Path) -> String {
    match spec_prompt {
        Some(".") => std::env::current_dir()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default(),
        Some(p) => p.to_string(),
        None => dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    }
}

/// The pyvenv.cfg for a new environment.
pub fn new_cfg(spec: &CreateSpec, facts: &Facts) -> PyvenvCfg {
    let mut cfg = PyvenvCfg::default();
    let home = facts
        .executable
        .parent()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    cfg.set("home", home);
    cfg.set("implementation", implementation_name(&facts.implementation));
    cfg.set("version", facts.version_string());
    cfg.set("version_info", facts.version_string());
    cfg.set(
        "include-system-site-packages",
        if spec.system_site_packages {
            "true"
        } else {
            "false"
        },
    );
    cfg.set("executable", facts.executable.to_string_lossy());
    cfg.set("command", spec.command.clone());
    cfg.set("envtool", env!("CARGO_PKG_VERSION"));
    if let Some(prompt) = &spec.prompt {
        cfg.set("prompt", python_repr(&prompt_name(Some(prompt), &spec.dir)));
    }
    cfg
}

fn implementation_name(name: &str) -> &str {
    match name {
        "cpython" => "CPython",
        "pypy" => "PyPy",
        "graalpy" => "GraalPy",
        other => other,
    }
}

/// Write the whole layout into `root` (a fresh directory), naming `final_dir` wherever the
/// environment's own path is recorded.
fn write_layout(root: &Path, spec: &CreateSpec) -> anyhow::Result<()> {
    let facts = &spec.interpreter.facts;
    let bin = root.join("bin");
    fs_err::create_dir_all(&bin)?;
    let purelib = facts.scheme_path("purelib");
    let platlib = facts.scheme_path("platlib");
    fs_err::create_dir_all(root.join(&purelib))?;
    if platlib != purelib {
        fs_err::create_dir_all(root.join(&platlib))?;
    }
    if facts.pointer_bits == 64
        && !facts.platform.starts_with("macosx")
        && purelib.starts_with("lib")
        && !root.join("lib64").exists()
    {
        symlink("lib", root.join("lib64")).context("cannot create the lib64 link")?;
    }

    symlink(&facts.executable, bin.join("python"))
        .with_context(|| format!("cannot link {}", bin.join("python").display()))?;
    let mut names = vec!["python3".to_string(), facts.versioned_name()];
    if facts.implementation == "pypy" {
        names.push("pypy3".into());
    }
    for name in names {
        if name != "python" {
            symlink("python", bin.join(&name))
                .with_context(|| format!("cannot link {}", bin.join(&name).display()))?;
        }
    }

    fs_err::write(root.join("pyvenv.cfg"), new_cfg(spec, facts).render())?;
    let prompt = prompt_name(spec.prompt.as_deref(), &spec.dir);
    for (name, text) in activate::render(&spec.dir, &prompt) {
        fs_err::write(bin.join(name), text)?;
    }
    fs_err::write(root.join(".gitignore"), "*\n")?;
    // envtool's state directory (the environment's lock, and its transactions), private.
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(root.join(STATE_DIR))
            .with_context(|| format!("cannot create {}", root.join(STATE_DIR).display()))?;
    }
    Ok(())
}

/// Create the environment. Nothing at `spec.dir` changes unless the new one is complete.
/// `populate` runs on the staging directory (e.g. installing packages) before the swap.
pub fn create(
    spec: &CreateSpec,
    populate: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let existing = inspect_target(&spec.dir, spec.clear)?;
    let parent = spec
        .dir
        .parent()
        .context("the environment directory has no parent")?;
    let created_parent = create_parents(parent)?;
    let result = build_and_swap(spec, parent, existing, populate);
    if result.is_err() {
        if let Some(top) = created_parent {
            let _ = std::fs::remove_dir_all(top);
        }
    }
    result
}

fn build_and_swap(
    spec: &CreateSpec,
    parent: &Path,
    existing: Existing,
    populate: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let _critical = crate::interrupt::Critical::enter();
    let staging = tempfile::Builder::new()
        .prefix(".envtool-create-")
        .tempdir_in(parent)
        .map_err(|e| {
            user(
                format!("cannot create the environment in {}: {e}", parent.display()),
                "choose a directory you can write to",
            )
        })?;
    write_layout(staging.path(), spec)?;
    populate(staging.path())?;
    crate::interrupt::check()?;
    match existing {
        Existing::Nothing | Existing::EmptyDir => {
            fs_err::rename(staging.path(), &spec.dir)?;
            let _ = staging.keep();
        }
        Existing::Environment => {
            let trash = tempfile::Builder::new()
                .prefix(".envtool-old-")
                .tempdir_in(parent)?;
            let trash_dir = trash.path().join("env");
            fs_err::rename(&spec.dir, &trash_dir)?;
            if let Err(e) = fs_err::rename(staging.path(), &spec.dir) {
                let _ = std::fs::rename(&trash_dir, &spec.dir);
                return Err(e.into());
            }
            let _ = staging.keep();
            drop(trash);
        }
    }
    Ok(())
}

/// `mkdir -p parent`, returning the topmost directory it created (to undo on failure).
fn create_parents(parent: &Path) -> anyhow::Result<Option<PathBuf>> {
    if parent.as_os_str().is_empty() || parent.is_dir() {
        return Ok(None);
    }
    let top = parent
        .ancestors()
        .take_while(|a| !a.exists())
        .last()
        .map(Path::to_path_buf);
    std::fs::create_dir_all(parent).map_err(|e| {
        user(
            format!("cannot create {}: {e}", parent.display()),
            "choose a directory you can write to",
        )
    })?;
    Ok(top)
}

/// `--env DIR`, else `$VIRTUAL_ENV`, else `./.venv`.
pub fn select(explicit: Option<&Path>) -> anyhow::Result<Venv> {
    if let Some(dir) = explicit {
        return Venv::open(dir);
    }
    if let Some(dir) = std::env::var_os(env_vars::VIRTUAL_ENV).filter(|v| !v.is_empty()) {
        return Venv::open(Path::new(&dir));
    }
    let local = PathBuf::from(".venv");
    if local.join("pyvenv.cfg").is_file() {
        return Venv::open(&local);
    }
    Err(user(
        "no environment given: VIRTUAL_ENV is not set and ./.venv does not exist",
        "pass the environment (--env DIR), activate one, or create ./.venv with `envtool create`",
    ))
}

/// The facts of the interpreter an environment runs on.
pub fn facts_of(venv: &Venv, cache: &Cache) -> anyhow::Result<Facts> {
    let python = venv.python();
    let real = std::fs::canonicalize(&python).map_err(|_| {
        let target = std::fs::read_link(&python)
            .map(|t| t.display().to_string())
            .unwrap_or_else(|_| python.display().to_string());
        user(
            format!(
                "the interpreter of {} is gone ({target})",
                venv.root.display()
            ),
            format!(
                "recreate the environment: envtool create --clear {} --python {}",
                venv.root.display(),
                venv.recorded_version()
                    .and_then(|v| v.rsplit_once('.').map(|(minor, _)| minor.to_string()))
                    .unwrap_or_else(|| "PY".into())
            ),
        )
    })?;
    facts_for(&real, cache)
}

//! What envtool knows about one interpreter, asked once with `probe.py` and cached by the
//! executable's path, size and mtime, so later runs spawn no Python at all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::UNIX_EPOCH;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::cache::{self, Bucket, Cache};

const PROBE: &str = include_str!("probe.py");

/// The interpreter's answer to `probe.py`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Facts {
    pub too_old: bool,
    pub version: (u32, u32, u32),
    #[serde(default)]
    pub version_full: String,
    #[serde(default)]
    pub implementation: String,
    /// The real base interpreter binary (symlinks resolved, venvs seen through).
    pub executable: PathBuf,
    #[serde(default)]
    pub base_prefix: PathBuf,
    #[serde(default)]
    pub in_venv: bool,
    #[serde(default)]
    pub platform: String,
    #[serde(default)]
    pub pointer_bits: u32,
    #[serde(default)]
    pub soabi: Option<String>,
    #[serde(default)]
    pub gil_disabled: bool,
    #[serde(default)]
    pub debug: bool,
    #[serde(default)]
    pub libc: Option<Libc>,
    /// sysconfig's venv scheme, relative to the environment root (`purelib`, `scripts`, ...).
    #[serde(default)]
    pub scheme: BTreeMap<String, String>,
    /// The index pip itself would use by default, when pip is importable.
    #[serde(default)]
    pub pip_index_url: Option<String>,
    /// PEP 508 marker environment.
    #[serde(default)]
    pub markers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Libc {
    pub name: String,
    pub version: String,
}

/// One cache entry: the facts plus the file identity they were computed for.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    path: PathBuf,
    size: u64,
    mtime_ns: u128,
    facts: Facts,
}

impl Facts {
    pub fn version_string(&self) -> String {
        let (a, b, c) = self.version;
        format!("{a}.{b}.{c}")
    }

    pub fn minor_string(&self) -> String {
        format!("{}.{}", self.version.0, self.version.1)
    }

    /// `python3.12`, or `python3.13t` for a free-threaded build.
    pub fn versioned_name(&self) -> String {
        format!(
            "python{}{}",
            self.minor_string(),
            if self.gil_disabled { "t" } else { "" }
        )
    }

    /// A path from the sysconfig venv scheme, relative to the environment root.
    pub fn scheme_path(&self, key: &str) -> PathBuf {
        match self.scheme.get(key) {
            Some(p) => PathBuf::from(p),
            None => match key {
                "scripts" => PathBuf::from("bin"),
                "data" => PathBuf::from("."),
                "include" => PathBuf::from(format!("include/{}", self.versioned_name())),
                _ => PathBuf::from(format!("lib/{}/site-packages", self.versioned_name())),
            },
        }
    }
}

/// The facts for the interpreter at `exe` (a real binary, not a shim), from the cache when its
/// identity (path, size, mtime) is unchanged, else by running the probe.
pub fn facts_for(exe: &Path, cache: &Cache) -> anyhow::Result<Facts> {
    let meta = fs_err::metadata(exe)?;
    let size = meta.len();
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let key = cache::key(&[exe.as_os_str().as_encoded_bytes()], 32);
    let entry_path = cache
        .bucket(Bucket::Interpreters)
        .ok()
        .map(|dir| dir.join(format!("{key}.json")));
    if let Some(path) = &entry_path {
        if let Ok(bytes) = std::fs::read(path) {
            if let Ok(entry) = serde_json::from_slice::<Entry>(&bytes) {
                if entry.path == exe && entry.size == size && entry.mtime_ns == mtime_ns {
                    return Ok(entry.facts);
                }
            }
        }
    }
    let facts = probe(exe)?;
    if let Some(path) = &entry_path {
        let entry = Entry {
            path: exe.to_path_buf(),
            size,
            mtime_ns,
            facts: facts.clone(),
        };
        // A cache that cannot be written only costs speed next time.
        if let Err(e) = cache::write_atomic(path, &serde_json::to_vec(&entry)?) {
            crate::output::debug(&format!("not caching interpreter facts: {e:#}"));
        }
    }
    Ok(facts)
}

/// Run `probe.py` with the interpreter; `-E -s` keep the user's PYTHON* variables and user site out.
pub fn probe(exe: &Path) -> anyhow::Result<Facts> {
    crate::output::debug(&format!("probing {}", exe.display()));
    let out = Command::new(exe)
        .args(["-E", "-s", "-c", PROBE])
        .env_remove("PYTHONHOME")
        .stdin(std::process::Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", exe.display()))?;
    if !out.status.success() {
        return Err(crate::error::user(
            format!(
                "{} failed when asked for its version ({}): {}",
                exe.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            "the interpreter is broken; pass another one with --python (see `envtool python list`)",
        ));
    }
    serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "{} gave an unexpected answer when asked for its version",
            exe.display()
        )
    })
}

impl Facts {
    /// The PEP 508 marker environment of this interpreter.
    pub fn marker_env(&self) -> anyhow::Result<pep508_rs::MarkerEnvironment> {
        let get = |k: &str| self.markers.get(k).map(String::as_str).unwrap_or("");
        let builder = pep508_rs::MarkerEnvironmentBuilder {
            implementation_name: get("implementation_name"),
            implementation_version: get("implementation_version"),
            os_name: get("os_name"),
            platform_machine: get("platform_machine"),
            platform_python_implementation: get("platform_python_implementation"),
            platform_release: get("platform_release"),
            platform_system: get("platform_system"),
            platform_version: get("platform_version"),
            python_full_version: get("python_full_version"),
            python_version: get("python_version"),
            sys_platform: get("sys_platform"),
        };
        pep508_rs::MarkerEnvironment::try_from(builder)
            .map_err(|e| anyhow::anyhow!("{}: bad marker values: {e}", self.executable.display()))
    }

    /// The full Python version as a PEP 440 version (`3.12.1`).
    pub fn python_version(&self) -> pep440_rs::Version {
        pep440_rs::Version::new([
            self.version.0 as u64,
            self.version.1 as u64,
            self.version.2 as u64,
        ])
    }
}

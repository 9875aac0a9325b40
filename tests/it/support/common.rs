//! Helpers for running the real `envtool` binary in a private temporary tree.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scratch tree plus the environment variables that keep envtool inside it.
pub struct TestEnv {
    pub tmp: tempfile::TempDir,
    pub cache_dir: PathBuf,
}

impl TestEnv {
    /// Interpreter facts are cached in a directory shared by all tests (under target/), so
    /// each interpreter is probed once per test run; everything else is private.
    pub fn new() -> TestEnv {
        let tmp = tempfile::Builder::new()
            .prefix("envtool-test-")
            .tempdir()
            .unwrap();
        let cache_dir = shared_cache();
        TestEnv { tmp, cache_dir }
    }

    /// The same, with a cache of its own.
    pub fn with_private_cache() -> TestEnv {
        let tmp = tempfile::Builder::new()
            .prefix("envtool-test-")
            .tempdir()
            .unwrap();
        let cache_dir = tmp.path().join("cache");
        TestEnv { tmp, cache_dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    /// `envtool ARGS` with the working directory set to the scratch tree.
    pub fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(envtool_bin());
        cmd.args(args)
            .current_dir(self.tmp.path())
            .env("ENVTOOL_CACHE_DIR", &self.cache_dir)
            .env("HOME", self.tmp.path().join("home"))
            .env_remove("VIRTUAL_ENV")
            .env_remove("ENVTOOL_LOG")
            .env_remove("ENVTOOL_OFFLINE")
            .env_remove("ENVTOOL_INDEX_URL")
            .env_remove("ENVTOOL_EXTRA_INDEX_URL")
            .env_remove("ENVTOOL_FIND_LINKS")
            .env("PYENV_ROOT", pyenv_root())
            .env("NO_COLOR", "1")
            // pip's configuration must not leak in from the machine running the tests.
            .env("PIP_CONFIG_FILE", "/dev/null")
            .env_remove("PIP_INDEX_URL")
            .env_remove("PIP_EXTRA_INDEX_URL")
            .env_remove("PIP_FIND_LINKS")
            .env_remove("PIP_NO_INDEX")
            .env_remove("ENVTOOL_CONSTRAINT")
            .env_remove("ENVTOOL_OVERRIDE")
            .env_remove("ENVTOOL_LINK_MODE");
        cmd
    }

    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd(args).output().unwrap()
    }

    /// Run and assert success, returning stdout.
    pub fn ok<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self.run(args);
        assert_success(&out);
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for TestEnv {
    /// A pack's first start leaves a detached process that makes its extraction durable and
    /// then writes `.complete` into it by path, possibly after the test has ended. Removed in
    /// place, the tree could get that file back halfway and be left behind; moved aside
    /// first, it is no longer where that process looks.
    fn drop(&mut self) {
        let here = self.tmp.path();
        let aside = here.with_extension("removed");
        if std::fs::rename(here, &aside).is_err() {
            return; // TempDir removes it in place
        }
        for _ in 0..20 {
            // A write that got in before the rename can still land: try again after it.
            if std::fs::remove_dir_all(&aside).is_ok() || !aside.exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

pub fn envtool_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_envtool"))
}

fn shared_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("shared-cache")
}

pub fn pyenv_root() -> PathBuf {
    std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".pyenv"))
}

pub fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "expected success, got {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A user-facing failure: exit 1, an `error:` line, a `hint:` line, and no panic.
pub fn assert_user_error(out: &Output, needle: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit 1; stderr:\n{stderr}"
    );
    assert!(stderr.contains("error:"), "no error: line in:\n{stderr}");
    assert!(stderr.contains("hint:"), "no hint: line in:\n{stderr}");
    assert!(!stderr.contains("panicked"), "a panic in:\n{stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in:\n{stderr}");
    stderr
}

/// Every CPython 3.8+ envtool can see (`envtool python list --json`, so the tests find
/// interpreters the way a user's `--python` does), one per minor version, oldest first:
/// (version, real binary). Where two share a minor version, the first envtool lists wins.
pub fn pythons() -> Vec<(String, PathBuf)> {
    static FOUND: std::sync::OnceLock<Vec<(String, PathBuf)>> = std::sync::OnceLock::new();
    FOUND
        .get_or_init(|| {
            let out = Command::new(envtool_bin())
                .args(["python", "list", "--json"])
                .env("PYENV_ROOT", pyenv_root())
                .env("ENVTOOL_CACHE_DIR", shared_cache())
                .output()
                .expect("envtool python list runs");
            assert_success(&out);
            let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
            let mut by_minor: std::collections::BTreeMap<(u32, u32), (String, PathBuf)> =
                Default::default();
            for row in rows {
                let version = row["version"].as_str().unwrap_or_default().to_string();
                let parts: Vec<u32> = version.split('.').filter_map(|p| p.parse().ok()).collect();
                let cpython = row["implementation"] == "cpython" && row["supported"] == true;
                if !cpython || parts.len() < 2 || parts[0] != 3 || parts[1] < 8 {
                    continue;
                }
                let exe = PathBuf::from(row["executable"].as_str().unwrap_or_default());
                by_minor
                    .entry((parts[0], parts[1]))
                    .or_insert((version, exe));
            }
            by_minor.into_values().collect()
        })
        .clone()
}

/// CPython 3.8+ installs under `$PYENV_ROOT/versions` (for the tests of pyenv discovery
/// itself): (version directory name, real binary), sorted.
pub fn pyenv_versions() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(pyenv_root().join("versions")) else {
        return out;
    };
    for entry in rd.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let parts: Vec<u32> = name.split('.').filter_map(|p| p.parse().ok()).collect();
        if parts.len() != 3 || parts[0] != 3 || parts[1] < 8 {
            continue;
        }
        let exe = entry
            .path()
            .join("bin")
            .join(format!("python{}.{}", parts[0], parts[1]));
        if exe.is_file() {
            out.push((name, exe));
        }
    }
    out.sort_by_key(|(n, _)| {
        n.split('.')
            .map(|p| p.parse::<u32>().unwrap_or(0))
            .collect::<Vec<_>>()
    });
    out
}

/// `ENVTOOL_TEST_PYTHON`, when set.
pub fn override_python() -> Option<PathBuf> {
    std::env::var_os("ENVTOOL_TEST_PYTHON")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The interpreter most tests use: `ENVTOOL_TEST_PYTHON`, else the newest of [`pythons`].
pub fn python() -> PathBuf {
    override_python()
        .or_else(|| pythons().into_iter().last().map(|(_, p)| p))
        .expect("the tests need a CPython 3.8+: install one, or set ENVTOOL_TEST_PYTHON")
}

/// Run `python -c CODE` and return its trimmed stdout, asserting success.
pub fn py(python: &Path, code: &str) -> String {
    let out = Command::new(python)
        .args(["-c", code])
        .env_remove("PYTHONHOME")
        .env_remove("PYTHONPATH")
        .output()
        .unwrap();
    assert_success(&out);
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Every file and symlink below `dir`, relative, sorted (for "nothing changed" checks).
pub fn tree(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .flatten()
        .map(|e| {
            e.path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    out.sort();
    out
}

/// `envtool` run as the unprivileged user `nobody` (for tests of permission errors, which root
/// ignores), with the scratch tree and its cache opened up to that user. Interpreters under
/// root's home are not reachable by nobody: such tests use `/usr/bin/python3`. None (with a
/// SKIP line) where that cannot be arranged.
pub fn as_nobody(t: &TestEnv) -> Option<Command> {
    use std::os::unix::fs::PermissionsExt;
    let setpriv = Path::new("/usr/bin/setpriv");
    if !setpriv.exists() || !Path::new("/usr/bin/python3").exists() {
        crate::support::skip("running as root without setpriv or /usr/bin/python3");
        return None;
    }
    let reachable = envtool_bin()
        .ancestors()
        .skip(1)
        .all(|a| std::fs::metadata(a).is_ok_and(|m| m.permissions().mode() & 0o005 == 0o005));
    if !reachable {
        crate::support::skip("the envtool binary is not reachable by the user nobody");
        return None;
    }
    std::fs::set_permissions(t.tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(&t.cache_dir).unwrap();
    // The cache must be the user's own and private.
    std::fs::set_permissions(&t.cache_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let owned = Command::new("chown")
        .arg("-R")
        .arg("65534:65534")
        .arg(&t.cache_dir)
        .status()
        .is_ok_and(|s| s.success());
    if !owned {
        crate::support::skip("cannot give the user nobody a cache of its own");
        return None;
    }
    let mut cmd = Command::new(setpriv);
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(envtool_bin())
        .current_dir(t.tmp.path())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", t.tmp.path().join("home"))
        .env("ENVTOOL_CACHE_DIR", &t.cache_dir)
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env("NO_COLOR", "1");
    Some(cmd)
}

/// Whether the tests run as root (where permission bits are not enforced).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Whether the pack extraction `dir` becomes durable (`.complete`) within a minute: a first
/// start returns before its detached process has synced the extraction and written it.
pub fn wait_for_complete(dir: &Path) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if dir.join(".complete").is_file() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}

/// Whether a pack extraction `dir` was put in place: finished (`.complete`) or being made
/// durable (`.pending`).
pub fn is_extracted(dir: &Path) -> bool {
    dir.join(".complete").exists() || dir.join(".pending").exists()
}

/// Whether `strace` runs here.
pub fn have_strace() -> bool {
    Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `cmd` (its program, arguments, environment and working directory) run under
/// `strace -f -qq -e trace=SYSCALLS -o LOG`.
pub fn under_strace(cmd: &Command, syscalls: &str, log: &Path) -> Command {
    let mut traced = Command::new("strace");
    traced
        .args(["-f", "-qq", "-e", &format!("trace={syscalls}"), "-o"])
        .arg(log)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => traced.env(k, v),
            None => traced.env_remove(k),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        traced.current_dir(dir);
    }
    traced
}

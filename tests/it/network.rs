//! The network tier: envtool against the default package index (the one pip itself uses,
//! found through the interpreter; no `--index-url`), checked with real pip and, when it is
//! installed, compared with uv as an oracle.
//!
//! Every test first checks (once per run) that the default index answers; when it does
//! not, the test prints `skipped: no index reachable` and passes. The uv comparisons look
//! for `bench/.peers/bin/uv`, then `uv` on PATH, and skip with a message without it.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::common::{assert_success, TestEnv};
use crate::{common, support};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// Runs `cmd` for at most `limit`; `None` (after killing it) when it did not finish.
fn output_within(cmd: &mut Command, limit: Duration) -> Option<Output> {
    let dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(Output {
                status,
                stdout: std::fs::read(&out_path).unwrap(),
                stderr: std::fs::read(&err_path).unwrap(),
            });
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether the default index answers: a dry-run install of `six==1.16.0` into a fresh
/// environment, once per test binary, within 30 seconds.
fn index_reachable() -> bool {
    static REACHABLE: OnceLock<bool> = OnceLock::new();
    *REACHABLE.get_or_init(|| {
        let t = TestEnv::new();
        let env = t.path("probe");
        let created = t.run([
            OsStr::new("create"),
            env.as_os_str(),
            "--python".as_ref(),
            common::python().as_os_str(),
        ]);
        assert_success(&created);
        let mut cmd = t.cmd([
            OsStr::new("install"),
            "--env".as_ref(),
            env.as_os_str(),
            "--dry-run".as_ref(),
            "six==1.16.0".as_ref(),
        ]);
        match output_within(&mut cmd, Duration::from_secs(30)) {
            Some(out) if out.status.success() => true,
            Some(out) => {
                eprintln!(
                    "the default index did not answer:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                false
            }
            None => {
                eprintln!("the default index did not answer within 30s");
                false
            }
        }
    })
}

macro_rules! require_index {
    () => {
        if !index_reachable() {
            return support::skip_offline("the default index cannot be reached");
        }
    };
}

/// uv from the benchmark peers, else from PATH, else installed from the default index into a
/// virtual environment under the target directory (once).
fn uv() -> Option<PathBuf> {
    static UV: OnceLock<Option<PathBuf>> = OnceLock::new();
    UV.get_or_init(|| {
        let peer = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/.peers/bin/uv");
        if peer.is_file() {
            return Some(peer);
        }
        // A pyenv shim named uv may be on PATH and not work: take one that answers.
        let works = |p: &PathBuf| {
            p.is_file()
                && Command::new(p)
                    .arg("--version")
                    .output()
                    .is_ok_and(|o| o.status.success())
        };
        let on_path = std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|d| d.join("uv"))
            .find(works);
        if on_path.is_some() {
            return on_path;
        }
        let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("uv-venv");
        let uv = venv.join("bin/uv");
        if !uv.is_file() {
            let made = Command::new(common::python())
                .args(["-m", "venv", "--clear"])
                .arg(&venv)
                .status()
                .ok()?;
            let installed = made.success()
                && support::pip_command(&venv.join("bin/python"))
                    .args(["install", "--timeout", "30", "uv"])
                    .status()
                    .ok()?
                    .success();
            if !installed {
                return None;
            }
        }
        uv.is_file().then_some(uv)
    })
    .clone()
}

/// A uv command kept away from the user's configuration, with a cache shared by test runs.
fn uv_cmd(uv: &Path, t: &TestEnv) -> Command {
    let mut cmd = Command::new(uv);
    cmd.current_dir(t.tmp.path())
        .env(
            "UV_CACHE_DIR",
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("uv-cache"),
        )
        .env("UV_NO_CONFIG", "1")
        .env("UV_PYTHON_DOWNLOADS", "never")
        .env("NO_COLOR", "1")
        .env("HOME", t.path("home"));
    for var in [
        "UV_INDEX_URL",
        "UV_EXTRA_INDEX_URL",
        "UV_INDEX",
        "UV_DEFAULT_INDEX",
        "UV_FIND_LINKS",
        "UV_NO_INDEX",
        "UV_PYTHON",
        "UV_CONSTRAINT",
        "UV_OVERRIDE",
        "UV_EXCLUDE_NEWER",
        "UV_OFFLINE",
        "UV_PRERELEASE",
        "UV_RESOLUTION",
        "VIRTUAL_ENV",
        "PIP_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// `uv pip compile IN --format pylock.toml -o OUT` for `python`.
fn uv_lock(uv: &Path, t: &TestEnv, python: &Path, input: &Path, out: &Path) {
    run_ok(
        uv_cmd(uv, t)
            .args(["pip", "compile", "--format", "pylock.toml", "--python"])
            .arg(python)
            .arg(input)
            .arg("-o")
            .arg(out),
        "uv pip compile --format pylock.toml",
    );
}

fn run_ok(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Real pip (the newest pyenv one) acting on an environment: `pip --python ENV/bin/python ARGS`.
fn pip(env: &Path, args: &[&str]) -> String {
    run_ok(
        support::pip_command(&common::python())
            .arg("--python")
            .arg(env.join("bin/python"))
            .args(args),
        &format!("pip {args:?}"),
    )
}

/// What pip lists: normalized name -> version.
fn pip_list(env: &Path) -> BTreeMap<String, String> {
    let text = pip(env, &["list", "--format=json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    rows.iter()
        .map(|r| {
            (
                support::normalize_project_name(r["name"].as_str().unwrap()),
                r["version"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `envtool create DIR --python PY REQS...` against the default index.
fn create(t: &TestEnv, dir: &Path, python: &Path, reqs: &[&str]) -> Output {
    let mut cmd = t.cmd([
        OsStr::new("create"),
        dir.as_os_str(),
        "--python".as_ref(),
        python.as_os_str(),
    ]);
    cmd.args(reqs);
    cmd.output().unwrap()
}

fn create_ok(t: &TestEnv, dir: &Path, python: &Path, reqs: &[&str]) {
    let out = create(t, dir, python, reqs);
    assert_success(&out);
}

/// The newest pyenv CPython no newer than 3.`max_minor`.
fn python_up_to(max_minor: u32) -> Option<PathBuf> {
    common::pythons()
        .into_iter()
        .filter_map(|(name, exe)| {
            let parts: Vec<u32> = name.split('.').map(|p| p.parse().unwrap()).collect();
            (parts[1] <= max_minor).then_some((parts, exe))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, exe)| exe)
}

// ---------------------------------------------------------------------------------------
// envtool alone, checked with pip
// ---------------------------------------------------------------------------------------

#[test]
fn installs_a_pure_wheel() {
    require_index!();
    let t = TestEnv::new();
    let env = t.path("e");
    create_ok(&t, &env, &common::python(), &["six==1.16.0"]);
    assert_eq!(
        pip_list(&env),
        BTreeMap::from([("six".to_string(), "1.16.0".to_string())])
    );
    pip(&env, &["check"]);
    assert_eq!(
        common::py(
            &env.join("bin/python"),
            "import six; print(six.__version__)"
        ),
        "1.16.0"
    );
    assert_eq!(pip(&env, &["freeze"]), "six==1.16.0\n");
    assert_eq!(
        t.ok([OsStr::new("freeze"), env.as_os_str()]),
        "six==1.16.0\n"
    );
}

#[test]
fn installs_a_c_extension() {
    require_index!();
    // markupsafe 2.1.5 has binary wheels up to CPython 3.12.
    let Some(python) = python_up_to(12) else {
        return support::skip("no CPython <= 3.12 (markupsafe 2.1.5 has no wheels for newer ones)");
    };
    let t = TestEnv::new();
    let env = t.path("e");
    create_ok(&t, &env, &python, &["markupsafe==2.1.5"]);
    assert_eq!(
        pip_list(&env),
        BTreeMap::from([("markupsafe".to_string(), "2.1.5".to_string())])
    );
    pip(&env, &["check"]);
    let got = common::py(
        &env.join("bin/python"),
        "import markupsafe._speedups as s, markupsafe; print(s.__file__.endswith('.so'), markupsafe.escape('<a>'))",
    );
    assert_eq!(got, "True &lt;a&gt;");
}

#[test]
fn installs_console_scripts() {
    require_index!();
    let t = TestEnv::new();
    let env = t.path("e");
    create_ok(&t, &env, &common::python(), &["httpie"]);
    let listed = pip_list(&env);
    let version = listed.get("httpie").expect("httpie installed").clone();
    pip(&env, &["check"]);
    let out = Command::new(env.join("bin/http"))
        .arg("--version")
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), version);
    // envtool's freeze is pip's.
    assert_eq!(
        t.ok([OsStr::new("freeze"), env.as_os_str(), "--all".as_ref()]),
        pip(&env, &["freeze", "--all"])
    );
}

#[test]
fn ruff_installs_as_a_tool_and_runs_through_its_shim() {
    // ruff ships its command as a native binary in `ruff.data/scripts/`, not as an entry point.
    require_index!();
    let t = TestEnv::new();
    let (tools, bin) = (t.path("tools"), t.path("bin"));
    let out = t
        .cmd([
            OsStr::new("tool"),
            "install".as_ref(),
            "ruff".as_ref(),
            "--python".as_ref(),
            common::python().as_os_str(),
        ])
        .env("ENVTOOL_TOOL_DIR", &tools)
        .env("ENVTOOL_BIN_DIR", &bin)
        .output()
        .unwrap();
    assert_success(&out);
    let out = Command::new(bin.join("ruff"))
        .arg("--version")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("ruff "), "{text}");
    let listed = pip_list(&tools.join("ruff"));
    assert_eq!(text.trim(), format!("ruff {}", listed["ruff"]));
}

// ---------------------------------------------------------------------------------------
// uv as an oracle
// ---------------------------------------------------------------------------------------

#[test]
fn resolves_like_uv() {
    require_index!();
    let Some(uv) = uv() else {
        return support::skip_offline("uv cannot be installed from the default index");
    };
    let t = TestEnv::new();
    let python = common::python();
    for (i, reqs) in [vec!["httpie"], vec!["flask>=2", "requests[socks]"]]
        .iter()
        .enumerate()
    {
        let ours = t.path(&format!("envtool-{i}"));
        create_ok(&t, &ours, &python, reqs);
        let theirs = t.path(&format!("uv-{i}"));
        create_ok(&t, &theirs, &python, &[]);
        run_ok(
            uv_cmd(&uv, &t)
                .args(["pip", "install", "--python"])
                .arg(theirs.join("bin/python"))
                .args(reqs),
            &format!("uv pip install {reqs:?}"),
        );
        let (a, b) = (
            pip(&ours, &["freeze", "--all"]),
            pip(&theirs, &["freeze", "--all"]),
        );
        assert_eq!(
            a, b,
            "pip freeze --all after envtool (left) and uv (right) installed {reqs:?}"
        );
        pip(&ours, &["check"]);
    }
}

#[test]
fn locks_round_trip_with_uv() {
    require_index!();
    let Some(uv) = uv() else {
        return support::skip_offline("uv cannot be installed from the default index");
    };
    let t = TestEnv::new();
    let python = common::python();

    // envtool's lock, installed by uv.
    std::fs::create_dir_all(t.path("ours")).unwrap();
    let our_lock = t.path("ours/pylock.toml");
    let out = t
        .cmd([
            OsStr::new("lock"),
            "httpie".as_ref(),
            "-o".as_ref(),
            our_lock.as_os_str(),
            "--python".as_ref(),
            python.as_os_str(),
        ])
        .output()
        .unwrap();
    assert_success(&out);
    let by_uv = t.path("by-uv");
    create_ok(&t, &by_uv, &python, &[]);
    run_ok(
        uv_cmd(&uv, &t)
            .args(["pip", "install", "--python"])
            .arg(by_uv.join("bin/python"))
            .arg("-r")
            .arg(&our_lock),
        "uv pip install -r (envtool's) pylock.toml",
    );
    pip(&by_uv, &["check"]);
    let lock: toml::Table = std::fs::read_to_string(&our_lock).unwrap().parse().unwrap();
    let locked: BTreeMap<String, String> = lock["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        pip_list(&by_uv),
        locked,
        "what uv installed from envtool's lock"
    );

    // uv's lock, installed by envtool.
    std::fs::create_dir_all(t.path("theirs")).unwrap();
    std::fs::write(t.path("theirs/requirements.in"), "httpie\n").unwrap();
    let their_lock = t.path("theirs/pylock.toml");
    uv_lock(
        &uv,
        &t,
        &python,
        &t.path("theirs/requirements.in"),
        &their_lock,
    );
    let by_envtool = t.path("by-envtool");
    create_ok(
        &t,
        &by_envtool,
        &python,
        &["-r", their_lock.to_str().unwrap()],
    );
    pip(&by_envtool, &["check"]);
    assert_eq!(
        pip(&by_envtool, &["freeze", "--all"]),
        pip(&by_uv, &["freeze", "--all"]),
        "envtool installing uv's lock (left) vs uv installing envtool's lock (right)"
    );
    let out = Command::new(by_envtool.join("bin/http"))
        .arg("--version")
        .output()
        .unwrap();
    assert_success(&out);
}

/// `docopt==0.6.2` has only an sdist with a setup.py: built with setuptools' legacy backend in
/// an isolated build environment, then cached, so a second environment builds nothing.
#[test]
fn builds_an_sdist_only_package() {
    require_index!();
    let t = TestEnv::new();
    let python = common::python();
    let env = t.path("e");
    create_ok(&t, &env, &python, &["docopt==0.6.2"]);
    assert_eq!(
        common::py(
            &env.join("bin/python"),
            "import docopt; print(docopt.__version__)"
        ),
        "0.6.2"
    );
    pip(&env, &["check"]);
    assert_eq!(
        t.ok([OsStr::new("freeze"), env.as_os_str()]),
        pip(&env, &["freeze"])
    );
    let env2 = t.path("e2");
    let out = t
        .cmd([
            OsStr::new("--offline"),
            OsStr::new("create"),
            env2.as_os_str(),
            OsStr::new("--python"),
            python.as_os_str(),
            OsStr::new("docopt==0.6.2"),
        ])
        .output()
        .unwrap();
    assert_success(&out);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("Building"),
        "built again"
    );
}

/// An editable project and a git commit, both ways between uv and envtool: uv installs
/// envtool's pylock.toml, envtool installs uv's, and the environments record the same sources.
#[test]
fn editable_and_git_locks_round_trip_with_uv() {
    require_index!();
    let Some(uv) = uv() else {
        return support::skip_offline("uv cannot be installed from the default index");
    };
    if !crate::editable_vcs::have_git() {
        return;
    }
    let t = TestEnv::new();
    let python = common::python();
    let proj = crate::editable_vcs::editable_project(t.tmp.path(), "edit-me", "0.2");
    let repo = t.path("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let inner = crate::editable_vcs::editable_project(&repo, "from-git", "1.0");
    crate::editable_vcs::commit_all(&repo, "one");
    crate::editable_vcs::git(&repo, &["tag", "v1"]);
    let sub = inner.file_name().unwrap().to_str().unwrap().to_string();
    let git_req = format!(
        "from-git @ git+file://{}@v1#subdirectory={sub}",
        repo.display()
    );

    let record = |env: &Path| -> BTreeMap<String, serde_json::Value> {
        let site = std::fs::read_dir(env.join("lib"))
            .unwrap()
            .flatten()
            .next()
            .unwrap()
            .path()
            .join("site-packages");
        ["edit_me-0.2.dist-info", "from_git-1.0.dist-info"]
            .iter()
            .map(|d| {
                let text = std::fs::read_to_string(site.join(d).join("direct_url.json")).unwrap();
                (d.to_string(), serde_json::from_str(&text).unwrap())
            })
            .collect()
    };

    // envtool's lock, installed by uv.
    let our_lock = t.path("ours/pylock.toml");
    std::fs::create_dir_all(t.path("ours")).unwrap();
    let out = t
        .cmd([
            OsStr::new("lock"),
            "-e".as_ref(),
            proj.as_os_str(),
            git_req.as_ref(),
            "-o".as_ref(),
            our_lock.as_os_str(),
            "--python".as_ref(),
            python.as_os_str(),
        ])
        .output()
        .unwrap();
    assert_success(&out);
    let by_uv = t.path("by-uv");
    create_ok(&t, &by_uv, &python, &[]);
    run_ok(
        uv_cmd(&uv, &t)
            .args(["pip", "install", "--python"])
            .arg(by_uv.join("bin/python"))
            .arg("-r")
            .arg(&our_lock),
        "uv pip install -r (envtool's) pylock.toml",
    );

    // uv's lock, installed by envtool.
    std::fs::create_dir_all(t.path("theirs")).unwrap();
    std::fs::write(
        t.path("theirs/requirements.in"),
        format!("-e {}\n{git_req}\n", proj.display()),
    )
    .unwrap();
    let their_lock = t.path("theirs/pylock.toml");
    uv_lock(
        &uv,
        &t,
        &python,
        &t.path("theirs/requirements.in"),
        &their_lock,
    );
    let by_envtool = t.path("by-envtool");
    create_ok(
        &t,
        &by_envtool,
        &python,
        &["-r", their_lock.to_str().unwrap()],
    );

    let (ours, theirs) = (record(&by_envtool), record(&by_uv));
    assert_eq!(
        ours["from_git-1.0.dist-info"]["vcs_info"]["commit_id"],
        theirs["from_git-1.0.dist-info"]["vcs_info"]["commit_id"],
        "{ours:?}\n{theirs:?}"
    );
    for r in [&ours, &theirs] {
        assert_eq!(
            r["edit_me-0.2.dist-info"]["dir_info"]["editable"],
            serde_json::json!(true),
            "{r:?}"
        );
        assert_eq!(
            r["edit_me-0.2.dist-info"]["url"],
            ours["edit_me-0.2.dist-info"]["url"]
        );
    }
}

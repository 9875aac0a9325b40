//! `envtool create`: environments the interpreter, pip and shells accept, and every refusal.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::common::{assert_success, assert_user_error, py, python, pythons, tree, TestEnv};
use crate::{common, support};

fn assert_is_venv(dir: &Path) {
    let prefix = py(
        &dir.join("bin/python"),
        "import sys; assert sys.prefix != sys.base_prefix, sys.prefix; print(sys.prefix)",
    );
    assert_eq!(Path::new(&prefix), dir);
}

#[test]
fn default_python3_from_path_gives_a_venv() {
    let t = TestEnv::new();
    let out = t.run(["create"]);
    assert_success(&out);
    assert_is_venv(&t.path(".venv"));
    let cfg = std::fs::read_to_string(t.path(".venv/pyvenv.cfg")).unwrap();
    assert!(
        cfg.contains("include-system-site-packages = false"),
        "{cfg}"
    );
}

#[test]
fn every_pyenv_cpython_gets_an_environment() {
    let pythons = pythons();
    assert!(!pythons.is_empty(), "no CPython 3.8+ under pyenv");
    let t = TestEnv::new();
    for (version, exe) in pythons {
        let minor: String = version.split('.').take(2).collect::<Vec<_>>().join(".");
        for (label, request) in [
            ("path", exe.to_string_lossy().into_owned()),
            ("version", minor.clone()),
        ] {
            let dir = t.path(&format!("env-{version}-{label}"));
            t.ok([
                "create".as_ref(),
                dir.as_os_str(),
                "--python".as_ref(),
                request.as_ref() as &std::ffi::OsStr,
            ]);
            assert_is_venv(&dir);
            let got = py(
                &dir.join("bin/python"),
                "import sys; print('%d.%d' % sys.version_info[:2])",
            );
            assert_eq!(got, minor);
            assert!(dir.join(format!("bin/python{minor}")).exists());
            assert!(dir
                .join(format!("lib/python{minor}/site-packages"))
                .is_dir());
            let site = py(
                &dir.join("bin/python"),
                "import site; print(site.getsitepackages()[0])",
            );
            assert_eq!(
                Path::new(&site),
                dir.join(format!("lib/python{minor}/site-packages"))
            );
        }
    }
}

#[test]
fn debian_system_python_gets_an_environment() {
    let system = Path::new("/usr/bin/python3");
    if !system.exists() {
        return support::skip("no /usr/bin/python3 (a distribution's Python)");
    }
    let t = TestEnv::new();
    t.ok(["create", "sys-env", "--python", "/usr/bin/python3"]);
    assert_is_venv(&t.path("sys-env"));
}

#[test]
fn pyvenv_cfg_and_layout() {
    let t = TestEnv::new();
    let py = python();
    t.ok([
        "create".as_ref(),
        "e".as_ref(),
        "--python".as_ref(),
        py.as_os_str(),
        "--prompt".as_ref(),
        "tools".as_ref(),
    ]);
    let dir = t.path("e");
    let cfg = std::fs::read_to_string(dir.join("pyvenv.cfg")).unwrap();
    let get = |key: &str| {
        cfg.lines()
            .find_map(|l| {
                l.split_once(" = ")
                    .filter(|(k, _)| *k == key)
                    .map(|(_, v)| v.to_string())
            })
            .unwrap_or_else(|| panic!("no {key} in:\n{cfg}"))
    };
    assert_eq!(Path::new(&get("home")), py.parent().unwrap());
    assert_eq!(Path::new(&get("executable")), py);
    assert_eq!(get("include-system-site-packages"), "false");
    assert_eq!(get("prompt"), "'tools'");
    assert_eq!(get("envtool"), env!("CARGO_PKG_VERSION"));
    let version = common::py(&py, "import platform; print(platform.python_version())");
    assert_eq!(get("version"), version);
    assert!(get("command").contains(" create "), "{cfg}");
    assert!(
        get("command").contains(&dir.to_string_lossy().into_owned()),
        "{cfg}"
    );
    // bin/python is the real interpreter, never a shim; the other names point at it.
    assert_eq!(std::fs::read_link(dir.join("bin/python")).unwrap(), py);
    assert_eq!(
        std::fs::read_link(dir.join("bin/python3")).unwrap(),
        Path::new("python")
    );
    assert_eq!(
        std::fs::read_link(dir.join("lib64")).unwrap(),
        Path::new("lib")
    );
    assert_eq!(
        std::fs::read_to_string(dir.join(".gitignore")).unwrap(),
        "*\n"
    );
    for script in ["activate", "activate.fish", "activate.csh", "activate.nu"] {
        let text = std::fs::read_to_string(dir.join("bin").join(script)).unwrap();
        assert!(
            text.contains(&*dir.to_string_lossy()),
            "{script} does not name the env"
        );
        assert!(
            !text.contains("__VIRTUAL_"),
            "{script} has an unfilled placeholder"
        );
    }
    // The prompt name reaches the shell.
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            ". '{}/bin/activate' && printf '%s' \"$VIRTUAL_ENV_PROMPT\"",
            dir.display()
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "tools");
}

#[test]
fn system_site_packages_is_visible() {
    let t = TestEnv::new();
    let py = python();
    t.ok([
        "create".as_ref(),
        "e".as_ref(),
        "--python".as_ref(),
        py.as_os_str(),
        "--system-site-packages".as_ref(),
    ]);
    let cfg = std::fs::read_to_string(t.path("e/pyvenv.cfg")).unwrap();
    assert!(cfg.contains("include-system-site-packages = true"));
    let base_site = common::py(
        &py,
        "import sysconfig; print(sysconfig.get_paths()['purelib'])",
    );
    let path = common::py(
        &t.path("e/bin/python"),
        "import sys; print('\\n'.join(sys.path))",
    );
    assert!(
        path.lines().any(|l| l == base_site),
        "{base_site} not in\n{path}"
    );
}

#[test]
fn bash_activate_and_deactivate_with_spaces_and_unicode() {
    let t = TestEnv::new();
    let dir = t.path("my env/ünï's");
    t.ok([
        "create".as_ref(),
        dir.as_os_str(),
        "--python".as_ref(),
        python().as_os_str(),
    ]);
    assert_is_venv(&dir);
    let script = r#"
        set -u
        before="$PATH"
        export PYTHONHOME=/nonexistent
        . "$1/bin/activate"
        [ "$VIRTUAL_ENV" = "$1" ] || { echo "VIRTUAL_ENV=$VIRTUAL_ENV"; exit 10; }
        [ "$(command -v python)" = "$1/bin/python" ] || { echo "python=$(command -v python)"; exit 11; }
        [ -z "${PYTHONHOME:-}" ] || exit 12
        python -c 'import sys; assert sys.prefix != sys.base_prefix' || exit 13
        deactivate
        [ "$PATH" = "$before" ] || exit 14
        [ "${PYTHONHOME:-}" = /nonexistent ] || exit 15
        [ -z "${VIRTUAL_ENV:-}" ] || exit 16
        ! declare -F deactivate >/dev/null || exit 17
        echo ok
    "#;
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg("bash")
        .arg(&dir)
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
}

#[test]
fn pip_installs_into_the_environment() {
    let t = TestEnv::new();
    let py = python();
    t.ok([
        "create".as_ref(),
        "e".as_ref(),
        "--python".as_ref(),
        py.as_os_str(),
    ]);
    // A wheel built on the spot with the interpreter's own zipfile module.
    let wheels = t.path("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    let build = r#"
import base64, hashlib, sys, zipfile
files = {
    "hello_envtool/__init__.py": b"GREETING = 'hi'\n",
    "hello_envtool-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: hello-envtool\nVersion: 1.0\n",
    "hello_envtool-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = []
with zipfile.ZipFile(sys.argv[1] + "/hello_envtool-1.0-py3-none-any.whl", "w") as z:
    for name, data in files.items():
        z.writestr(name, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (name, digest, len(data)))
    record.append("hello_envtool-1.0.dist-info/RECORD,,")
    z.writestr("hello_envtool-1.0.dist-info/RECORD", "\n".join(record) + "\n")
"#;
    let out = Command::new(&py)
        .args(["-c", build])
        .arg(&wheels)
        .output()
        .unwrap();
    assert_success(&out);
    let out = Command::new(&py)
        .args(["-m", "pip", "--python"])
        .arg(t.path("e/bin/python"))
        .args(["install", "--no-index", "--no-deps", "--find-links"])
        .arg(&wheels)
        .arg("hello-envtool")
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env("PIP_FIND_LINKS", "")
        .env("PIP_NO_CACHE_DIR", "1")
        .output()
        .unwrap();
    assert_success(&out);
    let got = common::py(&t.path("e/bin/python"), "import hello_envtool, sys; print(hello_envtool.GREETING, hello_envtool.__file__.startswith(sys.prefix))");
    assert_eq!(got, "hi True");
    // The base interpreter does not see it.
    let out = Command::new(&py)
        .args(["-c", "import hello_envtool"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn clear_replaces_an_environment_whose_interpreter_is_gone() {
    let t = TestEnv::new();
    let py = python();
    t.ok([
        "create".as_ref(),
        "e".as_ref(),
        "--python".as_ref(),
        py.as_os_str(),
    ]);
    let dir = t.path("e");
    std::fs::write(dir.join("marker"), "old").unwrap();
    // Point the old environment at an interpreter that no longer exists.
    std::fs::remove_file(dir.join("bin/python")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/python3.99", dir.join("bin/python")).unwrap();
    let cfg = std::fs::read_to_string(dir.join("pyvenv.cfg")).unwrap();
    std::fs::write(
        dir.join("pyvenv.cfg"),
        cfg.replace(&*py.parent().unwrap().to_string_lossy(), "/nonexistent"),
    )
    .unwrap();
    t.ok([
        "create".as_ref(),
        "e".as_ref(),
        "--python".as_ref(),
        py.as_os_str(),
        "--clear".as_ref(),
    ]);
    assert!(!dir.join("marker").exists());
    assert_is_venv(&dir);
    // No staging or trash directory is left next to it.
    assert_eq!(
        tree(t.tmp.path())
            .iter()
            .filter(|p| p.starts_with(".envtool"))
            .count(),
        0
    );
}

#[test]
fn an_empty_existing_directory_is_used() {
    let t = TestEnv::new();
    std::fs::create_dir(t.path("empty")).unwrap();
    t.ok([
        "create".as_ref(),
        "empty".as_ref(),
        "--python".as_ref(),
        python().as_os_str(),
    ]);
    assert_is_venv(&t.path("empty"));
}

#[test]
fn refuses_a_non_empty_directory_that_is_not_an_environment() {
    let t = TestEnv::new();
    std::fs::create_dir(t.path("proj")).unwrap();
    std::fs::write(t.path("proj/important.txt"), "keep me").unwrap();
    for extra in [None, Some("--clear")] {
        let mut args = vec!["create", "proj"];
        args.extend(extra);
        let out = t.run(&args);
        assert_user_error(&out, "not empty");
        assert_eq!(tree(&t.path("proj")), vec!["important.txt"]);
        assert_eq!(
            std::fs::read_to_string(t.path("proj/important.txt")).unwrap(),
            "keep me"
        );
    }
}

#[test]
fn refuses_an_existing_environment_without_clear() {
    let t = TestEnv::new();
    t.ok([
        "create".as_ref(),
        "e".as_ref(),
        "--python".as_ref(),
        python().as_os_str(),
    ]);
    let before = tree(&t.path("e"));
    let cfg = std::fs::read(t.path("e/pyvenv.cfg")).unwrap();
    let out = t.run(["create", "e"]);
    assert_user_error(&out, "--clear");
    assert_eq!(tree(&t.path("e")), before);
    assert_eq!(std::fs::read(t.path("e/pyvenv.cfg")).unwrap(), cfg);
}

#[test]
fn no_matching_interpreter_lists_what_was_found() {
    let t = TestEnv::new();
    let out = t.run(["create", "e", "--python", "3.99"]);
    let stderr = assert_user_error(&out, "3.99");
    let (version, _) = pythons().pop().unwrap();
    assert!(
        stderr.contains(&version),
        "the hint should list {version}:\n{stderr}"
    );
    assert!(!t.path("e").exists());
    let out = t.run(["create", "e", "--python", "/nonexistent/python3"]);
    assert_user_error(&out, "/nonexistent/python3");
    assert!(!t.path("e").exists());
}

/// A stand-in interpreter: a script answering the probe with fixed facts.
fn fake_python(t: &TestEnv, name: &str, facts_json: &str) -> std::path::PathBuf {
    let path = t.path(name);
    std::fs::write(
        &path,
        format!("#!/bin/sh\ncat <<'EOF'\n{facts_json}\nEOF\n"),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn too_old_interpreter_names_the_minimum() {
    let t = TestEnv::with_private_cache();
    let fake = fake_python(
        &t,
        "python3.7",
        r#"{"too_old": true, "version": [3, 7, 16], "executable": "/opt/py37/bin/python3.7"}"#,
    );
    let out = t.run([
        "create".as_ref(),
        "e".as_ref(),
        "--python".as_ref(),
        fake.as_os_str(),
    ]);
    let stderr = assert_user_error(&out, "3.8 or newer");
    assert!(stderr.contains("3.7.16"), "{stderr}");
    assert!(!t.path("e").exists());
}

#[test]
fn a_create_that_fails_halfway_leaves_nothing() {
    let t = TestEnv::with_private_cache();
    let real = python();
    // Facts whose site-packages collides with bin/python: writing the layout fails midway.
    let facts = format!(
        r#"{{"too_old": false, "version": [3, 12, 0], "implementation": "cpython", "executable": "{}", "platform": "linux-x86_64", "pointer_bits": 64, "scheme": {{"purelib": "bin/python", "platlib": "bin/python", "scripts": "bin"}}}}"#,
        real.display()
    );
    let fake = fake_python(&t, "broken-python", &facts);
    let out = t.run([
        "create".as_ref(),
        "sub/dir/e".as_ref(),
        "--python".as_ref(),
        fake.as_os_str(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("error:"));
    assert!(
        !t.path("sub").exists(),
        "left behind: {:?}",
        tree(t.tmp.path())
    );
    assert!(tree(t.tmp.path())
        .iter()
        .all(|p| !p.contains(".envtool-create")));
}

#[test]
fn unwritable_parent_is_refused() {
    let t = TestEnv::with_private_cache();
    let ro = t.path("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let is_root = unsafe { libc::geteuid() } == 0;
    let out = if is_root {
        // Root ignores permission bits: run as nobody, with a world-usable tree and interpreter.
        let Some(mut cmd) = common::as_nobody(&t) else {
            return;
        };
        cmd.args(["create", "--python", "/usr/bin/python3"])
            .arg(ro.join("e"));
        cmd.output().unwrap()
    } else {
        t.run([
            "create".as_ref(),
            ro.join("e").as_os_str(),
            "--python".as_ref(),
            python().as_os_str(),
        ])
    };
    assert_user_error(&out, &ro.display().to_string());
    assert!(tree(&ro).is_empty());
}

#[test]
fn command_line_mistakes_exit_2() {
    let t = TestEnv::new();
    assert_eq!(t.run(["create", "--no-such-flag"]).status.code(), Some(2));
    assert_eq!(t.run(["no-such-command"]).status.code(), Some(2));
    assert_eq!(t.run(["run", "e"]).status.code(), Some(2));
}

#[test]
fn a_broken_interpreter_is_named_with_a_hint() {
    let t = TestEnv::with_private_cache();
    let path = t.path("python3.99");
    std::fs::write(
        &path,
        "#!/bin/sh\necho 'Fatal Python error: init_fs_encoding' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = t.run([
        "create".as_ref(),
        "e".as_ref(),
        "--python".as_ref(),
        path.as_os_str(),
    ]);
    let stderr = assert_user_error(&out, "failed when asked for its version");
    assert!(stderr.contains("init_fs_encoding"), "{stderr}");
    assert!(!t.path("e").exists());
}

#[test]
fn create_dry_run_prints_the_plan_and_creates_nothing() {
    let f = crate::fixture::Fixture::new();
    f.publish(crate::fixture::wheel("planned", "1.0"));
    let dir = f.t.path("never");
    let out =
        f.t.cmd(["--index-url", f.url(), "create"])
            .arg(&dir)
            .arg("--python")
            .arg(&f.python)
            .args(["--dry-run", "planned"])
            .output()
            .unwrap();
    assert_success(&out);
    let err = crate::fixture::stderr(&out);
    assert!(err.contains("+ planned==1.0"), "{err}");
    assert!(!dir.exists(), "a dry run created {}", dir.display());
    let parent: Vec<String> = std::fs::read_dir(f.t.tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("envtool-create") || n.contains("dry-run"))
        .collect();
    assert!(parent.is_empty(), "left behind: {parent:?}");
}

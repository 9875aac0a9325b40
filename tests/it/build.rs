//! Source distributions and local projects: PEP 517 builds in isolated build environments.
//!
//! Most projects here use a tiny in-tree backend (`backend-path`, no build requirements), so
//! the tests need nothing but the local index; one uses setuptools from the wheel CPython's
//! ensurepip bundles, when the interpreter has one.

use std::path::{Path, PathBuf};

use crate::fixture::{stderr, wheel, Fixture};
use crate::{common, support};

/// A PEP 517 backend in a few lines: builds a wheel (and metadata) for `NAME`/`VERSION` from
/// the `src/` tree, with a console script; `FAIL=1` in pyproject's tool table makes it fail.
pub(crate) const BACKEND: &str = r#"
import base64, hashlib, os, sys, zipfile

def _config():
    import re
    text = open("pyproject.toml").read()
    name = re.search(r'^name = "(.*)"', text, re.M).group(1)
    version = re.search(r'^version = "(.*)"', text, re.M).group(1)
    fail = "fail = true" in text
    deps = re.findall(r'^dep = "(.*)"', text, re.M)
    return name, version, fail, deps

def _metadata(name, version, deps):
    lines = ["Metadata-Version: 2.1", "Name: " + name, "Version: " + version]
    lines += ["Requires-Dist: " + d for d in deps]
    return "\n".join(lines) + "\n"

def get_requires_for_build_wheel(config_settings=None):
    return []

def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    name, version, _, deps = _config()
    dist_info = "%s-%s.dist-info" % (name.replace("-", "_"), version)
    os.makedirs(os.path.join(metadata_directory, dist_info))
    with open(os.path.join(metadata_directory, dist_info, "METADATA"), "w") as f:
        f.write(_metadata(name, version, deps))
    return dist_info

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name, version, fail, deps = _config()
    print("tiny backend: building %s %s" % (name, version))
    if fail:
        print("tiny backend: something is wrong with this project", file=sys.stderr)
        raise RuntimeError("the build failed on purpose")
    norm = name.replace("-", "_")
    dist_info = "%s-%s.dist-info" % (norm, version)
    files = {}
    for root, _, names in os.walk("src"):
        for n in names:
            path = os.path.join(root, n)
            files[os.path.relpath(path, "src")] = open(path, "rb").read()
    files[dist_info + "/METADATA"] = _metadata(name, version, deps).encode()
    files[dist_info + "/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: tiny\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[dist_info + "/entry_points.txt"] = ("[console_scripts]\n%s-hello = %s:main\n" % (norm, norm)).encode()
    return _write_wheel(wheel_directory, norm, version, dist_info, files)

def _write_wheel(wheel_directory, norm, version, dist_info, files):
    record = []
    filename = "%s-%s-py3-none-any.whl" % (norm, version)
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as z:
        for arc, data in sorted(files.items()):
            z.writestr(arc, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append("%s,sha256=%s,%d" % (arc, digest, len(data)))
        record.append(dist_info + "/RECORD,,")
        z.writestr(dist_info + "/RECORD", "\n".join(record) + "\n")
    return filename
"#;

/// A project directory using the tiny backend.
pub(crate) fn project(root: &Path, name: &str, version: &str, extra_pyproject: &str) -> PathBuf {
    let norm = name.replace('-', "_");
    let dir = root.join(format!("{name}-{version}"));
    std::fs::create_dir_all(dir.join("_build")).unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("_build/tiny_backend.py"), BACKEND).unwrap();
    std::fs::write(
        dir.join("pyproject.toml"),
        format!(
            "[build-system]\nrequires = []\nbuild-backend = \"tiny_backend\"\nbackend-path = [\"_build\"]\n\n[project]\nname = \"{name}\"\nversion = \"{version}\"\n{extra_pyproject}"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join(format!("src/{norm}.py")),
        format!("def main():\n    print('hello from {name} {version}')\n"),
    )
    .unwrap();
    dir
}

/// `name-version.tar.gz` of a project directory, made with the interpreter's tarfile module.
fn sdist(fx: &Fixture, project: &Path, into: &Path) -> PathBuf {
    let top = project.file_name().unwrap().to_string_lossy().into_owned();
    let out = into.join(format!("{top}.tar.gz"));
    let code = "import sys, tarfile\nwith tarfile.open(sys.argv[1], 'w:gz') as t:\n    t.add(sys.argv[2], arcname=sys.argv[3])\n";
    let status = std::process::Command::new(&fx.python)
        .args(["-c", code])
        .arg(&out)
        .arg(project)
        .arg(&top)
        .status()
        .unwrap();
    assert!(status.success());
    out
}

#[test]
fn a_local_project_is_built_and_installed_as_pip_shows_it() {
    let fx = Fixture::new();
    fx.publish(wheel("depone", "1.0").file("depone.py", "X = 1\n"));
    let proj = project(fx.t.tmp.path(), "myproj", "0.3", "dep = \"depone\"\n");
    let env = fx.env("e");
    fx.install_ok(&env, &[proj.to_str().unwrap()]);
    let out = std::process::Command::new(env.join("bin/myproj-hello"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "hello from myproj 0.3"
    );
    fx.assert_installed(&env, &[("myproj", "0.3"), ("depone", "1.0")]);
    // freeze shows the directory as pip does (PEP 610 dir_info).
    let ours = fx.t.ok(["freeze".as_ref(), env.as_os_str()]);
    let pips = fx.pip_ok(&env, &["freeze"]);
    assert_eq!(ours, pips);
    assert!(ours.contains("myproj @ file://"), "{ours}");
}

#[test]
fn an_sdist_from_the_index_is_built_once_and_cached() {
    let fx = Fixture::new();
    let proj = project(fx.t.tmp.path(), "srconly", "1.0", "");
    sdist(&fx, &proj, &fx.files);
    let env = fx.env("e");
    let out = fx.install(&env, &["srconly==1.0"]);
    common::assert_success(&out);
    assert!(stderr(&out).contains("Building"), "{}", stderr(&out));
    fx.assert_installed(&env, &[("srconly", "1.0")]);
    // A second environment builds nothing, even offline.
    let env2 = fx.env("e2");
    let out = fx
        .install_cmd(&env2, &["--offline", "srconly==1.0"])
        .output()
        .unwrap();
    common::assert_success(&out);
    assert!(
        !stderr(&out).contains("Building"),
        "built again:\n{}",
        stderr(&out)
    );
    fx.assert_installed(&env2, &[("srconly", "1.0")]);
    // freeze --hashes names the sdist the distribution came from.
    let frozen =
        fx.t.ok(["freeze".as_ref(), env.as_os_str(), "--hashes".as_ref()]);
    let sha = support::sha256_hex(fx.files.join("srconly-1.0.tar.gz"));
    assert!(frozen.contains(&sha), "{frozen}");
}

#[test]
fn no_binary_builds_from_source_and_only_binary_forbids_it() {
    let fx = Fixture::new();
    // Both a wheel and an sdist: --no-binary picks the sdist.
    fx.publish(wheel("both", "1.0").file("both.py", "FROM = 'wheel'\n"));
    let proj = project(fx.t.tmp.path(), "both", "1.0", "");
    std::fs::write(
        proj.join("src/both.py"),
        "FROM = 'sdist'\ndef main(): pass\n",
    )
    .unwrap();
    sdist(&fx, &proj, &fx.files);
    let env = fx.env("e");
    fx.install_ok(&env, &["both==1.0", "--no-binary", ":all:"]);
    let got = common::py(&env.join("bin/python"), "import both; print(both.FROM)");
    assert_eq!(got, "sdist");
    // Only an sdist, and --only-binary: a clear refusal, nothing installed.
    let proj = project(fx.t.tmp.path(), "srcpkg", "2.0", "");
    sdist(&fx, &proj, &fx.files);
    let env2 = fx.env("e2");
    let before = common::tree(&env2);
    let out = fx.install(&env2, &["srcpkg==2.0", "--only-binary", ":all:"]);
    common::assert_user_error(&out, "only-binary");
    assert_eq!(common::tree(&env2), before);
}

#[test]
fn a_failing_build_names_the_package_the_backend_and_its_output() {
    let fx = Fixture::new();
    let proj = project(
        fx.t.tmp.path(),
        "broken",
        "1.0",
        "[tool.tiny]\nfail = true\n",
    );
    let env = fx.env("e");
    let before = common::tree(&env);
    let out = fx.install(&env, &[proj.to_str().unwrap()]);
    let err = common::assert_user_error(&out, "tiny_backend");
    assert!(err.contains("broken"), "{err}");
    assert!(
        err.contains("something is wrong with this project"),
        "the backend's output is shown:\n{err}"
    );
    assert_eq!(common::tree(&env), before);
}

#[test]
fn a_missing_backend_is_reported() {
    let fx = Fixture::new();
    let proj = project(fx.t.tmp.path(), "nobackend", "1.0", "");
    let text = std::fs::read_to_string(proj.join("pyproject.toml")).unwrap();
    std::fs::write(
        proj.join("pyproject.toml"),
        text.replace(
            "build-backend = \"tiny_backend\"",
            "build-backend = \"no_such_backend_module\"",
        ),
    )
    .unwrap();
    let env = fx.env("e");
    let out = fx.install(&env, &[proj.to_str().unwrap()]);
    common::assert_user_error(&out, "no_such_backend_module");
}

#[test]
fn a_directory_that_is_not_a_project_is_refused() {
    let fx = Fixture::new();
    let dir = fx.t.path("just-a-dir");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("README"), "hi").unwrap();
    let env = fx.env("e");
    let out = fx.install(&env, &[dir.to_str().unwrap()]);
    common::assert_user_error(&out, "neither pyproject.toml nor setup.py");
}

#[test]
fn unresolvable_build_requirements_are_reported() {
    let fx = Fixture::new();
    let proj = project(fx.t.tmp.path(), "needsbuilddep", "1.0", "");
    let text = std::fs::read_to_string(proj.join("pyproject.toml")).unwrap();
    std::fs::write(
        proj.join("pyproject.toml"),
        text.replace(
            "requires = []",
            "requires = [\"no-such-build-dependency>=1\"]",
        ),
    )
    .unwrap();
    let env = fx.env("e");
    let before = common::tree(&env);
    let out = fx.install(&env, &[proj.to_str().unwrap()]);
    let err = common::assert_user_error(&out, "build requirements");
    assert!(err.contains("no-such-build-dependency"), "{err}");
    assert_eq!(common::tree(&env), before);
}

#[test]
fn an_sdist_escaping_its_directory_is_refused() {
    let fx = Fixture::new();
    let out_file = fx.files.join("evil-1.0.tar.gz");
    let code = "import io, sys, tarfile\nwith tarfile.open(sys.argv[1], 'w:gz') as t:\n    data = b'x'\n    info = tarfile.TarInfo('../../escaped.txt')\n    info.size = len(data)\n    t.addfile(info, io.BytesIO(data))\n";
    let status = std::process::Command::new(&fx.python)
        .args(["-c", code])
        .arg(&out_file)
        .status()
        .unwrap();
    assert!(status.success());
    let env = fx.env("e");
    let out = fx.install(&env, &["evil==1.0"]);
    common::assert_user_error(&out, "escapes");
    assert!(!fx.t.tmp.path().join("escaped.txt").exists());
    assert!(!fx.cache().join("escaped.txt").exists());
}

/// The default backend for a project without pyproject.toml is setuptools' legacy one; the
/// setuptools wheel comes from the interpreter's ensurepip bundle (skipped without one).
#[test]
fn a_setup_py_project_builds_with_setuptools() {
    let fx = Fixture::new();
    let bundled = common::pythons().into_iter().find_map(|(_, exe)| {
        let lib = exe.parent()?.parent()?.join("lib");
        let dir = std::fs::read_dir(lib)
            .ok()?
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with("python3"))?;
        std::fs::read_dir(dir.path().join("ensurepip/_bundled"))
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("setuptools-")
            })
    });
    let Some(setuptools) = bundled else {
        return support::skip("no interpreter with an ensurepip-bundled setuptools wheel");
    };
    // setuptools before 70 asks for `wheel` to build; a real one is needed, from the default
    // index (this test is of the network tier when it is not cached under target/).
    let Some(wheel_whl) = support::downloaded_wheel("wheel==0.43.0") else {
        return support::skip_offline("cannot download the `wheel` wheel from the default index");
    };
    std::fs::copy(&wheel_whl, fx.files.join(wheel_whl.file_name().unwrap())).unwrap();
    std::fs::copy(&setuptools, fx.files.join(setuptools.file_name().unwrap())).unwrap();
    let proj = fx.t.path("legacy");
    std::fs::create_dir_all(proj.join("legacymod")).unwrap();
    std::fs::write(proj.join("legacymod/__init__.py"), "VALUE = 42\n").unwrap();
    std::fs::write(
        proj.join("setup.py"),
        "from setuptools import setup\nsetup(name='legacymod', version='0.1', packages=['legacymod'])\n",
    )
    .unwrap();
    // The interpreter the bundle belongs to (setuptools 65 predates Python 3.12's changes).
    let python = setuptools.ancestors().nth(5).unwrap().join("bin/python3");
    let env = fx.t.path("legacy-env");
    fx.t.ok([
        "create".as_ref(),
        env.as_os_str(),
        "--python".as_ref(),
        python.as_os_str(),
    ]);
    let out =
        fx.t.cmd(["--index-url", fx.url(), "install", "--env"])
            .arg(&env)
            .arg(&proj)
            .output()
            .unwrap();
    common::assert_success(&out);
    assert_eq!(
        common::py(
            &env.join("bin/python"),
            "import legacymod; print(legacymod.VALUE)"
        ),
        "42"
    );
}

/// Regression: `lock ./proj` and `freeze --format pylock` of an environment holding a local
/// project wrote a path to a temporary wheel inside the cache. The lock names the directory
/// (relative to the lock) and installing the lock builds it again.
#[test]
fn a_local_project_is_locked_as_its_directory_and_built_from_it() {
    let fx = Fixture::new();
    fx.publish(wheel("depone", "1.0").file("depone.py", "X = 1\n"));
    let proj = project(fx.t.tmp.path(), "myproj", "0.3", "dep = \"depone\"\n");
    let lock = fx.t.path("pylock.toml");
    let out =
        fx.t.cmd(["--index-url", fx.url(), "lock", "--python"])
            .arg(&fx.python)
            .arg(&proj)
            .arg("-o")
            .arg(&lock)
            .output()
            .unwrap();
    common::assert_success(&out);
    let text = std::fs::read_to_string(&lock).unwrap();
    assert!(
        text.contains("directory = { path = \"myproj-0.3\" }"),
        "{text}"
    );
    let cache = fx.cache().to_string_lossy().into_owned();
    assert!(
        !text.contains(&cache),
        "the lock points into the cache:\n{text}"
    );

    let env = fx.env("e");
    let out =
        fx.t.cmd(["--index-url", fx.url(), "sync"])
            .arg(&env)
            .arg(&lock)
            .output()
            .unwrap();
    common::assert_success(&out);
    fx.assert_installed(&env, &[("myproj", "0.3"), ("depone", "1.0")]);

    let frozen = fx.t.path("frozen.toml");
    fx.t.ok([
        "freeze".as_ref(),
        env.as_os_str(),
        "--format".as_ref(),
        "pylock".as_ref(),
        "-o".as_ref(),
        frozen.as_os_str(),
    ]);
    let text = std::fs::read_to_string(&frozen).unwrap();
    assert!(
        text.contains("directory = { path = \"myproj-0.3\" }"),
        "{text}"
    );
    assert!(
        !text.contains(&cache),
        "the lock points into the cache:\n{text}"
    );
}

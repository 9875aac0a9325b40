//! Editable installs (PEP 660), git requirements (via the system's git, local `git+file://`
//! repositories built here) and requirements files by URL: recorded as pip records them,
//! frozen as pip freezes them, locked as PEP 751 says, and reproduced from what was written.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::build::{project, BACKEND};
use crate::common::{assert_success, assert_user_error, tree};
use crate::fixture::{stderr, stdout, wheel, Fixture};
use crate::support;

/// The tiny backend with PEP 660 hooks: an editable wheel is a `.pth` naming `src/`. Every
/// build (of either kind) appends a line to `$TINY_BUILD_LOG` when it is set.
const EDITABLE_HOOKS: &str = r#"
def _log(kind):
    log = os.environ.get("TINY_BUILD_LOG")
    if log:
        with open(log, "a") as f:
            f.write(kind + "\n")

_plain_build_wheel = build_wheel

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _log("wheel")
    return _plain_build_wheel(wheel_directory, config_settings, metadata_directory)

def get_requires_for_build_editable(config_settings=None):
    return []

def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    _log("editable")
    name, version, _, deps = _config()
    norm = name.replace("-", "_")
    dist_info = "%s-%s.dist-info" % (norm, version)
    files = {
        "__editable__.%s.pth" % norm: (os.path.abspath("src") + "\n").encode(),
        dist_info + "/METADATA": _metadata(name, version, deps).encode(),
        dist_info + "/WHEEL": b"Wheel-Version: 1.0\nGenerator: tiny\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    return _write_wheel(wheel_directory, norm, version, dist_info, files)
"#;

/// A project whose backend can build editable wheels; `src/NAME.py` has `VALUE = 1`.
pub(crate) fn editable_project(root: &Path, name: &str, version: &str) -> PathBuf {
    let dir = project(root, name, version, "");
    std::fs::write(
        dir.join("_build/tiny_backend.py"),
        format!("{BACKEND}\n{EDITABLE_HOOKS}"),
    )
    .unwrap();
    set_value(&dir, name, 1);
    dir
}

pub(crate) fn set_value(dir: &Path, name: &str, value: u32) {
    let norm = name.replace('-', "_");
    std::fs::write(
        dir.join(format!("src/{norm}.py")),
        format!("VALUE = {value}\ndef main():\n    print('value', VALUE)\n"),
    )
    .unwrap();
}

/// git, or a SKIP line.
pub(crate) fn have_git() -> bool {
    let ok = Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        support::skip("git is not installed");
    }
    ok
}

/// Run git in `dir` with a fixed identity and no user configuration.
pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Make `dir` a repository with everything committed; the commit id.
pub(crate) fn commit_all(dir: &Path, message: &str) -> String {
    if !dir.join(".git").exists() {
        git(dir, &["init", "-q"]);
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

fn import_value(env: &Path, module: &str) -> String {
    let out = Command::new(env.join("bin/python"))
        .args(["-c", &format!("import {module}; print({module}.VALUE)")])
        .output()
        .unwrap();
    assert_success(&out);
    stdout(&out).trim().to_string()
}

fn direct_url(f: &Fixture, env: &Path, dist_info: &str) -> serde_json::Value {
    let text =
        std::fs::read_to_string(f.site_packages(env).join(dist_info).join("direct_url.json"))
            .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn freeze(f: &Fixture, env: &Path, extra: &[&str]) -> String {
    let mut cmd = f.t.cmd(["freeze".as_ref(), env.as_os_str()]);
    cmd.args(extra);
    let out = cmd.output().unwrap();
    assert_success(&out);
    stdout(&out)
}

/// pip's freeze without the packages pip always leaves out.
fn pip_freeze(f: &Fixture, env: &Path) -> String {
    f.pip_ok(env, &["freeze"])
}

fn git_url(repo: &Path) -> String {
    format!("git+file://{}", repo.display())
}

#[test]
fn an_editable_install_is_live_and_recorded_as_pip_records_it() {
    let f = Fixture::new();
    let proj = editable_project(f.t.tmp.path(), "live-proj", "0.1");
    let env = f.env("e");
    f.install_ok(&env, &["-e", proj.to_str().unwrap()]);
    assert_eq!(import_value(&env, "live_proj"), "1");
    // The source is live: an edit shows without reinstalling.
    set_value(&proj, "live-proj", 2);
    assert_eq!(import_value(&env, "live_proj"), "2");

    let record = direct_url(&f, &env, "live_proj-0.1.dist-info");
    assert_eq!(record["dir_info"]["editable"], serde_json::json!(true));
    assert_eq!(
        record["url"],
        serde_json::json!(url::Url::from_directory_path(&proj)
            .unwrap()
            .as_str()
            .trim_end_matches('/'))
    );
    let editable = f.pip_ok(&env, &["list", "--editable", "--format=json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&editable).unwrap();
    assert_eq!(rows.len(), 1, "{editable}");
    assert_eq!(rows[0]["name"], "live-proj");
    assert_eq!(
        rows[0]["editable_project_location"],
        serde_json::json!(proj.to_str().unwrap())
    );

    // freeze writes what pip writes: without version control, ...
    let ours = freeze(&f, &env, &[]);
    assert!(
        ours.contains("# Editable install with no version control (live-proj==0.1)\n-e "),
        "{ours}"
    );
    assert_eq!(ours, pip_freeze(&f, &env));
    if !have_git() {
        return;
    }
    // ... in a repository without a remote, ...
    commit_all(&proj, "first");
    let ours = freeze(&f, &env, &[]);
    assert!(
        ours.contains("# Editable Git install with no remote"),
        "{ours}"
    );
    assert_eq!(ours, pip_freeze(&f, &env));
    // ... and with one: the repository at its commit.
    let bare = f.t.path("remote.git");
    git(
        f.t.tmp.path(),
        &[
            "clone",
            "-q",
            "--bare",
            proj.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    git(&proj, &["remote", "add", "origin", bare.to_str().unwrap()]);
    let ours = freeze(&f, &env, &[]);
    let head = git(&proj, &["rev-parse", "HEAD"]);
    assert!(ours.contains(&format!("@{head}#egg=live_proj")), "{ours}");
    assert_eq!(ours, pip_freeze(&f, &env));

    // A PEP 751 lock records the directory as editable, and no file hashes for it.
    let lock = freeze(&f, &env, &["--format", "pylock"]);
    assert!(lock.contains("editable = true"), "{lock}");
    assert!(
        !lock.contains("[[packages.wheels]]") && !lock.contains("archive ="),
        "{lock}"
    );
}

#[test]
fn an_editable_line_in_a_requirements_file_installs_editable() {
    let f = Fixture::new();
    editable_project(f.t.tmp.path(), "req-proj", "1.0");
    f.publish(wheel("helper", "1.0"));
    let reqs = f.write("requirements.txt", "-e ./req-proj-1.0\nhelper\n");
    let env = f.env("e");
    f.install_ok(&env, &["-r", reqs.to_str().unwrap()]);
    let record = direct_url(&f, &env, "req_proj-1.0.dist-info");
    assert_eq!(record["dir_info"]["editable"], serde_json::json!(true));
    f.assert_installed(&env, &[("helper", "1.0"), ("req-proj", "1.0")]);
}

#[test]
fn editable_inputs_that_cannot_work_are_refused_and_change_nothing() {
    let f = Fixture::new();
    let env = f.env("e");
    let before = tree(&env);
    // The plain tiny backend has no build_editable.
    let plain = project(f.t.tmp.path(), "plain-proj", "1.0", "");
    let out = f.install(&env, &["-e", plain.to_str().unwrap()]);
    let err = assert_user_error(&out, "build_editable");
    assert!(err.contains("tiny_backend"), "names the backend: {err}");
    // A directory that is not a project.
    let empty = f.t.path("not-a-project");
    std::fs::create_dir_all(&empty).unwrap();
    let out = f.install(&env, &["-e", empty.to_str().unwrap()]);
    assert_user_error(&out, "not a Python project");
    // A file is not a directory to edit.
    let file = f.write("file.txt", "x\n");
    let out = f.install(&env, &["-e", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("hint:"), "{}", stderr(&out));
    assert_eq!(tree(&env), before);
}

/// A repository holding a project in `sub/`: tag v1 at VALUE 1, then main at VALUE 2.
fn repository(f: &Fixture) -> (PathBuf, String, String) {
    let repo = f.t.path("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let proj = editable_project(&repo, "gitproj", "1.0");
    std::fs::rename(&proj, repo.join("sub")).unwrap();
    let v1 = commit_all(&repo, "one");
    git(&repo, &["tag", "v1"]);
    set_value(&repo.join("sub"), "gitproj", 2);
    let v2 = commit_all(&repo, "two");
    (repo, v1, v2)
}

#[test]
fn git_requirements_resolve_to_a_commit_build_once_and_are_recorded() {
    if !have_git() {
        return;
    }
    let f = Fixture::new();
    let (repo, v1, v2) = repository(&f);
    let log = f.t.path("builds.log");
    let url = git_url(&repo);

    // A tag.
    let env = f.env("tag");
    let mut cmd = f.install_cmd(&env, &[&format!("gitproj @ {url}@v1#subdirectory=sub")]);
    assert_success(&cmd.env("TINY_BUILD_LOG", &log).output().unwrap());
    assert_eq!(import_value(&env, "gitproj"), "1");
    let record = direct_url(&f, &env, "gitproj-1.0.dist-info");
    assert_eq!(record["vcs_info"]["commit_id"], serde_json::json!(v1));
    assert_eq!(
        record["vcs_info"]["requested_revision"],
        serde_json::json!("v1")
    );
    assert_eq!(record["vcs_info"]["vcs"], serde_json::json!("git"));
    assert_eq!(record["subdirectory"], serde_json::json!("sub"));
    let ours = freeze(&f, &env, &[]);
    assert_eq!(ours, format!("gitproj @ {url}@{v1}#subdirectory=sub\n"));
    assert_eq!(ours, pip_freeze(&f, &env));

    // The same commit again, in another environment, by its id: nothing is built.
    let env2 = f.env("sha");
    let mut cmd = f.install_cmd(&env2, &[&format!("gitproj @ {url}@{v1}#subdirectory=sub")]);
    assert_success(&cmd.env("TINY_BUILD_LOG", &log).output().unwrap());
    assert_eq!(import_value(&env2, "gitproj"), "1");
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "wheel\n");

    // A branch, and the egg form without a revision: the branch's head.
    let env3 = f.env("branch");
    f.install_ok(
        &env3,
        &[&format!("{url}@main#egg=gitproj&subdirectory=sub")],
    );
    assert_eq!(import_value(&env3, "gitproj"), "2");
    assert_eq!(
        direct_url(&f, &env3, "gitproj-1.0.dist-info")["vcs_info"]["commit_id"],
        serde_json::json!(v2)
    );
}

#[test]
fn git_inputs_that_cannot_work_are_refused_and_change_nothing() {
    if !have_git() {
        return;
    }
    let f = Fixture::new();
    let (repo, _, v2) = repository(&f);
    let url = git_url(&repo);
    let env = f.env("e");
    let before = tree(&env);

    let out = f.install(
        &env,
        &[&format!("gitproj @ {url}@no-such-branch#subdirectory=sub")],
    );
    let err = assert_user_error(&out, "no-such-branch");
    assert!(!err.contains("panicked"), "{err}");

    // A repository that is not there.
    let gone = f.t.path("no-such-repo");
    let out = f.install(&env, &[&format!("gitproj @ {}@main", git_url(&gone))]);
    let err = assert_user_error(&out, "no-such-repo");
    assert!(err.contains("is a git repository you can read"), "{err}");

    // An option in the revision's place is not handed to git as one.
    let out = f.install(
        &env,
        &[&format!(
            "gitproj @ {url}@--upload-pack=touch#subdirectory=sub"
        )],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    // No git on PATH.
    let bare_path = f.t.path("empty-bin");
    std::fs::create_dir_all(&bare_path).unwrap();
    let mut cmd = f.install_cmd(&env, &[&format!("gitproj @ {url}#subdirectory=sub")]);
    let out = cmd.env("PATH", &bare_path).output().unwrap();
    assert_user_error(&out, "git is not installed");
    assert_eq!(tree(&env), before);

    // Uncommitted edits: the commit is installed, with a warning.
    set_value(&repo.join("sub"), "gitproj", 3);
    let warned = f.install_ok(&env, &[&format!("gitproj @ {url}#subdirectory=sub")]);
    assert!(
        warned.contains("warning:") && warned.contains("not committed"),
        "{warned}"
    );
    assert_eq!(import_value(&env, "gitproj"), "2");
    assert_eq!(
        direct_url(&f, &env, "gitproj-1.0.dist-info")["vcs_info"]["commit_id"],
        serde_json::json!(v2)
    );
}

#[test]
fn an_environment_with_editable_and_git_installs_round_trips_through_freeze_and_lock() {
    if !have_git() {
        return;
    }
    let f = Fixture::new();
    let (repo, v1, _) = repository(&f);
    let proj = editable_project(f.t.tmp.path(), "local-proj", "0.3");
    f.publish(wheel("helper", "2.0"));
    let env = f.env("e");
    f.install_ok(
        &env,
        &[
            "-e",
            proj.to_str().unwrap(),
            &format!("gitproj @ {}@v1#subdirectory=sub", git_url(&repo)),
            "helper",
        ],
    );
    let frozen = freeze(&f, &env, &[]);

    // freeze -> create -r: the same environment.
    let reqs = f.write("frozen.txt", &frozen);
    let again = f.t.path("again");
    f.t.ok([
        "--index-url".as_ref(),
        f.url().as_ref(),
        "create".as_ref(),
        again.as_os_str(),
        "--python".as_ref(),
        f.python.as_os_str(),
        "-r".as_ref(),
        reqs.as_os_str(),
    ]);
    assert_eq!(freeze(&f, &again, &[]), frozen);
    assert_eq!(
        direct_url(&f, &again, "local_proj-0.3.dist-info")["dir_info"]["editable"],
        serde_json::json!(true)
    );

    // lock -> sync: the same again, the commit pinned by the lock.
    let lock = f.t.path("pylock.toml");
    f.t.ok([
        "--index-url".as_ref(),
        f.url().as_ref(),
        "lock".as_ref(),
        "--python".as_ref(),
        f.python.as_os_str(),
        "-o".as_ref(),
        lock.as_os_str(),
        "-e".as_ref(),
        proj.as_os_str(),
        format!("gitproj @ {}@v1#subdirectory=sub", git_url(&repo)).as_ref(),
        "helper".as_ref(),
    ]);
    let text = std::fs::read_to_string(&lock).unwrap();
    assert!(text.contains(&format!("commit-id = \"{v1}\"")), "{text}");
    assert!(text.contains("requested-revision = \"v1\""), "{text}");
    assert!(text.contains("editable = true"), "{text}");
    // The tag moves; the lock still installs its commit.
    git(&repo, &["tag", "-f", "v1", "main"]);
    let synced = f.env("synced");
    f.t.ok([
        "--index-url".as_ref(),
        f.url().as_ref(),
        "sync".as_ref(),
        synced.as_os_str(),
        lock.as_os_str(),
    ]);
    assert_eq!(import_value(&synced, "gitproj"), "1");
    assert_eq!(freeze(&f, &synced, &[]), frozen);
}

#[test]
fn a_pylock_vcs_entry_without_a_full_commit_is_refused() {
    let f = Fixture::new();
    let lock = f.write(
        "pylock.toml",
        "lock-version = \"1.0\"\ncreated-by = \"x\"\n\n[[packages]]\nname = \"p\"\nvcs = { type = \"git\", url = \"file:///nowhere\", commit-id = \"main\" }\n",
    );
    let env = f.env("e");
    let before = tree(&env);
    let out =
        f.t.run(["sync".as_ref(), env.as_os_str(), lock.as_os_str()]);
    assert_user_error(&out, "not a full commit id");
    assert_eq!(tree(&env), before);
}

#[test]
fn requirements_and_constraints_files_by_url() {
    let f = Fixture::new();
    f.publish(wheel("alpha", "1.0"));
    f.publish(wheel("alpha", "2.0"));
    f.publish(wheel("beta", "1.0"));
    // Served next to the wheels: an include relative to the including URL.
    let files = f.server().files_dir().to_path_buf();
    std::fs::write(files.join("outer.txt"), "-r inner.txt\nbeta\n").unwrap();
    std::fs::write(files.join("inner.txt"), "alpha\n").unwrap();
    std::fs::write(files.join("pins.txt"), "alpha<2\n").unwrap();
    std::fs::write(
        files.join("page.txt"),
        "<!DOCTYPE html>\n<html><body>a page</body></html>\n",
    )
    .unwrap();
    let base = format!("{}/files", f.server().base());
    let env = f.env("e");
    f.install_ok(
        &env,
        &[
            "-r",
            &format!("{base}/outer.txt"),
            "-c",
            &format!("{base}/pins.txt"),
        ],
    );
    f.assert_installed(&env, &[("alpha", "1.0"), ("beta", "1.0")]);

    let before = tree(&env);
    let out = f.install(&env, &["-r", &format!("{base}/page.txt")]);
    assert_user_error(&out, "HTML page");
    let out = f.install(&env, &["-r", &format!("{base}/missing.txt")]);
    let err = assert_user_error(&out, "missing.txt");
    assert!(err.contains("404"), "{err}");
    // Offline, a file never fetched is not there.
    let out = f.install(&env, &["--offline", "-r", &format!("{base}/never.txt")]);
    assert_user_error(&out, "never.txt");
    assert_eq!(tree(&env), before);
}

#[test]
fn a_url_requirements_file_keeps_its_credentials_to_itself() {
    let f = Fixture::new();
    f.publish(wheel("alpha", "1.0"));
    let files = f.server().files_dir().to_path_buf();
    std::fs::write(files.join("reqs.txt"), "alpha\n").unwrap();
    let base = f.server().base();
    let with_secret = base.replacen("http://", "http://user:s3cret-word@", 1);
    let env = f.env("e");
    let out = f.install(
        &env,
        &["-v", "-r", &format!("{with_secret}/files/reqs.txt")],
    );
    assert_success(&out);
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!all.contains("s3cret-word"), "{all}");
    let out = f.install(&env, &["-r", &format!("{with_secret}/files/absent.txt")]);
    assert!(!stderr(&out).contains("s3cret-word"), "{}", stderr(&out));
}

//! Interpreter discovery: pyenv shims seen through without running them, list and find.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::common;
use crate::common::{assert_success, pyenv_versions, TestEnv};

/// A pyenv root whose shims record that they ran, and whose versions link to the real ones.
fn fake_pyenv(t: &TestEnv) -> (PathBuf, PathBuf) {
    let root = t.path("pyenv root");
    let shims = root.join("shims");
    std::fs::create_dir_all(&shims).unwrap();
    std::fs::create_dir_all(root.join("versions")).unwrap();
    let marker = t.path("shim-ran");
    for name in ["python", "python3"] {
        let shim = shims.join(name);
        std::fs::write(
            &shim,
            format!("#!/usr/bin/env bash\nset -e\ntouch '{}'\nexec \"/nonexistent/libexec/pyenv\" exec \"python3\" \"$@\"\n", marker.display()),
        )
        .unwrap();
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    for (version, exe) in pyenv_versions() {
        let real_dir = exe.parent().unwrap().parent().unwrap();
        std::os::unix::fs::symlink(real_dir, root.join("versions").join(version)).unwrap();
    }
    (root, marker)
}

fn real_of(link: &Path) -> PathBuf {
    std::fs::canonicalize(link).unwrap()
}

#[test]
fn pyenv_shims_are_seen_through_without_running_them() {
    let t = TestEnv::with_private_cache();
    let (root, marker) = fake_pyenv(&t);
    let pythons = pyenv_versions();
    let (first, first_exe) = pythons.first().unwrap().clone();
    let (last, last_exe) = pythons.last().unwrap().clone();
    std::fs::write(root.join("version"), format!("{first}\n")).unwrap();
    let path = format!("{}:/usr/bin:/bin", root.join("shims").display());
    let create = |dir: &str, pyenv_version: Option<&str>| {
        let mut cmd = t.cmd(["create", dir]);
        cmd.env("PYENV_ROOT", &root)
            .env("PATH", &path)
            .env_remove("PYENV_VERSION");
        if let Some(v) = pyenv_version {
            cmd.env("PYENV_VERSION", v);
        }
        let out = cmd.output().unwrap();
        assert_success(&out);
    };

    // $PYENV_ROOT/version
    create("a", None);
    assert_eq!(real_of(&t.path("a/bin/python")), real_of(&first_exe));
    // PYENV_VERSION wins over the version file.
    create("b", Some(&last));
    assert_eq!(real_of(&t.path("b/bin/python")), real_of(&last_exe));
    // .python-version in the working directory wins over $PYENV_ROOT/version.
    std::fs::write(t.path(".python-version"), format!("# pinned\n{last}\n")).unwrap();
    create("c", None);
    assert_eq!(real_of(&t.path("c/bin/python")), real_of(&last_exe));
    // A prefix selects the newest matching install, as `pyenv latest` does.
    let minor: String = last.split('.').take(2).collect::<Vec<_>>().join(".");
    create("d", Some(&minor));
    assert_eq!(real_of(&t.path("d/bin/python")), real_of(&last_exe));

    assert!(!marker.exists(), "a pyenv shim was executed");
    for dir in ["a", "b", "c", "d"] {
        let target = std::fs::read_link(t.path(dir).join("bin/python")).unwrap();
        assert!(
            !target.starts_with(root.join("shims")),
            "{dir} links to a shim"
        );
    }
}

#[test]
fn list_shows_every_pyenv_interpreter() {
    let t = TestEnv::new();
    let out = t.ok(["python", "list"]);
    for (version, _) in pyenv_versions() {
        assert!(
            out.lines().any(|l| l.starts_with(&version)),
            "{version} missing from:\n{out}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&t.ok(["python", "list", "--json"])).unwrap();
    let rows = json.as_array().unwrap();
    assert!(rows
        .iter()
        .all(|r| r["executable"].is_string() && r["version"].is_string()));
}

#[test]
fn find_by_version_name_and_path() {
    let t = TestEnv::new();
    let (version, exe) = pyenv_versions().pop().unwrap();
    let minor: String = version.split('.').take(2).collect::<Vec<_>>().join(".");
    let by_version = t.ok(["python", "find", &minor]);
    let by_full = t.ok(["python", "find", &version]);
    let by_path = t.ok(["python".as_ref(), "find".as_ref(), exe.as_os_str()]);
    for found in [by_version, by_full, by_path] {
        let got = common::py(
            Path::new(found.trim()),
            "import platform; print(platform.python_version())",
        );
        assert_eq!(got, version);
    }
    let by_name = t.ok(["python", "find", &format!("python{minor}")]);
    let got = common::py(
        Path::new(by_name.trim()),
        "import sys; print('%d.%d' % sys.version_info[:2])",
    );
    assert_eq!(got, minor);
}

#[test]
fn facts_are_cached_so_a_second_run_spawns_no_python() {
    let t = TestEnv::with_private_cache();
    let exe = common::python();
    t.ok(["python".as_ref(), "find".as_ref(), exe.as_os_str()]);
    let entries: Vec<_> = std::fs::read_dir(t.cache_dir.join("interpreters-v1"))
        .unwrap()
        .collect();
    assert_eq!(entries.len(), 1);
    assert!(t.cache_dir.join("CACHEDIR.TAG").is_file());
    // With probing made impossible (an empty PATH does not matter for a path request, so break the
    // cache entry's facts instead and observe they are used as they are).
    let entry = entries[0].as_ref().unwrap().path();
    let text = std::fs::read_to_string(&entry).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["facts"]["version_full"] = "cached".into();
    value["facts"]["pip_index_url"] = "http://127.0.0.1:9/cached-marker".into();
    std::fs::write(&entry, serde_json::to_string(&value).unwrap()).unwrap();
    t.ok(["python".as_ref(), "find".as_ref(), exe.as_os_str()]);
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&entry).unwrap()).unwrap();
    assert_eq!(
        after["facts"]["pip_index_url"], "http://127.0.0.1:9/cached-marker",
        "the entry was re-probed"
    );
}

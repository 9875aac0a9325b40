//! Which Python a pack runs on: a pure-Python pack on every Python its distributions allow,
//! a pack for several Pythons (`--python A --python B`) picking the wheel set that fits, and
//! the header finding an interpreter as discovery does (the one it was built with, else
//! `python3.X` on PATH with pyenv's shims seen through), tested on a host where only some
//! interpreters exist.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{self, assert_success, assert_user_error, pythons};
use crate::pack::{minor_of, report, stderr_of, stdout_of, tagged, How, World};
use crate::pack_nopython::NoPython;
use crate::support::{self, WheelBuilder};

/// `python PACK` with another interpreter, with the world's pack root.
fn run_with(w: &World, python: &Path, pack: &Path, args: &[&str]) -> std::process::Output {
    Command::new(python)
        .arg(pack)
        .args(args)
        .current_dir(w.path(""))
        .env("ENVTOOL_PACK_ROOT", w.root())
        .env("HOME", w.path("home"))
        .env_remove("PYTHONPATH")
        .output()
        .unwrap()
}

/// The other interpreters (not the test interpreter's minor), oldest first.
fn others() -> Vec<(String, PathBuf)> {
    let minor = minor_of(&common::python());
    pythons()
        .into_iter()
        .filter(|(v, _)| !v.starts_with(&format!("{minor}.")))
        .collect()
}

#[test]
fn pure_pack_runs_on_every_python_its_distributions_allow() {
    let others = others();
    if others.is_empty() {
        return support::skip("only one CPython minor version here");
    }
    let w = World::new();
    w.demo_env();
    let pack = w.pack_env("e", "demo-cli", "demo-cli");
    let inspect = w.t.ok(["pack", "--inspect", "demo-cli"]);
    assert!(inspect.contains("runs on cpython >=3.8"), "{inspect}");
    for (version, python) in &others {
        for start in ["cold", "warm"] {
            if start == "cold" {
                w.clear_root();
            }
            let out = run_with(&w, python, &pack, &["x"]);
            assert_success(&out);
            let r = report(&out);
            assert_eq!(r["kind"], "script", "{version} {start}");
            assert_eq!(r["args"], serde_json::json!(["x"]), "{version} {start}");
        }
    }
}

/// Requires-Python, and a dependency that only some versions need (and the pack lacks),
/// bound the Pythons a pure pack runs on; outside them it says what it needs.
#[test]
fn requires_python_and_conditional_dependencies_bound_a_pure_pack() {
    let built = minor_of(&common::python());
    let minor: u32 = built.split('.').nth(1).unwrap().parse().unwrap();
    let older: Vec<(String, PathBuf)> = others()
        .into_iter()
        .filter(|(v, _)| v.split('.').nth(1).unwrap().parse::<u32>().unwrap() < minor)
        .collect();
    let Some((old_version, old)) = older.last().cloned() else {
        return support::skip(&format!("no CPython older than {built}"));
    };
    let modern = WheelBuilder::new("modern", "1.0")
        .file("modern/__init__.py", "")
        .file("modern/__main__.py", "print('modern ran')\n")
        .requires_python(&format!(">={built}"));
    // Needs demolib below the version it is built with: on those, the pack lacks it.
    let condy = WheelBuilder::new("condy", "1.0")
        .file("condy/__init__.py", "")
        .file("condy/__main__.py", "print('condy ran')\n")
        .requires_dist(&format!("demolib>=1; python_version < \"{built}\""));
    let w = World::with(&[modern, condy]);
    w.create("m", &["modern"]);
    w.create("c", &["condy"]);
    let modern = w.pack_env("m", "modern", "modern");
    let condy = w.pack_env("c", "condy", "condy");
    for pack in [&modern, &condy] {
        let out = run_with(&w, &old, pack, &[]);
        let stderr = assert_user_error(&out, &format!("needs cpython {built} or later"));
        assert!(!stderr.contains("Traceback"), "{stderr}");
        assert!(
            stderr.contains(&format!("cpython {}.", minor_of(&old))),
            "{old_version}: {stderr}"
        );
        assert!(stdout_of(&out).is_empty());
        let out = run_with(&w, &w.python, pack, &[]);
        assert_success(&out);
    }
}

/// One file for two Pythons: each runs its own wheel set (a tagged wheel per version),
/// files both sets share are stored once, and a third Python is told what the pack carries.
#[test]
fn one_file_for_several_pythons_picks_the_wheel_set_that_fits() {
    let all = pythons();
    if all.len() < 2 {
        return support::skip("fewer than two CPython minor versions here");
    }
    let (a, b) = (all[all.len() - 1].1.clone(), all[0].1.clone());
    let third: Vec<PathBuf> = all[1..all.len() - 1]
        .iter()
        .map(|(_, p)| p.clone())
        .collect();
    let (ma, mb) = (minor_of(&a), minor_of(&b));
    let w = World::with(&[tagged(&a), tagged(&b)]);
    let out =
        w.t.cmd([
            "pack",
            "tagged",
            "demo",
            "--entry",
            "tagged",
            "-o",
            "multi",
            "--index-url",
        ])
        .arg(w.server.url())
        .arg("--python")
        .arg(&a)
        .arg("--python")
        .arg(&b)
        .output()
        .unwrap();
    assert_success(&out);
    let pack = w.path("multi");
    let inspect = w.t.ok(["pack", "--inspect", "multi"]);
    for m in [&ma, &mb] {
        assert!(
            inspect.contains(&format!("python: cpython {m}")),
            "{inspect}"
        );
    }
    for (python, m) in [(&a, &ma), (&b, &mb)] {
        for start in ["cold", "warm"] {
            let out = run_with(&w, python, &pack, &["q"]);
            assert_success(&out);
            let r = report(&out);
            assert_eq!(r["version"], m.as_str(), "{start}");
            assert!(
                r["tag"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("cp{}-", m.replace('.', ""))),
                "{m} {start}: ran the wheel set {}",
                r["tag"]
            );
            assert_eq!(r["args"], serde_json::json!(["q"]));
        }
    }
    // ./multi: the header picks the first --python, by the path it was built with.
    let out = w.run(&pack, How::Direct, &[]);
    assert_success(&out);
    assert_eq!(report(&out)["version"], ma.as_str());
    // What both sets share (demo, demolib) is in the file once.
    let zip = zip::ZipArchive::new(std::fs::File::open(&pack).unwrap()).unwrap();
    let names: Vec<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
    let cli: Vec<&String> = names
        .iter()
        .filter(|n| n.ends_with("demo/cli.py"))
        .collect();
    assert_eq!(cli, ["site-packages/demo/cli.py"], "{names:?}");
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("targets/") && n.ends_with("tagged/__init__.py")),
        "{names:?}"
    );
    // Any other Python: the error names what the pack carries.
    for other in third {
        let out = run_with(&w, &other, &pack, &[]);
        let stderr = assert_user_error(&out, "carries wheel sets for");
        for m in [&ma, &mb] {
            assert!(stderr.contains(&format!("cpython {m}")), "{stderr}");
        }
        assert!(stdout_of(&out).is_empty());
    }
}

/// From locks: one per Python (a lock pins the files of one Python), in --python order.
#[test]
fn one_file_for_several_pythons_from_locks() {
    let all = pythons();
    if all.len() < 2 {
        return support::skip("fewer than two CPython minor versions here");
    }
    let (a, b) = (all[all.len() - 1].1.clone(), all[0].1.clone());
    let w = World::with(&[tagged(&a), tagged(&b)]);
    for (python, lock) in [(&a, "a.toml"), (&b, "b.toml")] {
        let out =
            w.t.cmd(["lock", "tagged", "-o", lock, "--index-url"])
                .arg(w.server.url())
                .arg("--python")
                .arg(python)
                .output()
                .unwrap();
        assert_success(&out);
    }
    let out =
        w.t.cmd([
            "pack", "--lock", "a.toml", "--lock", "b.toml", "--entry", "tagged", "-o", "multi",
        ])
        .args(["--index-url", &w.server.url()])
        .args([
            "--python".as_ref(),
            a.as_os_str(),
            "--python".as_ref(),
            b.as_os_str(),
        ])
        .output()
        .unwrap();
    assert_success(&out);
    for python in [&a, &b] {
        let out = run_with(&w, python, &w.path("multi"), &[]);
        assert_success(&out);
        assert_eq!(report(&out)["version"], minor_of(python));
    }
    // Three locks for two Pythons mean nothing.
    let out =
        w.t.cmd([
            "pack", "--lock", "a.toml", "--lock", "b.toml", "--lock", "a.toml", "--entry",
            "tagged", "-o", "bad",
        ])
        .args([
            "--python".as_ref(),
            a.as_os_str(),
            "--python".as_ref(),
            b.as_os_str(),
        ])
        .output()
        .unwrap();
    assert_user_error(&out, "3 locks for 2 Pythons");
    assert!(!w.path("bad").exists());
}

#[test]
fn several_pythons_need_requirements_and_distinct_versions() {
    let w = World::new();
    w.demo_env();
    let python = common::python();
    // --env with two --python (pack_cmd adds one).
    let out = w
        .pack_cmd(&["--env", "e", "--entry", "demo", "-o", "out"])
        .arg("--python")
        .arg(&python)
        .output()
        .unwrap();
    assert_user_error(&out, "an environment (--env) has one Python");
    assert!(!w.path("out").exists());
    // The same version twice.
    let out = w
        .pack_cmd(&["demo", "--entry", "demo", "-o", "out"])
        .arg("--python")
        .arg(&python)
        .output()
        .unwrap();
    assert_user_error(&out, "twice");
    assert!(!w.path("out").exists());
    // --python-shebang names one command.
    let out = w
        .pack_cmd(&[
            "demo",
            "--entry",
            "demo",
            "-o",
            "out",
            "--python-shebang",
            "/bin/false",
        ])
        .arg("--python")
        .arg(&python)
        .output()
        .unwrap();
    assert_user_error(&out, "--python-shebang");
    assert!(!w.path("out").exists());
}

/// A shim that must never run: pyenv's shims cost ~100 ms a start, and one for a version
/// pyenv does not select fails.
const SHIM: &str = "#!/bin/sh\n# pyenv\necho \"pyenv shim ran: $0\" >&2\nexit 97\n";

/// A host like a user's pyenv machine where only `kept` is installed: every other Python
/// hidden, pyenv's shims on PATH for every name the pack may look for.
fn pyenv_host(kept: &Path, w: &World) -> Option<NoPython> {
    let ns = match NoPython::new() {
        Ok(n) => n,
        Err(why) => {
            support::skip(&why);
            return None;
        }
    };
    let prefix = kept
        .canonicalize()
        .unwrap()
        .parent()?
        .parent()?
        .to_path_buf();
    let root = common::pyenv_root();
    let shims = root.join("shims");
    let mut setup = format!("mkdir -p '{}'\n", shims.display());
    for n in ["python", "python3"]
        .into_iter()
        .map(String::from)
        .chain((8..=20).map(|m| format!("python3.{m}")))
    {
        let path = shims.join(&n);
        setup.push_str(&format!(
            "printf '%s' '{}' > '{}'; chmod +x '{}'\n",
            SHIM.replace('\'', "'\\''"),
            path.display(),
            path.display()
        ));
    }
    Some(
        ns.keep(&prefix)
            .setup(&setup)
            .env("PATH", format!("{}:/usr/bin:/bin", shims.display()))
            .env("PYENV_ROOT", root.to_string_lossy())
            .env("ENVTOOL_PACK_ROOT", w.root().to_string_lossy())
            .env("HOME", w.path("home").to_string_lossy()),
    )
}

/// A pure pack built with one Python starts on a pyenv machine that has only another one:
/// the header sees through the shims to the installed version's binary, cold and warm.
#[test]
fn header_finds_another_python_through_pyenv_shims() {
    let others = others();
    let Some((_, other)) = others.last().cloned() else {
        return support::skip("only one CPython minor version here");
    };
    let w = World::new();
    assert_success(&w.pack_raw(&["demo", "--entry", "demo-cli", "-o", "pure"]));
    let Some(host) = pyenv_host(&other, &w) else {
        return;
    };
    let pack = w.path("pure");
    for start in ["cold", "warm"] {
        let out = host
            .command(&pack, &["y"])
            .current_dir(w.path(""))
            .output()
            .unwrap();
        let stderr = stderr_of(&out);
        assert!(
            !stderr.contains("pyenv shim ran"),
            "{start}: a shim ran:\n{stderr}"
        );
        assert_success(&out);
        let r = report(&out);
        assert_eq!(r["args"], serde_json::json!(["y"]), "{start}");
        let file = PathBuf::from(r["file"].as_str().unwrap());
        assert!(file.starts_with(w.root()), "{start}: {file:?}");
    }
    // A native (exact-version) pack has no such fallback: it says what it needs.
    let w2 = World::with(&[tagged(&common::python())]);
    w2.create("n", &["tagged"]);
    let native = w2.pack_env("n", "tagged", "native");
    let Some(host) = pyenv_host(&other, &w2) else {
        return;
    };
    let out = host.command(&native, &[]).output().unwrap();
    let stderr = assert_user_error(
        &out,
        &format!("needs cpython {}", minor_of(&common::python())),
    );
    assert!(
        stderr.contains(&format!("this is cpython {}.", minor_of(&other))),
        "{stderr}"
    );
    assert!(!stderr.contains("pyenv shim ran"), "{stderr}");
    assert!(stdout_of(&out).is_empty());
}

/// The python3.X the header found is the real binary behind the shim, and a pack for two
/// Pythons picks the set of the one the host has.
#[test]
fn header_picks_the_set_of_the_python_the_host_has() {
    let all = pythons();
    if all.len() < 2 {
        return support::skip("fewer than two CPython minor versions here");
    }
    let (a, b) = (all[all.len() - 1].1.clone(), all[0].1.clone());
    let w = World::with(&[tagged(&a), tagged(&b)]);
    let out =
        w.t.cmd([
            "pack",
            "tagged",
            "--entry",
            "tagged",
            "-o",
            "multi",
            "--index-url",
        ])
        .arg(w.server.url())
        .args([
            "--python".as_ref(),
            a.as_os_str(),
            "--python".as_ref(),
            b.as_os_str(),
        ])
        .output()
        .unwrap();
    assert_success(&out);
    let Some(host) = pyenv_host(&b, &w) else {
        return;
    };
    for start in ["cold", "warm"] {
        let out = host.command(&w.path("multi"), &[]).output().unwrap();
        assert!(
            !stderr_of(&out).contains("pyenv shim ran"),
            "{}",
            stderr_of(&out)
        );
        assert_success(&out);
        let r = report(&out);
        assert_eq!(r["version"], minor_of(&b), "{start}");
        assert_eq!(
            Path::new(r["executable"].as_str().unwrap())
                .canonicalize()
                .unwrap(),
            b.canonicalize().unwrap(),
            "{start}: not the real binary"
        );
    }
}

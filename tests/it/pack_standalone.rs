//! `envtool pack --standalone`: the pack carries the environment's interpreter (its base
//! installation made relocatable, and the shared libraries a minimal host may lack) and runs
//! where there is no Python at all; what it leaves out, its size, byte-reproducible builds,
//! and the interpreters it refuses to carry.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{self, assert_success, assert_user_error, py};
use crate::pack::{minor_of, report, stderr_of, stdout_of, How, World, BOTH};
use crate::pack_nopython::NoPython;
use crate::support::{self, WheelBuilder};

/// `python -m probe`: imports the extension modules that need system libraries, runs a child
/// through sys.executable, and reports where the interpreter and its libraries came from.
const PROBE: &str = r#"import json, subprocess, sys
import bz2, ctypes, decimal, hashlib, lzma, sqlite3, ssl, uuid, zlib, asyncio, curses, readline
import demolib
child = subprocess.run([sys.executable, "-c", "import ssl, sqlite3, json; print(42)"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
with open("/proc/self/maps") as f:
    libs = sorted({l.split()[-1] for l in f if ".so" in l and l.split()[-1].startswith("/")})
print(json.dumps({
    "executable": sys.executable, "prefix": sys.prefix, "base_prefix": sys.base_prefix,
    "version": "%d.%d.%d" % sys.version_info[:3], "openssl": ssl.OPENSSL_VERSION,
    "sqlite": sqlite3.sqlite_version, "child": child.stdout.strip(), "child_err": child.stderr,
    "libs": libs, "args": sys.argv[1:], "lib": demolib.VERSION,
}))
"#;

fn probe() -> WheelBuilder {
    WheelBuilder::new("probe", "1.0")
        .file("probe/__init__.py", "")
        .file("probe/__main__.py", PROBE)
        .requires_dist("demolib>=1")
}

/// The runtime archive inside a pack, and the manifest.
fn runtime_of(pack: &Path) -> (Vec<u8>, serde_json::Value) {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(pack).unwrap()).unwrap();
    let mut archive = Vec::new();
    zip.by_name(".envtool/runtime.tar.gz")
        .expect("a standalone pack has .envtool/runtime.tar.gz")
        .read_to_end(&mut archive)
        .unwrap();
    let mut text = String::new();
    zip.by_name(".envtool/manifest.json")
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    (archive, serde_json::from_str(&text).unwrap())
}

/// (path, size, first 16 bytes) of every file in a runtime archive.
fn runtime_files(archive: &[u8]) -> Vec<(String, u64, Vec<u8>)> {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    let mut out = Vec::new();
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let size = entry.header().size().unwrap();
        let mut head = vec![0u8; 16.min(size as usize)];
        if entry.header().entry_type().is_file() {
            entry.read_exact(&mut head).unwrap();
        }
        out.push((path, size, head));
    }
    out
}

/// The system copies of the libraries a runtime carries (to hide them from it).
fn system_copies(manifest: &serde_json::Value) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for lib in manifest["runtime"]["libraries"].as_array().unwrap() {
        let lib = lib.as_str().unwrap();
        for dir in ["/usr/lib", "/lib", "/usr/lib64", "/lib64", "/usr/local/lib"] {
            out.push(Path::new(dir).join(lib));
            if let Ok(rd) = std::fs::read_dir(dir) {
                for e in rd.flatten() {
                    if e.path().is_dir() && e.file_name().to_string_lossy().contains("-linux-") {
                        out.push(e.path().join(lib));
                    }
                }
            }
        }
    }
    out.retain(|p| p.exists());
    out
}

fn is_glibc(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    [
        "libc.so",
        "libm.so",
        "ld-linux",
        "libpthread.so",
        "libdl.so",
        "librt.so",
    ]
    .iter()
    .any(|g| name.starts_with(g))
}

/// Everything the probe ran with came from the pack root (glibc aside).
fn check_probe(w: &World, out: &std::process::Output, ctx: &str) {
    assert_success(out);
    let r = report(out);
    let root = w.root().canonicalize().unwrap();
    for key in ["executable", "prefix", "base_prefix"] {
        let p = Path::new(r[key].as_str().unwrap());
        assert!(
            p.starts_with(&root),
            "{ctx}: {key} {p:?} is not under {root:?}"
        );
    }
    assert_eq!(
        r["child"], "42",
        "{ctx}: the child failed: {}",
        r["child_err"]
    );
    assert_eq!(r["lib"], "1.0");
    assert_eq!(r["args"], serde_json::json!(["a b"]));
    for lib in r["libs"].as_array().unwrap() {
        let lib = lib.as_str().unwrap();
        assert!(
            is_glibc(lib) || Path::new(lib).starts_with(&root),
            "{ctx}: {lib} is not the carried copy"
        );
    }
}

/// The pack runs with no interpreter, standard library or libpython on the host, and with
/// the host's copies of the libraries it carries hidden too: `env -i`, PATH=/usr/bin:/bin.
#[test]
fn standalone_pack_runs_on_a_host_without_python() {
    let nopython = match NoPython::new() {
        Ok(n) => n,
        Err(why) => return support::skip(&why),
    };
    let w = World::with(&[probe()]);
    let o = w.pack_raw(&[
        "probe",
        "--entry",
        "probe",
        "-o",
        "probe.pack",
        "--standalone",
    ]);
    assert_success(&o);
    let pack = w.path("probe.pack");
    let (_, manifest) = runtime_of(&pack);
    let mut ns = nopython
        .env("ENVTOOL_PACK_ROOT", w.root().to_string_lossy())
        .env("HOME", w.path("home").to_string_lossy());
    for lib in system_copies(&manifest) {
        ns = ns.hide(&lib);
    }
    for start in ["cold", "warm"] {
        let out = ns
            .command(&pack, &["a b"])
            .current_dir(w.path(""))
            .output()
            .unwrap();
        check_probe(&w, &out, &format!("no Python, {start} start"));
    }
    let r = report(&ns.command(&pack, &["a b"]).output().unwrap());
    assert_eq!(
        r["version"].as_str().unwrap().rsplit_once('.').unwrap().0,
        w.minor(),
        "{r}"
    );
}

/// On a host with Python the pack still runs with the interpreter it carries, however it
/// is started (`./PACK`, or `python PACK` with another Python).
#[test]
fn standalone_pack_runs_its_own_interpreter_everywhere() {
    let w = World::with(&[probe()]);
    w.create("e", &["probe"]);
    let pack = w.pack_env_with("e", "probe", "probe.pack", &["--standalone"]);
    let starters: Vec<PathBuf> = common::pythons().into_iter().map(|(_, p)| p).collect();
    for how in BOTH {
        for start in ["cold", "warm"] {
            if start == "cold" {
                w.clear_root();
            }
            let out = w.run(&pack, how, &["a b"]);
            check_probe(&w, &out, &format!("{how:?} {start}"));
        }
    }
    // The warm start ran the runner the carried interpreter compiled on the first start.
    let code = w.extraction().join(format!(
        ".envtool/run.cpython-{}.code",
        w.minor().replace('.', "")
    ));
    assert!(code.is_file(), "no {}", code.display());
    // Another Python starting it (cold) hands over to the carried one.
    for other in starters {
        w.clear_root();
        let out = Command::new(&other)
            .arg(&pack)
            .arg("a b")
            .env("ENVTOOL_PACK_ROOT", w.root())
            .env_remove("PYTHONPATH")
            .output()
            .unwrap();
        check_probe(&w, &out, &format!("started by {}", other.display()));
    }
}

/// Left out: what a runtime never needs; bytecode only of the level packs run at, as
/// unchecked-hash pycs; debug info stripped; and the sizes reported.
#[test]
fn standalone_runtime_leaves_out_what_never_runs_and_reports_its_size() {
    let w = World::new();
    w.demo_env();
    let o = w.pack_raw(&["--env", "e", "--entry", "demo", "-o", "s", "--standalone"]);
    assert_success(&o);
    let stderr = stderr_of(&o);
    assert!(
        stderr.contains("the plain pack would be") && stderr.contains("MB"),
        "no size report:\n{stderr}"
    );
    let plain = w.pack_env("e", "demo", "plain");
    let (archive, manifest) = runtime_of(&w.path("s"));
    let files = runtime_files(&archive);
    let minor = w.minor();
    let stdlib = format!("python/lib/python{minor}/");
    let names: Vec<&str> = files.iter().map(|(n, _, _)| n.as_str()).collect();
    for dropped in [
        "/test/",
        "/idlelib/",
        "/turtledemo/",
        "/ensurepip/",
        "/tkinter/",
        "/turtle.",
        "/idle_test/",
        ".opt-1.pyc",
        ".opt-2.pyc",
        "/config-",
        "lib-dynload/_test",
        "lib-dynload/xxlimited",
    ] {
        let found: Vec<&&str> = names
            .iter()
            .filter(|n| n.contains(dropped))
            .take(3)
            .collect();
        assert!(found.is_empty(), "{dropped} is carried: {found:?}");
    }
    let site = format!("{stdlib}site-packages/");
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with(&site) && n.len() > site.len()),
        "the base interpreter's site-packages is carried"
    );
    for kept in [
        "os.py",
        "json/__init__.py",
        "lib-dynload/_ssl",
        "lib-dynload/_sqlite3",
    ] {
        assert!(
            names
                .iter()
                .any(|n| n.starts_with(&format!("{stdlib}{kept}"))),
            "{kept} is missing"
        );
    }
    assert!(
        names.contains(&format!("python/bin/python{minor}").as_str()),
        "{names:?}"
    );
    // Bytecode: the plain level only, unchecked-hash (flags 0b01), so no mtime matters.
    let tag = format!(".cpython-{}.pyc", minor.replace('.', ""));
    let pycs: Vec<&(String, u64, Vec<u8>)> =
        files.iter().filter(|(n, _, _)| n.ends_with(&tag)).collect();
    assert!(pycs.len() > 100, "only {} pycs", pycs.len());
    for (name, _, head) in pycs {
        assert_eq!(
            &head[4..8],
            &[1, 0, 0, 0],
            "{name} is not an unchecked-hash pyc"
        );
    }
    // Debug info is dropped: libpython is smaller than the installation's.
    let base = PathBuf::from(py(&w.python, "import sys; print(sys.base_prefix)"));
    let lib = format!("libpython{minor}.so.1.0");
    if let Some((_, size, _)) = files.iter().find(|(n, _, _)| n.ends_with(&lib)) {
        let original = std::fs::metadata(base.join("lib").join(&lib))
            .unwrap()
            .len();
        assert!(*size <= original, "{size} > {original}");
    }
    // The file is the two stored archives and a little more.
    let total = std::fs::metadata(w.path("s")).unwrap().len();
    let rt = manifest["runtime"]["size"].as_u64().unwrap();
    let mut zip = zip::ZipArchive::new(std::fs::File::open(w.path("s")).unwrap()).unwrap();
    let payload = zip.by_name(".envtool/payload.tar.gz").unwrap().size();
    assert!(
        total > rt + payload && total < rt + payload + 200_000,
        "{total} {rt} {payload}"
    );
    assert!(std::fs::metadata(plain).unwrap().len() < payload + 100_000);
    assert!(
        manifest["runtime"]["glibc"]
            .as_str()
            .is_some_and(|g| g.starts_with("2.")),
        "{manifest}"
    );
}

/// tkinter is carried when the environment uses it.
#[test]
fn standalone_runtime_keeps_tkinter_when_the_environment_imports_it() {
    let base = PathBuf::from(py(&common::python(), "import sys; print(sys.base_prefix)"));
    let minor = minor_of(&common::python());
    if !base
        .join(format!("lib/python{minor}/tkinter/__init__.py"))
        .is_file()
    {
        return support::skip("the test interpreter has no tkinter");
    }
    let gui = WheelBuilder::new("gui", "1.0")
        .file("gui/__init__.py", "")
        .file(
            "gui/__main__.py",
            "import tkinter\nprint(tkinter.TkVersion)\n",
        );
    let w = World::with(&[gui]);
    w.create("g", &["gui"]);
    let pack = w.pack_env_with("g", "gui", "gui", &["--standalone"]);
    let (archive, _) = runtime_of(&pack);
    let files = runtime_files(&archive);
    assert!(
        files
            .iter()
            .any(|(n, _, _)| n.ends_with("/tkinter/__init__.py")),
        "tkinter is left out of an environment that imports it"
    );
}

/// Same inputs, same bytes, the carried interpreter included.
#[test]
fn standalone_builds_are_identical() {
    let w = World::new();
    w.demo_env();
    for epoch in [None, Some("1700000000")] {
        let build = |out: &str| {
            let mut cmd = w.pack_cmd(&["--env", "e", "--entry", "demo", "-o", out, "--standalone"]);
            if let Some(e) = epoch {
                cmd.env("SOURCE_DATE_EPOCH", e);
            }
            assert_success(&cmd.output().unwrap());
            std::fs::read(w.path(out)).unwrap()
        };
        let a = build("a");
        let b = build("b");
        assert!(
            a == b,
            "two standalone builds differ (SOURCE_DATE_EPOCH {epoch:?})"
        );
    }
    assert_success(&w.run(&w.path("a"), How::Direct, &[]));
}

/// A flipped byte in the carried wheel set or interpreter: the first start refuses the pack
/// (error and hint, no traceback), runs nothing and leaves no extraction.
#[test]
fn damaged_standalone_pack_is_refused() {
    let w = World::new();
    w.demo_env();
    let pack = w.pack_env_with("e", "demo", "s", &["--standalone"]);
    let bytes = std::fs::read(&pack).unwrap();
    let zip = zip::ZipArchive::new(std::fs::File::open(&pack).unwrap()).unwrap();
    let mut zip = zip;
    for member in [".envtool/payload.tar.gz", ".envtool/runtime.tar.gz"] {
        let (start, size) = {
            let f = zip.by_name(member).unwrap();
            (f.data_start().unwrap() as usize, f.size() as usize)
        };
        let mut damaged = bytes.clone();
        damaged[start + size / 2] ^= 0x55;
        std::fs::write(&pack, &damaged).unwrap();
        for how in BOTH {
            w.clear_root();
            let out = w.run(&pack, how, &[]);
            let stderr = assert_user_error(&out, "");
            assert!(!stderr.contains("Traceback"), "{member} {how:?}: {stderr}");
            assert!(stdout_of(&out).is_empty(), "{member} {how:?}: it ran");
            let complete: Vec<String> = w
                .root_entries()
                .into_iter()
                .filter(|n| crate::common::is_extracted(&w.root().join(n)))
                .collect();
            assert!(
                complete.is_empty(),
                "{member} {how:?}: extracted {complete:?}"
            );
        }
    }
    std::fs::write(&pack, &bytes).unwrap();
    assert_success(&w.run(&pack, How::Direct, &[]));
}

/// A distribution's Python (prefix /usr, standard library spread over packages, marked
/// EXTERNALLY-MANAGED) cannot be carried.
#[test]
fn standalone_refuses_a_distribution_python() {
    let out = Command::new(common::envtool_bin())
        .args(["python", "list", "--json"])
        .env("PYENV_ROOT", common::pyenv_root())
        .output()
        .unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let distro = rows.iter().find_map(|row| {
        let exe = PathBuf::from(row["executable"].as_str()?);
        let prefix = Command::new(&exe)
            .args(["-I", "-S", "-c", "import sys; print(sys.base_prefix)"])
            .output()
            .ok()?;
        (String::from_utf8_lossy(&prefix.stdout).trim() == "/usr").then_some(exe)
    });
    let Some(distro) = distro else {
        return support::skip("no distribution Python (prefix /usr) on this machine");
    };
    let mut w = World::new();
    w.python = distro.clone();
    let out = w.pack_raw(&["demo", "--entry", "demo", "-o", "out", "--standalone"]);
    let stderr = assert_user_error(&out, "cannot be carried in a standalone pack");
    assert!(
        stderr.contains("/usr"),
        "the reason is not named:\n{stderr}"
    );
    assert!(
        stderr.contains("pyenv"),
        "the hint names no self-contained interpreter:\n{stderr}"
    );
    assert!(!w.path("out").exists(), "a file was written");
    assert!(
        std::fs::read_dir(w.path(""))
            .unwrap()
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().starts_with(".envtool-pack")),
        "a temporary file was left"
    );
}

/// Hard-links (or copies) `src` into `dst`, skipping site-packages and the test suite.
fn link_tree(src: &Path, dst: &Path) {
    for entry in walkdir::WalkDir::new(src).into_iter().filter_entry(|e| {
        let n = e.file_name().to_string_lossy();
        n != "site-packages" && n != "test"
    }) {
        let entry = entry.unwrap();
        let to = dst.join(entry.path().strip_prefix(src).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&to).unwrap();
        } else if std::fs::hard_link(entry.path(), &to).is_err() {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

/// An installation whose shared libpython is not its own (the executable finds it through an
/// absolute search path into another installation) cannot be relocated.
#[test]
fn standalone_refuses_an_interpreter_whose_libpython_is_elsewhere() {
    let python = common::python();
    let facts = py(
        &python,
        "import sys, sysconfig; print(sys.base_prefix); print(sysconfig.get_config_var('Py_ENABLE_SHARED'))",
    );
    let (base, shared) = facts.split_once('\n').unwrap();
    if shared.trim() != "1" {
        return support::skip("the test interpreter has no shared libpython");
    }
    let minor = minor_of(&python);
    let w = World::new();
    let fake = w.path("fakepy");
    std::fs::create_dir_all(fake.join("bin")).unwrap();
    let exe = fake.join(format!("bin/python{minor}"));
    std::fs::copy(Path::new(base).join(format!("bin/python{minor}")), &exe).unwrap();
    link_tree(
        &Path::new(base).join(format!("lib/python{minor}")),
        &fake.join(format!("lib/python{minor}")),
    );
    let mut w = w;
    w.python = exe;
    let out = w.pack_raw(&["demo", "--entry", "demo", "-o", "out", "--standalone"]);
    let stderr = assert_user_error(&out, "cannot be carried in a standalone pack");
    assert!(
        stderr.contains("libpython"),
        "the reason is not named:\n{stderr}"
    );
    assert!(!w.path("out").exists(), "a file was written");
}

#[test]
fn standalone_with_several_pythons_is_refused() {
    let w = World::new();
    // Two --python values (pack_cmd adds the first).
    let out = w
        .pack_cmd(&["demo", "--entry", "demo", "-o", "out", "--standalone"])
        .arg("--python")
        .arg(&w.python)
        .output()
        .unwrap();
    assert_user_error(&out, "carries one interpreter");
    assert!(!w.path("out").exists());
    assert!(stdout_of(&out).is_empty());
}

/// A first start makes its extraction durable with one `syncfs`, not one `fsync` per file
/// of the carried interpreter (thousands of them: seconds on a first start). The bootstrap
/// runs on the carried interpreter, whose standard library moves into the extraction before
/// the sync: the sync must not depend on importing anything after that move.
#[test]
fn standalone_first_start_syncs_the_file_system_once() {
    if !crate::common::have_strace() {
        return support::skip("strace is not installed");
    }
    let w = World::with(&[probe()]);
    w.create("e", &["probe"]);
    let pack = w.pack_env_with("e", "probe", "probe.pack", &["--standalone"]);
    let log = w.path("strace.log");
    let cmd = w.run_cmd(&pack, How::Direct, &["a b"]);
    let mut traced = crate::common::under_strace(&cmd, "fsync,fdatasync,syncfs", &log);
    traced.current_dir(w.path(""));
    let out = traced.output().unwrap();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    if !out.status.success() && text.is_empty() {
        return support::skip(&format!(
            "strace cannot trace here: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    check_probe(&w, &out, "first start under strace");
    let syncfs = text.lines().filter(|l| l.contains("syncfs(")).count();
    let fsyncs = text
        .lines()
        .filter(|l| l.contains("fsync(") || l.contains("fdatasync("))
        .count();
    assert!(syncfs >= 1, "no syncfs on a first start:\n{text}");
    assert!(
        fsyncs < 20,
        "{fsyncs} fsync calls on a first start (one per file?)"
    );
}

//! `envtool freeze`, `lock` and `sync` (and `create --lock`, `install -r pylock.toml`):
//! freeze output byte-for-byte against real pip, lock files read back by envtool and by
//! pip, round trips that reproduce an environment file for file, and refusals that leave
//! the environment untouched.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{assert_success, assert_user_error, pythons};
use crate::fixture::{stderr, stdout, wheel, Fixture};
use crate::support::{sha256_hex, WheelBuilder};
use crate::{common, support};
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// `envtool ARGS` where every argument may be a path.
fn run(f: &Fixture, args: &[&OsStr]) -> Output {
    f.t.cmd(args).output().unwrap()
}

fn ok(f: &Fixture, args: &[&OsStr]) -> String {
    let out = run(f, args);
    assert_success(&out);
    stdout(&out)
}

fn os<S: AsRef<OsStr> + ?Sized>(s: &S) -> &OsStr {
    s.as_ref()
}

/// `envtool freeze ENV EXTRA...` (stdout).
fn freeze(f: &Fixture, env: &Path, extra: &[&str]) -> String {
    let mut args: Vec<&OsStr> = vec![os("freeze"), env.as_os_str()];
    args.extend(extra.iter().map(os));
    ok(f, &args)
}

/// Real `pip --python ENV/bin/python freeze EXTRA...` (stdout), run by the newest pyenv pip.
fn pip_freeze(env: &Path, extra: &[&str]) -> String {
    let out = support::pip_command(&common::python())
        .arg("--python")
        .arg(env.join("bin/python"))
        .arg("freeze")
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pip freeze failed:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// `envtool create DIR --python PY [ARGS...]` with the fixture's index.
fn create(f: &Fixture, dir: &Path, python: &Path, extra: &[&OsStr]) -> Output {
    let mut args: Vec<&OsStr> = vec![
        os("--index-url"),
        os(f.url()),
        os("create"),
        dir.as_os_str(),
        os("--python"),
        python.as_os_str(),
    ];
    args.extend_from_slice(extra);
    run(f, &args)
}

fn file_url(path: &Path) -> String {
    url::Url::from_file_path(path).unwrap().to_string()
}

/// What a directory holds: relative path -> kind, mode and sha256 of the contents (or the
/// link target), for "nothing changed" and "identical environments" checks.
fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir).min_depth(1).follow_links(false) {
        let entry = entry.unwrap();
        let rel = entry
            .path()
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let ft = entry.file_type();
        let value = if ft.is_symlink() {
            format!(
                "link -> {}",
                std::fs::read_link(entry.path()).unwrap().display()
            )
        } else if ft.is_dir() {
            "dir".to_string()
        } else {
            let bytes = std::fs::read(entry.path()).unwrap();
            let mode = entry.metadata().unwrap().permissions().mode() & 0o7777;
            format!(
                "file {mode:o} {}",
                data_encoding::HEXLOWER.encode(&Sha256::digest(&bytes))
            )
        };
        out.insert(rel, value);
    }
    out
}

/// Asserts two directories hold the same files with the same bytes, leaving out paths for
/// which `skip` is true; on a difference, names every differing path (and shows small
/// text files on both sides).
fn assert_same_files(a: &Path, b: &Path, skip: &dyn Fn(&str) -> bool) {
    let load = |dir: &Path| -> BTreeMap<String, Vec<u8>> {
        snapshot(dir)
            .into_iter()
            .filter(|(k, _)| !skip(k))
            .map(|(k, v)| {
                let bytes = if v.starts_with("file") {
                    std::fs::read(dir.join(&k)).unwrap()
                } else {
                    Vec::new()
                };
                (k, [v.into_bytes(), b"\n".to_vec(), bytes].concat())
            })
            .collect()
    };
    assert_same_maps(
        &a.display().to_string(),
        &load(a),
        &b.display().to_string(),
        &load(b),
    );
}

fn assert_same_maps(
    a: &str,
    left: &BTreeMap<String, Vec<u8>>,
    b: &str,
    right: &BTreeMap<String, Vec<u8>>,
) {
    if left == right {
        return;
    }
    let mut report = String::new();
    for (k, v) in left {
        match right.get(k) {
            None => report.push_str(&format!("only in {a}: {k}\n")),
            Some(w) if w != v => {
                report.push_str(&format!("differs: {k}\n"));
                if v.len() < 3000 && w.len() < 3000 {
                    report.push_str(&format!(
                        "  left:  {:?}\n  right: {:?}\n",
                        String::from_utf8_lossy(v),
                        String::from_utf8_lossy(w)
                    ));
                }
            }
            _ => {}
        }
    }
    for k in right.keys() {
        if !left.contains_key(k) {
            report.push_str(&format!("only in {b}: {k}\n"));
        }
    }
    panic!("{a} and {b} differ:\n{report}");
}

fn replace_bytes(hay: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if !needle.is_empty() && hay[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

/// site-packages and the installed scripts of an environment, comparable across
/// environments: the environment's own path in file contents becomes `<ENV>`, and the RECORD
/// rows of scripts (whose bytes name the interpreter, so differ with the path) keep only
/// their path. Everything else is compared byte for byte (with the file mode).
fn env_files(env: &Path, skip: &dyn Fn(&str) -> bool) -> BTreeMap<String, Vec<u8>> {
    let env_bytes = env.to_string_lossy().into_owned().into_bytes();
    let mut out = BTreeMap::new();
    let site = site_packages(env);
    for (prefix, dir) in [("site-packages", site.clone()), ("bin", env.join("bin"))] {
        for (rel, kind) in snapshot(&dir) {
            if skip(&rel)
                || (prefix == "bin"
                    && (rel.starts_with("python") || rel.to_lowercase().starts_with("activate")))
            {
                continue;
            }
            let mut bytes = Vec::new();
            if kind.starts_with("file") {
                bytes = replace_bytes(
                    &std::fs::read(dir.join(&rel)).unwrap(),
                    &env_bytes,
                    b"<ENV>",
                );
                if rel.ends_with(".dist-info/RECORD") {
                    let text = String::from_utf8(bytes).unwrap();
                    bytes = text
                        .lines()
                        .map(|l| {
                            if l.starts_with("../../../bin/") {
                                l.rsplitn(3, ',').last().unwrap().to_string() + ",<script>"
                            } else {
                                l.to_string()
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                        .into_bytes();
                }
                let mode = kind.split(' ').nth(1).unwrap().to_string();
                bytes = [mode.into_bytes(), b"\n".to_vec(), bytes].concat();
            } else {
                bytes.extend_from_slice(kind.as_bytes());
            }
            out.insert(format!("{prefix}/{rel}"), bytes);
        }
    }
    out
}

/// Two environments hold the same distributions, file for file (see [`env_files`]).
fn assert_same_env(a: &Path, b: &Path, skip: &dyn Fn(&str) -> bool) {
    assert_same_maps(
        &a.display().to_string(),
        &env_files(a, skip),
        &b.display().to_string(),
        &env_files(b, skip),
    );
}

fn site_packages(env: &Path) -> PathBuf {
    let lib = env.join("lib");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&lib)
        .unwrap()
        .flatten()
        .map(|e| e.path().join("site-packages"))
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one lib/pythonX.Y/site-packages in {}",
        env.display()
    );
    found.pop().unwrap()
}

/// `python3.11` etc. from pyenv: (minor, path).
fn pythons_by_minor() -> Vec<(u32, PathBuf)> {
    pythons()
        .into_iter()
        .map(|(name, exe)| (name.split('.').nth(1).unwrap().parse::<u32>().unwrap(), exe))
        .collect()
}

/// A small world: `top` needs `mid>=1` (1.0 and 2.0 published) and `My.Pkg_Name`; `leaf`
/// stands alone; `tool` has a console script and a data file.
fn world() -> Fixture {
    let f = Fixture::new();
    f.publish(
        wheel("top", "1.0")
            .requires_dist("mid>=1")
            .requires_dist("My.Pkg_Name"),
    );
    f.publish(wheel("mid", "1.0"));
    f.publish(wheel("mid", "2.0"));
    f.publish(wheel("My.Pkg_Name", "0.5"));
    f.publish(wheel("leaf", "1.0"));
    f.publish(wheel("leaf", "1.1"));
    f.publish(
        WheelBuilder::new("tool", "3.0")
            .file("tool/__init__.py", "def main():\n    print('tool ran')\n")
            .entry_point("console_scripts", "tool-cli", "tool:main")
            .data("data", "share/tool/notes.txt", "notes\n")
            .data("scripts", "tool-sh", "#!python\nprint('sh')\n"),
    );
    f
}

/// Writes `text` to `path` (creating parents).
fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn parse_toml(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path).unwrap();
    text.parse::<toml::Table>()
        .unwrap_or_else(|e| panic!("{} is not valid TOML ({e}):\n{text}", path.display()))
}

/// One wheel entry of a hand-written lock: `{ name, url, size, hashes }`.
fn lock_wheel(f: &Fixture, whl: &Path) -> String {
    let name = whl.file_name().unwrap().to_string_lossy();
    format!(
        "{{ name = \"{name}\", url = \"{}/files/{name}\", size = {}, hashes = {{ sha256 = \"{}\" }} }}",
        f.server().base(),
        std::fs::metadata(whl).unwrap().len(),
        sha256_hex(whl)
    )
}

// ---------------------------------------------------------------------------------------
// 1. freeze is pip freeze
// ---------------------------------------------------------------------------------------

#[test]
fn freeze_matches_pip_for_index_installs() {
    let f = Fixture::new();
    // Names whose order differs between "lowercased as spelled" (pip's sort) and normalized.
    f.publish(wheel("My.Pkg_Name", "1.0").requires_dist("a_c>=2"));
    f.publish(wheel("a-b", "1.0"));
    f.publish(wheel("a_c", "2.0"));
    f.publish(wheel("A.d", "3.0"));
    f.publish(wheel("Zope.Interface", "5.0"));
    f.publish(wheel("beta", "0.1"));
    let env = f.env("e");

    // An empty environment freezes to nothing, as with pip.
    assert_eq!(freeze(&f, &env, &[]), "");
    assert_eq!(pip_freeze(&env, &[]), "");

    f.install_ok(
        &env,
        &["My.Pkg_Name", "a-b", "A.d", "zope-interface", "beta"],
    );
    let ours = freeze(&f, &env, &[]);
    assert_eq!(ours, pip_freeze(&env, &[]), "envtool freeze vs pip freeze");
    assert_eq!(
        ours,
        "a-b==1.0\nA.d==3.0\na_c==2.0\nbeta==0.1\nMy.Pkg_Name==1.0\nZope.Interface==5.0\n"
    );
    assert_eq!(freeze(&f, &env, &["--all"]), pip_freeze(&env, &["--all"]));

    // -o writes the same text to a file and nothing to stdout.
    let out_file = f.t.path("frozen.txt");
    let printed = freeze(&f, &env, &["-o", out_file.to_str().unwrap()]);
    assert_eq!(printed, "");
    assert_eq!(std::fs::read_to_string(&out_file).unwrap(), ours);
}

#[test]
fn freeze_prints_versions_as_pip_does() {
    // pip prints the version parsed and normalized (`01.0` -> `1.0`, `1.0.POST1` -> `1.0.post1`).
    let f = Fixture::new();
    f.publish(wheel("zeroed", "01.0"));
    f.publish(wheel("Shouty", "1.0.POST1"));
    let env = f.env("e");
    f.install_ok(&env, &["zeroed", "shouty"]);
    let pips = pip_freeze(&env, &[]);
    assert_eq!(
        pips, "Shouty==1.0.post1\nzeroed==1.0\n",
        "pip's own output changed?"
    );
    assert_eq!(freeze(&f, &env, &[]), pips);
}

#[test]
fn freeze_matches_pip_for_direct_wheel_installs() {
    let f = Fixture::new();
    f.publish(wheel("dep", "1.0"));
    // Not on the index; in a directory whose name needs percent-encoding in a URL.
    let whl = WheelBuilder::new("Local.Pkg", "1.0")
        .file("local_pkg/__init__.py", "")
        .requires_dist("dep")
        .build(f.t.path("my dist"));
    let other = wheel("by-url", "2.0").build(f.t.path("dist2"));
    // Named by its HTTP URL (a direct reference, not a lookup on the index pages).
    let remote = f.publish(wheel("Remote", "3.0"));
    let remote_url = format!("{}/files/remote-3.0-py3-none-any.whl", f.server().base());
    let env = f.env("e");
    let by_url = format!("by-url @ {}", file_url(&other));
    let by_http = format!("Remote @ {remote_url}");
    f.install_ok(&env, &[whl.to_str().unwrap(), &by_url, &by_http]);

    let ours = freeze(&f, &env, &[]);
    assert_eq!(ours, pip_freeze(&env, &[]), "envtool freeze vs pip freeze");
    let expected = format!(
        "by-url @ {}#sha256={}\ndep==1.0\nLocal.Pkg @ {}#sha256={}\nRemote @ {remote_url}#sha256={}\n",
        file_url(&other),
        sha256_hex(&other),
        file_url(&whl),
        sha256_hex(&whl),
        sha256_hex(&remote),
    );
    assert_eq!(ours, expected);
    assert!(ours.contains("/my%20dist/"), "{ours}");

    // The lines pip prints when pip itself installed the same files.
    let penv = f.env("p");
    f.pip_ok(
        &penv,
        &[
            "install",
            "--no-index",
            "--no-deps",
            whl.to_str().unwrap(),
            &by_url,
            &by_http,
        ],
    );
    let pips = pip_freeze(&penv, &[]);
    let ours_lines: Vec<&str> = ours.lines().filter(|l| l.contains(" @ ")).collect();
    let pip_lines: Vec<&str> = pips.lines().collect();
    assert_eq!(
        ours_lines, pip_lines,
        "the direct-reference lines pip writes for the same wheels"
    );
    assert_eq!(freeze(&f, &penv, &[]), pips);
}

#[test]
fn freeze_matches_pip_when_pip_installed_packages() {
    let f = Fixture::new();
    f.publish(wheel("from-envtool", "1.0"));
    let links = f.t.path("links");
    wheel("Pip.Installed", "1.0")
        .requires_dist("dep_two>=2")
        .build(&links);
    wheel("dep_two", "2.0").build(&links);
    wheel("Solo", "0.9").build(&links);
    let env = f.env("e");
    f.install_ok(&env, &["from-envtool"]);
    f.pip_ok(
        &env,
        &[
            "install",
            "--no-index",
            "--find-links",
            links.to_str().unwrap(),
            "Pip.Installed",
            "solo",
        ],
    );

    let ours = freeze(&f, &env, &[]);
    assert_eq!(ours, pip_freeze(&env, &[]), "envtool freeze vs pip freeze");
    assert_eq!(
        ours,
        "dep_two==2.0\nfrom-envtool==1.0\nPip.Installed==1.0\nSolo==0.9\n"
    );
    assert_eq!(freeze(&f, &env, &["--all"]), pip_freeze(&env, &["--all"]));

    // The hash of a file pip installed is unknown: --hashes refuses instead of guessing.
    let before = snapshot(&env);
    let out = run(&f, &[os("freeze"), env.as_os_str(), os("--hashes")]);
    assert_user_error(&out, "not installed by envtool");
    assert_eq!(stdout(&out), "", "nothing printed on failure");
    assert_eq!(snapshot(&env), before);

    // An environment made entirely by pip (pip-only installs, no envtool metadata at all).
    let penv = f.env("p");
    f.pip_ok(
        &penv,
        &[
            "install",
            "--no-index",
            "--find-links",
            links.to_str().unwrap(),
            "pip-installed",
        ],
    );
    assert_eq!(freeze(&f, &penv, &[]), pip_freeze(&penv, &[]));
}

#[test]
fn freeze_lists_legacy_egg_info_distributions_like_pip() {
    // `setup.py install` and old pips left `.egg-info` directories; pip freeze lists them.
    let f = Fixture::new();
    f.publish(wheel("modern", "1.0"));
    let env = f.env("e");
    f.install_ok(&env, &["modern"]);
    let site = site_packages(&env);
    let minor = common::py(
        &env.join("bin/python"),
        "import sys; print('%d.%d' % sys.version_info[:2])",
    );
    let egg = site.join(format!("Legacy_Pkg-2.0-py{minor}.egg-info"));
    write(
        &egg.join("PKG-INFO"),
        "Metadata-Version: 1.1\nName: Legacy-Pkg\nVersion: 2.0\nSummary: old\n",
    );
    write(&egg.join("top_level.txt"), "legacy_pkg\n");
    write(&site.join("legacy_pkg/__init__.py"), "");
    let pips = pip_freeze(&env, &[]);
    assert_eq!(
        pips, "Legacy-Pkg==2.0\nmodern==1.0\n",
        "pip's own output changed?"
    );
    assert_eq!(freeze(&f, &env, &[]), pips);
}

#[test]
fn default_exclusions_match_pip_before_and_after_312() {
    let f = Fixture::new();
    // Stand-ins carrying only the names; their modules are harmless.
    for (name, version) in [
        ("pip", "99.0"),
        ("setuptools", "99.0"),
        ("wheel", "99.0"),
        ("distribute", "0.7.3"),
    ] {
        f.publish(WheelBuilder::new(name, version).file(&format!("_fake_{name}.py"), ""));
    }
    f.publish(wheel("keepme", "1.0"));
    let pythons = pythons_by_minor();
    assert!(
        pythons.iter().any(|(m, _)| *m == 11),
        "these tests need a CPython 3.11 under pyenv"
    );
    assert!(
        pythons.iter().any(|(m, _)| *m >= 12),
        "these tests need a CPython 3.12+ under pyenv"
    );
    for (minor, exe) in pythons.iter().filter(|(m, _)| *m >= 8) {
        let env = f.t.path(&format!("env-3.{minor}"));
        let out = create(
            &f,
            &env,
            exe,
            &[
                os("pip"),
                os("setuptools"),
                os("wheel"),
                os("distribute"),
                os("keepme"),
            ],
        );
        assert_success(&out);
        let ours = freeze(&f, &env, &[]);
        let pips = pip_freeze(&env, &[]);
        assert_eq!(ours, pips, "freeze on Python 3.{minor}");
        let expected = if *minor < 12 {
            "keepme==1.0\n".to_string()
        } else {
            "distribute==0.7.3\nkeepme==1.0\nsetuptools==99.0\nwheel==99.0\n".to_string()
        };
        assert_eq!(ours, expected, "freeze on Python 3.{minor}");
        let all = freeze(&f, &env, &["--all"]);
        assert_eq!(
            all,
            pip_freeze(&env, &["--all"]),
            "freeze --all on Python 3.{minor}"
        );
        assert_eq!(
            all, "distribute==0.7.3\nkeepme==1.0\npip==99.0\nsetuptools==99.0\nwheel==99.0\n",
            "freeze --all on Python 3.{minor}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 2. Round trips
// ---------------------------------------------------------------------------------------

/// An environment with index installs (some requested, some dependencies), a console
/// script, data files, and a direct wheel install.
fn source_env(f: &Fixture) -> (PathBuf, PathBuf) {
    let env = f.env("src");
    let direct = WheelBuilder::new("Direct_Pkg", "4.2")
        .file("direct_pkg/__init__.py", "X = 42\n")
        .requires_dist("leaf")
        .build(f.t.path("local wheels"));
    f.install_ok(
        &env,
        &["top", "tool", "leaf==1.0", direct.to_str().unwrap()],
    );
    (env, direct)
}

fn is_requested_or_record(rel: &str) -> bool {
    rel.contains(".dist-info/") && (rel.ends_with("/REQUESTED") || rel.ends_with("/RECORD"))
}

#[test]
fn freeze_hashes_then_create_reproduces_site_packages() {
    let f = world();
    let (env, direct) = source_env(&f);
    let reqs = freeze(&f, &env, &["--hashes"]);
    // Every pin carries the sha256 of the file it was installed from.
    let pins: Vec<&str> = reqs.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(pins.len(), 6, "{reqs}");
    for pin in &pins {
        assert!(
            pin.ends_with(" \\"),
            "a hash continuation follows {pin:?} in:\n{reqs}"
        );
    }
    assert_eq!(reqs.matches("    --hash=sha256:").count(), 6, "{reqs}");
    assert!(
        reqs.contains(&format!(
            "Direct_Pkg @ {}#sha256={} \\\n    --hash=sha256:{}\n",
            file_url(&direct),
            sha256_hex(&direct),
            sha256_hex(&direct)
        )),
        "{reqs}"
    );
    let leaf = f.files.join("leaf-1.0-py3-none-any.whl");
    assert!(
        reqs.contains(&format!(
            "leaf==1.0 \\\n    --hash=sha256:{}\n",
            sha256_hex(&leaf)
        )),
        "{reqs}"
    );
    // Without --hashes: the plain pins (= pip freeze).
    assert_eq!(freeze(&f, &env, &[]), pip_freeze(&env, &[]));

    let req_file = f.t.path("requirements.lock");
    std::fs::write(&req_file, &reqs).unwrap();
    let new = f.t.path("new");
    assert_success(&create(
        &f,
        &new,
        &f.python,
        &[os("-r"), req_file.as_os_str()],
    ));
    assert_eq!(pip_freeze(&new, &[]), pip_freeze(&env, &[]));
    assert_same_env(&env, &new, &is_requested_or_record);
    f.assert_pip_check_clean(&new);
}

#[test]
fn freeze_pylock_then_sync_reproduces_site_packages_exactly() {
    let f = world();
    let (env, direct) = source_env(&f);
    let lock = f.t.path("out/pylock.toml");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    assert_eq!(
        freeze(
            &f,
            &env,
            &["--format", "pylock", "-o", lock.to_str().unwrap()]
        ),
        ""
    );
    let doc = parse_toml(&lock);
    assert_eq!(doc["lock-version"].as_str(), Some("1.0"));
    assert_eq!(doc["created-by"].as_str(), Some("envtool"));
    let packages = doc["packages"].as_array().unwrap();
    let names: Vec<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 6, "{names:?}");
    let direct_pkg = packages
        .iter()
        .find(|p| p["name"].as_str() == Some("direct-pkg"))
        .unwrap();
    assert_eq!(
        direct_pkg["archive"]["url"].as_str(),
        Some(file_url(&direct).as_str())
    );
    assert_eq!(
        direct_pkg["archive"]["hashes"]["sha256"].as_str(),
        Some(sha256_hex(&direct).as_str())
    );

    let new = f.t.path("new2");
    assert_success(&create(&f, &new, &f.python, &[]));
    // No --index-url: a lock names its files itself.
    let out = run(&f, &[os("sync"), new.as_os_str(), lock.as_os_str()]);
    assert_success(&out);
    assert!(stderr(&out).contains("+ 6 ~ 0 - 0"), "{}", stderr(&out));
    assert_eq!(pip_freeze(&new, &[]), pip_freeze(&env, &[]));
    assert_same_env(&env, &new, &|_| false);
    f.assert_pip_check_clean(&new);

    // Syncing again changes nothing.
    let before = snapshot(&new);
    let out = run(&f, &[os("sync"), new.as_os_str(), lock.as_os_str()]);
    assert_success(&out);
    assert_eq!(snapshot(&new), before);
}

// ---------------------------------------------------------------------------------------
// 3. lock
// ---------------------------------------------------------------------------------------

/// The dist-info directories of the interpreter's own site-packages.
fn base_dists(python: &Path) -> String {
    common::py(
        python,
        "import sysconfig, os; p = sysconfig.get_paths()['purelib']; print(sorted(os.listdir(p)))",
    )
}

#[test]
fn lock_writes_a_valid_pylock_and_installs_nothing() {
    let f = world();
    write(&f.t.path("requirements.in"), "top\nleaf==1.0\n");
    let py = f.python.clone();
    let before_tree = common::tree(f.t.tmp.path());
    let before_base = base_dists(&py);

    let out = run(
        &f,
        &[
            os("--index-url"),
            os(f.url()),
            os("lock"),
            os("-r"),
            os("requirements.in"),
            os("-o"),
            os("pylock.toml"),
            os("--python"),
            py.as_os_str(),
        ],
    );
    assert_success(&out);

    let doc = parse_toml(&f.t.path("pylock.toml"));
    assert_eq!(doc["lock-version"].as_str(), Some("1.0"));
    assert_eq!(doc["created-by"].as_str(), Some("envtool"));
    let minor = common::py(&py, "import sys; print('%d.%d' % sys.version_info[:2])");
    let rp = doc["requires-python"].as_str().expect("requires-python");
    assert!(
        rp.contains(&minor),
        "requires-python {rp:?} for Python {minor}"
    );
    let packages = doc["packages"].as_array().expect("[[packages]]");
    let mut got: Vec<(String, String)> = Vec::new();
    for p in packages {
        let name = p["name"].as_str().unwrap().to_string();
        let version = p["version"].as_str().unwrap().to_string();
        let index = p["index"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has no index"));
        assert!(index.starts_with(f.url()), "{name}: index {index}");
        let wheels = p["wheels"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has no wheels"));
        assert!(!wheels.is_empty(), "{name}");
        for w in wheels {
            let url = w["url"].as_str().unwrap();
            let file_name = url.rsplit('/').next().unwrap();
            let local = f.files.join(file_name);
            assert!(url.starts_with(&f.server().base()), "{url}");
            assert!(local.is_file(), "{url} names no published file");
            assert_eq!(
                w["size"].as_integer(),
                Some(std::fs::metadata(&local).unwrap().len() as i64),
                "{url}"
            );
            assert_eq!(
                w["hashes"]["sha256"].as_str(),
                Some(sha256_hex(&local).as_str()),
                "{url}"
            );
        }
        got.push((name, version));
    }
    got.sort();
    let want: Vec<(String, String)> = [
        ("leaf", "1.0"),
        ("mid", "2.0"),
        ("my-pkg-name", "0.5"),
        ("top", "1.0"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);

    // Nothing installed anywhere: the only new file in the tree is the lock (the cache aside).
    let after: Vec<String> = common::tree(f.t.tmp.path())
        .into_iter()
        .filter(|p| !p.starts_with("cache"))
        .collect();
    let mut expected: Vec<String> = before_tree
        .into_iter()
        .filter(|p| !p.starts_with("cache"))
        .collect();
    expected.push("pylock.toml".into());
    expected.sort();
    assert_eq!(after, expected);
    assert_eq!(base_dists(&py), before_base);
}

#[test]
fn lock_to_requirements_txt_is_accepted_by_pip_require_hashes() {
    let f = world();
    let py = f.python.clone();
    let direct = wheel("Direct_Pkg", "4.2").build(f.t.path("local wheels"));
    let out = run(
        &f,
        &[
            os("--index-url"),
            os(f.url()),
            os("lock"),
            os("top"),
            os("tool"),
            direct.as_os_str(),
            os("-o"),
            os("requirements.txt"),
            os("--python"),
            py.as_os_str(),
        ],
    );
    assert_success(&out);
    let text = std::fs::read_to_string(f.t.path("requirements.txt")).unwrap();
    let mut pins = Vec::new();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with(' ') {
            assert!(
                line.trim_start().starts_with("--hash=sha256:"),
                "{line:?} in:\n{text}"
            );
            continue;
        }
        assert!(
            line.ends_with(" \\"),
            "{line:?} is not followed by a hash in:\n{text}"
        );
        assert!(
            lines[i + 1].trim_start().starts_with("--hash=sha256:"),
            "{text}"
        );
        pins.push(line.trim_end_matches(" \\").to_string());
    }
    pins.sort();
    let direct_pin = format!(
        "Direct_Pkg @ {}#sha256={}",
        file_url(&direct),
        sha256_hex(&direct)
    );
    assert_eq!(
        pins,
        [
            direct_pin.as_str(),
            "My.Pkg_Name==0.5",
            "mid==2.0",
            "tool==3.0",
            "top==1.0"
        ]
        .map(String::from)
        .to_vec()
        .tap_sort(),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{direct_pin} \\\n    --hash=sha256:{}\n",
            sha256_hex(&direct)
        )),
        "{text}"
    );

    // Real pip, into a venv made by envtool, in hash-checking mode.
    let env = f.env("scratch");
    f.pip_ok(
        &env,
        &[
            "install",
            "--require-hashes",
            "--index-url",
            f.url(),
            "-r",
            f.t.path("requirements.txt").to_str().unwrap(),
        ],
    );
    f.assert_installed(
        &env,
        &[
            ("direct-pkg", "4.2"),
            ("my-pkg-name", "0.5"),
            ("mid", "2.0"),
            ("tool", "3.0"),
            ("top", "1.0"),
        ],
    );
    f.assert_pip_check_clean(&env);
}

#[test]
fn lock_for_an_older_python_pins_for_it() {
    let f = Fixture::new();
    f.publish(wheel("modern", "1.0"));
    f.publish(wheel("modern", "2.0").requires_python(">=3.12"));
    // The newest allowed Python older than 3.12 (the tests' interpreter policy).
    let Some((minor, py311)) = pythons_by_minor()
        .into_iter()
        .filter(|(m, _)| *m < 12)
        .max_by_key(|(m, _)| *m)
    else {
        support::skip("no Python older than 3.12 is allowed for the tests");
        return;
    };
    let minor_spec = format!("==3.{minor}.*");
    let lock = f.t.path("pylock.toml");
    let out = run(
        &f,
        &[
            os("--index-url"),
            os(f.url()),
            os("lock"),
            os("modern"),
            os("-o"),
            lock.as_os_str(),
            os("--python"),
            py311.as_os_str(),
        ],
    );
    assert_success(&out);
    let doc = parse_toml(&lock);
    assert_eq!(doc["requires-python"].as_str(), Some(minor_spec.as_str()));
    let packages = doc["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 1);
    assert_eq!(packages[0]["version"].as_str(), Some("1.0"));

    // It installs on 3.11 and is refused on the newest Python.
    let old = f.t.path("old");
    assert_success(&create(&f, &old, &py311, &[os("--lock"), lock.as_os_str()]));
    f.assert_installed(&old, &[("modern", "1.0")]);
    let new = f.env("new");
    let before = snapshot(&new);
    let out = run(&f, &[os("sync"), new.as_os_str(), lock.as_os_str()]);
    assert_user_error(&out, &format!("3.{minor}"));
    assert_eq!(snapshot(&new), before);

    // Nothing to lock is an error, not an empty lock.
    let out = run(
        &f,
        &[
            os("--index-url"),
            os(f.url()),
            os("lock"),
            os("-o"),
            os("empty.toml"),
        ],
    );
    assert_user_error(&out, "nothing to lock");
    assert!(!f.t.path("empty.toml").exists());
}

/// `envtool lock` for a target described by options; the wheel file names in the lock.
fn lock_target(f: &Fixture, target: &[&str]) -> Vec<(String, String, Vec<String>)> {
    let lock = f.t.path("target.toml");
    let mut args: Vec<&OsStr> = vec![os("--index-url"), os(f.url()), os("lock"), os("app")];
    args.extend(target.iter().map(os));
    args.extend([os("-o"), lock.as_os_str()]);
    assert_success(&run(f, &args));
    let doc = parse_toml(&lock);
    let mut out = Vec::new();
    for p in doc["packages"].as_array().unwrap() {
        let wheels = p["wheels"]
            .as_array()
            .map(|ws| {
                ws.iter()
                    .map(|w| {
                        w["name"]
                            .as_str()
                            .unwrap_or_else(|| {
                                w["url"].as_str().unwrap().rsplit('/').next().unwrap()
                            })
                            .to_string()
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push((
            p["name"].as_str().unwrap().to_string(),
            p["version"].as_str().unwrap().to_string(),
            wheels,
        ));
    }
    out.sort();
    out
}

#[test]
fn lock_targets_a_python_and_platform_that_are_not_installed() {
    let f = Fixture::new();
    f.publish(
        wheel("app", "1.0")
            .requires_dist("native")
            .requires_dist("strict")
            .requires_dist("winonly; sys_platform == 'win32'"),
    );
    // `native` 2.x has a wheel for one target each; 1.0 is pure Python. The version locked
    // shows which tags the target has.
    for (version, tag) in [
        ("2.1", "cp39-cp39-manylinux_2_17_x86_64"),
        ("2.2", "cp39-cp39-win_amd64"),
        ("2.3", "cp39-cp39-macosx_11_0_arm64"),
        ("2.4", "cp312-cp312-manylinux_2_17_aarch64"),
    ] {
        f.publish(wheel("native", version).tag(tag));
    }
    f.publish(wheel("native", "1.0"));
    f.publish(wheel("strict", "0.9"));
    f.publish(wheel("strict", "1.0").requires_python(">=3.9.4"));
    f.publish(wheel("winonly", "1.0"));

    let versions = |lock: &[(String, String, Vec<String>)]| -> Vec<String> {
        lock.iter().map(|(n, v, _)| format!("{n}=={v}")).collect()
    };
    let windows = lock_target(
        &f,
        &["--python-version", "3.9", "--python-platform", "windows"],
    );
    // 3.9 means 3.9.0, which `>=3.9.4` does not admit (as pip and uv read it).
    assert_eq!(
        versions(&windows),
        ["app==1.0", "native==2.2", "strict==0.9", "winonly==1.0"]
    );
    assert_eq!(windows[1].2, ["native-2.2-cp39-cp39-win_amd64.whl"]);
    let doc = parse_toml(&f.t.path("target.toml"));
    assert_eq!(doc["requires-python"].as_str(), Some("==3.9.*"));

    let linux = lock_target(
        &f,
        &[
            "--python-version",
            "3.9.4",
            "--python-platform",
            "x86_64-manylinux_2_17",
        ],
    );
    assert_eq!(versions(&linux), ["app==1.0", "native==2.1", "strict==1.0"]);
    let mac = lock_target(
        &f,
        &["--python-version", "3.9", "--python-platform", "macos"],
    );
    assert_eq!(versions(&mac)[1], "native==2.3");
    let arm = lock_target(
        &f,
        &[
            "--python-version",
            "3.12",
            "--python-platform",
            "aarch64-manylinux_2_28",
        ],
    );
    assert_eq!(versions(&arm)[1], "native==2.4");
    // Intel macOS has none of the binary wheels: the pure one.
    let intel = lock_target(
        &f,
        &[
            "--python-version",
            "3.9",
            "--python-platform",
            "x86_64-apple-darwin",
        ],
    );
    assert_eq!(versions(&intel)[1], "native==1.0");
    // Wheels only / sources only are lock options too.
    let out = run(
        &f,
        &[
            os("--index-url"),
            os(f.url()),
            os("lock"),
            os("native"),
            os("--no-binary"),
            os("native"),
            os("-o"),
            os("none.toml"),
        ],
    );
    assert_user_error(&out, "native");
    assert!(!f.t.path("none.toml").exists());

    // No wheel for the target: the resolver says so, exit 1.
    let out = run(
        &f,
        &[
            os("--index-url"),
            os(f.url()),
            os("lock"),
            os("native==2.2"),
            os("--python-version"),
            os("3.10"),
            os("--python-platform"),
            os("windows"),
            os("-o"),
            os("none.toml"),
        ],
    );
    assert_user_error(&out, "native");
    assert!(!f.t.path("none.toml").exists());
}

#[test]
fn lock_refuses_targets_and_options_it_cannot_read() {
    let f = Fixture::new();
    f.publish(wheel("app", "1.0"));
    for (args, needle) in [
        (&["--python-version", "three"][..], "--python-version"),
        (&["--python-version", "2.7"][..], "2.7"),
        (&["--python-platform", "amiga"][..], "amiga"),
        (
            &["--only-binary", ":all:", "--no-binary", ":all:"][..],
            "--no-binary",
        ),
        (&["--only-binary", "app", "--no-binary", "x,app"][..], "app"),
    ] {
        let mut all: Vec<&OsStr> = vec![os("--index-url"), os(f.url()), os("lock"), os("app")];
        all.extend(args.iter().map(os));
        all.extend([os("-o"), os("bad.toml")]);
        let out = run(&f, &all);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("error:") && err.contains(needle),
            "{args:?}: {err}"
        );
        assert!(err.contains("hint:"), "{args:?}: {err}");
        assert!(!f.t.path("bad.toml").exists());
    }
    // The same contradiction on install changes nothing.
    let env = f.env("e");
    let before = snapshot(&env);
    let out = f.install(
        &env,
        &["app", "--only-binary", ":all:", "--no-binary", ":all:"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(snapshot(&env), before);
    // A constraints file that cannot be read: exit 1, nothing written.
    let out = run(
        &f,
        &[
            os("--index-url"),
            os(f.url()),
            os("lock"),
            os("app"),
            os("-c"),
            os("missing.txt"),
            os("-o"),
            os("bad.toml"),
        ],
    );
    assert_user_error(&out, "missing.txt");
    assert!(!f.t.path("bad.toml").exists());
}

/// `[[packages]]` name -> its `dependencies` (names), from a pylock file.
fn lock_dependencies(lock: &Path) -> BTreeMap<String, Vec<String>> {
    let doc = parse_toml(lock);
    doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let deps = p
                .get("dependencies")
                .and_then(|d| d.as_array())
                .map(|ds| {
                    ds.iter()
                        .map(|d| {
                            d.get("name")
                                .and_then(|n| n.as_str())
                                .or_else(|| d.as_str())
                                .unwrap()
                                .to_string()
                        })
                        .collect()
                })
                .unwrap_or_default();
            (p["name"].as_str().unwrap().to_string(), deps)
        })
        .collect()
}

/// `md` needs `req` only for its `linkify` extra and `winreg` only on Windows; `other` needs
/// `req` and `winreg` outright, so both get installed either way.
fn extras_world() -> Fixture {
    let f = Fixture::new();
    f.publish(
        wheel("md", "1.0")
            .requires_dist("base")
            .provides_extra("linkify")
            .requires_dist("req; extra == 'linkify'")
            .requires_dist("winreg; sys_platform == 'win32'"),
    );
    f.publish(
        wheel("other", "1.0")
            .requires_dist("req")
            .requires_dist("winreg"),
    );
    for name in ["base", "req", "winreg"] {
        f.publish(wheel(name, "1.0"));
    }
    f
}

#[test]
fn lock_dependencies_list_only_what_applies() {
    let f = extras_world();
    let lock = f.t.path("pylock.toml");
    lock_for(&f, &["md", "other"], &lock);
    let deps = lock_dependencies(&lock);
    assert_eq!(deps["md"], ["base"], "{deps:?}");
    assert_eq!(deps["other"], ["req", "winreg"], "{deps:?}");
    lock_for(&f, &["md[linkify]", "other"], &lock);
    assert_eq!(lock_dependencies(&lock)["md"], ["base", "req"]);

    // The same for a lock of an installed environment: the extra asked at install time is
    // remembered; one nobody asked for pulls nothing.
    let env = f.env("plain");
    f.install_ok(&env, &["md", "other"]);
    let frozen = f.t.path("frozen.toml");
    ok(
        &f,
        &[
            os("freeze"),
            env.as_os_str(),
            os("--format"),
            os("pylock"),
            os("-o"),
            frozen.as_os_str(),
        ],
    );
    let deps = lock_dependencies(&frozen);
    assert_eq!(deps["md"], ["base"], "{deps:?}");
    assert_eq!(deps["other"], ["req", "winreg"], "{deps:?}");
    let env = f.env("linkify");
    f.install_ok(&env, &["md[linkify]"]);
    ok(
        &f,
        &[
            os("freeze"),
            env.as_os_str(),
            os("--format"),
            os("pylock"),
            os("-o"),
            frozen.as_os_str(),
        ],
    );
    assert_eq!(lock_dependencies(&frozen)["md"], ["base", "req"]);
}

#[test]
fn freeze_as_a_lock_keeps_the_tools_a_package_needs() {
    // `cli` needs pip and setuptools (as httpie does); pip's freeze leaves them out, so a
    // hashed freeze would not rebuild the environment. These are stand-ins (no `pip` module).
    let f = Fixture::new();
    f.publish(
        wheel("cli", "1.0")
            .requires_dist("pip")
            .requires_dist("setuptools"),
    );
    f.publish(WheelBuilder::new("pip", "99.0").file("pip_stand_in.py", ""));
    f.publish(WheelBuilder::new("setuptools", "99.0").file("setuptools_stand_in.py", ""));
    let env = f.env("e");
    f.install_ok(&env, &["cli"]);

    // Plain freeze is pip's: no pip.
    let plain = freeze(&f, &env, &[]);
    assert!(!plain.contains("pip=="), "{plain}");
    // As a lock: everything needed, and it rebuilds the environment with --require-hashes.
    let hashed = freeze(&f, &env, &["--hashes"]);
    for pin in ["cli==1.0", "pip==99.0", "setuptools==99.0"] {
        assert!(hashed.contains(pin), "{pin} missing from:\n{hashed}");
    }
    let frozen = f.t.path("frozen.txt");
    write(&frozen, &hashed);
    let again = f.t.path("again");
    assert_success(&create(
        &f,
        &again,
        &f.python,
        &[os("-r"), frozen.as_os_str(), os("--require-hashes")],
    ));
    assert_eq!(freeze(&f, &again, &["--all"]), freeze(&f, &env, &["--all"]));
    let lock = f.t.path("env.toml");
    ok(
        &f,
        &[
            os("freeze"),
            env.as_os_str(),
            os("--format"),
            os("pylock"),
            os("-o"),
            lock.as_os_str(),
        ],
    );
    let names: Vec<String> = lock_dependencies(&lock).into_keys().collect();
    assert_eq!(names, ["cli", "pip", "setuptools"]);
}

#[test]
fn a_requirements_lock_written_with_an_override_installs_as_written() {
    // `physics` pins `mathlib==1.0`; the project forks it as 2.0 and overrides the pin.
    let f = Fixture::new();
    f.publish(wheel("physics", "1.0").requires_dist("mathlib==1.0"));
    f.publish(wheel("mathlib", "1.0"));
    f.publish(wheel("mathlib", "2.0"));
    let overrides = f.t.path("overrides.txt");
    write(&overrides, "mathlib==2.0\n");
    let lock = f.t.path("requirements.txt");
    let out = run(
        &f,
        &[
            os("--index-url"),
            os(f.url()),
            os("lock"),
            os("physics"),
            os("--override"),
            overrides.as_os_str(),
            os("-o"),
            lock.as_os_str(),
            os("--python"),
            f.python.as_os_str(),
        ],
    );
    assert_success(&out);
    let text = std::fs::read_to_string(&lock).unwrap();
    assert!(
        text.contains("mathlib==2.0") && text.contains("physics==1.0"),
        "{text}"
    );

    // create -r and sync install it as written, with no --override and no --no-deps.
    let created = f.t.path("created");
    assert_success(&create(
        &f,
        &created,
        &f.python,
        &[os("-r"), lock.as_os_str()],
    ));
    f.assert_installed(&created, &[("mathlib", "2.0"), ("physics", "1.0")]);
    let synced = f.env("synced");
    f.install_ok(&synced, &["mathlib==1.0"]);
    assert_success(&run(
        &f,
        &[
            os("--index-url"),
            os(f.url()),
            os("sync"),
            synced.as_os_str(),
            lock.as_os_str(),
        ],
    ));
    f.assert_installed(&synced, &[("mathlib", "2.0"), ("physics", "1.0")]);

    // pip reads the same file (the mark is a comment) with --no-deps, as the file says.
    let by_pip = f.env("by-pip");
    let files = f.files.to_str().unwrap();
    f.pip_ok(
        &by_pip,
        &[
            "install",
            "--no-deps",
            "--no-index",
            "--find-links",
            files,
            "-r",
            lock.to_str().unwrap(),
        ],
    );
    let listed: Vec<(String, String)> = f.pip_list(&by_pip).into_iter().collect();
    assert_eq!(
        listed,
        [
            ("mathlib".to_string(), "2.0".to_string()),
            ("physics".to_string(), "1.0".to_string())
        ]
    );

    // A hand-written file with the same pins is resolved as usual, and collides.
    let hand = f.t.path("hand.txt");
    write(&hand, "physics==1.0\nmathlib==2.0\n");
    let env = f.env("hand");
    let before = snapshot(&env);
    let out = f.install(&env, &["-r", hand.to_str().unwrap()]);
    assert_user_error(&out, "mathlib");
    assert_eq!(snapshot(&env), before);
}

trait TapSort {
    fn tap_sort(self) -> Self;
}
impl TapSort for Vec<String> {
    fn tap_sort(mut self) -> Self {
        self.sort();
        self
    }
}

// ---------------------------------------------------------------------------------------
// 4. Reading locks
// ---------------------------------------------------------------------------------------

fn lock_for(f: &Fixture, reqs: &[&str], out: &Path) {
    let mut args: Vec<&OsStr> = vec![os("--index-url"), os(f.url()), os("lock")];
    args.extend(reqs.iter().map(os));
    args.extend([
        os("-o"),
        out.as_os_str(),
        os("--python"),
        f.python.as_os_str(),
    ]);
    let o = run(f, &args);
    assert_success(&o);
}

#[test]
fn create_lock_and_install_r_pylock_work() {
    let f = world();
    let lock = f.t.path("pylock.toml");
    lock_for(&f, &["top", "leaf==1.0"], &lock);
    let want = [
        ("leaf", "1.0"),
        ("mid", "2.0"),
        ("my-pkg-name", "0.5"),
        ("top", "1.0"),
    ];

    let x = f.t.path("x");
    assert_success(&run(
        &f,
        &[
            os("create"),
            x.as_os_str(),
            os("--python"),
            f.python.as_os_str(),
            os("--lock"),
            lock.as_os_str(),
        ],
    ));
    f.assert_installed(&x, &want);
    f.assert_pip_check_clean(&x);
    // Only what was asked for is marked as requested.
    let requested: Vec<String> = std::fs::read_dir(site_packages(&x))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("REQUESTED").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .tap_sort();
    assert_eq!(
        requested,
        vec![
            "leaf-1.0.dist-info".to_string(),
            "top-1.0.dist-info".to_string()
        ]
    );

    let y = f.env("y");
    f.install_ok(&y, &["-r", lock.to_str().unwrap()]);
    f.assert_installed(&y, &want);
    assert_same_files(&site_packages(&x), &site_packages(&y), &|_| false);
    // create -r takes a pylock.toml too.
    let w = f.t.path("w");
    assert_success(&run(
        &f,
        &[
            os("create"),
            w.as_os_str(),
            os("--python"),
            f.python.as_os_str(),
            os("-r"),
            lock.as_os_str(),
        ],
    ));
    assert_same_files(&site_packages(&x), &site_packages(&w), &|_| false);

    // The same lock is refused with other requirements next to it.
    let out = f.install(&y, &["-r", lock.to_str().unwrap(), "six"]);
    assert_user_error(&out, "pylock.toml");
}

#[test]
fn hand_written_lock_markers_wheels_and_unknown_keys() {
    let f = Fixture::new();
    let never = f.publish(wheel("never", "1.0"));
    let always = f.publish(wheel("always", "1.0"));
    let win = f.publish(
        WheelBuilder::new("multi", "1.0")
            .tag("cp39-cp39-win_amd64")
            .file("multi/__init__.py", "WHICH = 'win'\n"),
    );
    let any =
        f.publish(WheelBuilder::new("multi", "1.0").file("multi/__init__.py", "WHICH = 'any'\n"));
    // A wheel next to the lock, named by a relative path.
    let lock_dir = f.t.path("locks");
    let local = wheel("nearby", "0.1").build(lock_dir.join("wheels"));
    let lock = lock_dir.join("pylock.toml");
    let text = format!(
        r#"lock-version = "1.0"
requires-python = ">=3.8"
created-by = "a hand"
some-future-key = {{ a = 1 }}

[[packages]]
name = "never"
version = "1.0"
marker = "python_version < '3'"
wheels = [{never}]

[[packages]]
name = "always"
version = "1.0"
marker = "python_version >= '3' and sys_platform == 'linux'"
new-package-key = [1, 2]
wheels = [{always}]

[[packages]]
name = "multi"
version = "1.0"
wheels = [
    {win},
    {any},
]

[[packages]]
name = "nearby"
version = "0.1"
wheels = [{{ name = "nearby-0.1-py3-none-any.whl", path = "wheels/nearby-0.1-py3-none-any.whl", hashes = {{ sha256 = "{local_sha}" }}, new-file-key = "x" }}]

[packages.tool.someone-else]
anything = true

[tool.other]
x = 1
"#,
        never = lock_wheel(&f, &never),
        always = lock_wheel(&f, &always),
        win = lock_wheel(&f, &win),
        any = lock_wheel(&f, &any),
        local_sha = sha256_hex(&local),
    );
    write(&lock, &text);
    parse_toml(&lock);

    let x = f.t.path("x");
    let out = run(
        &f,
        &[
            os("create"),
            x.as_os_str(),
            os("--python"),
            f.python.as_os_str(),
            os("--lock"),
            lock.as_os_str(),
        ],
    );
    assert_success(&out);
    f.assert_installed(
        &x,
        &[("always", "1.0"), ("multi", "1.0"), ("nearby", "0.1")],
    );
    assert_eq!(
        common::py(&x.join("bin/python"), "import multi; print(multi.WHICH)"),
        "any"
    );

    // The same through install -r and sync.
    let y = f.env("y");
    f.install_ok(&y, &["-r", lock.to_str().unwrap()]);
    f.assert_installed(
        &y,
        &[("always", "1.0"), ("multi", "1.0"), ("nearby", "0.1")],
    );
    let z = f.env("z");
    assert_success(&run(&f, &[os("sync"), z.as_os_str(), lock.as_os_str()]));
    f.assert_installed(
        &z,
        &[("always", "1.0"), ("multi", "1.0"), ("nearby", "0.1")],
    );
    assert_same_files(&site_packages(&x), &site_packages(&z), &|_| false);
}

#[test]
fn sync_adds_changes_and_removes() {
    let f = Fixture::new();
    for (n, v) in [
        ("keep", "1.0"),
        ("bump", "1.0"),
        ("bump", "2.0"),
        ("gone", "1.0"),
        ("gone2", "1.0"),
        ("fresh", "1.0"),
        ("down", "1.0"),
        ("down", "2.0"),
    ] {
        f.publish(
            WheelBuilder::new(n, v)
                .file(&format!("{n}/__init__.py"), format!("V = {v:?}\n"))
                .entry_point("console_scripts", &format!("{n}-cli"), &format!("{n}:V")),
        );
    }
    let env = f.env("e");
    f.install_ok(
        &env,
        &["keep==1.0", "bump==1.0", "gone", "gone2", "down==2.0"],
    );
    let lock = f.t.path("pylock.toml");
    lock_for(&f, &["keep==1.0", "bump==2.0", "fresh", "down==1.0"], &lock);
    let keep_before = snapshot(&site_packages(&env).join("keep-1.0.dist-info"));

    // --dry-run prints the plan and changes nothing.
    let before = snapshot(&env);
    let out = run(
        &f,
        &[
            os("sync"),
            env.as_os_str(),
            lock.as_os_str(),
            os("--dry-run"),
        ],
    );
    assert_success(&out);
    assert!(stderr(&out).contains("+ 1 ~ 2 - 2"), "{}", stderr(&out));
    assert_eq!(snapshot(&env), before);

    let out = run(&f, &[os("sync"), env.as_os_str(), lock.as_os_str()]);
    assert_success(&out);
    let err = stderr(&out);
    assert!(err.contains("+ 1 ~ 2 - 2"), "{err}");
    for line in [
        " + fresh==1.0",
        " ~ bump 1.0 -> 2.0",
        " ~ down 2.0 -> 1.0",
        " - gone==1.0",
        " - gone2==1.0",
    ] {
        assert!(err.lines().any(|l| l == line), "no {line:?} in:\n{err}");
    }
    f.assert_installed(
        &env,
        &[
            ("bump", "2.0"),
            ("down", "1.0"),
            ("fresh", "1.0"),
            ("keep", "1.0"),
        ],
    );
    f.assert_pip_check_clean(&env);
    assert!(
        !env.join("bin/gone-cli").exists(),
        "a removed package's script stays"
    );
    assert!(env.join("bin/fresh-cli").exists());
    assert!(!site_packages(&env).join("gone").exists());
    // An unchanged package is left alone.
    assert_eq!(
        snapshot(&site_packages(&env).join("keep-1.0.dist-info")),
        keep_before
    );

    // A requirements file with pins works as a lock too (exact, with removals).
    let pins = f.t.path("pins.txt");
    let out = run(
        &f,
        &[
            os("--index-url"),
            os(f.url()),
            os("lock"),
            os("keep==1.0"),
            os("gone==1.0"),
            os("-o"),
            pins.as_os_str(),
            os("--python"),
            f.python.as_os_str(),
        ],
    );
    assert_success(&out);
    let out = run(
        &f,
        &[
            os("--index-url"),
            os(f.url()),
            os("sync"),
            env.as_os_str(),
            pins.as_os_str(),
        ],
    );
    assert_success(&out);
    assert!(stderr(&out).contains("+ 1 ~ 0 - 3"), "{}", stderr(&out));
    f.assert_installed(&env, &[("gone", "1.0"), ("keep", "1.0")]);

    // One argument: the lock, for $VIRTUAL_ENV.
    let lock2 = f.t.path("pylock2.toml");
    lock_for(&f, &["keep==1.0"], &lock2);
    let out =
        f.t.cmd([os("sync"), lock2.as_os_str()])
            .env("VIRTUAL_ENV", &env)
            .output()
            .unwrap();
    assert_success(&out);
    assert!(stderr(&out).contains("+ 0 ~ 0 - 1"), "{}", stderr(&out));
    f.assert_installed(&env, &[("keep", "1.0")]);
}

// ---------------------------------------------------------------------------------------
// 5. Bad input
// ---------------------------------------------------------------------------------------

/// An environment with `leaf 1.0` and a lock for `leaf 1.1` plus `mid 2.0`.
fn env_and_lock(f: &Fixture) -> (PathBuf, PathBuf, String) {
    let env = f.env("e");
    f.install_ok(&env, &["leaf==1.0"]);
    let lock = f.t.path("pylock.toml");
    lock_for(f, &["leaf==1.1", "mid==2.0"], &lock);
    let text = std::fs::read_to_string(&lock).unwrap();
    (env, lock, text)
}

/// Every way of reading the lock fails with `needle` and changes nothing.
fn assert_lock_refused(f: &Fixture, env: &Path, lock: &Path, needle: &str) {
    let before = snapshot(env);
    let tree_before = common::tree(env);
    let synced = run(f, &[os("sync"), env.as_os_str(), lock.as_os_str()]);
    let installed = f.install(env, &["-r", lock.to_str().unwrap()]);
    let x = f.t.path("never-created");
    let created = run(
        f,
        &[
            os("create"),
            x.as_os_str(),
            os("--python"),
            f.python.as_os_str(),
            os("--lock"),
            lock.as_os_str(),
        ],
    );
    // Unchanged first (so a wrong message does not hide a changed environment).
    assert_eq!(
        common::tree(env),
        tree_before,
        "sync or install changed the tree of {}",
        env.display()
    );
    assert_eq!(
        snapshot(env),
        before,
        "sync or install changed file contents in {}",
        env.display()
    );
    assert!(!x.exists(), "a failed create left {}", x.display());
    eprintln!("sync: {}", assert_user_error(&synced, needle));
    eprintln!("install: {}", assert_user_error(&installed, needle));
    eprintln!("create: {}", assert_user_error(&created, needle));
}

#[test]
fn lock_with_a_wrong_hash_changes_nothing() {
    let f = world();
    let (env, lock, text) = env_and_lock(&f);
    let mid = sha256_hex(f.files.join("mid-2.0-py3-none-any.whl"));
    assert!(text.contains(&mid), "{text}");
    write(&lock, &text.replace(&mid, &"0".repeat(64)));
    assert_lock_refused(&f, &env, &lock, "hash");
}

#[test]
fn lock_for_another_python_is_refused() {
    let f = world();
    let (env, lock, text) = env_and_lock(&f);
    let doc: toml::Table = text.parse().unwrap();
    let rp = doc["requires-python"].as_str().unwrap();
    write(
        &lock,
        &text.replace(
            &format!("requires-python = \"{rp}\""),
            "requires-python = \"==2.7.*\"",
        ),
    );
    assert!(std::fs::read_to_string(&lock).unwrap().contains("==2.7.*"));
    assert_lock_refused(&f, &env, &lock, "2.7");
}

#[test]
fn invalid_toml_names_the_line() {
    let f = world();
    let (env, lock, text) = env_and_lock(&f);
    // Cut in the middle of the first wheel table.
    let cut = text.find("url = ").unwrap() + 10;
    write(&lock, &text[..cut]);
    assert_lock_refused(&f, &env, &lock, "line");
}

#[test]
fn lock_version_2_is_refused() {
    let f = world();
    let (env, lock, text) = env_and_lock(&f);
    write(
        &lock,
        &text.replace("lock-version = \"1.0\"", "lock-version = \"2.0\""),
    );
    assert_lock_refused(&f, &env, &lock, "lock-version");

    // A newer 1.x is read (keys it adds are ignored), with a warning.
    write(
        &lock,
        &text.replace("lock-version = \"1.0\"", "lock-version = \"1.1\""),
    );
    let out = run(&f, &[os("sync"), env.as_os_str(), lock.as_os_str()]);
    assert_success(&out);
    assert!(stderr(&out).contains("1.1"), "{}", stderr(&out));
    f.assert_installed(&env, &[("leaf", "1.1"), ("mid", "2.0")]);
}

#[test]
fn lock_for_another_platform_is_refused() {
    let f = world();
    let (env, lock, text) = env_and_lock(&f);
    let text = text.replace(
        "created-by = \"envtool\"",
        "created-by = \"envtool\"\nenvironments = [\"sys_platform == 'win32'\"]",
    );
    write(&lock, &text);
    assert!(parse_toml(&lock).contains_key("environments"));
    assert_lock_refused(&f, &env, &lock, "win32");
}

#[test]
fn lock_naming_a_missing_file_changes_nothing() {
    // A lock whose file is no longer where it says (a wheel, then an sdist), after a file
    // that is there: nothing is installed, and the message says what is missing.
    let f = world();
    let env = f.env("e");
    f.install_ok(&env, &["leaf==1.0"]);
    let lock = f.t.path("pylock.toml");
    let gone = wheel("gone", "1.0").build(f.t.path("elsewhere"));
    let template = |entry: String| {
        format!(
            r#"lock-version = "1.0"
created-by = "a hand"

[[packages]]
name = "mid"
version = "2.0"
wheels = [{mid}]

[[packages]]
name = "gone"
version = "1.0"
{entry}
"#,
            mid = lock_wheel(&f, &f.files.join("mid-2.0-py3-none-any.whl")),
        )
    };
    write(
        &lock,
        &template(format!("wheels = [{}]", lock_wheel(&f, &gone))),
    );
    assert_lock_refused(&f, &env, &lock, "gone-1.0-py3-none-any.whl");
    write(
        &lock,
        &template(format!(
            "sdist = {{ name = \"gone-1.0.tar.gz\", url = \"{}/files/gone-1.0.tar.gz\", hashes = {{ sha256 = \"{}\" }} }}",
            f.server().base(),
            "0".repeat(64)
        )),
    );
    assert_lock_refused(&f, &env, &lock, "gone-1.0.tar.gz");
}

#[test]
fn requirements_with_a_wrong_hash_change_nothing() {
    let f = world();
    let src = f.env("src");
    f.install_ok(&src, &["top"]);
    let reqs = freeze(&f, &src, &["--hashes"]);
    let mid = sha256_hex(f.files.join("mid-2.0-py3-none-any.whl"));
    assert!(reqs.contains(&mid), "{reqs}");
    let file = f.t.path("requirements.lock");
    write(&file, &reqs.replace(&mid, &"0".repeat(64)));

    let env = f.env("e");
    f.install_ok(&env, &["leaf==1.0"]);
    let before = snapshot(&env);
    let out = f.install(&env, &["-r", file.to_str().unwrap()]);
    eprintln!("{}", assert_user_error(&out, "hash"));
    assert_eq!(snapshot(&env), before);
    let new = f.t.path("new");
    let out = create(&f, &new, &f.python, &[os("-r"), file.as_os_str()]);
    assert_user_error(&out, "hash");
    assert!(!new.exists(), "a failed create left {}", new.display());
}

#[test]
fn damaged_dist_info_fails_freeze_unless_ignore_broken() {
    let f = world();
    let env = f.env("e");
    f.install_ok(&env, &["leaf", "mid", "tool"]);
    let damaged = site_packages(&env).join("mid-2.0.dist-info");
    std::fs::remove_file(damaged.join("METADATA")).unwrap();
    let before = snapshot(&env);

    let out = run(&f, &[os("freeze"), env.as_os_str()]);
    let err = assert_user_error(&out, "mid-2.0.dist-info");
    assert!(err.contains("--ignore-broken"), "{err}");
    assert_eq!(stdout(&out), "");

    let out = run(&f, &[os("freeze"), env.as_os_str(), os("--ignore-broken")]);
    assert_success(&out);
    assert_eq!(stdout(&out), "leaf==1.1\ntool==3.0\n");
    assert!(
        stderr(&out).contains("mid-2.0.dist-info"),
        "{}",
        stderr(&out)
    );
    assert_eq!(snapshot(&env), before);
}

#[test]
fn freeze_finds_the_environment_or_says_what_was_tried() {
    let f = world();
    let out = f.t.run(["freeze"]);
    let err = assert_user_error(&out, "VIRTUAL_ENV");
    assert!(err.contains(".venv"), "{err}");
    let out = f.t.run(["freeze", "does-not-exist"]);
    assert_user_error(&out, "does-not-exist");

    // $VIRTUAL_ENV, then ./.venv.
    let env = f.env("e");
    f.install_ok(&env, &["leaf==1.0"]);
    let out =
        f.t.cmd(["freeze"])
            .env("VIRTUAL_ENV", &env)
            .output()
            .unwrap();
    assert_success(&out);
    assert_eq!(stdout(&out), "leaf==1.0\n");
    let dot = f.env(".venv");
    f.install_ok(&dot, &["mid==1.0"]);
    assert_eq!(f.t.ok(["freeze"]), "mid==1.0\n");
}

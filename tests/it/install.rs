//! `envtool install`: pinned wheels from a local index through the content-addressed cache,
//! checked against what real pip sees in the environment.

use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::{assert_success, assert_user_error, tree};
use crate::fixture::{files_below, lexical, parse_record, record_hash, stderr, wheel, Fixture};
use crate::support::{sha256_hex, truncate_file, WheelBuilder};
use crate::{common, fixture, support};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// `demo 1.0`: a package with a console script, a `#!python` data script, a data file, and a
/// dependency on `dep`.
fn demo() -> WheelBuilder {
    WheelBuilder::new("demo", "1.0")
        .file("demo/__init__.py", "VALUE = 1\n")
        .file(
            "demo/cli.py",
            "def main():\n    print('hello from demo')\n    return 0\n",
        )
        .data(
            "scripts",
            "demo-script",
            "#!python\nimport sys\nprint('script ran on', sys.prefix)\n",
        )
        .data("data", "share/demo/readme.txt", "read me\n")
        .entry_point("console_scripts", "demo-cli", "demo.cli:main")
        .requires_dist("dep>=1.0")
}

/// A fixture publishing `demo 1.0` and `dep 1.0`.
fn demo_world() -> Fixture {
    let fx = Fixture::new();
    fx.publish(demo());
    fx.publish(wheel("dep", "1.0"));
    fx
}

/// The RECORD of `name-version` in `env`, as (absolute lexical path, hash, size) rows.
fn record_of(fx: &Fixture, env: &Path, dist_info: &str) -> Vec<(PathBuf, String, String)> {
    let site = fx.site_packages(env);
    let text = std::fs::read_to_string(site.join(dist_info).join("RECORD")).unwrap();
    parse_record(&text)
        .into_iter()
        .map(|(p, h, s)| (lexical(&site.join(p)), h, s))
        .collect()
}

/// Run a failing install and check that the environment is exactly as it was, and that
/// the failure is a user error mentioning `needle`.
fn assert_rejected(fx: &Fixture, env: &Path, args: &[&str], needle: &str) -> String {
    let before = tree(env);
    let out = fx.install(env, args);
    assert_eq!(
        tree(env),
        before,
        "the failed install changed {}\n{}",
        env.display(),
        stderr(&out)
    );
    assert_user_error(&out, needle)
}

/// `assert_rejected`, and the cache holds nothing from the bad input (checked before the
/// message, so a missing hint does not hide a bad cache entry).
fn assert_rejected_clean(fx: &Fixture, env: &Path, args: &[&str], needle: &str) -> String {
    let before = tree(env);
    let out = fx.install(env, args);
    assert_eq!(
        tree(env),
        before,
        "the failed install changed {}\n{}",
        env.display(),
        stderr(&out)
    );
    fx.assert_no_bad_cache_entries();
    assert_user_error(&out, needle)
}

/// Deterministic incompressible bytes (xorshift64*).
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

// ---------------------------------------------------------------------------------------
// 1. A pure wheel, as pip sees it
// ---------------------------------------------------------------------------------------

#[test]
fn pure_wheel_with_scripts_and_data_is_what_pip_expects() {
    let fx = demo_world();
    let env = fx.env("e");
    let before_files = files_below(&env);
    fx.install_ok(&env, &["demo==1.0"]);

    // pip sees both, and is happy with the dependency.
    fx.assert_installed(&env, &[("demo", "1.0"), ("dep", "1.0")]);
    fx.assert_pip_check_clean(&env);

    // pip show -f lists the package, the scripts and the data file.
    let show = fx.pip_ok(&env, &["show", "-f", "demo"]);
    for needle in [
        "Name: demo",
        "Version: 1.0",
        "Requires: dep",
        "demo/__init__.py",
        "demo/cli.py",
        "bin/demo-cli",
        "bin/demo-script",
        "share/demo/readme.txt",
        "demo-1.0.dist-info/RECORD",
    ] {
        assert!(
            show.contains(needle),
            "pip show -f lacks {needle:?}:\n{show}"
        );
    }

    // The console script runs from bin.
    let out = std::process::Command::new(env.join("bin/demo-cli"))
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "hello from demo"
    );

    // The #!python script names the environment's interpreter, and runs there.
    let script = std::fs::read_to_string(env.join("bin/demo-script")).unwrap();
    let first = script.lines().next().unwrap();
    assert_eq!(
        first,
        format!("#!{}", env.join("bin/python").display()),
        "{script}"
    );
    let mode = std::fs::metadata(env.join("bin/demo-script"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "the script is executable ({mode:o})");
    let out = std::process::Command::new(env.join("bin/demo-script"))
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("script ran on {}", env.display())
    );

    // The data file landed under the environment's data directory.
    assert_eq!(
        std::fs::read_to_string(env.join("share/demo/readme.txt")).unwrap(),
        "read me\n"
    );

    // RECORD: every row exists with the right hash and size; every new file is listed.
    let site = fx.site_packages(&env);
    let mut listed = BTreeSet::new();
    for (name, dist_info) in [("demo", "demo-1.0.dist-info"), ("dep", "dep-1.0.dist-info")] {
        for (path, hash, size) in record_of(&fx, &env, dist_info) {
            assert!(
                path.starts_with(&env),
                "{name}: RECORD row outside the env: {}",
                path.display()
            );
            assert!(
                path.is_file(),
                "{name}: RECORD lists a missing file {}",
                path.display()
            );
            if path.file_name().unwrap() == "RECORD" {
                assert_eq!((hash.as_str(), size.as_str()), ("", ""), "RECORD's own row");
            } else {
                let bytes = std::fs::read(&path).unwrap();
                assert_eq!(
                    hash,
                    record_hash(&bytes),
                    "{name}: wrong hash for {}",
                    path.display()
                );
                assert_eq!(
                    size,
                    bytes.len().to_string(),
                    "{name}: wrong size for {}",
                    path.display()
                );
            }
            listed.insert(path);
        }
        let dist_info_dir = site.join(dist_info);
        assert_eq!(
            std::fs::read_to_string(dist_info_dir.join("INSTALLER")).unwrap(),
            "envtool\n"
        );
    }
    let new_files: BTreeSet<PathBuf> = files_below(&env)
        .into_iter()
        .filter(|f| !before_files.contains(f))
        .map(|f| env.join(f))
        .collect();
    let unlisted: Vec<_> = new_files.difference(&listed).collect();
    assert!(
        unlisted.is_empty(),
        "installed but not in any RECORD: {unlisted:?}"
    );

    // REQUESTED for what was named, not for the dependency.
    assert!(site.join("demo-1.0.dist-info/REQUESTED").is_file());
    assert!(!site.join("dep-1.0.dist-info/REQUESTED").exists());

    // pip accepts our RECORD: uninstalling removes every file, scripts included.
    fx.pip_ok(&env, &["uninstall", "-y", "demo", "dep"]);
    assert_eq!(
        files_below(&env),
        before_files,
        "pip uninstall left files behind"
    );
    assert!(!env.join("bin/demo-cli").exists() && !env.join("bin/demo-script").exists());
    assert!(fx.pip_list(&env).is_empty());
}

// ---------------------------------------------------------------------------------------
// 2. Platform wheels
// ---------------------------------------------------------------------------------------

#[test]
fn platform_wheel_for_another_platform_is_refused_with_the_tags_named() {
    let fx = Fixture::new();
    fx.publish(
        WheelBuilder::new("plat", "1.0")
            .tag("cp39-cp39-win_amd64")
            .root_is_purelib(false)
            .file("plat/__init__.py", "")
            .file("plat/_native.pyd", b"MZ not really"),
    );
    let env = fx.env("e");
    let err = assert_rejected_clean(&fx, &env, &["plat==1.0"], "win_amd64");
    assert!(err.contains("cp39"), "the wheel's tags are named:\n{err}");
    // What this interpreter accepts is named too (its platform tags at least).
    let (cp, machine) = fixture::interpreter_tag(&fx.python);
    assert!(
        err.contains(&cp)
            || err.contains(&format!("linux_{machine}"))
            || err.contains("manylinux_2_"),
        "the interpreter's tags are named ({cp}, *linux*_{machine}):\n{err}"
    );
}

#[test]
fn platform_specific_wheel_wins_over_pure_one_of_the_same_version() {
    let fx = Fixture::new();
    let (cp, machine) = fixture::interpreter_tag(&fx.python);
    fx.publish(
        WheelBuilder::new("plat", "2.0")
            .tag(&format!("{cp}-{cp}-manylinux_2_17_{machine}"))
            .root_is_purelib(false)
            .file("plat/__init__.py", "KIND = 'native'\n")
            .file("plat/_native.so", b"\x7fELF fake shared object"),
    );
    fx.publish(
        WheelBuilder::new("plat", "2.0")
            .file("plat/__init__.py", "KIND = 'pure'\n")
            .file("plat/pure.py", ""),
    );
    let env = fx.env("e");
    fx.install_ok(&env, &["plat==2.0"]);
    let platlib = PathBuf::from(common::py(
        &env.join("bin/python"),
        "import sysconfig; print(sysconfig.get_path('platlib'))",
    ));
    assert_eq!(
        std::fs::read(platlib.join("plat/_native.so")).unwrap(),
        b"\x7fELF fake shared object"
    );
    assert!(!platlib.join("plat/pure.py").exists());
    assert_eq!(
        common::py(&env.join("bin/python"), "import plat; print(plat.KIND)"),
        "native"
    );
    let wheel_file = std::fs::read_to_string(platlib.join("plat-2.0.dist-info/WHEEL")).unwrap();
    assert!(wheel_file.contains("manylinux_2_17"), "{wheel_file}");
    fx.assert_installed(&env, &[("plat", "2.0")]);
    fx.assert_pip_check_clean(&env);
}

// ---------------------------------------------------------------------------------------
// 3. Link modes
// ---------------------------------------------------------------------------------------

#[test]
fn files_are_hard_links_into_the_cache_by_default_and_copies_on_request() {
    let fx = demo_world();
    let env = fx.env("linked");
    fx.install_ok(&env, &["demo==1.0"]);
    let site = fx.site_packages(&env);

    // The cache holds unpacked wheels under wheels-v2/<sha256>/.
    let demo_sha = sha256_hex(fx.files.join("demo-1.0-py3-none-any.whl"));
    let cached = fx.cache().join("wheels-v2").join(&demo_sha);
    assert!(
        cached.is_dir(),
        "no cache entry {}: {:?}",
        cached.display(),
        fx.cached_wheel_entries()
    );

    let installed = std::fs::metadata(site.join("demo/cli.py")).unwrap();
    let in_cache = std::fs::metadata(cached.join("demo/cli.py")).unwrap();
    assert_eq!(
        installed.ino(),
        in_cache.ino(),
        "demo/cli.py is a hard link to the cache"
    );
    assert!(installed.nlink() >= 2);

    // Files envtool writes itself are never links into the cache.
    for generated in [
        site.join("demo-1.0.dist-info/RECORD"),
        site.join("demo-1.0.dist-info/INSTALLER"),
        site.join("demo-1.0.dist-info/REQUESTED"),
        env.join("bin/demo-cli"),
        env.join("bin/demo-script"),
    ] {
        let m = std::fs::metadata(&generated).unwrap();
        assert_eq!(
            m.nlink(),
            1,
            "{} is shared with another file",
            generated.display()
        );
    }

    // --link-mode copy gives independent files with the same bytes.
    let env2 = fx.env("copied");
    fx.install_ok(&env2, &["demo==1.0", "--link-mode", "copy"]);
    let site2 = fx.site_packages(&env2);
    let copied = std::fs::metadata(site2.join("demo/cli.py")).unwrap();
    assert_ne!(copied.ino(), in_cache.ino());
    assert_eq!(copied.nlink(), 1);
    assert_eq!(
        std::fs::read(site2.join("demo/cli.py")).unwrap(),
        std::fs::read(cached.join("demo/cli.py")).unwrap()
    );
    // Writing through the copied file must not reach the cache.
    std::fs::write(site2.join("demo/cli.py"), "changed").unwrap();
    assert_ne!(
        std::fs::read(cached.join("demo/cli.py")).unwrap(),
        b"changed"
    );
    fx.assert_pip_check_clean(&env);
}

// ---------------------------------------------------------------------------------------
// 4. Warm cache, offline
// ---------------------------------------------------------------------------------------

#[test]
fn warm_cache_downloads_nothing_and_offline_installs_from_it() {
    let mut fx = demo_world();
    let first = fx.env("first");
    fx.install_ok(&first, &["demo==1.0"]);
    assert!(
        !fx.file_requests().is_empty(),
        "the first install downloads"
    );

    fx.server().clear_requests();
    let second = fx.env("second");
    fx.install_ok(&second, &["demo==1.0"]);
    assert_eq!(
        fx.file_requests(),
        Vec::<String>::new(),
        "the second install downloaded files"
    );
    fx.assert_installed(&second, &[("demo", "1.0"), ("dep", "1.0")]);

    fx.stop_server();
    let third = fx.env("third");
    let out = fx.t.run([
        "--offline".as_ref(),
        "--index-url".as_ref(),
        fx.url().as_ref(),
        "install".as_ref(),
        "--env".as_ref(),
        third.as_os_str(),
        "demo==1.0".as_ref(),
    ]);
    assert_success(&out);
    fx.assert_installed(&third, &[("demo", "1.0"), ("dep", "1.0")]);
    fx.assert_pip_check_clean(&third);
}

// ---------------------------------------------------------------------------------------
// 5. Uninstall
// ---------------------------------------------------------------------------------------

#[test]
fn uninstall_removes_exactly_the_recorded_files_and_prunes_empty_dirs() {
    let fx = demo_world();
    let env = fx.env("e");
    fx.install_ok(&env, &["dep==1.0"]);
    let with_dep_only = tree(&env);

    fx.install_ok(&env, &["demo==1.0"]);
    let recorded: Vec<PathBuf> = record_of(&fx, &env, "demo-1.0.dist-info")
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert!(recorded.iter().all(|p| p.exists()));

    let out = fx.t.run([
        "uninstall".as_ref(),
        "--env".as_ref(),
        env.as_os_str(),
        "demo".as_ref(),
    ]);
    assert_success(&out);
    for p in &recorded {
        assert!(!p.exists(), "{} survived the uninstall", p.display());
    }
    // Exactly what the install added is gone, empty directories (demo/, share/demo) included;
    // the dependency is untouched.
    assert_eq!(tree(&env), with_dep_only);
    fx.assert_installed(&env, &[("dep", "1.0")]);

    // A file the user added inside the package's directory stays, with its directory.
    fx.install_ok(&env, &["demo==1.0"]);
    let site = fx.site_packages(&env);
    std::fs::write(site.join("demo/local.cfg"), "mine").unwrap();
    let out = fx.t.run([
        "uninstall".as_ref(),
        "--env".as_ref(),
        env.as_os_str(),
        "demo".as_ref(),
    ]);
    assert_success(&out);
    assert_eq!(
        std::fs::read_to_string(site.join("demo/local.cfg")).unwrap(),
        "mine"
    );
    assert!(!site.join("demo/__init__.py").exists());
    assert!(!site.join("demo-1.0.dist-info").exists());
}

#[test]
fn uninstall_of_what_is_not_installed_is_a_user_error() {
    let fx = demo_world();
    let env = fx.env("e");
    fx.install_ok(&env, &["dep==1.0"]);
    let before = tree(&env);
    let out = fx.t.run([
        "uninstall".as_ref(),
        "--env".as_ref(),
        env.as_os_str(),
        "demo".as_ref(),
    ]);
    let err = assert_user_error(&out, "demo");
    assert!(err.contains("not installed"), "{err}");
    assert_eq!(tree(&env), before);
    // Naming one installed and one missing distribution removes neither.
    let out = fx.t.run([
        "uninstall".as_ref(),
        "--env".as_ref(),
        env.as_os_str(),
        "dep".as_ref(),
        "nothere".as_ref(),
    ]);
    assert_user_error(&out, "nothere");
    assert_eq!(tree(&env), before);
}

// ---------------------------------------------------------------------------------------
// 6. list --json, --dry-run
// ---------------------------------------------------------------------------------------

#[test]
fn list_json_agrees_with_pip() {
    let fx = demo_world();
    let env = fx.env("e");
    fx.install_ok(&env, &["demo==1.0"]);
    let out =
        fx.t.run(["list".as_ref(), env.as_os_str(), "--json".as_ref()]);
    assert_success(&out);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("list --json is not JSON ({e}):\n{}", fixture::stdout(&out)));
    let rows = doc["packages"].as_array().expect("packages").clone();
    assert_eq!(doc["constraints"], serde_json::json!([]));
    assert_eq!(doc["overrides"], serde_json::json!([]));
    let ours: std::collections::BTreeMap<String, String> = rows
        .iter()
        .map(|r| {
            (
                fixture::normalize(r["name"].as_str().unwrap()),
                r["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(ours, fx.pip_list(&env));
    let row = |name: &str| rows.iter().find(|r| r["name"] == name).unwrap().clone();
    assert_eq!(row("demo")["requested"], true);
    assert_eq!(row("dep")["requested"], false);
    assert_eq!(row("demo")["installer"], "envtool");

    // Plain list names the same things.
    let text = fx.t.ok(["list".as_ref(), env.as_os_str()]);
    assert!(
        text.contains("demo") && text.contains("dep") && text.contains("1.0"),
        "{text}"
    );
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let fx = demo_world();
    let env = fx.env("e");
    let before = tree(&env);
    let err = fx.install_ok(&env, &["demo==1.0", "--dry-run"]);
    assert!(
        err.contains("demo==1.0") && err.contains("dep==1.0"),
        "the plan names both:\n{err}"
    );
    assert_eq!(tree(&env), before);
    assert!(fx.pip_list(&env).is_empty());

    // Against an environment holding an older version, the plan shows the replacement.
    fx.publish(wheel("dep", "2.0"));
    fx.install_ok(&env, &["dep==1.0"]);
    let before = tree(&env);
    let err = fx.install_ok(&env, &["dep==2.0", "--dry-run"]);
    assert!(err.contains("1.0") && err.contains("2.0"), "{err}");
    assert_eq!(tree(&env), before);
    fx.assert_installed(&env, &[("dep", "1.0")]);
}

// ---------------------------------------------------------------------------------------
// Replacing, reinstalling, compiling, hash-checking mode
// ---------------------------------------------------------------------------------------

#[test]
fn upgrade_removes_the_old_versions_files() {
    let fx = Fixture::new();
    fx.publish(wheel("pkg", "1.0").file("pkg/old.py", "").entry_point(
        "console_scripts",
        "pkg-old",
        "pkg:main",
    ));
    let env = fx.env("e");
    fx.install_ok(&env, &["pkg==1.0"]);
    let site = fx.site_packages(&env);
    assert!(site.join("pkg/old.py").is_file() && env.join("bin/pkg-old").is_file());

    fx.publish(wheel("pkg", "2.0").file("pkg/new.py", ""));
    fx.install_ok(&env, &["pkg==2.0"]);
    fx.assert_installed(&env, &[("pkg", "2.0")]);
    assert!(
        !site.join("pkg/old.py").exists(),
        "1.0's module survived the upgrade"
    );
    assert!(
        !env.join("bin/pkg-old").exists(),
        "1.0's script survived the upgrade"
    );
    assert!(!site.join("pkg-1.0.dist-info").exists());
    assert!(site.join("pkg/new.py").is_file());
    fx.assert_pip_check_clean(&env);
    // pip can still remove it cleanly.
    fx.pip_ok(&env, &["uninstall", "-y", "pkg"]);
    assert!(
        !site.join("pkg").exists(),
        "left behind: {:?}",
        files_below(&site.join("pkg"))
    );
}

#[test]
fn reinstall_puts_back_a_damaged_file() {
    let fx = demo_world();
    let env = fx.env("e");
    fx.install_ok(&env, &["demo==1.0"]);
    let site = fx.site_packages(&env);
    let complete = tree(&env);
    std::fs::remove_file(site.join("demo/cli.py")).unwrap();
    fx.install_ok(&env, &["demo==1.0", "--reinstall"]);
    assert_eq!(tree(&env), complete);
    let out = std::process::Command::new(env.join("bin/demo-cli"))
        .output()
        .unwrap();
    assert_success(&out);
    fx.assert_pip_check_clean(&env);
}

#[test]
fn compile_writes_pyc_files_that_record_lists_and_uninstall_removes() {
    let fx = demo_world();
    let env = fx.env("e");
    let before = tree(&env);
    fx.install_ok(&env, &["demo==1.0", "--compile"]);
    let site = fx.site_packages(&env);
    let pycs: Vec<PathBuf> = files_below(&site.join("demo"))
        .into_iter()
        .filter(|f| f.ends_with(".pyc"))
        .map(|f| lexical(&site.join("demo").join(f)))
        .collect();
    assert!(
        pycs.len() >= 2,
        "no byte-compiled files: {:?}",
        files_below(&site.join("demo"))
    );
    // As pip does, RECORD lists the .pyc files it wrote.
    let listed: BTreeSet<PathBuf> = record_of(&fx, &env, "demo-1.0.dist-info")
        .into_iter()
        .map(|r| r.0)
        .collect();
    let unlisted: Vec<_> = pycs.iter().filter(|p| !listed.contains(*p)).collect();
    let out = fx.t.run([
        "uninstall".as_ref(),
        "--env".as_ref(),
        env.as_os_str(),
        "demo".as_ref(),
        "dep".as_ref(),
    ]);
    assert_success(&out);
    assert_eq!(
        tree(&env),
        before,
        "uninstall after --compile left files behind"
    );
    assert!(
        unlisted.is_empty(),
        "byte-compiled files missing from RECORD: {unlisted:?}"
    );
}

#[test]
fn require_hashes_demands_a_hash_for_every_package() {
    let fx = demo_world();
    let env = fx.env("e");
    let demo_sha = sha256_hex(fx.files.join("demo-1.0-py3-none-any.whl"));
    let dep_sha = sha256_hex(fx.files.join("dep-1.0-py3-none-any.whl"));
    let partial = fx.write(
        "partial.txt",
        &format!("demo==1.0 --hash=sha256:{demo_sha}\n"),
    );
    let err = assert_rejected(
        &fx,
        &env,
        &["--require-hashes", "-r", partial.to_str().unwrap()],
        "dep",
    );
    assert!(err.contains("hash"), "{err}");
    let unpinned = fx.write(
        "unpinned.txt",
        &format!("demo>=1.0 --hash=sha256:{demo_sha}\n"),
    );
    assert_rejected(
        &fx,
        &env,
        &["--require-hashes", "-r", unpinned.to_str().unwrap()],
        "demo",
    );
    let full = fx.write(
        "full.txt",
        &format!("demo==1.0 --hash=sha256:{demo_sha}\ndep==1.0 --hash=sha256:{dep_sha}\n"),
    );
    fx.install_ok(&env, &["--require-hashes", "-r", full.to_str().unwrap()]);
    fx.assert_installed(&env, &[("demo", "1.0"), ("dep", "1.0")]);
}

// ---------------------------------------------------------------------------------------
// 7. create with requirements
// ---------------------------------------------------------------------------------------

#[test]
fn create_installs_a_requirements_file() {
    let fx = demo_world();
    let reqs = fx.write("requirements.txt", "# pinned\ndemo==1.0\ndep==1.0\n");
    let dir = fx.t.path("made");
    fx.t.ok([
        "--index-url".as_ref(),
        fx.url().as_ref(),
        "create".as_ref(),
        dir.as_os_str(),
        "--python".as_ref(),
        fx.python.as_os_str(),
        "-r".as_ref(),
        reqs.as_os_str(),
    ]);
    fx.assert_installed(&dir, &[("demo", "1.0"), ("dep", "1.0")]);
    fx.assert_pip_check_clean(&dir);
    // Scripts name the final interpreter, not the staging directory.
    let script = std::fs::read_to_string(dir.join("bin/demo-cli")).unwrap();
    assert!(
        script.starts_with(&format!("#!{}\n", dir.join("bin/python").display())),
        "{script}"
    );
    let out = std::process::Command::new(dir.join("bin/demo-cli"))
        .output()
        .unwrap();
    assert_success(&out);
}

/// A requirements file that is not there is named once, with why, and the hint is about the
/// path (there is no line to fix); a file with a bad line gets the line's hint.
#[test]
fn a_missing_requirements_file_is_reported_once_with_a_hint_about_the_path() {
    let fx = demo_world();
    let env = fx.env("e");
    let missing = fx.t.path("no-such-requirements.txt");
    let out = fx.install(&env, &["-r", missing.to_str().unwrap()]);
    let err = assert_user_error(&out, "no-such-requirements.txt");
    assert_eq!(
        err.matches("No such file or directory").count(),
        1,
        "the reason should be given once:\n{err}"
    );
    assert!(!err.contains("at the line shown"), "{err}");
    assert!(err.contains("check that"), "{err}");
    let included = fx.write("top.txt", "demo==1.0\n-r not-here.txt\n");
    let out = fx.install(&env, &["-r", included.to_str().unwrap()]);
    let err = assert_user_error(&out, "not-here.txt");
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    assert!(err.contains("top.txt:2"), "{err}");
    let bad = fx.write("bad.txt", "demo==1.0\n--no-such-option\n");
    let out = fx.install(&env, &["-r", bad.to_str().unwrap()]);
    let err = assert_user_error(&out, "bad.txt:2");
    assert!(err.contains("at the line shown"), "{err}");
}

#[test]
fn create_that_fails_leaves_no_directory() {
    let fx = demo_world();
    let top_before = tree(fx.t.path("").as_path())
        .into_iter()
        .filter(|p| !p.starts_with("cache") && !p.starts_with("home"))
        .collect::<Vec<_>>();
    let dir = fx.t.path("broken");
    let out = fx.t.run([
        "--index-url".as_ref(),
        fx.url().as_ref(),
        "create".as_ref(),
        dir.as_os_str(),
        "--python".as_ref(),
        fx.python.as_os_str(),
        "demo==1.0".as_ref(),
        "no-such-package".as_ref(),
    ]);
    assert_user_error(&out, "no-such-package");
    assert!(!dir.exists(), "a failed create left {}", dir.display());
    let top_after = tree(fx.t.path("").as_path())
        .into_iter()
        .filter(|p| !p.starts_with("cache") && !p.starts_with("home"))
        .collect::<Vec<_>>();
    assert_eq!(
        top_after, top_before,
        "a failed create left something behind"
    );
}

// ---------------------------------------------------------------------------------------
// 8. Bad input: user errors, environment unchanged, no bad cache entry
// ---------------------------------------------------------------------------------------

#[test]
fn unknown_package() {
    let fx = demo_world();
    let env = fx.env("e");
    assert_rejected_clean(&fx, &env, &["no-such-thing==1.0"], "no-such-thing");
}

#[test]
fn version_that_does_not_exist() {
    let fx = demo_world();
    let env = fx.env("e");
    let err = assert_rejected_clean(&fx, &env, &["demo==9.9"], "9.9");
    assert!(
        err.contains("1.0"),
        "the available versions are named:\n{err}"
    );
}

#[test]
fn no_wheel_for_this_platform_names_the_tags() {
    let fx = Fixture::new();
    fx.publish(
        WheelBuilder::new("winonly", "1.0")
            .tag("cp39-cp39-win_amd64")
            .file("winonly/__init__.py", ""),
    );
    let env = fx.env("e");
    assert_rejected_clean(&fx, &env, &["winonly"], "cp39-cp39-win_amd64");
}

#[test]
fn only_an_sdist() {
    let fx = Fixture::new();
    std::fs::write(
        fx.files.join("srconly-1.0.tar.gz"),
        b"\x1f\x8b not really a tarball",
    )
    .unwrap();
    let env = fx.env("e");
    let err = assert_rejected_clean(&fx, &env, &["srconly==1.0"], "srconly");
    assert!(
        err.contains("source"),
        "the error says it is a source distribution:\n{err}"
    );
}

#[test]
fn hash_mismatch_with_the_index() {
    let fx = Fixture::new();
    fx.publish(wheel("solo", "1.0"));
    fx.server().set_wrong_hash("solo-1.0-py3-none-any.whl");
    let env = fx.env("e");
    let err = assert_rejected_clean(&fx, &env, &["solo==1.0"], "solo-1.0-py3-none-any.whl");
    assert!(err.to_lowercase().contains("hash"), "{err}");
}

#[test]
fn wrong_hash_in_a_requirements_file() {
    let fx = Fixture::new();
    fx.publish(wheel("solo", "1.0"));
    let env = fx.env("e");
    let wrong = "0".repeat(64);
    let reqs = fx.write("req.txt", &format!("solo==1.0 --hash=sha256:{wrong}\n"));
    let err = assert_rejected_clean(&fx, &env, &["-r", reqs.to_str().unwrap()], "solo");
    assert!(err.contains(&wrong), "the expected hash is shown:\n{err}");

    // With the right hash it installs.
    let right = sha256_hex(fx.files.join("solo-1.0-py3-none-any.whl"));
    let reqs = fx.write("req-ok.txt", &format!("solo==1.0 --hash=sha256:{right}\n"));
    fx.install_ok(&env, &["-r", reqs.to_str().unwrap()]);
    fx.assert_installed(&env, &[("solo", "1.0")]);

    // A warm cache does not excuse a wrong --hash.
    let env2 = fx.env("e2");
    let reqs = fx.t.path("req.txt");
    let err = assert_rejected(&fx, &env2, &["-r", reqs.to_str().unwrap()], "solo");
    assert!(err.contains(&wrong), "{err}");
}

#[test]
fn truncated_wheel_is_not_a_valid_wheel() {
    let fx = Fixture::new();
    let path = fx.publish(wheel("solo", "1.0").file("solo/data.txt", "x".repeat(5000)));
    let len = std::fs::metadata(&path).unwrap().len();
    truncate_file(&path, len / 2);
    let env = fx.env("e");
    let err = assert_rejected_clean(&fx, &env, &["solo==1.0"], "solo-1.0-py3-none-any.whl");
    assert!(
        err.contains("not a valid wheel") || err.contains("truncated"),
        "the error says the wheel is damaged:\n{err}"
    );
}

#[test]
fn wheel_with_a_parent_dir_entry_is_refused() {
    let fx = Fixture::new();
    fx.publish(wheel("evil", "1.0").raw_entry("../evil.txt", b"pwned"));
    let env = fx.env("e");
    let before = tree(&env);
    let out = fx.install(&env, &["evil==1.0"]);
    assert_eq!(tree(&env), before);
    fx.assert_no_bad_cache_entries();
    // Not next to the environment, the cache or its buckets, nor anywhere in the scratch tree.
    let escaped: Vec<_> = walkdir::WalkDir::new(fx.t.path(""))
        .into_iter()
        .flatten()
        .filter(|e| e.file_name() == "evil.txt")
        .map(|e| e.path().to_path_buf())
        .collect();
    assert!(escaped.is_empty(), "evil.txt was written: {escaped:?}");
    let err = assert_user_error(&out, "../evil.txt");
    assert!(err.contains("outside"), "{err}");
}

#[test]
fn wheel_whose_record_hash_is_tampered_is_refused() {
    let fx = Fixture::new();
    fx.publish(wheel("tamper", "1.0").tamper_record_hash("tamper/__init__.py"));
    let env = fx.env("e");
    let err = assert_rejected_clean(&fx, &env, &["tamper==1.0"], "tamper/__init__.py");
    assert!(err.contains("RECORD"), "{err}");
}

/// Append `name` once more to the zip at `path`, holding `contents`: a zip may name an entry
/// twice (Python's zipfile writes it, with a warning; the zip crate refuses to).
fn append_zip_entry(path: &Path, name: &str, contents: &[u8]) {
    let data = path.with_extension("entry");
    std::fs::write(&data, contents).unwrap();
    let out = std::process::Command::new(common::python())
        .args([
            "-W",
            "ignore",
            "-c",
            "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'a') as z:\n    z.writestr(sys.argv[2], open(sys.argv[3], 'rb').read())",
        ])
        .arg(path)
        .arg(name)
        .arg(&data)
        .output()
        .unwrap();
    assert_success(&out);
    std::fs::remove_file(&data).unwrap();
}

#[test]
fn a_wheel_naming_an_entry_twice_with_the_same_bytes_installs() {
    let fx = Fixture::new();
    let path = fx.publish(wheel("twice", "1.0").file("twice/mod.py", "X = 1\n"));
    append_zip_entry(&path, "twice/mod.py", b"X = 1\n");
    let env = fx.env("e");
    fx.install_ok(&env, &["twice==1.0"]);
    assert_eq!(
        std::fs::read_to_string(fx.site_packages(&env).join("twice/mod.py")).unwrap(),
        "X = 1\n"
    );
    fx.assert_pip_check_clean(&env);
}

#[test]
fn a_wheel_naming_an_entry_twice_with_other_bytes_is_refused() {
    let fx = Fixture::new();
    let path = fx.publish(wheel("twice", "1.0").file("twice/mod.py", "X = 1\n"));
    // Tools disagree on which copy wins (pip takes the last): the second one is not what
    // RECORD lists.
    append_zip_entry(&path, "twice/mod.py", b"import os; os.system('evil')\n");
    let env = fx.env("e");
    let err = assert_rejected_clean(&fx, &env, &["twice==1.0"], "twice/mod.py");
    assert!(err.contains("RECORD"), "{err}");
}

#[test]
fn a_wheel_with_a_second_record_is_refused() {
    let fx = Fixture::new();
    let path = fx.publish(wheel("tworec", "1.0").file("tworec/mod.py", "X = 1\n"));
    // A second RECORD that lists a file outside the environment (what an uninstall would
    // remove): which copy a reader takes must not matter, so neither is taken.
    append_zip_entry(
        &path,
        "tworec-1.0.dist-info/RECORD",
        b"../../../victim.txt,,\ntworec-1.0.dist-info/RECORD,,\n",
    );
    let env = fx.env("e");
    let err = assert_rejected_clean(&fx, &env, &["tworec==1.0"], "tworec-1.0-py3-none-any.whl");
    assert!(err.contains("RECORD"), "{err}");
}

/// Installing `solo==1.0` from a server announcing `announced(wheel length)` as every file's
/// length fails cleanly, saying `needle`, and caches nothing. (Without PEP 658 metadata the
/// wheel itself is downloaded.)
fn assert_lying_length_refused(contents: &[u8], announced: impl Fn(u64) -> u64, needle: &str) {
    let fx = Fixture::new();
    let path = fx.publish(wheel("solo", "1.0").file("solo/data.txt", contents));
    let len = std::fs::metadata(&path).unwrap().len();
    fx.server().set_metadata(false);
    fx.server().set_announced_length(Some(announced(len)));
    let env = fx.env("e");
    let err = assert_rejected_clean(&fx, &env, &["solo==1.0"], "solo-1.0-py3-none-any.whl");
    assert!(err.contains(needle), "{err}");
    assert!(fx.cached_wheel_entries().is_empty());
}

#[test]
fn a_download_shorter_than_its_announced_length_is_refused_cleanly() {
    // A terabyte announced, a few kilobytes sent: nothing of that size is set aside, and the
    // short body is an error.
    assert_lying_length_refused("x".repeat(5000).as_bytes(), |_| 1 << 40, "broke off");
}

#[test]
fn a_download_longer_than_its_announced_length_is_refused_cleanly() {
    // Only the announced bytes are read: a cut wheel, whose hash is not the index's.
    assert_lying_length_refused(&random_bytes(50_000, 3), |len| len / 2, "hash mismatch");
}

#[test]
fn pep_658_metadata_larger_than_the_response_limit_is_refused() {
    let fx = Fixture::new();
    fx.publish(wheel("solo", "1.0"));
    // A hostile index's metadata file that never ends (here: 200 kB, over a 50 kB limit).
    let huge = format!(
        "Metadata-Version: 2.1\nName: solo\nVersion: 1.0\nSummary: {}\n",
        "x".repeat(200_000)
    );
    fx.server()
        .override_metadata("solo-1.0-py3-none-any.whl", &huge, false);
    let env = fx.env("e");
    let before = tree(&env);
    let out = fx
        .install_cmd(&env, &["solo==1.0"])
        .env("ENVTOOL_MAX_RESPONSE_BYTES", "50000")
        .output()
        .unwrap();
    assert_eq!(tree(&env), before);
    let err = assert_user_error(&out, "solo-1.0-py3-none-any.whl.metadata");
    assert!(err.contains("more than envtool holds"), "{err}");
}

#[test]
fn a_wheel_too_big_to_keep_in_memory_installs_through_a_file() {
    // Downloads are kept in memory up to 16 MiB at a time (all downloads together); this one
    // is larger, so it goes through a file in the cache's temporary directory.
    let fx = Fixture::new();
    let blob = random_bytes(20 * 1024 * 1024, 11);
    fx.publish(wheel("huge", "1.0").file("huge/blob.bin", &blob));
    fx.publish(wheel("small", "1.0").file("small/blob.bin", random_bytes(100_000, 12)));
    let env = fx.env("e");
    fx.install_ok(&env, &["huge==1.0", "small==1.0"]);
    let site = fx.site_packages(&env);
    assert!(std::fs::read(site.join("huge/blob.bin")).unwrap() == blob);
    assert_eq!(
        std::fs::read(site.join("small/blob.bin")).unwrap(),
        random_bytes(100_000, 12)
    );
    let tmp = fx.cache().join("tmp-v1");
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .map(|rd| rd.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "temporary files left in {}: {left:?}",
        tmp.display()
    );
    fx.assert_pip_check_clean(&env);
}

/// Filling the cache removes nothing from it: each wheel is unpacked into a temporary
/// directory that is itself renamed into place. (A removal is not free for the files made
/// next: ext4 passes over recently deleted inodes when it allocates one; on a file system
/// without a journal, a cold install of jupyterlab took 1.7 s with a temporary directory
/// removed for each of its 92 wheels and 0.95 s without.)
#[test]
fn a_cold_install_removes_nothing_from_the_cache() {
    if !common::have_strace() {
        return support::skip("strace is not installed");
    }
    let fx = Fixture::new();
    for i in 0..3 {
        fx.publish(wheel(&format!("part{i}"), "1.0").file(&format!("part{i}/a/b.py"), "X = 1\n"));
    }
    let env = fx.env("e");
    let log = fx.t.path("strace.log");
    let cmd = fx.install_cmd(&env, &["part0==1.0", "part1==1.0", "part2==1.0"]);
    let out = common::under_strace(&cmd, "unlink,unlinkat,rmdir", &log)
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    if !out.status.success() && text.is_empty() {
        return support::skip(&format!(
            "strace cannot trace here: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    assert_success(&out);
    fx.assert_installed(
        &env,
        &[("part0", "1.0"), ("part1", "1.0"), ("part2", "1.0")],
    );
    let cache = fx.cache().to_string_lossy().into_owned();
    let removed: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(cache.as_str()) && !l.contains("ENOENT"))
        .collect();
    assert!(
        removed.is_empty(),
        "removed from the cache:\n{}",
        removed.join("\n")
    );
}

#[test]
fn index_unreachable() {
    let fx = Fixture::new();
    let env = fx.env("e");
    let url = format!("http://127.0.0.1:{}/simple", fixture::closed_port());
    let before = tree(&env);
    let out = fx.t.run([
        "--index-url".as_ref(),
        url.as_ref(),
        "install".as_ref(),
        "--env".as_ref(),
        env.as_os_str(),
        "solo==1.0".as_ref(),
    ]);
    assert_eq!(tree(&env), before);
    fx.assert_no_bad_cache_entries();
    assert_user_error(&out, "127.0.0.1");
}

#[test]
fn index_returning_garbage() {
    let fx = Fixture::new();
    fx.publish(wheel("solo", "1.0"));
    fx.server().set_garbage(true);
    let env = fx.env("e");
    assert_rejected_clean(&fx, &env, &["solo==1.0"], "solo");
}

#[test]
fn index_answering_500() {
    let fx = Fixture::new();
    fx.publish(wheel("solo", "1.0"));
    fx.server().set_status(Some(500));
    let env = fx.env("e");
    assert_rejected_clean(&fx, &env, &["solo==1.0"], "500");
}

#[test]
fn offline_with_pages_cached_but_no_wheel() {
    let mut fx = Fixture::new();
    fx.publish(wheel("solo", "1.0"));
    let env = fx.env("e");
    // A dry run reads the index pages (and metadata) but downloads no wheel.
    fx.install_ok(&env, &["solo==1.0", "--dry-run"]);
    assert!(fx.cached_wheel_entries().is_empty());
    fx.stop_server();
    let before = tree(&env);
    let out = fx.t.run([
        "--offline".as_ref(),
        "--index-url".as_ref(),
        fx.url().as_ref(),
        "install".as_ref(),
        "--env".as_ref(),
        env.as_os_str(),
        "solo==1.0".as_ref(),
    ]);
    let err = assert_user_error(&out, "solo-1.0-py3-none-any.whl");
    assert!(err.contains("offline"), "{err}");
    assert_eq!(tree(&env), before);
}

#[test]
fn offline_with_a_cold_cache() {
    let fx = Fixture::new();
    fx.publish(wheel("solo", "1.0"));
    let env = fx.env("e");
    let before = tree(&env);
    let out = fx.t.run([
        "--offline".as_ref(),
        "--index-url".as_ref(),
        fx.url().as_ref(),
        "install".as_ref(),
        "--env".as_ref(),
        env.as_os_str(),
        "solo==1.0".as_ref(),
    ]);
    assert_eq!(tree(&env), before);
    assert!(
        fx.server().requests().is_empty(),
        "--offline touched the network: {:?}",
        fx.server().requests()
    );
    fx.assert_no_bad_cache_entries();
    assert_user_error(&out, "offline");
}

#[test]
fn unwritable_environment() {
    let fx = Fixture::new();
    fx.publish(wheel("solo", "1.0"));
    // Root ignores permission bits: the install then runs as nobody, on an environment made
    // with an interpreter nobody can reach.
    let root = common::is_root();
    let env = if root {
        let dir = fx.t.path("e");
        fx.t.ok([
            "create".as_ref(),
            dir.as_os_str(),
            "--python".as_ref(),
            "/usr/bin/python3".as_ref(),
        ]);
        dir
    } else {
        fx.env("e")
    };
    let site = fx.site_packages(&env);
    std::fs::set_permissions(&site, std::fs::Permissions::from_mode(0o555)).unwrap();
    let before = tree(&env);
    let out = if root {
        let Some(mut cmd) = common::as_nobody(&fx.t) else {
            return;
        };
        cmd.args(["--index-url", fx.url(), "install", "--env"])
            .arg(&env)
            .arg("solo==1.0");
        cmd.output().unwrap()
    } else {
        fx.install(&env, &["solo==1.0"])
    };
    std::fs::set_permissions(&site, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(tree(&env), before);
    assert_user_error(&out, "ermission");
}

#[test]
fn failure_in_the_middle_of_applying_rolls_everything_back() {
    let fx = Fixture::new();
    fx.publish(
        wheel("aaa", "1.0")
            .file("aaa/only_in_1.py", "")
            .entry_point("console_scripts", "aaa", "aaa:main"),
    );
    fx.publish(wheel("aaa", "2.0").file("aaa/only_in_2.py", ""));
    fx.publish(wheel("mmm", "1.0"));
    // Unpacks fine, but `.data/weird/` is no install scheme: installing it fails.
    fx.publish(wheel("zzz", "1.0").data("weird", "x.txt", "x"));
    let env = fx.env("e");
    fx.install_ok(&env, &["aaa==1.0"]);
    let before = tree(&env);
    let record_before =
        std::fs::read(fx.site_packages(&env).join("aaa-1.0.dist-info/RECORD")).unwrap();

    // The plan removes aaa 1.0, installs mmm, installs zzz (which fails), installs aaa 2.0.
    let err = assert_rejected(&fx, &env, &["aaa==2.0", "mmm", "zzz"], "weird");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(tree(&env), before);
    assert_eq!(
        std::fs::read(fx.site_packages(&env).join("aaa-1.0.dist-info/RECORD")).unwrap(),
        record_before
    );
    fx.assert_installed(&env, &[("aaa", "1.0")]);
    fx.assert_pip_check_clean(&env);
    assert!(env.join("bin/aaa").is_file());
}

#[test]
fn html_index_without_pep658_metadata() {
    let fx = demo_world();
    fx.server().set_mode(support::Mode::Html);
    fx.server().set_metadata(false);
    let env = fx.env("e");
    fx.install_ok(&env, &["demo==1.0"]);
    fx.assert_installed(&env, &[("demo", "1.0"), ("dep", "1.0")]);
    fx.assert_pip_check_clean(&env);
    assert!(
        !fx.server()
            .requests()
            .iter()
            .any(|r| r.ends_with(".metadata")),
        "asked for metadata files the index does not advertise: {:?}",
        fx.server().requests()
    );
}

// ---------------------------------------------------------------------------------------
// 9. Concurrency
// ---------------------------------------------------------------------------------------

#[test]
fn two_processes_install_the_same_set_with_one_cache() {
    let fx = demo_world();
    for i in 0..4 {
        fx.publish(
            wheel(&format!("extra{i}"), "1.0")
                .file(&format!("extra{i}/blob.bin"), random_bytes(200_000, i)),
        );
    }
    let a = fx.env("a");
    let b = fx.env("b");
    let args = ["demo==1.0", "extra0", "extra1", "extra2", "extra3"];
    let first = fx
        .install_cmd(&a, &args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let second = fx
        .install_cmd(&b, &args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out_a = first.wait_with_output().unwrap();
    let out_b = second.wait_with_output().unwrap();
    assert_success(&out_a);
    assert_success(&out_b);
    for env in [&a, &b] {
        fx.assert_installed(
            env,
            &[
                ("demo", "1.0"),
                ("dep", "1.0"),
                ("extra0", "1.0"),
                ("extra1", "1.0"),
                ("extra2", "1.0"),
                ("extra3", "1.0"),
            ],
        );
        fx.assert_pip_check_clean(env);
    }
    // One cache entry per wheel, nothing left in the temporary bucket.
    assert_eq!(
        fx.cached_wheel_entries().len(),
        6,
        "{:?}",
        fx.cached_wheel_entries()
    );
    let tmp = fx.cache().join("tmp-v1");
    let leftovers = std::fs::read_dir(&tmp).map(|rd| rd.count()).unwrap_or(0);
    assert_eq!(leftovers, 0, "leftovers in {}", tmp.display());
}

// ---------------------------------------------------------------------------------------
// 10. Interrupt
// ---------------------------------------------------------------------------------------

/// Send SIGINT `delay` after starting an install of `args` into a fresh environment, and
/// return (outcome, stderr), asserting the environment is `pristine` or `complete`.
fn interrupt_once(
    fx: &Fixture,
    name: &str,
    args: &[&str],
    delay: Duration,
    pristine: &[String],
    complete: &[String],
) -> String {
    let env = fx.env(name);
    assert_eq!(tree(&env), pristine);
    let child = fx
        .install_cmd(&env, args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    // SAFETY: the pid is our own child's, which has not been waited for yet.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    let now = tree(&env);
    let state = if now == complete {
        "complete"
    } else if now == pristine {
        "unchanged"
    } else {
        let extra: Vec<_> = now.iter().filter(|p| !complete.contains(p)).collect();
        let missing: Vec<_> = complete.iter().filter(|p| !now.contains(p)).collect();
        panic!(
            "after SIGINT at {delay:?} ({:?}) the environment is partial:\nnot in the complete tree: {extra:?}\n\
             missing from it: {missing:?}\nstderr:\n{err}",
            out.status
        );
    };
    if out.status.success() {
        assert_eq!(state, "complete", "success but not complete:\n{err}");
    }
    if state == "complete" {
        fx.assert_pip_check_clean(&env);
    }
    let rolled_back = if err.contains("interrupted") {
        ", rolled back"
    } else {
        ""
    };
    format!(
        "{delay:?}: {state} (exit {:?}{rolled_back})",
        out.status.code()
    )
}

#[test]
fn interrupted_install_leaves_the_environment_whole_or_unchanged() {
    let fx = Fixture::new();
    fx.publish(wheel("big", "1.0").file("big/blob.bin", random_bytes(20 * 1024 * 1024, 7)));
    // Many files make the apply phase (the part that changes the environment) long enough
    // to be hit by the signal.
    let mut many = wheel("many", "1.0");
    for i in 0..400 {
        many = many.file(&format!("many/m{i:03}.py"), format!("X = {i}\n"));
    }
    fx.publish(many);
    let mut names = vec!["big".to_string(), "many".to_string()];
    for i in 0..4 {
        let name = format!("small{i}");
        fx.publish(
            wheel(&name, "1.0").file(&format!("{name}/part.bin"), random_bytes(300_000, 100 + i)),
        );
        names.push(name);
    }
    let args: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .chain(["--link-mode", "copy"])
        .collect();

    // The whole state, from an uninterrupted install in an environment of the same shape.
    let reference = fx.env("ref");
    let pristine = tree(&reference);
    let start = std::time::Instant::now();
    fx.install_ok(&reference, &args);
    let cold = start.elapsed();
    let complete = tree(&reference);
    let warm_env = fx.env("warm");
    let start = std::time::Instant::now();
    fx.install_ok(&warm_env, &args);
    let warm = start.elapsed();

    let mut outcomes = vec![format!("uninterrupted: cold {cold:?}, warm {warm:?}")];
    // Warm cache: the signal lands anywhere from start-up to the end of the apply phase.
    for k in 1..=10u32 {
        let delay = warm * k / 10;
        outcomes.push(interrupt_once(
            &fx,
            &format!("w{k}"),
            &args,
            delay,
            &pristine,
            &complete,
        ));
    }
    // Cold cache: during downloads and unpacking too.
    for k in [1u32, 3, 5, 7, 9] {
        std::fs::remove_dir_all(fx.cache()).unwrap();
        let delay = cold * k / 10;
        outcomes.push(interrupt_once(
            &fx,
            &format!("c{k}"),
            &args,
            delay,
            &pristine,
            &complete,
        ));
    }
    eprintln!("interrupt outcomes: {outcomes:#?}");
}

/// Two distributions of one plan that ship the same file in a new directory (old-style
/// namespace packages): installing them together must not fail on the shared file.
#[test]
fn distributions_sharing_a_file_install_together() {
    let fx = Fixture::new();
    for name in ["nsa", "nsb", "nsc", "nsd"] {
        fx.publish(
            wheel(name, "1.0")
                .file(
                    "shared_ns/__init__.py",
                    "__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n",
                )
                .file(
                    &format!("shared_ns/{name}.py"),
                    format!("NAME = '{name}'\n"),
                ),
        );
    }
    let env = fx.env("e");
    fx.install_ok(&env, &["nsa==1.0", "nsb==1.0", "nsc==1.0", "nsd==1.0"]);
    let site = fx.site_packages(&env);
    for name in ["nsa", "nsb", "nsc", "nsd"] {
        assert!(site.join(format!("shared_ns/{name}.py")).is_file());
    }
    fx.assert_pip_check_clean(&env);
    // Removing one leaves the others importable.
    fx.pip_ok(&env, &["uninstall", "-y", "nsa"]);
    assert!(site.join("shared_ns/nsb.py").is_file());
}

/// A cache entry whose description was damaged is replaced, not used and not fatal.
#[test]
fn a_damaged_cache_entry_is_fetched_again() {
    let fx = demo_world();
    let env = fx.env("e");
    fx.install_ok(&env, &["demo==1.0"]);
    let entries = fx.cached_wheel_entries();
    assert!(!entries.is_empty());
    let bucket = fx.cache().join("wheels-v2");
    for entry in &entries {
        let info = bucket.join(entry).join(".envtool-wheel.json");
        if info.exists() {
            std::fs::write(&info, "{ not json").unwrap();
        }
    }
    let env2 = fx.env("e2");
    fx.install_ok(&env2, &["demo==1.0"]);
    fx.assert_pip_check_clean(&env2);
    for entry in fx.cached_wheel_entries() {
        let info = std::fs::read(bucket.join(&entry).join(".envtool-wheel.json")).unwrap();
        serde_json::from_slice::<serde_json::Value>(&info).expect("the entry was rebuilt");
    }
}

/// An exact pin whose version the cached page already lists asks the index nothing (files
/// never change once published); a range still revalidates the page.
#[test]
fn exact_pins_use_the_cached_page_and_ranges_revalidate() {
    let fx = demo_world();
    fx.install_ok(&fx.env("e1"), &["demo==1.0"]);
    fx.server().clear_requests();
    fx.install_ok(&fx.env("e2"), &["demo==1.0", "dep==1.0"]);
    let requests = fx.server().requests();
    assert!(
        requests.is_empty(),
        "a pinned warm install asked the index: {requests:?}"
    );
    fx.install_ok(&fx.env("e3"), &["demo>=1.0"]);
    let requests = fx.server().requests();
    assert!(
        requests.iter().any(|r| r.contains("/simple/demo/")),
        "a range must revalidate the page: {requests:?}"
    );
    assert!(
        !requests.iter().any(|r| r.contains("/files/")),
        "{requests:?}"
    );
}

/// Files can be added to an old version (a wheel for a new platform): a cached page without a
/// usable file for the pin is asked for again.
#[test]
fn a_pin_whose_cached_page_has_no_usable_file_asks_again() {
    let fx = Fixture::new();
    fx.publish(
        wheel("late", "1.0")
            .tag("cp39-cp39-win_amd64")
            .file("late.py", ""),
    );
    let env = fx.env("e");
    let out = fx.install(&env, &["late==1.0"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    fx.publish(wheel("late", "1.0").file("late.py", "WHERE = 'any'\n"));
    fx.install_ok(&env, &["late==1.0"]);
    fx.assert_installed(&env, &[("late", "1.0")]);
}

/// Command lines that cannot work are refused with a hint, and change nothing.
#[test]
fn requests_that_cannot_work_are_refused() {
    let fx = demo_world();
    let env = fx.env("e");
    let before = common::tree(&env);
    common::assert_user_error(&fx.install(&env, &[]), "nothing to install");
    let out =
        fx.t.cmd(["--no-index", "install", "--env"])
            .arg(&env)
            .arg("demo==1.0")
            .output()
            .unwrap();
    common::assert_user_error(&out, "no package index is configured");
    let lock = fx.write(
        "pylock.toml",
        "lock-version = \"1.0\"\ncreated-by = \"x\"\n",
    );
    let out = fx.install(&env, &["-r", lock.to_str().unwrap(), "demo==1.0"]);
    common::assert_user_error(&out, "on its own");
    let out = fx
        .install_cmd(&env, &["demo==1.0"])
        .env("ENVTOOL_LINK_MODE", "symlink")
        .output()
        .unwrap();
    common::assert_user_error(&out, "ENVTOOL_LINK_MODE");
    assert_eq!(common::tree(&env), before);
}

// ---------------------------------------------------------------------------------------
// Regressions from the shape of the old pipeline
// ---------------------------------------------------------------------------------------

/// Regression: a wheel given by path skipped the platform-tag check index wheels pass, so a
/// Windows-only wheel installed on Linux.
#[test]
fn a_wheel_by_path_for_another_platform_is_refused() {
    let fx = Fixture::new();
    let dist = fx.t.path("dist");
    let path = wheel("winonly", "1.0")
        .tag("cp312-cp312-win_amd64")
        .root_is_purelib(false)
        .build(&dist);
    let env = fx.env("e");
    let before = tree(&env);
    let out = fx.install(&env, &[path.to_str().unwrap()]);
    assert_user_error(&out, "is not a supported wheel on this platform");
    assert_eq!(tree(&env), before);
}

/// Regression: `install --no-index ./x.whl` failed with "no package index is configured"
/// unless some find-links directory happened to be set; pip installs it.
#[test]
fn no_index_installs_a_wheel_given_by_path() {
    let fx = Fixture::new();
    let dist = fx.t.path("dist");
    let path = wheel("solo", "1.0").file("solo.py", "X = 1\n").build(&dist);
    let env = fx.env("e");
    let out =
        fx.t.cmd(["--no-index", "install", "--env"])
            .arg(&env)
            .arg(&path)
            .output()
            .unwrap();
    assert_success(&out);
    fx.assert_installed(&env, &[("solo", "1.0")]);
    // A name that must be looked up still needs an index, and says so.
    let out =
        fx.t.cmd(["--no-index", "install", "--env"])
            .arg(&env)
            .arg("other")
            .output()
            .unwrap();
    assert_user_error(&out, "no package index is configured");
}

/// Regression: a URL or path in a constraints file was silently ignored and the index's
/// artifact installed. It now allows that artifact only, and only when something needs it.
#[test]
fn a_path_in_a_constraints_file_is_honoured() {
    let fx = Fixture::new();
    fx.publish(wheel("forklib", "1.0"));
    fx.publish(wheel("forklib", "2.0"));
    fx.publish(wheel("app", "1.0").requires_dist("forklib"));
    fx.publish(wheel("unused", "1.0"));
    let dist = fx.t.path("dist");
    let forked = wheel("forklib", "1.5+fork").build(&dist);
    let unused = wheel("unused", "9.0").build(&dist);
    let constraints = fx.write(
        "constraints.txt",
        &format!(
            "forklib @ {}\nunused @ {}\n",
            url_of(&forked),
            url_of(&unused)
        ),
    );
    let env = fx.env("e");
    fx.install_ok(&env, &["app", "-c", constraints.to_str().unwrap()]);
    fx.assert_installed(&env, &[("app", "1.0"), ("forklib", "1.5+fork")]);
    let got = common::py(
        &env.join("bin/python"),
        "import forklib; print(forklib.VERSION)",
    );
    assert_eq!(got, "1.5+fork");
    let direct = std::fs::read_to_string(
        fx.site_packages(&env)
            .join("forklib-1.5+fork.dist-info/direct_url.json"),
    )
    .unwrap();
    assert!(
        direct.contains("forklib-1.5+fork-py3-none-any.whl"),
        "{direct}"
    );
    // A requirement the constrained artifact cannot satisfy is a conflict, not a silent swap.
    let env2 = fx.env("e2");
    let out = fx.install(&env2, &["forklib>=2", "-c", constraints.to_str().unwrap()]);
    assert_user_error(&out, "forklib");
}

fn url_of(path: &Path) -> String {
    url::Url::from_file_path(path).unwrap().to_string()
}

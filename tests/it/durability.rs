//! An environment is never left broken: kill -9 at any moment, two writers, a reader during a
//! writer, damaged cache entries, a full disk. "Old or new" is checked against the files and
//! RECORDs of the environment before and after an uninterrupted change.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{assert_success, assert_user_error, tree};
use crate::fixture::{stderr, wheel, Fixture};
use crate::pack::{report, How, World, BOTH};
use crate::support::{sha256_hex, WheelBuilder};
use crate::{common, support};

/// `name` at `version` with `files` modules (a wheel that takes a while to install).
fn many_files(name: &str, version: &str, files: usize) -> WheelBuilder {
    let mut w = wheel(name, version);
    for i in 0..files {
        w = w.file(
            &format!("{name}/m{i}.py"),
            format!("# {name} {version} module {i}\nVALUE = {i}\n"),
        );
    }
    w
}

/// Every file below site-packages and bin with its content hash (the environment's state),
/// leaving out bytecode caches and envtool's own state directory.
fn state(env: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(env)
        .min_depth(1)
        .into_iter()
        .flatten()
    {
        let rel = entry
            .path()
            .strip_prefix(env)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if rel.starts_with(".envtool") || rel.contains("__pycache__") {
            continue;
        }
        let value = if entry.file_type().is_symlink() {
            format!("-> {}", std::fs::read_link(entry.path()).unwrap().display())
        } else if entry.file_type().is_dir() {
            "dir".into()
        } else {
            sha256_hex(entry.path())
        };
        out.insert(rel, value);
    }
    out
}

/// Each `.dist-info` holds a RECORD (what a Python reading the environment relies on).
fn assert_every_dist_info_has_record(env: &Path, when: &str) {
    for entry in walkdir::WalkDir::new(env).into_iter().flatten() {
        let p = entry.path();
        if entry.file_type().is_dir() && p.extension().is_some_and(|e| e == "dist-info") {
            assert!(
                p.join("RECORD").is_file(),
                "{when}: {} has no RECORD",
                p.display()
            );
        }
    }
}

fn copy_tree(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

/// kill -9 at moments spread over an install into an existing environment: straight after
/// each kill no .dist-info lacks its RECORD, and as soon as any envtool command opens the
/// environment it is exactly the old one or exactly the new one.
#[test]
fn kill_9_at_any_moment_leaves_the_old_or_the_new_environment() {
    let fx = Fixture::new();
    let names: Vec<String> = (0..8).map(|i| format!("pkg{i}")).collect();
    for name in &names {
        fx.publish(many_files(name, "1.0", 40));
        fx.publish(many_files(name, "2.0", 60));
    }
    let pins_old: Vec<String> = names.iter().map(|n| format!("{n}==1.0")).collect();
    let pins_new: Vec<String> = names.iter().map(|n| format!("{n}==2.0")).collect();
    let old_req = fx.write("old.txt", &pins_old.join("\n"));
    let new_req = fx.write("new.txt", &pins_new.join("\n"));
    let template = fx.env("template");
    fx.install_ok(&template, &["-r", old_req.to_str().unwrap()]);
    let old_state = state(&template);
    // The uninterrupted change, to know the new state and how long it takes (the cache is
    // warm from here on, as for every kill below).
    let reference = fx.t.path("reference");
    copy_tree(&template, &reference);
    let start = Instant::now();
    fx.install_ok(&reference, &["-r", new_req.to_str().unwrap()]);
    let duration = start.elapsed();
    let new_state = state(&reference);
    assert_ne!(old_state, new_state);

    let points = 14;
    let mut outcomes = BTreeMap::new();
    for i in 0..points {
        let env = fx.t.path(&format!("victim{i}"));
        copy_tree(&template, &env);
        let delay = duration.mul_f64(i as f64 / (points - 2) as f64);
        let mut child = fx
            .install_cmd(&env, &["-r", new_req.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        assert_every_dist_info_has_record(&env, &format!("kill {i} after {delay:?}"));
        // Any command opening the environment recovers it first.
        let out = fx.t.run(["list".as_ref(), env.as_os_str()]);
        assert_success(&out);
        let now = state(&env);
        let outcome = if now == old_state {
            "old"
        } else if now == new_state {
            "new"
        } else {
            let extra: Vec<_> = now
                .keys()
                .filter(|k| !old_state.contains_key(*k) && !new_state.contains_key(*k))
                .take(5)
                .collect();
            panic!("kill {i} after {delay:?} left neither the old nor the new environment (e.g. {extra:?})");
        };
        *outcomes.entry(outcome).or_insert(0) += 1;
        fx.assert_pip_check_clean(&env);
    }
    // The sweep covered both outcomes (else it tested nothing in between).
    assert!(outcomes.contains_key("old"), "{outcomes:?}");
    assert!(outcomes.contains_key("new"), "{outcomes:?}");
}

/// Two installs into one environment at once: the second waits for the first (and says so),
/// neither interleaves with the other, and the environment is whole afterwards.
#[test]
fn two_writers_take_turns() {
    let fx = Fixture::new();
    fx.publish(many_files("big", "1.0", 300));
    fx.publish(many_files("big", "2.0", 300));
    let env = fx.env("e");
    let a = fx
        .install_cmd(&env, &["big==1.0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let b = fx
        .install_cmd(&env, &["big==2.0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert_success(&a);
    assert_success(&b);
    let site = fx.site_packages(&env);
    let dist_infos: Vec<String> = tree(&site)
        .into_iter()
        .filter(|p| p.ends_with(".dist-info"))
        .collect();
    assert_eq!(dist_infos.len(), 1, "{dist_infos:?}");
    let version = if dist_infos[0].contains("big-2.0") {
        "2.0"
    } else {
        "1.0"
    };
    for i in 0..300 {
        let text = std::fs::read_to_string(site.join(format!("big/m{i}.py"))).unwrap();
        assert!(
            text.contains(&format!("big {version}")),
            "m{i}.py is from another version"
        );
    }
    fx.assert_pip_check_clean(&env);
}

/// A reader started while a writer holds the environment waits for it and sees the new
/// environment whole (never a mix).
#[test]
fn a_reader_during_a_writer_sees_the_old_or_the_new_environment() {
    let fx = Fixture::new();
    fx.publish(many_files("lib", "1.0", 50));
    let slow = fx.t.path("slowproj");
    std::fs::create_dir_all(slow.join("_build")).unwrap();
    std::fs::write(
        slow.join("_build/slow_backend.py"),
        r#"import base64, hashlib, os, time, zipfile
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    time.sleep(3)
    name = "slowproj-1.0-py3-none-any.whl"
    files = {
        "slowproj.py": b"X = 1\n",
        "slowproj-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: slowproj\nVersion: 1.0\nRequires-Dist: lib\n",
        "slowproj-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    rows = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        for arc, data in files.items():
            z.writestr(arc, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            rows.append("%s,sha256=%s,%d" % (arc, digest, len(data)))
        rows.append("slowproj-1.0.dist-info/RECORD,,")
        z.writestr("slowproj-1.0.dist-info/RECORD", "\n".join(rows) + "\n")
    return name
"#,
    )
    .unwrap();
    std::fs::write(
        slow.join("pyproject.toml"),
        "[build-system]\nrequires = []\nbuild-backend = \"slow_backend\"\nbackend-path = [\"_build\"]\n",
    )
    .unwrap();
    let env = fx.env("e");
    let writer = fx
        .install_cmd(&env, &[slow.to_str().unwrap()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let reader = fx.t.run(["freeze".as_ref(), env.as_os_str()]);
    let writer = writer.wait_with_output().unwrap();
    assert_success(&writer);
    assert_success(&reader);
    let frozen = String::from_utf8_lossy(&reader.stdout).into_owned();
    let empty = frozen.trim().is_empty();
    let whole = frozen.contains("lib==1.0") && frozen.contains("slowproj");
    assert!(empty || whole, "freeze saw a mix:\n{frozen}");
    assert!(
        stderr(&reader).contains("Waiting for") || empty,
        "the reader did not wait: {}",
        stderr(&reader)
    );
}

/// A file of an unpacked wheel in the cache that changed (truncated, or edited through an
/// environment it is hard-linked into) is noticed the next time the entry is used, and the
/// wheel fetched again; `cache verify` finds an edit that kept the size, `--repair` removes
/// it, and `--reinstall` repairs an environment.
#[test]
fn damaged_and_edited_cache_files_are_noticed_and_repaired() {
    let fx = Fixture::new();
    fx.publish(many_files("lib", "1.0", 3));
    let env = fx.env("e");
    fx.install_ok(&env, &["lib==1.0"]);
    let installed = fx.site_packages(&env).join("lib/m1.py");
    // Cached files are read-only: an edit through the environment fails for a normal user.
    let mode = std::fs::metadata(&installed).unwrap().permissions();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.mode() & 0o222, 0, "installed cache files are writable");
    // Root ignores the mode: edit through the link anyway (as root or after a chmod).
    let mut perms = mode.clone();
    perms.set_mode(0o644);
    std::fs::set_permissions(&installed, perms).unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&installed)
        .unwrap()
        .write_all(b"EVIL = 1\n")
        .unwrap();
    // The next environment made from the cache notices the changed size and fetches again.
    let env2 = fx.env("e2");
    let err = fx.install_ok(&env2, &["lib==1.0"]);
    assert!(err.contains("damaged"), "{err}");
    let fresh = std::fs::read_to_string(fx.site_packages(&env2).join("lib/m1.py")).unwrap();
    assert!(!fresh.contains("EVIL"));
    // An edit that keeps the size: cache verify finds it, --repair removes it.
    let cached = walkdir::WalkDir::new(fx.cache().join("wheels-v2"))
        .into_iter()
        .flatten()
        .find(|e| e.path().ends_with("lib/m2.py"))
        .unwrap()
        .into_path();
    let text = std::fs::read_to_string(&cached).unwrap();
    let mut perms = std::fs::metadata(&cached).unwrap().permissions();
    perms.set_mode(0o644);
    std::fs::set_permissions(&cached, perms).unwrap();
    std::fs::write(&cached, text.replace("VALUE = 2", "VALUE = 9")).unwrap();
    let out = fx.t.run(["cache", "verify"]);
    assert_user_error(&out, "damaged");
    assert!(stderr(&out).contains("lib/m2.py"), "{}", stderr(&out));
    // --reinstall checks hashes, so it repairs an environment made from the edited entry.
    let out = fx.install(&env2, &["--reinstall", "lib==1.0"]);
    assert_success(&out);
    let repaired = std::fs::read_to_string(fx.site_packages(&env2).join("lib/m2.py")).unwrap();
    assert!(repaired.contains("VALUE = 2"));
    let out = fx.t.run(["cache", "verify", "--repair"]);
    assert_success(&out);
    let out = fx.t.run(["cache", "verify"]);
    assert_success(&out);
}

/// On a full disk an install fails with a clear error and the environment is as it was.
#[test]
fn a_full_disk_changes_nothing() {
    if !common::is_root() {
        return support::skip("mounting a small tmpfs needs root");
    }
    let fx = Fixture::new();
    fx.publish(many_files("big", "1.0", 400).file("big/blob.bin", vec![7u8; 3 << 20]));
    let mnt = fx.t.path("small");
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        return support::skip("cannot mount a tmpfs here");
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mnt.clone());
    let env = mnt.join("e");
    fx.t.ok([
        "create".as_ref(),
        env.as_os_str(),
        "--python".as_ref(),
        fx.python.as_os_str(),
    ]);
    let before = state(&env);
    let out = fx
        .install_cmd(&env, &["big==1.0"])
        .env("ENVTOOL_CACHE_DIR", mnt.join("cache"))
        .output()
        .unwrap();
    assert_user_error(&out, "space");
    assert_eq!(state(&env), before);
    assert_eq!(
        tree(&env)
            .into_iter()
            .filter(|p| p.contains("envtool-txn") || p.contains(".envtool/txn"))
            .count(),
        0
    );
}

/// A `--no-cache` run leaves no directory behind, also when it is interrupted in the middle.
#[test]
fn a_no_cache_run_leaves_nothing_behind() {
    let fx = Fixture::new();
    fx.publish(many_files("big", "1.0", 200));
    let env = fx.env("e");
    let tmp = fx.t.path("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let out =
        fx.t.cmd(["--no-cache", "--index-url", fx.url(), "install", "--env"])
            .arg(&env)
            .arg("big==1.0")
            .env("TMPDIR", &tmp)
            .output()
            .unwrap();
    assert_success(&out);
    assert!(tree(&tmp).is_empty(), "{:?}", tree(&tmp));
    let env2 = fx.env("e2");
    let mut child =
        fx.t.cmd(["--no-cache", "--index-url", fx.url(), "install", "--env"])
            .arg(&env2)
            .arg("big==1.0")
            .env("TMPDIR", &tmp)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while tree(&tmp).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let _ = child.wait();
    assert!(tree(&tmp).is_empty(), "left behind: {:?}", tree(&tmp));
}

// ---------------------------------------------------------------------------------------
// Packed executables: a first start and `cache prune` / `cache clean` at the same time
// ---------------------------------------------------------------------------------------

fn backdate_path(path: &Path, secs: u64) {
    let when = std::time::SystemTime::now() - Duration::from_secs(secs);
    std::fs::File::open(path)
        .unwrap()
        .set_modified(when)
        .unwrap();
}

/// Whether a process holds a lock on `lock`.
fn lock_held(lock: &Path) -> bool {
    std::fs::File::open(lock)
        .is_ok_and(|f| matches!(f.try_lock(), Err(std::fs::TryLockError::WouldBlock)))
}

/// The staging directories (`.extract-*`) of a pack root whose lock a process holds.
fn locked_staging(root: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = rd
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".extract-"))
        .map(|e| e.path())
        .filter(|p| lock_held(&p.join(".lock")))
        .collect();
    out.sort();
    out
}

/// A stopped process group, continued when dropped.
struct Paused(i32);

impl Drop for Paused {
    fn drop(&mut self) {
        // SAFETY: signalling the process group of our own child.
        unsafe { libc::kill(-self.0, libc::SIGCONT) };
    }
}

/// Starts `cmd` in a process group of its own and stops the group while it is extracting
/// (a staging directory of `root` is locked); returns the child, the pause and those staging
/// directories, made to look older than any grace period so only their locks keep them.
fn start_and_pause_extracting(
    mut cmd: Command,
    root: &Path,
    ctx: &str,
) -> (std::process::Child, Paused, Vec<PathBuf>) {
    use std::os::unix::process::CommandExt;
    let mut child = cmd
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pgid = child.id() as i32;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "{ctx}: the first start ended before it was caught extracting"
        );
        assert!(Instant::now() < deadline, "{ctx}: never caught extracting");
        if locked_staging(root).is_empty() {
            std::thread::sleep(Duration::from_millis(1));
            continue;
        }
        // SAFETY: signalling the process group of our own child.
        unsafe { libc::kill(-pgid, libc::SIGSTOP) };
        let paused = Paused(pgid);
        std::thread::sleep(Duration::from_millis(50));
        let staging = locked_staging(root);
        if staging.is_empty() {
            continue; // it moved on just before it stopped: catch it again
        }
        for dir in &staging {
            backdate_path(dir, 600);
            backdate_path(&dir.join(".lock"), 600);
        }
        return (child, paused, staging);
    }
}

/// `NAME` with thousands of small files: a first start takes long enough to be caught
/// extracting them.
fn bulky() -> WheelBuilder {
    many_files("bulk", "1.0", 3000)
}

/// After a first start completed: one extraction, nothing staged left but `keep`.
fn assert_extracted_and_clean(root: &Path, keep: &[&str], ctx: &str) {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let (dot, ids): (Vec<String>, Vec<String>) =
        names.into_iter().partition(|n| n.starts_with('.'));
    assert_eq!(dot, keep, "{ctx}: left in the pack root");
    assert_eq!(ids.len(), 1, "{ctx}: {ids:?}");
    assert!(
        crate::common::wait_for_complete(&root.join(&ids[0])),
        "{ctx}"
    );
    assert!(
        root.join(&ids[0])
            .join("site-packages/bulk/m2999.py")
            .is_file(),
        "{ctx}"
    );
}

/// `envtool cache prune` while a pack starts for the first time, plain and standalone, as
/// `./PACK` and `python PACK`: the staging directories the start holds locked are kept even
/// when they look old, and the start completes and runs its program; a leftover whose lock
/// is free is removed once it is older than a minute (a younger one may be a start that has
/// not taken its lock yet).
#[test]
fn prune_never_removes_an_extraction_in_progress() {
    let w = World::with(&[bulky()]);
    w.create("e", &["demo", "bulk"]);
    let plain = w.pack_env("e", "demo-cli", "demo-cli");
    let standalone = w.pack_env_with("e", "demo-cli", "s", &["--standalone"]);
    let root = w.root();
    for (pack, kind) in [(&plain, "plain"), (&standalone, "standalone")] {
        for how in BOTH {
            let ctx = format!("{kind}, {how:?}");
            w.clear_root();
            std::fs::create_dir_all(&root).unwrap();
            std::fs::set_permissions(&root, std::os::unix::fs::PermissionsExt::from_mode(0o700))
                .unwrap();
            let stale = root.join(".extract-stale");
            std::fs::create_dir_all(stale.join("site-packages")).unwrap();
            std::fs::write(stale.join(".lock"), "").unwrap();
            for p in [
                stale.join(".lock"),
                stale.join("site-packages"),
                stale.clone(),
            ] {
                backdate_path(&p, 600);
            }
            let fresh = root.join(".extract-fresh");
            std::fs::create_dir_all(&fresh).unwrap();

            let (child, paused, staging) =
                start_and_pause_extracting(w.run_cmd(pack, how, &["x"]), &root, &ctx);
            let out =
                w.t.cmd(["cache", "prune"])
                    .env("ENVTOOL_PACK_ROOT", &root)
                    .env("ENVTOOL_CACHE_DIR", w.path("no-cache"))
                    .output()
                    .unwrap();
            assert_success(&out);
            for dir in &staging {
                assert!(
                    dir.join(".lock").is_file(),
                    "{ctx}: prune removed {} while it was being extracted",
                    dir.display()
                );
            }
            assert!(!stale.exists(), "{ctx}: an old unlocked leftover was kept");
            assert!(fresh.exists(), "{ctx}: a young leftover was removed");
            drop(paused);

            let out = child.wait_with_output().unwrap();
            assert_success(&out);
            let r = report(&out);
            assert_eq!(r["kind"], "script", "{ctx}");
            assert_eq!(r["args"], serde_json::json!(["x"]), "{ctx}");
            assert_extracted_and_clean(&root, &[".extract-fresh"], &ctx);
        }
    }
}

/// `envtool cache clean` with the pack root inside the cache, where it is by default: the
/// rest of the cache goes, and so do extractions nobody runs, but not one a running pack
/// holds nor a first start's staging directory.
#[test]
fn clean_never_removes_an_extraction_in_progress_or_in_use() {
    let w = World::with(&[bulky()]);
    w.create("e", &["demo", "bulk"]);
    let pack = w.pack_env("e", "demo-cli", "demo-cli");
    let cache = w.path("private-cache");
    std::fs::create_dir_all(cache.join("http-v1")).unwrap();
    std::fs::write(cache.join("http-v1/page.json"), "{}").unwrap();
    std::fs::write(
        cache.join("CACHEDIR.TAG"),
        "Signature: 8a477f597d28d172789f06886806bc55\n",
    )
    .unwrap();
    std::fs::set_permissions(&cache, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let root = cache.join("pack-v1");
    for name in ["in-use", "unused"] {
        std::fs::create_dir_all(root.join(name).join("site-packages")).unwrap();
        std::fs::write(root.join(name).join(".complete"), name).unwrap();
    }
    let running = std::fs::File::open(root.join("in-use/.complete")).unwrap();
    running.lock_shared().unwrap();

    let mut cmd = w.run_cmd(&pack, How::Direct, &["x"]);
    cmd.env("ENVTOOL_PACK_ROOT", &root);
    let (child, paused, staging) = start_and_pause_extracting(cmd, &root, "clean");
    let out =
        w.t.cmd(["cache", "clean"])
            .env("ENVTOOL_PACK_ROOT", &root)
            .env("ENVTOOL_CACHE_DIR", &cache)
            .output()
            .unwrap();
    assert_success(&out);
    assert!(!cache.join("http-v1").exists(), "clean left the cache");
    for dir in &staging {
        assert!(
            dir.join(".lock").is_file(),
            "clean removed {}",
            dir.display()
        );
    }
    assert!(
        root.join("in-use/.complete").is_file(),
        "removed while in use"
    );
    assert!(
        !root.join("unused").exists(),
        "an unused extraction was kept"
    );
    drop(paused);
    let out = child.wait_with_output().unwrap();
    assert_success(&out);
    assert_eq!(report(&out)["args"], serde_json::json!(["x"]));
    drop(running);
    std::fs::remove_dir_all(root.join("in-use")).unwrap();
    assert_extracted_and_clean(&root, &[], "clean");
}

//! The attack surface in one place: each test builds a hostile input itself (a wheel, an
//! sdist, an index answer, another user's files) and checks that envtool refuses it with an
//! `error:` and a `hint:`, and that nothing outside the environment (and nothing inside it)
//! changed. SECURITY.md names these tests.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{assert_success, assert_user_error, tree};
use crate::fixture::{stderr, wheel, Fixture};
use crate::pack::{report, stderr_of, How, World, BOTH};
use crate::support::IndexServer;
use crate::{common, support};

/// A file and a directory outside the environment an attack aims at.
fn victims(fx: &Fixture) -> (PathBuf, PathBuf) {
    let outside = fx.t.path("outside");
    std::fs::create_dir_all(outside.join("dir")).unwrap();
    std::fs::write(outside.join("victim.txt"), "precious\n").unwrap();
    std::fs::write(outside.join("dir/keep.txt"), "keep\n").unwrap();
    (outside.join("victim.txt"), outside.join("dir"))
}

fn assert_victims_intact(victim: &Path, dir: &Path) {
    assert_eq!(std::fs::read_to_string(victim).unwrap(), "precious\n");
    assert_eq!(
        std::fs::read_to_string(dir.join("keep.txt")).unwrap(),
        "keep\n"
    );
}

/// An sdist built with Python's tarfile from (name, kind, data-or-target) members.
fn hostile_sdist(fx: &Fixture, filename: &str, members: &[(&str, &str, &str)]) -> PathBuf {
    let out = fx.files.join(filename);
    let spec = serde_json::to_string(members).unwrap();
    let code = r#"
import io, json, sys, tarfile
with tarfile.open(sys.argv[1], "w:gz") as t:
    for name, kind, data in json.loads(sys.argv[2]):
        info = tarfile.TarInfo(name)
        if kind == "file":
            raw = data.encode()
            info.size = len(raw)
            t.addfile(info, io.BytesIO(raw))
        elif kind == "symlink":
            info.type = tarfile.SYMTYPE
            info.linkname = data
            t.addfile(info)
        elif kind == "hardlink":
            info.type = tarfile.LNKTYPE
            info.linkname = data
            t.addfile(info)
        elif kind == "dir":
            info.type = tarfile.DIRTYPE
            t.addfile(info)
"#;
    let status = Command::new(&fx.python)
        .args(["-c", code])
        .arg(&out)
        .arg(&spec)
        .status()
        .unwrap();
    assert!(status.success());
    out
}

/// A tar member: (name, kind, contents or link target).
type Member<'a> = (&'a str, &'a str, String);

const PKG_INFO: &str = "Metadata-Version: 2.2\nName: evil\nVersion: 1.0\nRequires-Dist: six\n";
const PYPROJECT: &str = "[build-system]\nrequires = []\nbuild-backend = \"nope\"\n";

// ---------------------------------------------------------------------------------------
// 1. Transaction state lives where no package file can land
// ---------------------------------------------------------------------------------------

/// A wheel shipping a forged undo journal (in the old journal location and in envtool's
/// state directory) is refused, and no later command replays a journal that acts outside the
/// environment.
#[test]
fn a_wheel_cannot_plant_an_undo_journal() {
    let fx = Fixture::new();
    let (victim, dir) = victims(&fx);
    let journal = format!(
        "{{\"Moved\":{{\"from\":{:?},\"backup\":{:?}}}}}\n{{\"CreatedDir\":{:?}}}\n",
        victim.display().to_string(),
        dir.join("keep.txt").display().to_string(),
        dir.display().to_string()
    );
    for (i, path) in [".envtool-txn-evil/journal", ".envtool/txn-evil/journal"]
        .iter()
        .enumerate()
    {
        let name = format!("planter{i}");
        fx.publish(wheel(&name, "1.0").data("data", path, &journal));
        let env = fx.env(&format!("e{i}"));
        let before = tree(&env);
        let out = fx.install(&env, &[&format!("{name}==1.0")]);
        assert_user_error(&out, "envtool's own");
        assert_eq!(tree(&env), before);
        // Even a journal put there by hand (not by envtool) is not replayed.
        let planted = env.join(path);
        std::fs::create_dir_all(planted.parent().unwrap()).unwrap();
        std::fs::write(&planted, &journal).unwrap();
        fx.publish(wheel("harmless", "1.0"));
        let _ = fx.install(&env, &["harmless==1.0"]);
        let _ = fx.t.run(["freeze".as_ref(), env.as_os_str()]);
        assert_victims_intact(&victim, &dir);
    }
}

// ---------------------------------------------------------------------------------------
// 2. Sdist links never lead out of the tree
// ---------------------------------------------------------------------------------------

#[test]
fn sdist_links_cannot_escape_the_tree() {
    let fx = Fixture::new();
    let (victim, dir) = victims(&fx);
    let outside = victim.parent().unwrap().to_string_lossy().into_owned();
    let cases: Vec<(&str, Vec<Member>)> = vec![
        // An absolute symlink, then a file written through it.
        (
            "evil-1.0.tar.gz",
            vec![
                ("evil-1.0/PKG-INFO", "file", PKG_INFO.into()),
                ("evil-1.0/pyproject.toml", "file", PYPROJECT.into()),
                ("evil-1.0/link", "symlink", outside.clone()),
                ("evil-1.0/link/victim.txt", "file", "owned\n".into()),
            ],
        ),
        // A relative symlink that leaves the tree.
        (
            "evil-2.0.tar.gz",
            vec![
                ("evil-2.0/PKG-INFO", "file", PKG_INFO.replace("1.0", "2.0")),
                (
                    "evil-2.0/up",
                    "symlink",
                    "../../../../../../../../..".into(),
                ),
                ("evil-2.0/up/tmp/x", "file", "x".into()),
            ],
        ),
        // A hard link through a symlink copies a host file into the build tree.
        (
            "evil-3.0.tar.gz",
            vec![
                ("evil-3.0/PKG-INFO", "file", PKG_INFO.replace("1.0", "3.0")),
                ("evil-3.0/host", "symlink", outside.clone()),
                (
                    "evil-3.0/stolen",
                    "hardlink",
                    "evil-3.0/host/victim.txt".into(),
                ),
            ],
        ),
    ];
    for (file, members) in cases {
        let members: Vec<(&str, &str, &str)> = members
            .iter()
            .map(|(a, b, c)| (*a, *b, c.as_str()))
            .collect();
        hostile_sdist(&fx, file, &members);
        let version = file.trim_start_matches("evil-").trim_end_matches(".tar.gz");
        let env = fx.env(&format!("e{version}"));
        let before = tree(&env);
        let out = fx.install(&env, &[&format!("evil=={version}")]);
        let err = assert_user_error(&out, "link");
        assert!(err.contains(file), "{err}");
        assert_eq!(tree(&env), before);
        // lock reads static PKG-INFO metadata without running a backend: same refusal.
        let out =
            fx.t.cmd(["--index-url", fx.url(), "lock", "--python"])
                .arg(&fx.python)
                .arg(format!("evil=={version}"))
                .arg("-o")
                .arg(fx.t.path("lock.toml"))
                .output()
                .unwrap();
        assert_user_error(&out, "link");
        assert_victims_intact(&victim, &dir);
    }
    let cached: Vec<String> = tree(fx.cache())
        .into_iter()
        .filter(|p| p.contains("stolen"))
        .collect();
    assert!(cached.is_empty(), "a host file was copied: {cached:?}");
}

// ---------------------------------------------------------------------------------------
// 3. Metadata is checked against its own hash, and against the wheel at install
// ---------------------------------------------------------------------------------------

/// A resolution against an untrusted index that serves forged PEP 658 metadata for a file
/// with the same hash does not change what a later resolution against the trusted index sees.
#[test]
fn forged_metadata_from_one_index_does_not_poison_another() {
    let fx = Fixture::new();
    fx.publish(wheel("app", "1.0"));
    let bad_files = fx.t.path("bad-files");
    std::fs::create_dir_all(&bad_files).unwrap();
    std::fs::copy(
        fx.files.join("app-1.0-py3-none-any.whl"),
        bad_files.join("app-1.0-py3-none-any.whl"),
    )
    .unwrap();
    let bad = IndexServer::start(&bad_files);
    let forged = "Metadata-Version: 2.1\nName: app\nVersion: 1.0\nRequires-Dist: extra-dep\n";
    for advertise in [true, false] {
        bad.override_metadata("app-1.0-py3-none-any.whl", forged, advertise);
        let _ =
            fx.t.cmd(["--index-url", &bad.url(), "lock", "--python"])
                .arg(&fx.python)
                .arg("app==1.0")
                .arg("-o")
                .arg(fx.t.path("bad.toml"))
                .output()
                .unwrap();
    }
    let env = fx.env("e");
    fx.install_ok(&env, &["app==1.0"]);
    fx.assert_installed(&env, &[("app", "1.0")]);
}

/// PEP 658 metadata that disagrees with the wheel's own METADATA (here: a dependency the
/// wheel does not declare) is refused at install, as pip refuses it.
#[test]
fn metadata_that_disagrees_with_the_wheel_is_refused() {
    let fx = Fixture::new();
    fx.publish(wheel("app", "1.0"));
    fx.publish(wheel("extra-dep", "1.0"));
    let forged = "Metadata-Version: 2.1\nName: app\nVersion: 1.0\nRequires-Dist: extra-dep\n";
    fx.server()
        .override_metadata("app-1.0-py3-none-any.whl", forged, true);
    let env = fx.env("e");
    let before = tree(&env);
    let out = fx.install(&env, &["app==1.0"]);
    assert_user_error(&out, "metadata");
    assert_eq!(tree(&env), before);
}

// ---------------------------------------------------------------------------------------
// 4. Credentials are never written or printed
// ---------------------------------------------------------------------------------------

#[test]
fn index_credentials_are_never_written_or_printed() {
    let fx = Fixture::new();
    fx.publish(wheel("six", "1.16.0"));
    let with_secret = fx.url().replacen("http://", "http://alice:s3cr3t-pw@", 1);
    let env = fx.env("e");
    let lock = fx.t.path("pylock.toml");
    let run = |args: &[&std::ffi::OsStr]| {
        let out =
            fx.t.cmd(["--index-url", with_secret.as_str(), "-v"])
                .args(args)
                .output()
                .unwrap();
        let text = format!("{}{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
        assert!(
            !text.contains("s3cr3t-pw"),
            "the password was printed:\n{text}"
        );
        out
    };
    assert_success(&run(&[
        "install".as_ref(),
        "--env".as_ref(),
        env.as_os_str(),
        "six==1.16.0".as_ref(),
    ]));
    assert_success(&run(&[
        "lock".as_ref(),
        "--python".as_ref(),
        fx.python.as_os_str(),
        "six==1.16.0".as_ref(),
        "-o".as_ref(),
        lock.as_os_str(),
    ]));
    assert_success(&run(&["list".as_ref(), env.as_os_str(), "--json".as_ref()]));
    let frozen = fx.t.path("frozen.toml");
    assert_success(&run(&[
        "freeze".as_ref(),
        env.as_os_str(),
        "--format".as_ref(),
        "pylock".as_ref(),
        "-o".as_ref(),
        frozen.as_os_str(),
    ]));
    // A failing request names the URL without the password too.
    let out =
        fx.t.cmd([
            "--index-url",
            with_secret.as_str(),
            "-v",
            "install",
            "--env",
        ])
        .arg(&env)
        .arg("missing-package")
        .output()
        .unwrap();
    assert!(!stderr(&out).contains("s3cr3t-pw"), "{}", stderr(&out));
    assert!(stderr(&out).contains("alice:****@") || !stderr(&out).contains("alice"));
    // Nothing envtool wrote holds it: the environment, the lock, the cache.
    for dir in [env.as_path(), fx.t.tmp.path(), fx.cache()] {
        for entry in walkdir::WalkDir::new(dir).into_iter().flatten() {
            if !entry.file_type().is_file() {
                continue;
            }
            let bytes = std::fs::read(entry.path()).unwrap_or_default();
            assert!(
                !String::from_utf8_lossy(&bytes).contains("s3cr3t-pw"),
                "{} holds the password",
                entry.path().display()
            );
        }
    }
    // The lock installs again with credentials found the same way (here: the URL given).
    let env2 = fx.env("e2");
    let out =
        fx.t.cmd(["--index-url", with_secret.as_str(), "sync"])
            .arg(&env2)
            .arg(&lock)
            .output()
            .unwrap();
    assert_success(&out);
}

/// Credentials for an index come from ~/.netrc too.
#[test]
fn netrc_credentials_are_used_and_not_written() {
    let fx = Fixture::new();
    fx.publish(wheel("six", "1.16.0"));
    let netrc = fx.t.path("netrc");
    let host = url::Url::parse(fx.url()).unwrap();
    std::fs::write(
        &netrc,
        format!(
            "machine {} login bob password n3trc-pw\n",
            host.host_str().unwrap()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&netrc, std::fs::Permissions::from_mode(0o600)).unwrap();
    let env = fx.env("e");
    let out = fx
        .install_cmd(&env, &["six==1.16.0"])
        .env("NETRC", &netrc)
        .output()
        .unwrap();
    assert_success(&out);
    let auth = fx.server().request_details().iter().any(|r| {
        r.header("authorization")
            .is_some_and(|a| a.starts_with("Basic "))
    });
    assert!(auth, "no request carried the netrc credentials");
    for entry in walkdir::WalkDir::new(fx.cache()).into_iter().flatten() {
        if entry.file_type().is_file() {
            let text = String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap()).into_owned();
            assert!(!text.contains("n3trc-pw"), "{}", entry.path().display());
        }
    }
}

// ---------------------------------------------------------------------------------------
// 5. A wheel is what its name says
// ---------------------------------------------------------------------------------------

#[test]
fn a_wheel_whose_metadata_names_another_project_is_refused() {
    let fx = Fixture::new();
    let links = fx.t.path("links");
    let impostor = wheel("harmless", "1.0")
        .metadata_identity("requests", "1.0")
        .build(&links);
    let other_version = wheel("harmless", "2.0")
        .metadata_identity("harmless", "9.9")
        .build(&links);
    let env = fx.env("e");
    let before = tree(&env);
    for path in [&impostor, &other_version] {
        let out = fx.install(&env, &[path.to_str().unwrap()]);
        let err = assert_user_error(&out, "METADATA");
        assert!(
            err.contains(path.file_name().unwrap().to_str().unwrap()),
            "{err}"
        );
        assert_eq!(tree(&env), before);
    }
    let out =
        fx.t.cmd(["--no-index", "--find-links"])
            .arg(&links)
            .args(["install", "--env"])
            .arg(&env)
            .arg("harmless==1.0")
            .output()
            .unwrap();
    assert_user_error(&out, "requests");
    assert_eq!(tree(&env), before);
}

// ---------------------------------------------------------------------------------------
// 6. A wheel cannot replace the interpreter or the activation scripts
// ---------------------------------------------------------------------------------------

#[test]
fn a_wheel_cannot_replace_the_interpreter_or_activation_scripts() {
    let fx = Fixture::new();
    let env = fx.env("e");
    let minor = {
        let v = common::py(
            &env.join("bin/python"),
            "import sys; print('%d.%d' % sys.version_info[:2])",
        );
        format!("python{v}")
    };
    let bricks: Vec<(&str, support::WheelBuilder)> = vec![
        (
            "python",
            wheel("b1", "1.0").entry_point("console_scripts", "python", "b1:main"),
        ),
        (
            "python3",
            wheel("b2", "1.0").data("scripts", "python3", "#!/bin/sh\necho owned\n"),
        ),
        (
            "minor",
            wheel("b3", "1.0").entry_point("console_scripts", &minor, "b3:main"),
        ),
        (
            "activate",
            wheel("b4", "1.0").data("scripts", "activate", "echo owned\n"),
        ),
        (
            "activate.fish",
            wheel("b5", "1.0").data("scripts", "activate.fish", "echo owned\n"),
        ),
        (
            "pyvenv.cfg",
            wheel("b6", "1.0").data("data", "pyvenv.cfg", "home = /tmp\n"),
        ),
        (
            "bin/python",
            wheel("b7", "1.0").data("data", "bin/python3", "owned\n"),
        ),
    ];
    let before = tree(&env);
    let python_before = std::fs::read_link(env.join("bin/python")).unwrap();
    for (i, (what, builder)) in bricks.into_iter().enumerate() {
        fx.publish(builder);
        let out = fx.install(&env, &[&format!("b{}==1.0", i + 1)]);
        let err = assert_user_error(&out, &format!("b{}", i + 1));
        assert!(
            err.contains("envtool's own") || err.contains("interpreter"),
            "{what}: {err}"
        );
        assert_eq!(tree(&env), before, "{what}");
    }
    assert_eq!(
        std::fs::read_link(env.join("bin/python")).unwrap(),
        python_before
    );
}

// ---------------------------------------------------------------------------------------
// 7. Archive bombs
// ---------------------------------------------------------------------------------------

/// A zip whose central directory points many entries at one compressed stream (an
/// overlapping-entry bomb: each name is listed in RECORD with the right hash, so only the
/// archive's layout gives it away) is refused.
#[test]
fn an_overlapping_zip_bomb_is_refused() {
    let fx = Fixture::new();
    let mut bomb = wheel("bomb", "1.0");
    for i in 0..16 {
        bomb = bomb.file(&format!("bomb/f{i}.txt"), vec![b'a'; 1 << 20]);
    }
    let path = bomb.build(&fx.files);
    point_entries_at(&path, "bomb/f0.txt", "bomb/f");
    let env = fx.env("e");
    let before = tree(&env);
    let out = fx.install(&env, &[path.to_str().unwrap()]);
    let err = assert_user_error(&out, "bomb-1.0-py3-none-any.whl");
    assert!(err.contains("overlap"), "{err}");
    assert_eq!(tree(&env), before);
    fx.assert_no_bad_cache_entries();
}

/// Rewrite a wheel's central directory so every entry whose name starts with `prefix` points
/// at the local header of `target`.
fn point_entries_at(path: &Path, target: &str, prefix: &str) {
    let mut bytes = std::fs::read(path).unwrap();
    let eocd = bytes
        .windows(4)
        .rposition(|w| w == b"PK\x05\x06")
        .expect("end of central directory");
    let cd_size = u32::from_le_bytes(bytes[eocd + 12..eocd + 16].try_into().unwrap()) as usize;
    let cd_start = u32::from_le_bytes(bytes[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
    let mut records = Vec::new();
    let mut pos = cd_start;
    while pos < cd_start + cd_size {
        let field = |at: usize| {
            u16::from_le_bytes(bytes[pos + at..pos + at + 2].try_into().unwrap()) as usize
        };
        let (n, m, k) = (field(28), field(30), field(32));
        let name = String::from_utf8_lossy(&bytes[pos + 46..pos + 46 + n]).into_owned();
        records.push((pos, name));
        pos += 46 + n + m + k;
    }
    let offset = records
        .iter()
        .find(|(_, name)| name == target)
        .map(|(pos, _)| bytes[pos + 42..pos + 46].to_vec())
        .expect("the target entry");
    for (pos, name) in records {
        if name.starts_with(prefix) {
            bytes[pos + 42..pos + 46].copy_from_slice(&offset);
        }
    }
    std::fs::write(path, bytes).unwrap();
}

/// A wheel that would expand beyond the limit is refused (and the limit can be raised).
#[test]
fn a_wheel_expanding_beyond_the_limit_is_refused() {
    let fx = Fixture::new();
    let path = wheel("big", "1.0")
        .file("big/zeros.bin", vec![0u8; 4 << 20])
        .build(&fx.files);
    let env = fx.env("e");
    let before = tree(&env);
    let out = fx
        .install_cmd(&env, &[path.to_str().unwrap()])
        .env("ENVTOOL_MAX_UNPACKED_BYTES", "1000000")
        .output()
        .unwrap();
    assert_user_error(&out, "ENVTOOL_MAX_UNPACKED_BYTES");
    assert_eq!(tree(&env), before);
    let out = fx
        .install_cmd(&env, &[path.to_str().unwrap()])
        .env("ENVTOOL_MAX_UNPACKED_BYTES", "100000000")
        .output()
        .unwrap();
    assert_success(&out);
}

// ---------------------------------------------------------------------------------------
// 8. Memory is bounded by the work, not by the sender
// ---------------------------------------------------------------------------------------

/// A page larger than what one response may hold is refused with a clear error.
#[test]
fn an_oversized_index_page_is_refused() {
    let fx = Fixture::new();
    let dir = fx.t.path("flat");
    std::fs::create_dir_all(&dir).unwrap();
    let mut page = std::fs::File::create(dir.join("index.html")).unwrap();
    let line = format!(
        "<a href=\"six-1.0.tar.gz#sha256={}\">six</a>\n",
        "0".repeat(64)
    );
    for _ in 0..(3 << 20) / line.len() {
        page.write_all(line.as_bytes()).unwrap();
    }
    drop(page);
    let server = IndexServer::start(&dir);
    let env = fx.env("e");
    let out =
        fx.t.cmd(["--no-index", "--find-links"])
            .arg(format!("{}/files/index.html", server.base()))
            .args(["install", "--env"])
            .arg(&env)
            .arg("six")
            .env("ENVTOOL_MAX_RESPONSE_BYTES", "1000000")
            .output()
            .unwrap();
    assert_user_error(&out, "ENVTOOL_MAX_RESPONSE_BYTES");
}

// ---------------------------------------------------------------------------------------
// 9. Builds cannot run forever or change later builds
// ---------------------------------------------------------------------------------------

fn tiny_project(root: &Path, name: &str, backend_code: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(dir.join("_build")).unwrap();
    std::fs::write(dir.join("_build/hostile_backend.py"), backend_code).unwrap();
    std::fs::write(
        dir.join("pyproject.toml"),
        "[build-system]\nrequires = []\nbuild-backend = \"hostile_backend\"\nbackend-path = [\"_build\"]\n",
    )
    .unwrap();
    dir
}

/// `tiny_project` whose build requires the `helper` distribution (so its builds share one
/// build environment holding it).
fn project_requiring_helper(root: &Path, name: &str, backend_code: &str) -> PathBuf {
    let dir = tiny_project(root, name, backend_code);
    std::fs::write(
        dir.join("pyproject.toml"),
        "[build-system]\nrequires = [\"helper\"]\nbuild-backend = \"hostile_backend\"\nbackend-path = [\"_build\"]\n",
    )
    .unwrap();
    dir
}

#[test]
fn a_build_that_hangs_is_ended_after_the_timeout_with_its_children() {
    let fx = Fixture::new();
    let marker = fx.t.path("child-still-running");
    let code = format!(
        "import subprocess, sys, time\n\
         def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n\
         \x20   subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(8); open({:?}, \"w\").write(\"x\")'])\n\
         \x20   time.sleep(600)\n",
        marker.display().to_string()
    );
    let proj = tiny_project(fx.t.tmp.path(), "hangs", &code);
    let env = fx.env("e");
    let start = std::time::Instant::now();
    let out = fx
        .install_cmd(&env, &[proj.to_str().unwrap()])
        .env("ENVTOOL_BUILD_TIMEOUT", "2")
        .output()
        .unwrap();
    assert_user_error(&out, "ENVTOOL_BUILD_TIMEOUT");
    assert!(start.elapsed() < std::time::Duration::from_secs(60));
    std::thread::sleep(std::time::Duration::from_secs(9));
    assert!(!marker.exists(), "the backend's child outlived the build");
}

#[test]
fn interrupting_envtool_ends_the_build_backend() {
    let fx = Fixture::new();
    let marker = fx.t.path("backend-alive");
    let code = format!(
        "import time\n\
         def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n\
         \x20   for _ in range(200):\n\
         \x20       open({:?}, 'a').write('.')\n\
         \x20       time.sleep(0.1)\n",
        marker.display().to_string()
    );
    let proj = tiny_project(fx.t.tmp.path(), "slow", &code);
    let env = fx.env("e");
    let mut child = fx
        .install_cmd(&env, &[proj.to_str().unwrap()])
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !marker.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(marker.exists(), "the backend never started");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(!status.success());
    std::thread::sleep(std::time::Duration::from_millis(500));
    let len = std::fs::metadata(&marker).unwrap().len();
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(
        std::fs::metadata(&marker).unwrap().len(),
        len,
        "the backend kept running after envtool ended"
    );
    // ... and the build's temporary directories went with it.
    let leftovers = tree(&fx.cache().join("tmp-v1"));
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}

/// A backend that writes `sitecustomize.py` into its (reused) build environment does not get
/// it run by the next, unrelated build.
#[test]
fn a_build_cannot_change_what_a_later_build_runs() {
    let fx = Fixture::new();
    fx.publish(wheel("helper", "1.0"));
    let ran = fx.t.path("sitecustomize-ran");
    let evil = format!(
        "import os, sys, sysconfig\n\
         def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n\
         \x20   site = sysconfig.get_path('purelib')\n\
         \x20   open(os.path.join(site, 'sitecustomize.py'), 'w').write('open({:?}, \"w\").write(\"x\")\\n')\n\
         \x20   raise RuntimeError('done planting')\n",
        ran.display().to_string()
    );
    let plant = project_requiring_helper(fx.t.tmp.path(), "plant", &evil);
    let env = fx.env("e");
    let _ = fx.install(&env, &[plant.to_str().unwrap()]);
    let innocent = project_requiring_helper(
        fx.t.tmp.path(),
        "innocent",
        "def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n    raise RuntimeError('no wheel today')\n",
    );
    let _ = std::fs::remove_file(&ran);
    let _ = fx.install(&env, &[innocent.to_str().unwrap()]);
    assert!(
        !ran.exists(),
        "a planted sitecustomize ran in a later build"
    );
}

/// A backend that rewrites a file of its (reused) build environment in place, to the same
/// size, and puts its modification time back, does not get it run by the next build. Here
/// the file is a `.pth` its requirement installs (Python runs its `import` lines at start).
/// The environment is reused twice before the rewrite, so the rewrite meets the quick check
/// a reused environment gets, not only the first full one.
#[test]
fn a_build_cannot_rewrite_a_file_in_place_for_a_later_build() {
    let fx = Fixture::new();
    let planted = "import os; open(os.environ['PLANTED_MARKER'], 'w').write('x')\n";
    let original = format!("# {}\n", "-".repeat(planted.len() - 3));
    assert_eq!(original.len(), planted.len());
    fx.publish(wheel("helper", "1.0").file("helper-startup.pth", original));
    let ran = fx.t.path("planted-pth-ran");
    let evil = format!(
        "import os, sysconfig\n\
         def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n\
         \x20   path = os.path.join(sysconfig.get_path('purelib'), 'helper-startup.pth')\n\
         \x20   before = os.stat(path)\n\
         \x20   with open(path, 'r+') as f:\n\
         \x20       f.write({planted:?})\n\
         \x20   os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))\n\
         \x20   after = os.stat(path)\n\
         \x20   assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)\n\
         \x20   raise RuntimeError('done planting')\n"
    );
    let innocent = project_requiring_helper(
        fx.t.tmp.path(),
        "innocent",
        "def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n    raise RuntimeError('no wheel today')\n",
    );
    let plant = project_requiring_helper(fx.t.tmp.path(), "plant", &evil);
    let env = fx.env("e");
    for _ in 0..2 {
        let out = fx.install(&env, &[innocent.to_str().unwrap()]);
        assert!(stderr(&out).contains("no wheel today"), "{}", stderr(&out));
    }
    let out = fx.install(&env, &[plant.to_str().unwrap()]);
    assert!(stderr(&out).contains("done planting"), "{}", stderr(&out));
    // The rewrite took: the build environment's own interpreter now runs it.
    let envs: Vec<PathBuf> = std::fs::read_dir(fx.cache().join("build-envs-v2"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(envs.len(), 1, "{envs:?}");
    let probe = Command::new(envs[0].join("bin").join("python"))
        .args(["-c", "pass"])
        .env("PLANTED_MARKER", &ran)
        .output()
        .unwrap();
    assert!(probe.status.success(), "{probe:?}");
    assert!(
        ran.exists(),
        "the planted .pth does not run, so this test shows nothing"
    );
    std::fs::remove_file(&ran).unwrap();
    let out = fx
        .install_cmd(&env, &[innocent.to_str().unwrap()])
        .env("PLANTED_MARKER", &ran)
        .output()
        .unwrap();
    assert!(stderr(&out).contains("no wheel today"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("was changed since it was made"),
        "{}",
        stderr(&out)
    );
    assert!(
        !ran.exists(),
        "a .pth rewritten in place ran in a later build"
    );
}

/// Build environments keep the bytecode compiled when they were made (so backends start
/// fast), and nothing else: a backend that replaces a requirement's bytecode with its own
/// (an unchecked-hash pyc, which Python loads without looking at the source) does not get it
/// run by the next build.
#[test]
fn a_build_cannot_plant_bytecode_for_a_later_build() {
    let fx = Fixture::new();
    fx.publish(wheel("helper", "1.0"));
    let ran = fx.t.path("planted-bytecode-ran");
    let evil = format!(
        "import glob, os, py_compile, tempfile\n\
         import helper\n\
         def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n\
         \x20   cached = glob.glob(os.path.join(os.path.dirname(helper.__file__), '__pycache__', '__init__.*.pyc'))\n\
         \x20   assert cached, 'the build environment has no bytecode of helper'\n\
         \x20   src = os.path.join(tempfile.mkdtemp(), 'evil.py')\n\
         \x20   open(src, 'w').write('open({:?}, \"w\").write(\"x\")\\nVERSION = \"1.0\"\\n')\n\
         \x20   py_compile.compile(src, cfile=cached[0], invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)\n\
         \x20   raise RuntimeError('done planting')\n",
        ran.display().to_string()
    );
    let innocent_code = "import helper\n\
         def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n\
         \x20   raise RuntimeError('no wheel today')\n";
    let plant = project_requiring_helper(fx.t.tmp.path(), "plant", &evil);
    let innocent = project_requiring_helper(fx.t.tmp.path(), "innocent", innocent_code);
    let env = fx.env("e");
    let out = fx.install(&env, &[plant.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("done planting"),
        "the planting build did not get as far as planting: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_file(&ran);
    let out = fx.install(&env, &[innocent.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no wheel today"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!ran.exists(), "planted bytecode ran in a later build");
}

// ---------------------------------------------------------------------------------------
// 10. Other local users
// ---------------------------------------------------------------------------------------

/// A cache directory another user owns or others can write is not used.
#[test]
fn a_cache_another_user_can_write_is_refused() {
    let fx = Fixture::new();
    let shared = fx.t.path("shared-cache");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    fx.publish(wheel("six", "1.16.0"));
    let env = fx.env("e");
    let out = fx
        .install_cmd(&env, &["six==1.16.0"])
        .env("ENVTOOL_CACHE_DIR", &shared)
        .output()
        .unwrap();
    assert_user_error(&out, "others can write");
}

/// Without a usable home directory the cache is not a predictable shared path.
#[test]
fn without_a_home_the_cache_is_not_a_shared_temp_path() {
    let t = common::TestEnv::new();
    let out = t
        .cmd(["cache", "dir"])
        .env_remove("ENVTOOL_CACHE_DIR")
        .env_remove("HOME")
        .env_remove("XDG_CACHE_HOME")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!text.trim().ends_with("/tmp/envtool-cache"), "{text}");
}

// Packed executables extract themselves into a pack root: what they run from there must be
// what they extracted themselves.

/// `cp -a FROM TO`.
fn copy_tree(from: &Path, to: &Path) {
    let ok = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(ok.success(), "cp -a {} {}", from.display(), to.display());
}

/// Gives `path` (and, with `recursive`, everything below it) to the user nobody; false
/// (after a SKIP line) where this user cannot.
fn give_to_nobody(path: &Path, recursive: bool) -> bool {
    let mut cmd = Command::new("chown");
    if recursive {
        cmd.arg("-R");
    }
    let given = cmd
        .arg("65534:65534")
        .arg(path)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !given {
        support::skip("cannot give a file to another user (chown needs root)");
    }
    given
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Makes a Python file write `marker` before anything else it does.
fn poison(file: &Path, marker: &Path) {
    let text = std::fs::read_to_string(file).unwrap();
    std::fs::write(
        file,
        format!(
            "open({:?}, 'w').write('planted')\n{text}",
            marker.to_str().unwrap()
        ),
    )
    .unwrap();
}

/// A pack's real extraction (made by a first start, then taken out of the pack root) with
/// its runner and its entry's module made to write `marker`, and for a standalone pack its
/// interpreter replaced by a script that does: planted in the pack root, it would run.
/// Returns the copy and the extraction's id.
fn planted_template(w: &World, pack: &Path, marker: &Path) -> (PathBuf, String) {
    assert_success(&w.run(pack, How::Direct, &[]));
    let real = w.extraction();
    let id = real.file_name().unwrap().to_string_lossy().into_owned();
    let template = w.path("planted");
    copy_tree(&real, &template);
    w.clear_root();
    poison(&template.join(".envtool/run.py"), marker);
    poison(&template.join("site-packages/demo/cli.py"), marker);
    let bin = template.join("python/bin");
    if bin.is_dir() {
        for e in std::fs::read_dir(&bin).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("python") {
                let _ = std::fs::remove_file(e.path());
                std::fs::write(
                    e.path(),
                    format!("#!/bin/sh\necho planted > '{}'\n", marker.display()),
                )
                .unwrap();
                chmod(&e.path(), 0o755);
            }
        }
    }
    (template, id)
}

/// The pack ran its real program: the demo's report, its own stderr line, and nothing
/// planted ran.
fn assert_ran_the_real_program(out: &std::process::Output, marker: &Path, ctx: &str) {
    assert_success(out);
    assert!(!marker.exists(), "{ctx}: the planted code ran");
    let r = report(out);
    assert_eq!(r["kind"], "script", "{ctx}");
    assert_eq!(r["args"], serde_json::json!(["x"]), "{ctx}");
}

/// A named way to spoil a directory; false when it cannot be arranged here.
type Spoiler = (&'static str, fn(&Path) -> bool);

/// The ways another user could have planted an extraction in a pack root of this user, or
/// that would let them change one: an extraction directory or its `.complete` owned by
/// someone else, or writable by others. Each returns false when it cannot be arranged here.
fn spoilers() -> Vec<Spoiler> {
    vec![
        ("an extraction others can write", |d: &Path| {
            chmod(d, 0o777);
            true
        }),
        ("a .complete others can write", |d: &Path| {
            chmod(&d.join(".complete"), 0o666);
            true
        }),
        ("a group-writable extraction", |d: &Path| {
            chmod(d, 0o770);
            true
        }),
        ("an extraction of another user", |d: &Path| {
            give_to_nobody(d, true)
        }),
        ("a .complete of another user", |d: &Path| {
            give_to_nobody(&d.join(".complete"), false)
        }),
    ]
}

/// An extraction in the pack root that another user owns or could have written (with a
/// `.complete`, and a runner and entry module that write a marker) is never run, on a warm
/// start through the sh header nor through `python PACK`: the pack extracts afresh in its
/// place and runs the real program, and the next start is an ordinary warm one.
#[test]
fn a_pack_never_runs_an_extraction_another_user_could_have_planted() {
    let w = World::new();
    w.demo_env();
    let pack = w.pack_env("e", "demo-cli", "demo-cli");
    let marker = w.path("planted-ran");
    let (template, id) = planted_template(&w, &pack, &marker);
    for (what, spoil) in spoilers() {
        for how in BOTH {
            let ctx = format!("{what}, {how:?}");
            w.clear_root();
            std::fs::create_dir_all(w.root()).unwrap();
            chmod(&w.root(), 0o700);
            let planted = w.root().join(&id);
            copy_tree(&template, &planted);
            if !spoil(&planted) {
                break;
            }
            let out = w.run(&pack, how, &["x"]);
            assert_ran_the_real_program(&out, &marker, &ctx);
            let file = report(&out)["file"].as_str().unwrap().to_string();
            assert!(
                Path::new(&file).starts_with(&planted),
                "{ctx}: ran from {file}"
            );
            assert_eq!(w.root_entries(), vec![id.clone()], "{ctx}");
            let meta = std::fs::metadata(&planted).unwrap();
            assert_eq!(meta.permissions().mode() & 0o777, 0o700, "{ctx}");
            assert_eq!(
                std::os::unix::fs::MetadataExt::uid(&meta),
                unsafe { libc::geteuid() },
                "{ctx}"
            );
            // The fresh extraction is used as it is from now on.
            for again in BOTH {
                let out = w.run(&pack, again, &["x"]);
                assert_ran_the_real_program(&out, &marker, &ctx);
                assert_eq!(stderr_of(&out), "demo stderr: script\n", "{ctx}, {again:?}");
            }
        }
    }
}

/// The same for a standalone pack, whose warm start runs the interpreter of its extraction:
/// a planted one never runs.
#[test]
fn a_standalone_pack_never_runs_a_planted_interpreter() {
    let w = World::new();
    w.demo_env();
    let pack = w.pack_env_with("e", "demo-cli", "s", &["--standalone"]);
    let marker = w.path("planted-ran");
    let (template, id) = planted_template(&w, &pack, &marker);
    for (what, spoil) in spoilers() {
        for how in BOTH {
            let ctx = format!("{what}, {how:?}");
            w.clear_root();
            std::fs::create_dir_all(w.root()).unwrap();
            chmod(&w.root(), 0o700);
            let planted = w.root().join(&id);
            copy_tree(&template, &planted);
            if !spoil(&planted) {
                break;
            }
            let out = w.run(&pack, how, &["x"]);
            assert_ran_the_real_program(&out, &marker, &ctx);
            assert_eq!(w.root_entries(), vec![id.clone()], "{ctx}");
            let out = w.run(&pack, how, &["x"]);
            assert_ran_the_real_program(&out, &marker, &ctx);
        }
    }
}

/// A pack root another user owns, or others can write, is not used at all (even an
/// extraction in it that is private and this user's may have been put there): the pack
/// extracts into a fresh private directory for the run, says so, runs the real program and
/// leaves no temporary directory behind.
#[test]
fn a_pack_root_another_user_could_write_is_not_used() {
    let w = World::new();
    w.demo_env();
    let pack = w.pack_env("e", "demo-cli", "demo-cli");
    let marker = w.path("planted-ran");
    let (template, id) = planted_template(&w, &pack, &marker);
    let tmp = w.path("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let roots: Vec<Spoiler> = vec![
        ("a pack root others can write", |r: &Path| {
            chmod(r, 0o777);
            true
        }),
        ("a group-writable pack root", |r: &Path| {
            chmod(r, 0o775);
            true
        }),
        ("a pack root of another user", |r: &Path| {
            give_to_nobody(r, false)
        }),
    ];
    for (what, spoil) in roots {
        for how in BOTH {
            let ctx = format!("{what}, {how:?}");
            w.clear_root();
            std::fs::create_dir_all(w.root()).unwrap();
            chmod(&w.root(), 0o700);
            copy_tree(&template, &w.root().join(&id));
            if !spoil(&w.root()) {
                break;
            }
            let out = w
                .run_cmd(&pack, how, &["x"])
                .env("TMPDIR", &tmp)
                .output()
                .unwrap();
            assert_ran_the_real_program(&out, &marker, &ctx);
            let stderr = stderr_of(&out);
            assert!(
                stderr.contains("warning:") && stderr.contains("ENVTOOL_PACK_ROOT"),
                "{ctx}: {stderr}"
            );
            let file = report(&out)["file"].as_str().unwrap().to_string();
            assert!(
                !Path::new(&file).starts_with(w.root()),
                "{ctx}: ran from {file}"
            );
            assert_eq!(tree(&tmp), Vec::<String>::new(), "{ctx}: left behind");
            assert_eq!(w.root_entries(), vec![id.clone()], "{ctx}");
        }
    }
}

/// The pack root and each extraction are created private (0700), and a relative
/// `ENVTOOL_PACK_ROOT` is taken from the working directory and made absolute, so the
/// extraction's paths stay right when the program changes directory.
#[test]
fn a_pack_root_is_created_private_and_absolute() {
    let w = World::new();
    w.demo_env();
    let pack = w.pack_env("e", "demo-cli", "demo-cli");
    let spack = w.pack_env_with("e", "demo-cli", "s", &["--standalone"]);
    for pack in [&pack, &spack] {
        for how in BOTH {
            let ctx = format!("{}, {how:?}", pack.display());
            let root = w.path("rel/root");
            let _ = std::fs::remove_dir_all(w.path("rel"));
            for start in ["cold", "warm"] {
                let out = w
                    .run_cmd(pack, how, &["x"])
                    .env("ENVTOOL_PACK_ROOT", "rel/root")
                    .output()
                    .unwrap();
                assert_success(&out);
                assert_eq!(stderr_of(&out), "demo stderr: script\n", "{ctx} {start}");
                let file = report(&out)["file"].as_str().unwrap().to_string();
                assert!(
                    Path::new(&file).starts_with(&root),
                    "{ctx} {start}: ran from {file}"
                );
            }
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&root), 0o700, "{ctx}: the pack root");
            let names: Vec<String> = std::fs::read_dir(&root)
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            assert_eq!(names.len(), 1, "{ctx}: {names:?}");
            assert_eq!(mode(&root.join(&names[0])), 0o700, "{ctx}: the extraction");
        }
    }
}

// ---------------------------------------------------------------------------------------
// 11. Destructive commands only touch what envtool made
// ---------------------------------------------------------------------------------------

#[test]
fn cache_clean_and_prune_refuse_a_directory_that_is_not_a_cache() {
    let t = common::TestEnv::new();
    let docs = t.path("my-documents");
    std::fs::create_dir_all(docs.join("thesis")).unwrap();
    std::fs::write(docs.join("thesis/chapter1.txt"), "years of work").unwrap();
    let before = tree(&docs);
    for cmd in ["clean", "prune"] {
        let out = t
            .cmd([
                "--cache-dir".as_ref(),
                docs.as_os_str(),
                "cache".as_ref(),
                cmd.as_ref(),
            ])
            .output()
            .unwrap();
        assert_user_error(&out, "CACHEDIR.TAG");
        assert_eq!(tree(&docs), before);
    }
}

#[test]
fn tool_install_force_never_deletes_a_directory_without_a_receipt() {
    let t = common::TestEnv::new();
    let tools = t.path("tools");
    std::fs::create_dir_all(tools.join("black/work")).unwrap();
    std::fs::write(tools.join("black/work/notes.txt"), "mine").unwrap();
    let before = tree(&tools);
    let out = t
        .cmd(["tool", "install", "--force", "black"])
        .env("ENVTOOL_TOOL_DIR", &tools)
        .env("ENVTOOL_BIN_DIR", t.path("bin"))
        .env("ENVTOOL_OFFLINE", "1")
        .output()
        .unwrap();
    assert_user_error(&out, "receipt");
    assert_eq!(tree(&tools), before);
}

// ---------------------------------------------------------------------------------------
// 12. Smaller things
// ---------------------------------------------------------------------------------------

#[test]
fn a_newline_in_a_shim_path_cannot_inject_shell_lines() {
    let fx = Fixture::new();
    fx.publish(wheel("tooly", "1.0").entry_point("console_scripts", "tooly", "tooly:main"));
    let weird = fx.t.path("env\ntouch INJECTED #");
    fx.t.ok([
        "create".as_ref(),
        weird.as_os_str(),
        "--python".as_ref(),
        fx.python.as_os_str(),
    ]);
    fx.install_ok(&weird, &["tooly==1.0"]);
    let bin = fx.t.path("bin");
    let out =
        fx.t.cmd([
            "shim".as_ref(),
            weird.as_os_str(),
            "--bin-dir".as_ref(),
            bin.as_os_str(),
        ])
        .output()
        .unwrap();
    if out.status.success() {
        let _ = Command::new(bin.join("tooly"))
            .current_dir(fx.t.tmp.path())
            .output();
    } else {
        assert_user_error(&out, "newline");
    }
    assert!(!fx.t.path("INJECTED").exists(), "a shell line was injected");
}

#[test]
fn a_response_that_trickles_is_given_up_on() {
    use std::net::TcpListener;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut s = stream;
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n",
                );
                for _ in 0..1000 {
                    if s.write_all(b" ").is_err() {
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_secs(3));
                }
            });
        }
    });
    let fx = Fixture::new();
    let env = fx.env("e");
    let start = std::time::Instant::now();
    let out =
        fx.t.cmd([
            "--index-url",
            &format!("http://{addr}/simple/"),
            "install",
            "--env",
        ])
        .arg(&env)
        .arg("six")
        .env("ENVTOOL_HTTP_TIMEOUT", "2")
        .output()
        .unwrap();
    assert_user_error(&out, "ENVTOOL_HTTP_TIMEOUT");
    assert!(start.elapsed() < std::time::Duration::from_secs(60));
}

#[test]
fn an_exactly_pinned_yanked_file_warns_with_its_reason() {
    let fx = Fixture::new();
    fx.publish(wheel("ya", "2.0"));
    fx.server()
        .yank("ya-2.0-py3-none-any.whl", Some("broken on Tuesdays"));
    let env = fx.env("e");
    let err = fx.install_ok(&env, &["ya==2.0"]);
    assert!(
        err.contains("yanked") && err.contains("broken on Tuesdays"),
        "{err}"
    );
}

//! Constraints and overrides an environment remembers: given once at `create`/`install`, they
//! keep applying to later `install`, `install --upgrade` and `sync` (and `list --json` shows
//! them) until given anew or dropped with `--forget-constraints`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::{assert_success, assert_user_error, tree};
use crate::fixture::{stderr, stdout, wheel, Fixture};

/// `physics` pins `mathlib<2`; the project's fork is `mathlib 2.0`, forced with an override.
fn world() -> (Fixture, PathBuf) {
    let f = Fixture::new();
    f.publish(wheel("physics", "1.0").requires_dist("mathlib<2"));
    f.publish(wheel("mathlib", "1.0"));
    f.publish(wheel("mathlib", "1.5"));
    f.publish(wheel("mathlib", "2.0"));
    let overrides = f.write("overrides.txt", "mathlib==2.0\n");
    (f, overrides)
}

fn list_json(f: &Fixture, env: &Path) -> serde_json::Value {
    let out =
        f.t.run(["list".as_ref(), env.as_os_str(), "--json".as_ref()]);
    assert_success(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    tree(dir)
        .into_iter()
        .map(|rel| {
            let bytes = std::fs::read(dir.join(&rel)).unwrap_or_default();
            (rel, bytes)
        })
        .collect()
}

#[test]
fn an_override_keeps_applying_to_later_installs_and_upgrades() {
    let (f, overrides) = world();
    let env = f.env("e");
    f.install_ok(
        &env,
        &["physics", "--override", overrides.to_str().unwrap()],
    );
    f.assert_installed(&env, &[("mathlib", "2.0"), ("physics", "1.0")]);
    let doc = list_json(&f, &env);
    assert_eq!(doc["overrides"], serde_json::json!(["mathlib==2.0"]));
    assert_eq!(doc["constraints"], serde_json::json!([]));

    // A new physics and a plain upgrade: the fork stays.
    f.publish(wheel("physics", "1.1").requires_dist("mathlib<2"));
    f.install_ok(&env, &["--upgrade", "physics"]);
    f.assert_installed(&env, &[("mathlib", "2.0"), ("physics", "1.1")]);
    f.install_ok(&env, &["-U", "mathlib"]);
    f.assert_installed(&env, &[("mathlib", "2.0"), ("physics", "1.1")]);

    // A plain `list` says so too (on stderr, the table stays pip's).
    let out = f.t.run(["list".as_ref(), env.as_os_str()]);
    assert!(
        stderr(&out).contains("remembered override: mathlib==2.0"),
        "{}",
        stderr(&out)
    );

    // Saying otherwise: the upstream version comes back and nothing is remembered.
    f.install_ok(&env, &["--upgrade", "--forget-constraints", "physics"]);
    f.assert_installed(&env, &[("mathlib", "1.5"), ("physics", "1.1")]);
    assert_eq!(list_json(&f, &env)["overrides"], serde_json::json!([]));
}

#[test]
fn constraints_given_at_create_are_remembered_and_replaced_by_name() {
    let (f, _) = world();
    f.publish(wheel("physics", "1.1").requires_dist("mathlib<2"));
    let c = f.write("c.txt", "mathlib<1.5\nphysics<1.1\n");
    let env = f.t.path("e");
    f.t.ok([
        "--index-url",
        f.url(),
        "create",
        env.to_str().unwrap(),
        "--python",
        f.python.to_str().unwrap(),
        "physics",
        "-c",
        c.to_str().unwrap(),
    ]);
    f.assert_installed(&env, &[("mathlib", "1.0"), ("physics", "1.0")]);
    f.install_ok(&env, &["--upgrade", "physics"]);
    f.assert_installed(&env, &[("mathlib", "1.0"), ("physics", "1.0")]);

    // A new constraint on mathlib replaces the old one; the physics one stays.
    let c2 = f.write("c2.txt", "mathlib>=1.5\n");
    f.install_ok(&env, &["--upgrade", "physics", "-c", c2.to_str().unwrap()]);
    f.assert_installed(&env, &[("mathlib", "1.5"), ("physics", "1.0")]);
    assert_eq!(
        list_json(&f, &env)["constraints"],
        serde_json::json!(["physics<1.1", "mathlib>=1.5"])
    );
    // --dry-run remembers nothing.
    let c3 = f.write("c3.txt", "physics<=1.1\n");
    f.install_ok(&env, &["--dry-run", "-c", c3.to_str().unwrap(), "physics"]);
    assert_eq!(
        list_json(&f, &env)["constraints"],
        serde_json::json!(["physics<1.1", "mathlib>=1.5"])
    );
}

#[test]
fn a_failed_install_remembers_nothing() {
    let (f, overrides) = world();
    let env = f.env("e");
    let before = snapshot(&env);
    // The override is fine, the request is not: nothing installed, nothing remembered.
    let out = f.install(
        &env,
        &[
            "physics",
            "nothing-by-this-name",
            "--override",
            overrides.to_str().unwrap(),
        ],
    );
    assert_user_error(&out, "nothing-by-this-name");
    assert_eq!(snapshot(&env), before);
    // An override file that cannot be read: the same.
    let out = f.install(&env, &["physics", "--override", "missing.txt"]);
    assert_user_error(&out, "missing.txt");
    assert_eq!(snapshot(&env), before);
}

#[test]
fn sync_refuses_a_lock_that_undoes_a_remembered_override() {
    let (f, overrides) = world();
    let env = f.env("e");
    f.install_ok(
        &env,
        &["physics", "--override", overrides.to_str().unwrap()],
    );
    let lock = f.t.path("upstream.toml");
    f.t.ok([
        "--index-url",
        f.url(),
        "lock",
        "physics",
        "--python",
        f.python.to_str().unwrap(),
        "-o",
        lock.to_str().unwrap(),
    ]);
    let before = snapshot(&env);
    let out =
        f.t.run(["sync".as_ref(), env.as_os_str(), lock.as_os_str()]);
    let err = assert_user_error(&out, "mathlib==2.0");
    assert!(err.contains("--forget-constraints"), "{err}");
    assert_eq!(snapshot(&env), before);

    // Saying otherwise installs the lock and forgets the override.
    let out = f.t.run([
        "sync".as_ref(),
        env.as_os_str(),
        lock.as_os_str(),
        "--forget-constraints".as_ref(),
    ]);
    assert_success(&out);
    f.assert_installed(&env, &[("mathlib", "1.5"), ("physics", "1.0")]);
    assert_eq!(list_json(&f, &env)["overrides"], serde_json::json!([]));
}

#[test]
fn remembered_urls_hold_no_credentials_and_paths_are_absolute() {
    let (f, _) = world();
    let fork = wheel("mathlib", "2.1").build(f.t.path("forks"));
    let name = fork.file_name().unwrap().to_str().unwrap();
    // A relative path, resolved against the override file's directory.
    std::fs::create_dir_all(f.t.path("conf")).unwrap();
    std::fs::rename(&fork, f.t.path("conf").join(name)).unwrap();
    let overrides = f.write("conf/o.txt", &format!("mathlib @ ./{name}\n"));
    let env = f.env("e");
    f.install_ok(
        &env,
        &["physics", "--override", overrides.to_str().unwrap()],
    );
    f.assert_installed(&env, &[("mathlib", "2.1"), ("physics", "1.0")]);
    let remembered = list_json(&f, &env)["overrides"][0]
        .as_str()
        .unwrap()
        .to_string();
    let abs = url::Url::from_file_path(f.t.path("conf").join(name)).unwrap();
    assert_eq!(remembered, format!("mathlib @ {abs}"));
    // From another directory, later: still found.
    let out = f
        .install_cmd(&env, &["--upgrade", "physics"])
        .current_dir("/")
        .output()
        .unwrap();
    assert_success(&out);
    f.assert_installed(&env, &[("mathlib", "2.1"), ("physics", "1.0")]);

    // A URL with a password: used for this install, never written down.
    let secret = "s3cr3t-pw";
    let base = f.server().base();
    let with_creds = base.replacen("http://", &format!("http://alice:{secret}@"), 1);
    let o2 = f.write(
        "o2.txt",
        &format!("mathlib @ {with_creds}/files/mathlib-2.0-py3-none-any.whl\n"),
    );
    f.install_ok(&env, &["physics", "--override", o2.to_str().unwrap()]);
    f.assert_installed(&env, &[("mathlib", "2.0"), ("physics", "1.0")]);
    for (rel, bytes) in snapshot(&env) {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(secret),
            "{rel} holds the password"
        );
    }
    let doc = list_json(&f, &env);
    assert!(!doc.to_string().contains(secret));
    assert!(doc["overrides"][0]
        .as_str()
        .unwrap()
        .contains("/files/mathlib-2.0"));
}

#[test]
fn a_damaged_memory_is_an_error_that_names_the_file() {
    let (f, overrides) = world();
    let env = f.env("e");
    f.install_ok(
        &env,
        &["physics", "--override", overrides.to_str().unwrap()],
    );
    let file = env.join(".envtool/remembered.json");
    std::fs::write(&file, "{\"overrides\": [\"mathlib==\"]}").unwrap();
    let before = snapshot(&env);
    let out = f.install(&env, &["-U", "physics"]);
    let err = assert_user_error(&out, "remembered.json");
    assert!(err.contains("--forget-constraints"), "{err}");
    assert_eq!(snapshot(&env), before);
    // --forget-constraints gets past it.
    f.install_ok(&env, &["-U", "physics", "--forget-constraints"]);
    assert!(!file.exists(), "{}", stdout(&out));
}

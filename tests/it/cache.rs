//! `envtool cache dir|info|clean|prune`: sizes per bucket, and removing only what may go.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::common;
use crate::fixture::{wheel, Fixture};

fn cache_cmd(fx: &Fixture, args: &[&str]) -> std::process::Output {
    let mut all = vec!["cache"];
    all.extend_from_slice(args);
    fx.t.cmd(&all)
        .env("ENVTOOL_PACK_ROOT", fx.t.path("pack-root"))
        .output()
        .unwrap()
}

fn backdate(path: &Path, days: u64) {
    let when = SystemTime::now() - Duration::from_secs(days * 86_400);
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(when)
        .unwrap();
}

/// A fixture whose cache holds one installed wheel.
fn warm() -> Fixture {
    let fx = Fixture::new();
    fx.publish(wheel("kept", "1.0").file("kept.py", ""));
    fx.install_ok(&fx.env("e"), &["kept==1.0"]);
    fx
}

#[test]
fn dir_and_info_describe_the_cache() {
    let fx = warm();
    let out = cache_cmd(&fx, &["dir"]);
    common::assert_success(&out);
    assert_eq!(
        Path::new(String::from_utf8_lossy(&out.stdout).trim()),
        fx.cache()
    );
    assert!(fx.cache().join("CACHEDIR.TAG").is_file());

    let out = cache_cmd(&fx, &["info", "--json"]);
    common::assert_success(&out);
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let wheels = info["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "wheels-v2")
        .expect("a wheels bucket");
    assert_eq!(wheels["entries"], 1, "{info}");
    assert!(wheels["bytes"].as_u64().unwrap() > 0);
    assert!(info["total_bytes"].as_u64().unwrap() >= wheels["bytes"].as_u64().unwrap());
    let text = cache_cmd(&fx, &["info"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("wheels-v2"));
}

#[test]
fn prune_removes_leftovers_and_unused_entries_but_keeps_the_rest() {
    let fx = warm();
    let cache = fx.cache();
    // Leftovers of a crash and of an older envtool.
    std::fs::create_dir_all(cache.join("tmp-v1/build-dead/x")).unwrap();
    std::fs::create_dir_all(cache.join("wheels-v0/abc")).unwrap();
    let out = cache_cmd(&fx, &["prune"]);
    common::assert_success(&out);
    assert!(!cache.join("tmp-v1").exists());
    assert!(!cache.join("wheels-v0").exists());
    assert_eq!(
        fx.cached_wheel_entries().len(),
        1,
        "a used entry was pruned"
    );

    // Not used for 40 days: gone with --older-than 30; a fresh one stays.
    fx.publish(wheel("fresh", "1.0").file("fresh.py", ""));
    fx.install_ok(&fx.env("e2"), &["fresh==1.0"]);
    let entries = fx.cached_wheel_entries();
    assert_eq!(entries.len(), 2);
    let stamp = |entry: &str| {
        cache
            .join("wheels-v2")
            .join(entry)
            .join(".envtool-wheel.json")
    };
    let old = entries
        .iter()
        .find(|e| {
            std::fs::read_to_string(stamp(e))
                .unwrap()
                .contains("kept-1.0")
        })
        .unwrap()
        .clone();
    backdate(&stamp(&old), 40);
    common::assert_success(&cache_cmd(&fx, &["prune", "--older-than", "30"]));
    let left = fx.cached_wheel_entries();
    assert_eq!(left.len(), 1);
    assert_ne!(left[0], old);
    // Environments hard-linked from the pruned entry keep working.
    assert!(fx.site_packages(&fx.t.path("e")).join("kept.py").is_file());
}

#[test]
fn prune_collects_unused_pack_extractions_but_not_one_in_use() {
    let fx = Fixture::new();
    let root = fx.t.path("pack-root");
    for name in ["old-unused", "old-running", "recent"] {
        std::fs::create_dir_all(root.join(name).join("site-packages")).unwrap();
        std::fs::write(root.join(name).join(".complete"), name).unwrap();
    }
    // A first start that crashed long ago: its staging directory's lock is free.
    std::fs::create_dir_all(root.join(".extract-crashed")).unwrap();
    std::fs::write(root.join(".extract-crashed/.lock"), "").unwrap();
    backdate(&root.join(".extract-crashed/.lock"), 1);
    File::open(root.join(".extract-crashed"))
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(86_400))
        .unwrap();
    backdate(&root.join("old-unused/.complete"), 10);
    backdate(&root.join("old-running/.complete"), 10);
    // A running pack holds a shared lock on its .complete file.
    let running = File::open(root.join("old-running/.complete")).unwrap();
    running.lock_shared().unwrap();
    common::assert_success(&cache_cmd(&fx, &["prune", "--older-than", "7"]));
    assert!(!root.join("old-unused").exists());
    assert!(!root.join(".extract-crashed").exists());
    assert!(
        root.join("old-running/.complete").is_file(),
        "removed while in use"
    );
    assert!(root.join("recent/.complete").is_file());
    drop(running);
}

#[test]
fn clean_empties_the_cache_and_installs_still_work_afterwards() {
    let fx = warm();
    common::assert_success(&cache_cmd(&fx, &["clean"]));
    assert!(fx.cached_wheel_entries().is_empty());
    assert!(!fx.cache().join("http-v1").exists());
    fx.install_ok(&fx.env("e2"), &["kept==1.0"]);
    fx.assert_installed(&fx.t.path("e2"), &[("kept", "1.0")]);
}

#[test]
fn clean_and_prune_refuse_while_another_process_uses_the_cache() {
    let fx = warm();
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(fx.cache().join(".lock"))
        .unwrap();
    lock.lock_shared().unwrap();
    for args in [&["clean"][..], &["prune"][..]] {
        let out = cache_cmd(&fx, args);
        common::assert_user_error(&out, "in use");
        assert_eq!(
            fx.cached_wheel_entries().len(),
            1,
            "{args:?} removed something"
        );
    }
    drop(lock);
    common::assert_success(&cache_cmd(&fx, &["clean"]));
}

#[test]
fn prune_rejects_a_negative_age() {
    let fx = Fixture::new();
    let out = cache_cmd(&fx, &["prune", "--older-than=-1"]);
    common::assert_user_error(&out, "--older-than");
}

/// The default pack root sits inside the default cache directory; pruning the cache must
/// treat it as pack extractions, not as an unknown bucket to delete.
#[test]
fn a_pack_root_inside_the_cache_is_not_an_unknown_bucket() {
    let fx = warm();
    let root = fx.cache().join("pack-v1");
    std::fs::create_dir_all(root.join("inuse/site-packages")).unwrap();
    std::fs::write(root.join("inuse/.complete"), "x").unwrap();
    let out =
        fx.t.cmd(["cache", "prune"])
            .env("ENVTOOL_PACK_ROOT", &root)
            .output()
            .unwrap();
    common::assert_success(&out);
    assert!(
        root.join("inuse/.complete").is_file(),
        "a recent extraction was pruned"
    );
    assert_eq!(fx.cached_wheel_entries().len(), 1);
}

/// Source-build buckets are cache buckets like the others: a plain prune keeps them (it used
/// to delete them as unknown, so every prune threw away built wheels and build environments).
#[test]
fn prune_keeps_source_build_buckets() {
    let fx = warm();
    for bucket in ["sdists-v1/abc", "built-v1/abc-def", "build-envs-v2/0123"] {
        std::fs::create_dir_all(fx.cache().join(bucket)).unwrap();
        std::fs::write(fx.cache().join(bucket).join("f"), "x").unwrap();
    }
    common::assert_success(&cache_cmd(&fx, &["prune"]));
    for bucket in ["sdists-v1/abc", "built-v1/abc-def", "build-envs-v2/0123"] {
        assert!(
            fx.cache().join(bucket).join("f").is_file(),
            "{bucket} was pruned"
        );
    }
}

/// The http bucket's page file indexes (`<page>.files`), made when a pin is read from a
/// cached JSON page.
fn page_indexes(fx: &Fixture) -> Vec<std::path::PathBuf> {
    let dir = fx.cache().join("http-v1");
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    found.retain(|p: &std::path::PathBuf| p.extension().is_some_and(|x| x == "files"));
    found
}

#[test]
fn a_pin_read_through_a_page_index_follows_the_page_when_it_changes() {
    let fx = Fixture::new();
    fx.publish(wheel("pinme", "1.0"));
    fx.install_ok(&fx.env("a"), &["pinme==1.0"]);
    // Offline, the pin comes from the cached page, through its index (made now).
    fx.install_ok(&fx.env("b"), &["--offline", "pinme==1.0"]);
    let indexes = page_indexes(&fx);
    assert_eq!(indexes.len(), 1, "{indexes:?}");
    fx.install_ok(&fx.env("c"), &["--offline", "pinme==1.0.0"]);

    // A new version: the page is fetched again, and the index made for the old page must
    // not hide it.
    fx.publish(wheel("pinme", "2.0"));
    fx.install_ok(&fx.env("d"), &["pinme==2.0"]);
    let e = fx.env("e");
    fx.install_ok(&e, &["--offline", "pinme==2.0"]);
    fx.assert_installed(&e, &[("pinme", "2.0")]);
    let index = std::fs::read_to_string(&page_indexes(&fx)[0]).unwrap();
    assert!(
        index.contains("\"2\":"),
        "the index was made again for the new page: {index}"
    );

    // A damaged index is not trusted: the page is read instead.
    for index in page_indexes(&fx) {
        std::fs::write(
            &index,
            b"{\"v\":1,\"stamp\":[0,0,0],\"head\":\"x\",\"versions\":{}}",
        )
        .unwrap();
    }
    let f = fx.env("f");
    fx.install_ok(&f, &["--offline", "pinme==1.0"]);
    fx.assert_installed(&f, &[("pinme", "1.0")]);
    for index in page_indexes(&fx) {
        std::fs::write(&index, b"garbage").unwrap();
    }
    let g = fx.env("g");
    fx.install_ok(&g, &["--offline", "pinme==2.0"]);
    fx.assert_installed(&g, &[("pinme", "2.0")]);

    // Without its page, prune takes the index away.
    for page in std::fs::read_dir(fx.cache().join("http-v1"))
        .unwrap()
        .flatten()
    {
        if page.path().extension().is_some_and(|x| x == "json") {
            std::fs::remove_file(page.path()).unwrap();
        }
    }
    let out = cache_cmd(&fx, &["prune"]);
    common::assert_success(&out);
    assert!(page_indexes(&fx).is_empty());
}

#[test]
fn an_unreadable_certificate_file_stops_network_use_only() {
    let fx = Fixture::new();
    fx.publish(wheel("certy", "1.0"));
    fx.install_ok(&fx.env("a"), &["certy==1.0"]);
    let bad = fx.write("bad.pem", "not a certificate\n");
    // Online, the request cannot be made: said so, with the variable to fix.
    let env = fx.env("b");
    let out = fx
        .install_cmd(&env, &["certy"])
        .env("SSL_CERT_FILE", &bad)
        .output()
        .unwrap();
    let err = common::assert_user_error(&out, "no certificates found");
    assert!(err.contains("SSL_CERT_FILE"), "{err}");
    // Offline, from the cache, the certificates are never read.
    let out = fx
        .install_cmd(&env, &["--offline", "certy==1.0"])
        .env("SSL_CERT_FILE", &bad)
        .output()
        .unwrap();
    common::assert_success(&out);
}

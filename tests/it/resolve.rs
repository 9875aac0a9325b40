//! Dependency resolution (PubGrub) end to end: a local index, `envtool install`, and real
//! pip checking the environment it produced.

use crate::common::{assert_user_error, tree};
use crate::fixture::{wheel, Fixture};
use crate::support::WheelBuilder;
use crate::{common, fixture};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A fixture publishing the given wheels, plus a fresh environment `e`.
fn world(wheels: Vec<WheelBuilder>) -> (Fixture, std::path::PathBuf) {
    let fx = Fixture::new();
    for w in wheels {
        fx.publish(w);
    }
    let env = fx.env("e");
    (fx, env)
}

/// `wheel(name, version)` with `Requires-Dist` lines.
fn dist(name: &str, version: &str, requires: &[&str]) -> WheelBuilder {
    requires
        .iter()
        .fold(wheel(name, version), |w, r| w.requires_dist(r))
}

/// Install, then check pip sees exactly `expected` and `pip check` is clean.
fn install_expect(
    fx: &Fixture,
    env: &std::path::Path,
    args: &[&str],
    expected: &[(&str, &str)],
) -> String {
    let err = fx.install_ok(env, args);
    fx.assert_installed(env, expected);
    fx.assert_pip_check_clean(env);
    err
}

// ---------------------------------------------------------------------------------------
// Choosing versions
// ---------------------------------------------------------------------------------------

#[test]
fn diamond_picks_the_version_both_sides_accept() {
    let (fx, env) = world(vec![
        dist("a", "1.0", &["b>=1", "c"]),
        dist("c", "1.0", &["b<2"]),
        wheel("b", "1.0"),
        wheel("b", "1.5"),
        wheel("b", "2.0"),
    ]);
    install_expect(
        &fx,
        &env,
        &["a"],
        &[("a", "1.0"), ("b", "1.5"), ("c", "1.0")],
    );
}

#[test]
fn backtracks_past_a_newest_version_with_a_missing_dependency() {
    let (fx, env) = world(vec![
        dist("a", "2.0", &["does-not-exist-anywhere>=1"]),
        wheel("a", "1.0"),
    ]);
    install_expect(&fx, &env, &["a"], &[("a", "1.0")]);
}

#[test]
fn backtracks_past_newer_versions_that_conflict() {
    let (fx, env) = world(vec![
        dist("a", "3.0", &["b>=2"]),
        dist("a", "2.0", &["b>=2"]),
        dist("a", "1.0", &["b>=1"]),
        wheel("b", "1.0"),
        wheel("b", "2.0"),
    ]);
    install_expect(&fx, &env, &["a", "b<2"], &[("a", "1.0"), ("b", "1.0")]);
}

#[test]
fn requirement_cycle_installs() {
    let (fx, env) = world(vec![dist("a", "1.0", &["b"]), dist("b", "1.0", &["a"])]);
    install_expect(&fx, &env, &["a"], &[("a", "1.0"), ("b", "1.0")]);
}

// ---------------------------------------------------------------------------------------
// Extras and markers
// ---------------------------------------------------------------------------------------

fn with_extras() -> Vec<WheelBuilder> {
    vec![
        wheel("pkg", "1.0")
            .provides_extra("x")
            .provides_extra("all")
            .requires_dist("xdep; extra == \"x\"")
            .requires_dist("pkg[x]; extra == \"all\"")
            .requires_dist("alldep>=1; extra == \"all\""),
        wheel("xdep", "1.0"),
        wheel("alldep", "1.0"),
    ]
}

#[test]
fn extra_pulls_its_dependency_only_when_asked() {
    let (fx, env) = world(with_extras());
    install_expect(&fx, &env, &["pkg"], &[("pkg", "1.0")]);
    let env2 = fx.env("with-x");
    install_expect(&fx, &env2, &["pkg[x]"], &[("pkg", "1.0"), ("xdep", "1.0")]);
}

#[test]
fn extra_that_pulls_another_extra() {
    let (fx, env) = world(with_extras());
    install_expect(
        &fx,
        &env,
        &["pkg[all]"],
        &[("pkg", "1.0"), ("xdep", "1.0"), ("alldep", "1.0")],
    );
}

#[test]
fn unknown_extra_warns_but_installs() {
    let (fx, env) = world(with_extras());
    let err = install_expect(&fx, &env, &["pkg[nosuch]"], &[("pkg", "1.0")]);
    assert!(
        err.contains("warning:") && err.contains("nosuch"),
        "pip warns about an unknown extra; we said:\n{err}"
    );
}

#[test]
fn markers_are_evaluated_for_the_target_interpreter() {
    let (fx, env) = world(vec![
        dist(
            "app",
            "1.0",
            &[
                "py2only; python_version < \"3.0\"",
                "linuxonly; sys_platform == \"linux\"",
                "winonly; sys_platform == \"win32\"",
            ],
        ),
        wheel("py2only", "1.0"),
        wheel("linuxonly", "1.0"),
        wheel("winonly", "1.0"),
    ]);
    install_expect(&fx, &env, &["app"], &[("app", "1.0"), ("linuxonly", "1.0")]);
}

// ---------------------------------------------------------------------------------------
// Python, yanked, pre-releases
// ---------------------------------------------------------------------------------------

#[test]
fn requires_python_prunes_the_newest_version() {
    let (fx, env) = world(vec![
        wheel("pkg", "1.0"),
        wheel("pkg", "2.0").requires_python(">=4.0"),
    ]);
    install_expect(&fx, &env, &["pkg"], &[("pkg", "1.0")]);
}

#[test]
fn no_version_for_this_python_names_the_python_requirement() {
    let (fx, env) = world(vec![wheel("future", "1.0").requires_python(">=4.0")]);
    let before = tree(&env);
    let out = fx.install(&env, &["future"]);
    let err = assert_user_error(&out, ">=4.0");
    let version = common::py(
        &fx.python,
        "import platform; print(platform.python_version())",
    );
    assert!(
        err.contains(&version) || err.contains("Python"),
        "the running Python is named:\n{err}"
    );
    assert_eq!(tree(&env), before);
}

#[test]
fn yanked_newest_is_skipped_unless_pinned_exactly() {
    let (fx, env) = world(vec![wheel("pkg", "1.0"), wheel("pkg", "2.0")]);
    fx.server().yank("pkg-2.0-py3-none-any.whl", Some("broken"));
    install_expect(&fx, &env, &["pkg"], &[("pkg", "1.0")]);
    let env2 = fx.env("pinned");
    install_expect(&fx, &env2, &["pkg==2.0"], &[("pkg", "2.0")]);
    let env3 = fx.env("range");
    install_expect(&fx, &env3, &["pkg>=1.0"], &[("pkg", "1.0")]);
}

#[test]
fn pre_releases_only_when_allowed() {
    let (fx, env) = world(vec![
        wheel("pkg", "1.0"),
        wheel("pkg", "2.0b1"),
        wheel("onlypre", "1.0a1"),
        wheel("onlypre", "1.0a2"),
    ]);
    install_expect(&fx, &env, &["pkg"], &[("pkg", "1.0")]);
    let pre = fx.env("pre");
    install_expect(&fx, &pre, &["pkg", "--pre"], &[("pkg", "2.0b1")]);
    let named = fx.env("named");
    install_expect(&fx, &named, &["pkg>=2.0b1"], &[("pkg", "2.0b1")]);
    let only = fx.env("only");
    install_expect(&fx, &only, &["onlypre"], &[("onlypre", "1.0a2")]);
}

// ---------------------------------------------------------------------------------------
// Installed versions, upgrades
// ---------------------------------------------------------------------------------------

#[test]
fn installed_version_is_kept_unless_upgrading() {
    let (fx, env) = world(vec![wheel("pkg", "1.0"), wheel("other", "1.0")]);
    install_expect(
        &fx,
        &env,
        &["pkg", "other"],
        &[("pkg", "1.0"), ("other", "1.0")],
    );
    fx.publish(wheel("pkg", "2.0"));
    fx.publish(wheel("other", "2.0"));

    let before = tree(&env);
    install_expect(
        &fx,
        &env,
        &["pkg", "other"],
        &[("pkg", "1.0"), ("other", "1.0")],
    );
    assert_eq!(
        tree(&env),
        before,
        "a satisfied install changed the environment"
    );

    install_expect(
        &fx,
        &env,
        &["pkg", "other", "--upgrade-package", "pkg"],
        &[("pkg", "2.0"), ("other", "1.0")],
    );
    install_expect(
        &fx,
        &env,
        &["pkg", "other", "--upgrade"],
        &[("pkg", "2.0"), ("other", "2.0")],
    );
    assert_eq!(
        common::py(
            &env.join("bin/python"),
            "import pkg, other; print(pkg.VERSION, other.VERSION)"
        ),
        "2.0 2.0"
    );
}

// ---------------------------------------------------------------------------------------
// Constraints, overrides, direct references
// ---------------------------------------------------------------------------------------

#[test]
fn constraints_limit_versions_without_adding_packages() {
    let (fx, env) = world(vec![
        wheel("pkg", "1.0"),
        wheel("pkg", "2.0"),
        wheel("unrelated", "1.0"),
    ]);
    let c = fx.write("constraints.txt", "pkg<2\nunrelated==1.0\n");
    install_expect(
        &fx,
        &env,
        &["pkg", "-c", c.to_str().unwrap()],
        &[("pkg", "1.0")],
    );
}

#[test]
fn override_replaces_a_dependency_range() {
    let (fx, env) = world(vec![
        dist("a", "1.0", &["b<2"]),
        wheel("b", "1.0"),
        wheel("b", "2.0"),
    ]);
    let o = fx.write("overrides.txt", "b==2.0\n");
    fx.install_ok(&env, &["a", "--override", o.to_str().unwrap()]);
    fx.assert_installed(&env, &[("a", "1.0"), ("b", "2.0")]);
    // pip, which knows nothing of the override, sees the declared range broken.
    let check = fx.pip(&env, &["check"]);
    let text = fixture::stdout(&check);
    assert!(
        !check.status.success() && text.contains("b<2"),
        "pip check:\n{text}"
    );
}

#[test]
fn direct_file_reference_wins_over_index_versions() {
    let (fx, env) = world(vec![
        dist("app", "1.0", &["pkg>=0.1"]),
        wheel("pkg", "1.0"),
        wheel("pkg", "2.0"),
    ]);
    let local = wheel("pkg", "0.5").build(fx.t.path("local"));
    let url = url::Url::from_file_path(&local).unwrap();
    let req = format!("pkg @ {url}");
    install_expect(&fx, &env, &["app", &req], &[("app", "1.0"), ("pkg", "0.5")]);
    let site = fx.site_packages(&env);
    let direct: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(site.join("pkg-0.5.dist-info/direct_url.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(direct["url"], url.as_str(), "{direct}");
    // pip reads the same origin.
    let freeze = fx.pip_ok(&env, &["freeze"]);
    assert!(freeze.contains(&format!("pkg @ {url}")), "{freeze}");
}

// ---------------------------------------------------------------------------------------
// Failures
// ---------------------------------------------------------------------------------------

#[test]
fn unsatisfiable_request_explains_both_sides() {
    let (fx, env) = world(vec![
        dist("a", "1.0", &["b>=2"]),
        wheel("b", "1.0"),
        wheel("b", "2.0"),
    ]);
    let before = tree(&env);
    let out = fx.install(&env, &["a", "b<2"]);
    let err = assert_user_error(&out, "b>=2");
    assert!(
        err.contains("a==1.0") || err.contains("a 1.0"),
        "the depending package is named:\n{err}"
    );
    assert!(
        err.contains("depends on b>=2"),
        "its requirement is named:\n{err}"
    );
    assert!(
        err.contains("b<2"),
        "what the user asked for is named:\n{err}"
    );
    assert_eq!(tree(&env), before);
}

#[test]
fn no_deps_installs_only_what_is_named() {
    let (fx, env) = world(vec![dist("a", "1.0", &["b"]), wheel("b", "1.0")]);
    fx.install_ok(&env, &["a", "--no-deps"]);
    fx.assert_installed(&env, &[("a", "1.0")]);
    let check = fx.pip(&env, &["check"]);
    let text = fixture::stdout(&check);
    assert!(
        !check.status.success() && text.contains("requires b"),
        "pip check:\n{text}"
    );
}

#[test]
fn malformed_requirement_points_at_the_column() {
    let (fx, env) = world(vec![wheel("pkg", "1.0")]);
    let text = "pkg>=1.0 ; python_version >> '3'";
    let before = tree(&env);
    let out = fx.install(&env, &[text]);
    let err = assert_user_error(&out, text);
    let lines: Vec<&str> = err.lines().collect();
    let at = lines.iter().position(|l| l.ends_with(text)).unwrap();
    let offset = lines[at].len() - text.len();
    let carets = lines
        .get(at + 1)
        .unwrap_or_else(|| panic!("no line after the requirement:\n{err}"));
    let column = carets
        .find('^')
        .unwrap_or_else(|| panic!("no ^ under the requirement:\n{err}"));
    // The caret points at the bad operator `>>`.
    let bad = text.find(">>").unwrap();
    assert!(
        (offset + bad..=offset + bad + 2).contains(&column),
        "the ^ is at column {column}, the bad text at {}:\n{err}",
        offset + bad
    );
    assert_eq!(tree(&env), before);
}

#[test]
fn unknown_name_suggests_a_close_one_from_find_links() {
    let fx = Fixture::new();
    let links = fx.t.path("links");
    wheel("colorama", "1.0").build(&links);
    let env = fx.env("e");
    let out = fx.t.run([
        "--index-url".as_ref(),
        fx.url().as_ref(),
        "--find-links".as_ref(),
        links.as_os_str(),
        "install".as_ref(),
        "--env".as_ref(),
        env.as_os_str(),
        "colourama".as_ref(),
    ]);
    let err = assert_user_error(&out, "colourama");
    assert!(err.contains("did you mean colorama"), "{err}");
    // The real name installs from the find-links directory.
    let out = fx.t.run([
        "--index-url".as_ref(),
        fx.url().as_ref(),
        "--find-links".as_ref(),
        links.as_os_str(),
        "install".as_ref(),
        "--env".as_ref(),
        env.as_os_str(),
        "colorama".as_ref(),
    ]);
    common::assert_success(&out);
    fx.assert_installed(&env, &[("colorama", "1.0")]);
}

// ---------------------------------------------------------------------------------------
// Agreeing with pip (it is the judge of what gets installed)
// ---------------------------------------------------------------------------------------

/// What pip would install for `reqs` from the fixture's index into `env` (`--dry-run --report`).
fn pip_would_install(fx: &Fixture, env: &std::path::Path, reqs: &[&str]) -> Vec<(String, String)> {
    let mut args = vec![
        "install",
        "--dry-run",
        "--quiet",
        "--report",
        "-",
        "--index-url",
        fx.url(),
    ];
    args.extend_from_slice(reqs);
    let text = fx.pip_ok(env, &args);
    let report: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("pip --report is not JSON ({e}):\n{text}"));
    let mut out: Vec<(String, String)> = report["install"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                fixture::normalize(i["metadata"]["name"].as_str().unwrap()),
                i["metadata"]["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Install with envtool, and check pip would have installed the same versions.
fn install_as_pip_would(
    fx: &Fixture,
    env: &std::path::Path,
    reqs: &[&str],
    expected: &[(&str, &str)],
) {
    let pip = pip_would_install(fx, env, reqs);
    let want: Vec<(String, String)> = expected
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    assert_eq!(pip, want, "pip's choice for {reqs:?}");
    install_expect(fx, env, reqs, expected);
}

#[test]
fn a_forked_dependency_with_a_local_version_satisfies_the_pin_of_its_parent() {
    // The seed's scenario: `physics` pins `mathlib==1.0`; the project's fork is 1.0+fork1.
    let (fx, env) = world(vec![
        dist("physics", "1.0", &["mathlib==1.0"]),
        wheel("mathlib", "1.0+fork1"),
    ]);
    install_as_pip_would(
        &fx,
        &env,
        &["physics"],
        &[("mathlib", "1.0+fork1"), ("physics", "1.0")],
    );
}

#[test]
fn local_versions_follow_pep_440_like_pip() {
    let (fx, _) = world(vec![
        wheel("lib", "1.2.3"),
        wheel("lib", "1.2.3+foo"),
        wheel("lib", "1.2.2"),
        wheel("only", "2.0.0+foo"),
        dist("top", "1.0", &["only==2.0.0"]),
    ]);
    for (i, (req, version)) in [
        ("lib==1.2.3", "1.2.3+foo"),
        ("lib<=1.2.3", "1.2.3+foo"),
        ("lib!=1.2.3", "1.2.2"),
        ("lib==1.2.3+foo", "1.2.3+foo"),
        ("lib<1.2.3", "1.2.2"),
    ]
    .into_iter()
    .enumerate()
    {
        let env = fx.env(&format!("e{i}"));
        install_as_pip_would(&fx, &env, &[req], &[("lib", version)]);
    }
    // A transitive pin on a version that exists only with a local label.
    let env = fx.env("transitive");
    install_as_pip_would(
        &fx,
        &env,
        &["top"],
        &[("only", "2.0.0+foo"), ("top", "1.0")],
    );
}

#[test]
fn backtracking_steps_back_the_package_that_keeps_conflicting() {
    // Every b 2.0.x needs a==1.0.0; b 1.0.0 needs an extra package. pip (and uv) answer
    // a==1.0.0 with the newest b, not the newest a with an old b.
    let mut wheels = vec![
        wheel("a", "1.0.0"),
        wheel("a", "2.0.0"),
        wheel("extra-pkg", "1.0"),
    ];
    for patch in 0..10 {
        wheels.push(dist("b", &format!("2.0.{patch}"), &["a==1.0.0"]));
    }
    wheels.push(dist("b", "1.0.0", &["extra-pkg"]));
    let (fx, env) = world(wheels);
    install_as_pip_would(&fx, &env, &["a", "b"], &[("a", "1.0.0"), ("b", "2.0.9")]);
}

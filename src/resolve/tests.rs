//! The solver against an in-memory package source: the resolution logic (diamonds,
//! backtracking, extras, markers, yanks, pre-releases, constraints and overrides) without a
//! disk, an index or an interpreter. End-to-end resolver tests with pip as the judge live in
//! the integration tests.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use pep440_rs::Version;
use pep508_rs::{MarkerEnvironment, Requirement};

use super::source::PackageSource;
use super::{resolve, DirectDist, ResolveInput, ResolveOptions};
use crate::dist::tags::{Tag, Tags};
use crate::dist::DistFilename;
use crate::index::simple::{CoreMetadata, DistFile};
use crate::index::{Candidate, ProjectFiles};

/// One version of a package: its dependencies and flags.
#[derive(Clone, Default)]
struct Release {
    requires: Vec<String>,
    extras: Vec<String>,
    requires_python: Option<String>,
    yanked: bool,
}

/// Packages by name, answering like an index; counts the metadata it is asked for.
#[derive(Default)]
struct Memory {
    packages: BTreeMap<String, BTreeMap<String, Release>>,
    metadata_asked: Mutex<HashMap<String, usize>>,
}

impl Memory {
    fn add(&mut self, name: &str, version: &str, requires: &[&str]) -> &mut Self {
        self.release(name, version, |r| {
            r.requires = requires.iter().map(|s| s.to_string()).collect()
        })
    }

    fn release(&mut self, name: &str, version: &str, edit: impl FnOnce(&mut Release)) -> &mut Self {
        let entry = self
            .packages
            .entry(name.to_string())
            .or_default()
            .entry(version.to_string())
            .or_default();
        edit(entry);
        self
    }
}

impl PackageSource for Memory {
    fn project(&self, name: &str) -> anyhow::Result<Arc<ProjectFiles>> {
        let mut files = ProjectFiles::default();
        let Some(releases) = self.packages.get(name) else {
            return Ok(Arc::new(files));
        };
        files.found = true;
        for (version, release) in releases {
            let filename = format!("{}-{version}-py3-none-any.whl", name.replace('-', "_"));
            let file = DistFile {
                filename: filename.clone(),
                url: url::Url::parse(&format!("https://memory.invalid/{filename}")).unwrap(),
                hashes: Default::default(),
                requires_python: release.requires_python.clone(),
                core_metadata: CoreMetadata::Available {
                    hashes: Default::default(),
                },
                yanked: release.yanked.then(String::new),
                size: None,
                upload_time: None,
            };
            files.candidates.push(Candidate {
                dist: DistFilename::parse(&filename, Some(name)).unwrap(),
                file: Arc::new(file),
                index: None,
            });
        }
        Ok(Arc::new(files))
    }

    fn metadata(&self, candidate: &Candidate) -> anyhow::Result<String> {
        let name = crate::dist::normalize_name(candidate.dist.name());
        let version = candidate.dist.version().to_string();
        *self
            .metadata_asked
            .lock()
            .unwrap()
            .entry(format!("{name}=={version}"))
            .or_default() += 1;
        let release = &self.packages[&name][&version];
        let mut text = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
        for r in &release.requires {
            text.push_str(&format!("Requires-Dist: {r}\n"));
        }
        for e in &release.extras {
            text.push_str(&format!("Provides-Extra: {e}\n"));
        }
        if let Some(rp) = &release.requires_python {
            text.push_str(&format!("Requires-Python: {rp}\n"));
        }
        Ok(text)
    }

    fn can_build(&self) -> bool {
        false
    }

    fn known_names(&self) -> Vec<String> {
        self.packages.keys().cloned().collect()
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}

fn markers(python: &str) -> MarkerEnvironment {
    let minor: String = python.split('.').take(2).collect::<Vec<_>>().join(".");
    MarkerEnvironment::try_from(pep508_rs::MarkerEnvironmentBuilder {
        implementation_name: "cpython",
        implementation_version: python,
        os_name: "posix",
        platform_machine: "x86_64",
        platform_python_implementation: "CPython",
        platform_release: "",
        platform_system: "Linux",
        platform_version: "",
        python_full_version: python,
        python_version: &minor,
        sys_platform: "linux",
    })
    .unwrap()
}

/// What to resolve, with the options tests vary.
#[derive(Default)]
struct Ask {
    root: Vec<&'static str>,
    constraints: Vec<&'static str>,
    overrides: Vec<&'static str>,
    options: ResolveOptions,
    direct: HashMap<String, DirectDist>,
}

fn reqs(texts: &[&str]) -> Vec<Requirement> {
    texts.iter().map(|t| t.parse().unwrap()).collect()
}

/// Resolve on Python 3.11; `name==version` sorted, or the error message.
fn solve(memory: Memory, ask: Ask) -> Result<Vec<String>, String> {
    solve_on(memory, ask, "3.11.4")
}

fn solve_on(memory: Memory, ask: Ask, python: &str) -> Result<Vec<String>, String> {
    let input = ResolveInput {
        root: reqs(&ask.root),
        constraints: reqs(&ask.constraints),
        overrides: reqs(&ask.overrides),
        direct: ask.direct,
        options: ask.options,
    };
    let tags = Tags::from_list(vec![Tag::new("py3", "none", "any")]);
    resolve(
        input,
        Arc::new(memory),
        tags,
        python.parse::<Version>().unwrap(),
        markers(python),
    )
    .map(|r| {
        r.dists
            .iter()
            .map(|d| format!("{}=={}", d.key, d.version))
            .collect()
    })
    .map_err(|e| format!("{e:#}"))
}

fn ask(root: &[&'static str]) -> Ask {
    Ask {
        root: root.to_vec(),
        ..Default::default()
    }
}

#[test]
fn newest_versions_of_a_diamond() {
    let mut m = Memory::default();
    m.add("app", "1.0", &["left", "right"])
        .add("left", "1.0", &["base>=1"])
        .add("right", "1.0", &["base<3"])
        .add("base", "1.0", &[])
        .add("base", "2.0", &[])
        .add("base", "3.0", &[]);
    assert_eq!(
        solve(m, ask(&["app"])).unwrap(),
        ["app==1.0", "base==2.0", "left==1.0", "right==1.0"]
    );
}

#[test]
fn backtracks_to_an_older_version_that_fits() {
    let mut m = Memory::default();
    m.add("a", "1.0", &["c<2"])
        .add("a", "2.0", &["c>=2"])
        .add("b", "1.0", &["c<2"])
        .add("c", "1.0", &[])
        .add("c", "2.0", &[]);
    assert_eq!(
        solve(m, ask(&["a", "b"])).unwrap(),
        ["a==1.0", "b==1.0", "c==1.0"]
    );
}

#[test]
fn extras_pull_in_their_dependencies_only_when_asked() {
    let mut m = Memory::default();
    m.release("req", "1.0", |r| {
        r.requires = vec!["socks; extra == 'socks'".into()];
        r.extras = vec!["socks".into()];
    })
    .add("socks", "1.0", &[]);
    let both = Memory {
        packages: m.packages.clone(),
        ..Default::default()
    };
    assert_eq!(solve(m, ask(&["req"])).unwrap(), ["req==1.0"]);
    assert_eq!(
        solve(both, ask(&["req[socks]"])).unwrap(),
        ["req==1.0", "socks==1.0"]
    );
}

#[test]
fn markers_are_evaluated_for_the_target() {
    let mut m = Memory::default();
    m.add(
        "app",
        "1.0",
        &[
            "winonly; sys_platform == 'win32'",
            "old; python_version < '3.10'",
        ],
    )
    .add("winonly", "1.0", &[])
    .add("old", "1.0", &[]);
    let copy = Memory {
        packages: m.packages.clone(),
        ..Default::default()
    };
    assert_eq!(solve(m, ask(&["app"])).unwrap(), ["app==1.0"]);
    assert_eq!(
        solve_on(copy, ask(&["app"]), "3.9.18").unwrap(),
        ["app==1.0", "old==1.0"]
    );
}

#[test]
fn yanked_versions_only_when_pinned_exactly() {
    let mut m = Memory::default();
    m.add("y", "1.0", &[])
        .release("y", "2.0", |r| r.yanked = true);
    let copy = Memory {
        packages: m.packages.clone(),
        ..Default::default()
    };
    assert_eq!(solve(m, ask(&["y"])).unwrap(), ["y==1.0"]);
    assert_eq!(solve(copy, ask(&["y==2.0"])).unwrap(), ["y==2.0"]);
}

#[test]
fn pre_releases_only_when_allowed_or_named() {
    let mut m = Memory::default();
    m.add("p", "1.0", &[]).add("p", "2.0b1", &[]);
    let named = Memory {
        packages: m.packages.clone(),
        ..Default::default()
    };
    let allowed = Memory {
        packages: m.packages.clone(),
        ..Default::default()
    };
    assert_eq!(solve(m, ask(&["p"])).unwrap(), ["p==1.0"]);
    assert_eq!(solve(named, ask(&["p>=2.0b1"])).unwrap(), ["p==2.0b1"]);
    let mut with_pre = ask(&["p"]);
    with_pre.options.pre = true;
    assert_eq!(solve(allowed, with_pre).unwrap(), ["p==2.0b1"]);
}

#[test]
fn requires_python_excludes_versions() {
    let mut m = Memory::default();
    m.add("r", "1.0", &[])
        .release("r", "2.0", |r| r.requires_python = Some(">=3.12".into()));
    assert_eq!(solve(m, ask(&["r"])).unwrap(), ["r==1.0"]);
}

#[test]
fn constraints_limit_versions_without_adding_packages() {
    let mut m = Memory::default();
    m.add("app", "1.0", &["lib"])
        .add("lib", "1.0", &[])
        .add("lib", "2.0", &[])
        .add("unused", "1.0", &[]);
    let mut a = ask(&["app"]);
    a.constraints = vec!["lib<2", "unused==1.0"];
    assert_eq!(solve(m, a).unwrap(), ["app==1.0", "lib==1.0"]);
}

#[test]
fn a_constraint_that_leaves_no_version_is_named() {
    let mut m = Memory::default();
    m.add("app", "1.0", &["lib>=1"]).add("lib", "1.0", &[]);
    let mut a = ask(&["app"]);
    a.constraints = vec!["lib<0.5"];
    let err = solve(m, a).unwrap_err();
    assert!(
        err.contains("lib>=1") && err.contains("constraints on lib"),
        "{err}"
    );
}

#[test]
fn overrides_replace_a_dependency_anywhere_in_the_graph() {
    let mut m = Memory::default();
    m.add("physics", "1.0", &["mathlib==1.0"])
        .add("mathlib", "1.0", &[])
        .add("mathlib", "2.0", &[]);
    let mut a = ask(&["physics"]);
    a.overrides = vec!["mathlib>=2"];
    assert_eq!(solve(m, a).unwrap(), ["mathlib==2.0", "physics==1.0"]);
}

#[test]
fn installed_versions_are_kept_unless_upgrading() {
    let mut m = Memory::default();
    m.add("k", "1.0", &[]).add("k", "2.0", &[]);
    let copy = Memory {
        packages: m.packages.clone(),
        ..Default::default()
    };
    let mut keep = ask(&["k"]);
    keep.options
        .preferences
        .insert("k".into(), "1.0".parse().unwrap());
    assert_eq!(solve(m, keep).unwrap(), ["k==1.0"]);
    let mut upgrade = ask(&["k"]);
    upgrade
        .options
        .preferences
        .insert("k".into(), "1.0".parse().unwrap());
    upgrade.options.upgrade_all = true;
    assert_eq!(solve(copy, upgrade).unwrap(), ["k==2.0"]);
}

#[test]
fn conflicts_are_explained_and_unknown_names_suggested() {
    let mut m = Memory::default();
    m.add("a", "1.0", &["c==1.0"])
        .add("b", "1.0", &["c==2.0"])
        .add("c", "1.0", &[])
        .add("c", "2.0", &[]);
    let err = solve(m, ask(&["a", "b"])).unwrap_err();
    assert!(err.contains("no set of versions"), "{err}");
    let mut m = Memory::default();
    m.add("requests", "1.0", &[]);
    let err = solve(m, ask(&["reqests"])).unwrap_err();
    assert!(err.contains("no package named reqests"), "{err}");
}

#[test]
fn no_deps_installs_only_what_is_named() {
    let mut m = Memory::default();
    m.add("app", "1.0", &["lib"]).add("lib", "1.0", &[]);
    let mut a = ask(&["app"]);
    a.options.no_deps = true;
    assert_eq!(solve(m, a).unwrap(), ["app==1.0"]);
}

#[test]
fn a_local_version_satisfies_an_exact_pin_of_its_public_version() {
    // The seed's scenario: physics pins mathlib==1.0; the project's fork is 1.0+fork1.
    let mut m = Memory::default();
    m.add("physics", "1.0", &["mathlib==1.0"])
        .add("mathlib", "1.0+fork1", &[])
        .add("mathlib", "2.0", &[]);
    assert_eq!(
        solve(m, ask(&["physics"])).unwrap(),
        ["mathlib==1.0+fork1", "physics==1.0"]
    );
    // With both published, the local is preferred (as pip and uv choose).
    let mut both = Memory::default();
    both.add("a", "1.2.3", &[])
        .add("a", "1.2.3+foo", &[])
        .add("a", "1.2.2", &[]);
    let copy = |m: &Memory| Memory {
        packages: m.packages.clone(),
        ..Default::default()
    };
    assert_eq!(
        solve(copy(&both), ask(&["a==1.2.3"])).unwrap(),
        ["a==1.2.3+foo"]
    );
    assert_eq!(
        solve(copy(&both), ask(&["a<=1.2.3"])).unwrap(),
        ["a==1.2.3+foo"]
    );
    assert_eq!(
        solve(copy(&both), ask(&["a!=1.2.3"])).unwrap(),
        ["a==1.2.2"]
    );
    assert_eq!(
        solve(copy(&both), ask(&["a===1.2.3"])).unwrap(),
        ["a==1.2.3"]
    );
    assert!(solve(copy(&both), ask(&["a>1.2.3"])).is_err());
    // A transitive exact pin where only the local exists.
    let mut t = Memory::default();
    t.add("app", "1.0", &["b==2.0.0"])
        .add("b", "2.0.0+foo", &[]);
    assert_eq!(
        solve(t, ask(&["app"])).unwrap(),
        ["app==1.0", "b==2.0.0+foo"]
    );
}

/// packse's wrong-backtracking-basic: pip and uv answer a==1.0.0, b==2.0.9 (not a==2.0.0 with
/// b walked down to 1.0.0 and its extra dependency).
#[test]
fn a_package_that_keeps_conflicting_is_revisited() {
    let mut m = Memory::default();
    m.add("a", "1.0.0", &[]).add("a", "2.0.0", &[]);
    m.add("b", "1.0.0", &["too-old"]);
    for patch in 0..10 {
        m.add("b", &format!("2.0.{patch}"), &["a==1.0.0"]);
    }
    m.add("too-old", "1.0.0", &[]);
    assert_eq!(
        solve(m, ask(&["a", "b"])).unwrap(),
        ["a==1.0.0", "b==2.0.9"]
    );
}

/// The conflict messages name what collides in the user's own words.
#[test]
fn colliding_root_requirements_are_named() {
    let mut m = Memory::default();
    m.add("a", "1.0.0", &[]).add("a", "2.0.0", &[]);
    let copy = Memory {
        packages: m.packages.clone(),
        ..Default::default()
    };
    let err = solve(m, ask(&["a==1.0.0", "a==2.0.0"])).unwrap_err();
    assert!(
        err.contains("a==1.0.0") && err.contains("a==2.0.0"),
        "{err}"
    );
    let err = solve(copy, ask(&["a>=2", "a<2"])).unwrap_err();
    assert!(err.contains(">=2") && err.contains("<2"), "{err}");
}

#[test]
fn messages_name_what_is_available() {
    let mut m = Memory::default();
    m.add("app", "1.0", &["lib<1"]).add("lib", "1.0.0", &[]);
    let err = solve(m, ask(&["app"])).unwrap_err();
    assert!(err.contains("only lib==1.0.0 is available"), "{err}");
    let mut w = Memory::default();
    w.add("wheels-only", "1.0", &[]);
    let mut a = ask(&["wheels-only"]);
    a.options.binary = super::BinaryPolicy::parse(&[], &[":all:".to_string()]);
    let err = solve(w, a).unwrap_err();
    assert!(err.contains("--no-binary"), "{err}");
}

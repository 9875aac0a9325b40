//! Which Pythons a pure-Python wheel set runs on: every CPython 3.X that each distribution's
//! Requires-Python allows and for which no requirement is missing (a dependency whose marker
//! is true only on some versions, such as `tomli; python_version < "3.11"`, must be in the
//! set). Minor versions, contiguous around the one the set was built with; the upper end is
//! open when nothing bounds it.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{MarkerEnvironment, MarkerEnvironmentBuilder, Requirement};

use crate::dist::normalize_name;
use crate::install::installed::InstalledDist;

/// The minors looked at; reaching the last one means "no upper bound".
const LAST: u32 = 40;
/// The oldest Python a pack's bootstrap supports.
const FIRST: u32 = 8;

/// (lowest minor, highest minor or None for open) a wheel set built with `3.built` runs on.
pub fn python_range(
    dists: &[InstalledDist],
    built: u32,
    markers: &BTreeMap<String, String>,
) -> (u32, Option<u32>) {
    let keys: BTreeSet<String> = dists.iter().map(|d| d.key.clone()).collect();
    let specifiers: Vec<VersionSpecifiers> = dists
        .iter()
        .filter_map(|d| d.metadata.requires_python.as_deref())
        .filter_map(|s| VersionSpecifiers::from_str(s).ok())
        .collect();
    let requirements: Vec<Requirement> = dists
        .iter()
        .flat_map(|d| d.metadata.requires_dist.iter())
        .filter_map(|r| crate::dist::pep508::requirement(r).ok())
        .collect();
    let allowed = |minor: u32| -> bool {
        if minor == built {
            return true; // it was installed for this one
        }
        let version = Version::new([3, minor as u64, 0]);
        if !specifiers.iter().all(|s| s.contains(&version)) {
            return false;
        }
        let Some(env) = environment(markers, minor) else {
            return false;
        };
        requirements.iter().all(|r| {
            !r.marker.evaluate(&env, &[]) || keys.contains(&normalize_name(r.name.as_ref()))
        })
    };
    let mut low = built;
    while low > FIRST && allowed(low - 1) {
        low -= 1;
    }
    let mut high = built;
    while high < LAST && allowed(high + 1) {
        high += 1;
    }
    (low, (high < LAST).then_some(high))
}

/// The build interpreter's marker environment with the Python version set to `3.minor`.
fn environment(markers: &BTreeMap<String, String>, minor: u32) -> Option<MarkerEnvironment> {
    let get = |k: &str| markers.get(k).map(String::as_str).unwrap_or("");
    let short = format!("3.{minor}");
    let full = format!("3.{minor}.0");
    MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
        implementation_name: get("implementation_name"),
        implementation_version: &full,
        os_name: get("os_name"),
        platform_machine: get("platform_machine"),
        platform_python_implementation: get("platform_python_implementation"),
        platform_release: get("platform_release"),
        platform_system: get("platform_system"),
        platform_version: get("platform_version"),
        python_full_version: &full,
        python_version: &short,
        sys_platform: get("sys_platform"),
    })
    .ok()
}

/// `>=3.8`, `>=3.8, <3.13`, `==3.12.*`: the range as a specifier (for messages and --inspect).
pub fn describe(range: (u32, Option<u32>)) -> String {
    match range {
        (low, Some(high)) if low == high => format!("==3.{low}.*"),
        (low, Some(high)) => format!(">=3.{low}, <3.{}", high + 1),
        (low, None) => format!(">=3.{low}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::metadata::CoreMetadata;

    fn dist(name: &str, requires_python: Option<&str>, requires: &[&str]) -> InstalledDist {
        InstalledDist {
            metadata: CoreMetadata {
                name: name.into(),
                version: "1.0".into(),
                requires_dist: requires.iter().map(|s| s.to_string()).collect(),
                requires_python: requires_python.map(String::from),
                ..Default::default()
            },
            key: normalize_name(name),
            dist_info: Default::default(),
            installer: None,
            requested: true,
            direct_url: None,
            origin: None,
        }
    }

    fn markers() -> BTreeMap<String, String> {
        [
            ("implementation_name", "cpython"),
            ("os_name", "posix"),
            ("platform_machine", "x86_64"),
            ("platform_python_implementation", "CPython"),
            ("platform_system", "Linux"),
            ("sys_platform", "linux"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn open_when_nothing_bounds_it() {
        let d = [dist("a", Some(">=3.9"), &[])];
        assert_eq!(python_range(&d, 12, &markers()), (9, None));
        assert_eq!(describe((9, None)), ">=3.9");
    }

    #[test]
    fn requires_python_bounds_it() {
        let d = [dist("a", Some(">=3.10,<3.14"), &[]), dist("b", None, &[])];
        assert_eq!(python_range(&d, 12, &markers()), (10, Some(13)));
    }

    #[test]
    fn a_dependency_missing_on_some_versions_bounds_it() {
        // Built on 3.12: tomli was not installed, so 3.10 and older lack it.
        let d = [dist(
            "a",
            Some(">=3.8"),
            &["tomli>=1; python_version < \"3.11\""],
        )];
        assert_eq!(python_range(&d, 12, &markers()), (11, None));
        // Built on 3.10 with tomli: every version has what it needs.
        let d = [
            dist("a", Some(">=3.8"), &["tomli>=1; python_version < \"3.11\""]),
            dist("tomli", Some(">=3.7"), &[]),
        ];
        assert_eq!(python_range(&d, 10, &markers()), (8, None));
        // Extras are not asked for.
        let d = [dist("a", None, &["rich; extra == \"pretty\""])];
        assert_eq!(python_range(&d, 12, &markers()), (8, None));
    }
}

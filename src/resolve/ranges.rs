//! PEP 440 specifiers as the solver's version ranges. pep440_rs 0.7's own conversion leaves
//! local versions out of `==V` and `<=V` (and in `!=V`), so `==1.2.3` would never match
//! `1.2.3+fork` the way PEP 440, pip and uv do; this conversion is exact: an upper bound of
//! "V and its locals" is the least version above them all (PEP 440 has none in between).

use super::provider::Range;
use pep440_rs::{Operator, Version, VersionSpecifier, VersionSpecifiers};
use std::ops::Bound;

/// The least version above `v` and every `v+local` (PEP 440 has nothing in between).
fn after_locals(v: &Version) -> Version {
    let v = v.clone().without_local();
    if let Some(dev) = v.dev() {
        v.with_dev(Some(dev.saturating_add(1)))
    } else if let Some(post) = v.post() {
        v.with_post(Some(post.saturating_add(1))).with_dev(Some(0))
    } else {
        v.with_post(Some(0)).with_dev(Some(0))
    }
}

/// `==v` ignoring local labels: `[v, after_locals(v))`.
fn public_eq(v: &Version) -> Range {
    Range::from_range_bounds((Bound::Included(v.clone()), Bound::Excluded(after_locals(v))))
}

pub fn range_of_specifier(spec: &VersionSpecifier) -> Range {
    let v = spec.version().clone();
    match spec.operator() {
        Operator::Equal | Operator::NotEqual => {
            let eq = if v.is_local() {
                Range::singleton(v)
            } else {
                public_eq(&v)
            };
            if *spec.operator() == Operator::Equal {
                eq
            } else {
                eq.complement()
            }
        }
        Operator::ExactEqual => Range::singleton(v),
        Operator::LessThanEqual => Range::strictly_lower_than(after_locals(&v)),
        Operator::LessThan => {
            if v.any_prerelease() {
                Range::strictly_lower_than(v)
            } else if v.is_post() {
                // `<1.0.post1`: below the earliest dev release of 1.0.post1.
                Range::strictly_lower_than(v.with_dev(Some(0)))
            } else {
                // `<1.0`: below `1.0min0`, which sorts before 1.0's dev and pre-releases.
                Range::strictly_lower_than(v.with_min(Some(0)))
            }
        }
        Operator::GreaterThan => {
            if v.is_dev() || v.is_post() {
                // Excludes v+local: start at the next real version.
                Range::higher_than(after_locals(&v))
            } else {
                // `>1.0` excludes 1.0.postN and 1.0+local: above `1.0max0`.
                Range::strictly_higher_than(v.with_max(Some(0)))
            }
        }
        Operator::GreaterThanEqual => Range::higher_than(v),
        // pep440_rs 0.7 gets these right (locals fall inside the half-open intervals).
        Operator::TildeEqual | Operator::EqualStar | Operator::NotEqualStar => {
            Range::from(spec.clone())
        }
    }
}

pub fn range_of_specifiers(specs: &VersionSpecifiers) -> Range {
    specs
        .iter()
        .fold(Range::full(), |r, s| r.intersection(&range_of_specifier(s)))
}

/// The public version a range pins: `==V` (`[V, after_locals(V))`), `==V+local` or `===V`.
/// Use where `range.as_singleton()` was used (yanked-pin exception, priority).
pub fn pinned_version(range: &Range) -> Option<&Version> {
    if let Some(v) = range.as_singleton() {
        return Some(v);
    }
    let mut segments = range.iter();
    match (segments.next(), segments.next()) {
        (Some((Bound::Included(lo), Bound::Excluded(hi))), None)
            if !lo.is_local() && *hi == after_locals(lo) =>
        {
            Some(lo)
        }
        _ => None,
    }
}

/// For messages: `V` when `bound` is `after_locals(V)` of a final release (`<1.2.3.post0.dev0`
/// is `<=1.2.3`).
pub fn before_locals(bound: &Version) -> Option<Version> {
    (bound.post() == Some(0)
        && bound.dev() == Some(0)
        && !bound.is_local()
        && bound.pre().is_none())
    .then(|| bound.clone().with_dev(None).with_post(None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    /// The range agrees with PEP 440's own `contains` on a grid of specifiers and versions,
    /// local, post, dev and pre-releases included.
    #[test]
    fn ranges_agree_with_pep_440() {
        let versions = [
            "1.2.2",
            "1.2.3.dev1",
            "1.2.3a1",
            "1.2.3rc1",
            "1.2.3",
            "1.2.3+foo",
            "1.2.3+foo.1",
            "1.2.3+bar",
            "1.2.3.post0",
            "1.2.3.post1",
            "1.2.3.post1+x",
            "1.2.3.post2.dev0",
            "1.2.4.dev0",
            "1.2.4",
            "1.3",
            "2.0",
        ];
        let specs = [
            "==1.2.3",
            "==1.2.3+foo",
            "!=1.2.3",
            "<=1.2.3",
            "<1.2.3",
            ">1.2.3",
            ">=1.2.3",
            "<1.2.3.post1",
            ">1.2.3.post1",
            "<=1.2.3.post1",
            "==1.2.*",
            "!=1.2.*",
            "~=1.2.3",
            "===1.2.3",
            "<1.2.3rc1",
            "==1.2.3.post1",
        ];
        for spec in specs {
            let parsed: VersionSpecifiers = spec.parse().unwrap();
            let range = range_of_specifiers(&parsed);
            for version in versions {
                let ver = v(version);
                // pep440_rs's `contains` applies its own pre-release rules to `<`/`>` (keeping
                // 1.2.3's pre-releases out of `<1.2.3.postN` and `<1.2.3rc1`, where pip's
                // packaging lets them in, as these ranges do). Pre-releases are chosen by
                // policy elsewhere; the grid is about locals and post-releases.
                if ver.any_prerelease() && (spec.starts_with('<') || spec.starts_with('>')) {
                    continue;
                }
                assert_eq!(
                    range.contains(&ver),
                    parsed.contains(&ver),
                    "{version} in {spec}"
                );
            }
        }
    }

    #[test]
    fn pinned_versions_and_messages() {
        let eq = range_of_specifiers(&"==1.2.3".parse().unwrap());
        assert_eq!(pinned_version(&eq), Some(&v("1.2.3")));
        let local = range_of_specifiers(&"==1.2.3+foo".parse().unwrap());
        assert_eq!(pinned_version(&local), Some(&v("1.2.3+foo")));
        assert_eq!(
            pinned_version(&range_of_specifiers(&">=1".parse().unwrap())),
            None
        );
        assert_eq!(before_locals(&v("1.2.3.post0.dev0")), Some(v("1.2.3")));
        assert_eq!(before_locals(&v("1.2.4")), None);
    }
}

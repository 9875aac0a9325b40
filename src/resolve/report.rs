//! Explaining an unsatisfiable request in words a user can act on:
//! "flask==3.0.0 depends on werkzeug>=3.0.0, and you asked for werkzeug<2".

use std::ops::Bound;

use pubgrub::{
    DefaultStringReporter, DerivationTree, Derived, External, Map, ReportFormatter, Reporter, Term,
};

use super::provider::{Pkg, Range, State};

/// A range in PEP 440 words: `==1.0`, `>=1.0, <2.0`, `any version`.
pub fn range_text(range: &Range) -> String {
    if range == &Range::full() {
        return String::new();
    }
    if range.is_empty() {
        return " (no version)".into();
    }
    if let Some(v) = super::ranges::pinned_version(range) {
        return format!("=={v}");
    }
    // `!=V` is everything but [V, after V's locals): two segments meeting there.
    let segments: Vec<_> = range.iter().collect();
    if let [(Bound::Unbounded, Bound::Excluded(a)), (Bound::Included(b), Bound::Unbounded)] =
        segments.as_slice()
    {
        if super::ranges::before_locals(b).as_ref() == Some(a) {
            return format!("!={a}");
        }
    }
    let upper = |v: &pep440_rs::Version| match super::ranges::before_locals(v) {
        Some(before) => format!("<={before}"),
        None => format!("<{v}"),
    };
    let parts: Vec<String> = range
        .iter()
        .map(|(lo, hi)| match (lo, hi) {
            (Bound::Included(a), Bound::Included(b)) if a == b => format!("=={a}"),
            (Bound::Unbounded, Bound::Unbounded) => String::new(),
            (lo, hi) => {
                let mut s = Vec::new();
                match lo {
                    Bound::Included(v) => s.push(format!(">={v}")),
                    Bound::Excluded(v) => s.push(format!(">{v}")),
                    Bound::Unbounded => {}
                }
                match hi {
                    Bound::Included(v) => s.push(format!("<={v}")),
                    Bound::Excluded(v) => s.push(upper(v)),
                    Bound::Unbounded => {}
                }
                s.join(",")
            }
        })
        .collect();
    parts.join(" or ")
}

fn pkg_range(pkg: &Pkg, range: &Range) -> String {
    format!("{pkg}{}", range_text(range))
}

/// Formats pubgrub's explanation with our names, plus reasons we know for "no versions".
pub struct Formatter<'a> {
    pub state: &'a State,
    /// The most specific advice met while explaining.
    pub hints: std::cell::RefCell<Vec<String>>,
}

impl Formatter<'_> {
    /// Why `pkg` has no usable version in `range`: Python, platform, source-only, yanked.
    fn advise(&self, hint: String) {
        let mut hints = self.hints.borrow_mut();
        if !hints.contains(&hint) {
            hints.push(hint);
        }
    }

    fn why_none(&self, pkg: &Pkg, range: &Range) -> String {
        let Some(key) = pkg.key() else {
            return String::new();
        };
        let Ok(map) = self.state.versions(key) else {
            return String::new();
        };
        if !map.found {
            self.advise(format!(
                "check the spelling of {key}, or the index (--index-url)"
            ));
            return format!(" ({key} was not found in {})", self.state.source.describe());
        }
        let in_range: Vec<_> = map
            .entries
            .iter()
            .filter(|(v, _)| range.contains(*v))
            .collect();
        let Some((newest, entry)) = in_range.last() else {
            return String::new();
        };
        if let Some(py) = &entry.python_excluded {
            if entry.wheel.is_none() {
                self.advise(format!(
                    "use an interpreter {key} {newest} supports (--python), or require an older {key}"
                ));
                return format!(
                    " (the newest, {newest}, requires Python {py}, and this is Python {})",
                    self.state.python
                );
            }
        }
        if entry.sdist.is_none() && entry.wheel.is_some() && !self.state.allow(key).0 {
            self.advise(format!("allow wheels of {key} (drop --no-binary for it)"));
            return format!(
                " ({key} {newest} has only wheels, and --no-binary forbids using them: there is no source distribution to build)"
            );
        }
        if entry.wheel.is_none() && entry.sdist.is_some() && !self.state.allow(key).1 {
            self.advise(format!(
                "allow building {key} from source (drop --only-binary for it)"
            ));
            return format!(" ({key} {newest} has only a source distribution, and --only-binary forbids building it)");
        }
        if entry.wheel.is_none() && !entry.incompatible_wheels.is_empty() {
            let first = self
                .state
                .tags
                .iter()
                .next()
                .map(|t| t.to_string())
                .unwrap_or_default();
            let last = self
                .state
                .tags
                .iter()
                .last()
                .map(|t| t.to_string())
                .unwrap_or_default();
            self.advise(format!(
                "use an interpreter or platform {key} publishes wheels for, or a version of {key} with a wheel for this one"
            ));
            return format!(
                " (no wheel of {key} {newest} fits this interpreter: it has {}; this interpreter accepts {} tags, from {first} to {last})",
                entry.incompatible_wheels.join(", "),
                self.state.tags.len(),
            );
        }
        if entry.yanked {
            self.advise(format!(
                "pin {key}=={newest} exactly to use a yanked version"
            ));
            return format!(
                " ({key} {newest} was yanked; pin it exactly with == to use it anyway)"
            );
        }
        if newest.any_prerelease() {
            self.advise("pass --pre to allow pre-releases".into());
            return format!(" (only pre-releases such as {newest}; pass --pre to allow them)");
        }
        String::new()
    }

    fn external(&self, external: &External<Pkg, Range, String>) -> String {
        match external {
            External::NotRoot(_, _) => "we are solving for your requirements".into(),
            External::NoVersions(pkg, range) => {
                let why = self.why_none(pkg, range);
                if why.is_empty() {
                    // Few versions exist: name them rather than the (odd) range without them.
                    let available: Vec<String> = pkg
                        .key()
                        .and_then(|k| self.state.versions(k).ok())
                        .map(|m| m.entries.keys().map(|v| v.to_string()).collect())
                        .unwrap_or_default();
                    match available.as_slice() {
                        [] => format!("{pkg} has no version at all"),
                        [one] => format!("only {pkg}=={one} is available"),
                        few if few.len() <= 3 => {
                            format!("only {pkg} {} are available", few.join(", "))
                        }
                        _ => format!(
                            "{pkg} has no version{}",
                            range_text(range).replacen("==", " ", 1)
                        ),
                    }
                } else {
                    format!(
                        "there is no usable version of {}{why}",
                        pkg_range(pkg, range)
                    )
                }
            }
            External::FromDependencyOf(Pkg::Root, _, dep, range) => {
                format!("you asked for {}", pkg_range(dep, range))
            }
            External::FromDependencyOf(pkg, prange, Pkg::Dist(d), range) if matches!(pkg, Pkg::Extra(k, _) if k == d) =>
            {
                format!(
                    "{} is part of {}",
                    pkg_range(&Pkg::Dist(d.clone()), range),
                    pkg_range(pkg, prange)
                )
            }
            External::FromDependencyOf(pkg, prange, dep, range) => {
                format!(
                    "{} depends on {}",
                    pkg_range(pkg, prange),
                    pkg_range(dep, range)
                )
            }
            External::Custom(pkg, range, reason) => format!("{} {reason}", pkg_range(pkg, range)),
        }
    }

    fn terms(&self, terms: &Map<Pkg, Term<Range>>) -> String {
        let list: Vec<_> = terms.iter().collect();
        match list.as_slice() {
            [] => "your requirements cannot be satisfied".into(),
            [(Pkg::Root, Term::Positive(_))] => "your requirements cannot be satisfied".into(),
            [(pkg, Term::Positive(range))] => format!("{} cannot be used", pkg_range(pkg, range)),
            [(pkg, Term::Negative(range))] => format!("{} is required", pkg_range(pkg, range)),
            [(Pkg::Root, Term::Positive(_)), (p2, Term::Negative(r2))]
            | [(p2, Term::Negative(r2)), (Pkg::Root, Term::Positive(_))] => {
                format!("your requirements need {}", pkg_range(p2, r2))
            }
            [(p1, Term::Positive(r1)), (p2, Term::Negative(r2))]
            | [(p2, Term::Negative(r2)), (p1, Term::Positive(r1))] => self.external(
                &External::FromDependencyOf((*p1).clone(), r1.clone(), (*p2).clone(), r2.clone()),
            ),
            slice => {
                let parts: Vec<String> = slice
                    .iter()
                    .map(|(p, t)| match t {
                        Term::Positive(r) => pkg_range(p, r),
                        Term::Negative(r) => format!("not {}", pkg_range(p, r)),
                    })
                    .collect();
                format!("{} cannot all be used together", parts.join(", "))
            }
        }
    }
}

impl ReportFormatter<Pkg, Range, String> for Formatter<'_> {
    type Output = String;

    fn format_external(&self, external: &External<Pkg, Range, String>) -> String {
        self.external(external)
    }

    fn format_terms(&self, terms: &Map<Pkg, Term<Range>>) -> String {
        self.terms(terms)
    }

    fn explain_both_external(
        &self,
        e1: &External<Pkg, Range, String>,
        e2: &External<Pkg, Range, String>,
        current: &Map<Pkg, Term<Range>>,
    ) -> String {
        format!(
            "Because {} and {}, {}.",
            self.external(e1),
            self.external(e2),
            self.terms(current)
        )
    }

    fn explain_both_ref(
        &self,
        id1: usize,
        d1: &Derived<Pkg, Range, String>,
        id2: usize,
        d2: &Derived<Pkg, Range, String>,
        current: &Map<Pkg, Term<Range>>,
    ) -> String {
        format!(
            "Because {} ({id1}) and {} ({id2}), {}.",
            self.terms(&d1.terms),
            self.terms(&d2.terms),
            self.terms(current)
        )
    }

    fn explain_ref_and_external(
        &self,
        id: usize,
        derived: &Derived<Pkg, Range, String>,
        external: &External<Pkg, Range, String>,
        current: &Map<Pkg, Term<Range>>,
    ) -> String {
        format!(
            "Because {} ({id}) and {}, {}.",
            self.terms(&derived.terms),
            self.external(external),
            self.terms(current)
        )
    }

    fn and_explain_external(
        &self,
        external: &External<Pkg, Range, String>,
        current: &Map<Pkg, Term<Range>>,
    ) -> String {
        format!(
            "And because {}, {}.",
            self.external(external),
            self.terms(current)
        )
    }

    fn and_explain_ref(
        &self,
        id: usize,
        derived: &Derived<Pkg, Range, String>,
        current: &Map<Pkg, Term<Range>>,
    ) -> String {
        format!(
            "And because {} ({id}), {}.",
            self.terms(&derived.terms),
            self.terms(current)
        )
    }

    fn and_explain_prior_and_external(
        &self,
        prior: &External<Pkg, Range, String>,
        external: &External<Pkg, Range, String>,
        current: &Map<Pkg, Term<Range>>,
    ) -> String {
        format!(
            "And because {} and {}, {}.",
            self.external(prior),
            self.external(external),
            self.terms(current)
        )
    }
}

/// The whole explanation, one sentence per line, and the most specific advice found.
pub fn explain(
    tree: &DerivationTree<Pkg, Range, String>,
    state: &State,
) -> (String, Option<String>) {
    let formatter = Formatter {
        state,
        hints: Default::default(),
    };
    let text = DefaultStringReporter::report_with_formatter(tree, &formatter);
    let hint = formatter.hints.borrow().first().cloned();
    (text, hint)
}

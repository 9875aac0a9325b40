//! The plan: the difference between a resolution and what an environment holds now.
//! A pure function over plain data; `--dry-run` prints it.

use std::collections::HashMap;

use super::installed::InstalledDist;
use crate::resolve::{Resolution, ResolvedDist};

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub install: Vec<ResolvedDist>,
    /// (what is there now, what replaces it)
    pub replace: Vec<(InstalledDist, ResolvedDist)>,
    pub remove: Vec<InstalledDist>,
    pub keep: Vec<InstalledDist>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions {
    /// Reinstall even what is already there at the right version.
    pub reinstall: bool,
    /// Remove what the resolution does not name (`sync`).
    pub exact: bool,
}

/// Whether the installed distribution is the resolved one: the same version, from the same
/// place when either is a direct reference (an index install is the same whichever index).
fn same(installed: &InstalledDist, resolved: &ResolvedDist) -> bool {
    let same_version = installed
        .version()
        .parse::<pep440_rs::Version>()
        .is_ok_and(|v| v == resolved.version);
    let installed_url = installed.direct_url.as_ref().map(|d| d.url.as_str());
    let resolved_url = resolved.direct_url().map(|d| d.url);
    same_version && installed_url == resolved_url.as_deref()
}

pub fn plan(resolution: &Resolution, installed: &[InstalledDist], options: PlanOptions) -> Plan {
    let mut by_key: HashMap<&str, &InstalledDist> =
        installed.iter().map(|d| (d.key.as_str(), d)).collect();
    let mut plan = Plan::default();
    for dist in &resolution.dists {
        match by_key.remove(dist.key.as_str()) {
            None => plan.install.push(dist.clone()),
            Some(old) if !options.reinstall && same(old, dist) => plan.keep.push(old.clone()),
            Some(old) => plan.replace.push((old.clone(), dist.clone())),
        }
    }
    let mut rest: Vec<&InstalledDist> = by_key.into_values().collect();
    rest.sort_by(|a, b| a.key.cmp(&b.key));
    for old in rest {
        if options.exact {
            plan.remove.push(old.clone());
        } else {
            plan.keep.push(old.clone());
        }
    }
    plan
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.install.is_empty() && self.replace.is_empty() && self.remove.is_empty()
    }

    /// `+ 3 ~ 1 - 2`
    pub fn summary(&self) -> String {
        format!(
            "+ {} ~ {} - {}",
            self.install.len(),
            self.replace.len(),
            self.remove.len()
        )
    }

    /// One line per change, sorted by name: ` + name==1.0`, ` ~ name 1.0 -> 2.0`, ` - name==1.0`.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<(String, String)> = Vec::new();
        for d in &self.install {
            lines.push((d.key.clone(), format!(" + {}=={}", d.name, d.version)));
        }
        for (old, new) in &self.replace {
            lines.push((
                new.key.clone(),
                format!(" ~ {} {} -> {}", new.name, old.version(), new.version),
            ));
        }
        for old in &self.remove {
            lines.push((
                old.key.clone(),
                format!(" - {}=={}", old.metadata.name, old.version()),
            ));
        }
        lines.sort();
        lines.into_iter().map(|(_, l)| l).collect()
    }
}

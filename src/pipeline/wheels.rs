//! Getting every wheel a plan installs into the cache: index and direct wheels are fetched
//! (in parallel), source distributions fetched and built (once per interpreter, cached).

use crate::cache::Cache;
use crate::dist::metadata::{self, CoreMetadata};
use crate::dist::normalize_name;
use crate::dist::source::Provenance;
use crate::error::user;
use crate::fetch::{self, Artifact};
use crate::install::plan::Plan;
use crate::install::Fetched;
use crate::resolve::ResolvedDist;

use super::Resolved;

/// Fetch (and build, for source distributions) every wheel the plan needs, in plan order:
/// installs, then replacements.
pub fn fetch_plan(
    plan: &Plan,
    resolved: &Resolved,
    cache: &Cache,
    how: crate::fetch::unpack::Check,
) -> anyhow::Result<Vec<Fetched>> {
    let http = &resolved.index.http;
    let dists: Vec<&ResolvedDist> = plan
        .install
        .iter()
        .chain(plan.replace.iter().map(|(_, new)| new))
        .collect();
    // For each dist: the wheel to fetch, or a wheel already built from its sdist, and the
    // file it was installed from when that is not the wheel itself.
    let mut artifacts: Vec<Option<Artifact>> = Vec::new();
    let mut built = Vec::new();
    let mut origins = Vec::new();
    for d in &dists {
        let mut a = d.artifact.clone();
        if let Some(required) = resolved.required_hashes.get(&d.key) {
            a.required = required.clone();
        }
        if a.wheel.is_some() {
            origins.push(d.built_from.as_ref().map(|b| Provenance {
                filename: b.filename.clone(),
                sha256: b.sha256.clone(),
                size: b.size,
                url: b.url.clone(),
                index: None,
                upload_time: None,
                extras: Vec::new(),
            }));
            artifacts.push(Some(a));
            built.push(None);
            continue;
        }
        let (archive, sha, size) = fetch::fetch_sdist(&a, http, cache)?;
        built.push(Some(
            resolved
                .build
                .cached_wheel_from_sdist(&archive, &sha, &a.filename)?
                .wheel,
        ));
        origins.push(Some(Provenance {
            filename: a.filename.clone(),
            sha256: sha,
            size,
            url: a.url.to_string(),
            index: None,
            upload_time: None,
            extras: Vec::new(),
        }));
        artifacts.push(None);
    }
    let wanted: Vec<Artifact> = artifacts.iter().flatten().cloned().collect();
    let transfer = crate::output::Transfer::start(wanted.len());
    let mut fetched = fetch::fetch_all(&wanted, http, cache, super::jobs(), how, &|_| {
        transfer.file_done()
    })
    .into_iter();
    drop(transfer);
    let mut out = Vec::new();
    for (((artifact, built), origin), dist) in
        artifacts.into_iter().zip(built).zip(origins).zip(&dists)
    {
        let wheel = match (artifact, built) {
            (Some(_), _) => fetched
                .next()
                .unwrap_or_else(|| Err(anyhow::anyhow!("not fetched")))?,
            (None, Some(wheel)) => wheel,
            (None, None) => unreachable!("every dist has a wheel to fetch or a built one"),
        };
        if let Some(decided) = &dist.metadata {
            check_metadata(dist, decided, &wheel)?;
        }
        let mut origin = origin.unwrap_or_else(|| Provenance {
            filename: wheel.info.filename.clone(),
            sha256: wheel.info.sha256.clone(),
            size: wheel.info.size,
            url: dist.artifact.url.to_string(),
            index: None,
            upload_time: None,
            extras: Vec::new(),
        });
        origin.index = dist.source.index().map(|u| u.to_string());
        origin.upload_time = dist.upload_time.clone();
        origin.extras = dist.extras.clone();
        out.push(Fetched { wheel, origin });
    }
    Ok(out)
}

/// The metadata the resolver decided with (an index's PEP 658 file) must be the wheel's own:
/// same name, version and dependencies (pip refuses a mismatch too).
fn check_metadata(
    dist: &ResolvedDist,
    decided: &CoreMetadata,
    wheel: &crate::fetch::unpack::CachedWheel,
) -> anyhow::Result<()> {
    let own = metadata::parse(&wheel.metadata_text()?)?;
    let requirements = |m: &CoreMetadata| {
        let mut r: Vec<String> = m
            .requires_dist
            .iter()
            .map(|t| {
                crate::dist::pep508::requirement(t)
                    .map(|r| r.to_string())
                    .unwrap_or_else(|_| t.trim().to_string())
            })
            .collect();
        r.sort();
        r
    };
    let differs = if normalize_name(&own.name) != normalize_name(&decided.name) {
        Some(format!("Name {} vs {}", decided.name, own.name))
    } else if own.version.parse::<pep440_rs::Version>().ok()
        != decided.version.parse::<pep440_rs::Version>().ok()
    {
        Some(format!("Version {} vs {}", decided.version, own.version))
    } else if requirements(&own) != requirements(decided) {
        Some("Requires-Dist".to_string())
    } else {
        None
    };
    match differs {
        None => Ok(()),
        Some(what) => Err(user(
            format!(
                "the metadata {} published for {} does not match the wheel's own METADATA ({what})",
                dist.source
                    .index()
                    .map(|u| crate::redact::url(u.as_str()))
                    .unwrap_or_else(|| "the index".into()),
                wheel.info.filename
            ),
            "the index serves inconsistent files (or was tampered with); nothing was installed. Report it to the index, or use another one",
        )),
    }
}

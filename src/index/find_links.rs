//! `--find-links`: a local directory (scanned, not recursively) or a flat HTML page of files.

use std::path::Path;

use anyhow::Context;
use url::Url;

use super::http::HttpClient;
use super::simple::{self, CoreMetadata, DistFile};
use crate::dist::{normalize_name, DistFilename};
use crate::error::user;

/// The files a find-links location offers, each with its normalized project name.
pub fn list(location: &str, http: &HttpClient) -> anyhow::Result<Vec<(DistFile, String)>> {
    if let Some(dir) = local_dir(location) {
        return list_dir(&dir);
    }
    let url = Url::parse(location).map_err(|e| {
        user(
            format!("--find-links {location:?} is neither a directory nor a URL: {e}"),
            "pass an existing directory or an http(s) URL to --find-links",
        )
    })?;
    let page = match http.get_page(&url, "text/html") {
        Ok(p) => p,
        Err(e) if super::http::is_offline_miss(&e) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let parsed = simple::parse_html(&String::from_utf8_lossy(&page.body), &page.final_url)
        .with_context(|| format!("the find-links page {url} is not usable"))?;
    Ok(parsed
        .files
        .into_iter()
        .filter_map(|f| {
            let name = DistFilename::parse(&f.filename, None)?.name().to_string();
            Some((f, normalize_name(&name)))
        })
        .collect())
}

fn local_dir(location: &str) -> Option<std::path::PathBuf> {
    if let Some(rest) = location.strip_prefix("file://") {
        let path = Url::parse(location)
            .ok()?
            .to_file_path()
            .ok()
            .or_else(|| Some(rest.into()))?;
        return Some(path);
    }
    if location.contains("://") {
        return None;
    }
    Some(std::path::absolute(Path::new(location)).unwrap_or_else(|_| location.into()))
}

fn list_dir(dir: &Path) -> anyhow::Result<Vec<(DistFile, String)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        // pip ignores a find-links directory that does not exist (with a warning).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            crate::output::debug(&format!(
                "find-links directory {} does not exist",
                dir.display()
            ));
            return Ok(Vec::new());
        }
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("cannot read {}", dir.display())))
        }
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let filename = entry.file_name().to_string_lossy().into_owned();
        let Some(dist) = DistFilename::parse(&filename, None) else {
            continue;
        };
        let path = entry.path();
        let Ok(url) = Url::from_file_path(&path) else {
            continue;
        };
        let size = entry.metadata().ok().map(|m| m.len());
        out.push((
            DistFile {
                filename,
                url,
                hashes: Default::default(),
                requires_python: None,
                core_metadata: CoreMetadata::Absent,
                yanked: None,
                size,
                upload_time: None,
            },
            normalize_name(dist.name()),
        ));
    }
    out.sort_by(|a, b| a.0.filename.cmp(&b.0.filename));
    Ok(out)
}

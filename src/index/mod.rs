//! Package indexes: the Simple API (PEP 503/691), find-links, and the HTTP client with its cache.
//!
//! Several indexes: the first index (primary, then extras in order) that knows a project
//! supplies all of its files, as uv does, so a package cannot be shadowed from a later index
//! (dependency confusion). Find-links files are merged in, as pip and uv do.

pub mod find_links;
pub mod http;
pub mod simple;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use url::Url;

use crate::dist::{normalize_name, DistFilename};
use std::path::PathBuf;

use http::HttpClient;
use simple::DistFile;

/// Where packages come from, after merging every layer of configuration.
#[derive(Debug, Clone, Default)]
pub struct IndexSettings {
    /// The primary index first, then the extra ones. Empty with `--no-index`.
    pub index_urls: Vec<url::Url>,
    /// Local directories or URLs of flat pages.
    pub find_links: Vec<String>,
    /// Extra certificates to trust (`SSL_CERT_FILE`, `PIP_CERT`, pip's `cert`).
    pub cert: Option<PathBuf>,
}

/// One distribution file of a project, with where it was listed.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Shared: the same file is a candidate of its project and of each version map.
    pub file: Arc<DistFile>,
    pub dist: DistFilename,
    /// The Simple API base it came from; None for find-links (shared by every file of a page).
    pub index: Option<Arc<Url>>,
}

/// Everything known about one project's files.
#[derive(Debug, Clone, Default)]
pub struct ProjectFiles {
    pub candidates: Vec<Candidate>,
    /// Whether any source knew the project at all.
    pub found: bool,
    pub warnings: Vec<String>,
}

/// Where each version's files are in a cached JSON page (`<page>.files` next to it), valid for
/// one version of the page's file (its `stamp`).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct FileIndex {
    v: u32,
    stamp: [u64; 4],
    /// The page without its files (`simple::PageSpans::head`).
    head: String,
    /// Version (trailing zeros of the release dropped, so `1.0` and `1.0.0` meet) to the
    /// (offset, length) of each file object in the cache file.
    versions: HashMap<String, Vec<(u64, u64)>>,
}

impl FileIndex {
    const VERSION: u32 = 2;
}

/// The key of a version in a `FileIndex`: equal versions, equal keys.
fn version_key(version: &pep440_rs::Version) -> String {
    let release = version.release();
    let keep = release.len() - release.iter().rev().take_while(|n| **n == 0).count();
    version
        .clone()
        .with_release(release[..keep.max(1)].to_vec())
        .to_string()
}

/// Whether a cached page offers what a pinned version needs.
type Usable<'a> = &'a dyn Fn(&ProjectFiles) -> bool;

/// Every find-links file with the normalized project it belongs to.
type LinkFiles = Arc<Vec<(Arc<DistFile>, String)>>;

#[derive(Clone)]
pub struct Index {
    pub http: HttpClient,
    pub settings: IndexSettings,
    pages: Arc<Mutex<HashMap<String, Arc<ProjectFiles>>>>,
    links: Arc<Mutex<Option<LinkFiles>>>,
}

impl Index {
    /// The credentials in index URLs stay with the HTTP client; the index and everything
    /// derived from it (candidates, locks, messages) name the URLs without them.
    pub fn new(http: HttpClient, mut settings: IndexSettings) -> Index {
        for url in &mut settings.index_urls {
            *url = http.remember_credentials(url);
        }
        for link in &mut settings.find_links {
            if let Ok(url) = Url::parse(link) {
                if !url.username().is_empty() {
                    *link = http.remember_credentials(&url).to_string();
                }
            }
        }
        Index {
            http,
            settings,
            pages: Default::default(),
            links: Default::default(),
        }
    }

    /// Where packages come from, for messages.
    pub fn describe_sources(&self) -> String {
        let mut parts: Vec<String> = self
            .settings
            .index_urls
            .iter()
            .map(|u| u.to_string())
            .collect();
        parts.extend(
            self.settings
                .find_links
                .iter()
                .map(|l| format!("--find-links {l}")),
        );
        if parts.is_empty() {
            "no index and no --find-links".into()
        } else {
            parts.join(", ")
        }
    }

    /// Every file of `name` from the first index that knows it, plus find-links (memoized per run).
    pub fn project(&self, name: &str) -> anyhow::Result<Arc<ProjectFiles>> {
        self.project_inner(name, None)
    }

    /// As `project`, for a name pinned to exactly `version`: a cached page that already lists
    /// that version is used without asking the index again. Files never change once published,
    /// and an exact pin may use a yanked file anyway, so the answer cannot differ; only a new
    /// version could, and an exact pin excludes it. `usable` decides whether the cached page is
    /// good enough (the resolver asks for a file this interpreter can use: files can be added
    /// to an old version, a wheel for a new platform say).
    pub fn project_pinned(
        &self,
        name: &str,
        version: &pep440_rs::Version,
        usable: &dyn Fn(&ProjectFiles) -> bool,
    ) -> anyhow::Result<Arc<ProjectFiles>> {
        self.project_inner(name, Some((version, usable)))
    }

    fn project_inner(
        &self,
        name: &str,
        pinned: Option<(&pep440_rs::Version, Usable)>,
    ) -> anyhow::Result<Arc<ProjectFiles>> {
        let normalized = normalize_name(name);
        if let Some(hit) = self.pages.lock().unwrap().get(&normalized) {
            return Ok(hit.clone());
        }
        if self.settings.index_urls.is_empty() && self.settings.find_links.is_empty() {
            return Err(crate::error::user(
                format!("{name} must be looked up, and no package index is configured"),
                "pass --index-url URL (or set ENVTOOL_INDEX_URL or PIP_INDEX_URL), or --find-links DIR",
            ));
        }
        let mut files = ProjectFiles::default();
        let mut from_cache = false;
        if let Some((version, usable)) = pinned {
            for base in &self.settings.index_urls {
                let url = base
                    .join(&format!("{normalized}/"))
                    .with_context(|| format!("cannot build a project URL from {base}"))?;
                let cached = self
                    .pinned_from_index(&url, base, &normalized, version)
                    .or_else(|| {
                        let page = self.http.cached_page(&url)?;
                        let mut cached = ProjectFiles::default();
                        // Only the pinned version's files are read: the page may list thousands.
                        let keep = |filename: &str| {
                            DistFilename::parse(filename, Some(&normalized))
                                .is_some_and(|d| d.version() == version)
                        };
                        self.add_page(&mut cached, &page, base, &normalized, Some(&keep))
                            .ok()?;
                        Some(cached)
                    });
                let Some(cached) = cached else {
                    continue;
                };
                if cached
                    .candidates
                    .iter()
                    .any(|c| c.dist.version() == version)
                    && usable(&cached)
                {
                    crate::output::debug(&format!(
                        "{normalized}=={version} is in the cached page: not asking {base}"
                    ));
                    files = cached;
                    from_cache = true;
                }
                break;
            }
        }
        if !from_cache {
            for base in &self.settings.index_urls {
                let url = base
                    .join(&format!("{normalized}/"))
                    .with_context(|| format!("cannot build a project URL from {base}"))?;
                let page = match self.http.get_page(&url, simple::ACCEPT) {
                    Ok(page) => page,
                    Err(e) if http::is_not_found(&e) => continue,
                    Err(e) => return Err(e),
                };
                self.add_page(&mut files, &page, base, &normalized, None)?;
                break;
            }
        }
        for (file, project) in self.find_links()?.iter() {
            if *project != normalized {
                continue;
            }
            if let Some(dist) = DistFilename::parse(&file.filename, Some(&normalized)) {
                files.found = true;
                files.candidates.push(Candidate {
                    file: file.clone(),
                    dist,
                    index: None,
                });
            }
        }
        let files = Arc::new(files);
        self.pages.lock().unwrap().insert(normalized, files.clone());
        Ok(files)
    }

    /// The files of one version from a cached JSON page, through the page's file index (a
    /// small file next to it: for each version, where its files' objects are in the page),
    /// made the first time and again whenever the page changes. A version the index does not
    /// list gives no candidates (the page has none: it is not read again). None: the index
    /// cannot be used, read the page instead.
    fn pinned_from_index(
        &self,
        url: &Url,
        base: &Url,
        normalized: &str,
        version: &pep440_rs::Version,
    ) -> Option<ProjectFiles> {
        let entry = self.http.cached_entry(url)?;
        if simple::format_for_content_type(&entry.content_type) != Some(simple::PageFormat::Json) {
            return None;
        }
        let index_path = entry.path.with_extension("files");
        let index = std::fs::read(&index_path)
            .ok()
            .and_then(|b| serde_json::from_slice::<FileIndex>(&b).ok())
            .filter(|i| i.v == FileIndex::VERSION && i.stamp == entry.stamp);
        let index = match index {
            Some(index) => index,
            None => {
                let body = entry.body()?;
                let spans = simple::json_spans(&body)?;
                let mut versions: HashMap<String, Vec<(u64, u64)>> = HashMap::new();
                for (name, start, len) in spans.files {
                    if let Some(d) = DistFilename::parse(&name, Some(normalized)) {
                        versions
                            .entry(version_key(d.version()))
                            .or_default()
                            .push((entry.body_start + start as u64, len as u64));
                    }
                }
                let index = FileIndex {
                    v: FileIndex::VERSION,
                    stamp: entry.stamp,
                    head: spans.head,
                    versions,
                };
                if let Ok(bytes) = serde_json::to_vec(&index) {
                    let _ = crate::cache::write_atomic(&index_path, &bytes);
                }
                index
            }
        };
        let Some(spans) = index.versions.get(&version_key(version)) else {
            return Some(ProjectFiles {
                found: true,
                ..ProjectFiles::default()
            });
        };
        let raws: Vec<Vec<u8>> = spans
            .iter()
            .map(|(offset, len)| entry.span(*offset, *len))
            .collect::<Option<_>>()?;
        let refs: Vec<&[u8]> = raws.iter().map(Vec::as_slice).collect();
        let parsed = simple::parse_json_parts(&index.head, &refs, &entry.final_url).ok()?;
        let mut files = ProjectFiles::default();
        self.add_parsed(&mut files, parsed, base, normalized);
        // What the index pointed at must be what it said.
        files.candidates.retain(|c| c.dist.version() == version);
        Some(files)
    }

    /// Add a project page's files to `files`.
    fn add_page(
        &self,
        files: &mut ProjectFiles,
        page: &http::Page,
        base: &Url,
        normalized: &str,
        keep: Option<simple::Keep<'_>>,
    ) -> anyhow::Result<()> {
        let parsed =
            simple::parse_page_keeping(&page.content_type, &page.body, &page.final_url, keep)
                .with_context(|| {
                    format!("the index at {base} returned an unusable page for {normalized}")
                })?;
        self.add_parsed(files, parsed, base, normalized);
        Ok(())
    }

    fn add_parsed(
        &self,
        files: &mut ProjectFiles,
        parsed: simple::ProjectPage,
        base: &Url,
        normalized: &str,
    ) {
        files.found = true;
        files.warnings.extend(parsed.warnings);
        files.candidates.reserve_exact(parsed.files.len());
        let index = Arc::new(base.clone());
        let mut version = None;
        for file in parsed.files {
            if let Some(mut dist) = DistFilename::parse(&file.filename, Some(normalized)) {
                if normalize_name(dist.name()) == normalized {
                    dist.share_version(&mut version);
                    files.candidates.push(Candidate {
                        file: Arc::new(file),
                        dist,
                        index: Some(index.clone()),
                    });
                }
            }
        }
    }

    /// Project names known without asking an index: find-links files and cached index pages.
    pub fn known_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .find_links()
            .map(|all| all.iter().map(|(_, n)| n.clone()).collect())
            .unwrap_or_default();
        names.extend(self.http.cached_project_names());
        names
    }

    /// All find-links files with the normalized project each belongs to (read once per run).
    fn find_links(&self) -> anyhow::Result<LinkFiles> {
        if let Some(hit) = self.links.lock().unwrap().as_ref() {
            return Ok(hit.clone());
        }
        let mut all = Vec::new();
        for link in &self.settings.find_links {
            all.extend(
                find_links::list(link, &self.http)?
                    .into_iter()
                    .map(|(file, project)| (Arc::new(file), project)),
            );
        }
        let all = Arc::new(all);
        *self.links.lock().unwrap() = Some(all.clone());
        Ok(all)
    }
}

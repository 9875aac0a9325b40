//! Parsing Simple API project pages: PEP 691 JSON and PEP 503 HTML.
//!
//! Both formats are turned into the same plain data ([`ProjectPage`] and
//! [`DistFile`]), covering PEP 503, 592 (yanking), 629 (API version),
//! 658/714 (core metadata), 691 (JSON), 700 (size, upload time) and
//! 792 (project status). Relative URLs are resolved against the page's
//! final URL, which the caller passes in after following redirects.

use std::collections::BTreeMap;

use percent_encoding::percent_decode_str;
use serde::Deserialize;
use url::Url;

/// The `Accept` header to send when fetching a project page: JSON preferred, HTML as a fallback.
pub const ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.1, text/html;q=0.01";

/// The newest Simple API version this parser knows about.
const KNOWN_VERSION: (u32, u32) = (1, 4);

/// Hash names accepted in HTML `#<algo>=<hex>` fragments and `data-core-metadata` values.
const HASH_ALGORITHMS: &[&str] = &[
    "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_224", "sha3_256", "sha3_384",
    "sha3_512", "blake2b", "blake2s",
];

/// Elements whose content is raw text, never markup.
const RAW_TEXT_ELEMENTS: &[&str] = &["script", "style", "title", "textarea"];

/// One distribution file listed on a project page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistFile {
    /// The file name: JSON `filename`, or for HTML the percent-decoded last path
    /// segment of the link (the anchor text only when that segment is empty).
    pub filename: String,
    /// Absolute download URL, without fragment.
    pub url: Url,
    /// Hash algorithm (lowercase) to lowercase hex digest.
    pub hashes: Hashes,
    /// The `Requires-Python` specifier, entity-unescaped; `None` when absent or blank.
    pub requires_python: Option<String>,
    /// Whether the core metadata file (`<url>.metadata`) is served (PEP 658/714).
    pub core_metadata: CoreMetadata,
    /// `None` when not yanked; `Some(reason)` (possibly empty) when yanked (PEP 592).
    pub yanked: Option<String>,
    /// File size in bytes (PEP 700, JSON only).
    pub size: Option<u64>,
    /// ISO 8601 upload time (PEP 700, JSON only).
    pub upload_time: Option<String>,
}

/// A file's hashes: algorithm (lowercase) to hex digest, sorted by algorithm. A small vector
/// (nearly every file has one hash), the algorithm an inline string: a page of many links
/// costs little per link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hashes(Vec<(compact_str::CompactString, String)>);

impl Hashes {
    pub fn get(&self, algo: &str) -> Option<&String> {
        self.0.iter().find(|(a, _)| a == algo).map(|(_, h)| h)
    }

    pub fn contains_key(&self, algo: &str) -> bool {
        self.get(algo).is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &String)> {
        self.0.iter().map(|(a, h)| (a.as_str(), h))
    }

    /// Set `algo` (replacing an earlier digest of it).
    pub fn insert(&mut self, algo: String, digest: String) {
        match self.0.binary_search_by(|(a, _)| a.as_str().cmp(&algo)) {
            Ok(i) => self.0[i].1 = digest,
            Err(i) => {
                // Nearly every file has one hash: no room kept for more.
                self.0.reserve_exact(1);
                self.0.insert(i, (algo.into(), digest))
            }
        }
    }

    /// Set `algo` unless a digest of it is already known.
    pub fn insert_if_absent(&mut self, algo: String, digest: String) {
        if !self.contains_key(&algo) {
            self.insert(algo, digest);
        }
    }
}

impl FromIterator<(String, String)> for Hashes {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        let mut out = Hashes::default();
        for (a, h) in iter {
            out.insert(a, h);
        }
        out
    }
}

/// Availability of a file's core metadata (PEP 658/714).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreMetadata {
    /// The index does not serve the metadata separately.
    Absent,
    /// The metadata is served at `<file url>.metadata`; `hashes` may be empty.
    Available { hashes: Hashes },
}

impl CoreMetadata {
    /// True when the index serves the metadata file.
    pub fn is_available(&self) -> bool {
        matches!(self, CoreMetadata::Available { .. })
    }
}

/// A parsed project page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectPage {
    /// Project name as the index spells it (JSON only; `None` for HTML).
    pub name: Option<String>,
    /// The files, in page order. Empty for a quarantined project.
    pub files: Vec<DistFile>,
    /// The page's Simple API version, `(1, 0)` when not stated.
    pub api_version: (u32, u32),
    /// PEP 792 project status (`active`, `archived`, `quarantined`, `deprecated`, ...), if stated.
    pub status: Option<String>,
    /// Things worth telling the user that did not stop parsing.
    pub warnings: Vec<String>,
}

impl ProjectPage {
    /// True when the project status is `quarantined` (PEP 792).
    pub fn is_quarantined(&self) -> bool {
        is_quarantined(self.status.as_deref())
    }
}

/// The serialization of a project page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageFormat {
    /// PEP 691 JSON.
    Json,
    /// PEP 503 HTML.
    Html,
}

/// Errors from parsing a project page.
#[derive(Debug, thiserror::Error)]
pub enum SimpleError {
    /// The body is not a project page at all (bad JSON, missing keys, not UTF-8, ...).
    #[error("{url} is not a valid index page: {reason}")]
    InvalidPage { url: Url, reason: String },
    /// The page uses a major API version this parser does not understand.
    #[error(
        "{url} uses Simple API version {major}.{minor}, but envtool only understands version 1.x"
    )]
    UnsupportedVersion { url: Url, major: u32, minor: u32 },
    /// The response's content type is neither Simple API JSON nor HTML.
    #[error("{url} was served as `{content_type}`, which is not a Simple API page (expected JSON or HTML)")]
    UnsupportedContentType { url: Url, content_type: String },
}

impl crate::error::Hint for SimpleError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            SimpleError::UnsupportedVersion { .. } => "use a newer envtool, or another index".into(),
            _ => "check that --index-url (or ENVTOOL_INDEX_URL / PIP_INDEX_URL) points at a Simple API root, e.g. https://host/simple".into(),
        })
    }
}

/// Maps a `Content-Type` header value to a page format; `None` for anything else.
pub fn format_for_content_type(content_type: &str) -> Option<PageFormat> {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/vnd.pypi.simple.v1+json" | "application/vnd.pypi.simple.latest+json" => {
            Some(PageFormat::Json)
        }
        "application/vnd.pypi.simple.v1+html"
        | "application/vnd.pypi.simple.latest+html"
        | "text/html" => Some(PageFormat::Html),
        _ => None,
    }
}

/// Which files of a page to read, by file name: the others are skipped without parsing
/// their URLs and hashes (a pinned version needs only its own files, and a page can list
/// thousands).
pub type Keep<'a> = &'a dyn Fn(&str) -> bool;

/// Parses a page according to its content type.
pub fn parse_page(
    content_type: &str,
    body: &[u8],
    page_url: &Url,
) -> Result<ProjectPage, SimpleError> {
    parse_page_keeping(content_type, body, page_url, None)
}

/// As `parse_page`, reading only the files `keep` names (JSON pages; an HTML page is read
/// whole and filtered).
pub fn parse_page_keeping(
    content_type: &str,
    body: &[u8],
    page_url: &Url,
    keep: Option<Keep<'_>>,
) -> Result<ProjectPage, SimpleError> {
    let mut page = match format_for_content_type(content_type) {
        Some(PageFormat::Json) => return parse_json_keeping(body, page_url, keep),
        _ => parse_page_whole(content_type, body, page_url)?,
    };
    if let Some(keep) = keep {
        page.files.retain(|f| keep(&f.filename));
    }
    Ok(page)
}

fn parse_page_whole(
    content_type: &str,
    body: &[u8],
    page_url: &Url,
) -> Result<ProjectPage, SimpleError> {
    match format_for_content_type(content_type) {
        Some(PageFormat::Json) => parse_json(body, page_url),
        Some(PageFormat::Html) => {
            let text = std::str::from_utf8(body)
                .map_err(|_| invalid(page_url, "the body is not valid UTF-8"))?;
            parse_html(text, page_url)
        }
        None => Err(SimpleError::UnsupportedContentType {
            url: page_url.clone(),
            content_type: content_type.to_string(),
        }),
    }
}

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

fn invalid(url: &Url, reason: impl Into<String>) -> SimpleError {
    SimpleError::InvalidPage {
        url: url.clone(),
        reason: reason.into(),
    }
}

fn is_quarantined(status: Option<&str>) -> bool {
    status.is_some_and(|s| s.trim().eq_ignore_ascii_case("quarantined"))
}

/// Parses `"1.1"` (or `"1"`) into `(1, 1)`.
fn parse_api_version(text: &str) -> Option<(u32, u32)> {
    let text = text.trim();
    let (major, minor) = text.split_once('.').unwrap_or((text, "0"));
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Checks the declared API version: newer major is an error, newer minor a warning.
fn check_api_version(
    declared: Option<&str>,
    url: &Url,
    warnings: &mut Vec<String>,
) -> Result<(u32, u32), SimpleError> {
    let Some(text) = declared else {
        return Ok((1, 0));
    };
    let (major, minor) = parse_api_version(text)
        .ok_or_else(|| invalid(url, format!("unreadable API version `{text}`")))?;
    if major > KNOWN_VERSION.0 {
        return Err(SimpleError::UnsupportedVersion {
            url: url.clone(),
            major,
            minor,
        });
    }
    if major == KNOWN_VERSION.0 && minor > KNOWN_VERSION.1 {
        warnings.push(format!(
            "{url} uses Simple API version {major}.{minor}, newer than the {}.{} envtool knows; \
             some information on the page may be ignored",
            KNOWN_VERSION.0, KNOWN_VERSION.1
        ));
    }
    Ok((major, minor))
}

/// Rejects file names that could escape a directory when used as a path.
fn is_safe_filename(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

fn non_blank(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

fn is_hex(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|c| c.is_ascii_hexdigit())
}

/// Reads `algo=hex` pairs (joined by `&`) such as a `#sha256=...` URL fragment.
fn hashes_from_pairs(text: &str) -> Hashes {
    let mut hashes = Hashes::default();
    for pair in text.split('&') {
        let Some((algo, digest)) = pair.trim().split_once('=') else {
            continue;
        };
        let algo = algo.to_ascii_lowercase();
        if HASH_ALGORITHMS.contains(&algo.as_str()) && is_hex(digest) {
            hashes.insert(algo, digest.to_ascii_lowercase());
        }
    }
    hashes
}

/// Resolves a file link, returning the URL without fragment and the fragment's hashes.
fn resolve_link(base: &Url, link: &str) -> Result<(Url, Hashes), url::ParseError> {
    let mut url = base.join(link.trim())?;
    let hashes = hashes_from_pairs(url.fragment().unwrap_or(""));
    url.set_fragment(None);
    Ok((url, hashes))
}

/// The percent-decoded last path segment of a URL.
fn url_filename(url: &Url) -> Option<String> {
    let segment = url.path_segments()?.next_back()?;
    Some(percent_decode_str(segment).decode_utf8_lossy().into_owned())
}

/// Drops (with a warning) a file whose name could be used to escape a directory.
fn checked_filename(name: String, url: &Url, warnings: &mut Vec<String>) -> Option<String> {
    if is_safe_filename(&name) {
        Some(name)
    } else {
        warnings.push(format!("ignoring link {url}: unusable file name {name:?}"));
        None
    }
}

// ---------------------------------------------------------------------------
// JSON (PEP 691)
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct JsonPage {
    name: String,
    files: Vec<JsonFile>,
    #[serde(default)]
    meta: Option<JsonMeta>,
    #[serde(rename = "project-status", default)]
    project_status: Option<JsonStatus>,
}

#[derive(Deserialize)]
struct JsonMeta {
    #[serde(rename = "api-version", default)]
    api_version: Option<serde_json::Value>,
    #[serde(rename = "project-status", default)]
    project_status: Option<JsonStatus>,
}

/// PEP 792 status: an object `{"status": ..., "reason": ...}`, or a bare string.
#[derive(Deserialize)]
#[serde(untagged)]
enum JsonStatus {
    Plain(String),
    Object {
        #[serde(default)]
        status: Option<String>,
    },
}

#[derive(Deserialize)]
struct JsonFile {
    filename: String,
    url: String,
    hashes: BTreeMap<String, String>,
    #[serde(rename = "requires-python", default)]
    requires_python: Option<String>,
    #[serde(rename = "core-metadata", default)]
    core_metadata: Option<JsonCoreMetadata>,
    #[serde(rename = "dist-info-metadata", default)]
    dist_info_metadata: Option<JsonCoreMetadata>,
    #[serde(default)]
    yanked: Option<JsonYanked>,
    #[serde(default)]
    size: Option<u64>,
    #[serde(rename = "upload-time", default)]
    upload_time: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum JsonCoreMetadata {
    Flag(bool),
    Hashes(BTreeMap<String, String>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum JsonYanked {
    Flag(bool),
    Reason(String),
}

impl JsonStatus {
    fn into_status(self) -> Option<String> {
        match self {
            JsonStatus::Plain(status) => Some(status),
            JsonStatus::Object { status } => status,
        }
    }
}

/// A JSON page whose files are kept as raw text, each read only when wanted.
#[derive(Deserialize)]
struct LazyJsonPage<'a> {
    name: String,
    #[serde(borrow)]
    files: Vec<&'a serde_json::value::RawValue>,
    #[serde(default)]
    meta: Option<JsonMeta>,
    #[serde(rename = "project-status", default)]
    project_status: Option<JsonStatus>,
}

/// A JSON page split for an index of its files: everything but `files` as a JSON object of
/// its own (`head`), and each file's name with where its object is in the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSpans {
    pub head: String,
    /// (filename, byte offset into the body, length).
    pub files: Vec<(String, usize, usize)>,
}

#[derive(Deserialize)]
struct SpanPage<'a> {
    #[serde(borrow)]
    name: &'a serde_json::value::RawValue,
    #[serde(borrow)]
    files: Vec<&'a serde_json::value::RawValue>,
    #[serde(borrow, default)]
    meta: Option<&'a serde_json::value::RawValue>,
    #[serde(rename = "project-status", borrow, default)]
    project_status: Option<&'a serde_json::value::RawValue>,
}

/// The spans of a JSON page's files (None when it does not read as one: the caller then
/// reads it whole, which says what is wrong).
pub fn json_spans(body: &[u8]) -> Option<PageSpans> {
    let page: SpanPage = serde_json::from_slice(body).ok()?;
    let mut head = format!("{{\"name\":{}", page.name.get());
    if let Some(meta) = page.meta {
        head.push_str(&format!(",\"meta\":{}", meta.get()));
    }
    if let Some(status) = page.project_status {
        head.push_str(&format!(",\"project-status\":{}", status.get()));
    }
    head.push('}');
    let base = body.as_ptr() as usize;
    let mut files = Vec::with_capacity(page.files.len());
    for raw in page.files {
        let name: JsonFileName = serde_json::from_str(raw.get()).ok()?;
        let start = raw.get().as_ptr() as usize - base;
        files.push((name.filename.into_owned(), start, raw.get().len()));
    }
    Some(PageSpans { head, files })
}

/// The page made of `head` (from `json_spans`) and some of its files' objects, read as the
/// whole page would be.
pub fn parse_json_parts(
    head: &str,
    files: &[&[u8]],
    page_url: &Url,
) -> Result<ProjectPage, SimpleError> {
    let Some(open) = head.strip_suffix('}') else {
        return Err(invalid(page_url, "a damaged page index"));
    };
    let mut doc =
        Vec::with_capacity(head.len() + files.iter().map(|f| f.len() + 1).sum::<usize>() + 16);
    doc.extend_from_slice(open.as_bytes());
    doc.extend_from_slice(b",\"files\":[");
    for (i, file) in files.iter().enumerate() {
        if i > 0 {
            doc.push(b',');
        }
        doc.extend_from_slice(file);
    }
    doc.extend_from_slice(b"]}");
    parse_json_whole(&doc, page_url)
}

/// Only a file's name, the rest skipped.
#[derive(Deserialize)]
struct JsonFileName<'a> {
    #[serde(borrow)]
    filename: std::borrow::Cow<'a, str>,
}

/// Parses a PEP 691 JSON project page. `page_url` is the final URL (after redirects).
pub fn parse_json(body: &[u8], page_url: &Url) -> Result<ProjectPage, SimpleError> {
    parse_json_keeping(body, page_url, None)
}

fn parse_json_keeping(
    body: &[u8],
    page_url: &Url,
    keep: Option<Keep<'_>>,
) -> Result<ProjectPage, SimpleError> {
    let stripped = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let lazy: LazyJsonPage = match serde_json::from_slice(stripped) {
        Ok(page) => page,
        // Whatever is wrong, the whole reading says it best.
        Err(_) => return parse_json_whole(body, page_url),
    };
    let files = lazy.files.into_iter().filter_map(|raw| {
        if let Some(keep) = keep {
            let name: JsonFileName = match serde_json::from_str(raw.get()) {
                Ok(name) => name,
                Err(e) => return Some(Err(invalid(page_url, e.to_string()))),
            };
            if !keep(&name.filename) {
                return None;
            }
        }
        Some(
            serde_json::from_str::<JsonFile>(raw.get())
                .map_err(|e| invalid(page_url, e.to_string())),
        )
    });
    finish_json_with(lazy.name, lazy.meta, lazy.project_status, files, page_url)
}

fn parse_json_whole(body: &[u8], page_url: &Url) -> Result<ProjectPage, SimpleError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let mut warnings = Vec::new();
    // Straight into the typed page (pages can be megabytes); on failure, look at the raw
    // JSON only to tell an unsupported API version from garbage.
    let page: JsonPage = match serde_json::from_slice(body) {
        Ok(page) => page,
        Err(e) => {
            let value: serde_json::Value =
                serde_json::from_slice(body).map_err(|e| invalid(page_url, e.to_string()))?;
            if !value.is_object() {
                return Err(invalid(page_url, "expected a JSON object"));
            }
            let declared = json_api_version(&value, page_url)?;
            check_api_version(declared.as_deref(), page_url, &mut warnings)?;
            return Err(invalid(page_url, e.to_string()));
        }
    };
    finish_json(page, page_url)
}

/// The typed page checked: its API version and status, its files resolved against its URL.
fn finish_json(page: JsonPage, page_url: &Url) -> Result<ProjectPage, SimpleError> {
    finish_json_with(
        page.name,
        page.meta,
        page.project_status,
        page.files.into_iter().map(Ok),
        page_url,
    )
}

/// The page's head checked (API version, status), then its files read one at a time from
/// `files` (which may parse each as it goes: a page never exists twice in memory).
fn finish_json_with(
    name: String,
    meta: Option<JsonMeta>,
    project_status: Option<JsonStatus>,
    files: impl Iterator<Item = Result<JsonFile, SimpleError>>,
    page_url: &Url,
) -> Result<ProjectPage, SimpleError> {
    let mut warnings = Vec::new();
    let declared = match meta.as_ref().and_then(|m| m.api_version.as_ref()) {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(invalid(
                page_url,
                format!("meta.api-version must be a string, not {other}"),
            ))
        }
    };
    let api_version = check_api_version(declared.as_deref(), page_url, &mut warnings)?;
    let status = project_status
        .and_then(JsonStatus::into_status)
        .or_else(|| {
            meta.and_then(|m| m.project_status)
                .and_then(JsonStatus::into_status)
        });
    let mut kept = Vec::new();
    if !is_quarantined(status.as_deref()) {
        for file in files {
            kept.extend(json_file(file?, page_url, &mut warnings));
        }
    }
    Ok(ProjectPage {
        name: Some(name),
        files: kept,
        api_version,
        status,
        warnings,
    })
}

/// Reads `meta.api-version`, which must be a string when present.
fn json_api_version(value: &serde_json::Value, url: &Url) -> Result<Option<String>, SimpleError> {
    match value.pointer("/meta/api-version") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(invalid(
            url,
            format!("meta.api-version is not a string: {other}"),
        )),
    }
}

fn json_file(file: JsonFile, page_url: &Url, warnings: &mut Vec<String>) -> Option<DistFile> {
    let (url, fragment_hashes) = match resolve_link(page_url, &file.url) {
        Ok(resolved) => resolved,
        Err(e) => {
            warnings.push(format!(
                "ignoring {}: bad URL {:?}: {e}",
                file.filename, file.url
            ));
            return None;
        }
    };
    let filename = checked_filename(file.filename, &url, warnings)?;
    let mut hashes = lowercase_hashes(file.hashes);
    for (algo, digest) in fragment_hashes.0 {
        hashes.insert_if_absent(algo.into(), digest);
    }
    let core_metadata = match file.core_metadata {
        Some(value) => json_core_metadata(value),
        None => file
            .dist_info_metadata
            .map_or(CoreMetadata::Absent, json_core_metadata),
    };
    Some(DistFile {
        filename,
        url,
        hashes,
        requires_python: non_blank(file.requires_python.as_deref()),
        core_metadata,
        yanked: file.yanked.and_then(json_yanked),
        size: file.size,
        upload_time: file.upload_time,
    })
}

fn lowercase_hashes(hashes: BTreeMap<String, String>) -> Hashes {
    hashes
        .into_iter()
        .map(|(algo, digest)| {
            (
                algo.to_ascii_lowercase(),
                digest.trim().to_ascii_lowercase(),
            )
        })
        .collect()
}

fn json_core_metadata(value: JsonCoreMetadata) -> CoreMetadata {
    match value {
        JsonCoreMetadata::Flag(false) => CoreMetadata::Absent,
        JsonCoreMetadata::Flag(true) => CoreMetadata::Available {
            hashes: Hashes::default(),
        },
        JsonCoreMetadata::Hashes(hashes) => CoreMetadata::Available {
            hashes: lowercase_hashes(hashes),
        },
    }
}

fn json_yanked(value: JsonYanked) -> Option<String> {
    match value {
        JsonYanked::Flag(false) => None,
        JsonYanked::Flag(true) => Some(String::new()),
        JsonYanked::Reason(reason) => Some(reason),
    }
}

// ---------------------------------------------------------------------------
// HTML (PEP 503)
// ---------------------------------------------------------------------------

/// Parses a PEP 503 HTML project page. `page_url` is the final URL (after redirects).
///
/// Text that contains no markup parses to a page with no files.
pub fn parse_html(body: &str, page_url: &Url) -> Result<ProjectPage, SimpleError> {
    let body = body.strip_prefix('\u{feff}').unwrap_or(body);
    // Two passes, neither holding every anchor: the first finds `<base>` and `<meta>`
    // (which decide how links are read), the second turns each anchor into a file as it
    // is met, so the cost per link is the file's, whatever the page holds.
    let mut ignore = |_: Anchor| {};
    let doc = scan_html_with(body, &mut ignore);
    let mut warnings = Vec::new();
    let api_version =
        check_api_version(doc.meta("pypi:repository-version"), page_url, &mut warnings)?;
    let status = non_blank(doc.meta("pypi:project-status"));
    let base = doc
        .base_href
        .as_deref()
        .and_then(|href| page_url.join(href.trim()).ok())
        .unwrap_or_else(|| page_url.clone());
    let mut files = Vec::new();
    if !is_quarantined(status.as_deref()) {
        scan_html_with(body, &mut |anchor| {
            files.extend(html_file(&anchor, &base, &mut warnings));
        });
    }
    Ok(ProjectPage {
        name: None,
        files,
        api_version,
        status,
        warnings,
    })
}

fn html_file(anchor: &Anchor, base: &Url, warnings: &mut Vec<String>) -> Option<DistFile> {
    let href = anchor.attr("href")?;
    let (url, hashes) = match resolve_link(base, href) {
        Ok(resolved) => resolved,
        Err(e) => {
            warnings.push(format!("ignoring link with bad URL {href:?}: {e}"));
            return None;
        }
    };
    let filename = url_filename(&url)
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| anchor.text.trim().to_string());
    let filename = checked_filename(filename, &url, warnings)?;
    Some(DistFile {
        filename,
        url,
        hashes,
        requires_python: non_blank(anchor.attr("data-requires-python")),
        core_metadata: html_core_metadata(anchor),
        yanked: anchor.attr("data-yanked").map(str::to_string),
        size: None,
        upload_time: None,
    })
}

/// `data-core-metadata` (or legacy `data-dist-info-metadata`): `true` or `<algo>=<hex>`.
fn html_core_metadata(anchor: &Anchor) -> CoreMetadata {
    let value = anchor
        .attr("data-core-metadata")
        .or_else(|| anchor.attr("data-dist-info-metadata"));
    match value.map(str::trim) {
        None => CoreMetadata::Absent,
        Some(v) if v.eq_ignore_ascii_case("false") => CoreMetadata::Absent,
        Some(v) => CoreMetadata::Available {
            hashes: hashes_from_pairs(v),
        },
    }
}

/// An `<a>` element: its attributes (names lowercased, values unescaped) and its text.
#[derive(Debug, Default)]
struct Anchor {
    attrs: Vec<(String, String)>,
    text: String,
}

impl Anchor {
    fn attr(&self, name: &str) -> Option<&str> {
        attr(&self.attrs, name)
    }
}

/// What the scanner keeps from a document; each finished anchor goes to `sink`.
struct HtmlDoc<'a> {
    sink: &'a mut dyn FnMut(Anchor),
    /// The anchor being read (its text may still grow).
    current: Option<Anchor>,
    /// The first `<base href>`.
    base_href: Option<String>,
    /// `(name, content)` of each `<meta>` that has both.
    metas: Vec<(String, String)>,
    /// Whether text currently goes into the last anchor.
    in_anchor: bool,
}

impl HtmlDoc<'_> {
    fn finish_anchor(&mut self) {
        if let Some(anchor) = self.current.take() {
            (self.sink)(anchor);
        }
    }

    /// Content of the first `<meta>` with this name (case-insensitive).
    fn meta(&self, name: &str) -> Option<&str> {
        self.metas
            .iter()
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, content)| content.as_str())
    }

    fn add_text(&mut self, raw: &str) {
        if !self.in_anchor || raw.is_empty() {
            return;
        }
        if let Some(anchor) = self.current.as_mut() {
            // Only the start of a link's text is ever used (as a file name fallback).
            if anchor.text.len() < 1024 {
                anchor.text.push_str(&unescape(raw));
            }
        }
    }

    fn add_tag(&mut self, tag: Tag) {
        match (tag.name.as_str(), tag.closing) {
            ("a", true) => {
                self.in_anchor = false;
                self.finish_anchor();
            }
            ("a", false) => {
                self.finish_anchor();
                self.current = Some(Anchor {
                    attrs: tag.attrs,
                    text: String::new(),
                });
                self.in_anchor = true;
            }
            ("base", false) if self.base_href.is_none() => {
                self.base_href = attr(&tag.attrs, "href").map(str::to_string);
            }
            ("meta", false) => {
                if let (Some(name), Some(content)) =
                    (attr(&tag.attrs, "name"), attr(&tag.attrs, "content"))
                {
                    self.metas.push((name.to_string(), content.to_string()));
                }
            }
            _ => {}
        }
    }
}

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// A start or end tag.
#[derive(Debug)]
struct Tag {
    /// Lowercased element name.
    name: String,
    closing: bool,
    attrs: Vec<(String, String)>,
}

/// What starts at a `<`.
enum Markup {
    /// Not markup: the `<` is plain text.
    Text,
    /// A comment, doctype or processing instruction ending just before the index.
    Ignored(usize),
    /// A tag ending just before the index.
    Tag(Tag, usize),
    /// Markup cut off by the end of the input.
    Truncated,
}

/// Scans a document for anchors, `<base>` and `<meta>`, skipping comments and raw text.
///
/// All delimiters are ASCII, so every slice boundary below is a char boundary.
fn scan_html_with<'a>(s: &str, sink: &'a mut dyn FnMut(Anchor)) -> HtmlDoc<'a> {
    let b = s.as_bytes();
    let mut doc = HtmlDoc {
        sink,
        current: None,
        base_href: None,
        metas: Vec::new(),
        in_anchor: false,
    };
    let mut pos = 0;
    let mut text_start = 0;
    while let Some(lt) = find_byte(b, b'<', pos) {
        match read_markup(s, lt) {
            Markup::Text => {
                pos = lt + 1;
                continue;
            }
            Markup::Truncated => {
                doc.add_text(&s[text_start..lt]);
                doc.finish_anchor();
                return doc;
            }
            Markup::Ignored(end) => {
                doc.add_text(&s[text_start..lt]);
                pos = end;
            }
            Markup::Tag(tag, end) => {
                doc.add_text(&s[text_start..lt]);
                pos = if !tag.closing && RAW_TEXT_ELEMENTS.contains(&tag.name.as_str()) {
                    skip_raw_text(b, end, &tag.name)
                } else {
                    end
                };
                doc.add_tag(tag);
            }
        }
        text_start = pos;
    }
    doc.add_text(&s[text_start..]);
    doc.finish_anchor();
    doc
}

fn read_markup(s: &str, lt: usize) -> Markup {
    let b = s.as_bytes();
    let rest = &b[lt..];
    if rest.starts_with(b"<!-->") {
        return Markup::Ignored(lt + 5);
    }
    if rest.starts_with(b"<!--->") {
        return Markup::Ignored(lt + 6);
    }
    if rest.starts_with(b"<!--") {
        return find_ci(b, lt + 4, b"-->").map_or(Markup::Truncated, |i| Markup::Ignored(i + 3));
    }
    if rest.starts_with(b"<!") || rest.starts_with(b"<?") {
        return find_byte(b, b'>', lt + 2).map_or(Markup::Truncated, |i| Markup::Ignored(i + 1));
    }
    read_tag(s, lt)
}

fn is_tag_delimiter(c: u8) -> bool {
    c.is_ascii_whitespace() || c == b'/' || c == b'>'
}

/// Reads a start or end tag beginning at the `<` at `lt`.
fn read_tag(s: &str, lt: usize) -> Markup {
    let b = s.as_bytes();
    let mut i = lt + 1;
    let closing = b.get(i) == Some(&b'/');
    if closing {
        i += 1;
    }
    if !b.get(i).is_some_and(u8::is_ascii_alphabetic) {
        return Markup::Text;
    }
    let name_start = i;
    while i < b.len() && !is_tag_delimiter(b[i]) {
        i += 1;
    }
    let name = s[name_start..i].to_ascii_lowercase();
    let mut attrs: Vec<(String, String)> = Vec::new();
    loop {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        match b.get(i) {
            None => return Markup::Truncated,
            Some(b'>') => {
                return Markup::Tag(
                    Tag {
                        name,
                        closing,
                        attrs,
                    },
                    i + 1,
                )
            }
            Some(_) => {}
        }
        let Some((attribute, next)) = read_attribute(s, i) else {
            return Markup::Truncated;
        };
        // HTML keeps the first of duplicated attributes.
        if !attrs.iter().any(|(n, _)| *n == attribute.0) {
            attrs.push(attribute);
        }
        i = next;
    }
}

/// Reads `name`, `name=value`, `name="value"` or `name='value'` starting at `start`,
/// which holds neither whitespace, `/` nor `>`. `None` when the input ends inside quotes.
fn read_attribute(s: &str, start: usize) -> Option<((String, String), usize)> {
    let b = s.as_bytes();
    // The first character belongs to the name even if it is `=`.
    let mut i = start + 1;
    while i < b.len() && !is_tag_delimiter(b[i]) && b[i] != b'=' {
        i += 1;
    }
    let name = s[start..i].to_ascii_lowercase();
    let eq = skip_whitespace(b, i);
    if b.get(eq) != Some(&b'=') {
        return Some(((name, String::new()), i));
    }
    let v = skip_whitespace(b, eq + 1);
    let (raw, next) = match *b.get(v)? {
        quote @ (b'"' | b'\'') => {
            let close = find_byte(b, quote, v + 1)?;
            (&s[v + 1..close], close + 1)
        }
        _ => {
            let mut end = v;
            while end < b.len() && !b[end].is_ascii_whitespace() && b[end] != b'>' {
                end += 1;
            }
            (&s[v..end], end)
        }
    };
    Some(((name, unescape(raw)), next))
}

/// Index of the `</name` that ends a raw text element, or the end of input.
fn skip_raw_text(b: &[u8], from: usize, name: &str) -> usize {
    let closer = format!("</{name}");
    find_ci(b, from, closer.as_bytes()).unwrap_or(b.len())
}

fn skip_whitespace(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

fn find_byte(b: &[u8], needle: u8, from: usize) -> Option<usize> {
    let offset = b.get(from..)?.iter().position(|&c| c == needle)?;
    Some(from + offset)
}

/// ASCII case-insensitive search for `needle` at or after `from`.
fn find_ci(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let offset = b
        .get(from..)?
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle))?;
    Some(from + offset)
}

/// Replaces character references: `&amp; &lt; &gt; &quot; &apos; &nbsp;` and
/// numeric `&#NN;` / `&#xHH;`. Anything else is kept as written.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        match decode_entity(after) {
            Some((ch, used)) => {
                out.push(ch);
                rest = &after[used..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Decodes the reference at the start of `s` (just after `&`): the character and
/// the bytes used, including the `;`.
fn decode_entity(s: &str) -> Option<(char, usize)> {
    let semi = s.bytes().take(12).position(|c| c == b';')?;
    let ch = match &s[..semi] {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        body => decode_numeric(body)?,
    };
    Some((ch, semi + 1))
}

/// `#39` or `#x27`; invalid code points become U+FFFD.
fn decode_numeric(body: &str) -> Option<char> {
    let digits = body.strip_prefix('#')?;
    let code = match digits.strip_prefix(['x', 'X']) {
        Some(hex) if is_hex(hex) => u32::from_str_radix(hex, 16).ok()?,
        Some(_) => return None,
        None if !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) => {
            digits.parse().ok()?
        }
        None => return None,
    };
    Some(
        char::from_u32(code)
            .filter(|&c| c != '\0')
            .unwrap_or('\u{FFFD}'),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA_WHL: &str = "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254";
    const SHA_SDIST: &str = "1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926";
    const SHA_META: &str = "d20e1d3b5ea6a4d1a6cbb2d3c38d9e2ab3e3a4d29e1d3b5ea6a4d1a6cbb2d3c3";

    fn six_url() -> Url {
        Url::parse("https://pypi.org/simple/six/").unwrap()
    }

    fn hashes(pairs: &[(&str, &str)]) -> Hashes {
        pairs
            .iter()
            .map(|(a, h)| (a.to_string(), h.to_string()))
            .collect()
    }

    fn json_page() -> String {
        format!(
            r#"{{
  "meta": {{"api-version": "1.3", "_last-serial": 21004}},
  "name": "six",
  "versions": ["1.15.0", "1.16.0"],
  "alternate-locations": [],
  "files": [
    {{
      "filename": "six-1.16.0-py2.py3-none-any.whl",
      "url": "../../packages/ab/cd/six-1.16.0-py2.py3-none-any.whl",
      "hashes": {{"sha256": "{whl}"}},
      "requires-python": ">=2.7, !=3.0.*, !=3.1.*",
      "core-metadata": {{"sha256": "{meta}"}},
      "data-dist-info-metadata": {{"sha256": "ignored"}},
      "gpg-sig": false,
      "yanked": false,
      "size": 11053,
      "upload-time": "2021-05-05T14:18:17.497235Z",
      "provenance": null,
      "x-unknown": {{"nested": [1, 2, 3]}}
    }},
    {{
      "filename": "six-1.16.0.tar.gz",
      "url": "https://files.pythonhosted.org/packages/71/39/six-1.16.0.tar.gz#sha256={sdist}",
      "hashes": {{"SHA256": "{sdist_upper}", "md5": "A7C927740E4964DD29B72CEBFC1429BB"}},
      "core-metadata": true,
      "yanked": "broken build",
      "size": 34041
    }},
    {{
      "filename": "six-1.15.0-py2.py3-none-any.whl",
      "url": "/packages/ee/ff/six-1.15.0-py2.py3-none-any.whl",
      "hashes": {{}},
      "dist-info-metadata": true,
      "yanked": true
    }},
    {{
      "filename": "six-1.15.0.tar.gz",
      "url": "six-1.15.0.tar.gz",
      "hashes": {{}},
      "core-metadata": false,
      "dist-info-metadata": true,
      "requires-python": ""
    }}
  ]
}}"#,
            whl = SHA_WHL,
            meta = SHA_META,
            sdist = SHA_SDIST,
            sdist_upper = SHA_SDIST.to_ascii_uppercase(),
        )
    }

    #[test]
    fn a_page_put_together_from_its_spans_reads_as_the_whole_page() {
        let body = json_page();
        let spans = json_spans(body.as_bytes()).unwrap();
        assert_eq!(spans.files.len(), 4);
        let whole = parse_json(body.as_bytes(), &six_url()).unwrap();
        let wanted: Vec<&[u8]> = spans
            .files
            .iter()
            .filter(|(name, _, _)| name.contains("1.16.0"))
            .map(|(_, start, len)| &body.as_bytes()[*start..start + len])
            .collect();
        let part = parse_json_parts(&spans.head, &wanted, &six_url()).unwrap();
        let expected: Vec<DistFile> = whole
            .files
            .iter()
            .filter(|f| f.filename.contains("1.16.0"))
            .cloned()
            .collect();
        assert_eq!(part.files, expected);
        assert_eq!(part.api_version, whole.api_version);
        assert_eq!(part.status, whole.status);
        assert!(json_spans(b"{nope").is_none());
        assert!(parse_json_parts("not json", &[], &six_url()).is_err());
    }

    #[test]
    fn a_page_read_for_some_files_reads_them_as_the_whole_page_does() {
        let body = json_page();
        let whole = parse_json(body.as_bytes(), &six_url()).unwrap();
        let keep = |name: &str| name.contains("1.16.0");
        let kept = parse_page_keeping(
            "application/vnd.pypi.simple.v1+json",
            body.as_bytes(),
            &six_url(),
            Some(&keep),
        )
        .unwrap();
        let expected: Vec<DistFile> = whole
            .files
            .iter()
            .filter(|f| keep(&f.filename))
            .cloned()
            .collect();
        assert_eq!(kept.files, expected);
        assert_eq!(kept.files.len(), 2);
        assert_eq!(kept.api_version, whole.api_version);
        assert_eq!(kept.name, whole.name);
        // A kept file that is malformed fails the page; garbage fails as it does whole.
        let bad = body.replace("\"size\": 11053", "\"size\": \"big\"");
        assert!(parse_page_keeping(
            "application/vnd.pypi.simple.v1+json",
            bad.as_bytes(),
            &six_url(),
            Some(&keep)
        )
        .is_err());
        let garbage = parse_page_keeping(
            "application/vnd.pypi.simple.v1+json",
            b"{nope",
            &six_url(),
            Some(&keep),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            garbage,
            parse_json(b"{nope", &six_url()).unwrap_err().to_string()
        );
        // HTML pages are filtered after reading.
        let html = "<a href=\"six-1.16.0.tar.gz\">six-1.16.0.tar.gz</a><a href=\"six-1.15.0.tar.gz\">x</a>";
        let page =
            parse_page_keeping("text/html", html.as_bytes(), &six_url(), Some(&keep)).unwrap();
        assert_eq!(page.files.len(), 1);
    }

    #[test]
    fn content_type_dispatch_table() {
        use PageFormat::*;
        let cases = [
            ("application/vnd.pypi.simple.v1+json", Some(Json)),
            ("application/vnd.pypi.simple.latest+json", Some(Json)),
            (
                "Application/VND.PyPI.Simple.V1+JSON; charset=utf-8",
                Some(Json),
            ),
            ("application/vnd.pypi.simple.v1+html", Some(Html)),
            ("text/html", Some(Html)),
            ("TEXT/HTML; charset=UTF-8", Some(Html)),
            (" text/html ;charset=utf-8", Some(Html)),
            ("application/json", None),
            ("application/vnd.pypi.simple.v2+json", None),
            ("text/plain", None),
            ("", None),
        ];
        for (content_type, expected) in cases {
            assert_eq!(
                format_for_content_type(content_type),
                expected,
                "{content_type}"
            );
        }
    }

    #[test]
    fn json_realistic_page() {
        let page = parse_json(json_page().as_bytes(), &six_url()).unwrap();
        assert_eq!(page.name.as_deref(), Some("six"));
        assert_eq!(page.api_version, (1, 3));
        assert_eq!(page.status, None);
        assert!(page.warnings.is_empty(), "{:?}", page.warnings);
        assert_eq!(page.files.len(), 4);

        let whl = &page.files[0];
        assert_eq!(whl.filename, "six-1.16.0-py2.py3-none-any.whl");
        assert_eq!(
            whl.url.as_str(),
            "https://pypi.org/packages/ab/cd/six-1.16.0-py2.py3-none-any.whl"
        );
        assert_eq!(whl.hashes, hashes(&[("sha256", SHA_WHL)]));
        assert_eq!(
            whl.requires_python.as_deref(),
            Some(">=2.7, !=3.0.*, !=3.1.*")
        );
        assert_eq!(
            whl.core_metadata,
            CoreMetadata::Available {
                hashes: hashes(&[("sha256", SHA_META)])
            }
        );
        assert_eq!(whl.yanked, None);
        assert_eq!(whl.size, Some(11053));
        assert_eq!(
            whl.upload_time.as_deref(),
            Some("2021-05-05T14:18:17.497235Z")
        );

        let sdist = &page.files[1];
        assert_eq!(
            sdist.url.as_str(),
            "https://files.pythonhosted.org/packages/71/39/six-1.16.0.tar.gz"
        );
        assert_eq!(
            sdist.hashes,
            hashes(&[
                ("md5", "a7c927740e4964dd29b72cebfc1429bb"),
                ("sha256", SHA_SDIST)
            ])
        );
        assert_eq!(
            sdist.core_metadata,
            CoreMetadata::Available {
                hashes: Hashes::default()
            }
        );
        assert_eq!(sdist.yanked.as_deref(), Some("broken build"));
        assert_eq!(sdist.requires_python, None);

        let old = &page.files[2];
        assert_eq!(
            old.url.as_str(),
            "https://pypi.org/packages/ee/ff/six-1.15.0-py2.py3-none-any.whl"
        );
        assert!(old.hashes.is_empty());
        assert!(
            old.core_metadata.is_available(),
            "legacy dist-info-metadata is honoured"
        );
        assert_eq!(old.yanked.as_deref(), Some(""));
        assert_eq!(old.size, None);

        let last = &page.files[3];
        assert_eq!(
            last.url.as_str(),
            "https://pypi.org/simple/six/six-1.15.0.tar.gz"
        );
        assert_eq!(
            last.core_metadata,
            CoreMetadata::Absent,
            "core-metadata wins over legacy key"
        );
        assert_eq!(last.requires_python, None);
    }

    #[test]
    fn json_relative_urls_use_final_page_url() {
        let body = br#"{"meta":{"api-version":"1.0"},"name":"a","files":[
            {"filename":"a-1.whl","url":"../../f/a-1.whl","hashes":{}}]}"#;
        let redirected = Url::parse("https://mirror.example/pypi/simple/a/").unwrap();
        let page = parse_json(body, &redirected).unwrap();
        assert_eq!(
            page.files[0].url.as_str(),
            "https://mirror.example/pypi/f/a-1.whl"
        );
    }

    #[test]
    fn json_api_versions() {
        let body = |version: &str| {
            format!(r#"{{"meta":{{"api-version":"{version}"}},"name":"x","files":[]}}"#)
        };
        let err = parse_json(body("2.0").as_bytes(), &six_url()).unwrap_err();
        assert!(matches!(
            err,
            SimpleError::UnsupportedVersion {
                major: 2,
                minor: 0,
                ..
            }
        ));
        assert!(err.to_string().contains("2.0"), "{err}");

        let page = parse_json(body("1.5").as_bytes(), &six_url()).unwrap();
        assert_eq!(page.api_version, (1, 5));
        assert_eq!(page.warnings.len(), 1);
        assert!(page.warnings[0].contains("1.5"), "{:?}", page.warnings);

        let page = parse_json(body("1.4").as_bytes(), &six_url()).unwrap();
        assert!(page.warnings.is_empty());

        let page = parse_json(br#"{"name":"x","files":[]}"#, &six_url()).unwrap();
        assert_eq!(page.api_version, (1, 0));

        let err = parse_json(body("one").as_bytes(), &six_url()).unwrap_err();
        assert!(matches!(err, SimpleError::InvalidPage { .. }));
    }

    #[test]
    fn json_garbage_is_rejected() {
        let bodies: [&[u8]; 8] = [
            b"",
            b"\x00\xff\xfe garbage",
            b"<html><body>Not JSON</body></html>",
            b"[1, 2, 3]",
            br#"{"meta":{"api-version":"1.0"}}"#,
            br#"{"name":"x","files":[{"url":"x.whl","hashes":{}}]}"#,
            br#"{"name":"x","files":[{"filename":"x.whl","url":"x.whl"}]}"#,
            br#"{"name":"x","files":[{"filename":"x.whl","url":"x.whl","hashes":{},"yanked":7}]}"#,
        ];
        for body in bodies {
            let err = parse_json(body, &six_url()).unwrap_err();
            let message = err.to_string();
            assert!(matches!(err, SimpleError::InvalidPage { .. }), "{message}");
            assert!(
                message.contains("https://pypi.org/simple/six/"),
                "{message}"
            );
            assert!(message.contains("not a valid index page"), "{message}");
        }
    }

    #[test]
    fn json_project_status_shapes() {
        let file = r#"{"filename":"x-1.whl","url":"x-1.whl","hashes":{}}"#;
        let top = format!(
            r#"{{"meta":{{"api-version":"1.4"}},"name":"x","project-status":{{"status":"quarantined","reason":"malware"}},"files":[{file}]}}"#
        );
        let page = parse_json(top.as_bytes(), &six_url()).unwrap();
        assert_eq!(page.status.as_deref(), Some("quarantined"));
        assert!(page.is_quarantined());
        assert!(page.files.is_empty());

        let in_meta = format!(
            r#"{{"meta":{{"api-version":"1.4","project-status":"archived"}},"name":"x","files":[{file}]}}"#
        );
        let page = parse_json(in_meta.as_bytes(), &six_url()).unwrap();
        assert_eq!(page.status.as_deref(), Some("archived"));
        assert_eq!(page.files.len(), 1);

        let meta_object = format!(
            r#"{{"meta":{{"api-version":"1.4","project-status":{{"status":"deprecated"}}}},"name":"x","files":[{file}]}}"#
        );
        let page = parse_json(meta_object.as_bytes(), &six_url()).unwrap();
        assert_eq!(page.status.as_deref(), Some("deprecated"));
    }

    #[test]
    fn json_unsafe_filename_is_skipped() {
        let body = br#"{"name":"x","files":[
            {"filename":"../../evil.whl","url":"evil.whl","hashes":{}},
            {"filename":"good-1.0-py3-none-any.whl","url":"good.whl","hashes":{}}]}"#;
        let page = parse_json(body, &six_url()).unwrap();
        assert_eq!(page.files.len(), 1);
        assert_eq!(page.files[0].filename, "good-1.0-py3-none-any.whl");
        assert_eq!(page.warnings.len(), 1);
    }

    fn html_page() -> String {
        format!(
            r#"<!DOCTYPE html>
<html>
  <head>
    <meta name="pypi:repository-version" content="1.1">
    <title>Links for six &amp; <a href="not-a-link.whl">friends</a></title>
    <script>var s = "<a href='in-script.whl'>no</a>";</script>
  </head>
  <body>
    <h1>Links for six</h1>
    <!-- <a href="commented-out.whl">gone</a> -->
    <a href="../../packages/ab/cd/six-1.16.0-py2.py3-none-any.whl#sha256={whl}" data-requires-python="&gt;=2.7, !=3.0.*" data-dist-info-metadata="sha256={meta}" data-core-metadata="sha256={meta}">six-1.16.0-py2.py3-none-any.whl</a><br />
    <A HREF='https://files.example/six-1.16.0.tar.gz#sha256={sdist_upper}&amp;sha512=ABCDEF' Data-Yanked="Broken &quot;build&quot; &#39;1&#x27;" DATA-CORE-METADATA=true>six-1.16.0.tar.gz</A><br/>
    <a href=/packages/ee/ff/six-1.15.0-py2.py3-none-any.whl data-yanked data-dist-info-metadata="true">six 1.15 wheel</a>
    <a data-requires-python="&gt;=3">no href, skipped</a>
    <a href="/packages/zz/my_pkg-1.0%2Blocal-py3-none-any.whl" data-requires-python=" &gt;=3.8 ">my_pkg-1.0+local-py3-none-any.whl</a>
    <a href="https://files.example/dir/">fallback-1.0.tar.gz</a>
    <a href="x&#x2F;..%2F..%2Fevil.whl">evil</a>
    <p>caf&eacute; &#233;&#xe9; unicode: héllo 🐍</p>
  </body>
</html>
"#,
            whl = SHA_WHL,
            meta = SHA_META,
            sdist_upper = SHA_SDIST.to_ascii_uppercase(),
        )
    }

    #[test]
    fn html_realistic_page() {
        let page = parse_html(&html_page(), &six_url()).unwrap();
        assert_eq!(page.name, None);
        assert_eq!(page.api_version, (1, 1));
        assert_eq!(page.status, None);
        let names: Vec<&str> = page.files.iter().map(|f| f.filename.as_str()).collect();
        assert_eq!(
            names,
            [
                "six-1.16.0-py2.py3-none-any.whl",
                "six-1.16.0.tar.gz",
                "six-1.15.0-py2.py3-none-any.whl",
                "my_pkg-1.0+local-py3-none-any.whl",
                "fallback-1.0.tar.gz",
            ]
        );
        assert_eq!(
            page.warnings.len(),
            1,
            "the ../evil link is reported: {:?}",
            page.warnings
        );

        let whl = &page.files[0];
        assert_eq!(
            whl.url.as_str(),
            "https://pypi.org/packages/ab/cd/six-1.16.0-py2.py3-none-any.whl"
        );
        assert_eq!(whl.url.fragment(), None);
        assert_eq!(whl.hashes, hashes(&[("sha256", SHA_WHL)]));
        assert_eq!(whl.requires_python.as_deref(), Some(">=2.7, !=3.0.*"));
        assert_eq!(
            whl.core_metadata,
            CoreMetadata::Available {
                hashes: hashes(&[("sha256", SHA_META)])
            }
        );
        assert_eq!(whl.yanked, None);
        assert_eq!(whl.size, None);

        let sdist = &page.files[1];
        assert_eq!(
            sdist.url.as_str(),
            "https://files.example/six-1.16.0.tar.gz"
        );
        assert_eq!(
            sdist.hashes,
            hashes(&[("sha256", SHA_SDIST), ("sha512", "abcdef")])
        );
        assert_eq!(sdist.yanked.as_deref(), Some("Broken \"build\" '1'"));
        assert_eq!(
            sdist.core_metadata,
            CoreMetadata::Available {
                hashes: Hashes::default()
            }
        );

        let old = &page.files[2];
        assert_eq!(
            old.url.as_str(),
            "https://pypi.org/packages/ee/ff/six-1.15.0-py2.py3-none-any.whl"
        );
        assert_eq!(
            old.yanked.as_deref(),
            Some(""),
            "bare data-yanked means yanked"
        );
        assert!(old.core_metadata.is_available());
        assert!(old.hashes.is_empty());

        let local = &page.files[3];
        assert_eq!(local.requires_python.as_deref(), Some(">=3.8"));
        assert_eq!(local.core_metadata, CoreMetadata::Absent);
        assert_eq!(
            local.url.as_str(),
            "https://pypi.org/packages/zz/my_pkg-1.0%2Blocal-py3-none-any.whl"
        );

        assert_eq!(page.files[4].url.as_str(), "https://files.example/dir/");
    }

    #[test]
    fn html_base_href_is_honoured() {
        let html = r#"<html><head>
            <BASE href="https://files.example/root/sub/">
            <base href="https://ignored.example/">
            </head><body>
            <a href="../pkgs/six-1.16.0.tar.gz#sha256=abc">six-1.16.0.tar.gz</a>
            <a href="/abs/six-1.15.0.tar.gz">six-1.15.0.tar.gz</a>
            </body></html>"#;
        let page = parse_html(html, &six_url()).unwrap();
        assert_eq!(
            page.files[0].url.as_str(),
            "https://files.example/root/pkgs/six-1.16.0.tar.gz"
        );
        assert_eq!(page.files[0].hashes, hashes(&[("sha256", "abc")]));
        assert_eq!(
            page.files[1].url.as_str(),
            "https://files.example/abs/six-1.15.0.tar.gz"
        );

        let relative_base = r#"<base href="../../mirror/"><a href="six-1.0.tar.gz">x</a>"#;
        let page = parse_html(relative_base, &six_url()).unwrap();
        assert_eq!(
            page.files[0].url.as_str(),
            "https://pypi.org/mirror/six-1.0.tar.gz"
        );
    }

    #[test]
    fn html_api_versions_and_status() {
        let page = |version: &str| {
            format!(
                r#"<meta name="pypi:repository-version" content="{version}"><a href="x-1.whl">x</a>"#
            )
        };
        let err = parse_html(&page("2.0"), &six_url()).unwrap_err();
        assert!(
            matches!(err, SimpleError::UnsupportedVersion { major: 2, .. }),
            "{err}"
        );

        let parsed = parse_html(&page("1.5"), &six_url()).unwrap();
        assert_eq!(parsed.api_version, (1, 5));
        assert_eq!(parsed.warnings.len(), 1);
        assert_eq!(parsed.files.len(), 1);

        let quarantined = r#"<meta name="pypi:repository-version" content="1.4">
            <meta name="pypi:project-status" content="quarantined">
            <meta name="pypi:project-status-reason" content="malware">
            <a href="x-1.whl">x</a>"#;
        let parsed = parse_html(quarantined, &six_url()).unwrap();
        assert_eq!(parsed.status.as_deref(), Some("quarantined"));
        assert!(parsed.files.is_empty());

        let archived = r#"<META NAME=pypi:project-status CONTENT=archived><a href="x-1.whl">x</a>"#;
        let parsed = parse_html(archived, &six_url()).unwrap();
        assert_eq!(parsed.status.as_deref(), Some("archived"));
        assert_eq!(parsed.files.len(), 1);
    }

    #[test]
    fn html_non_html_body_has_no_files() {
        for body in [
            "",
            "   \n",
            "this is not html at all, just words & symbols < > =",
            "{\"name\": \"six\", \"files\": []}",
            "\u{1F40D}\u{e9}<\u{e9}<<<>>&&&;;",
        ] {
            let page = parse_html(body, &six_url()).unwrap();
            assert!(page.files.is_empty(), "{body:?}");
            assert_eq!(page.api_version, (1, 0));
        }
    }

    #[test]
    fn html_truncated_input_never_panics() {
        let html = html_page();
        let mut boundaries: Vec<usize> = html.char_indices().map(|(i, _)| i).collect();
        boundaries.push(html.len());
        for end in boundaries {
            let _ = parse_html(&html[..end], &six_url()).unwrap();
        }
        let cut = r#"<a href="six-1.0.tar.gz">six</a><a href="six-2.0.tar"#;
        assert_eq!(parse_html(cut, &six_url()).unwrap().files.len(), 1);
    }

    #[test]
    fn parse_page_dispatches_on_content_type() {
        let json = parse_page(
            "application/vnd.pypi.simple.v1+json",
            json_page().as_bytes(),
            &six_url(),
        )
        .unwrap();
        assert_eq!(json.files.len(), 4);

        let html = parse_page(
            "text/html; charset=utf-8",
            html_page().as_bytes(),
            &six_url(),
        )
        .unwrap();
        assert_eq!(html.files.len(), 5);

        let err = parse_page("application/octet-stream", b"{}", &six_url()).unwrap_err();
        assert!(matches!(err, SimpleError::UnsupportedContentType { .. }));
        assert!(
            err.to_string().contains("application/octet-stream"),
            "{err}"
        );

        let err = parse_page("text/html", b"<a href=\"x\xff\xfe.whl\">", &six_url()).unwrap_err();
        assert!(matches!(err, SimpleError::InvalidPage { .. }), "{err}");

        let bom = parse_page(
            "text/html",
            "\u{feff}<a href=\"x-1.whl\">x</a>".as_bytes(),
            &six_url(),
        );
        assert_eq!(bom.unwrap().files.len(), 1);
    }

    #[test]
    fn unescape_references() {
        assert_eq!(
            unescape("a &amp; b &lt;c&gt; &quot;d&quot;"),
            "a & b <c> \"d\""
        );
        assert_eq!(unescape("&#39;&#x27;&#X41;&#65;&apos;"), "''AA'");
        assert_eq!(unescape("&gt;=3.8"), ">=3.8");
        assert_eq!(
            unescape("&unknown; & &amp &#; &#xZZ; &#0;"),
            "&unknown; & &amp &#; &#xZZ; \u{FFFD}"
        );
        assert_eq!(unescape("&#x110000;&#1114111;"), "\u{FFFD}\u{10FFFF}");
        assert_eq!(unescape("caf\u{e9}&amp;\u{1F40D}"), "caf\u{e9}&\u{1F40D}");
    }

    #[test]
    fn attribute_forms() {
        let html = "<a\thref = \"one.whl\" HREF=two.whl data-x='q\"uote' data-y data-z=>t</a>";
        let mut anchors = Vec::new();
        let mut keep = |a: Anchor| anchors.push(a);
        scan_html_with(html, &mut keep);
        let anchor = &anchors[0];
        assert_eq!(anchor.attr("href"), Some("one.whl"), "first duplicate wins");
        assert_eq!(anchor.attr("data-x"), Some("q\"uote"));
        assert_eq!(anchor.attr("data-y"), Some(""));
        assert_eq!(anchor.attr("data-z"), Some(""));
        assert_eq!(anchor.text, "t");
    }
}

//! What the user asked for: requirement strings and requirements files.
//!
//! [`parse_requirement`] reads one requirement the way pip reads a command-line
//! argument or a line of a requirements file: either a PEP 508 requirement
//! (`six==1.16.0`, `name @ https://...`, `name @ ./relative/path`) or an
//! unnamed local path or URL (`./dist/pkg-1.0-py3-none-any.whl`,
//! `https://host/x.whl`). [`parse_editable`] reads the value of `-e`.
//! The [`txt`] module reads whole requirements files.

pub mod remembered;
pub mod request;
pub mod txt;

use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

use pep508_rs::{
    ExtraName, MarkerTree, PackageName, Pep508Error, Pep508ErrorSource, Requirement, VerbatimUrl,
    VersionOrUrl,
};
use url::Url;

/// One thing the user asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum ReqSpec {
    /// A PEP 508 requirement: `six==1.16.0`, `requests[socks]>=2 ; python_version>="3.8"`,
    /// `name @ https://.../x.whl`, `name @ file:///abs/x.whl`, `name @ ./relative/path`.
    /// Relative paths are resolved against the base dir and stored as `file://` URLs
    /// (the URL's `given()` keeps what the user wrote).
    Named(Requirement),
    /// An unnamed local path or URL to a wheel, sdist or project directory:
    /// `./dist/pkg-1.0-py3-none-any.whl`, `/abs/proj`, `.[dev]`, `https://host/x.whl`,
    /// `git+https://host/repo.git`. Local paths and `file:` URLs become an absolute
    /// [`Location::Path`] (a `file:` URL's fragment is dropped); other URLs stay URLs.
    Unnamed {
        /// Where the distribution or project is.
        location: Location,
        /// Extras written after a path: `./proj[dev,test]` (pip allows them on paths only).
        extras: Vec<ExtraName>,
        /// The marker after ` ; ` (or `;` for paths), `None` when there is none.
        marker: Option<MarkerTree>,
    },
}

/// Where an unnamed requirement points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An absolute, lexically normalized local path (it may not exist).
    Path(PathBuf),
    /// A remote URL: `https://`, `http://`, `ftp://` or a VCS URL such as `git+https://`.
    Url(Url),
}

/// A requirement that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RequirementError {
    /// Malformed text; the message shows the input with a `^^^` underline at the bad column.
    #[error("{}", crate::dist::pep508::describe_ref(.0))]
    Syntax(Box<Pep508Error>),
    /// The value of `-e` is neither a local project directory nor a VCS URL.
    #[error(
        "`{0}` is not a valid editable requirement: expected a path to a local project \
         directory or a VCS URL (git+https://..., hg+https://..., svn+https://..., bzr+https://...)"
    )]
    NotEditable(String),
    /// Nothing but whitespace.
    #[error("empty requirement")]
    Empty,
    /// Text the PEP 508 grammar does not allow (and its parser cannot take safely).
    #[error("`{text}` is not a valid requirement: {reason}")]
    Invalid { text: String, reason: String },
}

/// URL schemes pip recognizes in an unnamed requirement (`pip._internal.utils.urls.is_url`).
const URL_SCHEMES: &[&str] = &["http", "https", "file", "ftp"];

/// Version-control URL schemes pip recognizes (`vcs.all_schemes`).
const VCS_SCHEMES: &[&str] = &[
    "git",
    "git+http",
    "git+https",
    "git+ssh",
    "git+git",
    "git+file",
    "hg+file",
    "hg+http",
    "hg+https",
    "hg+ssh",
    "hg+static-http",
    "svn",
    "svn+ssh",
    "svn+http",
    "svn+https",
    "svn+svn",
    "svn+file",
    "bzr+http",
    "bzr+https",
    "bzr+ssh",
    "bzr+sftp",
    "bzr+ftp",
    "bzr+lp",
    "bzr+file",
];

/// File name endings pip treats as archives (`is_archive_file`).
const ARCHIVE_SUFFIXES: &[&str] = &[
    ".whl",
    ".zip",
    ".tar.gz",
    ".tgz",
    ".tar",
    ".tar.bz2",
    ".tbz",
    ".tar.xz",
    ".txz",
    ".tlz",
    ".tar.lz",
    ".tar.lzma",
];

impl ReqSpec {
    /// The project name, when the user wrote one.
    pub fn name(&self) -> Option<&PackageName> {
        match self {
            ReqSpec::Named(req) => Some(&req.name),
            ReqSpec::Unnamed { .. } => None,
        }
    }
}

impl fmt::Display for ReqSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReqSpec::Named(req) => write!(f, "{req}"),
            ReqSpec::Unnamed {
                location,
                extras,
                marker,
            } => {
                write!(f, "{location}")?;
                if !extras.is_empty() {
                    let names: Vec<&str> = extras.iter().map(|e| e.as_ref()).collect();
                    write!(f, "[{}]", names.join(","))?;
                }
                if let Some(marker) = marker.as_ref().and_then(|m| m.try_to_string()) {
                    write!(f, " ; {marker}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Path(path) => write!(f, "{}", path.display()),
            Location::Url(url) => write!(f, "{url}"),
        }
    }
}

/// Parse one requirement as pip does; relative paths are resolved against `base_dir`
/// (the including file's directory, or the current directory for the command line).
///
/// The text is unnamed (a path or URL) when it starts with a known URL scheme, or when
/// it contains a path separator, starts with `.` or ends with an archive suffix and is
/// not `name @ ...` with a name that looks like no path. Otherwise it is PEP 508.
pub fn parse_requirement(text: &str, base_dir: &Path) -> Result<ReqSpec, RequirementError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(RequirementError::Empty);
    }
    crate::dist::pep508::check_markers(text, false).map_err(|reason| {
        RequirementError::Invalid {
            text: text.to_string(),
            reason,
        }
    })?;
    let base_dir = absolute(base_dir);
    if is_url(text) {
        return parse_unnamed_url(text, &base_dir);
    }
    if looks_unnamed(text, &base_dir) {
        return parse_unnamed_path(text, &base_dir);
    }
    parse_named(text, &base_dir).map(ReqSpec::Named)
}

/// Parse the value of `-e`/`--editable` as pip does: a local project directory
/// (optionally with extras, `./proj[dev]`), a `file:` URL, or a VCS URL
/// (`git+https://...#egg=name`; a bare `git:` prefix becomes `git+git:`).
pub fn parse_editable(text: &str, base_dir: &Path) -> Result<ReqSpec, RequirementError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(RequirementError::Empty);
    }
    let base_dir = absolute(base_dir);
    let lower = text.to_ascii_lowercase();
    if let Some(vcs) = ["git", "hg", "svn", "bzr"]
        .iter()
        .find(|v| lower.starts_with(&format!("{v}:")))
    {
        return parse_editable(&format!("{vcs}+{text}"), &base_dir);
    }
    if VCS_SCHEMES.contains(&scheme_of(text).as_str()) {
        let url = Url::parse(text)
            .map_err(|e| syntax_error(text, 0, text.len(), format!("invalid URL: {e}")))?;
        return Ok(unnamed(Location::Url(url), Vec::new(), None));
    }
    let (body, extras_start) = split_extras(text);
    let extras = parse_extras(text, extras_start)?;
    let path = if scheme_of(body) == "file" {
        file_url_to_path(body, &base_dir).map_err(|m| syntax_error(text, 0, body.len(), m))?
    } else {
        normalize_path(&base_dir.join(body))
    };
    if !path.is_dir() {
        return Err(RequirementError::NotEditable(text.to_string()));
    }
    Ok(unnamed(Location::Path(path), extras, None))
}

/// Build an unnamed spec.
fn unnamed(location: Location, extras: Vec<ExtraName>, marker: Option<MarkerTree>) -> ReqSpec {
    ReqSpec::Unnamed {
        location,
        extras,
        marker,
    }
}

/// The lowercased text before the first `:` (empty when there is no `:`).
fn scheme_of(text: &str) -> String {
    text.split_once(':')
        .map(|(s, _)| s.to_ascii_lowercase())
        .unwrap_or_default()
}

/// pip's `is_url`: starts with a scheme pip knows, followed by `:`.
fn is_url(text: &str) -> bool {
    let scheme = scheme_of(text);
    URL_SCHEMES.contains(&scheme.as_str()) || VCS_SCHEMES.contains(&scheme.as_str())
}

/// pip's `_looks_like_path`: contains a path separator or starts with `.`.
fn looks_like_path(text: &str) -> bool {
    text.contains(std::path::MAIN_SEPARATOR) || text.contains('/') || text.starts_with('.')
}

/// pip's `is_archive_file`, on the name only.
fn is_archive(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    ARCHIVE_SUFFIXES
        .iter()
        .any(|suffix| lower.ends_with(suffix))
}

/// Whether a non-URL text is a local path rather than a PEP 508 requirement.
fn looks_unnamed(text: &str, base_dir: &Path) -> bool {
    let body = text.split(';').next().unwrap_or(text).trim();
    let (path_text, _) = split_extras(body);
    let path = base_dir.join(path_text);
    if (looks_like_path(path_text) && path.is_dir()) || (is_archive(path_text) && path.is_file()) {
        return true;
    }
    if !looks_like_path(path_text) && !is_archive(path_text) {
        return false;
    }
    // `name @ ./x` or `name @ https://...`: the part before `@` names a project.
    match body.split_once('@') {
        Some((name, _)) => looks_like_path(name),
        None => true,
    }
}

/// Split `./proj[dev,test]` into the path and the byte offset of `[` (if any), like pip's
/// `_strip_extras` (`^(.+)(\[[^\]]+\])$`).
fn split_extras(text: &str) -> (&str, Option<usize>) {
    if !text.ends_with(']') {
        return (text, None);
    }
    match text.rfind('[') {
        Some(open) if open > 0 && !text[open + 1..text.len() - 1].contains(']') => {
            (&text[..open], Some(open))
        }
        _ => (text, None),
    }
}

/// Parse the `[a,b]` at `start` of `text` (up to its end) into extra names.
fn parse_extras(text: &str, start: Option<usize>) -> Result<Vec<ExtraName>, RequirementError> {
    let Some(start) = start else {
        return Ok(Vec::new());
    };
    let inner_start = start + 1;
    let inner = &text[inner_start..text.len() - 1];
    let mut extras = Vec::new();
    let mut offset = inner_start;
    for part in inner.split(',') {
        let name = part.trim();
        let name_start = offset + (part.len() - part.trim_start().len());
        if !(name.is_empty() && inner.trim().is_empty()) {
            let extra = ExtraName::from_str(name).map_err(|e| {
                syntax_error(
                    text,
                    name_start,
                    name.len().max(1),
                    format!("invalid extra name: {e}"),
                )
            })?;
            extras.push(extra);
        }
        offset += part.len() + 1;
    }
    Ok(extras)
}

/// Parse the marker that starts at byte `start` of `text` (to its end); blank means none.
fn parse_marker(text: &str, start: usize) -> Result<Option<MarkerTree>, RequirementError> {
    let marker_text = &text[start..];
    if marker_text.trim().is_empty() {
        return Ok(None);
    }
    crate::dist::pep508::check_markers(marker_text, true).map_err(|reason| {
        RequirementError::Invalid {
            text: text.to_string(),
            reason,
        }
    })?;
    match MarkerTree::from_str(marker_text) {
        Ok(marker) => Ok(Some(marker)),
        Err(err) => Err(relocate(err, text, start)),
    }
}

/// Move an error found in `text[offset..]` onto the whole `text`, keeping its column.
fn relocate(err: Pep508Error, text: &str, offset: usize) -> RequirementError {
    RequirementError::Syntax(Box::new(Pep508Error {
        message: err.message,
        start: err.start + offset,
        len: err.len,
        input: text.to_string(),
    }))
}

/// A syntax error underlining `len` bytes at `start` of `input`.
fn syntax_error(input: &str, start: usize, len: usize, message: String) -> RequirementError {
    let start = start.min(input.len());
    let len = len.min(input.len() - start);
    RequirementError::Syntax(Box::new(Pep508Error {
        message: Pep508ErrorSource::String(message),
        start,
        len,
        input: input.to_string(),
    }))
}

/// An unnamed URL: `https://host/x.whl ; marker` (pip splits the marker at `"; "`).
fn parse_unnamed_url(text: &str, base_dir: &Path) -> Result<ReqSpec, RequirementError> {
    let (body, marker) = match text.find("; ") {
        Some(i) => (text[..i].trim_end(), parse_marker(text, i + 1)?),
        None => (text, None),
    };
    let location = if scheme_of(body) == "file" {
        let path =
            file_url_to_path(body, base_dir).map_err(|m| syntax_error(text, 0, body.len(), m))?;
        Location::Path(path)
    } else {
        let url = Url::parse(body)
            .map_err(|e| syntax_error(text, 0, body.len(), format!("invalid URL: {e}")))?;
        Location::Url(url)
    };
    Ok(unnamed(location, Vec::new(), marker))
}

/// An unnamed local path: `./dist/x.whl`, `../proj[dev] ; python_version >= "3.9"`.
fn parse_unnamed_path(text: &str, base_dir: &Path) -> Result<ReqSpec, RequirementError> {
    let (body, marker) = match text.find(';') {
        Some(i) => (text[..i].trim_end(), parse_marker(text, i + 1)?),
        None => (text, None),
    };
    let (path_text, extras_start) = split_extras(body);
    let extras = parse_extras(body, extras_start).map_err(|e| match e {
        RequirementError::Syntax(err) => relocate(*err, text, 0),
        other => other,
    })?;
    let path = normalize_path(&base_dir.join(path_text));
    Ok(unnamed(Location::Path(path), extras, marker))
}

/// A PEP 508 requirement; `name @ <relative or absolute path>` is resolved against `base_dir`.
fn parse_named(text: &str, base_dir: &Path) -> Result<Requirement, RequirementError> {
    crate::dist::pep508::check_name(text).map_err(|reason| RequirementError::Invalid {
        text: text.to_string(),
        reason,
    })?;
    match Requirement::<VerbatimUrl>::parse(text, base_dir) {
        Ok(req) => Ok(fix_relative_file_url(req, base_dir)),
        Err(err) => {
            let (start, len) = (err.start, err.len);
            let is_url_error = matches!(err.message, Pep508ErrorSource::UrlError(_));
            if is_url_error && !has_known_scheme(&text[start..start + len]) {
                parse_named_with_path(text, base_dir, start, len)
            } else {
                Err(RequirementError::Syntax(Box::new(err)))
            }
        }
    }
}

/// Whether `text` starts with a URL scheme pep508 knows (`C:` is a drive, not a scheme).
fn has_known_scheme(text: &str) -> bool {
    pep508_rs::split_scheme(text)
        .is_some_and(|(scheme, _)| pep508_rs::Scheme::parse(scheme).is_some())
}

/// Re-parse `name @ path` with the path (at `start..start+len`) turned into a `file://` URL.
fn parse_named_with_path(
    text: &str,
    base_dir: &Path,
    start: usize,
    len: usize,
) -> Result<Requirement, RequirementError> {
    let given = &text[start..start + len];
    let url = path_to_url(given, base_dir).map_err(|m| syntax_error(text, start, len, m))?;
    let url_text = url.to_string();
    let replaced = format!("{}{}{}", &text[..start], url_text, &text[start + len..]);
    let mut req = Requirement::<VerbatimUrl>::parse(&replaced, base_dir).map_err(|mut err| {
        // Point back into what the user wrote, not the rewritten text.
        if err.start >= start + url_text.len() {
            err.start = err.start - url_text.len() + len;
        } else if err.start >= start {
            (err.start, err.len) = (start, len);
        }
        err.input = text.to_string();
        RequirementError::Syntax(Box::new(err))
    })?;
    req.version_or_url = Some(VersionOrUrl::Url(
        VerbatimUrl::from_url(url).with_given(given),
    ));
    Ok(req)
}

/// `name @ file:../x.whl`: pep508 reads a relative `file:` URL as absolute; resolve it
/// against `base_dir` the way pip does.
fn fix_relative_file_url(mut req: Requirement, base_dir: &Path) -> Requirement {
    let Some(VersionOrUrl::Url(url)) = &req.version_or_url else {
        return req;
    };
    let Some(given) = url.given().map(str::to_string) else {
        return req;
    };
    let is_relative_file = scheme_of(&given) == "file" && !given[5..].starts_with('/');
    if !is_relative_file {
        return req;
    }
    if let Ok(path) = file_url_to_path(&given, base_dir) {
        if let Ok(url) = Url::from_file_path(&path) {
            req.version_or_url = Some(VersionOrUrl::Url(
                VerbatimUrl::from_url(url).with_given(given),
            ));
        }
    }
    req
}

/// A local path (relative to `base_dir`, optionally with `#fragment`) as a `file://` URL.
fn path_to_url(given: &str, base_dir: &Path) -> Result<Url, String> {
    let (path_text, fragment) = match given.split_once('#') {
        Some((path, fragment)) => (path, Some(fragment)),
        None => (given, None),
    };
    let path = normalize_path(&base_dir.join(path_text));
    let mut url = Url::from_file_path(&path)
        .map_err(|()| format!("cannot turn path `{}` into a URL", path.display()))?;
    url.set_fragment(fragment);
    Ok(url)
}

/// The local path of a `file:` URL (`file:///abs`, `file://localhost/abs`, `file:../rel`);
/// relative paths are resolved against `base_dir`; query and fragment are dropped.
pub(crate) fn file_url_to_path(text: &str, base_dir: &Path) -> Result<PathBuf, String> {
    let rest = &text["file:".len()..];
    let rest = rest.split(['#', '?']).next().unwrap_or("");
    let path_part = match rest.strip_prefix("//") {
        Some(after) => {
            let (host, path) = after.split_at(after.find('/').unwrap_or(after.len()));
            if !host.is_empty() && !host.eq_ignore_ascii_case("localhost") {
                return Err(format!(
                    "file URL with a remote host `{host}` is not supported"
                ));
            }
            path
        }
        None => rest,
    };
    let decoded = percent_encoding::percent_decode_str(path_part)
        .decode_utf8()
        .map_err(|_| format!("file URL `{text}` is not valid UTF-8 once decoded"))?;
    if decoded.is_empty() {
        return Err(format!("file URL `{text}` has no path"));
    }
    Ok(normalize_path(&base_dir.join(decoded.as_ref())))
}

/// `path` made absolute against the current directory (unchanged if that fails).
pub(crate) fn absolute(path: &Path) -> PathBuf {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    normalize_path(&path)
}

/// Remove `.` and `..` components without touching the file system (like `os.path.normpath`).
pub(crate) fn normalize_path(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push(component);
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> PathBuf {
        PathBuf::from("/base/dir")
    }

    fn parse(text: &str) -> ReqSpec {
        parse_requirement(text, &base()).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn named(text: &str) -> Requirement {
        match parse(text) {
            ReqSpec::Named(req) => req,
            other => panic!("{text}: expected named, got {other:?}"),
        }
    }

    fn unnamed_parts(text: &str) -> (Location, Vec<ExtraName>, Option<MarkerTree>) {
        match parse(text) {
            ReqSpec::Unnamed {
                location,
                extras,
                marker,
            } => (location, extras, marker),
            other => panic!("{text}: expected unnamed, got {other:?}"),
        }
    }

    fn url_of(req: &Requirement) -> &VerbatimUrl {
        match &req.version_or_url {
            Some(VersionOrUrl::Url(url)) => url,
            other => panic!("expected URL, got {other:?}"),
        }
    }

    #[test]
    fn pinned_name() {
        let req = named("six==1.16.0");
        assert_eq!(req.name.as_ref(), "six");
        assert_eq!(req.version_or_url.unwrap().to_string(), "==1.16.0");
    }

    #[test]
    fn extras_and_marker() {
        let req = named(r#"requests[socks]>=2 ; python_version>="3.8""#);
        assert_eq!(req.extras, vec![ExtraName::from_str("socks").unwrap()]);
        assert_eq!(
            req.marker.try_to_string().unwrap(),
            "python_full_version >= '3.8'"
        );
    }

    #[test]
    fn name_at_https_url() {
        let req = named("pkg @ https://h/x-1.0-py3-none-any.whl#sha256=abc");
        assert_eq!(
            url_of(&req).as_str(),
            "https://h/x-1.0-py3-none-any.whl#sha256=abc"
        );
    }

    #[test]
    fn name_at_file_url() {
        let req = named("pkg @ file:///abs/x-1.0-py3-none-any.whl");
        assert_eq!(
            url_of(&req).to_file_path().unwrap(),
            PathBuf::from("/abs/x-1.0-py3-none-any.whl")
        );
    }

    #[test]
    fn name_at_relative_path() {
        let req = named("pkg @ ./sub/../vendor/x-1.0.tar.gz");
        let url = url_of(&req);
        assert_eq!(
            url.to_file_path().unwrap(),
            PathBuf::from("/base/dir/vendor/x-1.0.tar.gz")
        );
        assert_eq!(url.given(), Some("./sub/../vendor/x-1.0.tar.gz"));
    }

    #[test]
    fn name_at_relative_path_with_marker() {
        let req = named(r#"pkg[extra] @ ../proj ; sys_platform == "linux""#);
        assert_eq!(
            url_of(&req).to_file_path().unwrap(),
            PathBuf::from("/base/proj")
        );
        assert_eq!(req.extras.len(), 1);
        assert!(req
            .marker
            .try_to_string()
            .unwrap()
            .contains("sys_platform == 'linux'"));
    }

    #[test]
    fn name_at_relative_file_url() {
        let req = named("pkg @ file:../x.whl");
        assert_eq!(
            url_of(&req).to_file_path().unwrap(),
            PathBuf::from("/base/x.whl")
        );
    }

    #[test]
    fn error_after_relative_path_points_into_the_original_text() {
        let text = "pkg @ ./x ; python_version >> '3'";
        let err = parse_requirement(text, &base()).unwrap_err().to_string();
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines[1], text);
        assert_eq!(lines[2], "                           ^^", "{err}");
    }

    #[test]
    fn unnamed_relative_wheel() {
        let (location, extras, marker) = unnamed_parts("./dist/pkg-1.0-py3-none-any.whl");
        assert_eq!(
            location,
            Location::Path("/base/dir/dist/pkg-1.0-py3-none-any.whl".into())
        );
        assert!(extras.is_empty() && marker.is_none());
    }

    #[test]
    fn unnamed_absolute_dir_with_extras_and_marker() {
        let (location, extras, marker) =
            unnamed_parts(r#"/abs/proj[dev, test]; python_version >= "3.9""#);
        assert_eq!(location, Location::Path("/abs/proj".into()));
        let names: Vec<&str> = extras.iter().map(|e| e.as_ref()).collect();
        assert_eq!(names, ["dev", "test"]);
        assert!(marker.is_some());
    }

    #[test]
    fn unnamed_bare_archive_name() {
        let (location, _, _) = unnamed_parts("pkg-1.0.tar.gz");
        assert_eq!(location, Location::Path("/base/dir/pkg-1.0.tar.gz".into()));
        let (location, _, _) = unnamed_parts("pkg-1.0.zip");
        assert_eq!(location, Location::Path("/base/dir/pkg-1.0.zip".into()));
    }

    #[test]
    fn unnamed_dot() {
        let (location, extras, _) = unnamed_parts(".[dev]");
        assert_eq!(location, Location::Path("/base/dir".into()));
        assert_eq!(extras.len(), 1);
    }

    #[test]
    fn unnamed_https_url_with_marker() {
        let (location, _, marker) =
            unnamed_parts(r#"https://host/x-1.0-py3-none-any.whl ; python_version > "3""#);
        assert_eq!(
            location,
            Location::Url(Url::parse("https://host/x-1.0-py3-none-any.whl").unwrap())
        );
        assert!(marker.is_some());
    }

    #[test]
    fn unnamed_vcs_url() {
        let (location, _, _) = unnamed_parts("git+https://github.com/a/b.git@v1#egg=b");
        assert!(matches!(location, Location::Url(u) if u.scheme() == "git+https"));
    }

    #[test]
    fn unnamed_file_urls() {
        let (location, _, _) = unnamed_parts("file:///x.tar.gz");
        assert_eq!(location, Location::Path("/x.tar.gz".into()));
        let (location, _, _) = unnamed_parts("file://localhost/a%20b/x.whl");
        assert_eq!(location, Location::Path("/a b/x.whl".into()));
        let (location, _, _) = unnamed_parts("file:../x.whl");
        assert_eq!(location, Location::Path("/base/x.whl".into()));
    }

    #[test]
    fn existing_directory_written_as_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("proj")).unwrap();
        let spec = parse_requirement("./proj", dir.path()).unwrap();
        assert_eq!(
            spec,
            unnamed(Location::Path(dir.path().join("proj")), vec![], None)
        );
        // A bare name is a project name even when a directory of that name exists (as pip).
        let spec = parse_requirement("proj", dir.path()).unwrap();
        assert!(matches!(spec, ReqSpec::Named(_)));
    }

    #[test]
    fn malformed_requirement_shows_column() {
        let err = parse_requirement("six=1.16.0", &base()).unwrap_err();
        let text = err.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "six=1.16.0");
        assert_eq!(lines[2], "   ^^^^^^^", "{text}");
    }

    #[test]
    fn malformed_marker_on_unnamed_shows_column() {
        let err = parse_requirement("./x.whl ; python_version >> '3'", &base()).unwrap_err();
        let text = err.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "./x.whl ; python_version >> '3'");
        let caret = lines[2].find('^').unwrap();
        assert!(caret > 10, "{text}");
    }

    #[test]
    fn bad_extra_on_path_shows_column() {
        let err = parse_requirement("./proj[d!ev]", &base()).unwrap_err();
        let text = err.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[2], "       ^^^^", "{text}");
    }

    #[test]
    fn bad_url_is_an_error() {
        let err = parse_requirement("https://[bad/x.whl", &base()).unwrap_err();
        assert!(err.to_string().contains("invalid URL"), "{err}");
    }

    #[test]
    fn empty_is_an_error() {
        assert!(matches!(
            parse_requirement("  ", &base()),
            Err(RequirementError::Empty)
        ));
    }

    #[test]
    fn editable_directory_and_vcs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("proj")).unwrap();
        let spec = parse_editable("./proj[dev]", dir.path()).unwrap();
        assert_eq!(
            spec.to_string(),
            format!("{}[dev]", dir.path().join("proj").display())
        );
        let spec = parse_editable("git+https://github.com/a/b.git#egg=b", dir.path()).unwrap();
        assert!(matches!(
            spec,
            ReqSpec::Unnamed {
                location: Location::Url(_),
                ..
            }
        ));
        let spec = parse_editable("git://github.com/a/b.git", dir.path()).unwrap();
        assert!(
            matches!(spec, ReqSpec::Unnamed { location: Location::Url(u), .. } if u.scheme() == "git+git")
        );
        let err = parse_editable("./missing", dir.path()).unwrap_err();
        assert!(matches!(err, RequirementError::NotEditable(_)));
        let err = parse_editable("requests", dir.path()).unwrap_err();
        assert!(matches!(err, RequirementError::NotEditable(_)));
    }

    #[test]
    fn normalize_removes_dots() {
        assert_eq!(
            normalize_path(Path::new("/a/./b/../c")),
            PathBuf::from("/a/c")
        );
    }
}

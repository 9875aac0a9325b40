//! requirements.txt as pip reads it.
//!
//! Each file is preprocessed like pip's `req_file.preprocess`: lines ending in `\` are
//! joined, comments (`#` at the start of a line or after whitespace) are removed, and
//! `${NAME}` is replaced by the environment variable (left as written when unset or
//! empty). Every remaining line is a requirement with optional `--hash` /
//! `--config-settings`, an `-e` line, or a line of global options (`-r`, `-c`, `-i`, ...).
//! Paths are resolved against the directory of the file they appear in; in a file read by
//! URL, against the current directory (as pip does), and its includes against its URL.

use std::fmt;
use std::path::{Path, PathBuf};

use pep508_rs::pep440_rs::{Operator, VersionSpecifiers};
use pep508_rs::VersionOrUrl;

use super::{absolute, file_url_to_path, normalize_path, parse_editable, parse_requirement};
use super::{Location, ReqSpec, RequirementError};

/// A parsed requirements file, with everything it includes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequirementsTxt {
    /// Things to install, in file order (includes expanded in place).
    pub requirements: Vec<Entry>,
    /// Constraints: from files included with `-c`, or every entry of a constraints file.
    pub constraints: Vec<Entry>,
    /// Global options from all the files.
    pub options: TxtOptions,
    /// The top file says it is a complete set (`# envtool: complete`, as `envtool lock`
    /// writes it): installed as written, without resolving dependencies again.
    pub complete: bool,
}

/// The comment `envtool lock` writes into a requirements lock: every package it needs is in
/// it, pinned, so it installs as written (its dependencies are not resolved again, which an
/// `--override` at lock time makes impossible). pip ignores it as a comment.
pub const COMPLETE_MARK: &str = "# envtool: complete";

/// One requirement line.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// What the line asks for.
    pub spec: ReqSpec,
    /// `--hash=algo:hex` values as (algo, lowercase hex).
    pub hashes: Vec<(String, String)>,
    /// Written with `-e` / `--editable`.
    pub editable: bool,
    /// `--config-settings=KEY=VALUE` values, in order.
    pub config_settings: Vec<(String, String)>,
    /// Where the line is.
    pub origin: Origin,
}

/// A file and a 1-based line number (the first line of a continued line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file as named to the user (the given path, joined for nested includes).
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
}

/// Global options found in requirements files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxtOptions {
    /// `-i` / `--index-url` (the last one wins).
    pub index_url: Option<String>,
    /// `--extra-index-url`, in order.
    pub extra_index_urls: Vec<String>,
    /// `-f` / `--find-links`; relative paths made absolute against the file's directory.
    pub find_links: Vec<String>,
    /// `--no-index`.
    pub no_index: bool,
    /// `--require-hashes`.
    pub require_hashes: bool,
    /// `--pre`.
    pub pre: bool,
    /// `--only-binary`: normalized names or `:all:` (`:none:` clears; as pip).
    pub only_binary: Vec<String>,
    /// `--no-binary`: normalized names or `:all:` (`:none:` clears; as pip).
    pub no_binary: Vec<String>,
    /// `--prefer-binary`.
    pub prefer_binary: bool,
    /// `--trusted-host`, in order.
    pub trusted_hosts: Vec<String>,
}

/// A requirements file that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TxtError {
    /// The file is missing, unreadable or not UTF-8.
    #[error("{}could not read requirements file `{}`", prefix(.included_from), .path.display())]
    Read {
        /// The file as named to the user.
        path: PathBuf,
        /// The `-r`/`-c` line that included it.
        included_from: Option<Origin>,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// A malformed line: unknown option, bad hash, unnamed constraint, ...
    #[error("{origin}: {message}")]
    Line {
        /// Where.
        origin: Origin,
        /// What is wrong.
        message: String,
    },
    /// A requirement that does not parse (the message underlines the bad column).
    #[error("{origin}: {source}")]
    Requirement {
        /// Where.
        origin: Origin,
        /// The parse error.
        #[source]
        source: RequirementError,
    },
    /// A file by URL that could not be fetched, or is not a requirements file.
    #[error("{}could not read requirements file `{url}`: {message}", prefix(.included_from))]
    Remote {
        /// The URL, without credentials.
        url: String,
        /// The `-r`/`-c` line that included it.
        included_from: Option<Origin>,
        /// What went wrong.
        message: String,
    },
    /// Files that include each other.
    #[error("{origin}: requirements files include each other in a cycle: {chain}")]
    Cycle {
        /// The `-r`/`-c` line that closes the cycle.
        origin: Origin,
        /// `a.txt -> b.txt -> a.txt`.
        chain: String,
    },
    /// Hash-checking mode is on and some requirements do not qualify.
    #[error(
        "hash-checking mode is on (--require-hashes or a --hash option), so every requirement \
         must be pinned with == and have a --hash, and -e is not allowed:\n{}",
        .problems.join("\n")
    )]
    HashMode {
        /// One `file:line: requirement: problem` per offending entry.
        problems: Vec<String>,
    },
}

/// `file:line: ` or nothing.
fn prefix(origin: &Option<Origin>) -> String {
    origin
        .as_ref()
        .map(|o| format!("{o}: "))
        .unwrap_or_default()
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// Fetches a requirements file by URL (`http`/`https`): its text, or why not. Given by the
/// caller, who owns the HTTP client with its TLS, credential and offline rules.
pub type Remote<'a> = &'a dyn Fn(&url::Url) -> Result<String, String>;

/// Why a file fetched by URL is refused when it is a web page.
pub const NOT_REQUIREMENTS_BUT_HTML: &str = "it is an HTML page, not a requirements file (for a file in a repository, give the URL of its raw text)";

/// Whether a `-r`/`-c` value names a file by URL.
pub fn is_remote(location: &str) -> bool {
    let scheme = location
        .split_once(':')
        .map(|(s, _)| s.to_ascii_lowercase())
        .unwrap_or_default();
    scheme == "http" || scheme == "https"
}

impl RequirementsTxt {
    /// Read a requirements file (`-r` on the command line) and everything it includes.
    pub fn parse_file(path: &Path) -> Result<Self, TxtError> {
        Self::parse_location(path, false, None)
    }

    /// Read a requirements (or, with `constraint`, constraints) file named by a path or an
    /// `http(s)` URL, fetched with `remote`.
    pub fn parse_location(
        location: &Path,
        constraint: bool,
        remote: Option<Remote<'_>>,
    ) -> Result<Self, TxtError> {
        let mut parser = Parser {
            remote,
            ..Parser::default()
        };
        let text = location.to_string_lossy();
        if is_remote(&text) {
            let url = url::Url::parse(&text).map_err(|e| TxtError::Remote {
                url: crate::redact::url(&text),
                included_from: None,
                message: format!("not a valid URL ({e})"),
            })?;
            parser.read_url(&url, constraint, None)?;
        } else {
            parser.read_file(location, location, constraint, None)?;
        }
        Ok(parser.out)
    }

    /// Read a constraints file (`-c` on the command line): every requirement in it, and in
    /// the files it includes, becomes a constraint.
    pub fn parse_constraints_file(path: &Path) -> Result<Self, TxtError> {
        Self::parse_location(path, true, None)
    }

    /// Parse requirements text; `path_for_messages` names it in errors, `base_dir` resolves
    /// relative paths and includes.
    pub fn parse_str(
        text: &str,
        path_for_messages: &Path,
        base_dir: &Path,
    ) -> Result<Self, TxtError> {
        let mut parser = Parser::default();
        let source = Source {
            file: path_for_messages,
            base_dir: &absolute(base_dir),
            constraint: false,
            url: None,
        };
        parser.parse_text(text, &source, None)?;
        Ok(parser.out)
    }

    /// Whether hash-checking mode is on: `--require-hashes`, or any entry has a `--hash`.
    pub fn hash_mode(&self) -> bool {
        let has_hashes = |e: &Entry| !e.hashes.is_empty();
        self.options.require_hashes
            || self.requirements.iter().any(has_hashes)
            || self.constraints.iter().any(has_hashes)
    }

    /// In hash-checking mode, every requirement must be pinned with `==`/`===` (or be a
    /// file/URL), have a hash (`--hash` or a `#sha256=` URL fragment), and not be `-e`.
    /// The error lists every offending requirement. Constraints are not checked.
    pub fn check_hash_mode(&self) -> Result<(), TxtError> {
        if !self.hash_mode() {
            return Ok(());
        }
        let problems: Vec<String> = self
            .requirements
            .iter()
            .filter_map(|entry| {
                let problems = hash_problems(entry);
                (!problems.is_empty()).then(|| {
                    format!(
                        "  {}: {}: {}",
                        entry.origin,
                        entry.spec,
                        problems.join("; ")
                    )
                })
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(TxtError::HashMode { problems })
        }
    }
}

/// Why `entry` cannot be installed in hash-checking mode (empty when it can).
fn hash_problems(entry: &Entry) -> Vec<&'static str> {
    let mut problems = Vec::new();
    if entry.editable {
        problems.push("editable requirements cannot be hash-checked");
        return problems;
    }
    let url_hash = match &entry.spec {
        ReqSpec::Named(req) => match &req.version_or_url {
            Some(VersionOrUrl::VersionSpecifier(specifiers)) if is_pinned(specifiers) => false,
            Some(VersionOrUrl::Url(url)) => has_fragment_hash(url.fragment()),
            _ => {
                problems.push("not pinned with == or ===");
                false
            }
        },
        ReqSpec::Unnamed {
            location: Location::Path(path),
            ..
        } => {
            if path.is_dir() {
                problems.push("directories cannot be hash-checked");
            }
            false
        }
        ReqSpec::Unnamed {
            location: Location::Url(url),
            ..
        } => has_fragment_hash(url.fragment()),
    };
    if entry.hashes.is_empty() && !url_hash {
        problems.push("no --hash");
    }
    problems
}

/// pip's `is_pinned`: exactly one specifier, `==` (no wildcard) or `===`.
fn is_pinned(specifiers: &VersionSpecifiers) -> bool {
    specifiers.len() == 1
        && matches!(
            specifiers[0].operator(),
            Operator::Equal | Operator::ExactEqual
        )
}

/// Whether a URL fragment carries a hash (`#sha256=...`).
fn has_fragment_hash(fragment: Option<&str>) -> bool {
    fragment.unwrap_or("").split('&').any(|part| {
        ["sha1=", "sha224=", "sha256=", "sha384=", "sha512=", "md5="]
            .iter()
            .any(|p| part.starts_with(p))
    })
}

/// The text being parsed and how to interpret it.
struct Source<'a> {
    /// The file as named to the user.
    file: &'a Path,
    /// Absolute directory relative paths are resolved against.
    base_dir: &'a Path,
    /// Whether requirements here are constraints.
    constraint: bool,
    /// Where the text was fetched from, for a file read by URL (its includes are relative
    /// to it).
    url: Option<&'a url::Url>,
}

/// Walks a file and its includes, collecting the result.
#[derive(Default)]
struct Parser<'r> {
    out: RequirementsTxt,
    /// Files being read, outermost first: (identity, name for messages).
    stack: Vec<(PathBuf, PathBuf)>,
    /// How to fetch files by URL (none: they are refused).
    remote: Option<Remote<'r>>,
}

impl Parser<'_> {
    /// Fetch `url` and parse it: relative paths in it against the current directory.
    fn read_url(
        &mut self,
        url: &url::Url,
        constraint: bool,
        from: Option<&Origin>,
    ) -> Result<(), TxtError> {
        let shown = crate::redact::url(url.as_str());
        let failed = |message: String| TxtError::Remote {
            url: shown.clone(),
            included_from: from.cloned(),
            message,
        };
        let Some(remote) = self.remote else {
            return Err(failed("files by URL cannot be read here".into()));
        };
        let text = remote(url).map_err(failed)?;
        // The first characters, however short the text (a byte slice could miss them).
        let head: String = text.trim_start().chars().take(9).collect();
        let head = head.to_ascii_lowercase();
        if head.starts_with("<!doctype") || head.starts_with("<html") {
            return Err(failed(NOT_REQUIREMENTS_BUT_HTML.into()));
        }
        let display = PathBuf::from(&shown);
        let cwd = absolute(Path::new("."));
        let source = Source {
            file: &display,
            base_dir: &cwd,
            constraint,
            url: Some(url),
        };
        self.parse_text(&text, &source, from)
    }

    /// Read `path` (named `display` in messages) and parse it.
    fn read_file(
        &mut self,
        path: &Path,
        display: &Path,
        constraint: bool,
        from: Option<&Origin>,
    ) -> Result<(), TxtError> {
        let text = read_text(path).map_err(|source| TxtError::Read {
            path: display.to_path_buf(),
            included_from: from.cloned(),
            source,
        })?;
        let path = absolute(path);
        let base_dir = path.parent().unwrap_or(Path::new("/"));
        let source = Source {
            file: display,
            base_dir,
            constraint,
            url: None,
        };
        self.parse_text(&text, &source, from)
    }

    /// Parse the text of one file; `from` is the line that included it.
    fn parse_text(
        &mut self,
        text: &str,
        source: &Source,
        from: Option<&Origin>,
    ) -> Result<(), TxtError> {
        let identity = match source.url {
            Some(url) => PathBuf::from(url.as_str()),
            None => identity(
                &source
                    .base_dir
                    .join(source.file.file_name().unwrap_or_default()),
                source.file,
            ),
        };
        if let Some(start) = self.stack.iter().position(|(id, _)| *id == identity) {
            let mut names: Vec<String> = self.stack[start..]
                .iter()
                .map(|(_, n)| n.display().to_string())
                .collect();
            names.push(source.file.display().to_string());
            let origin = from.cloned().unwrap_or_else(|| Origin {
                file: source.file.to_path_buf(),
                line: 0,
            });
            return Err(TxtError::Cycle {
                origin,
                chain: names.join(" -> "),
            });
        }
        self.stack.push((identity, source.file.to_path_buf()));
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if self.stack.len() == 1
            && !source.constraint
            && text
                .lines()
                .any(|l| l.trim_end().starts_with(COMPLETE_MARK))
        {
            self.out.complete = true;
        }
        for (line_number, line) in logical_lines(text, &|name| std::env::var(name).ok()) {
            let origin = Origin {
                file: source.file.to_path_buf(),
                line: line_number,
            };
            self.parse_line(&line, origin, source)?;
        }
        self.stack.pop();
        Ok(())
    }

    /// One logical line: a requirement (with its options) or a line of options.
    fn parse_line(&mut self, line: &str, origin: Origin, source: &Source) -> Result<(), TxtError> {
        let (req_text, options_text) = split_args_options(line);
        let options = crate::shell::split(options_text)
            .ok_or_else(|| "a quote is not closed".to_string())
            .and_then(|tokens| parse_options(&tokens))
            .map_err(|message| TxtError::Line {
                origin: origin.clone(),
                message,
            })?;
        if req_text.is_empty() {
            return self.options_line(options, origin, source);
        }
        let spec =
            parse_requirement(req_text, source.base_dir).map_err(|e| TxtError::Requirement {
                origin: origin.clone(),
                source: e,
            })?;
        let mut entry = new_entry(spec, false, origin);
        for (opt, value) in options {
            self.per_requirement_option(&mut entry, opt, &value)?;
        }
        self.push(entry, source.constraint)
    }

    /// Apply `--hash` / `--config-settings` to `entry`; other options are not allowed here.
    fn per_requirement_option(
        &self,
        entry: &mut Entry,
        opt: Opt,
        value: &str,
    ) -> Result<(), TxtError> {
        let line_error = |message| TxtError::Line {
            origin: entry.origin.clone(),
            message,
        };
        match opt {
            Opt::Hash => {
                let hash = parse_hash(value).map_err(line_error)?;
                entry.hashes.push(hash);
            }
            Opt::ConfigSettings => {
                let setting = parse_config_setting(value).map_err(line_error)?;
                entry.config_settings.push(setting);
            }
            other => {
                return Err(line_error(format!(
                    "option `{}` must be on a line of its own, not after a requirement",
                    other.name()
                )))
            }
        }
        Ok(())
    }

    /// A line without a requirement: `-e`, includes and global options.
    fn options_line(
        &mut self,
        options: Vec<(Opt, String)>,
        origin: Origin,
        source: &Source,
    ) -> Result<(), TxtError> {
        let editables = options
            .iter()
            .filter(|(opt, _)| *opt == Opt::Editable)
            .count();
        for (opt, value) in &options {
            let (opt, value) = (*opt, value.as_str());
            if editables == 0 && matches!(opt, Opt::Hash | Opt::ConfigSettings) {
                let message = format!(
                    "option `{}` must follow a requirement on the same line",
                    opt.name()
                );
                return Err(TxtError::Line { origin, message });
            }
            self.global_option(opt, value, &origin, source, &options)?;
        }
        Ok(())
    }

    /// Apply one option from an options line (`line_options` are all of that line's options).
    fn global_option(
        &mut self,
        opt: Opt,
        value: &str,
        origin: &Origin,
        source: &Source,
        line_options: &[(Opt, String)],
    ) -> Result<(), TxtError> {
        let options = &mut self.out.options;
        match opt {
            Opt::Requirement => return self.include(value, source.constraint, origin, source),
            Opt::Constraint => return self.include(value, true, origin, source),
            Opt::Editable => return self.editable(value, origin, source, line_options),
            Opt::IndexUrl => options.index_url = Some(value.to_string()),
            Opt::ExtraIndexUrl => options.extra_index_urls.push(value.to_string()),
            Opt::NoIndex => options.no_index = true,
            Opt::FindLinks => options
                .find_links
                .push(resolve_find_links(value, source.base_dir)),
            Opt::NoBinary => {
                mutual_excludes(value, &mut options.no_binary, &mut options.only_binary)
            }
            Opt::OnlyBinary => {
                mutual_excludes(value, &mut options.only_binary, &mut options.no_binary)
            }
            Opt::PreferBinary => options.prefer_binary = true,
            Opt::RequireHashes => options.require_hashes = true,
            Opt::Pre => options.pre = true,
            Opt::TrustedHost => options.trusted_hosts.push(value.to_string()),
            Opt::UseFeature | Opt::Hash | Opt::ConfigSettings => {}
        }
        Ok(())
    }

    /// `-e <path|vcs-url>`, taking the line's `--hash` / `--config-settings` too.
    fn editable(
        &mut self,
        value: &str,
        origin: &Origin,
        source: &Source,
        line_options: &[(Opt, String)],
    ) -> Result<(), TxtError> {
        let spec = parse_editable(value, source.base_dir).map_err(|e| TxtError::Requirement {
            origin: origin.clone(),
            source: e,
        })?;
        let mut entry = new_entry(spec, true, origin.clone());
        for (opt, value) in line_options {
            if matches!(opt, Opt::Hash | Opt::ConfigSettings) {
                self.per_requirement_option(&mut entry, *opt, value)?;
            }
        }
        self.push(entry, source.constraint)
    }

    /// `-r`/`-c <file>`: parse it, relative to the including file's directory.
    fn include(
        &mut self,
        value: &str,
        constraint: bool,
        origin: &Origin,
        source: &Source,
    ) -> Result<(), TxtError> {
        let scheme = value
            .split_once(':')
            .map(|(s, _)| s.to_ascii_lowercase())
            .unwrap_or_default();
        let bad_url = |e: url::ParseError| TxtError::Line {
            origin: origin.clone(),
            message: format!("not a valid URL: {} ({e})", crate::redact::url(value)),
        };
        if is_remote(value) {
            let url = url::Url::parse(value).map_err(bad_url)?;
            return self.read_url(&url, constraint, Some(origin));
        }
        if source.url.is_some() && scheme == "file" {
            return Err(TxtError::Line {
                origin: origin.clone(),
                message: format!("a file read by URL cannot include a local file: {value}"),
            });
        }
        if let Some(base) = source.url.filter(|_| scheme.is_empty()) {
            // An include in a file read by URL is relative to that URL.
            let url = base.join(value).map_err(bad_url)?;
            return self.read_url(&url, constraint, Some(origin));
        }
        let (path, display) = if scheme == "file" {
            let path =
                file_url_to_path(value, source.base_dir).map_err(|message| TxtError::Line {
                    origin: origin.clone(),
                    message,
                })?;
            (path.clone(), path)
        } else {
            let display_dir = source.file.parent().unwrap_or(Path::new(""));
            (
                normalize_path(&source.base_dir.join(value)),
                normalize_path(&display_dir.join(value)),
            )
        };
        self.read_file(&path, &display, constraint, Some(origin))
    }

    /// Add an entry to the requirements or, checked, to the constraints.
    fn push(&mut self, entry: Entry, constraint: bool) -> Result<(), TxtError> {
        if !constraint {
            self.out.requirements.push(entry);
            return Ok(());
        }
        let problem = match &entry.spec {
            _ if entry.editable => Some("editable requirements are not allowed as constraints"),
            ReqSpec::Unnamed { .. } => Some("unnamed requirements are not allowed as constraints"),
            ReqSpec::Named(req) if !req.extras.is_empty() => Some("constraints cannot have extras"),
            ReqSpec::Named(_) => None,
        };
        if let Some(problem) = problem {
            let message = format!("{problem} (found: `{}`)", entry.spec);
            return Err(TxtError::Line {
                origin: entry.origin,
                message,
            });
        }
        self.out.constraints.push(entry);
        Ok(())
    }
}

/// A new entry without hashes or settings.
fn new_entry(spec: ReqSpec, editable: bool, origin: Origin) -> Entry {
    Entry {
        spec,
        hashes: Vec::new(),
        editable,
        config_settings: Vec::new(),
        origin,
    }
}

/// Read a file as UTF-8.
fn read_text(path: &Path) -> std::io::Result<String> {
    let bytes = std::fs::read(path)?;
    String::from_utf8(bytes).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not valid UTF-8: {e}"),
        )
    })
}

/// What identifies a file for cycle detection: its canonical path when it exists.
fn identity(path: &Path, display: &Path) -> PathBuf {
    std::fs::canonicalize(path)
        .or_else(|_| std::fs::canonicalize(display))
        .unwrap_or_else(|_| absolute(path))
}

/// A `--find-links` value: URLs unchanged, paths made absolute against `base_dir`.
fn resolve_find_links(value: &str, base_dir: &Path) -> String {
    let scheme = value
        .split_once(':')
        .map(|(s, _)| s.to_ascii_lowercase())
        .unwrap_or_default();
    if ["http", "https", "file", "ftp"].contains(&scheme.as_str()) {
        return value.to_string();
    }
    normalize_path(&base_dir.join(value)).display().to_string()
}

/// pip's `handle_mutual_excludes` for `--no-binary` / `--only-binary`.
fn mutual_excludes(value: &str, target: &mut Vec<String>, other: &mut Vec<String>) {
    let mut names: Vec<&str> = value.split(',').collect();
    while let Some(all) = names.iter().position(|n| *n == ":all:") {
        other.clear();
        target.clear();
        target.push(":all:".to_string());
        names.drain(..=all);
        if !names.contains(&":none:") {
            return;
        }
    }
    for name in names {
        if name == ":none:" {
            target.clear();
            continue;
        }
        let name = canonical_name(name);
        other.retain(|n| *n != name);
        if !target.contains(&name) {
            target.push(name);
        }
    }
}

/// PEP 503 normalized project name: lowercase, runs of `-_.` become `-`.
fn canonical_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// `sha256:ABC...` -> ("sha256", "abc...").
fn parse_hash(value: &str) -> Result<(String, String), String> {
    let Some((algo, hex)) = value.split_once(':') else {
        return Err(format!(
            "invalid --hash `{value}`: expected a hash name followed by a value, like --hash=sha256:abcde..."
        ));
    };
    let algo = algo.to_ascii_lowercase();
    let digits = match algo.as_str() {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => {
            return Err(format!(
                "unsupported hash algorithm `{algo}` in --hash (allowed: sha256, sha384, sha512)"
            ))
        }
    };
    if hex.len() != digits || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "invalid {algo} digest `{hex}` in --hash: expected {digits} hex digits"
        ));
    }
    Ok((algo, hex.to_ascii_lowercase()))
}

/// `KEY=VALUE` -> (KEY, VALUE).
fn parse_config_setting(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((key, val)) => Ok((key.to_string(), val.to_string())),
        None => Err(format!(
            "invalid --config-settings `{value}`: expected KEY=VALUE"
        )),
    }
}

/// Options pip accepts in requirements files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opt {
    Requirement,
    Constraint,
    Editable,
    IndexUrl,
    ExtraIndexUrl,
    NoIndex,
    FindLinks,
    NoBinary,
    OnlyBinary,
    PreferBinary,
    RequireHashes,
    Pre,
    TrustedHost,
    UseFeature,
    Hash,
    ConfigSettings,
}

/// An option's spellings and whether it takes a value.
struct OptSpec {
    opt: Opt,
    short: Option<char>,
    long: &'static [&'static str],
    takes_value: bool,
}

/// The option table (pip's `SUPPORTED_OPTIONS` and `SUPPORTED_OPTIONS_REQ`).
const OPTIONS: &[OptSpec] = &[
    OptSpec {
        opt: Opt::Requirement,
        short: Some('r'),
        long: &["requirement"],
        takes_value: true,
    },
    OptSpec {
        opt: Opt::Constraint,
        short: Some('c'),
        long: &["constraint"],
        takes_value: true,
    },
    OptSpec {
        opt: Opt::Editable,
        short: Some('e'),
        long: &["editable"],
        takes_value: true,
    },
    OptSpec {
        opt: Opt::IndexUrl,
        short: Some('i'),
        long: &["index-url", "pypi-url"],
        takes_value: true,
    },
    OptSpec {
        opt: Opt::ExtraIndexUrl,
        short: None,
        long: &["extra-index-url"],
        takes_value: true,
    },
    OptSpec {
        opt: Opt::NoIndex,
        short: None,
        long: &["no-index"],
        takes_value: false,
    },
    OptSpec {
        opt: Opt::FindLinks,
        short: Some('f'),
        long: &["find-links"],
        takes_value: true,
    },
    OptSpec {
        opt: Opt::NoBinary,
        short: None,
        long: &["no-binary"],
        takes_value: true,
    },
    OptSpec {
        opt: Opt::OnlyBinary,
        short: None,
        long: &["only-binary"],
        takes_value: true,
    },
    OptSpec {
        opt: Opt::PreferBinary,
        short: None,
        long: &["prefer-binary"],
        takes_value: false,
    },
    OptSpec {
        opt: Opt::RequireHashes,
        short: None,
        long: &["require-hashes"],
        takes_value: false,
    },
    OptSpec {
        opt: Opt::Pre,
        short: None,
        long: &["pre"],
        takes_value: false,
    },
    OptSpec {
        opt: Opt::TrustedHost,
        short: None,
        long: &["trusted-host"],
        takes_value: true,
    },
    OptSpec {
        opt: Opt::UseFeature,
        short: None,
        long: &["use-feature"],
        takes_value: true,
    },
    OptSpec {
        opt: Opt::Hash,
        short: None,
        long: &["hash"],
        takes_value: true,
    },
    OptSpec {
        opt: Opt::ConfigSettings,
        short: None,
        long: &["config-settings"],
        takes_value: true,
    },
];

impl Opt {
    /// The option's main spelling, for messages.
    fn name(self) -> String {
        let spec = OPTIONS
            .iter()
            .find(|s| s.opt == self)
            .expect("every option is in the table");
        format!("--{}", spec.long[0])
    }
}

/// Find a long option by name or, as optparse does, by an unambiguous prefix.
fn find_long(name: &str) -> Result<&'static OptSpec, String> {
    let all = || {
        OPTIONS
            .iter()
            .flat_map(|s| s.long.iter().map(move |l| (s, *l)))
    };
    if let Some((spec, _)) = all().find(|(_, long)| *long == name) {
        return Ok(spec);
    }
    let matches: Vec<(&OptSpec, &str)> = all().filter(|(_, long)| long.starts_with(name)).collect();
    match matches.as_slice() {
        [(spec, _)] if !name.is_empty() => Ok(spec),
        [] | [_] => Err(format!("unknown option `--{name}`")),
        many => {
            let names: Vec<String> = many.iter().map(|(_, l)| format!("--{l}")).collect();
            Err(format!(
                "ambiguous option `--{name}` (could be {})",
                names.join(", ")
            ))
        }
    }
}

/// Parse option tokens: `--opt value`, `--opt=value`, `-o value`, `-ovalue`.
fn parse_options(tokens: &[String]) -> Result<Vec<(Opt, String)>, String> {
    let mut out = Vec::new();
    let mut rest = tokens.iter();
    while let Some(token) = rest.next() {
        let (spec, inline) = if let Some(long) = token.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (long, None),
            };
            (find_long(name)?, inline)
        } else if let Some(short) = token.strip_prefix('-').and_then(|s| s.chars().next()) {
            let spec = OPTIONS
                .iter()
                .find(|s| s.short == Some(short))
                .ok_or_else(|| format!("unknown option `-{short}`"))?;
            let attached = &token[1 + short.len_utf8()..];
            let attached = attached.strip_prefix('=').unwrap_or(attached);
            (spec, (!attached.is_empty()).then(|| attached.to_string()))
        } else {
            return Err(format!(
                "unexpected argument `{token}` (requirements go at the start of a line)"
            ));
        };
        let value = match (spec.takes_value, inline) {
            (true, Some(value)) => value,
            (true, None) => rest
                .next()
                .cloned()
                .ok_or_else(|| format!("option `{token}` needs a value"))?,
            (false, Some(_)) => return Err(format!("option `{}` takes no value", spec.opt.name())),
            (false, None) => String::new(),
        };
        out.push((spec.opt, value));
    }
    Ok(out)
}

/// pip's `break_args_options`: the requirement is everything before the first
/// space-separated token that starts with `-`; the rest are options.
fn split_args_options(line: &str) -> (&str, &str) {
    let mut offset = 0;
    for token in line.split([' ', '\t']) {
        if token.starts_with('-') {
            return (line[..offset].trim(), &line[offset..]);
        }
        offset += token.len() + 1;
    }
    (line.trim(), "")
}

/// pip's preprocessing: joined continuations, comments removed, env vars expanded,
/// blank lines dropped. Each line keeps the number of its first physical line.
fn logical_lines(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Vec<(usize, String)> {
    join_lines(text)
        .into_iter()
        .filter_map(|(number, line)| {
            let line = strip_comment(&line).trim();
            (!line.is_empty()).then(|| (number, expand_env_vars(line, env)))
        })
        .collect()
}

/// pip's `join_lines`: a line ending in `\` continues on the next one; a comment line
/// ends a continuation (and is never continued itself).
fn join_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, line) in text.lines().enumerate() {
        let is_comment = line.trim_start().starts_with('#');
        if line.ends_with('\\') && !is_comment {
            let part = line.trim_end_matches('\\');
            match &mut pending {
                Some((_, joined)) => joined.push_str(part),
                None => pending = Some((index + 1, part.to_string())),
            }
            continue;
        }
        // A leading space makes sure a comment line is seen as a comment once joined.
        let line = if is_comment {
            format!(" {line}")
        } else {
            line.to_string()
        };
        match pending.take() {
            Some((number, mut joined)) => {
                joined.push_str(&line);
                out.push((number, joined));
            }
            None => out.push((index + 1, line)),
        }
    }
    out.extend(pending);
    out
}

/// Cut a comment: `#` at the start of the line or after whitespace, to the end.
fn strip_comment(line: &str) -> &str {
    let mut previous_is_space = true;
    for (index, c) in line.char_indices() {
        if c == '#' && previous_is_space {
            return &line[..index];
        }
        previous_is_space = c.is_whitespace();
    }
    line
}

/// Replace `${NAME}` (uppercase letters, digits, `_`) by its value; unset or empty
/// variables are left as written, like pip. `$NAME` is never touched.
fn expand_env_vars(line: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..name_len];
        let closed = after[name_len..].starts_with('}');
        match env(name).filter(|v| closed && !name.is_empty() && !v.is_empty()) {
            Some(value) => {
                out.push_str(&value);
                rest = &after[name_len + 1..];
            }
            None => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pep508_rs::VerbatimUrl;

    const SHA_A: &str = "0569859f95fc761b18b45ef421b1290a0f65f147e92a1e5eb3e635f9a5e4e66f";
    const SHA_B: &str = "DC38F5A0A0E7E0B5CE4C2D3E8B5F5F2F8D5C2C8C37F5E3D0E2D1C1A3E8A9B0C1";

    /// A temporary directory with files written into it.
    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        dir
    }

    fn parse(text: &str) -> RequirementsTxt {
        RequirementsTxt::parse_str(text, Path::new("requirements.txt"), Path::new("/base"))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn parse_err(text: &str) -> String {
        RequirementsTxt::parse_str(text, Path::new("requirements.txt"), Path::new("/base"))
            .unwrap_err()
            .to_string()
    }

    fn names(entries: &[Entry]) -> Vec<String> {
        entries.iter().map(|e| e.spec.to_string()).collect()
    }

    fn url(entry: &Entry) -> &VerbatimUrl {
        match &entry.spec {
            ReqSpec::Named(req) => match &req.version_or_url {
                Some(VersionOrUrl::Url(url)) => url,
                other => panic!("no URL: {other:?}"),
            },
            other => panic!("not named: {other:?}"),
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn simple_requirements_with_line_numbers() {
        let txt = parse("six==1.16.0\n\nrequests>=2\n");
        assert_eq!(names(&txt.requirements), ["six==1.16.0", "requests>=2"]);
        assert_eq!(
            txt.requirements[1].origin,
            Origin {
                file: "requirements.txt".into(),
                line: 3
            }
        );
    }

    #[test]
    fn continuation_lines_are_joined() {
        let lines = logical_lines("foo\\\n==1.0\nbar \\\n  >=2 \\\n  ,<3\nbaz\\", &no_env);
        assert_eq!(
            lines,
            [
                (1, "foo==1.0".to_string()),
                (3, "bar   >=2   ,<3".to_string()),
                (6, "baz".to_string())
            ]
        );
    }

    #[test]
    fn comment_line_ends_a_continuation() {
        let lines = logical_lines("foo \\\n# comment \\\nbar", &no_env);
        assert_eq!(lines, [(1, "foo".to_string()), (3, "bar".to_string())]);
    }

    #[test]
    fn comments_are_stripped() {
        let lines = logical_lines(
            "# top\n  # indented\nsix==1.0  # trailing\nx#y\n\t#tab",
            &no_env,
        );
        assert_eq!(lines, [(3, "six==1.0".to_string()), (4, "x#y".to_string())]);
    }

    #[test]
    fn hash_in_url_is_not_a_comment() {
        let txt = parse(&format!(
            "pkg @ https://h/pkg-1.0-py3-none-any.whl#sha256={SHA_A} # a comment\n"
        ));
        assert_eq!(
            url(&txt.requirements[0]).fragment(),
            Some(format!("sha256={SHA_A}").as_str())
        );
    }

    #[test]
    fn env_vars_are_expanded() {
        let env = |name: &str| match name {
            "HOST" => Some("example.com".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        let expand = |s: &str| expand_env_vars(s, &env);
        assert_eq!(
            expand("https://${HOST}/simple"),
            "https://example.com/simple"
        );
        assert_eq!(expand("${UNSET}/x"), "${UNSET}/x");
        assert_eq!(expand("${EMPTY}"), "${EMPTY}");
        assert_eq!(expand("$HOST ${host} ${HOST"), "$HOST ${host} ${HOST");
        assert_eq!(expand("${HOST}${HOST}"), "example.comexample.com");
    }

    #[test]
    fn env_vars_in_a_file() {
        std::env::set_var("ENVTOOL_TEST_REQ_INDEX", "https://mirror.example/simple");
        let txt =
            parse("--index-url ${ENVTOOL_TEST_REQ_INDEX}\npkg==1 # ${ENVTOOL_TEST_REQ_INDEX}\n");
        assert_eq!(
            txt.options.index_url.as_deref(),
            Some("https://mirror.example/simple")
        );
    }

    #[test]
    fn options_with_space_and_equals() {
        let txt = parse(
            "-i https://a/simple\n--extra-index-url=https://b/simple\n--extra-index-url https://c/simple\n\
             --no-index\n-f ./wheels\n--find-links=https://h/links\n-f/abs/links\n--pre\n--prefer-binary\n\
             --require-hashes\n--trusted-host=h.example\n--use-feature truststore\n",
        );
        let o = &txt.options;
        assert_eq!(o.index_url.as_deref(), Some("https://a/simple"));
        assert_eq!(o.extra_index_urls, ["https://b/simple", "https://c/simple"]);
        assert!(o.no_index && o.pre && o.prefer_binary && o.require_hashes);
        assert_eq!(
            o.find_links,
            ["/base/wheels", "https://h/links", "/abs/links"]
        );
        assert_eq!(o.trusted_hosts, ["h.example"]);
    }

    #[test]
    fn several_options_on_one_line_and_abbreviations() {
        let txt = parse("--no-index --pre\n--index=https://x/simple\n");
        assert!(txt.options.no_index && txt.options.pre);
        assert_eq!(txt.options.index_url.as_deref(), Some("https://x/simple"));
        assert!(parse_err("--no\n").contains("ambiguous option `--no`"));
    }

    #[test]
    fn binary_options_like_pip() {
        let txt = parse(
            "--no-binary=Foo_Bar,baz\n--only-binary :all:\n--no-binary :none:\n--no-binary qux\n",
        );
        assert_eq!(txt.options.only_binary, [":all:"]);
        assert_eq!(txt.options.no_binary, ["qux"]);
        let txt = parse("--only-binary Foo.Bar\n--no-binary foo-bar\n");
        assert!(txt.options.only_binary.is_empty());
        assert_eq!(txt.options.no_binary, ["foo-bar"]);
    }

    #[test]
    fn unknown_option_names_file_and_line() {
        assert_eq!(
            parse_err("six\n--frobnicate\n"),
            "requirements.txt:2: unknown option `--frobnicate`"
        );
        assert_eq!(
            parse_err("-x foo\n"),
            "requirements.txt:1: unknown option `-x`"
        );
    }

    #[test]
    fn option_errors() {
        assert!(parse_err("--index-url\n").contains("needs a value"));
        assert!(parse_err("--pre=yes\n").contains("takes no value"));
        assert!(parse_err("six --index-url x\n").contains("must be on a line of its own"));
        assert!(
            parse_err(&format!("--hash=sha256:{SHA_A}\n")).contains("must follow a requirement")
        );
    }

    #[test]
    fn hashes_on_requirement_lines() {
        let txt = parse(&format!(
            "six==1.16.0 --hash=sha256:{SHA_A} --hash sha256:{SHA_B}\n"
        ));
        let hashes = &txt.requirements[0].hashes;
        assert_eq!(hashes[0], ("sha256".to_string(), SHA_A.to_string()));
        assert_eq!(
            hashes[1],
            ("sha256".to_string(), SHA_B.to_ascii_lowercase())
        );
    }

    #[test]
    fn bad_hashes() {
        assert!(
            parse_err("six==1 --hash=abc\n").contains("expected a hash name followed by a value")
        );
        assert!(parse_err("six==1 --hash=md5:abc\n").contains("unsupported hash algorithm `md5`"));
        assert!(parse_err("six==1 --hash=sha256:xyz\n").contains("expected 64 hex digits"));
    }

    #[test]
    fn hashes_on_continued_lines() {
        let text = format!("six==1.16.0 \\\n    --hash=sha256:{SHA_A} \\\n    --hash=sha256:{SHA_B}\n    # via foo\nidna==3.6\n");
        let txt = parse(&text);
        assert_eq!(txt.requirements[0].hashes.len(), 2);
        assert_eq!(txt.requirements[1].origin.line, 5);
    }

    #[test]
    fn config_settings() {
        let txt =
            parse("pkg==1 --config-settings=editable_mode=compat --config-settings key=a=b\n");
        assert_eq!(
            txt.requirements[0].config_settings,
            [
                ("editable_mode".to_string(), "compat".to_string()),
                ("key".to_string(), "a=b".to_string())
            ]
        );
        assert!(parse_err("pkg --config-settings nokey\n").contains("expected KEY=VALUE"));
    }

    #[test]
    fn markers() {
        let txt =
            parse("tomli>=1.1 ; python_version < \"3.11\"\n./x.whl; sys_platform == 'linux'\n");
        let ReqSpec::Named(req) = &txt.requirements[0].spec else {
            panic!()
        };
        assert_eq!(
            req.marker.try_to_string().unwrap(),
            "python_full_version < '3.11'"
        );
        assert!(matches!(
            &txt.requirements[1].spec,
            ReqSpec::Unnamed {
                marker: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn unnamed_paths_and_urls() {
        let txt = parse("./dist/pkg-1.0-py3-none-any.whl\n../other.tar.gz\nhttps://host/x-1.0.tar.gz\nfile:///abs/y.zip\n");
        let locations: Vec<Location> = txt
            .requirements
            .iter()
            .map(|e| match &e.spec {
                ReqSpec::Unnamed { location, .. } => location.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            locations,
            [
                Location::Path("/base/dist/pkg-1.0-py3-none-any.whl".into()),
                Location::Path("/other.tar.gz".into()),
                Location::Url(url::Url::parse("https://host/x-1.0.tar.gz").unwrap()),
                Location::Path("/abs/y.zip".into()),
            ]
        );
    }

    #[test]
    fn name_at_relative_path_uses_the_file_dir() {
        let dir = dir_with(&[("sub/requirements.txt", "pkg @ ./vendor/pkg-1.0.tar.gz\n")]);
        let txt = RequirementsTxt::parse_file(&dir.path().join("sub/requirements.txt")).unwrap();
        let path = url(&txt.requirements[0]).to_file_path().unwrap();
        assert_eq!(path, dir.path().join("sub/vendor/pkg-1.0.tar.gz"));
    }

    #[test]
    fn malformed_requirement_shows_file_line_and_column() {
        let err = parse_err("six\nrequests>=2,<<3\n");
        let lines: Vec<&str> = err.lines().collect();
        assert!(lines[0].starts_with("requirements.txt:2: "), "{err}");
        assert_eq!(lines[1], "requests>=2,<<3");
        assert_eq!(lines[2], "            ^^^", "{err}");
    }

    #[test]
    fn editables() {
        let dir = dir_with(&[
            ("proj/pyproject.toml", ""),
            (
                "requirements.txt",
                "-e ./proj\n--editable=proj[dev]\n-e git+https://g/a/b.git#egg=b\n",
            ),
        ]);
        let txt = RequirementsTxt::parse_file(&dir.path().join("requirements.txt")).unwrap();
        assert!(txt.requirements.iter().all(|e| e.editable));
        assert_eq!(
            txt.requirements[0].spec.to_string(),
            dir.path().join("proj").display().to_string()
        );
        assert_eq!(
            txt.requirements[1].spec.to_string(),
            format!("{}[dev]", dir.path().join("proj").display())
        );
        let err = parse_err("-e ./missing\n");
        assert!(
            err.starts_with("requirements.txt:1: `./missing` is not a valid editable requirement"),
            "{err}"
        );
    }

    #[test]
    fn nested_includes_are_relative_to_the_including_file() {
        let dir = dir_with(&[
            (
                "requirements.txt",
                "six==1.0\n-r sub/more.txt\n-c constraints/c.txt\n",
            ),
            (
                "sub/more.txt",
                "idna==3.6\n--requirement=deeper/last.txt\n-f ../wheels\n",
            ),
            ("sub/deeper/last.txt", "attrs\n"),
            (
                "constraints/c.txt",
                "urllib3<2\n-r ../sub/deeper/last.txt\n",
            ),
        ]);
        let txt = RequirementsTxt::parse_file(&dir.path().join("requirements.txt")).unwrap();
        assert_eq!(names(&txt.requirements), ["six==1.0", "idna==3.6", "attrs"]);
        assert_eq!(names(&txt.constraints), ["urllib3<2", "attrs"]);
        assert_eq!(
            txt.options.find_links,
            [dir.path().join("wheels").display().to_string()]
        );
        let origin = &txt.requirements[2].origin;
        assert_eq!(origin.file, dir.path().join("sub/deeper/last.txt"));
        assert_eq!(origin.line, 1);
    }

    #[test]
    fn missing_files_are_named() {
        let dir = dir_with(&[("requirements.txt", "six\n-r nope.txt\n")]);
        let err = RequirementsTxt::parse_file(&dir.path().join("requirements.txt"))
            .unwrap_err()
            .to_string();
        let top = dir.path().join("requirements.txt");
        assert!(
            err.starts_with(&format!(
                "{}:2: could not read requirements file `{}`",
                top.display(),
                dir.path().join("nope.txt").display()
            )),
            "{err}"
        );
        let err = RequirementsTxt::parse_file(Path::new("/definitely/missing.txt"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("could not read requirements file `/definitely/missing.txt`"),
            "{err}"
        );
    }

    #[test]
    fn includes_by_url_are_fetched_relative_to_their_url() {
        let pages = |url: &url::Url| -> Result<String, String> {
            match url.as_str() {
                "https://h/reqs/top.txt" => Ok("-r more.txt\n-c /pins.txt\nlocal/pkg.whl\n".into()),
                "https://h/reqs/more.txt" => Ok("six\n".into()),
                "https://h/pins.txt" => Ok("six<2\n".into()),
                "https://h/loop.txt" => Ok("-r loop.txt\n".into()),
                "https://h/local.txt" => Ok("-r file:///etc/passwd\n".into()),
                "https://h/page.txt" => Ok("<html></html>".into()),
                other => Err(format!("{other} was not found (HTTP 404)")),
            }
        };
        let txt = RequirementsTxt::parse_location(
            Path::new("https://h/reqs/top.txt"),
            false,
            Some(&pages),
        )
        .unwrap();
        let names: Vec<String> = txt
            .requirements
            .iter()
            .map(|e| e.spec.to_string())
            .collect();
        assert_eq!(names[0], "six");
        // Paths in a file read by URL are relative to the current directory.
        let cwd = std::env::current_dir().unwrap();
        assert!(
            names[1].contains(&cwd.join("local/pkg.whl").display().to_string()),
            "{names:?}"
        );
        assert_eq!(txt.constraints[0].spec.to_string(), "six<2");
        let err = |url: &str| {
            RequirementsTxt::parse_location(Path::new(url), false, Some(&pages))
                .unwrap_err()
                .to_string()
        };
        assert!(err("https://h/loop.txt").contains("cycle"));
        assert!(err("https://h/local.txt").contains("cannot include a local file"));
        assert!(err("https://h/gone.txt").contains("404"));
        assert!(err("https://h/page.txt").contains("HTML page"));
        // Without a way to fetch, a URL is refused, not read as a path.
        let e = RequirementsTxt::parse_location(Path::new("https://h/x.txt"), false, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("https://h/x.txt"), "{e}");
    }

    #[test]
    fn cycles_are_detected() {
        let dir = dir_with(&[
            ("a.txt", "six\n-r sub/b.txt\n"),
            ("sub/b.txt", "-r ../a.txt\n"),
        ]);
        let err = RequirementsTxt::parse_file(&dir.path().join("a.txt"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("include each other in a cycle"), "{err}");
        let a = dir.path().join("a.txt");
        assert!(
            err.ends_with(&format!(
                "{} -> {} -> {}",
                a.display(),
                dir.path().join("sub/b.txt").display(),
                a.display()
            )),
            "{err}"
        );
        let dir = dir_with(&[("self.txt", "-r self.txt\n")]);
        assert!(RequirementsTxt::parse_file(&dir.path().join("self.txt")).is_err());
    }

    #[test]
    fn same_file_twice_is_not_a_cycle() {
        let dir = dir_with(&[
            ("a.txt", "-r common.txt\n-r common.txt\n"),
            ("common.txt", "six\n"),
        ]);
        let txt = RequirementsTxt::parse_file(&dir.path().join("a.txt")).unwrap();
        assert_eq!(txt.requirements.len(), 2);
    }

    #[test]
    fn constraints_file() {
        let dir = dir_with(&[(
            "c.txt",
            "\u{feff}six==1.0\nidna<4 ; python_version >= '3.8'\n--index-url https://i/simple\n",
        )]);
        let txt = RequirementsTxt::parse_constraints_file(&dir.path().join("c.txt")).unwrap();
        assert!(txt.requirements.is_empty());
        assert_eq!(names(&txt.constraints).len(), 2);
        assert_eq!(txt.options.index_url.as_deref(), Some("https://i/simple"));
    }

    #[test]
    fn constraints_cannot_have_extras_or_be_unnamed() {
        let dir = dir_with(&[
            ("c.txt", "requests[socks]==2\n"),
            ("d.txt", "./x.whl\n"),
            ("proj/setup.py", ""),
            ("e.txt", "-e proj\n"),
        ]);
        let err = RequirementsTxt::parse_constraints_file(&dir.path().join("c.txt"))
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with(":1: constraints cannot have extras (found: `requests[socks]==2`)"),
            "{err}"
        );
        let err = RequirementsTxt::parse_constraints_file(&dir.path().join("d.txt"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(":1: unnamed requirements are not allowed as constraints"),
            "{err}"
        );
        let err = RequirementsTxt::parse_constraints_file(&dir.path().join("e.txt"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(":1: editable requirements are not allowed as constraints"),
            "{err}"
        );
    }

    #[test]
    fn bom_and_crlf() {
        let txt = parse(&format!(
            "\u{feff}six==1.0\r\nidna==3 \\\r\n  --hash=sha256:{SHA_A}\r\n"
        ));
        assert_eq!(names(&txt.requirements), ["six==1.0", "idna==3"]);
        assert_eq!(txt.requirements[1].hashes.len(), 1);
    }

    #[test]
    fn not_utf8_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.txt");
        std::fs::write(&path, b"six\xff\n").unwrap();
        // The reason is the error's source, shown after it (as every error is shown).
        let err = format!(
            "{:#}",
            anyhow::Error::new(RequirementsTxt::parse_file(&path).unwrap_err())
        );
        assert!(err.contains("not valid UTF-8"), "{err}");
    }

    #[test]
    fn hash_mode_off_without_hashes() {
        let txt = parse("six\n-e git+https://g/a/b.git\n");
        assert!(!txt.hash_mode());
        txt.check_hash_mode().unwrap();
    }

    #[test]
    fn hash_mode_passes_when_all_pinned_and_hashed() {
        let txt = parse(&format!(
            "six==1.16.0 --hash=sha256:{SHA_A}\nzzz===1.0 --hash=sha256:{SHA_A}\n\
             pkg @ https://h/pkg-1.0-py3-none-any.whl#sha256={SHA_A}\n"
        ));
        assert!(txt.hash_mode());
        txt.check_hash_mode().unwrap();
    }

    #[test]
    fn hash_mode_lists_offenders() {
        let dir = dir_with(&[("proj/pyproject.toml", "")]);
        let text = format!(
            "six==1.16.0 --hash=sha256:{SHA_A}\nrequests>=2 --hash=sha256:{SHA_A}\nidna==3.6\n\
             attrs==23.*\n-e ./proj\n./proj\n"
        );
        let txt =
            RequirementsTxt::parse_str(&text, Path::new("requirements.txt"), dir.path()).unwrap();
        let err = txt.check_hash_mode().unwrap_err();
        let TxtError::HashMode { problems } = &err else {
            panic!("{err}")
        };
        assert_eq!(problems.len(), 5, "{err}");
        assert!(
            problems[0].starts_with("  requirements.txt:2: requests>=2: not pinned with == or ==="),
            "{err}"
        );
        assert!(
            problems[1].ends_with("requirements.txt:3: idna==3.6: no --hash"),
            "{err}"
        );
        assert!(
            problems[2].contains(":4: attrs==23.*: not pinned with == or ===; no --hash"),
            "{err}"
        );
        assert!(
            problems[3].contains(":5: ")
                && problems[3].ends_with("editable requirements cannot be hash-checked"),
            "{err}"
        );
        assert!(
            problems[4].contains("directories cannot be hash-checked"),
            "{err}"
        );
    }

    #[test]
    fn require_hashes_option_turns_hash_mode_on() {
        let txt = parse("--require-hashes\nsix==1.16.0\n");
        let err = txt.check_hash_mode().unwrap_err().to_string();
        assert!(
            err.contains("requirements.txt:2: six==1.16.0: no --hash"),
            "{err}"
        );
    }

    #[test]
    fn shell_split_quotes() {
        assert_eq!(
            crate::shell::split(r#"-e "a b" 'c d' e\ f"#).unwrap(),
            ["-e", "a b", "c d", "e f"]
        );
        assert!(crate::shell::split("'open").is_none());
    }

    #[test]
    fn split_args_and_options() {
        assert_eq!(
            split_args_options("six==1 --hash=x"),
            ("six==1", "--hash=x")
        );
        assert_eq!(split_args_options("-r a.txt"), ("", "-r a.txt"));
        assert_eq!(split_args_options("a-b>=1"), ("a-b>=1", ""));
    }

    #[test]
    fn pip_compile_output() {
        let text = format!(
            "#\n# This file is autogenerated by pip-compile with Python 3.11\n# by the following command:\n#\n\
             #    pip-compile --generate-hashes requirements.in\n#\n\
             --index-url https://pypi.org/simple\n--extra-index-url https://download.pytorch.org/whl/cpu\n\n\
             certifi==2024.2.2 \\\n    --hash=sha256:{SHA_A} \\\n    --hash=sha256:{SHA_B}\n    # via requests\n\
             charset-normalizer==3.3.2 \\\n    --hash=sha256:{SHA_A}\n    # via requests\n\
             idna==3.6 \\\n    --hash=sha256:{SHA_B}\n    # via\n    #   -r requirements.in\n    #   requests\n\
             requests[socks]==2.31.0 ; python_version >= \"3.8\" \\\n    --hash=sha256:{SHA_A}\n    # via -r requirements.in\n\
             urllib3==2.2.1 \\\n    --hash=sha256:{SHA_A}\n    # via requests\n\n\
             # The following packages are considered to be unsafe in a requirements file:\n\
             setuptools==69.1.1 \\\n    --hash=sha256:{SHA_B}\n    # via -r requirements.in\n"
        );
        let txt = parse(&text);
        assert_eq!(
            names(&txt.requirements),
            [
                "certifi==2024.2.2",
                "charset-normalizer==3.3.2",
                "idna==3.6",
                "requests[socks]==2.31.0 ; python_full_version >= '3.8'",
                "urllib3==2.2.1",
                "setuptools==69.1.1",
            ]
        );
        assert_eq!(txt.requirements[0].hashes.len(), 2);
        assert_eq!(txt.requirements[3].origin.line, 22);
        assert_eq!(
            txt.options.extra_index_urls,
            ["https://download.pytorch.org/whl/cpu"]
        );
        txt.check_hash_mode().unwrap();
    }

    #[test]
    fn pip_freeze_output() {
        let dir = dir_with(&[("src/mylib/pyproject.toml", "")]);
        let text = "## !! Could not determine repository location\n\
                    -e git+https://github.com/psf/black.git@4b4ae43e8ec6d1d6a1d7a9d3b5c44b1d66c9c6d1#egg=black\n\
                    -e ./src/mylib\n\
                    attrs==23.2.0\n\
                    localpkg @ file:///home/user/dist/localpkg-0.1-py3-none-any.whl\n\
                    six==1.16.0\n";
        let txt =
            RequirementsTxt::parse_str(text, Path::new("requirements.txt"), dir.path()).unwrap();
        assert_eq!(txt.requirements.len(), 5);
        assert!(txt.requirements[0].editable && txt.requirements[1].editable);
        assert_eq!(
            url(&txt.requirements[3]).to_file_path().unwrap(),
            PathBuf::from("/home/user/dist/localpkg-0.1-py3-none-any.whl")
        );
    }
}

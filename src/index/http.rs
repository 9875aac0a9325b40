//! The HTTP client and its cache of Simple API pages.
//!
//! Pages are stored with their validators (`ETag`, `Last-Modified`) and freshness (`max-age`);
//! a fresh page costs no request, a stale one a conditional request. Distribution files are
//! never cached here: they are content-addressed by sha256 in the wheel cache instead, which
//! also works behind proxies that strip every caching header.

use std::io::Read;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use url::Url;

use crate::cache::{self, Bucket, Cache};
use crate::error::user;

/// A fetched page: where it ended up after redirects, and what it is.
#[derive(Debug, Clone)]
pub struct Page {
    pub final_url: Url,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// A cached page, open: its body is read from this very file (a concurrent refresh replaces
/// the path, not what is open).
#[derive(Debug)]
pub struct CachedEntry {
    pub path: std::path::PathBuf,
    /// Where the body starts in the file.
    pub body_start: u64,
    pub final_url: Url,
    pub content_type: String,
    /// Size, modification time (seconds, nanoseconds) and inode of the file: a derived index
    /// is valid for these.
    pub stamp: [u64; 4],
    file: std::fs::File,
}

impl CachedEntry {
    /// The whole body.
    pub fn body(&self) -> Option<Vec<u8>> {
        let len = self.stamp[0].checked_sub(self.body_start)?;
        self.span(self.body_start, len)
    }

    /// `len` bytes at `offset` of the file.
    pub fn span(&self, offset: u64, len: u64) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; usize::try_from(len).ok()?];
        std::os::unix::fs::FileExt::read_exact_at(&self.file, &mut buf, offset).ok()?;
        Some(buf)
    }
}

/// What the cache keeps next to a page body.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PageMeta {
    url: String,
    final_url: String,
    content_type: String,
    etag: Option<String>,
    last_modified: Option<String>,
    max_age: Option<u64>,
    no_cache: bool,
    fetched_at: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{url} was not found (HTTP 404)")]
    NotFound { url: String },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("cannot reach {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("{url} is not in the cache and --offline forbids the network")]
    Offline { url: String },
    #[error("{url} stopped sending for longer than the timeout ({seconds}s)")]
    TimedOut { url: String, seconds: u64 },
    #[error("{url} sent more than envtool holds in memory for one response ({limit} bytes)")]
    TooLarge { url: String, limit: u64 },
    #[error("the answer from {url} broke off before its end: {message}")]
    Cut { url: String, message: String },
}

impl crate::error::Hint for HttpError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            HttpError::NotFound { .. } => {
                "the file or project is gone from the index; check the URL, or lock/resolve again".into()
            }
            HttpError::Status { status, .. } if *status >= 500 => {
                "the index had a problem; try again later, or use another index (--index-url)".into()
            }
            HttpError::Status { status, .. } if *status == 401 || *status == 403 => {
                "the index refused access; check the credentials in the URL or pip's configuration".into()
            }
            HttpError::Status { .. } => "check --index-url (or ENVTOOL_INDEX_URL / PIP_INDEX_URL)".into(),
            HttpError::Unreachable { .. } => {
                "check the network and --index-url (or ENVTOOL_INDEX_URL / PIP_INDEX_URL); with a warm cache, --offline works without the network".into()
            }
            HttpError::TimedOut { .. } => {
                "the server is too slow or stalled; try again, or raise ENVTOOL_HTTP_TIMEOUT (seconds)".into()
            }
            HttpError::TooLarge { .. } => {
                "a page this large is not a sane index answer; if it is real, raise ENVTOOL_MAX_RESPONSE_BYTES (bytes)".into()
            }
            HttpError::Cut { .. } => {
                "the connection failed in the middle of a download; try again (a proxy or the index may be cutting answers short)".into()
            }
            HttpError::Offline { .. } => {
                "run once without --offline (or ENVTOOL_OFFLINE) to fill the cache, or add --find-links DIR".into()
            }
        })
    }
}

#[derive(Clone)]
pub struct HttpClient {
    /// Made on first use: a run that never touches the network (offline, or every answer
    /// cached) never reads the certificate store.
    agent: std::sync::Arc<std::sync::OnceLock<Result<ureq::Agent, String>>>,
    cert: Option<std::path::PathBuf>,
    offline: bool,
    cache: Cache,
    /// Credentials by origin (`scheme://host:port`), from the URLs the user gave and netrc;
    /// URLs everywhere else are stored and shown without them.
    credentials: std::sync::Arc<std::sync::Mutex<Credentials>>,
    read_timeout: Duration,
}

/// Where credentials come from: the URLs given (an index URL with `user:pass@`), else netrc.
#[derive(Default)]
struct Credentials {
    by_origin: std::collections::HashMap<String, (String, Option<String>)>,
    netrc: Option<Vec<NetrcEntry>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct NetrcEntry {
    /// None for the `default` entry.
    machine: Option<String>,
    login: String,
    password: Option<String>,
}

/// The entries of a netrc file (`machine`, `default`, `login`, `password`; `macdef` skipped).
fn parse_netrc(text: &str) -> Vec<NetrcEntry> {
    let mut out = Vec::new();
    let mut tokens = text.split_whitespace();
    let mut current: Option<NetrcEntry> = None;
    while let Some(token) = tokens.next() {
        match token {
            "machine" | "default" => {
                out.extend(current.take());
                let machine = if token == "machine" {
                    tokens.next().map(String::from)
                } else {
                    None
                };
                current = Some(NetrcEntry {
                    machine,
                    login: String::new(),
                    password: None,
                });
            }
            "login" | "password" | "account" => {
                let value = tokens.next().unwrap_or_default().to_string();
                if let Some(entry) = current.as_mut() {
                    match token {
                        "login" => entry.login = value,
                        "password" => entry.password = Some(value),
                        _ => {}
                    }
                }
            }
            "macdef" => break,
            _ => {}
        }
    }
    out.extend(current);
    out
}

fn origin_of(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    )
}

/// The per-read timeout: `ENVTOOL_HTTP_TIMEOUT` seconds, else 30.
fn read_timeout() -> Duration {
    let secs = crate::env_vars::non_empty_var(crate::env_vars::ENVTOOL_HTTP_TIMEOUT)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(30);
    Duration::from_secs(secs)
}

/// The most one page or metadata response may hold: `ENVTOOL_MAX_RESPONSE_BYTES`, else 256 MiB.
pub fn max_response_bytes() -> u64 {
    crate::env_vars::non_empty_var(crate::env_vars::ENVTOOL_MAX_RESPONSE_BYTES)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(256 << 20)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Certificates to trust: the system store, plus `cert` (a PEM file) when given.
fn tls_config(cert: Option<&Path>) -> anyhow::Result<ureq::tls::TlsConfig> {
    use ureq::tls::{PemItem, RootCerts, TlsConfig};
    let roots = match cert {
        None => RootCerts::PlatformVerifier,
        Some(path) => {
            let pem = fs_err::read(path).map_err(|e| {
                user(
                    format!("cannot read the certificate file {}: {e}", path.display()),
                    "fix or unset SSL_CERT_FILE / PIP_CERT (or pip's `cert` setting)",
                )
            })?;
            let certs: Vec<_> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err(user(
                    format!("no certificates found in {}", path.display()),
                    "point SSL_CERT_FILE / PIP_CERT at a PEM bundle, or unset it to use the system store",
                ));
            }
            RootCerts::new_with_certs(&certs)
        }
    };
    Ok(TlsConfig::builder().root_certs(roots).build())
}

/// Resolves each host once per run. Many parallel requests would otherwise each ask the
/// system resolver, and one lost query costs its full timeout (seconds); with one lookup the
/// others wait a moment and reuse the answer.
#[derive(Debug, Default)]
struct CachingResolver {
    inner: ureq::unversioned::resolver::DefaultResolver,
    answers: std::sync::Mutex<
        std::collections::HashMap<String, ureq::unversioned::resolver::ResolvedSocketAddrs>,
    >,
}

impl ureq::unversioned::resolver::Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let key = format!(
            "{}://{}",
            uri.scheme_str().unwrap_or(""),
            uri.authority().map(|a| a.as_str()).unwrap_or("")
        );
        let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(hit) = answers.get(&key) {
            return Ok(hit.clone());
        }
        let resolved = self.inner.resolve(uri, config, timeout)?;
        answers.insert(key, resolved.clone());
        Ok(resolved)
    }
}

impl HttpClient {
    pub fn new(cache: Cache, offline: bool, cert: Option<&Path>) -> anyhow::Result<HttpClient> {
        Ok(HttpClient {
            agent: Default::default(),
            cert: cert.map(Path::to_path_buf),
            offline,
            cache,
            credentials: Default::default(),
            read_timeout: read_timeout(),
        })
    }

    /// The HTTP agent, made the first time it is needed (an unreadable certificate file is
    /// reported then, with its hint).
    fn agent(&self) -> anyhow::Result<&ureq::Agent> {
        let made = self.agent.get_or_init(|| {
            let tls = tls_config(self.cert.as_deref()).map_err(|e| format!("{e:#}"))?;
            let config = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .user_agent(concat!("envtool/", env!("CARGO_PKG_VERSION")))
                .timeout_connect(Some(Duration::from_secs(15)))
                .timeout_recv_response(Some(Duration::from_secs(60)))
                .timeout_per_read(Some(read_timeout()))
                .max_idle_connections_per_host(16)
                .tls_config(tls)
                .build();
            Ok(ureq::Agent::with_parts(
                config,
                ureq::unversioned::transport::DefaultConnector::default(),
                CachingResolver::default(),
            ))
        });
        made.as_ref().map_err(|message| {
            user(
                message.clone(),
                "fix or unset SSL_CERT_FILE / PIP_CERT (or pip's `cert` setting), or point it at a PEM bundle",
            )
        })
    }

    /// Keep the credentials of a URL the user gave for its origin, and return the URL without
    /// them (what envtool stores and shows).
    pub fn remember_credentials(&self, url: &Url) -> Url {
        if !url.username().is_empty() || url.password().is_some() {
            let user = percent_encoding::percent_decode_str(url.username())
                .decode_utf8_lossy()
                .into_owned();
            let pass = url.password().map(|p| {
                percent_encoding::percent_decode_str(p)
                    .decode_utf8_lossy()
                    .into_owned()
            });
            self.credentials
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .by_origin
                .insert(origin_of(url), (user, pass));
        }
        crate::redact::strip(url)
    }

    /// `Authorization` for a request to `url`: the credentials given for its origin, else the
    /// netrc entry for its host.
    fn authorization(&self, url: &Url) -> Option<String> {
        let mut creds = self.credentials.lock().unwrap_or_else(|e| e.into_inner());
        let (user, pass) = match creds.by_origin.get(&origin_of(url)) {
            Some(found) => found.clone(),
            None => {
                let netrc = creds.netrc.get_or_insert_with(load_netrc);
                let host = url.host_str()?;
                let entry = netrc
                    .iter()
                    .find(|e| e.machine.as_deref() == Some(host))
                    .or_else(|| netrc.iter().find(|e| e.machine.is_none()))?;
                (entry.login.clone(), entry.password.clone())
            }
        };
        let raw = format!("{user}:{}", pass.unwrap_or_default());
        Some(format!(
            "Basic {}",
            data_encoding::BASE64.encode(raw.as_bytes())
        ))
    }

    /// A GET of `url` (never with credentials in it) carrying its authorization.
    fn get(&self, url: &Url) -> anyhow::Result<ureq::RequestBuilder<ureq::typestate::WithoutBody>> {
        let clean = crate::redact::strip(url);
        let request = self.agent()?.get(clean.as_str());
        Ok(match self.authorization(url) {
            Some(auth) => request.header("Authorization", auth),
            None => request,
        })
    }

    /// An error of a request, named without credentials, timeouts and limits told apart.
    fn failure(&self, url: &Url, e: ureq::Error) -> anyhow::Error {
        let shown = crate::redact::url(url.as_str());
        match e {
            ureq::Error::Timeout(_) => HttpError::TimedOut {
                url: shown,
                seconds: self.read_timeout.as_secs(),
            }
            .into(),
            ureq::Error::BodyExceedsLimit(limit) => {
                HttpError::TooLarge { url: shown, limit }.into()
            }
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                HttpError::TimedOut {
                    url: shown,
                    seconds: self.read_timeout.as_secs(),
                }
                .into()
            }
            other => HttpError::Unreachable {
                url: shown,
                message: crate::redact::text_of(&other.to_string()),
            }
            .into(),
        }
    }

    pub fn offline(&self) -> bool {
        self.offline
    }

    fn entry_path(&self, url: &Url) -> anyhow::Result<std::path::PathBuf> {
        let key = cache::key(&[url.as_str().as_bytes()], 32);
        Ok(self.cache.bucket(Bucket::Http)?.join(format!("{key}.json")))
    }

    fn read_cached(&self, url: &Url) -> Option<(PageMeta, Vec<u8>)> {
        let path = self.entry_path(url).ok()?;
        let bytes = std::fs::read(path).ok()?;
        let newline = bytes.iter().position(|b| *b == b'\n')?;
        let meta: PageMeta = serde_json::from_slice(&bytes[..newline]).ok()?;
        (meta.url == url.as_str()).then(|| (meta, bytes[newline + 1..].to_vec()))
    }

    fn store(&self, meta: &PageMeta, body: &[u8]) {
        let Ok(path) = self.entry_path(&Url::parse(&meta.url).expect("stored URLs parse")) else {
            return;
        };
        let mut bytes = serde_json::to_vec(meta).unwrap_or_default();
        bytes.push(b'\n');
        bytes.extend_from_slice(body);
        if let Err(e) = cache::write_atomic(&path, &bytes) {
            crate::output::debug(&format!("not caching {}: {e:#}", meta.url));
        }
    }

    /// The last path segment of every cached page URL (project names, for suggestions).
    pub fn cached_project_names(&self) -> Vec<String> {
        let Ok(dir) = self.cache.bucket(Bucket::Http) else {
            return Vec::new();
        };
        let Ok(rd) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        rd.flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| {
                let bytes = std::fs::read(e.path()).ok()?;
                let line = bytes.split(|b| *b == b'\n').next()?;
                let meta: PageMeta = serde_json::from_slice(line).ok()?;
                let url = Url::parse(&meta.url).ok()?;
                url.path_segments()?
                    .rfind(|s| !s.is_empty())
                    .map(String::from)
            })
            .collect()
    }

    /// A cached page opened without reading its body: where the body starts in the entry's
    /// file, what the page's meta says, and what identifies this version of the file.
    pub fn cached_entry(&self, url: &Url) -> Option<CachedEntry> {
        use std::os::unix::fs::MetadataExt;
        let url = &self.remember_credentials(url);
        let path = self.entry_path(url).ok()?;
        let file = std::fs::File::open(&path).ok()?;
        let mut head = vec![0u8; 16 * 1024];
        let mut filled = 0;
        let newline = loop {
            let n = std::os::unix::fs::FileExt::read_at(&file, &mut head[filled..], filled as u64)
                .ok()?;
            if n == 0 {
                return None;
            }
            filled += n;
            if let Some(i) = head[..filled].iter().position(|b| *b == b'\n') {
                break i;
            }
            if filled == head.len() {
                return None;
            }
        };
        let meta: PageMeta = serde_json::from_slice(&head[..newline]).ok()?;
        if meta.url != url.as_str() {
            return None;
        }
        let stat = file.metadata().ok()?;
        let page = page_from(&meta, Vec::new());
        Some(CachedEntry {
            stamp: [
                stat.len(),
                stat.mtime() as u64,
                stat.mtime_nsec() as u64,
                stat.ino(),
            ],
            path,
            body_start: newline as u64 + 1,
            final_url: page.final_url,
            content_type: page.content_type,
            file,
        })
    }

    /// The cached copy of a page, however old (for exact pins, whose answer cannot change).
    pub fn cached_page(&self, url: &Url) -> Option<Page> {
        let (meta, body) = self.read_cached(url)?;
        Some(page_from(&meta, body))
    }

    /// GET a Simple API page, from the cache when fresh, revalidating when the server allows.
    pub fn get_page(&self, url: &Url, accept: &str) -> Result<Page, anyhow::Error> {
        let url = &self.remember_credentials(url);
        let cached = self.read_cached(url);
        if let Some((meta, body)) = &cached {
            let fresh = !meta.no_cache
                && meta
                    .max_age
                    .is_some_and(|age| now_secs().saturating_sub(meta.fetched_at) < age);
            if fresh || self.offline {
                crate::output::debug(&format!("cache hit: {url}"));
                return Ok(page_from(meta, body.clone()));
            }
        }
        if self.offline {
            return Err(HttpError::Offline {
                url: crate::redact::url(url.as_str()),
            }
            .into());
        }
        crate::interrupt::check()?;
        let mut request = self.get(url)?.header("Accept", accept);
        if let Some((meta, _)) = &cached {
            if let Some(etag) = &meta.etag {
                request = request.header("If-None-Match", etag);
            }
            if let Some(lm) = &meta.last_modified {
                request = request.header("If-Modified-Since", lm);
            }
        }
        crate::output::debug(&format!("GET {url}"));
        let mut response = request.call().map_err(|e| self.failure(url, e))?;
        let status = response.status().as_u16();
        if status == 304 {
            if let Some((mut meta, body)) = cached {
                meta.fetched_at = now_secs();
                apply_cache_control(&mut meta, response.headers());
                self.store(&meta, &body);
                return Ok(page_from(&meta, body));
            }
        }
        check_status(url, status)?;
        let final_url = {
            use ureq::ResponseExt;
            Url::parse(&response.get_uri().to_string())
                .map(|u| crate::redact::strip(&u))
                .unwrap_or_else(|_| url.clone())
        };
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let mut meta = PageMeta {
            url: url.to_string(),
            final_url: final_url.to_string(),
            content_type: header("content-type").unwrap_or_default(),
            etag: header("etag"),
            last_modified: header("last-modified"),
            max_age: None,
            no_cache: false,
            fetched_at: now_secs(),
        };
        let no_store = apply_cache_control(&mut meta, response.headers());
        let body = response
            .body_mut()
            .with_config()
            .limit(max_response_bytes())
            .read_to_vec()
            .map_err(|e| self.failure(url, e))?;
        if !no_store {
            self.store(&meta, &body);
        }
        Ok(page_from(&meta, body))
    }

    /// GET a file, returning a reader over its body (no caching: callers address files by hash).
    pub fn get_stream(&self, url: &Url) -> anyhow::Result<(Option<u64>, Box<dyn Read + Send>)> {
        let url = &self.remember_credentials(url);
        if self.offline {
            return Err(HttpError::Offline {
                url: crate::redact::url(url.as_str()),
            }
            .into());
        }
        crate::interrupt::check()?;
        crate::output::debug(&format!("GET {url}"));
        let response = self.get(url)?.call().map_err(|e| self.failure(url, e))?;
        let status = response.status().as_u16();
        check_status(url, status)?;
        let len = response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let reader = response
            .into_body()
            .into_with_config()
            .limit(u64::MAX)
            .reader();
        Ok((
            len,
            Box::new(TimeoutNamed {
                inner: reader,
                url: crate::redact::url(url.as_str()),
                seconds: self.read_timeout.as_secs(),
            }),
        ))
    }
}

/// A success status, or the error for the one received.
fn check_status(url: &Url, status: u16) -> Result<(), HttpError> {
    match status {
        200..=299 => Ok(()),
        404 | 410 => Err(HttpError::NotFound {
            url: crate::redact::url(url.as_str()),
        }),
        _ => Err(HttpError::Status {
            url: crate::redact::url(url.as_str()),
            status,
        }),
    }
}

/// A body reader whose timeout says which URL stalled and which variable to raise.
struct TimeoutNamed<R> {
    inner: R,
    url: String,
    seconds: u64,
}

impl<R: Read> Read for TimeoutNamed<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            let timed_out = e.kind() == std::io::ErrorKind::TimedOut
                || e.to_string().to_ascii_lowercase().contains("timeout");
            if timed_out {
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    HttpError::TimedOut {
                        url: self.url.clone(),
                        seconds: self.seconds,
                    },
                )
            } else {
                // Named, with its hint: a bare "Peer disconnected" says neither what nor why.
                std::io::Error::other(HttpError::Cut {
                    url: self.url.clone(),
                    message: crate::redact::text_of(&e.to_string()),
                })
            }
        })
    }
}

fn load_netrc() -> Vec<NetrcEntry> {
    let path = crate::env_vars::non_empty_var(crate::env_vars::NETRC)
        .map(std::path::PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().join(".netrc")));
    path.and_then(|p| std::fs::read_to_string(p).ok())
        .map(|t| parse_netrc(&t))
        .unwrap_or_default()
}

/// Update freshness from `Cache-Control`; returns true for `no-store`.
fn apply_cache_control(meta: &mut PageMeta, headers: &ureq::http::HeaderMap) -> bool {
    let mut no_store = false;
    for value in headers.get_all("cache-control") {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',').map(|d| d.trim().to_ascii_lowercase()) {
            if directive == "no-store" {
                no_store = true;
            } else if directive == "no-cache" {
                meta.no_cache = true;
            } else if let Some(age) = directive.strip_prefix("max-age=") {
                meta.max_age = age.trim_matches('"').parse().ok();
            }
        }
    }
    no_store
}

fn page_from(meta: &PageMeta, body: Vec<u8>) -> Page {
    Page {
        final_url: Url::parse(&meta.final_url)
            .or_else(|_| Url::parse(&meta.url))
            .expect("stored URLs parse"),
        content_type: meta.content_type.clone(),
        body,
    }
}

/// Whether an error chain says the resource does not exist (as opposed to a failure).
pub fn is_not_found(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        matches!(
            c.downcast_ref::<HttpError>(),
            Some(HttpError::NotFound { .. })
        )
    })
}

pub fn is_offline_miss(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        matches!(
            c.downcast_ref::<HttpError>(),
            Some(HttpError::Offline { .. })
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netrc_entries() {
        let entries = parse_netrc(
            "machine a.example login al password pw1\ndefault login anon password x\nmachine b.example\n  login bo\n",
        );
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].machine.as_deref(), Some("a.example"));
        assert_eq!(entries[0].password.as_deref(), Some("pw1"));
        assert_eq!(entries[1].machine, None);
        assert_eq!(entries[2].login, "bo");
        assert_eq!(entries[2].password, None);
    }
}

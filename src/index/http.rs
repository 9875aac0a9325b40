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
            HttpError::Offline { .. } => {
                "run once without --offline (or ENVTOOL_OFFLINE) to fill the cache, or add --find-links DIR".into()
            }
        })
    }
}

#[derive(Clone)]
pub struct HttpClient {
    agent: ureq::Agent,
    offline: bool,
    cache: Cache,
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
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(concat!("envtool/", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .max_idle_connections_per_host(16)
            .tls_config(tls_config(cert)?)
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::default(),
            CachingResolver::default(),
        );
        Ok(HttpClient {
            agent,
            offline,
            cache,
        })
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

    /// The cached copy of a page, however old (for exact pins, whose answer cannot change).
    pub fn cached_page(&self, url: &Url) -> Option<Page> {
        let (meta, body) = self.read_cached(url)?;
        Some(page_from(&meta, body))
    }

    /// GET a Simple API page, from the cache when fresh, revalidating when the server allows.
    pub fn get_page(&self, url: &Url, accept: &str) -> Result<Page, anyhow::Error> {
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
                url: url.to_string(),
            }
            .into());
        }
        crate::interrupt::check()?;
        let mut request = self.agent.get(url.as_str()).header("Accept", accept);
        if let Some((meta, _)) = &cached {
            if let Some(etag) = &meta.etag {
                request = request.header("If-None-Match", etag);
            }
            if let Some(lm) = &meta.last_modified {
                request = request.header("If-Modified-Since", lm);
            }
        }
        crate::output::debug(&format!("GET {url}"));
        let mut response = request.call().map_err(|e| unreachable(url, e))?;
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
            Url::parse(&response.get_uri().to_string()).unwrap_or_else(|_| url.clone())
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
            .limit(512 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| unreachable(url, e))?;
        if !no_store {
            self.store(&meta, &body);
        }
        Ok(page_from(&meta, body))
    }

    /// GET a file, returning a reader over its body (no caching: callers address files by hash).
    pub fn get_stream(&self, url: &Url) -> anyhow::Result<(Option<u64>, Box<dyn Read + Send>)> {
        if self.offline {
            return Err(HttpError::Offline {
                url: url.to_string(),
            }
            .into());
        }
        crate::interrupt::check()?;
        crate::output::debug(&format!("GET {url}"));
        let response = self
            .agent
            .get(url.as_str())
            .call()
            .map_err(|e| unreachable(url, e))?;
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
        Ok((len, Box::new(reader)))
    }
}

/// A success status, or the error for the one received.
fn check_status(url: &Url, status: u16) -> Result<(), HttpError> {
    match status {
        200..=299 => Ok(()),
        404 | 410 => Err(HttpError::NotFound {
            url: url.to_string(),
        }),
        _ => Err(HttpError::Status {
            url: url.to_string(),
            status,
        }),
    }
}

fn unreachable(url: &Url, e: ureq::Error) -> anyhow::Error {
    HttpError::Unreachable {
        url: url.to_string(),
        message: e.to_string(),
    }
    .into()
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

//! A real HTTP package index for tests, serving the files of a directory on
//! `127.0.0.1` (std only: one thread per connection, HTTP/1.1, `Connection: close`).
//!
//! Routes:
//! * `GET /simple/` — the root project list (HTML or JSON).
//! * `GET /simple/<project>/` — the project page: PEP 503 HTML or PEP 691 JSON, with
//!   PEP 658/714 metadata, PEP 592 yanking and PEP 700 `versions`/`size`/`upload-time`.
//!   Unnormalized names and missing trailing slashes answer 301 to the canonical URL.
//! * `GET /files/<filename>` — the file's bytes.
//! * `GET /files/<filename>.metadata` — a wheel's `.dist-info/METADATA` (when metadata is on).
//! * `GET /links/` — one flat HTML page with an `<a>` per file (pip's `--find-links` URL form).
//! * anything else: 404. HEAD is answered like GET without a body.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use data_encoding::HEXLOWER;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};
use sha2::{Digest, Sha256};

use super::wheel::metadata_bytes_from_zip;

/// PEP 691 JSON content type.
pub const JSON_CONTENT_TYPE: &str = "application/vnd.pypi.simple.v1+json";
/// Content type of the HTML pages.
pub const HTML_CONTENT_TYPE: &str = "text/html";
/// The `upload-time` every file is given in JSON pages.
pub const UPLOAD_TIME: &str = "2024-01-01T00:00:00.000000Z";

/// Characters percent-encoded in file names placed in URLs.
const PATH_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'\\');

/// PEP 503 name normalization: lowercase, every run of `-`, `_` and `.` becomes one `-`.
///
/// `normalize_project_name("My.Pkg__x") == "my-pkg-x"`.
pub fn normalize_project_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_run = false;
        }
    }
    out
}

/// Which page format the index serves for project pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Always PEP 691 JSON.
    Json,
    /// Always PEP 503 HTML.
    Html,
    /// PEP 691 content negotiation on the `Accept` header (the default).
    Both,
}

/// The server's switchable behavior.
#[derive(Clone, Debug)]
struct Config {
    mode: Mode,
    metadata: bool,
    /// filename -> yank reason.
    yanked: HashMap<String, Option<String>>,
    wrong_hash: HashSet<String>,
    garbage: bool,
    status: Option<u16>,
    /// filename -> (PEP 658 metadata served instead of the wheel's own, whether its hash is
    /// advertised): a hostile index.
    metadata_override: HashMap<String, (Vec<u8>, bool)>,
    /// Pause this long after every 16 KiB of a `/files/` body (a slow link).
    pace: Option<Duration>,
    /// The `Content-Length` a `/files/` response announces instead of its body's (a lying
    /// server, or one whose connection drops).
    announce_length: Option<u64>,
}

/// One request as the server received it (see [`IndexServer::request_details`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedRequest {
    /// `GET`, `HEAD`, ...
    pub method: String,
    /// The request target as sent, e.g. `/simple/six/`.
    pub target: String,
    /// The request headers in order, names lowercased.
    pub headers: Vec<(String, String)>,
}

impl LoggedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// State shared between the test, the accept thread and the connection threads.
struct Shared {
    files_dir: PathBuf,
    config: Mutex<Config>,
    requests: Mutex<Vec<LoggedRequest>>,
    stop: AtomicBool,
}

/// A package index on `127.0.0.1:<random port>` serving every file in a directory.
///
/// The directory is re-scanned on every request, so files may be added after start.
/// Wheels (`*.whl`) and sdists (`*.tar.gz`, `*.zip`) are served; other files are ignored.
/// Dropping the server stops it.
pub struct IndexServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl IndexServer {
    /// Starts serving the files in `files_dir` (which should exist) on `127.0.0.1`, port 0.
    pub fn start(files_dir: impl AsRef<Path>) -> IndexServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let shared = Arc::new(Shared {
            files_dir: files_dir.as_ref().to_path_buf(),
            config: Mutex::new(Config {
                mode: Mode::Both,
                metadata: true,
                metadata_override: HashMap::new(),
                yanked: HashMap::new(),
                wrong_hash: HashSet::new(),
                garbage: false,
                status: None,
                pace: None,
                announce_length: None,
            }),
            requests: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let accept_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("index-server-{}", addr.port()))
            .spawn(move || accept_loop(listener, accept_shared))
            .expect("spawn index server thread");
        IndexServer {
            addr,
            shared,
            thread: Some(thread),
        }
    }

    /// The Simple API root, `http://127.0.0.1:PORT/simple` (no trailing slash).
    pub fn url(&self) -> String {
        format!("{}/simple", self.base())
    }

    /// The server's origin, `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The flat find-links page, `http://127.0.0.1:PORT/links/`.
    pub fn find_links_url(&self) -> String {
        format!("{}/links/", self.base())
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The directory whose files are served.
    pub fn files_dir(&self) -> &Path {
        &self.shared.files_dir
    }

    /// Chooses JSON, HTML, or content negotiation (default [`Mode::Both`]) for index pages.
    pub fn set_mode(&self, mode: Mode) {
        self.config().mode = mode;
    }

    /// Turns PEP 658/714 core metadata on or off (default on): when on, wheels are
    /// advertised with `core-metadata`/`dist-info-metadata` and `<file-url>.metadata` is
    /// served; when off, they are advertised as without metadata and `.metadata` is 404.
    pub fn set_metadata(&self, on: bool) {
        self.config().metadata = on;
    }

    /// Serves `metadata` as the PEP 658 metadata of the wheel `filename` (advertising its
    /// sha256 when `advertise_hash`), whatever the wheel holds: what a hostile index does.
    pub fn override_metadata(&self, filename: &str, metadata: &str, advertise_hash: bool) {
        self.config().metadata_override.insert(
            filename.to_string(),
            (metadata.as_bytes().to_vec(), advertise_hash),
        );
    }

    /// Marks `filename` as yanked (PEP 592), with an optional reason.
    pub fn yank(&self, filename: &str, reason: Option<&str>) {
        self.config()
            .yanked
            .insert(filename.to_string(), reason.map(str::to_string));
    }

    /// Removes the yank mark from `filename`.
    pub fn unyank(&self, filename: &str) {
        self.config().yanked.remove(filename);
    }

    /// Makes the index advertise a wrong sha256 for `filename` (the bytes served are right).
    pub fn set_wrong_hash(&self, filename: &str) {
        self.config().wrong_hash.insert(filename.to_string());
    }

    /// When on, every project page answers 200 with a body that is neither valid JSON nor
    /// an HTML index (with the content type that would have been negotiated).
    pub fn set_garbage(&self, on: bool) {
        self.config().garbage = on;
    }

    /// `Some(code)`: every request answers with that status (and a short text body);
    /// `None`: normal operation.
    pub fn set_status(&self, status: Option<u16>) {
        self.config().status = status;
    }

    /// `Some(d)`: file bodies are sent 16 KiB at a time with a pause of `d` after each (a slow
    /// link, so progress output has time to show); `None`: as fast as possible.
    pub fn set_pace(&self, pace: Option<Duration>) {
        self.config().pace = pace;
    }

    /// `Some(n)`: file responses announce `Content-Length: n`, whatever their body's length
    /// (the body is sent whole, then the connection closes); `None`: the true length.
    pub fn set_announced_length(&self, length: Option<u64>) {
        self.config().announce_length = length;
    }

    /// One `"METHOD target"` line (e.g. `"GET /simple/six/"`) per request received so far,
    /// in order.
    pub fn requests(&self) -> Vec<String> {
        self.shared
            .requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| format!("{} {}", r.method, r.target))
            .collect()
    }

    /// Every request received so far with its headers (e.g. to check `Accept` or
    /// `User-Agent`), in order.
    pub fn request_details(&self) -> Vec<LoggedRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Forgets the requests received so far (both logs).
    pub fn clear_requests(&self) {
        self.shared.requests.lock().unwrap().clear();
    }

    fn config(&self) -> std::sync::MutexGuard<'_, Config> {
        self.shared.config.lock().unwrap()
    }
}

impl Drop for IndexServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Unblock accept() with a connection of our own.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for conn in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        match conn {
            Ok(stream) => {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || handle_connection(stream, &shared));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// A parsed request head.
struct Request {
    method: String,
    target: String,
    /// Header names are lowercased.
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A response to send.
struct Response {
    status: u16,
    content_type: String,
    extra_headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Sent as `Content-Length` instead of the body's length.
    announce_length: Option<u64>,
}

impl Response {
    fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            content_type: content_type.to_string(),
            extra_headers: Vec::new(),
            announce_length: None,
            body: body.into(),
        }
    }

    fn text(status: u16, body: &str) -> Response {
        Response::new(status, "text/plain; charset=utf-8", body)
    }

    fn not_found() -> Response {
        Response::text(404, "404 Not Found\n")
    }

    fn redirect(location: &str) -> Response {
        let mut r = Response::text(301, &format!("Moved to {location}\n"));
        r.extra_headers
            .push(("Location".to_string(), location.to_string()));
        r
    }

    fn with_header(mut self, name: &str, value: &str) -> Response {
        self.extra_headers
            .push((name.to_string(), value.to_string()));
        self
    }
}

fn handle_connection(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
    let request = match read_request(&stream) {
        Ok(Some(request)) => request,
        Ok(None) => return, // closed without a request (e.g. the Drop wake-up)
        Err(_) => {
            let _ = write_response(&mut stream, &Response::text(400, "bad request\n"), false);
            return;
        }
    };
    shared.requests.lock().unwrap().push(LoggedRequest {
        method: request.method.clone(),
        target: request.target.clone(),
        headers: request.headers.clone(),
    });
    let config = shared.config.lock().unwrap().clone();
    let mut response = route(&request, &config, &shared.files_dir);
    if request.target.starts_with("/files/") {
        response.announce_length = config.announce_length;
    }
    let pace = config
        .pace
        .filter(|_| request.target.starts_with("/files/"));
    let _ = write_paced(&mut stream, &response, request.method == "HEAD", pace);
}

fn write_paced(
    stream: &mut TcpStream,
    response: &Response,
    head: bool,
    pace: Option<Duration>,
) -> std::io::Result<()> {
    let Some(pace) = pace else {
        return write_response(stream, response, head);
    };
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        response.status,
        reason_phrase(response.status),
        response.content_type,
        response
            .announce_length
            .unwrap_or(response.body.len() as u64)
    )
    .into_bytes();
    stream.write_all(&out)?;
    out.clear();
    if !head {
        for chunk in response.body.chunks(16 * 1024) {
            stream.write_all(chunk)?;
            stream.flush()?;
            std::thread::sleep(pace);
        }
    }
    stream.flush()?;
    stream.shutdown(Shutdown::Write)
}

/// Reads the request line and headers; the body (if any) is ignored.
/// `Ok(None)` when the peer closed before sending anything.
fn read_request(stream: &TcpStream) -> std::io::Result<Option<Request>> {
    let bad = |msg: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, msg.to_string());
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (method, target, version) = match (parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v)) => (m.to_string(), t.to_string(), v),
        _ => return Err(bad("malformed request line")),
    };
    if !version.starts_with("HTTP/1.") {
        return Err(bad("unsupported HTTP version"));
    }
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 {
            return Err(bad("connection closed inside the headers"));
        }
        let header = header.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            break;
        }
        if headers.len() > 200 {
            return Err(bad("too many headers"));
        }
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| bad("malformed header"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    Ok(Some(Request {
        method,
        target,
        headers,
    }))
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn write_response(stream: &mut TcpStream, response: &Response, head: bool) -> std::io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
        response.status,
        reason_phrase(response.status),
        response.content_type,
        response
            .announce_length
            .unwrap_or(response.body.len() as u64)
    );
    for (name, value) in &response.extra_headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    if !head {
        bytes.extend_from_slice(&response.body);
    }
    stream.write_all(&bytes)?;
    stream.flush()?;
    stream.shutdown(Shutdown::Write)
}

/// Answers one request.
fn route(request: &Request, config: &Config, files_dir: &Path) -> Response {
    if let Some(status) = config.status {
        return Response::text(status, &format!("{status} {}\n", reason_phrase(status)));
    }
    if request.method != "GET" && request.method != "HEAD" {
        return Response::text(405, "method not allowed\n").with_header("Allow", "GET, HEAD");
    }
    // Accept absolute-form targets too (http://host:port/path).
    let mut target = request.target.as_str();
    if let Some(rest) = target.strip_prefix("http://") {
        target = rest.find('/').map_or("/", |i| &rest[i..]);
    }
    let target = target.split('#').next().unwrap_or("");
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let with_query = |location: String| match query {
        Some(q) => format!("{location}?{q}"),
        None => location,
    };

    match path {
        "/simple" => return Response::redirect(&with_query("/simple/".to_string())),
        "/simple/" => return root_page(request, config, files_dir),
        "/links" => return Response::redirect(&with_query("/links/".to_string())),
        "/links/" => return links_page(config, files_dir),
        _ => {}
    }

    if let Some(rest) = path.strip_prefix("/simple/") {
        let (raw, has_slash) = match rest.strip_suffix('/') {
            Some(raw) => (raw, true),
            None => (rest, false),
        };
        if raw.is_empty() || raw.contains('/') {
            return Response::not_found();
        }
        let project = percent_decode_str(raw).decode_utf8_lossy().into_owned();
        let normalized = normalize_project_name(&project);
        if !has_slash || project != normalized {
            let location = format!("/simple/{}/", encode_segment(&normalized));
            return Response::redirect(&with_query(location));
        }
        return project_page(request, config, files_dir, &normalized);
    }

    if let Some(rest) = path.strip_prefix("/files/") {
        if rest.is_empty() || rest.contains('/') {
            return Response::not_found();
        }
        let name = percent_decode_str(rest).decode_utf8_lossy().into_owned();
        if name.contains(['/', '\\']) || name == "." || name == ".." {
            return Response::not_found();
        }
        return file_response(config, files_dir, &name);
    }

    Response::not_found()
}

/// One distribution file found in the served directory.
struct DistFile {
    filename: String,
    path: PathBuf,
    /// PEP 503-normalized project name parsed from the file name.
    project: String,
    version: String,
    is_wheel: bool,
}

/// Parses `(project, version, is_wheel)` from a distribution file name, or `None` if it
/// is neither a wheel nor an sdist.
fn parse_filename(filename: &str) -> Option<(String, String, bool)> {
    if let Some(stem) = filename.strip_suffix(".whl") {
        let mut parts = stem.split('-');
        let name = parts.next()?;
        let version = parts.next()?;
        return Some((normalize_project_name(name), version.to_string(), true));
    }
    let stem = filename
        .strip_suffix(".tar.gz")
        .or_else(|| filename.strip_suffix(".zip"))?;
    let (name, version) = stem.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() {
        return None;
    }
    Some((normalize_project_name(name), version.to_string(), false))
}

/// All distribution files currently in `dir`, sorted by file name.
fn scan(dir: &Path) -> Vec<DistFile> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        let filename = entry.file_name().to_string_lossy().into_owned();
        if let Some((project, version, is_wheel)) = parse_filename(&filename) {
            files.push(DistFile {
                filename,
                path,
                project,
                version,
                is_wheel,
            });
        }
    }
    files.sort_by(|a, b| a.filename.cmp(&b.filename));
    files
}

/// What the index says about one file.
struct FileInfo {
    filename: String,
    /// The sha256 advertised (wrong if so configured).
    sha256: String,
    size: u64,
    requires_python: Option<String>,
    /// sha256 of the METADATA bytes, when metadata is on and the file is a readable wheel
    /// (empty: metadata served without a hash).
    metadata_sha256: Option<String>,
    /// `None`: not yanked; `Some(None)`: yanked without reason.
    yanked: Option<Option<String>>,
}

fn sha256_hex_bytes(bytes: &[u8]) -> String {
    HEXLOWER.encode(&Sha256::digest(bytes))
}

/// Reads the file and works out everything the index pages advertise about it.
fn file_info(config: &Config, file: &DistFile) -> Option<FileInfo> {
    let bytes = std::fs::read(&file.path).ok()?;
    let sha256 = if config.wrong_hash.contains(&file.filename) {
        sha256_hex_bytes(format!("wrong hash for {}", file.filename).as_bytes())
    } else {
        sha256_hex_bytes(&bytes)
    };
    let metadata = if file.is_wheel {
        metadata_bytes_from_zip(&bytes)
    } else {
        None
    };
    let requires_python = metadata.as_deref().and_then(requires_python_of);
    let metadata_sha256 = match config.metadata_override.get(&file.filename) {
        Some((_, false)) => Some(String::new()),
        Some((m, true)) => Some(sha256_hex_bytes(m)),
        None => match (&metadata, config.metadata) {
            (Some(m), true) => Some(sha256_hex_bytes(m)),
            _ => None,
        },
    };
    Some(FileInfo {
        filename: file.filename.clone(),
        sha256,
        size: bytes.len() as u64,
        requires_python,
        metadata_sha256,
        yanked: config.yanked.get(&file.filename).cloned(),
    })
}

/// The `Requires-Python` header of METADATA bytes, if any.
fn requires_python_of(metadata: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(metadata);
    for line in text.lines() {
        if line.trim().is_empty() {
            break; // end of the headers; the body (description) follows
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("Requires-Python") {
                return Some(value.trim().to_string());
            }
        }
    }
    None
}

/// Whether the request should get PEP 691 JSON.
fn wants_json(request: &Request, mode: Mode) -> bool {
    match mode {
        Mode::Json => true,
        Mode::Html => false,
        Mode::Both => accept_prefers_json(request.header("accept").unwrap_or("")),
    }
}

/// PEP 691 negotiation: JSON when the JSON type is accepted (q > 0) with a quality at
/// least that of every HTML alternative.
fn accept_prefers_json(accept: &str) -> bool {
    let mut q_json: f32 = 0.0;
    let mut q_html: f32 = 0.0;
    for item in accept.split(',') {
        let mut params = item.split(';');
        let media_type = params.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut q = 1.0;
        for param in params {
            if let Some((k, v)) = param.split_once('=') {
                if k.trim().eq_ignore_ascii_case("q") {
                    q = v.trim().parse().unwrap_or(0.0);
                }
            }
        }
        match media_type.as_str() {
            "application/vnd.pypi.simple.v1+json" | "application/vnd.pypi.simple.latest+json" => {
                q_json = q_json.max(q)
            }
            "application/vnd.pypi.simple.v1+html"
            | "application/vnd.pypi.simple.latest+html"
            | "text/html"
            | "text/*"
            | "*/*" => q_html = q_html.max(q),
            _ => {}
        }
    }
    q_json > 0.0 && q_json >= q_html
}

fn encode_segment(s: &str) -> String {
    utf8_percent_encode(s, PATH_SEGMENT).to_string()
}

/// Escapes text for HTML content and attribute values.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `<a href="{prefix}{file}#sha256=..." data-...>file</a><br/>`
fn html_anchor(info: &FileInfo, href_prefix: &str) -> String {
    let mut a = format!(
        "<a href=\"{}{}#sha256={}\"",
        href_prefix,
        html_escape(&encode_segment(&info.filename)),
        info.sha256
    );
    if let Some(rp) = &info.requires_python {
        a.push_str(&format!(" data-requires-python=\"{}\"", html_escape(rp)));
    }
    match info.metadata_sha256.as_deref() {
        Some("") => a.push_str(" data-core-metadata=\"true\" data-dist-info-metadata=\"true\""),
        Some(m) => a.push_str(&format!(
            " data-core-metadata=\"sha256={m}\" data-dist-info-metadata=\"sha256={m}\""
        )),
        None => {}
    }
    if let Some(reason) = &info.yanked {
        let reason = reason.as_deref().unwrap_or("");
        a.push_str(&format!(" data-yanked=\"{}\"", html_escape(reason)));
    }
    a.push_str(&format!(">{}</a><br/>\n", html_escape(&info.filename)));
    a
}

fn html_page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta name=\"pypi:repository-version\" content=\"1.1\">\n\
         <title>{title}</title>\n</head>\n<body>\n<h1>{title}</h1>\n{body}</body>\n</html>\n",
        title = html_escape(title)
    )
}

/// A body that is neither JSON nor an HTML index.
const GARBAGE: &str = "\u{1}\u{2} this is not an index {\"meta\": [<<<\n";

fn project_page(request: &Request, config: &Config, files_dir: &Path, project: &str) -> Response {
    let files: Vec<DistFile> = scan(files_dir)
        .into_iter()
        .filter(|f| f.project == project)
        .collect();
    if files.is_empty() {
        return Response::not_found();
    }
    let json = wants_json(request, config.mode);
    let content_type = if json {
        JSON_CONTENT_TYPE
    } else {
        HTML_CONTENT_TYPE
    };
    if config.garbage {
        return Response::new(200, content_type, GARBAGE).with_header("Vary", "Accept");
    }
    let infos: Vec<FileInfo> = files.iter().filter_map(|f| file_info(config, f)).collect();

    let body = if json {
        let mut versions: Vec<&str> = Vec::new();
        for f in &files {
            if !versions.contains(&f.version.as_str()) {
                versions.push(&f.version);
            }
        }
        let files_json: Vec<serde_json::Value> = infos
            .iter()
            .map(|info| {
                let mut obj = serde_json::Map::new();
                obj.insert("filename".into(), info.filename.clone().into());
                obj.insert(
                    "url".into(),
                    format!("../../files/{}", encode_segment(&info.filename)).into(),
                );
                obj.insert(
                    "hashes".into(),
                    serde_json::json!({ "sha256": info.sha256 }),
                );
                if let Some(rp) = &info.requires_python {
                    obj.insert("requires-python".into(), rp.clone().into());
                }
                let metadata = match info.metadata_sha256.as_deref() {
                    Some("") => serde_json::Value::Bool(true),
                    Some(m) => serde_json::json!({ "sha256": m }),
                    None => serde_json::Value::Bool(false),
                };
                obj.insert("core-metadata".into(), metadata.clone());
                obj.insert("dist-info-metadata".into(), metadata);
                let yanked = match &info.yanked {
                    None => serde_json::Value::Bool(false),
                    Some(None) => serde_json::Value::Bool(true),
                    Some(Some(reason)) => reason.clone().into(),
                };
                obj.insert("yanked".into(), yanked);
                obj.insert("size".into(), info.size.into());
                obj.insert("upload-time".into(), UPLOAD_TIME.into());
                serde_json::Value::Object(obj)
            })
            .collect();
        serde_json::json!({
            "meta": { "api-version": "1.1" },
            "name": project,
            "versions": versions,
            "files": files_json,
        })
        .to_string()
    } else {
        let anchors: String = infos
            .iter()
            .map(|info| html_anchor(info, "../../files/"))
            .collect();
        html_page(&format!("Links for {project}"), &anchors)
    };
    Response::new(200, content_type, body).with_header("Vary", "Accept")
}

fn root_page(request: &Request, config: &Config, files_dir: &Path) -> Response {
    let mut projects: Vec<String> = scan(files_dir).into_iter().map(|f| f.project).collect();
    projects.sort();
    projects.dedup();
    if wants_json(request, config.mode) {
        let list: Vec<serde_json::Value> = projects
            .iter()
            .map(|p| serde_json::json!({ "name": p }))
            .collect();
        let body = serde_json::json!({ "meta": { "api-version": "1.1" }, "projects": list });
        Response::new(200, JSON_CONTENT_TYPE, body.to_string()).with_header("Vary", "Accept")
    } else {
        let anchors: String = projects
            .iter()
            .map(|p| {
                format!(
                    "<a href=\"{}/\">{}</a><br/>\n",
                    html_escape(&encode_segment(p)),
                    html_escape(p)
                )
            })
            .collect();
        Response::new(200, HTML_CONTENT_TYPE, html_page("Simple index", &anchors))
            .with_header("Vary", "Accept")
    }
}

fn links_page(config: &Config, files_dir: &Path) -> Response {
    let anchors: String = scan(files_dir)
        .iter()
        .filter_map(|f| file_info(config, f))
        .map(|info| html_anchor(&info, "/files/"))
        .collect();
    Response::new(200, HTML_CONTENT_TYPE, html_page("Links", &anchors))
}

fn file_response(config: &Config, files_dir: &Path, name: &str) -> Response {
    let path = files_dir.join(name);
    if path.is_file() {
        return match std::fs::read(&path) {
            Ok(bytes) => Response::new(200, "application/octet-stream", bytes),
            Err(_) => Response::not_found(),
        };
    }
    // PEP 658: <wheel-url>.metadata
    let Some(wheel_name) = name.strip_suffix(".metadata") else {
        return Response::not_found();
    };
    let is_wheel = parse_filename(wheel_name).is_some_and(|(_, _, is_wheel)| is_wheel);
    if let Some((m, _)) = config.metadata_override.get(wheel_name) {
        return Response::new(200, "application/octet-stream", m.clone());
    }
    if !config.metadata || !is_wheel {
        return Response::not_found();
    }
    let metadata = std::fs::read(files_dir.join(wheel_name))
        .ok()
        .and_then(|bytes| metadata_bytes_from_zip(&bytes));
    match metadata {
        Some(m) => Response::new(200, "application/octet-stream", m),
        None => Response::not_found(),
    }
}

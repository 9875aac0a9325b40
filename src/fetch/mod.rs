//! Getting wheels into the cache: by sha256 when the index publishes it (a file already in the
//! cache is never downloaded again), else by downloading or reading a local file and hashing it.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::Context;
use sha2::{Digest, Sha256, Sha384, Sha512};
use url::Url;

pub mod unpack;
pub mod vcs;

use crate::cache::Cache;
use crate::dist::WheelFilename;
use crate::error::user;
use crate::index::http::HttpClient;
use unpack::CachedWheel;

/// A distribution file to fetch (a wheel, or a source distribution to build): where it is,
/// and what its content must hash to.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub filename: String,
    /// The parsed wheel name; None for a source distribution.
    pub wheel: Option<WheelFilename>,
    pub url: Url,
    /// Hashes the index (or a lock) publishes: algorithm -> lowercase hex.
    pub hashes: Vec<(String, String)>,
    /// Hashes the user demands (`--hash`); at least one must match when any is given.
    pub required: Vec<(String, String)>,
}

impl Artifact {
    pub fn for_wheel(wheel: WheelFilename, url: Url, hashes: Vec<(String, String)>) -> Artifact {
        Artifact {
            filename: wheel.filename.clone(),
            wheel: Some(wheel),
            url,
            hashes,
            required: Vec::new(),
        }
    }

    fn known_sha256(&self) -> Option<&str> {
        self.hashes
            .iter()
            .chain(self.required.iter())
            .find(|(algo, _)| algo == "sha256")
            .map(|(_, hex)| hex.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "hash mismatch for {filename} ({source_desc}): expected {algo}:{expected}, got {algo}:{actual}"
)]
pub struct HashMismatch {
    pub filename: String,
    pub source_desc: String,
    pub algo: String,
    pub expected: String,
    pub actual: String,
}

/// The three digests we can check, computed in one pass.
#[derive(Default)]
struct Digests {
    sha256: Sha256,
    sha384: Option<Sha384>,
    sha512: Option<Sha512>,
}

impl Digests {
    fn for_artifact(a: &Artifact) -> Digests {
        let wants = |algo: &str| {
            a.hashes
                .iter()
                .chain(a.required.iter())
                .any(|(x, _)| x == algo)
        };
        Digests {
            sha256: Sha256::new(),
            sha384: wants("sha384").then(Sha384::new),
            sha512: wants("sha512").then(Sha512::new),
        }
    }

    fn update(&mut self, data: &[u8]) {
        self.sha256.update(data);
        if let Some(h) = &mut self.sha384 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha512 {
            h.update(data);
        }
    }

    fn finish(self) -> Vec<(String, String)> {
        let hex = |d: &[u8]| data_encoding::HEXLOWER.encode(d);
        let mut out = vec![("sha256".to_string(), hex(&self.sha256.finalize()))];
        if let Some(h) = self.sha384 {
            out.push(("sha384".into(), hex(&h.finalize())));
        }
        if let Some(h) = self.sha512 {
            out.push(("sha512".into(), hex(&h.finalize())));
        }
        out
    }
}

/// Check computed digests against the published and the required hashes.
fn verify(
    artifact: &Artifact,
    computed: &[(String, String)],
    source: &str,
) -> Result<(), HashMismatch> {
    let actual = |algo: &str| {
        computed
            .iter()
            .find(|(a, _)| a == algo)
            .map(|(_, h)| h.clone())
    };
    for (algo, expected) in &artifact.hashes {
        if let Some(got) = actual(algo) {
            if &got != expected {
                return Err(HashMismatch {
                    filename: artifact.filename.clone(),
                    source_desc: source.to_string(),
                    algo: algo.clone(),
                    expected: expected.clone(),
                    actual: got,
                });
            }
        }
    }
    if !artifact.required.is_empty() {
        let any = artifact
            .required
            .iter()
            .any(|(algo, expected)| actual(algo).as_deref() == Some(expected.as_str()));
        if !any {
            let (algo, expected) = &artifact.required[0];
            return Err(HashMismatch {
                filename: artifact.filename.clone(),
                source_desc: "the --hash you gave".into(),
                algo: algo.clone(),
                expected: expected.clone(),
                actual: actual(algo).unwrap_or_else(|| "(not computed)".into()),
            });
        }
    }
    Ok(())
}

fn mismatch_error(e: HashMismatch) -> anyhow::Error {
    let hint = if e.source_desc.contains("--hash") {
        "the file differs from the one your requirements pin: update the --hash (or the pin) if the change is expected"
    } else {
        "the file changed or was damaged on the way; nothing was installed. Retry, or check the index (and any proxy in front of it)"
    };
    user(e.to_string(), hint)
}

/// Copy `reader` into `out`, hashing as it goes.
fn copy_hashing(
    reader: &mut dyn Read,
    out: &mut dyn Write,
    digests: &mut Digests,
) -> anyhow::Result<u64> {
    let mut buf = vec![0u8; 128 * 1024];
    let mut total = 0u64;
    loop {
        crate::interrupt::check()?;
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        digests.update(&buf[..n]);
        out.write_all(&buf[..n])?;
        total += n as u64;
        crate::output::transferred(n as u64);
    }
}

fn wheel_name(artifact: &Artifact) -> anyhow::Result<&WheelFilename> {
    artifact.wheel.as_ref().ok_or_else(|| {
        anyhow::anyhow!(
            "{} is a source distribution and must be built first",
            artifact.filename
        )
    })
}

/// Make sure the wheel is unpacked in the cache and return it.
pub fn fetch(artifact: &Artifact, http: &HttpClient, cache: &Cache) -> anyhow::Result<CachedWheel> {
    fetch_checked(artifact, http, cache, unpack::Check::Sizes)
}

/// `fetch`, checking a cached entry as closely as `how` says.
pub fn fetch_checked(
    artifact: &Artifact,
    http: &HttpClient,
    cache: &Cache,
    how: unpack::Check,
) -> anyhow::Result<CachedWheel> {
    let wheel = wheel_name(artifact)?;
    if let Some(sha) = artifact.known_sha256() {
        if let Some(hit) = unpack::cached(cache, sha, how) {
            // The cache is keyed by sha256: a hit has exactly the published content.
            verify_cached(artifact, &hit)?;
            return Ok(hit);
        }
    }
    if artifact.url.scheme() == "file" {
        let path = artifact
            .url
            .to_file_path()
            .map_err(|_| anyhow::anyhow!("invalid file URL {}", artifact.url))?;
        return fetch_local(artifact, &path, cache, how);
    }
    let got = download_wheel(artifact, http, cache)?;
    let archive = match &got.body {
        Body::Memory { bytes, .. } => unpack::Archive::Memory(bytes),
        Body::File { path, .. } => unpack::Archive::File(path),
    };
    unpack::unpack_into_cache(cache, archive, &got.sha256, got.size, wheel, how)
}

/// How many bytes of downloaded wheels this process keeps in memory at once; a download that
/// does not fit (or does not say its length) goes to a file in the cache's temporary directory.
const IN_MEMORY_BUDGET: u64 = 16 << 20;

static IN_MEMORY: AtomicU64 = AtomicU64::new(0);

/// A share of the in-memory budget, given back when dropped.
#[derive(Debug)]
struct MemoryLease(u64);

impl MemoryLease {
    fn take(bytes: u64) -> Option<MemoryLease> {
        IN_MEMORY
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |held| {
                held.checked_add(bytes).filter(|&n| n <= IN_MEMORY_BUDGET)
            })
            .ok()
            .map(|_| MemoryLease(bytes))
    }
}

impl Drop for MemoryLease {
    fn drop(&mut self) {
        IN_MEMORY.fetch_sub(self.0, Ordering::SeqCst);
    }
}

/// A downloaded wheel's bytes: kept in memory, or in a file (with its staging directory).
enum Body {
    Memory {
        bytes: Vec<u8>,
        _lease: MemoryLease,
    },
    File {
        _staging: tempfile::TempDir,
        path: std::path::PathBuf,
    },
}

/// A download that went to a file.
struct Spilled {
    staging: tempfile::TempDir,
    path: std::path::PathBuf,
    out: std::io::BufWriter<std::fs::File>,
}

/// Where a download goes: memory up to the length the server announced (and leased), then,
/// if more comes than announced, a file.
struct Spool<'a> {
    sink: Sink,
    cache: &'a Cache,
}

enum Sink {
    Memory(Vec<u8>, MemoryLease),
    File(Spilled),
}

impl<'a> Spool<'a> {
    fn new(cache: &'a Cache, announced: Option<u64>) -> anyhow::Result<Self> {
        let sink = match announced.and_then(MemoryLease::take) {
            Some(lease) => Sink::Memory(Vec::with_capacity(lease.0 as usize), lease),
            None => Sink::File(Self::spill(cache, &[])?),
        };
        Ok(Spool { sink, cache })
    }

    /// A file in the cache's temporary directory, starting with `head` (what came so far).
    /// Its name is fixed: nothing the index says becomes a path.
    fn spill(cache: &Cache, head: &[u8]) -> anyhow::Result<Spilled> {
        let staging = cache.tempdir()?;
        let path = staging.path().join("download.whl");
        let mut out = std::io::BufWriter::new(fs_err::File::create(&path)?.into_parts().0);
        out.write_all(head)?;
        Ok(Spilled { staging, path, out })
    }

    fn finish(self) -> anyhow::Result<Body> {
        Ok(match self.sink {
            Sink::File(spilled) => {
                spilled.out.into_inner().map_err(|e| e.into_error())?;
                Body::File {
                    _staging: spilled.staging,
                    path: spilled.path,
                }
            }
            Sink::Memory(bytes, lease) => Body::Memory {
                bytes,
                _lease: lease,
            },
        })
    }
}

impl Write for Spool<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Sink::Memory(bytes, _) = &self.sink {
            if bytes.len() + buf.len() > bytes.capacity() {
                // More than announced: the memory (and its lease) is given back.
                let spilled = Self::spill(self.cache, bytes).map_err(std::io::Error::other)?;
                self.sink = Sink::File(spilled);
            }
        }
        match &mut self.sink {
            Sink::File(spilled) => spilled.out.write(buf),
            Sink::Memory(bytes, _) => {
                bytes.extend_from_slice(buf);
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.sink {
            Sink::File(spilled) => spilled.out.flush(),
            Sink::Memory(..) => Ok(()),
        }
    }
}

/// A downloaded wheel whose hashes matched.
struct DownloadedWheel {
    body: Body,
    /// Hex sha256 of the bytes.
    sha256: String,
    size: u64,
}

/// Download a wheel, verifying its hashes; into memory when it fits.
fn download_wheel(
    artifact: &Artifact,
    http: &HttpClient,
    cache: &Cache,
) -> anyhow::Result<DownloadedWheel> {
    let (announced, reader) = open_download(artifact, http)?;
    let mut spool = Spool::new(cache, announced)?;
    let (computed, size) = copy_verified(artifact, reader, &mut spool)?;
    Ok(DownloadedWheel {
        body: spool.finish()?,
        sha256: computed[0].1.clone(),
        size,
    })
}

/// Copy a download into `out`, then check its digests against the artifact's hashes;
/// returns (digests as (algorithm, hex), size). `out` is not to be used when this fails.
fn copy_verified(
    artifact: &Artifact,
    mut reader: Box<dyn Read + Send>,
    out: &mut dyn Write,
) -> anyhow::Result<(Vec<(String, String)>, u64)> {
    let mut digests = Digests::for_artifact(artifact);
    let size = copy_hashing(&mut reader, out, &mut digests)
        .with_context(|| format!("download of {} failed", artifact.url))?;
    out.flush()?;
    let computed = digests.finish();
    verify(artifact, &computed, artifact.url.as_str()).map_err(mismatch_error)?;
    Ok((computed, size))
}

/// A downloaded file: (path, digests as (algorithm, hex), size).
type Downloaded = (std::path::PathBuf, Vec<(String, String)>, u64);

/// Download into `staging`, verifying hashes; returns (path, digests, size).
fn download(
    artifact: &Artifact,
    http: &HttpClient,
    staging: &tempfile::TempDir,
) -> anyhow::Result<Downloaded> {
    let (_, reader) = open_download(artifact, http)?;
    let path = staging.path().join(&artifact.filename);
    let mut out = std::io::BufWriter::new(fs_err::File::create(&path)?);
    let (computed, size) = copy_verified(artifact, reader, &mut out)?;
    Ok((path, computed, size))
}

/// The response body of `artifact`'s URL, with the length the server announced.
fn open_download(
    artifact: &Artifact,
    http: &HttpClient,
) -> anyhow::Result<(Option<u64>, Box<dyn Read + Send>)> {
    http.get_stream(&artifact.url).map_err(|e| {
        if crate::index::http::is_offline_miss(&e) {
            user(
                format!(
                    "{} is not in the cache and --offline forbids downloading it",
                    artifact.filename
                ),
                "run once without --offline (or ENVTOOL_OFFLINE) to fill the cache",
            )
        } else {
            e
        }
    })
}

/// A source distribution in the cache (`sdists-v1/<sha256>/<file>`): (path, sha256, size).
pub fn fetch_sdist(
    artifact: &Artifact,
    http: &HttpClient,
    cache: &Cache,
) -> anyhow::Result<(std::path::PathBuf, String, u64)> {
    let bucket = cache.bucket(crate::cache::Bucket::Sdists)?;
    if let Some(sha) = artifact.known_sha256() {
        let path = bucket.join(sha).join(&artifact.filename);
        if let Ok(meta) = std::fs::metadata(&path) {
            return Ok((path, sha.to_string(), meta.len()));
        }
    }
    let staging = cache.tempdir()?;
    let (path, computed, size) = if artifact.url.scheme() == "file" {
        let local = artifact
            .url
            .to_file_path()
            .map_err(|_| anyhow::anyhow!("invalid file URL {}", artifact.url))?;
        let mut file = fs_err::File::open(&local)?;
        let mut digests = Digests::for_artifact(artifact);
        let copy = staging.path().join(&artifact.filename);
        let mut out = fs_err::File::create(&copy)?;
        let size = copy_hashing(&mut file, &mut out, &mut digests)?;
        let computed = digests.finish();
        verify(artifact, &computed, &local.display().to_string()).map_err(mismatch_error)?;
        (copy, computed, size)
    } else {
        download(artifact, http, &staging)?
    };
    let sha = computed[0].1.clone();
    let dir = bucket.join(&sha);
    fs_err::create_dir_all(&dir)?;
    let dest = dir.join(&artifact.filename);
    if !dest.exists() {
        fs_err::rename(&path, &dest)?;
    }
    Ok((dest, sha, size))
}

/// A wheel file on this machine, verified and unpacked into the cache.
pub fn local_wheel(path: &Path, cache: &Cache) -> anyhow::Result<CachedWheel> {
    let name = path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let wheel = WheelFilename::parse(&name)
        .map_err(|e| anyhow::anyhow!("{} is not a wheel: {e}", path.display()))?;
    let url =
        Url::from_file_path(path).map_err(|_| anyhow::anyhow!("bad path {}", path.display()))?;
    fetch_local(
        &Artifact::for_wheel(wheel, url, Vec::new()),
        path,
        cache,
        unpack::Check::Sizes,
    )
}

fn fetch_local(
    artifact: &Artifact,
    path: &Path,
    cache: &Cache,
    how: unpack::Check,
) -> anyhow::Result<CachedWheel> {
    let wheel = wheel_name(artifact)?;
    let mut file = fs_err::File::open(path).map_err(|e| {
        user(
            format!("cannot read {}: {e}", path.display()),
            "check the path of the wheel",
        )
    })?;
    let mut digests = Digests::for_artifact(artifact);
    let size = copy_hashing(&mut file, &mut std::io::sink(), &mut digests)?;
    let computed = digests.finish();
    verify(artifact, &computed, &path.display().to_string()).map_err(mismatch_error)?;
    if let Some(hit) = unpack::cached(cache, &computed[0].1, how) {
        return Ok(hit);
    }
    unpack::unpack_into_cache(
        cache,
        unpack::Archive::File(path),
        &computed[0].1,
        size,
        wheel,
        how,
    )
}

/// A cache hit still has to satisfy the user's `--hash` values.
fn verify_cached(artifact: &Artifact, hit: &CachedWheel) -> anyhow::Result<()> {
    let computed = vec![("sha256".to_string(), hit.info.sha256.clone())];
    let only_sha256 = artifact.required.iter().all(|(a, _)| a == "sha256");
    if only_sha256 {
        verify(artifact, &computed, "the cache").map_err(mismatch_error)?;
    }
    Ok(())
}

/// Fetch many wheels with up to `jobs` at once; results come back in input order.
pub fn fetch_all(
    artifacts: &[Artifact],
    http: &HttpClient,
    cache: &Cache,
    jobs: usize,
    how: unpack::Check,
    on_done: &(dyn Fn(&Artifact) + Sync),
) -> Vec<anyhow::Result<CachedWheel>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<anyhow::Result<CachedWheel>>>> =
        Mutex::new((0..artifacts.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, artifacts.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(artifact) = artifacts.get(i) else {
                    break;
                };
                let result = fetch_checked(artifact, http, cache, how);
                on_done(artifact);
                results.lock().unwrap()[i] = Some(result);
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(anyhow::anyhow!("not fetched"))))
        .collect()
}

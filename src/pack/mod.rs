//! Writing the single-file executable: a short `sh` header (warm starts exec the extracted
//! copy without Python reading the zip), then a zip application (PEP 441) holding the
//! bootstrap (`shims/pack_main.py`), the runner (`shims/pack_run.py`), a manifest, the
//! embedded lock, and the environment's installed files under `site-packages/`.
//!
//! Same inputs, same bytes: entries sorted, timestamps fixed (1980-01-01, or
//! `SOURCE_DATE_EPOCH`), modes 0644/0755, deflate from the pinned crate, sorted JSON keys.

pub mod compat;
pub mod elf;
pub mod entry;
pub mod runtime;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

use crate::error::user;

const HEADER: &str = include_str!("../../shims/pack_header.sh");
const MAIN: &str = include_str!("../../shims/pack_main.py");
const RUN: &str = include_str!("../../shims/pack_run.py");
const SIZE_WIDTH: usize = 14;

/// What the pack runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// `python -m module`
    Module(String),
    /// `module:function`; the return value becomes the exit status.
    Function { module: String, attr: String },
}

/// Everything a pack is made of.
#[derive(Debug, Clone)]
pub struct PackSpec {
    pub site_packages: PathBuf,
    pub entry: Entry,
    /// `X.Y`
    pub python_version: String,
    pub implementation: String,
    /// `sysconfig.get_platform()` when any native wheel is inside.
    pub platform: Option<String>,
    pub platform_tags: Vec<String>,
    /// The interpreter command the header runs (from `--python-shebang`).
    pub python_command: String,
    pub lock: String,
    /// Byte-compile the extracted files on first run.
    pub compile: bool,
}

/// Where a file of the pack comes from: a file on disk (streamed, never held in memory) or
/// bytes envtool generates.
enum Data {
    File(PathBuf),
    Bytes(Vec<u8>),
}

impl Data {
    fn len(&self) -> anyhow::Result<u64> {
        Ok(match self {
            Data::File(path) => fs_err::metadata(path)?.len(),
            Data::Bytes(bytes) => bytes.len() as u64,
        })
    }

    /// Copy the data into `out`; errors if a file changed size since the hash was taken. A file
    /// is written in one piece when it is small (the deflate stream then does not depend on
    /// how it was read), in large chunks otherwise: memory stays bounded by one chunk.
    fn copy_to(&self, out: &mut dyn Write, expected: u64) -> anyhow::Result<()> {
        const WHOLE: u64 = 64 * 1024 * 1024;
        let copied = match self {
            Data::File(path) if expected <= WHOLE => {
                let bytes = fs_err::read(path)?;
                out.write_all(&bytes)?;
                bytes.len() as u64
            }
            Data::File(path) => {
                let mut file = fs_err::File::open(path)?;
                let mut buf = vec![0u8; WHOLE as usize];
                let mut total = 0u64;
                loop {
                    let n = file.read(&mut buf)?;
                    if n == 0 {
                        break total;
                    }
                    out.write_all(&buf[..n])?;
                    total += n as u64;
                }
            }
            Data::Bytes(bytes) => {
                out.write_all(bytes)?;
                bytes.len() as u64
            }
        };
        if copied != expected {
            anyhow::bail!("a file changed while it was being packed");
        }
        Ok(())
    }
}

/// One file of the pack.
struct Payload {
    name: String,
    data: Data,
    executable: bool,
}

/// The installed files below site-packages, sorted by name, without bytecode caches.
fn collect(site: &Path) -> anyhow::Result<Vec<Payload>> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(site)
        .sort_by_file_name()
        .follow_links(true)
    {
        let entry = entry.map_err(|e| anyhow::anyhow!("cannot read {}: {e}", site.display()))?;
        if entry.file_type().is_dir() {
            continue;
        }
        let rel = entry.path().strip_prefix(site)?;
        if rel.components().any(|c| c.as_os_str() == "__pycache__")
            || rel.extension().is_some_and(|e| e == "pyc")
        {
            continue;
        }
        let name = rel
            .to_str()
            .ok_or_else(|| anyhow::anyhow!("{} is not UTF-8", rel.display()))?;
        let executable = entry.metadata()?.permissions().mode() & 0o111 != 0;
        let data = if name.ends_with(".dist-info/RECORD") {
            Data::Bytes(record_inside(&fs_err::read(entry.path())?))
        } else {
            Data::File(entry.path().to_path_buf())
        };
        out.push(Payload {
            name: format!("site-packages/{name}"),
            data,
            executable,
        });
    }
    out.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    Ok(out)
}

/// RECORD without the rows for files outside site-packages (scripts in `bin/`): they are not
/// in the pack, and their hashes name the environment's path, which must not change the bytes.
fn record_inside(data: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(data);
    text.lines()
        .filter(|line| {
            let path = line.trim_start_matches('"');
            !path.starts_with("../") && !path.starts_with('/')
        })
        .map(|line| format!("{line}\n"))
        .collect::<String>()
        .into_bytes()
}

/// The content hash the bootstrap checks (the same recipe as `payload_hash` in pack_main.py),
/// and each file's length, reading every file once.
fn content_hash(payload: &[Payload]) -> anyhow::Result<(String, Vec<u64>)> {
    let mut digest = Sha256::new();
    let mut lengths = Vec::with_capacity(payload.len());
    for p in payload {
        let len = p.data.len()?;
        digest.update(p.name.as_bytes());
        digest.update(b"\0");
        digest.update(len.to_string().as_bytes());
        digest.update(b"\0");
        p.data.copy_to(&mut HashWriter(&mut digest), len)?;
        lengths.push(len);
    }
    Ok((data_encoding::HEXLOWER.encode(&digest.finalize()), lengths))
}

/// Feeds written bytes to a digest.
struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// 1980-01-01, or `SOURCE_DATE_EPOCH` clamped to the zip range and rounded to even seconds.
fn timestamp() -> zip::DateTime {
    let Some(epoch) = crate::env_vars::non_empty_var(crate::env_vars::SOURCE_DATE_EPOCH)
        .and_then(|v| v.trim().parse::<i64>().ok())
    else {
        return zip::DateTime::default();
    };
    let epoch = epoch.max(315_532_800); // 1980-01-01T00:00:00Z
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, (secs % 60) / 2 * 2);
    zip::DateTime::from_date_and_time(
        year.min(2107) as u16,
        month as u8,
        day as u8,
        h as u8,
        m as u8,
        s as u8,
    )
    .unwrap_or_default()
}

fn manifest(spec: &PackSpec, hash: &str, pth: bool) -> String {
    let entry = match &spec.entry {
        Entry::Module(m) => serde_json::json!({"kind": "module", "module": m}),
        Entry::Function { module, attr } => {
            serde_json::json!({"kind": "function", "module": module, "attr": attr})
        }
    };
    let value = serde_json::json!({
        "compile": spec.compile,
        "content_hash": hash,
        "created_by": format!("envtool {}", env!("CARGO_PKG_VERSION")),
        "entry": entry,
        "lock": ".envtool/pylock.toml",
        "platform_tags": spec.platform_tags,
        "pth": pth,
        "python": {
            "implementation": spec.implementation,
            "platform": spec.platform,
            "version": spec.python_version,
        },
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// Write the pack to `out` atomically, executable: the header, then the zip, streamed from the
/// environment's files into a temporary sibling of `out` (nothing is held in memory).
pub fn write(spec: &PackSpec, out: &Path) -> anyhow::Result<()> {
    use std::io::{Seek, SeekFrom};
    use std::os::unix::fs::PermissionsExt;
    if out.is_dir() {
        return Err(user(
            format!("{} is a directory", out.display()),
            "give -o the path of the file to write",
        ));
    }
    let out = std::path::absolute(out)?;
    let parent = out
        .parent()
        .filter(|p| p.is_dir())
        .ok_or_else(|| {
            user(
                format!("the directory of {} does not exist", out.display()),
                "create it first, or choose another -o path",
            )
        })?
        .to_path_buf();
    let cannot_write = |e: &dyn std::fmt::Display| {
        user(
            format!("cannot write {}: {e}", out.display()),
            "choose a writable -o path",
        )
    };
    let payload = collect(&spec.site_packages)?;
    let (hash, payload_lengths) = content_hash(&payload)?;
    let pth = payload
        .iter()
        .any(|p| p.name.ends_with(".pth") && !p.name[14..].contains('/'));
    let bootstrap = [
        ("__main__.py", MAIN.as_bytes().to_vec()),
        (
            ".envtool/manifest.json",
            manifest(spec, &hash, pth).into_bytes(),
        ),
        (".envtool/pylock.toml", spec.lock.as_bytes().to_vec()),
        (".envtool/run.py", RUN.as_bytes().to_vec()),
    ];
    let mut files: Vec<(Payload, u64)> = bootstrap
        .into_iter()
        .map(|(name, bytes)| {
            let len = bytes.len() as u64;
            let p = Payload {
                name: name.to_string(),
                data: Data::Bytes(bytes),
                executable: false,
            };
            (p, len)
        })
        .collect();
    files.extend(payload.into_iter().zip(payload_lengths));
    files.sort_by(|a, b| a.0.name.as_bytes().cmp(b.0.name.as_bytes()));

    let header = HEADER
        .replace("__HASH__", &hash)
        .replace("__PYTHON__", &spec.python_command)
        .replace("__SIZE__", &"0".repeat(SIZE_WIDTH));
    let size_at = header
        .find(&"0".repeat(SIZE_WIDTH))
        .ok_or_else(|| anyhow::anyhow!("the pack header has no size field"))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".envtool-pack-")
        .tempfile_in(&parent)
        .map_err(|e| cannot_write(&e))?;
    tmp.write_all(header.as_bytes())
        .map_err(|e| cannot_write(&e))?;
    let mut zip = zip::ZipWriter::new(tmp.as_file_mut());
    let time = timestamp();
    for (file, len) in &files {
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(6))
            .last_modified_time(time)
            .unix_permissions(if file.executable { 0o755 } else { 0o644 })
            .large_file(*len >= 0xFFFF_FFFF);
        zip.start_file(file.name.as_str(), options)?;
        file.data.copy_to(&mut zip, *len)?;
    }
    let file = zip.finish()?;
    let total = file.seek(SeekFrom::End(0))?;
    file.seek(SeekFrom::Start(size_at as u64))?;
    file.write_all(format!("{total:0width$}", width = SIZE_WIDTH).as_bytes())?;
    file.sync_all()?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o755))?;
    tmp.persist(&out).map_err(|e| cannot_write(&e.error))?;
    Ok(())
}

/// What `pack --inspect` prints.
pub fn inspect(path: &Path) -> anyhow::Result<String> {
    let file = std::fs::File::open(path).map_err(|e| {
        user(
            format!("cannot read {}: {e}", path.display()),
            "check the path of the pack",
        )
    })?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| {
        user(
            format!("{} is not an envtool pack: {e}", path.display()),
            "point --inspect at a file written by `envtool pack`",
        )
    })?;
    let mut read = |name: &str| -> anyhow::Result<String> {
        let mut text = String::new();
        zip.by_name(name)
            .map_err(|_| {
                user(
                    format!(
                        "{} has no {name}: it is not an envtool pack",
                        path.display()
                    ),
                    "point --inspect at a file written by `envtool pack`",
                )
            })?
            .read_to_string(&mut text)?;
        Ok(text)
    };
    let manifest: serde_json::Value = serde_json::from_str(&read(".envtool/manifest.json")?)?;
    let lock = read(".envtool/pylock.toml")?;
    let entry = &manifest["entry"];
    let entry_text = match entry["kind"].as_str() {
        Some("module") => format!(
            "{} (python -m {})",
            entry["module"].as_str().unwrap_or(""),
            entry["module"].as_str().unwrap_or("")
        ),
        _ => format!(
            "{}:{}",
            entry["module"].as_str().unwrap_or(""),
            entry["attr"].as_str().unwrap_or("")
        ),
    };
    let python = &manifest["python"];
    let platform = python["platform"]
        .as_str()
        .map(|p| format!(" on {p}"))
        .unwrap_or_default();
    let tags: Vec<&str> = manifest["platform_tags"]
        .as_array()
        .map(|a| a.iter().filter_map(|t| t.as_str()).collect())
        .unwrap_or_default();
    Ok(format!(
        "entry: {entry_text}\npython: {} {}{platform}\nplatform tags: {}\ncontent hash: {}\nlock:\n{lock}",
        python["implementation"].as_str().unwrap_or(""),
        python["version"].as_str().unwrap_or(""),
        if tags.is_empty() { "none (pure Python)".to_string() } else { tags.join(", ") },
        manifest["content_hash"].as_str().unwrap_or(""),
    ))
}

//! Writing the single-file executable: a short `sh` header (warm starts exec the extracted
//! copy without Python reading the zip), then a zip application (PEP 441) holding the
//! bootstrap (`shims/pack_main.py`), the runner (`shims/pack_run.py`), a manifest, the
//! embedded lock, and the environment's installed files under `site-packages/`.
//!
//! Same inputs, same bytes: entries sorted, timestamps fixed (1980-01-01, or
//! `SOURCE_DATE_EPOCH`), modes 0644/0755, deflate from the pinned crate, sorted JSON keys.

use std::io::{Cursor, Read, Write};
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

/// One file of the payload.
struct Payload {
    name: String,
    data: Vec<u8>,
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
        let mut data = fs_err::read(entry.path())?;
        if name.ends_with(".dist-info/RECORD") {
            data = record_inside(&data);
        }
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

/// The content hash the bootstrap checks (the same recipe as `payload_hash` in pack_main.py).
fn content_hash(payload: &[Payload]) -> String {
    let mut digest = Sha256::new();
    for p in payload {
        digest.update(p.name.as_bytes());
        digest.update(b"\0");
        digest.update(p.data.len().to_string().as_bytes());
        digest.update(b"\0");
        digest.update(&p.data);
    }
    data_encoding::HEXLOWER.encode(&digest.finalize())
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

/// Build the pack's bytes.
pub fn build(spec: &PackSpec) -> anyhow::Result<Vec<u8>> {
    let payload = collect(&spec.site_packages)?;
    let hash = content_hash(&payload);
    let pth = payload
        .iter()
        .any(|p| p.name.ends_with(".pth") && !p.name[14..].contains('/'));
    let mut files: Vec<Payload> = vec![
        Payload {
            name: "__main__.py".into(),
            data: MAIN.as_bytes().to_vec(),
            executable: false,
        },
        Payload {
            name: ".envtool/manifest.json".into(),
            data: manifest(spec, &hash, pth).into_bytes(),
            executable: false,
        },
        Payload {
            name: ".envtool/pylock.toml".into(),
            data: spec.lock.as_bytes().to_vec(),
            executable: false,
        },
        Payload {
            name: ".envtool/run.py".into(),
            data: RUN.as_bytes().to_vec(),
            executable: false,
        },
    ];
    files.extend(payload);
    files.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));

    let header = HEADER
        .replace("__HASH__", &hash)
        .replace("__PYTHON__", &spec.python_command)
        .replace("__SIZE__", &"0".repeat(SIZE_WIDTH));
    let mut cursor = Cursor::new(header.clone().into_bytes());
    cursor.set_position(header.len() as u64);
    let mut zip = zip::ZipWriter::new(cursor);
    let time = timestamp();
    for file in &files {
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(6))
            .last_modified_time(time)
            .unix_permissions(if file.executable { 0o755 } else { 0o644 })
            .large_file(file.data.len() as u64 >= 0xFFFF_FFFF);
        zip.start_file(file.name.as_str(), options)?;
        zip.write_all(&file.data)?;
    }
    let mut bytes = zip.finish()?.into_inner();
    let size = format!("{:0width$}", bytes.len(), width = SIZE_WIDTH);
    let at = header
        .find(&"0".repeat(SIZE_WIDTH))
        .ok_or_else(|| anyhow::anyhow!("the pack header has no size field"))?;
    bytes[at..at + SIZE_WIDTH].copy_from_slice(size.as_bytes());
    Ok(bytes)
}

/// Write the pack to `out` atomically, executable.
pub fn write(spec: &PackSpec, out: &Path) -> anyhow::Result<()> {
    if out.is_dir() {
        return Err(user(
            format!("{} is a directory", out.display()),
            "give -o the path of the file to write",
        ));
    }
    let bytes = build(spec)?;
    let out = std::path::absolute(out)?;
    if let Some(parent) = out.parent() {
        if !parent.is_dir() {
            return Err(user(
                format!("the directory of {} does not exist", out.display()),
                "create it first, or choose another -o path",
            ));
        }
    }
    crate::fsx::write_atomic_mode(&out, &bytes, 0o755).map_err(|e| {
        user(
            format!("cannot write {}: {e:#}", out.display()),
            "choose a writable -o path",
        )
    })
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

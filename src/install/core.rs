//! The installer core, built the way pypa/installer's `install(source, destination)` is: one
//! algorithm takes a wheel's files (a [`WheelSource`]) through the install steps of the wheel
//! specification into a [`Destination`], which decides where bytes land (an environment on
//! disk, or a packed zip). RECORD is written in one place, after byte-compilation has added its
//! rows.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::entry_points::{parse_entry_points, scripts, validate_script};
use super::installed::ORIGIN_FILE;
use super::launcher::{launcher, rewrite_python_shebang};
use crate::dist::direct_url::DirectUrl;
use crate::dist::record::{parse_record, record_hash, write_record, RecordEntry};
use crate::dist::source::Provenance;
use crate::error::user;
use crate::fetch::unpack::{header, safe_relative, CachedWheel};

/// Where a file of a wheel goes (the wheel spec's install schemes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scheme {
    Purelib,
    Platlib,
    Scripts,
    Data,
    /// `include/site/pythonX.Y/<dist>/`: paths given to a destination start with the dist name.
    Headers,
}

impl Scheme {
    /// The scheme of a `<name>.data/<key>/` directory; None for keys the spec does not define.
    pub fn from_data_key(key: &str) -> Option<Scheme> {
        match key {
            "purelib" => Some(Scheme::Purelib),
            "platlib" => Some(Scheme::Platlib),
            "scripts" => Some(Scheme::Scripts),
            "data" => Some(Scheme::Data),
            "headers" => Some(Scheme::Headers),
            _ => None,
        }
    }
}

/// A wheel's files: the verified, unpacked tree of one wheel.
pub trait WheelSource {
    /// The wheel's file name (for messages).
    fn filename(&self) -> &str;
    /// The project name as the file name spells it.
    fn project(&self) -> &str;
    /// `{name}-{version}.dist-info`.
    fn dist_info(&self) -> &str;
    /// The file behind an archive entry (`entry` already checked to be a safe relative path).
    fn file(&self, entry: &Path) -> PathBuf;
}

impl WheelSource for CachedWheel {
    fn filename(&self) -> &str {
        &self.info.filename
    }

    fn project(&self) -> &str {
        &self.info.name
    }

    fn dist_info(&self) -> &str {
        &self.info.dist_info
    }

    fn file(&self, entry: &Path) -> PathBuf {
        self.dir.join(entry)
    }
}

/// What a destination did with one file.
#[derive(Debug, Clone)]
pub struct Placed {
    /// The path RECORD lists (relative to the directory holding `.dist-info`).
    pub record_path: String,
    /// The file on disk, for destinations that have one (byte-compiling needs it).
    pub file: Option<PathBuf>,
}

/// Where an installation writes. Implementations check that every path stays inside the
/// scheme's directory; `Ok(None)` means the destination does not keep that scheme (a pack
/// keeps no scripts).
pub trait Destination: Sync {
    /// `root` is the scheme holding `.dist-info` (purelib or platlib).
    fn begin(&self, root: Scheme);
    /// Put a verified file of the wheel (`src`, in the cache) at `scheme`/`rel`.
    fn link(
        &self,
        root: Scheme,
        scheme: Scheme,
        rel: &str,
        src: &Path,
    ) -> anyhow::Result<Option<Placed>>;
    /// Write new bytes at `scheme`/`rel` (generated files, rewritten scripts).
    fn write(
        &self,
        root: Scheme,
        scheme: Scheme,
        rel: &str,
        bytes: &[u8],
        executable: bool,
    ) -> anyhow::Result<Option<Placed>>;
    /// RECORD of `dist_info` is written: the distribution may appear (a destination that
    /// stages the `.dist-info` moves it into place here).
    fn finish(&self, _root: Scheme, _dist_info: &str) -> anyhow::Result<()> {
        Ok(())
    }
    /// The path RECORD lists for `scheme`/`rel` (None when the destination drops it).
    fn record_path(
        &self,
        root: Scheme,
        scheme: Scheme,
        rel: &str,
    ) -> anyhow::Result<Option<String>>;
    /// The interpreter scripts and launchers name.
    fn python(&self) -> &Path;
}

/// What envtool records about one installation besides the wheel's own files.
#[derive(Debug, Clone, Default)]
pub struct DistExtras {
    pub requested: bool,
    /// PEP 610 `direct_url.json`, only for direct references.
    pub direct_url: Option<DirectUrl>,
    pub origin: Option<Provenance>,
}

/// One distribution's files, installed but not yet recorded.
#[derive(Debug, Clone)]
pub struct Installed {
    /// The scheme holding `.dist-info`.
    pub root: Scheme,
    pub dist_info: String,
    /// RECORD rows so far (RECORD's own row is added when it is written).
    pub rows: Vec<RecordEntry>,
    /// Python sources written to disk (RECORD path, file), for byte-compiling.
    pub py_files: Vec<(String, PathBuf)>,
}

impl Installed {
    /// Write RECORD: every row so far, then its own (empty hash and size).
    pub fn write_record(mut self, dest: &dyn Destination) -> anyhow::Result<()> {
        let own = format!("{}/RECORD", self.dist_info);
        let record_path = dest
            .record_path(self.root, self.root, &own)?
            .unwrap_or(own.clone());
        self.rows.push(RecordEntry {
            path: record_path,
            hash: None,
            size: None,
        });
        dest.write(
            self.root,
            self.root,
            &own,
            write_record(&self.rows).as_bytes(),
            false,
        )?;
        dest.finish(self.root, &self.dist_info)
    }
}

fn escape_error(wheel: &dyn WheelSource, entry: &str) -> anyhow::Error {
    user(
        format!(
            "{} contains an entry that would be written outside the environment: {entry:?}",
            wheel.filename()
        ),
        "the wheel is malformed or malicious; nothing was installed",
    )
}

/// Install one wheel's files into `dest` (RECORD is written afterwards, by
/// [`Installed::write_record`]).
pub fn install_wheel(
    wheel: &dyn WheelSource,
    dest: &dyn Destination,
    extras: &DistExtras,
) -> anyhow::Result<Installed> {
    let dist_info = wheel.dist_info().to_string();
    let info_dir = wheel.file(Path::new(&dist_info));
    let wheel_text = fs_err::read_to_string(info_dir.join("WHEEL"))?;
    let purelib =
        header(&wheel_text, "Root-Is-Purelib").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let root = if purelib {
        Scheme::Purelib
    } else {
        Scheme::Platlib
    };
    dest.begin(root);
    let data_prefix = format!("{}.data/", dist_info.trim_end_matches(".dist-info"));
    let archive_record = parse_record(&fs_err::read_to_string(info_dir.join("RECORD"))?)
        .with_context(|| format!("bad RECORD in {}", wheel.filename()))?;
    let skip: BTreeSet<String> = [
        "RECORD",
        "INSTALLER",
        "REQUESTED",
        "direct_url.json",
        ORIGIN_FILE,
    ]
    .iter()
    .map(|f| format!("{dist_info}/{f}"))
    .collect();

    let mut installed = Installed {
        root,
        dist_info: dist_info.clone(),
        rows: Vec::new(),
        py_files: Vec::new(),
    };
    for entry in &archive_record {
        if entry.path.ends_with('/') || skip.contains(&entry.path) {
            continue;
        }
        let rel = safe_relative(&entry.path).ok_or_else(|| escape_error(wheel, &entry.path))?;
        let (scheme, sub) = match entry.path.strip_prefix(&data_prefix) {
            Some(rest) => {
                let (key, sub) = rest
                    .split_once('/')
                    .ok_or_else(|| escape_error(wheel, &entry.path))?;
                let scheme = Scheme::from_data_key(key).ok_or_else(|| {
                    user(
                        format!(
                            "{} has an unknown .data directory {key:?}",
                            wheel.filename()
                        ),
                        "the wheel is malformed; report it to its maintainers",
                    )
                })?;
                let sub = match scheme {
                    Scheme::Headers => format!("{}/{sub}", wheel.project()),
                    _ => sub.to_string(),
                };
                (scheme, sub)
            }
            None => (root, entry.path.clone()),
        };
        safe_relative(&sub).ok_or_else(|| escape_error(wheel, &entry.path))?;
        let src = wheel.file(&rel);
        let placed = if scheme == Scheme::Scripts {
            install_script(root, &src, &sub, dest)?
        } else {
            dest.link(root, scheme, &sub, &src)?
                .map(|p| (p, (entry.hash.clone(), entry.size)))
        };
        let Some((placed, (hash, size))) = placed else {
            continue;
        };
        if let Some(file) = &placed.file {
            if file.extension().is_some_and(|e| e == "py") {
                installed
                    .py_files
                    .push((placed.record_path.clone(), file.clone()));
            }
        }
        installed.rows.push(RecordEntry {
            path: placed.record_path,
            hash,
            size,
        });
    }

    let ep_path = info_dir.join("entry_points.txt");
    if ep_path.exists() {
        let text = fs_err::read_to_string(&ep_path)?;
        let entries = parse_entry_points(&text)
            .with_context(|| format!("bad entry_points.txt in {}", wheel.filename()))?;
        for ep in scripts(&entries) {
            validate_script(ep)
                .with_context(|| format!("bad entry point in {}", wheel.filename()))?;
            safe_relative(&ep.name).ok_or_else(|| escape_error(wheel, &ep.name))?;
            let bytes = launcher(dest.python(), ep);
            add_generated(
                &mut installed,
                dest,
                Scheme::Scripts,
                &ep.name,
                bytes.as_bytes(),
                true,
            )?;
        }
    }

    let mut add = |name: &str, bytes: &[u8]| {
        let rel = format!("{dist_info}/{name}");
        add_generated(&mut installed, dest, root, &rel, bytes, false)
    };
    add("INSTALLER", b"envtool\n")?;
    if extras.requested {
        add("REQUESTED", b"")?;
    }
    if let Some(direct) = &extras.direct_url {
        add("direct_url.json", direct.to_json().as_bytes())?;
    }
    if let Some(origin) = &extras.origin {
        add(
            ORIGIN_FILE,
            serde_json::to_string_pretty(origin)?.as_bytes(),
        )?;
    }
    Ok(installed)
}

/// Write generated bytes and record them.
fn add_generated(
    installed: &mut Installed,
    dest: &dyn Destination,
    scheme: Scheme,
    rel: &str,
    bytes: &[u8],
    executable: bool,
) -> anyhow::Result<()> {
    if let Some(placed) = dest.write(installed.root, scheme, rel, bytes, executable)? {
        installed.rows.push(RecordEntry {
            path: placed.record_path,
            hash: Some(record_hash(bytes)),
            size: Some(bytes.len() as u64),
        });
    }
    Ok(())
}

/// A RECORD row's hash and size.
type RecordHash = (Option<String>, Option<u64>);

/// A file from `.data/scripts/`: `#!python` rewritten to the destination's interpreter, and
/// always executable. Rewritten scripts are new files, never edits through a cache link.
fn install_script(
    root: Scheme,
    src: &Path,
    rel: &str,
    dest: &dyn Destination,
) -> anyhow::Result<Option<(Placed, RecordHash)>> {
    use std::os::unix::fs::PermissionsExt;
    let content = fs_err::read(src)?;
    let hash = |bytes: &[u8]| (Some(record_hash(bytes)), Some(bytes.len() as u64));
    if let Some(rewritten) = rewrite_python_shebang(&content, dest.python()) {
        let h = hash(&rewritten);
        return Ok(dest
            .write(root, Scheme::Scripts, rel, &rewritten, true)?
            .map(|p| (p, h)));
    }
    let h = hash(&content);
    let executable = std::fs::metadata(src)?.permissions().mode() & 0o111 != 0;
    let placed = if executable {
        dest.link(root, Scheme::Scripts, rel, src)?
    } else {
        dest.write(root, Scheme::Scripts, rel, &content, true)?
    };
    Ok(placed.map(|p| (p, h)))
}

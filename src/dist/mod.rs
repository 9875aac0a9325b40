//! Distribution names (PEP 503 normalization) and file names: wheels (PEP 427) and sdists.
//!
//! This module owns name normalization and validation, parsing of wheel and sdist file
//! names found on indexes and in find-links directories, and the `.dist-info` name rule.

pub mod direct_url;
pub mod metadata;
pub mod pep508;
pub mod record;
pub mod source;
pub mod tags;

use std::str::FromStr;

use pep440_rs::Version;

use crate::dist::tags::{Tag, Tags};

/// A file name that is not a valid wheel or sdist name; each variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum FilenameError {
    #[error("{filename:?} is not a wheel file name (it does not end in .whl)")]
    NotAWheel { filename: String },
    #[error(
        "invalid wheel file name {filename:?}: expected 5 or 6 `-`-separated parts, found {parts}"
    )]
    WrongPartCount { filename: String, parts: usize },
    #[error("invalid file name {filename:?}: {name:?} is not a valid project name")]
    InvalidName { filename: String, name: String },
    #[error("invalid file name {filename:?}: {version:?} is not a valid version: {reason}")]
    InvalidVersion {
        filename: String,
        version: String,
        reason: String,
    },
    #[error("invalid wheel file name {filename:?}: build tag {build:?} must start with a digit")]
    InvalidBuildTag { filename: String, build: String },
    #[error("invalid wheel file name {filename:?}: empty compatibility tag in {field:?}")]
    InvalidTag { filename: String, field: String },
    #[error("{filename:?} is not an sdist file name (expected .tar.gz, .zip or .tar.bz2)")]
    NotAnSdist { filename: String },
    #[error(
        "sdist file name {filename:?} does not start with project {project:?} followed by `-`"
    )]
    NameMismatch { filename: String, project: String },
    #[error("invalid sdist file name {filename:?}: no `-` between name and version")]
    NoVersion { filename: String },
}

/// PEP 503 normalization: lowercase, runs of `-`, `_` and `.` become one `-`.
pub fn normalize_name(name: &str) -> String {
    join_name_runs(name, '-')
}

/// Lowercase `name` with every run of `-`, `_`, `.` replaced by `separator`.
fn join_name_runs(name: &str, separator: char) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push(separator);
            }
            in_run = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_run = false;
        }
    }
    out
}

/// A valid PEP 508 project name: ASCII letters and digits, with `-`, `_`, `.` inside only.
pub fn is_valid_name(name: &str) -> bool {
    let inner_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    match (name.chars().next(), name.chars().last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && name.chars().all(inner_ok)
        }
        _ => false,
    }
}

/// The `.dist-info` directory name for a project: `my_pkg-1.0.dist-info` (name normalized
/// with `_`, `-` in the version replaced by `_`), as the wheel spec escapes them.
pub fn dist_info_name(name: &str, version: &str) -> String {
    format!(
        "{}-{}.dist-info",
        join_name_runs(name, '_'),
        version.replace('-', "_")
    )
}

fn parse_version(filename: &str, version: &str) -> Result<Version, FilenameError> {
    Version::from_str(version).map_err(|e| FilenameError::InvalidVersion {
        filename: filename.to_string(),
        version: version.to_string(),
        reason: e.to_string(),
    })
}

fn check_name(filename: &str, name: &str) -> Result<(), FilenameError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(FilenameError::InvalidName {
            filename: filename.to_string(),
            name: name.to_string(),
        })
    }
}

/// A parsed wheel file name: `{name}-{version}(-{build})?-{py}-{abi}-{plat}.whl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelFilename {
    /// The name as written in the file name (inline when short, as most are: a resolution
    /// holds one per wheel it has seen).
    pub name: compact_str::CompactString,
    pub version: Version,
    /// The optional build tag as (leading number, rest); a missing one sorts lowest.
    pub build: Option<(u64, String)>,
    /// Every tag the file supports: the cross product of the `.`-separated tag sets.
    pub tags: Vec<Tag>,
    /// The whole file name.
    pub filename: String,
}

impl WheelFilename {
    /// Parse a wheel file name (just the name, no directory).
    pub fn parse(filename: &str) -> Result<WheelFilename, FilenameError> {
        let stem = filename
            .strip_suffix(".whl")
            .ok_or_else(|| FilenameError::NotAWheel {
                filename: filename.to_string(),
            })?;
        let parts: Vec<&str> = stem.split('-').collect();
        if parts.len() != 5 && parts.len() != 6 {
            return Err(FilenameError::WrongPartCount {
                filename: filename.to_string(),
                parts: parts.len(),
            });
        }
        check_name(filename, parts[0])?;
        let version = parse_version(filename, parts[1])?;
        let build = match parts.len() {
            6 => Some(parse_build_tag(filename, parts[2])?),
            _ => None,
        };
        let n = parts.len();
        let tags = expand_tags(filename, parts[n - 3], parts[n - 2], parts[n - 1])?;
        Ok(WheelFilename {
            name: parts[0].into(),
            version,
            build,
            tags,
            filename: filename.to_string(),
        })
    }

    /// The PEP 503 normalized project name.
    pub fn normalized_name(&self) -> String {
        normalize_name(&self.name)
    }

    /// The best (lowest) rank of any of this file's tags, or `None` if none is accepted.
    pub fn best_rank(&self, tags: &Tags) -> Option<usize> {
        self.tags.iter().filter_map(|tag| tags.rank(tag)).min()
    }
}

/// `"1"` -> `(1, "")`, `"2abc"` -> `(2, "abc")`.
fn parse_build_tag(filename: &str, build: &str) -> Result<(u64, String), FilenameError> {
    let digits = build.chars().take_while(|c| c.is_ascii_digit()).count();
    let number = build[..digits]
        .parse::<u64>()
        .map_err(|_| FilenameError::InvalidBuildTag {
            filename: filename.to_string(),
            build: build.to_string(),
        })?;
    Ok((number, build[digits..].to_string()))
}

/// The cross product of the `.`-separated python, abi and platform tag sets.
fn expand_tags(
    filename: &str,
    python: &str,
    abi: &str,
    platform: &str,
) -> Result<Vec<Tag>, FilenameError> {
    let split = |field: &str| -> Result<Vec<String>, FilenameError> {
        let values: Vec<String> = field.split('.').map(str::to_string).collect();
        if values.iter().any(String::is_empty) {
            return Err(FilenameError::InvalidTag {
                filename: filename.to_string(),
                field: field.to_string(),
            });
        }
        Ok(values)
    };
    let (pythons, abis, platforms) = (split(python)?, split(abi)?, split(platform)?);
    let mut tags = Vec::with_capacity(pythons.len() * abis.len() * platforms.len());
    for python in &pythons {
        for abi in &abis {
            for platform in &platforms {
                tags.push(Tag::new(python, abi, platform));
            }
        }
    }
    Ok(tags)
}

/// The archive format of an sdist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdistExt {
    TarGz,
    Zip,
    TarBz2,
}

impl SdistExt {
    /// The file name suffix, with its leading dot.
    pub fn suffix(self) -> &'static str {
        match self {
            SdistExt::TarGz => ".tar.gz",
            SdistExt::Zip => ".zip",
            SdistExt::TarBz2 => ".tar.bz2",
        }
    }

    /// The extension `filename` ends with and the part before it.
    fn split(filename: &str) -> Option<(&str, SdistExt)> {
        [SdistExt::TarGz, SdistExt::Zip, SdistExt::TarBz2]
            .into_iter()
            .find_map(|ext| filename.strip_suffix(ext.suffix()).map(|stem| (stem, ext)))
    }
}

/// A parsed sdist file name: `{name}-{version}.tar.gz` (or legacy `.zip`, `.tar.bz2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdistFilename {
    /// The name as written in the file name.
    pub name: String,
    pub version: Version,
    /// The whole file name.
    pub filename: String,
    pub extension: SdistExt,
}

impl SdistFilename {
    /// Parse an sdist file name. Legacy names may contain `-`, so with `project` the version
    /// is what follows the prefix that normalizes to the project's name; without it the
    /// split is at the last `-`.
    pub fn parse(filename: &str, project: Option<&str>) -> Result<SdistFilename, FilenameError> {
        let (stem, extension) =
            SdistExt::split(filename).ok_or_else(|| FilenameError::NotAnSdist {
                filename: filename.to_string(),
            })?;
        let (name, version) = match project {
            Some(project) => {
                split_at_project(stem, project).ok_or_else(|| FilenameError::NameMismatch {
                    filename: filename.to_string(),
                    project: project.to_string(),
                })?
            }
            None => stem
                .rsplit_once('-')
                .ok_or_else(|| FilenameError::NoVersion {
                    filename: filename.to_string(),
                })?,
        };
        check_name(filename, name)?;
        Ok(SdistFilename {
            name: name.to_string(),
            version: parse_version(filename, version)?,
            filename: filename.to_string(),
            extension,
        })
    }

    /// The PEP 503 normalized project name.
    pub fn normalized_name(&self) -> String {
        normalize_name(&self.name)
    }
}

/// Split `stem` at the first `-` whose prefix normalizes to `project`'s normalized name.
fn split_at_project<'a>(stem: &'a str, project: &str) -> Option<(&'a str, &'a str)> {
    let wanted = normalize_name(project);
    stem.match_indices('-')
        .map(|(index, _)| (&stem[..index], &stem[index + 1..]))
        .find(|(name, _)| normalize_name(name) == wanted)
}

/// A distribution file: a wheel or an sdist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DistFilename {
    Wheel(WheelFilename),
    Sdist(SdistFilename),
}

impl DistFilename {
    /// Parse a wheel or sdist file name. `None` for other files (`.exe`, `.egg`, `.msi`, ...),
    /// for invalid names, and, when `project` is given, for files of another project.
    pub fn parse(filename: &str, project: Option<&str>) -> Option<DistFilename> {
        if filename.ends_with(".whl") {
            let wheel = WheelFilename::parse(filename).ok()?;
            let matches = project.is_none_or(|p| normalize_name(p) == wheel.normalized_name());
            return matches.then_some(DistFilename::Wheel(wheel));
        }
        SdistFilename::parse(filename, project)
            .ok()
            .map(DistFilename::Sdist)
    }

    /// The project name as written in the file name.
    pub fn name(&self) -> &str {
        match self {
            DistFilename::Wheel(wheel) => &wheel.name,
            DistFilename::Sdist(sdist) => &sdist.name,
        }
    }

    /// The version in the file name.
    pub fn version(&self) -> &Version {
        match self {
            DistFilename::Wheel(wheel) => &wheel.version,
            DistFilename::Sdist(sdist) => &sdist.version,
        }
    }

    /// The whole file name.
    pub fn filename(&self) -> &str {
        match self {
            DistFilename::Wheel(wheel) => &wheel.filename,
            DistFilename::Sdist(sdist) => &sdist.filename,
        }
    }

    /// Share `previous`'s version (one allocation) when this file's is the same, written the
    /// same way; else make this file's the one the next file may share. A page lists the
    /// files of a release one after the other (dozens of wheels for one version), and a
    /// resolution keeps every file of every page it reads.
    pub fn share_version(&mut self, previous: &mut Option<Version>) {
        let version = match self {
            DistFilename::Wheel(wheel) => &mut wheel.version,
            DistFilename::Sdist(sdist) => &mut sdist.version,
        };
        match previous {
            // Equal versions display alike unless their releases differ in trailing zeros.
            Some(p) if *p == *version && p.release().len() == version.release().len() => {
                *version = p.clone();
            }
            _ => *previous = Some(version.clone()),
        }
    }
}

/// One spelling for an upload time, whichever way it arrived (index JSON or a lock's TOML
/// datetime): `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`. Unparsable text is kept as it is.
pub fn canonical_time(text: &str) -> String {
    let Ok(dt) = text.trim().parse::<toml::value::Datetime>() else {
        return text.to_string();
    };
    let (Some(date), Some(time)) = (dt.date, dt.time) else {
        return text.to_string();
    };
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        date.year,
        date.month,
        date.day,
        time.hour,
        time.minute,
        time.second.unwrap_or(0)
    );
    let nanos = time.nanosecond.unwrap_or(0);
    if nanos != 0 {
        out.push_str(&format!(".{:06}", nanos / 1000));
    }
    match dt.offset {
        Some(toml::value::Offset::Custom { minutes }) if minutes != 0 => out.push_str(&format!(
            "{}{:02}:{:02}",
            if minutes < 0 { '-' } else { '+' },
            minutes.abs() / 60,
            minutes.abs() % 60
        )),
        _ => out.push('Z'),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(text: &str) -> Version {
        Version::from_str(text).unwrap()
    }

    #[test]
    fn normalizes_names() {
        assert_eq!(normalize_name("Foo.Bar__baz-qux"), "foo-bar-baz-qux");
        assert_eq!(normalize_name("zope.interface"), "zope-interface");
        assert_eq!(normalize_name("a-_.-b"), "a-b");
        assert_eq!(normalize_name("Django"), "django");
    }

    #[test]
    fn validates_names() {
        for good in ["a", "Foo", "foo.bar", "foo-bar_baz", "x1"] {
            assert!(is_valid_name(good), "{good}");
        }
        for bad in ["", "-foo", "foo-", "foo bar", "foo/bar", ".x", "über"] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn dist_info_names() {
        assert_eq!(dist_info_name("My-Pkg", "1.0"), "my_pkg-1.0.dist-info");
        assert_eq!(
            dist_info_name("zope.interface", "5.0"),
            "zope_interface-5.0.dist-info"
        );
        assert_eq!(dist_info_name("a__b", "1.0-1"), "a_b-1.0_1.dist-info");
    }

    #[test]
    fn parses_plain_wheel() {
        let wheel = WheelFilename::parse("six-1.16.0-py2.py3-none-any.whl").unwrap();
        assert_eq!(wheel.name, "six");
        assert_eq!(wheel.version, version("1.16.0"));
        assert_eq!(wheel.build, None);
        let tags: Vec<String> = wheel.tags.iter().map(Tag::to_string).collect();
        assert_eq!(tags, ["py2-none-any", "py3-none-any"]);
        assert_eq!(wheel.filename, "six-1.16.0-py2.py3-none-any.whl");
    }

    #[test]
    fn parses_build_tag_and_cross_product() {
        let wheel = WheelFilename::parse(
            "Foo.Bar-2.0-12abc-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        )
        .unwrap();
        assert_eq!(wheel.name, "Foo.Bar");
        assert_eq!(wheel.normalized_name(), "foo-bar");
        assert_eq!(wheel.build, Some((12, "abc".to_string())));
        assert_eq!(wheel.tags.len(), 2);
        assert_eq!(
            wheel.tags[1].to_string(),
            "cp311-cp311-manylinux2014_x86_64"
        );
    }

    #[test]
    fn missing_build_sorts_lowest() {
        let none: Option<(u64, String)> = None;
        assert!(none < Some((0, String::new())));
        assert!(Some((1, "b".to_string())) < Some((2, String::new())));
        assert!(Some((2, String::new())) < Some((2, "a".to_string())));
    }

    #[test]
    fn rejects_bad_wheels() {
        let cases = [
            ("six-1.16.0.tar.gz", "not a wheel"),
            ("six-1.16.0-any.whl", "found 3"),
            ("a-b-c-d-e-f-g.whl", "found 7"),
            ("six-1.16.0-x1-py3-none-any.whl", "build tag \"x1\""),
            (
                "six-banana-py3-none-any.whl",
                "\"banana\" is not a valid version",
            ),
            ("six-1.0-py3..py2-none-any.whl", "empty compatibility tag"),
            ("s!x-1.0-py3-none-any.whl", "not a valid project name"),
        ];
        for (filename, message) in cases {
            let error = WheelFilename::parse(filename).unwrap_err().to_string();
            assert!(error.contains(message), "{filename}: {error}");
            assert!(error.contains(filename), "{error}");
        }
    }

    #[test]
    fn files_of_one_release_share_its_version_without_changing_how_it_reads() {
        let mut previous = None;
        let names = [
            ("demo-1.0-py3-none-any.whl", "1.0"),
            ("demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", "1.0"),
            ("demo-1.0.0.tar.gz", "1.0.0"), // equal to 1.0, written differently: not shared
            ("demo-1.0.0-py3-none-any.whl", "1.0.0"),
            ("demo-2.0.tar.gz", "2.0"),
        ];
        let mut seen = Vec::new();
        for (filename, shown) in names {
            let mut dist = DistFilename::parse(filename, Some("demo")).unwrap();
            dist.share_version(&mut previous);
            assert_eq!(dist.version().to_string(), shown, "{filename}");
            assert_eq!(previous.as_ref().unwrap().to_string(), shown);
            seen.push(dist);
        }
        assert_eq!(seen[0].version(), seen[1].version());
        assert_eq!(seen[2].version(), seen[3].version());
    }

    #[test]
    fn best_rank_uses_lowest_tag_index() {
        let tags = Tags::from_list(vec![
            Tag::new("cp311", "cp311", "linux_x86_64"),
            Tag::new("py3", "none", "linux_x86_64"),
            Tag::new("py3", "none", "any"),
        ]);
        let wheel = WheelFilename::parse("x-1.0-py2.py3-none-any.linux_x86_64.whl").unwrap();
        assert_eq!(wheel.best_rank(&tags), Some(1));
        let other = WheelFilename::parse("x-1.0-cp312-cp312-win_amd64.whl").unwrap();
        assert_eq!(other.best_rank(&tags), None);
    }

    #[test]
    fn parses_sdists() {
        let sdist = SdistFilename::parse("Django-4.2.1.tar.gz", None).unwrap();
        assert_eq!(
            (sdist.name.as_str(), sdist.extension),
            ("Django", SdistExt::TarGz)
        );
        assert_eq!(sdist.version, version("4.2.1"));
        let legacy =
            SdistFilename::parse("python-dateutil-2.8.2.zip", Some("python_dateutil")).unwrap();
        assert_eq!(legacy.name, "python-dateutil");
        assert_eq!(legacy.version, version("2.8.2"));
        assert_eq!(legacy.extension, SdistExt::Zip);
        let bz =
            SdistFilename::parse("zope.interface-5.0.tar.bz2", Some("Zope-Interface")).unwrap();
        assert_eq!(bz.normalized_name(), "zope-interface");
        let no_project = SdistFilename::parse("python-dateutil-2.8.2.tar.gz", None).unwrap();
        assert_eq!(no_project.name, "python-dateutil");
    }

    #[test]
    fn sdist_errors_name_the_file() {
        let error = SdistFilename::parse("foo-bar-1.0.tar.gz", Some("foo"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("foo-bar-1.0.tar.gz") && error.contains("\"bar-1.0\""),
            "{error}"
        );
        let error = SdistFilename::parse("other-1.0.tar.gz", Some("foo"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("does not start with project \"foo\""),
            "{error}"
        );
        let error = SdistFilename::parse("foo.exe", None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("\"foo.exe\" is not an sdist"), "{error}");
    }

    #[test]
    fn dist_filename_dispatch() {
        let wheel = DistFilename::parse("six-1.16.0-py2.py3-none-any.whl", Some("Six")).unwrap();
        assert!(matches!(wheel, DistFilename::Wheel(_)));
        assert_eq!((wheel.name(), wheel.version()), ("six", &version("1.16.0")));
        let sdist = DistFilename::parse("six-1.16.0.tar.gz", None).unwrap();
        assert_eq!(sdist.filename(), "six-1.16.0.tar.gz");
        for unrelated in [
            "six-1.16.0.win32.exe",
            "six-1.16.0-py2.7.egg",
            "six.msi",
            "six-1.16.0-py3-none-any.whl.metadata",
        ] {
            assert_eq!(DistFilename::parse(unrelated, None), None, "{unrelated}");
        }
        assert_eq!(
            DistFilename::parse("other-1.0-py3-none-any.whl", Some("six")),
            None
        );
        assert_eq!(DistFilename::parse("other-1.0.tar.gz", Some("six")), None);
    }
    #[test]
    fn upload_times_have_one_spelling() {
        assert_eq!(
            canonical_time("2024-01-01T00:00:00.000000Z"),
            "2024-01-01T00:00:00Z"
        );
        assert_eq!(
            canonical_time("2024-01-01T00:00:00Z"),
            "2024-01-01T00:00:00Z"
        );
        assert_eq!(
            canonical_time("2021-05-05T14:18:18.123456Z"),
            "2021-05-05T14:18:18.123456Z"
        );
        let dt: toml::value::Datetime = "2021-05-05T14:18:18.123456Z".parse().unwrap();
        assert_eq!(
            canonical_time(&dt.to_string()),
            "2021-05-05T14:18:18.123456Z"
        );
    }
}

//! Pinned requirements in pip's format: what `pip freeze` prints, optionally with hashes.

use crate::dist::direct_url::DirectUrl;
use crate::install::installed::InstalledDist;
use crate::resolve::ResolvedDist;

/// One pinned line.
#[derive(Debug, Clone)]
pub struct Pin {
    /// As the distribution spells its name.
    pub name: String,
    pub version: String,
    /// `name @ URL` for direct references (PEP 610), with pip's `#sha256=` fragment.
    pub direct: Option<String>,
    /// (algorithm, hex) of the artifact it was installed from.
    pub hashes: Vec<(String, String)>,
    /// For an editable install: the `-e` line and the comments pip writes above it.
    pub editable: Option<EditablePin>,
}

/// `-e REQUIREMENT`, with pip's comments (`# Editable install with no version control ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditablePin {
    pub comments: Vec<String>,
    /// A path, or `git+URL@COMMIT#egg=NAME[&subdirectory=DIR]`.
    pub requirement: String,
}

impl Pin {
    pub fn line(&self, with_hashes: bool) -> String {
        if let Some(e) = &self.editable {
            // Hashes do not apply to a directory that is read in place.
            let mut text: String = e.comments.iter().map(|c| format!("{c}\n")).collect();
            text.push_str(&format!("-e {}", e.requirement));
            return text;
        }
        let mut line = match &self.direct {
            Some(reference) => format!("{} @ {reference}", self.name),
            None => format!("{}=={}", self.name, self.version),
        };
        if with_hashes {
            for (algo, hex) in &self.hashes {
                line.push_str(&format!(" \\\n    --hash={algo}:{hex}"));
            }
        }
        line
    }
}

/// The whole file, one pin per line, in the given order.
pub fn render(pins: &[Pin], with_hashes: bool) -> String {
    pins.iter()
        .map(|p| format!("{}\n", p.line(with_hashes)))
        .collect()
}

impl Pin {
    /// The pin for an installed distribution (`freeze`): its PEP 610 reference for direct
    /// installs, else `name==version`; the hash of the file it was installed from.
    pub fn from_installed(d: &InstalledDist) -> Pin {
        let hashes = match (&d.origin, &d.direct_url) {
            (Some(o), _) => vec![("sha256".to_string(), o.sha256.clone())],
            (None, Some(direct)) => direct.archive_hashes(),
            _ => Vec::new(),
        };
        Pin {
            name: d.metadata.name.clone(),
            version: normalized_version(d.version()),
            direct: d.direct_url.as_ref().map(DirectUrl::freeze_reference),
            hashes,
            editable: None,
        }
    }

    /// The pin for a resolved distribution (`lock -o requirements.txt`): every file of the
    /// version the index lists, so the lock installs on other platforms too.
    pub fn from_resolved(d: &ResolvedDist) -> Pin {
        let mut hashes: Vec<(String, String)> = d
            .files
            .iter()
            .filter_map(|c| {
                c.file
                    .hashes
                    .get("sha256")
                    .map(|h| ("sha256".to_string(), h.clone()))
            })
            .collect();
        if hashes.is_empty() {
            hashes = d
                .artifact
                .hashes
                .iter()
                .filter(|(a, _)| a == "sha256")
                .cloned()
                .collect();
        }
        hashes.sort();
        hashes.dedup();
        Pin {
            name: d.name.clone(),
            version: d.version.to_string(),
            direct: d.direct_url().as_ref().map(DirectUrl::freeze_reference),
            hashes,
            editable: None,
        }
    }
}

/// The version as pip prints it: PEP 440 normalized when it parses, else as written.
pub fn normalized_version(version: &str) -> String {
    version
        .parse::<pep440_rs::Version>()
        .map(|v| v.to_string())
        .unwrap_or_else(|_| version.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_and_direct_references() {
        let pin = Pin {
            name: "Six".into(),
            version: "1.16.0".into(),
            direct: None,
            hashes: vec![("sha256".into(), "ab".into())],
            editable: None,
        };
        assert_eq!(pin.line(false), "Six==1.16.0");
        assert_eq!(pin.line(true), "Six==1.16.0 \\\n    --hash=sha256:ab");
        let direct = DirectUrl::archive("file:///w/x-1.0-py3-none-any.whl", "ff");
        assert_eq!(
            direct.freeze_reference(),
            "file:///w/x-1.0-py3-none-any.whl#sha256=ff"
        );
        let dir = DirectUrl::directory("file:///src/proj", false);
        assert_eq!(dir.freeze_reference(), "file:///src/proj");
        let editable = Pin {
            editable: Some(EditablePin {
                comments: vec!["# Editable install with no version control (p==1)".into()],
                requirement: "/src/p".into(),
            }),
            ..pin
        };
        assert_eq!(
            editable.line(true),
            "# Editable install with no version control (p==1)\n-e /src/p"
        );
    }
}

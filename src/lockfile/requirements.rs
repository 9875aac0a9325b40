//! Pinned requirements in pip's format: what `pip freeze` prints, optionally with hashes.

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
}

impl Pin {
    pub fn line(&self, with_hashes: bool) -> String {
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

/// What pip freeze prints for a PEP 610 `direct_url.json` (the part after `name @ `).
pub fn direct_reference(direct_url: &serde_json::Value) -> Option<String> {
    let url = direct_url["url"].as_str()?;
    let mut fragments = Vec::new();
    let mut reference = if let Some(vcs) = direct_url.get("vcs_info") {
        format!(
            "{}+{url}@{}",
            vcs["vcs"].as_str().unwrap_or("git"),
            vcs["commit_id"].as_str().unwrap_or_default()
        )
    } else {
        if let Some(hash) = direct_url
            .get("archive_info")
            .and_then(|a| a["hash"].as_str())
        {
            fragments.push(hash.to_string());
        }
        url.to_string()
    };
    if let Some(sub) = direct_url["subdirectory"].as_str() {
        fragments.push(format!("subdirectory={sub}"));
    }
    if !fragments.is_empty() {
        reference.push('#');
        reference.push_str(&fragments.join("&"));
    }
    Some(reference)
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
        };
        assert_eq!(pin.line(false), "Six==1.16.0");
        assert_eq!(pin.line(true), "Six==1.16.0 \\\n    --hash=sha256:ab");
        let direct = serde_json::json!({"url": "file:///w/x-1.0-py3-none-any.whl", "archive_info": {"hash": "sha256=ff", "hashes": {"sha256": "ff"}}});
        assert_eq!(
            direct_reference(&direct).unwrap(),
            "file:///w/x-1.0-py3-none-any.whl#sha256=ff"
        );
        let dir = serde_json::json!({"url": "file:///src/proj", "dir_info": {}});
        assert_eq!(direct_reference(&dir).unwrap(), "file:///src/proj");
    }
}

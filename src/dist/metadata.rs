//! Core metadata (`METADATA`, `PKG-INFO`, PEP 658 `.metadata`): the fields installers need.

/// The fields envtool reads from core metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoreMetadata {
    pub metadata_version: String,
    pub name: String,
    pub version: String,
    pub requires_dist: Vec<String>,
    pub requires_python: Option<String>,
    pub provides_extra: Vec<String>,
    pub dynamic: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("the metadata cannot be parsed: {0}")]
    Parse(String),
    #[error("the metadata has no {0} field")]
    Missing(&'static str),
}

/// Parse the RFC 822-style header block (folded lines joined); the body is ignored.
pub fn parse(text: &str) -> Result<CoreMetadata, MetadataError> {
    let (headers, _) = mailparse::parse_headers(text.as_bytes())
        .map_err(|e| MetadataError::Parse(e.to_string()))?;
    let mut meta = CoreMetadata::default();
    for header in headers {
        let value = header.get_value();
        let value = value.trim().to_string();
        match header.get_key().to_ascii_lowercase().as_str() {
            "metadata-version" => meta.metadata_version = value,
            "name" => meta.name = value,
            "version" => meta.version = value,
            "requires-dist" => meta.requires_dist.push(value),
            "requires-python" => meta.requires_python = Some(value).filter(|v| !v.is_empty()),
            "provides-extra" => meta.provides_extra.push(value),
            "dynamic" => meta.dynamic.push(value.to_ascii_lowercase()),
            _ => {}
        }
    }
    if meta.name.is_empty() {
        return Err(MetadataError::Missing("Name"));
    }
    if meta.version.is_empty() {
        return Err(MetadataError::Missing("Version"));
    }
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_folded_lines() {
        let meta = parse(
            "Metadata-Version: 2.1\nName: My.Pkg\nVersion: 1.0\nRequires-Dist: six (>=1.0)\nRequires-Dist: pysocks ; extra == 'socks'\nProvides-Extra: socks\nRequires-Python: >=3.8\nSummary: a long\n  folded line\n\nBody text\nName: not-a-header\n",
        )
        .unwrap();
        assert_eq!(meta.name, "My.Pkg");
        assert_eq!(meta.version, "1.0");
        assert_eq!(
            meta.requires_dist,
            vec!["six (>=1.0)", "pysocks ; extra == 'socks'"]
        );
        assert_eq!(meta.provides_extra, vec!["socks"]);
        assert_eq!(meta.requires_python.as_deref(), Some(">=3.8"));
        assert!(parse("Name: x\n").is_err());
    }
}

//! pip's own configuration, read the way pip reads it, so envtool uses the index a user has
//! already set up: config files (global, user, site, `PIP_CONFIG_FILE`), then `PIP_*` variables.
//! Only the keys that choose where packages come from are read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The settings envtool takes from pip.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipConfig {
    pub index_url: Option<String>,
    pub extra_index_urls: Vec<String>,
    pub find_links: Vec<String>,
    pub no_index: bool,
    pub cert: Option<PathBuf>,
}

/// The config files pip reads, lowest priority first.
fn config_files() -> Vec<PathBuf> {
    let env_file = std::env::var_os("PIP_CONFIG_FILE");
    if env_file.as_deref() == Some(std::ffi::OsStr::new("/dev/null")) {
        return Vec::new();
    }
    let mut files = Vec::new();
    let xdg_dirs = std::env::var("XDG_CONFIG_DIRS").unwrap_or_else(|_| "/etc/xdg".into());
    for dir in xdg_dirs.split(':').filter(|d| !d.is_empty()) {
        files.push(Path::new(dir).join("pip").join("pip.conf"));
    }
    files.push(PathBuf::from("/etc/pip.conf"));
    if let Some(home) = directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf()) {
        files.push(home.join(".pip").join("pip.conf"));
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".config"));
        files.push(config.join("pip").join("pip.conf"));
    }
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV") {
        files.push(PathBuf::from(venv).join("pip.conf"));
    }
    if let Some(file) = env_file.filter(|f| !f.is_empty()) {
        files.push(PathBuf::from(file));
    }
    files
}

/// `[section] key = value` with indented continuation lines; keys as pip spells them
/// (`index_url` and `index-url` are the same key).
fn parse_ini(text: &str) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    let mut section = String::new();
    let mut last: Option<(String, String)> = None;
    for raw in text.lines() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            if let Some(key) = &last {
                if let Some(v) = out.get_mut(key) {
                    let v: &mut String = v;
                    v.push('\n');
                    v.push_str(trimmed);
                }
            }
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = name.trim().to_ascii_lowercase();
            last = None;
            continue;
        }
        let split = trimmed.find(['=', ':']);
        if let Some(i) = split {
            let key = trimmed[..i].trim().to_ascii_lowercase().replace('_', "-");
            let value = trimmed[i + 1..].trim().to_string();
            let k = (section.clone(), key);
            out.insert(k.clone(), value);
            last = Some(k);
        }
    }
    out
}

fn truthy(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

fn split_list(v: &str) -> Vec<String> {
    v.split_whitespace().map(String::from).collect()
}

impl PipConfig {
    fn apply(&mut self, key: &str, value: &str) {
        match key {
            "index-url" => self.index_url = Some(value.trim().to_string()),
            "extra-index-url" => self.extra_index_urls = split_list(value),
            "find-links" => self.find_links = split_list(value),
            "no-index" => self.no_index = truthy(value),
            "cert" => self.cert = Some(PathBuf::from(value.trim())),
            _ => {}
        }
    }

    /// pip's configuration as pip would see it for `pip install`.
    pub fn load() -> PipConfig {
        let mut config = PipConfig::default();
        for file in config_files() {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let values = parse_ini(&text);
            for section in ["global", "install"] {
                for ((s, key), value) in &values {
                    if s == section {
                        config.apply(key, value);
                    }
                }
            }
        }
        for (var, key) in [
            ("PIP_INDEX_URL", "index-url"),
            ("PIP_EXTRA_INDEX_URL", "extra-index-url"),
            ("PIP_FIND_LINKS", "find-links"),
            ("PIP_NO_INDEX", "no-index"),
            ("PIP_CERT", "cert"),
        ] {
            if let Ok(value) = std::env::var(var) {
                if !value.trim().is_empty() {
                    config.apply(key, &value);
                }
            }
        }
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pip_ini() {
        let values = parse_ini(
            "[global]\nindex-url = https://example.invalid/simple\nextra_index_url =\n    https://a.invalid/simple\n    https://b.invalid/simple\n# comment\n[install]\nno-index: true\n",
        );
        let mut config = PipConfig::default();
        for ((_, k), v) in &values {
            config.apply(k, v);
        }
        assert_eq!(
            config.index_url.as_deref(),
            Some("https://example.invalid/simple")
        );
        assert_eq!(config.extra_index_urls.len(), 2);
        assert!(config.no_index);
    }
}

//! Flags, `ENVTOOL_*` variables and pip's configuration merged into one value per run.

use std::path::PathBuf;

use crate::env_vars::{self, non_empty_var};
pub use crate::index::IndexSettings;

/// The global options as given on the command line (before variables and configuration).
#[derive(Debug, Clone, Default)]
pub struct GlobalOptions {
    pub cache_dir: Option<PathBuf>,
    pub no_cache: bool,
    pub offline: bool,
    pub index_url: Option<String>,
    pub extra_index_url: Vec<String>,
    pub find_links: Vec<String>,
    pub no_index: bool,
}

/// Where things live for this run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub cache_dir: PathBuf,
    /// Keeps a `--no-cache` directory alive until the run ends.
    _temp_cache: Option<std::sync::Arc<tempfile::TempDir>>,
    pub offline: bool,
    globals: GlobalOptions,
    /// How deeply nested in source builds this run is (build environments install with +1).
    pub build_depth: usize,
}

/// Index options a requirements file may carry (`-i`, `--extra-index-url`, `-f`, `--no-index`);
/// they count as flags.
#[derive(Debug, Clone, Default)]
pub struct FileIndexOptions {
    pub index_url: Option<String>,
    pub extra_index_urls: Vec<String>,
    pub find_links: Vec<String>,
    pub no_index: bool,
}

impl Settings {
    /// Whether this run's cache is a throw-away one (`--no-cache`), removed when the run ends.
    pub fn throwaway_cache(&self) -> bool {
        self._temp_cache.is_some()
    }

    pub fn from_globals(globals: &GlobalOptions) -> anyhow::Result<Self> {
        let (cache_dir, temp) = if globals.no_cache {
            let dir = tempfile::Builder::new()
                .prefix("envtool-cache-")
                .tempdir()?;
            (dir.path().to_path_buf(), Some(std::sync::Arc::new(dir)))
        } else if let Some(dir) = &globals.cache_dir {
            (absolute(dir), None)
        } else if let Some(dir) = non_empty_var(env_vars::ENVTOOL_CACHE_DIR) {
            (absolute(&PathBuf::from(dir)), None)
        } else {
            (crate::dirs::default_cache_dir(), None)
        };
        let offline = globals.offline
            || non_empty_var(env_vars::ENVTOOL_OFFLINE).is_some_and(|v| {
                matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
            });
        Ok(Settings {
            cache_dir,
            _temp_cache: temp,
            offline,
            globals: globals.clone(),
            build_depth: 0,
        })
    }

    /// Merge flags (and requirements-file options), then `ENVTOOL_*`, then pip's configuration,
    /// then the default index pip itself uses (`pip_default`, from the interpreter).
    pub fn index_settings(
        &self,
        file: &FileIndexOptions,
        pip_default: Option<&str>,
    ) -> anyhow::Result<IndexSettings> {
        let g = &self.globals;
        let pip = crate::pip_conf::PipConfig::load();
        let env_list = crate::env_vars::list_var;
        let first_list = |layers: Vec<Vec<String>>| {
            layers
                .into_iter()
                .find(|l| !l.is_empty())
                .unwrap_or_default()
        };

        let no_index = g.no_index || file.no_index || (pip.no_index && g.index_url.is_none());
        let primary = g
            .index_url
            .clone()
            .or_else(|| file.index_url.clone())
            .or_else(|| non_empty_var(env_vars::ENVTOOL_INDEX_URL))
            .or_else(|| pip.index_url.clone())
            .or_else(|| pip_default.map(String::from));
        let mut extras = g.extra_index_url.clone();
        extras.extend(file.extra_index_urls.iter().cloned());
        let extras = first_list(vec![
            extras,
            env_list(env_vars::ENVTOOL_EXTRA_INDEX_URL),
            pip.extra_index_urls.clone(),
        ]);
        let mut links = g.find_links.clone();
        links.extend(file.find_links.iter().cloned());
        let find_links = first_list(vec![
            links,
            env_list(env_vars::ENVTOOL_FIND_LINKS),
            pip.find_links.clone(),
        ]);

        let mut index_urls = Vec::new();
        if !no_index {
            for text in primary.iter().chain(extras.iter()) {
                let url = parse_index_url(text)?;
                if !index_urls.contains(&url) {
                    index_urls.push(url);
                }
            }
        }
        let cert = non_empty_var(env_vars::SSL_CERT_FILE)
            .map(PathBuf::from)
            .or(pip.cert.clone());
        Ok(IndexSettings {
            index_urls,
            find_links,
            cert,
        })
    }
}

/// An index base URL, with a trailing slash so project names join under it.
fn parse_index_url(text: &str) -> anyhow::Result<url::Url> {
    let with_slash = if text.ends_with('/') {
        text.to_string()
    } else {
        format!("{text}/")
    };
    url::Url::parse(&with_slash).map_err(|e| {
        crate::error::user(
            format!("invalid index URL {:?}: {e}", crate::redact::text_of(text)),
            "pass a full URL such as http://host/simple to --index-url (or ENVTOOL_INDEX_URL)",
        )
    })
}

fn absolute(path: &std::path::Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

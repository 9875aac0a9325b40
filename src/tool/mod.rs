//! Tools: an environment per command-line tool under the tool directory, a receipt saying how
//! to rebuild it (`envtool-tool.toml`), and shims in the bin directory.
//!
//! ```text
//! <ENVTOOL_TOOL_DIR or <data dir>/envtool/tools>/
//!   <name>/                  a normal envtool environment
//!   <name>/envtool-tool.toml the receipt
//! ```

pub mod shim;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::user;

/// The receipt in a tool's environment (also the last-use stamp of `tool run` environments).
pub const RECEIPT: &str = crate::cache::TOOL_ENV_STAMP;

/// How a tool was installed: enough to rebuild it when its interpreter is gone.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct Receipt {
    pub name: String,
    /// The requirement the user asked for, as given.
    pub requirement: String,
    /// `--with` requirements.
    #[serde(default)]
    pub with: Vec<String>,
    /// `--with-executables-from` packages.
    #[serde(default)]
    pub executables_from: Vec<String>,
    /// `--python` as given, if any.
    #[serde(default)]
    pub python_request: Option<String>,
    /// The interpreter the environment was built with.
    pub python: PathBuf,
    pub python_version: String,
    /// Commands exposed as shims.
    #[serde(default)]
    pub shims: Vec<String>,
    /// What was installed (`name==version`), a lock of the environment.
    #[serde(default)]
    pub locked: Vec<String>,
    /// `--pre` was given.
    #[serde(default)]
    pub pre: bool,
    /// Constraints and overrides given at install (paths absolute, no credentials); upgrades
    /// apply them again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
    /// `--suffix`: appended to the tool's directory and command names.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub suffix: String,
}

impl Receipt {
    /// The tool's id: its directory name and the owner of its shims (`name` + suffix).
    pub fn id(&self) -> String {
        format!("{}{}", self.name, self.suffix)
    }

    /// The names its commands have on PATH (with the suffix).
    pub fn exposed(&self) -> Vec<String> {
        self.shims
            .iter()
            .map(|c| format!("{c}{}", self.suffix))
            .collect()
    }

    /// The installed version of the tool's package.
    pub fn version(&self) -> Option<String> {
        self.locked.iter().find_map(|l| {
            let (n, v) = l.split_once("==")?;
            (crate::dist::normalize_name(n) == self.name).then(|| v.to_string())
        })
    }

    pub fn render(&self) -> anyhow::Result<String> {
        let body =
            toml::to_string(self).map_err(|e| anyhow::anyhow!("cannot write the receipt: {e}"))?;
        Ok(format!(
            "# How envtool installed this tool; `envtool tool upgrade {}` rebuilds it from here.\n{body}",
            self.name
        ))
    }

    pub fn read(env_dir: &Path) -> anyhow::Result<Receipt> {
        let path = env_dir.join(RECEIPT);
        let text = fs_err::read_to_string(&path)?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{} is damaged: {e}", path.display()))
    }
}

pub use crate::dirs::{bin_dir, tool_dir};

/// Whether `suffix` may end a tool's directory and command names.
pub fn suffix_ok(suffix: &str) -> bool {
    suffix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | '+'))
}

/// A tool's directory, from its id (a package name, perhaps with a suffix), refusing anything
/// that is not one. The id as written wins; else its normalized form (`Black` is `black`).
pub fn env_dir(id: &str) -> anyhow::Result<PathBuf> {
    let ok = id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric()) && suffix_ok(id);
    if !ok {
        return Err(user(
            format!("{id:?} is not a valid tool name"),
            "tool names are package names (letters, digits, `-`, `_` and `.`), perhaps with a --suffix",
        ));
    }
    let exact = tool_dir().join(id);
    if exact.exists() {
        return Ok(exact);
    }
    Ok(tool_dir().join(crate::dist::normalize_name(id)))
}

/// Every installed tool: (directory name, receipt or why it cannot be read).
pub fn installed() -> Vec<(String, anyhow::Result<Receipt>)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(tool_dir()) else {
        return out;
    };
    let mut dirs: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if name.starts_with('.') {
            continue;
        }
        out.push((name, Receipt::read(&dir)));
    }
    out
}

/// Why a tool cannot run, if it cannot: its environment or interpreter is gone.
pub fn broken_reason(env_dir: &Path) -> Option<String> {
    let python = env_dir.join("bin").join("python");
    if !env_dir.join("pyvenv.cfg").is_file() {
        return Some("its environment is missing".into());
    }
    if std::fs::canonicalize(&python).is_err() {
        let target = std::fs::read_link(&python)
            .map(|t| t.display().to_string())
            .unwrap_or_default();
        return Some(format!("its interpreter {target} is gone"));
    }
    None
}

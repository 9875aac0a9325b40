//! Shims: small POSIX `sh` scripts on PATH that run a command of an environment: a Python
//! script with that environment's interpreter (no shebang of the environment is ever exposed,
//! so paths with spaces or over 127 bytes work), any other file (a native binary) directly. A missing interpreter or environment gets a message
//! naming the repair command instead of "bad interpreter". `shims/tool-shim.cmd` is the
//! Windows form of the same template.

use std::path::{Path, PathBuf};

use crate::error::user;
use crate::install::commands::Kind;
use crate::shell::quote_sh;

const TEMPLATE: &str = include_str!("../../shims/tool-shim.sh");
const MARKER: &str = "# envtool-shim: ";

/// Who a shim belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// A tool installed with `envtool tool install`.
    Tool(String),
    /// An environment exposed with `envtool shim DIR`.
    Env(PathBuf),
}

impl Owner {
    fn marker(&self) -> String {
        match self {
            Owner::Tool(name) => format!("tool={name}"),
            Owner::Env(dir) => format!("env={}", dir.display()),
        }
    }

    fn parse(text: &str) -> Option<Owner> {
        if let Some(name) = text.strip_prefix("tool=") {
            return Some(Owner::Tool(name.trim().to_string()));
        }
        text.strip_prefix("env=")
            .map(|d| Owner::Env(PathBuf::from(d.trim())))
    }

    pub fn describe(&self) -> String {
        match self {
            Owner::Tool(name) => format!("tool {name}"),
            Owner::Env(dir) => format!("the environment {}", dir.display()),
        }
    }
}

/// The owner recorded in an existing file, or None if envtool did not write it.
pub fn owner_of(path: &Path) -> Option<Owner> {
    let mut head = vec![0u8; 8192];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .ok()?;
    let text = String::from_utf8_lossy(&head[..n]);
    let line = text.lines().nth(1)?;
    Owner::parse(line.strip_prefix(MARKER)?)
}

/// The shim text for one command. A path or name with a line break is refused: the shim's
/// comment lines carry them, and a line break there would start a shell line.
pub fn render(
    owner: &Owner,
    command: &str,
    kind: Kind,
    env_dir: &Path,
    repair: &str,
    remove: &str,
) -> anyhow::Result<String> {
    let texts = [
        env_dir.to_string_lossy(),
        command.into(),
        owner.marker().into(),
    ];
    if texts.iter().any(|t| t.contains(['\n', '\r'])) {
        return Err(user(
            format!(
                "cannot write a shim for {:?}: the path or name contains a newline",
                env_dir.display()
            ),
            "move the environment to a path without line breaks",
        ));
    }
    let python = env_dir.join("bin").join("python");
    let script = env_dir.join("bin").join(command);
    let (check, exec) = if kind.runs_with_python() {
        (
            r#"[ -f "$script" ] && [ -x "$py" ]"#,
            r#"exec "$py" "$script" "$@""#,
        )
    } else {
        (
            r#"[ -f "$script" ] && [ -x "$script" ]"#,
            r#"exec "$script" "$@""#,
        )
    };
    Ok(TEMPLATE
        .replace("__CHECK__", check)
        .replace("__EXEC__", exec)
        .replace("__OWNER__", &owner.marker())
        .replace("__COMMAND__", command)
        .replace("__REMOVE__", remove)
        .replace(
            "__ERROR__",
            &quote_sh(&format!(
                "envtool: cannot run {command}: the environment of {} is broken (its interpreter or files are gone)",
                owner.describe()
            )),
        )
        .replace("__HINT__", &quote_sh(&format!("hint: repair it with: {repair}")))
        .replace("__PYTHON__", &quote_sh(&python.to_string_lossy()))
        .replace("__SCRIPT__", &quote_sh(&script.to_string_lossy())))
}

/// Refuse to write over a file envtool did not create (or that belongs to someone else),
/// unless `force`.
pub fn check_free(bin_dir: &Path, command: &str, owner: &Owner, force: bool) -> anyhow::Result<()> {
    let path = bin_dir.join(command);
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(());
    }
    match owner_of(&path) {
        Some(o) if &o == owner => Ok(()),
        Some(other) if !force => Err(user(
            format!(
                "{} and {} both provide the command {command} ({} belongs to {})",
                owner.describe(),
                other.describe(),
                path.display(),
                other.describe()
            ),
            format!(
                "uninstall {} first, or pass --force to take the command over",
                other.describe()
            ),
        )),
        None if !force => Err(user(
            format!("{} exists and was not created by envtool", path.display()),
            "remove or rename it, or pass --force to replace it",
        )),
        _ => Ok(()),
    }
}

/// Make sure the bin directory exists and can take new files, before anything else changes.
pub fn ensure_bin_dir(bin_dir: &Path) -> anyhow::Result<()> {
    let problem = std::fs::create_dir_all(bin_dir).err().or_else(|| {
        tempfile::Builder::new()
            .prefix(".envtool-probe-")
            .tempfile_in(bin_dir)
            .err()
    });
    match problem {
        None => Ok(()),
        Some(e) => Err(user(
            format!("cannot write shims into {}: {e}", bin_dir.display()),
            "make it writable, or choose another with ENVTOOL_BIN_DIR (or --bin-dir)",
        )),
    }
}

/// Write a shim atomically (mode 0755).
pub fn write(bin_dir: &Path, command: &str, text: &str) -> anyhow::Result<PathBuf> {
    let path = bin_dir.join(command);
    crate::fsx::write_atomic_mode(&path, text.as_bytes(), 0o755).map_err(|e| {
        user(
            format!("cannot write the shim {}: {e:#}", path.display()),
            "make the bin directory writable, or choose another with ENVTOOL_BIN_DIR / --bin-dir",
        )
    })?;
    Ok(path)
}

/// Remove a shim if (and only if) it belongs to `owner`.
pub fn remove_if_owned(bin_dir: &Path, command: &str, owner: &Owner) -> bool {
    let path = bin_dir.join(command);
    if owner_of(&path).as_ref() == Some(owner) {
        return std::fs::remove_file(&path).is_ok();
    }
    false
}

/// Whether `dir` is on PATH, and if not the line that puts it there for the user's shell.
pub fn path_advice(dir: &Path) -> Option<String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    if std::env::split_paths(&path).any(|p| p == dir) {
        return None;
    }
    let shell = std::env::var(crate::env_vars::SHELL).unwrap_or_default();
    let shell = shell.rsplit('/').next().unwrap_or("");
    let quoted = quote_sh(&dir.to_string_lossy());
    // The exact line for the profile: the directory quoted as one shell word.
    let line = match shell {
        "fish" => format!("fish_add_path {quoted}"),
        "zsh" => format!("export PATH={quoted}:\"$PATH\"   (in ~/.zshrc)"),
        _ => format!("export PATH={quoted}:\"$PATH\"   (in ~/.bashrc)"),
    };
    Some(line)
}

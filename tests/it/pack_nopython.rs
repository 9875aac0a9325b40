//! A host without Python, for the packs that must not need one (or must find one the way a
//! user's machine offers it): a private mount namespace (`unshare --mount`) in which every
//! interpreter envtool can see, the standard libraries and the shared libpythons are
//! hidden (tmpfs over directories, /dev/null over files), optionally with some interpreters
//! kept, and the command runs under `env -i` with a bare PATH.
//!
//! It needs `unshare -m` (root, or unprivileged user namespaces); [`NoPython::new`] says why
//! when that is unavailable, for the test to skip with.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common;

/// How to enter a mount namespace here.
fn unshare_prefix() -> Result<Vec<&'static str>, String> {
    let tries: [&[&str]; 2] = [
        &["unshare", "--mount", "--propagation", "private"],
        &[
            "unshare",
            "--user",
            "--map-root-user",
            "--mount",
            "--propagation",
            "private",
        ],
    ];
    let mut why = String::new();
    for prefix in tries {
        match Command::new(prefix[0])
            .args(&prefix[1..])
            .args([
                "sh",
                "-c",
                "mount -t tmpfs none /mnt 2>/dev/null || mount -t tmpfs none /tmp",
            ])
            .output()
        {
            Ok(o) if o.status.success() => return Ok(prefix.to_vec()),
            Ok(o) => why = String::from_utf8_lossy(&o.stderr).trim().to_string(),
            Err(e) => why = e.to_string(),
        }
    }
    Err(format!(
        "no mount namespace for a host without Python (`unshare --mount` failed: {why})"
    ))
}

/// Where the interpreters envtool lists live: their installation prefixes (not `/usr`).
fn interpreter_prefixes() -> Vec<PathBuf> {
    let out = Command::new(common::envtool_bin())
        .args(["python", "list", "--json"])
        .env("PYENV_ROOT", common::pyenv_root())
        .output();
    let Ok(out) = out else {
        return Vec::new();
    };
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let mut prefixes = Vec::new();
    for row in rows {
        let exe = PathBuf::from(row["executable"].as_str().unwrap_or_default());
        let Ok(real) = exe.canonicalize() else {
            continue;
        };
        let Some(prefix) = real.parent().and_then(|bin| bin.parent()) else {
            continue;
        };
        if ["/", "/usr", "/usr/local"]
            .iter()
            .any(|p| prefix == Path::new(p))
        {
            continue;
        }
        prefixes.push(prefix.to_path_buf());
    }
    prefixes.sort();
    prefixes.dedup();
    prefixes
}

fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

pub struct NoPython {
    unshare: Vec<&'static str>,
    keep: Vec<PathBuf>,
    hide: Vec<PathBuf>,
    env: Vec<(String, String)>,
    setup: String,
}

impl NoPython {
    /// A namespace hiding every Python, or why there can be none here.
    pub fn new() -> Result<NoPython, String> {
        Ok(NoPython {
            unshare: unshare_prefix()?,
            keep: Vec::new(),
            hide: Vec::new(),
            env: vec![("PATH".into(), "/usr/bin:/bin".into())],
            setup: String::new(),
        })
    }

    /// Leave this installation prefix visible (at its own path).
    pub fn keep(mut self, prefix: &Path) -> Self {
        self.keep.push(prefix.to_path_buf());
        self
    }

    /// Also hide this file (e.g. a system library a carried interpreter brings its own of).
    pub fn hide(mut self, file: &Path) -> Self {
        self.hide.push(file.to_path_buf());
        self
    }

    /// A variable of the command's (otherwise empty) environment.
    pub fn env(mut self, key: &str, value: impl AsRef<str>) -> Self {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.as_ref().into()));
        self
    }

    /// sh run inside the namespace after hiding, before the command (e.g. fake pyenv shims).
    pub fn setup(mut self, script: &str) -> Self {
        self.setup.push_str(script);
        self.setup.push('\n');
        self
    }

    /// `program args...` inside the namespace.
    pub fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut dirs: Vec<PathBuf> = vec![common::pyenv_root()];
        dirs.extend(interpreter_prefixes());
        let mut script = String::from("set -e\nk=$(mktemp -d)\n");
        for (i, prefix) in self.keep.iter().enumerate() {
            script.push_str(&format!(
                "mkdir -p \"$k/{i}\"; mount --bind {} \"$k/{i}\"\n",
                sh_quote(&prefix.to_string_lossy())
            ));
        }
        for dir in &dirs {
            script.push_str(&format!(
                "if [ -d {d} ]; then mount -t tmpfs -o size=4m,mode=755 none {d}; fi\n",
                d = sh_quote(&dir.to_string_lossy())
            ));
        }
        script.push_str(
            "for d in /usr/lib/python3* /usr/local/lib/python3* /usr/lib/python2* /usr/local/lib/python2*; do\n\
             \x20   if [ -d \"$d\" ]; then mount -t tmpfs -o ro,size=4k none \"$d\"; fi\n\
             done\n\
             for f in /usr/bin/python* /usr/local/bin/python* /bin/python* /usr/lib/*/libpython* /usr/lib/libpython* /usr/local/lib/libpython*; do\n\
             \x20   if [ -e \"$f\" ] && [ ! -d \"$f\" ]; then mount --bind /dev/null \"$f\"; fi\n\
             done\n",
        );
        for file in &self.hide {
            script.push_str(&format!(
                "f={}; if [ -e \"$f\" ]; then mount --bind /dev/null \"$(readlink -f \"$f\")\"; fi\n",
                sh_quote(&file.to_string_lossy())
            ));
        }
        script.push_str(
            "for n in python python3 python3.8 python3.9 python3.10 python3.11 python3.12 python3.13 python3.14; do\n\
             \x20   if PATH=/usr/local/bin:/usr/bin:/bin command -v $n >/dev/null 2>&1; then echo \"nopython: $n is still visible\" >&2; exit 3; fi\n\
             done\n",
        );
        for (i, prefix) in self.keep.iter().enumerate() {
            script.push_str(&format!(
                "mkdir -p {p}; mount --bind \"$k/{i}\" {p}\n",
                p = sh_quote(&prefix.to_string_lossy())
            ));
        }
        script.push_str(&self.setup);
        script.push_str("exec env -i");
        for (k, v) in &self.env {
            script.push_str(&format!(" {k}={}", sh_quote(v)));
        }
        script.push_str(" \"$@\"\n");
        let mut cmd = Command::new(self.unshare[0]);
        cmd.args(&self.unshare[1..])
            .args(["sh", "-c", &script, "nopython"])
            .arg(program)
            .args(args);
        cmd
    }
}

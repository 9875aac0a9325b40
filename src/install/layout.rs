//! Where an environment's files go (sysconfig's venv scheme, from the interpreter's facts).

use std::path::{Path, PathBuf};

use crate::python::facts::Facts;

#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
    pub purelib: PathBuf,
    pub platlib: PathBuf,
    pub scripts: PathBuf,
    pub data: PathBuf,
    /// `include/site/pythonX.Y`; a distribution's headers go in a subdirectory named after it.
    pub headers_base: PathBuf,
    /// The environment's interpreter, as launchers and `#!python` scripts name it.
    pub python: PathBuf,
    /// The real interpreter binary, to run during installation (byte-compiling).
    pub interpreter: PathBuf,
}

impl Layout {
    pub fn new(root: &Path, facts: &Facts) -> Layout {
        Layout {
            root: root.to_path_buf(),
            purelib: root.join(facts.scheme_path("purelib")),
            platlib: root.join(facts.scheme_path("platlib")),
            scripts: root.join(facts.scheme_path("scripts")),
            data: root.join(facts.scheme_path("data")),
            headers_base: root
                .join("include")
                .join("site")
                .join(facts.versioned_name()),
            python: root.join(facts.scheme_path("scripts")).join("python"),
            interpreter: facts.executable.clone(),
        }
    }

    /// The directory a `.data/<key>/` subtree installs into.
    pub fn scheme_dir(&self, key: &str, dist_name: &str) -> Option<PathBuf> {
        match key {
            "purelib" => Some(self.purelib.clone()),
            "platlib" => Some(self.platlib.clone()),
            "scripts" => Some(self.scripts.clone()),
            "data" => Some(self.data.clone()),
            "headers" => Some(self.headers_base.join(dist_name)),
            _ => None,
        }
    }
}

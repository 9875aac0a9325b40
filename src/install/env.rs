//! The environment destination of the installer core: files land in the environment's scheme
//! directories, linked from the cache (or copied), every change journaled in the transaction.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::core::{Destination, Placed, Scheme};
use super::layout::Layout;
use super::link::Linker;
use super::txn::Txn;
use crate::error::user;
use crate::fetch::unpack::safe_relative;
use crate::fsx::{normalize, relative_to};

/// An environment (or a staging directory that becomes one) being changed in one transaction.
pub struct EnvDestination<'a> {
    pub layout: &'a Layout,
    pub txn: &'a Txn,
    pub linker: &'a Linker,
}

impl EnvDestination<'_> {
    fn dir(&self, scheme: Scheme) -> &Path {
        match scheme {
            Scheme::Purelib => &self.layout.purelib,
            Scheme::Platlib => &self.layout.platlib,
            Scheme::Scripts => &self.layout.scripts,
            Scheme::Data => &self.layout.data,
            Scheme::Headers => &self.layout.headers_base,
        }
    }

    /// Where the files of `.dist-info` `name` are written until its RECORD is complete.
    fn staging(&self, root: Scheme, name: &str) -> PathBuf {
        self.dir(root).join(format!(".{name}.envtool-new"))
    }

    /// Where a file physically goes: a `.dist-info` is built under its staging name, so a
    /// reader never sees one without its RECORD.
    fn physical(&self, root: Scheme, scheme: Scheme, dest: PathBuf) -> PathBuf {
        if scheme != root {
            return dest;
        }
        let base = normalize(self.dir(root));
        let Ok(rel) = dest.strip_prefix(&base) else {
            return dest;
        };
        let mut parts = rel.components();
        match parts.next() {
            Some(first) if first.as_os_str().to_string_lossy().ends_with(".dist-info") => {
                let name = first.as_os_str().to_string_lossy().into_owned();
                self.staging(root, &name).join(parts.as_path())
            }
            _ => dest,
        }
    }

    /// `rel` under the scheme's directory, refusing anything that would leave it.
    fn target(&self, scheme: Scheme, rel: &str) -> anyhow::Result<PathBuf> {
        let base = self.dir(scheme);
        let inside = safe_relative(rel)
            .map(|r| normalize(&base.join(r)))
            .filter(|dest| dest.starts_with(normalize(base)));
        let dest = inside.ok_or_else(|| {
            user(
                format!("refusing to write {rel:?}: it would land outside the environment"),
                "the wheel is malformed or malicious; nothing was installed",
            )
        })?;
        if let Some(what) = reserved(self.layout, &dest) {
            return Err(user(
                format!(
                    "refusing to write {}: it is envtool's own {what}",
                    dest.display()
                ),
                "a package may not replace the environment's interpreter, activation scripts, pyvenv.cfg or envtool's state; the package is malformed or malicious, and nothing was installed",
            ));
        }
        Ok(dest)
    }

    fn placed(&self, root: Scheme, file: PathBuf) -> Placed {
        Placed {
            record_path: relative_to(&file, self.dir(root))
                .to_string_lossy()
                .into_owned(),
            file: Some(file),
        }
    }
}

impl Destination for EnvDestination<'_> {
    fn begin(&self, _root: Scheme) {}

    fn link(
        &self,
        root: Scheme,
        scheme: Scheme,
        rel: &str,
        src: &Path,
    ) -> anyhow::Result<Option<Placed>> {
        let dest = self.target(scheme, rel)?;
        let physical = self.physical(root, scheme, dest.clone());
        place(self.txn, self.linker, src, &physical)?;
        let mut placed = self.placed(root, dest);
        placed.file = Some(physical);
        Ok(Some(placed))
    }

    fn write(
        &self,
        root: Scheme,
        scheme: Scheme,
        rel: &str,
        bytes: &[u8],
        executable: bool,
    ) -> anyhow::Result<Option<Placed>> {
        let dest = self.target(scheme, rel)?;
        let physical = self.physical(root, scheme, dest.clone());
        let mode = if executable { 0o755 } else { 0o644 };
        write_new(self.txn, &physical, bytes, mode)?;
        let mut placed = self.placed(root, dest);
        placed.file = Some(physical);
        Ok(Some(placed))
    }

    fn finish(&self, root: Scheme, dist_info: &str) -> anyhow::Result<()> {
        let staging = self.staging(root, dist_info);
        let final_dir = self.dir(root).join(dist_info);
        self.txn.will_create_dir(&final_dir)?;
        fs_err::rename(&staging, &final_dir)?;
        Ok(())
    }

    fn record_path(
        &self,
        root: Scheme,
        scheme: Scheme,
        rel: &str,
    ) -> anyhow::Result<Option<String>> {
        let dest = self.target(scheme, rel)?;
        Ok(Some(self.placed(root, dest).record_path))
    }

    fn python(&self) -> &Path {
        &self.layout.python
    }
}

/// What a path of the environment is, when no package may write it.
pub fn reserved(layout: &Layout, dest: &Path) -> Option<&'static str> {
    let root = normalize(&layout.root);
    if let Ok(rel) = dest.strip_prefix(&root) {
        let first = rel.components().next()?.as_os_str().to_string_lossy();
        if first.starts_with(".envtool") {
            return Some("state directory");
        }
        if rel == Path::new("pyvenv.cfg") {
            return Some("pyvenv.cfg");
        }
    }
    if dest.parent() == Some(normalize(&layout.scripts).as_path()) {
        let name = dest.file_name()?.to_string_lossy();
        if is_interpreter_name(&name) {
            return Some("interpreter");
        }
        if name.starts_with("activate") || name.starts_with("deactivate") || name == "Activate.ps1"
        {
            return Some("activation script");
        }
    }
    None
}

/// `python`, `python3`, `python3.12`, `pythonw`, `pypy3`, ... (what `bin/` links to the
/// interpreter, in any version).
pub fn is_interpreter_name(name: &str) -> bool {
    ["python", "pypy"].iter().any(|prefix| {
        name.strip_prefix(prefix).is_some_and(|rest| {
            let rest = rest.strip_prefix('w').unwrap_or(rest);
            rest.chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == 't')
        })
    })
}

/// Write a new file: beside and renamed into place, so a file already there (perhaps a hard
/// link into the cache, placed by another distribution) is replaced, never written through.
fn write_new(txn: &Txn, path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    txn.will_create(path)?;
    let parent = path.parent().context("an installed file has a parent")?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".envtool-")
        .tempfile_in(parent)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    tmp.persist(path).map_err(|e| {
        anyhow::Error::new(e.error).context(format!("cannot write {}", path.display()))
    })?;
    Ok(())
}

/// Link (or copy) a cached file into the environment. When another distribution of the same
/// plan already put a file there (shared namespace files), the later one wins, as with pip.
fn place(txn: &Txn, linker: &Linker, src: &Path, dest: &Path) -> anyhow::Result<()> {
    txn.will_create(dest)?;
    let kind_is = |e: &anyhow::Error, kind: std::io::ErrorKind| {
        e.chain().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == kind)
        })
    };
    let mut attempt = 0;
    loop {
        match linker.place(src, dest) {
            // Several threads may race for the same shared file; the last one wins.
            Err(e) if kind_is(&e, std::io::ErrorKind::AlreadyExists) && attempt < 8 => {
                attempt += 1;
                match txn.clear_conflict(dest) {
                    Ok(()) => {}
                    Err(e) if kind_is(&e, std::io::ErrorKind::NotFound) => {}
                    Err(e) => return Err(e),
                }
            }
            other => return other.with_context(|| format!("cannot install {}", dest.display())),
        }
    }
}

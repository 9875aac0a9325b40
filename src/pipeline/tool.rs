//! Tool environments: build one from what the user asked for (or from its receipt), beside the
//! old one, and swap it in only when it is complete and its commands are free to expose; tell
//! whether an installed tool is current without building anything.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::dist::normalize_name;
use crate::error::user;
use crate::install::commands;
use crate::install::installed;
use crate::install::layout::Layout;
use crate::python::Interpreter;
use crate::requirements::remembered::Remembered;
use crate::requirements::request::Sources;
use crate::tool::shim::{self, Owner};
use crate::tool::{self as tools, Receipt};
use crate::venv::{self, CreateSpec};

use super::{InstallOptions, Session, Target};

/// What to build: the parts of a receipt that come from the user.
#[derive(Debug, Clone, Default)]
pub struct ToolSpec {
    /// The package's name (normalized).
    pub name: String,
    /// The requirement, paths made absolute.
    pub requirement: String,
    pub with: Vec<String>,
    pub executables_from: Vec<String>,
    pub python_request: Option<String>,
    pub pre: bool,
    /// Appended to the tool's directory and command names (side-by-side versions).
    pub suffix: String,
    pub constraint_files: Vec<PathBuf>,
    pub override_files: Vec<PathBuf>,
    /// Constraints and overrides an earlier install was given (its receipt).
    pub remembered: Remembered,
    /// Constraints for this build only (`tool install-all` pinning the versions it lists).
    pub pins: Vec<String>,
}

impl ToolSpec {
    /// What a receipt says to build again (`upgrade`, `install --force`, `inject`).
    pub fn from_receipt(old: &Receipt) -> ToolSpec {
        ToolSpec {
            name: old.name.clone(),
            requirement: old.requirement.clone(),
            with: old.with.clone(),
            executables_from: old.executables_from.clone(),
            python_request: old.python_request.clone(),
            pre: old.pre,
            suffix: old.suffix.clone(),
            constraint_files: Vec::new(),
            override_files: Vec::new(),
            remembered: Remembered {
                constraints: old.constraints.clone(),
                overrides: old.overrides.clone(),
            },
            pins: Vec::new(),
        }
    }

    /// The tool's id: its directory name and the owner of its shims.
    pub fn id(&self) -> String {
        format!("{}{}", normalize_name(&self.name), self.suffix)
    }

    fn sources(&self) -> Sources {
        Sources {
            reqs: std::iter::once(self.requirement.clone())
                .chain(self.with.iter().cloned())
                .collect(),
            constraint_files: self.constraint_files.clone(),
            override_files: self.override_files.clone(),
            remembered: self.remembered.clone(),
            one_off_constraints: self.pins.clone(),
            ..Default::default()
        }
    }
}

/// Where a new tool's commands go, and whether it may take over files there.
pub struct Exposure<'a> {
    pub owner: &'a Owner,
    pub bin: &'a Path,
    pub force: bool,
}

/// The commands of the named distributions in an environment: console scripts and the files
/// they install into `bin/` (`.data/scripts`, e.g. ruff's native binary).
pub fn commands_of(layout: &Layout, packages: &[String]) -> anyhow::Result<Vec<String>> {
    let (dists, _) = installed::scan(&layout.purelib);
    let mut out = BTreeSet::new();
    for package in packages {
        let key = normalize_name(package);
        let Some(dist) = dists.iter().find(|d| d.key == key) else {
            return Err(user(
                format!("{package} is not installed in the tool's environment"),
                "name a package the tool depends on with --with-executables-from, or add it with --with",
            ));
        };
        out.extend(
            commands::of_dist(dist, &layout.purelib, &layout.scripts)
                .into_iter()
                .map(|c| c.name),
        );
    }
    Ok(out.into_iter().collect())
}

impl Session {
    /// The name a requirement installs: as written, or read from the file or project it points
    /// at (a project's metadata is built; the build is cached for the install that follows).
    pub fn name_of(
        &self,
        spec: &crate::requirements::ReqSpec,
        facts: &crate::python::facts::Facts,
    ) -> anyhow::Result<String> {
        if let crate::requirements::ReqSpec::Named(req) = spec {
            return Ok(req.name.to_string());
        }
        let index = self.open_index(&Default::default(), facts)?;
        let build = self.build_context(facts);
        let tags = crate::python::tags::from_facts(facts);
        let fetcher = super::direct::DirectFetcher {
            index: &index,
            cache: &self.cache,
            build: &build,
            tags: &tags,
        };
        let (req, _) = fetcher.requirement_of(spec, &[])?;
        Ok(req.name.to_string())
    }

    /// Whether building `spec` again would install exactly what `receipt` lists (resolving
    /// only: nothing is downloaded beyond metadata, nothing built for wheels).
    pub fn tool_is_current(
        &self,
        spec: &ToolSpec,
        interpreter: &Interpreter,
        receipt: &Receipt,
    ) -> anyhow::Result<bool> {
        let opts = InstallOptions {
            pre: spec.pre,
            ..Default::default()
        };
        let resolved = self.resolve(&interpreter.facts, &spec.sources(), &opts, &[])?;
        let mut now: Vec<(String, String)> = resolved
            .resolution
            .dists
            .iter()
            .map(|d| (d.key.clone(), d.version.to_string()))
            .collect();
        now.sort();
        let mut then: Vec<(String, String)> = receipt
            .locked
            .iter()
            .filter_map(|l| {
                let (n, v) = l.split_once("==")?;
                Some((normalize_name(n), v.to_string()))
            })
            .collect();
        then.sort();
        Ok(now == then)
    }

    /// Build (or rebuild) a tool environment at `dir` and return its receipt; nothing at `dir`
    /// changes unless the new environment is complete and its commands are free to expose.
    pub fn build_tool(
        &self,
        spec: &ToolSpec,
        dir: &Path,
        interpreter: &Interpreter,
        exposure: Option<Exposure>,
    ) -> anyhow::Result<Receipt> {
        let existing = dir.exists();
        if existing && !dir.join(tools::RECEIPT).is_file() {
            // Only what holds envtool's receipt is envtool's to replace.
            return Err(user(
                format!(
                    "{} exists and holds no envtool receipt ({}), so envtool leaves it alone",
                    dir.display(),
                    tools::RECEIPT
                ),
                "move it away (it is not a tool envtool installed), or choose another ENVTOOL_TOOL_DIR",
            ));
        }
        if existing && !venv::is_environment(dir) {
            // A tool directory whose environment is damaged: it is ours to replace.
            fs_err::remove_dir_all(dir)?;
        }
        let create = CreateSpec {
            dir: dir.to_path_buf(),
            interpreter,
            prompt: Some(spec.id()),
            system_site_packages: false,
            clear: true,
            command: format!("envtool tool install {}", spec.requirement),
        };
        let mut receipt = Receipt::default();
        venv::create(&create, |staging| {
            let target = Target {
                root: staging.to_path_buf(),
                python: dir.join("bin").join("python"),
                facts: &interpreter.facts,
            };
            let opts = InstallOptions {
                pre: spec.pre,
                ..Default::default()
            };
            self.install(&target, &spec.sources(), &opts)?;
            let layout = target.layout();
            let mut packages = vec![spec.name.clone()];
            packages.extend(spec.executables_from.iter().cloned());
            let commands = commands_of(&layout, &packages)?;
            if commands.is_empty() {
                return Err(user(
                    format!(
                        "{} has no commands (console scripts or files in bin/), so there is nothing to put on PATH",
                        spec.name
                    ),
                    format!(
                        "for a library, make an environment instead: envtool create DIR {}",
                        spec.requirement
                    ),
                ));
            }
            if let Some(e) = &exposure {
                for command in &commands {
                    shim::check_free(
                        e.bin,
                        &format!("{command}{}", spec.suffix),
                        e.owner,
                        e.force,
                    )?;
                }
            }
            let remembered = Remembered::load(&staging.join(venv::STATE_DIR))?;
            let (dists, _) = installed::scan(&layout.purelib);
            let mut locked: Vec<String> = dists
                .iter()
                .map(|d| format!("{}=={}", d.metadata.name, d.version()))
                .collect();
            locked.sort_by_key(|l| l.to_lowercase());
            receipt = Receipt {
                name: normalize_name(&spec.name),
                requirement: spec.requirement.clone(),
                with: spec.with.clone(),
                executables_from: spec.executables_from.clone(),
                python_request: spec.python_request.clone(),
                python: interpreter.executable.clone(),
                python_version: interpreter.facts.version_string(),
                shims: commands,
                locked,
                pre: spec.pre,
                suffix: spec.suffix.clone(),
                constraints: remembered.constraints,
                overrides: remembered.overrides,
            };
            crate::fsx::write_atomic(&staging.join(tools::RECEIPT), receipt.render()?.as_bytes())?;
            Ok(())
        })?;
        Ok(receipt)
    }
}

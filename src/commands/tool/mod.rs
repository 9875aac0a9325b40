//! `envtool tool install|inject|install-all|list|uninstall|upgrade|run|dir`: an environment per
//! tool, a receipt, shims on PATH. The building is `pipeline::tool`'s; this is the glue: what
//! the user typed into a `ToolSpec`, the shims, and one line per tool.

mod install;
mod list;
mod manage;
mod run;

use crate::cache::Cache;
use crate::cli::ToolCommand;
use crate::error::user;
use crate::install::commands;
use crate::output;
use crate::pipeline::tool::{Exposure, ToolSpec};
use crate::pipeline::Session;
use crate::python::Interpreter;
use crate::requirements::remembered::line_of;
use crate::requirements::{parse_requirement, ReqSpec};
use crate::settings::Settings;
use crate::tool::shim::{self, Owner};
use crate::tool::{self as tools, Receipt};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

pub fn tool(cmd: ToolCommand, settings: &Settings, cache: &Cache) -> anyhow::Result<ExitCode> {
    crate::interrupt::install_handlers();
    let session = Session::new(settings, cache);
    match cmd {
        ToolCommand::Install(args) => install::install(args, &session),
        ToolCommand::Inject { name, reqs } => install::inject(&name, &reqs, &session),
        ToolCommand::InstallAll { file } => install::install_all(&file, &session),
        ToolCommand::List { json } => list::list(json),
        ToolCommand::Uninstall { names } => manage::uninstall(&names),
        ToolCommand::Upgrade {
            names,
            all,
            reinstall,
            python,
        } => manage::upgrade(&names, all, reinstall, python.as_deref(), &session),
        ToolCommand::Run(args) => run::run(args, &session),
        ToolCommand::Dir { bin } => {
            let dir = if bin {
                tools::bin_dir()
            } else {
                tools::tool_dir()
            };
            writeln!(std::io::stdout().lock(), "{}", dir.display())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Run `f` with the pipeline's progress lines hidden (warnings and errors still show), so an
/// upgrade says one line per tool.
fn quietly<T>(f: impl FnOnce() -> T) -> T {
    let _quiet = output::Quiet::enter();
    f()
}

fn find_python(request: Option<&str>, cache: &Cache) -> anyhow::Result<Interpreter> {
    crate::python::find(request, cache)
}

fn parse(requirement: &str) -> anyhow::Result<ReqSpec> {
    parse_requirement(requirement, &std::env::current_dir()?).map_err(|e| {
        user(
            format!("{e}"),
            "name the tool's package as a requirement (`httpie`, `black<25`), or a path (`.`, `./proj`)",
        )
    })
}

/// The requirement as a receipt keeps it: as given for a name, else `name @ URL` with an
/// absolute location, so an upgrade from any directory builds the same thing.
fn stored_requirement(spec: &ReqSpec, name: &str) -> String {
    match spec {
        ReqSpec::Named(req)
            if !matches!(req.version_or_url, Some(pep508_rs::VersionOrUrl::Url(_))) =>
        {
            req.to_string()
        }
        ReqSpec::Named(_) => line_of(spec),
        ReqSpec::Unnamed {
            location, extras, ..
        } => {
            let url = match location {
                crate::requirements::Location::Path(p) => url::Url::from_file_path(p)
                    .map(|u| u.to_string())
                    .unwrap_or_else(|_| p.display().to_string()),
                crate::requirements::Location::Url(u) => u.to_string(),
            };
            let extras = if extras.is_empty() {
                String::new()
            } else {
                let names: Vec<&str> = extras.iter().map(|e| e.as_ref()).collect();
                format!("[{}]", names.join(","))
            };
            line_of(
                &parse_requirement(&format!("{name}{extras} @ {url}"), Path::new("/"))
                    .unwrap_or_else(|_| spec.clone()),
            )
        }
    }
}

/// A requirement that says nothing but the name (`black`): a reinstall keeps the receipt's.
fn is_bare_name(spec: &ReqSpec) -> bool {
    matches!(spec, ReqSpec::Named(r) if r.version_or_url.is_none() && r.extras.is_empty() && r.marker.is_true())
}

/// Write the receipt's shims and remove the ones an older receipt had that are gone now.
fn expose(receipt: &Receipt, old: Option<&Receipt>, dir: &Path) -> anyhow::Result<()> {
    let bin = tools::bin_dir();
    shim::ensure_bin_dir(&bin)?;
    let id = receipt.id();
    let owner = Owner::Tool(id.clone());
    // Upgrading rebuilds from the receipt, so the user's requirements survive the repair.
    let repair = format!("envtool tool upgrade {id}");
    let remove = format!("`envtool tool uninstall {id}` removes it.");
    for command in &receipt.shims {
        let kind = commands::kind_of_file(&dir.join("bin").join(command));
        shim::write(
            &bin,
            &format!("{command}{}", receipt.suffix),
            &shim::render(&owner, command, kind, dir, &repair, &remove)?,
        )?;
    }
    if let Some(old) = old {
        let now = receipt.exposed();
        for command in old.exposed().iter().filter(|c| !now.contains(c)) {
            shim::remove_if_owned(&bin, command, &owner);
        }
    }
    Ok(())
}

/// Say once, after the commands were put there, when the bin dir is not on PATH.
fn path_advice() {
    let bin = tools::bin_dir();
    if let Some(line) = shim::path_advice(&bin) {
        output::warn(&format!(
            "{} is not on PATH, so the commands cannot be found by name",
            bin.display()
        ));
        output::hint_line(&format!(
            "add this line to your shell profile: {line}   (see `envtool tool dir --bin`)"
        ));
    }
}

/// Build `spec` into its directory, expose its commands, and return the receipt.
fn build_and_expose(
    session: &Session,
    spec: &ToolSpec,
    interpreter: &Interpreter,
    old: Option<&Receipt>,
    force: bool,
) -> anyhow::Result<Receipt> {
    let dir = tools::tool_dir().join(spec.id());
    let owner = Owner::Tool(spec.id());
    let bin = tools::bin_dir();
    shim::ensure_bin_dir(&bin)?;
    fs_err::create_dir_all(tools::tool_dir())?;
    let exposure = Exposure {
        owner: &owner,
        bin: &bin,
        force,
    };
    let receipt = session.build_tool(spec, &dir, interpreter, Some(exposure))?;
    expose(&receipt, old, &dir)?;
    Ok(receipt)
}

/// An installed tool's receipt, or why there is none.
fn read_receipt(id: &str) -> anyhow::Result<Receipt> {
    let dir = tools::env_dir(id)?;
    if !dir.exists() {
        return Err(user(
            format!("tool {id} is not installed"),
            format!("install it with `envtool tool install {id}`"),
        ));
    }
    Receipt::read(&dir).map_err(|e| {
        user(
            format!("tool {id}: {e:#}"),
            format!("reinstall it with `envtool tool install --force {id}`"),
        )
    })
}

/// The interpreter to rebuild a tool with: `python` if given, else the receipt's request; when
/// that one is gone, the default (and the receipt stops asking for the missing one).
fn interpreter_for(
    old: &Receipt,
    python: Option<&str>,
    spec: &mut ToolSpec,
    cache: &Cache,
) -> anyhow::Result<Interpreter> {
    let request = python.map(String::from).or(old.python_request.clone());
    spec.python_request = request.clone();
    match find_python(request.as_deref(), cache) {
        Ok(i) => Ok(i),
        Err(e) if python.is_none() => {
            output::warn(&format!(
                "{} was installed with Python {} ({}), which is not available ({e:#}); using the default interpreter",
                old.id(),
                old.python_version,
                old.python.display()
            ));
            spec.python_request = None;
            find_python(None, cache)
        }
        Err(e) => Err(e),
    }
}

//! `envtool tool install|inject|install-all|list|uninstall|upgrade|run|dir`: an environment per
//! tool, a receipt, shims on PATH. The building is `pipeline::tool`'s; this is the glue: what
//! the user typed into a `ToolSpec`, the shims, and one line per tool.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cache::{Bucket, Cache};
use crate::cli::{ToolCommand, ToolInstallArgs, ToolRunArgs};
use crate::dist::normalize_name;
use crate::error::user;
use crate::install::commands;
use crate::output;
use crate::pipeline::tool::{Exposure, ToolSpec};
use crate::pipeline::Session;
use crate::python::Interpreter;
use crate::requirements::remembered::{line_of, Remembered};
use crate::requirements::{parse_requirement, ReqSpec};
use crate::settings::Settings;
use crate::tool::shim::{self, Owner};
use crate::tool::{self as tools, Receipt};

pub fn tool(cmd: ToolCommand, settings: &Settings, cache: &Cache) -> anyhow::Result<ExitCode> {
    crate::interrupt::install_handlers();
    let session = Session::new(settings, cache);
    match cmd {
        ToolCommand::Install(args) => install(args, &session),
        ToolCommand::Inject { name, reqs } => inject(&name, &reqs, &session),
        ToolCommand::InstallAll { file } => install_all(&file, &session),
        ToolCommand::List { json } => list(json),
        ToolCommand::Uninstall { names } => uninstall(&names),
        ToolCommand::Upgrade {
            names,
            all,
            reinstall,
            python,
        } => upgrade(&names, all, reinstall, python.as_deref(), &session),
        ToolCommand::Run(args) => run(args, &session),
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

fn install(args: ToolInstallArgs, session: &Session) -> anyhow::Result<ExitCode> {
    let _guard = session.cache.use_shared()?;
    if !tools::suffix_ok(&args.suffix) {
        return Err(crate::error::usage(
            format!("--suffix {:?} cannot end a file name", args.suffix),
            "use letters, digits and `-`, `_`, `.`, `@`, `+` (e.g. --suffix @24)",
        ));
    }
    let req = parse(&args.req)?;
    let named = match &req {
        ReqSpec::Named(r) => Some(normalize_name(r.name.as_ref())),
        ReqSpec::Unnamed { .. } => None,
    };
    // A path or URL says its name only once its metadata is read.
    let mut interpreter = None;
    let name = match named {
        Some(n) => n,
        None => {
            let i = find_python(args.python.as_deref(), &session.cache)?;
            let n = normalize_name(&session.name_of(&req, &i.facts)?);
            interpreter = Some(i);
            n
        }
    };
    let id = format!("{name}{}", args.suffix);
    let dir = tools::env_dir(&id)?;
    let old = Receipt::read(&dir).ok();
    if let Some(o) = &old {
        if o.name != name {
            return Err(user(
                format!(
                    "the tool directory {} belongs to {} (package {}), not to {name}",
                    dir.display(),
                    o.id(),
                    o.name
                ),
                "choose another --suffix",
            ));
        }
    }
    let given_constraints = !args.constraint.is_empty() || !args.overrides.is_empty();
    if let (Some(o), false) = (&old, args.force) {
        if !args.with.is_empty() || given_constraints {
            // `--with` (or new constraints) on an installed tool adds to it, as pipx's inject.
            return add_to(o, &args.with, &args.constraint, &args.overrides, session);
        }
        return Err(user(
            format!("tool {id} is already installed ({})", dir.display()),
            format!(
                "add packages with `envtool tool install {id} --with PKG`, move to newer versions with `envtool tool upgrade {id}`, or rebuild with --force"
            ),
        ));
    }
    // A reinstall keeps what the receipt was given, unless new values are given.
    let keep = old.as_ref().filter(|_| args.force);
    let requirement = match keep {
        Some(o) if is_bare_name(&req) => o.requirement.clone(),
        _ => stored_requirement(&req, &name),
    };
    let pick = |given: &Vec<String>, kept: Option<&Vec<String>>| -> Vec<String> {
        match kept {
            Some(k) if given.is_empty() => k.clone(),
            _ => given.clone(),
        }
    };
    let spec = ToolSpec {
        name: name.clone(),
        requirement,
        with: pick(&args.with, keep.map(|o| &o.with)),
        executables_from: pick(
            &args.with_executables_from,
            keep.map(|o| &o.executables_from),
        ),
        python_request: args
            .python
            .clone()
            .or_else(|| keep.and_then(|o| o.python_request.clone())),
        pre: args.pre || keep.is_some_and(|o| o.pre),
        suffix: args.suffix.clone(),
        constraint_files: args.constraint.clone(),
        override_files: args.overrides.clone(),
        remembered: keep.map(remembered_of).unwrap_or_default(),
        pins: Vec::new(),
    };
    let interpreter = match interpreter {
        Some(i) if spec.python_request == args.python => i,
        _ => find_python(spec.python_request.as_deref(), &session.cache)?,
    };
    let receipt = build_and_expose(session, &spec, &interpreter, old.as_ref(), args.force)?;
    output::info(&format!(
        "Installed tool {} {} with Python {}: {}",
        receipt.id(),
        receipt.version().unwrap_or_default(),
        receipt.python_version,
        receipt.exposed().join(", ")
    ));
    path_advice();
    Ok(ExitCode::SUCCESS)
}

fn remembered_of(r: &Receipt) -> Remembered {
    Remembered {
        constraints: r.constraints.clone(),
        overrides: r.overrides.clone(),
    }
}

/// Rebuild an installed tool with more packages (and constraints): `tool inject`, or
/// `tool install NAME --with PKG` on an installed tool.
fn add_to(
    old: &Receipt,
    with: &[String],
    constraint_files: &[PathBuf],
    override_files: &[PathBuf],
    session: &Session,
) -> anyhow::Result<ExitCode> {
    let mut spec = ToolSpec::from_receipt(old);
    for req in with {
        if !spec.with.contains(req) {
            spec.with.push(req.clone());
        }
    }
    spec.constraint_files = constraint_files.to_vec();
    spec.override_files = override_files.to_vec();
    let interpreter = interpreter_for(old, None, &mut spec, &session.cache)?;
    let receipt = build_and_expose(session, &spec, &interpreter, Some(old), false)?;
    output::info(&format!(
        "Rebuilt tool {} with {}",
        receipt.id(),
        if with.is_empty() {
            "the new constraints".to_string()
        } else {
            with.join(", ")
        }
    ));
    path_advice();
    Ok(ExitCode::SUCCESS)
}

fn inject(id: &str, reqs: &[String], session: &Session) -> anyhow::Result<ExitCode> {
    let _guard = session.cache.use_shared()?;
    let old = read_receipt(id)?;
    for r in reqs {
        parse(r)?;
    }
    add_to(&old, reqs, &[], &[], session)
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

/// One installed tool as `tool list --json` shows it: everything `tool install-all` needs to
/// install the same set on another machine.
fn row(
    id: &str,
    dir: &Path,
    receipt: Option<&Receipt>,
    reason: Option<&String>,
) -> serde_json::Value {
    serde_json::json!({
        "name": id,
        "package": receipt.map(|r| r.name.clone()),
        "version": receipt.and_then(Receipt::version),
        "requirement": receipt.map(|r| r.requirement.clone()),
        "with": receipt.map(|r| r.with.clone()).unwrap_or_default(),
        "executables_from": receipt.map(|r| r.executables_from.clone()).unwrap_or_default(),
        "suffix": receipt.map(|r| r.suffix.clone()).unwrap_or_default(),
        "pre": receipt.is_some_and(|r| r.pre),
        "python_request": receipt.and_then(|r| r.python_request.clone()),
        "constraints": receipt.map(|r| r.constraints.clone()).unwrap_or_default(),
        "overrides": receipt.map(|r| r.overrides.clone()).unwrap_or_default(),
        "locked": receipt.map(|r| r.locked.clone()).unwrap_or_default(),
        "commands": receipt.map(Receipt::exposed).unwrap_or_default(),
        "python": receipt.map(|r| r.python.clone()),
        "python_version": receipt.map(|r| r.python_version.clone()),
        "status": if reason.is_some() { "broken" } else { "ok" },
        "reason": reason,
        "path": dir,
    })
}

fn list(json: bool) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let mut rows = Vec::new();
    for (name, receipt) in tools::installed() {
        let dir = tools::tool_dir().join(&name);
        let (receipt, reason) = match receipt {
            Ok(r) => {
                let reason = tools::broken_reason(&dir);
                (Some(r), reason)
            }
            Err(e) => (None, Some(format!("its receipt cannot be read: {e:#}"))),
        };
        rows.push((name, dir, receipt, reason));
    }
    if json {
        let value: Vec<serde_json::Value> = rows
            .iter()
            .map(|(name, dir, receipt, reason)| row(name, dir, receipt.as_ref(), reason.as_ref()))
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        output::info("No tools installed");
    }
    for (name, _, receipt, reason) in &rows {
        let version = receipt
            .as_ref()
            .and_then(Receipt::version)
            .unwrap_or_else(|| "?".into());
        let commands = receipt
            .as_ref()
            .map(|r| r.exposed().join(", "))
            .unwrap_or_default();
        match reason {
            None => writeln!(out, "{name} {version}: {commands}")?,
            Some(why) => writeln!(
                out,
                "{name} {version}: {commands}  [broken: {why}; repair with `envtool tool upgrade {name}`]"
            )?,
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `tool install-all FILE`: install every tool a `tool list --json` lists, at the versions it
/// lists (its `locked` pins, for this run only), skipping the ones installed already.
fn install_all(file: &Path, session: &Session) -> anyhow::Result<ExitCode> {
    let _guard = session.cache.use_shared()?;
    let hint = "give the output of `envtool tool list --json` (from any machine)";
    let text = fs_err::read_to_string(file).map_err(|e| user(format!("{e}"), hint))?;
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text)
        .map_err(|e| user(format!("{} is not a tool list: {e}", file.display()), hint))?;
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut specs = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let (Some(package), Some(requirement)) = (r["package"].as_str(), r["requirement"].as_str())
        else {
            return Err(user(
                format!(
                    "{}: entry {} names no package and requirement",
                    file.display(),
                    i + 1
                ),
                hint,
            ));
        };
        let suffix = r["suffix"].as_str().unwrap_or("").to_string();
        if !crate::dist::is_valid_name(package) || !tools::suffix_ok(&suffix) {
            return Err(user(
                format!(
                    "{}: entry {} has a bad name {package:?}{suffix:?}",
                    file.display(),
                    i + 1
                ),
                hint,
            ));
        }
        parse(requirement)?;
        specs.push(ToolSpec {
            name: normalize_name(package),
            requirement: requirement.to_string(),
            with: strings(&r["with"]),
            executables_from: strings(&r["executables_from"]),
            python_request: r["python_request"].as_str().map(String::from),
            pre: r["pre"].as_bool().unwrap_or(false),
            suffix,
            remembered: Remembered {
                constraints: strings(&r["constraints"]),
                overrides: strings(&r["overrides"]),
            },
            pins: strings(&r["locked"]),
            ..Default::default()
        });
    }
    let mut failed = Vec::new();
    for spec in &specs {
        let id = spec.id();
        if tools::tool_dir().join(&id).exists() {
            output::info(&format!("{id} is installed already"));
            continue;
        }
        let result = find_python(spec.python_request.as_deref(), &session.cache)
            .or_else(|_| find_python(None, &session.cache))
            .and_then(|i| build_and_expose(session, spec, &i, None, false));
        match result {
            Ok(r) => output::info(&format!(
                "Installed tool {} {}: {}",
                r.id(),
                r.version().unwrap_or_default(),
                r.exposed().join(", ")
            )),
            Err(e) => {
                output::error_line(&format!("{id}: {}", crate::error::message(&e)));
                failed.push(id);
            }
        }
    }
    path_advice();
    if failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    Err(user(
        format!("could not install {}", failed.join(", ")),
        "see the errors above; the other tools are installed",
    ))
}

/// The shims in the bin dir that belong to tool `id` (found by their owner line).
fn shims_of(id: &str) -> Vec<String> {
    let owner = Owner::Tool(id.to_string());
    let Ok(rd) = std::fs::read_dir(tools::bin_dir()) else {
        return Vec::new();
    };
    let mut out: Vec<String> = rd
        .flatten()
        .filter(|e| shim::owner_of(&e.path()).as_ref() == Some(&owner))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

fn uninstall(ids: &[String]) -> anyhow::Result<ExitCode> {
    let bin = tools::bin_dir();
    // Check them all first: one unknown name changes nothing.
    let mut targets = Vec::new();
    for id in ids {
        let dir = tools::env_dir(id)?;
        let key = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !dir.exists() && shims_of(&key).is_empty() {
            return Err(user(
                format!("tool {id} is not installed"),
                "see the installed tools with `envtool tool list`",
            ));
        }
        targets.push((key, dir));
    }
    for (id, dir) in targets {
        let owner = Owner::Tool(id.clone());
        let mut commands: Vec<String> =
            Receipt::read(&dir).map(|r| r.exposed()).unwrap_or_default();
        commands.extend(shims_of(&id));
        for command in &commands {
            shim::remove_if_owned(&bin, command, &owner);
        }
        if !dir.exists() {
            output::info(&format!(
                "Removed the commands of tool {id} (its environment was already gone)"
            ));
            continue;
        }
        let trash = tempfile::Builder::new()
            .prefix(".removing-")
            .tempdir_in(tools::tool_dir())?;
        fs_err::rename(&dir, trash.path().join("env"))?;
        drop(trash);
        output::info(&format!("Uninstalled tool {id}"));
    }
    Ok(ExitCode::SUCCESS)
}

fn upgrade(
    ids: &[String],
    all: bool,
    reinstall: bool,
    python: Option<&str>,
    session: &Session,
) -> anyhow::Result<ExitCode> {
    let _guard = session.cache.use_shared()?;
    let targets: Vec<String> = if all {
        tools::installed().into_iter().map(|(n, _)| n).collect()
    } else {
        ids.to_vec()
    };
    for id in &targets {
        let old = read_receipt(id)?;
        let dir = tools::env_dir(id)?;
        let mut spec = ToolSpec::from_receipt(&old);
        let interpreter = interpreter_for(&old, python, &mut spec, &session.cache)?;
        let was_broken = tools::broken_reason(&dir).is_some();
        let same_python = interpreter.executable == old.python;
        // Nothing would change: leave the environment as it is (its shims are refreshed).
        if !was_broken && !reinstall && same_python && spec.python_request == old.python_request {
            let current = quietly(|| session.tool_is_current(&spec, &interpreter, &old))?;
            if current {
                expose(&old, Some(&old), &dir)?;
                output::info(&format!(
                    "{} is up to date ({})",
                    old.id(),
                    old.version().unwrap_or_default()
                ));
                continue;
            }
        }
        let receipt =
            quietly(|| build_and_expose(session, &spec, &interpreter, Some(&old), false))?;
        let (from, to) = (
            old.version().unwrap_or_default(),
            receipt.version().unwrap_or_default(),
        );
        let line = if was_broken {
            format!("Repaired {} ({to})", receipt.id())
        } else if from != to {
            format!("Upgraded {}: {from} -> {to}", receipt.id())
        } else if receipt.locked != old.locked {
            format!("Upgraded the dependencies of {} ({to})", receipt.id())
        } else {
            format!("Reinstalled {} ({to})", receipt.id())
        };
        output::info(&line);
    }
    Ok(ExitCode::SUCCESS)
}

/// `tool run`: a cached environment keyed by the requirements and the interpreter; a warm run
/// resolves nothing and execs the command at once.
fn run(args: ToolRunArgs, session: &Session) -> anyhow::Result<ExitCode> {
    let requirement = args.from.clone().unwrap_or_else(|| args.req.clone());
    let req = parse(&requirement)?;
    let interpreter = find_python(args.python.as_deref(), &session.cache)?;
    let name = match &req {
        ReqSpec::Named(r) => r.name.to_string(),
        ReqSpec::Unnamed { .. } => session.name_of(&req, &interpreter.facts)?,
    };
    let command = if args.from.is_some() {
        args.req.clone()
    } else {
        normalize_name(&name)
    };
    let mut key_parts = vec![
        interpreter.executable.to_string_lossy().into_owned(),
        requirement.clone(),
    ];
    let mut with = args.with.clone();
    with.sort();
    key_parts.extend(with.iter().cloned());
    let parts: Vec<&[u8]> = key_parts.iter().map(|p| p.as_bytes()).collect();
    let dir = session
        .cache
        .bucket(Bucket::ToolEnvs)?
        .join(crate::cache::key(&parts, 24));
    let receipt = match Receipt::read(&dir) {
        Ok(r) if tools::broken_reason(&dir).is_none() => {
            crate::cache::touch(&dir.join(tools::RECEIPT));
            r
        }
        _ => {
            let _guard = session.cache.use_shared()?;
            if dir.exists() && !dir.join(tools::RECEIPT).is_file() {
                // A throw-away environment in the cache, left half-made: the cache's to remove.
                fs_err::remove_dir_all(&dir)?;
            }
            let spec = ToolSpec {
                name: name.clone(),
                requirement: stored_requirement(&req, &name),
                with,
                python_request: args.python.clone(),
                ..Default::default()
            };
            session.build_tool(&spec, &dir, &interpreter, None)?
        }
    };
    let chosen = receipt
        .shims
        .iter()
        .find(|c| *c == &command || normalize_name(c) == command)
        .cloned()
        .or_else(|| {
            (receipt.shims.len() == 1 && args.from.is_none()).then(|| receipt.shims[0].clone())
        });
    let Some(chosen) = chosen else {
        return Err(user(
            format!(
                "{name} provides no command {command} (it has: {})",
                receipt.shims.join(", ")
            ),
            format!("pick one with `envtool tool run --from {requirement} COMMAND`"),
        ));
    };
    if session.settings.throwaway_cache() {
        // The environment lives in a --no-cache directory: run it as a child, so the
        // directory is removed when it ends.
        return run_command(&dir, &chosen, &args.args);
    }
    exec_command(&dir, &chosen, &args.args)
}

/// The process that starts an environment's command: a Python script with the environment's
/// interpreter, any other file (a native binary) itself.
fn launch(dir: &Path, command: &str) -> std::process::Command {
    let script = dir.join("bin").join(command);
    let mut cmd = if commands::kind_of_file(&script).runs_with_python() {
        let mut cmd = std::process::Command::new(dir.join("bin").join("python"));
        cmd.arg(script);
        cmd
    } else {
        std::process::Command::new(script)
    };
    cmd.env_remove("PYTHONHOME");
    cmd
}

/// Run an environment's command as a child and pass its exit status on.
fn run_command(dir: &Path, command: &str, args: &[std::ffi::OsString]) -> anyhow::Result<ExitCode> {
    use std::os::unix::process::ExitStatusExt;
    let _critical = crate::interrupt::Critical::enter();
    let status = launch(dir, command).args(args).status().map_err(|e| {
        user(
            format!("cannot run {command}: {e}"),
            "try again without --no-cache",
        )
    })?;
    let code = status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1);
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}

/// Run an environment's command, replacing this process.
fn exec_command(
    dir: &Path,
    command: &str,
    args: &[std::ffi::OsString],
) -> anyhow::Result<ExitCode> {
    use std::os::unix::process::CommandExt;
    let script = dir.join("bin").join(command);
    let err = launch(dir, command).args(args).exec();
    Err(user(
        format!("cannot run {}: {err}", script.display()),
        "clear the cached environment with `envtool cache clean` and try again",
    ))
}

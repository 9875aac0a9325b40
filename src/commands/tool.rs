//! `envtool tool install|list|uninstall|upgrade|run|dir`: an environment per tool, a receipt,
//! shims on PATH. Installs and upgrades build the new environment beside the old one and swap
//! it in only when complete, so a failure leaves the old tool working.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cache::{Bucket, Cache};
use crate::cli::{ToolCommand, ToolInstallArgs, ToolRunArgs};
use crate::dist::normalize_name;
use crate::error::user;
use crate::install::entry_points::{parse_entry_points, scripts};
use crate::install::installed::{self, InstalledDist};
use crate::output;
use crate::python::Interpreter;
use crate::requirements::remembered::Remembered;
use crate::requirements::{parse_requirement, ReqSpec};
use crate::settings::Settings;
use crate::tool::shim::{self, Owner};
use crate::tool::{self as tools, Receipt};
use crate::venv::{self, CreateSpec};

pub fn tool(cmd: ToolCommand, settings: &Settings, cache: &Cache) -> anyhow::Result<ExitCode> {
    crate::interrupt::install_handlers();
    match cmd {
        ToolCommand::Install(args) => install(args, settings, cache),
        ToolCommand::List { json } => list(json),
        ToolCommand::Uninstall { names } => uninstall(&names),
        ToolCommand::Upgrade {
            names,
            all,
            reinstall,
            python,
        } => upgrade(&names, all, reinstall, python.as_deref(), settings, cache),
        ToolCommand::Run(args) => run(args, settings, cache),
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

/// The package name a requirement installs.
fn package_name(requirement: &str) -> anyhow::Result<String> {
    let spec = parse_requirement(requirement, &std::env::current_dir()?).map_err(|e| {
        user(
            format!("{e}"),
            "name the tool's package as a requirement, e.g. `httpie` or `black<25`",
        )
    })?;
    match spec {
        ReqSpec::Named(req) => Ok(req.name.to_string()),
        ReqSpec::Unnamed { location, .. } => {
            let file = match &location {
                crate::requirements::Location::Path(p) => {
                    p.file_name().map(|n| n.to_string_lossy().into_owned())
                }
                crate::requirements::Location::Url(u) => u
                    .path_segments()
                    .and_then(|mut s| s.next_back().map(String::from)),
            };
            file.and_then(|f| crate::dist::WheelFilename::parse(&f).ok())
                .map(|w| w.name)
                .ok_or_else(|| {
                    user(
                        format!("cannot tell the tool's name from {requirement}"),
                        "use `name @ URL`",
                    )
                })
        }
    }
}

/// What to build: the parts of a receipt that come from the user.
struct ToolSpec {
    name: String,
    requirement: String,
    with: Vec<String>,
    executables_from: Vec<String>,
    python_request: Option<String>,
    pre: bool,
    constraint_files: Vec<PathBuf>,
    override_files: Vec<PathBuf>,
    /// Constraints and overrides an earlier install was given (its receipt).
    remembered: Remembered,
}

impl ToolSpec {
    /// What a receipt says to build again (`upgrade`, `install --force`).
    fn from_receipt(old: &Receipt, python_request: Option<String>) -> ToolSpec {
        ToolSpec {
            name: old.name.clone(),
            requirement: old.requirement.clone(),
            with: old.with.clone(),
            executables_from: old.executables_from.clone(),
            python_request,
            pre: old.pre,
            constraint_files: Vec::new(),
            override_files: Vec::new(),
            remembered: Remembered {
                constraints: old.constraints.clone(),
                overrides: old.overrides.clone(),
            },
        }
    }
}

/// Console scripts of the named distributions in an environment's site-packages.
fn commands_of(site: &Path, packages: &[String]) -> anyhow::Result<Vec<String>> {
    let (dists, _) = installed::scan(site);
    let mut out = BTreeSet::new();
    for package in packages {
        let key = normalize_name(package);
        let Some(dist) = dists.iter().find(|d| d.key == key) else {
            return Err(user(
                format!("{package} is not installed in the tool's environment"),
                "name a package the tool depends on (or add it with --with)",
            ));
        };
        out.extend(dist_commands(dist)?);
    }
    Ok(out.into_iter().collect())
}

fn dist_commands(dist: &InstalledDist) -> anyhow::Result<Vec<String>> {
    let path = dist.dist_info.join("entry_points.txt");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(Vec::new());
    };
    let entries =
        parse_entry_points(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(scripts(&entries)
        .into_iter()
        .map(|e| e.name.clone())
        .collect())
}

/// Build (or rebuild) a tool environment at `dir` and return its receipt; nothing at `dir`
/// changes unless the new environment is complete and its commands are free to expose.
fn build(
    spec: &ToolSpec,
    dir: &Path,
    interpreter: &Interpreter,
    owner: Option<(&Owner, bool)>,
    settings: &Settings,
    cache: &Cache,
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
        prompt: Some(spec.name.clone()),
        system_site_packages: false,
        clear: true,
        command: format!("envtool tool install {}", spec.requirement),
    };
    let mut receipt = Receipt::default();
    venv::create(&create, |staging| {
        let target = crate::pipeline::Target {
            root: staging.to_path_buf(),
            python: dir.join("bin").join("python"),
            facts: &interpreter.facts,
        };
        let sources = crate::requirements::request::Sources {
            reqs: std::iter::once(spec.requirement.clone())
                .chain(spec.with.iter().cloned())
                .collect(),
            constraint_files: spec.constraint_files.clone(),
            override_files: spec.override_files.clone(),
            remembered: spec.remembered.clone(),
            ..Default::default()
        };
        let opts = crate::pipeline::InstallOptions {
            pre: spec.pre,
            ..Default::default()
        };
        crate::pipeline::Session::new(settings, cache).install(&target, &sources, &opts)?;
        let layout = target.layout();
        let mut packages = vec![spec.name.clone()];
        packages.extend(spec.executables_from.iter().cloned());
        let commands = commands_of(&layout.purelib, &packages)?;
        if commands.is_empty() {
            return Err(user(
                format!(
                    "{} has no console scripts, so there is nothing to put on PATH",
                    spec.name
                ),
                format!(
                    "for a library, make an environment instead: envtool create DIR {}",
                    spec.requirement
                ),
            ));
        }
        if let Some((owner, force)) = owner {
            let bin = tools::bin_dir();
            for command in &commands {
                shim::check_free(&bin, command, owner, force)?;
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
            constraints: remembered.constraints,
            overrides: remembered.overrides,
        };
        crate::fsx::write_atomic(&staging.join(tools::RECEIPT), receipt.render()?.as_bytes())?;
        Ok(())
    })?;
    Ok(receipt)
}

/// Write the receipt's shims and remove the ones an older receipt had that are gone now.
fn expose(receipt: &Receipt, old: Option<&Receipt>, dir: &Path) -> anyhow::Result<()> {
    let bin = tools::bin_dir();
    shim::ensure_bin_dir(&bin)?;
    let owner = Owner::Tool(receipt.name.clone());
    let repair = format!(
        "envtool tool install --force {}   (or: envtool tool upgrade {})",
        receipt.name, receipt.name
    );
    let remove = format!("`envtool tool uninstall {}` removes it.", receipt.name);
    for command in &receipt.shims {
        shim::write(
            &bin,
            command,
            &shim::render(&owner, command, dir, &repair, &remove)?,
        )?;
    }
    if let Some(old) = old {
        for command in old.shims.iter().filter(|c| !receipt.shims.contains(c)) {
            shim::remove_if_owned(&bin, command, &owner);
        }
    }
    if let Some(line) = shim::path_advice(&bin) {
        output::warn(&format!(
            "{} is not on PATH, so the commands cannot be found by name",
            bin.display()
        ));
        output::hint_line(&format!(
            "add this line to your shell profile: {line}   (see `envtool tool dir --bin`)"
        ));
    }
    Ok(())
}

fn find_python(request: Option<&str>, cache: &Cache) -> anyhow::Result<Interpreter> {
    crate::python::find(request, cache)
}

fn install(args: ToolInstallArgs, settings: &Settings, cache: &Cache) -> anyhow::Result<ExitCode> {
    let _guard = cache.use_shared()?;
    let name = package_name(&args.req)?;
    let dir = tools::env_dir(&name)?;
    let old = Receipt::read(&dir).ok();
    if dir.exists() && !args.force {
        return Err(user(
            format!("tool {} is already installed ({})", normalize_name(&name), dir.display()),
            format!(
                "reinstall with `envtool tool install --force {}`, or move to newer versions with `envtool tool upgrade {}`",
                args.req,
                normalize_name(&name)
            ),
        ));
    }
    let interpreter = find_python(args.python.as_deref(), cache)?;
    let spec = ToolSpec {
        name: name.clone(),
        requirement: args.req.clone(),
        with: args.with.clone(),
        executables_from: args.with_executables_from.clone(),
        python_request: args.python.clone(),
        pre: args.pre,
        constraint_files: args.constraint.clone(),
        override_files: args.overrides.clone(),
        // A reinstall keeps what the receipt was given (new files replace it by name).
        remembered: old
            .as_ref()
            .map(|r| Remembered {
                constraints: r.constraints.clone(),
                overrides: r.overrides.clone(),
            })
            .unwrap_or_default(),
    };
    let owner = Owner::Tool(normalize_name(&name));
    shim::ensure_bin_dir(&tools::bin_dir())?;
    fs_err::create_dir_all(tools::tool_dir())?;
    let receipt = build(
        &spec,
        &dir,
        &interpreter,
        Some((&owner, args.force)),
        settings,
        cache,
    )?;
    expose(&receipt, old.as_ref(), &dir)?;
    output::info(&format!(
        "Installed tool {} with Python {}: {}",
        receipt.name,
        receipt.python_version,
        receipt.shims.join(", ")
    ));
    Ok(ExitCode::SUCCESS)
}

fn version_of(receipt: &Receipt) -> Option<String> {
    receipt.locked.iter().find_map(|l| {
        let (n, v) = l.split_once("==")?;
        (normalize_name(n) == receipt.name).then(|| v.to_string())
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
            .map(|(name, dir, receipt, reason)| {
                serde_json::json!({
                    "name": name,
                    "version": receipt.as_ref().and_then(version_of),
                    "commands": receipt.as_ref().map(|r| r.shims.clone()).unwrap_or_default(),
                    "python": receipt.as_ref().map(|r| r.python.clone()),
                    "python_version": receipt.as_ref().map(|r| r.python_version.clone()),
                    "status": if reason.is_some() { "broken" } else { "ok" },
                    "reason": reason,
                    "path": dir,
                })
            })
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
            .and_then(version_of)
            .unwrap_or_else(|| "?".into());
        let commands = receipt
            .as_ref()
            .map(|r| r.shims.join(", "))
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

fn uninstall(names: &[String]) -> anyhow::Result<ExitCode> {
    let bin = tools::bin_dir();
    for name in names {
        let dir = tools::env_dir(name)?;
        if !dir.exists() {
            return Err(user(
                format!("tool {name} is not installed"),
                "see the installed tools with `envtool tool list`",
            ));
        }
    }
    for name in names {
        let dir = tools::env_dir(name)?;
        let owner = Owner::Tool(normalize_name(name));
        let mut commands: Vec<String> = Receipt::read(&dir).map(|r| r.shims).unwrap_or_default();
        if commands.is_empty() {
            // Without a receipt, find the shims by their owner line.
            if let Ok(rd) = std::fs::read_dir(&bin) {
                commands = rd
                    .flatten()
                    .filter(|e| shim::owner_of(&e.path()).as_ref() == Some(&owner))
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
            }
        }
        for command in &commands {
            shim::remove_if_owned(&bin, command, &owner);
        }
        let trash = tempfile::Builder::new()
            .prefix(".removing-")
            .tempdir_in(tools::tool_dir())?;
        fs_err::rename(&dir, trash.path().join("env"))?;
        drop(trash);
        output::info(&format!("Uninstalled tool {}", normalize_name(name)));
    }
    Ok(ExitCode::SUCCESS)
}

fn upgrade(
    names: &[String],
    all: bool,
    reinstall: bool,
    python: Option<&str>,
    settings: &Settings,
    cache: &Cache,
) -> anyhow::Result<ExitCode> {
    let _guard = cache.use_shared()?;
    let targets: Vec<String> = if all {
        tools::installed().into_iter().map(|(n, _)| n).collect()
    } else {
        names.to_vec()
    };
    for name in &targets {
        let dir = tools::env_dir(name)?;
        if !dir.exists() {
            return Err(user(
                format!("tool {name} is not installed"),
                format!("install it with `envtool tool install {name}`"),
            ));
        }
        let old = Receipt::read(&dir).map_err(|e| {
            user(
                format!("cannot upgrade {name}: {e:#}"),
                format!("reinstall it with `envtool tool install --force {name}`"),
            )
        })?;
        let request = python.map(String::from).or(old.python_request.clone());
        let interpreter = match find_python(request.as_deref(), cache) {
            Ok(i) => i,
            Err(e) if python.is_none() => {
                output::warn(&format!(
                    "{name} was installed with Python {} ({}), which is not available ({e:#}); using the default interpreter",
                    old.python_version,
                    old.python.display()
                ));
                find_python(None, cache)?
            }
            Err(e) => return Err(e),
        };
        let spec = ToolSpec::from_receipt(&old, request);
        let owner = Owner::Tool(old.name.clone());
        let was_broken = tools::broken_reason(&dir).is_some();
        shim::ensure_bin_dir(&tools::bin_dir())?;
        let receipt = build(
            &spec,
            &dir,
            &interpreter,
            Some((&owner, false)),
            settings,
            cache,
        )?;
        expose(&receipt, Some(&old), &dir)?;
        if was_broken {
            output::info(&format!(
                "Repaired {} ({})",
                receipt.name,
                version_of(&receipt).unwrap_or_default()
            ));
        } else if receipt.locked == old.locked && !reinstall {
            output::info(&format!(
                "{} is up to date ({})",
                receipt.name,
                version_of(&receipt).unwrap_or_default()
            ));
        } else {
            output::info(&format!(
                "Upgraded {}: {} -> {}",
                receipt.name,
                version_of(&old).unwrap_or_default(),
                version_of(&receipt).unwrap_or_default()
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `tool run`: a cached environment keyed by the requirements and the interpreter; a warm run
/// resolves nothing and execs the command at once.
fn run(args: ToolRunArgs, settings: &Settings, cache: &Cache) -> anyhow::Result<ExitCode> {
    let requirement = args.from.clone().unwrap_or_else(|| args.req.clone());
    let name = package_name(&requirement)?;
    let command = if args.from.is_some() {
        args.req.clone()
    } else {
        normalize_name(&name)
    };
    let interpreter = find_python(args.python.as_deref(), cache)?;
    let mut key_parts = vec![
        interpreter.executable.to_string_lossy().into_owned(),
        requirement.clone(),
    ];
    let mut with = args.with.clone();
    with.sort();
    key_parts.extend(with.iter().cloned());
    let parts: Vec<&[u8]> = key_parts.iter().map(|p| p.as_bytes()).collect();
    let dir = cache
        .bucket(Bucket::ToolEnvs)?
        .join(crate::cache::key(&parts, 24));
    let receipt = match Receipt::read(&dir) {
        Ok(r) if tools::broken_reason(&dir).is_none() => {
            crate::cache::touch(&dir.join(tools::RECEIPT));
            r
        }
        _ => {
            let _guard = cache.use_shared()?;
            if dir.exists() && !dir.join(tools::RECEIPT).is_file() {
                // A throw-away environment in the cache, left half-made: the cache's to remove.
                fs_err::remove_dir_all(&dir)?;
            }
            let spec = ToolSpec {
                name: name.clone(),
                requirement: requirement.clone(),
                with,
                executables_from: Vec::new(),
                python_request: args.python.clone(),
                pre: false,
                constraint_files: Vec::new(),
                override_files: Vec::new(),
                remembered: Remembered::default(),
            };
            build(&spec, &dir, &interpreter, None, settings, cache)?
        }
    };
    let chosen = if receipt
        .shims
        .iter()
        .any(|c| c == &command || normalize_name(c) == command)
    {
        receipt
            .shims
            .iter()
            .find(|c| *c == &command || normalize_name(c) == command)
            .cloned()
    } else if receipt.shims.len() == 1 && args.from.is_none() {
        receipt.shims.first().cloned()
    } else {
        None
    };
    let Some(chosen) = chosen else {
        return Err(user(
            format!(
                "{name} provides no command {command} (it has: {})",
                receipt.shims.join(", ")
            ),
            format!("pick one with `envtool tool run --from {requirement} COMMAND`"),
        ));
    };
    if settings.throwaway_cache() {
        // The environment lives in a --no-cache directory: run it as a child, so the
        // directory is removed when it ends.
        return run_script(&dir, &chosen, &args.args);
    }
    exec_script(&dir, &chosen, &args.args)
}

/// Run an environment's console script as a child and pass its exit status on.
fn run_script(dir: &Path, command: &str, args: &[std::ffi::OsString]) -> anyhow::Result<ExitCode> {
    use std::os::unix::process::ExitStatusExt;
    let _critical = crate::interrupt::Critical::enter();
    let status = std::process::Command::new(dir.join("bin").join("python"))
        .arg(dir.join("bin").join(command))
        .args(args)
        .env_remove("PYTHONHOME")
        .status()
        .map_err(|e| {
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

/// Run an environment's console script with the environment's interpreter (replacing this process).
fn exec_script(dir: &Path, command: &str, args: &[std::ffi::OsString]) -> anyhow::Result<ExitCode> {
    use std::os::unix::process::CommandExt;
    let python: PathBuf = dir.join("bin").join("python");
    let script = dir.join("bin").join(command);
    let err = std::process::Command::new(&python)
        .arg(&script)
        .args(args)
        .env_remove("PYTHONHOME")
        .exec();
    Err(user(
        format!("cannot run {}: {err}", script.display()),
        "clear the cached environment with `envtool cache clean` and try again",
    ))
}

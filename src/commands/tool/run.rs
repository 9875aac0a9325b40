//! `tool run`: a command from a cached environment, made on first use.

use std::path::Path;
use std::process::ExitCode;

use crate::cache::Bucket;
use crate::cli::ToolRunArgs;
use crate::dist::normalize_name;
use crate::error::user;
use crate::install::commands;
use crate::pipeline::tool::ToolSpec;
use crate::pipeline::Session;
use crate::requirements::ReqSpec;
use crate::tool::{self as tools, Receipt};

use super::{find_python, parse, stored_requirement};

/// `tool run`: a cached environment keyed by the requirements and the interpreter; a warm run
/// resolves nothing and execs the command at once.
pub(super) fn run(args: ToolRunArgs, session: &Session) -> anyhow::Result<ExitCode> {
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

//! `envtool run DIR -- CMD`: the environment's bin first on PATH, `VIRTUAL_ENV` set,
//! `PYTHONHOME` unset, then exec (the exit status and signals are the child's own).

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::RunArgs;
use crate::env_vars;
use crate::error::user;
use crate::fsx::is_executable;

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let venv = crate::venv::select(args.dir.as_deref())?;
    // Released at exec: the command runs on a whole environment, and may change it itself.
    let _lock = crate::install::access::for_reading(&venv.root, &super::invocation())?;
    let bin = venv.bin_dir();
    let mut command = args.command.into_iter();
    let program = command.next().expect("clap requires a command");
    let old_path = std::env::var_os(env_vars::PATH).unwrap_or_default();
    let mut dirs = vec![bin.clone()];
    dirs.extend(std::env::split_paths(&old_path));
    let path = std::env::join_paths(&dirs)?;
    let resolved = resolve(&program, &dirs).ok_or_else(|| {
        user(
            format!(
                "command not found: {} (looked in {} and on PATH)",
                program.to_string_lossy(),
                bin.display()
            ),
            format!(
                "install the package that provides it, e.g. `envtool install --env {} PACKAGE`",
                venv.root.display()
            ),
        )
    })?;
    let err = std::process::Command::new(&resolved)
        .arg0(&program)
        .args(command)
        .env(env_vars::PATH, path)
        .env(env_vars::VIRTUAL_ENV, &venv.root)
        .env_remove(env_vars::PYTHONHOME)
        .exec();
    Err(user(
        format!("cannot run {}: {err}", resolved.display()),
        "check that the file is executable and its interpreter exists",
    ))
}

/// `CMD` with a slash is a path; otherwise the first executable of that name in `dirs`.
fn resolve(program: &OsString, dirs: &[PathBuf]) -> Option<PathBuf> {
    let as_path = PathBuf::from(program);
    if as_path.components().count() > 1 {
        return is_executable(&as_path).then_some(as_path);
    }
    dirs.iter()
        .map(|d| d.join(program))
        .find(|p| is_executable(p))
}

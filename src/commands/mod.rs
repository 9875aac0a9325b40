//! One module per subcommand: glue between the stages, no algorithms.

mod cache;
mod create;
mod freeze;
mod install;
mod list;
mod lock;
mod pack;
mod python;
mod run;
mod shim;
mod sync;
mod tool;
mod uninstall;

use std::process::ExitCode;

use crate::cache::Cache;
use crate::cli::{Cli, Command};
use crate::settings::Settings;

/// The whole program: parse the command line, run the command, report an error.
pub fn main() -> ExitCode {
    use clap::Parser;
    crate::output::restore_sigpipe();
    let cli = Cli::parse();
    let g = &cli.globals;
    crate::output::init(g.quiet, g.verbose, g.color);
    match run(cli) {
        Ok(code) => code,
        Err(err) => crate::error::report(&err, hint_of),
    }
}

/// This command line as a lock holder describes itself (credentials masked).
pub fn invocation() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    crate::redact::text_of(&format!("envtool {}", args.join(" ")))
}

/// `--only-binary` and `--no-binary` naming the same package (or both `:all:`) leave nothing
/// to install for it: an option mistake, refused before anything happens.
pub(crate) fn check_binary_flags(
    only_binary: &[String],
    no_binary: &[String],
) -> anyhow::Result<()> {
    let policy = crate::resolve::BinaryPolicy::parse(only_binary, no_binary);
    match policy.contradiction() {
        Some(name) => Err(crate::error::usage(
            format!("--only-binary and --no-binary both name {name}"),
            "keep one of them for that package (wheels only, or build from source only)",
        )),
        None => Ok(()),
    }
}

/// The hint an error of one of envtool's modules carries (see `error::Hint`).
fn hint_of(cause: &(dyn std::error::Error + 'static)) -> Option<String> {
    use crate::error::Hint;
    if let Some(e) = cause.downcast_ref::<crate::index::http::HttpError>() {
        return e.hint();
    }
    if let Some(e) = cause.downcast_ref::<crate::index::simple::SimpleError>() {
        return e.hint();
    }
    if let Some(e) = cause.downcast_ref::<crate::fetch::unpack::WheelError>() {
        return e.hint();
    }
    if let Some(e) = cause.downcast_ref::<crate::requirements::remembered::Damaged>() {
        return e.hint();
    }
    // An error carried through a reader (`std::io::Error::other`): its source is not in the
    // chain, only inside the I/O error.
    if let Some(inner) = cause
        .downcast_ref::<std::io::Error>()
        .and_then(|e| e.get_ref())
    {
        return hint_of(inner);
    }
    None
}

/// Run the parsed command line; the exit code is 0 unless the command says otherwise.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_globals(&cli.globals.options())?;
    // With a throw-away cache a signal must unwind (removing the directory), not end the
    // process on the spot.
    let _critical = settings
        .throwaway_cache()
        .then(crate::interrupt::Critical::enter);
    let cache = Cache::new(settings.cache_dir.clone());
    match cli.command {
        Command::Create(args) => create::create(args, &settings, &cache),
        Command::Install(args) => install::install(args, &settings, &cache),
        Command::Uninstall(args) => uninstall::uninstall(args, &cache),
        Command::List(args) => list::list(args, &cache),
        Command::Cache(cmd) => cache::cache(cmd, &cache),
        Command::Freeze(args) => freeze::freeze(args, &cache),
        Command::Lock(args) => lock::lock(args, &settings, &cache),
        Command::Sync(args) => sync::sync(args, &settings, &cache),
        Command::Run(args) => run::run(args),
        Command::Pack(args) => pack::pack(args, &settings, &cache),
        Command::Tool(cmd) => tool::tool(cmd, &settings, &cache),
        Command::Shim(args) => shim::shim(args, &cache),
        Command::Python(cmd) => python::python(cmd, &cache),
    }
}

//! One module per subcommand: glue between the stages, no algorithms.

mod cache;
mod create;
pub mod freeze;
pub mod install;
mod list;
mod lock;
mod pack;
mod python;
mod run;
mod shim;
mod sync;
mod target;
mod tool;
mod uninstall;

use std::process::ExitCode;

use crate::cache::Cache;
use crate::cli::{Cli, Command};
use crate::settings::Settings;

/// Run the parsed command line; the exit code is 0 unless the command says otherwise.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_globals(&cli.globals)?;
    let cache = Cache::new(settings.cache_dir.clone());
    match cli.command {
        Command::Create(args) => create::create(args, &settings, &cache),
        Command::Install(args) => install::install(args, &settings, &cache),
        Command::Uninstall(args) => uninstall::uninstall(args, &cache),
        Command::List(args) => list::list(args, &cache),
        Command::Cache(cmd) => cache::cache(cmd, &cache),
        Command::Freeze(args) => freeze::freeze(args),
        Command::Lock(args) => lock::lock(args, &settings, &cache),
        Command::Sync(args) => sync::sync(args, &settings, &cache),
        Command::Run(args) => run::run(args),
        Command::Pack(args) => pack::pack(args, &settings, &cache),
        Command::Tool(cmd) => tool::tool(cmd, &settings, &cache),
        Command::Shim(args) => shim::shim(args, &cache),
        Command::Python(cmd) => python::python(cmd, &cache),
    }
}

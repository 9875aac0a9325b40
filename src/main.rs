//! envtool: isolated, reproducible Python tool environments without root.

mod build;
mod cache;
mod cli;
mod commands;
mod dist;
mod env_vars;
mod error;
mod index;
mod install;
mod interrupt;
mod lockfile;
mod output;
mod pack;
mod pip_conf;
mod python;
mod requirements;
mod resolve;
mod settings;
mod tool;
mod venv;

use clap::Parser;

fn main() -> std::process::ExitCode {
    output::restore_sigpipe();
    let cli = cli::Cli::parse();
    let globals = cli.globals.clone();
    output::init(&globals);
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => error::report(&err),
    }
}

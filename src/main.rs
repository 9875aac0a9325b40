//! envtool: isolated, reproducible Python tool environments without root.

mod build;
mod cache;
mod cli;
mod commands;
mod env_vars;
mod dist;
mod error;
mod index;
mod install;
mod lockfile;
mod interrupt;
mod output;
mod pack;
mod pip_conf;
mod python;
mod resolve;
mod requirements;
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

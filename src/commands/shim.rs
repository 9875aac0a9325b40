//! `envtool shim DIR [SCRIPT...]`: expose any environment's console scripts as shims.

use std::process::ExitCode;

use crate::cache::Cache;
use crate::cli::ShimArgs;
use crate::error::user;
use crate::install::commands;
use crate::install::installed;
use crate::install::layout::Layout;
use crate::output;
use crate::tool::shim::{self, Owner};

pub fn shim(args: ShimArgs, cache: &Cache) -> anyhow::Result<ExitCode> {
    let venv = crate::venv::Venv::open(&args.dir)?;
    let _lock = crate::install::access::for_reading(&venv.root, &super::invocation())?;
    let facts = crate::venv::facts_of(&venv, cache)?;
    let layout = Layout::new(&venv.root, &facts);
    let (dists, _) = installed::scan(&layout.purelib);
    let available = commands::of_env(&dists, &layout.purelib, &layout.scripts);
    let names: Vec<String> = available.iter().map(|c| c.name.clone()).collect();
    let chosen: Vec<&commands::Command> = if args.scripts.is_empty() {
        available.iter().collect()
    } else {
        let mut chosen = Vec::new();
        for name in &args.scripts {
            let Some(c) = available.iter().find(|c| &c.name == name) else {
                return Err(user(
                    format!("{} has no command {name}", venv.root.display()),
                    format!(
                        "its commands are: {}",
                        if names.is_empty() {
                            "(none)".into()
                        } else {
                            names.join(", ")
                        }
                    ),
                ));
            };
            chosen.push(c);
        }
        chosen
    };
    if chosen.is_empty() {
        return Err(user(
            format!("{} has no commands to expose", venv.root.display()),
            "install a package with console scripts (or files in bin/) into it first",
        ));
    }
    let bin = match &args.bin_dir {
        Some(d) => std::path::absolute(d)?,
        None => crate::tool::bin_dir(),
    };
    shim::ensure_bin_dir(&bin)?;
    let owner = Owner::Env(venv.root.clone());
    for command in &chosen {
        shim::check_free(&bin, &command.name, &owner, args.force)?;
    }
    let repair = format!(
        "envtool create --clear {} ...  (then reinstall its packages)",
        venv.root.display()
    );
    let remove = "Delete it to remove the command.";
    for command in &chosen {
        shim::write(
            &bin,
            &command.name,
            &shim::render(
                &owner,
                &command.name,
                command.kind,
                &venv.root,
                &repair,
                remove,
            )?,
        )?;
    }
    let exposed: Vec<&str> = chosen.iter().map(|c| c.name.as_str()).collect();
    output::info(&format!(
        "Exposed {} in {}",
        exposed.join(", "),
        bin.display()
    ));
    if let Some(line) = shim::path_advice(&bin) {
        output::warn(&format!("{} is not on PATH", bin.display()));
        output::hint_line(&format!("add this line to your shell profile: {line}"));
    }
    Ok(ExitCode::SUCCESS)
}

//! `envtool shim DIR [SCRIPT...]`: expose any environment's console scripts as shims.

use std::process::ExitCode;

use crate::cache::Cache;
use crate::cli::ShimArgs;
use crate::error::user;
use crate::install::entry_points::{parse_entry_points, scripts};
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
    let mut available = Vec::new();
    for dist in &dists {
        if let Ok(text) = std::fs::read_to_string(dist.dist_info.join("entry_points.txt")) {
            if let Ok(entries) = parse_entry_points(&text) {
                available.extend(scripts(&entries).into_iter().map(|e| e.name.clone()));
            }
        }
    }
    available.sort();
    available.dedup();
    let chosen: Vec<String> = if args.scripts.is_empty() {
        available.clone()
    } else {
        for name in &args.scripts {
            if !available.contains(name) && !venv.bin_dir().join(name).is_file() {
                return Err(user(
                    format!("{} has no console script {name}", venv.root.display()),
                    format!(
                        "its scripts are: {}",
                        if available.is_empty() {
                            "(none)".into()
                        } else {
                            available.join(", ")
                        }
                    ),
                ));
            }
        }
        args.scripts.clone()
    };
    if chosen.is_empty() {
        return Err(user(
            format!("{} has no console scripts to expose", venv.root.display()),
            "install a package with console scripts into it first",
        ));
    }
    let bin = match &args.bin_dir {
        Some(d) => std::path::absolute(d)?,
        None => crate::tool::bin_dir(),
    };
    shim::ensure_bin_dir(&bin)?;
    let owner = Owner::Env(venv.root.clone());
    for command in &chosen {
        shim::check_free(&bin, command, &owner, args.force)?;
    }
    let repair = format!(
        "envtool create --clear {} ...  (then reinstall its packages)",
        venv.root.display()
    );
    let remove = "Delete it to remove the command.";
    for command in &chosen {
        shim::write(
            &bin,
            command,
            &shim::render(&owner, command, &venv.root, &repair, remove)?,
        )?;
    }
    output::info(&format!(
        "Exposed {} in {}",
        chosen.join(", "),
        bin.display()
    ));
    if let Some(line) = shim::path_advice(&bin) {
        output::warn(&format!("{} is not on PATH", bin.display()));
        output::hint_line(&format!("add this line to your shell profile: {line}"));
    }
    Ok(ExitCode::SUCCESS)
}

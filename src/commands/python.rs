//! `envtool python list|find`.

use std::io::Write;
use std::process::ExitCode;

use crate::cache::Cache;
use crate::cli::PythonCommand;
use crate::python;

pub fn python(cmd: PythonCommand, cache: &Cache) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match cmd {
        PythonCommand::List { json } => {
            let found = python::list(cache);
            if json {
                let rows: Vec<serde_json::Value> = found
                    .iter()
                    .map(|i| {
                        serde_json::json!({
                            "version": i.facts.version_string(),
                            "implementation": i.facts.implementation,
                            "executable": i.executable,
                            "found_as": i.found_as,
                            "supported": !i.facts.too_old && (i.facts.version.0, i.facts.version.1) >= python::discovery::MINIMUM,
                        })
                    })
                    .collect();
                writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
            } else {
                for i in &found {
                    let note = if i.facts.too_old { "  (too old)" } else { "" };
                    let via = if i.found_as != i.executable {
                        format!("  (via {})", i.found_as.display())
                    } else {
                        String::new()
                    };
                    writeln!(
                        out,
                        "{:<9} {:<8} {}{via}{note}",
                        i.facts.version_string(),
                        if i.facts.implementation.is_empty() {
                            "python"
                        } else {
                            &i.facts.implementation
                        },
                        i.executable.display()
                    )?;
                }
            }
        }
        PythonCommand::Find { request } => {
            let found = python::find(request.as_deref(), cache)?;
            writeln!(out, "{}", found.executable.display())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

//! `envtool cache dir|info|clean|prune`.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use crate::cache::{maintenance, Cache};
use crate::cli::CacheCommand;
use crate::error::user;

fn human(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

pub fn cache(cmd: CacheCommand, cache: &Cache) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match cmd {
        CacheCommand::Dir => writeln!(out, "{}", cache.root().display())?,
        CacheCommand::Info { json } => {
            let buckets = maintenance::info(cache);
            let total: u64 = buckets.iter().map(|b| b.bytes).sum();
            if json {
                let value = serde_json::json!({"root": cache.root(), "total_bytes": total, "buckets": buckets});
                writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
            } else {
                writeln!(out, "{}", cache.root().display())?;
                for b in &buckets {
                    writeln!(
                        out,
                        "  {:<18} {:>6} entries {:>12}",
                        b.name,
                        b.entries,
                        human(b.bytes)
                    )?;
                }
                writeln!(
                    out,
                    "  {:<18} {:>6}         {:>12}",
                    "total",
                    "",
                    human(total)
                )?;
            }
        }
        CacheCommand::Clean => {
            let freed = maintenance::clean(cache)?;
            crate::output::info(&format!(
                "Removed {} from {}",
                human(freed),
                cache.root().display()
            ));
        }
        CacheCommand::Verify { repair } => {
            let (checked, damaged) = crate::fetch::unpack::verify(cache, repair)?;
            for d in &damaged {
                crate::output::warn(&format!(
                    "{} ({}): {}{}",
                    d.filename,
                    d.entry.display(),
                    d.reason,
                    if repair { "; removed" } else { "" }
                ));
            }
            if !damaged.is_empty() && !repair {
                return Err(user(
                    format!(
                        "{} of {checked} cached wheels are damaged",
                        damaged.len()
                    ),
                    "run `envtool cache verify --repair` to remove them (they are fetched again when needed)",
                ));
            }
            crate::output::info(&format!(
                "Checked {checked} cached wheels: {} damaged{}",
                damaged.len(),
                if repair && !damaged.is_empty() {
                    ", removed (they are fetched again when needed)"
                } else {
                    ""
                }
            ));
        }
        CacheCommand::Prune { older_than } => {
            let age = match older_than {
                Some(days) if days.is_finite() && days >= 0.0 => {
                    Some(Duration::from_secs_f64(days * 86400.0))
                }
                Some(_) => {
                    return Err(user(
                        "--older-than needs a number of days",
                        "e.g. --older-than 30",
                    ))
                }
                None => None,
            };
            let freed = maintenance::prune(cache, age)?;
            crate::output::info(&format!(
                "Pruned {} from {}",
                human(freed),
                cache.root().display()
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

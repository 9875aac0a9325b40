//! `envtool list`: installed distributions, their versions and where they came from.

use std::io::Write;
use std::process::ExitCode;

use crate::cache::Cache;
use crate::cli::ListArgs;
use crate::install::installed;
use crate::install::layout::Layout;

pub fn list(args: ListArgs, cache: &Cache) -> anyhow::Result<ExitCode> {
    let venv = crate::venv::select(args.dir.as_deref())?;
    let _lock = crate::install::access::for_reading(&venv.root, &super::invocation())?;
    let facts = crate::venv::facts_of(&venv, cache)?;
    let layout = Layout::new(&venv.root, &facts);
    let (mut dists, broken) = installed::scan(&layout.purelib);
    dists.sort_by(|a, b| a.key.cmp(&b.key));
    let mut out = std::io::stdout().lock();
    if args.json {
        let rows: Vec<serde_json::Value> = dists
            .iter()
            .map(|d| {
                serde_json::json!({
                    "name": d.metadata.name,
                    "version": d.version(),
                    "installer": d.installer,
                    "requested": d.requested,
                    "source": d.describe_source(),
                })
            })
            .collect();
        let remembered = crate::requirements::remembered::Remembered::load(
            &venv.root.join(crate::venv::STATE_DIR),
        )?;
        let doc = serde_json::json!({
            "packages": rows,
            "constraints": remembered.constraints,
            "overrides": remembered.overrides,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        let width = dists
            .iter()
            .map(|d| d.metadata.name.len())
            .max()
            .unwrap_or(0)
            .max(7);
        let vwidth = dists
            .iter()
            .map(|d| d.version().len())
            .max()
            .unwrap_or(0)
            .max(7);
        for d in &dists {
            writeln!(
                out,
                "{:<width$} {:<vwidth$} {}",
                d.metadata.name,
                d.version(),
                d.describe_source()
            )?;
        }
        let remembered = crate::requirements::remembered::Remembered::load(
            &venv.root.join(crate::venv::STATE_DIR),
        )?;
        for (kind, lines) in [
            ("constraint", &remembered.constraints),
            ("override", &remembered.overrides),
        ] {
            for line in lines {
                crate::output::info(&format!("remembered {kind}: {line}"));
            }
        }
    }
    for b in broken {
        crate::output::warn(&format!(
            "damaged distribution at {}: {}",
            b.dist_info.display(),
            b.reason
        ));
    }
    Ok(ExitCode::SUCCESS)
}

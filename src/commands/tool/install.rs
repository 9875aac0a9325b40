//! `tool install`, `tool inject` and `tool install-all`: building tools and adding to them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::ToolInstallArgs;
use crate::dist::normalize_name;
use crate::error::user;
use crate::output;
use crate::pipeline::tool::ToolSpec;
use crate::pipeline::Session;
use crate::requirements::remembered::Remembered;
use crate::requirements::ReqSpec;
use crate::tool::{self as tools, Receipt};

use super::{
    build_and_expose, find_python, interpreter_for, is_bare_name, parse, path_advice, read_receipt,
    stored_requirement,
};

pub(super) fn install(args: ToolInstallArgs, session: &Session) -> anyhow::Result<ExitCode> {
    let _guard = session.cache.use_shared()?;
    if !tools::suffix_ok(&args.suffix) {
        return Err(crate::error::usage(
            format!("--suffix {:?} cannot end a file name", args.suffix),
            "use letters, digits and `-`, `_`, `.`, `@`, `+` (e.g. --suffix @24)",
        ));
    }
    let req = parse(&args.req)?;
    let named = match &req {
        ReqSpec::Named(r) => Some(normalize_name(r.name.as_ref())),
        ReqSpec::Unnamed { .. } => None,
    };
    // A path or URL says its name only once its metadata is read.
    let mut interpreter = None;
    let name = match named {
        Some(n) => n,
        None => {
            let i = find_python(args.python.as_deref(), &session.cache)?;
            let n = normalize_name(&session.name_of(&req, &i.facts)?);
            interpreter = Some(i);
            n
        }
    };
    let id = format!("{name}{}", args.suffix);
    let dir = tools::env_dir(&id)?;
    let old = Receipt::read(&dir).ok();
    if let Some(o) = &old {
        if o.name != name {
            return Err(user(
                format!(
                    "the tool directory {} belongs to {} (package {}), not to {name}",
                    dir.display(),
                    o.id(),
                    o.name
                ),
                "choose another --suffix",
            ));
        }
    }
    let given_constraints = !args.constraint.is_empty() || !args.overrides.is_empty();
    if let (Some(o), false) = (&old, args.force) {
        if !args.with.is_empty() || given_constraints {
            // `--with` (or new constraints) on an installed tool adds to it, as pipx's inject.
            return add_to(o, &args.with, &args.constraint, &args.overrides, session);
        }
        return Err(user(
            format!("tool {id} is already installed ({})", dir.display()),
            format!(
                "add packages with `envtool tool install {id} --with PKG`, move to newer versions with `envtool tool upgrade {id}`, or rebuild with --force"
            ),
        ));
    }
    // A reinstall keeps what the receipt was given, unless new values are given.
    let keep = old.as_ref().filter(|_| args.force);
    let requirement = match keep {
        Some(o) if is_bare_name(&req) => o.requirement.clone(),
        _ => stored_requirement(&req, &name),
    };
    let pick = |given: &Vec<String>, kept: Option<&Vec<String>>| -> Vec<String> {
        match kept {
            Some(k) if given.is_empty() => k.clone(),
            _ => given.clone(),
        }
    };
    let spec = ToolSpec {
        name: name.clone(),
        requirement,
        with: pick(&args.with, keep.map(|o| &o.with)),
        executables_from: pick(
            &args.with_executables_from,
            keep.map(|o| &o.executables_from),
        ),
        python_request: args
            .python
            .clone()
            .or_else(|| keep.and_then(|o| o.python_request.clone())),
        pre: args.pre || keep.is_some_and(|o| o.pre),
        suffix: args.suffix.clone(),
        constraint_files: args.constraint.clone(),
        override_files: args.overrides.clone(),
        remembered: keep.map(remembered_of).unwrap_or_default(),
        pins: Vec::new(),
    };
    let interpreter = match interpreter {
        Some(i) if spec.python_request == args.python => i,
        _ => find_python(spec.python_request.as_deref(), &session.cache)?,
    };
    let receipt = build_and_expose(session, &spec, &interpreter, old.as_ref(), args.force)?;
    output::info(&format!(
        "Installed tool {} {} with Python {}: {}",
        receipt.id(),
        receipt.version().unwrap_or_default(),
        receipt.python_version,
        receipt.exposed().join(", ")
    ));
    path_advice();
    Ok(ExitCode::SUCCESS)
}

fn remembered_of(r: &Receipt) -> Remembered {
    Remembered {
        constraints: r.constraints.clone(),
        overrides: r.overrides.clone(),
    }
}

/// Rebuild an installed tool with more packages (and constraints): `tool inject`, or
/// `tool install NAME --with PKG` on an installed tool.
fn add_to(
    old: &Receipt,
    with: &[String],
    constraint_files: &[PathBuf],
    override_files: &[PathBuf],
    session: &Session,
) -> anyhow::Result<ExitCode> {
    let mut spec = ToolSpec::from_receipt(old);
    for req in with {
        if !spec.with.contains(req) {
            spec.with.push(req.clone());
        }
    }
    spec.constraint_files = constraint_files.to_vec();
    spec.override_files = override_files.to_vec();
    let interpreter = interpreter_for(old, None, &mut spec, &session.cache)?;
    let receipt = build_and_expose(session, &spec, &interpreter, Some(old), false)?;
    output::info(&format!(
        "Rebuilt tool {} with {}",
        receipt.id(),
        if with.is_empty() {
            "the new constraints".to_string()
        } else {
            with.join(", ")
        }
    ));
    path_advice();
    Ok(ExitCode::SUCCESS)
}

pub(super) fn inject(id: &str, reqs: &[String], session: &Session) -> anyhow::Result<ExitCode> {
    let _guard = session.cache.use_shared()?;
    let old = read_receipt(id)?;
    for r in reqs {
        parse(r)?;
    }
    add_to(&old, reqs, &[], &[], session)
}

/// `tool install-all FILE`: install every tool a `tool list --json` lists, at the versions it
/// lists (its `locked` pins, for this run only), skipping the ones installed already.
pub(super) fn install_all(file: &Path, session: &Session) -> anyhow::Result<ExitCode> {
    let _guard = session.cache.use_shared()?;
    let hint = "give the output of `envtool tool list --json` (from any machine)";
    let text = fs_err::read_to_string(file).map_err(|e| user(format!("{e}"), hint))?;
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text)
        .map_err(|e| user(format!("{} is not a tool list: {e}", file.display()), hint))?;
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut specs = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let (Some(package), Some(requirement)) = (r["package"].as_str(), r["requirement"].as_str())
        else {
            return Err(user(
                format!(
                    "{}: entry {} names no package and requirement",
                    file.display(),
                    i + 1
                ),
                hint,
            ));
        };
        let suffix = r["suffix"].as_str().unwrap_or("").to_string();
        if !crate::dist::is_valid_name(package) || !tools::suffix_ok(&suffix) {
            return Err(user(
                format!(
                    "{}: entry {} has a bad name {package:?}{suffix:?}",
                    file.display(),
                    i + 1
                ),
                hint,
            ));
        }
        parse(requirement)?;
        specs.push(ToolSpec {
            name: normalize_name(package),
            requirement: requirement.to_string(),
            with: strings(&r["with"]),
            executables_from: strings(&r["executables_from"]),
            python_request: r["python_request"].as_str().map(String::from),
            pre: r["pre"].as_bool().unwrap_or(false),
            suffix,
            remembered: Remembered {
                constraints: strings(&r["constraints"]),
                overrides: strings(&r["overrides"]),
            },
            pins: strings(&r["locked"]),
            ..Default::default()
        });
    }
    let mut failed = Vec::new();
    for spec in &specs {
        let id = spec.id();
        if tools::tool_dir().join(&id).exists() {
            output::info(&format!("{id} is installed already"));
            continue;
        }
        let result = find_python(spec.python_request.as_deref(), &session.cache)
            .or_else(|_| find_python(None, &session.cache))
            .and_then(|i| build_and_expose(session, spec, &i, None, false));
        match result {
            Ok(r) => output::info(&format!(
                "Installed tool {} {}: {}",
                r.id(),
                r.version().unwrap_or_default(),
                r.exposed().join(", ")
            )),
            Err(e) => {
                output::error_line(&format!("{id}: {}", crate::error::message(&e)));
                failed.push(id);
            }
        }
    }
    path_advice();
    if failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    Err(user(
        format!("could not install {}", failed.join(", ")),
        "see the errors above; the other tools are installed",
    ))
}

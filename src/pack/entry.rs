//! What a pack runs, from the `--entry` text: a console script of the environment, a command
//! a distribution installs into `bin/` (a file from `.data/scripts`), `module` as
//! `python -m` takes it (the environment's or the standard library's), or
//! `module:object.attr` as a console script calls it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::user;
use crate::install::commands::{self, Kind};
use crate::install::entry_points::{parse_entry_points, scripts, EntryPoint};
use crate::install::installed::InstalledDist;

/// What the pack runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// `python -m module`
    Module(String),
    /// `module:object.attr`; the return value becomes the exit status.
    Function { module: String, attr: String },
    /// A file the distribution installs into `bin/`: run in the pack's interpreter when it is
    /// a Python script, else executed (a native binary, a shell script).
    Command { name: String, python: bool },
}

impl Entry {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Entry::Module(m) => serde_json::json!({"kind": "module", "module": m}),
            Entry::Function { module, attr } => {
                serde_json::json!({"kind": "function", "module": module, "attr": attr})
            }
            Entry::Command { name, python } => {
                serde_json::json!({"kind": "command", "command": name, "python": python})
            }
        }
    }
}

/// The environment an entry is looked up in.
pub struct Env<'a> {
    pub site: &'a Path,
    /// The environment's `bin/` (where RECORD's `../../../bin/NAME` rows point).
    pub scripts: &'a Path,
    pub dists: &'a [InstalledDist],
    /// The interpreter whose standard library a module entry may come from.
    pub interpreter: &'a Path,
}

/// The resolved entry and, for a command, the file to carry as `bin/NAME`.
pub fn resolve(text: &str, env: &Env) -> anyhow::Result<(Entry, Option<PathBuf>)> {
    let console = console_scripts(env.dists);
    if let Some(ep) = console.iter().find(|e| e.name == text) {
        let entry = match &ep.attr {
            Some(attr) => Entry::Function {
                module: ep.module.clone(),
                attr: attr.clone(),
            },
            None => Entry::Module(ep.module.clone()),
        };
        return Ok((entry, None));
    }
    let commands = bin_commands(env, &console);
    if let Some(command) = commands.iter().find(|c| c.name == text) {
        return Ok((
            Entry::Command {
                name: command.name.clone(),
                python: command.kind.runs_with_python(),
            },
            Some(command.path.clone()),
        ));
    }
    let (module, attr) = match text.split_once(':') {
        Some((m, a)) => (m.trim(), Some(a.trim())),
        None => (text.trim(), None),
    };
    let well_formed = dotted(module) && attr.is_none_or(dotted);
    let found = if well_formed {
        find_module(env, module)?
    } else {
        Found::Missing
    };
    match (found, attr) {
        (Found::Module | Found::Package { .. }, Some(attr)) => {
            return Ok((
                Entry::Function {
                    module: module.to_string(),
                    attr: attr.to_string(),
                },
                None,
            ))
        }
        (Found::Module | Found::Package { main: true }, None) => {
            return Ok((Entry::Module(module.to_string()), None))
        }
        (Found::Package { main: false }, None) => {
            return Err(user(
                format!(
                    "the entry {text:?} is a package without a __main__ module: `python -m {module}` cannot run it"
                ),
                available(env, &console, &commands, module),
            ))
        }
        (Found::Builtin, None) => {
            return Err(user(
                format!("the entry {text:?} is a module built into the interpreter: it has no code to run"),
                available(env, &console, &commands, module),
            ))
        }
        _ => {}
    }
    Err(user(
        format!("the entry {text:?} names nothing runnable: it is neither a command of the environment nor an importable module"),
        available(env, &console, &commands, module.split('.').next().unwrap_or_default()),
    ))
}

/// `a.b.c`: identifiers separated by dots.
fn dotted(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && chars.all(|c| c.is_alphanumeric() || c == '_')
        })
}

fn console_scripts(dists: &[InstalledDist]) -> Vec<EntryPoint> {
    let mut out = Vec::new();
    for d in dists {
        if let Ok(t) = std::fs::read_to_string(d.dist_info.join("entry_points.txt")) {
            if let Ok(eps) = parse_entry_points(&t) {
                out.extend(scripts(&eps).into_iter().cloned());
            }
        }
    }
    out
}

/// The files distributions install into `bin/` that are not console-script launchers
/// (`.data/scripts`: native binaries, scripts), as the environment's commands are found
/// everywhere else (`install::commands`, from the RECORDs).
fn bin_commands(env: &Env, console: &[EntryPoint]) -> Vec<commands::Command> {
    commands::of_env(env.dists, env.site, env.scripts)
        .into_iter()
        .filter(|c| c.kind != Kind::EntryPoint && !console.iter().any(|e| e.name == c.name))
        .collect()
}

enum Found {
    Module,
    Package { main: bool },
    Builtin,
    Missing,
}

/// Where `module` comes from: the environment's site-packages (and the directories its
/// `.pth` files add), looked up as Python's path finder does; else the interpreter's own
/// library, asked of the interpreter (`-I -S`, so not its site-packages).
fn find_module(env: &Env, module: &str) -> anyhow::Result<Found> {
    let mut dirs = vec![env.site.to_path_buf()];
    dirs.extend(pth_dirs(env.site));
    let found = find_in(&dirs, module);
    if !matches!(found, Found::Missing) {
        return Ok(found);
    }
    ask_interpreter(env.interpreter, module)
}

fn pth_dirs(site: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(site) else {
        return out;
    };
    let mut files: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "pth"))
        .collect();
    files.sort();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for line in text.lines() {
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') || line.starts_with("import") {
                continue;
            }
            let dir = site.join(line);
            if dir.is_dir() {
                out.push(dir);
            }
        }
    }
    out
}

fn is_module_file(dir: &Path, name: &str) -> bool {
    if dir.join(format!("{name}.py")).is_file() {
        return true;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return false;
    };
    rd.flatten().any(|e| {
        let n = e.file_name().to_string_lossy().into_owned();
        n.strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('.') && rest.ends_with(".so"))
    })
}

fn find_in(dirs: &[PathBuf], module: &str) -> Found {
    let parts: Vec<&str> = module.split('.').collect();
    let mut search: Vec<PathBuf> = dirs.to_vec();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let mut regular = None;
        let mut portions = Vec::new();
        let mut file = false;
        for dir in &search {
            let pkg = dir.join(part);
            if pkg.join("__init__.py").is_file() {
                regular = Some(pkg);
                break;
            }
            if is_module_file(dir, part) {
                file = true;
                break;
            }
            if pkg.is_dir() {
                portions.push(pkg);
            }
        }
        if file {
            return if last { Found::Module } else { Found::Missing };
        }
        let next = match regular {
            Some(pkg) => vec![pkg],
            None if !portions.is_empty() => portions,
            None => return Found::Missing,
        };
        if last {
            let main = next.iter().any(|d| is_module_file(d, "__main__"));
            return Found::Package { main };
        }
        search = next;
    }
    Found::Missing
}

const ASK: &str = r#"import importlib.util, sys
name = sys.argv[1]
try:
    spec = importlib.util.find_spec(name)
except Exception:
    spec = None
if spec is None:
    print("missing")
elif spec.origin == "built-in":
    print("builtin")
elif spec.submodule_search_locations is not None:
    try:
        main = importlib.util.find_spec(name + ".__main__")
    except Exception:
        main = None
    print("package-main" if main else "package")
else:
    print("module")
"#;

fn ask_interpreter(interpreter: &Path, module: &str) -> anyhow::Result<Found> {
    let out = Command::new(interpreter)
        .args(["-I", "-S", "-c", ASK, module])
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run {}: {e}", interpreter.display()))?;
    Ok(match String::from_utf8_lossy(&out.stdout).trim() {
        "module" => Found::Module,
        "package-main" => Found::Package { main: true },
        "package" => Found::Package { main: false },
        "builtin" => Found::Builtin,
        _ => Found::Missing,
    })
}

/// The hint for an entry that runs nothing: what the environment offers, closest first.
fn available(
    env: &Env,
    console: &[EntryPoint],
    commands: &[commands::Command],
    near: &str,
) -> String {
    let mut names: Vec<String> = console.iter().map(|e| e.name.clone()).collect();
    names.extend(commands.iter().map(|c| c.name.clone()));
    names.sort();
    names.dedup();
    let mut modules = Vec::new();
    if let Ok(rd) = std::fs::read_dir(env.site) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = e.path();
            if path.is_dir() && dotted(&name) && !name.starts_with('_') {
                if is_module_file(&path, "__main__") {
                    modules.push(format!("{name} (python -m)"));
                } else if path.join("__init__.py").is_file() {
                    modules.push(format!("{name}:FUNCTION"));
                }
            }
        }
    }
    modules.sort();
    let all: Vec<String> = names.iter().chain(modules.iter()).cloned().collect();
    let close: Vec<&String> = all
        .iter()
        .filter(|k| {
            let k = k.split([' ', ':']).next().unwrap_or_default();
            !near.is_empty()
                && (k.contains(near)
                    || near.contains(k)
                    || k.starts_with(&near[..near.len().min(2)]))
        })
        .take(5)
        .collect();
    let list = |items: &[String]| {
        if items.is_empty() {
            "none".to_string()
        } else {
            items.join(", ")
        }
    };
    let mut hint = String::new();
    if !close.is_empty() {
        let close: Vec<&str> = close.iter().map(|s| s.as_str()).collect();
        hint.push_str(&format!("did you mean {}? ", close.join(", ")));
    }
    hint.push_str(&format!(
        "The environment's commands: {}; its modules: {}; or any importable module (`python -m` style, e.g. json.tool) or module:function",
        list(&names),
        list(&modules)
    ));
    hint
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_names() {
        assert!(dotted("json.tool"));
        assert!(dotted("_private.x1"));
        assert!(!dotted("demo:"));
        assert!(!dotted(""));
        assert!(!dotted("a..b"));
        assert!(!dotted("1abc"));
        assert!(!dotted("a-b"));
    }

    #[test]
    fn path_finder_semantics() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("a");
        let b = t.path().join("b");
        std::fs::create_dir_all(a.join("pkg/sub")).unwrap();
        std::fs::write(a.join("pkg/__init__.py"), "").unwrap();
        std::fs::write(a.join("pkg/mod.py"), "").unwrap();
        std::fs::write(a.join("pkg/sub/__init__.py"), "").unwrap();
        std::fs::write(a.join("pkg/sub/__main__.py"), "").unwrap();
        std::fs::create_dir_all(b.join("ns/part")).unwrap();
        std::fs::write(b.join("ns/part/__main__.py"), "").unwrap();
        std::fs::write(b.join("native.cpython-312-x86_64-linux-gnu.so"), "").unwrap();
        let dirs = vec![a, b];
        assert!(matches!(
            find_in(&dirs, "pkg"),
            Found::Package { main: false }
        ));
        assert!(matches!(
            find_in(&dirs, "pkg.sub"),
            Found::Package { main: true }
        ));
        assert!(matches!(find_in(&dirs, "pkg.mod"), Found::Module));
        assert!(matches!(find_in(&dirs, "pkg.mod.x"), Found::Missing));
        assert!(matches!(find_in(&dirs, "pkg.nosuch"), Found::Missing));
        assert!(matches!(
            find_in(&dirs, "ns.part"),
            Found::Package { main: true }
        ));
        assert!(matches!(find_in(&dirs, "native"), Found::Module));
    }
}

//! `envtool tool install|list|upgrade|uninstall|run|dir` and `envtool shim DIR`: tool
//! environments under ENVTOOL_TOOL_DIR, `#!/bin/sh` shims in ENVTOOL_BIN_DIR, run from a
//! bare environment (`env -i PATH=/usr/bin:/bin SHIM`), against a local test index.
//!
//! Shim overhead is measured in bench/, so nothing here asserts on timing.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common;
use crate::common::{assert_success, assert_user_error, tree, TestEnv};
use crate::support::{escape_dist_name, truncate_file, IndexServer, WheelBuilder};

// ---------------------------------------------------------------------------------------
// The package world
// ---------------------------------------------------------------------------------------

/// `greet.cli`: every command prints one JSON line describing itself and how it was run,
/// and `--exit N` (as the only two arguments) makes it exit with status N.
fn greet_cli(version: &str) -> String {
    format!(
        r#"import json, sys
import greetlib
VERSION = {version:?}

def _plugin():
    try:
        import greetplugin
    except ImportError:
        return None
    return greetplugin.VERSION

def _report(cmd):
    args = sys.argv[1:]
    print(json.dumps({{"cmd": cmd, "version": VERSION, "lib": greetlib.VERSION,
                      "plugin": _plugin(), "args": args, "prefix": sys.prefix}}))
    sys.stdout.flush()
    if len(args) == 2 and args[0] == "--exit":
        return int(args[1])
    return 0

def main():
    return _report("greet")

def admin():
    return _report("greet-admin")

def extra():
    return _report("greet-extra")
"#
    )
}

/// `greet` VERSION with the given console scripts (`greet` -> main, `greet-admin` -> admin,
/// `greet-extra` -> extra), depending on `greetlib`.
fn greet(version: &str, commands: &[&str]) -> WheelBuilder {
    let mut w = WheelBuilder::new("greet", version)
        .file("greet/__init__.py", "")
        .file("greet/cli.py", greet_cli(version))
        .requires_dist("greetlib>=1");
    for command in commands {
        let func = match *command {
            "greet" => "main",
            "greet-admin" => "admin",
            "greet-extra" => "extra",
            other => panic!("no function for {other}"),
        };
        w = w.entry_point("console_scripts", command, &format!("greet.cli:{func}"));
    }
    w
}

/// A dependency with a console script of its own (`greetlib-info`).
fn greetlib(version: &str) -> WheelBuilder {
    WheelBuilder::new("greetlib", version)
        .file(
            "greetlib/__init__.py",
            format!(
                "VERSION = {version:?}\n\ndef info():\n    print('greetlib-info ' + VERSION)\n"
            ),
        )
        .entry_point("console_scripts", "greetlib-info", "greetlib:info")
}

/// A plain module, no scripts.
fn plain(name: &str, version: &str) -> WheelBuilder {
    let module = escape_dist_name(name);
    WheelBuilder::new(name, version).file(
        &format!("{module}/__init__.py"),
        format!("VERSION = {version:?}\n"),
    )
}

/// `hello`: commands `hello` and `greet` (the latter clashes with the greet tool).
fn hello(version: &str) -> WheelBuilder {
    WheelBuilder::new("hello", version)
        .file(
            "hello/__init__.py",
            "import sys\n\ndef main():\n    print('hello from hello')\n    return 0\n",
        )
        .entry_point("console_scripts", "hello", "hello:main")
        .entry_point("console_scripts", "greet", "hello:main")
}

/// `shout`: one command, `shout`, no dependency clash with anything.
fn shout(version: &str) -> WheelBuilder {
    WheelBuilder::new("shout", version)
        .file(
            "shout/__init__.py",
            format!(
                "import sys\nVERSION = {version:?}\n\ndef main():\n    print('SHOUT ' + VERSION + ' ' + ' '.join(sys.argv[1:]).upper())\n    return 0\n"
            ),
        )
        .entry_point("console_scripts", "shout", "shout:main")
}

// ---------------------------------------------------------------------------------------
// The fixture
// ---------------------------------------------------------------------------------------

/// A scratch tree with a private cache, a local index, and tool/bin directories.
struct World {
    t: TestEnv,
    files: PathBuf,
    server: IndexServer,
    tools: PathBuf,
    bin: PathBuf,
    python: PathBuf,
}

impl World {
    /// greetlib 1.0, greet 1.0 (greet, greet-admin), greetplugin 1.0, plainlib 1.0,
    /// hello 1.0 and shout 1.0 on the index; tools in `tools/`, shims in `bin/`.
    fn new() -> World {
        let t = TestEnv::with_private_cache();
        let tools = t.path("tools");
        let bin = t.path("bin");
        World::with_dirs(t, tools, bin)
    }

    fn with_dirs(t: TestEnv, tools: PathBuf, bin: PathBuf) -> World {
        let files = t.path("files");
        std::fs::create_dir_all(&files).unwrap();
        let server = IndexServer::start(&files);
        let w = World {
            t,
            files,
            server,
            tools,
            bin,
            python: common::python(),
        };
        w.publish(greetlib("1.0"));
        w.publish(greet("1.0", &["greet", "greet-admin"]));
        w.publish(plain("greetplugin", "1.0"));
        w.publish(plain("plainlib", "1.0"));
        w.publish(hello("1.0"));
        w.publish(shout("1.0"));
        w
    }

    fn publish(&self, wheel: WheelBuilder) -> PathBuf {
        wheel.build(&self.files)
    }

    /// `envtool --index-url URL ARGS...` with the tool and bin directories set.
    fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.t.cmd(["--index-url", self.server.url().as_str()]);
        cmd.args(args)
            .env("ENVTOOL_TOOL_DIR", &self.tools)
            .env("ENVTOOL_BIN_DIR", &self.bin)
            .env_remove("XDG_BIN_HOME");
        cmd
    }

    fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd(args).output().unwrap()
    }

    /// Run, assert success, return stdout.
    fn ok<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self.run(args);
        assert_success(&out);
        String::from_utf8(out.stdout).unwrap()
    }

    /// `tool install REQ --python PY EXTRA...`
    fn install(&self, req: &str, extra: &[&str]) -> Output {
        let mut cmd = self.cmd(["tool", "install", req, "--python"]);
        cmd.arg(&self.python).args(extra);
        cmd.output().unwrap()
    }

    fn install_ok(&self, req: &str, extra: &[&str]) -> String {
        let out = self.install(req, extra);
        assert_success(&out);
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// A shim of the bin dir, run as `env -i PATH=/usr/bin:/bin SHIM`.
    fn shim(&self, name: &str) -> Command {
        bare(&self.bin.join(name))
    }

    /// Run a greet-style shim and parse the JSON line it prints.
    fn shim_json(&self, name: &str, args: &[&str]) -> serde_json::Value {
        let out = self.shim(name).args(args).output().unwrap();
        assert_success(&out);
        parse_json_line(&out)
    }

    fn list_json(&self) -> Vec<serde_json::Value> {
        let text = self.ok(["tool", "list", "--json"]);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("tool list --json: bad JSON ({e}):\n{text}"))
    }

    /// Entries of the bin dir (names), sorted.
    fn bin_entries(&self) -> Vec<String> {
        entries(&self.bin)
    }

    /// Entries of the tool dir (names), sorted.
    fn tool_entries(&self) -> Vec<String> {
        entries(&self.tools)
    }
}

/// `env -i PATH=/usr/bin:/bin PROGRAM`.
fn bare(program: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear().env("PATH", "/usr/bin:/bin");
    if let Some(parent) = program.parent() {
        cmd.current_dir(parent);
    }
    cmd
}

fn parse_json_line(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| {
        panic!(
            "expected one JSON line ({e}), got stdout:\n{text}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn entries(dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = rd
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The shim is an executable `#!/bin/sh` script whose second line names its owner.
fn assert_shim(path: &Path, owner_line: &str) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("#!/bin/sh"),
        "{}:\n{text}",
        path.display()
    );
    assert_eq!(
        lines.next(),
        Some(owner_line),
        "{}:\n{text}",
        path.display()
    );
    let mode = std::fs::metadata(path).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o111,
        0o111,
        "{} is not executable ({mode:o})",
        path.display()
    );
}

/// Replace the tool environment's `bin/python` with a symlink to a path that does not exist.
fn break_interpreter(env: &Path) {
    let python = env.join("bin/python");
    assert!(
        std::fs::symlink_metadata(&python).is_ok(),
        "{} is missing",
        python.display()
    );
    std::fs::remove_file(&python).unwrap();
    std::os::unix::fs::symlink("/nonexistent/envtool-test/python3", &python).unwrap();
}

// ---------------------------------------------------------------------------------------
// 1. install / list / upgrade / uninstall
// ---------------------------------------------------------------------------------------

#[test]
fn install_exposes_every_console_script_as_a_working_shim() {
    let w = World::new();
    let err = w.install_ok("greet", &[]);
    assert!(err.contains("greet"), "install report:\n{err}");

    // Exactly the tool's own commands (not its dependency's greetlib-info).
    assert_eq!(w.bin_entries(), vec!["greet", "greet-admin"]);
    for command in ["greet", "greet-admin"] {
        assert_shim(&w.bin.join(command), "# envtool-shim: tool=greet");
    }
    assert_eq!(w.tool_entries(), vec!["greet"]);
    let env = w.tools.join("greet");
    assert!(env.join("pyvenv.cfg").is_file());
    let receipt = std::fs::read_to_string(env.join("envtool-tool.toml")).unwrap();
    assert!(receipt.contains("greet"), "receipt:\n{receipt}");

    // Run from a bare environment: the tool runs in its own environment, with its dependency.
    let v = w.shim_json("greet", &[]);
    assert_eq!(v["cmd"], "greet");
    assert_eq!(v["version"], "1.0");
    assert_eq!(v["lib"], "1.0");
    assert_eq!(v["plugin"], serde_json::Value::Null);
    assert_eq!(
        std::fs::canonicalize(v["prefix"].as_str().unwrap()).unwrap(),
        std::fs::canonicalize(&env).unwrap()
    );
    let v = w.shim_json("greet-admin", &[]);
    assert_eq!(v["cmd"], "greet-admin");
    assert_eq!(v["version"], "1.0");
}

#[test]
fn shims_pass_arguments_and_exit_status_through() {
    let w = World::new();
    w.install_ok("greet", &[]);
    let args = [
        "plain",
        "with space",
        "it's",
        "say \"hi\"",
        "back\\slash",
        "$HOME",
        "`echo no`",
        "*",
        "",
        "two\nlines",
        "--exit",
    ];
    let v = w.shim_json("greet", &args);
    assert_eq!(
        strings(&v["args"]),
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    );

    for code in [0, 3, 42] {
        let out = w
            .shim("greet")
            .args(["--exit", &code.to_string()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "stderr:\n{}", stderr(&out));
        assert_eq!(parse_json_line(&out)["cmd"], "greet");
    }

    // Also through a symlink to the shim (as when a user links it elsewhere)...
    let link = w.t.path("link-to-greet");
    std::os::unix::fs::symlink(w.bin.join("greet"), &link).unwrap();
    let out = bare(&link).args(["via link"]).output().unwrap();
    assert_success(&out);
    assert_eq!(strings(&parse_json_line(&out)["args"]), vec!["via link"]);
    // ...and by name on PATH.
    let out = Command::new("greet")
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", w.bin.display()))
        .args(["a b"])
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(strings(&parse_json_line(&out)["args"]), vec!["a b"]);
}

#[test]
fn list_and_list_json_describe_installed_tools() {
    let w = World::new();
    // Nothing installed yet: an empty JSON array, and a friendly text listing.
    assert_eq!(w.list_json(), Vec::<serde_json::Value>::new());
    let out = w.run(["tool", "list"]);
    assert_success(&out);
    assert!(String::from_utf8_lossy(&out.stdout).trim().is_empty());

    w.install_ok("greet", &[]);
    w.install_ok("shout", &[]);

    let text = w.ok(["tool", "list"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        vec!["greet 1.0: greet, greet-admin", "shout 1.0: shout"],
        "tool list:\n{text}"
    );

    let rows = w.list_json();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let row = &rows[0];
    let keys: std::collections::BTreeSet<&str> = row
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in ["name", "version", "commands", "python", "status", "path"] {
        assert!(keys.contains(key), "key {key} missing from {row}");
    }
    assert_eq!(row["name"], "greet");
    assert_eq!(row["version"], "1.0");
    assert_eq!(strings(&row["commands"]), vec!["greet", "greet-admin"]);
    assert_eq!(row["status"], "ok");
    assert!(row["reason"].is_null(), "{row}");
    let python = PathBuf::from(row["python"].as_str().expect("python is a string"));
    assert!(python.is_absolute() && python.exists(), "python {python:?}");
    assert_eq!(
        std::fs::canonicalize(&python).unwrap(),
        std::fs::canonicalize(&w.python).unwrap()
    );
    assert_eq!(
        PathBuf::from(row["path"].as_str().unwrap()),
        w.tools.join("greet")
    );
    assert_eq!(rows[1]["name"], "shout");
    assert_eq!(strings(&rows[1]["commands"]), vec!["shout"]);
}

#[test]
fn installing_an_installed_tool_again_is_refused_unless_forced() {
    let w = World::new();
    w.install_ok("greet", &[]);
    let receipt = std::fs::read(w.tools.join("greet/envtool-tool.toml")).unwrap();
    let out = w.install("greet", &[]);
    let err = assert_user_error(&out, "already installed");
    assert!(
        err.contains("--force") && err.contains("envtool tool upgrade greet"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(w.tools.join("greet/envtool-tool.toml")).unwrap(),
        receipt
    );
    w.install_ok("greet", &["--force"]);
    assert_eq!(w.shim_json("greet", &[])["version"], "1.0");
    assert_eq!(w.bin_entries(), vec!["greet", "greet-admin"]);
}

#[test]
fn upgrade_picks_up_a_newer_version() {
    let w = World::new();
    w.install_ok("greet", &[]);
    assert_eq!(w.shim_json("greet", &[])["version"], "1.0");

    // Nothing new: up to date, shims unchanged.
    let out = w.run(["tool", "upgrade", "greet"]);
    assert_success(&out);
    assert_eq!(w.shim_json("greet", &[])["version"], "1.0");

    w.publish(greet("1.1", &["greet", "greet-admin"]));
    w.publish(greetlib("1.1"));
    let out = w.run(["tool", "upgrade", "greet"]);
    assert_success(&out);
    let err = stderr(&out);
    assert!(
        err.contains("1.0") && err.contains("1.1"),
        "upgrade report:\n{err}"
    );

    let v = w.shim_json("greet", &["x y"]);
    assert_eq!(v["version"], "1.1");
    assert_eq!(v["lib"], "1.1");
    assert_eq!(strings(&v["args"]), vec!["x y"]);
    assert_eq!(w.shim_json("greet-admin", &[])["version"], "1.1");
    assert_eq!(w.bin_entries(), vec!["greet", "greet-admin"]);
    let rows = w.list_json();
    assert_eq!(rows[0]["version"], "1.1");
    assert_eq!(rows[0]["status"], "ok");
    // No staging or trash directories left behind.
    assert_eq!(w.tool_entries(), vec!["greet"]);
}

#[test]
fn constraints_and_overrides_given_at_install_are_kept_by_upgrades() {
    let w = World::new();
    w.publish(greetlib("1.1"));
    w.publish(greetlib("2.0"));
    let c = w.t.path("c.txt");
    std::fs::write(&c, "greetlib<1.1\n").unwrap();
    w.install_ok("greet", &["-c", c.to_str().unwrap()]);
    assert_eq!(w.shim_json("greet", &[])["lib"], "1.0");
    let receipt = std::fs::read_to_string(w.tools.join("greet/envtool-tool.toml")).unwrap();
    assert!(receipt.contains("greetlib<1.1"), "{receipt}");

    w.publish(greet("1.1", &["greet", "greet-admin"]));
    assert_success(&w.run(["tool", "upgrade", "greet"]));
    let v = w.shim_json("greet", &[]);
    assert_eq!(
        (v["version"].as_str(), v["lib"].as_str()),
        (Some("1.1"), Some("1.0"))
    );

    // A reinstall keeps them too; a constraint given then replaces the one on that name.
    let c2 = w.t.path("c2.txt");
    std::fs::write(&c2, "greetlib>=1.1,<2\n").unwrap();
    w.install_ok("greet", &["--force", "-c", c2.to_str().unwrap()]);
    assert_eq!(w.shim_json("greet", &[])["lib"], "1.1");
    // An override is kept the same way.
    let o = w.t.path("o.txt");
    std::fs::write(&o, "greetplugin==1.0\n").unwrap();
    w.install_ok("greet", &["--force", "--override", o.to_str().unwrap()]);
    assert_success(&w.run(["tool", "upgrade", "greet", "--reinstall"]));
    assert_eq!(w.shim_json("greet", &[])["lib"], "1.1");
    let receipt = std::fs::read_to_string(w.tools.join("greet/envtool-tool.toml")).unwrap();
    assert!(!receipt.contains("greetlib<1.1"), "{receipt}");
    assert!(
        receipt.contains(">=1.1") && receipt.contains("greetplugin==1.0"),
        "{receipt}"
    );
}

#[test]
fn upgrade_that_drops_a_command_removes_its_shim_and_adds_the_new_one() {
    let w = World::new();
    w.install_ok("greet", &[]);
    w.install_ok("shout", &[]);
    std::fs::write(w.bin.join("mine"), "#!/bin/sh\necho mine\n").unwrap();

    w.publish(greet("2.0", &["greet", "greet-extra"]));
    let out = w.run(["tool", "upgrade", "--all"]);
    assert_success(&out);

    assert_eq!(
        w.bin_entries(),
        vec!["greet", "greet-extra", "mine", "shout"]
    );
    assert_shim(&w.bin.join("greet-extra"), "# envtool-shim: tool=greet");
    assert_eq!(w.shim_json("greet", &[])["version"], "2.0");
    let v = w.shim_json("greet-extra", &[]);
    assert_eq!(
        (v["cmd"].as_str(), v["version"].as_str()),
        (Some("greet-extra"), Some("2.0"))
    );
    assert_eq!(
        std::fs::read_to_string(w.bin.join("mine")).unwrap(),
        "#!/bin/sh\necho mine\n"
    );
    let out = w.shim("shout").arg("hi").output().unwrap();
    assert_success(&out);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "SHOUT 1.0 HI");

    let rows = w.list_json();
    assert_eq!(rows[0]["version"], "2.0");
    assert_eq!(strings(&rows[0]["commands"]), vec!["greet", "greet-extra"]);
}

#[test]
fn uninstall_removes_the_environment_and_only_its_own_shims() {
    let w = World::new();
    w.install_ok("greet", &[]);
    w.install_ok("shout", &[]);
    let foreign = "#!/bin/sh\necho not envtool\n";
    std::fs::write(w.bin.join("other-tool"), foreign).unwrap();
    // A shim-looking file owned by another tool name that is not installed: not ours to remove.
    let alien = "#!/bin/sh\n# envtool-shim: tool=somebody-else\necho alien\n";
    std::fs::write(w.bin.join("alien"), alien).unwrap();

    let out = w.run(["tool", "uninstall", "greet"]);
    assert_success(&out);
    assert_eq!(w.tool_entries(), vec!["shout"]);
    assert_eq!(w.bin_entries(), vec!["alien", "other-tool", "shout"]);
    assert_eq!(
        std::fs::read_to_string(w.bin.join("other-tool")).unwrap(),
        foreign
    );
    assert_eq!(std::fs::read_to_string(w.bin.join("alien")).unwrap(), alien);
    let out = w.shim("shout").arg("still here").output().unwrap();
    assert_success(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "SHOUT 1.0 STILL HERE"
    );

    let text = w.ok(["tool", "list"]);
    assert_eq!(text.trim(), "shout 1.0: shout");

    // Uninstalling it again: not installed.
    let out = w.run(["tool", "uninstall", "greet"]);
    assert_user_error(&out, "not installed");

    // Several names at once; the normalized spelling is accepted.
    w.install_ok("greet", &[]);
    let out = w.run(["tool", "uninstall", "Greet", "shout"]);
    assert_success(&out);
    assert_eq!(w.tool_entries(), Vec::<String>::new());
    assert_eq!(w.bin_entries(), vec!["alien", "other-tool"]);
}

#[test]
fn uninstall_of_several_names_with_one_unknown_changes_nothing() {
    let w = World::new();
    w.install_ok("greet", &[]);
    let out = w.run(["tool", "uninstall", "greet", "nope"]);
    assert_user_error(&out, "nope");
    assert_eq!(w.tool_entries(), vec!["greet"]);
    assert_eq!(w.bin_entries(), vec!["greet", "greet-admin"]);
    assert_eq!(w.shim_json("greet", &[])["version"], "1.0");
}

#[test]
fn with_executables_from_exposes_a_dependency_s_commands() {
    let w = World::new();
    w.install_ok("greet", &["--with-executables-from", "greetlib"]);
    assert_eq!(
        w.bin_entries(),
        vec!["greet", "greet-admin", "greetlib-info"]
    );
    let out = w.shim("greetlib-info").output().unwrap();
    assert_success(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "greetlib-info 1.0"
    );
    // Uninstall takes the dependency's shim too.
    w.ok(["tool", "uninstall", "greet"]);
    assert_eq!(w.bin_entries(), Vec::<String>::new());
}

#[test]
fn install_with_extra_packages_keeps_them_across_upgrades() {
    let w = World::new();
    w.install_ok("greet", &["--with", "greetplugin"]);
    assert_eq!(w.shim_json("greet", &[])["plugin"], "1.0");
    w.publish(plain("greetplugin", "1.5"));
    w.ok(["tool", "upgrade", "greet"]);
    assert_eq!(w.shim_json("greet", &[])["plugin"], "1.5");
}

#[test]
fn tool_dir_prints_the_directories() {
    let w = World::new();
    assert_eq!(w.ok(["tool", "dir"]).trim(), w.tools.to_str().unwrap());
    assert_eq!(
        w.ok(["tool", "dir", "--bin"]).trim(),
        w.bin.to_str().unwrap()
    );
}

// ---------------------------------------------------------------------------------------
// 2. Long paths with spaces
// ---------------------------------------------------------------------------------------

#[test]
fn shims_work_for_tools_under_long_paths_with_spaces_and_quotes() {
    let t = TestEnv::with_private_cache();
    let tools = t.path(&format!("a b/it's {}/tools", "x".repeat(120)));
    let bin = t.path("a b/bin dir");
    let w = World::with_dirs(t, tools, bin);
    let python_path = w.tools.join("greet/bin/python");
    assert!(
        python_path.as_os_str().len() > 127,
        "{}",
        python_path.display()
    );

    w.install_ok("greet", &[]);
    let v = w.shim_json("greet", &["a b", "c'd"]);
    assert_eq!(v["version"], "1.0");
    assert_eq!(strings(&v["args"]), vec!["a b", "c'd"]);
    assert_eq!(
        std::fs::canonicalize(v["prefix"].as_str().unwrap()).unwrap(),
        std::fs::canonicalize(w.tools.join("greet")).unwrap()
    );
    assert_eq!(w.shim_json("greet-admin", &[])["cmd"], "greet-admin");
    let out = w.shim("greet").args(["--exit", "5"]).output().unwrap();
    assert_eq!(out.status.code(), Some(5));

    // The broken-interpreter path also works there.
    break_interpreter(&w.tools.join("greet"));
    let out = w.shim("greet").output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("envtool tool upgrade greet"),
        "{}",
        stderr(&out)
    );
    w.ok(["tool", "upgrade", "greet"]);
    assert_eq!(w.shim_json("greet", &[])["version"], "1.0");

    w.ok(["tool", "uninstall", "greet"]);
    assert_eq!(w.bin_entries(), Vec::<String>::new());
    assert_eq!(w.tool_entries(), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------
// 3. Foreign files in the bin dir
// ---------------------------------------------------------------------------------------

#[test]
fn install_refuses_to_overwrite_a_foreign_file_unless_forced() {
    let w = World::new();
    std::fs::create_dir_all(&w.bin).unwrap();
    let foreign = "#!/bin/sh\necho mine\n";
    let path = w.bin.join("greet-admin");
    std::fs::write(&path, foreign).unwrap();

    let out = w.install("greet", &[]);
    let err = assert_user_error(&out, "not created by envtool");
    assert!(err.contains("greet-admin"), "{err}");
    assert!(err.contains("--force"), "{err}");
    // Nothing changed: no tool environment (nor staging leftovers), the file intact, no shims.
    assert_eq!(tree(&w.tools), Vec::<String>::new());
    assert_eq!(w.bin_entries(), vec!["greet-admin"]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), foreign);
    assert!(w.list_json().is_empty());

    w.install_ok("greet", &["--force"]);
    assert_shim(&path, "# envtool-shim: tool=greet");
    assert_eq!(w.shim_json("greet-admin", &[])["cmd"], "greet-admin");
    assert_eq!(w.shim_json("greet", &[])["cmd"], "greet");
}

#[test]
fn a_foreign_symlink_in_the_bin_dir_is_protected_too() {
    let w = World::new();
    std::fs::create_dir_all(&w.bin).unwrap();
    std::os::unix::fs::symlink("/bin/true", w.bin.join("greet")).unwrap();
    let out = w.install("greet", &[]);
    assert_user_error(&out, "not created by envtool");
    assert_eq!(
        std::fs::read_link(w.bin.join("greet")).unwrap(),
        PathBuf::from("/bin/true")
    );
    assert_eq!(tree(&w.tools), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------
// 4. Two tools, one command
// ---------------------------------------------------------------------------------------

#[test]
fn a_second_tool_exposing_the_same_command_is_refused() {
    let w = World::new();
    w.install_ok("greet", &[]);
    let before = std::fs::read(w.bin.join("greet")).unwrap();

    let out = w.install("hello", &[]);
    let err = assert_user_error(&out, "both provide the command greet");
    assert!(
        err.contains("tool greet") && err.contains("tool hello"),
        "{err}"
    );
    assert!(
        err.contains("envtool tool uninstall") || err.contains("uninstall tool greet"),
        "{err}"
    );

    // Nothing of hello was installed, and greet still works.
    assert_eq!(w.tool_entries(), vec!["greet"]);
    assert_eq!(w.bin_entries(), vec!["greet", "greet-admin"]);
    assert_eq!(std::fs::read(w.bin.join("greet")).unwrap(), before);
    assert_eq!(w.shim_json("greet", &[])["cmd"], "greet");

    // --force takes the command over; uninstalling the old owner leaves the new owner's shim.
    w.install_ok("hello", &["--force"]);
    assert_shim(&w.bin.join("greet"), "# envtool-shim: tool=hello");
    let out = w.shim("greet").output().unwrap();
    assert_success(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "hello from hello"
    );
    w.ok(["tool", "uninstall", "greet"]);
    assert_eq!(w.bin_entries(), vec!["greet", "hello"]);
    assert_shim(&w.bin.join("greet"), "# envtool-shim: tool=hello");
}

// ---------------------------------------------------------------------------------------
// 5. A tool whose interpreter is gone
// ---------------------------------------------------------------------------------------

#[test]
fn a_broken_interpreter_is_reported_and_repaired() {
    let w = World::new();
    w.install_ok("greet", &[]);
    let env = w.tools.join("greet");
    break_interpreter(&env);

    let out = w.shim("greet").arg("x").output().unwrap();
    let err = stderr(&out);
    assert_ne!(out.status.code(), Some(0), "stderr:\n{err}");
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(err.contains("greet"), "{err}");
    assert!(
        err.contains("hint: repair it with: envtool tool upgrade greet"),
        "{err}"
    );
    assert!(!err.contains("bad interpreter"), "{err}");
    assert!(!err.contains("No such file"), "{err}");

    // tool list marks it broken.
    let text = w.ok(["tool", "list"]);
    assert!(
        text.contains("greet") && text.contains("broken"),
        "tool list:\n{text}"
    );
    assert!(
        text.contains("envtool tool upgrade greet"),
        "tool list:\n{text}"
    );
    let rows = w.list_json();
    assert_eq!(rows[0]["status"], "broken");
    assert!(
        rows[0]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("interpreter"),
        "{}",
        rows[0]
    );

    // tool upgrade repairs it.
    let out = w.run(["tool", "upgrade", "greet"]);
    assert_success(&out);
    let v = w.shim_json("greet", &["x"]);
    assert_eq!(
        (v["version"].as_str(), strings(&v["args"])),
        (Some("1.0"), vec!["x".to_string()])
    );
    assert_eq!(w.list_json()[0]["status"], "ok");

    // So does tool install --force.
    break_interpreter(&env);
    assert_ne!(
        w.shim("greet-admin").output().unwrap().status.code(),
        Some(0)
    );
    w.install_ok("greet", &["--force"]);
    assert_eq!(w.shim_json("greet-admin", &[])["cmd"], "greet-admin");
    assert_eq!(w.list_json()[0]["status"], "ok");
    assert_eq!(w.tool_entries(), vec!["greet"]);
}

#[test]
fn repairing_a_broken_tool_is_not_reported_as_up_to_date() {
    let w = World::new();
    w.install_ok("greet", &[]);
    break_interpreter(&w.tools.join("greet"));
    let out = w.run(["tool", "upgrade", "greet"]);
    assert_success(&out);
    let err = stderr(&out);
    assert!(
        !err.contains("up to date"),
        "a repair reported as a no-op:\n{err}"
    );
}

#[test]
fn a_tool_whose_environment_is_gone_can_be_uninstalled_and_its_shim_says_so() {
    let w = World::new();
    w.install_ok("greet", &[]);
    // The whole environment is gone except the receipt-less directory.
    let env = w.tools.join("greet");
    std::fs::remove_dir_all(&env).unwrap();
    std::fs::create_dir(&env).unwrap();
    let out = w.shim("greet").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("envtool tool upgrade greet"),
        "{}",
        stderr(&out)
    );
    let rows = w.list_json();
    assert_eq!(rows[0]["status"], "broken");
    // Without a receipt, uninstall finds the shims by their owner line.
    w.ok(["tool", "uninstall", "greet"]);
    assert_eq!(w.bin_entries(), Vec::<String>::new());
    assert_eq!(w.tool_entries(), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------
// 6. A failed upgrade leaves the old version working
// ---------------------------------------------------------------------------------------

fn assert_still_1_0(w: &World, receipt_before: &[u8]) {
    assert_eq!(w.shim_json("greet", &["a b"])["version"], "1.0");
    assert_eq!(w.shim_json("greet-admin", &[])["version"], "1.0");
    assert_eq!(
        std::fs::read(w.tools.join("greet/envtool-tool.toml")).unwrap(),
        receipt_before
    );
    let rows = w.list_json();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["version"], "1.0");
    assert_eq!(rows[0]["status"], "ok");
    assert_eq!(strings(&rows[0]["commands"]), vec!["greet", "greet-admin"]);
    // No staging or trash directories left behind.
    assert_eq!(w.tool_entries(), vec!["greet"]);
}

/// The upgrade must fail (exit 1, an error, no panic) and change nothing.
fn assert_upgrade_fails(w: &World, receipt: &[u8]) {
    let out = w.run(["tool", "upgrade", "greet"]);
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    // The old version is intact whatever the exit status says.
    assert_still_1_0(w, receipt);
    assert_eq!(w.bin_entries(), vec!["greet", "greet-admin"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the upgrade did not fail; stderr:\n{err}"
    );
    assert!(err.contains("error:"), "{err}");
}

#[test]
fn a_failed_upgrade_with_a_tampered_wheel_leaves_the_old_version_working() {
    // greet 2.0's metadata is fine (so the resolver picks it) but a file does not match its
    // RECORD hash, so installing it fails.
    let w = World::new();
    w.install_ok("greet", &[]);
    let receipt = std::fs::read(w.tools.join("greet/envtool-tool.toml")).unwrap();
    w.publish(greet("2.0", &["greet", "greet-extra"]).tamper_record_hash("greet/cli.py"));
    assert_upgrade_fails(&w, &receipt);
}

#[test]
fn a_failed_upgrade_with_a_bad_download_leaves_the_old_version_working() {
    // The index publishes a hash the downloaded greet 2.0 does not match.
    let w = World::new();
    w.install_ok("greet", &[]);
    let receipt = std::fs::read(w.tools.join("greet/envtool-tool.toml")).unwrap();
    let wheel = w.publish(greet("2.0", &["greet", "greet-extra"]));
    w.server
        .set_wrong_hash(wheel.file_name().unwrap().to_str().unwrap());
    assert_upgrade_fails(&w, &receipt);
}

#[test]
fn a_failed_upgrade_with_a_truncated_wheel_leaves_the_old_version_working() {
    // greet 2.0 is truncated (no readable metadata): the upgrade should fail rather than
    // report "up to date" while a newer version is published.
    let w = World::new();
    w.install_ok("greet", &[]);
    let receipt = std::fs::read(w.tools.join("greet/envtool-tool.toml")).unwrap();
    let wheel = w.publish(greet("2.0", &["greet", "greet-extra"]));
    let len = std::fs::metadata(&wheel).unwrap().len();
    truncate_file(&wheel, len / 2);
    assert_upgrade_fails(&w, &receipt);
}

#[test]
fn a_failed_upgrade_whose_new_command_clashes_leaves_the_old_version_working() {
    let w = World::new();
    w.install_ok("greet", &[]);
    let receipt = std::fs::read(w.tools.join("greet/envtool-tool.toml")).unwrap();
    let foreign = "#!/bin/sh\necho mine\n";
    std::fs::write(w.bin.join("greet-extra"), foreign).unwrap();

    w.publish(greet("2.0", &["greet", "greet-extra"]));
    let out = w.run(["tool", "upgrade", "greet"]);
    assert_user_error(&out, "greet-extra");
    assert_still_1_0(&w, &receipt);
    assert_eq!(
        std::fs::read_to_string(w.bin.join("greet-extra")).unwrap(),
        foreign
    );
}

// ---------------------------------------------------------------------------------------
// 7. tool run
// ---------------------------------------------------------------------------------------

#[test]
fn tool_run_runs_without_installing_and_reuses_its_environment() {
    let w = World::new();
    let run = |args: &[&str]| {
        let mut cmd = w.cmd(["tool", "run", "--python"]);
        cmd.arg(&w.python).args(args);
        cmd.output().unwrap()
    };
    let out = run(&["greet", "--", "a b", "it's"]);
    assert_success(&out);
    let v = parse_json_line(&out);
    assert_eq!(v["cmd"], "greet");
    assert_eq!(v["version"], "1.0");
    assert_eq!(strings(&v["args"]), vec!["a b", "it's"]);
    // Not installed: no tool directory, no shims.
    assert!(
        !w.tools.exists() || tree(&w.tools).is_empty(),
        "{:?}",
        tree(&w.tools)
    );
    assert!(
        !w.bin.exists() || tree(&w.bin).is_empty(),
        "{:?}",
        tree(&w.bin)
    );
    assert!(w.list_json().is_empty());

    // The second run resolves nothing: the index hears no request.
    w.server.clear_requests();
    let out = run(&["greet", "--", "again"]);
    assert_success(&out);
    assert_eq!(strings(&parse_json_line(&out)["args"]), vec!["again"]);
    assert_eq!(w.server.requests(), Vec::<String>::new());

    // Exit statuses pass through.
    let out = run(&["greet", "--", "--exit", "7"]);
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(w.server.requests(), Vec::<String>::new());
}

#[test]
fn tool_run_with_adds_a_package_and_from_picks_a_command() {
    let w = World::new();
    let run = |args: &[&str]| {
        let mut cmd = w.cmd(["tool", "run", "--python"]);
        cmd.arg(&w.python).args(args);
        cmd.output().unwrap()
    };
    let out = run(&["greet"]);
    assert_success(&out);
    assert_eq!(parse_json_line(&out)["plugin"], serde_json::Value::Null);

    let out = run(&["--with", "greetplugin", "greet"]);
    assert_success(&out);
    assert_eq!(parse_json_line(&out)["plugin"], "1.0");

    let out = run(&["--from", "greet", "greet-admin", "--", "z"]);
    assert_success(&out);
    let v = parse_json_line(&out);
    assert_eq!(v["cmd"], "greet-admin");
    assert_eq!(strings(&v["args"]), vec!["z"]);

    // A pinned version through --from.
    w.publish(greet("2.0", &["greet", "greet-extra"]));
    let out = run(&["--from", "greet==1.0", "greet-admin"]);
    assert_success(&out);
    assert_eq!(parse_json_line(&out)["version"], "1.0");

    // A command the package does not have: an error naming the ones it has.
    let out = run(&["--from", "greet==1.0", "nope"]);
    let err = assert_user_error(&out, "nope");
    assert!(err.contains("greet-admin"), "{err}");
    assert!(!w.tools.exists() || tree(&w.tools).is_empty());
}

// ---------------------------------------------------------------------------------------
// 8. envtool shim DIR
// ---------------------------------------------------------------------------------------

fn create_env(w: &World, dir: &Path, reqs: &[&str]) {
    let mut cmd = w.cmd(["create"]);
    cmd.arg(dir).arg("--python").arg(&w.python).args(reqs);
    let out = cmd.output().unwrap();
    assert_success(&out);
}

#[test]
fn shim_exposes_an_environment_s_console_scripts() {
    let w = World::new();
    let env = w.t.path("my env");
    create_env(&w, &env, &["greet"]);

    // All of them, into --bin-dir.
    let b2 = w.t.path("b2");
    let out = w
        .cmd([
            "shim".as_ref(),
            env.as_os_str(),
            "--bin-dir".as_ref(),
            b2.as_os_str(),
        ])
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(entries(&b2), vec!["greet", "greet-admin", "greetlib-info"]);
    let owner = format!("# envtool-shim: env={}", env.display());
    for name in ["greet", "greet-admin", "greetlib-info"] {
        assert_shim(&b2.join(name), &owner);
    }
    let out = bare(&b2.join("greet"))
        .args(["a b", "--exit"])
        .output()
        .unwrap();
    assert_success(&out);
    let v = parse_json_line(&out);
    assert_eq!(strings(&v["args"]), vec!["a b", "--exit"]);
    assert_eq!(
        std::fs::canonicalize(v["prefix"].as_str().unwrap()).unwrap(),
        std::fs::canonicalize(&env).unwrap()
    );
    let out = bare(&b2.join("greetlib-info")).output().unwrap();
    assert_success(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "greetlib-info 1.0"
    );
    // The env's bin dir was not touched by the tool commands.
    assert!(!w.bin.exists());

    // Only the named ones; the default bin dir is ENVTOOL_BIN_DIR.
    let out = w
        .cmd(["shim".as_ref(), env.as_os_str(), "greet-admin".as_ref()])
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(w.bin_entries(), vec!["greet-admin"]);
    assert_eq!(w.shim_json("greet-admin", &[])["cmd"], "greet-admin");

    // Exposing again is fine (the shims are its own).
    let out = w
        .cmd([
            "shim".as_ref(),
            env.as_os_str(),
            "--bin-dir".as_ref(),
            b2.as_os_str(),
        ])
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(entries(&b2), vec!["greet", "greet-admin", "greetlib-info"]);

    // A script it does not have: an error naming the ones it has, nothing written.
    let b3 = w.t.path("b3");
    let out = w
        .cmd([
            "shim".as_ref(),
            env.as_os_str(),
            "nope".as_ref(),
            "--bin-dir".as_ref(),
            b3.as_os_str(),
        ])
        .output()
        .unwrap();
    let err = assert_user_error(&out, "nope");
    assert!(err.contains("greet-admin"), "{err}");
    assert!(!b3.exists() || entries(&b3).is_empty());
}

/// `filecmds`: commands shipped as files in `.data/scripts` (as ruff, awscli, cmake do): a
/// native binary (a copy of the system's `echo`), a shell script and a `#!python` script.
fn filecmds(version: &str) -> WheelBuilder {
    let echo = std::fs::read("/bin/echo").expect("/bin/echo");
    WheelBuilder::new("filecmds", version)
        .file("filecmds/__init__.py", format!("VERSION = {version:?}\n"))
        .data("scripts", "fc-native", echo)
        .data("scripts", "fc-sh", "#!/bin/sh\necho \"sh:$*\"\n")
        .data(
            "scripts",
            "fc-py",
            "#!python\nimport sys\nprint('py:' + ' '.join(sys.argv[1:]))\n",
        )
}

fn stdout_of(out: &Output) -> String {
    assert_success(out);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn commands_shipped_as_files_are_tool_commands() {
    let w = World::new();
    w.publish(filecmds("1.0"));
    w.install_ok("filecmds", &[]);
    assert_eq!(w.bin_entries(), vec!["fc-native", "fc-py", "fc-sh"]);
    assert_eq!(
        stdout_of(&w.shim("fc-native").args(["a", "b c"]).output().unwrap()),
        "a b c"
    );
    assert_eq!(
        stdout_of(&w.shim("fc-sh").arg("x").output().unwrap()),
        "sh:x"
    );
    assert_eq!(
        stdout_of(&w.shim("fc-py").arg("y").output().unwrap()),
        "py:y"
    );
    // The native binary's shim executes it, not `python <binary>`.
    let text = std::fs::read_to_string(w.bin.join("fc-native")).unwrap();
    assert!(text.contains(r#"exec "$script" "$@""#), "{text}");

    // tool run finds them too.
    let out = w
        .cmd(["tool", "run", "--from", "filecmds", "fc-native", "--python"])
        .arg(&w.python)
        .args(["--", "hello"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&out), "hello");

    // A command file that vanished: the shim says so and how to repair, exit 1.
    let env = w.tools.join("filecmds");
    std::fs::remove_file(env.join("bin/fc-native")).unwrap();
    let out = w.shim("fc-native").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("cannot run fc-native") && err.contains("hint:"),
        "{err}"
    );
    assert!(err.contains("envtool tool upgrade filecmds"), "{err}");
}

#[test]
fn shim_exposes_commands_shipped_as_files() {
    let w = World::new();
    w.publish(filecmds("1.0"));
    let env = w.t.path("e");
    create_env(&w, &env, &["filecmds"]);
    let out = w.cmd(["shim".as_ref(), env.as_os_str()]).output().unwrap();
    assert_success(&out);
    assert_eq!(w.bin_entries(), vec!["fc-native", "fc-py", "fc-sh"]);
    assert_eq!(
        stdout_of(&w.shim("fc-native").arg("z").output().unwrap()),
        "z"
    );
    assert_eq!(
        stdout_of(&w.shim("fc-py").arg("z").output().unwrap()),
        "py:z"
    );
    // `python` is in bin/ but no distribution installed it: not a command to expose.
    let out = w
        .cmd(["shim".as_ref(), env.as_os_str(), "python".as_ref()])
        .output()
        .unwrap();
    let err = assert_user_error(&out, "python");
    assert!(err.contains("fc-native"), "{err}");
}

#[test]
fn shim_protects_foreign_files_and_other_owners() {
    let w = World::new();
    let env = w.t.path("e");
    create_env(&w, &env, &["greet"]);
    std::fs::create_dir_all(&w.bin).unwrap();
    std::fs::write(w.bin.join("greet"), "#!/bin/sh\necho mine\n").unwrap();
    let out = w.cmd(["shim".as_ref(), env.as_os_str()]).output().unwrap();
    assert_user_error(&out, "not created by envtool");
    assert_eq!(w.bin_entries(), vec!["greet"]);
    assert_eq!(
        std::fs::read_to_string(w.bin.join("greet")).unwrap(),
        "#!/bin/sh\necho mine\n"
    );

    let out = w
        .cmd(["shim".as_ref(), env.as_os_str(), "--force".as_ref()])
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(w.shim_json("greet", &[])["cmd"], "greet");

    // A tool cannot take over the environment's shim without --force.
    let out = w.install("greet", &[]);
    assert_user_error(&out, "both provide the command");
    assert_eq!(w.tool_entries(), Vec::<String>::new());
}

#[test]
fn shim_for_an_environment_at_a_long_path_can_be_refreshed() {
    // The owner line of a shim records the environment's path; a long path must still be
    // recognized as the same owner when the shims are written again.
    let w = World::new();
    let env =
        w.t.path(&format!("{}/{} env", "d".repeat(200), "e".repeat(80)));
    create_env(&w, &env, &["greet"]);
    let out = w.cmd(["shim".as_ref(), env.as_os_str()]).output().unwrap();
    assert_success(&out);
    assert_eq!(w.shim_json("greet", &[])["cmd"], "greet");
    let out = w.cmd(["shim".as_ref(), env.as_os_str()]).output().unwrap();
    assert_success(&out);
    assert_eq!(w.shim_json("greet", &[])["cmd"], "greet");
}

#[test]
fn a_broken_environment_shim_prints_its_path_without_shell_expansion() {
    let w = World::new();
    let env = w.t.path("env $(touch pwned) `touch pwned2` $HOME");
    create_env(&w, &env, &["greet"]);
    let out = w
        .cmd(["shim".as_ref(), env.as_os_str(), "greet".as_ref()])
        .output()
        .unwrap();
    assert_success(&out);
    let cwd = w.t.path("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    // Working: the quoted paths work.
    let out = w.shim("greet").current_dir(&cwd).output().unwrap();
    assert_success(&out);
    assert_eq!(parse_json_line(&out)["cmd"], "greet");

    break_interpreter(&env);
    let out = w.shim("greet").current_dir(&cwd).output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        entries(&cwd).is_empty(),
        "the shim ran commands from the path: {:?}; stderr:\n{err}",
        entries(&cwd)
    );
    assert!(
        err.contains(&env.display().to_string()),
        "the message does not name {}:\n{err}",
        env.display()
    );
}

// ---------------------------------------------------------------------------------------
// 9. Bad input
// ---------------------------------------------------------------------------------------

#[test]
fn a_package_without_console_scripts_suggests_create() {
    let w = World::new();
    let out = w.install("plainlib", &[]);
    let err = assert_user_error(&out, "has no commands");
    assert!(err.contains("envtool create"), "{err}");
    assert_eq!(tree(&w.tools), Vec::<String>::new());
    assert_eq!(w.bin_entries(), Vec::<String>::new());
}

#[test]
fn uninstalling_or_upgrading_a_tool_that_is_not_installed() {
    let w = World::new();
    let out = w.run(["tool", "uninstall", "nope"]);
    let err = assert_user_error(&out, "not installed");
    assert!(
        err.contains("nope") && err.contains("envtool tool list"),
        "{err}"
    );
    let out = w.run(["tool", "upgrade", "nope"]);
    let err = assert_user_error(&out, "not installed");
    assert!(err.contains("envtool tool install nope"), "{err}");
    assert!(!w.tools.exists() || tree(&w.tools).is_empty());
    assert!(!w.bin.exists());
}

#[test]
fn an_unwritable_bin_dir_fails_cleanly() {
    let t = TestEnv::with_private_cache();
    let file = t.path("file");
    std::fs::write(&file, "a regular file\n").unwrap();
    let tools = t.path("tools");
    let w = World::with_dirs(t, tools, file.join("bin"));

    let out = w.install("greet", &[]);
    let err = assert_user_error(&out, "bin");
    assert!(err.contains("ENVTOOL_BIN_DIR"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "a regular file\n");
    // Nothing changed: no tool left half installed (an environment without shims).
    assert_eq!(
        tree(&w.tools),
        Vec::<String>::new(),
        "a tool was left installed without shims"
    );
    assert!(w.list_json().is_empty());
}

#[test]
fn tool_names_cannot_escape_the_tool_dir() {
    let w = World::new();
    w.install_ok("greet", &[]);
    // A directory a `../x` would reach from the tool dir.
    let victim = w.t.path("x");
    std::fs::create_dir_all(victim.join("bin")).unwrap();
    std::fs::write(victim.join("pyvenv.cfg"), "home = /usr/bin\n").unwrap();
    std::fs::write(victim.join("envtool-tool.toml"), "name = \"x\"\n").unwrap();
    let victim_tree = tree(&victim);
    let before_tools = w.tool_entries();
    let before_bin = w.bin_entries();

    for args in [
        vec!["tool", "uninstall", "../x"],
        vec!["tool", "uninstall", "/etc"],
        vec!["tool", "uninstall", "greet/../../x"],
        vec!["tool", "uninstall", ".."],
        vec!["tool", "upgrade", "../x"],
        vec!["tool", "upgrade", "/etc"],
    ] {
        let out = w.run(&args);
        let err = assert_user_error(&out, "not a valid tool name");
        assert!(
            err.contains("tool names are package names"),
            "{args:?}: {err}"
        );
    }
    // A valid name listed after an invalid one is not uninstalled either.
    let out = w.run(["tool", "uninstall", "greet", "../x"]);
    assert_user_error(&out, "not a valid tool name");

    assert_eq!(tree(&victim), victim_tree);
    assert!(Path::new("/etc/passwd").exists());
    assert_eq!(w.tool_entries(), before_tools);
    assert_eq!(w.bin_entries(), before_bin);
    assert_eq!(w.shim_json("greet", &[])["version"], "1.0");
}

// ---------------------------------------------------------------------------------------
// Repairs keep what the user asked for; what pipx and uv users reach for
// ---------------------------------------------------------------------------------------

fn receipt_text(w: &World, id: &str) -> String {
    std::fs::read_to_string(w.tools.join(id).join("envtool-tool.toml")).unwrap()
}

#[test]
fn a_forced_reinstall_and_a_repair_keep_the_receipt_s_requirements() {
    let w = World::new();
    w.install_ok("greet<1.1", &["--with", "greetplugin"]);
    w.publish(greet("1.1", &["greet", "greet-admin"]));
    break_interpreter(&w.tools.join("greet"));
    // The shim names the repair that keeps `greet<1.1` and the plugin.
    let err = stderr(&w.shim("greet").output().unwrap());
    assert!(err.contains("envtool tool upgrade greet"), "{err}");
    assert!(!err.contains("--force"), "{err}");

    // `install --force greet` (no new requirements) keeps them too.
    w.install_ok("greet", &["--force"]);
    let v = w.shim_json("greet", &[]);
    assert_eq!(
        (v["version"].as_str(), v["plugin"].as_str()),
        (Some("1.0"), Some("1.0"))
    );
    assert!(receipt_text(&w, "greet").contains("greet<1.1"));
    // New ones given replace them.
    w.install_ok("greet>=1.1", &["--force"]);
    let v = w.shim_json("greet", &[]);
    assert_eq!(v["version"], "1.1");
    assert_eq!(v["plugin"], "1.0", "--with is kept when not given again");
}

#[test]
fn upgrade_all_after_a_repair_rebuilds_only_what_changed_with_one_line_each() {
    use std::os::unix::fs::MetadataExt;
    let w = World::new();
    w.install_ok("greet", &[]);
    w.install_ok("shout", &[]);
    break_interpreter(&w.tools.join("shout"));
    let out = w.run(["tool", "upgrade", "--all"]);
    assert_success(&out);
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "one line per tool:\n{err}");
    assert!(lines[0].contains("greet is up to date"), "{err}");
    assert!(lines[1].contains("Repaired shout"), "{err}");

    // Again: nothing rebuilt, no warning, one line each.
    let inode = |id: &str| {
        std::fs::metadata(w.tools.join(id).join("pyvenv.cfg"))
            .unwrap()
            .ino()
    };
    let before = (inode("greet"), inode("shout"));
    let out = w.run(["tool", "upgrade", "--all"]);
    let err = stderr(&out);
    assert_success(&out);
    assert!(!err.contains("warning"), "{err}");
    assert_eq!(err.lines().count(), 2, "{err}");
    assert_eq!(
        (inode("greet"), inode("shout")),
        before,
        "rebuilt without a change"
    );

    // A new version: only that tool is rebuilt.
    w.publish(shout("1.1"));
    let out = w.run(["tool", "upgrade", "--all"]);
    let err = stderr(&out);
    assert!(err.contains("Upgraded shout: 1.0 -> 1.1"), "{err}");
    assert_eq!(inode("greet"), before.0);
    assert_ne!(inode("shout"), before.1);
}

#[test]
fn uninstall_removes_the_shims_of_an_environment_that_is_gone() {
    let w = World::new();
    w.install_ok("greet", &[]);
    std::fs::remove_dir_all(w.tools.join("greet")).unwrap();
    assert_eq!(w.bin_entries(), vec!["greet", "greet-admin"]);
    let out = w.run(["tool", "uninstall", "greet"]);
    assert_success(&out);
    assert_eq!(w.bin_entries(), Vec::<String>::new());
    // Nothing left: now it is not installed.
    assert_user_error(&w.run(["tool", "uninstall", "greet"]), "not installed");
}

#[test]
fn a_project_directory_installs_as_a_tool_and_upgrades_from_anywhere() {
    let w = World::new();
    let proj = crate::build::project(&w.t.path("src"), "projtool", "1.0", "");
    // `tool install .` from inside the project.
    let out = w
        .cmd(["tool", "install", ".", "--python"])
        .arg(&w.python)
        .current_dir(&proj)
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(w.bin_entries(), vec!["projtool-hello"]);
    let out = w.shim("projtool-hello").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "hello from projtool 1.0"
    );
    // The receipt holds the absolute location, so an upgrade works from any directory.
    let receipt = receipt_text(&w, "projtool");
    let url = url::Url::from_file_path(&proj).unwrap().to_string();
    assert!(
        receipt.contains(&format!("projtool @ {}", url.trim_end_matches('/'))),
        "{receipt}"
    );
    let out = w
        .cmd(["tool", "upgrade", "projtool", "--reinstall"])
        .current_dir("/")
        .output()
        .unwrap();
    assert_success(&out);

    // `name @ ./relative` is stored absolute too.
    let other = crate::build::project(&w.t.path("src"), "othertool", "2.0", "");
    let out = w
        .cmd(["tool", "install", "othertool @ ./othertool-2.0", "--python"])
        .arg(&w.python)
        .current_dir(w.t.path("src"))
        .output()
        .unwrap();
    assert_success(&out);
    let url = url::Url::from_file_path(&other).unwrap().to_string();
    assert!(receipt_text(&w, "othertool").contains(url.trim_end_matches('/')));
}

#[test]
fn suffix_installs_side_by_side_and_a_colliding_one_is_refused() {
    let w = World::new();
    w.install_ok("greet", &[]);
    w.publish(greet("1.1", &["greet", "greet-admin"]));
    w.install_ok("greet==1.0", &["--suffix", "@1.0"]);
    w.run(["tool", "upgrade", "greet"]);
    assert_eq!(
        w.bin_entries(),
        vec!["greet", "greet-admin", "greet-admin@1.0", "greet@1.0"]
    );
    assert_eq!(w.shim_json("greet", &[])["version"], "1.1");
    assert_eq!(w.shim_json("greet@1.0", &[])["version"], "1.0");
    assert_eq!(w.tool_entries(), vec!["greet", "greet@1.0"]);
    // Each is upgraded and removed on its own.
    assert_success(&w.run(["tool", "upgrade", "greet@1.0"]));
    assert_eq!(w.shim_json("greet@1.0", &[])["version"], "1.0");
    // A suffix that makes another tool's name: refused, nothing changed.
    w.install_ok("greetlib", &[]);
    let before = (
        w.bin_entries(),
        w.tool_entries(),
        receipt_text(&w, "greetlib"),
    );
    let out = w.install("greet", &["--suffix", "lib"]);
    let err = assert_user_error(&out, "greetlib");
    assert!(err.contains("--suffix"), "{err}");
    assert_eq!(
        (
            w.bin_entries(),
            w.tool_entries(),
            receipt_text(&w, "greetlib")
        ),
        before
    );
    // A suffix that is no file name: a usage error.
    let out = w.install("greet", &["--suffix", "a/b"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_success(&w.run(["tool", "uninstall", "greet@1.0"]));
    assert_eq!(
        w.bin_entries(),
        vec!["greet", "greet-admin", "greetlib-info"]
    );
}

#[test]
fn packages_are_added_to_an_installed_tool() {
    let w = World::new();
    w.install_ok("greet", &[]);
    assert_eq!(w.shim_json("greet", &[])["plugin"], serde_json::Value::Null);
    assert_success(&w.run(["tool", "inject", "greet", "greetplugin"]));
    assert_eq!(w.shim_json("greet", &[])["plugin"], "1.0");
    // --with on an installed tool does the same (and keeps what was there).
    w.publish(plain("greetplugin", "2.0"));
    w.install_ok("greet", &["--with", "plainlib"]);
    let receipt = receipt_text(&w, "greet");
    assert!(
        receipt.contains("greetplugin") && receipt.contains("plainlib"),
        "{receipt}"
    );
    // Injecting into a tool that is not there: an error, nothing made.
    assert_user_error(
        &w.run(["tool", "inject", "nope", "plainlib"]),
        "not installed",
    );
    assert_eq!(w.tool_entries(), vec!["greet"]);
}

#[test]
fn tool_list_json_reinstalls_the_same_set_elsewhere() {
    let w = World::new();
    let c = w.t.path("c.txt");
    std::fs::write(&c, "greetlib<1.1\n").unwrap();
    w.publish(greetlib("1.1"));
    w.install_ok(
        "greet",
        &["--with", "greetplugin", "-c", c.to_str().unwrap()],
    );
    w.install_ok("shout", &["--suffix=-old"]);
    let list = w.ok(["tool", "list", "--json"]);
    let file = w.t.path("tools.json");
    std::fs::write(&file, &list).unwrap();

    // Another machine: other tool and bin directories, and newer versions on the index.
    w.publish(greet("1.1", &["greet", "greet-admin"]));
    w.publish(shout("1.1"));
    let other = World {
        tools: w.t.path("tools2"),
        bin: w.t.path("bin2"),
        ..w
    };
    let out = other.run(["tool".as_ref(), "install-all".as_ref(), file.as_os_str()]);
    assert_success(&out);
    assert_eq!(
        other.bin_entries(),
        vec!["greet", "greet-admin", "shout-old"]
    );
    let v = other.shim_json("greet", &[]);
    assert_eq!(
        (
            v["version"].as_str(),
            v["lib"].as_str(),
            v["plugin"].as_str()
        ),
        (Some("1.0"), Some("1.0"), Some("1.0"))
    );
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&other.ok(["tool", "list", "--json"])).unwrap();
    let versions: Vec<&str> = rows
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["1.0", "1.0"]);
    // The remembered constraint still applies to later upgrades, the pins do not.
    assert_success(&other.run(["tool", "upgrade", "--all"]));
    let v = other.shim_json("greet", &[]);
    assert_eq!(
        (v["version"].as_str(), v["lib"].as_str()),
        (Some("1.1"), Some("1.0"))
    );

    // Again: everything is installed already.
    let out = other.run(["tool".as_ref(), "install-all".as_ref(), file.as_os_str()]);
    assert_success(&out);
    assert!(stderr(&out).contains("installed already"));
    // Not a tool list: an error, nothing installed.
    let bad = other.t.path("bad.json");
    std::fs::write(&bad, "{\"not\": \"a list\"}").unwrap();
    let before = other.tool_entries();
    assert_user_error(
        &other.run(["tool".as_ref(), "install-all".as_ref(), bad.as_os_str()]),
        "not a tool list",
    );
    assert_eq!(other.tool_entries(), before);
}

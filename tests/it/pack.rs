//! `envtool pack`: one executable file (`#!/bin/sh` header + zip application) made from an
//! environment, a lock or requirements, run as `./OUT` and as `python OUT`, against a local
//! test index. Every run of a pack sets `ENVTOOL_PACK_ROOT` to a directory of its own test.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime};

use crate::common::{assert_success, assert_user_error, py, pythons, tree, TestEnv};
use crate::support::{truncate_file, IndexServer, WheelBuilder};
use crate::{common, support};

// ---------------------------------------------------------------------------------------
// The package world
// ---------------------------------------------------------------------------------------

/// `demo.cli.run(kind)`: prints one JSON line describing how it was run, writes one line to
/// stderr, and returns the status asked for with `--exit N`. `--stdin` echoes standard
/// input, `--data` reads the package data both ways, `--pth` imports the module a `.pth`
/// file makes importable.
const DEMO_CLI: &str = r#"import json, os, sys
import demolib

def run(kind):
    args = sys.argv[1:]
    out = {"kind": kind, "argv0": sys.argv[0], "args": args, "lib": demolib.VERSION,
           "file": __file__}
    if "--stdin" in args:
        out["stdin"] = sys.stdin.read()
    if "--data" in args:
        from demo import reader
        out["data_file"] = reader.via_file()
        out["data_resources"] = reader.via_resources()
    if "--pth" in args:
        import extramod
        out["pth"] = extramod.VALUE
    print(json.dumps(out, sort_keys=True))
    sys.stdout.flush()
    sys.stderr.write("demo stderr: %s\n" % kind)
    sys.stderr.flush()
    if "--exit" in args:
        return int(args[args.index("--exit") + 1])
    return 0

def main():
    return run("script")

def three():
    run("function")
    return 3

class _Commands:
    def go(self):
        run("attribute")
        return 4

commands = _Commands()
"#;

/// `demo.sub.tool:app.main`: an object's method in a submodule, as a console script names it.
const DEMO_SUB_TOOL: &str = r#"from demo.cli import run

class App:
    def main(self):
        run("nested")
        return 6

app = App()
"#;

const DEMO_READER: &str = r#"import importlib.resources, os

def via_file():
    with open(os.path.join(os.path.dirname(__file__), "data.txt")) as f:
        return f.read()

def via_resources():
    return importlib.resources.files("demo").joinpath("data.txt").read_text()
"#;

pub(crate) fn demo() -> WheelBuilder {
    WheelBuilder::new("demo", "1.0")
        .file("demo/__init__.py", "")
        .file(
            "demo/__main__.py",
            "import sys\nfrom demo.cli import run\nsys.exit(run('module'))\n",
        )
        .file("demo/cli.py", DEMO_CLI)
        .file("demo/reader.py", DEMO_READER)
        .file("demo/data.txt", "packed data\n")
        .file("demo/sub/__init__.py", "")
        .file("demo/sub/tool.py", DEMO_SUB_TOOL)
        .file("zz_extra.pth", "extra_dir\n")
        .file("extra_dir/extramod.py", "VALUE = 'from the pth dir'\n")
        .entry_point("console_scripts", "demo-cli", "demo.cli:main")
        .requires_dist("demolib>=1")
}

pub(crate) fn demolib() -> WheelBuilder {
    WheelBuilder::new("demolib", "1.0").file("demolib/__init__.py", "VERSION = '1.0'\n")
}

/// Deterministic, incompressible bytes (xorshift64*).
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

pub(crate) struct World {
    pub(crate) t: TestEnv,
    pub(crate) server: IndexServer,
    pub(crate) python: PathBuf,
}

impl World {
    pub(crate) fn new() -> World {
        World::with(&[])
    }

    /// The demo world plus more wheels.
    pub(crate) fn with(extra: &[WheelBuilder]) -> World {
        let t = TestEnv::new();
        let wheels = t.path("wheels");
        demo().build(&wheels);
        demolib().build(&wheels);
        for w in extra {
            w.build(&wheels);
        }
        let server = IndexServer::start(&wheels);
        std::fs::create_dir_all(t.path("home")).unwrap();
        World {
            t,
            server,
            python: common::python(),
        }
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.t.path(rel)
    }

    pub(crate) fn root(&self) -> PathBuf {
        self.path("packroot")
    }

    /// Removes the pack root, for a cold start. It is renamed away first: a detached process
    /// still making an earlier start's extraction durable writes by path, and must find
    /// nothing there rather than put `.complete` into a directory half removed.
    pub(crate) fn clear_root(&self) {
        let aside = self.path("packroot.removed");
        if std::fs::rename(self.root(), &aside).is_ok() {
            std::fs::remove_dir_all(&aside).unwrap();
        }
    }

    /// `X.Y` of the test interpreter.
    pub(crate) fn minor(&self) -> String {
        py(
            &self.python,
            "import sys; print('%d.%d' % sys.version_info[:2])",
        )
    }

    /// `envtool create DIR --python PY --index-url URL REQS...`.
    pub(crate) fn create(&self, dir: &str, reqs: &[&str]) -> PathBuf {
        let mut args: Vec<String> = vec![
            "create".into(),
            dir.into(),
            "--python".into(),
            self.python.to_string_lossy().into_owned(),
            "--index-url".into(),
            self.server.url(),
        ];
        args.extend(reqs.iter().map(|s| s.to_string()));
        self.t.ok(&args);
        self.path(dir)
    }

    /// `envtool pack ARGS` (with --python and --index-url added) -> the raw output.
    pub(crate) fn pack_raw(&self, args: &[&str]) -> Output {
        self.pack_cmd(args).output().unwrap()
    }

    pub(crate) fn pack_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = self.t.cmd(["pack"]);
        cmd.args(args)
            .arg("--python")
            .arg(&self.python)
            .arg("--index-url")
            .arg(self.server.url());
        cmd
    }

    /// `envtool pack --env DIR --entry ENTRY -o OUT`, asserting success; returns OUT.
    pub(crate) fn pack_env(&self, env: &str, entry: &str, out: &str) -> PathBuf {
        let o = self.pack_raw(&["--env", env, "--entry", entry, "-o", out]);
        assert_success(&o);
        self.path(out)
    }

    /// `envtool pack --env DIR --entry ENTRY -o OUT EXTRA...`, asserting success; returns OUT.
    pub(crate) fn pack_env_with(
        &self,
        env: &str,
        entry: &str,
        out: &str,
        extra: &[&str],
    ) -> PathBuf {
        let mut args = vec!["--env", env, "--entry", entry, "-o", out];
        args.extend_from_slice(extra);
        let o = self.pack_raw(&args);
        assert_success(&o);
        self.path(out)
    }

    /// The demo environment `e`.
    pub(crate) fn demo_env(&self) -> PathBuf {
        self.create("e", &["demo"])
    }

    /// The PATH runs of `./OUT` see: the test interpreter's bin dir first, so the header's
    /// `/usr/bin/env python3.X` finds it.
    pub(crate) fn path_var(&self) -> String {
        format!("{}:/usr/bin:/bin", self.python.parent().unwrap().display())
    }

    /// A command running the pack, either `OUT ARGS` or `python OUT ARGS`.
    pub(crate) fn run_cmd(&self, pack: &Path, how: How, args: &[&str]) -> Command {
        let mut cmd = match how {
            How::Direct => Command::new(pack),
            How::Python => {
                let mut c = Command::new(&self.python);
                c.arg(pack);
                c
            }
        };
        cmd.args(args)
            .current_dir(self.t.tmp.path())
            .env("ENVTOOL_PACK_ROOT", self.root())
            .env("HOME", self.path("home"))
            .env("PATH", self.path_var())
            .env_remove("PYTHONPATH")
            .env_remove("PYTHONHOME")
            .env_remove("PYTHONNOUSERSITE")
            .env_remove("PYTHONSTARTUP")
            .env_remove("PYTHONSAFEPATH")
            .env_remove("VIRTUAL_ENV")
            .env_remove("XDG_CACHE_HOME")
            .stdin(Stdio::null());
        cmd
    }

    pub(crate) fn run(&self, pack: &Path, how: How, args: &[&str]) -> Output {
        self.run_cmd(pack, how, args).output().unwrap()
    }

    /// Runs with `input` piped to standard input.
    pub(crate) fn run_with_stdin(
        &self,
        pack: &Path,
        how: How,
        args: &[&str],
        input: &str,
    ) -> Output {
        let mut child = self
            .run_cmd(pack, how, args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// The extraction directories below the pack root (names not starting with `.`), and
    /// everything else there.
    pub(crate) fn root_entries(&self) -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(self.root()) else {
            return Vec::new();
        };
        let mut names: Vec<String> = rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// The one complete extraction directory.
    pub(crate) fn extraction(&self) -> PathBuf {
        let names = self.root_entries();
        assert_eq!(
            names.len(),
            1,
            "expected one extraction dir, found {names:?}"
        );
        let dir = self.root().join(&names[0]);
        assert!(
            crate::common::wait_for_complete(&dir),
            "{} has no .complete",
            dir.display()
        );
        dir
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum How {
    /// `./OUT ARGS` (the sh header)
    Direct,
    /// `python OUT ARGS` (the zip application)
    Python,
}

pub(crate) const BOTH: [How; 2] = [How::Direct, How::Python];

pub(crate) fn stdout_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The one JSON line the demo prints.
pub(crate) fn report(out: &Output) -> serde_json::Value {
    let text = stdout_of(out);
    let line = text
        .lines()
        .next()
        .unwrap_or_else(|| panic!("no output; stderr:\n{}", stderr_of(out)));
    serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}; stderr:\n{}", stderr_of(out)))
}

/// Runs the pack both ways, twice each (a cold then a warm start), checking stdout (the
/// entry kind, the arguments, the packed dependency, the code runs from the extraction),
/// stdin passthrough, stderr and the exit status.
pub(crate) fn check_pack(w: &World, pack: &Path, kind: &str, status: i32) {
    for how in BOTH {
        for start in ["cold", "warm"] {
            if start == "cold" {
                w.clear_root();
            }
            let ctx = format!("{kind} entry, {how:?}, {start} start");
            let out =
                w.run_with_stdin(pack, how, &["a b", "--stdin", "-x"], "line one\nline two\n");
            assert_eq!(
                out.status.code(),
                Some(status),
                "{ctx}: stderr:\n{}",
                stderr_of(&out)
            );
            let r = report(&out);
            assert_eq!(r["kind"], kind, "{ctx}");
            assert_eq!(
                r["args"],
                serde_json::json!(["a b", "--stdin", "-x"]),
                "{ctx}"
            );
            assert_eq!(r["lib"], "1.0", "{ctx}");
            assert_eq!(r["stdin"], "line one\nline two\n", "{ctx}");
            let file = r["file"].as_str().unwrap();
            assert!(
                Path::new(file).starts_with(w.root()),
                "{ctx}: the code ran from {file}, not from the pack root {}",
                w.root().display()
            );
            assert_eq!(
                stdout_of(&out).lines().count(),
                1,
                "{ctx}: {}",
                stdout_of(&out)
            );
            assert_eq!(stderr_of(&out), format!("demo stderr: {kind}\n"), "{ctx}");

            let out = w.run(pack, how, &["--exit", "5"]);
            let want = if kind == "function" { 3 } else { 5 };
            assert_eq!(
                out.status.code(),
                Some(want),
                "{ctx}: stderr:\n{}",
                stderr_of(&out)
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Entries and sources
// ---------------------------------------------------------------------------------------

#[test]
fn module_entry_from_an_env() {
    let w = World::new();
    w.demo_env();
    let pack = w.pack_env("e", "demo", "demo.pyz");
    let head = std::fs::read(&pack).unwrap();
    assert!(
        head.starts_with(b"#!/bin/sh\n"),
        "{:?}",
        String::from_utf8_lossy(&head[..40])
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&pack).unwrap().permissions().mode() & 0o111,
        0o111
    );
    check_pack(&w, &pack, "module", 0);
}

#[test]
fn function_entry_return_value_is_the_exit_status() {
    let w = World::new();
    w.demo_env();
    let pack = w.pack_env("e", "demo.cli:three", "three");
    check_pack(&w, &pack, "function", 3);
}

#[test]
fn console_script_entry_from_an_env() {
    let w = World::new();
    w.demo_env();
    let pack = w.pack_env("e", "demo-cli", "demo-cli");
    check_pack(&w, &pack, "script", 0);
}

/// `module:object.attr` in a submodule, as a console script would call it.
#[test]
fn nested_attribute_entries_run_as_console_scripts_do() {
    let w = World::new();
    w.demo_env();
    for (entry, kind, status) in [
        ("demo.cli:commands.go", "attribute", 4),
        ("demo.sub.tool:app.main", "nested", 6),
    ] {
        let pack = w.pack_env("e", entry, "nested");
        for how in BOTH {
            let out = w.run(&pack, how, &["x"]);
            assert_eq!(
                out.status.code(),
                Some(status),
                "{entry} {how:?}: {}",
                stderr_of(&out)
            );
            let r = report(&out);
            assert_eq!(r["kind"], kind, "{entry} {how:?}");
            assert_eq!(r["args"], serde_json::json!(["x"]), "{entry} {how:?}");
        }
    }
}

/// Any module `python -m` takes is an entry, the standard library's included.
#[test]
fn standard_library_module_entry() {
    let w = World::new();
    w.demo_env();
    let pack = w.pack_env("e", "json.tool", "json-tool");
    let inspect = w.t.ok(["pack", "--inspect", "json-tool"]);
    assert!(
        inspect.contains("entry: json.tool (python -m json.tool)"),
        "{inspect}"
    );
    for how in BOTH {
        for start in ["cold", "warm"] {
            if start == "cold" {
                w.clear_root();
            }
            let out = w.run_with_stdin(&pack, how, &["--sort-keys"], "{\"b\": 1, \"a\": [2]}");
            assert_success(&out);
            assert_eq!(
                stdout_of(&out),
                "{\n    \"a\": [\n        2\n    ],\n    \"b\": 1\n}\n",
                "{how:?} {start}"
            );
        }
    }
}

/// A distribution with commands in `.data/scripts`: a shell script (what a native binary
/// is to the pack: executed, not run by Python) and a `#!python` script.
fn commands_wheel() -> WheelBuilder {
    WheelBuilder::new("cmds", "1.0")
        .file("cmds/__init__.py", "")
        .data(
            "scripts",
            "shell-tool",
            "#!/bin/sh\necho \"shell-tool argv0=$0 args=$*\"\nexit 7\n",
        )
        .data(
            "scripts",
            "py-tool",
            "#!python\nimport json, sys, demolib\nprint(json.dumps({'kind': 'py-tool', 'argv0': sys.argv[0], 'args': sys.argv[1:], 'lib': demolib.VERSION, 'file': __file__}))\nsys.exit(8)\n",
        )
        .requires_dist("demolib>=1")
}

/// With a pack root it cannot trust, a pack extracts into a private temporary directory for
/// the run and removes it after, also when its entry is a command that is not Python (which
/// the runner executes, so no exit handler of the bootstrap runs): the exit status passes
/// through, and nothing is left in TMPDIR.
#[test]
fn a_command_entry_run_from_a_temporary_extraction_leaves_nothing_behind() {
    use std::os::unix::fs::PermissionsExt;
    let w = World::with(&[commands_wheel()]);
    w.create("c", &["cmds"]);
    let shell = w.pack_env("c", "shell-tool", "shell-tool");
    let tmp = w.path("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::create_dir_all(w.root()).unwrap();
    std::fs::set_permissions(w.root(), std::fs::Permissions::from_mode(0o777)).unwrap();
    for how in BOTH {
        let out = w
            .run_cmd(&shell, how, &["a", "b"])
            .env("TMPDIR", &tmp)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(7), "{how:?}: {}", stderr_of(&out));
        assert!(
            stdout_of(&out).ends_with(" args=a b\n"),
            "{how:?}: {}",
            stdout_of(&out)
        );
        assert!(
            stderr_of(&out).contains("warning:"),
            "{how:?}: {}",
            stderr_of(&out)
        );
        assert_eq!(tree(&tmp), Vec::<String>::new(), "{how:?}: left behind");
    }
}

#[test]
fn commands_the_distribution_installs_into_bin_are_entries() {
    let w = World::with(&[commands_wheel()]);
    w.create("c", &["cmds"]);
    let shell = w.pack_env("c", "shell-tool", "shell-tool");
    let py_tool = w.pack_env("c", "py-tool", "py-tool");
    let inspect = w.t.ok(["pack", "--inspect", "shell-tool"]);
    assert!(
        inspect.contains("entry: shell-tool (a command"),
        "{inspect}"
    );
    for how in BOTH {
        for start in ["cold", "warm"] {
            if start == "cold" {
                w.clear_root();
            }
            let out = w.run(&shell, how, &["a", "b"]);
            assert_eq!(
                out.status.code(),
                Some(7),
                "{how:?} {start}: {}",
                stderr_of(&out)
            );
            let text = stdout_of(&out);
            assert!(text.ends_with(" args=a b\n"), "{how:?} {start}: {text}");
            assert!(text.contains("argv0="), "{text}");

            let out = w.run(&py_tool, how, &["c"]);
            assert_eq!(
                out.status.code(),
                Some(8),
                "{how:?} {start}: {}",
                stderr_of(&out)
            );
            let r = report(&out);
            assert_eq!(r["kind"], "py-tool");
            assert_eq!(r["args"], serde_json::json!(["c"]));
            assert_eq!(r["lib"], "1.0");
            assert!(
                Path::new(r["file"].as_str().unwrap()).starts_with(w.root()),
                "{r}"
            );
        }
    }
    // The environment's path does not get into the pack (the script's #! line is #!python).
    let env_path = w.path("c").to_string_lossy().into_owned();
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&py_tool).unwrap()).unwrap();
    let mut script = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("bin/py-tool").unwrap(), &mut script).unwrap();
    assert!(script.starts_with("#!python\n"), "{script}");
    assert!(!script.contains(&env_path), "{script}");
}

/// A Python script a distribution installs into `bin/` behind the `/bin/sh` trampoline
/// launchers use for long interpreter paths is a Python command to a pack as it is to
/// `envtool shim` and tools (one detector, `install::commands`): it runs in the pack's
/// interpreter, not through the path its trampoline names.
#[test]
fn a_trampolined_python_script_is_a_python_command() {
    let tramp = WheelBuilder::new("tramp", "1.0")
        .file("tramp/__init__.py", "")
        .data(
            "scripts",
            "tramp-tool",
            "#!/bin/sh\n'''exec' '/nonexistent/bin/python' \"$0\" \"$@\"\n' '''\nimport json, sys, demolib\nprint(json.dumps({'kind': 'tramp-tool', 'args': sys.argv[1:], 'lib': demolib.VERSION}))\n",
        )
        .requires_dist("demolib>=1");
    let w = World::with(&[tramp]);
    w.create("t", &["tramp"]);
    let pack = w.pack_env("t", "tramp-tool", "tramp-tool");
    for how in BOTH {
        let out = w.run(&pack, how, &["z"]);
        assert_success(&out);
        let r = report(&out);
        assert_eq!(r["kind"], "tramp-tool", "{how:?}");
        assert_eq!(r["args"], serde_json::json!(["z"]), "{how:?}");
        assert_eq!(r["lib"], "1.0", "{how:?}");
    }
}

/// Packs of one environment that differ in the entry, the compile flag or the interpreter
/// command each have their own extraction: each runs its own program, whichever ran first.
#[test]
fn packs_differing_in_what_runs_never_share_an_extraction() {
    let w = World::new();
    w.demo_env();
    let module = w.pack_env("e", "demo", "m");
    let script = w.pack_env("e", "demo-cli", "s");
    let function = w.pack_env("e", "demo.cli:three", "f");
    let compiled = w.pack_raw(&["--env", "e", "--entry", "demo", "-o", "c", "--compile"]);
    assert_success(&compiled);
    let shebang = w.pack_raw(&[
        "--env",
        "e",
        "--entry",
        "demo",
        "-o",
        "p",
        "--python-shebang",
        &w.python.to_string_lossy(),
    ]);
    assert_success(&shebang);
    let same = w.pack_env("e", "demo", "m2");
    for how in BOTH {
        w.clear_root();
        for (pack, kind, status) in [
            (&module, "module", 0),
            (&script, "script", 0),
            (&function, "function", 3),
            (&w.path("c"), "module", 0),
            (&w.path("p"), "module", 0),
            (&same, "module", 0),
            (&module, "module", 0),
            (&script, "script", 0),
        ] {
            let out = w.run(pack, how, &[]);
            assert_eq!(
                out.status.code(),
                Some(status),
                "{pack:?} {how:?}: {}",
                stderr_of(&out)
            );
            assert_eq!(report(&out)["kind"], kind, "{pack:?} {how:?}");
        }
        let dirs: Vec<String> = w
            .root_entries()
            .into_iter()
            .filter(|n| !n.starts_with('.'))
            .collect();
        // m and m2 are the same pack (same bytes): one extraction; the others one each.
        assert_eq!(dirs.len(), 5, "{how:?}: {dirs:?}");
        // The compile flag took effect in its own extraction only.
        let compiled_dirs = dirs
            .iter()
            .filter(|d| {
                w.root()
                    .join(d)
                    .join("site-packages/demo/__pycache__")
                    .is_dir()
            })
            .count();
        assert!(compiled_dirs >= 1, "{dirs:?}");
    }
    assert!(std::fs::read(&module).unwrap() == std::fs::read(&same).unwrap());
}

#[test]
fn entry_that_names_nothing_runnable_lists_what_is_available() {
    let w = World::new();
    w.demo_env();
    for (entry, needle) in [
        ("demolib", "__main__"),
        ("json", "__main__"),
        ("demo.nosuch:main", "nothing runnable"),
        ("nosuch.tool", "nothing runnable"),
        ("sys", "built into the interpreter"),
        ("demo:", "nothing runnable"),
        ("a b", "nothing runnable"),
    ] {
        let out = w.pack_raw(&["--env", "e", "--entry", entry, "-o", "out"]);
        let stderr = assert_user_error(&out, needle);
        assert!(stderr.contains(&format!("{entry:?}")), "{entry}: {stderr}");
        for available in ["demo-cli", "demo (python -m)", "demolib:FUNCTION"] {
            assert!(
                stderr.contains(available),
                "{entry}: {available} is not listed:\n{stderr}"
            );
        }
        assert!(!w.path("out").exists(), "{entry}: a file was written");
    }
}

#[test]
fn packs_from_a_lock_file() {
    let w = World::new();
    let out =
        w.t.cmd([
            "lock",
            "demo",
            "-o",
            "pylock.toml",
            "--index-url",
            &w.server.url(),
        ])
        .arg("--python")
        .arg(&w.python)
        .output()
        .unwrap();
    assert_success(&out);
    let o = w.pack_raw(&[
        "--lock",
        "pylock.toml",
        "--entry",
        "demo-cli",
        "-o",
        "from-lock",
    ]);
    assert_success(&o);
    check_pack(&w, &w.path("from-lock"), "script", 0);
    let inspect = w.t.ok(["pack", "--inspect", "from-lock"]);
    assert!(inspect.contains("demolib"), "{inspect}");
}

#[test]
fn packs_from_requirement_arguments() {
    let w = World::new();
    let o = w.pack_raw(&["demo", "--entry", "demo", "-o", "from-args"]);
    assert_success(&o);
    check_pack(&w, &w.path("from-args"), "module", 0);
}

#[test]
fn packs_from_a_requirements_file() {
    let w = World::new();
    std::fs::write(w.path("requirements.txt"), "demo==1.0\n").unwrap();
    let o = w.pack_raw(&[
        "-r",
        "requirements.txt",
        "--entry",
        "demo.cli:three",
        "-o",
        "from-file",
    ]);
    assert_success(&o);
    check_pack(&w, &w.path("from-file"), "function", 3);
}

/// `sys.argv[0]` names the pack file, for every kind of entry, both ways of running it,
/// whether the pack is named by an absolute or a relative path; and a cold and a warm start
/// of the same command line see the same `sys.argv[0]`.
#[test]
fn argv0_is_the_pack_path() {
    let w = World::new();
    w.demo_env();
    let pack_dir = w.t.tmp.path().canonicalize().unwrap();
    let mut failures = Vec::new();
    for (entry, out) in [
        ("demo", "m.pyz"),
        ("demo.cli:three", "f.pyz"),
        ("demo-cli", "s.pyz"),
    ] {
        let pack = w.pack_env("e", entry, out);
        for how in BOTH {
            for (named, arg) in [
                ("absolute", pack.clone()),
                ("relative", PathBuf::from(format!("./{out}"))),
            ] {
                w.clear_root();
                let mut seen = Vec::new();
                for start in ["cold", "warm"] {
                    let o = w.run(&arg, how, &[]);
                    let argv0 = report(&o)["argv0"].as_str().unwrap().to_string();
                    let names_pack =
                        pack_dir.join(&argv0).canonicalize().ok() == Some(pack_dir.join(out));
                    if !names_pack {
                        failures.push(format!(
                            "--entry {entry}, {how:?}, {named} path {arg:?}, {start} start: sys.argv[0] = {argv0:?} is not the pack"
                        ));
                    }
                    seen.push(argv0);
                }
                if seen[0] != seen[1] {
                    failures.push(format!(
                        "--entry {entry}, {how:?}, {named} path {arg:?}: sys.argv[0] is {:?} on a cold start, {:?} on a warm one",
                        seen[0], seen[1]
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "sys.argv[0]:\n{}", failures.join("\n"));
}

#[test]
fn python_shebang_names_the_interpreter_the_header_runs() {
    let w = World::new();
    w.demo_env();
    let o = w.pack_raw(&[
        "--env",
        "e",
        "--entry",
        "demo",
        "-o",
        "pinned",
        "--python-shebang",
        &w.python.to_string_lossy(),
    ]);
    assert_success(&o);
    let pack = w.path("pinned");
    for start in ["cold", "warm"] {
        // No python3.X on PATH at all.
        let out = w
            .run_cmd(&pack, How::Direct, &[])
            .env("PATH", "/nonexistent")
            .output()
            .unwrap();
        assert_success(&out);
        assert_eq!(report(&out)["kind"], "module", "{start}");
    }
}

// ---------------------------------------------------------------------------------------
// What the packed code sees
// ---------------------------------------------------------------------------------------

#[test]
fn data_files_via_file_and_importlib_resources() {
    let w = World::new();
    w.demo_env();
    let pack = w.pack_env("e", "demo", "demo.pyz");
    for how in BOTH {
        for start in ["cold", "warm"] {
            if start == "cold" {
                w.clear_root();
            }
            let out = w.run(&pack, how, &["--data"]);
            assert_success(&out);
            let r = report(&out);
            assert_eq!(r["data_file"], "packed data\n", "{how:?} {start}");
            assert_eq!(r["data_resources"], "packed data\n", "{how:?} {start}");
        }
    }
}

#[test]
fn pth_files_in_site_packages_are_honoured() {
    let w = World::new();
    w.demo_env();
    let pack = w.pack_env("e", "demo-cli", "demo-cli");
    for how in BOTH {
        for start in ["cold", "warm"] {
            if start == "cold" {
                w.clear_root();
            }
            let out = w.run(&pack, how, &["--pth"]);
            assert_success(&out);
            assert_eq!(report(&out)["pth"], "from the pth dir", "{how:?} {start}");
        }
    }
}

/// A wheel with a real C extension module, tagged for the test interpreter.
#[test]
fn native_extension_module() {
    let python = common::python();
    let facts = py(
        &python,
        "import sys, sysconfig; print(sysconfig.get_paths()['include']); print(sysconfig.get_config_var('EXT_SUFFIX')); \
         print('cp%d%d' % sys.version_info[:2]); print(sysconfig.get_platform())",
    );
    let facts: Vec<&str> = facts.lines().collect();
    let (include, suffix, cp, platform) = (facts[0], facts[1], facts[2], facts[3]);
    let platform_tag = platform.replace(['-', '.'], "_");
    let tag = format!("{cp}-{cp}-{platform_tag}");

    let build = tempfile::tempdir().unwrap();
    let c = build.path().join("nativemod.c");
    std::fs::write(
        &c,
        r#"#define PY_SSIZE_T_CLEAN
#include <Python.h>
static PyObject *answer(PyObject *self, PyObject *args) { return PyLong_FromLong(42); }
static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "nativemod", NULL, -1, methods};
PyMODINIT_FUNC PyInit_nativemod(void) { return PyModule_Create(&mod); }
"#,
    )
    .unwrap();
    let so_name = format!("nativemod{suffix}");
    let so = build.path().join(&so_name);
    let out = Command::new("cc")
        .args(["-shared", "-fPIC", "-O1"])
        .arg(format!("-I{include}"))
        .arg(&c)
        .arg("-o")
        .arg(&so)
        .output()
        .expect("cc (a C compiler) is needed for this test");
    assert_success(&out);

    let wheel = WheelBuilder::new("nativepkg", "1.0")
        .tag(&tag)
        .root_is_purelib(false)
        .file(&so_name, std::fs::read(&so).unwrap())
        .file("nativepkg/__init__.py", "")
        .file(
            "nativepkg/__main__.py",
            "import sys, nativemod\nprint('native says %d from %s' % (nativemod.answer(), nativemod.__file__))\nsys.exit(0)\n",
        );
    let w = World::with(&[wheel]);
    w.create("n", &["nativepkg"]);
    let pack = w.pack_env("n", "nativepkg", "native");
    for how in BOTH {
        for start in ["cold", "warm"] {
            if start == "cold" {
                w.clear_root();
            }
            let out = w.run(&pack, how, &[]);
            assert_success(&out);
            let text = stdout_of(&out);
            assert!(
                text.starts_with("native says 42 from "),
                "{how:?} {start}: {text}"
            );
            let file = text.trim().trim_start_matches("native says 42 from ");
            assert!(Path::new(file).starts_with(w.root()), "{file}");
        }
    }
    let inspect = w.t.ok(["pack", "--inspect", "native"]);
    assert!(inspect.contains(&tag), "no {tag} in:\n{inspect}");
    assert!(inspect.contains(platform), "no {platform} in:\n{inspect}");
    assert!(inspect.contains("nativepkg"), "{inspect}");
}

#[test]
fn inspect_shows_entry_python_tags_and_lock() {
    let w = World::new();
    w.demo_env();
    w.pack_env("e", "demo.cli:three", "three");
    let text = w.t.ok(["pack", "--inspect", "three"]);
    assert!(text.contains("entry: demo.cli:three"), "{text}");
    assert!(
        text.contains(&format!("python: cpython {}", w.minor())),
        "{text}"
    );
    assert!(text.contains("none (pure Python)"), "{text}");
    assert!(text.contains("demolib") && text.contains("demo"), "{text}");
    assert!(
        text.contains("[[packages]]"),
        "no embedded lock in:\n{text}"
    );
}

// ---------------------------------------------------------------------------------------
// Reproducible bytes
// ---------------------------------------------------------------------------------------

/// Rewrites the pack argv[1] into argv[2] with its `__main__.pyc` replaced by bytecode printing
/// `from the pyc`, stamped with the hash of the pack's own `__main__.py` when
/// argv[3] is 1, else of other source (the header's size field made right again).
const FORGE_BOOTSTRAP_PYC: &str = r#"import importlib.util, io, marshal, sys, zipfile
src, dst, matching = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
data = open(src, "rb").read()
old = zipfile.ZipFile(src)
infos = old.infolist()
assert "__main__.pyc" in [i.filename for i in infos], [i.filename for i in infos]
prefix = data[: min(i.header_offset for i in infos)]
source = old.read("__main__.py")
code = compile("print('from the pyc')", "__main__.py", "exec")
stamp = importlib.util.source_hash(source if matching else b"other source")
pyc = importlib.util.MAGIC_NUMBER + (3).to_bytes(4, "little") + stamp + marshal.dumps(code)
body = io.BytesIO()
with zipfile.ZipFile(body, "w") as new:
    for info in infos:
        new.writestr(info, pyc if info.filename == "__main__.pyc" else old.read(info))
out = bytearray(prefix + body.getvalue())
at = out.index(b"\nn=") + 3
out[at : at + 14] = str(len(out)).ljust(14).encode()
open(dst, "wb").write(bytes(out))
"#;

/// The pack carries the bootstrap's bytecode for its interpreter, so a first start does not
/// compile it; a pyc that is not the bytecode of the pack's own `__main__.py` is never run
/// (the source is), so the extraction id, made from the source, covers what runs.
#[test]
fn the_bootstrap_runs_from_its_bytecode_only_when_it_is_the_sources() {
    let w = World::new();
    w.demo_env();
    let pack = w.pack_env("e", "demo", "demo.pyz");
    for (matching, name) in [(true, "forged-matching"), (false, "forged-other")] {
        let forged = w.path(name);
        let out = Command::new(&w.python)
            .args(["-I", "-c", FORGE_BOOTSTRAP_PYC])
            .arg(&pack)
            .arg(&forged)
            .arg(if matching { "1" } else { "0" })
            .output()
            .unwrap();
        assert_success(&out);
        std::fs::set_permissions(&forged, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        for how in BOTH {
            w.clear_root();
            let out = w.run(&forged, how, &[]);
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            if matching {
                assert_eq!(stdout, "from the pyc\n", "{how:?}: the pyc did not run");
            } else {
                assert_success(&out);
                assert!(!stdout.contains("from the pyc"), "{how:?}: {stdout}");
                assert_eq!(report(&out)["args"], serde_json::json!([]), "{how:?}");
            }
        }
    }
}

/// The bootstrap's bytecode is compiled once per interpreter and kept in the cache: a second
/// pack starts no interpreter for it. A damaged cache entry is not used: the bytecode is made
/// again, to the same bytes.
#[test]
fn the_bootstrap_bytecode_is_kept_in_the_cache_and_a_damaged_entry_made_again() {
    use sha2::{Digest, Sha256};
    let w = World::new();
    w.demo_env();
    let cache = w.path("own-cache");
    let pack_cmd = |out: &str| {
        let mut cmd = w.pack_cmd(&["--env", "e", "--entry", "demo", "-o", out]);
        cmd.env("ENVTOOL_CACHE_DIR", &cache);
        cmd
    };
    let pyc_of = |out: &str| {
        support::read_wheel_entry(w.path(out), "__main__.pyc")
            .expect("the pack has no __main__.pyc")
    };
    assert_success(&pack_cmd("a").output().unwrap());
    let first = pyc_of("a");
    let entries: Vec<PathBuf> = std::fs::read_dir(cache.join("bytecode-v1"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    let whole = [first.clone(), Sha256::digest(&first).to_vec()].concat();
    assert_eq!(std::fs::read(entry).unwrap(), whole);

    if common::have_strace() {
        let log = w.path("execs.log");
        let out = common::under_strace(&pack_cmd("b"), "execve", &log)
            .output()
            .unwrap();
        assert_success(&out);
        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(
            text.lines().filter(|l| l.contains("execve(")).count(),
            1,
            "a second pack started a program:\n{text}"
        );
        assert_eq!(pyc_of("b"), first);
    } else {
        support::skip("strace is not installed: not checking that the cache saves the compile");
    }

    let mut damaged = std::fs::read(entry).unwrap();
    damaged[20] ^= 0xff;
    std::fs::write(entry, &damaged).unwrap();
    assert_success(&pack_cmd("c").output().unwrap());
    assert_eq!(pyc_of("c"), first, "not made again, or not reproducibly");
    assert_eq!(
        std::fs::read(entry).unwrap(),
        whole,
        "the entry was not mended"
    );
}

#[test]
fn packing_the_same_env_twice_gives_identical_bytes() {
    let w = World::new();
    w.demo_env();
    let a = std::fs::read(w.pack_env("e", "demo", "a")).unwrap();
    // Running the environment's Python writes bytecode caches: they stay out of the pack.
    let out = Command::new(w.path("e/bin/python"))
        .args(["-c", "import demo.cli, demolib"])
        .output()
        .unwrap();
    assert_success(&out);
    let b = std::fs::read(w.pack_env("e", "demo", "b")).unwrap();
    assert!(a == b, "two packs of the same env differ");
}

#[test]
fn source_date_epoch_builds_are_identical() {
    let w = World::new();
    w.demo_env();
    let build = |out: &str| {
        let o = w
            .pack_cmd(&["--env", "e", "--entry", "demo", "-o", out])
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .output()
            .unwrap();
        assert_success(&o);
        std::fs::read(w.path(out)).unwrap()
    };
    let a = build("a");
    let b = build("b");
    assert!(a == b, "two SOURCE_DATE_EPOCH builds differ");
    // The zip entries carry the epoch's date (2023-11-14T22:13:20Z).
    let zip = zip::ZipArchive::new(std::fs::File::open(w.path("a")).unwrap());
    let mut zip = zip.unwrap();
    let t = zip.by_index(0).unwrap().last_modified().unwrap();
    assert_eq!((t.year(), t.month(), t.day()), (2023, 11, 14));
    // And it still runs.
    assert_success(&w.run(&w.path("a"), How::Direct, &[]));
}

#[test]
fn packing_the_same_requirements_twice_gives_identical_bytes() {
    let w = World::new();
    assert_success(&w.pack_raw(&["demo", "--entry", "demo", "-o", "a"]));
    assert_success(&w.pack_raw(&["demo", "--entry", "demo", "-o", "b"]));
    let (a, b) = (
        std::fs::read(w.path("a")).unwrap(),
        std::fs::read(w.path("b")).unwrap(),
    );
    assert!(
        a == b,
        "two packs of the same requirements differ in: {:?}",
        differing_entries(&w.path("a"), &w.path("b"))
    );
}

/// The names of the zip entries whose contents differ between two packs.
fn differing_entries(a: &Path, b: &Path) -> Vec<String> {
    let read = |p: &Path| {
        let mut zip = zip::ZipArchive::new(std::fs::File::open(p).unwrap()).unwrap();
        let mut out = std::collections::BTreeMap::new();
        for i in 0..zip.len() {
            let mut f = zip.by_index(i).unwrap();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut f, &mut data).unwrap();
            out.insert(f.name().unwrap().to_string(), data);
        }
        out
    };
    let (a, b) = (read(a), read(b));
    let names: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    names
        .into_iter()
        .filter(|n| a.get(*n) != b.get(*n))
        .cloned()
        .collect()
}

// ---------------------------------------------------------------------------------------
// Extraction
// ---------------------------------------------------------------------------------------

#[test]
fn eight_concurrent_cold_starts_extract_once() {
    let w = World::new();
    w.demo_env();
    let pack = w.pack_env("e", "demo-cli", "demo-cli");
    for round in 0..2 {
        w.clear_root();
        let children: Vec<_> = (0..8)
            .map(|i| {
                let how = if (i + round) % 2 == 0 {
                    How::Direct
                } else {
                    How::Python
                };
                let n = i.to_string();
                w.run_cmd(&pack, how, &[n.as_str()])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for (i, child) in children.into_iter().enumerate() {
            let out = child.wait_with_output().unwrap();
            assert_success(&out);
            let r = report(&out);
            assert_eq!(
                r["args"],
                serde_json::json!([i.to_string()]),
                "round {round}"
            );
            assert_eq!(stderr_of(&out), "demo stderr: script\n", "round {round}");
        }
        let names = w.root_entries();
        assert_eq!(
            names.len(),
            1,
            "round {round}: the pack root holds {names:?}"
        );
        assert!(!names[0].starts_with('.'), "{names:?}");
        let dir = w.extraction();
        assert!(dir.join("site-packages/demo/cli.py").is_file());
    }
}

fn without_pycache(files: Vec<String>) -> Vec<String> {
    files
        .into_iter()
        .filter(|f| !f.contains("__pycache__"))
        .collect()
}

fn this_boot() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .unwrap()
        .trim()
        .to_string()
}

/// A first start does not wait for the disk: the extraction is used at once with `.pending`
/// (naming this boot), and a detached process syncs it and then writes `.complete`. Where the
/// interpreter can watch a process (`os.pidfd_open`), that sync starts only once the program
/// has ended, so the disk's work does not compete with the program's start.
#[test]
fn a_first_start_is_made_durable_in_the_background() {
    let w = World::new();
    w.demo_env();
    let pack = w.pack_env("e", "demo", "demo.pyz");
    let traced = crate::common::have_strace();
    let log = w.path("strace.log");
    let out = if traced {
        let cmd = w.run_cmd(&pack, How::Direct, &[]);
        crate::common::under_strace(&cmd, "syncfs,execve,exit_group", &log)
            .output()
            .unwrap()
    } else {
        crate::support::skip("strace is not installed: not checking which process syncs");
        w.run(&pack, How::Direct, &[])
    };
    assert_success(&out);
    let names = w.root_entries();
    assert_eq!(names.len(), 1, "{names:?}");
    let dir = w.root().join(&names[0]);
    let pending = std::fs::read_to_string(dir.join(".pending")).unwrap();
    assert_eq!(pending.lines().next(), Some(this_boot().as_str()));
    assert!(crate::common::wait_for_complete(&dir), "never made durable");
    if traced {
        let text = std::fs::read_to_string(&log).unwrap();
        let pid = |l: &str| l.split_whitespace().next().unwrap_or("").to_string();
        // The pack's process (sh, then the Python it becomes) runs the program.
        let main = text.lines().next().map(pid).unwrap_or_default();
        let syncers: Vec<String> = text
            .lines()
            .filter(|l| l.contains("syncfs("))
            .map(pid)
            .collect();
        assert!(
            !syncers.is_empty(),
            "nothing synced the extraction:\n{text}"
        );
        assert!(
            !syncers.contains(&main),
            "the process that runs the program waited for the disk:\n{text}"
        );
        // It became an interpreter of its own: one sharing the program's memory would make
        // each page the program writes a copy.
        let syncer = &syncers[0];
        assert!(
            text.lines()
                .any(|l| pid(l) == *syncer && l.contains("execve(") && l.contains("-c")),
            "the syncing process is a fork of the program's:\n{text}"
        );
        let watches = py(&w.python, "import os; print(hasattr(os, 'pidfd_open'))") == "True";
        if watches {
            let at = |wanted: &dyn Fn(&str) -> bool| text.lines().position(wanted);
            let exit = at(&|l| pid(l) == main && l.contains("exit_group("));
            let sync = at(&|l| l.contains("syncfs("));
            assert!(
                exit.is_some() && sync > exit,
                "the extraction was synced while the program ran:\n{text}"
            );
        } else {
            eprintln!("note: this Python has no os.pidfd_open: its sync does not wait");
        }
    }
}

/// A program that runs on (a server, a shell) does not leave its extraction pending for its
/// whole life: the detached process stops waiting for it after a few seconds and makes the
/// extraction durable while it runs.
#[test]
fn a_long_running_program_has_its_extraction_made_durable_while_it_runs() {
    let waiter = WheelBuilder::new("waiter", "1.0")
        .file(
            "waiter.py",
            r#"import os, sys, time
def main():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if os.path.exists(os.path.join(here, ".complete")):
            print("complete while running")
            return 0
        time.sleep(0.05)
    print("still pending after a minute")
    return 1
"#,
        )
        .entry_point("console_scripts", "waiter", "waiter:main");
    let w = World::with(&[waiter]);
    w.create("e", &["waiter"]);
    let pack = w.pack_env("e", "waiter", "waiter.pyz");
    let out = w.run(&pack, How::Direct, &[]);
    assert_success(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "complete while running\n"
    );
}

/// The demo pack, started once, and its extraction with `.complete` removed again: pending,
/// as a start whose background sync has not ended leaves it.
fn pending_demo_extraction(w: &World) -> (PathBuf, PathBuf) {
    w.demo_env();
    let pack = w.pack_env("e", "demo", "demo.pyz");
    assert_success(&w.run(&pack, How::Direct, &[]));
    let dir = w.extraction();
    std::fs::remove_file(dir.join(".complete")).unwrap();
    (pack, dir)
}

/// An extraction a restart caught before it reached the disk (`.pending` of another boot, no
/// `.complete`) may be missing data: it is never used, and the next start makes it again.
#[test]
fn an_extraction_a_restart_caught_pending_is_made_again() {
    let w = World::new();
    let (pack, dir) = pending_demo_extraction(&w);
    std::fs::write(
        dir.join(".pending"),
        "00000000-0000-0000-0000-000000000000\nold\n",
    )
    .unwrap();
    // What the lost writes left behind: a runner that is not the pack's.
    let marker = w.path("ran-the-old-extraction");
    let run = dir.join(".envtool/run.py");
    std::fs::write(
        &run,
        format!("open({:?}, 'w').write('x')\n", marker.display().to_string()),
    )
    .unwrap();
    let out = w.run(&pack, How::Direct, &[]);
    assert_success(&out);
    assert!(
        !marker.exists(),
        "the extraction from before the restart ran"
    );
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.contains("restarted"), "{err}");
    let again = w.extraction();
    assert!(std::fs::read_to_string(again.join(".envtool/run.py"))
        .unwrap()
        .contains("MANIFEST"));
}

/// In the boot that made it, an extraction still pending (its background sync was cut short)
/// is used as it is, and made durable.
#[test]
fn a_pending_extraction_of_this_boot_is_used_and_made_durable() {
    let w = World::new();
    let (pack, dir) = pending_demo_extraction(&w);
    std::fs::write(dir.join("kept"), "").unwrap();
    let out = w.run(&pack, How::Direct, &[]);
    assert_success(&out);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("warning"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("kept").exists(), "extracted again");
    assert!(crate::common::wait_for_complete(&dir), "never made durable");
}

/// The detached process making an extraction durable holds `.pending`'s shared lock, as a
/// running pack does; when it finds the exclusive lock of `envtool cache prune` there (the
/// extraction is being removed), it writes no `.complete` into it.
#[test]
fn an_extraction_prune_holds_is_not_made_durable() {
    let w = World::new();
    let (pack, dir) = pending_demo_extraction(&w);
    let prune = std::fs::File::open(dir.join(".pending")).unwrap();
    prune.lock().unwrap(); // (once the first start's own background sync has let go of it)
    assert_success(&w.run(&pack, How::Direct, &[]));
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !dir.join(".complete").exists(),
        "made durable while prune held it"
    );
    drop(prune);
    assert_success(&w.run(&pack, How::Direct, &[]));
    assert!(crate::common::wait_for_complete(&dir), "never made durable");
}

/// The `demo-cli` pack of the demo environment, started once (so extracted), and its
/// extraction; None (after a SKIP line) where strace, which the callers trace with, is missing.
fn traceable_demo_cli(w: &World) -> Option<(PathBuf, PathBuf)> {
    if !crate::common::have_strace() {
        crate::support::skip("strace is not installed");
        return None;
    }
    w.demo_env();
    let pack = w.pack_env("e", "demo-cli", "demo-cli");
    assert_success(&w.run(&pack, How::Direct, &[]));
    Some((pack, w.extraction()))
}

/// A warm start of `pack` with the argument `x` under `strace -e trace=SYSCALLS`, checked to
/// have run the program from `dir` as the runner run as a script would (its `__main__`,
/// `sys.argv` and `__file__`); returns the trace.
fn traced_warm_start(w: &World, pack: &Path, dir: &Path, syscalls: &str, what: &str) -> String {
    let log = w.path("strace.log");
    let cmd = w.run_cmd(pack, How::Direct, &["x"]);
    let out = crate::common::under_strace(&cmd, syscalls, &log)
        .output()
        .unwrap();
    assert_success(&out);
    let r = report(&out);
    assert_eq!(r["kind"], "script", "{what}: {r}");
    assert_eq!(r["args"], serde_json::json!(["x"]), "{what}: {r}");
    assert_eq!(r["argv0"], pack.to_str().unwrap(), "{what}: {r}");
    let file = r["file"].as_str().unwrap().to_string();
    assert!(Path::new(&file).starts_with(dir), "{what}: ran from {file}");
    std::fs::read_to_string(&log).unwrap()
}

/// A plain pack's warm start starts no process but its interpreter: the header's own checks
/// are shell built-ins, and whether others can write the extraction is checked by the
/// interpreter before the extraction's runner runs (no `find`, about 2 ms a start). The
/// program gets the same `__main__`, `sys.argv` and `__file__` as when the runner is run as
/// a script.
#[test]
fn a_plain_pack_warm_start_runs_nothing_but_its_interpreter() {
    let w = World::new();
    let Some((pack, dir)) = traceable_demo_cli(&w) else {
        return;
    };
    let text = traced_warm_start(&w, &pack, &dir, "execve", "warm");
    let started: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("execve(") && !l.contains("= -1"))
        .collect();
    assert_eq!(started.len(), 2, "the pack, then its interpreter:\n{text}");
    assert!(started[0].contains(pack.to_str().unwrap()), "{text}");
    assert!(started[1].contains("python"), "{text}");
}

/// A first start leaves the runner compiled for its interpreter in the extraction
/// (`.envtool/run.CACHE_TAG.code`), and a warm start runs that code instead of compiling the
/// runner again. A cache file that is damaged, holds something other than code, or was
/// compiled for another path is ignored: the warm start compiles the runner as before.
#[test]
fn a_plain_pack_warm_start_runs_the_runner_its_first_start_compiled() {
    let w = World::new();
    let Some((pack, dir)) = traceable_demo_cli(&w) else {
        return;
    };
    let tag = format!("cpython-{}", minor_of(&w.python).replace('.', ""));
    let cache = dir.join(format!(".envtool/run.{tag}.code"));
    assert!(cache.is_file(), "no {}", cache.display());
    let runner = dir.join(".envtool/run.py");
    // Which of the two files a warm start reads (it ran the program as it should).
    let warm_reads = |what: &str| {
        let text = traced_warm_start(&w, &pack, &dir, "open,openat", what);
        let opened = |p: &Path| {
            text.lines()
                .any(|l| l.contains(&format!("\"{}\"", p.display())) && !l.contains("= -1"))
        };
        (opened(&cache), opened(&runner))
    };
    assert_eq!(
        warm_reads("cached"),
        (true, false),
        "the warm start compiled the runner again"
    );
    // Each case rewrites the cache file with a Python program (argv[1]: the file).
    let cases = [
        (
            "truncated",
            "import sys; p = sys.argv[1]; d = open(p, 'rb').read(); open(p, 'wb').write(d[: len(d) // 2])",
        ),
        (
            "a string, not code",
            "import marshal, sys; open(sys.argv[1], 'wb').write(marshal.dumps('raise SystemExit(7)'))",
        ),
        (
            "code of another path",
            "import marshal, sys; open(sys.argv[1], 'wb').write(marshal.dumps(compile('raise SystemExit(7)', '/elsewhere/run.py', 'exec')))",
        ),
    ];
    for (what, damage) in cases {
        let out = Command::new(&w.python)
            .args(["-c", damage, cache.to_str().unwrap()])
            .output()
            .unwrap();
        assert_success(&out);
        assert_eq!(warm_reads(what), (true, true), "{what}");
    }
}

#[test]
fn warm_start_extracts_nothing_and_records_the_last_use() {
    let w = World::new();
    w.demo_env();
    let pack = w.pack_env("e", "demo", "demo.pyz");
    assert_success(&w.run(&pack, How::Direct, &[]));
    let dir = w.extraction();
    let before = without_pycache(tree(&dir));
    assert!(
        before.iter().any(|f| f == "site-packages/demo/cli.py"),
        "{before:?}"
    );
    let complete = dir.join(".complete");
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(946_684_800); // 2000-01-01
    std::fs::File::options()
        .write(true)
        .open(&complete)
        .unwrap()
        .set_modified(old)
        .unwrap();

    for how in BOTH {
        let out = w.run(&pack, how, &[]);
        assert_success(&out);
        assert_eq!(
            without_pycache(tree(&dir)),
            before,
            "{how:?}: the warm start changed the extraction"
        );
        assert_eq!(w.root_entries().len(), 1, "{:?}", w.root_entries());
        let mtime = std::fs::metadata(&complete).unwrap().modified().unwrap();
        assert!(
            mtime > old + Duration::from_secs(86_400 * 365 * 10),
            "{how:?}: .complete mtime not updated: {mtime:?}"
        );
        std::fs::File::options()
            .write(true)
            .open(&complete)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
}

// ---------------------------------------------------------------------------------------
// Isolation
// ---------------------------------------------------------------------------------------

/// `X.Y` of an interpreter.
pub(crate) fn minor_of(python: &Path) -> String {
    py(python, "import sys; print('%d.%d' % sys.version_info[:2])")
}

/// A wheel tagged for `python` alone (`cpXY-cpXY-PLATFORM`, not pure): a pack holding it runs
/// on that minor version only. Its module reports the tag it was built for.
pub(crate) fn tagged(python: &Path) -> WheelBuilder {
    let facts = py(
        python,
        "import sys, sysconfig; print('cp%d%d' % sys.version_info[:2]); print(sysconfig.get_platform())",
    );
    let (cp, platform) = facts.split_once('\n').unwrap();
    let tag = format!("{cp}-{cp}-{}", platform.replace(['-', '.'], "_"));
    WheelBuilder::new("tagged", "1.0")
        .tag(&tag)
        .root_is_purelib(false)
        .file("tagged/__init__.py", format!("TAG = {tag:?}\n"))
        .file(
            "tagged/__main__.py",
            "import json, sys, tagged, demolib\nprint(json.dumps({'tag': tagged.TAG, 'version': '%d.%d' % sys.version_info[:2], 'executable': sys.executable, 'args': sys.argv[1:]}))\n",
        )
        .requires_dist("demolib>=1")
}

#[test]
fn incompatible_interpreter_is_refused_without_traceback() {
    let w = World::with(&[tagged(&common::python())]);
    w.create("n", &["tagged"]);
    let pack = w.pack_env("n", "tagged", "tagged.pyz");
    let minor = w.minor();
    let others: Vec<(String, PathBuf)> = pythons()
        .into_iter()
        .filter(|(name, _)| !name.starts_with(&format!("{minor}.")))
        .collect();
    if others.is_empty() {
        return support::skip(&format!("no CPython other than {minor}"));
    }
    for (name, exe) in others {
        let other_minor = name.rsplit_once('.').unwrap().0.to_string();
        let out = Command::new(&exe)
            .arg(&pack)
            .env("ENVTOOL_PACK_ROOT", w.root())
            .env("HOME", w.path("home"))
            .env_remove("PYTHONPATH")
            .output()
            .unwrap();
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: stderr:\n{stderr}");
        assert!(
            stdout_of(&out).is_empty(),
            "{name}: the entry ran: {}",
            stdout_of(&out)
        );
        assert!(!stderr.contains("Traceback"), "{name}:\n{stderr}");
        assert!(
            stderr.contains("error:") && stderr.contains("hint:"),
            "{name}:\n{stderr}"
        );
        assert!(
            stderr.contains(&format!("needs cpython {minor}")),
            "{name}: which Python it needs:\n{stderr}"
        );
        assert!(
            stderr.contains(&format!("cpython {other_minor}.")),
            "{name}: which Python it got:\n{stderr}"
        );
    }
}

/// The warm path makes the first start's interpreter check too: an extraction made by the
/// right Python, then the header's command resolving to another one, is refused (before,
/// the warm start ran the wrong interpreter on the extracted files).
#[test]
fn warm_start_checks_the_interpreter() {
    let minor = minor_of(&common::python());
    let Some((_, other)) = pythons()
        .into_iter()
        .find(|(name, _)| !name.starts_with(&format!("{minor}.")))
    else {
        return support::skip(&format!("no CPython other than {minor}"));
    };
    let w = World::with(&[tagged(&common::python())]);
    w.create("n", &["tagged"]);
    let o = w.pack_raw(&[
        "--env",
        "n",
        "--entry",
        "tagged",
        "-o",
        "t",
        "--python-shebang",
        &format!("/usr/bin/env python{minor}"),
    ]);
    assert_success(&o);
    let pack = w.path("t");
    assert_success(&w.run(&pack, How::Direct, &[]));
    assert!(w.extraction().join(".complete").is_file());
    // python3.X on PATH is now another version.
    let bin = w.path("liar");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(&other, bin.join(format!("python{minor}"))).unwrap();
    let out = w
        .run_cmd(&pack, How::Direct, &[])
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .output()
        .unwrap();
    let stderr = assert_user_error(&out, &format!("needs cpython {minor}"));
    assert!(!stderr.contains("Traceback"), "{stderr}");
    assert!(
        stdout_of(&out).is_empty(),
        "the entry ran: {}",
        stdout_of(&out)
    );
}

/// A directory with a conflicting `demo` package and `demolib` module that print WRONG.
fn decoys(dir: &Path) {
    std::fs::create_dir_all(dir.join("demo")).unwrap();
    std::fs::write(
        dir.join("demo/__init__.py"),
        "print('WRONG demo package')\n",
    )
    .unwrap();
    std::fs::write(dir.join("demo/__main__.py"), "print('WRONG demo main')\n").unwrap();
    std::fs::write(
        dir.join("demo/cli.py"),
        "print('WRONG demo cli')\ndef main(): return 0\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("demolib.py"),
        "print('WRONG demolib')\nVERSION = 'WRONG'\n",
    )
    .unwrap();
}

#[test]
fn pythonpath_does_not_leak_into_the_pack() {
    let w = World::new();
    w.demo_env();
    let decoy = w.path("decoy");
    decoys(&decoy);
    for (entry, out, kind) in [("demo", "m", "module"), ("demo-cli", "s", "script")] {
        let pack = w.pack_env("e", entry, out);
        for how in BOTH {
            for start in ["cold", "warm"] {
                if start == "cold" {
                    w.clear_root();
                }
                let o = w
                    .run_cmd(&pack, how, &[])
                    .env("PYTHONPATH", &decoy)
                    .output()
                    .unwrap();
                assert_success(&o);
                let text = stdout_of(&o);
                assert!(!text.contains("WRONG"), "{entry} {how:?} {start}: {text}");
                let r = report(&o);
                assert_eq!(r["kind"], kind);
                assert_eq!(r["lib"], "1.0");
            }
        }
    }
}

/// `./OUT` on a cold start runs the bootstrap through the header: a PYTHONPATH module that
/// shadows one the bootstrap imports (json) must not break it or run.
#[test]
fn pythonpath_does_not_leak_into_the_bootstrap_of_a_direct_run() {
    let w = World::new();
    w.demo_env();
    let decoy = w.path("decoy");
    std::fs::create_dir_all(&decoy).unwrap();
    std::fs::write(decoy.join("json.py"), "print('WRONG json')\n").unwrap();
    let pack = w.pack_env("e", "demo", "m");
    let o = w
        .run_cmd(&pack, How::Direct, &[])
        .env("PYTHONPATH", &decoy)
        .output()
        .unwrap();
    let text = stdout_of(&o);
    assert!(
        !text.contains("WRONG"),
        "{text}\nstderr:\n{}",
        stderr_of(&o)
    );
    assert_success(&o);
    assert_eq!(report(&o)["kind"], "module");
}

#[test]
fn user_site_does_not_leak_into_the_pack() {
    let w = World::new();
    w.demo_env();
    let minor = w.minor();
    let home = w.path("userhome");
    decoys(&home.join(format!(".local/lib/python{minor}/site-packages")));
    // The decoys are importable from the user site when nothing isolates it.
    let check = Command::new(&w.python)
        .args(["-c", "import demolib; print(demolib.VERSION)"])
        .env("HOME", &home)
        .env_remove("PYTHONNOUSERSITE")
        .env_remove("PYTHONPATH")
        .current_dir(w.path("home"))
        .output()
        .unwrap();
    assert!(
        stdout_of(&check).contains("WRONG"),
        "the user site is not in effect: {}",
        stdout_of(&check)
    );
    let pack = w.pack_env("e", "demo", "m");
    for how in BOTH {
        for start in ["cold", "warm"] {
            if start == "cold" {
                w.clear_root();
            }
            let o = w
                .run_cmd(&pack, how, &[])
                .env("HOME", &home)
                .output()
                .unwrap();
            assert_success(&o);
            let text = stdout_of(&o);
            assert!(!text.contains("WRONG"), "{how:?} {start}: {text}");
            assert_eq!(report(&o)["lib"], "1.0");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------------------

#[test]
fn unknown_entry_is_an_error_that_names_the_choices() {
    let w = World::new();
    w.demo_env();
    let out = w.pack_raw(&["--env", "e", "--entry", "nosuch", "-o", "out"]);
    let stderr = assert_user_error(&out, "nosuch");
    assert!(
        stderr.contains("demo-cli"),
        "the console scripts are not listed:\n{stderr}"
    );
    assert!(!w.path("out").exists());

    let out = w.pack_raw(&["--env", "e", "--entry", "demoo", "-o", "out"]);
    let stderr = assert_user_error(&out, "demoo");
    assert!(
        stderr.contains("did you mean") && stderr.contains("demo"),
        "no close match in:\n{stderr}"
    );
    assert!(!w.path("out").exists());

    let out = w.pack_raw(&["--env", "e", "--entry", "demo:", "-o", "out"]);
    assert_user_error(&out, "demo:");
    assert!(!w.path("out").exists());
}

#[test]
fn output_that_is_a_directory_is_an_error() {
    let w = World::new();
    w.demo_env();
    std::fs::create_dir(w.path("outdir")).unwrap();
    let out = w.pack_raw(&["--env", "e", "--entry", "demo", "-o", "outdir"]);
    assert_user_error(&out, "outdir");
    assert!(w.path("outdir").is_dir());
    assert!(std::fs::read_dir(w.path("outdir"))
        .unwrap()
        .next()
        .is_none());
}

#[test]
fn output_under_a_missing_directory_is_an_error() {
    let w = World::new();
    w.demo_env();
    let out = w.pack_raw(&["--env", "e", "--entry", "demo", "-o", "no/such/dir/out"]);
    assert_user_error(&out, "does not exist");
    assert!(!w.path("no").exists());
}

#[test]
fn damaged_source_env_is_an_error() {
    let w = World::new();
    let env = w.demo_env();
    let site = py(
        &env.join("bin/python"),
        "import sysconfig; print(sysconfig.get_paths()['purelib'])",
    );
    std::fs::remove_file(Path::new(&site).join("demolib-1.0.dist-info/METADATA")).unwrap();
    let out = w.pack_raw(&["--env", "e", "--entry", "demo", "-o", "out"]);
    assert_user_error(&out, "demolib-1.0.dist-info");
    assert!(!w.path("out").exists());
}

#[test]
fn truncated_pack_is_refused_by_the_header() {
    let w = World::new();
    w.demo_env();
    let pack = w.pack_env("e", "demo", "demo.pyz");
    let len = std::fs::metadata(&pack).unwrap().len();
    truncate_file(&pack, len - 100);
    let out = w.run(&pack, How::Direct, &[]);
    let stderr = assert_user_error(&out, "damaged");
    assert!(!stderr.contains("Traceback"), "{stderr}");
    assert!(stdout_of(&out).is_empty());
    assert!(
        w.root_entries().is_empty(),
        "something was extracted: {:?}",
        w.root_entries()
    );
}

/// The size check is cheap, so warm starts make it too: a pack truncated (or grown) after
/// its first start is refused, not run from the old extraction.
#[test]
fn damaged_pack_is_refused_after_it_was_extracted() {
    let w = World::new();
    w.demo_env();
    let pack = w.pack_env("e", "demo", "demo.pyz");
    let bytes = std::fs::read(&pack).unwrap();
    assert_success(&w.run(&pack, How::Direct, &[]));
    assert!(w.extraction().join(".complete").is_file());
    truncate_file(&pack, bytes.len() as u64 - 100);
    let out = w.run(&pack, How::Direct, &[]);
    let stderr = assert_user_error(&out, "damaged");
    assert!(!stderr.contains("Traceback"), "{stderr}");
    assert!(stdout_of(&out).is_empty(), "it ran: {}", stdout_of(&out));

    let mut grown = bytes.clone();
    grown.extend_from_slice(b"appended");
    std::fs::write(&pack, &grown).unwrap();
    for how in BOTH {
        let out = w.run(&pack, how, &[]);
        let stderr = assert_user_error(&out, "damaged");
        assert!(
            stdout_of(&out).is_empty(),
            "{how:?}: it ran: {}",
            stdout_of(&out)
        );
        assert!(!stderr.contains("Traceback"), "{stderr}");
    }
    // An extraction others can write sends the warm start the first start's way, which
    // refuses the damaged file the same way (a truncated one has lost its zip directory).
    use std::os::unix::fs::PermissionsExt;
    let dir = w.extraction();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    truncate_file(&pack, bytes.len() as u64 - 100);
    let out = w.run(&pack, How::Direct, &[]);
    let stderr = assert_user_error(&out, "damaged");
    assert!(stdout_of(&out).is_empty(), "it ran: {}", stdout_of(&out));
    assert!(!stderr.contains("Traceback"), "{stderr}");
    std::fs::write(&pack, &bytes).unwrap();
    assert_success(&w.run(&pack, How::Direct, &[]));
}

/// A pack holding a large incompressible file, so that its bytes are stored verbatim in the
/// zip; returns the world, the pack, its bytes with one byte of that file flipped (same
/// size, inside the payload), and the file's data as tampered.
fn tampered_pack() -> (World, PathBuf, Vec<u8>, Vec<u8>) {
    let blob = noise(256 * 1024);
    let big = WheelBuilder::new("bigpkg", "1.0")
        .file("bigpkg/__init__.py", "")
        .file("bigpkg/__main__.py", "print('RAN')\n")
        .file("bigpkg/blob.bin", &blob);
    let w = World::with(&[big]);
    w.create("b", &["bigpkg"]);
    let pack = w.pack_env("b", "bigpkg", "big");
    let mut bytes = std::fs::read(&pack).unwrap();
    let window = &blob[150_000..150_064];
    let at = bytes
        .windows(window.len())
        .position(|win| win == window)
        .expect("the blob is not stored verbatim in the pack");
    bytes[at + 10] ^= 0xFF;
    let mut tampered = blob.clone();
    tampered[150_010] ^= 0xFF;
    (w, pack, bytes, tampered)
}

/// Runs a tampered pack both ways: exit 1 with an error (no traceback), the entry never
/// runs, nothing is extracted and no staging directory is left.
fn assert_refused(w: &World, pack: &Path, needle: &str) {
    for how in BOTH {
        let out = w.run(pack, how, &[]);
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{how:?}: stderr:\n{stderr}");
        assert!(!stdout_of(&out).contains("RAN"), "{how:?}: the entry ran");
        assert!(
            !stderr.contains("Traceback"),
            "{how:?}: a traceback instead of an error:\n{stderr}"
        );
        assert!(
            stderr.contains("error:") && stderr.contains("hint:"),
            "{how:?}: no error:/hint: lines in:\n{stderr}"
        );
        assert!(
            stderr.contains(needle),
            "{how:?}: expected {needle:?} in:\n{stderr}"
        );
        let complete: Vec<String> = w
            .root_entries()
            .into_iter()
            .filter(|n| crate::common::is_extracted(&w.root().join(n)))
            .collect();
        assert!(
            complete.is_empty(),
            "{how:?}: a tampered pack was extracted: {complete:?}"
        );
        let staging: Vec<String> = w
            .root_entries()
            .into_iter()
            .filter(|n| n.starts_with(".extract-"))
            .collect();
        assert!(
            staging.is_empty(),
            "{how:?}: staging dirs left: {staging:?}"
        );
    }
    // With a pack root others can write, the pack extracts into a private temporary
    // directory instead, which a refused start removes too.
    use std::os::unix::fs::PermissionsExt;
    let tmp = w.path("tmp-refused");
    std::fs::create_dir_all(&tmp).unwrap();
    w.clear_root();
    std::fs::create_dir_all(w.root()).unwrap();
    std::fs::set_permissions(w.root(), std::fs::Permissions::from_mode(0o777)).unwrap();
    for how in BOTH {
        let out = w
            .run_cmd(pack, how, &[])
            .env("TMPDIR", &tmp)
            .output()
            .unwrap();
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{how:?}: stderr:\n{stderr}");
        assert!(
            stderr.contains(needle),
            "{how:?}: expected {needle:?} in:\n{stderr}"
        );
        assert!(!stdout_of(&out).contains("RAN"), "{how:?}: the entry ran");
        assert!(
            tree(&tmp).is_empty(),
            "{how:?}: left behind: {:?}",
            tree(&tmp)
        );
    }
    w.clear_root();
}

/// One flipped byte: the zip CRC of that member no longer matches.
#[test]
fn tampered_pack_is_refused_before_running_anything() {
    let (w, pack, bytes, _) = tampered_pack();
    std::fs::write(&pack, &bytes).unwrap();
    assert_refused(&w, &pack, "damaged");
}

/// One flipped byte with the zip CRCs (local header and central directory) fixed up to
/// match: only the content hash can tell.
#[test]
fn tampered_pack_with_fixed_crcs_fails_the_content_hash() {
    let (w, pack, mut bytes, tampered) = tampered_pack();
    let original = {
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&pack).unwrap()).unwrap();
        let crc = zip
            .by_name("site-packages/bigpkg/blob.bin")
            .unwrap()
            .crc32();
        crc
    };
    let mut crc = flate2::Crc::new();
    crc.update(&tampered);
    let (old, new) = (original.to_le_bytes(), crc.sum().to_le_bytes());
    let places: Vec<usize> = bytes
        .windows(4)
        .enumerate()
        .filter(|(_, win)| *win == old)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        places.len(),
        2,
        "the CRC should be in the local header and the central directory"
    );
    for i in places {
        bytes[i..i + 4].copy_from_slice(&new);
    }
    std::fs::write(&pack, &bytes).unwrap();
    // The zip itself is consistent again.
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&pack).unwrap()).unwrap();
    let mut data = Vec::new();
    std::io::Read::read_to_end(
        &mut zip.by_name("site-packages/bigpkg/blob.bin").unwrap(),
        &mut data,
    )
    .unwrap();
    assert!(data == tampered);
    assert_refused(&w, &pack, "content hash");
}

#[test]
fn inspect_of_something_that_is_not_a_pack_is_an_error() {
    let w = World::new();
    std::fs::write(w.path("notes.txt"), "just some text\n").unwrap();
    let out = w.t.run(["pack", "--inspect", "notes.txt"]);
    assert_user_error(&out, "notes.txt");

    // A zip file, but not a pack.
    let whl = demolib().build(w.path("plain"));
    let out =
        w.t.run(["pack".as_ref(), "--inspect".as_ref(), whl.as_os_str()]);
    assert_user_error(&out, "not an envtool pack");

    let out = w.t.run(["pack", "--inspect", "missing.pyz"]);
    assert_user_error(&out, "missing.pyz");
}

//! Script launchers and `#!python` shebang rewriting.
//!
//! This module owns the text of the scripts written to an environment's `bin`: the shebang
//! line (direct, or the `/bin/sh` trampoline when the interpreter path is too long or needs
//! quoting), the console/gui script launcher body, and rewriting `#!python` in wheel scripts.

use std::path::Path;

use super::entry_points::EntryPoint;

/// The longest shebang line (`#!`, path and newline) kernels reliably accept.
const MAX_SHEBANG_BYTES: usize = 127;

/// The shebang for `python`: `#!<python>\n` when that line is at most 127 bytes and the path
/// is plain (ASCII letters, digits and `/._-+,@%:`); otherwise a `/bin/sh` trampoline that
/// `exec`s the quoted path, which Python reads as a harmless string statement.
/// A path that is not UTF-8 is converted lossily.
pub fn shebang(python: &Path) -> String {
    let python = python.to_string_lossy();
    let direct = format!("#!{python}\n");
    if direct.len() <= MAX_SHEBANG_BYTES && python.chars().all(is_plain_path_char) {
        direct
    } else {
        format!(
            "#!/bin/sh\n'''exec' {} \"$0\" \"$@\"\n' '''\n",
            shell_quote(&python)
        )
    }
}

fn is_plain_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/._-+,@%:".contains(c)
}

/// Single-quote for sh: `it's` -> `'it'\''s'`.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A console or gui script that imports the entry point's object and exits with what its
/// call returns, `-script.pyw`/`.exe` stripped from `argv[0]`. Entries should pass
/// `validate_script` first; one without `:attr` runs its module as `__main__`.
pub fn launcher(python: &Path, ep: &EntryPoint) -> String {
    let mut out = shebang(python);
    out.push_str("# -*- coding: utf-8 -*-\n");
    out.push_str("import re\nimport sys\n");
    match &ep.attr {
        Some(attr) => {
            let first = attr.split('.').next().unwrap_or(attr);
            out.push_str(&format!("from {} import {first}\n", ep.module));
            out.push_str("if __name__ == \"__main__\":\n");
            out.push_str(
                "    sys.argv[0] = re.sub(r\"(-script\\.pyw|\\.exe)?$\", \"\", sys.argv[0])\n",
            );
            out.push_str(&format!("    sys.exit({attr}())\n"));
        }
        None => {
            out.push_str("import runpy\n");
            out.push_str("if __name__ == \"__main__\":\n");
            out.push_str(
                "    sys.argv[0] = re.sub(r\"(-script\\.pyw|\\.exe)?$\", \"\", sys.argv[0])\n",
            );
            out.push_str(&format!(
                "    runpy.run_module(\"{}\", run_name=\"__main__\", alter_sys=True)\n",
                ep.module
            ));
        }
    }
    out
}

/// If `content` starts with `#!python` (which covers `#!pythonw`), the content with that
/// whole first line replaced by [`shebang`]; the rest is kept byte for byte, line ends
/// included. `None` when there is nothing to rewrite.
pub fn rewrite_python_shebang(content: &[u8], python: &Path) -> Option<Vec<u8>> {
    if !content.starts_with(b"#!python") {
        return None;
    }
    let rest = match content.iter().position(|&b| b == b'\n') {
        Some(newline) => &content[newline + 1..],
        None => &[][..],
    };
    let mut out = shebang(python).into_bytes();
    out.extend_from_slice(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};
    use std::path::PathBuf;
    use std::process::{Command, Output};

    /// The interpreter the launchers are run with: `ENVTOOL_TEST_PYTHON`, else the one
    /// envtool's own discovery picks (`python3` on PATH, pyenv shims seen through).
    fn python311() -> PathBuf {
        if let Some(p) = std::env::var_os("ENVTOOL_TEST_PYTHON").filter(|p| !p.is_empty()) {
            return PathBuf::from(p);
        }
        let cache = tempfile::tempdir().unwrap();
        crate::python::find(None, &crate::cache::Cache::new(cache.path().to_path_buf()))
            .expect("the launcher tests need a Python 3 (or ENVTOOL_TEST_PYTHON)")
            .executable
    }

    fn entry(module: &str, attr: Option<&str>) -> EntryPoint {
        EntryPoint {
            group: "console_scripts".to_string(),
            name: "mytool".to_string(),
            module: module.to_string(),
            attr: attr.map(str::to_string),
            extras: Vec::new(),
        }
    }

    const MODULE: &str = "\
import sys

def report():
    print('argv0=' + sys.argv[0])
    print('args=' + '|'.join(sys.argv[1:]))

def main():
    report()
    return 7

class App:
    @staticmethod
    def run():
        report()
        return 3

if __name__ == '__main__':
    print('as-main')
    sys.exit(4)
";

    /// A temp dir holding `mytool_mod.py`.
    fn module_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("mytool_mod.py"), MODULE).unwrap();
        dir
    }

    fn write_executable(path: &Path, content: &[u8]) {
        fs_err::write(path, content).unwrap();
        fs_err::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Run a script directly (through its shebang), retrying on ETXTBSY: another test thread
    /// may be forking while it holds the freshly written file open.
    fn run(script: &Path, pythonpath: &Path, args: &[&str]) -> Output {
        for _ in 0..50 {
            match Command::new(script)
                .args(args)
                .env("PYTHONPATH", pythonpath)
                .output()
            {
                Ok(output) => return output,
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                Err(e) => panic!("running {}: {e}", script.display()),
            }
        }
        panic!("{} stayed busy", script.display());
    }

    fn stdout(output: &Output) -> String {
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    #[test]
    fn short_plain_path_gets_direct_shebang() {
        assert_eq!(
            shebang(Path::new("/usr/bin/python3")),
            "#!/usr/bin/python3\n"
        );
        let long = format!("/{}", "a".repeat(123));
        assert_eq!(shebang(Path::new(&long)).len(), 127);
        assert!(shebang(Path::new(&long)).starts_with("#!/a"));
        let too_long = format!("/{}", "a".repeat(124));
        assert!(shebang(Path::new(&too_long)).starts_with("#!/bin/sh\n"));
    }

    #[test]
    fn unsafe_paths_get_sh_form() {
        assert_eq!(
            shebang(Path::new("/opt/my python/bin/python3")),
            "#!/bin/sh\n'''exec' '/opt/my python/bin/python3' \"$0\" \"$@\"\n' '''\n"
        );
        assert_eq!(
            shebang(Path::new("/opt/it's/python")),
            "#!/bin/sh\n'''exec' '/opt/it'\\''s/python' \"$0\" \"$@\"\n' '''\n"
        );
        assert!(shebang(Path::new("/opt/$HOME/python")).starts_with("#!/bin/sh\n"));
        assert!(shebang(Path::new("/opt/café/python")).starts_with("#!/bin/sh\n"));
    }

    #[test]
    fn launcher_text() {
        let text = launcher(
            Path::new("/usr/bin/python3"),
            &entry("pkg.cli", Some("App.run")),
        );
        assert_eq!(
            text,
            "#!/usr/bin/python3\n\
             # -*- coding: utf-8 -*-\n\
             import re\n\
             import sys\n\
             from pkg.cli import App\n\
             if __name__ == \"__main__\":\n    \
             sys.argv[0] = re.sub(r\"(-script\\.pyw|\\.exe)?$\", \"\", sys.argv[0])\n    \
             sys.exit(App.run())\n"
        );
    }

    #[test]
    fn runs_launcher_with_direct_shebang() {
        let dir = module_dir();
        let script = dir.path().join("mytool-script.pyw");
        let text = launcher(&python311(), &entry("mytool_mod", Some("main")));
        assert!(text.starts_with("#!/"), "{text}");
        write_executable(&script, text.as_bytes());
        let output = run(&script, dir.path(), &["x", "y z"]);
        assert_eq!(output.status.code(), Some(7), "{output:?}");
        let expected_argv0 = format!("argv0={}\n", dir.path().join("mytool").display());
        assert_eq!(stdout(&output), format!("{expected_argv0}args=x|y z\n"));
    }

    #[test]
    fn runs_launcher_through_path_with_space() {
        let dir = module_dir();
        let bin = dir.path().join("my python");
        fs_err::create_dir(&bin).unwrap();
        symlink(python311(), bin.join("python3")).unwrap();
        let text = launcher(&bin.join("python3"), &entry("mytool_mod", Some("App.run")));
        assert!(text.starts_with("#!/bin/sh\n"), "{text}");
        let script = dir.path().join("mytool");
        write_executable(&script, text.as_bytes());
        let output = run(&script, dir.path(), &["it's", "a \"b\"", "$HOME"]);
        assert_eq!(output.status.code(), Some(3), "{output:?}");
        let expected = format!("argv0={}\nargs=it's|a \"b\"|$HOME\n", script.display());
        assert_eq!(stdout(&output), expected);
    }

    #[test]
    fn runs_launcher_through_long_path() {
        let dir = module_dir();
        let bin = dir.path().join("a".repeat(60)).join("b".repeat(60));
        fs_err::create_dir_all(&bin).unwrap();
        let python = bin.join("python3");
        symlink(python311(), &python).unwrap();
        assert!(python.as_os_str().len() + 3 > 127);
        let text = launcher(&python, &entry("mytool_mod", Some("main")));
        assert!(text.starts_with("#!/bin/sh\n"), "{text}");
        let script = dir.path().join("mytool.exe");
        write_executable(&script, text.as_bytes());
        let output = run(&script, dir.path(), &[]);
        assert_eq!(output.status.code(), Some(7), "{output:?}");
        assert!(stdout(&output)
            .starts_with(&format!("argv0={}\n", dir.path().join("mytool").display())));
    }

    #[test]
    fn launcher_without_attr_runs_module_as_main() {
        let dir = module_dir();
        let script = dir.path().join("mytool");
        write_executable(
            &script,
            launcher(&python311(), &entry("mytool_mod", None)).as_bytes(),
        );
        let output = run(&script, dir.path(), &[]);
        assert_eq!(output.status.code(), Some(4), "{output:?}");
        assert_eq!(stdout(&output), "as-main\n");
    }

    #[test]
    fn rewrites_python_shebangs() {
        let python = Path::new("/env/bin/python");
        let rewritten = rewrite_python_shebang(b"#!python -u\r\nprint(1)\r\n", python).unwrap();
        assert_eq!(rewritten, b"#!/env/bin/python\nprint(1)\r\n");
        let rewritten = rewrite_python_shebang(b"#!pythonw\nx\n", python).unwrap();
        assert_eq!(rewritten, b"#!/env/bin/python\nx\n");
        assert_eq!(
            rewrite_python_shebang(b"#!python", python).unwrap(),
            b"#!/env/bin/python\n"
        );
        assert_eq!(
            rewrite_python_shebang(b"#!/usr/bin/python\nx\n", python),
            None
        );
        assert_eq!(rewrite_python_shebang(b"# #!python\n", python), None);
        assert_eq!(rewrite_python_shebang(b"", python), None);
    }

    #[test]
    fn runs_rewritten_script() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("my python");
        fs_err::create_dir(&bin).unwrap();
        symlink(python311(), bin.join("python3")).unwrap();
        let original = b"#!python\nimport sys\nprint(sys.argv[1:])\nsys.exit(5)\n";
        for python in [python311(), bin.join("python3")] {
            let script = dir.path().join("legacy-script");
            write_executable(&script, &rewrite_python_shebang(original, &python).unwrap());
            let output = run(&script, dir.path(), &["q"]);
            assert_eq!(output.status.code(), Some(5), "{output:?}");
            assert_eq!(stdout(&output), "['q']\n");
        }
    }
}

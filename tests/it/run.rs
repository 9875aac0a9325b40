//! `envtool run DIR -- CMD`.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;

use crate::common::{assert_success, assert_user_error, python, TestEnv};

fn env_with_python(t: &TestEnv) -> std::path::PathBuf {
    t.ok([
        "create".as_ref(),
        "e".as_ref(),
        "--python".as_ref(),
        python().as_os_str(),
    ]);
    t.path("e")
}

#[test]
fn runs_inside_the_environment() {
    let t = TestEnv::new();
    let dir = env_with_python(&t);
    let out = t
        .cmd(["run", "e", "--", "python", "-c", "import os, sys; print(sys.prefix); print(os.environ['VIRTUAL_ENV']); print(os.environ['PATH'].split(':')[0]); print(os.environ.get('PYTHONHOME', 'unset'))"])
        .env("PYTHONHOME", "/nonexistent")
        .output()
        .unwrap();
    assert_success(&out);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let d = dir.to_string_lossy();
    assert_eq!(lines, vec![&*d, &*d, &*format!("{d}/bin"), "unset"]);
}

#[test]
fn exit_status_and_signals_pass_through() {
    let t = TestEnv::new();
    env_with_python(&t);
    let out = t.run(["run", "e", "--", "sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7));
    let out = t.run(["run", "e", "--", "sh", "-c", "kill -TERM $$"]);
    // envtool execs the command, so the signal death is the process's own.
    assert_eq!(out.status.signal(), Some(15));
}

#[test]
fn commands_in_the_environment_bin_come_first() {
    let t = TestEnv::new();
    let dir = env_with_python(&t);
    let script = dir.join("bin/ls");
    std::fs::write(&script, "#!/bin/sh\necho from-env \"$@\"\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = t.ok(["run", "e", "--", "ls", "a b"]);
    assert_eq!(out.trim(), "from-env a b");
}

#[test]
fn missing_environment_hints_at_create() {
    let t = TestEnv::new();
    let out = t.run(["run", "nope", "--", "python"]);
    assert_user_error(&out, "envtool create nope");
}

#[test]
fn missing_command_is_an_error() {
    let t = TestEnv::new();
    env_with_python(&t);
    let out = t.run(["run", "e", "--", "no-such-command-here"]);
    assert_user_error(&out, "no-such-command-here");
}

#[test]
fn without_dir_runs_in_virtual_env_else_dot_venv() {
    let t = TestEnv::new();
    let e = env_with_python(&t);
    let prefix = "import sys; print(sys.prefix)";
    // $VIRTUAL_ENV first.
    let out = t
        .cmd(["run", "--", "python", "-c", prefix])
        .env("VIRTUAL_ENV", &e)
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        e.to_string_lossy()
    );
    // Else ./.venv of the current directory.
    t.ok([
        "create".as_ref(),
        ".venv".as_ref(),
        "--python".as_ref(),
        python().as_os_str(),
    ]);
    let out = t
        .cmd(["run", "--", "python", "-c", prefix])
        .env_remove("VIRTUAL_ENV")
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        t.path(".venv").to_string_lossy()
    );
    // Neither: an error that says how to give one.
    std::fs::remove_dir_all(t.path(".venv")).unwrap();
    let out = t
        .cmd(["run", "--", "python"])
        .env_remove("VIRTUAL_ENV")
        .output()
        .unwrap();
    assert_user_error(&out, "VIRTUAL_ENV");
}

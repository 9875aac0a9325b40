//! What envtool shows while it works: on a terminal, downloads with bytes and rate and builds
//! with the backend's latest line; when stderr is not a terminal, plain lines only.

use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Output};
use std::time::Duration;

use crate::common::assert_success;
use crate::fixture::Fixture;
use crate::support::{self, WheelBuilder};

fn sh_quote(text: &[u8]) -> String {
    format!("'{}'", String::from_utf8_lossy(text).replace('\'', r"'\''"))
}

/// Run `cmd` on a pseudo-terminal (util-linux `script`), returning what the terminal showed.
fn on_a_terminal(cmd: &Command) -> Option<Output> {
    if Command::new("script").arg("--version").output().is_err() {
        support::skip("`script` (util-linux) is needed to run a command on a terminal");
        return None;
    }
    // `env -u NAME ... NAME=VALUE ... PROGRAM ARGS`: unsets first, as env(1) wants them.
    let mut line = vec!["env".to_string()];
    let mut sets = Vec::new();
    for (key, value) in cmd.get_envs() {
        match value {
            None => line.push(format!("-u {}", sh_quote(key.as_bytes()))),
            Some(v) => sets.push(sh_quote(&[key.as_bytes(), b"=", v.as_bytes()].concat())),
        }
    }
    line.extend(sets);
    line.push(sh_quote(cmd.get_program().as_bytes()));
    line.extend(cmd.get_args().map(|a| sh_quote(a.as_bytes())));
    let mut script = Command::new("script");
    script.args(["-qfec", &line.join(" "), "/dev/null"]);
    if let Some(dir) = cmd.get_current_dir() {
        script.current_dir(dir);
    }
    Some(script.output().unwrap())
}

/// A wheel of about `kib` KiB that does not compress.
fn big_wheel(name: &str, kib: usize) -> WheelBuilder {
    let mut state = 0x9e3779b97f4a7c15u64;
    let noise: Vec<u8> = (0..kib * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    WheelBuilder::new(name, "1.0")
        .file(&format!("{name}/__init__.py"), "")
        .file(&format!("{name}/blob.bin"), noise)
}

#[test]
fn downloads_show_bytes_and_rate_on_a_terminal_only() {
    let fx = Fixture::new();
    fx.publish(big_wheel("bulky", 512));
    fx.server().set_pace(Some(Duration::from_millis(40)));
    let env = fx.env("e");
    let Some(out) = on_a_terminal(&fx.install_cmd(&env, &["bulky"])) else {
        return;
    };
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(screen.contains("Fetching 0/1"), "{screen}");
    assert!(
        screen.contains("KiB/s") || screen.contains("MiB/s"),
        "{screen}"
    );
    assert!(screen.contains("KiB"), "{screen}");

    // Not a terminal: plain lines, nothing redrawn.
    let env = fx.env("plain");
    let out = fx
        .install_cmd(&env, &["--reinstall", "bulky"])
        .output()
        .unwrap();
    assert_success(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains('\r') && !err.contains('\x1b'), "{err:?}");
    assert!(!err.contains("Fetching"), "{err}");
}

#[test]
fn builds_show_the_backend_s_latest_line_on_a_terminal() {
    let fx = Fixture::new();
    let proj = crate::build::project(&fx.t.path("src"), "slowproj", "1.0", "");
    // The backend says what it does, then takes a while; and tries a terminal escape.
    let backend = crate::build::BACKEND.replace(
        r#"    print("tiny backend: building %s %s" % (name, version))"#,
        r#"    import time
    print("tiny backend: compiling the slow part \x1b[2J")
    sys.stdout.flush()
    time.sleep(1.5)"#,
    );
    assert_ne!(backend, crate::build::BACKEND);
    std::fs::write(proj.join("_build/tiny_backend.py"), backend).unwrap();
    let env = fx.env("e");
    let Some(out) = on_a_terminal(&fx.install_cmd(&env, &[proj.to_str().unwrap()])) else {
        return;
    };
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(screen.contains("Building"), "{screen}");
    assert!(screen.contains("compiling the slow part ?[2J"), "{screen}");
    assert!(
        !screen.contains("\x1b[2J"),
        "the backend's escape reached the terminal"
    );
}

#[test]
fn help_lists_a_command_s_own_options_before_the_global_ones() {
    let t = crate::common::TestEnv::new();
    for command in ["install", "create", "lock", "tool install"] {
        let mut args: Vec<&str> = command.split(' ').collect();
        args.push("--help");
        let text = t.ok(args);
        let own = text.find("\nOptions:").unwrap_or_else(|| panic!("{text}"));
        let global = text
            .find("\nGlobal options:")
            .unwrap_or_else(|| panic!("{text}"));
        assert!(own < global, "{command}:\n{text}");
        let offline = text.find("--offline").unwrap();
        assert!(offline > global, "--offline is a global option:\n{text}");
        assert!(
            text[own..global].contains("--python") || command == "install",
            "{command}:\n{text}"
        );
    }
}

//! examples/twisted-wsgi packed `--standalone` serves HTTP on a host without Python: a mount
//! namespace hiding every interpreter, `env -i` with a bare PATH (network tier: it installs
//! Twisted from the default package index, and is skipped with a message when that index
//! cannot be reached). Also: a console-script entry (`twist`) does not make the working
//! directory importable, as the example's README says; `--entry twisted` does.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, TestEnv};
use crate::pack_nopython::NoPython;
use crate::support;

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/twisted-wsgi")
}

/// Runs `cmd`, killing it after `limit`; `None` on a time-out.
fn run_with_limit(mut cmd: Command, limit: Duration) -> Option<std::process::Output> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return Some(child.wait_with_output().unwrap());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Pack the example (None, with a skip message, when the default index is unreachable).
fn pack_example(t: &TestEnv, entry: &str, extra: &[&str], out: &Path) -> Option<()> {
    let mut cmd = t.cmd(["pack", "-r"]);
    cmd.arg(example_dir().join("requirements.txt"))
        .args(["--entry", entry])
        .args(extra)
        .arg("-o")
        .arg(out)
        .arg("--python")
        .arg(common::python());
    match run_with_limit(cmd, Duration::from_secs(300)) {
        Some(o) if o.status.success() => Some(()),
        Some(o) => {
            let stderr = String::from_utf8_lossy(&o.stderr);
            if stderr.contains("cannot reach")
                || stderr.contains("connect")
                || stderr.contains("resolve")
                || stderr.contains("timed out")
            {
                support::skip_offline(&format!(
                    "the default package index is unreachable:\n{stderr}"
                ));
                None
            } else {
                panic!("envtool pack failed:\n{stderr}");
            }
        }
        None => {
            support::skip_offline("the default package index is unreachable (pack timed out)");
            None
        }
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn get(port: u16) -> Option<String> {
    let mut stream =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .write_all(
            format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    Some(String::from_utf8_lossy(&response).into_owned())
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Serves `GET /` with the packed Twisted started by `cmd`; the response, or the logs.
fn serve(cmd: &mut Command, port: u16, log: &Path) -> Result<String, String> {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(log).unwrap())
        .stderr(std::fs::File::create(log.with_extension("err")).unwrap())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let logs = || {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            std::fs::read_to_string(log).unwrap_or_default(),
            std::fs::read_to_string(log.with_extension("err")).unwrap_or_default()
        )
    };
    let start = Instant::now();
    loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            return Err(format!(
                "twist exited with {status} before serving:\n{}",
                logs()
            ));
        }
        if let Some(r) = get(port) {
            if !r.is_empty() {
                return Ok(r);
            }
        }
        if start.elapsed() > Duration::from_secs(60) {
            return Err(format!(
                "nothing answered on port {port} in 60 s:\n{}",
                logs()
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn standalone_twisted_serves_the_example_on_a_host_without_python() {
    let nopython = match NoPython::new() {
        Ok(n) => n,
        Err(why) => return support::skip(&why),
    };
    let t = TestEnv::new();
    let pack = t.path("twisted");
    if pack_example(&t, "twisted", &["--standalone"], &pack).is_none() {
        return;
    }
    let ns = nopython
        .env("ENVTOOL_PACK_ROOT", t.path("packroot").to_string_lossy())
        .env("HOME", t.path("home").to_string_lossy());
    for start in ["cold", "warm"] {
        let port = free_port();
        let listen = format!("tcp:{port}:interface=127.0.0.1");
        let mut cmd = ns.command(
            &pack,
            &["web", "--wsgi", "app.application", "--listen", &listen],
        );
        cmd.current_dir(example_dir());
        let response = serve(&mut cmd, port, &t.path(&format!("{start}.log")))
            .unwrap_or_else(|e| panic!("{start} start: {e}"));
        assert!(response.starts_with("HTTP/1.1 200"), "{start}: {response}");
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or_default();
        assert_eq!(body, "hello from a packed twisted\n", "{start}: {response}");
    }
}

/// What the example's README says: the `twist` console script does not make the working
/// directory importable (so `--wsgi app.application` is not found), `--entry twisted`
/// (`python -m twisted`) does.
#[test]
fn a_console_script_entry_does_not_make_the_working_directory_importable() {
    let t = TestEnv::new();
    let pack = t.path("twist");
    if pack_example(&t, "twist", &[], &pack).is_none() {
        return;
    }
    let port = free_port();
    let out = Command::new(&pack)
        .args(["web", "--wsgi", "app.application", "--listen"])
        .arg(format!("tcp:{port}:interface=127.0.0.1"))
        .current_dir(example_dir())
        .env("ENVTOOL_PACK_ROOT", t.path("packroot"))
        .env("HOME", t.path("home"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "twist found app.application: {text}");
    assert!(text.contains("app"), "{text}");
}

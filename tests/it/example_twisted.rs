//! examples/twisted-wsgi, end to end (network tier: it uses the default package index and is
//! skipped, with a message, when that index cannot be reached): pack the example from its
//! requirements.txt, start `twist web --wsgi app.application` from the example directory on
//! a free 127.0.0.1 port, and GET the page with a raw HTTP request.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{assert_success, TestEnv};
use crate::{common, support};

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

/// Whether the default index answers: lock the example's requirements with a short limit.
fn index_reachable(t: &TestEnv) -> bool {
    let mut cmd = t.cmd(["lock", "-r"]);
    cmd.arg(example_dir().join("requirements.txt"))
        .arg("-o")
        .arg(t.path("probe.txt"))
        .arg("--python")
        .arg(common::python());
    match run_with_limit(cmd, Duration::from_secs(90)) {
        Some(out) if out.status.success() => true,
        Some(out) => {
            support::skip_offline(&format!(
                "the default package index is unreachable (envtool lock failed):\n{}",
                String::from_utf8_lossy(&out.stderr)
            ));
            false
        }
        None => {
            support::skip_offline(
                "the default package index is unreachable (envtool lock timed out)",
            );
            false
        }
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// One raw `GET /` to 127.0.0.1:port: the response, or `None` if nothing answered.
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

/// Kills and reaps the server when the test ends, whichever way it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn packed_twisted_serves_the_example_wsgi_app() {
    let t = TestEnv::new();
    if !index_reachable(&t) {
        return;
    }
    let python = common::python();
    let pack = t.path("twist");
    let out = t
        .cmd(["pack", "-r"])
        .arg(example_dir().join("requirements.txt"))
        .args(["--entry", "twisted", "-o"])
        .arg(&pack)
        .arg("--python")
        .arg(&python)
        .output()
        .unwrap();
    assert_success(&out);
    let inspect = t.ok(["pack".as_ref(), "--inspect".as_ref(), pack.as_os_str()]);
    assert!(
        inspect.contains("entry: twisted (python -m twisted)"),
        "{inspect}"
    );
    assert!(inspect.contains("twisted"), "{inspect}");

    let port = free_port();
    let log = t.path("twist.log");
    let child = Command::new(&pack)
        .args(["web", "--wsgi", "app.application", "--listen"])
        .arg(format!("tcp:{port}:interface=127.0.0.1"))
        .current_dir(example_dir())
        .env("ENVTOOL_PACK_ROOT", t.path("packroot"))
        .env("HOME", t.path("home"))
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin", python.parent().unwrap().display()),
        )
        .env_remove("PYTHONPATH")
        .env_remove("VIRTUAL_ENV")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(t.path("twist.err")).unwrap())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let logs = || {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default(),
            std::fs::read_to_string(t.path("twist.err")).unwrap_or_default()
        )
    };

    let start = Instant::now();
    let response = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            panic!("twist exited with {status} before serving:\n{}", logs());
        }
        if let Some(r) = get(port) {
            if !r.is_empty() {
                break r;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "nothing answered on port {port} in 30 s:\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "{response}\n{}",
        logs()
    );
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    assert_eq!(body, "hello from a packed twisted\n", "{response}");

    server.0.kill().unwrap();
    server.0.wait().unwrap();
}

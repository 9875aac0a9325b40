//! Tests of the shared test-support code itself (`tests/support`): the wheel builder
//! against the real Python `zipfile` and pip, and the index server against a raw HTTP
//! client and the real pip.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::support::*;
use data_encoding::BASE64URL_NOPAD;
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A wheel using every builder feature that a real installer accepts.
fn full_builder() -> WheelBuilder {
    WheelBuilder::new("My.Pkg", "1.0")
        .file("mypkg/__init__.py", "VALUE = 1\n")
        .file("mypkg/cli.py", "def main():\n    print('cli ran')\n")
        .file_mode("mypkg/tool.sh", b"#!/bin/sh\necho tool\n", 0o755)
        .data("scripts", "hello", "#!python\nprint('hi')\n")
        .data("data", "share/mypkg/x.txt", "x")
        .requires_dist("six>=1.0")
        .requires_dist("PySocks>=1.5; extra == \"socks\"")
        .provides_extra("socks")
        .requires_python(">=3.8")
        .entry_point("console_scripts", "mytool", "mypkg.cli:main")
}

/// Parses RECORD text into (path, hash, size) triples (no quoted fields in our tests).
fn parse_record(text: &str) -> Vec<(String, String, String)> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let mut parts = line.rsplitn(3, ',');
            let size = parts.next().unwrap().to_string();
            let hash = parts.next().unwrap().to_string();
            let path = parts.next().unwrap().to_string();
            (path, hash, size)
        })
        .collect()
}

fn record_hash(bytes: &[u8]) -> String {
    format!("sha256={}", BASE64URL_NOPAD.encode(&Sha256::digest(bytes)))
}

fn run(cmd: &mut Command) -> Output {
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    output
}

fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A response read by [`http`].
#[derive(Debug)]
struct HttpResponse {
    status: u16,
    /// Header names lowercased.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// A minimal HTTP/1.1 client over a raw std `TcpStream`: sends one request, reads the
/// response until the server closes the connection.
fn http(server: &IndexServer, method: &str, path: &str, accept: Option<&str>) -> HttpResponse {
    let mut stream = TcpStream::connect(server.addr()).expect("connect to index server");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: selftest\r\nAccept-Encoding: gzip\r\n",
        server.addr()
    );
    if let Some(accept) = accept {
        request.push_str(&format!("Accept: {accept}\r\n"));
    }
    request.push_str("Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();

    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response has a header terminator");
    let head = String::from_utf8(raw[..split].to_vec()).expect("UTF-8 response head");
    let body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let mut parts = status_line.splitn(3, ' ');
    assert_eq!(parts.next(), Some("HTTP/1.1"), "status line: {status_line}");
    let status: u16 = parts.next().unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').expect("header line");
            (n.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    let response = HttpResponse {
        status,
        headers,
        body,
    };
    assert_eq!(response.header("connection"), Some("close"));
    assert!(
        response.header("content-encoding").is_none(),
        "the server sends identity encoding"
    );
    let length: usize = response
        .header("content-length")
        .expect("Content-Length")
        .parse()
        .unwrap();
    if method == "HEAD" {
        assert!(response.body.is_empty(), "HEAD response has a body");
    } else {
        assert_eq!(
            length,
            response.body.len(),
            "Content-Length matches the body"
        );
    }
    response
}

const PIP_JSON_ACCEPT: &str = "application/vnd.pypi.simple.v1+json, \
                               application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";

/// Two versions of one project ("Demo_Pkg" → normalized "demo-pkg") plus an unrelated one.
fn index_dir() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let v10 = WheelBuilder::new("Demo_Pkg", "1.0")
        .file("demo_pkg/__init__.py", "VERSION = '1.0'\n")
        .requires_python(">=3.8")
        .build(dir.path());
    let v11 = WheelBuilder::new("Demo_Pkg", "1.1")
        .file("demo_pkg/__init__.py", "VERSION = '1.1'\n")
        .build(dir.path());
    WheelBuilder::new("other", "2.0")
        .file("other.py", "")
        .build(dir.path());
    (dir, v10, v11)
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

// ---------------------------------------------------------------------------------------
// Wheel builder
// ---------------------------------------------------------------------------------------

#[test]
fn names_are_normalized() {
    assert_eq!(escape_dist_name("My.Pkg"), "my_pkg");
    assert_eq!(escape_dist_name("a-_.b__c"), "a_b_c");
    assert_eq!(normalize_project_name("My.Pkg"), "my-pkg");
    assert_eq!(normalize_project_name("a-_.B__c"), "a-b-c");
    let b = WheelBuilder::new("My.Pkg", "1.0");
    assert_eq!(b.filename(), "my_pkg-1.0-py3-none-any.whl");
    assert_eq!(b.dist_info_dir(), "my_pkg-1.0.dist-info");
    assert_eq!(
        b.clone()
            .build_tag("1")
            .tag("cp311-cp311-manylinux_2_17_x86_64")
            .filename(),
        "my_pkg-1.0-1-cp311-cp311-manylinux_2_17_x86_64.whl"
    );
}

#[test]
fn wheel_build_is_deterministic() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let first = full_builder().build(a.path());
    // A little later, so a time-dependent timestamp would show.
    std::thread::sleep(Duration::from_millis(2100));
    let second = full_builder().build(b.path());
    assert_eq!(file_name(&first), "my_pkg-1.0-py3-none-any.whl");
    assert_eq!(file_name(&first), file_name(&second));
    assert_eq!(sha256_hex(&first), sha256_hex(&second));
    // Rebuilding over the same path gives the same bytes too.
    let third = full_builder().build(a.path());
    assert_eq!(sha256_hex(&first), sha256_hex(&third));
}

#[test]
fn wheel_layout_and_record_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let whl = full_builder().build(dir.path());
    let names = wheel_entry_names(&whl);
    assert_eq!(
        names,
        vec![
            "mypkg/__init__.py",
            "mypkg/cli.py",
            "mypkg/tool.sh",
            "my_pkg-1.0.data/scripts/hello",
            "my_pkg-1.0.data/data/share/mypkg/x.txt",
            "my_pkg-1.0.dist-info/METADATA",
            "my_pkg-1.0.dist-info/WHEEL",
            "my_pkg-1.0.dist-info/entry_points.txt",
            "my_pkg-1.0.dist-info/RECORD",
        ]
    );

    let record =
        String::from_utf8(read_wheel_entry(&whl, "my_pkg-1.0.dist-info/RECORD").unwrap()).unwrap();
    let rows = parse_record(&record);
    let listed: Vec<&str> = rows.iter().map(|(p, _, _)| p.as_str()).collect();
    assert_eq!(listed, names, "RECORD lists every entry, in order");
    for (path, hash, size) in &rows {
        if path.ends_with(".dist-info/RECORD") {
            assert_eq!((hash.as_str(), size.as_str()), ("", ""));
            continue;
        }
        let bytes = read_wheel_entry(&whl, path).unwrap();
        assert_eq!(hash, &record_hash(&bytes), "hash of {path}");
        assert_eq!(size, &bytes.len().to_string(), "size of {path}");
    }

    let metadata = metadata_of(&whl);
    assert_eq!(
        metadata,
        "Metadata-Version: 2.1\nName: My.Pkg\nVersion: 1.0\nRequires-Python: >=3.8\n\
         Requires-Dist: six>=1.0\nRequires-Dist: PySocks>=1.5; extra == \"socks\"\n\
         Provides-Extra: socks\n"
    );
    let wheel =
        String::from_utf8(read_wheel_entry(&whl, "my_pkg-1.0.dist-info/WHEEL").unwrap()).unwrap();
    assert_eq!(
        wheel,
        "Wheel-Version: 1.0\nGenerator: envtool-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    );
    let entry_points = read_wheel_entry(&whl, "my_pkg-1.0.dist-info/entry_points.txt").unwrap();
    assert_eq!(
        String::from_utf8(entry_points).unwrap(),
        "[console_scripts]\nmytool = mypkg.cli:main\n"
    );
}

#[test]
fn wheel_tags_build_tag_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let whl = WheelBuilder::new("x", "2.0")
        .tag("py2.py3-none-any")
        .build_tag("7")
        .root_is_purelib(false)
        .wheel_version("2.0")
        .entry_point("console_scripts", "a", "x:a")
        .entry_point("gui_scripts", "b", "x:b")
        .entry_point("console_scripts", "c", "x:c")
        .build(dir.path());
    assert_eq!(file_name(&whl), "x-2.0-7-py2.py3-none-any.whl");
    let wheel =
        String::from_utf8(read_wheel_entry(&whl, "x-2.0.dist-info/WHEEL").unwrap()).unwrap();
    assert_eq!(
        wheel,
        "Wheel-Version: 2.0\nGenerator: envtool-tests\nRoot-Is-Purelib: false\n\
         Tag: py2-none-any\nTag: py3-none-any\nBuild: 7\n"
    );
    let entry_points =
        String::from_utf8(read_wheel_entry(&whl, "x-2.0.dist-info/entry_points.txt").unwrap())
            .unwrap();
    assert_eq!(
        entry_points,
        "[console_scripts]\na = x:a\nc = x:c\n\n[gui_scripts]\nb = x:b\n"
    );
    let multi =
        WheelBuilder::new("x", "2.0").tag("cp311.cp312-abi3-manylinux1_x86_64.linux_x86_64");
    let text = multi.wheel_text();
    let tags: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("Tag: "))
        .collect();
    assert_eq!(
        tags,
        vec![
            "cp311-abi3-manylinux1_x86_64",
            "cp311-abi3-linux_x86_64",
            "cp312-abi3-manylinux1_x86_64",
            "cp312-abi3-linux_x86_64",
        ]
    );
}

#[test]
fn tampered_record_and_raw_entries() {
    let dir = tempfile::tempdir().unwrap();
    let whl = WheelBuilder::new("evil", "1.0")
        .file("evil/__init__.py", "A = 1\n")
        .file("evil/b.py", "B = 2\n")
        .raw_entry("../evil.txt", b"x")
        .raw_entry("/abs/evil.txt", b"y")
        .tamper_record_hash("evil/__init__.py")
        .build(dir.path());
    let names = wheel_entry_names(&whl);
    assert!(names.contains(&"../evil.txt".to_string()), "{names:?}");
    assert!(names.contains(&"/abs/evil.txt".to_string()), "{names:?}");
    assert_eq!(read_wheel_entry(&whl, "../evil.txt").unwrap(), b"x");

    let record =
        String::from_utf8(read_wheel_entry(&whl, "evil-1.0.dist-info/RECORD").unwrap()).unwrap();
    for (path, hash, size) in parse_record(&record) {
        if path.ends_with("RECORD") {
            continue;
        }
        let bytes = read_wheel_entry(&whl, &path).unwrap();
        assert_eq!(size, bytes.len().to_string());
        if path == "evil/__init__.py" {
            assert_ne!(hash, record_hash(&bytes), "tampered hash must be wrong");
            assert!(hash.starts_with("sha256="));
        } else {
            assert_eq!(hash, record_hash(&bytes), "hash of {path}");
        }
    }
}

#[test]
#[should_panic(expected = "no such entry")]
fn tampering_a_missing_entry_panics() {
    let dir = tempfile::tempdir().unwrap();
    WheelBuilder::new("x", "1.0")
        .tamper_record_hash("nope.py")
        .build(dir.path());
}

#[test]
fn file_helpers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, "abc").unwrap();
    assert_eq!(
        sha256_hex(&path),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    truncate_file(&path, 1);
    assert_eq!(std::fs::read(&path).unwrap(), b"a");
    truncate_file(&path, 0);
    assert_eq!(std::fs::read(&path).unwrap(), b"");
}

#[test]
fn python_zipfile_reads_the_wheel() {
    let python = crate::common::python();
    let dir = tempfile::tempdir().unwrap();
    let whl = full_builder().build(dir.path());
    let output = run(Command::new(&python)
        .arg("-c")
        .arg(
            "import zipfile,sys\n\
         z = zipfile.ZipFile(sys.argv[1])\n\
         bad = z.testzip()\n\
         assert bad is None, bad\n\
         print(z.read('my_pkg-1.0.dist-info/METADATA').decode())\n\
         print(oct(z.getinfo('mypkg/tool.sh').external_attr >> 16))\n\
         print(z.getinfo('mypkg/__init__.py').date_time)\n",
        )
        .arg(&whl));
    assert_success(&output, "python zipfile");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Name: My.Pkg"), "{stdout}");
    assert!(stdout.contains("0o100755"), "{stdout}");
    assert!(stdout.contains("(1980, 1, 1, 0, 0, 0)"), "{stdout}");
}

#[test]
fn pip_installs_the_wheel() {
    let python = crate::common::python();
    let dir = tempfile::tempdir().unwrap();
    let whl = full_builder().build(dir.path());
    let target = dir.path().join("target");
    let output = run(pip_command(&python)
        .args(["install", "--no-index", "--no-deps", "--target"])
        .arg(&target)
        .arg(&whl));
    assert_success(&output, "pip install");

    let output = run(Command::new(&python)
        .env("PYTHONPATH", &target)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .args([
            "-c",
            "import mypkg, mypkg.cli; print(mypkg.VALUE); mypkg.cli.main()\n\
             import importlib.metadata as m; d = m.distribution('my-pkg'); \
             print(d.metadata['Name'], d.version, d.requires)",
        ]));
    assert_success(&output, "import of the installed package");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("1\ncli ran\n"), "{stdout}");
    assert!(stdout.contains("My.Pkg 1.0"), "{stdout}");
    assert!(stdout.contains("six>=1.0"), "{stdout}");

    // Console script, data script, data file and the executable bit all arrive.
    assert!(target.join("bin/mytool").is_file());
    assert!(target.join("bin/hello").is_file());
    assert!(target.join("share/mypkg/x.txt").is_file());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(target.join("mypkg/tool.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "tool.sh is executable: {mode:o}");
}

// ---------------------------------------------------------------------------------------
// Index server
// ---------------------------------------------------------------------------------------

#[test]
fn server_urls() {
    let dir = tempfile::tempdir().unwrap();
    let server = IndexServer::start(dir.path());
    let port = server.addr().port();
    assert_eq!(server.base(), format!("http://127.0.0.1:{port}"));
    assert_eq!(server.url(), format!("http://127.0.0.1:{port}/simple"));
    assert_eq!(
        server.find_links_url(),
        format!("http://127.0.0.1:{port}/links/")
    );
    assert_eq!(server.files_dir(), dir.path());
}

#[test]
fn json_project_page() {
    let (dir, v10, v11) = index_dir();
    let server = IndexServer::start(dir.path());
    server.yank(&file_name(&v11), Some("broken"));

    let resp = http(&server, "GET", "/simple/demo-pkg/", Some(PIP_JSON_ACCEPT));
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("content-type"),
        Some("application/vnd.pypi.simple.v1+json")
    );
    let page = resp.json();
    assert_eq!(page["meta"]["api-version"], "1.1");
    assert_eq!(page["name"], "demo-pkg");
    assert_eq!(page["versions"], serde_json::json!(["1.0", "1.1"]));
    let files = page["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "only this project's files: {page}");

    let page_url = url::Url::parse(&format!("{}/demo-pkg/", server.url())).unwrap();
    for (file, path) in files.iter().zip([&v10, &v11]) {
        let name = file_name(path);
        assert_eq!(file["filename"], name.as_str());
        assert_eq!(file["hashes"]["sha256"], sha256_hex(path).as_str());
        assert_eq!(file["size"], std::fs::metadata(path).unwrap().len());
        assert_eq!(file["upload-time"], "2024-01-01T00:00:00.000000Z");
        let href = file["url"].as_str().unwrap();
        assert_eq!(href, format!("../../files/{name}"));

        // The relative URL resolves to the file's bytes.
        let file_url = page_url.join(href).unwrap();
        assert_eq!(file_url.path(), format!("/files/{name}"));
        let got = http(&server, "GET", file_url.path(), None);
        assert_eq!(got.status, 200);
        assert_eq!(got.header("content-type"), Some("application/octet-stream"));
        assert_eq!(got.body, std::fs::read(path).unwrap());

        // PEP 658 metadata: advertised hash matches the served .metadata bytes.
        let metadata = http(
            &server,
            "GET",
            &format!("{}.metadata", file_url.path()),
            None,
        );
        assert_eq!(metadata.status, 200);
        assert_eq!(metadata.text(), metadata_of(path));
        let metadata_hash = data_encoding::HEXLOWER.encode(&Sha256::digest(&metadata.body));
        assert_eq!(file["core-metadata"]["sha256"], metadata_hash.as_str());
        assert_eq!(file["dist-info-metadata"]["sha256"], metadata_hash.as_str());
    }
    assert_eq!(files[0]["requires-python"], ">=3.8");
    assert!(
        files[1].get("requires-python").is_none(),
        "no key without Requires-Python"
    );
    assert_eq!(files[0]["yanked"], false);
    assert_eq!(files[1]["yanked"], "broken");

    server.yank(&file_name(&v10), None);
    let page = http(&server, "GET", "/simple/demo-pkg/", Some(PIP_JSON_ACCEPT)).json();
    assert_eq!(page["files"][0]["yanked"], true);
    server.unyank(&file_name(&v10));
    let page = http(&server, "GET", "/simple/demo-pkg/", Some(PIP_JSON_ACCEPT)).json();
    assert_eq!(page["files"][0]["yanked"], false);
}

#[test]
fn html_project_page() {
    let (dir, v10, v11) = index_dir();
    let server = IndexServer::start(dir.path());
    server.yank(&file_name(&v11), Some("broken <badly>"));

    // No Accept header (or an HTML one): PEP 503 HTML.
    for accept in [
        None,
        Some("text/html"),
        Some("application/vnd.pypi.simple.v1+json;q=0, text/html"),
    ] {
        let resp = http(&server, "GET", "/simple/demo-pkg/", accept);
        assert_eq!(resp.status, 200);
        assert_eq!(
            resp.header("content-type"),
            Some("text/html"),
            "accept {accept:?}"
        );
    }
    let html = http(&server, "GET", "/simple/demo-pkg/", None).text();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("<meta name=\"pypi:repository-version\" content=\"1.1\">"));
    let m10 = data_encoding::HEXLOWER.encode(&Sha256::digest(metadata_of(&v10).as_bytes()));
    let expected_v10 = format!(
        "<a href=\"../../files/{name}#sha256={hash}\" data-requires-python=\"&gt;=3.8\" \
         data-core-metadata=\"sha256={m10}\" data-dist-info-metadata=\"sha256={m10}\">{name}</a><br/>",
        name = file_name(&v10),
        hash = sha256_hex(&v10),
    );
    assert!(
        html.contains(&expected_v10),
        "{html}\nwanted {expected_v10}"
    );
    let m11 = data_encoding::HEXLOWER.encode(&Sha256::digest(metadata_of(&v11).as_bytes()));
    let expected_v11 = format!(
        "<a href=\"../../files/{name}#sha256={hash}\" data-core-metadata=\"sha256={m11}\" \
         data-dist-info-metadata=\"sha256={m11}\" data-yanked=\"broken &lt;badly&gt;\">{name}</a><br/>",
        name = file_name(&v11),
        hash = sha256_hex(&v11),
    );
    assert!(
        html.contains(&expected_v11),
        "{html}\nwanted {expected_v11}"
    );
    assert!(
        !html.contains("other-2.0"),
        "other projects' files are not listed"
    );

    // Forced modes override the Accept header.
    server.set_mode(Mode::Html);
    let resp = http(&server, "GET", "/simple/demo-pkg/", Some(PIP_JSON_ACCEPT));
    assert_eq!(resp.header("content-type"), Some("text/html"));
    server.set_mode(Mode::Json);
    let resp = http(&server, "GET", "/simple/demo-pkg/", None);
    assert_eq!(
        resp.header("content-type"),
        Some("application/vnd.pypi.simple.v1+json")
    );
    resp.json();
}

#[test]
fn metadata_can_be_turned_off() {
    let (dir, v10, _) = index_dir();
    let server = IndexServer::start(dir.path());
    server.set_metadata(false);
    let page = http(&server, "GET", "/simple/demo-pkg/", Some(PIP_JSON_ACCEPT)).json();
    assert_eq!(page["files"][0]["core-metadata"], false);
    assert_eq!(page["files"][0]["dist-info-metadata"], false);
    assert_eq!(page["files"][0]["requires-python"], ">=3.8");
    let html = http(&server, "GET", "/simple/demo-pkg/", None).text();
    assert!(!html.contains("data-core-metadata"), "{html}");
    assert!(!html.contains("data-dist-info-metadata"), "{html}");
    let resp = http(
        &server,
        "GET",
        &format!("/files/{}.metadata", file_name(&v10)),
        None,
    );
    assert_eq!(resp.status, 404);
}

#[test]
fn redirects_and_not_found() {
    let (dir, _, _) = index_dir();
    let server = IndexServer::start(dir.path());

    for (path, location) in [
        ("/simple/Demo_Pkg/", "/simple/demo-pkg/"),
        ("/simple/demo.pkg/", "/simple/demo-pkg/"),
        ("/simple/demo-pkg", "/simple/demo-pkg/"),
        ("/simple/DEMO--pkg", "/simple/demo-pkg/"),
        ("/simple", "/simple/"),
        ("/links", "/links/"),
    ] {
        let resp = http(&server, "GET", path, None);
        assert_eq!(resp.status, 301, "{path}");
        assert_eq!(resp.header("location"), Some(location), "{path}");
    }
    for path in [
        "/simple/nothing-here/",
        "/simple/demo-pkg/extra/",
        "/files/nope-1.0-py3-none-any.whl",
        "/files/nope-1.0-py3-none-any.whl.metadata",
        "/files/..",
        "/files/%2E%2E%2Fetc",
        "/",
        "/elsewhere",
    ] {
        assert_eq!(http(&server, "GET", path, None).status, 404, "{path}");
    }
    // Unknown projects still redirect to the normalized URL, then 404.
    assert_eq!(http(&server, "GET", "/simple/No_Such/", None).status, 301);
}

#[test]
fn head_status_garbage_and_wrong_hash() {
    let (dir, v10, _) = index_dir();
    let server = IndexServer::start(dir.path());
    let name = file_name(&v10);

    let head = http(&server, "HEAD", &format!("/files/{name}"), None);
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some(std::fs::metadata(&v10).unwrap().len().to_string().as_str())
    );

    server.set_wrong_hash(&name);
    let page = http(&server, "GET", "/simple/demo-pkg/", Some(PIP_JSON_ACCEPT)).json();
    let advertised = page["files"][0]["hashes"]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(advertised.len(), 64);
    assert_ne!(advertised, sha256_hex(&v10));
    let html = http(&server, "GET", "/simple/demo-pkg/", None).text();
    assert!(html.contains(&format!("#sha256={advertised}")), "{html}");
    assert!(!html.contains(&sha256_hex(&v10)), "{html}");
    // The bytes themselves are unchanged.
    assert_eq!(
        http(&server, "GET", &format!("/files/{name}"), None).body,
        std::fs::read(&v10).unwrap()
    );

    server.set_garbage(true);
    for accept in [Some(PIP_JSON_ACCEPT), None] {
        let resp = http(&server, "GET", "/simple/demo-pkg/", accept);
        assert_eq!(resp.status, 200);
        assert!(serde_json::from_slice::<serde_json::Value>(&resp.body).is_err());
        assert!(!resp.text().contains("<a "), "{}", resp.text());
    }
    server.set_garbage(false);

    for status in [500, 503, 403] {
        server.set_status(Some(status));
        assert_eq!(
            http(&server, "GET", "/simple/demo-pkg/", None).status,
            status
        );
        assert_eq!(
            http(&server, "GET", &format!("/files/{name}"), None).status,
            status
        );
    }
    server.set_status(None);
    assert_eq!(http(&server, "GET", "/simple/demo-pkg/", None).status, 200);
}

#[test]
fn requests_log_rescan_sdists_and_links() {
    let (dir, v10, _) = index_dir();
    let server = IndexServer::start(dir.path());
    http(&server, "GET", "/simple/demo-pkg/", None);
    http(&server, "HEAD", "/simple/Demo_Pkg/", None);
    assert_eq!(
        server.requests(),
        vec!["GET /simple/demo-pkg/", "HEAD /simple/Demo_Pkg/"]
    );
    let details = server.request_details();
    assert_eq!(details[1].method, "HEAD");
    assert_eq!(details[1].header("user-agent"), Some("selftest"));
    server.clear_requests();
    assert!(server.requests().is_empty());
    assert!(server.request_details().is_empty());

    // Files added after start are served, sdists included.
    assert_eq!(http(&server, "GET", "/simple/late-pkg/", None).status, 404);
    WheelBuilder::new("late.pkg", "0.1").build(dir.path());
    std::fs::write(dir.path().join("Late_Pkg-0.2.tar.gz"), b"not really gzip").unwrap();
    std::fs::write(dir.path().join("late-pkg-0.3.zip"), b"not really zip").unwrap();
    std::fs::write(dir.path().join("README.txt"), b"ignored").unwrap();
    let page = http(&server, "GET", "/simple/late-pkg/", Some(PIP_JSON_ACCEPT)).json();
    let names: Vec<&str> = page["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["filename"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "Late_Pkg-0.2.tar.gz",
            "late-pkg-0.3.zip",
            "late_pkg-0.1-py3-none-any.whl"
        ]
    );
    assert_eq!(page["versions"], serde_json::json!(["0.2", "0.3", "0.1"]));
    assert_eq!(
        page["files"][0]["core-metadata"], false,
        "sdists have no metadata"
    );
    assert_eq!(
        http(&server, "GET", "/files/Late_Pkg-0.2.tar.gz", None).body,
        b"not really gzip"
    );
    assert_eq!(
        http(&server, "GET", "/files/Late_Pkg-0.2.tar.gz.metadata", None).status,
        404
    );

    // The root lists every project.
    let root = http(&server, "GET", "/simple/", Some(PIP_JSON_ACCEPT)).json();
    assert_eq!(
        root["projects"],
        serde_json::json!([{"name": "demo-pkg"}, {"name": "late-pkg"}, {"name": "other"}])
    );

    // The find-links page lists every distribution file, with hrefs that resolve to /files/.
    let links = http(&server, "GET", "/links/", None);
    assert_eq!(links.status, 200);
    let html = links.text();
    let base = url::Url::parse(&server.find_links_url()).unwrap();
    let hrefs: Vec<String> = html
        .split("href=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_string())
        .collect();
    assert_eq!(hrefs.len(), 6, "{html}");
    let expected = format!("/files/{}", file_name(&v10));
    assert!(
        hrefs
            .iter()
            .any(|h| base.join(h).unwrap().path() == expected),
        "{hrefs:?}"
    );
    assert!(!html.contains("README.txt"));

    // Percent-encoded file names are decoded.
    let encoded = format!("/files/{}", file_name(&v10).replace('-', "%2D"));
    assert_eq!(http(&server, "GET", &encoded, None).status, 200);
}

#[test]
fn accept_negotiation_variants() {
    let (dir, _, _) = index_dir();
    let server = IndexServer::start(dir.path());
    for (accept, json) in [
        ("application/vnd.pypi.simple.v1+json", true),
        ("application/vnd.pypi.simple.latest+json", true),
        ("text/html, application/vnd.pypi.simple.v1+json", true),
        (
            "application/vnd.pypi.simple.v1+json;q=0.5, text/html",
            false,
        ),
        ("application/vnd.pypi.simple.v1+html", false),
        ("*/*", false),
    ] {
        let resp = http(&server, "GET", "/simple/demo-pkg/", Some(accept));
        let is_json = resp.header("content-type") == Some("application/vnd.pypi.simple.v1+json");
        assert_eq!(is_json, json, "Accept: {accept}");
    }
}

#[test]
fn server_stops_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let server = IndexServer::start(dir.path());
    assert_eq!(http(&server, "GET", "/", None).status, 404);
    // Drop wakes the accept loop and joins its thread; it must not hang.
    let started = std::time::Instant::now();
    drop(server);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "drop took {:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------
// The server against the real pip
// ---------------------------------------------------------------------------------------

fn pip_download(python: &Path, index_args: &[&str], requirement: &str, dest: &Path) -> Output {
    run(pip_command(python)
        .args(["download", "--no-deps", "--only-binary", ":all:"])
        .args(index_args)
        .arg("--dest")
        .arg(dest)
        .arg(requirement))
}

fn downloaded(dest: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dest)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn pip_downloads_from_the_index() {
    let python = crate::common::python();
    let (dir, v10, _) = index_dir();
    let server = IndexServer::start(dir.path());
    let url = server.url();

    for mode in [Mode::Both, Mode::Json, Mode::Html] {
        server.set_mode(mode);
        server.clear_requests();
        let dest = tempfile::tempdir().unwrap();
        let output = pip_download(
            &python,
            &["--index-url", &url],
            "demo-pkg==1.0",
            dest.path(),
        );
        assert_success(&output, &format!("pip download ({mode:?})"));
        assert_eq!(downloaded(dest.path()), vec![file_name(&v10)], "{mode:?}");
        assert_eq!(
            sha256_hex(dest.path().join(file_name(&v10))),
            sha256_hex(&v10)
        );
        let requests = server.requests();
        assert!(
            requests.contains(&"GET /simple/demo-pkg/".to_string()),
            "{requests:?}"
        );
        assert!(
            requests.contains(&format!("GET /files/{}", file_name(&v10))),
            "{requests:?}"
        );
        // pip uses the PEP 658 metadata file before the wheel.
        assert!(
            requests.contains(&format!("GET /files/{}.metadata", file_name(&v10))),
            "{requests:?}"
        );
        // pip asks for PEP 691 JSON.
        let page_request = server
            .request_details()
            .into_iter()
            .find(|r| r.target == "/simple/demo-pkg/")
            .unwrap();
        let accept = page_request.header("Accept").unwrap_or("");
        assert!(
            accept.contains("application/vnd.pypi.simple.v1+json"),
            "{accept}"
        );
    }

    // An unnormalized requirement name goes to the normalized URL.
    server.set_mode(Mode::Both);
    let dest = tempfile::tempdir().unwrap();
    let output = pip_download(
        &python,
        &["--index-url", &url],
        "Demo.Pkg==1.0",
        dest.path(),
    );
    assert_success(&output, "pip download Demo.Pkg");
    assert_eq!(downloaded(dest.path()), vec![file_name(&v10)]);
}

#[test]
fn pip_honors_yank_and_wrong_hash() {
    let python = crate::common::python();
    let (dir, v10, v11) = index_dir();
    let server = IndexServer::start(dir.path());
    let url = server.url();

    // Unpinned: the newest version.
    let dest = tempfile::tempdir().unwrap();
    let output = pip_download(&python, &["--index-url", &url], "demo-pkg", dest.path());
    assert_success(&output, "pip download demo-pkg");
    assert_eq!(downloaded(dest.path()), vec![file_name(&v11)]);

    // Yanked 1.1 is skipped when not pinned.
    server.yank(&file_name(&v11), Some("broken"));
    let dest = tempfile::tempdir().unwrap();
    let output = pip_download(&python, &["--index-url", &url], "demo-pkg", dest.path());
    assert_success(&output, "pip download demo-pkg (1.1 yanked)");
    assert_eq!(downloaded(dest.path()), vec![file_name(&v10)]);

    // A wrong advertised hash makes pip refuse the file.
    server.set_wrong_hash(&file_name(&v10));
    let dest = tempfile::tempdir().unwrap();
    let output = pip_download(
        &python,
        &["--index-url", &url],
        "demo-pkg==1.0",
        dest.path(),
    );
    assert!(!output.status.success(), "pip must reject a wrong hash");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.to_lowercase().contains("hash"), "{stderr}");
}

#[test]
fn pip_uses_the_find_links_page() {
    let python = crate::common::python();
    let (dir, v10, _) = index_dir();
    let server = IndexServer::start(dir.path());
    let dest = tempfile::tempdir().unwrap();
    let links = server.find_links_url();
    let output = pip_download(
        &python,
        &["--no-index", "--find-links", &links],
        "demo-pkg==1.0",
        dest.path(),
    );
    assert_success(&output, "pip download --find-links");
    assert_eq!(downloaded(dest.path()), vec![file_name(&v10)]);
    assert!(server.requests().contains(&"GET /links/".to_string()));
}

//! Property tests for the parsers of untrusted bytes: Simple API HTML and JSON, RECORD,
//! METADATA, WHEEL, entry_points.txt, requirements files and pylock.toml. Each parser gets
//! arbitrary input (and input shaped like its format) and must answer without panicking;
//! the writers' output must read back. A bounded number of cases runs with the suite; run
//! longer with `PROPTEST_CASES=100000 cargo test --test it fuzz::`.

use std::path::Path;

use proptest::prelude::*;

use envtool::dist::metadata;
use envtool::dist::record::{parse_record, write_record, RecordEntry};
use envtool::fetch::unpack::header;
use envtool::index::simple::{parse_html, parse_json, parse_page};
use envtool::install::entry_points::parse_entry_points;
use envtool::lockfile::pylock::PyLock;
use envtool::requirements::txt::RequirementsTxt;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256),
        ..ProptestConfig::default()
    }
}

fn page_url() -> url::Url {
    url::Url::parse("https://index.invalid/simple/pkg/").unwrap()
}

/// Text built from the pieces a format is made of, so the parser gets past its first line.
fn shaped(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            prop::sample::select(pieces).prop_map(str::to_string),
            "[ -~]{0,12}",
            "\\PC{0,4}",
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

const HTML: &[&str] = &[
    "<a href=\"",
    "\">",
    "</a>",
    "<base href=\"",
    "<meta name=\"pypi:repository-version\" content=\"",
    "pkg-1.0-py3-none-any.whl#sha256=",
    "data-yanked",
    "data-core-metadata=\"sha256=",
    "&amp;",
    "&#x",
    "<!--",
    "-->",
    "<script>",
    "../",
    "%2F",
];

const JSON: &[&str] = &[
    "{\"name\":\"pkg\",\"files\":[",
    "{\"filename\":\"pkg-1.0.tar.gz\",\"url\":\"",
    "\"hashes\":{\"sha256\":\"",
    "\"yanked\":",
    "\"core-metadata\":",
    "\"meta\":{\"api-version\":\"1.",
    "}",
    "]",
    ",",
    "true",
    "null",
];

const RECORD: &[&str] = &[
    "pkg/__init__.py,sha256=",
    ",",
    "\"",
    "\n",
    "\r\n",
    "../../bin/x",
    "sha512=",
    "md5=",
];

const METADATA: &[&str] = &[
    "Metadata-Version: 2.1\n",
    "Name: ",
    "Version: ",
    "Requires-Dist: ",
    "Requires-Python: >=3.8\n",
    "Provides-Extra: ",
    "\n  ",
    "\n\n",
    "; extra == \"x\"",
    "=?utf-8?",
];

const ENTRY_POINTS: &[&str] = &[
    "[console_scripts]\n",
    "[gui_scripts]\n",
    " = ",
    "mod.sub:func",
    " [extra]",
    "\n",
    "#",
    ";",
];

const REQUIREMENTS: &[&str] = &[
    "six==1.16.0",
    " --hash=sha256:",
    "-r ",
    "-c ",
    "-e ",
    "--index-url ",
    "\\\n",
    " # comment",
    "name @ ",
    "file:///x.whl",
    "; python_version < \"3\"",
    "[extra]",
    "\n",
    "'",
    "\"",
];

const PYLOCK: &[&str] = &[
    "lock-version = \"1.0\"\n",
    "created-by = \"x\"\n",
    "[[packages]]\n",
    "name = \"pkg\"\n",
    "version = \"1.0\"\n",
    "wheels = [{ name = \"pkg-1.0-py3-none-any.whl\", url = \"https://h/x.whl\", hashes = { sha256 = \"ab\" } }]\n",
    "directory = { path = \"../up\" }\n",
    "archive = { path = \"/etc/passwd\", hashes = {} }\n",
    "marker = \"",
    "requires-python = \"",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn simple_api_html(text in shaped(HTML)) {
        let _ = parse_html(&text, &page_url());
        let _ = parse_page("text/html", text.as_bytes(), &page_url());
    }

    #[test]
    fn simple_api_json(text in shaped(JSON), bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_json(text.as_bytes(), &page_url());
        let _ = parse_json(&bytes, &page_url());
        let _ = parse_page("application/vnd.pypi.simple.v1+json", &bytes, &page_url());
    }

    #[test]
    fn record(text in shaped(RECORD)) {
        let _ = parse_record(&text);
    }

    #[test]
    fn record_round_trip(rows in prop::collection::vec(("[a-z/._ ,\"-]{1,20}", proptest::option::of("[A-Za-z0-9_-]{1,10}"), proptest::option::of(0u64..1_000_000)), 0..10)) {
        let entries: Vec<RecordEntry> = rows
            .into_iter()
            .map(|(path, hash, size)| RecordEntry {
                path,
                hash: hash.map(|h| format!("sha256={h}")),
                size,
            })
            .collect();
        let back = parse_record(&write_record(&entries)).unwrap();
        prop_assert_eq!(back, entries);
    }

    #[test]
    fn core_metadata(text in shaped(METADATA)) {
        let _ = metadata::parse(&text);
        let _ = header(&text, "Wheel-Version");
        let _ = header(&text, "Root-Is-Purelib");
    }

    #[test]
    fn entry_points(text in shaped(ENTRY_POINTS)) {
        let _ = parse_entry_points(&text);
    }

    #[test]
    fn requirements_files(text in shaped(REQUIREMENTS)) {
        let _ = RequirementsTxt::parse_str(&text, Path::new("fuzz.txt"), Path::new("/nonexistent"));
    }

    #[test]
    fn pep508_requirements_and_markers(text in shaped(REQUIREMENTS), marker in shaped(&["python_version", " < ", "\"3\"", " and ", " or ", "(", ")", "extra == ", "os_name"])) {
        // Errors are shown to users: formatting them must not panic either.
        let _ = envtool::dist::pep508::requirement(&text).map_err(|e| e.len());
        let _ = envtool::dist::pep508::marker(&marker).map_err(|e| e.len());
        let _ = envtool::requirements::parse_requirement(&text, Path::new("/nonexistent"))
            .map_err(|e| e.to_string());
    }

    #[test]
    fn pylock(text in shaped(PYLOCK)) {
        let _ = toml::from_str::<PyLock>(&text);
    }
}

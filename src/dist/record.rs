//! RECORD files (PEP 376/627): reading, writing, hashing.
//!
//! This module owns the RECORD CSV dialect (Python's `csv` module defaults with `\n` line
//! ends), the `sha256=<urlsafe base64, no padding>` hash form, and hash checking.

use data_encoding::BASE64URL_NOPAD;
use sha2::{Digest, Sha256, Sha384, Sha512};

/// A RECORD problem; each variant names the line or the hash at fault.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("RECORD line {line}: unterminated quoted field")]
    UnterminatedQuote { line: usize },
    #[error("RECORD line {line}: expected 3 fields (path, hash, size), found {found}")]
    FieldCount { line: usize, found: usize },
    #[error("RECORD line {line}: empty path")]
    EmptyPath { line: usize },
    #[error("RECORD line {line}: hash {hash:?} for {path} is not of the form `algorithm=digest`")]
    MalformedHashInRecord {
        line: usize,
        path: String,
        hash: String,
    },
    #[error("RECORD line {line}: size {size:?} for {path} is not a whole number")]
    InvalidSize {
        line: usize,
        path: String,
        size: String,
    },
    #[error("hash {hash:?} is not of the form `algorithm=digest`")]
    MalformedHash { hash: String },
    #[error("hash algorithm {algorithm:?} is forbidden in RECORD (too weak); use sha256")]
    ForbiddenAlgorithm { algorithm: String },
    #[error("hash algorithm {algorithm:?} is not supported (use sha256, sha384 or sha512)")]
    UnsupportedAlgorithm { algorithm: String },
}

/// One RECORD row: a path relative to site-packages, its hash and its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordEntry {
    pub path: String,
    /// `sha256=<urlsafe base64 nopad>`; `None` for RECORD itself and signature files.
    pub hash: Option<String>,
    pub size: Option<u64>,
}

/// Parse RECORD text: `,` separated, `"` quoting with `""` escapes, `\n` or `\r\n` line
/// ends, blank lines ignored. Every row must have exactly 3 fields.
pub fn parse_record(text: &str) -> Result<Vec<RecordEntry>, RecordError> {
    parse_csv(text)?
        .into_iter()
        .map(|(line, fields)| entry_from_fields(line, fields))
        .collect()
}

fn entry_from_fields(line: usize, fields: Vec<String>) -> Result<RecordEntry, RecordError> {
    let [path, hash, size]: [String; 3] =
        fields
            .try_into()
            .map_err(|fields: Vec<String>| RecordError::FieldCount {
                line,
                found: fields.len(),
            })?;
    if path.is_empty() {
        return Err(RecordError::EmptyPath { line });
    }
    if !hash.is_empty() && !hash.contains('=') {
        return Err(RecordError::MalformedHashInRecord { line, path, hash });
    }
    let size = match size.as_str() {
        "" => None,
        text => Some(text.parse::<u64>().map_err(|_| RecordError::InvalidSize {
            line,
            path: path.clone(),
            size: size.clone(),
        })?),
    };
    let hash = (!hash.is_empty()).then_some(hash);
    Ok(RecordEntry { path, hash, size })
}

/// Split CSV text into rows of fields, each with the (1-based) line it starts on.
/// Follows Python's `csv.reader` defaults: text after a closing quote is kept, a quote
/// inside an unquoted field is literal, and blank lines give no row.
fn parse_csv(text: &str) -> Result<Vec<(usize, Vec<String>)>, RecordError> {
    let mut rows = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start_line = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut in_quotes = false;
        let mut quoted = false;
        loop {
            let Some(c) = chars.next() else {
                if in_quotes {
                    return Err(RecordError::UnterminatedQuote { line: start_line });
                }
                break;
            };
            if in_quotes {
                match c {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => in_quotes = false,
                    '\n' => {
                        line += 1;
                        field.push(c);
                    }
                    _ => field.push(c),
                }
                continue;
            }
            match c {
                ',' => {
                    fields.push(std::mem::take(&mut field));
                    quoted = false;
                }
                '"' if field.is_empty() && !quoted => {
                    in_quotes = true;
                    quoted = true;
                }
                '\r' | '\n' => {
                    if c == '\r' && chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    line += 1;
                    break;
                }
                _ => field.push(c),
            }
        }
        let blank = fields.is_empty() && field.is_empty() && !quoted;
        if !blank {
            fields.push(field);
            rows.push((start_line, fields));
        }
    }
    Ok(rows)
}

/// Write RECORD text exactly as Python's `csv.writer(f, lineterminator="\n")` does:
/// fields quoted only when they contain `,`, `"`, `\r` or `\n`, quotes doubled.
pub fn write_record(entries: &[RecordEntry]) -> String {
    let mut out = String::new();
    for entry in entries {
        let size = entry.size.map(|size| size.to_string()).unwrap_or_default();
        let fields = [
            entry.path.as_str(),
            entry.hash.as_deref().unwrap_or(""),
            size.as_str(),
        ];
        let quoted: Vec<String> = fields.iter().map(|field| quote_field(field)).collect();
        out.push_str(&quoted.join(","));
        out.push('\n');
    }
    out
}

fn quote_field(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// The RECORD hash of `bytes`: `sha256=<urlsafe base64 without padding>`.
pub fn record_hash(bytes: &[u8]) -> String {
    format!("sha256={}", BASE64URL_NOPAD.encode(&Sha256::digest(bytes)))
}

/// Whether `bytes` match a RECORD hash (`sha256=`, `sha384=` or `sha512=`).
/// `md5` and `sha1` are forbidden by the spec; other algorithms are unsupported.
pub fn hash_matches(expected: &str, bytes: &[u8]) -> Result<bool, RecordError> {
    let (algorithm, digest) =
        expected
            .split_once('=')
            .ok_or_else(|| RecordError::MalformedHash {
                hash: expected.to_string(),
            })?;
    let actual = match algorithm {
        "sha256" => BASE64URL_NOPAD.encode(&Sha256::digest(bytes)),
        "sha384" => BASE64URL_NOPAD.encode(&Sha384::digest(bytes)),
        "sha512" => BASE64URL_NOPAD.encode(&Sha512::digest(bytes)),
        "md5" | "sha1" => {
            return Err(RecordError::ForbiddenAlgorithm {
                algorithm: algorithm.to_string(),
            })
        }
        _ => {
            return Err(RecordError::UnsupportedAlgorithm {
                algorithm: algorithm.to_string(),
            })
        }
    };
    // Some writers keep base64 padding; it carries no information.
    Ok(digest.trim_end_matches('=') == actual)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, hash: Option<&str>, size: Option<u64>) -> RecordEntry {
        RecordEntry {
            path: path.to_string(),
            hash: hash.map(str::to_string),
            size,
        }
    }

    #[test]
    fn empty_hash_vector() {
        assert_eq!(
            record_hash(b""),
            "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
        );
    }

    #[test]
    fn parses_plain_record() {
        let text = "six.py,sha256=abc,34549\nsix-1.16.0.dist-info/RECORD,,\n";
        let entries = parse_record(text).unwrap();
        assert_eq!(
            entries,
            [
                entry("six.py", Some("sha256=abc"), Some(34549)),
                entry("six-1.16.0.dist-info/RECORD", None, None),
            ]
        );
    }

    #[test]
    fn parses_quotes_crlf_and_blank_lines() {
        let text =
            "\"a,b.py\",sha256=x,1\r\n\r\n\"q\"\"uote.py\",,\n\"multi\nline.py\",,\n\nlast.py,,7";
        let entries = parse_record(text).unwrap();
        assert_eq!(
            entries,
            [
                entry("a,b.py", Some("sha256=x"), Some(1)),
                entry("q\"uote.py", None, None),
                entry("multi\nline.py", None, None),
                entry("last.py", None, Some(7)),
            ]
        );
    }

    #[test]
    fn parse_follows_python_csv_quirks() {
        // Python: `"b"c` reads as `bc`; a quote inside an unquoted field is literal.
        let rows = parse_csv("\"b\"c,x\"y,\n").unwrap();
        assert_eq!(
            rows,
            [(1, vec!["bc".to_string(), "x\"y".to_string(), String::new()])]
        );
    }

    #[test]
    fn parse_errors_name_the_line() {
        let error = parse_record("a.py,,\nb.py,,\n\nc.py,sha256=x\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "RECORD line 4: expected 3 fields (path, hash, size), found 2"
        );
        let error = parse_record("a.py,,\n\"b.py,,\n").unwrap_err().to_string();
        assert_eq!(error, "RECORD line 2: unterminated quoted field");
        let error = parse_record("a.py,,12kB\n").unwrap_err().to_string();
        assert!(
            error.contains("line 1") && error.contains("\"12kB\"") && error.contains("a.py"),
            "{error}"
        );
        let error = parse_record("a.py,deadbeef,1\n").unwrap_err().to_string();
        assert!(
            error.contains("line 1") && error.contains("algorithm=digest"),
            "{error}"
        );
    }

    #[test]
    fn writes_like_python_csv() {
        // Expected output checked against CPython 3.13's csv.writer(lineterminator="\n").
        let entries = [
            entry("six.py", Some("sha256=abc"), Some(34549)),
            entry("a,b.py", None, None),
            entry("q\"uote.py", None, Some(0)),
            entry("cr\rx", None, None),
            entry("nl\nx", None, None),
            entry(" space.py", None, None),
        ];
        let text = write_record(&entries);
        assert_eq!(
            text,
            "six.py,sha256=abc,34549\n\"a,b.py\",,\n\"q\"\"uote.py\",,0\n\"cr\rx\",,\n\"nl\nx\",,\n space.py,,\n"
        );
        assert_eq!(parse_record(&text).unwrap(), entries);
    }

    #[test]
    fn hash_checks() {
        assert!(hash_matches("sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU", b"").unwrap());
        assert!(hash_matches("sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=", b"").unwrap());
        assert!(!hash_matches("sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU", b"x").unwrap());
        let sha512_empty = "sha512=z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg_SpIdNs6c5H0NE8XYXysP-DGNKHfuwvY7kxvUdBeoGlODJ6-SfaPg";
        assert!(hash_matches(sha512_empty, b"").unwrap());
        let sha384_empty =
            "sha384=OLBgp1GsljhM2TJ-sbHjaiH9txEUvgdDTAzHv2P24donTt6_529l-9Ua0vFImLlb";
        assert!(hash_matches(sha384_empty, b"").unwrap());
    }

    #[test]
    fn hash_errors() {
        let error = hash_matches("md5=1B2M2Y8AsgTpgAmY7PhCfg", b"")
            .unwrap_err()
            .to_string();
        assert!(error.contains("\"md5\" is forbidden"), "{error}");
        assert!(matches!(
            hash_matches("sha1=x", b""),
            Err(RecordError::ForbiddenAlgorithm { .. })
        ));
        assert!(matches!(
            hash_matches("blake2b=x", b""),
            Err(RecordError::UnsupportedAlgorithm { .. })
        ));
        let error = hash_matches("nohash", b"").unwrap_err().to_string();
        assert!(error.contains("\"nohash\""), "{error}");
    }
}

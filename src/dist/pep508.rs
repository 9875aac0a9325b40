//! PEP 508 requirements and markers from text envtool did not write (metadata of packages,
//! requirements files, locks), parsed with `pep508_rs` behind a guard: pep508_rs 0.9.2 panics
//! (slicing inside a character) on a non-ASCII character in a marker where it does not expect
//! a string, so a marker with any non-ASCII character is refused up front (real markers are
//! ASCII). It
//! also panics on a name that ends in `-`, `.` or `_` followed by anything, and on an extra
//! (`name[extra-]`) that ends in one: both refused too.

use std::str::FromStr;

use pep508_rs::{MarkerTree, Requirement};

/// Refuse a non-ASCII character outside quotes in a marker (for a requirement: after its `;`).
pub fn check(text: &str, marker_only: bool) -> Result<(), String> {
    if !marker_only {
        check_name(text)?;
        check_extras(text)?;
    }
    check_markers(text, marker_only)
}

/// The leading project name of a named requirement must not end in `-`, `.` or `_` when more
/// text follows.
pub fn check_name(text: &str) -> Result<(), String> {
    {
        let trimmed = text.trim_start();
        let name_len = trimmed
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
            .unwrap_or(trimmed.len());
        let name = &trimmed[..name_len];
        if name_len < trimmed.len() && name.ends_with(['.', '-', '_']) {
            return Err(format!("the name {name:?} must end with a letter or digit"));
        }
    }
    Ok(())
}

/// The extras of a named requirement (`name[a, b]`, before any `@` or `;`) must each end
/// with a letter or digit.
pub fn check_extras(text: &str) -> Result<(), String> {
    let Some(open) = text.find('[') else {
        return Ok(());
    };
    if text[..open].contains(['@', ';']) {
        return Ok(());
    }
    let inner = &text[open + 1..];
    let inner = &inner[..inner.find(']').unwrap_or(inner.len())];
    for extra in inner.split(',').map(str::trim) {
        if extra.ends_with(['.', '-', '_']) {
            return Err(format!(
                "the extra {extra:?} must end with a letter or digit"
            ));
        }
    }
    Ok(())
}

/// No non-ASCII character in a marker (in a requirement: after its `;`). The grammar allows
/// one only inside a quoted string, but the parser slices by characters counted as bytes
/// wherever a string is not where it expects one, so any is refused.
pub fn check_markers(text: &str, marker_only: bool) -> Result<(), String> {
    let marker = if marker_only {
        Some(text)
    } else {
        text.find(';').map(|i| &text[i..])
    };
    match marker.and_then(|m| m.chars().find(|c| !c.is_ascii())) {
        Some(c) => Err(format!("{c:?} is not allowed in a marker")),
        None => Ok(()),
    }
}

/// A parse error as text. pep508_rs underlines the bad span by counting bytes as characters,
/// which panics on some non-ASCII input (`"\u{2000}"`): there, only the message and where.
pub fn describe(e: pep508_rs::Pep508Error) -> String {
    describe_ref(&e)
}

/// `describe` of a borrowed error.
pub fn describe_ref(e: &pep508_rs::Pep508Error) -> String {
    if e.input.is_ascii() {
        e.to_string()
    } else {
        format!("{} (at byte {} of {:?})", e.message, e.start, e.input)
    }
}

/// A requirement, or why it is not one.
pub fn requirement(text: &str) -> Result<Requirement, String> {
    check(text, false)?;
    Requirement::from_str(text).map_err(describe)
}

/// A marker expression, or why it is not one.
pub fn marker(text: &str) -> Result<MarkerTree, String> {
    check(text, true)?;
    MarkerTree::from_str(text).map_err(describe)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the property tests (tests/it/fuzz.rs): these panicked inside pep508_rs.
    #[test]
    fn text_that_crashed_the_parser_is_an_error() {
        for text in [
            "x; python_version < \"3\"\u{58d}",
            "x ; python_version < \"3\" \u{fffc}!!",
        ] {
            assert!(requirement(text).is_err(), "{text}");
        }
        assert!(marker("python_version < \"3\"é").is_err());
        assert!(requirement("a- ").is_err());
        for text in ["x[gx-]", "x[a, gx- ]", "x[gx_,b]", "x [gx.] >=1"] {
            assert!(requirement(text).is_err(), "{text}");
        }
        assert!(requirement("x[a-b,c] >=1").is_ok());
        assert!(requirement("\u{2000}").is_err());
        assert!(requirement("A-:").is_err());
        assert!(requirement("a-b >=1").is_ok());
        assert!(requirement("x; python_version < \"3\"\"\u{fffc}").is_err());
        assert!(requirement("x @ file:///tmp/caf%C3%A9.whl").is_ok());
    }
}

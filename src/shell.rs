//! Quoting for POSIX shells (what envtool writes into shims, hints and pyvenv.cfg).

/// `s` as one word for a POSIX shell: single-quoted, with `'` written as `'\''`. Newlines and
/// every other byte stay inside the quotes, so no text can start a new command.
pub fn quote_sh(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// `s` quoted only when a shell would otherwise split or expand it (for command lines shown
/// to people).
pub fn quote_if_needed(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+=:,@".contains(&b))
    {
        s.to_string()
    } else {
        quote_sh(s)
    }
}

/// Split a command line the way a POSIX shell (and Python's `shlex.split`) does; None when a
/// quote is left open.
pub fn split(text: &str) -> Option<Vec<String>> {
    shlex::split(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote_sh("a'b"), "'a'\\''b'");
        assert_eq!(quote_sh("x\nrm -rf /"), "'x\nrm -rf /'");
        assert_eq!(quote_if_needed("/a/b"), "/a/b");
        assert_eq!(quote_if_needed("a b"), "'a b'");
        assert_eq!(
            split(r#"a 'b c' "d\"e" f\ g"#).unwrap(),
            ["a", "b c", "d\"e", "f g"]
        );
        assert_eq!(split("'open"), None);
    }
}

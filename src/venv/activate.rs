//! Activation scripts, rendered from the templates in `shims/activate/`. Each template holds
//! `__VIRTUAL_ENV__` and `__VIRTUAL_PROMPT__` where a complete quoted literal of that shell goes.

use crate::shell::quote_sh;
use std::path::Path;

struct Template {
    file: &'static str,
    text: &'static str,
    quote: fn(&str) -> String,
}

const TEMPLATES: &[Template] = &[
    Template {
        file: "activate",
        text: include_str!("../../shims/activate/activate"),
        quote: quote_sh,
    },
    Template {
        file: "activate.fish",
        text: include_str!("../../shims/activate/activate.fish"),
        quote: quote_fish,
    },
    Template {
        file: "activate.csh",
        text: include_str!("../../shims/activate/activate.csh"),
        quote: quote_csh,
    },
    Template {
        file: "activate.nu",
        text: include_str!("../../shims/activate/activate.nu"),
        quote: quote_nu,
    },
];

/// As `quote_sh`, with `!` outside the quotes: interactive csh expands history even in `'...'`.
fn quote_csh(s: &str) -> String {
    quote_sh(s).replace('!', "'\\!'")
}

fn quote_fish(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A nushell double-quoted string; control characters as `\u{X}` (nu rejects JSON's `\uXXXX`).
fn quote_nu(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The rendered scripts: (file name, contents).
pub fn render(venv_dir: &Path, prompt: &str) -> Vec<(&'static str, String)> {
    let dir = venv_dir.to_string_lossy();
    TEMPLATES
        .iter()
        .map(|t| {
            let text = t
                .text
                .replace("__VIRTUAL_ENV__", &(t.quote)(&dir))
                .replace("__VIRTUAL_PROMPT__", &(t.quote)(prompt));
            (t.file, text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote_sh("a'b"), "'a'\\''b'");
        assert_eq!(quote_csh("a!b"), "'a'\\!'b'");
        assert_eq!(quote_fish("a'b\\c"), "'a\\'b\\\\c'");
        assert_eq!(quote_nu("a\"b\u{1}"), "\"a\\\"b\\u{1}\"");
    }
}

//! Activation scripts, rendered from the templates in `shims/activate/`. Each template holds
//! `__VIRTUAL_ENV__` and `__VIRTUAL_PROMPT__` where a complete quoted literal of that shell goes.

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
        quote: quote_sh,
    },
    Template {
        file: "activate.nu",
        text: include_str!("../../shims/activate/activate.nu"),
        quote: quote_nu,
    },
];

/// `'...'` with each `'` written as `'\''` (sh, bash, zsh, csh).
pub fn quote_sh(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn quote_fish(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn quote_nu(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
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

//! `pyvenv.cfg`: written at creation, read to recognise an environment and find its interpreter.

use std::path::Path;

/// The keys of a `pyvenv.cfg`, in file order. The runtime reads only `home` and
/// `include-system-site-packages`; the rest is for people and tools.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PyvenvCfg {
    pub entries: Vec<(String, String)>,
}

impl PyvenvCfg {
    /// Parse as `site` does: `key = value` per line, split on the first `=`, key lowercased.
    pub fn parse(text: &str) -> PyvenvCfg {
        let entries = text
            .lines()
            .filter_map(|line| {
                let (key, value) = line.split_once('=')?;
                Some((key.trim().to_ascii_lowercase(), value.trim().to_string()))
            })
            .collect();
        PyvenvCfg { entries }
    }

    pub fn read(dir: &Path) -> anyhow::Result<PyvenvCfg> {
        Ok(PyvenvCfg::parse(&fs_err::read_to_string(
            dir.join("pyvenv.cfg"),
        )?))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key.to_string(), value)),
        }
    }

    pub fn render(&self) -> String {
        self.entries
            .iter()
            .map(|(k, v)| format!("{k} = {v}\n"))
            .collect()
    }
}

/// A Python-style repr of a string, as CPython's venv writes `prompt`.
pub fn python_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::from(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_site() {
        let cfg = PyvenvCfg::parse(
            "Home = /usr/bin\ninclude-system-site-packages=false\nnonsense\nprompt = 'a=b'\n",
        );
        assert_eq!(cfg.get("home"), Some("/usr/bin"));
        assert_eq!(cfg.get("include-system-site-packages"), Some("false"));
        assert_eq!(cfg.get("prompt"), Some("'a=b'"));
    }

    #[test]
    fn repr_matches_python() {
        assert_eq!(python_repr("tools"), "'tools'");
        assert_eq!(python_repr("it's"), "\"it's\"");
        assert_eq!(python_repr("a'b\"c"), "'a\\'b\"c'");
    }
}

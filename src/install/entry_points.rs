//! entry_points.txt (console_scripts, gui_scripts).
//!
//! This module owns reading a wheel's `entry_points.txt` (the INI dialect pip and
//! `importlib.metadata` accept) into [`EntryPoint`]s, and the checks a script entry
//! must pass before a launcher is written for it.

use std::collections::HashSet;

/// An entry_points.txt problem; each variant names the line or the entry at fault.
#[derive(Debug, thiserror::Error)]
pub enum EntryPointError {
    #[error("entry_points.txt line {line}: {text:?} comes before any [section] header")]
    OutsideSection { line: usize, text: String },
    #[error("entry_points.txt line {line}: bad section header {text:?}")]
    BadSection { line: usize, text: String },
    #[error("entry_points.txt line {line}: expected `name = value`, found {text:?}")]
    MissingEquals { line: usize, text: String },
    #[error("entry_points.txt line {line}: empty entry point name")]
    EmptyName { line: usize },
    #[error("entry_points.txt line {line}: entry point {name:?} in [{group}] is defined twice")]
    Duplicate {
        line: usize,
        group: String,
        name: String,
    },
    #[error(
        "entry_points.txt line {line}: entry point {name:?} has invalid value {value:?} \
         (expected `module:attr [extras]`)"
    )]
    BadValue {
        line: usize,
        name: String,
        value: String,
    },
    #[error("script {name:?} ({value}) names no function to call: expected `module:function`")]
    ScriptWithoutAttr { name: String, value: String },
    #[error("script name {name:?} is not a plain file name")]
    BadScriptName { name: String },
}

/// One entry point: `name = module:attr [extras]` in section `[group]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPoint {
    pub group: String,
    pub name: String,
    pub module: String,
    pub attr: Option<String>,
    pub extras: Vec<String>,
}

impl EntryPoint {
    /// The value as written back: `module:attr [a,b]`.
    pub fn value(&self) -> String {
        let mut out = self.module.clone();
        if let Some(attr) = &self.attr {
            out.push(':');
            out.push_str(attr);
        }
        if !self.extras.is_empty() {
            out.push_str(&format!(" [{}]", self.extras.join(",")));
        }
        out
    }
}

/// Parse entry_points.txt: `[group]` headers, `name = value` lines split at the first `=`
/// only (keys are case-sensitive and may contain `:`), `#` and `;` comment lines.
pub fn parse_entry_points(text: &str) -> Result<Vec<EntryPoint>, EntryPointError> {
    let mut entries = Vec::new();
    let mut group: Option<String> = None;
    let mut seen = HashSet::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if trimmed.starts_with('[') {
            group = Some(parse_section(line, trimmed)?);
            continue;
        }
        let Some(group) = &group else {
            return Err(EntryPointError::OutsideSection {
                line,
                text: trimmed.to_string(),
            });
        };
        let entry = parse_entry(line, group, trimmed)?;
        if !seen.insert((entry.group.clone(), entry.name.clone())) {
            return Err(EntryPointError::Duplicate {
                line,
                group: entry.group,
                name: entry.name,
            });
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// `[console_scripts]` -> `console_scripts`.
fn parse_section(line: usize, text: &str) -> Result<String, EntryPointError> {
    let name = text
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .map(str::trim)
        .filter(|name| !name.is_empty());
    name.map(str::to_string)
        .ok_or_else(|| EntryPointError::BadSection {
            line,
            text: text.to_string(),
        })
}

/// `name = module.sub:obj.attr [extra1, extra2]`.
fn parse_entry(line: usize, group: &str, text: &str) -> Result<EntryPoint, EntryPointError> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| EntryPointError::MissingEquals {
            line,
            text: text.to_string(),
        })?;
    let (name, value) = (name.trim(), value.trim());
    if name.is_empty() {
        return Err(EntryPointError::EmptyName { line });
    }
    let bad_value = || EntryPointError::BadValue {
        line,
        name: name.to_string(),
        value: value.to_string(),
    };
    let (reference, extras) = split_extras(value).ok_or_else(bad_value)?;
    let (module, attr) = match reference.split_once(':') {
        Some((module, attr)) => (module.trim(), Some(attr.trim())),
        None => (reference.trim(), None),
    };
    if !is_dotted_name(module) || attr.is_some_and(|attr| !is_dotted_name(attr)) {
        return Err(bad_value());
    }
    Ok(EntryPoint {
        group: group.to_string(),
        name: name.to_string(),
        module: module.to_string(),
        attr: attr.map(str::to_string),
        extras,
    })
}

/// Split `ref [a, b]` into `ref` and the extras; `None` if the brackets are malformed or
/// an extra is not a valid name.
fn split_extras(value: &str) -> Option<(&str, Vec<String>)> {
    let Some(open) = value.find('[') else {
        return (!value.contains(']')).then_some((value, Vec::new()));
    };
    let inner = value[open + 1..].strip_suffix(']')?;
    if inner.contains(['[', ']']) {
        return None;
    }
    let extras: Vec<String> = inner
        .split(',')
        .map(str::trim)
        .filter(|extra| !extra.is_empty())
        .map(str::to_string)
        .collect();
    if !extras.iter().all(|extra| crate::dist::is_valid_name(extra)) {
        return None;
    }
    Some((&value[..open], extras))
}

/// `a.b_c.d`: identifiers (Unicode word characters, not starting with a digit) joined by `.`.
fn is_dotted_name(text: &str) -> bool {
    !text.is_empty() && text.split('.').all(is_identifier)
}

fn is_identifier(part: &str) -> bool {
    let mut chars = part.chars();
    match chars.next() {
        Some(first) if first == '_' || first.is_alphabetic() => {
            chars.all(|c| c == '_' || c.is_alphanumeric())
        }
        _ => false,
    }
}

/// The entries that become scripts: groups `console_scripts` and `gui_scripts`.
pub fn scripts(entries: &[EntryPoint]) -> Vec<&EntryPoint> {
    entries
        .iter()
        .filter(|entry| entry.group == "console_scripts" || entry.group == "gui_scripts")
        .collect()
}

/// Check a script entry can get a launcher: it names a function (`module:attr`) and its
/// name is a plain file name (no path separators, not `.` or `..`).
pub fn validate_script(ep: &EntryPoint) -> Result<(), EntryPointError> {
    let plain = !ep.name.is_empty()
        && ep.name != "."
        && ep.name != ".."
        && !ep.name.contains(['/', '\\', '\0']);
    if !plain {
        return Err(EntryPointError::BadScriptName {
            name: ep.name.clone(),
        });
    }
    if ep.attr.is_none() {
        return Err(EntryPointError::ScriptWithoutAttr {
            name: ep.name.clone(),
            value: ep.value(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(
        group: &str,
        name: &str,
        module: &str,
        attr: Option<&str>,
        extras: &[&str],
    ) -> EntryPoint {
        EntryPoint {
            group: group.to_string(),
            name: name.to_string(),
            module: module.to_string(),
            attr: attr.map(str::to_string),
            extras: extras.iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn parses_groups_values_and_extras() {
        let text = "\
# a comment
[console_scripts]
pip = pip._internal.cli.main:main
Pip3.11=pip._internal.cli.main : main
; another comment

[gui_scripts]
  viewer = app.gui:Window.run [gui, qt5]

[pytest11]
my:plugin = plugin_pkg.hooks
";
        let entries = parse_entry_points(text).unwrap();
        assert_eq!(
            entries,
            [
                ep(
                    "console_scripts",
                    "pip",
                    "pip._internal.cli.main",
                    Some("main"),
                    &[]
                ),
                ep(
                    "console_scripts",
                    "Pip3.11",
                    "pip._internal.cli.main",
                    Some("main"),
                    &[]
                ),
                ep(
                    "gui_scripts",
                    "viewer",
                    "app.gui",
                    Some("Window.run"),
                    &["gui", "qt5"]
                ),
                ep("pytest11", "my:plugin", "plugin_pkg.hooks", None, &[]),
            ]
        );
        assert_eq!(entries[2].value(), "app.gui:Window.run [gui,qt5]");
        let names: Vec<&str> = scripts(&entries).iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["pip", "Pip3.11", "viewer"]);
    }

    #[test]
    fn only_equals_separates_key_and_value() {
        let entries = parse_entry_points("[g]\na:b = m:f\nx=y:z=w\n");
        // `y:z=w` is not a valid reference: only the first `=` splits.
        let error = entries.unwrap_err().to_string();
        assert!(
            error.contains("line 3") && error.contains("\"y:z=w\""),
            "{error}"
        );
        let entries = parse_entry_points("[g]\na:b = m:f\n").unwrap();
        assert_eq!(entries[0].name, "a:b");
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            (
                "x = m:f\n",
                "line 1: \"x = m:f\" comes before any [section]",
            ),
            (
                "[g]\n\njust text\n",
                "line 3: expected `name = value`, found \"just text\"",
            ),
            ("[g\n", "line 1: bad section header \"[g\""),
            ("[g]\n = m:f\n", "line 2: empty entry point name"),
            (
                "[g]\na = m:f\na = n:g\n",
                "line 3: entry point \"a\" in [g] is defined twice",
            ),
            (
                "[g]\na = 1mod:f\n",
                "line 2: entry point \"a\" has invalid value \"1mod:f\"",
            ),
            ("[g]\na = m:f [x\n", "invalid value \"m:f [x\""),
            ("[g]\na = m:\n", "invalid value \"m:\""),
        ];
        for (text, message) in cases {
            let error = parse_entry_points(text).unwrap_err().to_string();
            assert!(error.contains(message), "{text:?}: {error}");
        }
    }

    #[test]
    fn validates_scripts() {
        assert!(validate_script(&ep("console_scripts", "tool", "m", Some("main"), &[])).is_ok());
        let error = validate_script(&ep("console_scripts", "tool", "pkg.cli", None, &[]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("\"tool\"") && error.contains("pkg.cli"),
            "{error}"
        );
        for bad in ["../evil", "a/b", "..", ""] {
            let entry = ep("console_scripts", bad, "m", Some("f"), &[]);
            assert!(
                matches!(
                    validate_script(&entry),
                    Err(EntryPointError::BadScriptName { .. })
                ),
                "{bad}"
            );
        }
    }
}

//! Everything the user asked for in one run, gathered from the command line, `-r`, `-c`,
//! `--override` and the `ENVTOOL_CONSTRAINT` / `ENVTOOL_OVERRIDE` files.

use std::path::{Path, PathBuf};

use super::remembered::Remembered;
use super::txt::{Entry, Origin, RequirementsTxt, TxtOptions};
use super::{parse_requirement, ReqSpec};
use crate::error::WithHint;

/// Where the requirements come from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub reqs: Vec<String>,
    /// `-e DIR` on the command line.
    pub editables: Vec<String>,
    pub requirement_files: Vec<PathBuf>,
    pub constraint_files: Vec<PathBuf>,
    pub override_files: Vec<PathBuf>,
    pub require_hashes: bool,
    /// What the environment remembers from earlier runs (applied unless given anew).
    pub remembered: Remembered,
    /// How to name the remembered entries in messages (the environment).
    pub remembered_label: String,
    /// Constraints for this run only, never remembered (e.g. the versions `tool install-all`
    /// reproduces).
    pub one_off_constraints: Vec<String>,
}

/// The gathered request.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub entries: Vec<Entry>,
    pub constraints: Vec<Entry>,
    pub overrides: Vec<Entry>,
    pub options: TxtOptions,
    pub hash_mode: bool,
    /// Every requirement comes from files that are complete sets (see `txt::COMPLETE_MARK`):
    /// install them as written.
    pub complete: bool,
    /// The constraints and overrides to remember after this run: those given now, and the
    /// remembered ones they do not replace.
    pub remember: Remembered,
}

fn env_files(var: &str) -> Vec<PathBuf> {
    crate::env_vars::list_var(var)
        .into_iter()
        .map(PathBuf::from)
        .collect()
}

fn merge_options(into: &mut TxtOptions, from: TxtOptions) {
    if from.index_url.is_some() {
        into.index_url = from.index_url;
    }
    into.extra_index_urls.extend(from.extra_index_urls);
    into.find_links.extend(from.find_links);
    into.no_index |= from.no_index;
    into.require_hashes |= from.require_hashes;
    into.pre |= from.pre;
    into.only_binary.extend(from.only_binary);
    into.no_binary.extend(from.no_binary);
}

/// A requirements, constraints or overrides file that could not be used, with the hint that
/// fits what went wrong: a path to check, a URL to check, or a line to fix.
fn file_error(path: &Path, err: super::txt::TxtError) -> anyhow::Error {
    use super::txt::TxtError;
    let hint = match &err {
        TxtError::Read { path, .. } => format!(
            "check that {} exists and is a readable text file (a relative path is taken from the current directory, or from the file that includes it)",
            path.display()
        ),
        TxtError::Remote { .. } => "check that the URL serves the requirements file itself, and that it is reachable (or cached, with --offline)".into(),
        _ => format!(
            "fix {} at the line shown, then run the command again",
            path.display()
        ),
    };
    crate::error::user(format!("{:#}", anyhow::Error::new(err)), hint)
}

impl Request {
    /// `remote` fetches requirement and constraint files given by URL.
    pub fn gather(
        sources: &Sources,
        cwd: &Path,
        remote: Option<super::txt::Remote<'_>>,
    ) -> anyhow::Result<Request> {
        let mut request = Request::default();
        for (i, text) in sources.reqs.iter().enumerate() {
            let spec = parse_requirement(text, cwd).hint(
                "write a PEP 508 requirement such as `name`, `name==1.0` or `name>=1,<2`, or a path to a wheel",
            )?;
            request.entries.push(Entry {
                spec,
                hashes: Vec::new(),
                editable: false,
                config_settings: Vec::new(),
                origin: Origin {
                    file: PathBuf::from("<command line>"),
                    line: i + 1,
                },
            });
        }
        for (i, text) in sources.editables.iter().enumerate() {
            let spec = super::parse_editable(text, cwd).hint(
                "give -e the directory of a local project (with a pyproject.toml or setup.py)",
            )?;
            request.entries.push(Entry {
                spec,
                hashes: Vec::new(),
                editable: true,
                config_settings: Vec::new(),
                origin: Origin {
                    file: PathBuf::from("<command line -e>"),
                    line: i + 1,
                },
            });
        }
        request.complete = sources.reqs.is_empty()
            && sources.editables.is_empty()
            && !sources.requirement_files.is_empty();
        for file in &sources.requirement_files {
            let txt = RequirementsTxt::parse_location(file, false, remote)
                .map_err(|e| file_error(file, e))?;
            request.complete &= txt.complete;
            if txt.hash_mode() {
                request.hash_mode = true;
            }
            txt.check_hash_mode().hint(
                "in hash-checking mode every requirement must be pinned with == and carry a --hash",
            )?;
            request.entries.extend(txt.requirements);
            request.constraints.extend(txt.constraints);
            merge_options(&mut request.options, txt.options);
        }
        // Files named on the command line are remembered; ENVTOOL_CONSTRAINT/OVERRIDE files are
        // the caller's standing configuration, applied every time anyway.
        let mut given_constraints = Vec::new();
        let mut given_overrides = Vec::new();
        let constraint_files = sources
            .constraint_files
            .iter()
            .map(|f| (f.clone(), true))
            .chain(
                env_files(crate::env_vars::ENVTOOL_CONSTRAINT)
                    .into_iter()
                    .map(|f| (f, false)),
            );
        for (file, given) in constraint_files {
            let txt = RequirementsTxt::parse_location(&file, true, remote)
                .map_err(|e| file_error(&file, e))?;
            let entries: Vec<Entry> = txt
                .constraints
                .into_iter()
                .chain(txt.requirements)
                .collect();
            if given {
                given_constraints.extend(entries.iter().cloned());
            }
            request.constraints.extend(entries);
            merge_options(&mut request.options, txt.options);
        }
        let override_files = sources
            .override_files
            .iter()
            .map(|f| (f.clone(), true))
            .chain(
                env_files(crate::env_vars::ENVTOOL_OVERRIDE)
                    .into_iter()
                    .map(|f| (f, false)),
            );
        for (file, given) in override_files {
            let txt = RequirementsTxt::parse_location(&file, false, remote)
                .map_err(|e| file_error(&file, e))?;
            for entry in txt.requirements {
                if matches!(entry.spec, ReqSpec::Unnamed { .. }) {
                    return Err(crate::error::user(
                        format!("{}: an override needs a name: {}", entry.origin, entry.spec),
                        "write it as `name @ URL-or-path` or `name==version`",
                    ));
                }
                if given {
                    given_overrides.push(entry.clone());
                }
                request.overrides.push(entry);
            }
        }
        for (i, text) in sources.one_off_constraints.iter().enumerate() {
            let spec = parse_requirement(text, cwd)
                .hint("write the pin as a PEP 508 requirement such as `name==1.0`")?;
            request.constraints.push(Entry {
                spec,
                hashes: Vec::new(),
                editable: false,
                config_settings: Vec::new(),
                origin: Origin {
                    file: PathBuf::from("<pinned versions>"),
                    line: i + 1,
                },
            });
        }
        let given = Remembered::of_entries(&given_constraints, &given_overrides);
        request.remember = sources.remembered.updated(&given);
        // What is remembered and not given anew applies too.
        let still = Remembered {
            constraints: request
                .remember
                .constraints
                .iter()
                .filter(|l| !given.constraints.contains(l))
                .cloned()
                .collect(),
            overrides: request
                .remember
                .overrides
                .iter()
                .filter(|l| !given.overrides.contains(l))
                .cloned()
                .collect(),
        };
        let (constraints, overrides) = still.entries(&sources.remembered_label);
        request.constraints.extend(constraints);
        request.overrides.extend(overrides);
        if sources.require_hashes || request.options.require_hashes {
            request.hash_mode = true;
            let check = RequirementsTxt {
                requirements: request.entries.clone(),
                constraints: Vec::new(),
                complete: false,
                options: TxtOptions {
                    require_hashes: true,
                    ..Default::default()
                },
            };
            check.check_hash_mode().hint(
                "with --require-hashes every requirement must be pinned with == and carry a --hash",
            )?;
        }
        Ok(request)
    }
}

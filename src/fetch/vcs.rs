//! Git requirements (`name @ git+URL@REV#subdirectory=DIR`, `git+URL#egg=name`): the revision
//! resolved to a commit with the system's `git`, a checkout at that commit to build from.
//!
//! The URL and revision are the user's (or a lock's) words, so they are handed to git as
//! arguments after `--`, a revision that looks like an option is refused, only the file, git,
//! http(s) and ssh transports are allowed (no `ext::`), and git never prompts. Credentials in
//! the URL go to git and nowhere else.

use std::path::{Path, PathBuf};
use std::process::Command;

use url::Url;

use crate::cache::Cache;
use crate::error::user;

/// What a `git+` URL asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitRequest {
    /// The repository URL as git takes it (no `git+`, no `@REV`, no fragment; credentials kept).
    pub url: Url,
    pub rev: Option<String>,
    pub subdirectory: Option<String>,
    /// `#egg=NAME`, when given.
    pub egg: Option<String>,
}

impl GitRequest {
    /// Read `git+URL[@REV][#egg=NAME&subdirectory=DIR]`.
    pub fn parse(url: &Url) -> anyhow::Result<GitRequest> {
        let text = url.as_str();
        let bad = |why: &str| {
            user(
                format!("{}: {why}", crate::redact::url(text)),
                "write it as `name @ git+https://host/repo.git@REV` (REV: a branch, tag or commit; `#subdirectory=DIR` for a project inside the repository)",
            )
        };
        let Some(rest) = text.strip_prefix("git+") else {
            return Err(bad("only git+ URLs are supported for version control"));
        };
        let (base, fragment) = match rest.split_once('#') {
            Some((b, f)) => (b, Some(f)),
            None => (rest, None),
        };
        let mut egg = None;
        let mut subdirectory = None;
        for part in fragment.into_iter().flat_map(|f| f.split('&')) {
            match part.split_once('=') {
                Some(("egg", v)) => egg = Some(v.to_string()),
                Some(("subdirectory", v)) => {
                    let v = percent_encoding::percent_decode_str(v)
                        .decode_utf8_lossy()
                        .into_owned();
                    let p = Path::new(&v);
                    if v.is_empty()
                        || p.is_absolute()
                        || p.components()
                            .any(|c| matches!(c, std::path::Component::ParentDir))
                    {
                        return Err(bad(
                            "the subdirectory must be a relative path inside the repository",
                        ));
                    }
                    subdirectory = Some(v.trim_end_matches('/').to_string());
                }
                _ => {}
            }
        }
        let mut repo = Url::parse(base).map_err(|_| bad("not a URL"))?;
        // `@REV` ends the path (an `@` in the authority is a user name, not a revision).
        let path = repo.path().to_string();
        let rev = match path.rsplit_once('@') {
            Some((p, r)) if !r.contains('/') => {
                repo.set_path(p);
                Some(
                    percent_encoding::percent_decode_str(r)
                        .decode_utf8_lossy()
                        .into_owned(),
                )
            }
            _ => None,
        };
        if let Some(r) = &rev {
            if r.is_empty()
                || r.starts_with('-')
                || r.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(bad(&format!("{r:?} is not a revision")));
            }
        }
        if !matches!(repo.scheme(), "file" | "https" | "http" | "ssh" | "git") {
            return Err(bad(&format!("git over {} is not supported", repo.scheme())));
        }
        Ok(GitRequest {
            url: repo,
            rev,
            subdirectory,
            egg,
        })
    }

    /// The repository URL as it may be recorded (PEP 610: no credentials).
    pub fn public_url(&self) -> Url {
        let mut url = self.url.clone();
        let _ = url.set_password(None);
        if url.scheme() != "ssh" {
            let _ = url.set_username("");
        }
        url
    }
}

/// `git` as envtool runs it: never prompting, with no `ext::` transport (a URL must not run
/// a program), and with the user's own configuration (credential helpers, `insteadOf`).
fn git() -> Command {
    let mut cmd = Command::new("git");
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ALLOW_PROTOCOL", "file:git:http:https:ssh")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .stdin(std::process::Stdio::null());
    cmd
}

/// Run git; its stdout on success, else an error with its stderr.
fn run(mut cmd: Command, what: &str) -> anyhow::Result<String> {
    let out = cmd.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            user(
                format!("cannot run git to {what}: git is not installed (or not on PATH)"),
                "install git; envtool uses the system's git for git+ requirements",
            )
        } else {
            user(
                format!("cannot run git to {what}: {e}"),
                "check the git installation",
            )
        }
    })?;
    if !out.status.success() {
        let err = crate::redact::text_of(String::from_utf8_lossy(&out.stderr).trim());
        return Err(anyhow::anyhow!("git failed to {what}: {err}"));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn is_full_sha(rev: &str) -> bool {
    rev.len() == 40 && rev.chars().all(|c| c.is_ascii_hexdigit())
}

/// The commit `request` names, asked of the repository without cloning it when a branch, a
/// tag or the default branch is meant (`git ls-remote`); None when only a checkout can tell
/// (an abbreviated commit).
pub fn remote_commit(request: &GitRequest) -> anyhow::Result<Option<String>> {
    if let Some(rev) = &request.rev {
        if is_full_sha(rev) {
            return Ok(Some(rev.to_ascii_lowercase()));
        }
    }
    let public = crate::redact::url(request.url.as_str());
    let mut cmd = git();
    cmd.args(["ls-remote", "--", request.url.as_str()]);
    let listing = run(cmd, &format!("read the refs of {public}")).map_err(|e| {
        user(
            format!("{e:#}"),
            format!("check that {public} is a git repository you can read"),
        )
    })?;
    let refs: Vec<(&str, &str)> = listing.lines().filter_map(|l| l.split_once('\t')).collect();
    let find = |name: &str| {
        refs.iter()
            .find(|(_, r)| *r == name)
            .map(|(sha, _)| sha.to_string())
    };
    let Some(rev) = &request.rev else {
        return Ok(find("HEAD"));
    };
    // An annotated tag's peeled entry names the commit; branches, then tags, then full refs.
    let found = find(&format!("refs/heads/{rev}"))
        .or_else(|| find(&format!("refs/tags/{rev}^{{}}")))
        .or_else(|| find(&format!("refs/tags/{rev}")))
        .or_else(|| find(rev));
    if found.is_some() {
        return Ok(found);
    }
    if rev.len() >= 4 && rev.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(None);
    }
    Err(missing_revision(request, rev))
}

fn missing_revision(request: &GitRequest, rev: &str) -> anyhow::Error {
    user(
        format!(
            "{} has no branch, tag or commit {rev:?}",
            crate::redact::url(request.url.as_str())
        ),
        "check the revision after @ (a branch, tag or commit of that repository)",
    )
}

/// A checkout at one commit, in a temporary directory that goes away with it.
pub struct Checkout {
    /// The project to build (the subdirectory applied).
    pub project: PathBuf,
    pub commit: String,
    _dir: tempfile::TempDir,
}

/// Clone the repository and check out `commit` (or, when that is unknown, the revision).
pub fn checkout(
    request: &GitRequest,
    commit: Option<&str>,
    cache: &Cache,
) -> anyhow::Result<Checkout> {
    let public = crate::redact::url(request.url.as_str());
    let dir = cache.tempdir()?;
    let tree = dir.path().join("repo");
    let mut clone = git();
    clone
        .args([
            "clone",
            "--quiet",
            "--no-checkout",
            "--",
            request.url.as_str(),
        ])
        .arg(&tree);
    run(clone, &format!("clone {public}")).map_err(|e| {
        user(
            format!("{e:#}"),
            format!("check that {public} is a git repository you can read"),
        )
    })?;
    let target = commit.map(String::from).or_else(|| request.rev.clone());
    if let Some(target) = &target {
        let mut verify = git();
        verify.arg("-C").arg(&tree).args([
            "rev-parse",
            "-q",
            "--verify",
            &format!("{target}^{{commit}}"),
        ]);
        if run(verify, "find the revision").is_err() {
            // A commit no branch or tag reaches: ask for it by name.
            let mut fetch = git();
            fetch.arg("-C").arg(&tree).args([
                "fetch",
                "--quiet",
                "--",
                request.url.as_str(),
                target,
            ]);
            if run(fetch, &format!("fetch {target}")).is_err() {
                return Err(missing_revision(request, target));
            }
        }
    }
    let mut co = git();
    co.arg("-C")
        .arg(&tree)
        .args(["checkout", "--quiet", "--detach"]);
    if let Some(target) = &target {
        co.arg(format!("{target}^{{commit}}"));
    }
    run(co, "check out the revision")
        .map_err(|_| missing_revision(request, target.as_deref().unwrap_or("HEAD")))?;
    if tree.join(".gitmodules").is_file() {
        let mut sub = git();
        sub.arg("-C")
            .arg(&tree)
            .args(["submodule", "update", "--init", "--recursive", "--quiet"]);
        run(sub, "check out its submodules")?;
    }
    let mut head = git();
    head.arg("-C").arg(&tree).args(["rev-parse", "HEAD"]);
    let sha = run(head, "read the commit")?.trim().to_string();
    let project = match &request.subdirectory {
        Some(sub) => tree.join(sub),
        None => tree.clone(),
    };
    if !project.is_dir() {
        return Err(user(
            format!(
                "{public} has no directory {} at {sha}",
                request.subdirectory.as_deref().unwrap_or(".")
            ),
            "check #subdirectory= in the requirement",
        ));
    }
    Ok(Checkout {
        project,
        commit: sha,
        _dir: dir,
    })
}

/// For a repository on this machine: whether its working tree differs from its commits (what
/// gets installed is the commit, not the edits).
pub fn local_changes(request: &GitRequest) -> Option<PathBuf> {
    if request.url.scheme() != "file" {
        return None;
    }
    let path = request.url.to_file_path().ok()?;
    let mut status = git();
    status
        .arg("-C")
        .arg(&path)
        .args(["status", "--porcelain", "--untracked-files=no"]);
    let out = run(status, "read the working tree").ok()?;
    (!out.trim().is_empty()).then_some(path)
}

/// What version control says of an editable project's directory, for `freeze` (as pip reads it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Worktree {
    /// Not inside a git repository (or git is not installed).
    Untracked,
    /// Inside a repository with no remote.
    NoRemote,
    /// The remote is neither a URL nor an existing path.
    BadRemote(String),
    /// `git+URL@COMMIT`, and the project's directory inside the repository.
    Tracked {
        url: String,
        commit: String,
        subdirectory: Option<String>,
    },
}

/// Read the repository `dir` is in, as `pip freeze` does for editables.
pub fn describe_worktree(dir: &Path) -> Worktree {
    let ask = |args: &[&str]| {
        let mut cmd = git();
        cmd.arg("-C").arg(dir).args(args);
        run(cmd, "read the repository")
            .ok()
            .map(|s| s.trim().to_string())
    };
    let Some(top) = ask(&["rev-parse", "--show-toplevel"]) else {
        return Worktree::Untracked;
    };
    let remotes = ask(&["config", "--get-regexp", r"remote\..*\.url"]).unwrap_or_default();
    let mut urls: Vec<(&str, &str)> = remotes.lines().filter_map(|l| l.split_once(' ')).collect();
    // pip prefers origin, else the first remote listed.
    urls.sort_by_key(|(key, _)| *key != "remote.origin.url");
    let Some((_, remote)) = urls.first() else {
        return Worktree::NoRemote;
    };
    let url = if remote.contains("://") {
        remote.to_string()
    } else if Path::new(remote).exists() {
        match std::path::absolute(remote)
            .ok()
            .and_then(|p| Url::from_file_path(p).ok())
        {
            Some(u) => u.to_string(),
            None => return Worktree::BadRemote(remote.to_string()),
        }
    } else if let Some((host, path)) = remote.split_once(':').filter(|(h, _)| !h.contains('/')) {
        format!("ssh://{host}/{path}")
    } else {
        return Worktree::BadRemote(remote.to_string());
    };
    let Some(commit) = ask(&["rev-parse", "HEAD"]).filter(|c| is_full_sha(c)) else {
        return Worktree::NoRemote;
    };
    let subdirectory = std::fs::canonicalize(dir)
        .ok()
        .zip(std::fs::canonicalize(&top).ok())
        .and_then(|(d, t)| d.strip_prefix(&t).ok().map(Path::to_path_buf))
        .filter(|rel| !rel.as_os_str().is_empty())
        .map(|rel| rel.to_string_lossy().into_owned());
    Worktree::Tracked {
        url: crate::redact::url(&url).to_string(),
        commit,
        subdirectory,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<GitRequest> {
        GitRequest::parse(&Url::parse(text).unwrap())
    }

    #[test]
    fn git_urls_are_read_as_pip_reads_them() {
        let r =
            parse("git+https://user:tok@host.test/org/repo.git@v1.2#egg=proj&subdirectory=sub/dir")
                .unwrap();
        assert_eq!(r.url.as_str(), "https://user:tok@host.test/org/repo.git");
        assert_eq!(r.public_url().as_str(), "https://host.test/org/repo.git");
        assert_eq!(r.rev.as_deref(), Some("v1.2"));
        assert_eq!(r.egg.as_deref(), Some("proj"));
        assert_eq!(r.subdirectory.as_deref(), Some("sub/dir"));
        let r = parse("git+file:///srv/repo").unwrap();
        assert_eq!(
            (r.url.as_str(), r.rev.as_deref()),
            ("file:///srv/repo", None)
        );
        let r = parse("git+ssh://git@host.test/org/repo.git@main").unwrap();
        assert_eq!(r.public_url().as_str(), "ssh://git@host.test/org/repo.git");
        assert_eq!(r.rev.as_deref(), Some("main"));
    }

    #[test]
    fn hostile_git_urls_are_refused() {
        assert!(parse("git+file:///srv/repo@--upload-pack=evil").is_err());
        assert!(parse("git+ext::sh -c evil").is_err());
        assert!(parse("git+file:///srv/repo#subdirectory=../../etc").is_err());
        assert!(parse("git+file:///srv/repo#subdirectory=/etc").is_err());
        assert!(parse("git+ftp://host.test/repo").is_err());
        assert!(parse("hg+https://host.test/repo").is_err());
    }
}

//! User-facing errors: a message plus an optional `hint:` line, and how they are printed.
//!
//! Modules report failures a caller may branch on as their own `thiserror` enums and say how
//! to fix each one through the [`Hint`] trait; the command layer hands [`report`] the function
//! that finds those hints in an error's chain, so this bottom layer knows no module above it.

use std::fmt;
use std::process::ExitCode;
use std::sync::Arc;

/// How to fix an error, naming the flag or variable, when there is something to say.
pub trait Hint {
    fn hint(&self) -> Option<String>;
}

/// Finds the hint of one error in a chain (the command layer knows every error type).
pub type HintFinder = fn(&(dyn std::error::Error + 'static)) -> Option<String>;

/// An error the user can act on. `hint` says how to fix it, naming the flag or variable.
#[derive(Debug)]
pub struct UserError {
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}

impl Hint for UserError {
    fn hint(&self) -> Option<String> {
        self.hint.clone()
    }
}

/// Build an `anyhow::Error` carrying a message and a hint.
pub fn user(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UserError {
        message: message.into(),
        hint: Some(hint.into()),
    })
}

/// A mistake in the options themselves (exit status 2, as for an unknown flag).
#[derive(Debug)]
pub struct UsageError(pub UserError);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for UsageError {}

/// Build an error for a wrong option value or combination: message, hint, exit status 2.
pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(UserError {
        message: message.into(),
        hint: Some(hint.into()),
    }))
}

/// Attach a hint to any error result, keeping its message and causes.
pub trait WithHint<T> {
    fn hint(self, hint: impl Into<String>) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> WithHint<T> for Result<T, E> {
    fn hint(self, hint: impl Into<String>) -> anyhow::Result<T> {
        self.map_err(|e| {
            let e: anyhow::Error = e.into();
            let message = format!("{e:#}");
            anyhow::Error::new(UserError {
                message,
                hint: Some(hint.into()),
            })
        })
    }
}

/// One error shared by several threads (memoized work): displays as the original and exposes
/// the original's chain as its source, so hints and kinds are still found in it.
#[derive(Debug, Clone)]
pub struct Shared(pub Arc<anyhow::Error>);

impl fmt::Display for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for Shared {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref().as_ref())
    }
}

impl Shared {
    /// An error that owns a copy of this one (for `?` into `anyhow::Result`).
    pub fn to_error(&self) -> anyhow::Error {
        anyhow::Error::new(self.clone())
    }
}

/// The hints envtool's own foundation types carry.
fn own_hint(cause: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(e) = cause.downcast_ref::<UserError>() {
        return e.hint.clone();
    }
    if let Some(e) = cause.downcast_ref::<UsageError>() {
        return e.0.hint.clone();
    }
    if let Some(e) = cause.downcast_ref::<std::io::Error>() {
        return io_hint(e);
    }
    if cause
        .downcast_ref::<crate::interrupt::Interrupted>()
        .is_some()
    {
        return Some("nothing was changed; run the command again to finish".into());
    }
    None
}

/// The first hint in the chain.
pub fn find_hint(err: &anyhow::Error, finder: HintFinder) -> Option<String> {
    err.chain()
        .find_map(|cause| own_hint(cause).or_else(|| finder(cause)))
}

/// The error's message with its causes, each once (a shared error repeats its source's text).
pub fn message(err: &anyhow::Error) -> String {
    let mut message = err.to_string();
    for cause in err.chain().skip(1) {
        if cause.downcast_ref::<Shared>().is_some() {
            continue;
        }
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(&format!("\n  caused by: {text}"));
        }
    }
    message
}

/// Print `error: ...` (with causes) and the first hint found in the chain; exit status 1
/// (2 for a usage mistake, 130 when interrupted).
pub fn report(err: &anyhow::Error, finder: HintFinder) -> ExitCode {
    crate::output::error_line(&message(err));
    if let Some(hint) = find_hint(err, finder) {
        crate::output::hint_line(&hint);
    }
    let interrupted = err
        .chain()
        .any(|c| c.downcast_ref::<crate::interrupt::Interrupted>().is_some());
    let usage = err
        .chain()
        .any(|c| c.downcast_ref::<UsageError>().is_some());
    ExitCode::from(if interrupted {
        130
    } else if usage {
        2
    } else {
        1
    })
}

fn io_hint(e: &std::io::Error) -> Option<String> {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => Some(
            "check the permissions of that path, or choose a directory you can write to".into(),
        ),
        std::io::ErrorKind::StorageFull => Some("free some disk space and try again".into()),
        _ => None,
    }
}

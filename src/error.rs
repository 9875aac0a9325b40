//! User-facing errors: a message plus an optional `hint:` line, and how they are printed.

use std::fmt;
use std::process::ExitCode;

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

/// Build an `anyhow::Error` carrying a message and a hint.
pub fn user(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UserError {
        message: message.into(),
        hint: Some(hint.into()),
    })
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

/// Print `error: ...` (with causes) and the first hint found in the chain; exit status 1.
pub fn report(err: &anyhow::Error) -> ExitCode {
    let mut message = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(&format!("\n  caused by: {text}"));
        }
    }
    crate::output::error_line(&message);
    if let Some(hint) = find_hint(err) {
        crate::output::hint_line(&hint);
    }
    let interrupted = err
        .chain()
        .any(|c| c.downcast_ref::<crate::interrupt::Interrupted>().is_some());
    ExitCode::from(if interrupted { 130 } else { 1 })
}

fn find_hint(err: &anyhow::Error) -> Option<String> {
    err.chain().find_map(|cause| {
        if let Some(e) = cause.downcast_ref::<UserError>() {
            return e.hint.clone();
        }
        if let Some(e) = cause.downcast_ref::<std::io::Error>() {
            return io_hint(e);
        }
        if let Some(e) = cause.downcast_ref::<crate::index::http::HttpError>() {
            return Some(e.hint());
        }
        if let Some(e) = cause.downcast_ref::<crate::index::simple::SimpleError>() {
            return Some(simple_hint(e));
        }
        if let Some(e) = cause.downcast_ref::<crate::install::unpack::WheelError>() {
            return Some(e.hint());
        }
        if cause
            .downcast_ref::<crate::interrupt::Interrupted>()
            .is_some()
        {
            return Some("nothing was changed; run the command again to finish".into());
        }
        None
    })
}

fn simple_hint(e: &crate::index::simple::SimpleError) -> String {
    use crate::index::simple::SimpleError;
    match e {
        SimpleError::UnsupportedVersion { .. } => "use a newer envtool, or another index".into(),
        _ => "check that --index-url (or ENVTOOL_INDEX_URL / PIP_INDEX_URL) points at a Simple API root, e.g. https://host/simple".into(),
    }
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

/// A copy of an error (message with causes, and its hint) for errors shared between threads.
pub fn duplicate(err: &anyhow::Error) -> anyhow::Error {
    anyhow::Error::new(UserError {
        message: format!("{err:#}"),
        hint: find_hint(err),
    })
}

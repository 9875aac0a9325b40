//! What envtool prints to stderr: log levels, colour, `error:`/`hint:`/`warning:` lines.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicI8, Ordering};

/// When to colour messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

static VERBOSITY: AtomicI8 = AtomicI8::new(0);
static COLOR: AtomicBool = AtomicBool::new(false);
static QUIET: AtomicI8 = AtomicI8::new(0);

/// While alive, normal progress lines are hidden (nested work such as build environments).
pub struct Quiet(());

impl Quiet {
    pub fn enter() -> Quiet {
        QUIET.fetch_add(1, Ordering::Relaxed);
        Quiet(())
    }
}

impl Drop for Quiet {
    fn drop(&mut self) {
        QUIET.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Let a closed pipe end the process quietly (`envtool freeze | head`) instead of an error.
pub fn restore_sigpipe() {
    // SAFETY: setting a signal disposition to its default has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Set the verbosity (`-v` counts up, `-q` down; `ENVTOOL_LOG` when neither is given) and colour.
pub fn init(quiet: u8, verbose: u8, color: ColorChoice) {
    let mut level = verbose as i8 - quiet as i8;
    if verbose == 0 && quiet == 0 {
        if let Ok(v) = std::env::var(crate::env_vars::ENVTOOL_LOG) {
            level = match v.trim().to_ascii_lowercase().as_str() {
                "error" | "quiet" => -1,
                "debug" => 1,
                "trace" => 2,
                _ => 0,
            };
        }
    }
    VERBOSITY.store(level, Ordering::Relaxed);
    let color = match color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os(crate::env_vars::NO_COLOR).is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
    };
    COLOR.store(color, Ordering::Relaxed);
}

pub fn verbosity() -> i8 {
    VERBOSITY.load(Ordering::Relaxed)
}

fn paint(code: &str, text: &str) -> String {
    if COLOR.load(Ordering::Relaxed) {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn emit(line: String) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

pub fn error_line(message: &str) {
    emit(format!("{} {message}", paint("1;31", "error:")));
}

pub fn hint_line(message: &str) {
    emit(format!("{} {message}", paint("1;36", "hint:")));
}

pub fn warn(message: &str) {
    if verbosity() >= -1 {
        emit(format!("{} {message}", paint("1;33", "warning:")));
    }
}

/// A normal progress or summary line; hidden by `-q`.
pub fn info(message: &str) {
    if verbosity() >= 0 && QUIET.load(Ordering::Relaxed) == 0 {
        emit(message.to_string());
    }
}

/// Detail shown with `-v`.
pub fn debug(message: &str) {
    if verbosity() >= 1 {
        emit(format!("{} {message}", paint("2", "debug:")));
    }
}

/// A progress bar on a terminal (hidden when stderr is not one, or with -q).
pub fn progress(len: usize, what: &str) -> indicatif::ProgressBar {
    if verbosity() < 0 || QUIET.load(Ordering::Relaxed) > 0 || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    let style = indicatif::ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(what.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    bar
}

/// A spinner on a terminal while something of unknown length runs (hidden otherwise).
pub fn spinner(what: &str) -> indicatif::ProgressBar {
    if verbosity() < 0 || QUIET.load(Ordering::Relaxed) > 0 || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(what.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    bar
}

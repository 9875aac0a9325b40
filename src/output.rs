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

/// The byte counter of the downloads in progress, while a [`Transfer`] shows them.
static TRANSFER: std::sync::Mutex<Option<indicatif::ProgressBar>> = std::sync::Mutex::new(None);

/// Downloads in progress on a terminal: bytes so far and the rate, and how many of the files
/// are done (`Fetching 3/10  4.2 MiB  11.3 MiB/s`); nothing when stderr is not a terminal.
pub struct Transfer {
    bar: indicatif::ProgressBar,
    files: usize,
    done: std::sync::atomic::AtomicUsize,
}

impl Transfer {
    pub fn start(files: usize) -> Transfer {
        let hidden = verbosity() < 0
            || QUIET.load(Ordering::Relaxed) > 0
            || !std::io::stderr().is_terminal()
            || files == 0;
        let bar = if hidden {
            indicatif::ProgressBar::hidden()
        } else {
            let bar = indicatif::ProgressBar::new_spinner();
            let style = indicatif::ProgressStyle::with_template(
                "{spinner} {msg}  {bytes}  {binary_bytes_per_sec}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.set_message(format!("Fetching 0/{files}"));
            bar.enable_steady_tick(std::time::Duration::from_millis(100));
            *TRANSFER.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar.clone());
            bar
        };
        Transfer {
            bar,
            files,
            done: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// One more file is ready (downloaded, or found in the cache).
    pub fn file_done(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        self.bar
            .set_message(format!("Fetching {done}/{}", self.files));
    }
}

impl Drop for Transfer {
    fn drop(&mut self) {
        if !self.bar.is_hidden() {
            *TRANSFER.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
        self.bar.finish_and_clear();
    }
}

/// `n` more bytes arrived (called by the downloader; a no-op unless a `Transfer` shows).
pub fn transferred(n: u64) {
    if let Some(bar) = TRANSFER.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        bar.inc(n);
    }
}

/// A build in progress on a terminal, showing the backend's latest output line.
pub fn build_spinner(label: &str) -> indicatif::ProgressBar {
    spinner(&format!("Building {label}"))
}

/// `line` cut to fit a progress line, control characters (a hostile build's terminal escapes)
/// shown as `?`.
pub fn clip(line: &str, width: usize) -> String {
    let line: String = line
        .trim()
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    let line = line.as_str();
    if line.chars().count() <= width {
        return line.to_string();
    }
    let cut: String = line.chars().take(width.saturating_sub(1)).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    #[test]
    fn clipped_lines_are_short_and_hold_no_escapes() {
        assert_eq!(super::clip("  building wheel  ", 60), "building wheel");
        assert_eq!(super::clip("abcdef", 4), "abc…");
        assert_eq!(super::clip("\x1b[2Jgone\x07", 60), "?[2Jgone?");
    }
}

//! Ctrl-C and SIGTERM. Outside a critical section the process ends at once (every cache write
//! is atomic, so nothing is half-done); inside one (changing an environment) the signal is
//! recorded and the running operation rolls back at its next check.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static CRITICAL: AtomicUsize = AtomicUsize::new(0);
/// The process group of a running child (a build backend) to end with us; 0 when none.
static CHILD_GROUP: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// The error an operation returns when it stops because of a signal.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

extern "C" fn on_signal(_sig: libc::c_int) {
    let group = CHILD_GROUP.load(Ordering::SeqCst);
    if group > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(-group, libc::SIGKILL) };
    }
    if CRITICAL.load(Ordering::SeqCst) == 0 {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(130) };
    }
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Install the handlers (once, at startup of commands that change things).
pub fn install_handlers() {
    // SAFETY: the handler only touches atomics and calls _exit.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
}

/// Err(Interrupted) once a signal has arrived.
pub fn check() -> Result<(), Interrupted> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        Err(Interrupted)
    } else {
        Ok(())
    }
}

/// While alive, a signal no longer ends the process; it is reported by `check`.
pub struct Critical(());

impl Critical {
    pub fn enter() -> Critical {
        CRITICAL.fetch_add(1, Ordering::SeqCst);
        Critical(())
    }
}

impl Drop for Critical {
    fn drop(&mut self) {
        CRITICAL.fetch_sub(1, Ordering::SeqCst);
    }
}

/// While alive, a signal that ends envtool ends this child's process group too (a build
/// backend and everything it started), and dropping it ends the group.
pub struct ChildGroup(i32);

impl ChildGroup {
    /// `pid` leads its own process group (started with `process_group(0)`).
    pub fn register(pid: u32) -> ChildGroup {
        let pid = pid as i32;
        CHILD_GROUP.store(pid, Ordering::SeqCst);
        ChildGroup(pid)
    }
}

impl Drop for ChildGroup {
    fn drop(&mut self) {
        CHILD_GROUP.store(0, Ordering::SeqCst);
        // SAFETY: signalling a process group we started; an empty group is harmless.
        unsafe { libc::kill(-self.0, libc::SIGKILL) };
    }
}

//! Installing wheels into an environment: plan and apply, RECORD, scripts, link modes.

pub mod entry_points;
pub mod launcher;
pub mod record;

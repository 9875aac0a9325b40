//! Lock files: PEP 751 `pylock.toml` (read and write) and pinned requirements files (write).
//! A lock is a serialized Resolution: reading one yields the same data the resolver produces.

pub mod pylock;
pub mod requirements;

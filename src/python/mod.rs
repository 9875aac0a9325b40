//! Interpreter discovery and cached interpreter facts (version, paths, markers).

pub mod discovery;
pub mod facts;
pub mod pyenv;
pub mod tags;
pub mod target;

pub use discovery::{find, list, Interpreter};

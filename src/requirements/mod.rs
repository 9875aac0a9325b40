//! What the user asked for: requirement strings and requirements files.

pub mod txt;

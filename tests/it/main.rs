//! envtool's integration tests: one binary, a module per area. Every test runs the real
//! `envtool` binary against real interpreters and, where packages are involved, a real
//! package index on 127.0.0.1 serving wheels the tests build (`support`).

mod support;

use support::{common, fixture};

mod build;
mod cache;
mod create;
mod durability;
pub(crate) mod editable_vcs;
mod example_twisted;
mod freeze;
mod fuzz;
mod install;
mod network;
mod pack;
mod pack_example_twisted;
mod pack_nopython;
mod pack_pythons;
mod pack_standalone;
mod progress;
mod python;
mod remembered;
mod resolve;
mod run;
mod security;
mod support_selftest;
mod tool;

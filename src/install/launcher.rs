//! Script launchers and `#!python` shebang rewriting.

//! Package indexes: the Simple API (PEP 503/691), find-links, and the HTTP client with its cache.

pub mod simple;

//! RECORD files (PEP 376/627): reading, writing, hashing.

//! Distribution names (PEP 503 normalization) and file names: wheels (PEP 427) and sdists.

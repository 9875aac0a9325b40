//! requirements.txt as pip reads it.

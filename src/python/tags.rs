//! Compatibility tags (PEP 425/600/656) an interpreter accepts, in preference order.

//! Parsing Simple API project pages: PEP 691 JSON and PEP 503 HTML.

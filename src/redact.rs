//! Credentials never leave envtool in text: URLs are printed with the password masked (as pip
//! does, `user:****@host`) and stored without credentials at all.

use url::Url;

/// `url` as it may be shown: a password (or a lone token user name) masked.
pub fn url(text: &str) -> String {
    match Url::parse(text) {
        Ok(u) => masked(&u).to_string(),
        Err(_) => text_of(text),
    }
}

fn masked(u: &Url) -> Url {
    let mut out = u.clone();
    if u.password().is_some() {
        let _ = out.set_password(Some("****"));
    } else if !u.username().is_empty() {
        // A user name alone is usually a token.
        let _ = out.set_username("****");
    }
    out
}

/// `url` without any credentials, as it may be stored.
pub fn strip(u: &Url) -> Url {
    let mut out = u.clone();
    let _ = out.set_username("");
    let _ = out.set_password(None);
    out
}

/// Any text (an error from a library, say) with the credentials of every URL in it masked.
pub fn text_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let start = rest[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.'))
            .map_or(0, |i| i + 1);
        let end = rest[at..]
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '>' || c == ')')
            .map_or(rest.len(), |i| at + i);
        out.push_str(&rest[..start]);
        let candidate = &rest[start..end];
        match Url::parse(candidate) {
            Ok(u) => out.push_str(masked(&u).as_str()),
            Err(_) => out.push_str(&mask_userinfo(candidate)),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// `scheme://user:pass@host` → `scheme://user:****@host` without parsing the rest.
fn mask_userinfo(text: &str) -> String {
    let Some(at) = text.find("://") else {
        return text.to_string();
    };
    let after = &text[at + 3..];
    let authority_end = after.find('/').unwrap_or(after.len());
    match after[..authority_end].rfind('@') {
        Some(i) => {
            let user = after[..i].split(':').next().unwrap_or("");
            format!("{}{user}:****{}", &text[..at + 3], &after[i..])
        }
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_strips() {
        assert_eq!(
            url("https://alice:s3cret@h.example/simple/"),
            "https://alice:****@h.example/simple/"
        );
        assert_eq!(url("https://tok123@h.example/"), "https://****@h.example/");
        assert_eq!(url("https://h.example/x"), "https://h.example/x");
        let u = Url::parse("https://a:b@h.example/simple/").unwrap();
        assert_eq!(strip(&u).as_str(), "https://h.example/simple/");
        assert_eq!(
            text_of("cannot reach http://bob:pw@127.0.0.1:9/simple/six/: refused"),
            "cannot reach http://bob:****@127.0.0.1:9/simple/six/: refused"
        );
        assert!(!text_of("x https://u:p%40ss@h/ y").contains("p%40ss"));
    }
}

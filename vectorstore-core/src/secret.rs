//! Removing secrets from what is shown: URLs with passwords or keys, and secret-looking options.

/// Query parameters whose values are secrets.
const SECRET_PARAMS: [&str; 7] = ["password", "passwd", "pwd", "api_key", "apikey", "token", "sslpassword"];

/// Option-name fragments that mark a secret value (`API_KEY`, `PASSWORD`, `TOKEN`, `SECRET`).
const SECRET_OPTION_WORDS: [&str; 5] = ["KEY", "PASSWORD", "PASSWD", "TOKEN", "SECRET"];

/// The URL with its password (`user:***@`) and secret query parameters (`password=***`)
/// replaced, safe for logs, errors, Debug and health.
///
/// ```
/// use vectorstore_core::redact_url;
/// assert_eq!(redact_url("postgres://app:hunter2@db:5432/decnet"), "postgres://app:***@db:5432/decnet");
/// assert_eq!(redact_url("http://q:6334?api_key=abc&x=1"), "http://q:6334?api_key=***&x=1");
/// ```
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = String::with_capacity(url.len());
    match base.split_once("://") {
        Some((scheme, rest)) => {
            out.push_str(scheme);
            out.push_str("://");
            // The userinfo ends at the last '@' before the first '/' of the path.
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    match userinfo.split_once(':') {
                        Some((user, _password)) => {
                            out.push_str(user);
                            out.push_str(":***");
                        }
                        None => out.push_str(userinfo),
                    }
                    out.push('@');
                    out.push_str(host);
                }
                None => out.push_str(authority),
            }
            out.push_str(path);
        }
        None => out.push_str(base),
    }
    if let Some(query) = query {
        out.push('?');
        let parts: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if SECRET_PARAMS.contains(&name.to_ascii_lowercase().as_str()) => format!("{name}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push_str(&parts.join("&"));
    }
    out
}

/// True when an option named `name` (`QDRANT_API_KEY`, ...) holds a secret.
pub fn is_secret_option(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_OPTION_WORDS.iter().any(|word| upper.split('_').any(|part| part == *word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_keys_are_hidden() {
        for (url, shown) in [
            ("postgres://u:p@h/db", "postgres://u:***@h/db"),
            (
                "postgres://u:p%40ss@h:1/db?sslmode=require&password=x",
                "postgres://u:***@h:1/db?sslmode=require&password=***",
            ),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("http://127.0.0.1:6334", "http://127.0.0.1:6334"),
            ("postgres://u:p@ss@h/db", "postgres://u:***@h/db"),
            ("not a url", "not a url"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn secret_options_are_recognised() {
        assert!(is_secret_option("QDRANT_API_KEY"));
        assert!(is_secret_option("PGVECTOR_PASSWORD"));
        assert!(!is_secret_option("PGVECTOR_SCHEMA"));
        assert!(!is_secret_option("QDRANT_KEYSPACE"));
    }
}

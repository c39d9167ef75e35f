//! Removing secrets from what is shown: URLs with passwords or keys, and secret-looking options.
//!
//! Redaction works on the structure of what it is given, never on the hope that it is well
//! formed: a location that is not `scheme://…` is not echoed past its scheme at all, and in a
//! URL everything from the first `:` of the userinfo to its last `@` is hidden, wherever a raw
//! `/`, `?` or `#` inside the password would make a URL parser see the host. A userinfo
//! without `:` is hidden whole: it may be a token (`https://TOKEN@host`), or the rest of a
//! password when a scheme-less `user:pw@host` has a password starting with `//`.

/// Query parameters whose values are secrets.
const SECRET_PARAMS: [&str; 7] = ["password", "passwd", "pwd", "api_key", "apikey", "token", "sslpassword"];

/// Option-name fragments that mark a secret value (`API_KEY`, `PASSWORD`, `TOKEN`, `SECRET`).
const SECRET_OPTION_WORDS: [&str; 5] = ["KEY", "PASSWORD", "PASSWD", "TOKEN", "SECRET"];

/// What stands in for a location that is not a URL (a libpq keyword string, `user:pw@host`
/// without a scheme, a typo): nothing of it is shown, since nothing says where a secret sits.
pub const UNSHOWN_LOCATION: &str = "<not shown: not a scheme://… URL>";

/// The URL with its password (`user:***@`), a userinfo without password (`***@`), secret
/// query parameters (`password=***`) and fragment replaced, safe for logs, errors, Debug and
/// health. A string that is not `scheme://…` is replaced whole by [`UNSHOWN_LOCATION`].
///
/// ```
/// use vectorstore_core::redact_url;
/// assert_eq!(redact_url("postgres://app:hunter2@db:5432/decnet"), "postgres://app:***@db:5432/decnet");
/// assert_eq!(redact_url("postgres://app:ab/cd@db/x"), "postgres://app:***@db/x");
/// assert_eq!(redact_url("http://q:6334?api_key=abc&x=1"), "http://q:6334?api_key=***&x=1");
/// assert_eq!(redact_url("https://ghp_token@q:6334"), "https://***@q:6334");
/// assert!(!redact_url("host=db password=hunter2").contains("hunter2"));
/// ```
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://").filter(|(scheme, _)| is_scheme(scheme)) else {
        return UNSHOWN_LOCATION.to_owned();
    };
    let mut out = String::with_capacity(url.len());
    out.push_str(scheme);
    out.push_str("://");
    // The userinfo runs to the LAST '@' anywhere: a password may hold raw '/', '?', '#' or
    // '@', which a parser would take for the end of the authority. Hiding too much (an '@' in
    // a query) is the safe error.
    let rest = match rest.rsplit_once('@') {
        // An '@' inside a secret query value (`?api_key=a@b`): which side is the secret cannot
        // be told, so neither is shown.
        Some((userinfo, _)) if holds_secret_param(userinfo) => {
            out.push_str("***");
            return out;
        }
        Some((userinfo, host_and_more)) => {
            match userinfo.split_once(':') {
                Some((user, _password)) => {
                    out.push_str(user);
                    out.push_str(":***");
                }
                // `user://x@host` from a scheme-less `user:` + `//x@host`, or a bearer token:
                // what looks like a user name may be a secret.
                None => out.push_str("***"),
            }
            out.push('@');
            host_and_more
        }
        None => rest,
    };
    // A fragment is never part of a server URL; it can only be a stray part of a secret.
    let (rest, fragment) = match rest.split_once('#') {
        Some((before, _)) => (before, true),
        None => (rest, false),
    };
    match rest.split_once('?') {
        Some((base, query)) => {
            out.push_str(base);
            out.push('?');
            // A raw '&' inside a secret value splits it: pieces after a secret that are not
            // `name=value` belong to it and stay hidden.
            let mut parts: Vec<String> = Vec::new();
            let mut in_secret = false;
            for pair in query.split('&') {
                match pair.split_once('=') {
                    Some((name, _)) if is_secret_param(name) => {
                        parts.push(format!("{name}=***"));
                        in_secret = true;
                    }
                    Some((name, _)) if is_param_name(name) => {
                        parts.push(pair.to_owned());
                        in_secret = false;
                    }
                    _ if in_secret => {}
                    _ => parts.push(pair.to_owned()),
                }
            }
            out.push_str(&parts.join("&"));
        }
        None => out.push_str(rest),
    }
    if fragment {
        out.push_str("#***");
    }
    out
}

/// The secrets a URL carries, as written and percent-decoded: the password of its userinfo
/// (read the way [`redact_url`] reads it) and the values of secret query parameters. For
/// scrubbing driver messages that may quote them in another form than the URL itself.
///
/// ```
/// use vectorstore_core::url_secrets;
/// assert_eq!(url_secrets("https://u:a/b%21@q:6334?api_key=k1"), ["a/b%21", "a/b!", "k1"]);
/// ```
pub fn url_secrets(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Some((_, rest)) = url.split_once("://") else { return found };
    let mut add = |secret: &str| {
        for form in [secret.to_owned(), percent_decoded(secret)] {
            if !form.is_empty() && !found.contains(&form) {
                found.push(form);
            }
        }
    };
    if let Some((userinfo, _)) = rest.rsplit_once('@')
        && let Some((_, password)) = userinfo.split_once(':')
    {
        add(password);
    }
    for pair in rest.split(['?', '&', '#']).skip(1) {
        if let Some((name, value)) = pair.split_once('=')
            && is_secret_param(name)
        {
            add(value);
        }
    }
    found
}

/// The host a `scheme://` URL names (without port or brackets), read the way [`redact_url`]
/// reads the userinfo; `None` when the string is not such a URL or names no host.
///
/// ```
/// use vectorstore_core::url_host;
/// assert_eq!(url_host("postgres://u:a/b@db.example:5432/x").as_deref(), Some("db.example"));
/// assert_eq!(url_host("http://[::1]:6334").as_deref(), Some("::1"));
/// ```
pub fn url_host(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !is_scheme(scheme) {
        return None;
    }
    let after_userinfo = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let authority = after_userinfo.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(host, _port)| host),
    };
    let host = percent_decoded(host).to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

/// True when `host` is this machine as seen over the network stack (`localhost`, 127.0.0.0/8,
/// `::1`) or a Unix socket directory (a path): traffic that never leaves the machine, where a
/// credential may travel without TLS.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_matches(['[', ']']);
    host.eq_ignore_ascii_case("localhost")
        || host.starts_with('/')
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A URL scheme as RFC 3986 spells it: a letter, then letters, digits, `+`, `-`, `.`.
fn is_scheme(scheme: &str) -> bool {
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// True when `text` holds a query part naming a secret parameter (`?api_key=`, `&password=`).
fn holds_secret_param(text: &str) -> bool {
    text.split(['?', '&', '#']).skip(1).any(|pair| pair.split_once('=').is_some_and(|(name, _)| is_secret_param(name)))
}

/// A plausible query parameter name: letters, digits, `_`, `-`, `.` and `%` escapes.
fn is_param_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'%'))
}

/// A query parameter whose value is a secret, also when percent-escaped (`pass%77ord`).
fn is_secret_param(name: &str) -> bool {
    let decoded = percent_decoded(name).to_ascii_lowercase();
    SECRET_PARAMS.contains(&decoded.as_str()) || is_secret_option(&decoded)
}

/// `%XX` escapes decoded (bytes that are not UTF-8 are replaced); other bytes kept.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) =
                (bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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
            ("postgres://u@h/db", "postgres://***@h/db"),
            ("https://ghp_0123abc@q:6334", "https://***@q:6334"),
            // A scheme-less `decnet:` + `//##aAaA@…`: the "user name" is the password's tail.
            ("decnet://##aAaA@127.0.0.1:1/decnet", "decnet://***@127.0.0.1:1/decnet"),
            ("http://127.0.0.1:6334", "http://127.0.0.1:6334"),
            ("postgres://u:p@ss@h/db", "postgres://u:***@h/db"),
            // Raw '/', '?', '#' and '@' inside the password: the userinfo still ends at the last '@'.
            ("postgres://app:ab/cd@db/x", "postgres://app:***@db/x"),
            ("postgres://app:a?b=c@db/x", "postgres://app:***@db/x"),
            ("postgres://app:a#b@db/x", "postgres://app:***@db/x"),
            ("postgres://app:a/b?c#d@e@db:5/x?sslmode=require", "postgres://app:***@db:5/x?sslmode=require"),
            ("http://q:6334/?x=1#secret", "http://q:6334/?x=1#***"),
            ("http://q:6334?Pass%77ord=s3&API_KEY=k&apikey=k", "http://q:6334?Pass%77ord=***&API_KEY=***&apikey=***"),
            // Not a URL: nothing past the (absent) scheme is shown.
            ("not a url", UNSHOWN_LOCATION),
            ("host=db user=app password=hunter2", UNSHOWN_LOCATION),
            ("app:hunter2@db:5432/x", UNSHOWN_LOCATION),
            ("://app:hunter2@db", UNSHOWN_LOCATION),
            ("1http://app:hunter2@db", UNSHOWN_LOCATION),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn hosts_are_read_past_any_password_and_loopback_is_recognised() {
        for (url, host) in [
            ("postgres://app:ab/cd@db.example:5432/x", Some("db.example")),
            ("postgres://app:a@b@127.0.0.1/x", Some("127.0.0.1")),
            ("http://[::1]:6334", Some("::1")),
            ("http://Q.Example", Some("q.example")),
            ("postgres://%2Fvar%2Frun%2Fpostgresql/x", Some("/var/run/postgresql")),
            ("http://:6334", None),
            ("db.example:5432", None),
        ] {
            assert_eq!(url_host(url).as_deref(), host, "{url}");
        }
        for host in ["localhost", "LOCALHOST", "127.0.0.1", "127.3.2.1", "::1", "[::1]", "/tmp/pg"] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in ["db.example", "10.0.0.1", "0.0.0.0", "localhost.example", "128.0.0.1", "::2"] {
            assert!(!is_loopback_host(host), "{host}");
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

/// Property tests shared with the backends' open paths: generated passwords of any bytes.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Every way a password reaches a location string: in a URL (raw or percent-escaped), as a
    /// query parameter, in a libpq keyword string, in a URL without a scheme.
    fn locations(password: &str) -> Vec<String> {
        let escaped: String = password.bytes().map(|b| format!("%{b:02X}")).collect();
        vec![
            format!("postgres://app:{password}@db.example:5432/decnet"),
            format!("postgresql://app:{password}@db.example/decnet?sslmode=require"),
            format!("postgres://app:{escaped}@db.example/decnet"),
            // A raw '&' ends a query value: the server itself would read the rest as another parameter.
            format!("http://q.example:6334?api_key={}", password.replace('&', "%26")),
            format!("http://q.example:6334/?x=1&password={escaped}"),
            format!("host=db.example user=app password={password} dbname=decnet"),
            format!("app:{password}@db.example:5432/decnet"),
            format!("postgres//app:{password}@db.example/decnet"),
        ]
    }

    proptest! {
        #[test]
        fn no_password_survives_redaction(password in "[ -~]{6,24}|\\PC{6,12}") {
            let escaped: String = password.bytes().map(|b| format!("%{b:02X}")).collect();
            for location in locations(&password) {
                let shown = redact_url(&location);
                // A password that is a piece of the rest of the string (`db.exa`) cannot be told
                // apart from it; such draws say nothing.
                let rest = location.replace(&password, "").replace(&escaped, "");
                prop_assume!(!rest.contains(&password) && !format!("{rest}{UNSHOWN_LOCATION}***").contains(&password));
                prop_assert!(!shown.contains(&password), "{location:?} shown as {shown:?}");
                prop_assert!(!shown.contains(&escaped), "{location:?} shown as {shown:?}");
            }
        }
    }
}

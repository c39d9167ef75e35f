//! How a server is found (the route variable, container images) and configured for a test,
//! shared by the PostgreSQL and Qdrant servers.

use vectorstore_conformance::Unavailable;
use vectorstore_core::Config;

use super::process;

/// Variable choosing how servers are found: unset, empty or `auto` for the order of [`super`],
/// `containers` for testcontainers only.
pub const ROUTE_VAR: &str = "DECNET_TEST_SERVERS";

/// True when [`ROUTE_VAR`] forces the testcontainers route; an unknown value is an error.
pub fn containers_only() -> Result<bool, Unavailable> {
    let value = std::env::var(ROUTE_VAR).unwrap_or_default();
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "auto" => Ok(false),
        "containers" => Ok(true),
        other => Err(Unavailable(format!("{ROUTE_VAR}={other} is not a route: use auto or containers"))),
    }
}

/// The image (`name`, `tag`) named by the variable `var` (`name:tag`; no tag means `latest`),
/// else `default`.
pub(crate) fn image_from_env(var: &str, default: (&str, &str)) -> (String, String) {
    parse_image(&std::env::var(var).unwrap_or_default(), default)
}

fn parse_image(value: &str, default: (&str, &str)) -> (String, String) {
    let value = value.trim();
    if value.is_empty() {
        return (default.0.to_owned(), default.1.to_owned());
    }
    // A colon after the last slash starts the tag; one before it belongs to a registry's port.
    let name_start = value.rfind('/').map_or(0, |slash| slash + 1);
    match value[name_start..].rfind(':') {
        Some(colon) => {
            let (name, tag) = value.split_at(name_start + colon);
            (name.to_owned(), tag[1..].to_owned())
        }
        None => (value.to_owned(), "latest".to_owned()),
    }
}

/// Removes the container `id` once this process has exited: testcontainers removes a
/// container when its handle is dropped, which a handle kept in a static never is, and a test
/// process may be killed.
pub(crate) fn remove_container_after_exit(id: &str) {
    process::after_exit(&format!("docker rm -f -v '{id}' >/dev/null 2>&1"));
}

/// A configuration of `backend` at `url`, with the `DECNET_VECTORSTORE_<BACKEND>_*` options of
/// the environment (and nothing else from it), so that a test run can be pointed at a
/// server's settings (shards, index, API key, ...) the way a deployment is.
pub fn config_for(backend: &str, url: &str) -> Config {
    let prefix = env_prefix(backend);
    std::env::vars().fold(Config::new(backend).with_url(url), |config, (name, value)| {
        match name.strip_prefix(&prefix) {
            Some(key) => config.with_option(backend, key, value),
            None => config,
        }
    })
}

/// `config` with the backend's `option` (one of its `ALLOW_PLAINTEXT_*` settings) set to `true`,
/// unless the environment sets it (`DECNET_VECTORSTORE_<BACKEND>_<OPTION>`), which then wins.
///
/// A test server is one the test kit started (a local process, or a throw-away container that
/// testcontainers may reach at the Docker bridge's address rather than at loopback) or one
/// whoever runs the tests named for them (`DECNET_TEST_*_URL`, often a CI service container
/// reached by name). Neither speaks TLS, and refusing to send it a credential in the clear would
/// only stop every test. The refusal itself is tested in the backends with explicit URLs.
pub(crate) fn trusting_plaintext(config: Config, backend: &str, option: &str) -> Config {
    if std::env::var_os(format!("{}{option}", env_prefix(backend))).is_some() {
        config
    } else {
        config.with_option(backend, option, "true")
    }
}

fn env_prefix(backend: &str) -> String {
    format!("DECNET_VECTORSTORE_{}_", backend.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::parse_image;

    #[test]
    fn images_are_name_colon_tag_or_the_default() {
        let default = ("pgvector/pgvector", "pg18");
        let cases = [
            ("", ("pgvector/pgvector", "pg18")),
            (" decnet-test/pgvector:pg18-local ", ("decnet-test/pgvector", "pg18-local")),
            ("registry.local:5000/qdrant", ("registry.local:5000/qdrant", "latest")),
            ("registry.local:5000/qdrant:v1", ("registry.local:5000/qdrant", "v1")),
            ("qdrant", ("qdrant", "latest")),
        ];
        for (value, (name, tag)) in cases {
            assert_eq!(parse_image(value, default), (name.to_owned(), tag.to_owned()), "{value}");
        }
    }
}

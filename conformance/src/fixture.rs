//! How the suite gets stores: a [`StoreFactory`] hands each case a [`Fixture`], a fresh,
//! isolated location that can be opened several times (to test persistence) and is cleaned up
//! afterwards.

use std::sync::Arc;

use async_trait::async_trait;
use vectorstore_core::{BackendRegistration, Config, Result, VectorStore, require_backend};
use vectorstore_testkit::{Unavailable, unique_tag};

/// A fresh, isolated location of one store for one case.
#[async_trait]
pub trait Fixture: Send + Sync {
    /// Opens a new, uninitialised handle on this fixture's location. Handles opened one after
    /// another see the same data when the store is persistent.
    async fn open(&self) -> Result<Arc<dyn VectorStore>>;

    /// Removes everything stored at this location. Called once, after the case.
    async fn cleanup(&self) -> Result<()>;
}

/// Makes fixtures for one store.
#[async_trait]
pub trait StoreFactory: Send + Sync {
    /// The backend name, as `DECNET_TEST_REQUIRE` lists it.
    fn backend(&self) -> String;

    /// A fixture on a fresh location for `case`, or why none can be had here.
    async fn fixture(&self, case: &str) -> Result<Box<dyn Fixture>, Unavailable>;
}

/// Fixtures from a [`Config`] and the registry: each fixture uses the backend's
/// [`isolate`](BackendRegistration::isolate) to get a fresh namespace on the configured engine
/// and its [`purge`](BackendRegistration::purge) to remove it. This is how the suite runs
/// against any deployment the `DECNET_VECTORSTORE_*` variables describe without touching its data.
#[derive(Debug, Clone)]
pub struct ConfigFactory {
    config: Config,
}

impl ConfigFactory {
    /// Fixtures isolated from `config`.
    pub fn new(config: Config) -> Self {
        ConfigFactory { config }
    }

    /// Fixtures isolated from the store `DECNET_VECTORSTORE_*` selects.
    pub fn from_env() -> Result<Self> {
        Ok(ConfigFactory::new(Config::from_env()?))
    }

    /// The base configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn registration(&self) -> Result<&'static BackendRegistration> {
        if !self.config.enabled {
            return require_backend(vectorstore_core::NULL);
        }
        require_backend(&self.config.backend)
    }
}

#[async_trait]
impl StoreFactory for ConfigFactory {
    fn backend(&self) -> String {
        self.registration().map(|r| r.name.to_owned()).unwrap_or_else(|_| self.config.backend.clone())
    }

    async fn fixture(&self, case: &str) -> Result<Box<dyn Fixture>, Unavailable> {
        let registration = self.registration().map_err(|err| Unavailable(err.to_string()))?;
        let tag = format!("{}_{}", unique_tag(), case.chars().take(12).collect::<String>());
        let config = (registration.isolate)(&self.config, &tag).map_err(|err| Unavailable(err.to_string()))?;
        Ok(Box::new(ConfigFixture { registration, config }))
    }
}

struct ConfigFixture {
    registration: &'static BackendRegistration,
    config: Config,
}

#[async_trait]
impl Fixture for ConfigFixture {
    /// The store as applications get it from `open`: wrapped in spans and metrics, so the
    /// suite also proves the wrapper changes nothing.
    async fn open(&self) -> Result<Arc<dyn VectorStore>> {
        (self.registration.open)(&self.config).map(vectorstore_core::Instrumented::wrap)
    }

    async fn cleanup(&self) -> Result<()> {
        (self.registration.purge)(self.config.clone()).await
    }
}

/// Fixtures for the store the `DECNET_VECTORSTORE_*` variables select, isolated as
/// [`ConfigFactory`] does; unavailable (so the tests skip) when `DECNET_VECTORSTORE_TYPE` is
/// not set, so that a plain test run never touches a deployment by accident.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnvFactory;

impl EnvFactory {
    fn selected() -> Option<String> {
        std::env::var("DECNET_VECTORSTORE_TYPE").ok().filter(|t| !t.trim().is_empty())
    }
}

#[async_trait]
impl StoreFactory for EnvFactory {
    fn backend(&self) -> String {
        EnvFactory::selected().map_or_else(|| "env".to_owned(), |t| t.trim().to_ascii_lowercase())
    }

    async fn fixture(&self, case: &str) -> Result<Box<dyn Fixture>, Unavailable> {
        if EnvFactory::selected().is_none() {
            return Err(Unavailable(
                "DECNET_VECTORSTORE_TYPE is not set; set DECNET_VECTORSTORE_* to run the suite against a deployment"
                    .into(),
            ));
        }
        let factory = ConfigFactory::from_env().map_err(|err| Unavailable(err.to_string()))?;
        factory.fixture(case).await
    }
}

/// Fixtures on a real test server of the test kit (`vectorstore_testkit::servers`), found at
/// the first case and shared by all: each case gets its own namespace on it (a schema, a
/// collection prefix) through the backend's `isolate`, removed by its `purge` afterwards. The
/// `DECNET_VECTORSTORE_<BACKEND>_*` options of the environment apply, then the ones added here.
#[cfg(feature = "servers")]
#[derive(Debug, Clone)]
pub struct ServerFactory {
    server: TestServer,
    options: Vec<(String, String)>,
}

#[cfg(feature = "servers")]
#[derive(Debug, Clone, Copy)]
enum TestServer {
    Postgres,
    Qdrant,
    QdrantCluster,
}

#[cfg(feature = "servers")]
impl ServerFactory {
    /// The `pgvector` backend on the shared PostgreSQL + pgvector test server.
    pub fn pgvector() -> Self {
        ServerFactory { server: TestServer::Postgres, options: Vec::new() }
    }

    /// The `qdrant` backend on the shared Qdrant test server.
    pub fn qdrant() -> Self {
        ServerFactory { server: TestServer::Qdrant, options: Vec::new() }
    }

    /// The `qdrant` backend on the shared local Qdrant cluster of the test kit (the client
    /// talks to its first peer; see `vectorstore_testkit::servers::qdrant::shared_cluster`).
    pub fn qdrant_cluster() -> Self {
        ServerFactory { server: TestServer::QdrantCluster, options: Vec::new() }
    }

    /// Also sets the backend option `KEY` (as `DECNET_VECTORSTORE_<BACKEND>_<KEY>` would).
    pub fn with_option(mut self, key: &str, value: &str) -> Self {
        self.options.push((key.to_owned(), value.to_owned()));
        self
    }

    fn name(&self) -> &'static str {
        match self.server {
            TestServer::Postgres => "pgvector",
            TestServer::Qdrant | TestServer::QdrantCluster => "qdrant",
        }
    }
}

#[cfg(feature = "servers")]
#[async_trait]
impl StoreFactory for ServerFactory {
    fn backend(&self) -> String {
        self.name().to_owned()
    }

    async fn fixture(&self, case: &str) -> Result<Box<dyn Fixture>, Unavailable> {
        use vectorstore_testkit::servers::{postgres, qdrant};
        let (config, server): (Config, Box<dyn std::any::Any + Send + Sync>) = match self.server {
            TestServer::Postgres => {
                let server = postgres::shared().await?;
                (server.config(), Box::new(server))
            }
            TestServer::Qdrant => {
                let server = qdrant::shared().await?;
                (server.config(), Box::new(server))
            }
            TestServer::QdrantCluster => {
                let server = qdrant::shared_cluster().await?;
                (server.config(), Box::new(server))
            }
        };
        let name = self.name();
        let config =
            self.options.iter().fold(config, |config, (key, value)| config.with_option(name, key, value.clone()));
        let inner = ConfigFactory::new(config).fixture(case).await?;
        Ok(Box::new(ServerFixture { inner, _server: server }))
    }
}

/// A fixture that keeps its server alive while the case runs.
#[cfg(feature = "servers")]
struct ServerFixture {
    inner: Box<dyn Fixture>,
    _server: Box<dyn std::any::Any + Send + Sync>,
}

#[cfg(feature = "servers")]
#[async_trait]
impl Fixture for ServerFixture {
    async fn open(&self) -> Result<Arc<dyn VectorStore>> {
        self.inner.open().await
    }

    async fn cleanup(&self) -> Result<()> {
        self.inner.cleanup().await
    }
}

//! How the suite gets stores: a [`StoreFactory`] hands each case a [`Fixture`], a fresh,
//! isolated location that can be opened several times (to test persistence) and is cleaned up
//! afterwards.

use std::sync::Arc;

use crate::{Unavailable, unique_tag};
use async_trait::async_trait;
use vectorstore_core::{BackendRegistration, Config, Result, VectorStore, require_backend};

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

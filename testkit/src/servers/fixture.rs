//! The conformance suite on the real test servers: a [`StoreFactory`] whose fixtures live on
//! the shared PostgreSQL + pgvector and Qdrant servers of this module.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use vectorstore_conformance::{ConfigFactory, Fixture, StoreFactory, Unavailable};
use vectorstore_core::{Config, Result, VectorStore};

use super::{postgres, qdrant};

/// What finding or starting a test server gives: the configuration that reaches it, and a
/// handle that keeps it alive while a case runs (dropping it may stop the server).
pub type ServerStart = Pin<Box<dyn Future<Output = Result<(Config, ServerHandle), Unavailable>> + Send>>;

/// Keeps a test server alive while it is held.
pub type ServerHandle = Box<dyn Any + Send + Sync>;

/// Fixtures on a real test server, found at the first case and shared by all: each case gets
/// its own namespace on it (a schema, a collection prefix) through the backend's `isolate`,
/// removed by its `purge` afterwards. The `DECNET_VECTORSTORE_<BACKEND>_*` options of the
/// environment apply, then the ones added here.
///
/// The kit's servers have their constructors ([`pgvector`](Self::pgvector), ...); a backend
/// whose server the kit does not know runs the suite on its own with [`new`](Self::new).
#[derive(Debug, Clone)]
pub struct ServerFactory {
    backend: &'static str,
    start: fn() -> ServerStart,
    options: Vec<(String, String)>,
}

impl ServerFactory {
    /// The backend registered as `backend` on the server `start` finds or starts. `start` is
    /// called for every case: a server meant to be shared keeps itself (as the kit's `shared`
    /// functions do, in a static) and hands out handles.
    pub fn new(backend: &'static str, start: fn() -> ServerStart) -> Self {
        ServerFactory { backend, start, options: Vec::new() }
    }

    /// The `pgvector` backend on the shared PostgreSQL + pgvector test server.
    pub fn pgvector() -> Self {
        ServerFactory::new("pgvector", || {
            Box::pin(async {
                let server = postgres::shared().await?;
                Ok((server.config(), Box::new(server) as ServerHandle))
            })
        })
    }

    /// The `qdrant` backend on the shared Qdrant test server.
    pub fn qdrant() -> Self {
        ServerFactory::new("qdrant", || {
            Box::pin(async {
                let server = qdrant::shared().await?;
                Ok((server.config(), Box::new(server) as ServerHandle))
            })
        })
    }

    /// The `qdrant` backend on the shared local Qdrant cluster of the test kit (the client
    /// talks to its first peer; see [`qdrant::shared_cluster`]).
    pub fn qdrant_cluster() -> Self {
        ServerFactory::new("qdrant", || {
            Box::pin(async {
                let server = qdrant::shared_cluster().await?;
                Ok((server.config(), Box::new(server) as ServerHandle))
            })
        })
    }

    /// Also sets the backend option `KEY` (as `DECNET_VECTORSTORE_<BACKEND>_<KEY>` would).
    pub fn with_option(mut self, key: &str, value: &str) -> Self {
        self.options.push((key.to_owned(), value.to_owned()));
        self
    }
}

#[async_trait]
impl StoreFactory for ServerFactory {
    fn backend(&self) -> String {
        self.backend.to_owned()
    }

    async fn fixture(&self, case: &str) -> Result<Box<dyn Fixture>, Unavailable> {
        let (config, server) = (self.start)().await?;
        let config = self
            .options
            .iter()
            .fold(config, |config, (key, value)| config.with_option(self.backend, key, value.clone()));
        let inner = ConfigFactory::new(config).fixture(case).await?;
        Ok(Box::new(ServerFixture { inner, _server: server }))
    }
}

/// A fixture that keeps its server alive while the case runs.
struct ServerFixture {
    inner: Box<dyn Fixture>,
    _server: ServerHandle,
}

#[async_trait]
impl Fixture for ServerFixture {
    async fn open(&self) -> Result<Arc<dyn VectorStore>> {
        self.inner.open().await
    }

    async fn cleanup(&self) -> Result<()> {
        self.inner.cleanup().await
    }
}

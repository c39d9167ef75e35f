//! The conformance suite on the real test servers: a [`StoreFactory`] whose fixtures live on
//! the shared PostgreSQL + pgvector and Qdrant servers of this module.

use std::sync::Arc;

use async_trait::async_trait;
use vectorstore_conformance::{ConfigFactory, Fixture, StoreFactory, Unavailable};
use vectorstore_core::{Config, Result, VectorStore};

use super::{postgres, qdrant};

/// Fixtures on a real test server of this module, found at
/// the first case and shared by all: each case gets its own namespace on it (a schema, a
/// collection prefix) through the backend's `isolate`, removed by its `purge` afterwards. The
/// `DECNET_VECTORSTORE_<BACKEND>_*` options of the environment apply, then the ones added here.
#[derive(Debug, Clone)]
pub struct ServerFactory {
    server: TestServer,
    options: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy)]
enum TestServer {
    Postgres,
    Qdrant,
    QdrantCluster,
}

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
    /// talks to its first peer; see [`qdrant::shared_cluster`]).
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

#[async_trait]
impl StoreFactory for ServerFactory {
    fn backend(&self) -> String {
        self.name().to_owned()
    }

    async fn fixture(&self, case: &str) -> Result<Box<dyn Fixture>, Unavailable> {
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
struct ServerFixture {
    inner: Box<dyn Fixture>,
    _server: Box<dyn std::any::Any + Send + Sync>,
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

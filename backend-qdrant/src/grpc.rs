//! [`Client`]: the gRPC calls the store makes, over channels this crate builds itself.
//!
//! qdrant-client's own `Qdrant` trusts only the system's root certificates for `https://`
//! URLs; a server whose certificate is signed by a private CA (`CA_CERT`) needs a channel with
//! that CA, so the store drives qdrant-client's generated gRPC clients over its own channels.
//! Everything else follows `Qdrant`: the same request types (its builders convert into them),
//! the same errors (`QdrantError`), a small round-robin pool of channels connected on first
//! use, and one retry on a fresh channel when a call fails because the connection broke.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use qdrant_client::QdrantError;
use qdrant_client::qdrant::collections_client::CollectionsClient;
use qdrant_client::qdrant::points_client::PointsClient;
use qdrant_client::qdrant::qdrant_client::QdrantClient;
use qdrant_client::qdrant::{
    CollectionClusterInfoRequest, CollectionClusterInfoResponse, CollectionOperationResponse, CountPoints,
    CountResponse, CreateCollection, CreateFieldIndexCollection, DeleteCollection, DeletePoints, FacetCounts,
    FacetResponse, GetCollectionInfoRequest, GetCollectionInfoResponse, GetPoints, GetResponse, HealthCheckReply,
    HealthCheckRequest, ListCollectionsRequest, ListCollectionsResponse, PointsOperationResponse, QueryBatchPoints,
    QueryBatchResponse, QueryPoints, QueryResponse, ScrollPoints, ScrollResponse, SetPayloadPoints, UpdateBatchPoints,
    UpdateBatchResponse, UpdateCollection, UpsertPoints,
};
use std::sync::RwLock;
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Uri};
use tonic::{Code, Request, Status};

/// Channels kept open to the server (as qdrant-client's default pool).
const POOL_SIZE: usize = 3;

/// How to reach the server.
pub(crate) struct ClientOptions {
    /// `http://…` or `https://…`.
    pub url: String,
    /// Sent as the `api-key` header.
    pub api_key: Option<String>,
    /// PEM of the CA that signed the server's certificate; the system roots when `None`.
    pub ca_pem: Option<Vec<u8>>,
    /// Timeout of each request.
    pub timeout: Duration,
    /// Timeout of connecting, TLS handshake included.
    pub connect_timeout: Duration,
}

/// A Qdrant gRPC client; clones share the channels.
#[derive(Clone)]
pub(crate) struct Client {
    pool: Arc<Pool>,
    api_key: Option<MetadataValue<tonic::metadata::Ascii>>,
}

struct Pool {
    endpoint: Endpoint,
    uri: String,
    /// Host and port of a plain `http://` URL, probed for TLS when a connection breaks.
    plain: Option<(String, u16)>,
    connect_timeout: Duration,
    channels: RwLock<Vec<Option<Channel>>>,
    next: AtomicUsize,
}

type Intercepted = InterceptedService<Channel, ApiKey>;

/// Adds the `api-key` header to every request.
#[derive(Clone)]
pub(crate) struct ApiKey(Option<MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for ApiKey {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(key) = &self.0 {
            request.metadata_mut().insert("api-key", key.clone());
        }
        Ok(request)
    }
}

/// Why a client could not be set up; never quotes the API key or the CA file's content.
#[derive(Debug)]
pub(crate) enum SetupError {
    /// The URL is not a valid URI.
    Url(String),
    /// The API key cannot be sent as a header (not visible ASCII).
    ApiKey,
    /// The TLS settings were refused.
    Tls(String),
}

impl Client {
    /// A client for `options.url`. Does no I/O: channels connect on first use.
    pub(crate) fn new(options: ClientOptions) -> Result<Client, SetupError> {
        let uri: Uri = options
            .url
            .parse()
            .map_err(|err: tonic::codegen::http::uri::InvalidUri| SetupError::Url(err.to_string()))?;
        let plain = uri.host().map(|host| (host.trim_matches(['[', ']']).to_owned(), uri.port_u16().unwrap_or(80)));
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") | None => false,
            Some(other) => return Err(SetupError::Url(format!("unsupported scheme {other}"))),
        };
        let api_key = match &options.api_key {
            Some(key) => Some(MetadataValue::try_from(key.as_str()).map_err(|_| SetupError::ApiKey)?),
            None => None,
        };
        let mut endpoint = Channel::builder(uri)
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .user_agent(concat!("decnet-vectorstore/", env!("CARGO_PKG_VERSION")))
            .map_err(|err| SetupError::Url(err.to_string()))?;
        if tls {
            let config = match &options.ca_pem {
                Some(pem) => ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)),
                None => ClientTlsConfig::new().with_native_roots(),
            };
            // A peer that never completes the handshake must not hold a call forever.
            endpoint = endpoint
                .tls_config(config.timeout(options.connect_timeout))
                .map_err(|err| SetupError::Tls(format!("{err:?}")))?;
        }
        let pool = Pool {
            endpoint,
            uri: options.url,
            plain: if tls { None } else { plain },
            connect_timeout: options.connect_timeout,
            channels: RwLock::new(vec![None; POOL_SIZE]),
            next: AtomicUsize::new(0),
        };
        Ok(Client { pool: Arc::new(pool), api_key })
    }

    /// Runs `call` on a pooled channel; when it fails because the connection broke, once more
    /// on a fresh channel (as qdrant-client does). A plain `http://` URL whose server turns out
    /// to speak TLS is reported as such.
    async fn with_channel<T, F, Fut>(&self, call: F) -> Result<T, QdrantError>
    where
        F: Fn(Intercepted) -> Fut,
        Fut: std::future::Future<Output = Result<T, Status>>,
    {
        match self.call_with_retry(call).await {
            Ok(reply) => Ok(reply),
            Err(status) if broken(&status) && self.pool.speaks_tls().await => Err(Status::unavailable(format!(
                "the server answered with TLS (use an https:// URL for it): {}",
                status.message()
            ))
            .into()),
            Err(status) => Err(status.into()),
        }
    }

    async fn call_with_retry<T, F, Fut>(&self, call: F) -> Result<T, Status>
    where
        F: Fn(Intercepted) -> Fut,
        Fut: std::future::Future<Output = Result<T, Status>>,
    {
        let index = self.pool.next.fetch_add(1, Ordering::Relaxed) % POOL_SIZE;
        let existing = self.pool.channels.read().unwrap_or_else(|p| p.into_inner())[index].clone();
        let channel = match existing {
            Some(channel) => channel,
            None => self.pool.connect(index).await?,
        };
        match call(self.intercepted(channel)).await {
            Err(status) if broken(&status) => {
                let channel = self.pool.connect(index).await?;
                call(self.intercepted(channel)).await
            }
            done => done,
        }
    }

    fn intercepted(&self, channel: Channel) -> Intercepted {
        InterceptedService::new(channel, ApiKey(self.api_key.clone()))
    }

    /// The server's version and commit.
    pub(crate) async fn health_check(&self) -> Result<HealthCheckReply, QdrantError> {
        self.with_channel(|channel| async move {
            Ok(QdrantClient::new(channel).health_check(HealthCheckRequest {}).await?.into_inner())
        })
        .await
    }

    /// Every collection.
    pub(crate) async fn list_collections(&self) -> Result<ListCollectionsResponse, QdrantError> {
        self.with_channel(|channel| async move {
            Ok(CollectionsClient::new(channel).list(ListCollectionsRequest {}).await?.into_inner())
        })
        .await
    }

    /// A collection's description.
    pub(crate) async fn collection_info(
        &self,
        request: impl Into<GetCollectionInfoRequest>,
    ) -> Result<GetCollectionInfoResponse, QdrantError> {
        let request = &request.into();
        self.with_channel(|channel| async move {
            Ok(CollectionsClient::new(channel).get(request.clone()).await?.into_inner())
        })
        .await
    }

    /// Where a collection's shards and replicas are, as the peer asked sees it.
    pub(crate) async fn collection_cluster_info(
        &self,
        name: &str,
    ) -> Result<CollectionClusterInfoResponse, QdrantError> {
        let request = &CollectionClusterInfoRequest { collection_name: name.to_owned() };
        self.with_channel(|channel| async move {
            Ok(CollectionsClient::new(channel).collection_cluster_info(request.clone()).await?.into_inner())
        })
        .await
    }

    /// Creates a collection.
    pub(crate) async fn create_collection(
        &self,
        request: impl Into<CreateCollection>,
    ) -> Result<CollectionOperationResponse, QdrantError> {
        let request = &request.into();
        self.with_channel(|channel| async move {
            Ok(CollectionsClient::new(channel).create(request.clone()).await?.into_inner())
        })
        .await
    }

    /// Deletes a collection.
    pub(crate) async fn delete_collection(
        &self,
        request: impl Into<DeleteCollection>,
    ) -> Result<CollectionOperationResponse, QdrantError> {
        let request = &request.into();
        self.with_channel(|channel| async move {
            Ok(CollectionsClient::new(channel).delete(request.clone()).await?.into_inner())
        })
        .await
    }

    /// Updates a collection's parameters or metadata.
    pub(crate) async fn update_collection(
        &self,
        request: impl Into<UpdateCollection>,
    ) -> Result<CollectionOperationResponse, QdrantError> {
        let request = &request.into();
        self.with_channel(|channel| async move {
            Ok(CollectionsClient::new(channel).update(request.clone()).await?.into_inner())
        })
        .await
    }

    /// Sets payload fields of the points a selector picks.
    pub(crate) async fn set_payload(
        &self,
        request: impl Into<SetPayloadPoints>,
    ) -> Result<PointsOperationResponse, QdrantError> {
        let request = &request.into();
        self.with_channel(|channel| async move { Ok(points(channel).set_payload(request.clone()).await?.into_inner()) })
            .await
    }

    /// Applies several point updates in one request, in order.
    pub(crate) async fn update_batch(
        &self,
        request: impl Into<UpdateBatchPoints>,
    ) -> Result<UpdateBatchResponse, QdrantError> {
        let request = &request.into();
        self.with_channel(
            |channel| async move { Ok(points(channel).update_batch(request.clone()).await?.into_inner()) },
        )
        .await
    }

    /// Creates a payload index.
    pub(crate) async fn create_field_index(
        &self,
        request: impl Into<CreateFieldIndexCollection>,
    ) -> Result<PointsOperationResponse, QdrantError> {
        let request = &request.into();
        self.with_channel(|channel| async move {
            Ok(points(channel).create_field_index(request.clone()).await?.into_inner())
        })
        .await
    }

    /// Counts points.
    pub(crate) async fn count(&self, request: impl Into<CountPoints>) -> Result<CountResponse, QdrantError> {
        let request = &request.into();
        self.with_channel(|channel| async move { Ok(points(channel).count(request.clone()).await?.into_inner()) }).await
    }

    /// Counts points per value of a payload field.
    pub(crate) async fn facet(&self, request: impl Into<FacetCounts>) -> Result<FacetResponse, QdrantError> {
        let request = &request.into();
        self.with_channel(|channel| async move { Ok(points(channel).facet(request.clone()).await?.into_inner()) }).await
    }

    /// Writes points.
    pub(crate) async fn upsert_points(
        &self,
        request: impl Into<UpsertPoints>,
    ) -> Result<PointsOperationResponse, QdrantError> {
        let request = &request.into();
        self.with_channel(|channel| async move { Ok(points(channel).upsert(request.clone()).await?.into_inner()) })
            .await
    }

    /// Deletes points.
    pub(crate) async fn delete_points(
        &self,
        request: impl Into<DeletePoints>,
    ) -> Result<PointsOperationResponse, QdrantError> {
        let request = &request.into();
        self.with_channel(|channel| async move { Ok(points(channel).delete(request.clone()).await?.into_inner()) })
            .await
    }

    /// Points by id.
    pub(crate) async fn get_points(&self, request: impl Into<GetPoints>) -> Result<GetResponse, QdrantError> {
        let request = &request.into();
        self.with_channel(|channel| async move { Ok(points(channel).get(request.clone()).await?.into_inner()) }).await
    }

    /// A similarity query.
    pub(crate) async fn query(&self, request: impl Into<QueryPoints>) -> Result<QueryResponse, QdrantError> {
        let request = &request.into();
        self.with_channel(|channel| async move { Ok(points(channel).query(request.clone()).await?.into_inner()) }).await
    }

    /// Several searches of one collection in one request, answered in order.
    pub(crate) async fn query_batch(&self, request: QueryBatchPoints) -> Result<QueryBatchResponse, QdrantError> {
        let request = &request;
        self.with_channel(|channel| async move { Ok(points(channel).query_batch(request.clone()).await?.into_inner()) })
            .await
    }

    /// A page of points.
    pub(crate) async fn scroll(&self, request: impl Into<ScrollPoints>) -> Result<ScrollResponse, QdrantError> {
        let request = &request.into();
        self.with_channel(|channel| async move { Ok(points(channel).scroll(request.clone()).await?.into_inner()) })
            .await
    }
}

/// Whether a call failed because the connection broke (worth one retry on a fresh channel).
fn broken(status: &Status) -> bool {
    matches!(status.code(), Code::Internal | Code::Unavailable | Code::Cancelled | Code::Unknown)
}

/// Largest reply accepted from the server, in bytes. The largest the store asks for is a page
/// of 10,000 records of 4,096 dimensions with their payload (`scan`, `get_many`): about
/// 170 MB (see the test below); a batch search's reply holds no vectors and stays far below.
/// A reply past this bound (a broken or hostile server) is an error, never an allocation of
/// whatever size the server announces.
pub(crate) const MAX_REPLY_BYTES: usize = 256 << 20;

/// A points client that accepts replies up to [`MAX_REPLY_BYTES`] (gRPC's default of 4 MB is
/// too small for scroll pages and batch searches).
fn points(channel: Intercepted) -> PointsClient<Intercepted> {
    PointsClient::new(channel).max_decoding_message_size(MAX_REPLY_BYTES)
}

impl Pool {
    /// Whether the server of a plain `http://` URL speaks TLS on that port: it answers the
    /// HTTP/2 preface with a TLS alert record (content type 21, version 3.x). A gRPC client
    /// sees only a broken connection, which would otherwise read as "server down".
    async fn speaks_tls(&self) -> bool {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let Some((host, port)) = &self.plain else { return false };
        let probe = async {
            let mut stream = tokio::net::TcpStream::connect((host.as_str(), *port)).await.ok()?;
            stream.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await.ok()?;
            let mut head = [0u8; 2];
            stream.read_exact(&mut head).await.ok()?;
            Some(head == [0x15, 0x03])
        };
        matches!(tokio::time::timeout(self.connect_timeout, probe).await, Ok(Some(true)))
    }

    /// Connects a new channel into slot `index`, replacing what was there.
    async fn connect(&self, index: usize) -> Result<Channel, Status> {
        // The error's Debug form carries the cause (refused, TLS certificate, ...); the message
        // starts like qdrant-client's, which the error mapping recognises.
        let channel = self
            .endpoint
            .connect()
            .await
            .map_err(|err| Status::internal(format!("Failed to connect to {}: {err:?}", self.uri)))?;
        self.channels.write().unwrap_or_else(|p| p.into_inner())[index] = Some(channel.clone());
        Ok(channel)
    }
}

#[cfg(test)]
mod tests {
    use vectorstore_core::limits::{MAX_DIM, MAX_ID_BYTES, MAX_IDS_PER_CALL, MAX_SCAN_LIMIT};

    use super::MAX_REPLY_BYTES;

    #[test]
    fn the_reply_bound_covers_the_largest_page_the_store_asks_for() {
        // Per point: the vector, the id twice (payload and sort keys), the UUID, the other
        // payload fields and protobuf framing, generously.
        let per_point = MAX_DIM * 4 + 2 * MAX_ID_BYTES + 4 * 1024;
        let largest = MAX_SCAN_LIMIT.max(MAX_IDS_PER_CALL) * per_point;
        assert!(largest < MAX_REPLY_BYTES, "{largest} bytes would be refused");
    }
}

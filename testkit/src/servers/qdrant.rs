//! Qdrant test servers, found in this order:
//!
//! 1. `DECNET_TEST_QDRANT_URL` (the gRPC URL, e.g. `http://127.0.0.1:6334`): any server or
//!    cluster, used as is;
//! 2. a `qdrant` executable (`DECNET_TEST_QDRANT_BIN`, else `PATH`), started here in a
//!    temporary directory on free loopback ports and stopped when the test process exits;
//! 3. a container through testcontainers, when a Docker engine answers: the image in
//!    `DECNET_TEST_QDRANT_IMAGE` (`name:tag`), else `qdrant/qdrant:v1.18.3`;
//! 4. else [`Unavailable`], with the reason of each step.
//!
//! With `DECNET_TEST_SERVERS=containers` only step 3 is tried, for the shared and the
//! dedicated servers alike (see [`super::ROUTE_VAR`]).
//! Clusters ([`shared_cluster`], [`dedicated_cluster`],
//! [`ServerFactory::qdrant_cluster`](super::ServerFactory::qdrant_cluster)) of
//! [`CLUSTER_PEERS`] peers are only started from the executable (step 2), whatever
//! `DECNET_TEST_QDRANT_URL` says; without it they are [`Unavailable`].
//!
//! Readiness is `/readyz` on the HTTP port, asked with a plain HTTP/1.0 request.
//! [`QdrantTestServer::config`] carries the `DECNET_VECTORSTORE_QDRANT_*` variables of the
//! environment (API key, shards, exact search, ...) to the store under test.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use testcontainers_modules::testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers_modules::testcontainers::runners::AsyncRunner;
use testcontainers_modules::testcontainers::{ContainerAsync, GenericImage, ImageExt};
use vectorstore_conformance::{Unavailable, report};
use vectorstore_core::Config;

use super::process::{TiedProcess, free_port, port_open, wait_until};

/// Variable naming a Qdrant to test against (its gRPC URL).
pub const URL_VAR: &str = "DECNET_TEST_QDRANT_URL";

/// Variable naming the `qdrant` executable to start (else it is looked up on `PATH`).
pub const BIN_VAR: &str = "DECNET_TEST_QDRANT_BIN";

/// Variable naming the container image (`name:tag`) to use instead of [`IMAGE`]. The image
/// must serve Qdrant's HTTP API on 6333 and gRPC on 6334, and take `QDRANT__*` variables.
pub const IMAGE_VAR: &str = "DECNET_TEST_QDRANT_IMAGE";

/// The image started through testcontainers by default, pinned.
pub const IMAGE: (&str, &str) = ("qdrant/qdrant", "v1.18.3");

/// The image to start: [`IMAGE_VAR`], else [`IMAGE`].
fn image() -> (String, String) {
    super::route::image_from_env(IMAGE_VAR, IMAGE)
}

const HTTP_PORT: u16 = 6333;
const GRPC_PORT: u16 = 6334;
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A Qdrant the tests may use, kept running while any clone of this handle lives.
#[derive(Clone)]
pub struct QdrantTestServer {
    url: String,
    origin: String,
    _container: Option<Arc<ContainerGuard>>,
}

impl std::fmt::Debug for QdrantTestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QdrantTestServer")
            .field("url", &vectorstore_core::redact_url(&self.url))
            .field("origin", &self.origin)
            .finish()
    }
}

impl QdrantTestServer {
    /// The gRPC URL, for `DECNET_VECTORSTORE_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where the server comes from (`DECNET_TEST_QDRANT_URL`, a local process, a container).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// A `qdrant` configuration for this server with the `DECNET_VECTORSTORE_QDRANT_*`
    /// options of the environment (and nothing else from it). An API key given there may go
    /// over plain `http://` to a test server unless the environment says otherwise
    /// (`ALLOW_PLAINTEXT_API_KEY`; why, in [`super::postgres::test_config`]).
    pub fn config(&self) -> Config {
        super::route::trusting_plaintext(
            super::route::config_for("qdrant", &self.url),
            "qdrant",
            "ALLOW_PLAINTEXT_API_KEY",
        )
    }
}

/// The server every test of this process shares: `DECNET_TEST_QDRANT_URL`, else one local
/// process started once, else one container started once; the process and the container are
/// removed when the test process exits.
pub async fn shared() -> Result<QdrantTestServer, Unavailable> {
    let containers_only = super::route::containers_only()?;
    let mut reasons = Vec::new();
    if containers_only {
        reasons.push(format!("{}=containers", super::route::ROUTE_VAR));
    } else {
        if let Some(url) = std::env::var(URL_VAR).ok().filter(|url| !url.trim().is_empty()) {
            return Ok(QdrantTestServer { url: url.trim().to_owned(), origin: URL_VAR.to_owned(), _container: None });
        }
        reasons.push(format!("{URL_VAR} is not set"));
        match find_binary() {
            Some(binary) => match blocking(move || shared_process(&binary)).await {
                Ok(url) => {
                    return Ok(QdrantTestServer { url, origin: "local qdrant process".into(), _container: None });
                }
                Err(reason) => reasons.push(reason),
            },
            None => reasons.push(format!("no qdrant executable ({BIN_VAR} unset, none on PATH)")),
        }
    }
    match shared_container().await {
        Ok(guard) => {
            return Ok(QdrantTestServer {
                url: guard.url.clone(),
                origin: guard.origin.clone(),
                _container: Some(guard),
            });
        }
        Err(reason) => reasons.push(reason),
    }
    Err(Unavailable(format!("no Qdrant server: {}", reasons.join("; "))))
}

/// A server of the test's own, which it may stop and start again on the same ports and
/// storage (a local process, else a container). A server given by URL cannot be restarted, so
/// it is not used here.
pub async fn dedicated() -> Result<DedicatedQdrant, Unavailable> {
    dedicated_with_env(&[]).await
}

/// Like [`dedicated`], with Qdrant settings given as its environment variables, e.g.
/// `("QDRANT__SERVICE__API_KEY", "…")`.
pub async fn dedicated_with_env(env: &[(&str, &str)]) -> Result<DedicatedQdrant, Unavailable> {
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let mut reasons = Vec::new();
    let binary = if super::route::containers_only()? {
        reasons.push(format!("{}=containers", super::route::ROUTE_VAR));
        None
    } else {
        let binary = find_binary();
        if binary.is_none() {
            reasons.push(format!("no qdrant executable ({BIN_VAR} unset, none on PATH)"));
        }
        binary
    };
    if let Some(binary) = binary {
        match blocking({
            let env = env.clone();
            move || LocalQdrant::start_new(&binary, env)
        })
        .await
        {
            Ok(local) => return Ok(DedicatedQdrant { url: local.url(), server: Dedicated::Process(local) }),
            Err(reason) => reasons.push(reason),
        }
    }
    match start_container(true, env).await {
        Ok(guard) => return Ok(DedicatedQdrant { url: guard.url.clone(), server: Dedicated::Container(guard) }),
        Err(reason) => reasons.push(reason),
    }
    Err(Unavailable(format!("no Qdrant server that this test may restart: {}", reasons.join("; "))))
}

/// Reports a test that needs [`dedicated`] but could not have it. When `DECNET_TEST_QDRANT_URL`
/// is set the suite is running against a given server, which no test may restart or
/// reconfigure: the test is skipped even when `DECNET_TEST_REQUIRE` lists qdrant (the server
/// itself was had). Otherwise this is [`vectorstore_conformance::skip`] (a failure when qdrant is required).
pub fn skip_without_dedicated(what: &str, reason: &str) {
    if std::env::var(URL_VAR).is_ok_and(|url| !url.trim().is_empty()) {
        report(&format!(
            "SKIPPED qdrant::{what}: needs a Qdrant it may restart or reconfigure, and {URL_VAR} names one it may not \
             ({reason})"
        ));
    } else {
        vectorstore_conformance::skip("qdrant", what, reason);
    }
}

/// A Qdrant of one test's own (see [`dedicated`]); removed when dropped.
pub struct DedicatedQdrant {
    url: String,
    server: Dedicated,
}

enum Dedicated {
    Process(LocalQdrant),
    Container(ContainerGuard),
}

impl std::fmt::Debug for DedicatedQdrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DedicatedQdrant").field("url", &self.url).finish()
    }
}

impl DedicatedQdrant {
    /// The gRPC URL; the same after a restart.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends `signal` (`STOP`, `CONT`, ...) to a local server's process. A stopped server
    /// keeps its port open and answers nothing, as a hung host does. A container server cannot
    /// be signalled this way.
    pub fn signal(&self, signal: &str) -> Result<(), Unavailable> {
        let pid = match &self.server {
            Dedicated::Process(LocalQdrant { process: Some(process), .. }) => process.id(),
            Dedicated::Process(_) => return Err(Unavailable("the server is stopped".into())),
            Dedicated::Container(_) => return Err(Unavailable("a container server cannot be signalled".into())),
        };
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .map_err(|err| Unavailable(format!("cannot run kill: {err}")))?;
        if status.success() { Ok(()) } else { Err(Unavailable(format!("kill -{signal} {pid} failed: {status}"))) }
    }

    /// A `qdrant` configuration for this server (see [`QdrantTestServer::config`]).
    pub fn config(&self) -> Config {
        QdrantTestServer { url: self.url.clone(), origin: String::new(), _container: None }.config()
    }

    /// Stops the server (SIGTERM, then SIGKILL after 10 s); its data stays.
    pub async fn stop(&mut self) {
        match &mut self.server {
            Dedicated::Process(local) => {
                if let Some(mut process) = local.process.take() {
                    let _ = blocking(move || {
                        process.stop("TERM", Duration::from_secs(10));
                        Ok::<(), String>(())
                    })
                    .await;
                }
            }
            Dedicated::Container(guard) => {
                if let Some(container) = guard.container.clone() {
                    let _ = on_docker(async move { container.stop().await.map_err(|e| e.to_string()) }).await;
                }
            }
        }
    }

    /// Starts the stopped server again on the same ports and storage, and waits until it is ready.
    pub async fn start(&mut self) -> Result<(), Unavailable> {
        match &mut self.server {
            Dedicated::Process(local) => {
                let (binary, dir, http, grpc) = (local.binary.clone(), local.dir.clone(), local.http, local.grpc);
                let env = local.env.clone();
                let process =
                    blocking(move || spawn_ready(&binary, &dir, http, grpc, &env)).await.map_err(Unavailable)?;
                local.process = Some(process);
                Ok(())
            }
            Dedicated::Container(guard) => {
                let Some(container) = guard.container.clone() else {
                    return Err(Unavailable("the container is gone".into()));
                };
                let (http, grpc) = (guard.http, guard.grpc);
                on_docker(async move { container.start().await.map_err(|e| e.to_string()) })
                    .await
                    .map_err(Unavailable)?;
                blocking(move || wait_ready(http, grpc, None)).await.map_err(Unavailable)
            }
        }
    }
}

/// The executable named by `DECNET_TEST_QDRANT_BIN`, else `qdrant` on `PATH`.
fn find_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(BIN_VAR).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join("qdrant")).find(|path| path.is_file())
}

/// A Qdrant process in a temporary directory of its own.
struct LocalQdrant {
    binary: PathBuf,
    env: Vec<(String, String)>,
    dir: PathBuf,
    http: u16,
    grpc: u16,
    process: Option<TiedProcess>,
}

impl LocalQdrant {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc)
    }

    /// Starts a fresh server on free ports, trying new ports once if the first ones were taken.
    fn start_new(binary: &Path, env: Vec<(String, String)>) -> Result<LocalQdrant, String> {
        sweep_stale_dirs();
        Self::start_in(binary, new_dir()?, env)
    }

    /// Starts a fresh server in `dir` (see [`new_dir`]), which it owns from now on.
    fn start_in(binary: &Path, dir: PathBuf, env: Vec<(String, String)>) -> Result<LocalQdrant, String> {
        let mut last = String::new();
        for _ in 0..2 {
            let (http, grpc) = two_free_ports()?;
            match spawn_ready(binary, &dir, http, grpc, &env) {
                Ok(process) => {
                    let binary = binary.to_owned();
                    return Ok(LocalQdrant { binary, env, dir, http, grpc, process: Some(process) });
                }
                Err(reason) => last = reason,
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        Err(last)
    }
}

impl Drop for LocalQdrant {
    fn drop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.stop("TERM", Duration::from_secs(10));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The process every test of this test binary shares; stopped by its watchdog when the test
/// process exits (its directory is removed by the next run's sweep).
static SHARED_PROCESS: Mutex<Option<LocalQdrant>> = Mutex::new(None);

fn shared_process(binary: &Path) -> Result<String, String> {
    let mut slot = SHARED_PROCESS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(local) = slot.as_mut()
        && local.process.as_mut().is_some_and(TiedProcess::is_running)
    {
        return Ok(local.url());
    }
    let local = LocalQdrant::start_new(binary, Vec::new())?;
    let url = local.url();
    report(&format!("qdrant test server: local qdrant process {} in {}", binary.display(), local.dir.display()));
    // Never dropped: a static outlives every test, and the watchdog stops the process.
    *slot = Some(local);
    Ok(url)
}

/// Two different loopback ports that were free a moment ago (HTTP, gRPC).
fn two_free_ports() -> Result<(u16, u16), String> {
    let http = free_port().map_err(|e| format!("no free port: {e}"))?;
    for _ in 0..10 {
        let grpc = free_port().map_err(|e| format!("no free port: {e}"))?;
        if grpc != http {
            return Ok((http, grpc));
        }
    }
    Err("no second free port".into())
}

const DIR_PREFIX: &str = "decnet-qdrant-test-";

fn new_dir() -> Result<PathBuf, String> {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("{DIR_PREFIX}{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("storage")).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// Removes the directories of test servers whose test process is gone.
fn sweep_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(DIR_PREFIX)).and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        let alive = Command::new("kill")
            .arg("-0")
            .arg(pid)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Starts `binary` in `dir` on the given loopback ports, with `env` on top, and waits for `/readyz`.
fn spawn_ready(
    binary: &Path,
    dir: &Path,
    http: u16,
    grpc: u16,
    env: &[(String, String)],
) -> Result<TiedProcess, String> {
    spawn_ready_with_args(binary, dir, http, grpc, env, &[])
}

/// [`spawn_ready`] with command-line arguments (a cluster peer's `--uri` and `--bootstrap`).
fn spawn_ready_with_args(
    binary: &Path,
    dir: &Path,
    http: u16,
    grpc: u16,
    env: &[(String, String)],
    args: &[String],
) -> Result<TiedProcess, String> {
    let mut command = Command::new(binary);
    command
        .args(args)
        .current_dir(dir)
        .env("QDRANT__SERVICE__HOST", "127.0.0.1")
        .env("QDRANT__SERVICE__HTTP_PORT", http.to_string())
        .env("QDRANT__SERVICE__GRPC_PORT", grpc.to_string())
        .env("QDRANT__STORAGE__STORAGE_PATH", dir.join("storage"))
        .env("QDRANT__STORAGE__SNAPSHOTS_PATH", dir.join("snapshots"))
        .env("QDRANT__STORAGE__TEMP_PATH", dir.join("tmp"))
        .env("QDRANT__TELEMETRY_DISABLED", "true")
        .env("QDRANT__CLUSTER__ENABLED", "false")
        // The suite connects without a key; a key in the developer's environment must not apply.
        .env_remove("QDRANT__SERVICE__API_KEY")
        .env_remove("QDRANT__SERVICE__READ_ONLY_API_KEY")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let log = dir.join("qdrant.log");
    let mut process = TiedProcess::spawn(command, "TERM", Some(&log))
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    match wait_ready_with(http, grpc, Some(&mut process), tls_ca(env).as_deref()) {
        Ok(()) => Ok(process),
        Err(reason) => {
            process.stop("KILL", Duration::from_secs(2));
            Err(format!("{reason}; log {}: {}", log.display(), log_tail(&log)))
        }
    }
}

/// Waits until `/readyz` answers 200 on `http` and the gRPC port accepts connections (Qdrant
/// opens it after the HTTP one), or the process ends, or a minute passes.
fn wait_ready(http: u16, grpc: u16, process: Option<&mut TiedProcess>) -> Result<(), String> {
    wait_ready_with(http, grpc, process, None)
}

/// [`wait_ready`], asking `/readyz` over TLS trusting `tls_ca` when given (with TLS on,
/// Qdrant's HTTP port speaks HTTPS too).
fn wait_ready_with(
    http: u16,
    grpc: u16,
    mut process: Option<&mut TiedProcess>,
    tls_ca: Option<&Path>,
) -> Result<(), String> {
    let mut exited = false;
    let ready = wait_until(READY_TIMEOUT, || {
        if let Some(process) = process.as_deref_mut()
            && !process.is_running()
        {
            exited = true;
            return true;
        }
        let ready = match tls_ca {
            Some(ca) => super::tls::https_get_ok(http, TLS_NAMES[0], ca, "/readyz"),
            None => readyz(http),
        };
        ready && port_open(grpc)
    });
    if exited {
        return Err("qdrant exited during startup".into());
    }
    if !ready {
        return Err(format!("qdrant was not ready on port {http} within {} s", READY_TIMEOUT.as_secs()));
    }
    Ok(())
}

/// True when `GET /readyz` on 127.0.0.1:`port` answers 200.
fn readyz(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"GET /readyz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
}

/// Runs blocking work (process start, polling) off the async worker threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T, String> + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(work).await.map_err(|e| format!("the server start panicked: {e}"))?
}

/// A container started through testcontainers, removed when the last handle is dropped, and
/// after this process exits when never dropped (the shared one).
struct ContainerGuard {
    url: String,
    origin: String,
    http: u16,
    grpc: u16,
    container: Option<Arc<ContainerAsync<GenericImage>>>,
}

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        if let Some(container) = self.container.take() {
            // Removed on the runtime that made it, whose connections to Docker are still alive.
            let (done, wait) = std::sync::mpsc::channel();
            docker_runtime().spawn(async move {
                drop(container);
                let _ = done.send(());
            });
            let _ = wait.recv_timeout(Duration::from_secs(30));
        }
    }
}

/// The runtime all container calls run on: it lives as long as the process, unlike the
/// runtime of each `#[tokio::test]`.
fn docker_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("qdrant-test-docker")
            .enable_all()
            .build()
            .expect("a tokio runtime for test containers")
    })
}

async fn on_docker<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, String>> + Send + 'static,
) -> Result<T, String> {
    docker_runtime().spawn(work).await.map_err(|e| format!("the container task panicked: {e}"))?
}

/// Why Docker could not be used, remembered so that later tests skip at once.
static DOCKER_FAILURE: OnceLock<String> = OnceLock::new();

/// The container every test of this process shares, started once: one container for the
/// whole run rather than one per burst of tests. A static is never dropped; the container is
/// removed after the process exits (see `start_container`).
static SHARED_CONTAINER: tokio::sync::Mutex<Option<Arc<ContainerGuard>>> = tokio::sync::Mutex::const_new(None);

/// Why the shared container could not be had, remembered so that later tests fail at once
/// rather than each waiting for a container that will not become ready either.
static SHARED_FAILURE: OnceLock<String> = OnceLock::new();

async fn shared_container() -> Result<Arc<ContainerGuard>, String> {
    if let Some(reason) = DOCKER_FAILURE.get().or(SHARED_FAILURE.get()) {
        return Err(reason.clone());
    }
    let mut slot = SHARED_CONTAINER.lock().await;
    if let Some(guard) = slot.as_ref() {
        return Ok(guard.clone());
    }
    if let Some(reason) = SHARED_FAILURE.get() {
        return Err(reason.clone());
    }
    let guard = match start_container(false, Vec::new()).await {
        Ok(guard) => Arc::new(guard),
        Err(reason) => return Err(SHARED_FAILURE.get_or_init(|| reason).clone()),
    };
    report(&format!("qdrant test server: {}", guard.origin));
    *slot = Some(guard.clone());
    Ok(guard)
}

/// Starts a container with `env`; with `fixed_ports`, on free host ports chosen here so that a
/// restart keeps them.
async fn start_container(fixed_ports: bool, env: Vec<(String, String)>) -> Result<ContainerGuard, String> {
    if let Some(reason) = DOCKER_FAILURE.get() {
        return Err(reason.clone());
    }
    let ports = if fixed_ports { Some(two_free_ports()?) } else { None };
    let (name, tag) = image();
    let image_name = format!("{name}:{tag}");
    let started = on_docker(async move {
        let image = GenericImage::new(name, tag)
            .with_exposed_port(HTTP_PORT.tcp())
            .with_exposed_port(GRPC_PORT.tcp())
            .with_wait_for(WaitFor::Nothing);
        let request =
            env.into_iter().fold(image.with_env_var("QDRANT__TELEMETRY_DISABLED", "true"), |request, (k, v)| {
                request.with_env_var(k, v)
            });
        let request = match ports {
            Some((http, grpc)) => {
                request.with_mapped_port(http, HTTP_PORT.tcp()).with_mapped_port(grpc, GRPC_PORT.tcp())
            }
            None => request,
        };
        let container = request.start().await.map_err(|e| format!("Docker: {e}"))?;
        // Removed when dropped, and in any case once this process is gone.
        super::route::remove_container_after_exit(container.id());
        let http = container.get_host_port_ipv4(HTTP_PORT.tcp()).await.map_err(|e| format!("Docker: {e}"))?;
        let grpc = container.get_host_port_ipv4(GRPC_PORT.tcp()).await.map_err(|e| format!("Docker: {e}"))?;
        let origin = format!("container {image_name} ({})", container.id());
        Ok((Arc::new(container), origin, http, grpc))
    })
    .await;
    let (container, origin, http, grpc) = match started {
        Ok(started) => started,
        Err(reason) => {
            let _ = DOCKER_FAILURE.set(reason.clone());
            return Err(reason);
        }
    };
    let guard =
        ContainerGuard { url: format!("http://127.0.0.1:{grpc}"), origin, http, grpc, container: Some(container) };
    if let Err(reason) = blocking(move || wait_ready(http, grpc, None)).await {
        return Err(format!("{reason} ({}); its log ends: {}", guard.origin, container_log_tail(&guard).await));
    }
    Ok(guard)
}

/// The last lines the container wrote (stdout, then stderr), for error messages.
async fn container_log_tail(guard: &ContainerGuard) -> String {
    let Some(container) = guard.container.clone() else { return String::new() };
    let log = on_docker(async move {
        let mut log = container.stdout_to_vec().await.unwrap_or_default();
        log.extend(container.stderr_to_vec().await.unwrap_or_default());
        Ok(String::from_utf8_lossy(&log).into_owned())
    })
    .await
    .unwrap_or_default();
    let lines: Vec<&str> = log.lines().map(str::trim).filter(|line| !line.is_empty()).collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

/// Names in the certificate of a [`dedicated_tls`] server.
pub const TLS_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// A Qdrant of the test's own with TLS on both ports, its certificate (for
/// [`TLS_NAMES`]) signed by a CA generated here: the server, whose URL is
/// `https://127.0.0.1:PORT`, and the CA certificate's PEM file, to trust through
/// `DECNET_VECTORSTORE_QDRANT_CA_CERT`. A local `qdrant` executable only (no container); the
/// files live in the server's directory and go with it.
pub async fn dedicated_tls() -> Result<(DedicatedQdrant, PathBuf), Unavailable> {
    dedicated_tls_with_env(&[]).await
}

/// Like [`dedicated_tls`], with more Qdrant settings, e.g. `("QDRANT__SERVICE__API_KEY", "…")`.
pub async fn dedicated_tls_with_env(env: &[(&str, &str)]) -> Result<(DedicatedQdrant, PathBuf), Unavailable> {
    let Some(binary) = find_binary() else {
        return Err(Unavailable(format!(
            "no qdrant executable ({BIN_VAR} unset, none on PATH); a TLS server is only started locally"
        )));
    };
    let mut env: Vec<(String, String)> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    blocking(move || {
        sweep_stale_dirs();
        let dir = new_dir()?;
        let files =
            super::tls::TestCa::new("DECNET qdrant test CA")?.write_server_files(&dir.join("tls"), &TLS_NAMES)?;
        let path = |p: &Path| p.display().to_string();
        env.extend([
            ("QDRANT__SERVICE__ENABLE_TLS".to_owned(), "true".to_owned()),
            ("QDRANT__TLS__CERT".to_owned(), path(&files.cert)),
            ("QDRANT__TLS__KEY".to_owned(), path(&files.key)),
            ("QDRANT__TLS__CA_CERT".to_owned(), path(&files.ca_cert)),
        ]);
        let local = LocalQdrant::start_in(&binary, dir, env)?;
        let url = local.url().replacen("http://", "https://", 1);
        Ok((DedicatedQdrant { url, server: Dedicated::Process(local) }, files.ca_cert))
    })
    .await
    .map_err(|reason| Unavailable(format!("no Qdrant with TLS: {reason}")))
}

/// The CA to trust for readiness when `env` turns TLS on.
fn tls_ca(env: &[(String, String)]) -> Option<PathBuf> {
    let value = |name: &str| env.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let on = value("QDRANT__SERVICE__ENABLE_TLS").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    on.then(|| value("QDRANT__TLS__CA_CERT").map(PathBuf::from)).flatten()
}

// Clusters: several local peers in cluster mode, started from the executable only (a URL
// names one server, and the tests must be able to kill and restart a peer).

/// Peers of a test cluster.
pub const CLUSTER_PEERS: usize = 3;

/// How long the peers of a cluster may take to agree on their members and leader.
const AGREE_TIMEOUT: Duration = Duration::from_secs(60);

/// A cluster of [`CLUSTER_PEERS`] local `qdrant` processes on free loopback ports, each in a
/// directory of its own under one temporary directory: cluster mode, a p2p port per peer,
/// the first peer started with `--uri`, the others bootstrapping from it. Clients talk to the
/// first peer ([`url`](QdrantCluster::url)). Peers can be killed and started again on the same
/// ports and storage. Everything is stopped and removed when the cluster is dropped (or, for
/// the [`shared_cluster`], when the test process exits).
pub struct QdrantCluster {
    binary: PathBuf,
    dir: PathBuf,
    peers: Vec<ClusterPeer>,
}

struct ClusterPeer {
    dir: PathBuf,
    http: u16,
    grpc: u16,
    p2p: u16,
    /// The p2p port of the peer it bootstraps from (none for the first).
    bootstrap: Option<u16>,
    process: Option<TiedProcess>,
}

impl std::fmt::Debug for QdrantCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ports: Vec<(u16, u16, u16)> = self.peers.iter().map(|p| (p.http, p.grpc, p.p2p)).collect();
        f.debug_struct("QdrantCluster").field("dir", &self.dir).field("ports (http, grpc, p2p)", &ports).finish()
    }
}

/// A cluster of the test's own (see [`QdrantCluster`]), started from `DECNET_TEST_QDRANT_BIN`
/// (else `qdrant` on `PATH`) and returned once every peer lists all [`CLUSTER_PEERS`] peers and
/// the same leader.
pub async fn dedicated_cluster() -> Result<QdrantCluster, Unavailable> {
    let Some(binary) = find_binary() else {
        return Err(Unavailable(format!(
            "no Qdrant cluster: no qdrant executable ({BIN_VAR} unset, none on PATH); a cluster is only started locally"
        )));
    };
    blocking(move || QdrantCluster::start_new(&binary))
        .await
        .map_err(|reason| Unavailable(format!("no Qdrant cluster: {reason}")))
}

/// The cluster every test of this process shares (started once, like the [`shared`] local
/// process, and stopped when the test process exits); its URL is the first peer's.
pub async fn shared_cluster() -> Result<QdrantTestServer, Unavailable> {
    static SHARED_CLUSTER: tokio::sync::Mutex<Option<QdrantCluster>> = tokio::sync::Mutex::const_new(None);
    let mut slot = SHARED_CLUSTER.lock().await;
    let running = slot.as_mut().is_some_and(|cluster| (0..cluster.peers()).all(|peer| cluster.is_running(peer)));
    if !running {
        if let Some(old) = slot.take() {
            blocking(move || {
                drop(old);
                Ok(())
            })
            .await
            .map_err(Unavailable)?;
        }
        *slot = Some(dedicated_cluster().await?);
    }
    let cluster = slot.as_ref().map(|cluster| cluster.url()).unwrap_or_default();
    Ok(QdrantTestServer {
        url: cluster,
        origin: format!("local qdrant cluster of {CLUSTER_PEERS} peers"),
        _container: None,
    })
}

impl QdrantCluster {
    /// The gRPC URL of the first peer, the one clients talk to.
    pub fn url(&self) -> String {
        self.peer_url(0)
    }

    /// The gRPC URL of `peer` (0-based).
    pub fn peer_url(&self, peer: usize) -> String {
        format!("http://127.0.0.1:{}", self.peers[peer].grpc)
    }

    /// The number of peers.
    pub fn peers(&self) -> usize {
        self.peers.len()
    }

    /// A `qdrant` configuration for the first peer (see [`QdrantTestServer::config`]).
    pub fn config(&self) -> Config {
        self.peer_config(0)
    }

    /// A `qdrant` configuration for `peer`.
    pub fn peer_config(&self, peer: usize) -> Config {
        QdrantTestServer { url: self.peer_url(peer), origin: String::new(), _container: None }.config()
    }

    /// True while the process of `peer` runs.
    pub fn is_running(&mut self, peer: usize) -> bool {
        self.peers[peer].process.as_mut().is_some_and(TiedProcess::is_running)
    }

    /// Kills `peer` with SIGKILL (a crash: nothing is flushed); its storage stays.
    pub async fn kill(&mut self, peer: usize) {
        self.halt(peer, "KILL").await;
    }

    /// Stops `peer` with SIGTERM (then SIGKILL after 10 s); its storage stays.
    pub async fn stop(&mut self, peer: usize) {
        self.halt(peer, "TERM").await;
    }

    async fn halt(&mut self, peer: usize, signal: &'static str) {
        if let Some(mut process) = self.peers[peer].process.take() {
            let _ = blocking(move || {
                process.stop(signal, Duration::from_secs(10));
                Ok::<(), String>(())
            })
            .await;
        }
    }

    /// Starts the stopped `peer` again on its ports and storage, and waits until it is ready
    /// and every running peer agrees on the members and the leader again.
    pub async fn start(&mut self, peer: usize) -> Result<(), Unavailable> {
        if self.is_running(peer) {
            return Ok(());
        }
        let (binary, member) = (self.binary.clone(), self.peers[peer].spec());
        let process = blocking(move || member.spawn(&binary)).await.map_err(Unavailable)?;
        self.peers[peer].process = Some(process);
        self.wait_agreed().await
    }

    /// Waits until every running peer reports every replica of `collection` `Active` and no
    /// shard transfer under way (a minute at most). A restarted peer's replicas catch up through
    /// transfers; a read it serves before then may see an older copy.
    pub async fn wait_replicas_active(&self, collection: &str) -> Result<(), Unavailable> {
        let ports: Vec<u16> = self.peers.iter().filter(|p| p.process.is_some()).map(|p| p.http).collect();
        let path = format!("/collections/{collection}/cluster");
        blocking(move || {
            let mut last = Vec::new();
            let settled = wait_until(AGREE_TIMEOUT, || {
                last = ports.iter().map(|port| replicas_view(*port, &path)).collect();
                last.iter().all(|view| view.as_ref().is_ok_and(|pending| pending.is_empty()))
            });
            if settled {
                return Ok(());
            }
            Err(format!(
                "the replicas of {path} were not all Active within {} s ({})",
                AGREE_TIMEOUT.as_secs(),
                per_port(&ports, &last, |pending| pending.join(", "))
            ))
        })
        .await
        .map_err(Unavailable)
    }

    /// Waits until every running peer answers `GET /cluster` with all [`CLUSTER_PEERS`] peers
    /// and the same known leader (a minute at most).
    pub async fn wait_agreed(&self) -> Result<(), Unavailable> {
        let ports: Vec<u16> = self.peers.iter().filter(|p| p.process.is_some()).map(|p| p.http).collect();
        blocking(move || agree(&ports)).await.map_err(Unavailable)
    }

    /// Starts a fresh cluster, trying new ports once if the first ones were taken.
    fn start_new(binary: &Path) -> Result<QdrantCluster, String> {
        sweep_stale_dirs();
        let dir = new_dir()?;
        let mut last = String::new();
        for _ in 0..2 {
            let mut cluster = QdrantCluster { binary: binary.to_owned(), dir: dir.clone(), peers: Vec::new() };
            match cluster.spawn_all() {
                Ok(()) => return Ok(cluster),
                Err(reason) => {
                    last = reason;
                    cluster.halt_all();
                    // Keep the directory for the next attempt: forget it before the drop.
                    cluster.dir = PathBuf::new();
                    for peer in 0..CLUSTER_PEERS {
                        let _ = std::fs::remove_dir_all(dir.join(format!("peer-{peer}")));
                    }
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        Err(last)
    }

    /// Starts every peer on fresh ports, the first one alone, then the others bootstrapping from
    /// it one by one, and waits for their agreement.
    fn spawn_all(&mut self) -> Result<(), String> {
        let ports = distinct_free_ports(3 * CLUSTER_PEERS)?;
        for peer in 0..CLUSTER_PEERS {
            let dir = self.dir.join(format!("peer-{peer}"));
            std::fs::create_dir_all(dir.join("storage"))
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let (http, grpc, p2p) = (ports[3 * peer], ports[3 * peer + 1], ports[3 * peer + 2]);
            let bootstrap = (peer > 0).then_some(ports[2]);
            let member = ClusterPeer { dir, http, grpc, p2p, bootstrap, process: None };
            let process = member.spec().spawn(&self.binary)?;
            self.peers.push(ClusterPeer { process: Some(process), ..member });
        }
        let ports: Vec<u16> = self.peers.iter().map(|p| p.http).collect();
        agree(&ports)
    }

    fn halt_all(&mut self) {
        // Signalled together, then waited for one by one.
        for peer in &self.peers {
            if let Some(process) = &peer.process {
                let _ = Command::new("kill").arg("-TERM").arg(process.id().to_string()).status();
            }
        }
        for peer in &mut self.peers {
            if let Some(mut process) = peer.process.take() {
                process.stop("TERM", Duration::from_secs(10));
            }
        }
    }
}

impl Drop for QdrantCluster {
    fn drop(&mut self) {
        self.halt_all();
        if !self.dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// What starting a peer needs, detached from the cluster so that it can move to a thread.
struct PeerSpec {
    dir: PathBuf,
    http: u16,
    grpc: u16,
    p2p: u16,
    bootstrap: Option<u16>,
}

impl ClusterPeer {
    fn spec(&self) -> PeerSpec {
        PeerSpec { dir: self.dir.clone(), http: self.http, grpc: self.grpc, p2p: self.p2p, bootstrap: self.bootstrap }
    }
}

impl PeerSpec {
    /// Starts the peer in cluster mode and waits until it is ready (a peer started again keeps
    /// its state and ignores `--bootstrap`).
    fn spawn(&self, binary: &Path) -> Result<TiedProcess, String> {
        let env = vec![
            ("QDRANT__CLUSTER__ENABLED".to_owned(), "true".to_owned()),
            ("QDRANT__CLUSTER__P2P__PORT".to_owned(), self.p2p.to_string()),
        ];
        let mut args = vec!["--uri".to_owned(), format!("http://127.0.0.1:{}", self.p2p)];
        if let Some(first) = self.bootstrap {
            args.extend(["--bootstrap".to_owned(), format!("http://127.0.0.1:{first}")]);
        }
        spawn_ready_with_args(binary, &self.dir, self.http, self.grpc, &env, &args)
    }
}

/// `count` different loopback ports that were free a moment ago.
fn distinct_free_ports(count: usize) -> Result<Vec<u16>, String> {
    let mut ports = Vec::with_capacity(count);
    for _ in 0..count * 10 {
        if ports.len() == count {
            break;
        }
        let port = free_port().map_err(|e| format!("no free port: {e}"))?;
        if !ports.contains(&port) {
            ports.push(port);
        }
    }
    if ports.len() < count {
        return Err(format!("fewer than {count} free ports"));
    }
    Ok(ports)
}

/// Waits until each peer whose HTTP port is in `ports` lists [`CLUSTER_PEERS`] peers and the
/// same known leader.
fn agree(ports: &[u16]) -> Result<(), String> {
    let mut seen = Vec::new();
    let agreed = wait_until(AGREE_TIMEOUT, || {
        seen = ports.iter().map(|port| cluster_view(*port)).collect();
        let leaders: Vec<Option<u64>> =
            seen.iter().map(|view| view.as_ref().ok().filter(|v| v.0 == CLUSTER_PEERS).and_then(|v| v.1)).collect();
        !leaders.is_empty() && leaders.iter().all(|leader| leader.is_some() && *leader == leaders[0])
    });
    if agreed {
        return Ok(());
    }
    Err(format!(
        "the {} peers did not agree on {CLUSTER_PEERS} members and a leader within {} s ({})",
        ports.len(),
        AGREE_TIMEOUT.as_secs(),
        per_port(ports, &seen, |(peers, leader)| format!("{peers} peers, leader {leader:?}"))
    ))
}

/// What one peer reports on `GET path` (`/collections/NAME/cluster`) that is not settled yet:
/// each replica not `Active` and each shard transfer; empty when everything is.
fn replicas_view(port: u16, path: &str) -> Result<Vec<String>, String> {
    let body = http_get(port, path)?;
    let json: serde_json::Value = serde_json::from_str(&body).map_err(|e| format!("{path} is not JSON: {e}"))?;
    let result = &json["result"];
    let mut pending = Vec::new();
    for side in ["local_shards", "remote_shards"] {
        for shard in result[side].as_array().into_iter().flatten() {
            let state = shard["state"].as_str().unwrap_or("unknown");
            if state != "Active" {
                pending.push(format!("shard {} {state}", shard["shard_id"]));
            }
        }
    }
    let transfers = result["shard_transfers"].as_array().map_or(0, Vec::len);
    if transfers > 0 {
        pending.push(format!("{transfers} shard transfers"));
    }
    Ok(pending)
}

/// What each peer last reported (`shown`) or why it did not answer, for a message:
/// `port 6333: ...; port 6335: ...`.
fn per_port<T>(ports: &[u16], views: &[Result<T, String>], shown: impl Fn(&T) -> String) -> String {
    let views: Vec<String> = ports
        .iter()
        .zip(views)
        .map(|(port, view)| match view {
            Ok(view) => format!("port {port}: {}", shown(view)),
            Err(reason) => format!("port {port}: {reason}"),
        })
        .collect();
    views.join("; ")
}

/// The number of peers and the leader one peer reports on `GET /cluster`.
fn cluster_view(port: u16) -> Result<(usize, Option<u64>), String> {
    let body = http_get(port, "/cluster")?;
    let json: serde_json::Value = serde_json::from_str(&body).map_err(|e| format!("/cluster is not JSON: {e}"))?;
    let result = &json["result"];
    let peers = result["peers"].as_object().map_or(0, serde_json::Map::len);
    Ok((peers, result["raft_info"]["leader"].as_u64()))
}

/// The body of a `200` answer to `GET path` on 127.0.0.1:`port` (HTTP/1.0, so the server closes
/// the connection after answering).
fn http_get(port: u16, path: &str) -> Result<String, String> {
    let mut stream = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(500))
        .map_err(|e| format!("cannot connect: {e}"))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .map_err(|e| format!("cannot send: {e}"))?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).map_err(|e| format!("cannot read: {e}"))?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").ok_or("no HTTP answer")?;
    if head.get(9..12) != Some("200") {
        return Err(head.lines().next().unwrap_or_default().to_owned());
    }
    Ok(body.to_owned())
}

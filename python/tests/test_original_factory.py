"""The original package's tests of the factory, get_vectorstore()."""

import os
import pathlib

import pytest

import decnet_vectorstore
from decnet_vectorstore import FakeVectorStore, NullVectorStore, SqliteVecVectorStore, get_vectorstore

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for key in list(os.environ):
        if key.startswith("DECNET_VECTORSTORE_"):
            monkeypatch.delenv(key)


def test_factory_disabled_returns_null(monkeypatch):
    monkeypatch.setenv("DECNET_VECTORSTORE_ENABLED", "false")
    monkeypatch.setenv("DECNET_VECTORSTORE_TYPE", "sqlite_vec")
    assert isinstance(get_vectorstore(), NullVectorStore)


def test_factory_fake_dispatch(monkeypatch):
    monkeypatch.setenv("DECNET_VECTORSTORE_TYPE", "fake")
    assert isinstance(get_vectorstore(), FakeVectorStore)


async def test_factory_falls_back_to_fake_when_sqlite_vec_missing(monkeypatch, tmp_path):
    # The original made the sqlite_vec import fail; this wheel always links it, so the test
    # pretends it is left out. The default type falls back with health saying so.
    without_sqlite_vec = [b for b in decnet_vectorstore.compiled_backends() if b != "sqlite_vec"]
    monkeypatch.setattr(decnet_vectorstore, "_compiled_backends", lambda: without_sqlite_vec)
    monkeypatch.setenv("DECNET_VECTORSTORE_PATH", str(tmp_path / "v.sqlite"))
    store = get_vectorstore()
    assert isinstance(store, FakeVectorStore)
    await store.initialize()
    health = await store.health()
    assert health["ok"] is True and health["backend"] == "fake" and health["degraded"] is True
    assert "set DECNET_VECTORSTORE_TYPE=fake to silence this" in health["fallback"]
    assert not (tmp_path / "v.sqlite").exists()


def test_factory_unknown_type_raises(monkeypatch):
    monkeypatch.setenv("DECNET_VECTORSTORE_TYPE", "bogus")
    with pytest.raises(ValueError, match="Unsupported vectorstore type"):
        get_vectorstore()


async def test_factory_sqlite_path_honoured(monkeypatch, tmp_path):
    path = tmp_path / "custom.sqlite"
    monkeypatch.setenv("DECNET_VECTORSTORE_TYPE", "sqlite_vec")
    monkeypatch.setenv("DECNET_VECTORSTORE_PATH", str(path))
    store = get_vectorstore()
    assert isinstance(store, SqliteVecVectorStore)
    await store.initialize()
    try:
        assert path.exists()
        # The published health holds no path; the detailed view, for operators, does.
        assert "path" not in (await store.health()).get("detail", {})
        assert (await store.health_detailed())["detail"]["path"] == str(path)
    finally:
        await store.close()


async def test_factory_sqlite_default_path_falls_back_to_home(monkeypatch, tmp_path):
    runtime = pathlib.Path("/var/lib/decnet")
    if runtime.is_dir() and os.access(runtime, os.W_OK):
        pytest.skip("/var/lib/decnet exists and is writable here: it is the default location")
    monkeypatch.setenv("HOME", str(tmp_path))
    store = get_vectorstore()  # no TYPE, no PATH: the default sqlite_vec store
    assert isinstance(store, SqliteVecVectorStore)
    await store.initialize()
    try:
        expected = tmp_path / ".decnet" / "vectors.sqlite"
        assert expected.exists()
        assert (await store.health_detailed())["detail"]["path"] == str(expected)
    finally:
        await store.close()

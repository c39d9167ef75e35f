"""The original package's tests of the factory (its tests/vectorstore/test_factory.py), written
for this package from the original's list of cases and imported the way DECNET's
tests import them, with `decnet_vectorstore` for `decnet.vectorstore` as the only difference:
`get_vectorstore` and `_default_db_path` from `.factory`, the in-memory stores from `.fake`.

Two of the original's cases cannot pass here, by design, and are checked as such
(`test_original_cases_that_differ`): it expected `DECNET_VECTORSTORE_TYPE=qdrant` to be an
unknown type (Qdrant is a backend of this package), and a missing sqlite-vec with
`DECNET_VECTORSTORE_TYPE=sqlite_vec` named explicitly to fall back to the Fake (here only the
default type falls back; a backend named explicitly never does silently)."""

import builtins
import os
import pathlib
from typing import Any

import pytest

from decnet_vectorstore import factory
from decnet_vectorstore.factory import _default_db_path, get_vectorstore
from decnet_vectorstore.fake import FakeVectorStore, NullVectorStore
from decnet_vectorstore.qdrant import QdrantVectorStore
from decnet_vectorstore.sqlite_vec import SqliteVecVectorStore

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("DECNET_VECTORSTORE_"):
            monkeypatch.delenv(key)


def test_factory_disabled_returns_null(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DECNET_VECTORSTORE_ENABLED", "false")
    monkeypatch.setenv("DECNET_VECTORSTORE_TYPE", "sqlite_vec")
    assert isinstance(get_vectorstore(), NullVectorStore)


def test_factory_fake_dispatch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DECNET_VECTORSTORE_TYPE", "fake")
    assert isinstance(get_vectorstore(), FakeVectorStore)


async def test_factory_falls_back_to_fake_when_sqlite_vec_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    # The original made the sqlite_vec import fail; this wheel always links it, so the test
    # pretends it is left out. The default type falls back with health saying so.
    without_sqlite_vec = [b for b in factory.compiled_backends() if b != "sqlite_vec"]
    monkeypatch.setattr(factory, "_compiled_backends", lambda: without_sqlite_vec)
    monkeypatch.setenv("DECNET_VECTORSTORE_PATH", str(tmp_path / "v.sqlite"))
    store = get_vectorstore()
    assert isinstance(store, FakeVectorStore)
    await store.initialize()
    health = await store.health()
    assert health["ok"] is True and health["backend"] == "fake" and health["degraded"] is True
    assert "set DECNET_VECTORSTORE_TYPE=fake to silence this" in health["fallback"]
    assert not (tmp_path / "v.sqlite").exists()


def test_factory_unknown_type_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DECNET_VECTORSTORE_TYPE", "bogus")
    with pytest.raises(ValueError, match="Unsupported vectorstore type"):
        get_vectorstore()


async def test_factory_sqlite_path_honoured(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
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


async def test_factory_sqlite_default_path_falls_back_to_home(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
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


def _refuse_sqlite_vec_import(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the original's fallback test did: every import of a module named sqlite_vec fails."""
    real_import = builtins.__import__

    def refusing(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "sqlite_vec":
            raise ImportError("forced")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", refusing)


def test_factory_falls_back_when_the_sqlite_vec_import_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    # The original's mechanism: its factory imported sqlite_vec first; this one imports its
    # .sqlite_vec module first, and falls back (the default type) when that fails.
    monkeypatch.setenv("HOME", str(tmp_path))
    _refuse_sqlite_vec_import(monkeypatch)
    assert isinstance(get_vectorstore(), FakeVectorStore)
    assert not (tmp_path / ".decnet").exists()


def test_original_cases_that_differ(monkeypatch: pytest.MonkeyPatch) -> None:
    # Explicit sqlite_vec with its import failing: an error naming the fallback variable, not
    # a silent Fake.
    monkeypatch.setenv("DECNET_VECTORSTORE_TYPE", "sqlite_vec")
    _refuse_sqlite_vec_import(monkeypatch)
    with pytest.raises(ValueError, match="DECNET_VECTORSTORE_FALLBACK"):
        get_vectorstore()
    monkeypatch.setenv("DECNET_VECTORSTORE_FALLBACK", "fake")
    assert isinstance(get_vectorstore(), FakeVectorStore)
    monkeypatch.delenv("DECNET_VECTORSTORE_FALLBACK")
    # qdrant is a backend of this package, not an unknown type: the factory gives its store.
    monkeypatch.setenv("DECNET_VECTORSTORE_TYPE", "qdrant")
    assert isinstance(get_vectorstore(), QdrantVectorStore)


def test_default_db_path_honours_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DECNET_VECTORSTORE_PATH", "/tmp/explicit.sqlite")
    assert _default_db_path() == "/tmp/explicit.sqlite"


def test_default_db_path_falls_back_to_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.path.isdir", lambda path: False)
    path = _default_db_path()
    assert path.endswith(".decnet/vectors.sqlite")
    assert path.startswith(os.path.expanduser("~"))


def test_default_db_path_prefers_a_writable_runtime_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(factory, "_RUNTIME_DIR", "/")
    monkeypatch.setattr("os.access", lambda path, mode: path == "/")
    assert _default_db_path() == "/vectors.sqlite"


async def test_default_db_path_is_where_the_default_store_writes(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    store = get_vectorstore()
    await store.initialize()
    try:
        assert (await store.health_detailed())["detail"]["path"] == _default_db_path()
    finally:
        await store.close()


async def test_factory_db_path_keyword_is_the_file_written(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    # The original factory's keyword; it wins over DECNET_VECTORSTORE_PATH, as there.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DECNET_VECTORSTORE_PATH", str(tmp_path / "from-env.sqlite"))
    path = tmp_path / "srv" / "vectors.sqlite"
    store = get_vectorstore(db_path=str(path))
    assert isinstance(store, SqliteVecVectorStore)
    await store.initialize()
    try:
        await store.insert("ja3", "s1", [1.0, 2.0])
        assert path.exists()
        assert (await store.health_detailed())["detail"]["path"] == str(path)
    finally:
        await store.close()
    assert not (tmp_path / "from-env.sqlite").exists()
    assert not (tmp_path / "home" / ".decnet").exists()


def test_factory_db_path_is_ignored_by_other_types(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    monkeypatch.setenv("DECNET_VECTORSTORE_TYPE", "fake")
    assert isinstance(get_vectorstore(db_path=str(tmp_path / "unused.sqlite")), FakeVectorStore)


def test_factory_unknown_keyword_names_the_closest(monkeypatch: pytest.MonkeyPatch) -> None:
    from decnet_vectorstore.errors import Config

    with pytest.raises(Config, match="'db_pth'.*did you mean 'db_path'"):
        get_vectorstore(db_pth="/x.sqlite")

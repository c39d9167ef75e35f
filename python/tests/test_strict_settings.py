"""An unknown DECNET_VECTORSTORE_* variable or keyword option is an errors.Config naming it and
the closest known name, at open; another backend's variables are allowed."""

import os
import pathlib

import pytest

from decnet_vectorstore import PgvectorVectorStore, QdrantVectorStore, errors
from decnet_vectorstore.factory import get_vectorstore
from decnet_vectorstore.fake import FakeVectorStore, NullVectorStore
from decnet_vectorstore.sqlite_vec import SqliteVecVectorStore


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    for key in list(os.environ):
        if key.startswith("DECNET_VECTORSTORE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))


def test_a_misspelt_keyword_option_names_the_closest(tmp_path: pathlib.Path) -> None:
    with pytest.raises(errors.Config, match=r"unknown sqlite_vec option 'busy_timout_ms'; did you mean 'busy_timeout_ms'\?") as refused:
        SqliteVecVectorStore(tmp_path / "v.sqlite", busy_timout_ms=5)
    assert refused.value.kind == "config" and refused.value.context == {"option": "busy_timout_ms"}
    assert isinstance(refused.value, ValueError)
    with pytest.raises(errors.Config, match="did you mean 'db_path'"):
        SqliteVecVectorStore(db_pat=str(tmp_path / "v.sqlite"))
    # The keyword this package used before it took the original's name is refused, not dropped.
    with pytest.raises(errors.Config, match="unknown sqlite_vec option 'path'; did you mean 'db_path'"):
        SqliteVecVectorStore(path=str(tmp_path / "v.sqlite"))
    with pytest.raises(errors.Config, match="did you mean 'schema'"):
        PgvectorVectorStore("postgres://u@127.0.0.1:1/x", shema="decnet")
    with pytest.raises(errors.Config, match="did you mean 'api_key'"):
        QdrantVectorStore("http://127.0.0.1:1", api_kye="k")
    assert not (tmp_path / "v.sqlite").exists()
    # Spelt right, in any case, it is taken.
    SqliteVecVectorStore(tmp_path / "v.sqlite", busy_timeout_ms=5, CACHE_MB=0)


def test_a_misspelt_variable_is_refused_at_open(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    monkeypatch.setenv("DECNET_VECTORSTORE_PATH", str(tmp_path / "v.sqlite"))
    monkeypatch.setenv("DECNET_VECTORSTORE_SQLITE_VEC_BUSY_TIMOUT_MS", "5")
    with pytest.raises(errors.Config) as refused:
        get_vectorstore()
    message = str(refused.value)
    assert "unknown setting DECNET_VECTORSTORE_SQLITE_VEC_BUSY_TIMOUT_MS" in message
    assert "did you mean DECNET_VECTORSTORE_SQLITE_VEC_BUSY_TIMEOUT_MS?" in message
    assert refused.value.context == {"variable": "DECNET_VECTORSTORE_SQLITE_VEC_BUSY_TIMOUT_MS"}
    monkeypatch.delenv("DECNET_VECTORSTORE_SQLITE_VEC_BUSY_TIMOUT_MS")
    monkeypatch.setenv("DECNET_VECTORSTORE_TYP", "fake")
    with pytest.raises(errors.Config, match=r"did you mean DECNET_VECTORSTORE_TYPE\?"):
        get_vectorstore()


def test_other_backends_variables_and_the_packages_own_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DECNET_VECTORSTORE_TYPE", "fake")
    monkeypatch.setenv("DECNET_VECTORSTORE_PGVECTOR_SCHEMA", "decnet")
    monkeypatch.setenv("DECNET_VECTORSTORE_QDRANT_EXACT", "true")
    monkeypatch.setenv("DECNET_VECTORSTORE_SQLITE_VEC_CACHE_MB", "0")
    monkeypatch.setenv("DECNET_VECTORSTORE_PYTHON_INLINE_WAIT_US", "0")
    assert isinstance(get_vectorstore(), FakeVectorStore)


def test_a_disabled_store_opens_whatever_else_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """DECNET with the store turned off must start, whatever else is left in its environment."""
    monkeypatch.setenv("DECNET_VECTORSTORE_ENABLED", "false")
    for name, value in [
        ("DECNET_VECTORSTORE_TYPO", "1"),
        ("DECNET_VECTORSTORE_SQLITE_VEC_BUSY_TIMOUT_MS", "5"),
        ("DECNET_VECTORSTORE_METRIC", "hamming"),
        ("DECNET_VECTORSTORE_FALLBACK", "maybe"),
        ("DECNET_VECTORSTORE_TYPE", "no_such_backend"),
    ]:
        monkeypatch.setenv(name, value)
        assert isinstance(get_vectorstore(), NullVectorStore), name
        monkeypatch.delenv(name)
    # Turned on, the same stray variable is refused.
    monkeypatch.setenv("DECNET_VECTORSTORE_ENABLED", "true")
    monkeypatch.setenv("DECNET_VECTORSTORE_TYPE", "fake")
    monkeypatch.setenv("DECNET_VECTORSTORE_TYPO", "1")
    with pytest.raises(errors.Config, match="DECNET_VECTORSTORE_TYPO"):
        get_vectorstore()

"""What the Rust library logs (its `tracing` events) reaches Python's logging, as records of
the logger `decnet_vectorstore`, with the level mapped and the event's fields kept."""

import logging
import os
import pathlib
import shutil
from typing import Any

import pytest

from decnet_vectorstore import factory
from decnet_vectorstore.fake import FakeVectorStore
from decnet_vectorstore.sqlite_vec import SqliteVecVectorStore

pytestmark = pytest.mark.anyio

LOGGER = "decnet_vectorstore"
FIXTURE = pathlib.Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "legacy-python-store.sqlite"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("DECNET_VECTORSTORE_"):
            monkeypatch.delenv(key)


def extra(record: logging.LogRecord, name: str) -> Any:
    """An attribute the bridge adds to its records (``fields``, ``target``)."""
    return record.__dict__[name]


def records(caplog: pytest.LogCaptureFixture, level: int = logging.NOTSET) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno >= level]


async def test_the_fallback_warning_is_a_python_warning_with_its_fields(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: pathlib.Path) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    monkeypatch.setenv("HOME", str(tmp_path))
    without = [b for b in factory.compiled_backends() if b != "sqlite_vec"]
    monkeypatch.setattr(factory, "_compiled_backends", lambda: without)
    store = factory.get_vectorstore()
    assert isinstance(store, FakeVectorStore)
    [fallback] = [r for r in records(caplog) if "not compiled into this build" in r.getMessage()]
    assert fallback.levelno == logging.WARNING and fallback.levelname == "WARNING"
    assert "set DECNET_VECTORSTORE_TYPE=fake to silence this" in fallback.getMessage()
    assert extra(fallback, 'fields') == {"requested": "sqlite_vec"}
    assert "requested=sqlite_vec" in fallback.getMessage()
    assert extra(fallback, 'target').startswith("vectorstore_core")
    assert fallback.pathname.endswith(".rs") and fallback.lineno > 0
    # The degraded store says so again when initialised, as the original's warning did.
    caplog.clear()
    await store.initialize()
    [degraded] = records(caplog, logging.WARNING)
    assert "degraded" in degraded.getMessage() and "not compiled" in extra(degraded, 'fields')["reason"]


async def test_info_events_follow_the_loggers_level(caplog: pytest.LogCaptureFixture, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "v.sqlite"
    caplog.set_level(logging.WARNING, logger=LOGGER)
    quiet = SqliteVecVectorStore(path)
    await quiet.initialize()
    await quiet.close()
    assert records(caplog) == [], "INFO must not pass a logger at WARNING"

    caplog.set_level(logging.INFO, logger=LOGGER)
    store = SqliteVecVectorStore(path)
    await store.initialize()
    await store.close()
    [opened] = [r for r in records(caplog) if "sqlite_vec store opened" in r.getMessage()]
    assert opened.levelno == logging.INFO
    # Fields keep their types: text as str, counts as int, flags as bool.
    assert extra(opened, 'fields')["path"] == str(path)
    assert f"path={path}" in opened.getMessage()
    assert all(isinstance(name, str) for name in extra(opened, 'fields'))


async def test_a_percent_in_a_field_is_not_a_format(caplog: pytest.LogCaptureFixture, tmp_path: pathlib.Path) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    path = tmp_path / "100%s %d.sqlite"
    store = SqliteVecVectorStore(path)
    await store.initialize()
    await store.close()
    [opened] = [r for r in records(caplog) if "sqlite_vec store opened" in r.getMessage()]
    assert str(path) in opened.getMessage()


async def test_the_adoption_warning_of_an_original_store_file(caplog: pytest.LogCaptureFixture, tmp_path: pathlib.Path) -> None:
    if not FIXTURE.is_file():
        print(f"SKIPPED adoption warning: no fixture at {FIXTURE}")
        pytest.skip(f"no fixture written by the original store at {FIXTURE}")
    path = tmp_path / "legacy.sqlite"
    shutil.copyfile(FIXTURE, path)
    caplog.set_level(logging.WARNING, logger=LOGGER)
    store = SqliteVecVectorStore(path)
    await store.initialize()
    try:
        assert (await store.health())["vectors"] == 7
    finally:
        await store.close()
    [adopted] = [r for r in records(caplog) if "adopted the original (Python) store" in r.getMessage()]
    assert adopted.levelno == logging.WARNING
    assert extra(adopted, 'fields')["records"] == 7 and extra(adopted, 'fields')["kinds"] == 3
    assert extra(adopted, 'fields')["path"] == str(path)

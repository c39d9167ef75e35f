"""DECNET's behavioural-fingerprint vector store, in Rust, with the API of the original
``decnet.vectorstore``.

Switching DECNET over is one import::

    from decnet_vectorstore import get_vectorstore   # was: from decnet.vectorstore import ...

``get_vectorstore()`` reads the same ``DECNET_VECTORSTORE_*`` variables and returns a store that
is not yet initialised. Every store method is a coroutine; the work runs in Rust with the GIL
released, so many asyncio tasks and threads may share one store.
"""

from __future__ import annotations

import atexit
import datetime
import json
import math
import os
import time
import weakref
from collections.abc import Iterable, Sequence
from typing import Any

from . import errors
from ._native import KindInfo, Neighbor, VectorRecord
from ._native import compiled_backends as _native_compiled_backends
from ._native import copy as _native_copy
from ._native import open as _native_open
from ._native import verify as _native_verify
from ._native import MAX_BATCH, SCHEMA_VERSION
from .errors import DimensionMismatch, InvalidArgument, VectorStoreError

#: Bumped on incompatible storage changes (the original's constant; 2 since records carry the
#: time they were last written, and stores of version 1 upgrade themselves when opened).
VECTORSTORE_SCHEMA_VERSION: int = SCHEMA_VERSION

_PREFIX = "DECNET_VECTORSTORE_"


class VectorStore:
    """A vector store keyed by ``(kind, id)``, searched by nearest neighbours within a kind.

    Obtain one from :func:`get_vectorstore` or a backend class (:class:`FakeVectorStore`, ...).
    The contract is the Rust one: ``cargo doc -p vectorstore`` documents it in full.
    """

    __slots__ = ("_native", "__weakref__")

    @classmethod
    def _wrap(cls, native: Any) -> VectorStore:
        store = object.__new__(cls)
        store._native = native
        _OPEN.add(store)
        return store

    @property
    def backend(self) -> str:
        """The backend's registered name (``fake``, ``null``, ``sqlite_vec``, ...)."""
        return self._native.backend

    def capabilities(self) -> dict:
        """What the store can do: metrics, persistence, limits, exact or approximate search."""
        return json.loads(self._native.capabilities_json())

    async def initialize(self) -> None:
        """One-shot setup (open files or connections, create the schema). Again: a no-op."""
        await self._native.initialize()

    async def close(self) -> None:
        """Release files and connections. Idempotent."""
        await self._native.close()

    async def health(self) -> dict:
        """``{"ok": True, "backend": ..., "kinds": n, "vectors": n}``; never raises."""
        return json.loads(await self._native.health_json())

    async def health_detailed(self) -> dict:
        """``health()`` plus what is not for publishing: the file's ``path``, the server ``url``
        (password removed), the schema, a failure's full text. Never raises."""
        return json.loads(await self._native.health_detailed_json())

    async def insert(self, kind: str, id: str, vector: Sequence[float], extractor_version: int = 1) -> None:
        """Insert or replace ``(kind, id)``; the first insert of a kind fixes its dimension."""
        await self._native.insert(kind, id, vector, extractor_version)

    async def insert_many(
        self,
        kind: str,
        ids: Sequence[str],
        vectors: Any,
        extractor_version: int | Sequence[int] = 1,
    ) -> None:
        """Insert or replace many records of one kind, as ``insert`` would in order.

        ``vectors`` is a 2-d ``float32`` array (numpy, read without Python floats) or a sequence
        of vectors, one per id; ``extractor_version`` one int or one per id. At most
        ``MAX_BATCH`` (10,000) rows per call, validated before anything is written.
        """
        await self._native.insert_many(kind, ids, vectors, extractor_version)

    async def get(self, kind: str, id: str) -> VectorRecord | None:
        """The record, or ``None`` when absent."""
        return await self._native.get(kind, id)

    async def delete(self, kind: str, id: str) -> bool:
        """Delete one record; ``True`` if it existed. The kind keeps its dimension."""
        return await self._native.delete(kind, id)

    async def get_many(self, kind: str, ids: Sequence[str]) -> list[VectorRecord | None]:
        """The records of ``ids``, one entry per id in the order given, ``None`` where nothing
        is stored; at most 10,000 ids, all checked before anything is read."""
        return await self._native.get_many(kind, list(ids))

    async def delete_many(self, kind: str, ids: Sequence[str]) -> int:
        """Delete the records of ``ids`` in one operation; how many were stored and went."""
        return await self._native.delete_many(kind, list(ids))

    async def delete_version(self, kind: str, extractor_version: int) -> int:
        """Delete every record of one extractor version; how many went (0 when none)."""
        return await self._native.delete_version(kind, extractor_version)

    async def expire(
        self,
        kind: str,
        older_than: datetime.timedelta | float | None = None,
        *,
        written_before_ms: int | None = None,
    ) -> int:
        """Delete every record of ``kind`` last written more than ``older_than`` ago (a
        ``timedelta`` or seconds), or before ``written_before_ms`` (milliseconds since the Unix
        epoch); how many went. A cutoff in the future raises ``InvalidArgument``."""
        if (older_than is None) == (written_before_ms is None):
            raise TypeError("expire takes exactly one of older_than and written_before_ms")
        if older_than is not None:
            seconds = older_than.total_seconds() if isinstance(older_than, datetime.timedelta) else float(older_than)
            if not math.isfinite(seconds) or seconds < 0:
                raise InvalidArgument(f"invalid age {older_than!r}: it must be a finite, non-negative duration")
            written_before_ms = max(0, time.time_ns() // 1_000_000 - int(seconds * 1000))
        return await self._native.expire(kind, written_before_ms)

    async def knn(
        self,
        kind: str,
        vector: Sequence[float],
        k: int = 10,
        *,
        extractor_version: int | None = None,
        max_distance: float | None = None,
    ) -> list[Neighbor]:
        """Up to ``k`` nearest neighbours in ascending distance, ties by id; ``[]`` for an
        unknown or empty kind or ``k <= 0``. The keyword filters apply before the ``k`` nearest
        are taken."""
        return await self._native.knn(kind, vector, k, extractor_version, max_distance)

    async def knn_batch(
        self,
        kind: str,
        vectors: Sequence[Sequence[float]],
        k: int = 10,
        *,
        extractor_version: int | None = None,
        max_distance: float | None = None,
    ) -> list[list[Neighbor]]:
        """The ``k`` nearest for each of ``vectors`` (a 2-d numpy ``float32`` array or a
        sequence of sequences), each answered exactly as ``knn`` would, in one call. Every
        query is checked first: a bad one raises, naming its index, and nothing is searched."""
        return await self._native.knn_batch(kind, vectors, k, extractor_version, max_distance)

    async def kinds(self) -> list[KindInfo]:
        """Every kind with its dimension, metric and count, sorted by name."""
        return await self._native.kinds()

    async def scan(self, kind: str, after_id: str | None = None, limit: int = 1000) -> list[VectorRecord]:
        """Up to ``limit`` records whose id sorts after ``after_id``, in id order."""
        return await self._native.scan(kind, after_id, limit)

    async def create_kind(self, kind: str, dim: int, metric: str = "l2") -> KindInfo:
        """Create ``kind`` with ``dim`` and ``metric``, or confirm it exists with exactly those."""
        return await self._native.create_kind(kind, dim, metric)

    async def drop_kind(self, kind: str) -> bool:
        """Remove a kind with all its vectors; ``True`` if it existed."""
        return await self._native.drop_kind(kind)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} backend={self.backend!r}>"


#: Every store made and not yet collected. At interpreter exit those never closed are closed
#: (blocking), before the interpreter is torn down under the engines' threads.
_OPEN: weakref.WeakSet[VectorStore] = weakref.WeakSet()


@atexit.register
def _close_open_stores() -> None:
    for store in list(_OPEN):
        store._native.close_blocking()


#: The original's name for the store interface.
BaseVectorStore = VectorStore


def _open(backend: str, location: str | None, metric: str | None, options: dict[str, Any]) -> Any:
    variables = {_PREFIX + "TYPE": backend}
    if location is not None:
        variables[_PREFIX + ("URL" if "://" in location else "PATH")] = os.fspath(location)
    if metric is not None:
        variables[_PREFIX + "METRIC"] = metric
    option_prefix = _PREFIX + backend.upper() + "_"
    for key, value in options.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        variables[option_prefix + key.upper()] = str(value)
    return _native_open(variables)


class FakeVectorStore(VectorStore):
    """Exact in-memory store (every metric, nothing persists): the reference implementation."""

    __slots__ = ()

    def __init__(self, metric: str | None = None) -> None:
        self._native = _open("fake", None, metric, {})
        _OPEN.add(self)


class NullVectorStore(VectorStore):
    """Accepts everything, stores nothing (``DECNET_VECTORSTORE_ENABLED=false``)."""

    __slots__ = ()

    def __init__(self) -> None:
        self._native = _open("null", None, None, {})
        _OPEN.add(self)


class SqliteVecVectorStore(VectorStore):
    """One SQLite file with sqlite-vec (the default backend). ``options`` are the backend's
    own settings, e.g. ``busy_timeout_ms=5000`` for ``DECNET_VECTORSTORE_SQLITE_VEC_BUSY_TIMEOUT_MS``."""

    __slots__ = ()

    def __init__(self, path: str | os.PathLike[str] | None = None, *, metric: str | None = None, **options: Any) -> None:
        self._native = _open("sqlite_vec", None if path is None else os.fspath(path), metric, options)
        _OPEN.add(self)


class PgvectorVectorStore(VectorStore):
    """PostgreSQL with pgvector at ``url`` (``postgres://...``); ``options`` as
    ``DECNET_VECTORSTORE_PGVECTOR_<KEY>`` (``schema``, ``pool_size``, ``index``, ...)."""

    __slots__ = ()

    def __init__(self, url: str, *, metric: str | None = None, **options: Any) -> None:
        self._native = _open("pgvector", url, metric, options)
        _OPEN.add(self)


class QdrantVectorStore(VectorStore):
    """Qdrant at ``url`` (gRPC, ``http://host:6334``); ``options`` as
    ``DECNET_VECTORSTORE_QDRANT_<KEY>`` (``api_key``, ``collection_prefix``, ``exact``, ...)."""

    __slots__ = ()

    def __init__(self, url: str, *, metric: str | None = None, **options: Any) -> None:
        self._native = _open("qdrant", url, metric, options)
        _OPEN.add(self)


_CLASSES: dict[str, type[VectorStore]] = {
    "fake": FakeVectorStore,
    "null": NullVectorStore,
    "sqlite_vec": SqliteVecVectorStore,
    "pgvector": PgvectorVectorStore,
    "qdrant": QdrantVectorStore,
}


def _compiled_backends() -> list[str]:
    return _native_compiled_backends()


def compiled_backends() -> list[str]:
    """The backends in this wheel (all of them), sorted."""
    return list(_compiled_backends())


def get_vectorstore() -> VectorStore:
    """The store the ``DECNET_VECTORSTORE_*`` variables select, not yet initialised.

    ``ENABLED=false`` gives the Null store whatever the type; ``TYPE`` names the backend
    (``sqlite_vec`` by default); an unknown type raises :class:`errors.Config` ("Unsupported
    vectorstore type ..."). See the project README for every variable.
    """
    variables = {key: value for key, value in os.environ.items() if key.startswith(_PREFIX)}
    native = _native_open(variables, _compiled_backends())
    return _CLASSES.get(native.backend, VectorStore)._wrap(native)


async def copy(
    source: VectorStore,
    target: VectorStore,
    *,
    kinds: Iterable[str] = (),
    batch_size: int | None = None,
    replace_kind: bool = False,
) -> dict:
    """Copy every kind (or ``kinds``) and record of ``source`` into ``target``, resumably; the
    report as a dict (``written`` and one entry per kind)."""
    report = await _native_copy(source._native, target._native, list(kinds), batch_size, replace_kind)
    return json.loads(report)


async def verify(source: VectorStore, target: VectorStore, *, kinds: Iterable[str] = ()) -> dict:
    """Compare two stores (counts, checksums, sampled searches); the report as a dict whose
    ``ok`` is true when they agree."""
    return json.loads(await _native_verify(source._native, target._native, list(kinds)))


__all__ = [
    "BaseVectorStore",
    "DimensionMismatch",
    "FakeVectorStore",
    "KindInfo",
    "MAX_BATCH",
    "Neighbor",
    "NullVectorStore",
    "PgvectorVectorStore",
    "QdrantVectorStore",
    "SqliteVecVectorStore",
    "VECTORSTORE_SCHEMA_VERSION",
    "VectorRecord",
    "VectorStore",
    "VectorStoreError",
    "compiled_backends",
    "copy",
    "errors",
    "get_vectorstore",
    "verify",
]

"""The store classes' common half: :class:`VectorStore`, one store of the Rust library behind
the original's async methods, and how a backend class opens its native store."""

from __future__ import annotations

import atexit
import datetime
import difflib
import json
import math
import time
import weakref
from collections.abc import Sequence
from typing import Any, Protocol, TypeAlias

from ._native import KindInfo, NativeStore
from ._native import backend_options as _backend_options
from ._native import open as _native_open
from ._native import refresh_log_level
from .base import BaseVectorStore, DistinctNeighbor, Neighbor, VectorRecord
from .errors import Config, InvalidArgument

_PREFIX = "DECNET_VECTORSTORE_"


class SupportsArray(Protocol):
    """An array object (numpy's ``ndarray``, ...), read through the buffer protocol."""

    def __array__(self) -> Any: ...


#: One vector: a sequence of numbers or a 1-d ``float32`` array.
VectorLike: TypeAlias = Sequence[float] | SupportsArray
#: Many vectors: a sequence of vectors or a 2-d ``float32`` array.
VectorsLike: TypeAlias = Sequence[Sequence[float]] | SupportsArray


def unknown_keyword(what: str, key: str, known: Sequence[str]) -> Config:
    """The :class:`errors.Config` error for an unknown keyword ``key``, naming the closest of
    ``known`` ("did you mean ...?") or listing them."""
    close = difflib.get_close_matches(key.lower(), known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(known)}"
    message = f"unknown {what} {key!r}{hint}"
    error = Config(f"config: {message}")
    error.message = message
    error.context = {"option": key}
    return error


class VectorStore(BaseVectorStore):
    """A vector store keyed by ``(kind, id)``, searched by nearest neighbours within a kind.

    Obtain one from :func:`get_vectorstore` or a backend class (:class:`FakeVectorStore`, ...).
    The contract is the Rust one: ``cargo doc -p vectorstore`` documents it in full.
    """

    __slots__ = ("_native", "__weakref__")
    _native: NativeStore

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

    def capabilities(self) -> dict[str, Any]:
        """What the store can do: metrics, persistence, limits, exact or approximate search."""
        capabilities: dict[str, Any] = json.loads(self._native.capabilities_json())
        return capabilities

    async def initialize(self) -> None:
        """One-shot setup (open files or connections, create the schema). Again: a no-op."""
        refresh_log_level()  # what it logs reaches logging at the level set now
        await self._native.initialize()

    async def close(self) -> None:
        """Release files and connections. Idempotent."""
        await self._native.close()

    async def health(self) -> dict[str, Any]:
        """``{"ok": True, "backend": ..., "kinds": n, "vectors": n}``; never raises."""
        health: dict[str, Any] = json.loads(await self._native.health_json())
        return health

    async def health_detailed(self) -> dict[str, Any]:
        """``health()`` plus what is not for publishing: the file's ``path``, the server ``url``
        (password removed), the schema, a failure's full text. Never raises."""
        health: dict[str, Any] = json.loads(await self._native.health_detailed_json())
        return health

    async def insert(self, kind: str, id: str, vector: VectorLike, extractor_version: int = 1) -> None:
        """Insert or replace ``(kind, id)``; the first insert of a kind fixes its dimension."""
        await self._native.insert(kind, id, vector, extractor_version)

    async def insert_many(
        self,
        kind: str,
        ids: Sequence[str],
        vectors: VectorsLike,
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
        if written_before_ms is not None:
            return await self._native.expire(kind, written_before_ms)
        assert older_than is not None  # by the check above; for type checkers
        seconds = older_than.total_seconds() if isinstance(older_than, datetime.timedelta) else float(older_than)
        if not math.isfinite(seconds) or seconds < 0:
            raise InvalidArgument(f"invalid age {older_than!r}: it must be a finite, non-negative duration")
        return await self._native.expire(kind, max(0, time.time_ns() // 1_000_000 - int(seconds * 1000)))

    async def knn(
        self,
        kind: str,
        vector: VectorLike,
        k: int = 10,
        *,
        extractor_version: int | None = None,
        max_distance: float | None = None,
    ) -> list[Neighbor]:
        """Up to ``k`` nearest neighbours in ascending distance, ties by id; ``[]`` for an
        unknown or empty kind or ``k <= 0``. The keyword filters apply before the ``k`` nearest
        are taken."""
        return await self._native.knn(kind, vector, k, extractor_version, max_distance)

    async def knn_distinct(
        self,
        kind: str,
        vector: VectorLike,
        k: int = 10,
        *,
        ids_per_vector: int = 5,
        extractor_version: int | None = None,
        max_distance: float | None = None,
    ) -> list[DistinctNeighbor]:
        """The ``k`` nearest *distinct* vectors: records whose vectors are bit for bit the same
        are answered once, with how many share it (``count``) and their first ``ids_per_vector``
        ids in id order (at most 1000). In ascending distance, ties by each vector's smallest
        id; ``[]`` for an unknown or empty kind or ``k <= 0``. The keyword filters apply first.
        Exact on every store; on pgvector and Qdrant it reads the whole kind."""
        return await self._native.knn_distinct(kind, vector, k, ids_per_vector, extractor_version, max_distance)

    async def knn_batch(
        self,
        kind: str,
        vectors: VectorsLike,
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

    async def kind_info(self, kind: str) -> KindInfo | None:
        """The kind's dimension, metric and count, or ``None`` when the store does not know it."""
        return await self._native.kind_info(kind)

    async def settle(self, kind: str) -> datetime.timedelta | None:
        """Finish, and wait for, work the store deferred on ``kind``: pgvector builds a kind's
        search index once after a load; this waits for it and says how long it took. ``None``
        when nothing was pending (always, on the other stores). Never needed for correct
        answers, only for search speed after a bulk load."""
        took = await self._native.settle(kind)
        return None if took is None else datetime.timedelta(seconds=took)

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


def _open(
    backend: str,
    location: str | None,
    metric: str | None,
    options: dict[str, Any],
    *,
    location_is_path: bool = False,
    parameters: tuple[str, ...] = ("url", "metric"),
) -> NativeStore:
    """The native store of ``backend`` from a backend class's arguments, as the variables
    ``DECNET_VECTORSTORE_*`` that would select it (the process environment is not read). An
    option the backend does not read raises :class:`errors.Config` naming it and the closest
    known name (``parameters``, the class's own keywords, included)."""
    known = _backend_options(backend) or []
    for key in options:
        if key.lower() not in known:
            raise unknown_keyword(f"{backend} option", key, (*parameters, *known))
    variables = {_PREFIX + "TYPE": backend}
    if location is not None:
        is_url = not location_is_path and "://" in location
        variables[_PREFIX + ("URL" if is_url else "PATH")] = location
    if metric is not None:
        variables[_PREFIX + "METRIC"] = metric
    option_prefix = _PREFIX + backend.upper() + "_"
    for key, value in options.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        variables[option_prefix + key.upper()] = str(value)
    refresh_log_level()
    return _native_open(variables)

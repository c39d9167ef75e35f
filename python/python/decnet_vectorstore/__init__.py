"""DECNET's behavioural-fingerprint vector store, in Rust, with the API of the original
``decnet.vectorstore``.

The original's modules are here under the same names (``base``, ``factory``, ``fake``,
``sqlite_vec``), so each of DECNET's four modules can become a one-line re-export, e.g.::

    from decnet_vectorstore.factory import _default_db_path, get_vectorstore  # noqa: F401

``get_vectorstore()`` reads the same ``DECNET_VECTORSTORE_*`` variables and returns a store that
is not yet initialised. Every store method is a coroutine; the work runs in Rust with the GIL
released, so many asyncio tasks and threads may share one store.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from . import errors
from ._native import MAX_BATCH, KindInfo
from ._native import copy as _native_copy
from ._native import verify as _native_verify
from ._store import VectorStore
from .base import VECTORSTORE_SCHEMA_VERSION, BaseVectorStore, DistinctNeighbor, Neighbor, VectorRecord
from .errors import DimensionMismatch, VectorStoreError
from .factory import compiled_backends, get_vectorstore
from .fake import FakeVectorStore, NullVectorStore
from .pgvector import PgvectorVectorStore
from .qdrant import QdrantVectorStore
from .sqlite_vec import SqliteVecUnavailable, SqliteVecVectorStore


async def copy(
    source: VectorStore,
    target: VectorStore,
    *,
    kinds: Iterable[str] = (),
    batch_size: int | None = None,
    replace_kind: bool = False,
) -> dict[str, Any]:
    """Copy every kind (or ``kinds``) and record of ``source`` into ``target``, resumably; the
    report as a dict (``written`` and one entry per kind)."""
    report = await _native_copy(source._native, target._native, list(kinds), batch_size, replace_kind)
    parsed: dict[str, Any] = json.loads(report)
    return parsed


async def verify(source: VectorStore, target: VectorStore, *, kinds: Iterable[str] = ()) -> dict[str, Any]:
    """Compare two stores (counts, checksums, sampled searches); the report as a dict whose
    ``ok`` is true when they agree."""
    parsed: dict[str, Any] = json.loads(await _native_verify(source._native, target._native, list(kinds)))
    return parsed


__all__ = [
    "BaseVectorStore",
    "DimensionMismatch",
    "DistinctNeighbor",
    "FakeVectorStore",
    "KindInfo",
    "MAX_BATCH",
    "Neighbor",
    "NullVectorStore",
    "PgvectorVectorStore",
    "QdrantVectorStore",
    "SqliteVecUnavailable",
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

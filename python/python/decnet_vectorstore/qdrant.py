"""Qdrant (not in the original)."""

from __future__ import annotations

from typing import Any

from ._store import _OPEN, VectorStore, _open


class QdrantVectorStore(VectorStore):
    """Qdrant at ``url`` (gRPC, ``http://host:6334``); ``options`` as
    ``DECNET_VECTORSTORE_QDRANT_<KEY>`` in lowercase (``api_key``, ``collection_prefix``,
    ``exact``, ...); an unknown one raises ``errors.Config``."""

    __slots__ = ()

    def __init__(self, url: str, *, metric: str | None = None, **options: Any) -> None:
        self._native = _open("qdrant", url, metric, options)
        _OPEN.add(self)


__all__ = ["QdrantVectorStore"]

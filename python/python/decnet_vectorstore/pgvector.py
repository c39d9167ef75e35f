"""PostgreSQL with pgvector (not in the original)."""

from __future__ import annotations

from typing import Any

from ._store import _OPEN, VectorStore, _open


class PgvectorVectorStore(VectorStore):
    """PostgreSQL with pgvector at ``url`` (``postgres://...``); ``options`` as
    ``DECNET_VECTORSTORE_PGVECTOR_<KEY>`` in lowercase (``schema``, ``pool_size``, ``index``,
    ...); an unknown one raises ``errors.Config``."""

    __slots__ = ()

    def __init__(self, url: str, *, metric: str | None = None, **options: Any) -> None:
        self._native = _open("pgvector", url, metric, options)
        _OPEN.add(self)


__all__ = ["PgvectorVectorStore"]

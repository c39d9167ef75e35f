"""The embedded default store, where the original kept it (``decnet.vectorstore.sqlite_vec``):
one SQLite file with sqlite-vec, compiled into this package (no ``sqlite_vec`` Python package
and no loadable extension are needed)."""

from __future__ import annotations

import os
from typing import Any

from ._store import _OPEN, VectorStore, _open


class SqliteVecUnavailable(RuntimeError):
    """sqlite-vec cannot be had (the original's exception). This package links sqlite-vec
    into its native module, so no store of it raises this; it is kept so that code catching it
    still imports."""


class SqliteVecVectorStore(VectorStore):
    """One SQLite file with sqlite-vec (the default backend), at ``db_path``.

    ``db_path`` is the original constructor's argument; without it the store uses the default
    location (``/var/lib/decnet/vectors.sqlite`` when that directory exists and is writable,
    else ``~/.decnet/vectors.sqlite``), as the factory does without ``DECNET_VECTORSTORE_PATH``.
    ``options`` are the backend's own settings, ``DECNET_VECTORSTORE_SQLITE_VEC_<KEY>`` in
    lowercase, e.g. ``busy_timeout_ms=5000``; an unknown one raises ``errors.Config``.
    """

    __slots__ = ()

    def __init__(
        self,
        db_path: str | os.PathLike[str] | None = None,
        *,
        metric: str | None = None,
        **options: Any,
    ) -> None:
        location = None if db_path is None else os.fspath(db_path)
        self._native = _open(
            "sqlite_vec", location, metric, options, location_is_path=True, parameters=("db_path", "metric")
        )
        _OPEN.add(self)


__all__ = ["SqliteVecUnavailable", "SqliteVecVectorStore"]

"""Choosing a store from the environment, where the original did it
(``decnet.vectorstore.factory``): :func:`get_vectorstore` and :func:`_default_db_path`."""

from __future__ import annotations

import os
from typing import Any

from ._native import compiled_backends as _native_compiled_backends
from ._native import open as _native_open
from ._native import refresh_log_level
from ._store import _PREFIX, VectorStore, unknown_keyword
from .fake import FakeVectorStore, NullVectorStore
from .pgvector import PgvectorVectorStore
from .qdrant import QdrantVectorStore
from .sqlite_vec import SqliteVecVectorStore

#: The directory the original prefers for the sqlite file when it exists and is writable (it is
#: never created), and the file's name there.
_RUNTIME_DIR = "/var/lib/decnet"
_FILE_NAME = "vectors.sqlite"

#: The keyword arguments get_vectorstore accepts (the original's).
_FACTORY_OPTIONS = ("db_path",)

_CLASSES: dict[str, type[VectorStore]] = {
    "fake": FakeVectorStore,
    "null": NullVectorStore,
    "sqlite_vec": SqliteVecVectorStore,
    "pgvector": PgvectorVectorStore,
    "qdrant": QdrantVectorStore,
}


def _compiled_backends() -> list[str]:
    backends = list(_native_compiled_backends())
    if "sqlite_vec" in backends:
        try:
            # As the original probed its sqlite_vec import: when the backend's module cannot be
            # imported, the build is treated as one without sqlite_vec (the default type then
            # falls back to the Fake with a warning; an explicit one is an error).
            from .sqlite_vec import SqliteVecVectorStore as _probe  # noqa: F401
        except ImportError:
            backends.remove("sqlite_vec")
    return backends


def compiled_backends() -> list[str]:
    """The backends in this wheel (all of them), sorted."""
    return list(_native_compiled_backends())


def _default_db_path() -> str:
    """The sqlite file the default store uses: ``DECNET_VECTORSTORE_PATH`` when set and not
    empty; else ``/var/lib/decnet/vectors.sqlite`` when ``/var/lib/decnet`` exists and is
    writable (it is never created); else ``~/.decnet/vectors.sqlite`` (the original's rule,
    also the Rust library's)."""
    given = os.environ.get(_PREFIX + "PATH", "").strip()
    if given:
        return given
    if os.path.isdir(_RUNTIME_DIR) and os.access(_RUNTIME_DIR, os.W_OK):
        return os.path.join(_RUNTIME_DIR, _FILE_NAME)
    return os.path.join(os.path.expanduser("~"), ".decnet", _FILE_NAME)


def get_vectorstore(**kwargs: Any) -> VectorStore:
    """The store the ``DECNET_VECTORSTORE_*`` variables select, not yet initialised.

    ``ENABLED=false`` gives the Null store whatever else is set (what would be refused is
    logged as a warning instead: a process that turned the store off must start); ``TYPE`` names the backend
    (``sqlite_vec`` by default); an unknown type raises :class:`errors.Config` ("Unsupported
    vectorstore type ..."), as does an unknown ``DECNET_VECTORSTORE_*`` variable. ``db_path``
    (the original's keyword) is the sqlite file, before ``DECNET_VECTORSTORE_PATH``; other
    types ignore it. Any other keyword raises :class:`errors.Config` naming it.
    """
    for key in kwargs:
        if key not in _FACTORY_OPTIONS:
            raise unknown_keyword("get_vectorstore option", key, _FACTORY_OPTIONS)
    variables = {key: value for key, value in os.environ.items() if key.startswith(_PREFIX)}
    db_path = kwargs.get("db_path")
    if db_path is not None and os.fspath(db_path) != "":
        variables[_PREFIX + "PATH"] = os.fspath(db_path)
    refresh_log_level()
    native = _native_open(variables, _compiled_backends())
    return _CLASSES.get(native.backend, VectorStore)._wrap(native)


__all__ = ["get_vectorstore"]

"""The in-memory stores, where the original kept them (``decnet.vectorstore.fake``):
:class:`FakeVectorStore`, exact and complete, the reference every other store is tested
against, and :class:`NullVectorStore`, which accepts everything and stores nothing."""

from __future__ import annotations

from ._store import _OPEN, VectorStore, _open


class FakeVectorStore(VectorStore):
    """Exact in-memory store (every metric, nothing persists): the reference implementation.
    ``metric`` is that of kinds created by a first insert (``l2`` by default)."""

    __slots__ = ()

    def __init__(self, metric: str | None = None) -> None:
        self._native = _open("fake", None, metric, {})
        _OPEN.add(self)


class NullVectorStore(VectorStore):
    """Accepts everything, stores nothing (``DECNET_VECTORSTORE_ENABLED=false``): ``get`` gives
    ``None``, ``knn`` gives ``[]``, ``delete`` gives ``False``; input is still validated."""

    __slots__ = ()

    def __init__(self) -> None:
        self._native = _open("null", None, None, {})
        _OPEN.add(self)


__all__ = ["FakeVectorStore", "NullVectorStore"]

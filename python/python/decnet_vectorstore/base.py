"""The store contract of the original ``decnet.vectorstore.base``: :class:`BaseVectorStore`,
the records :class:`VectorRecord` and :class:`Neighbor`, and ``VECTORSTORE_SCHEMA_VERSION``;
and :class:`DistinctNeighbor`, what ``knn_distinct`` (not in the original) answers with.

:class:`BaseVectorStore` is an abstract base class, as in the original: every store of this
package derives from it, and DECNET's own test doubles may subclass it and implement the seven
abstract methods. The records are frozen dataclasses with the original's fields in the
original's order (fields added since come after them): hashable, picklable, and usable with
``dataclasses.asdict``, ``astuple`` and ``replace``.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._native import SCHEMA_VERSION

#: Bumped on incompatible storage changes (the original's constant; 2 since records carry the
#: time they were last written, and stores of version 1 upgrade themselves when opened).
VECTORSTORE_SCHEMA_VERSION: int = SCHEMA_VERSION


@dataclass(frozen=True, slots=True)
class VectorRecord:
    """One stored vector (``get``, ``get_many``, ``scan``).

    ``vector`` is a tuple of floats, bit for bit the ``float32`` values stored (a list given to
    the constructor becomes a tuple, so that every record is hashable). ``written_at_ms`` is
    when the record was last written, in milliseconds since the Unix epoch (0 when made by
    hand).
    """

    kind: str
    id: str
    vector: Sequence[float]
    dim: int
    extractor_version: int = 1
    written_at_ms: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.vector, tuple):
            # Frozen: the generated __setattr__ refuses, object's does not.
            object.__setattr__(self, "vector", tuple(self.vector))


@dataclass(frozen=True, slots=True)
class Neighbor:
    """One search hit (``knn``, ``knn_batch``): the id and its distance under the kind's
    metric; smaller is closer."""

    kind: str
    id: str
    distance: float


@dataclass(frozen=True, slots=True)
class DistinctNeighbor:
    """One distinct vector near a query (``knn_distinct``): its distance under the kind's
    metric, how many records of the kind (passing the search's filters) hold exactly this
    vector, and the first of their ids in id order (at most the ``ids_per_vector`` asked for).
    A large ``count`` is a fingerprint many sessions share (a botnet's client), which says
    little about who is behind one of them."""

    kind: str
    distance: float
    count: int
    ids: tuple[str, ...]


class BaseVectorStore(abc.ABC):
    """Async interface of a vector store keyed by ``(kind, id)``, searched by nearest
    neighbours within one kind (the original's ABC).

    The stores of this package (``FakeVectorStore``, ``SqliteVecVectorStore``, ...) derive from
    it through :class:`decnet_vectorstore.VectorStore`, which adds the rest of the Rust
    contract (batches, kinds, scans, expiry). A subclass of its own implements the seven
    abstract methods.
    """

    __slots__ = ()

    @abc.abstractmethod
    async def initialize(self) -> None:
        """One-shot setup (open files or connections, create the schema)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release files and connections. Idempotent."""

    @abc.abstractmethod
    async def health(self) -> dict[str, Any]:
        """``{"ok": True, "backend": ..., "kinds": n, "vectors": n}``; never raises."""

    @abc.abstractmethod
    async def insert(self, kind: str, id: str, vector: Sequence[float], *, extractor_version: int = 1) -> None:
        """Insert or replace ``(kind, id)``; the first insert of a kind fixes its dimension and
        a later mismatch raises."""

    @abc.abstractmethod
    async def get(self, kind: str, id: str) -> VectorRecord | None:
        """The record, or ``None`` when absent."""

    @abc.abstractmethod
    async def delete(self, kind: str, id: str) -> bool:
        """Delete one record; ``True`` if a record was removed."""

    @abc.abstractmethod
    async def knn(self, kind: str, vector: Sequence[float], k: int = 10) -> list[Neighbor]:
        """Up to ``k`` nearest neighbours of ``vector`` within ``kind``, in ascending distance;
        ``[]`` when the kind is unknown or empty."""


__all__ = ["BaseVectorStore", "DistinctNeighbor", "Neighbor", "VECTORSTORE_SCHEMA_VERSION", "VectorRecord"]

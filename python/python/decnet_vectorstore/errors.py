"""Exceptions: one class per error kind of the Rust contract, named like its ``ErrorKind``.

Every class derives from :class:`VectorStoreError`; the ones caused by the caller's input are
also :class:`ValueError` (as the original's dimension mismatch was), the operational ones
:class:`RuntimeError`, and :class:`Unavailable` is a :class:`ConnectionError`. Each instance
carries ``kind`` (the stable snake_case name, e.g. ``"dimension_mismatch"``), ``message`` (the
Rust message, naming the bad value) and ``context`` (a dict).
"""

from __future__ import annotations


class VectorStoreError(Exception):
    """Any error of the vector store."""

    kind = "backend"
    message: str = ""
    context: dict[str, str] = {}


class InvalidKind(VectorStoreError, ValueError):
    """The kind name is not ``^[a-z][a-z0-9_]{0,47}$``."""

    kind = "invalid_kind"


class InvalidId(VectorStoreError, ValueError):
    """The id is empty, longer than 512 bytes or contains NUL."""

    kind = "invalid_id"


class InvalidVector(VectorStoreError, ValueError):
    """The vector is empty, too long, has a NaN or infinite component, or is zero under cosine."""

    kind = "invalid_vector"


class InvalidArgument(VectorStoreError, ValueError):
    """Another argument is out of range (k, extractor_version, batch size, ...)."""

    kind = "invalid_argument"


class DimensionMismatch(VectorStoreError, ValueError):
    """The vector's length differs from its kind's dimension ("dim mismatch" in the message)."""

    kind = "dimension_mismatch"


class MetricMismatch(VectorStoreError, ValueError):
    """The kind exists with another metric."""

    kind = "metric_mismatch"


class MetricUnsupported(VectorStoreError, ValueError):
    """The store does not implement the metric."""

    kind = "metric_unsupported"


class LimitExceeded(VectorStoreError, ValueError):
    """A store-wide limit would be exceeded (the number of kinds, ...)."""

    kind = "limit_exceeded"


class NotInitialized(VectorStoreError, RuntimeError):
    """The store was used before ``initialize()``."""

    kind = "not_initialized"


class Closed(VectorStoreError, RuntimeError):
    """The store was used after ``close()``."""

    kind = "closed"


class Unavailable(VectorStoreError, ConnectionError):
    """The server or file cannot be reached now; retrying later may succeed."""

    kind = "unavailable"


class IncompatibleSchema(VectorStoreError, RuntimeError):
    """The stored data was written by a newer, incompatible schema version."""

    kind = "incompatible_schema"


class Config(VectorStoreError, ValueError):
    """The configuration is invalid or names a backend that is not available
    (``Unsupported vectorstore type ...``)."""

    kind = "config"


class Backend(VectorStoreError, RuntimeError):
    """Any other failure of the backing engine."""

    kind = "backend"


#: Each class by its kind's stable name; the native module raises through this table.
BY_KIND: dict[str, type[VectorStoreError]] = {
    cls.kind: cls
    for cls in (
        InvalidKind,
        InvalidId,
        InvalidVector,
        InvalidArgument,
        DimensionMismatch,
        MetricMismatch,
        MetricUnsupported,
        LimitExceeded,
        NotInitialized,
        Closed,
        Unavailable,
        IncompatibleSchema,
        Config,
        Backend,
    )
}

__all__ = ["VectorStoreError", "BY_KIND", *(cls.__name__ for cls in BY_KIND.values())]

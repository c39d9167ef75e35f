//! Qdrant test servers (in progress).

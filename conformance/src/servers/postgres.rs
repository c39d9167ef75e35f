//! PostgreSQL + pgvector test servers (in progress).

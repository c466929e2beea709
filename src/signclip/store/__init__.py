"""The search store: datasets, models, items and embeddings in PostgreSQL + pgvector (and the embedded server)."""

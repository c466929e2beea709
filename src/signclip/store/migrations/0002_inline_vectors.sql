-- Keep vectors inline in the heap (no TOAST): a 768-d vector (3 KB) would otherwise be moved out of line,
-- which slows exact scans and HNSW builds. Limits a vector to what fits a page, about 2000 dimensions,
-- which is also pgvector's HNSW limit; the store refuses larger models with a clear error.
ALTER TABLE embeddings ALTER COLUMN vector SET STORAGE PLAIN;

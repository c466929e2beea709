-- signclip search schema, version 5: a vector type per dataset (vector = float32, halfvec = float16, binary =
-- float32 rows under an HNSW index of their binary quantization, re-ranked on the float32 vectors).
--
-- Each type has its own nullable column in `embeddings` and each row fills exactly one of them (the check),
-- so the column in use is the row's type: a model's per-type partial HNSW index covers exactly the rows of
-- its type (pgvector does not index NULLs), and the indexes built before this version, over `vector`, stay
-- valid as they are (nothing is rebuilt here). Adding nullable columns without defaults and a NOT VALID check
-- rewrites and scans nothing: every existing row holds its vector in `vector`, so it already passes the check,
-- which is enforced on every row written from now on. `datasets.vector_type` says which column a dataset's
-- rows use (store/vector_types.py); switching converts the rows in one transaction.

DO $$
DECLARE
    installed text := (SELECT extversion FROM pg_extension WHERE extname = 'vector');
BEGIN
    IF string_to_array(split_part(installed, '-', 1), '.')::int[] < ARRAY[0, 7] THEN
        RAISE EXCEPTION 'signclip needs pgvector 0.7 or later (halfvec, binary_quantize); this server has pgvector %: '
            'install a newer pgvector and run ALTER EXTENSION vector UPDATE', installed;
    END IF;
END $$;

ALTER TABLE datasets ADD COLUMN vector_type text NOT NULL DEFAULT 'vector'
    CONSTRAINT datasets_vector_type CHECK (vector_type IN ('vector', 'halfvec', 'binary'));

ALTER TABLE embeddings
    ALTER COLUMN vector DROP NOT NULL,
    ADD COLUMN vector_half halfvec,
    ADD COLUMN vector_binary vector;
-- Inline in the heap like `vector` (migration 2).
ALTER TABLE embeddings ALTER COLUMN vector_half SET STORAGE PLAIN, ALTER COLUMN vector_binary SET STORAGE PLAIN;
ALTER TABLE embeddings ADD CONSTRAINT embeddings_one_vector
    CHECK (num_nonnulls(vector, vector_half, vector_binary) = 1) NOT VALID;

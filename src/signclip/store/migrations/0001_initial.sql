-- signclip search schema, version 1: datasets, models, items (videos or segments) and their embeddings.
--
-- Embeddings of every model share one table with an untyped `vector` column; each model's HNSW index is a
-- partial expression index over `vector::vector(<dim>)` restricted to `model_id = <id>` (see store.py),
-- created when the model's first embeddings are indexed.

CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE datasets (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    metadata    jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE models (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    dim         integer NOT NULL CHECK (dim > 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    metadata    jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE items (
    id               bigserial PRIMARY KEY,
    dataset_id       bigint NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    external_key     text NOT NULL,
    gloss            text NOT NULL DEFAULT '',
    text             text NOT NULL DEFAULT '',
    signer           text NOT NULL DEFAULT '',
    spoken_language  text NOT NULL DEFAULT '',
    signed_language  text NOT NULL DEFAULT '',
    split            text NOT NULL DEFAULT '',
    pose_path        text NOT NULL DEFAULT '',
    video_path       text NOT NULL DEFAULT '',
    start_ms         double precision,
    end_ms           double precision,
    metadata         jsonb NOT NULL DEFAULT '{}',
    UNIQUE (dataset_id, external_key),
    UNIQUE (id, dataset_id)
);
CREATE INDEX items_dataset_gloss ON items (dataset_id, gloss);
CREATE INDEX items_dataset_signer ON items (dataset_id, signer);

-- dataset_id repeats the item's dataset (kept consistent by the composite foreign key) so that a kNN scan
-- over a model's HNSW index filters by dataset without a join.
CREATE TABLE embeddings (
    item_id     bigint NOT NULL,
    dataset_id  bigint NOT NULL,
    model_id    bigint NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    vector      vector NOT NULL,
    PRIMARY KEY (model_id, item_id),
    FOREIGN KEY (item_id, dataset_id) REFERENCES items (id, dataset_id) ON DELETE CASCADE
);
CREATE INDEX embeddings_item ON embeddings (item_id);
CREATE INDEX embeddings_model_dataset ON embeddings (model_id, dataset_id);

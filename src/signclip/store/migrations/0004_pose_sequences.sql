-- signclip search schema, version 4: each item's pose as DTW compares it (the layout's DTW preprocessing,
-- at most 64 frames, float32 `frames` x `features` row-major), so that re-ranking search candidates by DTW
-- reads C short rows instead of C pose files. Filled when candidates are first re-ranked (or by indexing
-- with the training-free index); dropped with the item, and when the item's source changes (ingest.py).

CREATE TABLE pose_sequences (
    item_id   bigint NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    preset    text NOT NULL,
    frames    integer NOT NULL CHECK (frames >= 0),
    features  integer NOT NULL CHECK (features > 0),
    data      bytea NOT NULL,
    PRIMARY KEY (item_id, preset)
);

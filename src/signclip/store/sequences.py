"""Items' poses as DTW compares them (the `Store` methods about them, kept apart): preprocessed sequences
(frames, features) float32 by item and DTW preset, for re-ranking search candidates without reading pose
files (migration 4)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import psycopg


class StoreSequences:
    """The pose sequences of a Store: needs `connection`."""

    connection: psycopg.Connection

    def pose_sequences(self, item_ids: Sequence[int], preset: str) -> dict[int, np.ndarray]:
        """{item id: (frames, features) float32} of the items of `item_ids` that have a sequence for `preset`."""
        with self.connection.cursor(binary=True) as cursor:  # bytea in binary: no hex text to encode and parse
            rows = cursor.execute(
                "SELECT item_id, frames, features, data FROM pose_sequences WHERE item_id = ANY(%s) AND preset = %s",
                [[int(i) for i in item_ids], preset],
            ).fetchall()
        return {
            int(item): np.frombuffer(data, dtype="<f4").reshape(frames, features).copy()
            for item, frames, features, data in rows
        }

    def add_pose_sequences(self, item_ids: Sequence[int], preset: str, sequences: Sequence[np.ndarray]) -> None:
        """Store (or replace) each item's (frames, features) sequence for `preset`, in one transaction."""
        rows = []
        for item, sequence in zip(item_ids, sequences, strict=True):
            array = np.ascontiguousarray(sequence, dtype="<f4")
            rows.append((int(item), preset, array.shape[0], array.shape[1], array.tobytes()))
        with self.connection.transaction(), self.connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO pose_sequences (item_id, preset, frames, features, data) VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (item_id, preset) DO UPDATE SET frames = excluded.frames,"
                " features = excluded.features, data = excluded.data",
                rows,
            )

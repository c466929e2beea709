"""A recording's items (the `Store` methods about them, kept apart): the segments indexed from one recording,
found by the source files they share (its pose file and its video), in time order."""

from __future__ import annotations

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from signclip.store import knn
from signclip.store.items import StoredItem, item_columns

MAX_RECORDING_ITEMS = 20_000  # segments of one recording returned at most (hours of continuous signing)


class StoreRecordings:
    """The recordings of a Store: needs `connection`."""

    connection: psycopg.Connection

    def recording_items(
        self, dataset_id: int, pose_path: str, video_path: str, limit: int = MAX_RECORDING_ITEMS
    ) -> list[StoredItem]:
        """The items of dataset `dataset_id` whose pose file is `pose_path` and video `video_path` (the
        segments of one recording, and the recording when it was indexed whole), by start time then key; at
        most `limit`."""
        query = sql.SQL(
            "SELECT {}, d.name AS dataset FROM items i JOIN datasets d ON d.id = i.dataset_id "
            "WHERE i.dataset_id = %s AND i.pose_path = %s AND i.video_path = %s "
            "ORDER BY i.start_ms NULLS FIRST, i.end_ms, i.external_key LIMIT %s"
        ).format(knn.item_select_sql(item_columns()))
        with self.connection.cursor(row_factory=dict_row) as cursor:
            rows = cursor.execute(query, [dataset_id, pose_path, video_path, limit]).fetchall()
        return [StoredItem.from_record(row) for row in rows]

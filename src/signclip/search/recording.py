"""A hit's whole recording: every item indexed from the same recording (its segments of each level, or the
recording itself when it was indexed whole), for the page's recording view and the exports.

Items belong to one recording when they share its source files (pose file and video), which is how
`index add --segment` stores the segments of a recording and how a manifest lists the segments of one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from signclip.search.service import stored_item
from signclip.store.items import Item, StoredItem
from signclip.store.recordings import MAX_RECORDING_ITEMS
from signclip.store.store import Store

WHOLE = "whole"  # the level of an item that is a whole recording


@dataclass(frozen=True)
class Recording:
    """The recording an item belongs to: its name, dataset, items in time order, and whether it has a video.

    `truncated` says the recording has more than `len(items)` items (MAX_RECORDING_ITEMS are returned).
    """

    name: str
    dataset: str
    items: list[StoredItem]
    has_video: bool
    truncated: bool = False

    @property
    def levels(self) -> dict[str, list[StoredItem]]:
        """The items by level ("sign", "sentence", ... as segmented; "segment" for a segment of unknown level;
        WHOLE for a whole recording), each in time order."""
        levels: dict[str, list[StoredItem]] = {}
        for item in self.items:
            levels.setdefault(item_level(item), []).append(item)
        return levels

    @property
    def duration_ms(self) -> float | None:
        """The end of its last segment (None when no item has an end: a recording indexed whole)."""
        ends = [item.end_ms for item in self.items if item.end_ms is not None and item.end_ms == item.end_ms]
        return max(ends) if ends else None


def item_level(item: Item) -> str:
    """The level of an item in its recording: the segmenter's level, "segment", or WHOLE."""
    if not item.is_segment:
        return WHOLE
    return str(item.metadata.get("level") or "segment")


def recording_name(item: Item) -> str:
    """What a person calls the item's recording: the key it was segmented from, else its file's name."""
    recording = item.metadata.get("recording")
    if recording:
        return str(recording)
    if not item.is_segment:
        return item.key
    return Path(item.video_path or item.pose_path).stem or item.key


def recording_of(store: Store, item_id: int) -> Recording:
    """The recording of item `item_id` with all its items; ItemNotFoundError when the store has no such item."""
    item = stored_item(store, item_id)
    items = [item]
    if item.is_segment and (item.pose_path or item.video_path):
        dataset_id = store.dataset_id(item.dataset)
        items = store.recording_items(dataset_id, item.pose_path, item.video_path, MAX_RECORDING_ITEMS + 1)
    truncated = len(items) > MAX_RECORDING_ITEMS
    has_video = bool(item.video_path) and Path(item.video_path).is_file()
    return Recording(recording_name(item), item.dataset, items[:MAX_RECORDING_ITEMS], has_video, truncated)

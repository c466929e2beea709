"""What the store holds, as values: an item, a search hit, a dataset's and a model's summary.

`Item` is the one shape of an indexed item (a video, a pose, or a segment of a longer recording with
`start_ms`/`end_ms`); the store builds it from named SQL columns, the CLI prints it, and the HTTP API's
schema is generated from its fields (serve/schemas.py). Dataset names are checked here, once, for every
place that creates a dataset.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from signclip.store.errors import StoreError

DATASET_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")
SOURCE_FIELDS = ("pose_path", "video_path")  # where an item's data lives on the server: never sent to clients


class InvalidDatasetNameError(StoreError):
    """A dataset name that could be mistaken for a path (a slash, `..`, a leading dot) or is empty."""


def check_dataset_name(name: str) -> str:
    """Return `name` if it is a valid dataset name (letters, digits, `-_.`, no leading dot, at most 128)."""
    if not isinstance(name, str) or not DATASET_NAME.fullmatch(name):
        raise InvalidDatasetNameError(
            f"dataset name {name!r} is not allowed: use letters, digits, '-', '_' and '.', not starting with "
            "a dot (at most 128 characters)"
        )
    return name


@dataclass(frozen=True)
class Item:
    """One indexed item: its store id, manifest key, labels, where its pose/video is, and its segment."""

    item_id: int
    key: str
    gloss: str = ""
    text: str = ""
    signer: str = ""
    spoken_language: str = ""
    signed_language: str = ""
    split: str = ""
    pose_path: str = ""
    video_path: str = ""
    start_ms: float | None = None
    end_ms: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Item:
        """Build from a mapping with (at least) this class's field names; other keys are ignored."""
        return cls(**{f.name: record[f.name] for f in fields(cls) if f.name in record})

    @property
    def is_segment(self) -> bool:
        """Whether the item is a time range of a longer recording."""
        return self.start_ms is not None or self.end_ms is not None

    @property
    def time_range(self) -> str:
        """The segment's time range in the recording, e.g. "00:12.4-00:13.1"; "" for a whole recording."""
        if not self.is_segment:
            return ""
        end = "" if _missing(self.end_ms) else clock(self.end_ms)
        return f"{clock(0.0 if _missing(self.start_ms) else self.start_ms)}-{end}"

    @property
    def label(self) -> str:
        """The gloss, else the text, else the key: what a person reads as the item's name."""
        return self.gloss or self.text or self.key

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-ready dict."""
        return asdict(self)


def clock(ms: float) -> str:
    """A time in ms as minutes:seconds to a tenth, e.g. 12400 -> "00:12.4" (minutes grow past 59)."""
    tenths = round(ms / 100)
    return f"{tenths // 600:02d}:{tenths % 600 // 10:02d}.{tenths % 10}"


def _missing(value: float | None) -> bool:
    return value is None or value != value  # None or NaN


@dataclass(frozen=True)
class StoredItem(Item):
    """An item with the dataset it belongs to (what `Store.item(id)` returns)."""

    dataset: str = ""


@dataclass(frozen=True)
class SearchResult(Item):
    """One ranked hit: the item and its distance to the query by the model's vectors (cosine distance =
    1 - cosine similarity; Euclidean for the training-free index), and its DTW distance when the search
    re-ranked its candidates by DTW (else None)."""

    distance: float = 0.0
    dtw_distance: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-ready dict: item_id, key, distance, then the other fields."""
        fields_ = asdict(self)
        return {"item_id": self.item_id, "key": self.key, "distance": self.distance, **fields_}


def label_fields() -> list[str]:
    """The item's text labels (gloss, text, signer, languages, split): what a client may set on a new item."""
    return [f.name for f in fields(Item) if f.type == "str" and f.name not in ("key", *SOURCE_FIELDS)]


def item_columns() -> list[str]:
    """The item fields the store reads from `items` (everything but the id), in field order."""
    return [f.name for f in fields(Item) if f.name != "item_id"]


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset's name, item count, embedding count per model name, and vector type (vector_types.py)."""

    name: str
    items: int
    embeddings: dict[str, int]
    vector_type: str = "vector"


@dataclass(frozen=True)
class DatasetState:
    """A dataset as one lookup finds it: its id, name and version (raised by every change of its items or
    embeddings, so what is derived from the dataset can be cached under it) and vector type (a switch raises
    the version too). Store methods that take a dataset name take this too, and then do not look the name up
    again."""

    id: int
    name: str
    version: int
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)
    vector_type: str = "vector"


@dataclass(frozen=True)
class ModelInfo:
    """A model known to the store: id, name, embedding dimension and free-form metadata.

    `metadata["source"]`, when present, is the model directory or registered name it was loaded from,
    so that a search can load the model a dataset was indexed with.
    """

    id: int
    name: str
    dim: int
    metadata: dict[str, Any]

"""What searches of a dataset share until the dataset changes, computed once: its models and languages, and
the relevance null sample per model (and per prompt for text queries, with its meaningless prompts embedded).

Entries are keyed by the dataset's id and version (`Store.dataset_state`, raised by every change of its
items or embeddings), so a change is seen at the next search and never served stale; the least recently
used entries go past `size`. Thread-safe: the server shares one cache among its worker threads (an entry
computed twice at the same moment is harmless). The CLI makes one per command.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")


class SearchCache:
    """A small LRU memo of values derived from a dataset version (see the module doc)."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The value under `key`, computed by `compute()` and kept when absent."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return self._entries[key]
            self.misses += 1
        value = compute()
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value
